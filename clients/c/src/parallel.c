/* A fixed number of concurrent streams, refilled as they finish. */
#include "parallel.h"

#include <stdlib.h>

#include "bytes.h"

typedef struct Slots {
    GrpcCall **calls;
    int n;
} Slots;

static bool any_done(void *ctx) {
    const Slots *s = ctx;
    for (int i = 0; i < s->n; i++) {
        if (s->calls[i] != NULL && s->calls[i]->done) return true;
    }
    return false;
}

bool parallel_run(Channel *ch, int parallel, const ParallelWork *w, Status *st) {
    Slots slots = {xcalloc((size_t)parallel, sizeof(GrpcCall *)), parallel};
    size_t next = 0;
    int active = 0;
    bool ok = true;
    while (ok && (next < w->count || active > 0)) {
        for (int i = 0; ok && i < parallel && next < w->count; i++) {
            if (slots.calls[i] != NULL) continue;
            slots.calls[i] = w->start(w->ctx, next++, st);
            if (slots.calls[i] == NULL) ok = false;
            else active++;
        }
        if (ok) ok = h2_run(ch->h2, any_done, &slots, st);
        for (int i = 0; ok && i < parallel; i++) {
            if (slots.calls[i] == NULL || !slots.calls[i]->done) continue;
            GrpcCall *next_call = NULL;
            if (w->resume != NULL) ok = w->resume(w->ctx, slots.calls[i], &next_call, st);
            if (ok && next_call != NULL) {
                w->discard(w->ctx, slots.calls[i]);
                slots.calls[i] = next_call;
                continue;
            }
            if (ok) ok = w->finish(w->ctx, slots.calls[i], st);
            else w->discard(w->ctx, slots.calls[i]);
            slots.calls[i] = NULL;
            active--;
        }
    }
    for (int i = 0; i < parallel; i++) {
        if (slots.calls[i] == NULL) continue;
        if (!slots.calls[i]->done) h2_abandon(ch->h2, &slots.calls[i]->stream);
        w->discard(w->ctx, slots.calls[i]);
    }
    free(slots.calls);
    return ok;
}
