"""Database outages for the interop tests: a proxy in front of PostgreSQL that can be cut
(connections refused, the ones relayed closed) or stalled (connections taken and never
answered, as by a database that hangs), a role of a test's own whose connections the
server can refuse (53300), and the checks the outage tests share."""

from __future__ import annotations

import os
import socket
import threading
import urllib.parse
from typing import Optional

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import interop_support as sup


def database_endpoint(admin_url: str):
    """Where the test cluster listens: ("unix", path) or ("tcp", (host, port))."""
    parts = urllib.parse.urlsplit(admin_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "/var/run/postgresql"
    port = int(query.get("port") or parts.port or 5432)
    if host.startswith("/"):
        return "unix", os.path.join(host, f".s.PGSQL.{port}")
    return "tcp", (host, port)


class DatabaseProxy:
    """Listens on 127.0.0.1:port and relays each connection to PostgreSQL. cut() closes
    the listener and every relayed connection (an outage); stall() closes the relayed
    connections and from then on takes new ones without ever answering (a database that
    hangs: each attempt lasts the client's connect_timeout); resume() relays again."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.port = sup.free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: Optional[socket.socket] = None
        self._stalled = False
        self.resume()

    def resume(self) -> None:
        with self._lock:
            self._stalled = False
            if self._listener is not None:
                return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        self._close([listener] if listener else [])
        self._close_relayed()

    def stall(self) -> None:
        with self._lock:
            self._stalled = True
        self._close_relayed()

    def close(self) -> None:
        self.cut()

    def _close_relayed(self) -> None:
        with self._lock:
            victims, self._sockets = self._sockets, []
        self._close(victims)

    @staticmethod
    def _close(sockets: list[socket.socket]) -> None:
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _connect_upstream(self) -> socket.socket:
        kind, where = self.endpoint
        upstream = socket.socket(socket.AF_UNIX if kind == "unix" else socket.AF_INET,
                                 socket.SOCK_STREAM)
        upstream.connect(where)
        return upstream

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stalled:
                    self._sockets.append(client)   # held unanswered until cut or stalled again
                    continue
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def through(proxy: DatabaseProxy, database_url: str) -> str:
    """`database_url`'s database, reached through the proxy."""
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(database_url).query))
    user = query.get("user", "postgres")
    return f"postgresql://{user}@127.0.0.1:{proxy.port}/{name}?connect_timeout=3"



class RefusableRole:
    """A login role of the test's own, owner of a fresh database: refuse() makes the server
    refuse its new connections with SQLSTATE 53300 ("too many connections for role", as
    when every slot is taken) and ends its sessions; accept() lets it in again. Its own
    role, because the server never refuses a superuser so, and the cluster is shared."""

    def __init__(self, postgres):
        self.postgres = postgres
        self.name = f"sluice_refused_{os.urandom(4).hex()}"
        postgres.run(f"CREATE ROLE {self.name} LOGIN")
        self.database, url = postgres.create_database()
        postgres.run(f"ALTER DATABASE {self.database} OWNER TO {self.name}")
        self.url = with_user(url, self.name)

    def refuse(self) -> None:
        self.postgres.run(f"ALTER ROLE {self.name} CONNECTION LIMIT 0")
        self.postgres.run("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          f"WHERE usename = '{self.name}'")

    def accept(self) -> None:
        self.postgres.run(f"ALTER ROLE {self.name} CONNECTION LIMIT -1")

    def drop(self) -> None:
        self.postgres.drop_database(self.database)
        self.postgres.run(f"DROP ROLE IF EXISTS {self.name}")


def with_user(url: str, user: str) -> str:
    """The libpq URL or key=value string `url`, connecting as `user`."""
    if "://" not in url:
        return f"{url} user={user}"
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "user"] + [("user", user)]
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}?{urllib.parse.urlencode(query, safe='/')}"

def health(channel, service: str = "") -> int:
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=10).status


def assert_concealed(e: grpc.RpcError) -> None:
    """The answer says the database is unavailable in general words and names the request
    (the sluice-request-id header too), never the database's own words."""
    text = e.details() or ""
    for word in ("PostgreSQL", "postgres", "SQL", "socket", "connection to server", "handler failed"):
        assert word not in text, f"internal text reached the client: {text!r}"
    assert "request id" in text, text
    headers = dict(e.initial_metadata() or ()) | dict(e.trailing_metadata() or ())
    request_id = headers.get("sluice-request-id")
    assert request_id and request_id in text, (headers, text)
