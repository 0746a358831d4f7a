/* The resumable upload. */
#include "upload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "grpc_call.h"
#include "journal.h"
#include "parallel.h"
#include "plan.h"
#include "upload_check.h"
#include "sluice/v1/upload_sessions.pb-c.h"

#define DATA_CHUNK (1024 * 1024)   /* partition bytes per UploadPartition message */

typedef Sluice__V1__UploadSession Session;

typedef struct Upload {
    const Options *opts;
    const char *remote;
    LocalFile file;
    Plan plan;
    Channel *ch;
    Journal journal;
    Session *session;
    int32_t *missing;             /* partitions to send */
    size_t n_missing;
    int sent;                     /* partitions the server stored from this run */
    int already;                  /* partitions it had already (answered already_stored) */
} Upload;

/* One UploadPartition stream: the target, then the partition's bytes read as room allows. */
typedef struct PartCall {
    GrpcCall call;                /* first */
    Upload *up;
    int32_t index;
    int64_t offset, size, done;
    bool target_sent;
    bool already_stored;
    uint8_t *chunk;
} PartCall;

static bool refill_part(void *ctx, Bytes *body, bool *last, Status *st) {
    PartCall *p = ctx;
    if (!p->target_sent) {
        Sluice__V1__PartitionTarget target = SLUICE__V1__PARTITION_TARGET__INIT;
        target.session_id = p->up->session->session_id;
        target.partition_index = p->index;
        Sluice__V1__UploadPartitionRequest req = SLUICE__V1__UPLOAD_PARTITION_REQUEST__INIT;
        req.message_case = SLUICE__V1__UPLOAD_PARTITION_REQUEST__MESSAGE_TARGET;
        req.target = &target;
        grpc_frame_append(body, &req.base);
        p->target_sent = true;
        return true;
    }
    int64_t left = p->size - p->done;
    size_t want = left < DATA_CHUNK ? (size_t)left : DATA_CHUNK;
    ssize_t n = pread(p->up->file.fd, p->chunk, want, p->offset + p->done);
    if (n <= 0) return local_file_read_failed(&p->up->file, n, p->offset + p->done, st);
    Sluice__V1__UploadPartitionRequest req = SLUICE__V1__UPLOAD_PARTITION_REQUEST__INIT;
    req.message_case = SLUICE__V1__UPLOAD_PARTITION_REQUEST__MESSAGE_DATA;
    req.data.data = p->chunk;
    req.data.len = (size_t)n;
    grpc_frame_append(body, &req.base);
    p->done += n;
    *last = p->done == p->size;
    return true;
}

static bool on_part_answer(void *ctx, const uint8_t *msg, size_t len, Status *st) {
    PartCall *p = ctx;
    Sluice__V1__UploadPartitionResponse *r = sluice__v1__upload_partition_response__unpack(NULL, len, msg);
    if (r == NULL) return status_set(st, GRPC_INTERNAL, "cannot parse an UploadPartition answer");
    p->already_stored = r->already_stored;
    bool ok = upload_check_ack(&p->up->plan, p->index, r, st);
    sluice__v1__upload_partition_response__free_unpacked(r, NULL);
    return ok;
}

static GrpcCall *start_part(void *ctx, size_t item, Status *st) {
    Upload *up = ctx;
    PartCall *p = xcalloc(1, sizeof *p);
    p->up = up;
    p->index = up->missing[item];
    p->offset = plan_offset(&up->plan, p->index);
    p->size = plan_part_size(&up->plan, p->index);
    p->chunk = xcalloc(1, DATA_CHUNK);
    grpc_call_init(&p->call, NULL, refill_part, p, on_part_answer, p, GRPC_MAX_MESSAGE);
    if (!grpc_call_start(&p->call, up->ch, "/sluice.v1.UploadSessionService/UploadPartition", st)) {
        grpc_call_free(&p->call);
        free(p->chunk);
        free(p);
        return NULL;
    }
    return &p->call;
}

