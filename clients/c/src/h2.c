/* nghttp2 client session over OpenSSL, driven by poll on a non-blocking socket. */
#include "h2.h"

#include <errno.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "interrupt.h"

/* Receive windows: large enough that a download is not throttled by round trips. */
#define STREAM_WINDOW (8 * 1024 * 1024)
#define CONNECTION_WINDOW (64 * 1024 * 1024)
#define OUT_CHUNK (256 * 1024)     /* bytes taken from nghttp2 before they are written */
#define POLL_SLICE_MS 200          /* how often an interrupt is noticed while idle */

struct H2Conn {
    TlsConn *tls;
    nghttp2_session *session;
    Bytes out;            /* framed bytes nghttp2 produced, not yet written */
    int idle_timeout_ms;
    bool broken;          /* the connection failed; why: */
    int why_code;
    bool why_tls;
    char why[256];
};

static H2Stream *stream_of(nghttp2_session *session, int32_t id) {
    return nghttp2_session_get_stream_user_data(session, id);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t name_len, const uint8_t *value, size_t value_len, uint8_t flags,
                     void *user_data) {
    (void)flags, (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream *s = stream_of(session, frame->hd.stream_id);
    if (s != NULL) {
        s->on_header(s, (const char *)name, name_len, (const char *)value, value_len,
                     frame->headers.cat == NGHTTP2_HCAT_HEADERS);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    (void)user_data;
    bool ends = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (!ends) return 0;
    H2Stream *s = stream_of(session, frame->hd.stream_id);
    if (s != NULL) s->on_remote_end(s);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data) {
    (void)flags, (void)user_data;
    H2Stream *s = stream_of(session, stream_id);
    if (s != NULL) s->on_data(s, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data) {
    (void)user_data;
    H2Stream *s = stream_of(session, stream_id);
    if (s != NULL) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        s->on_close(s, error_code);
    }
    return 0;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t len,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
    (void)source, (void)user_data;
    H2Stream *s = stream_of(session, stream_id);
    if (s == NULL) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    bool eof = false;
    ssize_t n = s->read_body(s, buf, len, &eof);
    if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (eof) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return n;
}

bool h2_open(TlsConn *tls, int idle_timeout_ms, H2Conn **out, Status *st) {
    H2Conn *c = xcalloc(1, sizeof *c);
    c->tls = tls;
    c->idle_timeout_ms = idle_timeout_ms;
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        h2_close(c);
        return status_set(st, GRPC_INTERNAL, "cannot make nghttp2 callbacks");
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    int rc = nghttp2_session_client_new(&c->session, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        h2_close(c);
        return status_set(st, GRPC_INTERNAL, "cannot make an HTTP/2 session: %s", nghttp2_strerror(rc));
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
    };
    rc = nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
                                 sizeof settings / sizeof settings[0]);
    if (rc == 0) rc = nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                                            CONNECTION_WINDOW);
    if (rc != 0) {
        h2_close(c);
        return status_set(st, GRPC_INTERNAL, "cannot send HTTP/2 settings: %s", nghttp2_strerror(rc));
    }
    *out = c;
    return true;
}

bool h2_submit(H2Conn *c, const nghttp2_nv *headers, size_t n_headers, H2Stream *stream,
               Status *st) {
    nghttp2_data_provider body = {.source = {.ptr = NULL}, .read_callback = read_body};
    int32_t id = nghttp2_submit_request(c->session, NULL, headers, n_headers, &body, stream);
    if (id < 0) return status_set(st, GRPC_INTERNAL, "cannot start a request: %s", nghttp2_strerror(id));
    stream->stream_id = id;
    return true;
}

void h2_cancel(H2Conn *c, H2Stream *stream) {
    if (stream->stream_id > 0) {
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, stream->stream_id, NGHTTP2_CANCEL);
    }
}

void h2_abandon(H2Conn *c, H2Stream *stream) {
    if (stream->stream_id > 0) {
        /* Also finds a request still queued before its HEADERS went out. */
        nghttp2_session_set_stream_user_data(c->session, stream->stream_id, NULL);
        h2_cancel(c, stream);
    }
}

/* A failed SSL_read/SSL_write: the peer closed, the network failed, or TLS itself (with
 * TLS 1.3 a server refusing our certificate says so only after the handshake, here). */
