/* BatchNorm's batch statistics as moments of planes (one image's H*W values of a
 * channel): each plane's mean and sum of squared deviations, then a channel's equal
 * planes combined (gf_moments_combine). Either BatchNorm computes them itself or the
 * convolution before it does, from its output while that is still in cache
 * (nn/conv2d.h, gf_conv2d_forward_moments); both take the same steps, so that they
 * give the same bits. */
#ifndef GRAFT_NN_MOMENTS_H
#define GRAFT_NN_MOMENTS_H

#include <stddef.h>

/* The smallest output plane whose moments a convolution hands to its BatchNorm: smaller
 * outputs stay in cache for BatchNorm's own pass, and per plane the moments' fixed
 * costs outweigh that pass (bench_kernels: 8x8 and 4x4 layers slower with them, 16x16
 * and 32x32 faster). */
enum { GF_MOMENTS_MIN_PLANE = 256 };

typedef struct gf_moments {
    double mean;
    double squares; /* sum of (x - mean)^2 */
} gf_moments;

/* the moments of x[0 .. n) (n >= 1), summed about x[0] so that a plane far from zero
 * with a small spread loses little to cancellation */
gf_moments gf_moments_of_plane(const float *x, size_t n);

/* Planes of equal size combined in order: the mean of their means, and their sums of
 * squared deviations plus the spread of their means, all summed about the first
 * plane's mean (no cancellation when the means are close and far from zero). */
typedef struct gf_moments_sum {
    double shift, means, mean_squares, squares; /* sums over the planes so far */
    int planes;
} gf_moments_sum;

void gf_moments_add(gf_moments_sum *total, const gf_moments *plane);
/* the combined moments of the planes added, `plane_size` values each */
gf_moments gf_moments_combine(const gf_moments_sum *total, size_t plane_size);

#endif
