"""Helpers for the `sluice` CLI end-to-end suite (Tests/Interop/cli): running the CLI
hermetically (own HOME and SLUICE_STATE_DIR per test), following its --json events
while it runs, big temporary files, and a loopback TCP forwarder. No pytest fixtures
live here (see conftest.py in this directory)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


import interop_support as sup

KIB = 1024
MIB = 1024 * 1024

# Exit codes of `sluice` (sluice --help).
EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_DENIED = 4
EXIT_INTEGRITY = 5
EXIT_TRANSIENT = 6

RUN_TIMEOUT = 120.0          # one CLI command, unless a test says otherwise
BIG_RUN_TIMEOUT = 600.0      # a few hundred MiB through a debug build on a busy machine

# Variables the CLI reads; the tests decide each of them.
_CLI_VARIABLES = ("SLUICE_SERVER", "SLUICE_CA", "SLUICE_CERT", "SLUICE_KEY", "SLUICE_CONFIG",
                  "SLUICE_STATE_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME")

# What a Swift value dumped into a message looks like (the CLI should say things in words).
_TYPE_DUMP = re.compile(
    r"(Optional\(|\w+Error\(|\w+Failure\(|RPCError|Swift\.|SluiceClient\.|SluiceRPC\.|"
    r"SluiceProto\.|Foundation\.|NIOCore\.|NIOPosix\.|\[IPv[46]\]|errno: |\bcode: \.)")


# Object names that would do something to a terminal printed raw, and how the CLIs print
# them: C0 and DEL as \xNN (tab, newline as \t, \n), C1 as \u00NN, the backslash doubled.
HOSTILE_NAMES = {
    "red\x1b[31mRED\x1b[0m.txt": "red\\x1b[31mRED\\x1b[0m.txt",
    "new\nline.txt": "new\\nline.txt",
    "tab\tbell\x07del\x7f.txt": "tab\\tbell\\x07del\\x7f.txt",
    "csi\u009b31m.txt": "csi\\u009b31m.txt",
    "back\\slash.txt": "back\\\\slash.txt",
    "caf\u00e9 \u2713.txt": "caf\u00e9 \u2713.txt",
    "invoice\u202efdp.exe": "invoice\\u202efdp.exe",
    "zero\u200bwidth\u2028sep.txt": "zero\\u200bwidth\\u2028sep.txt",
}

# A control character on the way out: C0 but the newline that ends lines, DEL, C1 in UTF-8,
# and the invisible formatting characters (bidirectional overrides, zero-width, separators).
_RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8b-\x8f\xa8-\xae]"
                          rb"|\xe2\x81[\xa0-\xa4\xa6-\xa9]|\xef\xbb\xbf")


def assert_no_control_characters(data: bytes, what: str) -> None:
    """Output meant for a terminal holds no control character but line ends."""
    m = _RAW_CONTROL.search(data)
    assert m is None, f"{what} prints a raw control character {m.group(0)!r}:\n{data[-2000:]!r}"


def assert_human_message(text: str, what: str = "message") -> None:
    """The text is non-empty, one or a few lines of words, with no Swift type dump."""
    stripped = text.strip()
    assert stripped, f"{what} is empty"
    m = _TYPE_DUMP.search(stripped)
    assert m is None, f"{what} dumps a Swift value ({m.group(0)!r}):\n{stripped[:2000]}"
    assert len(stripped) < 4000, f"{what} is {len(stripped)} characters long:\n{stripped[:2000]}"


# --------------------------------------------------------------------------
# Files and hashes
# --------------------------------------------------------------------------

def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MIB), b""):
            h.update(block)
    return h.hexdigest()


def write_file(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path


def write_random_file(path: str, size: int, chunk: int = 8 * MIB) -> str:
    """A file of `size` random bytes, written chunk by chunk (memory stays at one
    chunk); returns its SHA-256 hex."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(chunk, left))
            f.write(block)
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def partition_hashes(path: str, partition_size: int) -> list[str]:
    out = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(partition_size), b""):
            out.append(hashlib.sha256(block).hexdigest())
    return out


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(5).hex()}"


