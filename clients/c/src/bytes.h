/* A growable byte buffer. */
#ifndef SLUICE_C_BYTES_H
#define SLUICE_C_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct Bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} Bytes;

/* Makes room for `extra` more bytes after len; aborts the process when memory runs out
 * (nothing sensible is left to do then). Returns the first free byte. */
uint8_t *bytes_reserve(Bytes *b, size_t extra);
void bytes_append(Bytes *b, const void *data, size_t len);
/* Drops the first `n` bytes. */
void bytes_consume(Bytes *b, size_t n);
void bytes_free(Bytes *b);

/* calloc/malloc that abort on failure, for the same reason. */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

#endif
