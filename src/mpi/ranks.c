/* ranks.h over MPI: a duplicate of MPI_COMM_WORLD whose errors are returned, not
 * fatal, and nonblocking calls polled against a deadline, so that a peer that stops
 * answering is named instead of waited for forever. */
#include "mpi/ranks.h"

#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"

enum { TAG_EXCHANGE = 1, TAG_POINT = 2, TAG_GATHER = 3, TAG_GATHERED = 4 };
/* The largest message of one MPI call (its count is an int): larger data go in parts. */
#define PART_BYTES ((size_t)1 << 30)

static struct {
    bool active, broken; /* broken: a wait failed, the job cannot finish in order */
    MPI_Comm world;
    int rank, size;
    double timeout;
} job = {.rank = 0, .size = 1, .timeout = GF_MPI_DEFAULT_TIMEOUT};

bool gf_mpi_built(void) { return true; }

static int mpi_failed(int code, const char *call) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", code);
    return gf_fail("%s failed: %s", call, text);
}

static double timeout_from_environment(int *status) {
    const char *value = getenv("GRAFT_MPI_TIMEOUT");
    *status = GF_OK;
    if (!value || !*value) return GF_MPI_DEFAULT_TIMEOUT;
    char *end;
    double seconds = strtod(value, &end);
    if (*end != '\0' || !(seconds > 0))
        *status = gf_fail("GRAFT_MPI_TIMEOUT must be a number of seconds > 0, got '%s'", value);
    return seconds;
}

