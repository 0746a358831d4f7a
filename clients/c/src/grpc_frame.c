/* Length-prefixed message framing, both directions. */
#include "grpc_frame.h"

void grpc_frame_append(Bytes *out, const ProtobufCMessage *message) {
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *p = bytes_reserve(out, GRPC_PREFIX_LEN + size);
    p[0] = 0;
    p[1] = (uint8_t)(size >> 24);
    p[2] = (uint8_t)(size >> 16);
    p[3] = (uint8_t)(size >> 8);
    p[4] = (uint8_t)size;
    protobuf_c_message_pack(message, p + GRPC_PREFIX_LEN);
    out->len += GRPC_PREFIX_LEN + size;
}

bool grpc_frame_feed(GrpcFrameDecoder *d, const uint8_t *data, size_t len,
                     bool (*on_message)(void *ctx, const uint8_t *msg, size_t len, Status *st),
                     void *ctx, Status *st) {
    bytes_append(&d->pending, data, len);
    size_t off = 0;
    bool ok = true;
    while (ok && d->pending.len - off >= GRPC_PREFIX_LEN) {
        const uint8_t *p = d->pending.data + off;
        size_t size = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        if (p[0] != 0) {
            ok = status_set(st, GRPC_INTERNAL, "the server sent a compressed message unasked");
        } else if (size > d->max_message) {
            ok = status_set(st, GRPC_RESOURCE_EXHAUSTED,
                            "the server sent a %zu-byte message; this client takes at most %zu",
                            size, d->max_message);
            st->exhausted = EXHAUSTED_FIXED;   /* asking again gets the same message */
        } else if (d->pending.len - off - GRPC_PREFIX_LEN < size) {
            break;
        } else {
            ok = on_message(ctx, p + GRPC_PREFIX_LEN, size, st);
            off += GRPC_PREFIX_LEN + size;
        }
    }
    bytes_consume(&d->pending, off);
    return ok;
}

bool grpc_frame_partial(const GrpcFrameDecoder *d) {
    return d->pending.len > 0;
}

void grpc_frame_decoder_free(GrpcFrameDecoder *d) {
    bytes_free(&d->pending);
}
