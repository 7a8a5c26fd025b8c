/* The fused training step (against the separate calls it fuses), top-k counting
 * by hand, the evaluation pass, a non-finite loss, the distillation and mutual
 * learning steps (parameter gradients against finite differences of their losses),
 * checkpoint directories (round trip, last complete epoch, pruning, refusal of a
 * damaged file) and the ensemble evaluation. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "nn/gradcheck.h"
#include "core/error.h"
#include "core/files.h"
#include "data/loader.h"
#include "io/epoch_dir.h"
#include "nn/loss.h"
#include "io/safetensors.h"
#include "train/checkpoint_dir.h"
#include "train/ensemble.h"
#include "train/step.h"

enum { CLASSES = 3, SIDE = 6, COUNT = 24, BATCH = 8 };

/* conv 3x3 -> BN -> ReLU -> global average -> linear */
static gf_net *small_net(uint64_t seed) {
    gf_net *net = gf_net_create(1, SIDE, SIDE);
    int x = gf_net_conv2d(net, "conv1", 0, 4, 3, 1, 1, 1, false);
    x = gf_net_batchnorm(net, "bn1", x);
    x = gf_net_activation(net, x, GF_ACT_RELU, 0);
    x = gf_net_global_avgpool(net, x);
    gf_net_linear(net, "linear", x, CLASSES, true);
    if (gf_net_finalize(net, seed) != GF_OK) {
        fprintf(stderr, "%s\n", gf_error_message());
        exit(1);
    }
    return net;
}

static gf_dataset *small_dataset_of(int side) {
    gf_dataset *ds = gf_dataset_create(COUNT, 1, side, side, CLASSES);
    gf_rng rng;
    gf_rng_seed(&rng, 3, 0);
    for (int i = 0; i < COUNT; i++) {
        ds->labels[i] = i % CLASSES;
        /* class c: brightness around 40 + 80 c, so the task is learnable */
        for (int p = 0; p < side * side; p++)
            ds->images[i * side * side + p] =
                (uint8_t)(gf_rng_below(&rng, 60) + 10 + 80 * ds->labels[i]);
    }
    ds->mean[0] = 0.3f;
    ds->std[0] = 0.3f;
    return ds;
}

static gf_dataset *small_dataset(void) { return small_dataset_of(SIDE); }

static void test_count_hits(void) {
    /* 6 classes; label scores: rank 1, rank 3 (two higher), rank 6 (five higher), tie */
    float logits[4 * 6] = {5, 1, 2, 3, 4, 0, /* label 0 -> top-1 */
                           1, 9, 8, 3, 4, 0, /* label 4: 9, 8 higher -> top-5 only */
                           0, 1, 2, 3, 4, 5, /* label 0: five higher -> neither */
                           2, 2, 1, 1, 1, 1}; /* label 1 ties with 0: none strictly higher */
    int32_t labels[4] = {0, 4, 0, 1};
    int64_t top1 = 0, top5 = 0;
    gf_count_hits(logits, labels, 4, 6, &top1, &top5);
    CHECK(top1 == 2);
    CHECK(top5 == 3);
}

