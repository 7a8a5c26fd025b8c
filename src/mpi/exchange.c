#include "mpi/exchange.h"

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "mpi/ranks.h"

int gf_mpi_exchange_net(const gf_net *mine, int to, gf_net *theirs, int from, const char *what) {
    /* both sides learn both sizes first, so that a mismatch stops both before the
     * state moves: what this rank sends goes forward, what it expects backward */
    uint64_t sending[2] = {gf_net_param_count(mine), gf_net_stat_count(mine)};
    uint64_t expecting[2] = {gf_net_param_count(theirs), gf_net_stat_count(theirs)};
    uint64_t coming[2], expected_there[2];
    if (gf_mpi_exchange(sending, sizeof sending, to, coming, sizeof coming, from, what) != GF_OK ||
        gf_mpi_exchange(expecting, sizeof expecting, from, expected_there, sizeof expected_there,
                        to, what) != GF_OK)
        return GF_ERR;
    /* each link moves the state only when its two ends agree, as both know: a rank
     * that refuses what comes in still sends on, so that no neighbour waits in vain */
    bool take = coming[0] == expecting[0] && coming[1] == expecting[1];
    bool give = expected_there[0] == sending[0] && expected_there[1] == sending[1];
    gf_net *source = (gf_net *)mine; /* only read */
    if (gf_mpi_exchange(give ? gf_net_params(source) : NULL, sending[0] * sizeof(float), to,
                        take ? gf_net_params(theirs) : NULL, expecting[0] * sizeof(float), from,
                        what) != GF_OK)
        return GF_ERR;
    if (gf_mpi_exchange(give && sending[1] ? gf_net_stats(source) : NULL, sending[1] * sizeof(float),
                        to, take && expecting[1] ? gf_net_stats(theirs) : NULL,
                        expecting[1] * sizeof(float), from, what) != GF_OK)
        return GF_ERR;
    if (!take)
        return gf_fail("%s: rank %d sends a network of %llu parameters and %llu statistics, "
                       "this rank's has %llu and %llu (the same model on every rank?)", what,
                       from, (unsigned long long)coming[0], (unsigned long long)coming[1],
                       (unsigned long long)expecting[0], (unsigned long long)expecting[1]);
    if (!give)
        return gf_fail("%s: rank %d expects a network of %llu parameters and %llu statistics, "
                       "this rank's has %llu and %llu (the same model on every rank?)", what, to,
                       (unsigned long long)expected_there[0], (unsigned long long)expected_there[1],
                       (unsigned long long)sending[0], (unsigned long long)sending[1]);
    return GF_OK;
}
