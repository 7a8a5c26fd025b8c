/* Single-threaded matrix-product kernels for the convolution layers (row-major).
 *
 * Why not cblas_sgemm: on this project's machines (Intel family 6 model 207) the
 * Debian OpenBLAS 0.3.21 does not recognise the CPU and falls back to its SSE3
 * "Prescott" kernels, and its per-call threading costs more than a small
 * convolution's product. These kernels pick AVX-512, AVX2+FMA or portable code at
 * run time, and the convolution splits its batch over threads itself (core/parallel.h).
 *
 * Two products cover a convolution's forward and backward passes:
 *   gf_gemm_nn: C[M,N] (+)= A[M,K] B[K,N], A packed once (gf_gemm_pack_a), B read in
 *               place through a table of row pointers (rows of an im2col matrix, of an
 *               image, or shifted views of a zero-padded image);
 *   gf_gemm_nt: C[M,N] (+)= A[M,K] B[N,K]^T, both given as row tables, A copied
 *               transposed into scratch a panel at a time (weight gradients: the
 *               sum over every output position, a long K). */
#ifndef GRAFT_CORE_GEMM_H
#define GRAFT_CORE_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* Name of the kernel set in use: "avx512", "avx2" or "portable". */
const char *gf_gemm_isa(void);
/* Switches to the named kernel set (tests and benchmarks; call only between products,
 * since packed A depends on it); GF_ERR if unknown or the CPU lacks the instructions. */
int gf_gemm_use(const char *isa);

/* Floats needed by gf_gemm_pack_a for an M x K matrix (any kernel set). */
size_t gf_gemm_packed_a_floats(int m, int k);
/* Packs A[M,K] (A[i][k] = a[i*lda + k], or a[k*lda + i] when transposed) into row
 * panels for gf_gemm_nn; rows past M are zero. */
void gf_gemm_pack_a(float *packed, const float *a, int lda, bool transposed, int m, int k);

/* Fills rows[i] = base + i * ld for i < count: the row table of a plain matrix. */
void gf_gemm_rows(const float **rows, const float *base, size_t ld, int count);

/* C[M,N] = A B (accumulate: C += A B); B[k][j] = b_rows[k][j]. Rows are given as a
 * table so that they may overlap: a convolution's shifted views of one padded image. */
void gf_gemm_nn(float *c, int ldc, const float *packed_a, const float *const *b_rows, int m,
                int n, int k, bool accumulate);
/* gf_gemm_nn over columns kept in segments: column j of B is b_rows[kk][(j / segment)
 * b_stride + j % segment] and of C c[i ldc + (j / segment) c_stride + j % segment]; a
 * 1x1 convolution's images read and written in place, side by side in one product.
 * `segment` and n must be multiples of 16 (so that no vector of any kernel set
 * straddles two segments), unless n <= segment (one segment: a plain product). The
 * same sums, in the same order, as gf_gemm_nn on the columns gathered into one matrix. */
void gf_gemm_nn_segmented(float *c, int ldc, size_t c_stride, const float *packed_a,
                          const float *const *b_rows, size_t b_stride, size_t segment, int m,
                          int n, int k, bool accumulate);
/* The columns gf_gemm_nn's widest tile (AVX-512) computes for N: blocks of 32, a last
 * one of at most 16 as 16. For callers that choose N; the same whatever kernel set
 * is in use (the narrower sets' blocks divide these), so that what was sized from
 * it stays valid across gf_gemm_use. */
size_t gf_gemm_nn_columns(size_t n);
/* Floats of scratch gf_gemm_nt and gf_gemm_nt_transposed need for a given K (any
 * kernel set). */
size_t gf_gemm_nt_scratch_floats(int k);
/* C[M,N] (+)= A B^T with A[i][k] = a_rows[i][k], B^T[k][j] = b_rows[j][k]. */
void gf_gemm_nt(float *c, int ldc, const float *const *a_rows, const float *const *b_rows, int m,
                int n, int k, bool accumulate, float *scratch);
/* gf_gemm_nt over a K kept in segments: A[i][kk] = a_rows[i][(kk / segment) a_stride +
 * kk % segment], B likewise with b_stride (a 1x1 convolution's weight gradient, its
 * sum over a chunk's image planes read where they lie). `segment` and k must be
 * multiples of 16, unless k <= segment (one segment: a plain product); the same sums,
 * in the same order, as gf_gemm_nt on the K gathered. */
void gf_gemm_nt_segmented(float *c, int ldc, const float *const *a_rows, size_t a_stride,
                          const float *const *b_rows, size_t b_stride, size_t segment, int m,
                          int n, int k, bool accumulate, float *scratch);
/* The same product stored transposed: C^T[N,M] (+)= B A^T, c_t[j][i] = sum over k of
 * a_rows[i][k] b_rows[j][k], each element summed in the same order as gf_gemm_nt's.
 * The kernel's vectors run along i, so each goes to C^T whole, where gf_gemm_nt stores
 * element by element: for short K (Winograd's weight gradient, a few dozen tiles per
 * product) those stores cost about as much as the products. */
void gf_gemm_nt_transposed(float *c_t, int ldc, const float *const *a_rows,
                           const float *const *b_rows, int m, int n, int k, bool accumulate,
                           float *scratch);

#endif
