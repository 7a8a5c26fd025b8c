/* Whether an MPI launcher started this process, and as which of its processes: its
 * environment says so before (and without) MPI itself. */
#include <limits.h>
#include <stdlib.h>

#include "mpi/ranks.h"

/* The first of the launchers' variables that holds an integer in [least, INT_MAX]
 * (Open MPI's mpirun, then MPICH's hydra and Slurm's PMI), else -1. */
static int launcher_value(const char *open_mpi, const char *pmi, long least) {
    const char *names[] = {open_mpi, pmi};
    for (int i = 0; i < 2; i++) {
        const char *value = getenv(names[i]);
        char *end;
        long number = value ? strtol(value, &end, 10) : -1;
        if (value && *value && *end == '\0' && number >= least && number <= INT_MAX)
            return (int)number;
    }
    return -1;
}

int gf_mpi_launched_size(void) {
    const int size = launcher_value("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", 1);
    return size > 0 ? size : 0;
}

int gf_mpi_launched_rank(void) {
    const int size = gf_mpi_launched_size();
    const int rank = launcher_value("OMPI_COMM_WORLD_RANK", "PMI_RANK", 0);
    return size > 0 && rank < size ? rank : -1;
}
