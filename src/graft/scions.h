/* Scions from inside one network (section 3.1): they graft into the invalid
 * filters of conv layers, those whose l1 norm is under the threshold gamma.
 * Other filters and all other parameters are left untouched.
 *
 * Noise (3.1.1): every value of an invalid filter receives N(0, sigma), the caller
 * choosing sigma_t = a^t (0 < a < 1) at round t.
 * Internal (3.1.2): per layer, the filters are sorted by l1 norm; the i-th smallest
 * invalid filter receives (adds) the weights of the i-th largest filter of the
 * layer, as they were before the round. A filter is never grafted into itself
 * (when more than half the layer is invalid, the pairing meets in the middle). */
#ifndef GRAFT_GRAFT_SCIONS_H
#define GRAFT_GRAFT_SCIONS_H

#include <stdint.h>

#include "core/rng.h"
#include "nn/network.h"

/* sigma_t = a^t */
double gf_noise_sigma(double a, int round);

/* One layer's weight [filters, per_filter]; *grafted counts the filters changed. */
int gf_scion_noise_layer(float *weight, int64_t filters, int64_t per_filter, double gamma,
                         double sigma, gf_rng *rng, int64_t *grafted);
int gf_scion_internal_layer(float *weight, int64_t filters, int64_t per_filter, double gamma,
                            int64_t *grafted);

/* Every conv layer of the network, in node order. grafted may be NULL. */
int gf_scion_noise(gf_net *net, double gamma, double sigma, gf_rng *rng, int64_t *grafted);
int gf_scion_internal(gf_net *net, double gamma, int64_t *grafted);

#endif
