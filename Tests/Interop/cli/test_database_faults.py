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

import threading
import time

from grpc_health.v1 import health_pb2

import cli_support as cs
import database_faults as db
import storage_support as ss
from storage_support import Code, KIB, expect_error


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
    endpoint = db.database_endpoint(postgres.admin_url)
    proxy = db.DatabaseProxy(endpoint)
    try:
        database = storage.database()
        srv = storage.server(database_url=db.through(proxy, database), label="sluiced-outage")
        c = srv.client()
        data = ss.random_bytes(100 * KIB, seed=3)
        c.put_object("outage/before", data, partition_size=32 * KIB)
        assert db.health(c.channel) == health_pb2.HealthCheckResponse.SERVING

        proxy.cut()
        ss.wait_for(lambda: db.health(c.channel) == health_pb2.HealthCheckResponse.NOT_SERVING,
                    "health NOT_SERVING after the database went away", 15)
        assert db.health(c.channel, "sluice.v1.ObjectService") == health_pb2.HealthCheckResponse.NOT_SERVING
        for call in (lambda: c.get_object("outage/before"),
                     lambda: c.create_session("outage/during", data, 32 * KIB),
                     lambda: c.list_objects()):
            err = expect_error(Code.UNAVAILABLE, call)
            db.assert_concealed(err)
            assert dict(err.trailing_metadata() or ()).get("sluice-unavailable") == "database", \
                "the answer does not say that the server was reached and lacks its database"
        log = srv.mp.output()
        assert "request_id=" in log and "cause=" in log, "the cause is not in the server log"

        proxy.resume()
        ss.wait_for(lambda: db.health(c.channel) == health_pb2.HealthCheckResponse.SERVING,
                    "health SERVING after the database came back", 20)
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
    endpoint = db.database_endpoint(postgres.admin_url)
    proxy = db.DatabaseProxy(endpoint)
    try:
        srv = storage.server(database_url=db.through(proxy, storage.database()), label="sluiced-outage-read")
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


def test_a_watch_gives_up_on_a_server_without_its_database(storage, postgres, cli_runner, tmp_path):
    # Every watch is answered with a trailers-only UNAVAILABLE while the database is away.
    # That is no watch the server took: the failures count in a row, and `sluice watch` gives
    # up after its retries (exit 6) instead of reconnecting at its first backoff step for good.
    endpoint = db.database_endpoint(postgres.admin_url)
    proxy = db.DatabaseProxy(endpoint)
    try:
        srv = storage.server(database_url=db.through(proxy, storage.database()), label="sluiced-watch-outage")
        c = srv.client()
        cursor_file = str(tmp_path / "watch.cursor")
        with open(cursor_file, "w") as f:
            f.write(c.list_objects(page_size=1).change_cursor)
        proxy.cut()
        ss.wait_for(lambda: db.health(c.channel) == health_pb2.HealthCheckResponse.NOT_SERVING,
                    "health NOT_SERVING after the database went away", 15)
        cli_runner.address = srv.address
        r = cli_runner.run("watch", "--cursor-file", cursor_file, "--retries", "2", timeout=120)
        r.expect(cs.EXIT_TRANSIENT)
        assert r.stderr.count("reconnecting") == 2, r.stderr
        assert "database" in r.stderr, r.stderr
    finally:
        proxy.close()
