#include "train/schedule.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

static const char *const KIND_NAMES[] = {"constant", "step", "multistep", "cosine"};

int gf_schedule_kind_parse(const char *name, gf_schedule_kind *kind) {
    for (int k = 0; k < 4; k++)
        if (strcmp(name, KIND_NAMES[k]) == 0) {
            *kind = (gf_schedule_kind)k;
            return GF_OK;
        }
    return gf_fail("schedule '%s' unknown (constant, step, multistep, cosine)", name);
}

int gf_schedule_check(const gf_schedule *s) {
    if (!(s->lr >= 0) || !isfinite(s->lr))
        return gf_fail("schedule: learning rate %g must be finite and >= 0", s->lr);
    if (s->iterations_per_epoch < 1)
        return gf_fail("schedule: %lld iterations per epoch (must be >= 1)",
                       (long long)s->iterations_per_epoch);
    if (s->warmup_iterations < 0)
        return gf_fail("schedule: warm-up of %lld iterations", (long long)s->warmup_iterations);
    switch (s->kind) {
    case GF_SCHEDULE_CONSTANT: break;
    case GF_SCHEDULE_STEP:
        if (s->step_epochs < 1)
            return gf_fail("step schedule: step of %d epochs (must be >= 1)", s->step_epochs);
        break;
    case GF_SCHEDULE_MULTISTEP:
        if (s->milestone_count < 0 || s->milestone_count > GF_SCHEDULE_MAX_MILESTONES)
            return gf_fail("multistep schedule: %d milestones (at most %d)", s->milestone_count,
                           GF_SCHEDULE_MAX_MILESTONES);
        for (int i = 1; i < s->milestone_count; i++)
            if (s->milestones[i] <= s->milestones[i - 1])
                return gf_fail("multistep schedule: milestones must increase (%d after %d)",
                               s->milestones[i], s->milestones[i - 1]);
        break;
    case GF_SCHEDULE_COSINE:
        if (s->epochs < 1)
            return gf_fail("cosine schedule: %d epochs (must be >= 1)", s->epochs);
        break;
    default: return gf_fail("schedule: unknown kind %d", (int)s->kind);
    }
    return GF_OK;
}

double gf_schedule_lr(const gf_schedule *s, int64_t iteration) {
    int64_t epoch = iteration / s->iterations_per_epoch;
    double lr = s->lr;
    switch (s->kind) {
    case GF_SCHEDULE_CONSTANT: break;
    case GF_SCHEDULE_STEP: lr *= pow(s->gamma, (double)(epoch / s->step_epochs)); break;
    case GF_SCHEDULE_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < s->milestone_count; i++) passed += s->milestones[i] <= epoch;
        lr *= pow(s->gamma, passed);
        break;
    }
    case GF_SCHEDULE_COSINE: {
        double total = (double)s->epochs * (double)s->iterations_per_epoch;
        double t = (double)iteration < total ? (double)iteration : total;
        lr *= (1.0 + cos(M_PI * t / total)) / 2.0;
        break;
    }
    }
    if (iteration < s->warmup_iterations)
        lr *= (double)(iteration + 1) / (double)s->warmup_iterations;
    return lr;
}

double gf_diff_lr(double lr, int index, int count) {
    return lr * (1.0 + cos(M_PI * (double)(count - index) / (double)count)) / 2.0;
}
