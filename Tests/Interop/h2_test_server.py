"""What every hand-made HTTP/2 test server here shares: mutual TLS with the test CA and ALPN
h2 on a loopback port, a thread per connection, failures recorded for the tests' messages, and
stop(). A subclass says what one connection does (`serve_h2`); `open_h2` starts the HTTP/2
side of it and `event_batches` reads it."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import h2.config
import h2.connection

import interop_support as sup

# Seconds a send waits for a client that takes no bytes; reads wait half a second at a time.
SEND_TIMEOUT = 10.0
READ_TIMEOUT = 0.5


class TLSH2Server:
    def __init__(self, certs: sup.Certs):
        self.certs = certs
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.server_cert, certs.server_key)
        self.ctx.load_verify_locations(certs.ca)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.set_alpn_protocols(["h2"])
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.errors: list = []
        self._threads: list = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        self._accept.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._accept.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
        self.lsock.close()

    def serve_h2(self, tls: ssl.SSLSocket) -> None:
        """Serves one connection until it ends or the server stops."""
        raise NotImplementedError

    def open_h2(self, tls: ssl.SSLSocket) -> h2.connection.H2Connection:
        """The server side of HTTP/2 on `tls`, its preface sent."""
        h = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False,
                                                                  header_encoding="utf-8"))
        h.initiate_connection()
        self.send(tls, h.data_to_send())
        return h

    @staticmethod
    def send(tls: ssl.SSLSocket, data: bytes) -> None:
        """Sends all of `data` with a timeout of its own, not the read loop's half second: a
        client still taking earlier bytes (a loaded machine) is not a failed connection."""
        tls.settimeout(SEND_TIMEOUT)
        tls.sendall(data)

    def event_batches(self, tls: ssl.SSLSocket, h: h2.connection.H2Connection, seconds: float):
        """The events of each read from `tls`, until the peer closes, `seconds` pass or the
        server stops; what `h` has to send goes out after the caller has handled each batch."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            tls.settimeout(READ_TIMEOUT)
            try:
                data = tls.recv(1 << 16)
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                return
            if not data:
                return
            yield h.receive_data(data)
            out = h.data_to_send()
            if out:
                self.send(tls, out)

    def _accept_loop(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        try:
            self.serve_h2(tls)
        except Exception as e:  # recorded for the test's messages
            with self.lock:
                self.errors.append(repr(e))
        finally:
            tls.close()
