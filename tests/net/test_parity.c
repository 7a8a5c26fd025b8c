/* Parity with PyTorch: one training step of ResNet-20 and of three MobileNetV2 blocks,
 * recorded by tests/parity/make_fixture.py, repeated by graft from the same weights,
 * input and labels, whose ReLU inputs lie far from zero (check_kinks). Logits and loss must agree to a relative error under 1e-4,
 * every parameter gradient under 1e-3 (norm-wise per tensor), and the BatchNorm
 * running statistics, counters and evaluation-mode logits after the step too.
 * The fixtures also carry PyTorch's state_dict keys and shapes of the full models,
 * which the builders must reproduce in order; and a fixture rewritten by graft's
 * writer must come out byte for byte as the Python writer wrote it.
 *
 * usage: test_net_parity RESNET20_FIXTURE MOBILENETV2_BLOCK_FIXTURE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "nn/loss.h"
#include "nn/models.h"

static const gf_st_entry *need(const gf_st_file *f, const char *name) {
    const gf_st_entry *e = gf_safetensors_find(f, name);
    if (!e) fprintf(stderr, "%s: fixture lacks '%s'\n", gf_safetensors_path(f), name);
    CHECK(e != NULL);
    return e;
}

static const char *meta(const gf_st_file *f, const char *key) {
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++)
        if (strcmp(gf_safetensors_meta(f, i)->key, key) == 0)
            return gf_safetensors_meta(f, i)->value;
    fprintf(stderr, "%s: fixture lacks metadata '%s'\n", gf_safetensors_path(f), key);
    CHECK(0);
    return "";
}

static int64_t numel_of(const gf_st_entry *e) {
    int64_t n = 1;
    for (int d = 0; d < e->ndim; d++) n *= e->shape[d];
    return n;
}

static double norm(const float *a, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)a[i] * a[i];
    return sqrt(sum);
}

/* ||a - b|| / max(||b||, floor) */
static double relative_error_floor(const float *a, const float *b, int64_t n, double floor) {
    double diff = 0.0;
    for (int64_t i = 0; i < n; i++) diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    double ref = norm(b, n);
    return sqrt(diff) / (ref > floor ? ref : floor);
}

static double relative_error(const float *a, const float *b, int64_t n) {
    return relative_error_floor(a, b, n, 1e-30);
}

/* "name:d0,d1;name:..." in PyTorch's state_dict order, as the builder's slices */
static void check_key_list(gf_net *net, const char *expected, const char *what) {
    char *list = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&list, &length);
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        fprintf(out, "%s%s:", i ? ";" : "", s->name);
        for (int d = 0; d < s->ndim; d++)
            fprintf(out, "%s%lld", d ? "," : "", (long long)s->shape[d]);
    }
    fclose(out);
    if (strcmp(list, expected) != 0) {
        size_t at = 0;
        while (list[at] && list[at] == expected[at]) at++;
        fprintf(stderr,
                "%s: state_dict differs from PyTorch's at character %zu:\n  graft: %.80s\n  torch: "
                "%.80s\n",
                what, at, list + at, expected + at);
    }
    CHECK(strcmp(list, expected) == 0);
    free(list);
}

/* Loads the state before the step from the fixture (by state_dict name). */
static void load_state(gf_net *net, const gf_st_file *f) {
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        const gf_st_entry *e = need(f, s->name);
        if (!e || numel_of(e) != s->numel) continue;
        if (s->kind == GF_SLICE_COUNT) {
            CHECK(e->dtype == GF_DTYPE_I64);
            gf_net_counters(net)[s->offset] = *(const int64_t *)e->data;
        } else {
            CHECK(e->dtype == GF_DTYPE_F32);
            memcpy(gf_net_slice_data(net, s), e->data, (size_t)s->numel * sizeof(float));
        }
    }
}

static void compare(const char *fixture, const char *what, const float *graft, const gf_st_entry *e,
                    int64_t n, double tolerance, double floor, double *worst, char *worst_name) {
    if (!e) return;
    CHECK(numel_of(e) == n);
    if (numel_of(e) != n) return;
    double err = relative_error_floor(graft, e->data, n, floor);
    if (err > tolerance)
        fprintf(stderr, "%s: %s differs, relative error %.3g\n", fixture, what, err);
    CHECK(err <= tolerance);
    /* the worst is reported among tensors measured against their own norm */
    if (worst && err > *worst && norm(e->data, n) > floor) {
        *worst = err;
        snprintf(worst_name, 96, "%s", what);
    }
}

/* The BatchNorm whose bias shifts an activation's input: its input, or the BatchNorm
 * among the terms of the sum it reads (a residual block's second ReLU). */
static const char *batchnorm_before(const gf_net *net, const gf_node *activation) {
    const gf_node *in = gf_net_node(net, activation->inputs[0]);
    if (in->op == GF_OP_ADD)
        for (int i = 0; i < 2; i++) {
            const gf_node *term = gf_net_node(net, in->inputs[i]);
            if (term->op == GF_OP_BATCHNORM) return term->name;
        }
    return in->op == GF_OP_BATCHNORM ? in->name : "";
}

