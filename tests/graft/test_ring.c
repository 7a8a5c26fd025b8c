/* The ring of K networks: a hand-computed round of three networks (pre-grafting
 * semantics, BatchNorm statistics mixed, the linear layer with the last alpha,
 * alphas logged as their two decimals), two networks ending identical, K = 1, the
 * reference's alpha rule on a MobileNetV2 block, both filter-level rules by hand on
 * two small networks, and refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "graft/layers.h"
#include "graft/ring.h"
#include "nn/models.h"
#include "tiny_net.h"

/* Weights chosen so that the layer entropies (10 bins) are known:
 * conv1: net0 {1,2,3,4} ln 4, net1 {1,1,1,2} 0.5623351446, net2 {0,0,5,5} ln 2
 * conv2: net0 {0,0,0,0} 0,    net1 {1,2,3,4} ln 4,          net2 {1,1,1,2} 0.5623351446 */
static const float conv1[3][4] = {{1, 2, 3, 4}, {1, 1, 1, 2}, {0, 0, 5, 5}};
static const float conv2[3][4] = {{0, 0, 0, 0}, {1, 2, 3, 4}, {1, 1, 1, 2}};

static void set_known_weights(gf_net *net, int k) {
    set_tensor(net, "conv1.weight", conv1[k], 4);
    set_tensor(net, "conv2.weight", conv2[k], 4);
    float bn_weight[2] = {(float)k + 1, 10.0f * (k + 1)}, bn_bias[2] = {0.1f * k, 1.0f};
    float mean[2] = {(float)k, -(float)k}, var[2] = {(float)k + 1, 2.0f * (k + 1)};
    const char *bn[2] = {"bn1", "bn2"};
    for (int b = 0; b < 2; b++) {
        char name[64];
        snprintf(name, sizeof name, "%s.weight", bn[b]);
        set_tensor(net, name, bn_weight, 2);
        snprintf(name, sizeof name, "%s.bias", bn[b]);
        set_tensor(net, name, bn_bias, 2);
        snprintf(name, sizeof name, "%s.running_mean", bn[b]);
        set_tensor(net, name, mean, 2);
        snprintf(name, sizeof name, "%s.running_var", bn[b]);
        set_tensor(net, name, var, 2);
        var[0] += 0.5f; /* bn2 differs from bn1 */
    }
    float linear_w[6], linear_b[3];
    for (int i = 0; i < 6; i++) linear_w[i] = (float)(6 * k + i);
    for (int i = 0; i < 3; i++) linear_b[i] = (float)(k - i);
    set_tensor(net, "linear.weight", linear_w, 6);
    set_tensor(net, "linear.bias", linear_b, 3);
}

/* expected[i] = alpha * self[i] + (1 - alpha) * other[i] */
static void check_mixed(gf_net **nets, gf_net **before, int k, int other, const char *name,
                        double alpha) {
    int index = gf_net_find_slice(nets[k], name);
    const gf_slice *slice = gf_net_slice(nets[k], index);
    const float *got = gf_net_slice_data(nets[k], slice);
    const float *self = tensor_of(before[k], name), *from = tensor_of(before[other], name);
    for (int64_t i = 0; i < slice->numel; i++) {
        double expected = alpha * self[i] + (1.0 - alpha) * from[i];
        if (fabs(got[i] - expected) > 1e-5 * (1 + fabs(expected))) {
            fprintf(stderr, "network %d, %s[%lld] = %g, expected %g (alpha %g)\n", k, name,
                    (long long)i, (double)got[i], expected, alpha);
            check_failures++;
        }
    }
}

