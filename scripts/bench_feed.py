#!/usr/bin/env python3
"""Change feed benchmark: latency from a commit's acknowledgement to its event at the
watchers, and what an idle watcher costs the server.

Starts a sluiced (release; BENCH_SLUICED names another binary) on a fresh database, opens 1,
100 and 1,000 WatchChanges streams (at most 200 per connection, as distinct grpc.aio
channels), then commits BENCH_FEED_COMMITS (default 20) small objects one after another
(BENCH_FEED_GAP seconds apart, default 0.2) and records, for every watcher and commit, the
time from CommitSession's answer to the event's arrival. Reports p50 and p99 per watcher
count, the server's resident memory (VmRSS) before and with 1,000 idle watchers, and its CPU
time over BENCH_FEED_IDLE seconds (default 10) with those watchers idle. Then what idle
watchers cost the others' writes: one principal commits 1-byte PutObjects from 4 callers for
BENCH_FEED_HERD_SECONDS (default 10), alone and then with 1,000 idle watchers of another
principal (a prefix that matches nothing; each commit wakes them all), and the commit rate and
p50/p99 latency of both runs are reported. Appends one JSON line to .data/bench/results.jsonl.

The database: $SLUICE_TEST_DATABASE_URL when set (a running PostgreSQL), else the
project-local cluster (scripts/postgres.sh), as the other benchmarks use.
"""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_support import BENCH_DIR, CERTS, ROOT, BenchServer, cpu_seconds, rss_kib
from bench_storage import generate_stubs

COMMITS = int(os.environ.get("BENCH_FEED_COMMITS", 20))
GAP = float(os.environ.get("BENCH_FEED_GAP", 0.2))
IDLE = float(os.environ.get("BENCH_FEED_IDLE", 10))
HERD_SECONDS = float(os.environ.get("BENCH_FEED_HERD_SECONDS", 10))
PER_CONNECTION = 200
COUNTS = (1, 100, 1000)


