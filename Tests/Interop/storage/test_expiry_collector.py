"""Session expiry and the collector, on a sluiced with a 2 s session lifetime, a 1 s
blob grace period and a collector pass every second: expired and aborted sessions
lose their bytes, deleted objects lose theirs, and nothing still referenced is
ever removed. Stored bytes are found by content (layout-agnostic), on disk or in S3."""

from __future__ import annotations

import pytest

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, expect_error

PSIZE = 8 * KIB
LIFETIME = 2
RECLAIM_TIMEOUT = 20.0      # lifetime + grace + a few collector passes, with room


@pytest.fixture(scope="module")
def server(module_storage):
    return module_storage.server(label="sluiced-collector", session_lifetime=LIFETIME,
                                 blob_grace_period=1, collector_interval=1)


def _wait_gone(server, payloads, what):
    sup.wait_until(lambda: all(server.blobs.copies(p) == 0 for p in payloads),
                   RECLAIM_TIMEOUT, interval=0.2, what=what)


def test_uncommitted_session_expires(server, client):
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    s = client.create_session(ss.unique_name("expiry/s"), data, PSIZE)
    lifetime = (s.expire_time.ToDatetime() - s.create_time.ToDatetime()).total_seconds()
    assert LIFETIME - 0.5 <= lifetime <= LIFETIME + 1, f"expire_time - create_time = {lifetime}s"
    client.upload_partition(s.session_id, 0, parts[0])
    assert server.blobs.copies(parts[0]) == 1, "the stored partition is in the blob store"

    sup.wait_until(lambda: client.get_session(s.session_id).state == ss.EXPIRED,
                   LIFETIME + 10, interval=0.1, what="the session to be EXPIRED")
    got = client.get_session(s.session_id)
    assert got.session_id == s.session_id and got.committed_version == 0
    expect_error(Code.FAILED_PRECONDITION, client.upload_partition, s.session_id, 1, parts[1])
    expect_error(Code.FAILED_PRECONDITION, client.upload_partition, s.session_id, 0, parts[0])
    expect_error(Code.FAILED_PRECONDITION, client.commit, s.session_id)
    assert s.session_id not in [x.session_id for x in client.all_sessions(open_only=True)]
    expect_error(Code.NOT_FOUND, client.get_object, s.object_name)
    _wait_gone(server, [parts[0]], "the expired session's partition to leave the blob store")
    assert client.get_session(s.session_id).state == ss.EXPIRED


def test_expired_sessions_do_not_count_as_open(storage):
    srv = storage.server(session_lifetime=1, max_open_sessions=1, collector_interval=1,
                         blob_grace_period=1)
    c = srv.client()
    s = c.create_session("expiry/only", b"ab", 1)
    expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "expiry/second", b"ab", 1)
    sup.wait_until(lambda: c.get_session(s.session_id).state == ss.EXPIRED, 10, interval=0.1,
                   what="the session to expire")
    again = c.create_session("expiry/second", b"ab", 1)
    assert again.state == ss.OPEN


def test_aborted_session_bytes_are_reclaimed_committed_bytes_stay(server, client):
    kept = ss.random_bytes(2 * PSIZE)
    kept_parts = ss.split(kept, PSIZE)
    kept_name = ss.unique_name("collector/kept")
    client.put_object(kept_name, kept, partition_size=PSIZE)

    # An aborted session: one partition only it has, one identical to a committed one.
    own = ss.random_bytes(PSIZE)
    abandoned = kept_parts[0] + own
    s = client.create_session(ss.unique_name("collector/aborted"), abandoned, PSIZE)
    client.upload_partitions(s.session_id, abandoned, PSIZE)
    assert server.blobs.copies(own) == 1
    assert client.abort(s.session_id).state == ss.ABORTED

    _wait_gone(server, [own], "the aborted session's partition to leave the blob store")
    for i, part in enumerate(kept_parts):
        assert server.blobs.copies(part) == 1, \
            f"partition {i} of a committed object was removed"
    ss.assert_same_bytes(client.read(kept_name), kept)
    assert client.get_session(s.session_id).state == ss.ABORTED