int gf_mpi_init(void) {
    if (job.active) return GF_OK;
    int status;
    double timeout = timeout_from_environment(&status);
    if (status != GF_OK) return gf_fail_context("MPI");
    int initialized = 0, provided;
    MPI_Initialized(&initialized);
    /* graft's threads never call MPI: only the thread that initialised it does */
    if (!initialized && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return gf_fail("MPI: MPI_Init_thread failed");
    int code = MPI_Comm_dup(MPI_COMM_WORLD, &job.world);
    if (code != MPI_SUCCESS) return mpi_failed(code, "MPI_Comm_dup");
    MPI_Comm_set_errhandler(job.world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(job.world, &job.rank);
    MPI_Comm_size(job.world, &job.size);
    job.timeout = timeout;
    job.active = true;
    return GF_OK;
}

bool gf_mpi_active(void) { return job.active; }
int gf_mpi_rank(void) { return job.active ? job.rank : 0; }
int gf_mpi_size(void) { return job.active ? job.size : 1; }
double gf_mpi_timeout(void) { return job.timeout; }

int gf_mpi_set_timeout(double seconds) {
    if (!(seconds > 0)) return gf_fail("MPI timeout: seconds > 0 expected, got %g", seconds);
    job.timeout = seconds;
    return GF_OK;
}

/* Sleeps a little longer after each unanswered poll, up to a millisecond, so that a
 * process waiting for a slower peer leaves the cores to the computing ones. */
static void pause_after(int polls) {
    if (polls < 16) return;
    long nanoseconds = polls < 26 ? 1000L << (polls - 16) : 1000000L;
    struct timespec t = {0, nanoseconds};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* A request and whom it waits for: sending = the peer has not received yet. */
typedef struct pending {
    MPI_Request request;
    int peer;
    bool sending;
} pending;

static int timed_out(const char *what, int peer, bool sending, double seconds) {
    job.broken = true;
    return gf_fail("MPI rank %d: %s: rank %d did not %s within %g s (GRAFT_MPI_TIMEOUT): it "
                   "stopped, died or is stuck", job.rank, what, peer,
                   sending ? "receive" : "send", seconds);
}

/* Polls the requests until all are complete or the deadline passes. */
static int wait_all(pending *requests, int count, double deadline, double seconds, const char *what) {
    for (int polls = 0;; polls++) {
        bool all_done = true;
        for (int i = 0; i < count; i++) {
            if (requests[i].request == MPI_REQUEST_NULL) continue;
            int done = 0, code = MPI_Test(&requests[i].request, &done, MPI_STATUS_IGNORE);
            if (code != MPI_SUCCESS) {
                job.broken = true;
                mpi_failed(code, "MPI_Test");
                return gf_fail_context("MPI rank %d: %s, with rank %d", job.rank, what, requests[i].peer);
            }
            all_done = all_done && done;
        }
        if (all_done) return GF_OK;
        if (gf_clock_seconds() > deadline) {
            for (int i = 0; i < count; i++)
                if (requests[i].request != MPI_REQUEST_NULL)
                    return timed_out(what, requests[i].peer, requests[i].sending, seconds);
        }
        pause_after(polls);
    }
}

static int start(pending *p, const void *send, void *receive, size_t bytes, int peer, int tag) {
    p->peer = peer;
    p->sending = send != NULL;
    int code = send ? MPI_Isend(send, (int)bytes, MPI_BYTE, peer, tag, job.world, &p->request)
                    : MPI_Irecv(receive, (int)bytes, MPI_BYTE, peer, tag, job.world, &p->request);
    if (code != MPI_SUCCESS) {
        p->request = MPI_REQUEST_NULL;
        return mpi_failed(code, send ? "MPI_Isend" : "MPI_Irecv");
    }
    return GF_OK;
}

static int check_peer(int peer, const char *what) {
    if (!job.active) return gf_fail("MPI: %s: not initialised (gf_mpi_init)", what);
    if (peer < 0 || peer >= job.size)
        return gf_fail("MPI: %s: rank %d does not exist (ranks 0 to %d)", what, peer, job.size - 1);
    return GF_OK;
}

static size_t parts_of(size_t bytes) { return bytes ? (bytes + PART_BYTES - 1) / PART_BYTES : 1; }

/* Posts the parts (at most PART_BYTES each) of one message into requests. */
static int start_parts(pending *requests, const void *send, void *receive, size_t bytes, int peer,
                       int tag) {
    for (size_t part = 0; part < parts_of(bytes); part++) {
        size_t at = part * PART_BYTES, length = bytes - at < PART_BYTES ? bytes - at : PART_BYTES;
        if (start(&requests[part], send ? (const char *)send + at : NULL,
                  receive ? (char *)receive + at : NULL, length, peer, tag) != GF_OK)
            return GF_ERR;
    }
    return GF_OK;
}

/* Sends to `to` and receives from `from` at once (either may be NULL), so that a ring
 * of processes that all send before they receive cannot block. */
static int transfer(const void *send, size_t send_bytes, int to, void *receive,
                    size_t receive_bytes, int from, int tag, const char *what) {
    if ((send && check_peer(to, what) != GF_OK) || (receive && check_peer(from, what) != GF_OK))
        return GF_ERR;
    size_t receives = receive ? parts_of(receive_bytes) : 0, sends = send ? parts_of(send_bytes) : 0;
    if (receives + sends == 0) return GF_OK;
    pending *requests = malloc((receives + sends) * sizeof *requests);
    if (!requests) return gf_fail("MPI: %s: out of memory", what);
    for (size_t i = 0; i < receives + sends; i++) requests[i].request = MPI_REQUEST_NULL;
    int status = GF_OK;
    if (receive) status = start_parts(requests, NULL, receive, receive_bytes, from, tag);
    if (status == GF_OK && send) status = start_parts(requests + receives, send, NULL, send_bytes, to, tag);
    if (status == GF_OK)
        status = wait_all(requests, (int)(receives + sends), gf_clock_seconds() + job.timeout, job.timeout, what);
    free(requests);
    return status;
}

int gf_mpi_exchange(const void *send, size_t send_bytes, int to, void *receive,
                    size_t receive_bytes, int from, const char *what) {
    return transfer(send, send_bytes, to, receive, receive_bytes, from, TAG_EXCHANGE, what);
}

int gf_mpi_send(const void *bytes, size_t count, int to, const char *what) {
    return transfer(bytes, count, to, NULL, 0, 0, TAG_POINT, what);
}

int gf_mpi_receive(void *bytes, size_t count, int from, const char *what) {
    return transfer(NULL, 0, 0, bytes, count, from, TAG_POINT, what);
}

/* Receives the next message of `tag` from `from`, whatever its size, into a new
 * buffer (*bytes, freed by the caller). */
static int receive_any_size(int from, int tag, double deadline, double seconds, char **bytes,
                            size_t *count, const char *what) {
    MPI_Status status;
    for (int polls = 0;; polls++) {
        int found = 0, code = MPI_Iprobe(from, tag, job.world, &found, &status);
        if (code != MPI_SUCCESS) {
            job.broken = true;
            return mpi_failed(code, "MPI_Iprobe");
        }
        if (found) break;
        if (gf_clock_seconds() > deadline) return timed_out(what, from, false, seconds);
        pause_after(polls);
    }
    int length;
    MPI_Get_count(&status, MPI_BYTE, &length);
    *bytes = malloc(length > 0 ? (size_t)length : 1);
    if (!*bytes) return gf_fail("MPI rank %d: %s: out of memory for %d bytes", job.rank, what, length);
    pending p;
    int result = start(&p, NULL, *bytes, (size_t)length, from, tag);
    if (result == GF_OK) result = wait_all(&p, 1, deadline, seconds, what);
    if (result != GF_OK) {
        free(*bytes);
        *bytes = NULL;
        return result;
    }
    *count = (size_t)length;
    return GF_OK;
}

/* Rank 0's side: the parts of every rank, then the whole to each. */
static int gather_at_root(const void *bytes, size_t count, char **all, size_t *lengths) {
    const char *what = "gathering the ranks' records";
    const int size = job.size; /* at least 1 (this rank) */
    double deadline = gf_clock_seconds() + job.timeout;
    char **parts = calloc((size_t)size, sizeof *parts);
    if (!parts) return gf_fail("MPI: %s: out of memory", what);
    int status = GF_OK;
    lengths[0] = count;
    for (int r = 1; r < size && status == GF_OK; r++)
        status = receive_any_size(r, TAG_GATHER, deadline, job.timeout, &parts[r], &lengths[r], what);
    size_t total = 0, header = (size_t)size * sizeof(uint64_t);
    for (int r = 0; r < size; r++) total += lengths[r];
    char *reply = NULL;
    if (status == GF_OK && header + total > INT_MAX)
        status = gf_fail("MPI: %s: %zu bytes, more than one message carries", what, header + total);
    if (status == GF_OK && !(reply = malloc(header + total)))
        status = gf_fail("MPI: %s: out of memory", what);
    if (status == GF_OK) {
        size_t at = header;
        for (int r = 0; r < size; r++) {
            uint64_t length = lengths[r];
            memcpy(reply + (size_t)r * sizeof length, &length, sizeof length);
            if (lengths[r]) memcpy(reply + at, r == 0 ? bytes : parts[r], lengths[r]);
            at += lengths[r];
        }
        pending *sends = calloc((size_t)size, sizeof *sends);
        if (!sends) status = gf_fail("MPI: %s: out of memory", what);
        for (int r = 1; status == GF_OK && r < size; r++)
            status = start(&sends[r], reply, NULL, header + total, r, TAG_GATHERED);
        if (status == GF_OK) status = wait_all(sends + 1, size - 1, gf_clock_seconds() + job.timeout, job.timeout, what);
        free(sends);
    }
    for (int r = 0; r < size; r++) free(parts[r]);
    free(parts);
    if (status == GF_OK) {
        *all = malloc(total ? total : 1);
        if (!*all) status = gf_fail("MPI: %s: out of memory", what);
        else memcpy(*all, reply + header, total);
    }
    free(reply);
    return status;
}

/* The other ranks' side: their part to rank 0, the whole back. */
static int gather_from_root(const void *bytes, size_t count, char **all, size_t *lengths) {
    const char *what = "gathering the ranks' records";
    if (count > INT_MAX) return gf_fail("MPI: %s: %zu bytes, more than one message carries", what, count);
    double seconds = 1.5 * job.timeout;
    double deadline = gf_clock_seconds() + seconds;
    pending send;
    int status = start(&send, bytes, NULL, count, 0, TAG_GATHER);
    char *reply = NULL;
    size_t length = 0;
    if (status == GF_OK)
        status = receive_any_size(0, TAG_GATHERED, deadline, seconds, &reply, &length, what);
    if (status == GF_OK) status = wait_all(&send, 1, deadline, seconds, what);
    size_t header = (size_t)job.size * sizeof(uint64_t), total = 0;
    if (status == GF_OK && length < header) status = gf_fail("MPI: %s: a reply of %zu bytes", what, length);
    for (int r = 0; status == GF_OK && r < job.size; r++) {
        uint64_t part;
        memcpy(&part, reply + (size_t)r * sizeof part, sizeof part);
        lengths[r] = (size_t)part;
        total += lengths[r];
    }
    if (status == GF_OK && header + total != length)
        status = gf_fail("MPI: %s: a reply of %zu bytes announces %zu", what, length, header + total);
    if (status == GF_OK) {
        *all = malloc(total ? total : 1);
        if (!*all) status = gf_fail("MPI: %s: out of memory", what);
        else memcpy(*all, reply + header, total);
    }
    free(reply);
    return status;
}

int gf_mpi_allgather(const void *bytes, size_t count, char **all, size_t *lengths) {
    *all = NULL;
    if (!job.active || job.size == 1) {
        lengths[0] = count;
        *all = malloc(count ? count : 1);
        if (!*all) return gf_fail("MPI: gathering %zu bytes: out of memory", count);
        if (count) memcpy(*all, bytes, count);
        return GF_OK;
    }
    return job.rank == 0 ? gather_at_root(bytes, count, all, lengths)
                         : gather_from_root(bytes, count, all, lengths);
}

void gf_mpi_finalize(void) {
    if (!job.active) return;
    if (job.broken) gf_mpi_abort(1);
    MPI_Comm_free(&job.world);
    job.active = false;
    MPI_Finalize();
}

void gf_mpi_abort(int status) {
    if (job.active && job.size > 1) MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
}
