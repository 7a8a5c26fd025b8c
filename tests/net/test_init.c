/* The initial weights of the reference's models against PyTorch's: the standard
 * deviation of every conv and linear weight and bias (and WRN's BatchNorm weights),
 * pooled over 8 seeds, within 5% of the one tests/parity/make_fixture.py measured on
 * the reference's PyTorch models (pooled over 16 seeds): MobileNetV2 and VGG16 with
 * PyTorch's defaults, ResNet-20 with Kaiming normal, WRN-16-2 with its wrn.py's rule
 * (each its reference's), and MobileNetV2 with init = kaiming against ResNet-20's
 * rule, sqrt(2 / fan_in). A tensor the reference fills with zeros must be zeros. Tensors too small to
 * measure a standard deviation to 5% (a linear bias of 10 values) get three
 * standard errors of the two estimates instead, sqrt(1/(2n)) each. Kaiming
 * normal's 2.45 times larger weights fail this by far.
 *
 * usage: test_net_init INIT_STD_FIXTURE */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "nn/models.h"

enum { SEEDS = 8 };

typedef gf_net *(*model_builder)(uint64_t seed, bool kaiming);

static gf_net *mobilenetv2(uint64_t seed, bool kaiming) {
    gf_model_options o = {.seed = seed, .init_given = kaiming, .init = GF_INIT_KAIMING};
    return gf_model_mobilenetv2_cifar(&o);
}

static gf_net *resnet20(uint64_t seed, bool kaiming) {
    (void)kaiming;
    gf_model_options o = {.seed = seed};
    return gf_model_resnet_cifar(20, &o);
}

static gf_net *vgg16(uint64_t seed, bool kaiming) {
    (void)kaiming;
    gf_model_options o = {.seed = seed};
    return gf_model_vgg16_cifar(&o);
}

static gf_net *wrn16_2(uint64_t seed, bool kaiming) {
    (void)kaiming;
    gf_model_options o = {.seed = seed};
    return gf_model_wrn_cifar(16, 2, &o);
}

/* The pooled standard deviation of slice s over the networks (SEEDS x numel values). */
static double pooled_std(gf_net **nets, int s) {
    double sum = 0, squares = 0;
    int64_t n = 0;
    for (int k = 0; k < SEEDS; k++) {
        const gf_slice *slice = gf_net_slice(nets[k], s);
        const float *v = gf_net_slice_data(nets[k], slice);
        for (int64_t i = 0; i < slice->numel; i++) sum += v[i];
        n += slice->numel;
    }
    double mean = sum / (double)n;
    for (int k = 0; k < SEEDS; k++) {
        const gf_slice *slice = gf_net_slice(nets[k], s);
        const float *v = gf_net_slice_data(nets[k], slice);
        for (int64_t i = 0; i < slice->numel; i++) squares += (v[i] - mean) * (v[i] - mean);
    }
    return sqrt(squares / (double)(n - 1));
}

/* Compares every conv and linear weight and bias of the model with the fixture's
 * "<prefix>.<name>", or, when kaiming is asked of MobileNetV2, with sqrt(2/fan_in).
 * Returns the number of tensors compared. */
static int compare_model(const gf_st_file *fixture, const char *prefix, model_builder build,
                         bool kaiming) {
    gf_net *nets[SEEDS];
    for (int k = 0; k < SEEDS; k++) {
        nets[k] = build(1 + (uint64_t)k, kaiming);
        CHECK(nets[k] != NULL);
        if (!nets[k]) return 0;
    }
    int compared = 0;
    for (int n = 0; n < gf_net_node_count(nets[0]); n++) {
        const gf_node *node = gf_net_node(nets[0], n);
        bool batchnorm = node->op == GF_OP_BATCHNORM;
        if (node->op != GF_OP_CONV2D && node->op != GF_OP_LINEAR && !batchnorm) continue;
        for (int part = 0; part < 2; part++) {
            int s = part ? node->bias : node->weight;
            if (s < 0 || (batchnorm && part == 1)) continue;
            const gf_slice *slice = gf_net_slice(nets[0], s);
            char key[160];
            snprintf(key, sizeof key, "%s.%s", prefix, slice->name);
            /* BatchNorm weights are compared where the reference draws them (WRN) */
            if (batchnorm && !gf_safetensors_find(fixture, key)) continue;
            double expected;
            if (kaiming && part == 0 && !batchnorm) {
                const gf_slice *w = gf_net_slice(nets[0], node->weight);
                expected = sqrt(2.0 / (double)(w->numel / w->shape[0]));
            } else {
                const gf_st_entry *e = gf_safetensors_find(fixture, key);
                if (!e) {
                    fprintf(stderr, "init_std fixture lacks '%s'\n", key);
                    check_failures++;
                    continue;
                }
                expected = ((const float *)e->data)[0];
            }
            double got = pooled_std(nets, s);
            double ours = (double)slice->numel * SEEDS, theirs = (double)slice->numel * 16;
            double tolerance = fmax(0.05, 3 * sqrt(0.5 / ours + 0.5 / theirs));
            bool same = expected == 0.0 ? got == 0.0 : fabs(got / expected - 1.0) <= tolerance;
            if (!same) {
                fprintf(stderr, "%s%s %s: std %.5g, PyTorch's %.5g\n", prefix,
                        kaiming ? " (init = kaiming)" : "", slice->name, got, expected);
                check_failures++;
            }
            compared++;
        }
    }
    for (int k = 0; k < SEEDS; k++) gf_net_free(nets[k]);
    return compared;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s INIT_STD_FIXTURE\n", argv[0]);
        return 2;
    }
    gf_st_file *fixture = gf_safetensors_read(argv[1]);
    if (!fixture) {
        fprintf(stderr, "%s\n", gf_error_message());
        return 1;
    }
    /* MobileNetV2: 57 convs (4 of them shortcuts) and the linear weight and bias */
    CHECK(compare_model(fixture, "mobilenetv2", mobilenetv2, false) == 59);
    /* ResNet-20: 19 convs and the linear weight and bias */
    CHECK(compare_model(fixture, "resnet20", resnet20, false) == 21);
    CHECK(compare_model(fixture, "mobilenetv2", mobilenetv2, true) == 59);
    /* VGG16: 13 convs and the classifier, each with a bias */
    CHECK(compare_model(fixture, "vgg16", vgg16, false) == 28);
    /* WRN-16-2: 16 convs (3 of them shortcuts), the linear weight and bias, 13 BatchNorms */
    CHECK(compare_model(fixture, "wrn16_2", wrn16_2, false) == 16 + 2 + 13);
    gf_safetensors_close(fixture);
    return CHECK_DONE();
}
