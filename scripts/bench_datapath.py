#!/usr/bin/env python3
"""Data-path benchmark (issue 12): small objects, small partitions, and commit cost, each beside
the machine limit it is bound by, measured in the same run. Against a release sluiced over
mutual TLS on loopback (PostgreSQL metadata, disk blobs):

  - PutObject rate: 4 KiB objects (BENCH_DATAPATH_SMALL bytes), one caller and 16 concurrent
    callers on one connection, for BENCH_DATAPATH_SECONDS each; beside the same number of
    threads creating, writing and fsyncing 4 KiB files (plus a directory fsync) in a loop —
    the ceiling of "acknowledged means durable" one object at a time — and beside the
    three-call session path (create, upload, commit) with one caller;
  - `sluice upload` / `sluice download` of a BENCH_DATAPATH_BYTES file (default 1 GiB) in
    128 KiB and in 8 MiB partitions, --parallel 8, and in 8 MiB partitions with
    --no-whole-sha256 (no whole-object hash: one SHA-256 pass per byte on the server): seconds,
    MB/s, client and server CPU-s/GiB;
    beside dd with fdatasync, and the server's CPU as a multiple of one SHA-256 and one
    AES-128-GCM pass per byte (`openssl speed`, the same run);
  - many streams at once: BENCH_DATAPATH_STREAMS (default 1,000) concurrent UploadPartition calls
    over BENCH_DATAPATH_CONNECTIONS (default 50) connections, each a distinct 1 MiB partition
    sent as 256 KiB messages (grpc.aio), then one commit per connection: errors, time, and the
    server's resident memory before, at its peak (sampled every 100 ms) and 6 s after;
  - memory during a large transfer: `sluice upload` then `sluice download` of a
    BENCH_DATAPATH_MEMORY_BYTES file (default 4 GiB; 0 skips it), --parallel 8, default partition
    size: the server's resident memory before each (settled) and its peak growth above that;
  - a long link: `sluice upload` of a BENCH_DATAPATH_LONG_LINK_BYTES file (default 256 MiB; 0
    skips it) on one stream (--parallel 1, 64 MiB partitions) through scripts/delay_proxy.py
    (BENCH_DATAPATH_LONG_LINK_DELAY_MS each way, default 25: a 50 ms round trip), against a
    server whose stream window is fixed at 2 MiB (--max-stream-window 2097152) and one with
    the default (it grows towards 16 MiB while the window holds the client back); beside the
    fixed window's own bound (window / round trip); then `sluice download` of it on one stream
    through the same proxy (the CLI's window starts at 8 MiB and may grow to 64 MiB);
  - CommitSession time of objects of BENCH_DATAPATH_COMMIT_SIZES (default 64 MiB and 1 GiB,
    8 MiB partitions, uploaded in parallel so the commit cannot know the whole hash): it does
    not grow with the size; the verifier's settling time after it (reading the object) does.

Uses BENCH_DATABASE_URL instead of the project's scripts/postgres.sh when set, and
BENCH_SLUICED / BENCH_SLUICE for other binaries (a debug build checks the script works;
its figures mean nothing). Prints a table and appends JSON lines to .data/bench/results.jsonl.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_support import (BENCH_DIR, CERTS, ROOT, BenchServer, Sampler, cpu_seconds, disk_fdatasync_mb_per_s,
                           openssl_cpu_s_per_gib,
                           postgres_cpu_seconds, rss_kib)
from bench_cli import SLUICE, make_file, sha256_of
from bench_storage import generate_stubs

SMALL = int(os.environ.get("BENCH_DATAPATH_SMALL", 4096))
SECONDS = float(os.environ.get("BENCH_DATAPATH_SECONDS", 5))
BYTES = int(os.environ.get("BENCH_DATAPATH_BYTES", 1 << 30))
COMMIT_SIZES = [int(s) for s in os.environ.get("BENCH_DATAPATH_COMMIT_SIZES", f"{64 << 20} {1 << 30}").split()]
STREAMS = int(os.environ.get("BENCH_DATAPATH_STREAMS", 1000))
MEMORY_BYTES = int(os.environ.get("BENCH_DATAPATH_MEMORY_BYTES", 4 << 30))
CONNECTIONS = int(os.environ.get("BENCH_DATAPATH_CONNECTIONS", 50))
LONG_LINK_BYTES = int(os.environ.get("BENCH_DATAPATH_LONG_LINK_BYTES", 256 << 20))
LONG_LINK_DELAY_MS = float(os.environ.get("BENCH_DATAPATH_LONG_LINK_DELAY_MS", 25))
FIXED_WINDOW = 2 << 20
STREAM_BYTES, STREAM_MESSAGE = 1 << 20, 256 << 10
SLUICED = Path(os.environ.get("BENCH_SLUICED", ROOT / ".build" / "release" / "sluiced"))


def channel_to(server):
    import grpc
    credentials = grpc.ssl_channel_credentials(
        (CERTS / "ca.pem").read_bytes(), (CERTS / "client-key.pem").read_bytes(),
        (CERTS / "client.pem").read_bytes())
    return grpc.secure_channel(server.address, credentials, options=[("grpc.max_send_message_length", 8 << 20)])


def for_seconds(callers: int, seconds: float, work) -> float:
    """Runs work(caller, n) in `callers` threads for `seconds`; returns calls per second."""
    done, stop = [0] * callers, threading.Event()

    def loop(caller: int) -> None:
        while not stop.is_set():
            work(caller, done[caller])
            done[caller] += 1

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(callers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def fsync_files_per_s(folder: Path, callers: int, seconds: float) -> float:
    """Threads each creating, writing SMALL bytes into, fsyncing, renaming a file and
    fsyncing its directory: what one durable small object costs the file system alone. The
    files stay until the run's end: on ext4 without a journal every file creation scans past
    the inodes freed in the last minute, so removing thousands of them here would charge the
    measurements that follow."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(SMALL)

    def one(caller: int, n: int) -> None:
        temporary, final = folder / f"t{caller}-{n}", folder / f"f{caller}-{n}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(descriptor, payload)
        os.fsync(descriptor)
        os.close(descriptor)
        os.rename(temporary, final)
        directory = os.open(folder, os.O_RDONLY)
        os.fsync(directory)
        os.close(directory)

    return for_seconds(callers, seconds, one)


