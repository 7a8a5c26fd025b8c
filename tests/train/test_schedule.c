/* Every schedule against values computed by hand. */
#include "check.h"
#include "core/error.h"
#include "train/schedule.h"

static void test_cosine(void) {
    gf_schedule s = {.kind = GF_SCHEDULE_COSINE, .lr = 0.1, .iterations_per_epoch = 4,
                     .epochs = 2};
    CHECK(gf_schedule_check(&s) == GF_OK);
    /* T = 8: (1 + cos(pi t / 8)) / 2 at t = 0, 2, 4, 6, 8 */
    CHECK_NEAR(gf_schedule_lr(&s, 0), 0.1, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 2), 0.1 * (1 + 0.70710678118654752) / 2, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 4), 0.05, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 6), 0.1 * (1 - 0.70710678118654752) / 2, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 8), 0.0, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 20), 0.0, 1e-12);
}

static void test_step(void) {
    gf_schedule s = {.kind = GF_SCHEDULE_STEP, .lr = 0.1, .iterations_per_epoch = 3,
                     .step_epochs = 2, .gamma = 0.1};
    CHECK(gf_schedule_check(&s) == GF_OK);
    CHECK_NEAR(gf_schedule_lr(&s, 0), 0.1, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 5), 0.1, 1e-12);   /* epoch 1 */
    CHECK_NEAR(gf_schedule_lr(&s, 6), 0.01, 1e-12);  /* epoch 2 */
    CHECK_NEAR(gf_schedule_lr(&s, 11), 0.01, 1e-12); /* epoch 3 */
    CHECK_NEAR(gf_schedule_lr(&s, 12), 0.001, 1e-12);
    s.step_epochs = 0;
    CHECK(gf_schedule_check(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "step of 0 epochs");
}

static void test_multistep(void) {
    gf_schedule s = {.kind = GF_SCHEDULE_MULTISTEP, .lr = 0.1, .iterations_per_epoch = 10,
                     .gamma = 0.5, .milestones = {1, 3}, .milestone_count = 2};
    CHECK(gf_schedule_check(&s) == GF_OK);
    CHECK_NEAR(gf_schedule_lr(&s, 9), 0.1, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 10), 0.05, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 29), 0.05, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 30), 0.025, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 1000), 0.025, 1e-12);
    s.milestones[1] = 1;
    CHECK(gf_schedule_check(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "milestones must increase");
}

static void test_constant_and_warmup(void) {
    gf_schedule s = {.kind = GF_SCHEDULE_CONSTANT, .lr = 0.2, .iterations_per_epoch = 5,
                     .warmup_iterations = 4};
    CHECK(gf_schedule_check(&s) == GF_OK);
    CHECK_NEAR(gf_schedule_lr(&s, 0), 0.05, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 1), 0.1, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 3), 0.2, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 4), 0.2, 1e-12);
    CHECK_NEAR(gf_schedule_lr(&s, 100), 0.2, 1e-12);
    /* warm-up on top of cosine: T = 10, t = 1: 0.2 * (1 + cos(pi / 10)) / 2 * 2 / 4 */
    s.kind = GF_SCHEDULE_COSINE;
    s.epochs = 2;
    CHECK_NEAR(gf_schedule_lr(&s, 1), 0.2 * (1 + 0.95105651629515357) / 2 * 0.5, 1e-12);
}

static void test_parse_and_diff_lr(void) {
    gf_schedule_kind k;
    CHECK(gf_schedule_kind_parse("multistep", &k) == GF_OK && k == GF_SCHEDULE_MULTISTEP);
    CHECK(gf_schedule_kind_parse("linear", &k) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "schedule 'linear' unknown");
    /* K = 2: 0.5 lr, lr; K = 3: 0.25, 0.75, 1; K = 4, i = 1: (1 - sqrt(2)/2) / 2 */
    CHECK_NEAR(gf_diff_lr(0.1, 1, 2), 0.05, 1e-12);
    CHECK_NEAR(gf_diff_lr(0.1, 2, 2), 0.1, 1e-12);
    CHECK_NEAR(gf_diff_lr(0.1, 1, 3), 0.025, 1e-12);
    CHECK_NEAR(gf_diff_lr(0.1, 2, 3), 0.075, 1e-12);
    CHECK_NEAR(gf_diff_lr(0.1, 3, 3), 0.1, 1e-12);
    CHECK_NEAR(gf_diff_lr(1.0, 1, 4), (1 - 0.70710678118654752) / 2, 1e-12);
    /* a single network keeps the full rate */
    CHECK_NEAR(gf_diff_lr(0.1, 1, 1), 0.1, 1e-12);
}

int main(void) {
    test_cosine();
    test_step();
    test_multistep();
    test_constant_and_warmup();
    test_parse_and_diff_lr();
    return CHECK_DONE();
}
