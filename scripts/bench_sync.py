#!/usr/bin/env python3
"""`sluice sync` benchmark, against a release sluiced over mutual TLS on loopback:

  - initial sync of a tree of BENCH_SYNC_FILES small files (default 10,000, 1-4 KiB each,
    in 100 folders: calls per file, files per second), and re-sync of the unchanged tree (calls made, time: close to one
    listing);
  - initial sync of one BENCH_SYNC_BIG file (default 1 GiB), then one BENCH_SYNC_CHANGE
    region (default 8 MiB) changed in its middle and synced again (bytes sent);
  - change-to-other-device latency with two `sluice sync --watch` on separate folders:
    BENCH_SYNC_SAMPLES (default 30) small files written on one, the time until each
    appears on the other (p50, p99).

BENCH_SYNC_QUICK=1 scales everything down (200 files, 64 MiB, 5 samples) to try the script
quickly. BENCH_SLUICE / BENCH_SLUICED name other binaries (e.g. a debug build). The database:
$SLUICE_TEST_DATABASE_URL when set, else the project-local cluster. Prints a table and
appends one JSON line to .data/bench/results.jsonl.
"""

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import BENCH_DIR, CERTS, ROOT, BenchServer

QUICK = os.environ.get("BENCH_SYNC_QUICK") == "1"
FILES = int(os.environ.get("BENCH_SYNC_FILES", 200 if QUICK else 10_000))
BIG = int(os.environ.get("BENCH_SYNC_BIG", (64 << 20) if QUICK else (1 << 30)))
CHANGE = int(os.environ.get("BENCH_SYNC_CHANGE", 8 << 20))
SAMPLES = int(os.environ.get("BENCH_SYNC_SAMPLES", 5 if QUICK else 30))
SLUICE = Path(os.environ.get("BENCH_SLUICE", ROOT / ".build" / "release" / "sluice"))
SLUICED = Path(os.environ.get("BENCH_SLUICED", ROOT / ".build" / "release" / "sluiced"))


def server():
    if os.environ.get("SLUICE_TEST_DATABASE_URL"):
        from bench_feed import ExternalDatabaseServer
        return ExternalDatabaseServer("sync", sluiced=SLUICED)
    return BenchServer("sync", sluiced=SLUICED)


class Sync:
    """Runs `sluice sync` with its own state folder."""

    def __init__(self, address: str, state: Path):
        self.flags = ["--server", address, "--ca", str(CERTS / "ca.pem"), "--cert", str(CERTS / "client.pem"),
                      "--key", str(CERTS / "client-key.pem")]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        self.env["SLUICE_STATE_DIR"] = str(state)

    def once(self, local: Path, prefix: str) -> tuple[dict, float]:
        started = time.monotonic()
        proc = subprocess.run([str(SLUICE), "sync", str(local), prefix, "--json", *self.flags], env=self.env,
                              capture_output=True, text=True)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            sys.exit(f"bench_sync: sync failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        summaries = [json.loads(line) for line in proc.stdout.splitlines() if '"event":"summary"' in line]
        return summaries[-1], elapsed

    def watch(self, local: Path, prefix: str) -> subprocess.Popen:
        return subprocess.Popen([str(SLUICE), "sync", str(local), prefix, "--watch", *self.flags], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = min(left, 16 << 20)
            out.write(os.urandom(chunk))
            left -= chunk


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    if not SLUICE.is_file() or not SLUICED.is_file():
        sys.exit(f"bench_sync: {SLUICE} or {SLUICED} is missing (make release, or set BENCH_SLUICE/BENCH_SLUICED)")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = {"bench": "sync", "files": FILES, "big_bytes": BIG, "change_bytes": CHANGE}
    with server() as srv, tempfile.TemporaryDirectory(dir=BENCH_DIR) as scratch:
        scratch = Path(scratch)
        sync = Sync(srv.address, scratch / "state")
        rng = random.Random(1)

        tree = scratch / "tree"
        for i in range(FILES):
            path = tree / f"d{i % 100:02d}" / f"f{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(rng.randint(1024, 4096)))
        summary, seconds = sync.once(tree, "bench/tree/")
        results["tree_initial_seconds"] = round(seconds, 2)
        results["tree_initial_calls"] = summary["calls"]
        results["tree_initial_files_per_second"] = round(FILES / seconds, 1)
        summary, seconds = sync.once(tree, "bench/tree/")
        results["tree_resync_seconds"] = round(seconds, 2)
        results["tree_resync_calls"] = summary["calls"]
        assert summary["uploaded"] == 0 and summary["downloaded"] == 0, summary

        big = scratch / "big"
        write_random(big / "big.bin", BIG)
        summary, seconds = sync.once(big, "bench/big/")
        results["big_initial_seconds"] = round(seconds, 2)
        results["big_initial_bytes_sent"] = summary["bytes_sent"]
        with open(big / "big.bin", "r+b") as f:
            f.seek(BIG // 2 // CHANGE * CHANGE)
            f.write(os.urandom(CHANGE))
        summary, seconds = sync.once(big, "bench/big/")
        results["big_change_seconds"] = round(seconds, 2)
        results["big_change_bytes_sent"] = summary["bytes_sent"]

        one, other = scratch / "one", scratch / "other"
        one.mkdir()
        other.mkdir()
        watchers = [sync.watch(one, "bench/live/"), sync.watch(other, "bench/live/")]
        try:
            time.sleep(3)
            latencies = []
            for i in range(SAMPLES):
                data = os.urandom(512)
                target = other / f"sample-{i}.bin"
                started = time.monotonic()
                (one / f"sample-{i}.bin").write_bytes(data)
                deadline = started + 60
                while time.monotonic() < deadline:
                    if target.exists() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest():
                        latencies.append(time.monotonic() - started)
                        break
                    time.sleep(0.005)
                else:
                    sys.exit(f"bench_sync: sample {i} did not arrive within 60 s")
                time.sleep(0.2)
        finally:
            for w in watchers:
                w.terminate()
                w.wait(30)
        results["watch_latency_p50_seconds"] = round(statistics.median(latencies), 3)
        results["watch_latency_p99_seconds"] = round(percentile(latencies, 0.99), 3)

    print(f"\nsluice sync ({FILES} small files; {BIG >> 20} MiB file; {SAMPLES} watch samples)")
    print(f"  initial sync of the tree      {results['tree_initial_seconds']:8.2f} s  {results['tree_initial_calls']} calls "
          f"({results['tree_initial_calls'] / FILES:.2f} per file, {results['tree_initial_files_per_second']} files/s)")
    print(f"  re-sync, unchanged tree       {results['tree_resync_seconds']:8.2f} s  {results['tree_resync_calls']} calls")
    print(f"  initial sync of the big file  {results['big_initial_seconds']:8.2f} s  {results['big_initial_bytes_sent'] >> 20} MiB sent")
    print(f"  {CHANGE >> 20} MiB changed in it          {results['big_change_seconds']:8.2f} s  "
          f"{results['big_change_bytes_sent'] / (1 << 20):.1f} MiB sent")
    print(f"  change to the other device    p50 {results['watch_latency_p50_seconds']:.3f} s, "
          f"p99 {results['watch_latency_p99_seconds']:.3f} s")
    with open(BENCH_DIR / "results.jsonl", "a") as out:
        out.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