static void test_step_equals_parts(void) {
    gf_dataset *ds = small_dataset();
    gf_net *fused = small_net(5), *parts = small_net(5);
    gf_sgd *sgd_fused = gf_sgd_create(gf_net_param_count(fused), 0.9f, 0, 5e-4f, false);
    gf_sgd *sgd_parts = gf_sgd_create(gf_net_param_count(parts), 0.9f, 0, 5e-4f, false);
    gf_loader_options o = {.batch = BATCH, .shuffle = true, .seed = 1};
    gf_loader *ld = gf_loader_create(ds, &o);
    const float *x;
    const int32_t *y;
    float grad[BATCH * CLASSES];
    double first_loss = 0, last_loss = 0;
    for (int epoch = 0; epoch < 20; epoch++) {
        gf_loader_start_epoch(ld);
        double epoch_loss = 0;
        int n;
        while ((n = gf_loader_next(ld, &x, &y)) > 0) {
            gf_step_result r;
            gf_batch b = {x, y, n, 1, SIDE, SIDE};
            CHECK(gf_train_step(fused, sgd_fused, &b, 0.05f, &r) == GF_OK);
            CHECK(r.finite && r.count == n);
            epoch_loss += r.loss_sum;

            const float *logits;
            float loss;
            gf_net_set_training(parts, true);
            gf_net_forward(parts, x, n, &logits);
            gf_cross_entropy(&loss, grad, logits, y, n, CLASSES);
            gf_net_backward(parts, grad);
            gf_sgd_step(sgd_parts, gf_net_params(parts), gf_net_grads(parts),
                        gf_net_param_count(parts), 0.05f);
            CHECK_NEAR(r.loss_sum / n, loss, 1e-6);
        }
        if (epoch == 0) first_loss = epoch_loss / COUNT;
        last_loss = epoch_loss / COUNT;
    }
    /* same arithmetic in the same order: identical weights */
    CHECK(memcmp(gf_net_params(fused), gf_net_params(parts),
                 gf_net_param_count(fused) * sizeof(float)) == 0);
    CHECK(last_loss < 0.5 * first_loss);

    /* evaluation: running statistics, mode restored, every test image counted */
    gf_loader_options eval = {.batch = 5};
    gf_loader *test = gf_loader_create(ds, &eval);
    gf_step_result r = {0};
    CHECK(gf_evaluate(fused, test, &r) == GF_OK);
    CHECK(r.count == COUNT && r.finite && gf_net_is_training(fused));
    CHECK(r.top1 >= COUNT * 2 / 3 && r.top5 == COUNT);
    /* the same numbers from an explicit pass in evaluation mode */
    gf_net_set_training(parts, false);
    double loss_sum = 0;
    int64_t top1 = 0, top5 = 0;
    gf_loader_start_epoch(test);
    int n;
    while ((n = gf_loader_next(test, &x, &y)) > 0) {
        const float *logits;
        float loss;
        gf_net_forward(parts, x, n, &logits);
        gf_cross_entropy(&loss, NULL, logits, y, n, CLASSES);
        gf_count_hits(logits, y, n, CLASSES, &top1, &top5);
        loss_sum += (double)loss * n;
    }
    CHECK_NEAR(r.loss_sum, loss_sum, 1e-9);
    CHECK(r.top1 == top1);

    gf_loader_free(test);
    gf_loader_free(ld);
    gf_sgd_free(sgd_fused);
    gf_sgd_free(sgd_parts);
    gf_net_free(fused);
    gf_net_free(parts);
    gf_dataset_free(ds);
}

/* A fixed batch of the small data set, and the loss of a network on it in training
 * mode with fixed soft targets: the function whose derivative the steps must take. */
typedef struct soft_case {
    gf_net *net;
    float images[BATCH * SIDE * SIDE];
    int32_t labels[BATCH];
    gf_soft_targets soft;
} soft_case;

static double soft_case_loss(void *ctx) {
    soft_case *c = ctx;
    const float *logits;
    float loss = 0;
    gf_net_set_training(c->net, true);
    CHECK(gf_net_forward(c->net, c->images, BATCH, &logits) == GF_OK);
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, logits, c->labels, BATCH, CLASSES, &c->soft) ==
          GF_OK);
    return loss;
}

static void fill_batch(soft_case *c) {
    gf_dataset *ds = small_dataset();
    gf_loader_options o = {.batch = BATCH, .shuffle = true, .seed = 4};
    gf_loader *ld = gf_loader_create(ds, &o);
    const float *x;
    const int32_t *y;
    gf_loader_start_epoch(ld);
    CHECK(gf_loader_next(ld, &x, &y) == BATCH);
    memcpy(c->images, x, sizeof c->images);
    memcpy(c->labels, y, sizeof c->labels);
    gf_loader_free(ld);
    gf_dataset_free(ds);
}

/* With lr 0 and no momentum or decay a step leaves the weights and keeps the
 * gradient, which must be that of the loss with the teacher's / peers' logits. */
static void check_parameter_gradient(const char *what, gf_net *net, soft_case *c) {
    c->net = net;
    float *grad = gradcheck_copy(gf_net_grads(net), gf_net_param_count(net));
    check_gradient(what, gf_net_params(net), gf_net_param_count(net), grad, soft_case_loss, c,
                   1e-3f, 2e-2, 3e-4, 60, 9);
    free(grad);
}

