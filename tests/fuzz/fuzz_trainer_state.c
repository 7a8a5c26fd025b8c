/* libFuzzer harness: a trainer's checkpoint folder, read as resuming reads it
 * (gf_train_checkpoint_load) into a small fixed network and its SGD optimizer.
 * Input layout:
 *   byte 0      the epoch of the folder (epoch-000N, N = byte % 4 + 1)
 *   2 + n bytes trainer.safetensors (n a 2-byte little-endian prefix)
 *   2 + n bytes history.jsonl
 *   the rest    model.safetensors
 * A refusal must change nothing (network state, momentum buffer); a state that
 * loads must be of the folder's epoch and hold usable generators. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "core/rng.h"
#include "fuzz_input.h"
#include "nn/architecture.h"
#include "train/checkpoint_dir.h"

static const char ARCHITECTURE[] = "input 1 4 4;conv2d c 0 2 3 1 1 1 1;batchnorm bn 1;"
                                   "activation 2 relu 0;global_avgpool 3;linear fc 4 3 1";

static gf_net *net, *original;
static gf_sgd *sgd;
static float *original_buffer;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    net = gf_architecture_build(ARCHITECTURE);
    original = gf_architecture_build(ARCHITECTURE);
    if (!net || !original || gf_net_finalize(net, 1) != GF_OK ||
        gf_net_finalize(original, 1) != GF_OK)
        abort();
    size_t count = gf_net_param_count(net);
    sgd = gf_sgd_create(count, 0.9f, 0.0f, 5e-4f, false);
    original_buffer = malloc(count * sizeof *original_buffer);
    if (!sgd || !original_buffer) abort();
    for (size_t i = 0; i < count; i++) original_buffer[i] = sgd->buffer[i] = (float)i / 8;
    return 0;
}

static void write_member(const char *folder, const char *name, fuzz_cursor bytes) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    if (gf_write_file(path, bytes.data, bytes.size) != GF_OK) {
        fprintf(stderr, "fuzz_trainer_state: %s\n", gf_error_message());
        abort();
    }
}

static int unchanged(void) {
    size_t n = gf_net_param_count(net);
    return memcmp(gf_net_params(net), gf_net_params(original), n * sizeof(float)) == 0 &&
           memcmp(gf_net_stats(net), gf_net_stats(original),
                  gf_net_stat_count(net) * sizeof(float)) == 0 &&
           memcmp(gf_net_counters(net), gf_net_counters(original),
                  gf_net_counter_count(net) * sizeof(int64_t)) == 0 &&
           memcmp(sgd->buffer, original_buffer, n * sizeof(float)) == 0 && !sgd->buffer_filled;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_cursor input = {data, size};
    int epoch = fuzz_byte(&input) % 4 + 1;
    fuzz_cursor trainer = fuzz_piece(&input), history = fuzz_piece(&input);
    char run[256], folder[300];
    snprintf(run, sizeof run, "%s/run", fuzz_scratch_dir());
    snprintf(folder, sizeof folder, "%s/epoch-%04d", run, epoch);
    if (gf_remove_tree(run) != GF_OK || gf_make_dirs(folder) != GF_OK) abort();
    write_member(folder, "trainer.safetensors", trainer);
    write_member(folder, "history.jsonl", history);
    write_member(folder, "model.safetensors", input);

    gf_error_clear();
    gf_train_state state = {0};
    int found = 0;
    if (gf_train_checkpoint_load(run, net, sgd, &state, &found, NULL, NULL) != GF_OK) {
        fuzz_refused();
        if (!unchanged()) {
            fprintf(stderr, "a refused checkpoint changed the network or optimizer: %s\n",
                    gf_error_message());
            abort();
        }
        return 0;
    }
    if (!found || state.epoch != epoch || gf_rng_check(&state.loader_rngs.order) != GF_OK ||
        gf_rng_check(&state.loader_rngs.augment) != GF_OK || !state.history)
        abort();
    fuzz_touch(state.history, strlen(state.history));
    free(state.history);
    /* back to the starting point for the next input */
    if (gf_net_copy_state(net, original) != GF_OK) abort();
    memcpy(sgd->buffer, original_buffer, gf_net_param_count(net) * sizeof(float));
    sgd->buffer_filled = false;
    return 0;
}