static void test_three_network_round(void) {
    gf_net *nets[3], *before[3];
    for (int k = 0; k < 3; k++) {
        nets[k] = tiny_net(100 + k, 2);
        before[k] = tiny_net(100 + k, 2);
        set_known_weights(nets[k], k);
        set_known_weights(before[k], k);
    }
    gf_graft_options options = gf_graft_options_default();
    options.weighting.c = 5; /* keeps alpha away from its bounds */
    CHECK(gf_graft_record_count(nets[0], 3) == 9);
    gf_graft_record records[9];
    CHECK(gf_graft_ring(nets, 3, &options, records, 9) == GF_OK);
    /* alpha = 0.5 + round2(0.4/pi atan(5 (H_self - H_source))), source = k - 1:
     * conv1: net0 <- net2: d = ln4 - ln2 = 0.6931 -> 0.1642 -> 0.66
     *        net1 <- net0: d = 0.5623 - ln4 = -0.8240 -> -0.1697 -> 0.33
     *        net2 <- net1: d = ln2 - 0.5623 = 0.1308 -> 0.0737 -> 0.57
     * conv2: net0 <- net2: d = -0.5623 -> -0.1566 -> 0.34
     *        net1 <- net0: d = ln4 = 1.3863 -> 0.1818 -> 0.68
     *        net2 <- net1: d = -0.8240 -> 0.33 */
    const double alpha1[3] = {0.66, 0.33, 0.57}, alpha2[3] = {0.34, 0.68, 0.33};
    for (int k = 0; k < 3; k++) {
        int other = (k + 2) % 3;
        check_mixed(nets, before, k, other, "conv1.weight", alpha1[k]);
        check_mixed(nets, before, k, other, "bn1.weight", alpha1[k]);
        check_mixed(nets, before, k, other, "bn1.bias", alpha1[k]);
        check_mixed(nets, before, k, other, "bn1.running_mean", alpha1[k]);
        check_mixed(nets, before, k, other, "bn1.running_var", alpha1[k]);
        check_mixed(nets, before, k, other, "conv2.weight", alpha2[k]);
        check_mixed(nets, before, k, other, "bn2.running_var", alpha2[k]);
        check_mixed(nets, before, k, other, "bn2.running_mean", alpha2[k]);
        /* the linear layer takes the last computed alpha, conv2's */
        check_mixed(nets, before, k, other, "linear.weight", alpha2[k]);
        check_mixed(nets, before, k, other, "linear.bias", alpha2[k]);
        const gf_graft_record *r1 = &records[k * 3 + 0], *r2 = &records[k * 3 + 1];
        const gf_graft_record *rl = &records[k * 3 + 2];
        CHECK(r1->network == k && r1->source == other);
        CHECK(strcmp(r1->layer, "conv1.weight") == 0 && strcmp(rl->layer, "linear.weight") == 0);
        /* the logged alphas are the two-decimal numbers, not the float factors */
        CHECK(r1->alpha == alpha1[k]);
        CHECK(r2->alpha == alpha2[k]);
        CHECK(rl->alpha == alpha2[k]);
        CHECK(r1->info_self == r1->entropy_self && r1->info_other == r1->entropy_other);
    }
    /* a hand value: net1's conv1 = 0.33 {1,1,1,2} + 0.67 {1,2,3,4} from net0 as it was
     * before the round (net0 itself became {0.66,1.32,3.68,4.34}) */
    const float *w = tensor_of(nets[1], "conv1.weight");
    CHECK_NEAR(w[1], 1.67, 1e-6);
    CHECK_NEAR(w[3], 3.34, 1e-6);
    CHECK_NEAR(tensor_of(nets[0], "conv1.weight")[2], 3.68, 1e-6);
    /* bn1.running_var of net2 = 0.57 {3, 6} + 0.43 {2, 4} */
    CHECK_NEAR(tensor_of(nets[2], "bn1.running_var")[0], 2.57, 1e-6);
    CHECK_NEAR(tensor_of(nets[2], "bn1.running_var")[1], 5.14, 1e-6);
    /* the logged criteria */
    CHECK_NEAR(records[0].entropy_self, log(4.0), 1e-12);
    CHECK_NEAR(records[0].entropy_other, log(2.0), 1e-12);
    CHECK_NEAR(records[0].l1_self, 10.0, 1e-12);
    CHECK_NEAR(records[0].l1_other, 10.0, 1e-12);
    /* the counters are not mixed */
    CHECK(gf_net_counters(nets[1])[0] == gf_net_counters(before[1])[0]);
    for (int k = 0; k < 3; k++) {
        gf_net_free(nets[k]);
        gf_net_free(before[k]);
    }
}