static bool io_failed(H2Conn *c, int rc, Status *st) {
    int err = SSL_get_error(c->tls->ssl, rc);
    if (err == SSL_ERROR_SSL) return tls_failed(st, c->tls->ssl, err, "connection");
    ERR_clear_error();
    if (err == SSL_ERROR_SYSCALL && errno != 0) {
        return status_set(st, GRPC_UNAVAILABLE, "connection lost: %s", strerror(errno));
    }
    return status_set(st, GRPC_UNAVAILABLE, "the server closed the connection");
}

/* Writes what nghttp2 has to send; *want_out tells that the socket could take no more now. */
static bool flush(H2Conn *c, bool *progress, bool *want_out, Status *st) {
    *want_out = false;
    for (;;) {
        if (c->out.len == 0) {
            while (c->out.len < OUT_CHUNK) {
                const uint8_t *data;
                ssize_t n = nghttp2_session_mem_send(c->session, &data);
                if (n < 0) return status_set(st, GRPC_INTERNAL, "HTTP/2: %s", nghttp2_strerror((int)n));
                if (n == 0) break;
                bytes_append(&c->out, data, (size_t)n);
            }
            if (c->out.len == 0) return true;
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(c->tls->ssl, c->out.data, c->out.len > INT32_MAX ? INT32_MAX : (int)c->out.len);
        if (n > 0) {
            bytes_consume(&c->out, (size_t)n);
            *progress = true;
            continue;
        }
        int err = SSL_get_error(c->tls->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
            *want_out = true;
            return true;
        }
        return io_failed(c, n, st);
    }
}

static bool receive(H2Conn *c, bool *progress, Status *st) {
    uint8_t buf[64 * 1024];
    for (int rounds = 0; rounds < 16; rounds++) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->tls->ssl, buf, sizeof buf);
        if (n > 0) {
            *progress = true;
            ssize_t used = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
            if (used < 0) {
                return status_set(st, GRPC_UNAVAILABLE, "HTTP/2 protocol error from the server: %s",
                                  nghttp2_strerror((int)used));
            }
            continue;
        }
        int err = SSL_get_error(c->tls->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
        return io_failed(c, n, st);
    }
    return true;
}

/* The connection cannot go on: remember why, so that later runs fail the same way. A run
 * whose condition was met by what arrived before the end still succeeds (a server may
 * answer, send GOAWAY and close). */
static bool broke(H2Conn *c, bool (*done)(void *ctx), void *ctx, Status *st) {
    c->broken = true;
    c->why_code = st->code;
    c->why_tls = st->tls_failure;
    snprintf(c->why, sizeof c->why, "%s", st->message ? st->message : "");
    if (done(ctx)) {
        status_clear(st);
        return true;
    }
    return false;
}

bool h2_run(H2Conn *c, bool (*done)(void *ctx), void *ctx, Status *st) {
    int idle_ms = 0;
    if (c->broken) {
        status_set(st, c->why_code, "%s", c->why);
        st->tls_failure = c->why_tls;
        return false;
    }
    for (;;) {
        if (interrupt_requested()) return status_set(st, GRPC_CANCELLED, "interrupted");
        bool progress = false, want_out = false;
        if (!flush(c, &progress, &want_out, st)) return broke(c, done, ctx, st);
        if (done(ctx) && c->out.len == 0) return true;
        if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
            c->out.len == 0) {
            status_set(st, GRPC_UNAVAILABLE, "the server closed the HTTP/2 connection (GOAWAY)");
            return broke(c, done, ctx, st);
        }
        if (!receive(c, &progress, st)) return broke(c, done, ctx, st);
        if (progress) {
            idle_ms = 0;
            continue;
        }
        if (done(ctx) && c->out.len == 0) return true;
        struct pollfd p = {.fd = c->tls->fd, .events = POLLIN | (want_out ? POLLOUT : 0)};
        int n = poll(&p, 1, POLL_SLICE_MS);
        if (n < 0 && errno != EINTR) return status_set(st, GRPC_UNAVAILABLE, "poll: %s", strerror(errno));
        if (n == 0) {
            idle_ms += POLL_SLICE_MS;
            if (c->idle_timeout_ms > 0 && idle_ms >= c->idle_timeout_ms) {
                return status_set(st, GRPC_DEADLINE_EXCEEDED,
                                  "no answer from the server for %d s", c->idle_timeout_ms / 1000);
            }
        }
    }
}

void h2_close(H2Conn *c) {
    if (c == NULL) return;
    if (c->session) nghttp2_session_del(c->session);
    tls_close(c->tls);
    bytes_free(&c->out);
    free(c);
}
