"""A connection closed or reset during the TLS handshake without a TLS alert (a network cut, a
load balancer, sluiced refusing a connection over --max-connections, which closes it right
after accept) is UNAVAILABLE: sluice-c exits 6 with the "could not be reached" hint, as the
Swift `sluice` CLI does, not 4 with the hint to check certificates. A handshake refused by
either side (a TLS alert from the server, a certificate that does not verify) stays exit 4
with that hint. A server that answers in something other than TLS (a plain HTTP server on that
port) is exit 4 too, with the hint to check --server instead. Each with the plain and the
ASan/UBSan build."""

from __future__ import annotations

import socket
import struct
import threading
import time

import grpc
import pytest

import c_support as cs
import cli_support
from servers import require_binary

CERT_HINT = "check --cert/--key"
SERVER_HINT = "check --server"
TRANSIENT_HINT = "could not be reached"

# Alert records as a server sends them before encryption: content type 21, TLS 1.2, length 2,
# then level and description.
CLOSE_NOTIFY = b"\x15\x03\x03\x00\x02\x01\x00"
HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"


class HandshakeCutter:
    """Accepts TCP connections, reads the ClientHello record whole, then ends the connection
    as `mode` says: "fin" closes it, "rst" resets it (SO_LINGER 0), "close_notify" or "alert"
    sends that alert record first and closes after the client has gone, "http" answers as a
    plain HTTP server does to bytes it cannot parse."""

    def __init__(self, mode: str):
        self.mode = mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.hellos = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    self._answer(conn)
                except OSError:
                    pass

    @staticmethod
    def _read_exact(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def _answer(self, conn: socket.socket) -> None:
        header = self._read_exact(conn, 5)
        if len(header) < 5 or header[0] != 0x16:
            return
        self._read_exact(conn, struct.unpack(">H", header[3:5])[0])
        self.hellos += 1
        if self.mode == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.mode in ("close_notify", "alert", "http"):
            conn.sendall({"close_notify": CLOSE_NOTIFY, "alert": HANDSHAKE_FAILURE,
                          "http": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}[self.mode])
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(4096):          # until the client closes: no reset hides the alert
                pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(params=["plain", "asan"])
def c_build(request, c_binaries) -> tuple[str, bool]:
    asan = request.param == "asan"
    return c_binaries[1 if asan else 0], asan


@pytest.fixture
def cutter(request):
    server = HandshakeCutter(request.param)
    yield server
    server.close()


def _swift(certs, tmp_path, address) -> cli_support.CLI:
    return cli_support.CLI(require_binary("sluice"), certs, str(tmp_path / "swift-cli"), address)


def _assert_transient(r: cs.Result) -> None:
    cs.assert_error(r, cs.EXIT_TRANSIENT, "UNAVAILABLE")
    assert CERT_HINT not in r.stderr, r.explain()
    assert "TLS failed" not in r.stderr, r.explain()
    assert TRANSIENT_HINT in r.stderr, r.explain()


@pytest.mark.parametrize("cutter", ["fin", "rst", "close_notify"], indirect=True)
def test_connection_ended_during_the_handshake_is_transient(cutter, c_build, certs, tmp_path):
    """No alert, no refusal: the server went away mid-handshake. Exit 6, as the Swift CLI."""
    binary, asan = c_build
    client = cs.CClient(binary, certs, str(tmp_path), cutter.address, sanitized=asan)
    for args in (["health"], ["ls"]):
        _assert_transient(client.run(*args))
    assert cutter.hellos >= 2, "the ClientHello never arrived: the cut was not during the handshake"
    swift = _swift(certs, tmp_path, cutter.address)
    try:
        r = swift.run("health")
        assert r.rc == cs.EXIT_TRANSIENT, swift.report()
        assert CERT_HINT not in r.stderr, swift.report()
    finally:
        swift.close()


@pytest.mark.parametrize("cutter", ["alert"], indirect=True)
def test_alert_during_the_handshake_is_a_refusal(cutter, c_build, certs, tmp_path):
    """A fatal alert (handshake_failure) is the server refusing: exit 4 with the certificate
    hint, as the Swift CLI."""
    binary, asan = c_build
    client = cs.CClient(binary, certs, str(tmp_path), cutter.address, sanitized=asan)
    r = client.run("health")
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "TLS failed" in r.stderr and CERT_HINT in r.stderr, r.explain()
    swift = _swift(certs, tmp_path, cutter.address)
    try:
        r = swift.run("health")
        assert r.rc == cs.EXIT_DENIED and CERT_HINT in r.stderr, swift.report()
    finally:
        swift.close()


@pytest.mark.parametrize("cutter", ["http"], indirect=True)
def test_a_server_that_speaks_no_tls_points_at_the_address(cutter, c_build, certs, tmp_path):
    """A plain HTTP server on the port named: its answer is no TLS record. Exit 4 (the TLS
    handshake failed), with the hint to check --server, not the certificates; the Swift CLI too."""
    binary, asan = c_build
    client = cs.CClient(binary, certs, str(tmp_path), cutter.address, sanitized=asan)
    r = client.run("health")
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "does not speak TLS" in r.stderr and SERVER_HINT in r.stderr, r.explain()
    assert CERT_HINT not in r.stderr, r.explain()
    swift = _swift(certs, tmp_path, cutter.address)
    try:
        r = swift.run("health")
        assert r.rc == cs.EXIT_DENIED and SERVER_HINT in r.stderr and CERT_HINT not in r.stderr, swift.report()
    finally:
        swift.close()


def test_certificate_the_server_refuses_is_still_denied(c_build, certs, server, tmp_path):
    """A client certificate from another CA, refused by sluiced with an alert: exit 4 with the
    certificate hint, not taken for a cut connection."""
    binary, asan = c_build
    client = cs.CClient(binary, certs, str(tmp_path), server.address, sanitized=asan)
    r = client.run("health", who="other-client")
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "TLS failed" in r.stderr and CERT_HINT in r.stderr, r.explain()
    r = client.run("health", ca="other-ca.pem")
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "did not verify" in r.stderr and CERT_HINT in r.stderr, r.explain()


def _holding_the_only_slot(srv):
    """A client whose connection holds the server's one slot: the connection that checked the
    server was up may still hold it for a moment, so a refused first try is tried again."""
    deadline = time.monotonic() + 20
    while True:
        holder = srv.client()
        try:
            holder.put_object("held/slot", b"held")
            return holder
        except grpc.RpcError:
            holder.close()
            assert time.monotonic() < deadline, "the server's one connection slot never came free"
            time.sleep(0.2)


def test_connection_over_max_connections_is_transient(storage, c_build, certs, tmp_path):
    """sluiced at --max-connections 1 with its one slot held closes the next connection as soon
    as it accepts it: sluice-c exits 6 (retry later), as the Swift CLI, and is served once the
    slot is free."""
    binary, asan = c_build
    srv = storage.server(label="sluiced-max-connections-1", max_connections=1)
    holder = _holding_the_only_slot(srv)
    client = cs.CClient(binary, certs, str(tmp_path), srv.address, sanitized=asan)
    for args in (["health"], ["ls"]):
        _assert_transient(client.run(*args))
    swift = _swift(certs, tmp_path, srv.address)
    try:
        r = swift.run("health")
        assert r.rc == cs.EXIT_TRANSIENT and CERT_HINT not in r.stderr, swift.report()
    finally:
        swift.close()
    holder.put_object("held/still", b"the held connection still works")
    holder.channel.close()
    deadline = time.monotonic() + 20
    while client.run("health").rc != cs.EXIT_OK:
        assert time.monotonic() < deadline, f"not served after the slot was freed\n{client.report()}"
        time.sleep(0.2)
    srv.assert_alive()
