/* `sluice-c upload LOCAL REMOTE`: hash, open (or resume) a session, send the partitions the
 * server lacks as concurrent streams, commit. */
#ifndef SLUICE_C_UPLOAD_H
#define SLUICE_C_UPLOAD_H

#include "options.h"
#include "status.h"

bool upload_run(const Options *opts, const char *local, const char *remote, Status *st);

#endif