static bool same_state(gf_net *a, gf_net *b) {
    return memcmp(gf_net_params(a), gf_net_params(b), gf_net_param_count(a) * sizeof(float)) == 0 &&
           memcmp(gf_net_stats(a), gf_net_stats(b), gf_net_stat_count(a) * sizeof(float)) == 0;
}

static void set_random_stats(gf_net *net, uint64_t seed) {
    gf_rng rng;
    gf_rng_seed(&rng, seed, 9);
    float *stats = gf_net_stats(net);
    for (size_t i = 0; i < gf_net_stat_count(net); i++) stats[i] = 0.5f + gf_rng_uniform(&rng);
}

static void test_two_networks_end_identical(void) {
    const gf_criterion criteria[3] = {GF_CRITERION_ENTROPY, GF_CRITERION_ENTROPY_SUM,
                                      GF_CRITERION_L1};
    for (int variant = 0; variant < 6; variant++) {
        gf_net *nets[2] = {tiny_net(1000 + variant, 8), tiny_net(2000 + variant, 8)};
        set_random_stats(nets[0], 1 + variant);
        set_random_stats(nets[1], 100 + variant);
        CHECK(!same_state(nets[0], nets[1]));
        gf_graft_options options = gf_graft_options_default();
        options.criterion = criteria[variant % 3];
        options.filter_level = variant >= 3;
        options.filter_rule = GF_FILTER_CRITERION;
        options.weighting.round = variant % 2 == 0;
        gf_graft_record records[6];
        CHECK(gf_graft_ring(nets, 2, &options, records, 6) == GF_OK);
        CHECK(same_state(nets[0], nets[1]));
        /* alpha(-d) = 1 - alpha(d) */
        for (int l = 0; l < 3; l++) CHECK_NEAR(records[l].alpha + records[3 + l].alpha, 1.0, 1e-6);
        gf_net_free(nets[0]);
        gf_net_free(nets[1]);
    }
}

/* A ring of four networks cut into blocks of 2 and of 1, each grafted as an open
 * chain behind a copy of the network before it (as the processes of an MPI run do):
 * every network ends with the ring's bytes and logs the ring's records; the copy in
 * front is left as it was. */
