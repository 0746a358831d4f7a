"""Swift client → stock gRPC server: `sluice-interop client --case NAME` against the
Python reference server (mutual TLS) must exit 0 for every case. The same cases
also run against the Swift server (end to end through Sluice on both sides)."""

from __future__ import annotations

import os
import subprocess

import pytest

import interop_support as sup
from servers import PYTHON, SWIFT, require_binary

pytestmark = pytest.mark.swift

CASES = [
    "unary", "client_streaming", "server_streaming", "bidi", "large_unary",
    "concurrent_streams", "metadata", "status_unicode", "deadline_exceeded", "cancellation",
    "unimplemented", "oversize_request", "health",
]
CANCEL_TAG = "swift-cancel"
RUN_TIMEOUT = 90


def run_client(binary: str, address: str, certs: sup.Certs, case: str, *, ca="ca.pem",
               client="client") -> subprocess.CompletedProcess:
    cert, key = certs.client(client)
    argv = [binary, "client", "--server", address, "--ca", certs.path(ca), "--cert", cert,
            "--key", key, "--case", case]
    # subprocess.run kills the child if it outlives the timeout
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)


def _explain(proc) -> str:
    out = proc.stdout.decode("utf-8", "replace")[-4000:]
    return f"`{' '.join(proc.args)}` exited {proc.returncode}:\n{out}"


@pytest.fixture
def interop_binary():
    return require_binary("sluice-interop")


@pytest.mark.parametrize("case", CASES)
def test_swift_client_against_python_server(interop_binary, reference_server, certs, case):
    assert CANCEL_TAG not in reference_server.cancelled_tags()
    proc = run_client(interop_binary, reference_server.address, certs, case)
    assert proc.returncode == 0, _explain(proc)
    if case == "cancellation":
        sup.wait_until(lambda: CANCEL_TAG in reference_server.cancelled_tags(), 5.0,
                       what=f"the Python server to record {CANCEL_TAG!r} as cancelled")
    if case == "deadline_exceeded":
        # the server saw its handler cancelled when the 200 ms deadline passed
        sup.wait_until(lambda: reference_server.state.active_calls == 0, 5.0,
                       what="the timed-out handler to stop on the Python server")


@pytest.fixture(scope="module")
def swift_target(server_pool):
    return server_pool(SWIFT)


@pytest.mark.parametrize("case", CASES)
def test_swift_client_against_swift_server(interop_binary, swift_target, certs, case):
    proc = run_client(interop_binary, swift_target.address, certs, case)
    assert proc.returncode == 0, _explain(proc)
    if case == "cancellation":
        swift_target.wait_cancelled(CANCEL_TAG, timeout=5.0)


# ---- the client reports failure, too ------------------------------------------

def test_swift_client_fails_on_untrusted_server(interop_binary, reference_server, certs):
    proc = run_client(interop_binary, reference_server.address, certs, "unary", ca="other-ca.pem")
    assert proc.returncode != 0, _explain(proc)


def test_swift_client_fails_when_its_cert_is_rejected(interop_binary, reference_server, certs):
    proc = run_client(interop_binary, reference_server.address, certs, "unary",
                      client="other-client")
    assert proc.returncode != 0, _explain(proc)


def test_swift_client_fails_on_unknown_case(interop_binary, reference_server, certs):
    proc = run_client(interop_binary, reference_server.address, certs, "no_such_case")
    assert proc.returncode != 0, _explain(proc)


def test_swift_client_fails_when_nobody_listens(interop_binary, certs):
    proc = run_client(interop_binary, f"127.0.0.1:{sup.free_port()}", certs, "unary")
    assert proc.returncode != 0, _explain(proc)
