#!/usr/bin/env python3
"""Storage benchmark: a multi-GiB object through the whole product path.

Starts a release sluiced on a fresh database of the project-local PostgreSQL and a blob folder
under .data/bench, uploads one object of BENCH_STORAGE_BYTES (default 2 GiB) as partitions of
BENCH_STORAGE_PARTITION (default 64 MiB) with BENCH_STORAGE_PARALLEL (default 4) concurrent
UploadPartition calls over one mutual-TLS connection, commits it, then reads it back with
ReadObject. It reports, from this one run:

  - durable upload throughput (every partition fsync'ed, renamed and recorded before it is
    acknowledged) beside the disk's own sequential write with fdatasync, measured with dd here;
  - read-back throughput;
  - the server's CPU seconds per GiB for each direction (/proc/PID/stat, all threads);
  - the server's resident memory (VmRSS) sampled every 100 ms: at start, peak, and at the end,
    which shows whether memory stays flat while GiBs stream through.

Partition bytes come from a seeded generator, so they are all distinct (no deduplication) and
can be produced twice (once to hash, once to send) without holding the object in memory.
Prints a table and appends one JSON line to .data/bench/results.jsonl.
"""

import hashlib
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_support import BENCH_DIR, CERTS, ROOT, BenchServer, Sampler, cpu_seconds, disk_fdatasync_mb_per_s, rss_kib

TOTAL = int(os.environ.get("BENCH_STORAGE_BYTES", 2 << 30))
PARTITION = int(os.environ.get("BENCH_STORAGE_PARTITION", 64 << 20))
PARALLEL = int(os.environ.get("BENCH_STORAGE_PARALLEL", 4))
CHUNK = 1 << 20


def partition_bytes(index: int) -> bytes:
    size = min(PARTITION, TOTAL - index * PARTITION)
    return random.Random(index).randbytes(size)


def generate_stubs() -> Path:
    out = Path(tempfile.mkdtemp(prefix="sluice-bench-stubs-"))
    from grpc_tools import protoc
    import grpc_tools
    include = Path(grpc_tools.__file__).parent / "_proto"
    protos = [str(p.relative_to(ROOT / "Protos")) for p in (ROOT / "Protos" / "sluice" / "v1").glob("*.proto")]
    if protoc.main(["protoc", f"-I{ROOT / 'Protos'}", f"-I{include}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *protos]) != 0:
        sys.exit("bench_storage: protoc failed")
    sys.path.insert(0, str(out))
    return out


def main() -> None:
    import grpc
    generate_stubs()
    from sluice.v1 import objects_pb2 as ob, objects_pb2_grpc as ob_grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    disk = disk_fdatasync_mb_per_s(BENCH_DIR, min(TOTAL >> 20, 1024))
    with BenchServer("storage") as server:
        credentials = grpc.ssl_channel_credentials(
            (CERTS / "ca.pem").read_bytes(), (CERTS / "client-key.pem").read_bytes(),
            (CERTS / "client.pem").read_bytes())
        options = [("grpc.max_receive_message_length", 8 << 20)]
        channel = grpc.secure_channel(server.address, credentials, options=options)
        sessions = us_grpc.UploadSessionServiceStub(channel)
        objects = ob_grpc.ObjectServiceStub(channel)
        count = (TOTAL + PARTITION - 1) // PARTITION
        hashes = [hashlib.sha256(partition_bytes(i)).digest() for i in range(count)]
        rss_idle = rss_kib(server.pid)

        session = sessions.CreateSession(us.CreateSessionRequest(
            object_name="bench/object", total_size=TOTAL, partition_size=PARTITION, partition_sha256=hashes))

        def send(index: int) -> None:
            data = partition_bytes(index)

            def messages():
                yield us.UploadPartitionRequest(target=us.PartitionTarget(
                    session_id=session.session_id, partition_index=index))
                for offset in range(0, len(data), CHUNK):
                    yield us.UploadPartitionRequest(data=data[offset:offset + CHUNK])
            sessions.UploadPartition(messages())

        cpu_before, started = cpu_seconds(server.pid), time.monotonic()
        with Sampler(server.pid) as upload_rss, ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(send, range(count)))
            sessions.CommitSession(us.CommitSessionRequest(session_id=session.session_id))
        upload_seconds, upload_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before

        cpu_before, started, received = cpu_seconds(server.pid), time.monotonic(), 0
        with Sampler(server.pid) as download_rss:
            for message in objects.ReadObject(ob.ReadObjectRequest(name="bench/object")):
                received += len(message.data)
        download_seconds, download_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
        if received != TOTAL:
            sys.exit(f"bench_storage: read back {received} bytes of {TOTAL}")
        rss_end = rss_kib(server.pid)

    gib = TOTAL / (1 << 30)
    result = {
        "mode": "storage", "bytes": TOTAL, "partition_size": PARTITION, "parallel": PARALLEL,
        "disk_fdatasync_mb_per_s": round(disk, 1),
        "upload_mb_per_s": round(TOTAL / upload_seconds / 1e6, 1),
        "upload_share_of_disk": round(TOTAL / upload_seconds / 1e6 / disk, 3),
        "upload_server_cpu_s_per_gib": round(upload_cpu / gib, 3),
        "download_mb_per_s": round(TOTAL / download_seconds / 1e6, 1),
        "download_server_cpu_s_per_gib": round(download_cpu / gib, 3),
        "rss_idle_mib": round(rss_idle / 1024, 1),
        "rss_peak_upload_mib": round(max(upload_rss.samples, default=0) / 1024, 1),
        "rss_peak_download_mib": round(max(download_rss.samples, default=0) / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
    }
    with open(BENCH_DIR / "results.jsonl", "a") as results:
        results.write(json.dumps(result) + "\n")
    print(f"\nStorage path: one {gib:.1f} GiB object, {PARTITION >> 20} MiB partitions, "
          f"{PARALLEL} parallel uploads, mutual TLS, PostgreSQL + disk blobs")
    print(f"  disk sequential write with fdatasync (dd): {result['disk_fdatasync_mb_per_s']:8.1f} MB/s")
    print(f"  durable upload (create, partitions, commit): {result['upload_mb_per_s']:8.1f} MB/s"
          f"  = {result['upload_share_of_disk']:.0%} of the disk;"
          f" server {result['upload_server_cpu_s_per_gib']:.2f} CPU-s/GiB")
    print(f"  read back (ReadObject):                      {result['download_mb_per_s']:8.1f} MB/s;"
          f" server {result['download_server_cpu_s_per_gib']:.2f} CPU-s/GiB")
    print(f"  server RSS: idle {result['rss_idle_mib']} MiB, peak during upload "
          f"{result['rss_peak_upload_mib']} MiB, during read {result['rss_peak_download_mib']} MiB, "
          f"after {result['rss_end_mib']} MiB")


if __name__ == "__main__":
    main()
