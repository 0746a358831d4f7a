/* Growable buffers and allocation that cannot fail silently. */
#include "bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void) {
    fputs("sluice-c: out of memory\n", stderr);
    abort();
}

uint8_t *bytes_reserve(Bytes *b, size_t extra) {
    if (b->cap - b->len < extra) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < extra) cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL) out_of_memory();
        b->data = grown;
        b->cap = cap;
    }
    return b->data + b->len;
}

void bytes_append(Bytes *b, const void *data, size_t len) {
    if (len == 0) return;
    memcpy(bytes_reserve(b, len), data, len);
    b->len += len;
}

void bytes_consume(Bytes *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void bytes_free(Bytes *b) {
    free(b->data);
    *b = (Bytes){0};
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) out_of_memory();
    return p;
}

char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (p == NULL) out_of_memory();
    return p;
}
