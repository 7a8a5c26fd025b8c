/* libFuzzer harness: the input is a network checkpoint (a safetensors file with
 * the architecture in its metadata), read as graft.load reads one (gf_net_load).
 * A network that loads must save and load again to the same architecture, state
 * and model name; one within the fuzzing budget (fuzz_net.h) is then run forward
 * and backward on one sample. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_input.h"
#include "fuzz_net.h"
#include "io/checkpoint.h"
#include "nn/architecture.h"

static int same_state(gf_net *a, gf_net *b) {
    char *text_a = gf_architecture_describe(a), *text_b = gf_architecture_describe(b);
    int same = text_a && text_b && strcmp(text_a, text_b) == 0 &&
               strcmp(gf_net_model(a), gf_net_model(b)) == 0 &&
               gf_net_param_count(a) == gf_net_param_count(b) &&
               gf_net_stat_count(a) == gf_net_stat_count(b) &&
               gf_net_counter_count(a) == gf_net_counter_count(b) &&
               memcmp(gf_net_params(a), gf_net_params(b),
                      gf_net_param_count(a) * sizeof(float)) == 0 &&
               memcmp(gf_net_stats(a), gf_net_stats(b), gf_net_stat_count(a) * sizeof(float)) == 0 &&
               memcmp(gf_net_counters(a), gf_net_counters(b),
                      gf_net_counter_count(a) * sizeof(int64_t)) == 0;
    free(text_a);
    free(text_b);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gf_error_clear();
    gf_net *net = gf_net_load(fuzz_file(0, data, size));
    if (net == NULL) {
        fuzz_refused();
        return 0;
    }
    const char *path = fuzz_scratch_path("written.safetensors");
    if (gf_net_save(net, path, NULL, 0) != GF_OK) {
        fprintf(stderr, "a loaded network cannot be saved: %s\n", gf_error_message());
        abort();
    }
    gf_net *again = gf_net_load(path);
    if (!again || !same_state(net, again)) {
        fprintf(stderr, "a saved network does not load back the same: %s\n",
                again ? "different" : gf_error_message());
        abort();
    }
    gf_net_free(again);
    if (fuzz_net_within_budget(net)) fuzz_net_run(net);
    gf_net_free(net);
    return 0;
}
