/* ranks.h without MPI: one process, rank 0 of 1. (gf_mpi_launched_size, in
 * launcher.c, still tells when mpirun started it.) */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi/ranks.h"

static double timeout = GF_MPI_DEFAULT_TIMEOUT;

bool gf_mpi_built(void) { return false; }

int gf_mpi_init(void) {
    return gf_fail("MPI support is not built into this graft (meson setup -Dmpi=enabled, with "
                   "libopenmpi-dev installed)");
}

bool gf_mpi_active(void) { return false; }
int gf_mpi_rank(void) { return 0; }
int gf_mpi_size(void) { return 1; }
double gf_mpi_timeout(void) { return timeout; }

int gf_mpi_set_timeout(double seconds) {
    if (!(seconds > 0)) return gf_fail("MPI timeout: seconds > 0 expected, got %g", seconds);
    timeout = seconds;
    return GF_OK;
}

static int not_built(const char *what) {
    return gf_fail("MPI: %s: MPI support is not built into this graft", what);
}

int gf_mpi_exchange(const void *send, size_t send_bytes, int to, void *receive,
                    size_t receive_bytes, int from, const char *what) {
    (void)send, (void)send_bytes, (void)to, (void)receive, (void)receive_bytes, (void)from;
    return not_built(what);
}

int gf_mpi_send(const void *bytes, size_t count, int to, const char *what) {
    (void)bytes, (void)count, (void)to;
    return not_built(what);
}

int gf_mpi_receive(void *bytes, size_t count, int from, const char *what) {
    (void)bytes, (void)count, (void)from;
    return not_built(what);
}

int gf_mpi_allgather(const void *bytes, size_t count, char **all, size_t *lengths) {
    lengths[0] = count;
    *all = malloc(count ? count : 1);
    if (!*all) return gf_fail("MPI: gathering %zu bytes: out of memory", count);
    if (count) memcpy(*all, bytes, count);
    return GF_OK;
}

void gf_mpi_finalize(void) {}
void gf_mpi_abort(int status) { (void)status; }
