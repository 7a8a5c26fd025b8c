/* Float32 tensors: up to 5 dimensions, contiguous (row-major, NCHW for images),
 * data 64-byte aligned. A tensor either owns its data or is a view into memory
 * that someone else keeps alive (a network's flat parameter buffer, say).
 *
 * Every function that can fail returns NULL or GF_ERR with a message naming the
 * operation and the shapes involved (core/error.h). */
#ifndef GRAFT_CORE_TENSOR_H
#define GRAFT_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

#define GF_MAX_DIMS 5

typedef struct gf_tensor {
    float *data;
    int ndim;
    int64_t shape[GF_MAX_DIMS];
    int64_t numel;
    bool owns_data;
} gf_tensor;

/* Shape checks shared by everything that takes a shape from outside. */
int gf_shape_check(int ndim, const int64_t *shape, const char *operation);
int64_t gf_shape_numel(int ndim, const int64_t *shape);
/* "[2, 3, 4]" into buf; returns buf */
char *gf_shape_format(char *buf, size_t size, int ndim, const int64_t *shape);
bool gf_tensor_same_shape(const gf_tensor *a, const gf_tensor *b);

gf_tensor *gf_tensor_create(int ndim, const int64_t *shape);   /* zero-filled */
gf_tensor *gf_tensor_view(float *data, int ndim, const int64_t *shape);
gf_tensor *gf_tensor_clone(const gf_tensor *src);
void gf_tensor_free(gf_tensor *t);
/* Same numel, new shape; a view of t's data (t must outlive it). */
gf_tensor *gf_tensor_reshape_view(const gf_tensor *t, int ndim, const int64_t *shape);

void gf_tensor_fill(gf_tensor *t, float value);
int gf_tensor_copy(gf_tensor *dst, const gf_tensor *src);
void gf_tensor_fill_normal(gf_tensor *t, gf_rng *rng, float mean, float std);
void gf_tensor_fill_uniform(gf_tensor *t, gf_rng *rng, float low, float high);

/* Elementwise: out may alias a or b. Shapes must be equal. */
int gf_tensor_add(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
int gf_tensor_sub(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
int gf_tensor_mul(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
int gf_tensor_div(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
void gf_tensor_scale(gf_tensor *t, float factor);
void gf_tensor_add_scalar(gf_tensor *t, float value);
/* y <- a*x + y */
int gf_tensor_axpy(gf_tensor *y, float a, const gf_tensor *x);

/* Reductions (accumulated in double). */
double gf_tensor_sum(const gf_tensor *t);
double gf_tensor_mean(const gf_tensor *t);
float gf_tensor_max(const gf_tensor *t);
float gf_tensor_min(const gf_tensor *t);
double gf_tensor_abs_sum(const gf_tensor *t);
/* largest |a-b| / max(|b|, floor), for tests and parity checks */
double gf_tensor_max_rel_diff(const gf_tensor *a, const gf_tensor *b, double floor);

/* out[M,N] = a[M,K] @ b[K,N] (2-D), through cblas_sgemm. */
int gf_tensor_matmul(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);

#endif