static void test_distill_step(void) {
    soft_case c;
    fill_batch(&c);
    gf_batch batch = {c.images, c.labels, BATCH, 1, SIDE, SIDE};
    gf_net *student = small_net(11), *teacher = small_net(12);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(student), 0, 0, 0, false);
    size_t params = gf_net_param_count(teacher), stats = gf_net_stat_count(teacher);
    float *teacher_params = gradcheck_copy(gf_net_params(teacher), params);
    float *teacher_stats = gradcheck_copy(gf_net_stats(teacher), stats);
    float *student_params = gradcheck_copy(gf_net_params(student), gf_net_param_count(student));
    /* a teacher that has trained: running statistics away from (0, 1) */
    for (size_t i = 0; i < stats; i++) gf_net_stats(teacher)[i] = teacher_stats[i] = 0.5f + 0.1f * (float)i;
    gf_net_set_training(teacher, true);
    gf_step_result r;
    CHECK(gf_distill_step(student, sgd, teacher, &batch, 0.0f, 3.0, 0.8, &r) ==
          GF_OK);
    CHECK(r.finite && r.count == BATCH);
    /* the teacher is only read: weights, statistics and mode as they were */
    CHECK(memcmp(gf_net_params(teacher), teacher_params, params * sizeof(float)) == 0);
    CHECK(memcmp(gf_net_stats(teacher), teacher_stats, stats * sizeof(float)) == 0);
    CHECK(gf_net_is_training(teacher));
    CHECK(memcmp(gf_net_params(student), student_params,
                 gf_net_param_count(student) * sizeof(float)) == 0);
    /* its targets are the evaluation-mode logits */
    float targets[BATCH * CLASSES];
    const float *logits;
    gf_net_set_training(teacher, false);
    CHECK(gf_net_forward(teacher, c.images, BATCH, &logits) == GF_OK);
    memcpy(targets, logits, sizeof targets);
    c.soft = (gf_soft_targets){targets, 1, 3.0, 0.8};
    check_parameter_gradient("distillation step", student, &c);
    CHECK_NEAR(r.loss_sum / BATCH, soft_case_loss(&c), 1e-5);

    CHECK(gf_distill_step(student, sgd, student, &batch, 0.0f, 3.0, 0.8, &r) ==
          GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "distillation step: the teacher is the student");
    free(teacher_params);
    free(teacher_stats);
    free(student_params);
    gf_sgd_free(sgd);
    gf_net_free(student);
    gf_net_free(teacher);
}

static void test_mutual_step(void) {
    enum { PEERS = 3 };
    soft_case c;
    fill_batch(&c);
    gf_batch batch = {c.images, c.labels, BATCH, 1, SIDE, SIDE};
    gf_net *nets[PEERS];
    gf_sgd *sgds[PEERS];
    float lrs[PEERS] = {0, 0, 0};
    for (int k = 0; k < PEERS; k++) {
        nets[k] = small_net(20 + (uint64_t)k);
        sgds[k] = gf_sgd_create(gf_net_param_count(nets[k]), 0, 0, 0, false);
    }
    gf_step_result results[PEERS];
    CHECK(gf_mutual_step(nets, sgds, PEERS, &batch, lrs, 1.0, 1.0, results) ==
          GF_OK);
    /* the logits every network had in that step, to hold fixed as the others' targets */
    float logits[PEERS][BATCH * CLASSES];
    for (int k = 0; k < PEERS; k++) {
        const float *out;
        gf_net_set_training(nets[k], true);
        CHECK(gf_net_forward(nets[k], c.images, BATCH, &out) == GF_OK);
        memcpy(logits[k], out, sizeof logits[k]);
    }
    for (int k = 0; k < PEERS; k++) {
        float others[PEERS - 1][BATCH * CLASSES];
        for (int j = 0, at = 0; j < PEERS; j++)
            if (j != k) memcpy(others[at++], logits[j], sizeof others[0]);
        c.soft = (gf_soft_targets){&others[0][0], PEERS - 1, 1.0, 1.0};
        c.net = nets[k];
        CHECK(results[k].finite && results[k].count == BATCH);
        CHECK_NEAR(results[k].loss_sum / BATCH, soft_case_loss(&c), 1e-5);
        check_parameter_gradient("mutual learning step", nets[k], &c);
    }
    /* a step with a rate moves every network */
    float *before = gradcheck_copy(gf_net_params(nets[1]), gf_net_param_count(nets[1]));
    for (int k = 0; k < PEERS; k++) lrs[k] = 0.1f;
    CHECK(gf_mutual_step(nets, sgds, PEERS, &batch, lrs, 1.0, 1.0, results) ==
          GF_OK);
    CHECK(memcmp(before, gf_net_params(nets[1]), gf_net_param_count(nets[1]) * sizeof(float)) != 0);
    CHECK(gf_mutual_step(nets, sgds, 1, &batch, lrs, 1.0, 1.0, results) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "mutual learning step: needs at least 2 networks, got 1");
    free(before);
    for (int k = 0; k < PEERS; k++) {
        gf_sgd_free(sgds[k]);
        gf_net_free(nets[k]);
    }
}

