"""Helpers for the C client suite (Tests/Interop/c_client): finding or building
`sluice-c` (and its ASan/UBSan build), running it hermetically, and what its output says.
No pytest fixtures live here (see conftest.py in this directory)."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

import interop_support as sup

MIB = 1024 * 1024
RUN_TIMEOUT = 120.0

# Exit codes of `sluice-c`: the same as the Swift `sluice` CLI's (README, "Command-line client").
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_DENIED = 4
EXIT_INTEGRITY = 5
EXIT_TRANSIENT = 6

# What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                              r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "exitcode=99",
}

_BUILD_DIR = os.path.join(sup.REPO_ROOT, ".build-c")


def binaries() -> tuple[str, str]:
    """(sluice-c, sluice-c-asan): from SLUICE_C_BIN_DIR (scripts/run-tests.sh builds them
    there), else built now with `make c-client c-client-asan` (under a lock, so parallel
    test workers build once). A build that fails fails the caller: these tests always run."""
    bin_dir = os.environ.get("SLUICE_C_BIN_DIR", "").strip()
    if not bin_dir:
        bin_dir = _BUILD_DIR
        os.makedirs(bin_dir, exist_ok=True)
        with open(os.path.join(bin_dir, ".test-build.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.run(["make", "-s", "-C", os.path.join(sup.REPO_ROOT, "clients", "c"),
                                   f"BUILD={bin_dir}", "all"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=600)
            if proc.returncode == 0:
                proc = subprocess.run(
                    ["make", "-s", "-C", os.path.join(sup.REPO_ROOT, "clients", "c"),
                     f"BUILD={bin_dir}", "SANITIZE=1", "all"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    timeout=600)
            if proc.returncode != 0:
                raise AssertionError("building sluice-c failed:\n"
                                     + proc.stdout.decode("utf-8", "replace")[-4000:])
    plain, asan = os.path.join(bin_dir, "sluice-c"), os.path.join(bin_dir, "sluice-c-asan")
    for path in (plain, asan):
        if not os.access(path, os.X_OK):
            raise AssertionError(f"{path} is missing (make c-client c-client-asan)")
    return plain, asan


@dataclass
class Result:
    argv: list
    rc: int
    stdout: str
    stderr: str
    seconds: float

    def explain(self) -> str:
        return (f"$ {' '.join(self.argv)}\nexit {self.rc} after {self.seconds:.1f}s\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")

    def expect(self, rc: int) -> "Result":
        assert self.rc == rc, f"expected exit {rc}\n{self.explain()}"
        return self


class CClient:
    """Runs sluice-c with connection flags for one server and a certs/ identity, its own
    state directory (upload journal) and no SLUICE_* variable from the environment. With
    sanitized=True (the ASan/UBSan build) leak detection is on and every run is checked
    for a sanitizer report."""

    def __init__(self, binary: str, certs: sup.Certs, workdir: str, address: str,
                 sanitized: bool = False):
        self.binary = binary
        self.certs = certs
        self.address = address
        self.state_dir = os.path.join(workdir, "sluice-c-state")
        self.sanitized = sanitized
        self.extra_env = dict(SANITIZER_ENV if sanitized else {})
        self.runs: list[Result] = []

    def argv(self, args, who: Optional[str] = "client", ca: str = "ca.pem",
             address: Optional[str] = None) -> list[str]:
        argv = [self.binary, "--server", address or self.address, "--ca", self.certs.path(ca),
                "--state-dir", self.state_dir]
        if who is not None:
            cert, key = self.certs.client(who)
            argv += ["--cert", cert, "--key", key]
        return argv + [str(a) for a in args]

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        env.update(self.extra_env)
        return env

    def run(self, *args, who: Optional[str] = "client", ca: str = "ca.pem",
            address: Optional[str] = None, raw: bool = False,
            timeout: float = RUN_TIMEOUT) -> Result:
        """Runs to the end; with raw=True, args are the whole command line after the binary."""
        argv = [self.binary, *map(str, args)] if raw else self.argv(args, who, ca, address)
        started = time.monotonic()
        proc = subprocess.run(argv, env=self.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        result = Result(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                        proc.stderr.decode("utf-8", "replace"), time.monotonic() - started)
        self.runs.append(result)
        if self.sanitized:
            assert_sanitizer_clean(result)
        return result

    def ok(self, *args, **kwargs) -> Result:
        return self.run(*args, **kwargs).expect(EXIT_OK)

    def start(self, *args, who: str = "client") -> subprocess.Popen:
        return subprocess.Popen(self.argv(args, who), env=self.env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)

    def report(self) -> str:
        return "\n\n".join(r.explain() for r in self.runs)


def assert_error(result: Result, rc: int, status: str) -> None:
    """Exit code rc and `sluice-c: error: STATUS: message` on standard error."""
    result.expect(rc)
    m = re.search(r"sluice-c: error: ([A-Z_]+): (.*)", result.stderr)
    assert m, f"no 'sluice-c: error: STATUS: message' line\n{result.explain()}"
    assert m.group(1) == status, f"expected {status}\n{result.explain()}"
    assert m.group(2).strip(), f"the message is empty\n{result.explain()}"


def assert_sanitizer_clean(result: Result) -> None:
    m = SANITIZER_REPORT.search(result.stderr)
    assert m is None and result.rc != 99, f"a sanitizer report\n{result.explain()}"


def write_random(path: str, size: int) -> bytes:
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return data


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
