#!/usr/bin/env python3
"""A TCP proxy on loopback that holds every byte for DELAY_MS in each direction: a long link
(a round trip of twice the delay) for flow-control measurements, where netem is not available.

  delay_proxy.py TARGET_PORT DELAY_MS    prints "listening PORT" once it accepts connections

Each direction reads up to 1 MiB at a time and writes it DELAY_MS later, in order; past 64 MiB
waiting to be written it stops reading (TCP then slows the sender), so it adds delay, not a
bandwidth limit of its own beyond what one Python thread forwards.
"""

import asyncio
import sys

QUEUED_LIMIT = 64 << 20


async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    held = [0]  # bytes read and not yet handed to the writer

    def deliver(data: bytes) -> None:
        held[0] -= len(data)
        writer.write(data)

    try:
        while data := await reader.read(1 << 20):
            held[0] += len(data)
            loop.call_later(delay, deliver, data)
            while held[0] + writer.transport.get_write_buffer_size() > QUEUED_LIMIT:
                await asyncio.sleep(delay / 4)
                await writer.drain()
    except ConnectionError:
        pass
    finally:
        loop.call_later(delay, writer.close)


async def main(target_port: int, delay: float) -> None:
    async def connection(reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(forward(reader, upstream_writer, delay), forward(upstream_reader, writer, delay))

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) / 1000))
