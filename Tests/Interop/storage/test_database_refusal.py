"""sluiced under a database that refuses connections or hangs while connecting answers its
callers promptly with UNAVAILABLE (general words, a request id, nothing of the database's),
and serves again by itself once the database accepts connections:

- every connection refused with SQLSTATE 53300 (a role whose slots are all taken):
  calls answer UNAVAILABLE at once and health says NOT_SERVING; when the database lets
  the role in again, health says SERVING and calls work, without a restart;
- connecting hangs (a proxy that takes connections and never answers): calls waiting for
  the database answer UNAVAILABLE within about one connect_timeout (3 s), all of them,
  rather than each after attempts of its own made one call after another."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2

import database_faults as db
import storage_support as ss
from storage_support import Code, KIB, expect_error

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _works(call) -> bool:
    try:
        call()
        return True
    except grpc.RpcError:
        return False


def _timed(call):
    began = time.monotonic()
    error = expect_error(Code.UNAVAILABLE, call)
    return error, time.monotonic() - began


def test_refused_connections_answer_unavailable_until_the_database_accepts_again(storage, postgres):
    role = db.RefusableRole(postgres)
    srv = None
    try:
        srv = storage.server(database_url=role.url, label="sluiced-refused")
        c = srv.client()
        data = ss.random_bytes(100 * KIB, seed=11)
        c.put_object("refused/before", data, partition_size=32 * KIB)

        role.refuse()
        ss.wait_for(lambda: db.health(c.channel) == NOT_SERVING,
                    "health NOT_SERVING while the database refuses connections", 15)
        for call in (lambda: c.get_object("refused/before"),
                     lambda: c.create_session("refused/during", data, 32 * KIB),
                     lambda: c.list_objects()):
            error, seconds = _timed(call)
            db.assert_concealed(error)
            assert seconds < 10, f"a refused call took {seconds:.1f} s"

        role.accept()
        ss.wait_for(lambda: db.health(c.channel) == SERVING,
                    "health SERVING once the database accepts connections again", 15)
        ss.wait_for(lambda: _works(lambda: c.get_object("refused/before")), "calls working again", 10)
        ss.assert_same_bytes(c.read("refused/before"), data, "an object stored before the refusals")
        c.put_object("refused/after", data, partition_size=32 * KIB)
        srv.assert_alive()
    finally:
        if srv is not None:
            srv.stop()
        role.drop()


def test_calls_answer_promptly_while_connecting_hangs(storage, postgres):
    proxy = db.DatabaseProxy(db.database_endpoint(postgres.admin_url))
    try:
        srv = storage.server(database_url=db.through(proxy, storage.database()), label="sluiced-stalled",
                             database_pool_size=2)
        c = srv.client()
        data = ss.random_bytes(10 * KIB, seed=12)
        c.put_object("stalled/before", data, partition_size=4 * KIB)

        proxy.stall()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _timed(lambda: c.get_object("stalled/before", timeout=60)),
                                    range(8)))
        for error, _ in answers:
            db.assert_concealed(error)
        slowest = max(seconds for _, seconds in answers)
        assert slowest < 16, f"the slowest of 8 calls took {slowest:.1f} s (connect_timeout is 3 s; one attempt per caller, one after another, took 24 s)"

        proxy.resume()
        ss.wait_for(lambda: db.health(c.channel) == SERVING, "health SERVING once connecting works", 20)
        ss.wait_for(lambda: _works(lambda: c.get_object("stalled/before")), "calls working again", 10)
        srv.assert_alive()
    finally:
        proxy.close()


def test_a_database_refusing_connections_at_start_stops_sluiced_saying_so(storage, postgres):
    """At start-up nothing tries again: the message says sluiced does not start, not the pool's
    "trying again in the background", and gives the database's own reason."""
    role = db.RefusableRole(postgres)
    try:
        role.refuse()
        srv = storage.server(database_url=role.url, label="sluiced-refused-at-start", start=False)
        with pytest.raises(AssertionError, match="cannot connect to the metadata database, so sluiced does not start") as e:
            srv.start()
        assert "trying again in the background" not in str(e.value), str(e.value)[-2000:]
        assert "too many connections" in str(e.value), str(e.value)[-2000:]
    finally:
        role.drop()
