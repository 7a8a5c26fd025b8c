/* Whether an MPI launcher started this process: its environment says so before
 * (and without) MPI itself. */
#include <limits.h>
#include <stdlib.h>

#include "mpi/ranks.h"

int gf_mpi_launched_size(void) {
    /* Open MPI's mpirun; MPICH's hydra and Slurm's PMI */
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (int i = 0; i < 2; i++) {
        const char *value = getenv(names[i]);
        char *end;
        long size = value ? strtol(value, &end, 10) : 0;
        if (value && *value && *end == '\0' && size > 0 && size <= INT_MAX) return (int)size;
    }
    return 0;
}
