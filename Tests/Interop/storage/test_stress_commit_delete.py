"""Many clients at once on a handful of objects: commits, one-call puts, deletes (with and
without keeping versions), restores, re-sent partitions and aborts race each other and the
collector (a pass every second, a one-second grace period) for a bounded time. Before the fix
a commit racing a delete of its object crashed sluiced within a few rounds (an unchecked row in
the commit).

Every call must end with a status a client can act on; afterwards sluiced is alive,
every listed version has all of its partitions, and every read returns exactly the
bytes the version declares (size and SHA-256). PostgreSQL must have detected no deadlock in
sluiced's database: sluiced retries a transaction that loses one, but its transactions take
their locks in one order (RowLock.swift), so none should ever happen."""

from __future__ import annotations

import random
import threading
import time

import grpc
import pytest

import storage_support as ss
from storage_support import Code, KIB, obj_pb

# One store is enough: the race is in the metadata, the same for both.
pytestmark = ss.only_blob_stores("disk")

DURATION = 20.0             # seconds of racing
THREADS = 8
NAMES = [f"stress/obj-{i}" for i in range(3)]
PSIZE = 4 * KIB
# Answers a racing client may get; anything else (INTERNAL, UNKNOWN, UNAVAILABLE from
# a dead server, DATA_LOSS for bytes nobody damaged) is a failure.
EXPECTED = {Code.NOT_FOUND, Code.FAILED_PRECONDITION, Code.ABORTED}


@pytest.fixture
def racing_server(storage):
    return storage.server(label="sluiced-stress", collector_interval=1, blob_grace_period=1)


class Race:
    def __init__(self, server):
        self.server = server
        self.stop_at = time.monotonic() + DURATION
        self.lock = threading.Lock()
        self.unexpected: list[str] = []
        self.counts: dict[str, int] = {}
        # A few contents, so that uploads often send bytes already stored (dedup, re-use).
        rnd = random.Random(7)
        self.contents = [rnd.randbytes(rnd.randint(1, 3 * PSIZE)) for _ in range(6)]

    def note(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def call(self, what: str, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            self.note(f"{what}:OK")
            return result
        except grpc.RpcError as e:
            self.note(f"{what}:{e.code().name}")
            if e.code() not in EXPECTED:
                with self.lock:
                    self.unexpected.append(f"{what}: {e.code().name}: {e.details()}")
            return None

    def worker(self, seed: int) -> None:
        rnd = random.Random(seed)
        c = self.server.client()
        try:
            while time.monotonic() < self.stop_at and len(self.unexpected) < 20:
                name = rnd.choice(NAMES)
                op = rnd.choice(["commit", "commit", "put", "delete", "soft-delete", "restore", "resend", "abort"])
                if op == "delete":
                    self.call("delete", c.delete_object, name)
                elif op == "soft-delete":
                    self.call("soft-delete", c.objects.DeleteObject,
                              obj_pb.DeleteObjectRequest(name=name, keep_versions=True), timeout=ss.TIMEOUT)
                elif op == "put":
                    data = rnd.choice(self.contents)
                    self.call("put", c.objects.PutObject,
                              obj_pb.PutObjectRequest(name=name, data=data, sha256=ss.sha(data)), timeout=ss.TIMEOUT)
                elif op == "restore":
                    page = self.call("versions", c.list_versions, name)
                    if page is not None and page.versions:
                        self.call("restore", c.restore, name, rnd.choice(page.versions).version)
                else:
                    data = rnd.choice(self.contents)
                    s = self.call("create", c.create_session, name, data, PSIZE)
                    if s is None:
                        continue
                    parts = ss.split(data, PSIZE)
                    for i, part in enumerate(parts):
                        self.call("upload", c.upload_partition, s.session_id, i, part)
                    if op == "resend":
                        self.call("resend", c.upload_partition, s.session_id, 0, parts[0])
                    if op == "abort":
                        self.call("abort", c.abort, s.session_id)
                    else:
                        self.call("commit", c.commit, s.session_id)
        finally:
            c.close()


def deadlocks(postgres, server) -> int:
    """How many deadlocks PostgreSQL has detected in the server's database. Call it with the
    server stopped: a backend reports its statistics for certain only when it exits, so this
    waits (at most 20 s) until the server's backends are gone."""
    query = ("SELECT count(*) FILTER (WHERE pid <> pg_backend_pid()) || ' ' || "
             "(SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()) "
             "FROM pg_stat_activity WHERE datname = current_database()")
    deadline = time.monotonic() + 20
    while True:
        backends, found = postgres.run(query, url=server.database_url).split()
        if backends == "0" or time.monotonic() > deadline:
            return int(found)
        time.sleep(0.2)


def test_commit_delete_restore_abort_race(racing_server, postgres):
    race = Race(racing_server)
    threads = [threading.Thread(target=race.worker, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 120)
    assert not any(t.is_alive() for t in threads), "a client thread is still running"
    racing_server.assert_alive()
    assert not race.unexpected, f"unexpected answers ({race.counts}):\n" + "\n".join(race.unexpected[:20])
    assert race.counts.get("commit:OK", 0) > 0 and race.counts.get("delete:OK", 0) > 0, race.counts
    assert race.counts.get("put:OK", 0) > 0 and race.counts.get("soft-delete:OK", 0) > 0, race.counts

    # Invariants: every version has all its partitions, and every read is the declared bytes.
    known = {ss.sha(d): d for d in race.contents}
    c = racing_server.client()
    checked = 0
    for name in NAMES:
        try:
            versions = c.list_versions(name, page_size=1000).versions
        except grpc.RpcError as e:
            assert e.code() == Code.NOT_FOUND, e
            continue
        for v in versions:
            info = c.get_object(name, v.version)
            assert len(info.partitions) == info.partition_count
            for p in info.partitions:
                got = c.read_partition(name, p.index, version=v.version)
                assert len(got) == p.size and ss.sha(got) == p.sha256, \
                    f"{name} v{v.version} partition {p.index} does not read back as declared"
            data = c.read(name, v.version)
            assert len(data) == info.size and ss.sha(data) == info.sha256, f"{name} v{v.version}"
            assert data == known.get(info.sha256), f"{name} v{v.version} holds bytes nobody uploaded"
            checked += 1
    racing_server.assert_alive()
    c.close()
    racing_server.stop()
    assert deadlocks(postgres, racing_server) == 0, \
        f"PostgreSQL detected deadlocks between sluiced's transactions ({race.counts})"
    print(f"race counts: {race.counts}; {checked} versions checked")
