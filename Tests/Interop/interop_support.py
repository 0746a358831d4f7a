"""Shared helpers for the interop suite: stub generation, certificates, ports,
processes, channels and bounded polling. No pytest fixtures live here (see
conftest.py), so the reference server can import this module on its own."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROTOS_ROOT = os.path.join(REPO_ROOT, "Protos")
ECHO_PROTO = os.path.join("sluice", "interop", "v1", "echo.proto")
# Under pytest-xdist every worker generates its own stubs: workers start together, and one must
# never import a module another is still writing.
GENERATED_DIR = os.path.join(HERE, "generated", os.environ.get("PYTEST_XDIST_WORKER", "main"))

MIB = 1024 * 1024
DEFAULT_MAX_RECEIVE = 4 * MIB
ECHO_SERVICE = "sluice.interop.v1.EchoService"
HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"

_gen_lock = threading.Lock()


# --------------------------------------------------------------------------
# Generated stubs
# --------------------------------------------------------------------------

def generate_stubs(out_dir: str = GENERATED_DIR) -> str:
    """Runs grpc_tools.protoc on echo.proto (from the Protos/ root, so the Python
    package is sluice.interop.v1) into out_dir, adds __init__.py files and puts
    out_dir on sys.path. Idempotent within a process."""
    with _gen_lock:
        from grpc_tools import protoc  # imported lazily: heavy
        import grpc_tools

        os.makedirs(out_dir, exist_ok=True)
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        args = [
            "grpc_tools.protoc",
            f"-I{PROTOS_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            ECHO_PROTO,
        ]
        rc = protoc.main(args)
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed ({rc}) for {ECHO_PROTO}")
        pkg = out_dir
        for part in ("sluice", "interop", "v1"):
            pkg = os.path.join(pkg, part)
            init = os.path.join(pkg, "__init__.py")
            if not os.path.exists(init):
                with open(init, "w") as f:
                    f.write("")
        if out_dir not in sys.path:
            sys.path.insert(0, out_dir)
        importlib.invalidate_caches()
        return out_dir


def echo_modules():
    """(echo_pb2, echo_pb2_grpc), generating them first if needed."""
    try:
        from sluice.interop.v1 import echo_pb2, echo_pb2_grpc  # type: ignore
    except ImportError:
        generate_stubs()
        from sluice.interop.v1 import echo_pb2, echo_pb2_grpc  # type: ignore
    return echo_pb2, echo_pb2_grpc


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Certs:
    dir: str

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as f:
            return f.read()

    # Common paths
    @property
    def ca(self) -> str:
        return self.path("ca.pem")

    @property
    def server_cert(self) -> str:
        return self.path("server.pem")

    @property
    def server_key(self) -> str:
        return self.path("server-key.pem")

    def client(self, stem: str = "client") -> tuple[str, str]:
        return self.path(f"{stem}.pem"), self.path(f"{stem}-key.pem")


def identity_from_cert(pem: bytes) -> str:
    """The peer identity string Sluice reports for a certificate:
    "CN=<cn>" followed by ";DNS=<san>" for each DNS SAN, in certificate order."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(pem)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    parts = [f"CN={cns[0].value}" if cns else "CN="]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for entry in san:
            if isinstance(entry, x509.DNSName):
                parts.append(f"DNS={entry.value}")
    except x509.ExtensionNotFound:
        pass
    return ";".join(parts)


# --------------------------------------------------------------------------
# Ports and polling
# --------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05,
               what: str = "condition") -> object:
    """Polls predicate until it returns a truthy value (returned) or timeout seconds
    pass (AssertionError). Bounded in time and in iterations."""
    deadline = time.monotonic() + timeout
    max_iters = int(timeout / max(interval, 0.001)) + 10
    last_exc: Optional[BaseException] = None
    for _ in range(max_iters):
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as e:  # keep polling; report the last error
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = f"timed out after {timeout:.1f}s waiting for {what}"
    if last_exc is not None:
        msg += f" (last error: {last_exc!r})"
    raise AssertionError(msg)


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# Binaries and processes
# --------------------------------------------------------------------------

def bin_dir() -> Optional[str]:
    d = os.environ.get("SLUICE_BIN_DIR", "").strip()
    return d or None


def binaries_required() -> bool:
    return os.environ.get("SLUICE_REQUIRE_BINARIES", "") == "1"


def find_binary(name: str) -> tuple[Optional[str], str]:
    """(path, reason): path is None when the binary is not available."""
    d = bin_dir()
    if d is None:
        return None, f"SLUICE_BIN_DIR is not set (needed for {name})"
    p = os.path.join(d, name)
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        return None, f"{p} not found or not executable"
    return p, ""


@dataclass
class ManagedProcess:
    """A subprocess whose output goes to a log file; stop() always reaps it."""
    argv: list[str]
    log_path: str
    env: Optional[dict] = None
    proc: Optional[subprocess.Popen] = None
    _log: object = field(default=None, repr=False)

    def start(self) -> "ManagedProcess":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, start_new_session=True,
        )
        return self

    def output(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, n: int = 4000) -> str:
        """The end of the output; for a long one (a crash backtrace) also its start,
        where the crash reason is."""
        out = self.output()
        if len(out) <= n:
            return out
        head = n * 2 // 3
        return out[:head] + "\n[...]\n" + out[-(n - head):]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5.0) -> Optional[int]:
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                rc = self.wait(grace)
                if rc is None:
                    self.proc.kill()
                    rc = self.wait(5.0)
            else:
                rc = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc


def wait_for_listen(mp: ManagedProcess, host: str, port: int, timeout: float = 20.0) -> None:
    """Waits until the process accepts TCP connections on (host, port); fails early
    with the process output if it exits first."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 10):
        if not mp.alive():
            raise AssertionError(
                f"{mp.argv[0]} exited with {mp.proc.returncode} before listening on "
                f"{host}:{port}:\n{mp.tail()}")
        if port_accepts(host, port):
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    raise AssertionError(
        f"{mp.argv[0]} did not listen on {host}:{port} within {timeout}s:\n{mp.tail()}")


# --------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------

def channel_credentials(certs: Certs, client: Optional[str] = "client", ca: str = "ca.pem"):
    import grpc

    root = certs.read(ca)
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=root)
    cert_path, key_path = certs.client(client)
    with open(cert_path, "rb") as f:
        chain = f.read()
    with open(key_path, "rb") as f:
        key = f.read()
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                        certificate_chain=chain)


def secure_channel(address: str, certs: Certs, client: Optional[str] = "client",
                   options: Optional[list] = None):
    import grpc

    opts = list(options or [])
    # Each test channel gets its own connection (no subchannel sharing across
    # channels), so "a channel opened before" really is a separate connection.
    opts.append(("grpc.use_local_subchannel_pool", 1))
    return grpc.secure_channel(address, channel_credentials(certs, client), options=opts)


@contextlib.contextmanager
def mounted(arguments: list[str], target: str, what: str):
    """`mount ARGUMENTS TARGET` for the block, lazily unmounted after; the test is skipped where
    mounting is not allowed (it needs root). `what` names the mount in the skip message."""
    import pytest

    try:
        subprocess.run(["mount", *arguments, target], check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount {what} here (needs root): {e}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", target], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
