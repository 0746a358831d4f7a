"""Mutual TLS, ALPN and TLS versions of the EchoService server started with
--require-client-cert. The Python-server variant validates the tests."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from typing import Optional

import grpc
import pytest

import interop_support as sup
from servers import SERVER_KINDS

echo_pb2, _ = sup.echo_modules()

TIMEOUT = 10.0
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


# ---- grpcio clients ---------------------------------------------------------

def test_good_client_identity(echo_server):
    with echo_server.channel("client") as ch:
        resp = echo_server.stub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"id"),
                                              timeout=TIMEOUT)
    assert resp.peer_identity == "CN=sluice-client;DNS=client.sluice.test"


def test_second_client_identity(echo_server, certs):
    with echo_server.channel("client2") as ch:
        resp = echo_server.stub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"id"),
                                              timeout=TIMEOUT)
    assert resp.peer_identity == sup.identity_from_cert(certs.read("client2.pem"))
    assert resp.peer_identity.split(";")[0] == "CN=sluice-client2"


@pytest.mark.parametrize("client", [None, "other-client", "expired-client"],
                         ids=["no-client-cert", "other-ca-client", "expired-client"])
def test_rejected_clients_grpc(echo_server, certs, client):
    creds = sup.channel_credentials(certs, client)
    with grpc.secure_channel(echo_server.address, creds,
                             options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        with pytest.raises(grpc.RpcError) as ei:
            echo_server.stub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"x"), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
    # the server is unaffected
    with echo_server.channel() as ch:
        assert echo_server.stub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"ok"),
                                              timeout=TIMEOUT).payload == b"ok"


# ---- raw TLS sockets --------------------------------------------------------

@dataclass
class TLSOutcome:
    handshake_ok: bool
    error: Optional[BaseException] = None
    alpn: Optional[str] = None
    version: Optional[str] = None
    data: bytes = b""
    closed: bool = False       # EOF or a TLS alert/reset after the handshake
    timed_out: bool = False
    peer_cn: Optional[str] = None


def client_context(certs: sup.Certs, client: Optional[str] = "client", alpn=("h2",),
                   min_version=None, max_version=None, seclevel0: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.ca)
    ctx.check_hostname = True
    if client is not None:
        ctx.load_cert_chain(*certs.client(client))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if seclevel0:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def tls_attempt(server, ctx: ssl.SSLContext, send: bytes = H2_PREFACE + EMPTY_SETTINGS,
                want: int = 9, read_timeout: float = 5.0) -> TLSOutcome:
    """Connects, handshakes, sends `send`, and reads until `want` bytes, EOF, an
    error or read_timeout."""
    raw = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    try:
        tls = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as e:
            return TLSOutcome(handshake_ok=False, error=e)
        out = TLSOutcome(handshake_ok=True, alpn=tls.selected_alpn_protocol(),
                         version=tls.version())
        cert = tls.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    out.peer_cn = v
        deadline = time.monotonic() + read_timeout
        try:
            if send:
                tls.sendall(send)
            for _ in range(1000):
                left = deadline - time.monotonic()
                if left <= 0:
                    out.timed_out = True
                    break
                tls.settimeout(left)
                chunk = tls.recv(65536)
                if not chunk:
                    out.closed = True
                    break
                out.data += chunk
                if len(out.data) >= want:
                    break
        except socket.timeout:
            out.timed_out = True
        except (ssl.SSLError, OSError) as e:
            out.error = e
            out.closed = True
        return out
    finally:
        raw.close()


def assert_refused(out: TLSOutcome) -> None:
    """Refused: the handshake failed, or the connection was closed (alert, reset or
    EOF) before the server sent any HTTP/2 byte."""
    if not out.handshake_ok:
        return
    assert out.data == b"", f"server spoke to a client it should refuse: {out}"
    assert out.closed and not out.timed_out, f"server neither refused nor served: {out}"


@pytest.mark.parametrize("client", [None, "other-client", "expired-client"],
                         ids=["no-client-cert", "other-ca-client", "expired-client"])
def test_rejected_clients_raw_tls(echo_server, certs, client):
    assert_refused(tls_attempt(echo_server, client_context(certs, client)))


def test_alpn_h2_negotiated(echo_server, certs):
    out = tls_attempt(echo_server, client_context(certs, "client", alpn=("h2",)))
    assert out.handshake_ok, out
    assert out.alpn == "h2"
    assert out.peer_cn == "localhost"
    # The server's connection preface is a SETTINGS frame (type 4, stream 0).
    assert len(out.data) >= 9, out
    assert out.data[3] == 0x4 and out.data[5:9] == b"\x00\x00\x00\x00", out.data[:9]


def test_alpn_prefers_h2_among_offers(echo_server, certs):
    out = tls_attempt(echo_server, client_context(certs, "client", alpn=("http/1.1", "h2")))
    assert out.handshake_ok, out
    assert out.alpn == "h2"


def test_alpn_http11_only_refused(echo_server, certs):
    out = tls_attempt(echo_server, client_context(certs, "client", alpn=("http/1.1",)),
                      send=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    if out.handshake_ok:
        assert out.alpn != "h2"
    assert_refused(out)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls11_refused(echo_server, certs):
    ctx = client_context(certs, "client", min_version=ssl.TLSVersion.TLSv1,
                         max_version=ssl.TLSVersion.TLSv1_1, seclevel0=True)
    out = tls_attempt(echo_server, ctx)
    assert not out.handshake_ok, f"TLS {out.version} accepted with a TLS 1.1 maximum"
    # The client really offered TLS 1.1 (it did not give up on its own).
    for own_failure in ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"):
        assert own_failure not in str(out.error).upper(), out.error


def test_tls12_accepted(echo_server, certs):
    ctx = client_context(certs, "client", max_version=ssl.TLSVersion.TLSv1_2)
    out = tls_attempt(echo_server, ctx)
    assert out.handshake_ok, out
    assert out.version == "TLSv1.2"
    assert out.alpn == "h2"
    assert len(out.data) >= 9 and out.data[3] == 0x4


def test_tls13_accepted(echo_server, certs):
    ctx = client_context(certs, "client", min_version=ssl.TLSVersion.TLSv1_3)
    out = tls_attempt(echo_server, ctx)
    assert out.handshake_ok, out
    assert out.version == "TLSv1.3"
    assert len(out.data) >= 9 and out.data[3] == 0x4


# ---- plaintext h2c mode ------------------------------------------------------

@pytest.fixture(scope="module", params=SERVER_KINDS)
def h2c_server(request, server_pool):
    return server_pool(request.param, plaintext=True)


def test_h2c_plaintext(h2c_server):
    with h2c_server.channel() as ch:
        stub = h2c_server.stub(ch)
        resp = stub.UnaryEcho(echo_pb2.EchoRequest(payload=b"plain"), timeout=TIMEOUT)
        assert resp.payload == b"plain"
        assert resp.peer_identity == ""
        out = list(stub.BidiEcho(iter([echo_pb2.EchoRequest(payload=b"a")] * 3), timeout=TIMEOUT))
        assert [r.received_messages for r in out] == [1, 2, 3]