def upload_versions(cli: "CLI", path: str, name: str, *contents: bytes) -> None:
    """Uploads each of `contents` in turn as the next version of `name`, through file `path`."""
    for content in contents:
        write_file(path, content)
        cli.ok("upload", path, name)


# --------------------------------------------------------------------------
# Running the CLI
# --------------------------------------------------------------------------

def parse_events(text: str) -> list[dict]:
    """The JSON objects of --json output, one per line; other lines are ignored."""
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return events


@dataclass
class Result:
    argv: list
    rc: int
    stdout: bytes
    stderr: str
    elapsed: float

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def events(self) -> list[dict]:
        return parse_events(self.out)

    def event(self, kind: str) -> dict:
        found = [e for e in self.events if e.get("event") == kind]
        assert found, f"no {kind!r} event in the output of {self.short()}:\n{self.out[-3000:]}"
        return found[-1]

    def short(self) -> str:
        return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(self.argv))

    def explain(self) -> str:
        return (f"$ {self.short()}\n-> exit {self.rc} after {self.elapsed:.1f}s\n"
                f"--- stdout ---\n{self.out[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}")

    def expect(self, rc: int) -> "Result":
        assert self.rc == rc, f"expected exit {rc}, got {self.rc}\n{self.explain()}"
        return self


