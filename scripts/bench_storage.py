#!/usr/bin/env python3
"""Storage benchmark: a multi-GiB object through the whole product path.

Starts a release sluiced on a fresh database of the project-local PostgreSQL and a blob folder
under .data/bench (then again with its blobs in S3: a local moto server, as in the tests),
uploads one object of BENCH_STORAGE_BYTES (default 2 GiB) as partitions of
BENCH_STORAGE_PARTITION (default 64 MiB) with BENCH_STORAGE_PARALLEL (default 4) concurrent
UploadPartition calls over one mutual-TLS connection, commits it, then reads it back with
ReadObject. It reports, from this one run:

  - durable upload throughput (every partition fsync'ed, renamed and recorded before it is
    acknowledged) beside the disk's own sequential write with fdatasync, measured with dd here;
  - read-back throughput;
  - with S3, the S3 server's own throughput for the same partitions through boto3 (PUT with a
    SHA-256 checksum, GET), so that sluiced's S3 numbers can be read against what the server
    manages at all (BENCH_STORAGE_S3=0 skips the S3 run; BENCH_S3_BYTES sizes it, default 1 GiB);
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

sys.path.insert(0, str(ROOT / "Tests" / "Interop"))

DISK_TOTAL = int(os.environ.get("BENCH_STORAGE_BYTES", 2 << 30))
S3_TOTAL = int(os.environ.get("BENCH_S3_BYTES", 1 << 30))
TOTAL = DISK_TOTAL
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


def measure(server: BenchServer, label: str) -> dict:
    """Uploads and reads back one TOTAL-byte object through `server`; the readings as a dict."""
    import grpc
    from sluice.v1 import objects_pb2 as ob, objects_pb2_grpc as ob_grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc

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
    channel.close()

    gib = TOTAL / (1 << 30)
    return {
        "mode": "storage", "store": label, "bytes": TOTAL, "partition_size": PARTITION, "parallel": PARALLEL,
        "upload_mb_per_s": round(TOTAL / upload_seconds / 1e6, 1),
        "upload_server_cpu_s_per_gib": round(upload_cpu / gib, 3),
        "download_mb_per_s": round(TOTAL / download_seconds / 1e6, 1),
        "download_server_cpu_s_per_gib": round(download_cpu / gib, 3),
        "rss_idle_mib": round(rss_idle / 1024, 1),
        "rss_peak_upload_mib": round(max(upload_rss.samples, default=0) / 1024, 1),
        "rss_peak_download_mib": round(max(download_rss.samples, default=0) / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
    }


def s3_server_alone(moto, bucket: str) -> dict:
    """The S3 server's own PUT (with a SHA-256 checksum) and GET rates for the same partitions,
    PARALLEL at a time, through boto3: the ceiling for sluiced's S3 numbers."""
    import base64
    client = moto.client()
    count = (TOTAL + PARTITION - 1) // PARTITION

    def put(index: int) -> None:
        data = partition_bytes(index)
        client.put_object(Bucket=bucket, Key=f"ceiling/{index}", Body=data,
                          ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode())

    def get(index: int) -> int:
        return len(client.get_object(Bucket=bucket, Key=f"ceiling/{index}")["Body"].read())

    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(put, range(count)))
    put_seconds, started = time.monotonic() - started, time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        received = sum(pool.map(get, range(count)))
    get_seconds = time.monotonic() - started
    assert received == TOTAL
    for index in range(count):
        client.delete_object(Bucket=bucket, Key=f"ceiling/{index}")
    return {"put_mb_per_s": round(TOTAL / put_seconds / 1e6, 1), "get_mb_per_s": round(TOTAL / get_seconds / 1e6, 1)}


def report(result: dict, baseline: str) -> None:
    print(f"  {result['store']:4} upload (create, partitions, commit): {result['upload_mb_per_s']:8.1f} MB/s"
          f"  ({baseline}); server {result['upload_server_cpu_s_per_gib']:.2f} CPU-s/GiB")
    print(f"  {result['store']:4} read back (ReadObject):              {result['download_mb_per_s']:8.1f} MB/s;"
          f"  server {result['download_server_cpu_s_per_gib']:.2f} CPU-s/GiB")
    print(f"  {result['store']:4} server RSS: idle {result['rss_idle_mib']} MiB, peak during upload "
          f"{result['rss_peak_upload_mib']} MiB, during read {result['rss_peak_download_mib']} MiB, "
          f"after {result['rss_end_mib']} MiB")


def main() -> None:
    global TOTAL
    generate_stubs()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = []

    TOTAL = DISK_TOTAL
    disk = disk_fdatasync_mb_per_s(BENCH_DIR, min(TOTAL >> 20, 1024))
    with BenchServer("storage") as server:
        result = measure(server, "disk")
    result["disk_fdatasync_mb_per_s"] = round(disk, 1)
    result["upload_share_of_disk"] = round(result["upload_mb_per_s"] / disk, 3)
    results.append(result)
    print(f"\nStorage path: one object, {PARTITION >> 20} MiB partitions, {PARALLEL} parallel uploads, "
          f"mutual TLS, PostgreSQL metadata")
    print(f"  disk sequential write with fdatasync (dd):      {disk:8.1f} MB/s")
    report(result, f"{result['upload_share_of_disk']:.0%} of the disk; {DISK_TOTAL / (1 << 30):.1f} GiB, every partition fsync'ed")

    if os.environ.get("BENCH_STORAGE_S3", "1") == "1":
        import s3_support
        TOTAL = S3_TOTAL
        moto = s3_support.MotoServer(str(BENCH_DIR / "moto")).start()
        try:
            bucket = moto.create_bucket("sluice-bench")
            ceiling = s3_server_alone(moto, bucket)
            with BenchServer("storage_s3", blobs=f"s3://{bucket}/bench?endpoint={moto.endpoint}",
                             env=s3_support.aws_env(dict(os.environ))) as server:
                result = measure(server, "s3")
        finally:
            moto.stop()
        result["s3_server_put_mb_per_s"] = ceiling["put_mb_per_s"]
        result["s3_server_get_mb_per_s"] = ceiling["get_mb_per_s"]
        result["upload_share_of_s3_put"] = round(result["upload_mb_per_s"] / ceiling["put_mb_per_s"], 3)
        results.append(result)
        print(f"  S3 server alone (moto, boto3, {PARALLEL} parallel): PUT {ceiling['put_mb_per_s']:.1f} MB/s, "
              f"GET {ceiling['get_mb_per_s']:.1f} MB/s ({S3_TOTAL / (1 << 30):.1f} GiB)")
        report(result, f"{result['upload_share_of_s3_put']:.0%} of the S3 server's PUT rate")

    with open(BENCH_DIR / "results.jsonl", "a") as out:
        for result in results:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