static void discard_part(void *ctx, GrpcCall *call) {
    (void)ctx;
    PartCall *p = (PartCall *)(void *)call;
    grpc_call_free(&p->call);
    free(p->chunk);
    free(p);
}

static bool finish_part(void *ctx, GrpcCall *call, Status *st) {
    Upload *up = ctx;
    PartCall *p = (PartCall *)(void *)call;
    bool ok = status_ok(&call->status);
    if (ok) {
        if (p->already_stored) up->already++;
        else up->sent++;
        printf("partition %d stored (%d of %d)\n", (int)p->index,
               up->plan.count - (int)up->n_missing + up->sent + up->already, (int)up->plan.count);
        fflush(stdout);
    } else {
        status_move(st, &call->status);
        status_prefix(st, "partition %d", (int)p->index);
    }
    discard_part(ctx, call);
    return ok;
}

static bool get_session(Upload *up, const char *session_id, Session **out, Status *st) {
    Sluice__V1__GetSessionRequest req = SLUICE__V1__GET_SESSION_REQUEST__INIT;
    req.session_id = (char *)session_id;
    return grpc_unary(up->ch, "/sluice.v1.UploadSessionService/GetSession", &req.base,
                      &sluice__v1__upload_session__descriptor, (ProtobufCMessage **)out, st);
}

static bool create_session(Upload *up, Status *st) {
    const Plan *plan = &up->plan;
    ProtobufCBinaryData *hashes = xcalloc((size_t)plan->count, sizeof *hashes);
    for (int32_t i = 0; i < plan->count; i++) hashes[i] = (ProtobufCBinaryData){SHA256_LEN, plan->partition_sha256[i]};
    Sluice__V1__CreateSessionRequest req = SLUICE__V1__CREATE_SESSION_REQUEST__INIT;
    req.object_name = (char *)up->remote;
    req.total_size = plan->total_size;
    req.partition_size = plan->partition_size;
    req.n_partition_sha256 = (size_t)plan->count;
    req.partition_sha256 = hashes;
    req.object_sha256 = (ProtobufCBinaryData){SHA256_LEN, (uint8_t *)plan->object_sha256};
    req.request_id = up->journal.request_id;
    req.owner = (char *)up->opts->owner;
    bool ok = grpc_unary(up->ch, "/sluice.v1.UploadSessionService/CreateSession", &req.base,
                         &sluice__v1__upload_session__descriptor, (ProtobufCMessage **)&up->session, st);
    free(hashes);
    return ok;
}

/* The session declares exactly this file's partitions. */
static bool session_matches(const Session *s, const Plan *plan) {
    if (s->total_size != plan->total_size || s->partition_size != plan->partition_size ||
        s->n_partition_sha256 != (size_t)plan->count) {
        return false;
    }
    for (int32_t i = 0; i < plan->count; i++) {
        const ProtobufCBinaryData *h = &s->partition_sha256[i];
        if (h->len != SHA256_LEN || memcmp(h->data, plan->partition_sha256[i], SHA256_LEN) != 0) return false;
    }
    return true;
}

static void drop_session(Upload *up) {
    if (up->session) sluice__v1__upload_session__free_unpacked(up->session, NULL);
    up->session = NULL;
}

/* The journal's session if it can still be used (GetSession), else a session made with
 * the journal's request id (idempotent: a CreateSession whose answer was lost answers the
 * same session again), else a new one. */
