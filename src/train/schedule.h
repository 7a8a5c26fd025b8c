/* Learning-rate schedules, evaluated at a global iteration t (0 for the first
 * batch of the first epoch; epoch e = t / iterations_per_epoch):
 *   constant   lr0
 *   step       lr0 * gamma^floor(e / step_epochs)          (PyTorch StepLR per epoch)
 *   multistep  lr0 * gamma^(number of milestones <= e)     (MultiStepLR per epoch)
 *   cosine     lr0 * (1 + cos(pi * t / T)) / 2, T = epochs * iterations_per_epoch
 *              (CosineAnnealingLR with eta_min 0, stepped every iteration)
 * Optional linear warm-up over the first W iterations multiplies the scheduled value
 * by (t + 1) / W. */
#ifndef GRAFT_TRAIN_SCHEDULE_H
#define GRAFT_TRAIN_SCHEDULE_H

#include <stdint.h>

#define GF_SCHEDULE_MAX_MILESTONES 32

typedef enum gf_schedule_kind {
    GF_SCHEDULE_CONSTANT,
    GF_SCHEDULE_STEP,
    GF_SCHEDULE_MULTISTEP,
    GF_SCHEDULE_COSINE
} gf_schedule_kind;

typedef struct gf_schedule {
    gf_schedule_kind kind;
    double lr;                     /* initial learning rate lr0 */
    int64_t iterations_per_epoch;
    int epochs;                    /* cosine: length of the annealing */
    int step_epochs;               /* step */
    double gamma;                  /* step, multistep */
    int milestones[GF_SCHEDULE_MAX_MILESTONES]; /* multistep, epochs */
    int milestone_count;
    int64_t warmup_iterations;     /* 0: none */
} gf_schedule;

/* Checks the settings; the error names the offending one. */
int gf_schedule_check(const gf_schedule *s);
/* "constant", "step", "multistep", "cosine" */
int gf_schedule_kind_parse(const char *name, gf_schedule_kind *kind);
double gf_schedule_lr(const gf_schedule *s, int64_t iteration);

/* The reference's "different LR" option: network i of K (1-based) starts at
 * lr * (1 + cos(pi * (K - i) / K)) / 2, so network K gets lr and the others less. */
double gf_diff_lr(double lr, int index, int count);

#endif
