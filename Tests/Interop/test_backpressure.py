"""Flow control is backpressure: when a handler stops reading, the sender stops
(after at most a window of data), memory on the server stays bounded, and the
transfer resumes and completes when the handler reads again.

The Swift server runs with --stream-window 1048576 --max-stream-window 1048576
--connection-window 4194304: a fixed window, which these bounds are stated in (a window
that grows with the round trip is test_window_growth.py's; on a loaded machine the
loopback can look like a long link, and the window grew in a fresh-clone run); the
Python reference server with the same initial stream window (grpc.http2.lookahead_bytes,
BDP probing off)."""

from __future__ import annotations

import threading
import time

import pytest

import interop_support as sup
from servers import SERVER_KINDS, SWIFT

echo_pb2, _ = sup.echo_modules()

MIB = sup.MIB
STREAM_WINDOW = MIB
CONNECTION_WINDOW = 4 * MIB
PAUSE_MS = 3000
MESSAGES = 64
FIRST_PAYLOAD = 1000
# Bound on the 1 MiB messages the client may hand to grpc while the server does
# not read: the stream window (1) plus grpc's own send buffering and the message
# in flight. Generous, yet far below the 64 a sender ignoring flow control sends.
MAX_YIELDED_WHILE_PAUSED = 24


@pytest.fixture(scope="module", params=SERVER_KINDS)
def window_server(request, server_pool):
    return server_pool(request.param, stream_window=STREAM_WINDOW, max_stream_window=STREAM_WINDOW,
                       connection_window=CONNECTION_WINDOW)


def test_paused_reader_stops_sender(window_server):
    block = bytes(range(256)) * (MIB // 256)
    yielded = [0]
    lock = threading.Lock()

    def requests():
        yield echo_pb2.EchoRequest(payload=b"f" * FIRST_PAYLOAD, pause_reading_ms=PAUSE_MS)
        for i in range(MESSAGES):
            with lock:
                yielded[0] = i + 1
            yield echo_pb2.EchoRequest(payload=block)

    def count() -> int:
        with lock:
            return yielded[0]

    with window_server.channel() as ch:
        stub = window_server.stub(ch)
        # connect first so the pause clock starts with the call, not the handshake
        stub.UnaryEcho(echo_pb2.EchoRequest(), timeout=10)
        start = time.monotonic()
        fut = stub.ClientStreamEcho.future(requests(), timeout=120)

        # Poll until the count has stopped growing: unchanged for 0.5 s, at least
        # 1.5 s into the call, and before the 3 s pause is over.
        samples = []
        stable_since = None
        last = -1
        for _ in range(200):
            now = time.monotonic() - start
            c = count()
            samples.append((round(now, 2), c))
            if c != last:
                last, stable_since = c, now
            if now >= 1.5 and now - stable_since >= 0.5:
                break
            assert now < PAUSE_MS / 1000 - 0.2, f"sender never paused: {samples[-10:]}"
            assert not fut.done(), f"call ended during the pause: {fut.exception()}"
            time.sleep(0.05)
        paused_at = count()
        assert paused_at < MAX_YIELDED_WHILE_PAUSED, (
            f"{paused_at} MiB handed to grpc while the server was not reading "
            f"(window {STREAM_WINDOW} bytes): {samples[-10:]}")
        assert not fut.done(), "the call finished although the handler was still paused"

        resp = fut.result(timeout=120)
        elapsed = time.monotonic() - start
        assert resp.received_messages == MESSAGES + 1
        assert resp.received_bytes == FIRST_PAYLOAD + MESSAGES * MIB
        assert count() == MESSAGES
        assert elapsed >= PAUSE_MS / 1000 - 0.1, "the handler did not pause"

    stats = window_server.stats()
    if window_server.kind == SWIFT:
        assert stats.stream_window_bytes == STREAM_WINDOW
        assert 0 < stats.max_buffered_stream_bytes <= stats.stream_window_bytes, stats


def test_after_backpressure_connection_window_recovers(window_server):
    """Several streams each stopped at their window must not starve the connection:
    once the handlers read, all complete, and a fresh call goes through."""
    block = b"\xab" * MIB

    def reqs():
        yield echo_pb2.EchoRequest(payload=b"x", pause_reading_ms=800)
        for _ in range(6):
            yield echo_pb2.EchoRequest(payload=block)

    with window_server.channel() as ch:
        stub = window_server.stub(ch)
        futs = [stub.ClientStreamEcho.future(reqs(), timeout=120) for _ in range(6)]
        for f in futs:
            r = f.result(timeout=120)
            assert r.received_messages == 7
            assert r.received_bytes == 1 + 6 * MIB
        assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"y"), timeout=10).payload == b"y"
