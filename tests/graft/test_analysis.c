/* Invalid filters, network information and filter l1 norms of a network with known
 * weights; scions applied to a whole network touch only conv filters under gamma. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "graft/analysis.h"
#include "graft/scions.h"
#include "nn/models.h"
#include "tiny_net.h"

/* conv1: 4 filters of 2 values, l1 = 0.002, 0.05, 3, 0; conv2: 2 filters of 4 values,
 * l1 = 10 and 0.008 */
static const float conv1[8] = {0.001f, -0.001f, 0.05f, 0, 1, -2, 0, 0};
static const float conv2[8] = {1, 2, 3, 4, 0.002f, 0.002f, -0.002f, 0.002f};

static gf_net *known_net(void) {
    gf_net *net = tiny_net(3, 4);
    set_tensor(net, "conv1.weight", conv1, 8);
    set_tensor(net, "conv2.weight", conv2, 8);
    return net;
}

static void test_invalid_filters(void) {
    gf_net *net = known_net();
    CHECK(gf_conv_layer_count(net) == 2);
    int64_t filters = 0;
    CHECK(gf_conv_filter_count(net, GF_EVERY_CONV, &filters) == GF_OK && filters == 6);
    gf_invalid_layer layers[2];
    int64_t total = 0, invalid = 0;
    int counted = 0;
    CHECK(gf_invalid_filters(net, 0.01, GF_CONV_KEYS, layers, 2, &counted, &total, &invalid) ==
          GF_OK);
    CHECK(total == 6 && invalid == 3 && counted == 2);
    CHECK(strcmp(layers[0].layer, "conv1.weight") == 0 && layers[0].filters == 4);
    CHECK(layers[0].invalid == 2 && layers[1].invalid == 1);
    CHECK(gf_invalid_filters(net, 0.1, GF_CONV_KEYS, NULL, 0, NULL, &total, &invalid) == GF_OK);
    CHECK(invalid == 4);
    CHECK(gf_invalid_filters(net, 0.0, GF_CONV_KEYS, NULL, 0, NULL, &total, &invalid) == GF_OK);
    CHECK(invalid == 0); /* the all-zero filter is not under 0 */
    CHECK(gf_invalid_filters(net, 0.1, GF_CONV_KEYS, layers, 1, NULL, &total, &invalid) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "2 conv layers");
    gf_net_free(net);
}

/* The reference counts the convs whose key says "conv": a MobileNetV2 block with a
 * projection shortcut loses shortcut.0 from the count; a network whose convs are all
 * named otherwise (VGG16's features.N) keeps every conv. */
static void test_counted_convs(void) {
    gf_net *block = gf_net_create(4, 4, 4);
    int x = gf_model_mobilenetv2_block(block, 0, 0, 4, 8, 2, 1);
    x = gf_net_global_avgpool(block, x);
    CHECK(gf_net_linear(block, "linear", x, 3, true) >= 0 && gf_net_finalize(block, 1) == GF_OK);
    gf_invalid_layer layers[4];
    int counted = 0;
    int64_t total = 0, invalid = 0;
    /* conv1 8 filters, conv2 8, conv3 8, shortcut.0 8 */
    CHECK(gf_invalid_filters(block, 1e-3, GF_CONV_KEYS, layers, 4, &counted, &total, &invalid) ==
          GF_OK);
    CHECK(counted == 3 && total == 24);
    CHECK(strcmp(layers[2].layer, "layers.0.conv3.weight") == 0);
    CHECK(gf_invalid_filters(block, 1e-3, GF_EVERY_CONV, layers, 4, &counted, &total, &invalid) ==
          GF_OK);
    CHECK(counted == 4 && total == 32);
    CHECK(strcmp(layers[3].layer, "layers.0.shortcut.0.weight") == 0);
    /* the ratios over several thresholds count the same filters under either rule */
    const double thresholds[3] = {0.5, 2, 8};
    double ratios[3];
    for (int rule = GF_CONV_KEYS; rule <= GF_EVERY_CONV; rule++) {
        int64_t filters = 0;
        CHECK(gf_net_invalid_ratios(block, (gf_conv_rule)rule, thresholds, 3, ratios, &filters) ==
              GF_OK);
        CHECK(filters == (rule == GF_CONV_KEYS ? 24 : 32));
        for (int t = 0; t < 3; t++) {
            CHECK(gf_invalid_filters(block, thresholds[t], (gf_conv_rule)rule, NULL, 0, NULL, &total,
                                     &invalid) == GF_OK);
            CHECK_NEAR(ratios[t], (double)invalid / (double)total, 1e-15);
        }
    }
    gf_net_free(block);

    gf_net *vgg = gf_net_create(1, 4, 4);
    x = gf_net_conv2d(vgg, "features.0", 0, 3, 3, 1, 1, 1, true);
    x = gf_net_batchnorm(vgg, "features.1", x);
    x = gf_net_conv2d(vgg, "features.3", x, 5, 3, 1, 1, 1, true);
    x = gf_net_global_avgpool(vgg, x);
    CHECK(gf_net_linear(vgg, "classifier", x, 2, true) >= 0 && gf_net_finalize(vgg, 1) == GF_OK);
    CHECK(gf_invalid_filters(vgg, 1e-3, GF_CONV_KEYS, NULL, 0, &counted, &total, &invalid) == GF_OK);
    CHECK(counted == 2 && total == 8);
    gf_net_free(vgg);
}

/* Fig. 6's ratios over several thresholds: by hand for the known net's norms, and
 * as gf_invalid_filters counts one threshold at a time. */
