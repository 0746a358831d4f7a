/* `sluice-c download REMOTE LOCAL`: GetObject, then ReadPartition per partition as
 * concurrent streams, each partition's SHA-256 verified, into a temporary file beside LOCAL
 * that is fsync'ed and renamed into place only when every partition verified. */
#ifndef SLUICE_C_DOWNLOAD_H
#define SLUICE_C_DOWNLOAD_H

#include "options.h"
#include "status.h"

bool download_run(const Options *opts, const char *remote, const char *local, Status *st);

#endif