static void test_chains_are_blocks_of_the_ring(void) {
    enum { K = 4, L = 3 };
    for (int variant = 0; variant < 4; variant++) {
        gf_graft_options options = gf_graft_options_default();
        options.criterion = variant == 1 ? GF_CRITERION_L1 : GF_CRITERION_ENTROPY;
        options.filter_level = variant >= 2;
        options.filter_rule = variant == 2 ? GF_FILTER_CRITERION : GF_FILTER_GAMMA;
        gf_net *ring[K], *before[K];
        for (int k = 0; k < K; k++) {
            ring[k] = tiny_net(300 + 10 * variant + k, 8);
            set_random_stats(ring[k], 40 + k);
            before[k] = tiny_net(1, 8);
            CHECK(gf_net_copy_state(before[k], ring[k]) == GF_OK);
        }
        gf_graft_record ring_records[K * L];
        CHECK(gf_graft_ring(ring, K, &options, ring_records, K * L) == GF_OK);
        for (int block = 1; block <= 2; block++) {
            for (int start = 0; start < K; start += block) {
                gf_net *chain[3];
                for (int i = 0; i <= block; i++) {
                    chain[i] = tiny_net(1, 8);
                    CHECK(gf_net_copy_state(chain[i], before[(start + i - 1 + K) % K]) == GF_OK);
                }
                gf_graft_record records[2 * L];
                CHECK(gf_graft_chain_record_count(chain[0], block + 1) == block * L);
                CHECK(gf_graft_chain(chain, block + 1, &options, records, block * L) == GF_OK);
                CHECK(same_state(chain[0], before[(start - 1 + K) % K]));
                for (int i = 1; i <= block; i++) {
                    int k = start + i - 1;
                    CHECK(same_state(chain[i], ring[k]));
                    for (int l = 0; l < L; l++) {
                        const gf_graft_record *got = &records[(i - 1) * L + l];
                        const gf_graft_record *want = &ring_records[k * L + l];
                        CHECK(got->network == i && got->source == i - 1);
                        CHECK(strcmp(got->layer, want->layer) == 0);
                        CHECK(got->alpha == want->alpha && got->info_self == want->info_self &&
                              got->info_other == want->info_other &&
                              got->entropy_other == want->entropy_other &&
                              got->l1_self == want->l1_self && got->l1_other == want->l1_other);
                    }
                }
                for (int i = 0; i <= block; i++) gf_net_free(chain[i]);
            }
        }
        for (int k = 0; k < K; k++) {
            gf_net_free(ring[k]);
            gf_net_free(before[k]);
        }
    }
    /* one network is a chain with nothing to graft; too little room is refused */
    gf_net *pair[2] = {tiny_net(5, 8), tiny_net(6, 8)};
    gf_graft_options options = gf_graft_options_default();
    CHECK(gf_graft_chain_record_count(pair[0], 1) == 0);
    CHECK(gf_graft_chain(pair, 1, &options, NULL, 0) == GF_OK);
    gf_graft_record records[L];
    CHECK(gf_graft_chain(pair, 2, &options, records, L - 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "3 layers of 1 grafted network(s) need 3");
    gf_net_free(pair[0]);
    gf_net_free(pair[1]);
}

static void test_one_network_is_the_baseline(void) {
    gf_net *net = tiny_net(7, 4), *copy = tiny_net(7, 4);
    gf_graft_options options = gf_graft_options_default();
    CHECK(gf_graft_record_count(net, 1) == 0);
    CHECK(gf_graft_ring(&net, 1, &options, NULL, 0) == GF_OK);
    CHECK(same_state(net, copy));
    gf_net_free(net);
    gf_net_free(copy);
}

static void test_filter_level_criterion(void) {
    gf_net *nets[2] = {tiny_net(1, 2), tiny_net(2, 2)}, *before[2] = {tiny_net(1, 2), tiny_net(2, 2)};
    /* conv1 filter 0 (2 values): net0 {1, 3} entropy ln 2, net1 {2, 2} entropy 0;
     * filter 1: both {0, 1}, equal entropy. Fixed... adaptive with c = 500: 0.70 and 0.50 */
    const float a[4] = {1, 3, 0, 1}, b[4] = {2, 2, 0, 1};
    for (int k = 0; k < 2; k++) {
        set_tensor(nets[k], "conv1.weight", k ? b : a, 4);
        set_tensor(before[k], "conv1.weight", k ? b : a, 4);
        set_tensor(nets[k], "conv2.weight", conv1[k], 4);
        set_tensor(before[k], "conv2.weight", conv1[k], 4);
    }
    gf_graft_options options = gf_graft_options_default();
    options.filter_level = true;
    options.filter_rule = GF_FILTER_CRITERION;
    gf_graft_record records[6];
    CHECK(gf_graft_ring(nets, 2, &options, records, 6) == GF_OK);
    const float *w = tensor_of(nets[0], "conv1.weight");
    CHECK_NEAR(w[0], 0.7 * 1 + 0.3 * 2, 1e-6);
    CHECK_NEAR(w[1], 0.7 * 3 + 0.3 * 2, 1e-6);
    CHECK_NEAR(w[2], 0.0, 1e-6);
    CHECK_NEAR(w[3], 1.0, 1e-6);
    /* the BatchNorm channels follow their filters: channel 0 with 0.7, channel 1 with 0.5 */
    const float *var = tensor_of(nets[0], "bn1.running_var");
    const float *v0 = tensor_of(before[0], "bn1.running_var"), *v1 = tensor_of(before[1], "bn1.running_var");
    CHECK_NEAR(var[0], 0.7 * v0[0] + 0.3 * v1[0], 1e-6);
    CHECK_NEAR(var[1], 0.5 * v0[1] + 0.5 * v1[1], 1e-6);
    CHECK_NEAR(records[0].alpha, 0.6, 1e-6); /* the mean over the filters */
    for (int k = 0; k < 2; k++) {
        gf_net_free(nets[k]);
        gf_net_free(before[k]);
    }
}

static void check_values(gf_net *net, const char *name, const double *expected, int n) {
    const float *got = tensor_of(net, name);
    for (int i = 0; i < n; i++)
        if (fabs(got[i] - expected[i]) > 1e-6) {
            fprintf(stderr, "%s[%d] = %.9g, expected %.9g\n", name, i, (double)got[i], expected[i]);
            check_failures++;
        }
}

static void set_gammas(gf_net *net, const char *bn, float c0, float c1) {
    char name[64];
    snprintf(name, sizeof name, "%s.weight", bn);
    set_tensor(net, name, (const float[2]){c0, c1}, 2);
}

/* The gamma rule on tiny_net (conv2 reads bn1 through a ReLU): s[o][j] =
 * w_bn1[j] w_bn2[o], w = |g_self| / (|g_self| + |g_other|). */
static void test_filter_level_gamma_chain(void) {
    gf_net *nets[2] = {tiny_net(1, 2), tiny_net(2, 2)};
    const float conv2_0[4] = {1, 2, 3, 4}, conv2_1[4] = {5, 6, 7, 8};
    set_tensor(nets[0], "conv2.weight", conv2_0, 4);
    set_tensor(nets[1], "conv2.weight", conv2_1, 4);
    set_gammas(nets[0], "bn1", 1, 1);  /* w0 = {1/2, 1/4}, w1 = {1/2, 3/4} */
    set_gammas(nets[1], "bn1", 1, -3); /* |gamma| counts */
    set_gammas(nets[0], "bn2", 2, 1);  /* w0 = {1/2, 1/4}, w1 = {1/2, 3/4} */
    set_gammas(nets[1], "bn2", 2, 3);
    set_tensor(nets[0], "bn2.running_mean", (const float[2]){4, 8}, 2);
    set_tensor(nets[1], "bn2.running_mean", (const float[2]){0, 0}, 2);
    float linear[6];
    memcpy(linear, tensor_of(nets[0], "linear.weight"), sizeof linear);
    gf_graft_options options = gf_graft_options_default();
    options.filter_level = true;
    gf_graft_record records[6];
    CHECK(gf_graft_ring(nets, 2, &options, records, 6) == GF_OK);
    /* net 0: s = {1/4, 1/8; 1/8, 1/16}; net 1: s = {1/4, 3/8; 3/8, 9/16} */
    check_values(nets[0], "conv2.weight", (const double[4]){4, 5.5, 6.5, 7.75}, 4);
    check_values(nets[1], "conv2.weight", (const double[4]){2, 3.5, 4.5, 6.25}, 4);
    check_values(nets[0], "bn1.weight", (const double[2]){1, -2}, 2);
    check_values(nets[1], "bn1.weight", (const double[2]){1, -2}, 2);
    check_values(nets[0], "bn2.running_mean", (const double[2]){2, 2}, 2);
    check_values(nets[1], "bn2.running_mean", (const double[2]){2, 2}, 2);
    /* the classifier is not mixed */
    CHECK(memcmp(linear, tensor_of(nets[0], "linear.weight"), 6 * sizeof(float)) == 0);
    CHECK_NEAR(records[1].alpha, (0.25 + 0.125 + 0.125 + 0.0625) / 4, 1e-7);
    CHECK(records[2].alpha == 1.0);
    gf_net_free(nets[0]);
    gf_net_free(nets[1]);
}

/* input [2, 2, 2] -> conv1 (1x1, 2) -> bn1 -> relu -> dw (1x1 depthwise) -> bn2 ->
 * + relu output -> conv3 (1x1, 2) -> bn3 -> global pool -> linear */
static gf_net *depthwise_net(uint64_t seed) {
    gf_net *net = gf_net_create(2, 2, 2);
    int x = gf_net_conv2d(net, "conv1", 0, 2, 1, 1, 0, 1, false);
    x = gf_net_batchnorm(net, "bn1", x);
    int relu = gf_net_activation(net, x, GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "dw", relu, 2, 1, 1, 0, 2, false);
    x = gf_net_batchnorm(net, "bn2", x);
    x = gf_net_add(net, x, relu);
    x = gf_net_conv2d(net, "conv3", x, 2, 1, 1, 0, 1, false);
    x = gf_net_batchnorm(net, "bn3", x);
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "linear", x, 3, true);
    CHECK(x >= 0 && gf_net_finalize(net, seed) == GF_OK);
    return net;
}

