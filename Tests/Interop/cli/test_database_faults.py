"""Database failures are transient failures, not handler crashes:

- backends of sluiced killed with pg_terminate_backend while the CLI uploads: the pool
  replaces dead connections (and reruns what is safe to rerun), what is left answers
  UNAVAILABLE, which the CLI retries: every upload succeeds;
- the database unreachable (a TCP proxy in front of it is cut): calls answer
  UNAVAILABLE with a general message and a request id (the sluice-request-id header
  too), never the database's words; grpc.health.v1 says NOT_SERVING; once the proxy is
  back, SERVING again and calls work.

The PostgreSQL cluster is shared: the test only terminates backends of its own
database, and simulates an outage with a proxy of its own."""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.parse
from typing import Optional

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import cli_support as cs
import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, expect_error


# --------------------------------------------------------------------------
# A cuttable proxy in front of PostgreSQL
# --------------------------------------------------------------------------

def _database_endpoint(admin_url: str):
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
    the listener and every relayed connection (an outage); resume() listens again on
    the same port."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.port = sup.free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: Optional[socket.socket] = None
        self.resume()

    def resume(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            victims, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for s in ([listener] if listener else []) + victims:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    close = cut

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


def _through(proxy: DatabaseProxy, database_url: str) -> str:
    """`database_url`'s database, reached through the proxy."""
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(database_url).query))
    user = query.get("user", "postgres")
    return f"postgresql://{user}@127.0.0.1:{proxy.port}/{name}?connect_timeout=3"


def _health(channel, service: str = "") -> int:
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=10).status


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last!r})")


def _assert_concealed(e: grpc.RpcError) -> None:
    text = e.details() or ""
    for word in ("PostgreSQL", "postgres", "SQL", "socket", "connection to server", "handler failed"):
        assert word not in text, f"internal text reached the client: {text!r}"
    assert "request id" in text, text
    headers = dict(e.initial_metadata() or ()) | dict(e.trailing_metadata() or ())
    request_id = headers.get("sluice-request-id")
    assert request_id and request_id in text, (headers, text)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

def test_terminated_backends_during_cli_uploads(storage, postgres, cli_runner, tmp_path):
    srv = storage.server(label="sluiced-terminate", database_pool_size=4)
    cli_runner.address = srv.address
    stop = threading.Event()
    kills = []

    def terminate():
        for _ in range(2000):          # bounded; stopped by the event long before
            if stop.wait(0.7):
                return
            try:
                out = postgres.run(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    url=srv.database_url, timeout=20)
                kills.append(int(out.strip() or 0))
            except Exception as e:     # the next round tries again
                kills.append(f"{e}")

    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    files = []
    try:
        for i in range(10):
            src = str(tmp_path / f"f{i}")
            digest = cs.write_random_file(src, 512 * KIB + i)
            name = f"faults/obj-{i}"
            r = cli_runner.run("upload", src, name, "--partition-size", "64KiB", timeout=180)
            assert r.rc == 0, r.explain()
            files.append((name, digest))
    finally:
        stop.set()
        killer.join(30)
    assert sum(k for k in kills if isinstance(k, int)) >= 5, f"too few backends were killed: {kills}"
    srv.assert_alive()
    for name, digest in files:
        out = str(tmp_path / ("out-" + name.replace("/", "_")))
        cli_runner.ok("download", name, out)
        assert cs.sha256_file(out) == digest


def test_database_outage_answers_unavailable_and_health_follows(storage, postgres):
    endpoint = _database_endpoint(postgres.admin_url)
    proxy = DatabaseProxy(endpoint)
    try:
        database = storage.database()
        srv = storage.server(database_url=_through(proxy, database), label="sluiced-outage")
        c = srv.client()
        data = ss.random_bytes(100 * KIB, seed=3)
        c.put_object("outage/before", data, partition_size=32 * KIB)
        assert _health(c.channel) == health_pb2.HealthCheckResponse.SERVING

        proxy.cut()
        _wait_for(lambda: _health(c.channel) == health_pb2.HealthCheckResponse.NOT_SERVING, 15,
                  "health NOT_SERVING after the database went away")
        assert _health(c.channel, "sluice.v1.ObjectService") == health_pb2.HealthCheckResponse.NOT_SERVING
        for call in (lambda: c.get_object("outage/before"),
                     lambda: c.create_session("outage/during", data, 32 * KIB),
                     lambda: c.list_objects()):
            _assert_concealed(expect_error(Code.UNAVAILABLE, call))
        log = srv.mp.output()
        assert "request_id=" in log and "cause=" in log, "the cause is not in the server log"

        proxy.resume()
        _wait_for(lambda: _health(c.channel) == health_pb2.HealthCheckResponse.SERVING, 20,
                  "health SERVING after the database came back")
        ss.assert_same_bytes(c.read("outage/before"), data, "an object stored before the outage")
        c.put_object("outage/after", data, partition_size=32 * KIB)
        srv.assert_alive()
    finally:
        proxy.close()


def test_a_download_under_way_outlives_a_database_outage(storage, postgres):
    """A read already streaming needs no database: when PostgreSQL goes away mid-read (past
    the 2 s the caller's settings are cached, so the stream's periodic re-admission cannot
    look them up), the read still finishes with every byte. Only a definite "disabled"
    ends a running call."""
    from storage_support import obj_pb
    endpoint = _database_endpoint(postgres.admin_url)
    proxy = DatabaseProxy(endpoint)
    try:
        srv = storage.server(database_url=_through(proxy, storage.database()), label="sluiced-outage-read")
        c = srv.client()
        data = ss.random_bytes(16 * 1024 * KIB, seed=5)
        c.put_object("outage/long-read", data, partition_size=4 * 1024 * KIB)
        stream = c.objects.ReadObject(obj_pb.ReadObjectRequest(name="outage/long-read"), timeout=120)
        got = [next(stream).data]
        proxy.cut()
        time.sleep(3.5)
        got += [message.data for message in stream]
        ss.assert_same_bytes(b"".join(got), data, "a read that ran through a database outage")
        proxy.resume()
        srv.assert_alive()
    finally:
        proxy.close()
