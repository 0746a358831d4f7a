"""Two sluiced on one database and one blob store (one blobs directory, or one
bucket and prefix) behave as one service: a session begun on one is finished on
the other, concurrent calls for the same session through both agree, and either
serves what the other stored."""

from __future__ import annotations

import concurrent.futures
import threading

import grpc
import pytest

import storage_support as ss
from storage_support import Code, KIB, sha

PSIZE = 256 * KIB


@pytest.fixture
def pair(storage):
    database, blobs = storage.database(), storage.blob_store()
    a = storage.server(database_url=database, blobs=blobs, label="sluiced-A")
    b = storage.server(database_url=database, blobs=blobs, label="sluiced-B")
    return a, b


def test_session_begun_on_one_finished_on_the_other(pair):
    a, b = pair
    ca, cb = a.client(), b.client()
    data = ss.random_bytes(8 * PSIZE + 99)
    parts = ss.split(data, PSIZE)
    name = "two/handover.bin"
    s = ca.create_session(name, data, PSIZE)
    ca.upload_partitions(s.session_id, data, PSIZE, indices=[3, 0, 2, 1])

    got = cb.get_session(s.session_id)
    assert got.state == ss.OPEN and list(got.stored_partitions) == [0, 1, 2, 3]
    assert got.stored_bytes == 4 * PSIZE
    assert list(got.partition_sha256) == [sha(p) for p in parts]
    acks = cb.upload_partitions(s.session_id, data, PSIZE, indices=[8, 5, 7, 6, 4])
    assert not any(x.already_stored for x in acks.values())
    assert cb.upload_partition(s.session_id, 0, parts[0]).already_stored is True

    info = cb.commit(s.session_id)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    for c in (ca, cb):
        ss.assert_object_describes(c.get_object(name), name, data, PSIZE, version=1)
        ss.assert_same_bytes(c.read(name), data, f"read through {c.label}")
        ss.assert_same_bytes(c.read_partition(name, 8), parts[8])
        ss.assert_same_bytes(c.read_partition(name, 0), parts[0])
        got = c.get_session(s.session_id)
        assert got.state == ss.COMMITTED and got.committed_version == 1
    assert ca.commit(s.session_id).version == 1      # commit again, through the other one
    for i, part in enumerate(parts):                 # one stored copy, wherever it was sent
        assert a.blobs.copies(part) == 1, f"partition {i}: {a.blobs.copies(part)} copies"


def _commit_retrying(client, session_id, attempts=5):
    """CommitSession; ABORTED (a lost race, "send again") is retried."""
    for _ in range(attempts):
        try:
            return client.commit(session_id)
        except grpc.RpcError as e:
            if e.code() != Code.ABORTED:
                raise
    raise AssertionError(f"commit still ABORTED after {attempts} attempts")


def test_same_session_through_both_at_once(pair):
    a, b = pair
    ca, cb = a.client(), b.client()
    data = ss.random_bytes(6 * PSIZE + 1)
    parts = ss.split(data, PSIZE)
    name = "two/race.bin"
    s = ca.create_session(name, data, PSIZE)

    # Every partition is sent through both instances at the same time.
    start = threading.Barrier(2 * len(parts))

    def send(client, i):
        start.wait(timeout=30)
        return client.upload_partition(s.session_id, i, parts[i])

    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * len(parts)) as pool:
        futures = [pool.submit(send, c, i) for i in range(len(parts)) for c in (ca, cb)]
        acks = [f.result() for f in futures]
    assert all(x.sha256 == sha(parts[x.partition_index]) for x in acks)
    got = cb.get_session(s.session_id)
    assert list(got.stored_partitions) == list(range(len(parts)))
    assert got.stored_bytes == len(data), "each partition counted once"

    # Both commit at the same time: one version, both answers name it.
    barrier = threading.Barrier(2)

    def commit(client):
        barrier.wait(timeout=30)
        return _commit_retrying(client, s.session_id)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        infos = [f.result() for f in [pool.submit(commit, ca), pool.submit(commit, cb)]]
    assert [i.version for i in infos] == [1, 1]
    for c in (ca, cb):
        assert [v.version for v in c.list_versions(name).versions] == [1]
        ss.assert_same_bytes(c.read(name), data)


