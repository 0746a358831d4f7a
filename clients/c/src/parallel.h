/* Runs many calls on one connection, at most `parallel` streams at once: as each finishes
 * the next starts. The first failure stops it; the calls still open are reset. */
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
} ParallelWork;

bool parallel_run(Channel *ch, int parallel, const ParallelWork *work, Status *st);

#endif
