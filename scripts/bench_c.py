#!/usr/bin/env python3
"""C client benchmark: `sluice-c upload` and `download` (clients/c, .build-c/sluice-c) beside
the Swift `sluice` CLI's, against one release sluiced over mutual TLS on loopback, for files of
BENCH_C_SIZES (default 1 GiB) with --parallel BENCH_C_PARALLEL (default 4) and the default
8 MiB partitions. Every download is checked byte-identical by SHA-256. Then a resumed upload
of BENCH_C_RESUME_SIZE (default 256 MiB): sluice-c is killed (SIGKILL) once a third of the
partitions are stored and run again; the table shows how many partitions the rerun sent.
Prints a table and appends JSON lines to .data/bench/results.jsonl.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_cli import make_file, run_cli, sha256_of
from bench_support import BENCH_DIR, CERTS, ROOT, BenchServer

SIZES = [int(s) for s in os.environ.get("BENCH_C_SIZES", f"{1 << 30}").split()]
PARALLEL = int(os.environ.get("BENCH_C_PARALLEL", "4"))
RESUME_SIZE = int(os.environ.get("BENCH_C_RESUME_SIZE", f"{256 << 20}"))
CLIENTS = {
    "sluice-c": Path(os.environ.get("BENCH_SLUICE_C", ROOT / ".build-c" / "sluice-c")),
    "sluice": Path(os.environ.get("BENCH_SLUICE", ROOT / ".build" / "release" / "sluice")),
}
SLUICED = Path(os.environ.get("BENCH_SLUICED", ROOT / ".build" / "release" / "sluiced"))
PARTITION = 8 << 20


def resume_run(environment: dict, folder: Path, server) -> dict:
    """sluice-c killed a third of the way through an upload, then run again."""
    source = make_file(RESUME_SIZE, folder)
    count = -(-RESUME_SIZE // PARTITION)
    state = folder / "resume-state"
    argv = [str(CLIENTS["sluice-c"]), "--state-dir", str(state), "upload", str(source), "bench/c-resume"]

    process = subprocess.Popen(argv, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    # sluice-c prints a line per stored partition: killed once a third of them are.
    stored = 0
    for line in process.stdout:
        stored += line.startswith("partition ")
        if stored >= count // 3:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    started = time.monotonic()
    rerun = subprocess.run(argv, env=environment, capture_output=True, text=True)
    wall = time.monotonic() - started
    if rerun.returncode != 0:
        sys.exit(f"bench_c: the resumed upload failed: {rerun.stderr[-500:]}")
    sent = re.search(r"sent (\d+) of (\d+) partitions", rerun.stdout)
    source.unlink()
    return {"mode": "c-resume", "bytes": RESUME_SIZE, "partitions": count,
            "stored_before_kill": stored, "sent_on_rerun": int(sent.group(1)) if sent else None,
            "rerun_seconds": round(wall, 3)}


def main() -> None:
    missing = [str(p) for p in CLIENTS.values() if not p.exists()]
    if missing:
        sys.exit(f"bench_c: missing {', '.join(missing)} (make c-client; swift build -c release)")
    folder = Path(tempfile.mkdtemp(prefix="c-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    results = []
    with BenchServer("c", sluiced=SLUICED) as server:
        environment = dict(os.environ, SLUICE_SERVER=server.address, SLUICE_CA=str(CERTS / "ca.pem"),
                           SLUICE_CERT=str(CERTS / "client.pem"), SLUICE_KEY=str(CERTS / "client-key.pem"),
                           SLUICE_STATE_DIR=str(folder / "state"), SLUICE_C_STATE_DIR=str(folder / "c-state"),
                           HOME=str(folder))
        for size in SIZES:
            for name, binary in CLIENTS.items():
                # Random bytes of its own for each client: the server would find the partitions
                # of a file another client uploaded already held and nothing would be sent.
                source = make_file(size, folder)
                expected = sha256_of(source)
                remote = f"bench/{name}-{size}"
                target = folder / "output"
                flags = ["--parallel", str(PARALLEL)]
                timings = {
                    "upload": run_cli(["upload", str(source), remote, *flags], environment, server.pid, binary),
                    "download": run_cli(["download", remote, str(target), *flags], environment, server.pid, binary),
                }
                if sha256_of(target) != expected:
                    sys.exit(f"bench_c: {remote} did not read back identical")
                target.unlink()
                gib = size / (1 << 30)
                for direction, (wall, client_cpu, server_cpu) in timings.items():
                    results.append({"mode": f"{name}-{direction}", "client": name, "direction": direction,
                                    "bytes": size, "parallel": PARALLEL,
                                    "mb_per_s": round(size / wall / 1e6, 1), "seconds": round(wall, 3),
                                    "client_cpu_s_per_gib": round(client_cpu / gib, 2),
                                    "server_cpu_s_per_gib": round(server_cpu / gib, 2)})
                source.unlink()
        resume = resume_run(environment, folder, server)
    with open(BENCH_DIR / "results.jsonl", "a") as log:
        for result in [*results, resume]:
            log.write(json.dumps(result) + "\n")
    print("\nsluice-c (C: protobuf-c, nghttp2, OpenSSL) beside the Swift sluice CLI, against sluiced "
          "(mutual TLS, loopback; client and server share the cores)")
    print(f"{'client':9} {'direction':9} {'file':>9} {'parallel':>8} {'MB/s':>8} {'seconds':>8} "
          f"{'client CPU-s/GiB':>17} {'server CPU-s/GiB':>17}")
    for r in results:
        size = r["bytes"]
        label = f"{size >> 30} GiB" if size >= 1 << 30 else f"{size >> 20} MiB"
        print(f"{r['client']:9} {r['direction']:9} {label:>9} {r['parallel']:>8} {r['mb_per_s']:>8} "
              f"{r['seconds']:>8} {r['client_cpu_s_per_gib']:>17} {r['server_cpu_s_per_gib']:>17}")
    print(f"sluice-c upload of {resume['bytes'] >> 20} MiB killed after {resume['stored_before_kill']} of "
          f"{resume['partitions']} partitions were stored: the rerun sent {resume['sent_on_rerun']} in "
          f"{resume['rerun_seconds']} s")


if __name__ == "__main__":
    main()
