/* gRPC call semantics over one HTTP/2 stream. */
#include "grpc_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "percent.h"

#define CALL_OF(s) ((GrpcCall *)(void *)(s))

static bool header_is(const char *name, size_t len, const char *want) {
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int parse_int(const char *value, size_t len) {
    int n = 0;
    if (len == 0 || len > 4) return -1;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') return -1;
        n = n * 10 + (value[i] - '0');
    }
    return n;
}

/* Response headers and trailers alike: a Trailers-Only response carries grpc-status in
 * its only HEADERS frame. */
static void on_header(H2Stream *s, const char *name, size_t name_len, const char *value,
                      size_t value_len, bool trailer) {
    GrpcCall *call = CALL_OF(s);
    if (header_is(name, name_len, ":status")) {
        call->http_status = parse_int(value, value_len);
    } else if (header_is(name, name_len, "grpc-status")) {
        int code = parse_int(value, value_len);
        call->have_grpc_status = true;
        call->grpc_status = code;
        snprintf(call->grpc_status_text, sizeof call->grpc_status_text, "%.*s", (int)value_len, value);
    } else if (header_is(name, name_len, "grpc-message")) {
        free(call->grpc_message);
        call->grpc_message = percent_decode(value, value_len);
    } else if (header_is(name, name_len, "content-type") && !trailer) {
        call->not_grpc = value_len < 16 || memcmp(value, "application/grpc", 16) != 0;
    } else if (header_is(name, name_len, "sluice-exhausted")) {
        if (value_len == 5 && memcmp(value, "space", 5) == 0) call->exhausted_mark = EXHAUSTED_SPACE;
        else if (value_len == 5 && memcmp(value, "quota", 5) == 0) call->exhausted_mark = EXHAUSTED_QUOTA;
    } else if (header_is(name, name_len, "grpc-retry-pushback-ms")) {
        call->refuses_retry = value_len > 0 && value[0] == '-';
    }
}

/* HTTP status to gRPC status, for a response without grpc-status (PROTOCOL-HTTP2's table). */
static int code_for_http(int http) {
    switch (http) {
    case 400: return GRPC_INTERNAL;
    case 401: return GRPC_UNAUTHENTICATED;
    case 403: return GRPC_PERMISSION_DENIED;
    case 404: return GRPC_UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return GRPC_UNAVAILABLE;
    default: return GRPC_UNKNOWN;
    }
}

static void fail_locally(GrpcCall *call, Status *st) {
    if (status_ok(&call->local)) status_move(&call->local, st);
    status_clear(st);
    h2_cancel(call->channel->h2, &call->stream);
}

static void on_data(H2Stream *s, const uint8_t *data, size_t len) {
    GrpcCall *call = CALL_OF(s);
    if (!status_ok(&call->local)) return;
    Status st = STATUS_INIT;
    if (call->http_status != 200 || call->not_grpc) {
        status_set(&st, call->not_grpc ? GRPC_UNKNOWN : code_for_http(call->http_status),
                   "the server answered HTTP %d%s, not gRPC", call->http_status,
                   call->not_grpc ? " with another content-type" : "");
        fail_locally(call, &st);
    } else if (!grpc_frame_feed(&call->decoder, data, len, call->on_message, call->message_ctx, &st)) {
        fail_locally(call, &st);
    }
}

/* Once the server has ended its side the call's outcome is known: stop sending (a server
 * may answer before it has read the whole request, e.g. with an error). */
static void on_remote_end(H2Stream *s) {
    GrpcCall *call = CALL_OF(s);
    call->remote_ended = true;
    if (!call->body_last || call->body.len > 0) h2_cancel(call->channel->h2, &call->stream);
}

/* RST_STREAM error code to gRPC status (PROTOCOL-HTTP2, "Errors"). */
static int code_for_reset(uint32_t error_code) {
    switch (error_code) {
    case NGHTTP2_REFUSED_STREAM: return GRPC_UNAVAILABLE;
    case NGHTTP2_CANCEL: return GRPC_CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM: return GRPC_RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY: return GRPC_PERMISSION_DENIED;
    default: return GRPC_INTERNAL;
    }
}

static void on_close(H2Stream *s, uint32_t error_code) {
    GrpcCall *call = CALL_OF(s);
    call->done = true;
    Status *st = &call->status;
    if (!status_ok(&call->local)) {
        status_move(st, &call->local);
    } else if (call->have_grpc_status) {
        const char *message = call->grpc_message ? call->grpc_message : "";
        if (call->grpc_status < 0 || call->grpc_status > GRPC_UNAUTHENTICATED) {
            /* No status code: UNKNOWN, saying what the server sent, as the Swift client does. */
            status_set(st, GRPC_UNKNOWN, "the server answered grpc-status %s%s%s", call->grpc_status_text,
                       message[0] ? ": " : "", message);
        } else if (call->grpc_status != GRPC_OK) {
            status_set(st, call->grpc_status, "%s", message);
            st->exhausted = call->exhausted_mark != EXHAUSTED_BUSY ? call->exhausted_mark
                            : call->refuses_retry ? EXHAUSTED_FIXED : EXHAUSTED_BUSY;
        } else if (grpc_frame_partial(&call->decoder)) {
            status_set(st, GRPC_INTERNAL, "the response ended inside a message");
        }
    } else if (call->http_status > 0 && call->http_status != 200) {
        status_set(st, code_for_http(call->http_status), "the server answered HTTP %d",
                   call->http_status);
    } else if (error_code != NGHTTP2_NO_ERROR) {
        status_set(st, code_for_reset(error_code), "the server reset the stream (HTTP/2 error %s)",
                   nghttp2_http2_strerror(error_code));
    } else {
        status_set(st, GRPC_INTERNAL, "the response ended without grpc-status");
    }
}

