/* gRPC length-prefixed messages: a 1-byte compressed flag and a 4-byte big-endian length
 * before each serialized message (PROTOCOL-HTTP2, "Length-Prefixed-Message"). */
#ifndef SLUICE_C_GRPC_FRAME_H
#define SLUICE_C_GRPC_FRAME_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "status.h"

#define GRPC_PREFIX_LEN 5

/* Appends message, serialized and prefixed, to out. */
void grpc_frame_append(Bytes *out, const ProtobufCMessage *message);

/* Collects the bytes of a response body and hands out whole messages. */
typedef struct GrpcFrameDecoder {
    Bytes pending;
    size_t max_message;   /* a larger declared length is RESOURCE_EXHAUSTED */
} GrpcFrameDecoder;

/* Feeds bytes; calls on_message for each complete message. Stops with the first failure
 * (a compressed message, which this client never asked for; too large; or on_message's). */
bool grpc_frame_feed(GrpcFrameDecoder *d, const uint8_t *data, size_t len,
                     bool (*on_message)(void *ctx, const uint8_t *msg, size_t len, Status *st),
                     void *ctx, Status *st);
/* True when bytes of an incomplete message are left over. */
bool grpc_frame_partial(const GrpcFrameDecoder *d);
void grpc_frame_decoder_free(GrpcFrameDecoder *d);

#endif