/* A ReLU's gradient jumps at zero: an input within rounding of it falls on either
 * side in two correct float32 implementations, and the gradients then differ by that
 * position's whole share (a flipped mask moved one by 1.2e-3 here once). The fixture
 * therefore keeps every ReLU's inputs away from zero, channel by channel, by at least
 * KINK_MARGIN times the error of a float32 forward on Winograd's F(4x4, 3x3) (the
 * coarsest rounding of graft's training forward), with the kinks placed by the
 * generator (tests/parity/make_fixture.py, place_kinks): metadata "relu_kinks",
 * "bn:margin:error:ratio;..." in forward order, the smallest per-channel ratio last.
 * Without that margin the comparison below would test luck, not formulas. */
#define KINK_MARGIN 100.0
static void check_kinks(const gf_net *net, const char *kinks, const char *label) {
    const char *p = kinks;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i);
        if (n->op != GF_OP_ACTIVATION) continue;
        CHECK(n->activation == GF_ACT_RELU);
        char name[80];
        double margin, error, ratio;
        int used = 0;
        if (sscanf(p, "%79[^:]:%lf:%lf:%lf%n", name, &margin, &error, &ratio, &used) != 4) {
            fprintf(stderr, "%s: relu_kinks lacks node %d's ReLU at '%.40s'\n", label, i, p);
            CHECK(0);
            return;
        }
        p += used + (p[used] == ';');
        if (strcmp(name, batchnorm_before(net, n)) != 0 || !(ratio >= KINK_MARGIN))
            fprintf(stderr, "%s: ReLU after '%s' listed as '%s', margin %g times the error\n",
                    label, batchnorm_before(net, n), name, ratio);
        CHECK(strcmp(name, batchnorm_before(net, n)) == 0);
        CHECK(ratio >= KINK_MARGIN);
    }
    if (*p) fprintf(stderr, "%s: relu_kinks lists more ReLUs than the net has: '%.40s'\n", label, p);
    CHECK(*p == '\0');
}

/* One training step against the fixture, then evaluation mode. */
static void check_step(gf_net *net, const char *path, const char *label) {
    gf_st_file *f = gf_safetensors_read(path);
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "%s\n", gf_error_message());
        return;
    }
    check_key_list(net, meta(f, "state_dict"), label);
    check_kinks(net, meta(f, "relu_kinks"), label);
    CHECK(strtoull(meta(f, "parameters"), NULL, 10) == gf_net_param_count(net));
    load_state(net, f);

    const gf_st_entry *input = need(f, "input"), *labels64 = need(f, "labels");
    if (!input || !labels64) {
        gf_safetensors_close(f);
        return;
    }
    int batch = (int)input->shape[0], classes = gf_net_output_size(net);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    for (int b = 0; b < batch; b++) labels[b] = (int32_t)((const int64_t *)labels64->data)[b];

    gf_net_set_training(net, true);
    const float *logits;
    CHECK(gf_net_forward(net, input->data, batch, &logits) == GF_OK);
    double logit_err = relative_error(logits, need(f, "logits")->data, (int64_t)batch * classes);
    compare(label, "logits", logits, need(f, "logits"), (int64_t)batch * classes, 1e-4, 0.0, NULL,
            NULL);
    float loss, *grad_logits = malloc((size_t)batch * classes * sizeof(float));
    CHECK(gf_cross_entropy(&loss, grad_logits, logits, labels, batch, classes) == GF_OK);
    compare(label, "loss", &loss, need(f, "loss"), 1, 1e-4, 0.0, NULL, NULL);
    CHECK(gf_net_backward(net, grad_logits) == GF_OK);

    /* Some gradients are zero in exact arithmetic (a BatchNorm bias whose output only
     * reaches later BatchNorms, which subtract it again); both sides then hold
     * rounding noise near 1e-8. They are measured against 1e-4 of the largest
     * gradient norm instead of their own. */
    double grad_floor = 0.0;
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        char name[128];
        snprintf(name, sizeof name, "grad.%s", s->name);
        const gf_st_entry *e = s->kind == GF_SLICE_PARAM ? gf_safetensors_find(f, name) : NULL;
        if (e && norm(e->data, numel_of(e)) * 1e-4 > grad_floor)
            grad_floor = norm(e->data, numel_of(e)) * 1e-4;
    }
    double worst = 0.0;
    char worst_name[96] = "";
    int grads = 0;
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        char name[128];
        if (s->kind == GF_SLICE_PARAM) {
            snprintf(name, sizeof name, "grad.%s", s->name);
            compare(label, name, gf_net_slice_grad(net, s), need(f, name), s->numel, 1e-3,
                    grad_floor, &worst, worst_name);
            grads++;
        } else if (s->kind == GF_SLICE_STAT) {
            snprintf(name, sizeof name, "after.%s", s->name);
            compare(label, name, gf_net_slice_data(net, s), need(f, name), s->numel, 1e-4, 0.0,
                    NULL, NULL);
        } else {
            snprintf(name, sizeof name, "after.%s", s->name);
            const gf_st_entry *e = need(f, name);
            CHECK(e && *(const int64_t *)e->data == gf_net_counters(net)[s->offset]);
        }
    }
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input->data, batch, &logits) == GF_OK);
    double eval_err =
        relative_error(logits, need(f, "eval_logits")->data, (int64_t)batch * classes);
    compare(label, "eval_logits", logits, need(f, "eval_logits"), (int64_t)batch * classes, 1e-4,
            0.0, NULL, NULL);
    printf(
        "%s: logits %.2e, loss %.6f vs %.6f, %d gradients, worst %.2e (%s; near-zero "
        "gradients against the floor), eval logits %.2e\n",
        label, logit_err, loss, *(const float *)need(f, "loss")->data, grads, worst, worst_name,
        eval_err);
    free(grad_logits);
    free(labels);
    gf_safetensors_close(f);
}