def test_versions_made_through_both(pair):
    a, b = pair
    ca, cb = a.client(), b.client()
    name = "two/versions"
    contents = [ss.random_bytes(1000 + i) for i in range(4)]
    for i, data in enumerate(contents):
        c = (ca, cb)[i % 2]
        assert c.put_object(name, data).version == i + 1
    restored = cb.restore(name, 1)
    assert restored.version == 5 and restored.restored_from_version == 1
    for c in (ca, cb):
        assert [v.version for v in c.list_versions(name).versions] == [5, 4, 3, 2, 1]
        for i, data in enumerate(contents):
            ss.assert_same_bytes(c.read(name, version=i + 1), data)
        ss.assert_same_bytes(c.read(name), contents[0])
    assert ca.delete_object(name).deleted_versions == 5
    ss.expect_error(Code.NOT_FOUND, cb.get_object, name)


def test_both_start_at_once_on_a_fresh_database(storage):
    """Two instances racing through start-up (migrations) on an empty database both
    come up and serve."""
    database, blobs = storage.database(), storage.blob_store()
    servers = [storage.server(database_url=database, blobs=blobs, start=False,
                              label=f"sluiced-race-{k}") for k in range(2)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for f in [pool.submit(srv.start) for srv in servers]:
            f.result()
    c0, c1 = servers[0].client(), servers[1].client()
    c0.put_object("two/start-0", b"zero")
    c1.put_object("two/start-1", b"one")
    for c in (c0, c1):
        assert c.read("two/start-0") == b"zero" and c.read("two/start-1") == b"one"


def _refused_start(srv) -> bytes:
    """Runs `srv` (not started) to its exit; returns what it printed."""
    import socket
    import subprocess
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.run(srv.argv(port), env=srv.env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert proc.returncode != 0, proc.stdout
    return proc.stdout


@pytest.mark.parametrize("mark", ["kept", "lost"])
def test_a_store_given_another_database_refuses_to_start_and_keeps_its_blobs(storage, mark):
    """A blob store records the database it belongs to; a sluiced given another database
    (a typo in --database, a staging server on the production store) refuses to start
    instead of collecting every blob as unknown. A store whose mark was lost is still
    refused while it holds blobs the new database does not know."""
    database, blobs = storage.database(), storage.blob_store()
    owner = storage.server(database_url=database, blobs=blobs, label="sluiced-owner-db")
    data = ss.random_bytes(3 * KIB, seed=11)
    owner.client().put_object("two/owned", data, partition_size=KIB)
    owner.stop()
    if mark == "lost":
        if blobs.kind == "disk":
            import os
            os.unlink(os.path.join(blobs.root, "database-id"))
        else:
            blobs.delete((blobs.prefix + "/" if blobs.prefix else "") + "database-id")
    other = storage.server(blobs=blobs, start=False, label="sluiced-other-db", blob_grace_period=1,
                           collector_interval=1)
    said = _refused_start(other)
    assert b"does not belong to this database" in said, said
    back = storage.server(database_url=database, blobs=blobs, label="sluiced-owner-db-again")
    ss.assert_same_bytes(back.client().read("two/owned"), data, "the store's objects after the refusal")


def test_a_used_database_given_an_empty_store_refuses_to_start(storage):
    """The other way round: a database that knows blobs, started on a new, empty store (--blobs
    naming another bucket or folder). Marked as the database's own, it would serve every object
    DATA_LOSS; sluiced refuses to start, and the right store still works."""
    database, blobs = storage.database(), storage.blob_store()
    owner = storage.server(database_url=database, blobs=blobs, label="sluiced-used-db")
    data = ss.random_bytes(3 * KIB, seed=12)
    owner.client().put_object("two/used", data, partition_size=KIB)
    owner.stop()
    empty = storage.blob_store()
    other = storage.server(database_url=database, blobs=empty, start=False, label="sluiced-empty-store")
    said = _refused_start(other)
    assert b"does not belong to this database" in said and b"holds no blobs" in said, said
    back = storage.server(database_url=database, blobs=blobs, label="sluiced-used-db-again")
    ss.assert_same_bytes(back.client().read("two/used"), data, "the objects after the refusal")
