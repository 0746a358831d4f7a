"""The change feed under load, from the outside: 1,000 watchers on one sluiced stay within
the memory budget the README states, and a watcher whose client stops reading is held by
flow control (the server's memory stays bounded) and, once it is far behind, ended with
ABORTED naming the cursor to resume from."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

import interop_support as sup
import raw_h2
import storage_support as ss
import feed_support as fs
from sluice.v1 import changes_pb2 as ch_pb
from sluice.v1 import changes_pb2_grpc as ch_grpc

pytestmark = ss.only_blob_stores("disk")   # the feed lives in PostgreSQL, whatever the store

WATCHERS = 1000
PER_CONNECTION = 200
# README "Change feed": 1,000 idle watchers cost sluiced at most this much resident memory.
WATCHER_BUDGET_KIB = 64 * 1024


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_thousand_watchers_stay_within_the_memory_budget(storage):
    server = storage.server()
    pid = server.mp.proc.pid
    client = server.client()
    cursor = client.list_objects(page_size=1).change_cursor
    client.put_object("warm-up", b"w")        # the server's pools and caches are in use
    before = rss_kib(pid)

    async def run() -> tuple[int, int]:
        creds = sup.channel_credentials(server.certs, "client")
        channels = [grpc.aio.secure_channel(server.address, creds, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(WATCHERS // PER_CONNECTION)]
        received: list[int] = [0] * WATCHERS

        async def watch(i: int) -> None:
            stub = ch_grpc.ChangeServiceStub(channels[i // PER_CONNECTION])
            try:
                async for response in stub.WatchChanges(ch_pb.WatchChangesRequest(cursor=cursor), timeout=120):
                    received[i] += sum(1 for c in response.changes if c.name == "fan-out")
            except grpc.aio.AioRpcError:
                pass

        tasks = [asyncio.create_task(watch(i)) for i in range(WATCHERS)]
        await asyncio.sleep(1)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: client.put_object("fan-out", b"f"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(1 for r in received if r) < WATCHERS:
            await asyncio.sleep(0.2)
        reached = sum(1 for r in received if r)
        await asyncio.sleep(1)                      # every watcher back to waiting
        idle = rss_kib(pid)
        for task in tasks:
            task.cancel()
        for channel in channels:
            await channel.close()
        return reached, idle

    reached, idle = asyncio.run(run())
    assert reached == WATCHERS, f"only {reached} of {WATCHERS} watchers got the change"
    growth = idle - before
    print(f"RSS {before} KiB -> {idle} KiB with {WATCHERS} watchers ({growth / WATCHERS:.1f} KiB each)")
    assert growth <= WATCHER_BUDGET_KIB, f"{WATCHERS} watchers grew sluiced by {growth} KiB"
    server.assert_alive()


def test_watcher_that_stops_reading_is_held_then_aborted_with_its_cursor(storage, postgres):
    server = storage.server()
    pid = server.mp.proc.pid
    client = server.client()
    start = client.list_objects(page_size=1).change_cursor
    owner = int(postgres.run("SELECT id FROM principals ORDER BY id LIMIT 1", url=server.database_url))
    bulk = 30000
    # Many changes at once, written as ChangeLog.record would (position from the counter).
    postgres.run(f"""
        WITH n AS (UPDATE change_log_state SET last_position = last_position + {bulk} RETURNING last_position)
        INSERT INTO changes (position, kind, owner_id, name, actor_id, version, size, sha256, committed_at)
        SELECT n.last_position - {bulk} + g, 'version_created', {owner}, 'bulk/' || g, {owner}, 1, 0,
            '\\x00'::bytea, now() FROM n, generate_series(1, {bulk}) g;
        SELECT pg_notify('sluice_changes', 'bulk');
        """, url=server.database_url)
    before = rss_kib(pid)
    raw = raw_h2.RawH2("127.0.0.1", server.port, server.certs, "client").connect(window=4096)
    try:
        sid = raw.new_stream()
        raw.send_headers(sid, raw.request_headers("/sluice.v1.ChangeService/WatchChanges"))
        raw.send_data(sid, raw_h2.grpc_frame(ch_pb.WatchChangesRequest(cursor=start).SerializeToString()),
                      end_stream=True)
        time.sleep(4)                      # not reading: the server is held by the 4 KiB window
        held = rss_kib(pid)
        assert held - before < 64 * 1024, f"a stalled watcher grew sluiced by {held - before} KiB"
        result = raw.wait(sid, timeout=60)
    finally:
        raw.close()
    assert result.grpc_status == grpc.StatusCode.ABORTED.value[0], (result.grpc_status, result.grpc_message)
    message = result.grpc_message or ""
    assert "watch again from cursor c1." in message, message
    resume = message.rsplit("cursor ", 1)[1].strip()
    # Every change before the named cursor was delivered, and resuming from it goes on from there.
    got = [ch_pb.WatchChangesResponse.FromString(m) for m in result.messages()]
    delivered = [c for r in got for c in r.changes]
    assert delivered and fs.position(delivered[-1].cursor) <= fs.position(resume)
    assert [fs.position(c.cursor) for c in delivered] == list(
        range(fs.position(start) + 1, fs.position(start) + 1 + len(delivered)))
    page = fs.changes_stub(client).ListChanges(ch_pb.ListChangesRequest(cursor=resume, page_size=1), timeout=30)
    assert fs.position(page.changes[0].cursor) == fs.position(resume) + 1


def test_watcher_whose_client_takes_nothing_is_aborted_after_the_stall_limit(storage, postgres):
    """Not far behind, but its client takes nothing for --change-watch-stall-timeout: the
    watch ends with ABORTED naming the cursor (before the transport would reset it)."""
    server = storage.server(change_watch_stall_timeout=2)
    client = server.client()
    start = client.list_objects(page_size=1).change_cursor
    owner = int(postgres.run("SELECT id FROM principals ORDER BY id LIMIT 1", url=server.database_url))
    bulk = 500                       # far fewer than the 10,000 that count as behind
    postgres.run(f"""
        WITH n AS (UPDATE change_log_state SET last_position = last_position + {bulk} RETURNING last_position)
        INSERT INTO changes (position, kind, owner_id, name, actor_id, version, size, sha256, committed_at)
        SELECT n.last_position - {bulk} + g, 'version_created', {owner}, 'stall/' || g, {owner}, 1, 0,
            '\\x00'::bytea, now() FROM n, generate_series(1, {bulk}) g;
        SELECT pg_notify('sluice_changes', 'bulk');
        """, url=server.database_url)
    raw = raw_h2.RawH2("127.0.0.1", server.port, server.certs, "client").connect(window=4096)
    try:
        sid = raw.new_stream()
        raw.send_headers(sid, raw.request_headers("/sluice.v1.ChangeService/WatchChanges"))
        raw.send_data(sid, raw_h2.grpc_frame(ch_pb.WatchChangesRequest(cursor=start).SerializeToString()),
                      end_stream=True)
        time.sleep(5)                      # not reading for longer than the 2 s limit
        result = raw.wait(sid, timeout=60)
    finally:
        raw.close()
    assert result.grpc_status == grpc.StatusCode.ABORTED.value[0], (result.grpc_status, result.grpc_message)
    assert "took nothing" in (result.grpc_message or "") and "watch again from cursor c1." in result.grpc_message
    delivered = [c for m in result.messages() for c in ch_pb.WatchChangesResponse.FromString(m).changes]
    resume = result.grpc_message.rsplit("cursor ", 1)[1].strip()
    assert delivered and fs.position(delivered[-1].cursor) == fs.position(resume)
