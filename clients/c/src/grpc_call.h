/* One gRPC call on a Channel's HTTP/2 connection, by hand after PROTOCOL-HTTP2: request
 * headers (:method POST, te: trailers, content-type application/grpc, grpc-timeout), the
 * request body as length-prefixed messages, the response's messages, and its status from
 * the trailers, a Trailers-Only response, the HTTP status, or a reset stream. */
#ifndef SLUICE_C_GRPC_CALL_H
#define SLUICE_C_GRPC_CALL_H

#include <protobuf-c/protobuf-c.h>

#include "bytes.h"
#include "channel.h"
#include "grpc_frame.h"
#include "h2.h"
#include "status.h"

/* Appends the next request message(s), framed, to body; sets *last with the final one. */
typedef bool (*GrpcRefill)(void *ctx, Bytes *body, bool *last, Status *st);
/* Takes one response message (serialized). */
typedef bool (*GrpcOnMessage)(void *ctx, const uint8_t *msg, size_t len, Status *st);

typedef struct GrpcCall {
    H2Stream stream;              /* first: the H2 layer's view of this call */
    Channel *channel;
    Bytes body;                   /* framed request bytes not yet sent */
    bool body_last;               /* body holds the end of the request */
    GrpcRefill refill;
    void *refill_ctx;
    GrpcFrameDecoder decoder;
    GrpcOnMessage on_message;
    void *message_ctx;
    int http_status;
    bool not_grpc;                /* a content-type other than application/grpc[+...] */
    bool have_grpc_status;
    int grpc_status;              /* -1: not a number */
    char grpc_status_text[21];    /* as sent (its start), for an answer that is no status code */
    char *grpc_message;
    Exhaustion exhausted_mark;    /* from trailer sluice-exhausted (BUSY: none, or another) */
    bool refuses_retry;           /* trailer grpc-retry-pushback-ms is negative */
    bool remote_ended;
    Status local;                 /* a failure on this side (body, message handling) */
    bool done;                    /* the stream is closed; `status` is final */
    Status status;
} GrpcCall;

/* Prepares a call. The request is either one message (request != NULL) or produced by
 * refill as the stream has room. */
void grpc_call_init(GrpcCall *call, const ProtobufCMessage *request, GrpcRefill refill,
                    void *refill_ctx, GrpcOnMessage on_message, void *message_ctx,
                    size_t max_message);
/* Sends the headers of method `path` ("/package.Service/Method"). */
bool grpc_call_start(GrpcCall *call, Channel *ch, const char *path, Status *st);
/* Frees what the call holds. Only for a call that is done or whose connection is closed. */
void grpc_call_free(GrpcCall *call);

/* A unary call: sends request, runs the connection until the answer, unpacks it. */
bool grpc_unary(Channel *ch, const char *path, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                Status *st);
/* The same, unpacking with `allocator` (free the answer with it too). */
bool grpc_unary_with(Channel *ch, const char *path, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_type, ProtobufCAllocator *allocator,
                     ProtobufCMessage **response, Status *st);

/* The largest response message any call here accepts: a 4 MiB data chunk and room. */
#define GRPC_MAX_MESSAGE (4 * 1024 * 1024 + 64 * 1024)

#endif
