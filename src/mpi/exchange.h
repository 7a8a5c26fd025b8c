/* A network's state between the processes of a ring spread over MPI (ranks.h): its
 * parameters and BatchNorm running statistics, the network's two flat buffers
 * (nn/network.h), as they are. That is all a grafting round reads of another
 * network; gradients, counters and optimizer state stay where they are. */
#ifndef GRAFT_MPI_EXCHANGE_H
#define GRAFT_MPI_EXCHANGE_H

#include "nn/network.h"

/* Sends mine's state to rank `to` while receiving rank `from`'s into theirs, whose
 * architecture must be mine's (their sizes are compared first). `what` names the
 * exchange in messages ("network 3's state"). */
int gf_mpi_exchange_net(const gf_net *mine, int to, gf_net *theirs, int from, const char *what);

#endif
