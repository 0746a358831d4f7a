"""Only what changed moves: CreateSession lists in stored_partitions every declared
partition whose bytes the owner already holds and the caller may know of, so a client
sends only the others — and nothing about bytes the caller could not read leaks
through it. Held bytes are still re-verified at commit.

alice is certs/client, bob certs/client2 (grpcio against sluiced and PostgreSQL)."""

from __future__ import annotations

import os

import pytest

import storage_support as ss
from storage_support import Code, KIB, expect_error
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc
from sluice.v1 import upload_sessions_pb2 as us_pb
from test_integrity import damage

PSIZE = 4 * KIB


@pytest.fixture(scope="module", autouse=True)
def needs_two_principals(certs):
    if not os.path.isfile(certs.path("client2.pem")):
        pytest.skip("certs/client2.pem is missing: run scripts/make-certs.sh")


def _create(c: ss.StorageClient, name: str, data: bytes, owner: str = ""):
    parts = ss.split(data, PSIZE)
    return c.sessions.CreateSession(us_pb.CreateSessionRequest(
        object_name=name, total_size=len(data), partition_size=PSIZE,
        partition_sha256=[ss.sha(p) for p in parts], object_sha256=ss.sha(data), owner=owner),
        timeout=ss.TIMEOUT)


def _handle(c: ss.StorageClient) -> str:
    return sh_grpc.SharingServiceStub(c.channel).WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle


def _grant(c: ss.StorageClient, grantee: str, path: str) -> None:
    sh_grpc.SharingServiceStub(c.channel).GrantAccess(sh_pb.GrantAccessRequest(
        grantee=grantee, scope=sh_pb.GRANT_SCOPE_PREFIX, path=path, access=sh_pb.ACCESS_WRITE),
        timeout=ss.TIMEOUT)


def test_only_the_changed_partition_is_missing(server, client):
    name = ss.unique_name("held/file")
    data = ss.random_bytes(4 * PSIZE + 100)                    # 5 partitions
    client.put_object(name, data, partition_size=PSIZE)
    changed = bytearray(data)
    changed[2 * PSIZE + 7] ^= 0xFF                             # one byte in partition 2
    changed = bytes(changed)

    s = _create(client, name, changed)
    assert list(s.stored_partitions) == [0, 1, 3, 4], s
    assert s.stored_bytes == len(data) - PSIZE
    ack = client.upload_partition(s.session_id, 2, ss.split(changed, PSIZE)[2])
    assert not ack.already_stored
    info = client.commit(s.session_id)
    assert info.version == 2 and ss.settled(client, info.name, 2).sha256 == ss.sha(changed)
    ss.assert_same_bytes(client.read(name), changed, "the new version")
    ss.assert_same_bytes(client.read(name, version=1), data, "the old version")

    # The same content under another name of the same owner: nothing to send at all.
    again = _create(client, ss.unique_name("held/copy"), changed)
    assert list(again.stored_partitions) == [0, 1, 2, 3, 4]
    copy = client.commit(again.session_id)
    assert ss.settled(client, copy.name, copy.version).sha256 == ss.sha(changed)


def test_another_principals_bytes_are_never_reported(server, client, client2):
    data = ss.random_bytes(2 * PSIZE)
    client.put_object(ss.unique_name("held/alice-only"), data, partition_size=PSIZE)
    s = _create(client2, ss.unique_name("held/bob"), data)
    assert list(s.stored_partitions) == [], "bob learnt that alice stores these bytes"


