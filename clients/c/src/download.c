/* The verified, atomic download. */
#include "download.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "grpc_call.h"
#include "parallel.h"
#include "plan.h"
#include "sluice/v1/objects.pb-c.h"
#include "sluice/v1/partitions.pb-c.h"

typedef struct Download {
    const Options *opts;
    const char *remote;
    Channel *ch;
    Sluice__V1__ObjectInfo *object;
    int fd;
    char *temp_path;
} Download;

/* One ReadPartition stream, written at the partition's offset and hashed as it arrives. */
typedef struct ReadCall {
    GrpcCall call;                 /* first */
    Download *dl;
    const Sluice__V1__PartitionInfo *part;
    int64_t received;
    EVP_MD_CTX *sha;
} ReadCall;

static bool on_chunk(void *ctx, const uint8_t *msg, size_t len, Status *st) {
    ReadCall *r = ctx;
    Sluice__V1__ReadPartitionResponse *m = sluice__v1__read_partition_response__unpack(NULL, len, msg);
    if (m == NULL) return status_set(st, GRPC_INTERNAL, "cannot parse a ReadPartition answer");
    bool ok = true;
    const uint8_t *data = m->data.data;
    size_t left = m->data.len;
    if ((int64_t)left > r->part->size - r->received) {
        ok = status_set(st, GRPC_DATA_LOSS, "partition %d: the server sent more than its %" PRId64
                        " bytes", (int)r->part->index, r->part->size);
    }
    int64_t at = r->part->offset + r->received;
    while (ok && left > 0) {
        ssize_t n = pwrite(r->dl->fd, data, left, at);
        if (n < 0) {
            ok = status_set(st, GRPC_UNKNOWN, "cannot write %s: %s", r->dl->temp_path, strerror(errno));
            break;
        }
        data += n, left -= (size_t)n, at += n;
    }
    if (ok) {
        EVP_DigestUpdate(r->sha, m->data.data, m->data.len);
        r->received += (int64_t)m->data.len;
    }
    sluice__v1__read_partition_response__free_unpacked(m, NULL);
    return ok;
}

static GrpcCall *start_read(void *ctx, size_t item, Status *st) {
    Download *dl = ctx;
    ReadCall *r = xcalloc(1, sizeof *r);
    r->dl = dl;
    r->part = dl->object->partitions[item];
    r->sha = EVP_MD_CTX_new();
    if (r->sha == NULL || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) abort();
    Sluice__V1__ReadPartitionRequest req = SLUICE__V1__READ_PARTITION_REQUEST__INIT;
    req.object_name = (char *)dl->remote;
    req.version = dl->object->version;
    req.partition_index = r->part->index;
    req.owner = (char *)dl->opts->owner;
    grpc_call_init(&r->call, &req.base, NULL, NULL, on_chunk, r, GRPC_MAX_MESSAGE);
    if (!grpc_call_start(&r->call, dl->ch, "/sluice.v1.PartitionService/ReadPartition", st)) {
        grpc_call_free(&r->call);
        EVP_MD_CTX_free(r->sha);
        free(r);
        return NULL;
    }
    return &r->call;
}

static void discard_read(void *ctx, GrpcCall *call) {
    (void)ctx;
    ReadCall *r = (ReadCall *)(void *)call;
    grpc_call_free(&r->call);
    EVP_MD_CTX_free(r->sha);
    free(r);
}

static bool finish_read(void *ctx, GrpcCall *call, Status *st) {
    ReadCall *r = (ReadCall *)(void *)call;
    bool ok = status_ok(&call->status);
    if (!ok) {
        status_move(st, &call->status);
        status_prefix(st, "partition %d", (int)r->part->index);
    } else {
        uint8_t digest[SHA256_LEN];
        EVP_DigestFinal_ex(r->sha, digest, NULL);
        const ProtobufCBinaryData *want = &r->part->sha256;
        if (r->received != r->part->size) {
            ok = status_set(st, GRPC_DATA_LOSS, "partition %d: got %" PRId64 " of its %" PRId64 " bytes",
                            (int)r->part->index, r->received, r->part->size);
        } else if (want->len != SHA256_LEN || memcmp(want->data, digest, SHA256_LEN) != 0) {
            ok = status_set(st, GRPC_DATA_LOSS, "partition %d: the bytes received do not match its SHA-256",
                            (int)r->part->index);
        }
    }
    discard_read(ctx, call);
    return ok;
}