static void test_non_finite_loss(void) {
    gf_net *net = small_net(2);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(net), 0.9f, 0, 0, false);
    size_t bytes = gf_net_param_count(net) * sizeof(float);
    float *before = malloc(bytes);
    float images[2 * SIDE * SIDE];
    for (int i = 0; i < 2 * SIDE * SIDE; i++) images[i] = (float)i;
    int32_t labels[2] = {0, 1};
    /* an infinite bias makes the logits, and the loss, non-finite */
    const gf_slice *bias = gf_net_slice(net, gf_net_find_slice(net, "linear.bias"));
    gf_net_slice_data(net, bias)[1] = INFINITY;
    memcpy(before, gf_net_params(net), bytes);
    gf_step_result r;
    gf_batch b = {images, labels, 2, 1, SIDE, SIDE};
    CHECK(gf_train_step(net, sgd, &b, 0.1f, &r) == GF_OK);
    CHECK(!r.finite);
    CHECK(memcmp(before, gf_net_params(net), bytes) == 0);
    CHECK(!sgd->buffer_filled);
    free(before);
    gf_sgd_free(sgd);
    gf_net_free(net);
}

/* Running statistics, counters and parameters of a network, for "nothing changed". */
typedef struct net_state {
    float *params, *stats;
    int64_t *counters;
} net_state;

static net_state copy_state(gf_net *net) {
    net_state s = {malloc(gf_net_param_count(net) * sizeof(float)),
                   malloc(gf_net_stat_count(net) * sizeof(float)),
                   malloc(gf_net_counter_count(net) * sizeof(int64_t))};
    memcpy(s.params, gf_net_params(net), gf_net_param_count(net) * sizeof(float));
    memcpy(s.stats, gf_net_stats(net), gf_net_stat_count(net) * sizeof(float));
    memcpy(s.counters, gf_net_counters(net), gf_net_counter_count(net) * sizeof(int64_t));
    return s;
}

static bool same_state(gf_net *net, net_state s) {
    bool same = memcmp(s.params, gf_net_params(net), gf_net_param_count(net) * sizeof(float)) == 0 &&
                memcmp(s.stats, gf_net_stats(net), gf_net_stat_count(net) * sizeof(float)) == 0 &&
                memcmp(s.counters, gf_net_counters(net),
                       gf_net_counter_count(net) * sizeof(int64_t)) == 0;
    free(s.params);
    free(s.stats);
    free(s.counters);
    return same;
}

/* A NaN pixel, or one so large that the batch variance overflows a float while the
 * normalised activations (and so the loss) stay finite, would turn the BatchNorm
 * running statistics non-finite: the step reports it, names the statistic, and
 * leaves statistics, counters and parameters as they were. Mutual learning too. */
static void test_non_finite_statistics(void) {
    gf_net *net = small_net(6);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(net), 0.9f, 0, 0, false);
    float images[2 * SIDE * SIDE];
    int32_t labels[2] = {0, 2};
    gf_batch b = {images, labels, 2, 1, SIDE, SIDE};
    const float bad_pixels[2] = {NAN, 1e30f};
    for (int i = 0; i < 2; i++) {
        for (int p = 0; p < 2 * SIDE * SIDE; p++) images[p] = (float)(p % 7) * 0.1f;
        images[SIDE * SIDE + 9] = bad_pixels[i];
        net_state before = copy_state(net);
        gf_step_result r;
        CHECK(gf_train_step(net, sgd, &b, 0.1f, &r) == GF_OK);
        CHECK(!r.finite);
        CHECK(r.bad_statistic != NULL && !isfinite(r.bad_value));
        CHECK_CONTAINS(r.bad_statistic, "bn1.running_");
        if (i == 1) CHECK(isfinite(r.loss_sum)); /* only the statistics tell */
        CHECK(same_state(net, before));
        CHECK(!sgd->buffer_filled);
    }
    /* a finite batch then steps as usual, from the restored statistics */
    images[SIDE * SIDE + 9] = 0.5f;
    gf_step_result r;
    CHECK(gf_train_step(net, sgd, &b, 0.1f, &r) == GF_OK && r.finite && !r.bad_statistic);
    CHECK(gf_net_counters(net)[0] == 1);

    gf_net *peer = small_net(7);
    gf_sgd *peer_sgd = gf_sgd_create(gf_net_param_count(peer), 0.9f, 0, 0, false);
    gf_net *nets[2] = {net, peer};
    gf_sgd *sgds[2] = {sgd, peer_sgd};
    float lrs[2] = {0.1f, 0.1f};
    gf_step_result results[2];
    images[SIDE * SIDE + 9] = 1e30f;
    net_state net_before = copy_state(net), peer_before = copy_state(peer);
    CHECK(gf_mutual_step(nets, sgds, 2, &b, lrs, 1.0, 1.0, results) == GF_OK);
    CHECK(!results[0].finite && !results[1].finite);
    CHECK_CONTAINS(results[1].bad_statistic, "bn1.running_var");
    CHECK(same_state(net, net_before) && same_state(peer, peer_before));

    gf_sgd_free(peer_sgd);
    gf_net_free(peer);
    gf_sgd_free(sgd);
    gf_net_free(net);
}

