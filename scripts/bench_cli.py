#!/usr/bin/env python3
"""CLI benchmark: `sluice upload` and `sluice download` against a release sluiced over mutual
TLS on loopback, for files of BENCH_CLI_SIZES (default 1 MiB, 64 MiB, 1 GiB) and --parallel of
BENCH_CLI_PARALLEL (default 1, 4, 16). For each run: throughput, the client's CPU seconds per
GiB (its rusage), and the server's (/proc/PID/stat). Every download is checked byte-identical
by SHA-256. Prints a table and appends JSON lines to .data/bench/results.jsonl; the machine's
limits (openssl speed, dd with fdatasync) are in the table `make bench` prints just before.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import BENCH_DIR, CERTS, ROOT, BenchServer, cpu_seconds

SIZES = [int(size) for size in os.environ.get("BENCH_CLI_SIZES", f"{1 << 20} {64 << 20} {1 << 30}").split()]
PARALLEL = [int(n) for n in os.environ.get("BENCH_CLI_PARALLEL", "1 4 16").split()]
SLUICE = Path(os.environ.get("BENCH_SLUICE", ROOT / ".build" / "release" / "sluice"))


def make_file(size: int, folder: Path) -> Path:
    path = folder / f"input-{size}"
    with open(path, "wb") as output:
        left = size
        while left > 0:
            chunk = min(left, 16 << 20)
            output.write(os.urandom(chunk))
            left -= chunk
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(16 << 20):
            digest.update(block)
    return digest.hexdigest()


def run_cli(arguments: list[str], environment: dict, server_pid: int,
            binary: Path = SLUICE) -> tuple[float, float, float]:
    """Runs one command of a CLI (`sluice` unless `binary` says another); returns (wall
    seconds, client CPU seconds, server CPU seconds)."""
    server_before, started = cpu_seconds(server_pid), time.monotonic()
    # Progress goes to a file: a pipe nobody reads until the end would fill and stop the CLI.
    with tempfile.TemporaryFile() as progress:
        process = subprocess.Popen([str(binary), *arguments], env=environment,
                                   stdout=subprocess.DEVNULL, stderr=progress)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            progress.seek(0)
            sys.exit(f"bench: {binary.name} {' '.join(arguments)} failed: {progress.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, cpu_seconds(server_pid) - server_before


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="cli-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    results = []
    with BenchServer("cli") as server:
        environment = dict(os.environ, SLUICE_SERVER=server.address, SLUICE_CA=str(CERTS / "ca.pem"),
                           SLUICE_CERT=str(CERTS / "client.pem"), SLUICE_KEY=str(CERTS / "client-key.pem"),
                           SLUICE_STATE_DIR=str(folder / "state"), HOME=str(folder))
        for size in SIZES:
            source = make_file(size, folder)
            expected = sha256_of(source)
            for parallel in PARALLEL:
                remote = f"bench/{size}-p{parallel}"
                target = folder / "output"
                up = run_cli(["upload", str(source), remote, "--parallel", str(parallel)], environment, server.pid)
                down = run_cli(["download", remote, str(target), "--parallel", str(parallel)], environment, server.pid)
                if sha256_of(target) != expected:
                    sys.exit(f"bench_cli: {remote} did not read back identical")
                target.unlink()
                # Deleted (its bytes go at once), or the next run's upload of the same file would
                # find every partition already stored and send nothing.
                run_cli(["rm", remote], environment, server.pid)
                gib = size / (1 << 30)
                for direction, (wall, client, server_cpu) in (("upload", up), ("download", down)):
                    results.append({
                        "mode": f"cli-{direction}", "bytes": size, "parallel": parallel,
                        "mb_per_s": round(size / wall / 1e6, 1), "seconds": round(wall, 3),
                        "client_cpu_s_per_gib": round(client / gib, 2),
                        "server_cpu_s_per_gib": round(server_cpu / gib, 2),
                    })
            source.unlink()
    with open(BENCH_DIR / "results.jsonl", "a") as log:
        for result in results:
            log.write(json.dumps(result) + "\n")
    print("\nsluice CLI against sluiced (mutual TLS, loopback, PostgreSQL + disk blobs; client and server share the cores)")
    print(f"{'direction':9} {'file':>9} {'parallel':>8} {'MB/s':>8} {'client CPU-s/GiB':>17} {'server CPU-s/GiB':>17}")
    for result in results:
        size = result["bytes"]
        label = f"{size >> 30} GiB" if size >= 1 << 30 else f"{size >> 20} MiB"
        print(f"{result['mode'][4:]:9} {label:>9} {result['parallel']:>8} {result['mb_per_s']:>8} "
              f"{result['client_cpu_s_per_gib']:>17} {result['server_cpu_s_per_gib']:>17}")


if __name__ == "__main__":
    main()