static bool open_session(Upload *up, Status *st) {
    Journal *j = &up->journal;
    if (j->session_id[0] != '\0') {
        if (!get_session(up, j->session_id, &up->session, st)) {
            if (st->code != GRPC_NOT_FOUND) return false;
            status_clear(st);
        } else if (!session_matches(up->session, &up->plan) ||
                   (up->session->state != SLUICE__V1__UPLOAD_SESSION__STATE__OPEN &&
                    up->session->state != SLUICE__V1__UPLOAD_SESSION__STATE__COMMITTED)) {
            drop_session(up);
        }
        if (up->session == NULL) journal_new_request_id(j);
    }
    if (up->session == NULL) {
        if (j->request_id[0] == '\0') journal_new_request_id(j);
        if (!journal_save(j, st) || !create_session(up, st)) return false;
        if (up->session->state != SLUICE__V1__UPLOAD_SESSION__STATE__OPEN &&
            up->session->state != SLUICE__V1__UPLOAD_SESSION__STATE__COMMITTED) {
            drop_session(up);   /* the remembered id's session expired or was aborted */
            journal_new_request_id(j);
            if (!journal_save(j, st) || !create_session(up, st)) return false;
        }
    }
    snprintf(j->session_id, sizeof j->session_id, "%s", up->session->session_id);
    return journal_save(j, st);
}

/* The partitions the session lacks. */
static void find_missing(Upload *up) {
    const Session *s = up->session;
    up->missing = xcalloc((size_t)up->plan.count, sizeof *up->missing);
    bool *stored = xcalloc((size_t)up->plan.count, sizeof *stored);
    for (size_t i = 0; i < s->n_stored_partitions; i++) {
        int32_t k = s->stored_partitions[i];
        if (k >= 0 && k < up->plan.count) stored[k] = true;
    }
    for (int32_t i = 0; i < up->plan.count; i++) {
        if (!stored[i]) up->missing[up->n_missing++] = i;
    }
    free(stored);
}

static bool commit(Upload *up, int64_t *version, Status *st) {
    Sluice__V1__CommitSessionRequest req = SLUICE__V1__COMMIT_SESSION_REQUEST__INIT;
    req.session_id = up->session->session_id;
    Sluice__V1__CommitSessionResponse *r = NULL;
    if (!grpc_unary(up->ch, "/sluice.v1.UploadSessionService/CommitSession", &req.base,
                    &sluice__v1__commit_session_response__descriptor, (ProtobufCMessage **)&r, st)) {
        return false;
    }
    bool ok = upload_check_commit(&up->plan, r->object, st);
    if (ok) *version = r->object->version;
    sluice__v1__commit_session_response__free_unpacked(r, NULL);
    return ok;
}

static bool transfer(Upload *up, const char *local, Status *st) {
    if (!local_file_open(&up->file, local, st) || !plan_make(&up->file, up->opts->partition_size, &up->plan, st)) {
        return false;
    }
    if (!journal_open(&up->journal, up->opts->state_dir, up->opts->channel.server, up->opts->owner,
                      up->remote, local, &up->plan, st)) {
        return false;
    }
    if (!channel_open(&up->opts->channel, &up->ch, st) || !open_session(up, st)) return false;
    find_missing(up);
    int stored = up->plan.count - (int)up->n_missing;
    if (stored > 0) {
        printf("resuming session %s: %d of %d partitions already stored\n",
               up->session->session_id, stored, (int)up->plan.count);
        fflush(stdout);
    }
    if (up->session->state == SLUICE__V1__UPLOAD_SESSION__STATE__OPEN) {
        ParallelWork work = {up->n_missing, start_part, finish_part, discard_part, up, NULL};
        if (!parallel_run(up->ch, up->opts->parallel, &work, st)) return false;
    }
    int64_t version = 0;
    if (!commit(up, &version, st)) return false;
    journal_remove(&up->journal);
    printf("uploaded %s to %s: version %" PRId64 ", %" PRId64 " bytes; sent %d of %d partitions"
           " (%d already stored)\n",
           local, up->remote, version, up->plan.total_size, up->sent, (int)up->plan.count,
           stored + up->already);
    return true;
}

bool upload_run(const Options *opts, const char *local, const char *remote, Status *st) {
    Upload up = {.opts = opts, .remote = remote, .file = {.fd = -1}};
    bool ok = transfer(&up, local, st);
    channel_close(up.ch);
    drop_session(&up);
    journal_free(&up.journal);
    plan_free(&up.plan);
    free(up.missing);
    local_file_close(&up.file);
    return ok;
}
