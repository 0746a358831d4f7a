/* The upload journal's files. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"

/* mkdir -p */
static bool make_dirs(const char *path, Status *st) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        return status_set(st, GRPC_INVALID_ARGUMENT, "state directory path too long");
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) goto fail;
    return true;
fail:
    return status_set(st, GRPC_UNKNOWN, "cannot make the state directory %s: %s", buf, strerror(errno));
}

static char *state_dir_default(void) {
    char buf[PATH_MAX];
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') snprintf(buf, sizeof buf, "%s/sluice-c", xdg);
    else snprintf(buf, sizeof buf, "%s/.local/state/sluice-c", home && home[0] ? home : "/tmp");
    return xstrdup(buf);
}

static void digest_field(EVP_MD_CTX *md, const void *data, size_t len) {
    uint64_t n = len;
    EVP_DigestUpdate(md, &n, sizeof n);
    EVP_DigestUpdate(md, data, len);
}

bool journal_open(Journal *j, const char *state_dir, const char *server, const char *owner,
                  const char *remote, const char *local_path, const Plan *plan, Status *st) {
    *j = (Journal){0};
    char *dir = state_dir ? xstrdup(state_dir) : state_dir_default();
    if (!make_dirs(dir, st)) {
        free(dir);
        return false;
    }
    char real[PATH_MAX];
    if (realpath(local_path, real) == NULL) snprintf(real, sizeof real, "%s", local_path);
    uint8_t key[SHA256_LEN];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    digest_field(md, server, strlen(server));
    digest_field(md, owner, strlen(owner));
    digest_field(md, remote, strlen(remote));
    digest_field(md, real, strlen(real));
    int64_t sizes[2] = {plan->total_size, plan->partition_size};
    digest_field(md, sizes, sizeof sizes);
    digest_field(md, plan->partition_sha256, (size_t)plan->count * SHA256_LEN);
    digest_field(md, plan->object_sha256, SHA256_LEN);
    EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    char hex[2 * SHA256_LEN + 1];
    hex_encode(key, SHA256_LEN, hex);
    size_t len = strlen(dir) + sizeof hex + 16;
    j->path = xcalloc(len, 1);
    snprintf(j->path, len, "%s/%s.upload", dir, hex);
    free(dir);
    FILE *f = fopen(j->path, "r");
    if (f == NULL) return true;
    char line[2][80] = {"", ""};
    for (int i = 0; i < 2 && fgets(line[i], sizeof line[i], f); i++) line[i][strcspn(line[i], "\n")] = '\0';
    fclose(f);
    memcpy(j->request_id, line[0], sizeof j->request_id);
    memcpy(j->session_id, line[1], sizeof j->session_id);
    return true;
}

bool journal_save(Journal *j, Status *st) {
    size_t len = strlen(j->path) + 8;
    char *tmp = xcalloc(len, 1);
    snprintf(tmp, len, "%s.tmp", j->path);
    FILE *f = fopen(tmp, "w");
    bool ok = f != NULL && fprintf(f, "%s\n%s\n", j->request_id, j->session_id) > 0;
    if (f != NULL && fclose(f) != 0) ok = false;
    if (ok) ok = rename(tmp, j->path) == 0;
    if (!ok) {
        status_set(st, GRPC_UNKNOWN, "cannot write the upload journal %s: %s", j->path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

void journal_remove(Journal *j) {
    unlink(j->path);
}

void journal_free(Journal *j) {
    free(j->path);
    j->path = NULL;
}

void journal_new_request_id(Journal *j) {
    uint8_t random[16];
    if (RAND_bytes(random, sizeof random) != 1) abort();
    char hex[33];
    hex_encode(random, sizeof random, hex);
    snprintf(j->request_id, sizeof j->request_id, "sluice-c-%s", hex);
    j->session_id[0] = '\0';
}
