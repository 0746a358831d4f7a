"""One principal cannot take what every principal shares: with --max-calls-per-principal N,
a principal with N calls in progress (idle watchers here) is refused its next call with
RESOURCE_EXHAUSTED (trailer sluice-exhausted: calls, a retry pushback), another principal is
served all along, and a call that ends makes room again."""

from __future__ import annotations

import time

import grpc

import feed_support as fs
import storage_support as ss
from storage_support import Code

# What is tested here is call admission; the blob store does not take part.
pytestmark = ss.only_blob_stores("disk")

LIMIT = 4


def _trailer(error: grpc.RpcError, key: str):
    return dict(error.trailing_metadata() or ()).get(key)


def test_a_principal_at_its_call_limit_is_refused_and_others_are_not(storage):
    srv = storage.server(label="sluiced-fair", max_calls_per_principal=LIMIT)
    busy, other = srv.client("client"), srv.client("client2")
    watchers = [fs.Watcher(busy) for _ in range(LIMIT)]
    try:
        # Each watcher's call is in progress once its stream answered (a watch from now first
        # answers its starting cursor); only then is the principal at its limit, and a call
        # probing it cannot take a place a watcher still needs.
        deadline = time.monotonic() + 20
        while not all(w.responses > 0 or w.error is not None for w in watchers):
            assert time.monotonic() < deadline, "the watchers never started"
            time.sleep(0.05)
        assert all(w.error is None for w in watchers), [w.error for w in watchers]
        # wait until the next call is refused, the server having counted them all.
        deadline = time.monotonic() + 20
        while True:
            try:
                busy.list_objects()
            except grpc.RpcError as error:
                refused = error
                break
            assert time.monotonic() < deadline, "the principal was never refused past its call limit"
            time.sleep(0.05)
        assert refused.code() == Code.RESOURCE_EXHAUSTED, refused.details()
        assert f"{LIMIT} calls in progress" in refused.details()
        assert _trailer(refused, "sluice-exhausted") == "calls"
        assert int(_trailer(refused, "grpc-retry-pushback-ms")) > 0

        # Another principal is served while the first is at its limit.
        name = ss.unique_name("fair/other")
        assert other.put_object(name, b"served").size == len(b"served")
        assert all(w.error is None for w in watchers)

        # A call that ends makes room for the next.
        watchers.pop().cancel()
        deadline = time.monotonic() + 20
        while True:
            try:
                busy.list_objects()
                break
            except grpc.RpcError as error:
                assert error.code() == Code.RESOURCE_EXHAUSTED, error.details()
                assert time.monotonic() < deadline, "the cancelled call never gave its place back"
                time.sleep(0.05)
    finally:
        for watcher in watchers:
            watcher.cancel()
