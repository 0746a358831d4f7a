/* An HTTP/2 client connection (nghttp2's client session) over a TlsConn. nghttp2 does the
 * framing, HPACK, stream states and flow control: a request body is pulled from its stream's
 * read_body only as far as the server's windows allow. One thread; h2_run drives the socket
 * with poll until a caller's condition holds. */
#ifndef SLUICE_C_H2_H
#define SLUICE_C_H2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "status.h"
#include "tls.h"

/* What a stream's owner (a gRPC call) hears. Embedded first in the owner's struct. */
typedef struct H2Stream H2Stream;
struct H2Stream {
    void (*on_header)(H2Stream *s, const char *name, size_t name_len, const char *value,
                      size_t value_len, bool trailer);
    void (*on_data)(H2Stream *s, const uint8_t *data, size_t len);
    /* The server ended its side (END_STREAM on HEADERS or DATA). */
    void (*on_remote_end)(H2Stream *s);
    /* The stream is closed; error_code is an HTTP/2 error code (0: NO_ERROR). After this
     * the H2 layer never touches the stream again. */
    void (*on_close)(H2Stream *s, uint32_t error_code);
    /* Copies up to len request body bytes into buf; sets *eof at the end. Returns the count,
     * or -1 to reset the stream (the owner records why). */
    ssize_t (*read_body)(H2Stream *s, uint8_t *buf, size_t len, bool *eof);
    int32_t stream_id;
};

typedef struct H2Conn H2Conn;

/* Takes ownership of tls (closed by h2_close, also on failure). */
bool h2_open(TlsConn *tls, int idle_timeout_ms, H2Conn **out, Status *st);
/* Starts a request with the given header block (copied). Returns false when nghttp2 refuses. */
bool h2_submit(H2Conn *c, const nghttp2_nv *headers, size_t n_headers, H2Stream *stream,
               Status *st);
/* Resets a stream this side no longer wants (CANCEL); its on_close still follows. */
void h2_cancel(H2Conn *c, H2Stream *stream);
/* Resets a stream and forgets its owner, which may be freed right away (no callback
 * reaches it again). */
void h2_abandon(H2Conn *c, H2Stream *stream);
/* Sends and receives until done(ctx) is true. Fails when the connection cannot go on, and
 * every open stream is lost then: UNAVAILABLE (tls_failure set for a TLS error), CANCELLED
 * when interrupted (interrupt.h), DEADLINE_EXCEEDED after idle_timeout_ms without a byte in
 * either direction. */
bool h2_run(H2Conn *c, bool (*done)(void *ctx), void *ctx, Status *st);
void h2_close(H2Conn *c);

#endif
