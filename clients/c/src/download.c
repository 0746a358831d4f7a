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

/* A run of consecutive partitions read with one ReadPartition call (partition_count). */
typedef struct Run {
    size_t first, count;
} Run;

/* A run holds at most this many bytes (or one partition, when that is larger): per-call costs
 * dominate small partitions, and are a small share of an 8 MiB read. */
#define RUN_BYTES (8 * 1024 * 1024)
/* The server's limit on the partitions of one read. */
#define RUN_PARTITIONS 1024

typedef struct Download {
    const Options *opts;
    const char *remote;
    Channel *ch;
    Sluice__V1__ObjectInfo *object;
    int fd;
    char *temp_path;
    Run *runs;
    size_t n_runs;
} Download;

/* One ReadPartition stream reading partitions first..end-1, cut at partition boundaries: each
 * partition is written at its offset and hashed as it arrives, and checked as its last byte
 * does. Every byte is hashed here, so the server is asked not to hash them too
 * (client_verifies); a partition that does not match is read once more with the server
 * checking it (server_checks), so that damage in storage is recorded by the server and answered
 * DATA_LOSS, as `sluice download` does. */
typedef struct ReadCall {
    GrpcCall call;                 /* first */
    Download *dl;
    size_t first, end;
    size_t next;                   /* the partition arriving */
    int64_t received;              /* its bytes so far */
    EVP_MD_CTX *sha;
    bool server_checks;            /* the server checks each partition before it is sent */
    bool mismatched;               /* partition `next` arrived whole and did not match */
} ReadCall;

static bool write_at(Download *dl, const uint8_t *data, size_t len, int64_t at, Status *st) {
    while (len > 0) {
        ssize_t n = pwrite(dl->fd, data, len, at);
        if (n < 0) return status_set(st, GRPC_UNKNOWN, "cannot write %s: %s", dl->temp_path, strerror(errno));
        data += n, len -= (size_t)n, at += n;
    }
    return true;
}

/* The partition arriving is whole: it must match its SHA-256; the next one starts. */
static bool check_partition(ReadCall *r, Status *st) {
    const Sluice__V1__PartitionInfo *p = r->dl->object->partitions[r->next];
    uint8_t digest[SHA256_LEN];
    EVP_DigestFinal_ex(r->sha, digest, NULL);
    if (p->sha256.len != SHA256_LEN || memcmp(p->sha256.data, digest, SHA256_LEN) != 0) {
        r->mismatched = true;
        return status_set(st, GRPC_DATA_LOSS, "partition %d: the bytes received do not match its SHA-256",
                          (int)p->index);
    }
    if (!EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) abort();
    r->next++;
    r->received = 0;
    return true;
}

static bool on_chunk(void *ctx, const uint8_t *msg, size_t len, Status *st) {
    ReadCall *r = ctx;
    Sluice__V1__ReadPartitionResponse *m = sluice__v1__read_partition_response__unpack(NULL, len, msg);
    if (m == NULL) return status_set(st, GRPC_INTERNAL, "cannot parse a ReadPartition answer");
    bool ok = true;
    const uint8_t *data = m->data.data;
    size_t left = m->data.len;
    while (ok && left > 0) {
        if (r->next == r->end) {
            ok = status_set(st, GRPC_DATA_LOSS, "partitions %zu to %zu: the server sent more than their bytes",
                            r->first, r->end - 1);
            break;
        }
        const Sluice__V1__PartitionInfo *p = r->dl->object->partitions[r->next];
        size_t piece = (int64_t)left < p->size - r->received ? left : (size_t)(p->size - r->received);
        ok = write_at(r->dl, data, piece, p->offset + r->received, st);
        if (!ok) break;
        EVP_DigestUpdate(r->sha, data, piece);
        data += piece, left -= piece;
        r->received += (int64_t)piece;
        if (r->received == p->size) ok = check_partition(r, st);
    }
    sluice__v1__read_partition_response__free_unpacked(m, NULL);
    return ok;
}

static GrpcCall *start_run(Download *dl, size_t first, size_t count, bool server_checks, Status *st) {
    ReadCall *r = xcalloc(1, sizeof *r);
    r->dl = dl;
    r->server_checks = server_checks;
    r->first = r->next = first;
    r->end = first + count;
    r->sha = EVP_MD_CTX_new();
    if (r->sha == NULL || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) abort();
    Sluice__V1__ReadPartitionRequest req = SLUICE__V1__READ_PARTITION_REQUEST__INIT;
    req.object_name = (char *)dl->remote;
    req.version = dl->object->version;
    req.partition_index = (int32_t)first;
    req.partition_count = count > 1 ? (int32_t)count : 0;
    req.owner = (char *)dl->opts->owner;
    req.client_verifies = !server_checks;
    grpc_call_init(&r->call, &req.base, NULL, NULL, on_chunk, r, GRPC_MAX_MESSAGE);
    if (!grpc_call_start(&r->call, dl->ch, "/sluice.v1.PartitionService/ReadPartition", st)) {
        grpc_call_free(&r->call);
        EVP_MD_CTX_free(r->sha);
        free(r);
        return NULL;
    }
    return &r->call;
}

static GrpcCall *start_read(void *ctx, size_t item, Status *st) {
    Download *dl = ctx;
    return start_run(dl, dl->runs[item].first, dl->runs[item].count, false, st);
}

/* A call that ended well between partitions, after some but before the run's end (a server
 * older than partition_count sends one): the next call asks for the rest. A partition that did
 * not match, read unchecked by the server: the next call reads it and the rest again with the
 * server checking them. */