def test_deleted_object_bytes_are_reclaimed_shared_bytes_stay(server, client):
    shared = ss.random_bytes(PSIZE)
    only_d, only_e = ss.random_bytes(PSIZE), ss.random_bytes(PSIZE // 2)
    d_name, e_name = ss.unique_name("collector/d"), ss.unique_name("collector/e")
    d, e = shared + only_d, shared + only_e
    client.put_object(d_name, d, partition_size=PSIZE)
    client.put_object(e_name, e, partition_size=PSIZE)
    for part in (shared, only_d, only_e):
        assert server.blobs.copies(part) == 1, \
            "committed bytes are stored once per principal, by content"

    assert client.delete_object(d_name).deleted_versions == 1
    expect_error(Code.NOT_FOUND, client.get_object, d_name)
    _wait_gone(server, [only_d], "the deleted object's own partition to leave the blob store")
    assert server.blobs.copies(shared) == 1, "bytes shared with a live object stay"
    assert server.blobs.copies(only_e) == 1
    ss.assert_same_bytes(client.read(e_name), e)

    assert client.delete_object(e_name).deleted_versions == 1
    _wait_gone(server, [shared, only_e], "the last object's partitions to leave the blob store")


def test_abort_and_delete_take_their_bytes_at_once_so_a_quota_cannot_be_cycled(storage):
    """Uploading a quota's worth, aborting (or committing and deleting) and repeating filled the
    disk: each abort freed its reservation at once, but the bytes waited out the grace period
    (an hour), counted nowhere. This server collects every 300 s with an hour's grace, so only
    the abort or the delete itself can have taken them."""
    srv = storage.server(label="sluiced-quota-cycle", quota_bytes=4 * PSIZE)
    c = srv.client("client")
    kept = ss.random_bytes(PSIZE)
    c.put_object(ss.unique_name("cycle/kept"), kept, partition_size=PSIZE)
    for round in range(5):
        data = ss.random_bytes(3 * PSIZE)
        s = c.create_session(ss.unique_name("cycle/aborted"), data, PSIZE)
        c.upload_partitions(s.session_id, data, PSIZE)
        assert all(srv.blobs.copies(p) == 1 for p in ss.split(data, PSIZE))
        c.abort(s.session_id)
        assert all(srv.blobs.copies(p) == 0 for p in ss.split(data, PSIZE)), \
            f"round {round}: the bytes of an aborted session stayed in the store"
        name = ss.unique_name("cycle/deleted")
        c.put_object(name, data, partition_size=PSIZE)
        c.delete_object(name)
        assert all(srv.blobs.copies(p) == 0 for p in ss.split(data, PSIZE)), \
            f"round {round}: the bytes of a deleted object stayed in the store"
    assert srv.blobs.copies(kept) == 1
    assert len(srv.blobs.inventory()) == 1


def test_old_versions_keep_their_bytes(server, client):
    """Bytes of a non-current version are referenced: they stay until the object
    is deleted, and a restore brings them back without an upload."""
    name = ss.unique_name("collector/versions")
    old, new = ss.random_bytes(PSIZE + 1), ss.random_bytes(PSIZE + 2)
    client.put_object(name, old, partition_size=PSIZE)
    client.put_object(name, new, partition_size=PSIZE)
    # Let collector passes run past the grace period of every blob involved, by
    # waiting for an unrelated aborted partition (uploaded later) to be reclaimed.
    probe = ss.random_bytes(100)
    s = client.create_session(ss.unique_name("collector/probe"), probe, 100)
    client.upload_partition(s.session_id, 0, probe)
    client.abort(s.session_id)
    _wait_gone(server, [probe], "a collector pass after the grace period")
    for part in ss.split(old, PSIZE):
        assert server.blobs.copies(part) == 1
    restored = client.restore(name, 1)
    assert restored.version == 3
    ss.assert_same_bytes(client.read(name), old)
    ss.assert_same_bytes(client.read(name, version=2), new)


@pytest.mark.parametrize("grace", ["0", "-1"])
def test_a_grace_period_under_a_second_is_refused_at_start(sluiced_command, grace):
    """With no grace the collector would take the blob of every partition still arriving."""
    import subprocess
    proc = subprocess.run([*sluiced_command, f"--blob-grace-period={grace}", "--h2c"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode != 0
    assert b"--blob-grace-period must be 1 to 315360000 seconds" in proc.stdout, proc.stdout
    assert f"got {grace}".encode() in proc.stdout, proc.stdout


@pytest.mark.parametrize("flags, message", [
    (["--session-lifetime", "50", "--empty-session-lifetime", "100000"],
     "--empty-session-lifetime must be 1 to 50 seconds (at most --session-lifetime), got 100000"),
    (["--empty-session-lifetime", "0"], "--empty-session-lifetime must be 1 to 86400 seconds"),
    (["--max-receive-message-size", "10"],
     "--max-receive-message-size must be 4325376 to 4294967295 bytes"),
])
def test_contradictory_or_useless_limits_stop_start_up(sluiced_command, flags, message):
    import subprocess
    proc = subprocess.run([*sluiced_command, "--h2c", *flags], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode != 0
    assert message in proc.stdout.decode("utf-8", "replace"), proc.stdout