/* Images smaller than the network's input would be read past their end: both the
 * step and the evaluation refuse them, naming both shapes, and change nothing. */
static void test_shape_mismatch(void) {
    gf_net *net = small_net(4);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(net), 0.9f, 0, 0, false);
    gf_dataset *small = small_dataset_of(SIDE / 2);
    gf_loader_options o = {.batch = BATCH};
    gf_loader *ld = gf_loader_create(small, &o);
    size_t bytes = gf_net_param_count(net) * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, gf_net_params(net), bytes);

    gf_step_result r = {0};
    CHECK(gf_evaluate(net, ld, &r) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "evaluation: the images are 1x3x3 but the network "
                                       "takes 1x6x6");
    CHECK(r.count == 0 && gf_net_is_training(net));

    gf_loader_start_epoch(ld);
    gf_batch b = {.channels = 1, .height = SIDE / 2, .width = SIDE / 2};
    b.count = gf_loader_next(ld, &b.images, &b.labels);
    CHECK(gf_train_step(net, sgd, &b, 0.1f, &r) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "the images are 1x3x3 but the network takes 1x6x6");
    b.channels = 2; /* as many floats per image as 1x3x6, still not the input's shape */
    b.width = SIDE;
    CHECK(gf_train_step(net, sgd, &b, 0.1f, &r) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "2x3x6");
    CHECK(memcmp(before, gf_net_params(net), bytes) == 0 && !sgd->buffer_filled);

    free(before);
    gf_loader_free(ld);
    gf_dataset_free(small);
    gf_sgd_free(sgd);
    gf_net_free(net);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp-");
    if (d) closedir(d);
    return n;
}

static void test_checkpoints(void) {
    char dir[] = "/tmp/graft-ckpt-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/run/a", dir); /* made with its parents */

    gf_net *net = small_net(7);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(net), 0.9f, 0, 0, false);
    for (size_t i = 0; i < sgd->count; i++) sgd->buffer[i] = (float)i * 0.5f;
    sgd->buffer_filled = true;
    gf_net_stats(net)[0] = 0.25f;
    gf_train_state state = {.epoch = 1, .history = "{\"epoch\":1}\n"};
    gf_rng_seed(&state.loader_rngs.order, 99, 4);
    gf_rng_u32(&state.loader_rngs.order);
    gf_rng_seed(&state.loader_rngs.augment, 99, 5);
    CHECK(gf_train_checkpoint_save(sub, net, sgd, &state) == GF_OK);
    state.epoch = 2;
    state.history = "{\"epoch\":1}\n{\"epoch\":2}\n";
    gf_net_params(net)[0] = 42.0f;
    CHECK(gf_train_checkpoint_save(sub, net, sgd, &state) == GF_OK);
    /* only the newest epoch stays */
    CHECK(count_entries(sub) == 1);
    char last[256];
    int found = 0;
    CHECK(gf_epoch_dir_last(sub, last, sizeof last, &found, NULL) == GF_OK && found);
    CHECK_CONTAINS(last, "/run/a/epoch-0002");

    gf_net *other = small_net(8);
    gf_sgd *other_sgd = gf_sgd_create(gf_net_param_count(other), 0.9f, 0, 0, false);
    gf_train_state loaded = {0};
    CHECK(gf_train_checkpoint_load(sub, other, other_sgd, &loaded, &found, NULL, NULL) == GF_OK && found);
    CHECK(loaded.epoch == 2);
    CHECK(loaded.loader_rngs.order.state == state.loader_rngs.order.state);
    CHECK(loaded.loader_rngs.order.increment == state.loader_rngs.order.increment);
    CHECK(loaded.loader_rngs.augment.state == state.loader_rngs.augment.state);
    CHECK(loaded.loader_rngs.augment.increment == state.loader_rngs.augment.increment);
    CHECK(loaded.history && strcmp(loaded.history, state.history) == 0);
    free(loaded.history);
    CHECK(other_sgd->buffer_filled);
    CHECK(memcmp(other_sgd->buffer, sgd->buffer, sgd->count * sizeof(float)) == 0);
    CHECK(memcmp(gf_net_params(other), gf_net_params(net), sgd->count * sizeof(float)) == 0);
    CHECK(gf_net_params(other)[0] == 42.0f && gf_net_stats(other)[0] == 0.25f);

    /* a damaged trainer file is refused and nothing changes */
    char path[512];
    snprintf(path, sizeof path, "%.256s/trainer.safetensors", last);
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    CHECK(truncate(path, size - 3) == 0);
    gf_net *fresh = small_net(9);
    gf_sgd *fresh_sgd = gf_sgd_create(gf_net_param_count(fresh), 0.9f, 0, 0, false);
    float first = gf_net_params(fresh)[0];
    CHECK(gf_train_checkpoint_load(sub, fresh, fresh_sgd, &loaded, &found, NULL, NULL) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "epoch-0002");
    CHECK(gf_net_params(fresh)[0] == first && !fresh_sgd->buffer_filled);

    /* a network of another size is refused by name */
    gf_net *bigger = gf_net_create(1, SIDE, SIDE);
    gf_net_linear(bigger, "linear", 0, 5, true);
    gf_net_finalize(bigger, 1);
    gf_sgd *bigger_sgd = gf_sgd_create(gf_net_param_count(bigger), 0.9f, 0, 0, false);
    CHECK(gf_train_checkpoint_save(sub, net, sgd, &state) == GF_OK);
    CHECK(gf_train_checkpoint_load(sub, bigger, bigger_sgd, &loaded, &found, NULL, NULL) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "metadata parameters");

    /* an empty directory has no checkpoint, and that is not an error */
    CHECK(gf_train_checkpoint_load(dir, fresh, fresh_sgd, &loaded, &found, NULL, NULL) == GF_OK && !found);

    gf_sgd_free(bigger_sgd);
    gf_net_free(bigger);
    gf_sgd_free(fresh_sgd);
    gf_net_free(fresh);
    gf_sgd_free(other_sgd);
    gf_net_free(other);
    gf_sgd_free(sgd);
    gf_net_free(net);
    CHECK(gf_remove_tree(dir) == GF_OK);
}