def small_objects(server, folder: Path) -> dict:
    from sluice.v1 import objects_pb2 as ob, objects_pb2_grpc as ob_grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc
    channel = channel_to(server)
    objects, sessions = ob_grpc.ObjectServiceStub(channel), us_grpc.UploadSessionServiceStub(channel)

    def put(caller: int, n: int) -> None:
        data = os.urandom(SMALL)
        objects.PutObject(ob.PutObjectRequest(name=f"small/put/{caller}/{n}", data=data,
                                              sha256=hashlib.sha256(data).digest()))

    def three_calls(caller: int, n: int) -> None:
        data = os.urandom(SMALL)
        digest = hashlib.sha256(data).digest()
        session = sessions.CreateSession(us.CreateSessionRequest(
            object_name=f"small/session/{caller}/{n}", total_size=SMALL, partition_size=SMALL,
            partition_sha256=[digest], object_sha256=digest))
        sessions.UploadPartition(iter([
            us.UploadPartitionRequest(target=us.PartitionTarget(session_id=session.session_id, partition_index=0)),
            us.UploadPartitionRequest(data=data)]))
        sessions.CommitSession(us.CommitSessionRequest(session_id=session.session_id))

    result = {"mode": "datapath-small", "bytes": SMALL, "seconds": SECONDS}
    # Warm up first (the connection, the server's database pool): the rates are steady-state.
    for n in range(20):
        put(99, n)
        three_calls(99, n)
    cpu = cpu_seconds(server.pid)
    # CPU per put, one caller: sluiced's and PostgreSQL's own (the backends of its database).
    started, database_cpu = time.monotonic(), postgres_cpu_seconds(server.database)
    result["put_1_per_s"] = round(for_seconds(1, SECONDS, put), 1)
    puts = result["put_1_per_s"] * (time.monotonic() - started)
    result["put_1_server_cpu_ms"] = round(1000 * (cpu_seconds(server.pid) - cpu) / puts, 2)
    result["put_1_postgres_cpu_ms"] = round(1000 * (postgres_cpu_seconds(server.database) - database_cpu) / puts, 2)
    result["put_16_per_s"] = round(for_seconds(16, SECONDS, put), 1)
    result["session_1_per_s"] = round(for_seconds(1, SECONDS, three_calls), 1)
    result["server_cpu_s"] = round(cpu_seconds(server.pid) - cpu, 2)
    channel.close()
    result["fsync_files_1_per_s"] = round(fsync_files_per_s(folder / "fsync-files-1", 1, SECONDS), 1)
    result["fsync_files_16_per_s"] = round(fsync_files_per_s(folder / "fsync-files-16", 16, SECONDS), 1)
    return result


