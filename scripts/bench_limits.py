#!/usr/bin/env python3
"""Limits benchmark: what quotas and rate limits cost on the hot path.

Starts two release sluiced servers on fresh databases, side by side — one without limits, one
with every quota and rate limit configured but set high enough never to bite (so each call pays
the checks: the request bucket, the byte meter's pacing arithmetic, the quota reservation in
CreateSession) — and measures on each, over one mutual-TLS connection:

  - unary calls per second and server CPU per call (SharingService.WhoAmI) from
    BENCH_LIMITS_CALLERS (default 8) concurrent callers for BENCH_LIMITS_SECONDS (default 5),
    in BENCH_LIMITS_ROUNDS (default 3) rounds that alternate between the two servers, so that
    load from elsewhere on the machine falls on both alike; the median round is reported;
  - upload throughput of one BENCH_LIMITS_BYTES object (default 256 MiB) in 8 MiB partitions,
    4 at a time, committed (with CreateSession's quota reservation).

The two should be within noise. Prints a table and appends JSON lines to .data/bench/results.jsonl.
Needs a release build (`swift build -c release`); BENCH_DATABASE_URL names an already running
PostgreSQL's `sluice` database instead of starting the project's own.
"""

import hashlib
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench_support import BENCH_DIR, CERTS, BenchServer, cpu_seconds
from bench_storage import generate_stubs

CALLERS = int(os.environ.get("BENCH_LIMITS_CALLERS", 8))
SECONDS = float(os.environ.get("BENCH_LIMITS_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_LIMITS_ROUNDS", 3))
TOTAL = int(os.environ.get("BENCH_LIMITS_BYTES", 256 << 20))
PARTITION = 8 << 20
CHUNK = 1 << 20
NEVER_BITING = [
    "--quota-bytes", str(1 << 50), "--quota-objects", str(10**12), "--quota-sessions", str(10**6),
    "--rate-requests", str(10**9), "--rate-bytes-in", str(1 << 50), "--rate-bytes-out", str(1 << 50),
]


def partition(index: int) -> bytes:
    return random.Random(index).randbytes(min(PARTITION, TOTAL - index * PARTITION))


def channel_to(server: BenchServer):
    import grpc
    credentials = grpc.ssl_channel_credentials(
        (CERTS / "ca.pem").read_bytes(), (CERTS / "client-key.pem").read_bytes(), (CERTS / "client.pem").read_bytes())
    return grpc.secure_channel(server.address, credentials)


def measure_unary(server: BenchServer) -> dict:
    """One round of WhoAmI calls from CALLERS threads for SECONDS."""
    from sluice.v1 import sharing_pb2 as sh, sharing_pb2_grpc as sh_grpc

    channel = channel_to(server)
    sharing = sh_grpc.SharingServiceStub(channel)
    sharing.WhoAmI(sh.WhoAmIRequest())
    calls = [0] * CALLERS
    stop = time.monotonic() + SECONDS

    def caller(i: int) -> None:
        while time.monotonic() < stop:
            sharing.WhoAmI(sh.WhoAmIRequest())
            calls[i] += 1

    cpu_before, started = cpu_seconds(server.pid), time.monotonic()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
    channel.close()
    return {"calls_per_s": round(sum(calls) / seconds, 1), "cpu_us_per_call": round(cpu / max(1, sum(calls)) * 1e6, 1)}


def measure_upload(server: BenchServer) -> dict:
    """One TOTAL-byte object in PARTITION-byte partitions, 4 at a time, committed."""
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc

    channel = channel_to(server)
    sessions = us_grpc.UploadSessionServiceStub(channel)
    count = (TOTAL + PARTITION - 1) // PARTITION
    hashes = [hashlib.sha256(partition(i)).digest() for i in range(count)]
    cpu_before, started = cpu_seconds(server.pid), time.monotonic()
    session = sessions.CreateSession(us.CreateSessionRequest(
        object_name="bench/limits", total_size=TOTAL, partition_size=PARTITION, partition_sha256=hashes))

    def send(index: int) -> None:
        data = partition(index)

        def messages():
            yield us.UploadPartitionRequest(target=us.PartitionTarget(
                session_id=session.session_id, partition_index=index))
            for offset in range(0, len(data), CHUNK):
                yield us.UploadPartitionRequest(data=data[offset:offset + CHUNK])
        sessions.UploadPartition(messages())

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(count)))
    sessions.CommitSession(us.CommitSessionRequest(session_id=session.session_id))
    seconds, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
    channel.close()
    return {"mb_per_s": round(TOTAL / seconds / 1e6, 1), "cpu_s_per_gib": round(cpu / (TOTAL / (1 << 30)), 3)}


def main() -> None:
    generate_stubs()
    with BenchServer("limits_none") as none, BenchServer("limits_configured", args=NEVER_BITING) as configured:
        servers = {"none": none, "configured": configured}
        rounds = {label: [] for label in servers}
        for _ in range(ROUNDS):
            for label, server in servers.items():
                rounds[label].append(measure_unary(server))
        uploads = {label: measure_upload(server) for label, server in servers.items()}
    results = []
    for label in servers:
        median = sorted(rounds[label], key=lambda r: r["cpu_us_per_call"])[len(rounds[label]) // 2]
        results.append({
            "mode": "limits", "limits": label, "callers": CALLERS, "bytes": TOTAL, "rounds": ROUNDS,
            "unary_calls_per_s": median["calls_per_s"],
            "unary_server_cpu_us_per_call": median["cpu_us_per_call"],
            "unary_server_cpu_us_per_call_rounds": [r["cpu_us_per_call"] for r in rounds[label]],
            "upload_mb_per_s": uploads[label]["mb_per_s"],
            "upload_server_cpu_s_per_gib": uploads[label]["cpu_s_per_gib"],
        })
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(BENCH_DIR / "results.jsonl", "a") as out:
        for result in results:
            out.write(json.dumps(result) + "\n")
    print(f"\nquotas and rate limits ({CALLERS} unary callers for {SECONDS:g} s, median of {ROUNDS} alternating "
          f"rounds; upload of {TOTAL >> 20} MiB in 8 MiB partitions, 4 at once)")
    print(f"{'limits':<12}{'unary calls/s':>15}{'server µs/call':>16}{'upload MB/s':>13}{'server CPU s/GiB':>18}"
          "  µs/call by round")
    for r in results:
        spread = " ".join(f"{v:g}" for v in r["unary_server_cpu_us_per_call_rounds"])
        print(f"{r['limits']:<12}{r['unary_calls_per_s']:>15}{r['unary_server_cpu_us_per_call']:>16}"
              f"{r['upload_mb_per_s']:>13}{r['upload_server_cpu_s_per_gib']:>18}  {spread}")


if __name__ == "__main__":
    sys.exit(main())
