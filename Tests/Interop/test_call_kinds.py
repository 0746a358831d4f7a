"""Python grpcio client → EchoService: the four call kinds and gzip requests."""

from __future__ import annotations

import queue

import grpc

import interop_support as sup

echo_pb2, _ = sup.echo_modules()

PATTERN = bytes(range(256))
TIMEOUT = 20.0


def _payload(n: int, seed: int = 0) -> bytes:
    rot = PATTERN[seed % 256:] + PATTERN[:seed % 256]
    return (rot * (n // 256 + 1))[:n]


def test_unary_echoes_payload_and_identity(stub, certs):
    payload = _payload(1000, 7)
    resp, call = stub.UnaryEcho.with_call(echo_pb2.EchoRequest(payload=payload), timeout=TIMEOUT)
    assert resp.payload == payload
    assert resp.peer_identity == sup.identity_from_cert(certs.read("client.pem"))
    assert call.code() == grpc.StatusCode.OK


def test_unary_empty_request(stub):
    resp = stub.UnaryEcho(echo_pb2.EchoRequest(), timeout=TIMEOUT)
    assert resp.payload == b""


def test_unary_response_size(stub):
    resp = stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"abc", response_size=12345),
                          timeout=TIMEOUT)
    assert len(resp.payload) == 12345


def test_client_streaming_totals(stub):
    sizes = [0, 1, 100, 65536, 300000]
    reqs = [echo_pb2.EchoRequest(payload=_payload(n, i)) for i, n in enumerate(sizes)]
    resp = stub.ClientStreamEcho(iter(reqs), timeout=TIMEOUT)
    assert resp.received_bytes == sum(sizes)
    assert resp.received_messages == len(sizes)


def test_client_streaming_no_messages(stub):
    resp = stub.ClientStreamEcho(iter(()), timeout=TIMEOUT)
    assert resp.received_bytes == 0
    assert resp.received_messages == 0


def test_server_streaming_sized(stub):
    responses = list(stub.ServerStreamEcho(
        echo_pb2.EchoRequest(response_count=7, response_size=70000), timeout=TIMEOUT))
    assert len(responses) == 7
    assert all(len(r.payload) == 70000 for r in responses)


def test_server_streaming_echoes_payload(stub):
    payload = _payload(333, 3)
    responses = list(stub.ServerStreamEcho(
        echo_pb2.EchoRequest(payload=payload, response_count=3), timeout=TIMEOUT))
    assert [r.payload for r in responses] == [payload] * 3


def test_server_streaming_zero_responses(stub):
    call = stub.ServerStreamEcho(echo_pb2.EchoRequest(response_count=0), timeout=TIMEOUT)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


class _QueueRequests:
    """A request iterator fed from the test thread, ended with None."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self.q.get(timeout=TIMEOUT)
        if item is None:
            raise StopIteration
        return item


def test_bidi_replies_as_requests_arrive(stub):
    """Lock-step: each response arrives before the next request is sent, which a
    server that buffered until half-close could not do."""
    reqs = _QueueRequests()
    call = stub.BidiEcho(reqs, timeout=TIMEOUT)
    try:
        for i in range(10):
            payload = _payload(100 * i + 1, i)
            reqs.q.put(echo_pb2.EchoRequest(payload=payload))
            resp = next(call)
            assert resp.payload == payload
            assert resp.received_messages == i + 1
    finally:
        reqs.q.put(None)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


def test_bidi_bulk(stub):
    payloads = [_payload(50000 + i, i) for i in range(40)]
    responses = list(stub.BidiEcho(iter(echo_pb2.EchoRequest(payload=p) for p in payloads),
                                   timeout=TIMEOUT))
    assert [r.payload for r in responses] == payloads
    assert [r.received_messages for r in responses] == list(range(1, 41))


def test_gzip_unary_request(stub):
    payload = b"sluice " * 40000  # compresses well, so the frame really is gzip
    resp, call = stub.UnaryEcho.with_call(echo_pb2.EchoRequest(payload=payload),
                                          timeout=TIMEOUT, compression=grpc.Compression.Gzip)
    assert resp.payload == payload
    assert call.code() == grpc.StatusCode.OK


def test_gzip_client_stream(stub):
    reqs = [echo_pb2.EchoRequest(payload=(b"%d" % i) * 20000) for i in range(8)]
    resp = stub.ClientStreamEcho(iter(reqs), timeout=TIMEOUT,
                                 compression=grpc.Compression.Gzip)
    assert resp.received_bytes == sum(len(r.payload) for r in reqs)
    assert resp.received_messages == 8


def test_gzip_channel_default(echo_server):
    """A channel whose every call is gzip-compressed (grpc-encoding on each stream)."""
    with grpc.secure_channel(echo_server.address, sup.channel_credentials(echo_server.certs),
                             compression=grpc.Compression.Gzip) as gz:
        stub = echo_server.stub(gz)
        payloads = [b"x" * 10000, b"y" * 20000]
        out = list(stub.BidiEcho(iter(echo_pb2.EchoRequest(payload=p) for p in payloads),
                                 timeout=TIMEOUT))
        assert [r.payload for r in out] == payloads