/* One trainer.safetensors field at a time made wrong: each is refused with the file
 * and the field named, and the network and optimizer stay as they were. */
typedef struct trainer_fields {
    const char *format, *epoch, *filled, *parameters, *extra_key;
    const int64_t *rng; /* the four words of loader_rng */
    int64_t rng_words;  /* its length; 0 for 4 */
    bool buffer, nan_in_buffer, extra_tensor;
} trainer_fields;

static void write_trainer_file(const char *path, const trainer_fields *t, size_t count) {
    gf_st_meta meta[5] = {{"format", t->format}, {"epoch", t->epoch},
                          {"momentum_filled", t->filled}, {"parameters", t->parameters}};
    size_t meta_count = 4;
    if (t->extra_key) meta[meta_count++] = (gf_st_meta){t->extra_key, "1"};
    float *buffer = calloc(count, sizeof(float));
    if (t->nan_in_buffer) buffer[count / 2] = NAN;
    gf_st_entry entries[3] = {{.name = "loader_rng", .dtype = GF_DTYPE_I64, .ndim = 1,
                               .shape = {t->rng_words ? t->rng_words : 4}, .data = t->rng}};
    size_t n = 1;
    if (t->buffer)
        entries[n++] = (gf_st_entry){.name = "momentum_buffer", .dtype = GF_DTYPE_F32,
                                     .ndim = 1, .shape = {(int64_t)count}, .data = buffer};
    if (t->extra_tensor)
        entries[n++] = (gf_st_entry){.name = "learning_rate", .dtype = GF_DTYPE_F32, .ndim = 1,
                                     .shape = {1}, .data = buffer};
    CHECK(gf_safetensors_write(path, entries, n, meta, meta_count) == GF_OK);
    free(buffer);
}

