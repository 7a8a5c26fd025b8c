/* The MPI layer under mpirun (any number of processes; meson runs 3): ranks and
 * size, a ring exchange of bytes (each rank gets its predecessor's), parts of
 * different lengths gathered to everyone in rank order, a network's state moved
 * to the next rank bit for bit and refused when the architectures differ, and the
 * ensemble of networks spread over the ranks against one process's evaluation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/loader.h"
#include "mpi/ensemble.h"
#include "mpi/exchange.h"
#include "mpi/ranks.h"
#include "train/ensemble.h"

static int rank, size;

static void test_exchange_bytes(void) {
    int next = (rank + 1) % size, previous = (rank + size - 1) % size;
    /* more than a few bytes, so that MPI does not send them eagerly */
    enum { N = 1 << 20 };
    int32_t *mine = malloc(N * sizeof *mine), *theirs = malloc(N * sizeof *theirs);
    for (int i = 0; i < N; i++) mine[i] = rank * 1000003 + i;
    CHECK(gf_mpi_exchange(mine, N * sizeof *mine, next, theirs, N * sizeof *theirs, previous,
                          "test bytes") == GF_OK);
    bool same = true;
    for (int i = 0; i < N; i++) same = same && theirs[i] == previous * 1000003 + i;
    CHECK(same);
    free(mine);
    free(theirs);
}

static void test_allgather(void) {
    /* rank r gives r copies of the letter 'a' + r (rank 0 gives nothing) */
    char mine[64];
    memset(mine, 'a' + rank, (size_t)rank);
    size_t *lengths = malloc((size_t)size * sizeof *lengths);
    char *all;
    CHECK(gf_mpi_allgather(mine, (size_t)rank, &all, lengths) == GF_OK);
    size_t at = 0;
    for (int r = 0; r < size; r++) {
        CHECK(lengths[r] == (size_t)r);
        for (size_t i = 0; i < lengths[r]; i++) CHECK(all[at + i] == 'a' + r);
        at += lengths[r];
    }
    free(all);
    free(lengths);
}

static gf_net *small_net(uint64_t seed, int filters) {
    gf_net *net = gf_net_create(1, 6, 6);
    int x = gf_net_conv2d(net, "conv1", 0, filters, 3, 1, 1, 1, false);
    x = gf_net_batchnorm(net, "bn1", x);
    x = gf_net_activation(net, x, GF_ACT_RELU, 0);
    x = gf_net_global_avgpool(net, x);
    gf_net_linear(net, "linear", x, 3, true);
    if (gf_net_finalize(net, seed) != GF_OK) {
        fprintf(stderr, "%s\n", gf_error_message());
        exit(1);
    }
    float *stats = gf_net_stats(net);
    for (size_t i = 0; i < gf_net_stat_count(net); i++) stats[i] = (float)(seed % 97) + 0.25f * (float)i;
    return net;
}

static void test_exchange_net(void) {
    int next = (rank + 1) % size, previous = (rank + size - 1) % size;
    gf_net *mine = small_net(100 + rank, 4), *ghost = small_net(1, 4);
    gf_net *expected = small_net(100 + previous, 4);
    CHECK(gf_mpi_exchange_net(mine, next, ghost, previous, "network state") == GF_OK);
    CHECK(memcmp(gf_net_params(ghost), gf_net_params(expected),
                 gf_net_param_count(ghost) * sizeof(float)) == 0);
    CHECK(memcmp(gf_net_stats(ghost), gf_net_stats(expected),
                 gf_net_stat_count(ghost) * sizeof(float)) == 0);
    /* odd ranks send a wider network than their successors expect: both sides of
     * each such pair refuse, naming the other rank, and the rest goes through */
    gf_net *other = small_net(7, 4 + rank % 2), *into = small_net(8, 4);
    int status = gf_mpi_exchange_net(other, next, into, previous, "odd state");
    bool sends_wide = rank % 2 == 1, gets_wide = previous % 2 == 1;
    CHECK(status == (sends_wide || gets_wide ? GF_ERR : GF_OK));
    if (gets_wide) CHECK_CONTAINS(gf_error_message(), "sends a network of");
    else if (sends_wide) CHECK_CONTAINS(gf_error_message(), "expects a network of");
    gf_net_free(other);
    gf_net_free(into);
    gf_net_free(mine);
    gf_net_free(ghost);
    gf_net_free(expected);
}

static void test_ensemble(void) {
    enum { COUNT = 40, PER_RANK = 2 };
    gf_dataset *ds = gf_dataset_create(COUNT, 1, 6, 6, 3);
    gf_rng rng;
    gf_rng_seed(&rng, 3, 0);
    for (int i = 0; i < COUNT; i++) {
        ds->labels[i] = i % 3;
        for (int p = 0; p < 36; p++) ds->images[i * 36 + p] = (uint8_t)gf_rng_below(&rng, 256);
    }
    ds->mean[0] = 0.5f;
    ds->std[0] = 0.3f;
    gf_loader_options o = {.batch = 7};
    gf_loader *loader = gf_loader_create(ds, &o);
    /* every rank builds the whole ring to compare; it evaluates only its block */
    int total = PER_RANK * size;
    gf_net **ring = malloc((size_t)total * sizeof *ring);
    for (int k = 0; k < total; k++) ring[k] = small_net(500 + k, 4);
    gf_ensemble_result spread, alone;
    CHECK(gf_mpi_ensemble_evaluate(ring + rank * PER_RANK, PER_RANK, loader, &spread) == GF_OK);
    CHECK(gf_ensemble_evaluate(ring, total, loader, &alone, NULL) == GF_OK);
    CHECK(spread.count == COUNT && spread.top1 == alone.top1);
    for (int k = 0; k < total; k++) gf_net_free(ring[k]);
    free(ring);
    gf_loader_free(loader);
    gf_dataset_free(ds);
}

int main(void) {
    CHECK(gf_mpi_built());
    int launched = gf_mpi_launched_size();
    if (gf_mpi_init() != GF_OK) {
        fprintf(stderr, "%s\n", gf_error_message());
        return 1;
    }
    rank = gf_mpi_rank();
    size = gf_mpi_size();
    CHECK(launched == size && size >= 2 && rank >= 0 && rank < size);
    CHECK(gf_mpi_init() == GF_OK && gf_mpi_size() == size); /* once */
    test_exchange_bytes();
    test_allgather();
    test_exchange_net();
    test_ensemble();
    CHECK(gf_mpi_exchange(NULL, 0, 0, NULL, 0, size, "a rank too far") == GF_OK); /* nothing to do */
    char byte = 0;
    CHECK(gf_mpi_send(&byte, 1, size, "a rank too far") == GF_ERR);
    char missing[64];
    snprintf(missing, sizeof missing, "rank %d does not exist", size);
    CHECK_CONTAINS(gf_error_message(), missing);
    int failures = check_failures;
    gf_mpi_finalize();
    if (failures) fprintf(stderr, "rank %d: %d failed checks\n", rank, failures);
    return failures != 0;
}
