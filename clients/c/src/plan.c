/* Partition and whole-file SHA-256 in one sequential read. */
#include "plan.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "bytes.h"
#include "interrupt.h"

#define READ_CHUNK (1024 * 1024)

int64_t plan_offset(const Plan *plan, int32_t i) {
    return (int64_t)i * plan->partition_size;
}

int64_t plan_part_size(const Plan *plan, int32_t i) {
    int64_t left = plan->total_size - plan_offset(plan, i);
    return left < plan->partition_size ? left : plan->partition_size;
}

bool plan_make(const LocalFile *file, int64_t partition_size, Plan *plan, Status *st) {
    int64_t size = file->size;
    *plan = (Plan){.total_size = size, .partition_size = partition_size};
    plan->count = (int32_t)((size + partition_size - 1) / partition_size);
    plan->partition_sha256 = xcalloc((size_t)plan->count, SHA256_LEN);
    uint8_t *buf = xcalloc(1, READ_CHUNK);
    EVP_MD_CTX *whole = EVP_MD_CTX_new(), *part = EVP_MD_CTX_new();
    bool ok = whole && part && EVP_DigestInit_ex(whole, EVP_sha256(), NULL);
    for (int32_t i = 0; ok && i < plan->count; i++) {
        ok = EVP_DigestInit_ex(part, EVP_sha256(), NULL);
        int64_t offset = plan_offset(plan, i), left = plan_part_size(plan, i);
        while (ok && left > 0) {
            if (interrupt_requested()) {
                ok = status_set(st, GRPC_CANCELLED, "interrupted");
                break;
            }
            size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
            ssize_t n = pread(file->fd, buf, want, offset);
            if (n <= 0) {
                ok = local_file_read_failed(file, n, offset, st);
                break;
            }
            ok = EVP_DigestUpdate(part, buf, (size_t)n) && EVP_DigestUpdate(whole, buf, (size_t)n);
            offset += n;
            left -= n;
        }
        if (ok) ok = EVP_DigestFinal_ex(part, plan->partition_sha256[i], NULL);
    }
    if (ok) ok = EVP_DigestFinal_ex(whole, plan->object_sha256, NULL);
    if (!ok && status_ok(st)) status_set(st, GRPC_INTERNAL, "SHA-256 failed");
    EVP_MD_CTX_free(whole);
    EVP_MD_CTX_free(part);
    free(buf);
    if (!ok) plan_free(plan);
    return ok;
}

void plan_free(Plan *plan) {
    free(plan->partition_sha256);
    plan->partition_sha256 = NULL;
}

void hex_encode(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
