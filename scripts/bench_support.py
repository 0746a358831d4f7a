"""What the storage and CLI benchmarks share: a release sluiced on a fresh database of the
project-local PostgreSQL, and readings of a process's CPU time and resident memory."""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".data" / "bench"
CERTS = Path(os.environ.get("BENCH_CERTS", ROOT / "certs"))


class Sampler:
    """Samples a process's VmRSS every 100 ms on a thread."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(rss_kib(self.pid))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `database` (their process title
    names it); backends that exited since are not counted, so read it while the server runs."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or f" {database} " not in title:
                continue
            total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return total


def disk_fdatasync_mb_per_s(folder: Path, megabytes: int = 1024) -> float:
    import time
    target = folder / "dd.tmp"
    started = time.monotonic()
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={megabytes}", "conv=fdatasync"],
                   check=True, capture_output=True)
    elapsed = time.monotonic() - started
    target.unlink()
    return megabytes * (1 << 20) / elapsed / 1e6


def openssl_cpu_s_per_gib(algorithm: str) -> float:
    """CPU seconds one core spends on a GiB of `algorithm` ("sha256", "aes-128-gcm"): the floor a
    byte's hashing or cipher costs. The rate scripts/bench.sh measured in this run
    (BENCH_OPENSSL_SHA256, BENCH_OPENSSL_AES_128_GCM, bytes per second), else the same
    measurement: `openssl speed -evp` for a second on 16 KiB buffers."""
    rate = os.environ.get("BENCH_OPENSSL_" + algorithm.upper().replace("-", "_"))
    if not rate:
        output = subprocess.run(["openssl", "speed", "-mr", "-seconds", "1", "-bytes", "16384", "-evp", algorithm],
                                check=True, capture_output=True, text=True).stdout
        # -mr prints "+F:<n>:<algorithm>:<bytes per second>" for the one buffer size asked for.
        rate = [line for line in output.splitlines() if line.startswith("+F:")][-1].split(":")[3]
    return (1 << 30) / float(rate)


class BenchServer:
    """A release sluiced with mutual TLS on a fresh database and blob folder (or the S3 location
    `blobs`, with `env` holding its credentials); a context manager that drops both on exit."""

    def __init__(self, name: str, sluiced: Path = ROOT / ".build" / "release" / "sluiced",
                 blobs: str = "", env: dict = None, args: list = None):
        self.name, self.sluiced = name, sluiced
        self.blobs_url, self.env = blobs, env
        self.args = list(args or [])
        self.port = 18000 + (os.getpid() + hash(name)) % 1000
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self):
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        # BENCH_DATABASE_URL: an already running PostgreSQL (URL of its `sluice` database) instead of
        # the project's own, started here.
        self.base_url = os.environ.get("BENCH_DATABASE_URL", "")
        if not self.base_url:
            postgres = str(ROOT / "scripts" / "postgres.sh")
            subprocess.run([postgres, "start"], check=True, capture_output=True)
            self.base_url = subprocess.run([postgres, "url"], check=True, capture_output=True,
                                           text=True).stdout.strip()
        self.database = f"sluice_{self.name}_{os.getpid()}"
        subprocess.run(["psql", self.base_url, "-qc", f"CREATE DATABASE {self.database}"], check=True,
                       capture_output=True)
        self.blobs = BENCH_DIR / f"blobs-{self.name}"
        shutil.rmtree(self.blobs, ignore_errors=True)
        url = self.base_url.replace("/sluice?", f"/{self.database}?", 1)
        self.process = subprocess.Popen(
            [str(self.sluiced), "--listen", self.address, "--cert", str(CERTS / "server.pem"),
             "--key", str(CERTS / "server-key.pem"), "--client-ca", str(CERTS / "ca.pem"),
             "--require-client-cert", "--database", url, "--blobs", self.blobs_url or f"file://{self.blobs}",
             "--s3-spool", str(self.blobs / "spool"), "--log-level", "warning", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)
        # The listening line comes first, or after the metrics address (--metrics-listen).
        if not any("listening" in (self.process.stdout.readline() or "") for _ in range(2)):
            self.__exit__()
            sys.exit(f"bench: sluiced did not start")
        self.pid = self.process.pid
        return self

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait(timeout=30)
        subprocess.run(["psql", self.base_url, "-qc", f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"],
                       capture_output=True)
        shutil.rmtree(self.blobs, ignore_errors=True)