static void test_invalid_ratios(void) {
    gf_net *net = known_net();
    double l1[6], ratios[6];
    CHECK(gf_conv_filter_l1(net, GF_EVERY_CONV, l1, 6) == GF_OK);
    /* norms 0.002, 0.05, 3, 0, 10, 0.008 */
    const double thresholds[6] = {0, 0.005, 0.01, 0.1, 5, 100};
    const double expected[6] = {0, 2 / 6.0, 3 / 6.0, 4 / 6.0, 5 / 6.0, 1};
    CHECK(gf_invalid_ratios(l1, 6, thresholds, 6, ratios) == GF_OK);
    for (int t = 0; t < 6; t++) {
        CHECK_NEAR(ratios[t], expected[t], 1e-15);
        int64_t total, invalid;
        CHECK(gf_invalid_filters(net, thresholds[t], GF_EVERY_CONV, NULL, 0, NULL, &total,
                                 &invalid) == GF_OK);
        CHECK_NEAR(ratios[t], (double)invalid / (double)total, 1e-15);
    }
    CHECK(gf_invalid_ratios(l1, 0, thresholds, 2, ratios) == GF_OK);
    CHECK(ratios[0] == 0 && ratios[1] == 0);
    const double nan_threshold[2] = {0.1, NAN};
    CHECK(gf_invalid_ratios(l1, 6, nan_threshold, 2, ratios) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "threshold 2 of 2 is NaN");
    gf_net_free(net);
}

static void test_information_and_l1(void) {
    gf_net *net = known_net();
    double information;
    CHECK(gf_network_information(net, 10, &information) == GF_OK);
    /* conv1 over [-2, 1], 10 bins of 0.3: -2 -> bin 0; 0, 0, 0, -0.001, 0.001 -> bin 6
     * (position 6.66..6.67); 0.05 -> bin 6 (6.83); 1 -> bin 9: counts 1, 6, 1 of 8.
     * conv2 over [-0.002, 4]: 0.002 (x3) and -0.002 -> bin 0; 1 -> 2; 2 -> 4; 3 -> 7;
     * 4 -> 9: counts 4, 1, 1, 1, 1 of 8. */
    double h1 = -(2 * 0.125 * log(0.125) + 0.75 * log(0.75));
    double h2 = -(0.5 * log(0.5) + 4 * 0.125 * log(0.125));
    CHECK_NEAR(information, h1 + h2, 1e-12);
    double l1[6];
    CHECK(gf_conv_filter_l1(net, GF_EVERY_CONV, l1, 6) == GF_OK);
    const double expected[6] = {0.002, 0.05, 3, 0, 10, 0.008};
    for (int i = 0; i < 6; i++) CHECK_NEAR(l1[i], expected[i], 1e-7);
    CHECK(gf_conv_filter_l1(net, GF_EVERY_CONV, l1, 5) == GF_ERR);
    gf_net_free(net);
}

static bool same_tensor(gf_net *a, gf_net *b, const char *name) {
    int index = gf_net_find_slice(a, name);
    return memcmp(tensor_of(a, name), tensor_of(b, name),
                  (size_t)gf_net_slice(a, index)->numel * sizeof(float)) == 0;
}

static void test_network_scions(void) {
    gf_net *net = known_net(), *before = known_net();
    gf_rng rng;
    gf_rng_seed(&rng, 1, 1);
    int64_t grafted = 0;
    CHECK(gf_scion_noise(net, 0.01, 0.1, &rng, &grafted) == GF_OK);
    CHECK(grafted == 3);
    const float *w1 = tensor_of(net, "conv1.weight"), *w2 = tensor_of(net, "conv2.weight");
    CHECK(w1[0] != conv1[0] && w1[1] != conv1[1]); /* filter 0 */
    CHECK(w1[2] == conv1[2] && w1[3] == conv1[3]); /* filter 1: l1 0.05 */
    CHECK(w1[4] == conv1[4] && w1[5] == conv1[5]); /* filter 2 */
    CHECK(w1[6] != 0 && w1[7] != 0);               /* filter 3: all zero */
    CHECK(memcmp(w2, conv2, 4 * sizeof *w2) == 0);
    CHECK(w2[4] != conv2[4]);
    CHECK(same_tensor(net, before, "linear.weight") && same_tensor(net, before, "bn1.weight"));

    gf_net *internal = known_net();
    CHECK(gf_scion_internal(internal, 0.01, &grafted) == GF_OK);
    CHECK(grafted == 3);
    const float *i1 = tensor_of(internal, "conv1.weight"), *i2 = tensor_of(internal, "conv2.weight");
    /* conv1 ascending l1: f3 (0), f0 (0.002) invalid; descending: f2 (3), f1 (0.05):
     * f3 += f2, f0 += f1 */
    CHECK_NEAR(i1[6], 1.0, 1e-7);
    CHECK_NEAR(i1[7], -2.0, 1e-7);
    CHECK_NEAR(i1[0], 0.051, 1e-7);
    CHECK_NEAR(i1[1], -0.001, 1e-7);
    CHECK(i1[2] == conv1[2] && i1[4] == conv1[4]);
    /* conv2: f1 += f0 */
    CHECK_NEAR(i2[4], 1.002, 1e-6);
    CHECK_NEAR(i2[7], 4.002, 1e-6);
    CHECK(memcmp(i2, conv2, 4 * sizeof *i2) == 0);
    CHECK(same_tensor(internal, before, "linear.weight"));
    gf_net_free(net);
    gf_net_free(before);
    gf_net_free(internal);
}

int main(void) {
    test_invalid_filters();
    test_counted_convs();
    test_invalid_ratios();
    test_information_and_l1();
    test_network_scions();
    return CHECK_DONE();
}
