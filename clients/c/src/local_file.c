/* The local file an upload reads. */
#include "local_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The Swift CLI's words for a file whose size stat does not report (Uploader.swift). */
static bool reports_no_size(const char *path, Status *st) {
    return status_set(st, GRPC_INVALID_ARGUMENT,
                      "%s reports no size (a /proc or /sys file?), so what it holds cannot be declared before it "
                      "is sent; copy it to a regular file first (cat FILE > COPY) and upload the copy",
                      path);
}

bool local_file_open(LocalFile *file, const char *path, Status *st) {
    *file = (LocalFile){.path = path};
    /* Non-blocking, so that a FIFO without a writer opens at once (and is refused below)
     * rather than hanging; a regular file reads as ever. */
    file->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (file->fd < 0) {
        return status_set(st, errno == ENOENT ? GRPC_NOT_FOUND : GRPC_UNKNOWN, "cannot open %s: %s", path,
                          strerror(errno));
    }
    struct stat sb;
    if (fstat(file->fd, &sb) != 0) return status_set(st, GRPC_UNKNOWN, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return status_set(st, GRPC_INVALID_ARGUMENT, "%s is not a regular file", path);
    unsigned char byte;
    if (sb.st_size == 0 && pread(file->fd, &byte, 1, 0) > 0) return reports_no_size(path, st);
    file->size = sb.st_size;
    file->mtime = sb.st_mtim;
    return true;
}

void local_file_close(LocalFile *file) {
    if (file->fd >= 0) close(file->fd);
    file->fd = -1;
}

bool local_file_read_failed(const LocalFile *file, ssize_t n, int64_t offset, Status *st) {
    if (n < 0) return status_set(st, GRPC_UNKNOWN, "cannot read %s: %s", file->path, strerror(errno));
    struct stat now;
    if (fstat(file->fd, &now) == 0 && now.st_size == file->size && now.st_mtim.tv_sec == file->mtime.tv_sec
        && now.st_mtim.tv_nsec == file->mtime.tv_nsec) {
        return reports_no_size(file->path, st);
    }
    return status_set(st, GRPC_DATA_LOSS,
                      "%s changed while it was being read (it now ends at byte %" PRId64 "); nothing was "
                      "committed, run the command again to send its current content",
                      file->path, offset);
}
