"""A minimal gRPC server on the `h2` library that answers a unary UnaryEcho as
soon as it holds the whole request message, without waiting for the client's
END_STREAM, and then resets the stream with RST_STREAM(NO_ERROR).

grpc core (and so every stock grpcio server) does exactly this when the client's
half-close has not arrived yet; RFC 9113 §8.1 allows it, and a client must treat a
complete response followed by RST_STREAM(NO_ERROR) as success. With this server
the situation is deterministic instead of a timing accident."""

from __future__ import annotations

import ssl
import struct
from typing import Optional

import h2.errors
import h2.events
import h2.exceptions

import interop_support as sup
from h2_test_server import TLSH2Server

echo_pb2, _ = sup.echo_modules()

UNARY = "/sluice.interop.v1.EchoService/UnaryEcho"


class EarlyResetServer(TLSH2Server):
    def __init__(self, certs: sup.Certs):
        super().__init__(certs)
        self.answered = 0          # unary calls answered
        self.early_resets = 0      # answered before the client's END_STREAM, then reset

    def serve_h2(self, tls: ssl.SSLSocket) -> None:
        ident = sup.identity_from_cert(
            ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True)).encode())
        h = self.open_h2(tls)
        bodies: dict = {}
        paths: dict = {}
        done: set = set()
        for events in self.event_batches(tls, h, seconds=60):
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    hdrs = dict(ev.headers)
                    paths[ev.stream_id] = hdrs.get(":path")
                    bodies[ev.stream_id] = b""
                elif isinstance(ev, h2.events.DataReceived):
                    bodies[ev.stream_id] = bodies.get(ev.stream_id, b"") + ev.data
                    h.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            # Answer every stream whose one message is complete, ended or not.
            for sid, body in bodies.items():
                if sid in done or len(body) < 5:
                    continue
                _, length = struct.unpack(">BI", body[:5])
                if len(body) < 5 + length:
                    continue
                done.add(sid)
                self._answer(h, sid, paths.get(sid), body[5:5 + length], ident)

    def _answer(self, h, sid: int, path: Optional[str], message: bytes, ident: str) -> None:
        if path != UNARY:
            h.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc"),
                                 ("grpc-status", "12")], end_stream=True)
        else:
            req = echo_pb2.EchoRequest.FromString(message)
            payload = bytes(req.response_size) if req.response_size > 0 else req.payload
            resp = echo_pb2.EchoResponse(payload=payload, peer_identity=ident)
            framed = struct.pack(">BI", 0, resp.ByteSize()) + resp.SerializeToString()
            h.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
            h.send_data(sid, framed)  # small responses only: fits the initial window
            h.send_headers(sid, [("grpc-status", "0"), ("grpc-message", "")], end_stream=True)
        with self.lock:
            self.answered += 1
        try:
            # Still open on the client's side: stop it, as grpc core does.
            h.reset_stream(sid, h2.errors.ErrorCodes.NO_ERROR)
            with self.lock:
                self.early_resets += 1
        except h2.exceptions.StreamClosedError:
            pass  # the client had already half-closed: nothing to reset
