"""A gRPC-over-HTTP/2 server on the `h2` library that answers every call the way `mode`
says, including ways no stock gRPC server answers: what PROTOCOL-HTTP2 says a client must
make of an HTTP status without grpc-status, a non-gRPC content-type, a reset stream, a
response without grpc-status, a hand-made Trailers-Only response (of a chosen status and
message too), GOAWAY, and a complete
answer followed by RST_STREAM(NO_ERROR) (as grpc core sends). For the C client's tests
(c_client/test_c_http_status.py) and the Swift client's (cli/test_cli_odd_answers.py).

Mode "handlers" answers by method instead, once the request has ended: `handlers` maps a
path ("/sluice.v1.ObjectService/ListObjects") to a function of the request's messages
(serialized) that returns the answer's messages, its grpc-status and grpc-message, and
optionally more trailers (name, value pairs), so a test can describe objects, pages or acknowledgements no honest sluiced would
(c_client/test_c_hostile_answers.py, which runs the Swift CLI beside sluice-c)."""

from __future__ import annotations

import ssl
import struct
from typing import Callable

import h2.errors
import h2.events
from grpc_health.v1 import health_pb2

import interop_support as sup
from h2_test_server import TLSH2Server

GRPC = ("content-type", "application/grpc")

Handler = Callable[[list[bytes]], tuple]   # (messages, code, message[, trailers])


def framed_messages(body: bytes) -> list[bytes]:
    """The messages of a gRPC body (5-byte prefix each, uncompressed)."""
    messages, at = [], 0
    while at + 5 <= len(body):
        length = struct.unpack(">I", body[at + 1:at + 5])[0]
        messages.append(body[at + 5:at + 5 + length])
        at += 5 + length
    return messages


def ok(*messages) -> tuple[list[bytes], int, str]:
    """A handler's answer: these protobuf messages, then grpc-status 0."""
    return [m.SerializeToString() for m in messages], 0, ""


class OddServer(TLSH2Server):
    def __init__(self, certs: sup.Certs):
        super().__init__(certs)
        self.mode = "serving"
        self.handlers: dict[str, Handler] = {}

    def serve_h2(self, tls: ssl.SSLSocket) -> None:
        h = self.open_h2(tls)
        paths: dict[int, str] = {}
        bodies: dict[int, bytes] = {}
        for events in self.event_batches(tls, h, seconds=30):
            for ev in events:
                if isinstance(ev, h2.events.DataReceived):
                    h.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    bodies[ev.stream_id] = bodies.get(ev.stream_id, b"") + ev.data
                if isinstance(ev, h2.events.RequestReceived) and self.mode == "handlers":
                    paths[ev.stream_id] = dict(ev.headers)[":path"]
                elif isinstance(ev, h2.events.RequestReceived):
                    if self._answer(h, ev.stream_id):
                        self.send(tls, h.data_to_send())
                        return
                if isinstance(ev, h2.events.StreamEnded) and ev.stream_id in paths:
                    path = paths.pop(ev.stream_id)
                    self._handle(h, ev.stream_id, path, framed_messages(bodies.pop(ev.stream_id, b"")))

    def _handle(self, h, sid: int, path: str, requests: list[bytes]) -> None:
        handler = self.handlers.get(path)
        answer = handler(requests) if handler else ([], 12, f"no handler for {path}")
        messages, code, message = answer[:3]
        extra = list(answer[3]) if len(answer) > 3 else []
        h.send_headers(sid, [(":status", "200"), GRPC])
        for m in messages:
            h.send_data(sid, struct.pack(">BI", 0, len(m)) + m)
        trailers = [("grpc-status", str(code))] + ([("grpc-message", message)] if message else []) + extra
        h.send_headers(sid, trailers, end_stream=True)

    def _answer(self, h, sid: int) -> bool:
        """Answers stream sid; True when the connection is to close now."""
        mode = self.mode
        if mode == "goaway":
            h.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=0)
            return True
        if mode == "http-503":
            h.send_headers(sid, [(":status", "503")], end_stream=True)
        elif mode == "html":
            h.send_headers(sid, [(":status", "200"), ("content-type", "text/html")])
            h.send_data(sid, b"<html>hello</html>", end_stream=True)
        elif mode == "refused":
            h.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
        elif mode == "no-status":
            h.send_headers(sid, [(":status", "200"), GRPC], end_stream=True)
        elif mode == "trailers-only":
            h.send_headers(sid, [(":status", "200"), GRPC, ("grpc-status", "5"),
                                 ("grpc-message", "gone%20%E2%9C%93 100%")], end_stream=True)
        elif mode.startswith("status "):  # "status CODE MESSAGE": that status, MESSAGE sent as given
            _, code, message = mode.split(" ", 2)
            h.send_headers(sid, [(":status", "200"), GRPC, ("grpc-status", code),
                                 ("grpc-message", message)], end_stream=True)
        else:  # "serving" ("not-serving"): a whole answer before the request's END_STREAM is read, then a reset
            status = health_pb2.HealthCheckResponse.NOT_SERVING if mode == "not-serving" else \
                health_pb2.HealthCheckResponse.SERVING
            reply = health_pb2.HealthCheckResponse(status=status)
            body = reply.SerializeToString()
            h.send_headers(sid, [(":status", "200"), GRPC])
            h.send_data(sid, struct.pack(">BI", 0, len(body)) + body)
            h.send_headers(sid, [("grpc-status", "0")], end_stream=True)
            try:
                h.reset_stream(sid, h2.errors.ErrorCodes.NO_ERROR)
            except Exception:  # the client's side had already ended
                pass
        return False