static ssize_t read_body(H2Stream *s, uint8_t *buf, size_t len, bool *eof) {
    GrpcCall *call = CALL_OF(s);
    while (call->body.len == 0 && !call->body_last) {
        Status st = STATUS_INIT;
        if (!call->refill(call->refill_ctx, &call->body, &call->body_last, &st)) {
            if (status_ok(&call->local)) status_move(&call->local, &st);
            status_clear(&st);
            return -1;
        }
    }
    size_t n = call->body.len < len ? call->body.len : len;
    memcpy(buf, call->body.data, n);
    bytes_consume(&call->body, n);
    *eof = call->body_last && call->body.len == 0;
    return (ssize_t)n;
}

void grpc_call_init(GrpcCall *call, const ProtobufCMessage *request, GrpcRefill refill,
                    void *refill_ctx, GrpcOnMessage on_message, void *message_ctx,
                    size_t max_message) {
    *call = (GrpcCall){
        .stream = {.on_header = on_header, .on_data = on_data, .on_remote_end = on_remote_end,
                   .on_close = on_close, .read_body = read_body},
        .refill = refill, .refill_ctx = refill_ctx,
        .on_message = on_message, .message_ctx = message_ctx,
        .decoder = {.max_message = max_message},
        .local = STATUS_INIT, .status = STATUS_INIT,
    };
    if (request != NULL) {
        grpc_frame_append(&call->body, request);
        call->body_last = true;
    }
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

bool grpc_call_start(GrpcCall *call, Channel *ch, const char *path, Status *st) {
    call->channel = ch;
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%dm", ch->deadline_ms);
    nghttp2_nv headers[] = {
        NV(":method", "POST"), NV(":scheme", "https"), NV(":path", path),
        NV(":authority", ch->authority), NV("content-type", "application/grpc"),
        NV("te", "trailers"), NV("user-agent", "sluice-c/1.0"), NV("grpc-timeout", timeout),
    };
    size_t n = sizeof headers / sizeof headers[0] - (ch->deadline_ms > 0 ? 0 : 1);
    return h2_submit(ch->h2, headers, n, &call->stream, st);
}

void grpc_call_free(GrpcCall *call) {
    bytes_free(&call->body);
    grpc_frame_decoder_free(&call->decoder);
    free(call->grpc_message);
    status_clear(&call->local);
    status_clear(&call->status);
}

/* The one response message of a unary call. */
typedef struct UnaryAnswer {
    Bytes message;
    int count;
} UnaryAnswer;

static bool keep_message(void *ctx, const uint8_t *msg, size_t len, Status *st) {
    UnaryAnswer *a = ctx;
    if (++a->count > 1) return status_set(st, GRPC_INTERNAL, "a unary call answered more than one message");
    bytes_append(&a->message, msg, len);
    return true;
}

static bool call_done(void *ctx) {
    return ((GrpcCall *)ctx)->done;
}

bool grpc_unary(Channel *ch, const char *path, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                Status *st) {
    return grpc_unary_with(ch, path, request, response_type, NULL, response, st);
}

bool grpc_unary_with(Channel *ch, const char *path, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_type, ProtobufCAllocator *allocator,
                     ProtobufCMessage **response, Status *st) {
    UnaryAnswer answer = {0};
    GrpcCall call;
    grpc_call_init(&call, request, NULL, NULL, keep_message, &answer, GRPC_MAX_MESSAGE);
    bool ok = grpc_call_start(&call, ch, path, st) && h2_run(ch->h2, call_done, &call, st);
    if (ok && !status_ok(&call.status)) ok = (status_move(st, &call.status), false);
    if (ok && answer.count != 1) ok = status_set(st, GRPC_INTERNAL, "a unary call answered no message");
    if (ok) {
        *response = protobuf_c_message_unpack(response_type, allocator, answer.message.len,
                                              answer.message.data);
        if (*response == NULL) ok = status_set(st, GRPC_INTERNAL, "cannot parse the server's answer");
    }
    /* A failed run leaves the stream to the connection, which the caller closes next. */
    if (!call.done) h2_abandon(ch->h2, &call.stream);
    grpc_call_free(&call);
    bytes_free(&answer.message);
    return ok;
}
