"""Message size limits (near 4 MiB each way, RESOURCE_EXHAUSTED past the limit)
and the concurrent-stream limit."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

import interop_support as sup
from servers import PYTHON, SERVER_KINDS

echo_pb2, _ = sup.echo_modules()

MIB = sup.MIB
NEAR_4MIB = 4 * MIB - 64
TIMEOUT = 60.0


def _payload(n: int, seed: int) -> bytes:
    block = bytes((i * 31 + seed) & 0xFF for i in range(4096))
    return (block * (n // 4096 + 1))[:n]


def _request_with_serialized_size(size: int, **fields):
    """An EchoRequest whose serialized size is exactly `size` bytes."""
    req = echo_pb2.EchoRequest(**fields)
    base = req.ByteSize()
    # payload field = 1 tag byte + varint length + bytes; find n so the total matches
    for varint_len in range(1, 6):
        n = size - base - 1 - varint_len
        if n >= 0 and len(_varint(n)) == varint_len:
            req.payload = _payload(n, 1)
            assert req.ByteSize() == size
            return req
    raise ValueError(size)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def test_near_4mib_unary_both_ways(stub):
    payload = _payload(NEAR_4MIB, 3)
    resp = stub.UnaryEcho(echo_pb2.EchoRequest(payload=payload), timeout=TIMEOUT)
    assert len(resp.payload) == NEAR_4MIB
    assert resp.payload == payload


def test_near_4mib_generated_response(stub):
    resp = stub.UnaryEcho(echo_pb2.EchoRequest(response_size=NEAR_4MIB), timeout=TIMEOUT)
    assert len(resp.payload) == NEAR_4MIB


def test_near_4mib_client_stream(stub):
    reqs = [echo_pb2.EchoRequest(payload=_payload(NEAR_4MIB, i)) for i in range(3)]
    resp = stub.ClientStreamEcho(iter(reqs), timeout=TIMEOUT)
    assert resp.received_bytes == 3 * NEAR_4MIB
    assert resp.received_messages == 3


def test_near_4mib_server_stream(stub):
    out = list(stub.ServerStreamEcho(
        echo_pb2.EchoRequest(response_count=3, response_size=NEAR_4MIB), timeout=TIMEOUT))
    assert [len(r.payload) for r in out] == [NEAR_4MIB] * 3


def test_near_4mib_bidi(stub):
    payloads = [_payload(NEAR_4MIB, i) for i in range(2)]
    out = list(stub.BidiEcho(iter(echo_pb2.EchoRequest(payload=p) for p in payloads),
                             timeout=TIMEOUT))
    assert [r.payload for r in out] == payloads


def test_exactly_max_message_size_accepted(stub):
    # response_size keeps the reply small (the client's own limit is also 4 MiB)
    req = _request_with_serialized_size(4 * MIB, response_size=16)
    resp = stub.UnaryEcho(req, timeout=TIMEOUT)
    assert len(resp.payload) == 16


def test_one_byte_over_max_rejected(stub):
    req = _request_with_serialized_size(4 * MIB + 1, response_size=16)
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(req, timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_5mib_request_resource_exhausted_and_channel_survives(stub):
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(echo_pb2.EchoRequest(payload=_payload(5 * MIB, 9)), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # a stream-level error: the same connection keeps working
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"after"), timeout=10).payload == b"after"


def test_5mib_in_client_stream_resource_exhausted(stub):
    reqs = [echo_pb2.EchoRequest(payload=b"small"),
            echo_pb2.EchoRequest(payload=_payload(5 * MIB, 2))]
    with pytest.raises(grpc.RpcError) as ei:
        stub.ClientStreamEcho(iter(reqs), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"after"), timeout=10).payload == b"after"


def test_response_over_client_limit(echo_server):
    """The client refuses a 2 MiB response (its limit is 1 MiB) and resets the
    stream; the server copes and keeps serving the connection."""
    with echo_server.channel(options=[("grpc.max_receive_message_length", MIB)]) as ch:
        stub = echo_server.stub(ch)
        with pytest.raises(grpc.RpcError) as ei:
            stub.UnaryEcho(echo_pb2.EchoRequest(response_size=2 * MIB), timeout=TIMEOUT)
        assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"x"), timeout=10).payload == b"x"


# ---- servers started with a non-default configuration ----------------------

@pytest.fixture(scope="module", params=SERVER_KINDS)
def small_limit_server(request, server_pool):
    return server_pool(request.param, max_receive_message_size=MIB)


def test_configured_max_receive(small_limit_server):
    with small_limit_server.channel() as ch:
        stub = small_limit_server.stub(ch)
        ok = _request_with_serialized_size(MIB)
        assert len(stub.UnaryEcho(ok, timeout=TIMEOUT).payload) == len(ok.payload)
        with pytest.raises(grpc.RpcError) as ei:
            stub.UnaryEcho(_request_with_serialized_size(MIB + 1), timeout=TIMEOUT)
        assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as ei:
            stub.UnaryEcho(echo_pb2.EchoRequest(payload=_payload(3 * MIB // 2, 1)),
                           timeout=TIMEOUT)
        assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _result(server, stub, fut, i):
    """The future's response. grpc core (the Python server) keeps counting a stream
    against MAX_CONCURRENT_STREAMS until its call object is released, after the
    client already saw it end, so it may refuse a later stream (REFUSED_STREAM ->
    UNAVAILABLE); only for that server such a call is re-sent. The Swift server
    (nghttp2 closes the stream when both sides ended) must accept every call."""
    try:
        return fut.result(timeout=TIMEOUT)
    except grpc.RpcError as e:
        refused = e.code() == grpc.StatusCode.UNAVAILABLE and "error code 7" in (e.details() or "")
        if not (server.kind == PYTHON and refused):
            raise
    for _ in range(10):
        try:
            return stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"%d" % i, delay_ms=300),
                                  timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                raise
    raise AssertionError("call refused 10 times")


@pytest.fixture(scope="module", params=SERVER_KINDS)
def four_stream_server(request, server_pool):
    return server_pool(request.param, max_concurrent_streams=4)


def test_max_concurrent_streams(four_stream_server):
    """16 slow calls on one connection limited to 4 streams: all succeed, and the
    server never runs more than 4 of them at once (GetStats runs on another
    connection; one extra is tolerated in case active_calls counts GetStats)."""
    server = four_stream_server
    seen = []
    sup.wait_until(lambda: seen.append(server.stats().active_calls) or
                   (len(seen) >= 4 and len(set(seen[-4:])) == 1), 5.0,
                   what="active_calls to settle")
    baseline = seen[-1]
    peak = [0]
    stop = threading.Event()

    def watch():
        end = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < end:
            try:
                peak[0] = max(peak[0], server.stats().active_calls - baseline)
            except grpc.RpcError:
                pass
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with server.channel() as ch:
            stub = server.stub(ch)
            # Let the client see the server's SETTINGS first: streams opened before
            # that may legally be refused (REFUSED_STREAM).
            assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"w"), timeout=10).payload == b"w"
            start = time.monotonic()
            futs = [stub.UnaryEcho.future(echo_pb2.EchoRequest(payload=b"%d" % i, delay_ms=300),
                                          timeout=TIMEOUT) for i in range(16)]
            results = [_result(server, stub, f, i) for i, f in enumerate(futs)]
            elapsed = time.monotonic() - start
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert [r.payload for r in results] == [b"%d" % i for i in range(16)]
    assert 2 <= peak[0] <= 5, f"peak concurrent handlers {peak[0]}"
    # 16 calls of 0.3 s, at most 4 at a time: at least 4 rounds
    assert elapsed >= 1.1, f"16 calls finished in {elapsed:.2f}s despite a 4-stream limit"
