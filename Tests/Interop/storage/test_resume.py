"""Resumable uploads: a connection dropped in the middle of partitions loses only the
partitions that were not finished; a new connection (or a restarted server) sees
exactly the finished ones and completes the object."""

from __future__ import annotations

import threading

import grpc
import storage_support as ss
from storage_support import KIB, CHUNK, us_pb, sha

PSIZE = 512 * KIB


def _blocking_partition(session_id: str, index: int, payload: bytes, chunks_before_block: int,
                        sent: threading.Event, release: threading.Event):
    """Messages of an UploadPartition call that stops after a few data chunks and
    blocks until released, then ends without sending the rest (a client that went
    away in the middle of a partition)."""
    yield us_pb.UploadPartitionRequest(
        target=us_pb.PartitionTarget(session_id=session_id, partition_index=index))
    for k in range(chunks_before_block):
        yield us_pb.UploadPartitionRequest(data=payload[k * CHUNK:(k + 1) * CHUNK])
    # Reached only when grpc asks for the next message, i.e. it has taken the last one.
    sent.set()
    release.wait(15)


def _drop_in_flight(client: ss.StorageClient, session_id: str, parts: list[bytes],
                    indices: list[int]) -> None:
    """Starts an UploadPartition per index that stops mid-partition, waits until each
    has sent some of its bytes, closes the channel under them, and checks that each
    call ended with an error (never a success)."""
    releases, futures = [], []
    for i in indices:
        assert len(parts[i]) > CHUNK, "the partition must be longer than what is sent"
        sent, release = threading.Event(), threading.Event()
        releases.append(release)
        fut = client.sessions.UploadPartition.future(
            _blocking_partition(session_id, i, parts[i], 1, sent, release), timeout=60)
        futures.append((i, sent, fut))
    try:
        for i, sent, _ in futures:
            assert sent.wait(15), f"partition {i}: grpc never took the first data chunk"
        client.close()                        # drop the connection mid-partition
    finally:
        for r in releases:
            r.set()
    for i, _, fut in futures:
        err = fut.exception(timeout=15)
        assert isinstance(err, grpc.RpcError), f"partition {i}: the dropped call succeeded?"
        assert err.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE), err


def test_resume_after_dropped_connection(server):
    data = ss.random_bytes(8 * PSIZE + 1000)          # 9 partitions
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("resume/dropped")

    first = server.client()
    s = first.create_session(name, data, PSIZE)
    done = [0, 2, 1, 3]
    first.upload_partitions(s.session_id, data, PSIZE, indices=done, parallel=2)
    _drop_in_flight(first, s.session_id, parts, [4])

    second = server.client()
    got = second.get_session(s.session_id)
    assert got.state == ss.OPEN
    assert list(got.stored_partitions) == [0, 1, 2, 3], "only finished partitions are stored"
    assert got.stored_bytes == 4 * PSIZE
    assert list(got.partition_sha256) == [sha(p) for p in parts]

    missing = [i for i in range(len(parts)) if i not in got.stored_partitions]
    acks = second.upload_partitions(s.session_id, data, PSIZE, indices=missing[::-1], parallel=3)
    assert acks[4].already_stored is False, "the half-sent partition was never stored"
    assert all(a.size == len(parts[i]) and a.sha256 == sha(parts[i]) for i, a in acks.items())
    info = second.commit(s.session_id)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    ss.assert_same_bytes(second.read(name), data)


def test_resume_after_several_partitions_dropped_at_once(server):
    data = ss.random_bytes(6 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("resume/several")

    first = server.client()
    s = first.create_session(name, data, PSIZE)
    first.upload_partitions(s.session_id, data, PSIZE, indices=[5, 0], parallel=2)
    _drop_in_flight(first, s.session_id, parts, [1, 2, 3])

    second = server.client()
    got = second.get_session(s.session_id)
    assert list(got.stored_partitions) == [0, 5]
    assert got.stored_bytes == 2 * PSIZE
    # the commit refuses while partitions are missing
    ss.expect_error(ss.Code.FAILED_PRECONDITION, second.commit, s.session_id)
    second.upload_partitions(s.session_id, data, PSIZE, indices=[1, 2, 3, 4], parallel=4)
    info = second.commit(s.session_id)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    ss.assert_same_bytes(second.read(name), data)


def test_resume_after_server_restart(storage):
    """Sessions live in the database: a restarted sluiced (graceful stop) resumes
    them, and a client that lost its session id finds it with ListSessions."""
    srv = storage.server()
    data = ss.random_bytes(5 * 100 * KIB + 17)
    psize = 100 * KIB
    name = ss.unique_name("resume/restart")
    c = srv.client()
    s = c.create_session(name, data, psize)
    c.upload_partitions(s.session_id, data, psize, indices=[0, 1, 2])

    assert srv.restart().mp.alive()

    c = srv.client()
    found = [x for x in c.all_sessions(open_only=True) if x.object_name == name]
    assert [x.session_id for x in found] == [s.session_id]
    got = c.get_session(s.session_id)
    assert got.state == ss.OPEN and list(got.stored_partitions) == [0, 1, 2]
    assert got.stored_bytes == 3 * psize
    missing = [i for i in range(got.partition_count) if i not in got.stored_partitions]
    assert missing == [3, 4, 5]
    c.upload_partitions(s.session_id, data, psize, indices=missing[::-1])
    info = c.commit(s.session_id)
    ss.assert_object_describes(info, name, data, psize, version=1)
    ss.assert_same_bytes(c.read(name), data)
