/* The local file an upload reads: opened and judged uploadable, and its read failures worded
 * and coded as the Swift CLI words and codes them (so both exit alike). */
#ifndef SLUICE_C_LOCAL_FILE_H
#define SLUICE_C_LOCAL_FILE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "status.h"

typedef struct LocalFile {
    const char *path;
    int fd;
    int64_t size;              /* as stat gave it when opened */
    struct timespec mtime;     /* likewise */
} LocalFile;

/* Opens `path` for reading. NOT_FOUND for a missing file; INVALID_ARGUMENT (exit 2) for one that
 * is not a regular file, or that stat calls empty yet has bytes (a /proc file). */
bool local_file_open(LocalFile *file, const char *path, Status *st);
void local_file_close(LocalFile *file);

/* The failure of a read at `offset` that returned `n`. Negative: errno, UNKNOWN (exit 1). 0, the
 * file ended early: when stat still says what it said at the open, the file reports a size it
 * does not hold (a /sys file says 4096), INVALID_ARGUMENT; else it changed since it was measured,
 * DATA_LOSS (exit 5). */
bool local_file_read_failed(const LocalFile *file, ssize_t n, int64_t offset, Status *st);

#endif