def run_cli(arguments: list[str], environment: dict, server_pid: int) -> tuple[float, float, float]:
    """Runs one CLI command; returns (wall seconds, client CPU seconds, server CPU seconds). Its
    standard error goes to a file: thousands of partitions print more than a pipe holds."""
    with tempfile.TemporaryFile() as errors:
        server_before, started = cpu_seconds(server_pid), time.monotonic()
        process = subprocess.Popen([str(SLUICE), *arguments], env=environment,
                                   stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        if process.returncode != 0:
            errors.seek(0)
            sys.exit(f"bench_datapath: sluice {' '.join(arguments)} failed: {errors.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, cpu_seconds(server_pid) - server_before


def cli_environment(server, folder: Path) -> dict:
    return dict(os.environ, SLUICE_SERVER=server.address, SLUICE_CA=str(CERTS / "ca.pem"),
                SLUICE_CERT=str(CERTS / "client.pem"), SLUICE_KEY=str(CERTS / "client-key.pem"),
                SLUICE_STATE_DIR=str(folder / "state"), HOME=str(folder))


def partition_sizes(server, folder: Path) -> list:
    environment = cli_environment(server, folder)
    source = make_file(BYTES, folder)
    expected = sha256_of(source)
    results = []
    # The last case asks the server for no whole-object SHA-256 (--no-whole-sha256): what the
    # upload costs when each byte is hashed once on either side, against the same floor.
    for partition, whole in ((128 << 10, True), (8 << 20, True), (8 << 20, False)):
        remote, target = f"bench/partitions-{partition}-{'whole' if whole else 'composite'}", folder / "output"
        up = run_cli(["upload", str(source), remote, "--parallel", "8", "--partition-size", str(partition),
                      *([] if whole else ["--no-whole-sha256"])],
                     environment, server.pid)
        down = run_cli(["download", remote, str(target), "--parallel", "8"], environment, server.pid)
        if sha256_of(target) != expected:
            sys.exit(f"bench_datapath: {remote} did not read back identical")
        target.unlink()
        # The next case uploads the same bytes: deleting this object frees its blobs at once,
        # so that upload sends them rather than finding every partition already stored.
        run_cli(["rm", remote], environment, server.pid)
        gib = BYTES / (1 << 30)
        for direction, (wall, client, server_cpu) in (("upload", up), ("download", down)):
            results.append({
                "mode": f"datapath-cli-{direction}", "bytes": BYTES, "partition_size": partition, "parallel": 8,
                "whole_sha256": whole,
                "seconds": round(wall, 2), "mb_per_s": round(BYTES / wall / 1e6, 1),
                "client_cpu_s_per_gib": round(client / gib, 2), "server_cpu_s_per_gib": round(server_cpu / gib, 2)})
    source.unlink()
    return results


def many_streams(server) -> dict:
    """STREAMS concurrent UploadPartition calls spread over CONNECTIONS connections (one session of
    STREAMS / CONNECTIONS partitions per connection), then their commits."""
    import asyncio
    import random
    import grpc
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc
    per_connection = STREAMS // CONNECTIONS

    def partition(connection: int, index: int) -> bytes:
        return random.Random(connection * STREAMS + index).randbytes(STREAM_BYTES)

    async def run() -> dict:
        credentials = grpc.ssl_channel_credentials(
            (CERTS / "ca.pem").read_bytes(), (CERTS / "client-key.pem").read_bytes(),
            (CERTS / "client.pem").read_bytes())
        # A subchannel pool of its own per channel: otherwise grpc shares one connection among them.
        channels = [grpc.aio.secure_channel(server.address, credentials, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(CONNECTIONS)]
        stubs = [us_grpc.UploadSessionServiceStub(channel) for channel in channels]
        sessions = []
        for connection, stub in enumerate(stubs):
            hashes = [hashlib.sha256(partition(connection, i)).digest() for i in range(per_connection)]
            sessions.append((await stub.CreateSession(us.CreateSessionRequest(
                object_name=f"bench/streams-{connection}", total_size=STREAM_BYTES * per_connection,
                partition_size=STREAM_BYTES, partition_sha256=hashes))).session_id)
        errors = []

        async def send(connection: int, index: int) -> None:
            data = partition(connection, index)

            async def messages():
                yield us.UploadPartitionRequest(target=us.PartitionTarget(
                    session_id=sessions[connection], partition_index=index))
                for offset in range(0, len(data), STREAM_MESSAGE):
                    yield us.UploadPartitionRequest(data=data[offset:offset + STREAM_MESSAGE])
            try:
                await stubs[connection].UploadPartition(messages())
            except grpc.aio.AioRpcError as error:
                errors.append(f"{error.code().name}: {error.details()}")

        rss_before, cpu, started = rss_kib(server.pid), cpu_seconds(server.pid), time.monotonic()
        with Sampler(server.pid) as rss:
            await asyncio.gather(*(send(c, i) for c in range(CONNECTIONS) for i in range(per_connection)))
            for connection, stub in enumerate(stubs):
                if not errors:
                    await stub.CommitSession(us.CommitSessionRequest(session_id=sessions[connection]))
        seconds = time.monotonic() - started
        for channel in channels:
            await channel.close()
        await asyncio.sleep(6)  # sluiced hands freed memory back to the system every 5 s
        return {"mode": "datapath-streams", "streams": per_connection * CONNECTIONS, "connections": CONNECTIONS,
                "bytes": STREAM_BYTES * per_connection * CONNECTIONS, "seconds": round(seconds, 2),
                "errors": len(errors), "first_errors": errors[:3], "server_cpu_s": round(cpu_seconds(server.pid) - cpu, 2),
                "rss_before_mib": round(rss_before / 1024, 1),
                "rss_peak_mib": round(max(rss.samples, default=0) / 1024, 1),
                "rss_6s_after_mib": round(rss_kib(server.pid) / 1024, 1)}

    return asyncio.run(run())


def transfer_memory(server, folder: Path) -> dict:
    """The server's resident memory around a MEMORY_BYTES upload and download by the CLI: what
    flow-control windows, messages being assembled and read-ahead cost, whatever the size. Each
    transfer's growth is counted from the server's size just before it, once it has settled."""
    environment = cli_environment(server, folder)
    source, target = make_file(MEMORY_BYTES, folder), folder / "memory-output"
    result = {"mode": "datapath-memory", "bytes": MEMORY_BYTES}
    for direction, arguments in (("upload", ["upload", str(source), "bench/memory", "--parallel", "8"]),
                                 ("download", ["download", "bench/memory", str(target), "--parallel", "8"])):
        time.sleep(6)  # sluiced hands freed memory back to the system every 5 s
        rss_before = rss_kib(server.pid)
        with Sampler(server.pid) as sampler:
            run_cli(arguments, environment, server.pid)
        result[f"{direction}_rss_before_mib"] = round(rss_before / 1024, 1)
        result[f"{direction}_growth_mib"] = round((max(sampler.samples, default=0) - rss_before) / 1024, 1)
    if sha256_of(target) != sha256_of(source):
        sys.exit("bench_datapath: bench/memory did not read back identical")
    source.unlink()
    target.unlink()
    return result


def long_link(folder: Path) -> dict:
    """One stream's upload through a delaying proxy, with sluiced's stream window fixed and
    with it free to grow (see the module docstring)."""
    source = make_file(LONG_LINK_BYTES, folder)
    round_trip = 2 * LONG_LINK_DELAY_MS / 1000
    result = {"mode": "datapath-long-link", "bytes": LONG_LINK_BYTES, "round_trip_ms": 2 * LONG_LINK_DELAY_MS,
              "fixed_window_bound_mb_per_s": round(FIXED_WINDOW / round_trip / 1e6, 1)}
    for name, arguments in (("fixed", ["--max-stream-window", str(FIXED_WINDOW)]), ("growing", [])):
        with BenchServer(f"long_{name}", sluiced=SLUICED, args=arguments) as server:
            proxy = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "delay_proxy.py"), str(server.port),
                                      str(LONG_LINK_DELAY_MS)], stdout=subprocess.PIPE, text=True)
            try:
                port = int(proxy.stdout.readline().split()[1])
                environment = cli_environment(server, folder) | {"SLUICE_SERVER": f"127.0.0.1:{port}"}
                wall, _, _ = run_cli(["upload", str(source), f"bench/long-{name}", "--parallel", "1",
                                      "--partition-size", str(64 << 20)], environment, server.pid)
                if name == "growing":
                    target = folder / "long-link-download"
                    down, _, _ = run_cli(["download", f"bench/long-{name}", str(target), "--parallel", "1"],
                                         environment, server.pid)
                    target.unlink()
                    result["download_mb_per_s"] = round(LONG_LINK_BYTES / down / 1e6, 1)
            finally:
                proxy.terminate()
                proxy.wait()
        result[f"{name}_mb_per_s"] = round(LONG_LINK_BYTES / wall / 1e6, 1)
    source.unlink()
    return result