/* graft's writer, given the fixture's tensors and metadata, writes the same bytes as
 * the Python writer did. */
static void check_rewrite(const char *path) {
    gf_st_file *f = gf_safetensors_read(path);
    if (!f) return;
    size_t count = gf_safetensors_count(f), metas = gf_safetensors_meta_count(f);
    gf_st_entry *entries = malloc(count * sizeof *entries);
    gf_st_meta *meta_list = malloc((metas ? metas : 1) * sizeof *meta_list);
    for (size_t i = 0; i < count; i++) entries[i] = *gf_safetensors_entry(f, i);
    for (size_t i = 0; i < metas; i++) meta_list[i] = *gf_safetensors_meta(f, i);
    char copy[512];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(copy, sizeof copy, "%s/graft-parity-%ld.safetensors", tmp, (long)getpid());
    CHECK(gf_safetensors_write(copy, entries, count, meta_list, metas) == GF_OK);
    FILE *a = fopen(path, "rb"), *b = fopen(copy, "rb");
    long offset = 0;
    int ca, cb;
    do {
        ca = fgetc(a);
        cb = fgetc(b);
        offset++;
    } while (ca == cb && ca != EOF);
    if (ca != cb) fprintf(stderr, "%s: rewritten file differs at byte %ld\n", path, offset - 1);
    CHECK(ca == cb);
    fclose(a);
    fclose(b);
    unlink(copy);
    free(entries);
    free(meta_list);
    gf_safetensors_close(f);
}

static gf_net *block_stack(void) {
    gf_net *net = gf_net_create(16, 8, 8);
    int x = gf_model_mobilenetv2_block(net, 0, 0, 16, 24, 6, 1);
    if (x >= 0) x = gf_model_mobilenetv2_block(net, 1, x, 24, 24, 6, 1);
    if (x >= 0) x = gf_model_mobilenetv2_block(net, 2, x, 24, 32, 6, 2);
    if (x >= 0) x = gf_net_global_avgpool(net, x);
    if (x >= 0) x = gf_net_linear(net, "linear", x, 10, true);
    if (x < 0 || gf_net_finalize(net, 1) != GF_OK) {
        fprintf(stderr, "block stack: %s\n", gf_error_message());
        gf_net_free(net);
        return NULL;
    }
    return net;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RESNET20_FIXTURE MOBILENETV2_BLOCK_FIXTURE\n", argv[0]);
        return 2;
    }
    gf_net *resnet = gf_model_resnet_cifar(20, NULL);
    check_step(resnet, argv[1], "resnet20");
    gf_net_free(resnet);

    gf_net *blocks = block_stack();
    CHECK(blocks != NULL);
    if (blocks) check_step(blocks, argv[2], "mobilenetv2 blocks");
    gf_net_free(blocks);

    /* the full models' structure, as PyTorch builds them */
    gf_st_file *f = gf_safetensors_read(argv[2]);
    CHECK(f != NULL);
    if (f) {
        gf_net *mobilenet = gf_model_mobilenetv2_cifar(NULL);
        check_key_list(mobilenet, meta(f, "mobilenetv2_state_dict"), "mobilenetv2");
        CHECK(strtoull(meta(f, "mobilenetv2_parameters"), NULL, 10) ==
              gf_net_param_count(mobilenet));
        gf_net_free(mobilenet);
        /* "20:269722,32:464154,..." */
        const char *p = meta(f, "resnet_parameters");
        int depths = 0;
        while (*p) {
            char *end;
            int depth = (int)strtol(p, &end, 10);
            size_t count = strtoull(end + 1, &end, 10);
            gf_net *net = gf_model_resnet_cifar(depth, NULL);
            CHECK(net && gf_net_param_count(net) == count);
            gf_net_free(net);
            depths++;
            p = *end ? end + 1 : end;
        }
        CHECK(depths == 5);
        gf_safetensors_close(f);
    }
    check_rewrite(argv[1]);
    check_rewrite(argv[2]);
    return CHECK_DONE();
}
