#include "mpi/ensemble.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi/ranks.h"

/* What a rank tells rank 0 before its softmax outputs: how many networks and samples
 * (networks = -1: it could not evaluate them). */
typedef struct part_header {
    int64_t networks, samples;
} part_header;

/* Rank 0: adds its networks' outputs, then each rank's in rank order. */
static int add_up_at_root(gf_net *const *nets, int count, gf_loader *loader,
                          gf_ensemble_result *result) {
    int classes = gf_net_output_size(nets[0]);
    double *sums = NULL, *softmax = NULL;
    int32_t *labels = NULL, *more_labels = NULL;
    int64_t samples = 0, more = 0;
    int status = GF_OK;
    for (int k = 0; k < count && status == GF_OK; k++) {
        status = gf_ensemble_softmax(nets[k], loader, &softmax, &more_labels, &more);
        if (status != GF_OK) {
            gf_fail_context("ensemble: network %d of rank 0", k + 1);
            break;
        }
        if (!sums) {
            sums = calloc((size_t)(more * classes), sizeof *sums);
            labels = more_labels, samples = more;
            more_labels = NULL;
            if (!sums) status = gf_fail("ensemble: out of memory for the softmax sums");
        }
        for (int64_t i = 0; status == GF_OK && i < samples * classes; i++) sums[i] += softmax[i];
        free(softmax);
        free(more_labels);
        softmax = NULL, more_labels = NULL;
    }
    size_t values = (size_t)(samples * classes);
    double *theirs = status == GF_OK ? malloc(values * sizeof *theirs) : NULL;
    if (status == GF_OK && !theirs) status = gf_fail("ensemble: out of memory");
    /* the other ranks are heard even after a failure here, so that none waits in vain */
    for (int r = 1; r < gf_mpi_size(); r++) {
        part_header header;
        if (gf_mpi_receive(&header, sizeof header, r, "the ensemble's outputs") != GF_OK) {
            status = GF_ERR;
            break;
        }
        if (header.networks < 0) {
            if (status == GF_OK) status = gf_fail("ensemble: rank %d could not evaluate its networks", r);
            continue;
        }
        if (status == GF_OK && header.samples != samples)
            status = gf_fail("ensemble: rank %d evaluated %lld images, rank 0 %lld", r,
                             (long long)header.samples, (long long)samples);
        for (int64_t k = 0; k < header.networks; k++) {
            double *into = status == GF_OK ? theirs : NULL;
            if (!into) break;
            if (gf_mpi_receive(into, values * sizeof *into, r, "the ensemble's outputs") != GF_OK) {
                status = GF_ERR;
                break;
            }
            for (size_t i = 0; i < values; i++) sums[i] += into[i];
        }
    }
    if (status == GF_OK) *result = (gf_ensemble_result){gf_ensemble_hits(sums, labels, samples, classes), samples};
    free(theirs);
    free(sums);
    free(labels);
    return status;
}

/* Another rank: its networks' outputs to rank 0. */
static int send_to_root(gf_net *const *nets, int count, gf_loader *loader) {
    double **softmax = calloc((size_t)count, sizeof *softmax);
    int64_t samples = 0;
    int status = softmax ? GF_OK : gf_fail("ensemble: out of memory");
    for (int k = 0; k < count && status == GF_OK; k++) {
        int32_t *labels;
        status = gf_ensemble_softmax(nets[k], loader, &softmax[k], &labels, &samples);
        if (status == GF_OK) free(labels);
        else gf_fail_context("ensemble: network %d of rank %d", k + 1, gf_mpi_rank());
    }
    part_header header = {status == GF_OK ? count : -1, samples};
    char message[1024];
    snprintf(message, sizeof message, "%s", status == GF_OK ? "" : gf_error_message());
    if (gf_mpi_send(&header, sizeof header, 0, "the ensemble's outputs") != GF_OK) status = GF_ERR;
    size_t values = (size_t)samples * (size_t)gf_net_output_size(nets[0]);
    for (int k = 0; k < count && status == GF_OK && header.networks >= 0; k++)
        status = gf_mpi_send(softmax[k], values * sizeof(double), 0, "the ensemble's outputs");
    for (int k = 0; softmax && k < count; k++) free(softmax[k]);
    free(softmax);
    if (header.networks < 0) return gf_fail("%s", message);
    return status;
}

int gf_mpi_ensemble_evaluate(gf_net *const *nets, int count, gf_loader *loader,
                             gf_ensemble_result *result) {
    *result = (gf_ensemble_result){0};
    if (count < 1) return gf_fail("ensemble: no networks on rank %d", gf_mpi_rank());
    int status = gf_mpi_rank() == 0 ? add_up_at_root(nets, count, loader, result)
                                    : send_to_root(nets, count, loader);
    /* rank 0's outcome to everyone: {ok, top1, count} */
    int64_t outcome[3] = {status == GF_OK, result->top1, result->count};
    char *all = NULL;
    size_t *lengths = malloc((size_t)gf_mpi_size() * sizeof *lengths);
    int gathered = lengths ? gf_mpi_allgather(outcome, sizeof outcome, &all, lengths)
                           : gf_fail("ensemble: out of memory");
    if (gathered == GF_OK) memcpy(outcome, all, sizeof outcome);
    free(all);
    free(lengths);
    if (status != GF_OK || gathered != GF_OK) return GF_ERR;
    if (!outcome[0]) return gf_fail("ensemble: rank 0 could not add up the networks' outputs");
    *result = (gf_ensemble_result){outcome[1], outcome[2]};
    return GF_OK;
}