class Running:
    """A CLI process still running: stdout is read line by line on a thread (so its
    --json events can be waited for); stderr goes to a log file."""

    def __init__(self, argv: list, env: dict, log_path: str):
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._log,
                                     start_new_session=True)
        self.lines: list[str] = []
        self.events: list[dict] = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in iter(self.proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._cond:
                    self.lines.append(line)
                    self.events.extend(parse_events(line))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def explain(self) -> str:
        rc = self.proc.poll()
        state = "running" if rc is None else f"exit {rc}"
        return (f"$ {' '.join(self.argv)}\n-> {state}\n--- stdout ---\n"
                + "\n".join(self.lines[-40:]) + f"\n--- stderr ---\n{self.stderr()[-3000:]}")

    def wait_for(self, predicate: Callable[[list[dict]], object], timeout: float,
                 what: str) -> object:
        """Waits until predicate(events so far) is truthy and returns its value; fails
        if the process ends first or timeout seconds pass."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self.events))
                if value:
                    return value
                if self._eof:
                    raise AssertionError(f"the CLI ended before {what}:\n{self.explain()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n"
                                         f"{self.explain()}")
                self._cond.wait(min(left, 1.0))

    def kill(self) -> int:
        """SIGKILL, the process only; returns its exit status (-9)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait(30)
        self._reader.join(10)
        return rc

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the CLI did not finish within {timeout:.0f}s:\n{self.explain()}")
        self._reader.join(10)
        return rc

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def completed_partitions(events: list[dict]) -> list[int]:
    return [e["partition"] for e in events if e.get("event") == "partition_completed"]


class CLI:
    """Runs `sluice` hermetically: its own HOME and SLUICE_STATE_DIR, no SLUICE_*
    variable from the caller's environment, connection flags for one server and a
    certs/ identity unless told otherwise. Remembers every run for failure reports and
    kills every process still running at close()."""

    def __init__(self, binary: str, certs: sup.Certs, workdir: str, address: Optional[str] = None):
        self.binary = binary
        self.certs = certs
        self.workdir = workdir
        self.address = address
        self.home = os.path.join(workdir, "home")
        self.state_dir = os.path.join(workdir, "state")
        os.makedirs(self.home, exist_ok=True)
        os.makedirs(self.state_dir, exist_ok=True)
        self.transcript: list[str] = []
        self.running: list[Running] = []
        self._count = 0

    # --- what a run gets ----------------------------------------------------

    def flags(self, who: Optional[str] = "client", address: Optional[str] = None,
              ca: str = "ca.pem") -> list[str]:
        out = ["--server", address or self.address, "--ca", self.certs.path(ca)]
        if who is not None:
            cert, key = self.certs.client(who)
            out += ["--cert", cert, "--key", key]
        return out

    def env(self, extra: Optional[dict] = None) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in _CLI_VARIABLES and not k.startswith("SLUICE_")}
        env["HOME"] = self.home
        env["SLUICE_STATE_DIR"] = self.state_dir
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def _argv(self, args, connect: bool, who, address) -> list[str]:
        argv = [self.binary, *[str(a) for a in args]]
        if connect:
            argv += self.flags(who, address)
        return argv

    # --- running ------------------------------------------------------------

    def run(self, *args, connect: bool = True, who: Optional[str] = "client",
            address: Optional[str] = None, env: Optional[dict] = None,
            timeout: float = RUN_TIMEOUT, stdout_path: Optional[str] = None) -> Result:
        """Runs to the end (killed and failed after `timeout`). With stdout_path the
        standard output goes to that file (Result.stdout is then empty)."""
        argv = self._argv(args, connect, who, address)
        started = time.monotonic()
        out_file = open(stdout_path, "wb") if stdout_path else None
        try:
            proc = subprocess.Popen(argv, env=self.env(env), stdin=subprocess.DEVNULL,
                                    stdout=out_file or subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate(timeout=30)
                result = Result(argv, -9, stdout or b"", stderr.decode("utf-8", "replace"),
                                time.monotonic() - started)
                self._note(result)
                raise AssertionError(f"the CLI did not finish within {timeout:.0f}s (killed)\n"
                                     f"{result.explain()}")
        finally:
            if out_file is not None:
                out_file.close()
        result = Result(argv, proc.returncode, stdout or b"", stderr.decode("utf-8", "replace"),
                        time.monotonic() - started)
        self._note(result)
        return result

    def ok(self, *args, **kwargs) -> Result:
        return self.run(*args, **kwargs).expect(0)

    def start(self, *args, connect: bool = True, who: Optional[str] = "client",
              address: Optional[str] = None, env: Optional[dict] = None) -> Running:
        argv = self._argv(args, connect, who, address)
        self._count += 1
        log = os.path.join(self.workdir, f"cli-{self._count}.stderr")
        r = Running(argv, self.env(env), log)
        self.running.append(r)
        return r

    def _note(self, result: Result) -> None:
        self.transcript.append(f"$ {result.short()}\n-> exit {result.rc} "
                               f"({result.elapsed:.1f}s)\n{result.stderr[-1500:]}")

    def report(self) -> str:
        parts = list(self.transcript[-30:])
        for r in self.running:
            parts.append(r.explain())
        return "\n".join(parts)

    # --- state --------------------------------------------------------------

    def journal_dir(self) -> str:
        return os.path.join(self.state_dir, "journal")

    def journal_entries(self) -> list[dict]:
        d = self.journal_dir()
        out = []
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                if name.endswith(".json"):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(json.loads(f.read()))
        return out

    def close(self) -> None:
        for r in self.running:
            r.close()


# --------------------------------------------------------------------------
# A loopback TCP forwarder
# --------------------------------------------------------------------------

class TCPForwarder:
    """Listens on 127.0.0.1 (a port that stays the same) and forwards every
    connection to 127.0.0.1:target, which can be changed — so a client keeps one
    address while the server behind it restarts on another port. Bytes pass through
    untouched (TLS stays end to end)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._silenced: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.connections = 0
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def retarget(self, port: int) -> None:
        self.target_port = port

    def cut(self) -> None:
        """Ends every connection relayed so far, as a network that drops them does; new
        ones are relayed as before."""
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def silence(self) -> None:
        """Stops relaying on every connection relayed so far without ending any, as a network
        path that died without a word does (a laptop that slept, a NAT that forgot it): bytes
        sent on them vanish, and neither end hears a thing. New connections are relayed as
        before."""
        with self._lock:
            self._silenced.update(self._sockets)

    def _accept(self) -> None:
        while not self._closed:
            try:
                r, _, _ = select.select([self._listener], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                down, _ = self._listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            with self._lock:
                if self._closed:
                    down.close()
                    up.close()
                    return
                self.connections += 1
                self._sockets.update((down, up))
                for src, dst in ((down, up), (up, down)):
                    t = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                    t.start()
                    self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(256 * KIB)
                if not data:
                    break
                if src not in self._silenced:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end the whole connection, as a crashed peer would.
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            socks = list(self._sockets)
        try:
            self._listener.close()
        except OSError:
            pass
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(5)
