/* Ctrl-C (SIGINT) and SIGTERM: a flag the long loops (hashing, the HTTP/2 loop) look at, so
 * that the command stops with CANCELLED (exit 130) and frees what it holds on the way out. */
#ifndef SLUICE_C_INTERRUPT_H
#define SLUICE_C_INTERRUPT_H

#include <stdbool.h>

/* Installs the handlers, and ignores SIGPIPE (a closed socket is an error from write). */
void interrupt_install(void);
bool interrupt_requested(void);

#endif