class ExternalDatabaseServer(BenchServer):
    """BenchServer on $SLUICE_TEST_DATABASE_URL instead of the project-local cluster."""

    def __enter__(self):
        base = os.environ["SLUICE_TEST_DATABASE_URL"]
        self.database = f"sluice_bench_feed_{os.getpid()}"
        subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {self.database}"], check=True, capture_output=True)
        self.base_url = base
        self.blobs = BENCH_DIR / "blobs-feed"
        url = base.replace("/sluice?", f"/{self.database}?", 1)
        self.process = subprocess.Popen(
            [str(self.sluiced), "--listen", self.address, "--cert", str(CERTS / "server.pem"),
             "--key", str(CERTS / "server-key.pem"), "--client-ca", str(CERTS / "ca.pem"),
             "--require-client-cert", "--database", url, "--blobs", f"file://{self.blobs}",
             "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "listening" not in (self.process.stdout.readline() or ""):
            self.__exit__()
            sys.exit("bench_feed: sluiced did not start")
        self.pid = self.process.pid
        return self


def credentials(who: str = "client"):
    import grpc
    return grpc.ssl_channel_credentials(
        (CERTS / "ca.pem").read_bytes(), (CERTS / f"{who}-key.pem").read_bytes(), (CERTS / f"{who}.pem").read_bytes())


async def put_rate(objects, ob, label: str, seconds: float, callers: int = 4) -> tuple[float, list[float]]:
    """Commits per second, and each commit's latency (sorted), of `callers` PutObject loops."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def caller(k: int) -> None:
        i = 0
        while time.monotonic() < stop:
            data = os.urandom(1)
            started = time.monotonic()
            await objects.PutObject(ob.PutObjectRequest(
                name=f"herd/{label}/{k}/{i}", data=data, sha256=hashlib.sha256(data).digest()))
            latencies.append(time.monotonic() - started)
            i += 1
    await asyncio.gather(*(caller(k) for k in range(callers)))
    return len(latencies) / seconds, sorted(latencies)


async def herd(server, objects, ob, result: dict) -> None:
    """The commit rate of one principal alone, then beside 1,000 idle watchers of another."""
    import grpc
    from sluice.v1 import changes_pb2 as ch, changes_pb2_grpc as ch_grpc

    async def watch(stub):
        try:
            async for _ in stub.WatchChanges(ch.WatchChangesRequest(prefix="herd-nothing/")):
                pass
        except grpc.aio.AioRpcError:
            pass

    count = COUNTS[-1]
    channels = [grpc.aio.secure_channel(server.address, credentials("client2"))
                for _ in range((count + PER_CONNECTION - 1) // PER_CONNECTION)]
    for label, watchers in (("alone", 0), ("beside", count)):
        tasks = [asyncio.create_task(watch(ch_grpc.ChangeServiceStub(channels[i // PER_CONNECTION])))
                 for i in range(watchers)]
        await asyncio.sleep(2 + watchers / 200)      # every stream open and waiting
        rate, latencies = await put_rate(objects, ob, label, HERD_SECONDS)
        result[f"herd_commits_per_s_{watchers}"] = round(rate, 1)
        result[f"herd_put_ms_p50_{watchers}"] = round(1000 * latencies[len(latencies) // 2], 1)
        result[f"herd_put_ms_p99_{watchers}"] = round(1000 * latencies[int(len(latencies) * 0.99)], 1)
        for task in tasks:
            task.cancel()
    for channel in channels:
        await channel.close()


async def commit(sessions, us, name: str, data: bytes) -> float:
    digest = hashlib.sha256(data).digest()
    session = await sessions.CreateSession(us.CreateSessionRequest(
        object_name=name, total_size=len(data), partition_size=1 << 20, partition_sha256=[digest],
        object_sha256=digest))

    async def parts():
        yield us.UploadPartitionRequest(target=us.PartitionTarget(session_id=session.session_id, partition_index=0))
        yield us.UploadPartitionRequest(data=data)
    await sessions.UploadPartition(parts())
    await sessions.CommitSession(us.CommitSessionRequest(session_id=session.session_id))
    return time.monotonic()


async def run(server) -> dict:
    import grpc
    from sluice.v1 import changes_pb2 as ch, changes_pb2_grpc as ch_grpc
    from sluice.v1 import objects_pb2 as ob, objects_pb2_grpc as ob_grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc

    control = grpc.aio.secure_channel(server.address, credentials())
    sessions = us_grpc.UploadSessionServiceStub(control)
    objects = ob_grpc.ObjectServiceStub(control)
    result = {"bench": "feed", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    result["rss_kib_before_watchers"] = rss_kib(server.pid)
    for count in COUNTS:
        channels = [grpc.aio.secure_channel(server.address, credentials())
                    for _ in range((count + PER_CONNECTION - 1) // PER_CONNECTION)]
        cursor = (await objects.ListObjects(ob.ListObjectsRequest(page_size=1))).change_cursor
        arrivals: dict[str, list[float]] = {}

        async def watch(stub):
            call = stub.WatchChanges(ch.WatchChangesRequest(cursor=cursor))
            try:
                async for response in call:
                    now = time.monotonic()
                    for change in response.changes:
                        arrivals.setdefault(change.name, []).append(now)
            except grpc.aio.AioRpcError:
                pass
            return call

        stubs = [ch_grpc.ChangeServiceStub(channels[i // PER_CONNECTION]) for i in range(count)]
        tasks = [asyncio.create_task(watch(stub)) for stub in stubs]
        await asyncio.sleep(2 + count / 200)         # every stream open and waiting
        if count == COUNTS[-1]:
            result["rss_kib_idle_watchers"] = rss_kib(server.pid)
            cpu = cpu_seconds(server.pid)
            await asyncio.sleep(IDLE)
            result["idle_cpu_s_per_s"] = round((cpu_seconds(server.pid) - cpu) / IDLE, 4)
        acknowledged = {}
        for i in range(COMMITS):
            name = f"bench/{count}/{i}"
            acknowledged[name] = await commit(sessions, us, name, os.urandom(64))
            await asyncio.sleep(GAP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(len(v) for v in arrivals.values()) < count * COMMITS:
            await asyncio.sleep(0.1)
        latencies = sorted(max(0.0, t - acknowledged[name]) for name, times in arrivals.items()
                           if name in acknowledged for t in times)
        received = len(latencies)
        for task in tasks:
            task.cancel()
        for channel in channels:
            await channel.close()
        if latencies:
            result[f"latency_ms_p50_{count}"] = round(1000 * latencies[len(latencies) // 2], 2)
            result[f"latency_ms_p99_{count}"] = round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2)
        result[f"events_received_{count}"] = f"{received}/{count * COMMITS}"
    await herd(server, objects, ob, result)
    await control.close()
    if "rss_kib_idle_watchers" in result:
        result["rss_kib_per_idle_watcher"] = round(
            (result["rss_kib_idle_watchers"] - result["rss_kib_before_watchers"]) / COUNTS[-1], 1)
    return result


def main() -> None:
    generate_stubs()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    sluiced = Path(os.environ.get("BENCH_SLUICED", ROOT / ".build" / "release" / "sluiced"))
    kind = ExternalDatabaseServer if os.environ.get("SLUICE_TEST_DATABASE_URL") else BenchServer
    with kind("feed", sluiced=sluiced) as server:
        result = asyncio.run(run(server))
    result["sluiced"] = str(sluiced.relative_to(ROOT)) if sluiced.is_relative_to(ROOT) else str(sluiced)
    print(f"\nChange feed: commit acknowledged -> event received, {COMMITS} commits, mutual TLS")
    for count in COUNTS:
        print(f"  {count:5d} watchers: p50 {result.get(f'latency_ms_p50_{count}', '-')} ms, "
              f"p99 {result.get(f'latency_ms_p99_{count}', '-')} ms "
              f"(events {result[f'events_received_{count}']})")
    print(f"  idle watcher: {result.get('rss_kib_per_idle_watcher', '-')} KiB of server RSS each "
          f"({result['rss_kib_before_watchers']} -> {result.get('rss_kib_idle_watchers', '-')} KiB for "
          f"{COUNTS[-1]}), server CPU {result.get('idle_cpu_s_per_s', '-')} s/s with {COUNTS[-1]} idle")
    for watchers in (0, COUNTS[-1]):
        print(f"  another principal's 1-byte PutObjects (4 callers) beside {watchers:4d} idle watchers: "
              f"{result[f'herd_commits_per_s_{watchers}']}/s, p50 {result[f'herd_put_ms_p50_{watchers}']} ms, "
              f"p99 {result[f'herd_put_ms_p99_{watchers}']} ms")
    with open(BENCH_DIR / "results.jsonl", "a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
