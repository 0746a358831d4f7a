/* An upload's declaration, from one pass over the local file: its size, the partition
 * size, the SHA-256 of every partition and of the whole file (OpenSSL EVP). */
#ifndef SLUICE_C_PLAN_H
#define SLUICE_C_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "local_file.h"
#include "status.h"

#define SHA256_LEN 32

typedef struct Plan {
    int64_t total_size;
    int64_t partition_size;
    int32_t count;
    uint8_t (*partition_sha256)[SHA256_LEN];   /* count entries */
    uint8_t object_sha256[SHA256_LEN];
} Plan;

/* Hashes the open local file (its read failures: local_file_read_failed's). */
bool plan_make(const LocalFile *file, int64_t partition_size, Plan *plan, Status *st);
/* Offset and size of partition i. */
int64_t plan_offset(const Plan *plan, int32_t i);
int64_t plan_part_size(const Plan *plan, int32_t i);
void plan_free(Plan *plan);

/* Lower-case hex of n bytes into out (2n + 1 chars). */
void hex_encode(const uint8_t *bytes, size_t n, char *out);

#endif
