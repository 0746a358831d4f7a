"""Swift client → stock gRPC server: `sluice-interop client --case NAME` against the
Python reference server (mutual TLS) must exit 0 for every case. The same cases
also run against the Swift server (end to end through Sluice on both sides)."""

from __future__ import annotations

import os
import subprocess

import pytest

import interop_support as sup
from servers import SWIFT, require_binary

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
    # flags only: the client would also read SLUICE_SERVER/SLUICE_CA/... from the environment
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLUICE_SERVER", "SLUICE_CA", "SLUICE_CERT", "SLUICE_KEY")}
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT, env=env)


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


# ---- a complete response followed by RST_STREAM(NO_ERROR) -----------------------

@pytest.fixture
def early_reset_server(certs):
    from early_reset_server import EarlyResetServer

    srv = EarlyResetServer(certs).start()
    yield srv
    srv.stop()


EARLY_RESET_RUNS = 40


def test_swift_client_early_reset_after_response(interop_binary, early_reset_server,
                                                           certs):
    """grpc core answers a unary call as soon as it has the request message and, if
    the client has not half-closed yet, resets the stream with NO_ERROR (RFC 9113
    §8.1). The client must report the complete response as a success. The race is
    narrow, so the case runs many times."""
    failures = []
    for _ in range(EARLY_RESET_RUNS):
        proc = run_client(interop_binary, early_reset_server.address, certs, "unary")
        if proc.returncode != 0:
            failures.append(_explain(proc))
    assert early_reset_server.answered >= EARLY_RESET_RUNS, early_reset_server.errors
    assert not failures, (f"{len(failures)} of {EARLY_RESET_RUNS} runs failed "
                          f"({early_reset_server.early_resets} early resets sent):\n"
                          + failures[0])


@pytest.mark.python_server
def test_early_reset_server_itself(early_reset_server, certs):
    """Validates the server above with stock clients: grpcio succeeds, and a raw
    client that has not half-closed gets the full response, then RST_STREAM(NO_ERROR)."""
    import h2.errors

    from raw_h2 import RawH2, grpc_frame

    echo_pb2, echo_grpc = sup.echo_modules()
    with sup.secure_channel(early_reset_server.address, certs) as ch:
        resp = echo_grpc.EchoServiceStub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"py"),
                                                       timeout=10)
    assert resp.payload == b"py"
    assert resp.peer_identity == sup.identity_from_cert(certs.read("client.pem"))
    with RawH2("127.0.0.1", early_reset_server.port, certs).connect() as h:
        sid = h.new_stream()
        h.send_headers(sid, h.request_headers("/sluice.interop.v1.EchoService/UnaryEcho"))
        h.send_data(sid, grpc_frame(echo_pb2.EchoRequest(payload=b"raw").SerializeToString()))
        st = h.wait(sid)
    assert st.grpc_status == 0, st
    assert [echo_pb2.EchoResponse.FromString(m).payload for m in st.messages()] == [b"raw"]
    assert st.reset == h2.errors.ErrorCodes.NO_ERROR
    assert early_reset_server.early_resets >= 1
