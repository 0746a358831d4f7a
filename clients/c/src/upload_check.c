/* Checks of the server's answers to an upload. */
#include "upload_check.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static bool same_hash(const ProtobufCBinaryData *got, const uint8_t *want) {
    return got->len == SHA256_LEN && memcmp(got->data, want, SHA256_LEN) == 0;
}

/* Lower-case hex of a hash from the server, whatever its length (at most 32 bytes shown). */
static void hex_of(const ProtobufCBinaryData *h, char out[2 * SHA256_LEN + 1]) {
    hex_encode(h->data, h->len < SHA256_LEN ? h->len : SHA256_LEN, out);
}

bool upload_check_ack(const Plan *plan, int32_t index, const Sluice__V1__UploadPartitionResponse *ack,
                      Status *st) {
    int64_t size = plan_part_size(plan, index);
    if (ack->partition_index == index && ack->size == size && same_hash(&ack->sha256, plan->partition_sha256[index])) {
        return true;
    }
    char got[2 * SHA256_LEN + 1], want[2 * SHA256_LEN + 1];
    hex_of(&ack->sha256, got);
    hex_encode(plan->partition_sha256[index], SHA256_LEN, want);
    return status_set(st, GRPC_DATA_LOSS,
                      "the server acknowledged partition %d (answering for %d) as %" PRId64
                      " bytes with SHA-256 %s, not %" PRId64 " bytes with %s",
                      (int)index, (int)ack->partition_index, ack->size, got, size, want);
}

bool upload_check_commit(const Plan *plan, const Sluice__V1__ObjectInfo *object, Status *st) {
    if (object == NULL) return status_set(st, GRPC_DATA_LOSS, "the commit answered no object");
    /* The composite the server publishes: SHA-256 of the partitions' SHA-256s in order. */
    uint8_t composite[SHA256_LEN];
    if (!EVP_Digest(plan->partition_sha256, (size_t)plan->count * SHA256_LEN, composite, NULL, EVP_sha256(), NULL)) {
        abort();
    }
    bool whole = object->sha256.len == 0 ? object->sha256_state == SLUICE__V1__SHA256_STATE__SHA256_STATE_PENDING
                                         : same_hash(&object->sha256, plan->object_sha256);
    bool parts = object->composite_sha256.len == 0 || same_hash(&object->composite_sha256, composite);
    if (object->size == plan->total_size && whole && parts &&
        object->sha256_state != SLUICE__V1__SHA256_STATE__SHA256_STATE_MISMATCH) {
        return true;
    }
    char got[2 * SHA256_LEN + 1], got_parts[2 * SHA256_LEN + 1];
    char want[2 * SHA256_LEN + 1], want_parts[2 * SHA256_LEN + 1];
    hex_of(&object->sha256, got);
    hex_of(&object->composite_sha256, got_parts);
    hex_encode(plan->object_sha256, SHA256_LEN, want);
    hex_encode(composite, SHA256_LEN, want_parts);
    return status_set(st, GRPC_DATA_LOSS,
                      "the commit made version %" PRId64 " of %" PRId64 " bytes with SHA-256 %s and composite %s, "
                      "not %" PRId64 " bytes with %s and composite %s",
                      object->version, object->size, object->sha256.len ? got : "(pending)", got_parts,
                      plan->total_size, want, want_parts);
}