/* The gamma rule where the first conv has no BatchNorm before it (a = 1), a
 * depthwise conv reads channel o for filter o, and a conv after a residual sum has
 * no BatchNorm before it either; two zero gammas weigh 1/2. */
static void test_filter_level_gamma_depthwise(void) {
    gf_net *nets[2] = {depthwise_net(1), depthwise_net(2)};
    set_tensor(nets[0], "conv1.weight", (const float[4]){1, 2, 3, 4}, 4);
    set_tensor(nets[1], "conv1.weight", (const float[4]){5, 6, 7, 0}, 4);
    set_tensor(nets[0], "dw.weight", (const float[2]){1, 2}, 2);
    set_tensor(nets[1], "dw.weight", (const float[2]){3, 4}, 2);
    set_tensor(nets[0], "conv3.weight", (const float[4]){1, 2, 3, 4}, 4);
    set_tensor(nets[1], "conv3.weight", (const float[4]){0, 0, 8, 8}, 4);
    set_gammas(nets[0], "bn1", 1, 3); /* w0 = {1/4, 3/4} */
    set_gammas(nets[1], "bn1", 3, -1);
    set_gammas(nets[0], "bn2", 2, 0); /* w = {1/2, 1/2} */
    set_gammas(nets[1], "bn2", 2, 0);
    set_gammas(nets[0], "bn3", 1, 1); /* w0 = {1, 1/4}, w1 = {0, 3/4} */
    set_gammas(nets[1], "bn3", 0, 3);
    gf_graft_options options = gf_graft_options_default();
    options.filter_level = true;
    gf_graft_record records[8];
    CHECK(gf_graft_record_count(nets[0], 2) == 8);
    CHECK(gf_graft_ring(nets, 2, &options, records, 8) == GF_OK);
    /* conv1, s = b = w_bn1: net 0 {1/4, 3/4}, net 1 {3/4, 1/4} */
    check_values(nets[0], "conv1.weight", (const double[4]){4, 5, 4, 3}, 4);
    check_values(nets[1], "conv1.weight", (const double[4]){4, 5, 4, 3}, 4);
    /* dw, s = w_bn1[o] w_bn2[o]: net 0 {1/8, 3/8}, net 1 {3/8, 1/8} */
    check_values(nets[0], "dw.weight", (const double[2]){2.75, 3.25}, 2);
    check_values(nets[1], "dw.weight", (const double[2]){1.75, 2.25}, 2);
    /* conv3, s = w_bn3[o] (a residual sum before it): net 0 {1, 1/4}, net 1 {0, 3/4} */
    check_values(nets[0], "conv3.weight", (const double[4]){1, 2, 6.75, 7}, 4);
    check_values(nets[1], "conv3.weight", (const double[4]){1, 2, 6.75, 7}, 4);
    check_values(nets[0], "bn2.weight", (const double[2]){2, 0}, 2);
    check_values(nets[1], "bn3.weight", (const double[2]){1, 2.5}, 2);
    CHECK_NEAR(records[0].alpha, 0.5, 1e-7);
    CHECK_NEAR(records[1].alpha, 0.25, 1e-7);
    CHECK_NEAR(records[2].alpha, 0.625, 1e-7);
    CHECK(strcmp(records[5].layer, "dw.weight") == 0 && records[7].alpha == 1.0);
    gf_net_free(nets[0]);
    gf_net_free(nets[1]);
}

