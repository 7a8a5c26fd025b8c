/* The ring of K networks: a hand-computed round of three networks (pre-grafting
 * semantics, BatchNorm statistics mixed, the linear layer with the last alpha),
 * two networks ending identical, K = 1, the filter-level variant and refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "graft/layers.h"
#include "graft/ring.h"
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
        CHECK_NEAR(r1->alpha, alpha1[k], 1e-6);
        CHECK_NEAR(r2->alpha, alpha2[k], 1e-6);
        CHECK_NEAR(rl->alpha, alpha2[k], 1e-6);
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

static void test_one_network_is_the_baseline(void) {
    gf_net *net = tiny_net(7, 4), *copy = tiny_net(7, 4);
    gf_graft_options options = gf_graft_options_default();
    CHECK(gf_graft_record_count(net, 1) == 0);
    CHECK(gf_graft_ring(&net, 1, &options, NULL, 0) == GF_OK);
    CHECK(same_state(net, copy));
    gf_net_free(net);
    gf_net_free(copy);
}

static void test_filter_level(void) {
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
    test_filter_level();
    test_refusals();
    return CHECK_DONE();
}