def test_a_grantee_learns_only_of_bytes_its_grant_lets_it_read(server, client, client2):
    bob = _handle(client2)
    alice = _handle(client)
    shared = ss.unique_name("held/shared") + "/"
    private = ss.unique_name("held/private") + "/"
    in_shared, in_private = ss.random_bytes(PSIZE), ss.random_bytes(PSIZE)
    client.put_object(shared + "a", in_shared, partition_size=PSIZE)
    client.put_object(private + "b", in_private, partition_size=PSIZE)
    _grant(client, bob, shared)

    # Bytes of an object the grant covers: bob may read them, so they count as held.
    s = _create(client2, shared + "copy", in_shared, owner=alice)
    assert list(s.stored_partitions) == [0]
    assert client2.commit(s.session_id).sha256 == ss.sha(in_shared)

    # Bytes only in an object outside the grant: stored in the same scope, never revealed.
    s = _create(client2, shared + "probe", in_private, owner=alice)
    assert list(s.stored_partitions) == [], "bob learnt of bytes outside his grant"

    # Bytes of bob's own unfinished session into alice's folder count for bob himself...
    mine = ss.random_bytes(PSIZE)
    first = _create(client2, shared + "first", mine, owner=alice)
    client2.upload_partition(first.session_id, 0, mine)
    assert list(_create(client2, shared + "second", mine, owner=alice).stored_partitions) == [0]
    # ...but not for alice: an upload nobody committed is not hers to know of yet.
    assert list(_create(client, private + "third", mine).stored_partitions) == []


def test_deleted_objects_bytes_are_not_held(server, client):
    name = ss.unique_name("held/deleted")
    data = ss.random_bytes(PSIZE)
    client.put_object(name, data, partition_size=PSIZE)
    client.delete_object(name)
    assert list(_create(client, ss.unique_name("held/after-delete"), data).stored_partitions) == []


def test_held_bytes_that_rotted_are_caught_at_read_and_then_sent_again(server, client):
    # A commit reads no payload (the composite hash covers the partition hashes); a held
    # partition whose stored copy rotted is caught when its bytes are read, recorded damaged,
    # and from then on no longer counts as held, so the next upload sends it and repairs it.
    data = ss.random_bytes(2 * PSIZE)
    parts = ss.split(data, PSIZE)
    client.put_object(ss.unique_name("held/rot"), data, partition_size=PSIZE)
    damage(server.blobs, parts[1])
    s = _create(client, ss.unique_name("held/rot-copy"), data)
    assert list(s.stored_partitions) == [0, 1]
    copy = client.commit(s.session_id)
    e = expect_error(Code.DATA_LOSS, client.read, copy.name)
    assert "partition 1" in e.details(), e.details()
    third = _create(client, ss.unique_name("held/rot-third"), data)
    assert list(third.stored_partitions) == [0], "a partition recorded damaged is not held"
    client.upload_partition(third.session_id, 1, parts[1])
    ss.assert_same_bytes(client.read(client.commit(third.session_id).name), data, "after the repair")
    ss.assert_same_bytes(client.read(copy.name), data, "the copy reads right once repaired")

def test_bytes_that_failed_their_declared_size_do_not_spoil_a_later_upload_of_them(server, client):
    """A partition declared with the right hash but the wrong size fails (DATA_LOSS, nothing
    stored), yet its lease was taken before any byte arrived. The real bytes uploaded later
    under the same hash are recorded at their true size: they count as held again, and reading
    them finds no damage."""
    data = ss.random_bytes(1000)
    wrong = client.sessions.CreateSession(us_pb.CreateSessionRequest(
        object_name=ss.unique_name("held/wrong-size"), total_size=PSIZE, partition_size=PSIZE,
        partition_sha256=[ss.sha(data)]), timeout=ss.TIMEOUT)
    expect_error(Code.DATA_LOSS, client.upload_partition, wrong.session_id, 0, data + bytes(PSIZE - len(data)))

    name = ss.unique_name("held/right-size")
    client.put_object(name, data, partition_size=PSIZE)
    again = _create(client, ss.unique_name("held/right-size-copy"), data)
    assert list(again.stored_partitions) == [0], "the bytes were not found held at their real size"
    copy = client.commit(again.session_id)
    ss.assert_same_bytes(client.read(copy.name), data, "the deduplicated copy")
    ss.assert_same_bytes(client.read(name), data, "the object")
