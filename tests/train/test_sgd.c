/* SGD against values computed by hand from PyTorch's update rule (see train/sgd.h):
 * p = 1, g = 0.5 on both steps, lr 0.1, weight decay 0.1, momentum 0.9. */
#include "check.h"
#include "core/error.h"
#include "train/sgd.h"

static void two_steps(float momentum, float dampening, bool nesterov, float *after1,
                      float *after2) {
    gf_sgd *sgd = gf_sgd_create(2, momentum, dampening, 0.1f, nesterov);
    CHECK(sgd != NULL);
    /* second element: no weight decay effect (p = 0) and a negative gradient */
    float p[2] = {1.0f, 0.0f}, g[2] = {0.5f, -1.0f};
    CHECK(gf_sgd_step(sgd, p, g, 2, 0.1f) == GF_OK);
    *after1 = p[0];
    CHECK(gf_sgd_step(sgd, p, g, 2, 0.1f) == GF_OK);
    *after2 = p[0];
    gf_sgd_free(sgd);
}

int main(void) {
    float a, b;
    /* plain: d1 = 0.5 + 0.1 = 0.6 -> 0.94; d2 = 0.5 + 0.094 = 0.594 -> 0.8806 */
    two_steps(0.0f, 0.0f, false, &a, &b);
    CHECK_NEAR(a, 0.94, 1e-6);
    CHECK_NEAR(b, 0.8806, 1e-6);
    /* momentum: b1 = 0.6 -> 0.94; b2 = 0.9 * 0.6 + 0.594 = 1.134 -> 0.8266 */
    two_steps(0.9f, 0.0f, false, &a, &b);
    CHECK_NEAR(a, 0.94, 1e-6);
    CHECK_NEAR(b, 0.8266, 1e-6);
    /* dampening 0.5: the first step copies d undamped; b2 = 0.54 + 0.5 * 0.594 = 0.837 */
    two_steps(0.9f, 0.5f, false, &a, &b);
    CHECK_NEAR(a, 0.94, 1e-6);
    CHECK_NEAR(b, 0.8563, 1e-6);
    /* Nesterov: step 1 d + 0.9 b = 0.6 + 0.54 = 1.14 -> 0.886;
     * d2 = 0.5 + 0.0886 = 0.5886, b2 = 0.54 + 0.5886 = 1.1286,
     * d2 + 0.9 b2 = 1.60434 -> 0.725566 */
    two_steps(0.9f, 0.0f, true, &a, &b);
    CHECK_NEAR(a, 0.886, 1e-6);
    CHECK_NEAR(b, 0.725566, 1e-6);

    /* the buffer holds the momentum after the first step: a copy of d */
    gf_sgd *sgd = gf_sgd_create(1, 0.9f, 0.0f, 0.0f, false);
    float p = 2.0f, g = 0.25f;
    CHECK(!sgd->buffer_filled);
    gf_sgd_step(sgd, &p, &g, 1, 1.0f);
    CHECK(sgd->buffer_filled && sgd->buffer[0] == 0.25f && p == 1.75f);
    /* wrong size */
    CHECK(gf_sgd_step(sgd, &p, &g, 2, 1.0f) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "2 parameters given, the optimizer was made for 1");
    gf_sgd_free(sgd);

    CHECK(gf_sgd_create(1, 0.0f, 0.0f, 0.0f, true) == NULL);
    CHECK_CONTAINS(gf_error_message(), "Nesterov");
    CHECK(gf_sgd_create(1, -0.5f, 0.0f, 0.0f, false) == NULL);
    CHECK_CONTAINS(gf_error_message(), "momentum -0.5");
    return CHECK_DONE();
}