static bool get_object(Download *dl, Status *st) {
    Sluice__V1__GetObjectRequest req = SLUICE__V1__GET_OBJECT_REQUEST__INIT;
    req.name = (char *)dl->remote;
    req.owner = (char *)dl->opts->owner;
    if (!grpc_unary(dl->ch, "/sluice.v1.ObjectService/GetObject", &req.base,
                    &sluice__v1__object_info__descriptor, (ProtobufCMessage **)&dl->object, st)) {
        return false;
    }
    /* The partitions must tile the object, in order, or the file would have holes. */
    int64_t at = 0;
    for (size_t i = 0; i < dl->object->n_partitions; i++) {
        const Sluice__V1__PartitionInfo *p = dl->object->partitions[i];
        if (p->index != (int32_t)i || p->offset != at || p->size <= 0) {
            return status_set(st, GRPC_INTERNAL, "the server described partition %zu inconsistently", i);
        }
        at += p->size;
    }
    if (at != dl->object->size) return status_set(st, GRPC_INTERNAL, "the partitions do not add up to the object's size");
    return true;
}

static bool make_temp(Download *dl, const char *local, Status *st) {
    size_t len = strlen(local) + 32;
    dl->temp_path = xcalloc(len, 1);
    snprintf(dl->temp_path, len, "%s.sluice-c-XXXXXX", local);
    dl->fd = mkstemp(dl->temp_path);
    if (dl->fd < 0) {
        free(dl->temp_path);
        dl->temp_path = NULL;
        return status_set(st, errno == ENOENT ? GRPC_NOT_FOUND : GRPC_UNKNOWN,
                          "cannot make a temporary file beside %s: %s", local, strerror(errno));
    }
    if (fchmod(dl->fd, 0644) != 0 || ftruncate(dl->fd, dl->object->size) != 0) {
        return status_set(st, GRPC_UNKNOWN, "cannot size %s: %s", dl->temp_path, strerror(errno));
    }
    return true;
}

/* fsync the file, rename it into place, fsync the directory: the new name survives a crash. */
static bool publish(Download *dl, const char *local, Status *st) {
    if (fsync(dl->fd) != 0) return status_set(st, GRPC_UNKNOWN, "fsync %s: %s", dl->temp_path, strerror(errno));
    close(dl->fd);
    dl->fd = -1;
    if (rename(dl->temp_path, local) != 0) {
        return status_set(st, GRPC_UNKNOWN, "cannot rename into %s: %s", local, strerror(errno));
    }
    free(dl->temp_path);
    dl->temp_path = NULL;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", local);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

static bool transfer(Download *dl, const char *local, Status *st) {
    if (!channel_open(&dl->opts->channel, &dl->ch, st) || !get_object(dl, st) ||
        !make_temp(dl, local, st)) {
        return false;
    }
    ParallelWork work = {dl->object->n_partitions, start_read, finish_read, discard_read, dl};
    if (!parallel_run(dl->ch, dl->opts->parallel, &work, st) || !publish(dl, local, st)) return false;
    printf("downloaded %s to %s: version %" PRId64 ", %" PRId64 " bytes, %zu partitions verified\n",
           dl->remote, local, dl->object->version, dl->object->size, dl->object->n_partitions);
    return true;
}

bool download_run(const Options *opts, const char *remote, const char *local, Status *st) {
    Download dl = {.opts = opts, .remote = remote, .fd = -1};
    bool ok = transfer(&dl, local, st);
    channel_close(dl.ch);
    if (dl.fd >= 0) close(dl.fd);
    if (dl.temp_path) {
        unlink(dl.temp_path);
        free(dl.temp_path);
    }
    if (dl.object) sluice__v1__object_info__free_unpacked(dl.object, NULL);
    return ok;
}