static void test_corrupt_trainer_state(void) {
    char dir[] = "/tmp/graft-state-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    gf_net *net = small_net(3);
    gf_sgd *sgd = gf_sgd_create(gf_net_param_count(net), 0.9f, 0, 0, false);
    sgd->buffer_filled = true;
    gf_train_state state = {.epoch = 2, .history = "{\"epoch\":1}\n{\"epoch\":2}\n"};
    gf_rng_seed(&state.loader_rngs.order, 5, 1);
    gf_rng_seed(&state.loader_rngs.augment, 5, 2);
    CHECK(gf_train_checkpoint_save(dir, net, sgd, &state) == GF_OK);
    char path[128], parameters[32];
    snprintf(path, sizeof path, "%s/epoch-0002/trainer.safetensors", dir);
    snprintf(parameters, sizeof parameters, "%zu", sgd->count);

    static const int64_t odd[4] = {12345, 15, 777, 21}, zero[4] = {0, 0, 777, 21},
                         even[4] = {12345, 15, 99, 1000};
    const trainer_fields good = {"graft-trainer/2", "2", "1", parameters, NULL, odd, 0, true,
                                 false, false};
    struct {
        trainer_fields fields;
        const char *message;
    } cases[] = {
        /* state and increment 0: the generator gives 0 forever, shuffling never ends */
        {{.rng = zero}, "tensor loader_rng, order generator: generator increment 0 is even"},
        {{.rng = even}, "augmentation generator: generator increment 1000 is even"},
        {{.rng = odd, .rng_words = 2}, "tensor loader_rng missing or not I64 [4]"},
        {{.format = "graft-trainer/1"}, "a trainer state of an older graft (format graft-trainer/1"},
        {{.epoch = "3"}, "metadata epoch 3, but the directory is that of epoch 2"},
        {{.epoch = "0"}, "metadata epoch '0' is not a number of epochs"},
        {{.epoch = "-2"}, "metadata epoch '-2'"},
        {{.epoch = "2x"}, "metadata epoch '2x'"},
        {{.epoch = "99999999999999999999"}, "metadata epoch '99999999999999999999'"},
        {{.filled = "2"}, "metadata momentum_filled '2' (expected 0 or 1)"},
        {{.filled = "0"}, "momentum_buffer present, but metadata momentum_filled is 0"},
        {{.parameters = "7"}, "metadata parameters '7', but the network has"},
        {{.format = "graft-trainer/3"}, "metadata format 'graft-trainer/3'"},
        {{.extra_key = "iteration"}, "unexpected metadata field 'iteration'"},
        {{.extra_tensor = true}, "unexpected tensor 'learning_rate'"},
        {{.nan_in_buffer = true}, "tensor momentum_buffer: element"},
    };
    gf_net *fresh = small_net(4);
    float first = gf_net_params(fresh)[0];
    gf_sgd *fresh_sgd = gf_sgd_create(gf_net_param_count(fresh), 0.9f, 0, 0, false);
    int found = 0;
    gf_train_state loaded = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        trainer_fields t = good, *c = &cases[i].fields;
        if (c->format) t.format = c->format;
        if (c->epoch) t.epoch = c->epoch;
        if (c->filled) t.filled = c->filled;
        if (c->parameters) t.parameters = c->parameters;
        t.extra_key = c->extra_key;
        if (c->rng) t.rng = c->rng;
        t.rng_words = c->rng_words;
        t.nan_in_buffer = c->nan_in_buffer;
        t.extra_tensor = c->extra_tensor;
        write_trainer_file(path, &t, sgd->count);
        CHECK(gf_train_checkpoint_load(dir, fresh, fresh_sgd, &loaded, &found, NULL, NULL) == GF_ERR);
        CHECK_CONTAINS(gf_error_message(), path);
        CHECK_CONTAINS(gf_error_message(), cases[i].message);
        CHECK(gf_net_params(fresh)[0] == first && !fresh_sgd->buffer_filled);
    }
    /* the untouched fields load */
    write_trainer_file(path, &good, sgd->count);
    CHECK(gf_train_checkpoint_load(dir, fresh, fresh_sgd, &loaded, &found, NULL, NULL) == GF_OK && found);
    CHECK(loaded.epoch == 2 && loaded.loader_rngs.order.increment == 15 &&
          loaded.loader_rngs.augment.increment == 21 && fresh_sgd->buffer_filled);
    free(loaded.history);

    /* an epoch number beyond the limit in a directory name is not an epoch directory */
    char huge[160];
    snprintf(huge, sizeof huge, "%s/epoch-99999999999", dir);
    CHECK(mkdir(huge, 0777) == 0);
    char last[256];
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, NULL) == GF_OK && found);
    CHECK_CONTAINS(last, "/epoch-0002");
    rmdir(huge);

    gf_sgd_free(fresh_sgd);
    gf_net_free(fresh);
    gf_sgd_free(sgd);
    gf_net_free(net);
    CHECK(gf_remove_tree(dir) == GF_OK);
}

/* The ensemble's class is the argmax of the summed softmax: against sums computed
 * here from each network's logits over all images at once, in double. */
