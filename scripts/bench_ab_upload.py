#!/usr/bin/env python3
"""A/B of sluiced builds on one command: `sluice upload` of a fresh random file (BENCH_AB_BYTES,
default 1 GiB) with `--parallel 8` and BENCH_AB_PARTITION (default 8 MiB) partitions, against each
sluiced named on the command line in turn, BENCH_AB_ROUNDS (default 3) rounds, so that load from
other work falls on every build alike. Prints per run: seconds (the CLI waits for the whole-object
hash), MB/s, client and server CPU-s/GiB, and how many partitions the session's whole hash covered
when it was committed (the rest was left to the verifier).

    BENCH_DATABASE_URL=... .venv/bin/python scripts/bench_ab_upload.py OLD/sluiced NEW/sluiced

An argument may add `sluice upload` flags after commas, to compare uploads rather than builds:
`.build/release/sluiced .build/release/sluiced,--no-whole-sha256`.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_datapath import cli_environment, run_cli
from bench_support import BENCH_DIR, BenchServer
from bench_cli import make_file

BYTES = int(os.environ.get("BENCH_AB_BYTES", 1 << 30))
PARTITION = int(os.environ.get("BENCH_AB_PARTITION", 8 << 20))
ROUNDS = int(os.environ.get("BENCH_AB_ROUNDS", 3))


def hashed_at_commit(server: BenchServer, name: str) -> str:
    url = server.base_url.replace("/sluice?", f"/{server.database}?", 1)
    return subprocess.run(
        ["psql", "-X", "-At", "-d", url, "-c",
         "SELECT whole_hashed_through || ' of ' || (total_size + partition_size - 1) / partition_size "
         f"FROM upload_sessions WHERE object_name = '{name}'"],
        check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    builds = [argument.split(",") for argument in sys.argv[1:]]
    if not builds:
        sys.exit(__doc__)
    gib = BYTES / (1 << 30)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as scratch:
        folder = Path(scratch)
        for round_number in range(ROUNDS):
            for index, (build, *flags) in enumerate(builds):
                with BenchServer(f"ab{index}", sluiced=Path(build)) as server:
                    source = make_file(BYTES, folder)
                    time.sleep(3)  # let the file's own writeback settle
                    name = f"ab/{round_number}"
                    wall, client, server_cpu = run_cli(
                        ["upload", str(source), name, "--parallel", "8", "--partition-size", str(PARTITION), *flags],
                        cli_environment(server, folder / f"client-{index}"), server.pid)
                    print(f"{' '.join([build, *flags])}: {wall:6.2f} s {BYTES / wall / 1e6:7.1f} MB/s, client {client / gib:.2f} / "
                          f"server {server_cpu / gib:.2f} CPU-s/GiB, hashed at commit: "
                          f"{hashed_at_commit(server, name)} partitions", flush=True)
                    source.unlink()


if __name__ == "__main__":
    main()