/* A MobileNetV2 block whose widths differ has a projection shortcut, shortcut.0:
 * with the reference's rule it and its BatchNorm take the block's conv3 alpha. */
static gf_net *mobilenet_block(uint64_t seed) {
    gf_net *net = gf_net_create(4, 4, 4);
    int x = gf_model_mobilenetv2_block(net, 0, 0, 4, 8, 2, 1);
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "linear", x, 3, true);
    CHECK(x >= 0 && gf_net_finalize(net, seed) == GF_OK);
    return net;
}

static void test_alpha_rules(void) {
    gf_net *nets[2], *before[2];
    gf_graft_record records[2][10];
    for (int rule = 0; rule < 2; rule++) {
        for (int k = 0; k < 2; k++) {
            nets[k] = mobilenet_block(50 + (uint64_t)k);
            before[k] = mobilenet_block(50 + (uint64_t)k);
            set_random_stats(nets[k], 7 + (uint64_t)k);
            set_random_stats(before[k], 7 + (uint64_t)k);
        }
        gf_graft_options options = gf_graft_options_default();
        options.alpha_rule = rule ? GF_CONV_KEYS : GF_EVERY_CONV;
        options.weighting.c = 50; /* alphas that differ from layer to layer */
        options.weighting.round = false;
        CHECK(gf_graft_record_count(nets[0], 2) == 10);
        CHECK(gf_graft_ring(nets, 2, &options, records[rule], 10) == GF_OK);
        const gf_graft_record *conv3 = &records[rule][2], *shortcut = &records[rule][3];
        CHECK(strcmp(conv3->layer, "layers.0.conv3.weight") == 0);
        CHECK(strcmp(shortcut->layer, "layers.0.shortcut.0.weight") == 0);
        double expected = rule ? conv3->alpha : shortcut->alpha;
        CHECK(shortcut->alpha == expected);
        check_mixed(nets, before, 0, 1, "layers.0.shortcut.0.weight", expected);
        check_mixed(nets, before, 0, 1, "layers.0.shortcut.1.running_var", expected);
        check_mixed(nets, before, 0, 1, "layers.0.bn3.running_var", conv3->alpha);
        for (int k = 0; k < 2; k++) {
            gf_net_free(nets[k]);
            gf_net_free(before[k]);
        }
    }
    /* the shortcut's own alpha differs here, so the rules are told apart */
    CHECK(records[0][3].alpha != records[0][2].alpha);
    CHECK(records[1][2].alpha == records[0][2].alpha);
    gf_conv_rule rule;
    CHECK(gf_conv_rule_parse("keys", "alpha_rule", &rule) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "alpha_rule must be 'conv_keys' or 'every_conv', got 'keys'");
    CHECK(gf_graft_options_default().alpha_rule == GF_CONV_KEYS);
}

