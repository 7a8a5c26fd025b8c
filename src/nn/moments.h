/* BatchNorm's batch statistics as moments of planes (one image's H*W values of a
 * channel): each plane's mean and sum of squared deviations, then the planes of a
 * channel merged in image order (Chan, Golub and LeVeque's pairwise update). Either
 * BatchNorm computes them itself or the convolution before it does, from its output
 * while that is still in cache (nn/conv2d.h, gf_conv2d_forward_moments); both take
 * the same steps, so that they give the same bits. */
#ifndef GRAFT_NN_MOMENTS_H
#define GRAFT_NN_MOMENTS_H

#include <stddef.h>

typedef struct gf_moments {
    double mean;
    double squares; /* sum of (x - mean)^2 */
} gf_moments;

/* the moments of x[0 .. n) (n >= 1), summed about x[0] so that a plane far from zero
 * with a small spread loses little to cancellation */
gf_moments gf_moments_of_plane(const float *x, size_t n);

/* *total (over `count` values so far) merged with `part` (over `part_count` values) */
void gf_moments_merge(gf_moments *total, double count, const gf_moments *part, double part_count);

#endif