def commit_times(server) -> list:
    from sluice.v1 import objects_pb2 as ob, objects_pb2_grpc as ob_grpc
    from sluice.v1 import object_info_pb2 as oi
    from sluice.v1 import upload_sessions_pb2 as us, upload_sessions_pb2_grpc as us_grpc
    channel = channel_to(server)
    sessions, objects = us_grpc.UploadSessionServiceStub(channel), ob_grpc.ObjectServiceStub(channel)
    partition, results = 8 << 20, []
    for size in COMMIT_SIZES:
        count = (size + partition - 1) // partition
        block = os.urandom(partition)

        def payload(index: int) -> bytes:
            return block[:min(partition, size - index * partition) - 8] + index.to_bytes(8, "big")

        parts = [hashlib.sha256(payload(i)).digest() for i in range(count)]
        name = f"bench/commit-{size}"
        session = sessions.CreateSession(us.CreateSessionRequest(
            object_name=name, total_size=size, partition_size=partition, partition_sha256=parts))

        def send(index: int) -> None:
            data = payload(index)
            messages = [us.UploadPartitionRequest(target=us.PartitionTarget(
                session_id=session.session_id, partition_index=index))]
            messages += [us.UploadPartitionRequest(data=data[o:o + (1 << 20)]) for o in range(0, len(data), 1 << 20)]
            sessions.UploadPartition(iter(messages))

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, reversed(range(count))))
        started = time.monotonic()
        info = sessions.CommitSession(us.CommitSessionRequest(session_id=session.session_id)).object
        commit = time.monotonic() - started
        deadline = started + 600
        while objects.GetObject(ob.GetObjectRequest(name=name)).sha256_state == oi.SHA256_STATE_PENDING:
            if time.monotonic() > deadline:
                sys.exit(f"bench_datapath: {name} was still pending 600 s after its commit")
            time.sleep(0.01)
        settled = time.monotonic() - started
        results.append({"mode": "datapath-commit", "bytes": size, "partitions": count,
                        "commit_seconds": round(commit, 4), "state_at_commit": oi.Sha256State.Name(info.sha256_state),
                        "settled_seconds": round(settled, 2)})
    channel.close()
    return results


