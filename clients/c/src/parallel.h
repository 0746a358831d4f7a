/* Runs many calls on one connection, at most `parallel` streams at once: as each finishes
 * the next starts (or the same item's next call, see `resume`). The first failure stops it;
 * the calls still open are reset. */
#ifndef SLUICE_C_PARALLEL_H
#define SLUICE_C_PARALLEL_H

#include <stddef.h>

#include "channel.h"
#include "grpc_call.h"
#include "status.h"

typedef struct ParallelWork {
    size_t count;                                  /* items 0..count-1 */
    /* Makes and starts the call for an item (a GrpcCall, maybe inside a larger struct). */
    GrpcCall *(*start)(void *ctx, size_t item, Status *st);
    /* Takes a finished call's outcome, and frees the call. */
    bool (*finish)(void *ctx, GrpcCall *call, Status *st);
    /* Frees a call that will not finish (after a failure elsewhere). */
    void (*discard)(void *ctx, GrpcCall *call);
    void *ctx;
    /* Optional (NULL: none). For a call that finished with part of its item done, starts the
     * call for the rest in *next (left NULL when the item needs none: then `finish` judges
     * it); false on failure. The finished call is discarded when there is a next one. */
    bool (*resume)(void *ctx, GrpcCall *done, GrpcCall **next, Status *st);
} ParallelWork;

bool parallel_run(Channel *ch, int parallel, const ParallelWork *work, Status *st);

#endif