static bool resume_read(void *ctx, GrpcCall *call, GrpcCall **next, Status *st) {
    ReadCall *r = (ReadCall *)(void *)call;
    if (!status_ok(&call->status)) {
        if (!r->mismatched || r->server_checks) return true;
        *next = start_run(ctx, r->next, r->end - r->next, true, st);
        return *next != NULL;
    }
    if (r->received != 0 || r->next == r->first || r->next == r->end) return true;
    *next = start_run(ctx, r->next, r->end - r->next, r->server_checks, st);
    return *next != NULL;
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
        status_prefix(st, "partition %zu", r->next);
    } else if (r->next != r->end) {
        ok = status_set(st, GRPC_DATA_LOSS, "partition %zu: got %" PRId64 " of its %" PRId64 " bytes", r->next,
                        r->received, r->dl->object->partitions[r->next]->size);
    }
    discard_read(ctx, call);
    return ok;
}

/* Cuts the partitions into runs of at most RUN_BYTES (one partition, if larger) and
 * RUN_PARTITIONS, and into at least `parallel` runs when there are as many partitions, so
 * that every stream has work. */
static void plan_runs(Download *dl) {
    size_t n = dl->object->n_partitions;
    size_t lanes = (size_t)dl->opts->parallel;
    size_t per = n == 0 ? 1 : (size_t)(RUN_BYTES / dl->object->partitions[0]->size);
    if (per > RUN_PARTITIONS) per = RUN_PARTITIONS;
    if (per > (n + lanes - 1) / lanes) per = (n + lanes - 1) / lanes;
    if (per < 1) per = 1;
    dl->runs = xcalloc(n / per + 1, sizeof *dl->runs);
    for (size_t first = 0; first < n; first += per) {
        dl->runs[dl->n_runs++] = (Run){first, n - first < per ? n - first : per};
    }
}

static bool get_object(Download *dl, Status *st) {
    Sluice__V1__GetObjectRequest req = SLUICE__V1__GET_OBJECT_REQUEST__INIT;
    req.name = (char *)dl->remote;
    req.owner = (char *)dl->opts->owner;
    if (!grpc_unary(dl->ch, "/sluice.v1.ObjectService/GetObject", &req.base,
                    &sluice__v1__object_info__descriptor, (ProtobufCMessage **)&dl->object, st)) {
        return false;
    }
    /* The uploader declared a whole-object SHA-256 these bytes do not have: whatever they
     * are, they are not the file that was described, so they are refused as `sluice
     * download` refuses them, although every partition would verify. */
    if (dl->object->sha256_state == SLUICE__V1__SHA256_STATE__SHA256_STATE_MISMATCH) {
        char hex[2 * SHA256_LEN + 1] = "";
        if (dl->object->sha256.len == SHA256_LEN) hex_encode(dl->object->sha256.data, SHA256_LEN, hex);
        return status_set(st, GRPC_DATA_LOSS,
                          "%s version %" PRId64 " is not the file its uploader described: its bytes hash to %s, "
                          "not the SHA-256 declared at upload; refusing to download it",
                          dl->remote, dl->object->version, hex);
    }
    /* The partitions must tile the object, in order, or the file would have holes. Sizes
     * are the server's: each is checked against what is left below INT64_MAX before it is
     * added, so no description can overflow the sum. As `sluice download`, a description
     * that does not hold together is DATA_LOSS (exit 5). */
    int64_t at = 0;
    for (size_t i = 0; i < dl->object->n_partitions; i++) {
        const Sluice__V1__PartitionInfo *p = dl->object->partitions[i];
        if (p->index != (int32_t)i || p->offset != at || p->size <= 0 || p->size > INT64_MAX - at) {
            return status_set(st, GRPC_DATA_LOSS,
                              "the server described %s version %" PRId64 " inconsistently: partition %zu is out of place",
                              dl->remote, dl->object->version, i);
        }
        at += p->size;
    }
    if (at != dl->object->size) {
        return status_set(st, GRPC_DATA_LOSS,
                          "the server described %s version %" PRId64 " inconsistently: its partitions hold %" PRId64
                          " bytes, not its size of %" PRId64,
                          dl->remote, dl->object->version, at, dl->object->size);
    }
    return true;
}

/* The temporary file is named after the target plus ".sluice-c-XXXXXX". A target name too
 * long for that to fit in NAME_MAX keeps only its start (cut between UTF-8 characters), so
 * that a legal name can still be downloaded; mkstemp's random part keeps it unique. */
static bool make_temp(Download *dl, const char *local, Status *st) {
    static const char suffix[] = ".sluice-c-XXXXXX";
    const char *slash = strrchr(local, '/');
    size_t dir_len = slash ? (size_t)(slash - local) + 1 : 0;
    size_t base_len = strlen(local) - dir_len;
    size_t room = NAME_MAX - (sizeof suffix - 1);
    if (base_len > room) {
        base_len = room;
        while (base_len > 0 && ((unsigned char)local[dir_len + base_len] & 0xC0) == 0x80) base_len--;
    }
    size_t len = dir_len + base_len + sizeof suffix;
    dl->temp_path = xcalloc(len, 1);
    snprintf(dl->temp_path, len, "%.*s%s", (int)(dir_len + base_len), local, suffix);
    dl->fd = mkstemp(dl->temp_path);
    if (dl->fd < 0) {
        free(dl->temp_path);
        dl->temp_path = NULL;
        /* A local error (exit 1), also when the directory is missing: NOT_FOUND (exit 3) would
         * say the object does not exist. */
        return status_set(st, GRPC_UNKNOWN, "cannot make a temporary file beside %s: %s", local, strerror(errno));
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
    plan_runs(dl);
    ParallelWork work = {dl->n_runs, start_read, finish_read, discard_read, dl, resume_read};
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
    free(dl.runs);
    return ok;
}
