/* Percent-decoding of grpc-message (PROTOCOL-HTTP2: "%XX" for bytes outside printable
 * ASCII and for '%' itself; a malformed escape is kept as it is, never an error). */
#ifndef SLUICE_C_PERCENT_H
#define SLUICE_C_PERCENT_H

#include <stddef.h>

/* A new NUL-terminated string (the caller frees it). */
char *percent_decode(const char *text, size_t len);

#endif