static void test_refusals(void) {
    gf_net *nets[3] = {tiny_net(1, 2), tiny_net(2, 4), tiny_net(3, 2)};
    gf_net *copies[3] = {tiny_net(1, 2), tiny_net(2, 4), tiny_net(3, 2)};
    gf_graft_options options = gf_graft_options_default();
    CHECK(gf_graft_ring(nets, 3, &options, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "network 1");
    /* a NaN weight: refused before anything changes */
    gf_net *same[3] = {nets[0], nets[2], tiny_net(4, 2)};
    gf_net *same_copies[3] = {copies[0], copies[2], tiny_net(4, 2)};
    tensor_of(same[2], "conv2.weight")[1] = NAN;
    tensor_of(same_copies[2], "conv2.weight")[1] = NAN;
    CHECK(gf_graft_ring(same, 3, &options, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "conv2.weight");
    CHECK_CONTAINS(gf_error_message(), "network 2");
    CHECK(same_state(same[0], same_copies[0]) && same_state(same[1], same_copies[1]));
    /* too few records */
    gf_graft_record records[2];
    CHECK(gf_graft_ring(nets, 1, &options, records, 2) == GF_OK);
    gf_net *pair[2] = {nets[0], nets[2]};
    CHECK(gf_graft_ring(pair, 2, &options, records, 2) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "need 6");
    options.bins = 0;
    CHECK(gf_graft_ring(pair, 2, &options, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "bins");
    for (int k = 0; k < 3; k++) {
        gf_net_free(nets[k]);
        gf_net_free(copies[k]);
    }
    gf_net_free(same[2]);
    gf_net_free(same_copies[2]);
}

int main(void) {
    test_three_network_round();
    test_two_networks_end_identical();
    test_one_network_is_the_baseline();
    test_chains_are_blocks_of_the_ring();
    test_filter_level_criterion();
    test_filter_level_gamma_chain();
    test_filter_level_gamma_depthwise();
    test_alpha_rules();
    test_refusals();
    return CHECK_DONE();
}
