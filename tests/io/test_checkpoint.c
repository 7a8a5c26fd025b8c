/* Checkpoints: a network's full state saved and loaded, state_dict keys and dtypes
 * in the file, files that do not fit the network refused with the network left
 * unchanged, networks rebuilt from their file alone, and files that claim more than
 * they hold refused before anything is allocated for them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "nn/models.h"

static char dir[256];

static const char *path_in_dir(const char *name) {
    static char buf[4][512];
    static int next = 0;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* A small convnet; `classes` and `extra` vary the architecture. */
static gf_net *tiny(int classes, bool extra, uint64_t seed) {
    gf_net *net = gf_net_create(3, 8, 8);
    int x = gf_net_conv2d(net, "conv1", 0, 4, 3, 1, 1, 1, false);
    x = gf_net_batchnorm(net, "bn1", x);
    x = gf_net_activation(net, x, GF_ACT_RELU, 0);
    if (extra) x = gf_net_conv2d(net, "conv2", x, 4, 1, 1, 0, 1, true);
    x = gf_net_global_avgpool(net, x);
    gf_net_linear(net, "linear", x, classes, true);
    gf_net_finalize(net, seed);
    return net;
}

static bool same_state(gf_net *a, gf_net *b) {
    return gf_net_param_count(a) == gf_net_param_count(b) &&
           memcmp(gf_net_params(a), gf_net_params(b), gf_net_param_count(a) * 4) == 0 &&
           memcmp(gf_net_stats(a), gf_net_stats(b), gf_net_stat_count(a) * 4) == 0 &&
           memcmp(gf_net_counters(a), gf_net_counters(b), gf_net_counter_count(a) * 8) == 0;
}

static void test_round_trip(void) {
    gf_model_options o = {.classes = 10, .seed = 1};
    gf_net *saved = gf_model_resnet_cifar(20, &o);
    /* a training step gives non-trivial running statistics and counters */
    float *input = calloc(2 * 3 * 32 * 32, sizeof(float));
    for (int i = 0; i < 2 * 3 * 32 * 32; i++) input[i] = (float)((i * 7919) % 13) - 6.0f;
    const float *out;
    CHECK(gf_net_forward(saved, input, 2, &out) == GF_OK);
    CHECK(gf_net_forward(saved, input, 2, &out) == GF_OK);
    gf_st_meta meta[] = {{"epoch", "3"}};
    const char *path = path_in_dir("resnet20.safetensors");
    CHECK(gf_net_save(saved, path, meta, 1) == GF_OK);

    o.seed = 2;
    gf_net *loaded = gf_model_resnet_cifar(20, &o);
    CHECK(!same_state(saved, loaded));
    CHECK(gf_net_load_state(loaded, path) == GF_OK);
    CHECK(same_state(saved, loaded));
    CHECK(gf_net_counters(loaded)[0] == 2);

    /* the file holds the state_dict: PyTorch's keys, dtypes and shapes */
    gf_st_file *f = gf_safetensors_read(path);
    CHECK(f && gf_safetensors_count(f) == (size_t)gf_net_slice_count(saved));
    const gf_st_entry *e = f ? gf_safetensors_find(f, "layer2.0.bn1.num_batches_tracked") : NULL;
    CHECK(e && e->dtype == GF_DTYPE_I64 && e->ndim == 0 && *(const int64_t *)e->data == 2);
    e = f ? gf_safetensors_find(f, "layer3.2.conv2.weight") : NULL;
    CHECK(e && e->dtype == GF_DTYPE_F32 && e->ndim == 4 && e->shape[0] == 64 && e->shape[3] == 3);
    size_t found = 0;
    for (size_t i = 0; f && i < gf_safetensors_meta_count(f); i++) {
        const gf_st_meta *m = gf_safetensors_meta(f, i);
        found += strcmp(m->key, "epoch") == 0 && strcmp(m->value, "3") == 0;
        found += strcmp(m->key, GF_CHECKPOINT_MODEL_KEY) == 0 && strcmp(m->value, "resnet20") == 0;
    }
    CHECK(found == 2);
    gf_safetensors_close(f);
    unlink(path);
    free(input);
    gf_net_free(saved);
    gf_net_free(loaded);
}

static void test_refused(void) {
    gf_net *base = tiny(5, false, 1);
    const char *path = path_in_dir("tiny.safetensors");
    CHECK(gf_net_save(base, path, NULL, 0) == GF_OK);

    gf_net *bigger = tiny(5, true, 2), *reference = tiny(5, true, 2);
    CHECK(gf_net_load_state(bigger, path) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), path);
    CHECK_CONTAINS(gf_error_message(), "tensor 'conv2.weight' of the network is missing");
    CHECK(same_state(bigger, reference));

    CHECK(gf_net_save(bigger, path, NULL, 0) == GF_OK);
    gf_net *smaller = tiny(5, false, 3), *smaller_ref = tiny(5, false, 3);
    CHECK(gf_net_load_state(smaller, path) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(),
                   "tensor 'conv2.weight' in the file is not part of the network");
    CHECK(same_state(smaller, smaller_ref));

    CHECK(gf_net_save(base, path, NULL, 0) == GF_OK);
    gf_net *wide = tiny(7, false, 4), *wide_ref = tiny(7, false, 4);
    CHECK(gf_net_load_state(wide, path) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(),
                   "tensor 'linear.weight' has shape [5, 4], the network needs [7, 4]");
    CHECK(same_state(wide, wide_ref));

    /* num_batches_tracked written as F32 instead of I64 */
    int count = gf_net_slice_count(base);
    gf_st_entry *entries = calloc((size_t)count, sizeof *entries);
    float zero = 0.0f;
    for (int i = 0; i < count; i++) {
        const gf_slice *s = gf_net_slice(base, i);
        entries[i] =
            (gf_st_entry){.name = s->name,
                          .dtype = GF_DTYPE_F32,
                          .ndim = s->ndim,
                          .data = s->kind == GF_SLICE_COUNT ? &zero : gf_net_slice_data(base, s)};
        memcpy(entries[i].shape, s->shape, sizeof s->shape);
    }
    CHECK(gf_safetensors_write(path, entries, (size_t)count, NULL, 0) == GF_OK);
    gf_net *other = tiny(5, false, 5), *other_ref = tiny(5, false, 5);
    CHECK(gf_net_load_state(other, path) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(),
                   "tensor 'bn1.num_batches_tracked' is F32, the network needs I64");
    CHECK(same_state(other, other_ref));

    CHECK(gf_net_load_state(other, path_in_dir("absent.safetensors")) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "cannot open");
    free(entries);
    unlink(path);
    gf_net *nets[] = {base, bigger,   reference, smaller,  smaller_ref,
                      wide, wide_ref, other,     other_ref};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) gf_net_free(nets[i]);
}