def main() -> None:
    generate_stubs()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="datapath-", dir=BENCH_DIR))
    disk = disk_fdatasync_mb_per_s(BENCH_DIR, min(BYTES >> 20, 1024))
    sha256, cipher = openssl_cpu_s_per_gib("sha256"), openssl_cpu_s_per_gib("aes-128-gcm")
    with BenchServer("datapath", sluiced=SLUICED) as server:
        small = small_objects(server, folder)
        clis = partition_sizes(server, folder)
        streams = many_streams(server)
        memory = transfer_memory(server, folder) if MEMORY_BYTES > 0 else None
        commits = commit_times(server)
    link = long_link(folder) if LONG_LINK_BYTES > 0 else None
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    with open(BENCH_DIR / "results.jsonl", "a") as log:
        for result in [small, *clis, streams, *([memory] if memory else []), *commits, *([link] if link else [])]:
            log.write(json.dumps(result | {"disk_fdatasync_mb_per_s": round(disk, 1),
                                           "sha256_cpu_s_per_gib": round(sha256, 3),
                                           "aes_128_gcm_cpu_s_per_gib": round(cipher, 3)}) + "\n")

    print(f"\nData path (issue 12): mutual TLS, loopback, PostgreSQL + disk blobs; same run's limits beside")
    print(f"  PutObject {SMALL} B, 1 caller:     {small['put_1_per_s']:8.1f} objects/s   "
          f"(write+fsync+rename+dir fsync of a file alone, 1 thread: {small['fsync_files_1_per_s']:.1f}/s;"
          f" create+upload+commit: {small['session_1_per_s']:.1f}/s)")
    print(f"    CPU per put, 1 caller: sluiced {small['put_1_server_cpu_ms']:.2f} ms, "
          f"PostgreSQL {small['put_1_postgres_cpu_ms']:.2f} ms")
    print(f"  PutObject {SMALL} B, 16 callers:   {small['put_16_per_s']:8.1f} objects/s   "
          f"(the same file loop, 16 threads: {small['fsync_files_16_per_s']:.1f}/s)")
    print(f"  disk sequential write with fdatasync (dd): {disk:.1f} MB/s")
    print(f"  openssl speed, one core: SHA-256 {sha256:.2f}, AES-128-GCM {cipher:.2f} CPU-s/GiB")
    for result in clis:
        print(f"  sluice {result['mode'][13:]:8} {BYTES >> 20} MiB, {result['partition_size'] >> 10:>5} KiB partitions, "
              f"--parallel 8: {result['seconds']:7.2f} s {result['mb_per_s']:8.1f} MB/s, "
              f"client {result['client_cpu_s_per_gib']:.2f} / server {result['server_cpu_s_per_gib']:.2f} CPU-s/GiB "
              f"({result['server_cpu_s_per_gib'] / (sha256 + cipher):.1f}x SHA-256 + AES-GCM)"
              f"{'' if result['whole_sha256'] else ', --no-whole-sha256'}")
    print(f"  {streams['streams']} UploadPartition streams of {STREAM_BYTES >> 20} MiB over {streams['connections']} "
          f"connections: {streams['seconds']:.2f} s, {streams['errors']} errors {streams['first_errors'] or ''}; "
          f"server RSS {streams['rss_before_mib']:.0f} MiB before, {streams['rss_peak_mib']:.0f} at peak, "
          f"{streams['rss_6s_after_mib']:.0f} 6 s after")
    if memory:
        print(f"  server RSS during a {MEMORY_BYTES >> 20} MiB sluice upload / download, --parallel 8: "
              f"{memory['upload_rss_before_mib']:.0f} / {memory['download_rss_before_mib']:.0f} MiB before, "
              f"+{memory['upload_growth_mib']:.0f} / +{memory['download_growth_mib']:.0f} MiB at peak")
    for result in commits:
        print(f"  CommitSession of {result['bytes'] >> 20:>5} MiB ({result['partitions']} partitions): "
              f"{result['commit_seconds'] * 1000:7.1f} ms ({result['state_at_commit']}); "
              f"whole-object hash settled {result['settled_seconds']:.2f} s after")
    if link:
        print(f"  sluice upload {LONG_LINK_BYTES >> 20} MiB on one stream over a {link['round_trip_ms']:.0f} ms round trip: "
              f"{link['fixed_mb_per_s']:.1f} MB/s with a fixed {FIXED_WINDOW >> 20} MiB stream window "
              f"(its bound: {link['fixed_window_bound_mb_per_s']:.1f}), {link['growing_mb_per_s']:.1f} MB/s with a growing one")
        print(f"  sluice download of it on one stream over the same link: {link['download_mb_per_s']:.1f} MB/s")


if __name__ == "__main__":
    main()
