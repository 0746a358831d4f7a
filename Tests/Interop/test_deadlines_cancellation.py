"""Deadlines and client cancellation: the client sees the right status promptly,
and the server's handler observes the cancellation (GetStats.cancelled_tags)."""

from __future__ import annotations

import asyncio
import queue
import time
import uuid

import grpc
import pytest

import interop_support as sup

echo_pb2, echo_pb2_grpc = sup.echo_modules()


def _tag(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _quiet_baseline(server) -> int:
    """active_calls once it has stopped changing (handlers of earlier tests that
    are still winding down would otherwise blur the comparison)."""
    seen = []

    def steady():
        seen.append(server.stats().active_calls)
        return len(seen) >= 4 and len(set(seen[-4:])) == 1

    sup.wait_until(steady, 5.0, interval=0.05, what="active_calls to settle")
    return seen[-1]


def _wait_handler_running(server, baseline: int, what: str) -> None:
    sup.wait_until(lambda: server.stats().active_calls > baseline, 5.0,
                   what=f"{what} handler to be running on the server")


def _wait_handlers_gone(server, baseline: int) -> None:
    sup.wait_until(lambda: server.stats().active_calls <= baseline, 5.0,
                   what="cancelled handler to finish on the server")


def test_deadline_unary(echo_server, stub):
    tag = _tag("deadline-unary")
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"late", delay_ms=2000, tag=tag),
                       timeout=0.2)
    elapsed = time.monotonic() - start
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 1.5, f"deadline of 0.2 s took {elapsed:.2f} s"
    echo_server.wait_cancelled(tag, timeout=5.0)
    # the connection is still good
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"ok"), timeout=10).payload == b"ok"


def test_deadline_met(stub):
    resp = stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"in time", delay_ms=100), timeout=10)
    assert resp.payload == b"in time"


def test_deadline_server_streaming(echo_server, stub):
    tag = _tag("deadline-sstream")
    call = stub.ServerStreamEcho(echo_pb2.EchoRequest(response_count=3, delay_ms=3000, tag=tag),
                                 timeout=0.3)
    with pytest.raises(grpc.RpcError) as ei:
        list(call)
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    echo_server.wait_cancelled(tag, timeout=5.0)


def test_deadline_bidi_after_first_response(echo_server, stub):
    tag = _tag("deadline-bidi")
    reqs = queue.Queue()

    def gen():
        for _ in range(4):
            item = reqs.get(timeout=10)
            if item is None:
                return
            yield item

    call = stub.BidiEcho(gen(), timeout=1.0)
    reqs.put(echo_pb2.EchoRequest(payload=b"first", tag=tag))
    assert next(call).payload == b"first"
    reqs.put(echo_pb2.EchoRequest(payload=b"slow", delay_ms=3000))
    with pytest.raises(grpc.RpcError) as ei:
        next(call)
    reqs.put(None)
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    echo_server.wait_cancelled(tag, timeout=5.0)


def test_cancel_unary_future(echo_server, stub):
    tag = _tag("cancel-unary")
    baseline = _quiet_baseline(echo_server)
    fut = stub.UnaryEcho.future(echo_pb2.EchoRequest(delay_ms=10000, tag=tag), timeout=30)
    _wait_handler_running(echo_server, baseline, "slow unary")
    assert fut.cancel()
    assert fut.cancelled()
    with pytest.raises(grpc.FutureCancelledError):
        fut.result(timeout=5)
    echo_server.wait_cancelled(tag, timeout=5.0)
    _wait_handlers_gone(echo_server, baseline)
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"ok"), timeout=10).payload == b"ok"


def test_cancel_bidi_after_first_response(echo_server, stub):
    tag = _tag("cancel-bidi")
    reqs = queue.Queue()

    def gen():
        for _ in range(4):
            item = reqs.get(timeout=10)
            if item is None:
                return
            yield item

    call = stub.BidiEcho(gen(), timeout=30)
    reqs.put(echo_pb2.EchoRequest(payload=b"hi", tag=tag))
    assert next(call).payload == b"hi"
    assert call.cancel()
    reqs.put(None)
    with pytest.raises(grpc.RpcError) as ei:
        next(call)
    assert ei.value.code() == grpc.StatusCode.CANCELLED
    echo_server.wait_cancelled(tag, timeout=5.0)


def test_cancel_server_stream_mid_flow(echo_server, stub):
    """The client stops reading a long response stream and cancels: a server
    handler that is blocked on flow control must still notice."""
    tag = _tag("cancel-sstream")
    call = stub.ServerStreamEcho(
        echo_pb2.EchoRequest(response_count=10000, response_size=65536, tag=tag), timeout=30)
    first = next(call)
    assert len(first.payload) == 65536
    assert call.cancel()
    echo_server.wait_cancelled(tag, timeout=5.0)
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"ok"), timeout=10).payload == b"ok"


def test_cancel_aio_unary(echo_server):
    tag = _tag("cancel-aio")
    baseline = _quiet_baseline(echo_server)

    async def run():
        creds = None if echo_server.plaintext else sup.channel_credentials(echo_server.certs)
        async with (grpc.aio.insecure_channel(echo_server.address) if creds is None
                    else grpc.aio.secure_channel(echo_server.address, creds)) as ch:
            stub = echo_pb2_grpc.EchoServiceStub(ch)
            call = stub.UnaryEcho(echo_pb2.EchoRequest(delay_ms=10000, tag=tag), timeout=30)
            deadline = time.monotonic() + 5
            while echo_server.stats().active_calls <= baseline:
                assert time.monotonic() < deadline, "slow aio call never reached the server"
                await asyncio.sleep(0.05)
            assert call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert await call.code() == grpc.StatusCode.CANCELLED

    asyncio.run(asyncio.wait_for(run(), timeout=30))
    echo_server.wait_cancelled(tag, timeout=5.0)
