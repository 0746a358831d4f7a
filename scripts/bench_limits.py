#!/usr/bin/env python3
"""Limits benchmark: what quotas and rate limits cost on the hot path.

Starts two release sluiced servers on fresh databases — one without limits, one with every
quota and rate limit configured but set high enough never to bite (so each call pays the
checks: the admission's bucket, the byte meter's pacing arithmetic, the quota reservation
in CreateSession) — and measures on each, over one mutual-TLS connection:

  - unary calls per second (SharingService.WhoAmI) from BENCH_LIMITS_CALLERS (default 8)
    concurrent callers for BENCH_LIMITS_SECONDS (default 5);
  - upload throughput of one BENCH_LIMITS_BYTES object (default 256 MiB) in 8 MiB partitions,
    4 at a time, committed (with CreateSession's quota reservation).

The two should be within noise. Prints a table and appends JSON lines to .data/bench/results.jsonl.
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
TOTAL = int(os.environ.get("BENCH_LIMITS_BYTES", 256 << 20))
PARTITION = 8 << 20
CHUNK = 1 << 20
NEVER_BITING = [
    "--quota-bytes", str(1 << 50), "--quota-objects", str(10**12), "--quota-sessions", str(10**6),
    "--rate-requests", str(10**9), "--rate-bytes-in", str(1 << 50), "--rate-bytes-out", str(1 << 50),
]


def partition(index: int) -> bytes:
    return random.Random(index).randbytes(min(PARTITION, TOTAL - index * PARTITION))


def measure(server: BenchServer, label: str) -> dict:
    import grpc
    from sluice.v1 import sharing_pb2 as sh, sharing_pb2_grpc as sh_grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc

    credentials = grpc.ssl_channel_credentials(
        (CERTS / "ca.pem").read_bytes(), (CERTS / "client-key.pem").read_bytes(), (CERTS / "client.pem").read_bytes())
    channel = grpc.secure_channel(server.address, credentials)
    sharing = sh_grpc.SharingServiceStub(channel)
    sessions = us_grpc.UploadSessionServiceStub(channel)
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
    unary_seconds, unary_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before

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
    upload_seconds, upload_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
    channel.close()
    return {
        "mode": "limits", "limits": label, "callers": CALLERS, "bytes": TOTAL,
        "unary_calls_per_s": round(sum(calls) / unary_seconds, 1),
        "unary_server_cpu_us_per_call": round(unary_cpu / max(1, sum(calls)) * 1e6, 1),
        "upload_mb_per_s": round(TOTAL / upload_seconds / 1e6, 1),
        "upload_server_cpu_s_per_gib": round(upload_cpu / (TOTAL / (1 << 30)), 3),
    }


def main() -> None:
    generate_stubs()
    results = []
    for label, args in (("none", []), ("configured", NEVER_BITING)):
        with BenchServer(f"limits_{label}", args=args) as server:
            results.append(measure(server, label))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(BENCH_DIR / "results.jsonl", "a") as out:
        for result in results:
            out.write(json.dumps(result) + "\n")
    print(f"\nquotas and rate limits ({CALLERS} unary callers for {SECONDS:g} s; "
          f"upload of {TOTAL >> 20} MiB in 8 MiB partitions, 4 at once)")
    print(f"{'limits':<12}{'unary calls/s':>15}{'server µs/call':>16}{'upload MB/s':>13}{'server CPU s/GiB':>18}")
    for r in results:
        print(f"{r['limits']:<12}{r['unary_calls_per_s']:>15}{r['unary_server_cpu_us_per_call']:>16}"
              f"{r['upload_mb_per_s']:>13}{r['upload_server_cpu_s_per_gib']:>18}")


if __name__ == "__main__":
    sys.exit(main())
