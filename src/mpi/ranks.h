/* The processes of a run started by an MPI launcher (mpirun -np R graft ...): how
 * many there are, which one this is, and the few messages a grafting ring spread
 * over them needs (src/mpi/exchange.h, ensemble.h, lua/graft/run/ranks.lua).
 *
 * Every wait is bounded: a peer that does not answer within the timeout (60 s, or
 * GRAFT_MPI_TIMEOUT seconds) makes the call fail with a message naming the peer's
 * rank instead of hanging; the program then ends the whole job (gf_mpi_abort). A
 * process that dies is noticed sooner by the launcher, which ends the job itself.
 *
 * Built without MPI (meson -Dmpi=disabled, or no MPI found: ranks_single.c), the
 * process is rank 0 of 1 and gf_mpi_init fails with "MPI support is not built". */
#ifndef GRAFT_MPI_RANKS_H
#define GRAFT_MPI_RANKS_H

#include <stdbool.h>
#include <stddef.h>

#define GF_MPI_DEFAULT_TIMEOUT 60.0

/* Whether graft was built with MPI. */
bool gf_mpi_built(void);

/* The number of processes the launcher started, read from its environment
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE); 0 when the process was not started by one.
 * Needs no MPI: it tells a graft without MPI support that it runs under mpirun. */
int gf_mpi_launched_size(void);

/* Joins the job (once; later calls do nothing). The timeout comes from
 * GRAFT_MPI_TIMEOUT when set (seconds > 0). */
int gf_mpi_init(void);
/* Whether gf_mpi_init succeeded and the job is not finalized. */
bool gf_mpi_active(void);
/* This process's rank and the number of processes: 0 and 1 until gf_mpi_init. */
int gf_mpi_rank(void);
int gf_mpi_size(void);

/* Seconds a wait for a peer may take before it fails. */
double gf_mpi_timeout(void);
int gf_mpi_set_timeout(double seconds);

/* Sends send_bytes bytes to rank `to` while receiving receive_bytes bytes from rank
 * `from` (the two neighbours of a ring); with send or receive NULL, only the other
 * half. `what` names the data in messages. */
int gf_mpi_exchange(const void *send, size_t send_bytes, int to, void *receive,
                    size_t receive_bytes, int from, const char *what);
/* Point to point, for data whose size both sides know. */
int gf_mpi_send(const void *bytes, size_t count, int to, const char *what);
int gf_mpi_receive(void *bytes, size_t count, int from, const char *what);

/* Every process's bytes to every process, in rank order: *all receives the
 * concatenation (malloc'd; the caller frees it) and lengths[r] (gf_mpi_size()
 * entries) the length of rank r's part. Rank 0 collects and answers, so a missing
 * peer is named by rank 0; the others wait for rank 0 half as long again. */
int gf_mpi_allgather(const void *bytes, size_t count, char **all, size_t *lengths);

/* Leaves the job in order (every process calls it at the end), or, after a wait
 * failed, ends the job (gf_mpi_abort). Nothing without an active job. */
void gf_mpi_finalize(void);
/* Ends every process of the job with `status` (MPI_Abort) when more than one
 * process runs; otherwise does nothing. For the program, after a fatal error. */
void gf_mpi_abort(int status);

#endif
