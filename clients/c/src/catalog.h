/* `sluice-c ls [PREFIX]` and `sluice-c health`: the small unary commands. */
#ifndef SLUICE_C_CATALOG_H
#define SLUICE_C_CATALOG_H

#include "options.h"
#include "status.h"

/* Every page of ListObjects: one name per line, folder-style ("dir/") unless recursive;
 * with long_format: size, version, SHA-256 and name, tab-separated. */
bool list_run(const Options *opts, const char *prefix, Status *st);
/* grpc.health.v1.Health/Check: prints the serving status; anything but SERVING fails (exit 1). */
bool health_run(const Options *opts, Status *st);

#endif