/* gf_net_load rebuilds the network, its model name and its state from the file. */
static void test_load_rebuilds(void) {
    gf_model_options o = {.classes = 7, .seed = 3};
    gf_net *saved = gf_model_resnet_cifar(20, &o);
    float input[3 * 32 * 32];
    for (int i = 0; i < 3 * 32 * 32; i++) input[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
    const float *out;
    CHECK(gf_net_forward(saved, input, 1, &out) == GF_OK); /* running statistics move */
    const char *path = path_in_dir("rebuilt.safetensors");
    CHECK(gf_net_save(saved, path, NULL, 0) == GF_OK);
    gf_net *loaded = gf_net_load(path);
    CHECK(loaded && same_state(saved, loaded));
    CHECK(loaded && strcmp(gf_net_model(loaded), "resnet20") == 0);
    if (loaded) {
        gf_net_set_training(saved, false);
        gf_net_set_training(loaded, false);
        float expected[7];
        CHECK(gf_net_forward(saved, input, 1, &out) == GF_OK);
        memcpy(expected, out, sizeof expected);
        CHECK(gf_net_forward(loaded, input, 1, &out) == GF_OK);
        CHECK(memcmp(expected, out, sizeof expected) == 0);
    }
    gf_net_free(loaded);

    gf_net *custom = tiny(5, true, 4);
    CHECK(gf_net_save(custom, path, NULL, 0) == GF_OK);
    loaded = gf_net_load(path);
    CHECK(loaded && same_state(custom, loaded) && strcmp(gf_net_model(loaded), "custom") == 0);
    gf_st_meta own[] = {{GF_CHECKPOINT_MODEL_KEY, "x"}};
    CHECK(gf_net_save(custom, path, own, 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "metadata key 'graft.model' is graft's own");

    /* a state without an architecture cannot say which network it is */
    const gf_slice *s = gf_net_slice(custom, 0);
    gf_st_entry plain = {.name = s->name, .dtype = GF_DTYPE_F32, .ndim = s->ndim,
                         .data = gf_net_slice_data(custom, s)};
    memcpy(plain.shape, s->shape, sizeof s->shape);
    CHECK(gf_safetensors_write(path, &plain, 1, NULL, 0) == GF_OK);
    CHECK(gf_net_load(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "no 'graft.architecture' metadata");
    unlink(path);
    gf_net_free(loaded);
    gf_net_free(custom);
    gf_net_free(saved);
}

static long peak_rss_kb(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/* A file of a few hundred bytes claiming a large network: the claim is checked
 * against the limits and against the file's tensors before any buffer exists. */
static void test_load_checks_before_allocating(void) {
    const char *path = path_in_dir("claim.safetensors");
    float one = 1.0f;
    gf_st_entry weight = {.name = "c.weight", .dtype = GF_DTYPE_F32, .ndim = 4,
                          .shape = {1, 1, 1, 1}, .data = &one};
    /* within the limits, 2^28 weights (1 GiB, and as much again for their gradient) */
    gf_st_meta claim[] = {{GF_CHECKPOINT_ARCHITECTURE_KEY, "input 16384 1 1;conv2d c 0 16384 1 1 0 1 0"}};
    CHECK(gf_safetensors_write(path, &weight, 1, claim, 1) == GF_OK);
    long before = peak_rss_kb();
    CHECK(gf_net_load(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), path);
    CHECK_CONTAINS(gf_error_message(), "tensor 'c.weight' has shape [1, 1, 1, 1], the network needs [16384, 16384, 1, 1]");
    long grown = peak_rss_kb() - before;
    if (grown > 64 * 1024) fprintf(stderr, "peak RSS grew by %ld kB\n", grown);
    CHECK(grown <= 64 * 1024);

    /* beyond the limits: a convolution of 10^9 channels */
    gf_st_meta huge[] = {{GF_CHECKPOINT_ARCHITECTURE_KEY, "input 3 32 32;conv2d c 0 1000000000 3 1 1 1 0"}};
    CHECK(gf_safetensors_write(path, &weight, 1, huge, 1) == GF_OK);
    CHECK(gf_net_load(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "out_channels 1000000000 is beyond the limit 65536");
    CHECK_CONTAINS(gf_error_message(), "node 1 (conv2d 'c')");
    unlink(path);
}

int main(void) {
    if (!scratch_dir(dir, sizeof dir, "graft-ckpt")) return 1;
    test_round_trip();
    test_refused();
    test_load_rebuilds();
    test_load_checks_before_allocating();
    rmdir(dir);
    return CHECK_DONE();
}
