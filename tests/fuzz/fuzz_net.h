/* What the network harnesses (fuzz_architecture.c, fuzz_checkpoint.c) do with a
 * network that was accepted. */
#ifndef GRAFT_TESTS_FUZZ_NET_H
#define GRAFT_TESTS_FUZZ_NET_H

#include "nn/network.h"

/* Whether the network's activations, parameters and each convolution's unfolded
 * input stay below 2^20 floats each: bigger networks are built only, not run, so
 * that every input takes milliseconds. */
int fuzz_net_within_budget(const gf_net *net);

/* One sample forward and backward in training mode, then forward in evaluation
 * mode (the network must be finalised). */
void fuzz_net_run(gf_net *net);

#endif