static void test_ensemble(void) {
    gf_dataset *ds = small_dataset();
    gf_net *nets[3] = {small_net(11), small_net(12), small_net(13)};
    gf_net_set_training(nets[1], true);
    gf_net_set_training(nets[0], false);
    gf_net_set_training(nets[2], false);
    gf_loader_options batches_of_5 = {.batch = 5}, all_at_once = {.batch = COUNT};
    gf_loader *loader = gf_loader_create(ds, &batches_of_5);
    gf_loader *whole = gf_loader_create(ds, &all_at_once);

    gf_ensemble_result r;
    gf_tensor *sums = NULL;
    CHECK(gf_ensemble_evaluate(nets, 3, loader, &r, &sums) == GF_OK);
    CHECK(r.count == COUNT && sums && sums->ndim == 2);
    CHECK(sums && sums->shape[0] == COUNT && sums->shape[1] == CLASSES);
    CHECK(gf_net_is_training(nets[1]) && !gf_net_is_training(nets[0]));

    double expected[COUNT][CLASSES] = {{0}};
    const float *x;
    const int32_t *y;
    gf_loader_start_epoch(whole);
    CHECK(gf_loader_next(whole, &x, &y) == COUNT);
    for (int k = 0; k < 3; k++) {
        bool was_training = gf_net_is_training(nets[k]);
        gf_net_set_training(nets[k], false);
        const float *logits;
        CHECK(gf_net_forward(nets[k], x, COUNT, &logits) == GF_OK);
        for (int i = 0; i < COUNT; i++) {
            double z = 0;
            for (int c = 0; c < CLASSES; c++) z += exp((double)logits[i * CLASSES + c]);
            for (int c = 0; c < CLASSES; c++) expected[i][c] += exp((double)logits[i * CLASSES + c]) / z;
        }
        gf_net_set_training(nets[k], was_training);
    }
    int64_t hits = 0;
    double worst = 0;
    for (int i = 0; i < COUNT; i++) {
        int best = 0;
        double total = 0;
        for (int c = 0; c < CLASSES; c++) {
            if (expected[i][c] > expected[i][best]) best = c;
            total += expected[i][c];
            if (sums) worst = fmax(worst, fabs(sums->data[i * CLASSES + c] - expected[i][c]));
        }
        CHECK_NEAR(total, 3.0, 1e-9); /* three distributions */
        hits += best == y[i];
    }
    CHECK(r.top1 == hits);
    CHECK(worst < 1e-6);

    /* each network's softmax apart, added in network order: the same bits and hits
     * (what the processes of an MPI run add up) */
    double added[COUNT * CLASSES] = {0};
    int32_t *labels_seen = NULL;
    for (int k = 0; k < 3; k++) {
        double *softmax;
        int32_t *labels;
        int64_t samples;
        CHECK(gf_ensemble_softmax(nets[k], loader, &softmax, &labels, &samples) == GF_OK);
        CHECK(samples == COUNT);
        for (int64_t i = 0; samples == COUNT && i < COUNT * CLASSES; i++) added[i] += softmax[i];
        free(softmax);
        free(labels_seen);
        labels_seen = labels;
    }
    CHECK(gf_net_is_training(nets[1]) && !gf_net_is_training(nets[0]));
    CHECK(gf_ensemble_hits(added, labels_seen, COUNT, CLASSES) == r.top1);
    bool same_bits = sums != NULL;
    for (int i = 0; sums && i < COUNT * CLASSES; i++) same_bits = same_bits && (float)added[i] == sums->data[i];
    CHECK(same_bits);
    free(labels_seen);
    gf_tensor_free(sums);

    /* one network: the ensemble is that network (top-1 as gf_evaluate counts it) */
    gf_step_result alone = {0};
    CHECK(gf_evaluate(nets[2], loader, &alone) == GF_OK);
    CHECK(gf_ensemble_evaluate(&nets[2], 1, loader, &r, NULL) == GF_OK);
    CHECK(r.top1 == alone.top1 && r.count == alone.count);

    /* networks that disagree with each other or with the images are refused */
    gf_net *other_classes = gf_net_create(1, SIDE, SIDE);
    gf_net_linear(other_classes, "linear", 0, CLASSES + 1, true);
    CHECK(gf_net_finalize(other_classes, 1) == GF_OK);
    gf_net *mixed[2] = {nets[0], other_classes};
    CHECK(gf_ensemble_evaluate(mixed, 2, loader, &r, NULL) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "network 2 gives 4 classes");
    gf_net *smaller = gf_net_create(1, SIDE - 1, SIDE - 1);
    gf_net_linear(smaller, "linear", 0, CLASSES, true);
    CHECK(gf_net_finalize(smaller, 1) == GF_OK);
    mixed[1] = smaller;
    CHECK(gf_ensemble_evaluate(mixed, 2, loader, &r, NULL) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "network 2");
    CHECK(gf_ensemble_evaluate(nets, 0, loader, &r, NULL) == GF_ERR);

    gf_net_free(smaller);
    gf_net_free(other_classes);
    gf_loader_free(whole);
    gf_loader_free(loader);
    for (int k = 0; k < 3; k++) gf_net_free(nets[k]);
    gf_dataset_free(ds);
}

int main(void) {
    test_count_hits();
    test_step_equals_parts();
    test_non_finite_loss();
    test_non_finite_statistics();
    test_shape_mismatch();
    test_distill_step();
    test_mutual_step();
    test_checkpoints();
    test_ensemble();
    test_corrupt_trainer_state();
    return CHECK_DONE();
}
