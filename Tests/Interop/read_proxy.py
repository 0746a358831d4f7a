"""A grpcio proxy in front of sluiced that records every ReadPartition request, can play a
server older than partition_count, and can cut calls short: what the run-reading clients (the
Swift CLI, sluice-c) are tested through."""

from __future__ import annotations

import concurrent.futures
import threading

import grpc
import pytest

import interop_support as sup
from storage_support import part_pb

READ_PARTITION = "/sluice.v1.PartitionService/ReadPartition"
STREAMING = {READ_PARTITION, "/sluice.v1.ObjectService/ReadObject"}


class CountingProxy(grpc.GenericRpcHandler):
    """Forwards every call to sluiced as raw bytes, recording each ReadPartition request;
    with `older`, clears its partition_count first. `cuts` makes the next ReadPartition
    calls, one per entry, end with UNAVAILABLE after forwarding that many messages (as a
    dropped connection would); `endings` makes them end with OK after that many (as a
    server that stops short would)."""

    def __init__(self, upstream: grpc.Channel, older: bool):
        self.upstream = upstream
        self.older = older
        self.cuts: list[int] = []
        self.endings: list[int] = []
        self.reads: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def service(self, details):
        method = details.method
        if method in STREAMING:
            return grpc.unary_stream_rpc_method_handler(lambda request, context: self._stream(method, request, context))
        return grpc.unary_unary_rpc_method_handler(lambda request, context: self._unary(method, request, context))

    @staticmethod
    def _timeout(context):
        """The caller's deadline; grpcio reports a call without one as ~9.2e18 seconds left."""
        remaining = context.time_remaining()
        return remaining if remaining is not None and remaining < 1e9 else None

    def _unary(self, method, request, context):
        try:
            return self.upstream.unary_unary(method)(request, timeout=self._timeout(context))
        except grpc.RpcError as e:
            context.abort(e.code(), e.details())

    def _stream(self, method, request, context):
        cut = ending = None
        if method == READ_PARTITION:
            parsed = part_pb.ReadPartitionRequest.FromString(request)
            with self.lock:
                self.reads.append((parsed.partition_index, parsed.partition_count))
                cut = self.cuts.pop(0) if self.cuts else None
                ending = self.endings.pop(0) if self.endings else None
            if self.older:
                parsed.partition_count = 0
                request = parsed.SerializeToString()
        try:
            for forwarded, message in enumerate(
                    self.upstream.unary_stream(method)(request, timeout=self._timeout(context))):
                if forwarded == cut:
                    context.abort(grpc.StatusCode.UNAVAILABLE, "the proxy cut the call")
                if forwarded == ending:
                    return
                yield message
        except grpc.RpcError as e:
            context.abort(e.code(), e.details())


@pytest.fixture
def proxy_factory(server, certs):
    """make(older) starts a proxy in front of the module's sluiced and answers its address and
    handler; every proxy made is stopped at the test's end."""
    made = []

    def make(older: bool) -> tuple[str, CountingProxy]:
        upstream = sup.secure_channel(server.address, certs, "client")
        handler = CountingProxy(upstream, older)
        proxy = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=16), handlers=[handler])
        credentials = grpc.ssl_server_credentials(
            [(certs.read("server-key.pem"), certs.read("server.pem"))],
            root_certificates=certs.read("ca.pem"), require_client_auth=True)
        port = proxy.add_secure_port("127.0.0.1:0", credentials)
        proxy.start()
        made.append((proxy, upstream))
        return f"127.0.0.1:{port}", handler

    yield make
    for proxy, upstream in made:
        proxy.stop(None)
        upstream.close()
