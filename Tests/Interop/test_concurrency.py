"""Many concurrent streams on one HTTP/2 connection (one channel)."""

from __future__ import annotations

import asyncio
import time

import grpc

import interop_support as sup

echo_pb2, echo_pb2_grpc = sup.echo_modules()

TIMEOUT = 60.0


def test_128_concurrent_unary_on_one_channel(stub):
    # one warm-up call so the connection (and the server's SETTINGS) is in place
    assert stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"w"), timeout=10).payload == b"w"
    start = time.monotonic()
    futs = [stub.UnaryEcho.future(
        echo_pb2.EchoRequest(payload=i.to_bytes(4, "big") * (i + 1), delay_ms=300),
        timeout=TIMEOUT) for i in range(128)]
    results = [f.result(timeout=TIMEOUT) for f in futs]
    elapsed = time.monotonic() - start
    for i, r in enumerate(results):
        assert r.payload == i.to_bytes(4, "big") * (i + 1)
    # serially this would take 128 * 0.3 = 38 s
    assert elapsed < 10.0, f"128 calls of 0.3 s took {elapsed:.1f} s: not concurrent"


def test_128_concurrent_bidi_streams_aio(echo_server):
    """128 bidi streams open at once on one aio channel, each in lock-step."""

    async def one(stub, i):
        call = stub.BidiEcho(timeout=TIMEOUT)
        for j in range(3):
            payload = b"%d:%d:" % (i, j) + bytes([i % 256]) * (j * 1000)
            await call.write(echo_pb2.EchoRequest(payload=payload))
            resp = await call.read()
            assert resp is not grpc.aio.EOF
            assert resp.payload == payload
            assert resp.received_messages == j + 1
        await call.done_writing()
        assert await call.read() is grpc.aio.EOF
        assert await call.code() == grpc.StatusCode.OK

    async def run():
        creds = sup.channel_credentials(echo_server.certs)
        async with grpc.aio.secure_channel(echo_server.address, creds) as ch:
            stub = echo_pb2_grpc.EchoServiceStub(ch)
            await stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"w"), timeout=10)
            await asyncio.gather(*(one(stub, i) for i in range(128)))

    asyncio.run(asyncio.wait_for(run(), timeout=90))


def test_interleaved_bulk_streams(stub):
    """Client- and server-streaming transfers share the connection's window;
    each must arrive whole."""
    chunk = 256 * 1024
    up = [stub.ClientStreamEcho.future(
        iter([echo_pb2.EchoRequest(payload=bytes([k]) * chunk) for _ in range(8)]),
        timeout=TIMEOUT) for k in range(6)]
    down = [stub.ServerStreamEcho(echo_pb2.EchoRequest(response_count=8, response_size=chunk),
                                  timeout=TIMEOUT) for _ in range(6)]
    for call in down:
        sizes = [len(r.payload) for r in call]
        assert sizes == [chunk] * 8
    for f in up:
        r = f.result(timeout=TIMEOUT)
        assert r.received_bytes == 8 * chunk
        assert r.received_messages == 8
