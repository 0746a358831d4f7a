"""A small HTTP/2 client on the `h2` library over a TLS socket (client certificate,
ALPN h2), for sending gRPC requests that a stock gRPC client never would: broken
framing, wrong headers, oversized headers, raw frames. Every read is bounded in
time; results are collected per stream."""

from __future__ import annotations

import gzip
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

import interop_support as sup

# Seconds a send waits for a peer that takes no bytes before the connection counts as closed.
SEND_TIMEOUT = 10.0


def grpc_frame(message: bytes, compressed: bool = False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(message)) + message


def parse_grpc_frames(data: bytes, encoding: Optional[str] = None) -> list:
    """Splits a response body into messages (decompressing gzip ones)."""
    out = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 5:
            raise ValueError(f"truncated gRPC frame header at {pos}")
        flag, length = struct.unpack(">BI", data[pos:pos + 5])
        body = data[pos + 5:pos + 5 + length]
        if len(body) != length:
            raise ValueError(f"truncated gRPC message: {len(body)} of {length}")
        if flag & 1:
            if encoding != "gzip":
                raise ValueError(f"compressed response with grpc-encoding {encoding!r}")
            body = gzip.decompress(body)
        out.append(body)
        pos += 5 + length
    return out


@dataclass
class StreamResult:
    headers: Optional[dict] = None          # first (response) header block
    data: bytes = b""
    trailers: Optional[dict] = None
    ended: bool = False
    reset: Optional[int] = None             # RST_STREAM error code
    headers_ended_stream: bool = False      # trailers-only response

    @property
    def finished(self) -> bool:
        return self.ended or self.reset is not None

    @property
    def http_status(self) -> Optional[int]:
        if self.headers and ":status" in self.headers:
            return int(self.headers[":status"])
        return None

    def _field(self, name: str) -> Optional[str]:
        for block in (self.trailers, self.headers):
            if block and name in block:
                return block[name]
        return None

    @property
    def grpc_status(self) -> Optional[int]:
        v = self._field("grpc-status")
        return int(v) if v is not None else None

    @property
    def grpc_message(self) -> Optional[str]:
        return self._field("grpc-message")

    def messages(self) -> list:
        enc = (self.headers or {}).get("grpc-encoding")
        return parse_grpc_frames(self.data, enc)


@dataclass
class RawH2:
    host: str
    port: int
    certs: sup.Certs
    client: Optional[str] = "client"
    sock: Optional[ssl.SSLSocket] = None
    conn: Optional[h2.connection.H2Connection] = None
    streams: dict = field(default_factory=dict)
    goaway: Optional[h2.events.ConnectionTerminated] = None
    closed: bool = False
    protocol_error: Optional[BaseException] = None

    # ---- connection ----------------------------------------------------------

    def connect(self, preface: bool = True, window: int = 16 * sup.MIB) -> "RawH2":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.certs.ca)
        if self.client:
            ctx.load_cert_chain(*self.certs.client(self.client))
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((self.host, self.port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        cfg = h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8",
            validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        # A large local window so responses never stall on our side (unless asked).
        self.conn.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window,
                                         h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20})
        if preface:
            self.conn.initiate_connection()
            self.conn.increment_flow_control_window(64 * sup.MIB)
            self.flush()
        return self

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.send_raw(data)

    def send_raw(self, data: bytes, timeout: float = SEND_TIMEOUT) -> None:
        """Sends all of `data`, waiting up to `timeout` seconds at a time for a peer slow to
        take it, whatever timeout the last read used: the acknowledgements `pump` sends (of a
        PING, of SETTINGS) once went out with its half-second read timeout, and gave up while a
        loaded server was still taking the bytes sent before them."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    # ---- requests ------------------------------------------------------------

    def request_headers(self, path: str, *, content_type: Optional[str] = "application/grpc",
                        te: bool = True, method: str = "POST", extra=()) -> list:
        hdrs = [(":method", method), (":scheme", "https"), (":path", path),
                (":authority", f"localhost:{self.port}")]
        if content_type is not None:
            hdrs.append(("content-type", content_type))
        if te:
            hdrs.append(("te", "trailers"))
        hdrs.extend(extra)
        return hdrs

    def new_stream(self) -> int:
        """Allocates the next client stream id (opened by its first HEADERS)."""
        sid = max([self.conn.get_next_available_stream_id()] +
                  [k + 2 for k in self.streams])
        self.streams[sid] = StreamResult()
        return sid

    def send_headers(self, sid: int, headers: list, end_stream: bool = False) -> None:
        self.conn.send_headers(sid, headers, end_stream=end_stream)
        self.flush()

    def send_data(self, sid: int, data: bytes, end_stream: bool = False,
                  timeout: float = 10.0) -> None:
        """Sends data respecting the peer's flow-control windows (bounded wait)."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while True:
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window > 0 or len(view) == 0:
                chunk = view[:window]
                view = view[len(chunk):]
                last = len(view) == 0
                self.conn.send_data(sid, bytes(chunk), end_stream=end_stream and last)
                self.flush()
                if last:
                    return
                continue
            if time.monotonic() >= deadline or self.closed:
                raise TimeoutError(f"flow-control window closed for stream {sid}")
            self.pump(min(0.2, deadline - time.monotonic()))

    def unary(self, path: str, message: bytes, **hdr_kw) -> int:
        sid = self.new_stream()
        self.send_headers(sid, self.request_headers(path, **hdr_kw))
        self.send_data(sid, grpc_frame(message), end_stream=True)
        return sid

    # ---- reading -------------------------------------------------------------

    def pump(self, timeout: float) -> bool:
        """Reads once (up to timeout s) and dispatches events. False when closed."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            return True
        except (ssl.SSLError, OSError):
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.protocol_error = e
            self.closed = True
            return False
        for ev in events:
            self._dispatch(ev)
        self.flush()
        return True

    def _dispatch(self, ev) -> None:
        sid = getattr(ev, "stream_id", None)
        st = self.streams.get(sid) if sid is not None else None
        if isinstance(ev, h2.events.ResponseReceived) and st is not None:
            st.headers = _hdict(ev.headers)
            if ev.stream_ended is not None:
                st.headers_ended_stream = True
        elif isinstance(ev, h2.events.TrailersReceived) and st is not None:
            st.trailers = _hdict(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            if st is not None:
                st.data += ev.data
            if ev.flow_controlled_length:
                try:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                except h2.exceptions.StreamClosedError:
                    pass
        elif isinstance(ev, h2.events.StreamEnded) and st is not None:
            st.ended = True
        elif isinstance(ev, h2.events.StreamReset) and st is not None:
            st.reset = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev

    def wait(self, sid: int, timeout: float = 10.0) -> StreamResult:
        """Reads until stream sid finishes, the connection closes or timeout."""
        deadline = time.monotonic() + timeout
        st = self.streams[sid]
        for _ in range(100000):
            if st.finished or self.closed:
                break
            if self.goaway is not None and sid > (self.goaway.last_stream_id or 0):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.pump(min(left, 0.5))
        return st

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            if self.closed:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.5))
        return self.closed


def _hdict(headers) -> dict:
    out = {}
    for k, v in headers:
        k = k.decode() if isinstance(k, bytes) else k
        v = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        out[k] = v
    return out


def open_raw(server, client: Optional[str] = "client") -> RawH2:
    return RawH2(server.host, server.port, server.certs, client).connect()
