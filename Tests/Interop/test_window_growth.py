"""Stream windows grow with the round trip: behind a long link (scripts/delay_proxy.py,
100 ms each way) a grpcio client's single-stream upload is held back by the Swift server's
64 KiB stream window (320 KB/s, so the window stays the bottleneck however loaded the
machine); the server grows the window, never past --max-stream-window, and every byte
arrives. The server runs in its own process, so the measurement is not disturbed by other
tests sharing its threads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import interop_support as sup
from servers import SWIFT

echo_pb2, _ = sup.echo_modules()

STREAM_WINDOW = 64 * 1024
MAX_STREAM_WINDOW = sup.MIB
DELAY_MS = 100
MESSAGES, MESSAGE_BYTES = 128, 16 * 1024

pytestmark = pytest.mark.swift


@pytest.fixture(scope="module")
def growing_server(server_pool):
    return server_pool(SWIFT, stream_window=STREAM_WINDOW, max_stream_window=MAX_STREAM_WINDOW)


@pytest.fixture
def long_link(growing_server):
    """A delaying proxy in front of the server; yields its address."""
    script = os.path.join(sup.REPO_ROOT, "scripts", "delay_proxy.py")
    proxy = subprocess.Popen([sys.executable, script, str(growing_server.port), str(DELAY_MS)],
                             stdout=subprocess.PIPE, text=True)
    try:
        port = int(proxy.stdout.readline().split()[1])
        yield f"127.0.0.1:{port}"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_a_long_round_trip_grows_the_stream_window(growing_server, long_link):
    assert growing_server.stats().stream_window_bytes == STREAM_WINDOW
    payload = bytes(range(256)) * (MESSAGE_BYTES // 256)
    with sup.secure_channel(long_link, growing_server.certs) as channel:
        response = growing_server.stub(channel).ClientStreamEcho(
            (echo_pb2.EchoRequest(payload=payload) for _ in range(MESSAGES)), timeout=120)
    assert response.received_bytes == MESSAGES * MESSAGE_BYTES
    window = growing_server.stats().stream_window_bytes
    assert STREAM_WINDOW < window <= MAX_STREAM_WINDOW, window
    # Whatever it grew to, a stream never held more than the window allowed.
    assert growing_server.stats().max_buffered_stream_bytes <= window


def test_a_stream_window_above_the_growth_limit_stays_fixed(server_pool):
    """--stream-window above --max-stream-window's default (16 MiB) is accepted on its own, as
    before the limit existed; the window is then fixed at that size."""
    big = server_pool(SWIFT, stream_window=32 * sup.MIB)
    with big.channel() as channel:
        reply = big.stub(channel).UnaryEcho(echo_pb2.EchoRequest(payload=b"x" * 1000), timeout=30)
    assert reply.payload == b"x" * 1000
    assert big.stats().stream_window_bytes == 32 * sup.MIB
