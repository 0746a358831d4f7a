"""Reference implementation of sluice.interop.v1.EchoService on Python grpcio.

It plays the part of "a stock gRPC server": the Swift interop client is tested
against it, and every client test in this suite also runs against it, which
proves the tests themselves. It follows the comments in echo.proto and the echo
metadata rule:

  * request metadata keys starting with "x-echo-initial" are sent back in the
    initial response metadata; keys starting with "x-echo-trailing" go back in
    the trailing metadata (binary "-bin" keys included, bytes unchanged);
  * respond_with_status with a non-zero code fails the call with that code and
    message;
  * delay_ms waits before answering, noticing cancellation while it waits;
  * a handler that observes cancellation (client reset or deadline) records its
    tag, reported by GetStats.cancelled_tags.

Besides EchoService it serves grpc.health.v1.Health ("" and the echo service
SERVING) and server reflection under both grpc.reflection.v1alpha and
grpc.reflection.v1 (grpcio-reflection only ships v1alpha; the two protocols are
byte-identical apart from the package name, so v1 is served by the same servicer).

Run standalone:  python reference_server.py --port 50051 --certs DIR
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_support as sup  # noqa: E402

echo_pb2, echo_pb2_grpc = sup.echo_modules()

_CODES = {c.value[0]: c for c in grpc.StatusCode}


def peer_identity(context) -> str:
    """"CN=<cn>;DNS=<san>..." from the verified client certificate, "" without one."""
    auth = context.auth_context() or {}
    pems = auth.get("x509_pem_cert") or []
    if not pems:
        return ""
    try:
        return sup.identity_from_cert(pems[0])
    except Exception:
        cns = auth.get("x509_common_name") or []
        return f"CN={cns[0].decode()}" if cns else ""


def _rpc_cancelled(context) -> bool:
    """Whether grpc saw the RPC cancelled (client reset or deadline). The sync
    ServicerContext has no public accessor, so this reads grpc's call state;
    it is only consulted after the RPC ended."""
    state = getattr(context, "_state", None)
    return getattr(state, "client", None) == "cancelled"


@dataclass
class ServerState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancelled_tags: list = field(default_factory=list)
    active_calls: int = 0


class _Call:
    """Per-call bookkeeping: active-call counting, echo metadata, and recording
    the tag when the call ends before its handler finished (cancellation)."""

    def __init__(self, state: ServerState, context):
        self.state = state
        self.context = context
        self.tag = ""
        self.finished = False
        self._recorded = False
        self._ended = False
        with state.lock:
            state.active_calls += 1
        context.add_callback(self._on_rpc_done)
        md = context.invocation_metadata() or ()
        initial = [(k, v) for k, v in md if k.startswith("x-echo-initial")]
        trailing = [(k, v) for k, v in md if k.startswith("x-echo-trailing")]
        if initial:
            context.send_initial_metadata(initial)
        if trailing:
            context.set_trailing_metadata(trailing)

    def set_tag(self, tag: str) -> None:
        if tag and not self.tag:
            self.tag = tag

    def record_cancelled(self) -> None:
        with self.state.lock:
            if self.tag and not self._recorded:
                self._recorded = True
                self.state.cancelled_tags.append(self.tag)

    def _on_rpc_done(self) -> None:
        # Runs when the RPC terminates for any reason. If the handler had not
        # finished, the call ended under it: the client cancelled or the
        # deadline passed. A handler can also finish just as the cancellation
        # lands (a request stream that ends because of a reset looks like a
        # half-close until grpc has processed the reset), so ask grpc too.
        if not self.finished or _rpc_cancelled(self.context):
            self.record_cancelled()
        self.end()

    def end(self) -> None:
        """The call stops counting as running: when its handler returns or the
        RPC terminates, whichever comes first."""
        with self.state.lock:
            if not self._ended:
                self._ended = True
                self.state.active_calls -= 1

    def active(self) -> bool:
        if self.context.is_active():
            return True
        self.record_cancelled()
        return False

    def sleep(self, ms: int) -> bool:
        """Waits ms milliseconds in short steps; False if the call was cancelled."""
        end = time.monotonic() + ms / 1000.0
        while True:
            if not self.active():
                return False
            left = end - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(0.01, left))

    def fail_if_asked(self, request) -> None:
        st = request.respond_with_status
        if request.HasField("respond_with_status") and st.code != 0:
            self.finished = True
            self.context.abort(_CODES.get(st.code, grpc.StatusCode.UNKNOWN), st.message)

    def finish(self) -> None:
        self.finished = True


def _payload_for(request) -> bytes:
    if request.response_size > 0:
        return bytes(i & 0xFF for i in range(256)) * (request.response_size // 256) + \
            bytes(range(request.response_size % 256))
    return request.payload


class EchoServicer(echo_pb2_grpc.EchoServiceServicer):
    def __init__(self, state: ServerState):
        self.state = state

    def UnaryEcho(self, request, context):
        call = _Call(self.state, context)
        try:
            call.set_tag(request.tag)
            if request.delay_ms > 0 and not call.sleep(request.delay_ms):
                return echo_pb2.EchoResponse()
            call.fail_if_asked(request)
            resp = echo_pb2.EchoResponse(payload=_payload_for(request),
                                         peer_identity=peer_identity(context))
            call.finish()
            return resp
        finally:
            call.end()

    def ClientStreamEcho(self, request_iterator, context):
        call = _Call(self.state, context)
        try:
            total = 0
            count = 0
            first = None
            for request in request_iterator:
                count += 1
                total += len(request.payload)
                call.set_tag(request.tag)
                call.fail_if_asked(request)
                if first is None:
                    first = request
                    if request.pause_reading_ms > 0 and not call.sleep(request.pause_reading_ms):
                        return echo_pb2.EchoResponse()
            if not call.active():
                return echo_pb2.EchoResponse()
            if first is not None and first.delay_ms > 0 and not call.sleep(first.delay_ms):
                return echo_pb2.EchoResponse()
            payload = _payload_for(first) if first is not None and first.response_size > 0 \
                else b""
            resp = echo_pb2.EchoResponse(payload=payload, received_bytes=total,
                                         received_messages=count,
                                         peer_identity=peer_identity(context))
            call.finish()
            return resp
        finally:
            call.end()

    def ServerStreamEcho(self, request, context):
        call = _Call(self.state, context)
        try:
            call.set_tag(request.tag)
            if request.delay_ms > 0 and not call.sleep(request.delay_ms):
                return
            call.fail_if_asked(request)
            ident = peer_identity(context)
            payload = _payload_for(request)
            for _ in range(max(0, request.response_count)):
                if not call.active():
                    return
                yield echo_pb2.EchoResponse(payload=payload, peer_identity=ident)
            call.finish()
        finally:
            call.end()

    def BidiEcho(self, request_iterator, context):
        call = _Call(self.state, context)
        try:
            ident = peer_identity(context)
            count = 0
            for request in request_iterator:
                count += 1
                call.set_tag(request.tag)
                if request.delay_ms > 0 and not call.sleep(request.delay_ms):
                    return
                call.fail_if_asked(request)
                yield echo_pb2.EchoResponse(payload=_payload_for(request),
                                            received_messages=count, peer_identity=ident)
            if call.active():
                call.finish()
        finally:
            call.end()

    def GetStats(self, request, context):
        with self.state.lock:
            return echo_pb2.StatsResponse(
                cancelled_tags=list(self.state.cancelled_tags),
                max_buffered_stream_bytes=0,
                stream_window_bytes=0,
                active_calls=self.state.active_calls,
            )


@dataclass
class ReferenceServer:
    server: grpc.Server
    port: int
    state: ServerState
    health: health.HealthServicer
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def cancelled_tags(self) -> list:
        with self.state.lock:
            return list(self.state.cancelled_tags)

    def stop(self, grace: float = 1.0) -> None:
        self.server.stop(grace).wait(10)


def _add_reflection(server: grpc.Server) -> None:
    names = (
        echo_pb2.DESCRIPTOR.services_by_name["EchoService"].full_name,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
        sup.REFLECTION_V1,
    )
    servicer = reflection.ReflectionServicer(names)
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler(reflection.SERVICE_NAME, handlers),
        grpc.method_handlers_generic_handler(sup.REFLECTION_V1, handlers),
    ))


def start_reference_server(certs: Optional[sup.Certs] = None, *, port: int = 0,
                           host: str = "127.0.0.1",
                           max_receive_message_size: int = sup.DEFAULT_MAX_RECEIVE,
                           max_concurrent_streams: Optional[int] = None,
                           stream_window: Optional[int] = None,
                           require_client_cert: bool = True,
                           plaintext: bool = False,
                           max_workers: int = 300) -> ReferenceServer:
    """Starts the reference server in this process and returns once it listens.
    port=0 picks a free port. stream_window sets grpc core's initial stream window
    (grpc.http2.lookahead_bytes) and turns off BDP probing, to mirror
    `sluice-interop serve --stream-window`."""
    options = [
        ("grpc.max_receive_message_length", max_receive_message_size),
        ("grpc.max_send_message_length", -1),
        ("grpc.so_reuseport", 0),
    ]
    if max_concurrent_streams is not None:
        options.append(("grpc.max_concurrent_streams", max_concurrent_streams))
    if stream_window is not None:
        options.append(("grpc.http2.lookahead_bytes", stream_window))
        options.append(("grpc.http2.bdp_probe", 0))
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers,
                                                     thread_name_prefix="refsrv")
    server = grpc.server(executor, options=options)
    state = ServerState()
    echo_pb2_grpc.add_EchoServiceServicer_to_server(EchoServicer(state), server)
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(sup.ECHO_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _add_reflection(server)

    bind = f"{host}:{port}"
    if plaintext:
        bound = server.add_insecure_port(bind)
    else:
        assert certs is not None, "certs are needed for TLS"
        creds = grpc.ssl_server_credentials(
            [(certs.read("server-key.pem"), certs.read("server.pem"))],
            root_certificates=certs.read("ca.pem"),
            require_client_auth=require_client_cert,
        )
        bound = server.add_secure_port(bind, creds)
    if bound == 0:
        raise RuntimeError(f"reference server could not bind {bind}")
    server.start()
    return ReferenceServer(server=server, port=bound, state=state, health=health_servicer,
                           host=host)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=50051)
    ap.add_argument("--certs", required=True, help="directory with ca.pem, server.pem, ...")
    ap.add_argument("--max-receive-message-size", type=int, default=sup.DEFAULT_MAX_RECEIVE)
    args = ap.parse_args(argv)
    srv = start_reference_server(sup.Certs(args.certs), port=args.port,
                                 max_receive_message_size=args.max_receive_message_size)
    print(f"reference server listening on {srv.address}", flush=True)
    try:
        srv.server.wait_for_termination()
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
