"""Principals are client certificates, and each sees only its own objects and
sessions: someone else's answer NOT_FOUND (never PERMISSION_DENIED), the same name
means two independent objects, and without a certificate there is no storage."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import storage_support as ss
from storage_support import Code, KIB, expect_error

PSIZE = 16 * KIB


@pytest.fixture(scope="module")
def owned(server):
    """client's object (two versions) and open session (one partition stored)."""
    c = server.client("client")
    name = "isolation/private.txt"
    v1 = ss.random_bytes(3 * PSIZE + 5)
    v2 = ss.random_bytes(PSIZE)
    c.put_object(name, v1, partition_size=PSIZE)
    c.put_object(name, v2, partition_size=PSIZE)
    pending = ss.random_bytes(2 * PSIZE)
    s = c.create_session("isolation/pending", pending, PSIZE)
    c.upload_partition(s.session_id, 0, pending[:PSIZE])
    c.close()
    return name, v1, v2, s, pending


def _assert_owner_intact(client, owned):
    name, v1, v2, s, _ = owned
    ss.assert_same_bytes(client.read(name), v2)
    ss.assert_same_bytes(client.read(name, version=1), v1)
    assert [v.version for v in client.list_versions(name).versions] == [2, 1]


def test_other_principal_cannot_see_objects(owned, client, client2):
    name, v1, v2, _, _ = owned
    expect_error(Code.NOT_FOUND, client2.get_object, name)
    expect_error(Code.NOT_FOUND, client2.get_object, name, version=1)
    expect_error(Code.NOT_FOUND, client2.read, name)
    expect_error(Code.NOT_FOUND, client2.read, name, version=1, offset=0, length=10)
    expect_error(Code.NOT_FOUND, client2.partition_info, name, 0)
    expect_error(Code.NOT_FOUND, client2.read_partition, name, 0)
    expect_error(Code.NOT_FOUND, client2.restore, name, 1)
    try:
        assert list(client2.list_versions(name).versions) == []
    except grpc.RpcError as e:
        assert e.code() == Code.NOT_FOUND, e
    objects, prefixes = client2.list_all(prefix="isolation/")
    assert (objects, prefixes) == ([], [])
    assert all(not o.name.startswith("isolation/") for o in client2.list_all()[0])
    expect_error(Code.NOT_FOUND, client2.delete_object, name)
    _assert_owner_intact(client, owned)


def test_other_principal_cannot_touch_sessions(owned, client, client2):
    _, _, _, s, pending = owned
    expect_error(Code.NOT_FOUND, client2.get_session, s.session_id)
    # right bytes, right index: still not theirs
    expect_error(Code.NOT_FOUND, client2.upload_partition, s.session_id, 1, pending[PSIZE:])
    expect_error(Code.NOT_FOUND, client2.upload_partition, s.session_id, 0, pending[:PSIZE])
    expect_error(Code.NOT_FOUND, client2.commit, s.session_id)
    expect_error(Code.NOT_FOUND, client2.abort, s.session_id)
    assert s.session_id not in [x.session_id for x in client2.all_sessions()]
    # the owner's session is untouched
    got = client.get_session(s.session_id)
    assert got.state == ss.OPEN and list(got.stored_partitions) == [0]
    assert got.stored_bytes == PSIZE


def test_same_name_two_independent_objects(server, client, client2):
    name = ss.unique_name("isolation/same")
    mine, theirs = ss.random_bytes(40 * KIB), ss.random_bytes(30 * KIB)
    a = client.put_object(name, mine, partition_size=PSIZE)
    b = client2.put_object(name, theirs, partition_size=PSIZE)
    assert a.version == 1 and b.version == 1, "version numbers are per principal's object"
    ss.assert_same_bytes(client.read(name), mine)
    ss.assert_same_bytes(client2.read(name), theirs)
    # a second version for one does not touch the other
    a2 = client.put_object(name, mine[:100])
    assert a2.version == 2
    assert client2.get_object(name).version == 1
    assert [v.version for v in client2.list_versions(name).versions] == [1]
    # deleting one leaves the other
    assert client.delete_object(name).deleted_versions == 2
    expect_error(Code.NOT_FOUND, client.get_object, name)
    ss.assert_same_bytes(client2.read(name), theirs)
    assert client2.delete_object(name).deleted_versions == 1


def test_identical_bytes_of_two_principals(server, client, client2):
    """Deduplication stays within a principal (DESIGN: otherwise it leaks whether
    someone else holds a file): the same bytes uploaded by two principals are two
    stored copies, and deleting one principal's object leaves the other's whole."""
    data = ss.random_bytes(2 * PSIZE)
    n1, n2 = ss.unique_name("isolation/dup"), ss.unique_name("isolation/dup")
    client.put_object(n1, data, partition_size=PSIZE)
    s = client2.create_session(n2, data, PSIZE)
    acks = client2.upload_partitions(s.session_id, data, PSIZE)
    assert not any(a.already_stored for a in acks.values())
    client2.commit(s.session_id)
    for part in ss.split(data, PSIZE):
        assert server.blobs.copies(part) == 2, \
            "one stored copy per principal, not one shared"
    client.delete_object(n1)
    ss.assert_same_bytes(client2.read(n2), data)


def test_without_client_certificate_storage_is_unauthenticated(storage):
    """On a server that does not require client certificates, a connection without
    one gets UNAUTHENTICATED from every storage call (health still answers)."""
    srv = storage.server(require_client_cert=False)
    anon = srv.client(None)
    health = health_pb2_grpc.HealthStub(anon.channel).Check(
        health_pb2.HealthCheckRequest(), timeout=ss.TIMEOUT)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    sid = "0" * 32
    calls = {
        "CreateSession": lambda: anon.create_session("anon", b"abc", 2),
        "UploadPartition": lambda: anon.upload_partition(sid, 0, b"ab"),
        "GetSession": lambda: anon.get_session(sid),
        "CommitSession": lambda: anon.commit(sid),
        "AbortSession": lambda: anon.abort(sid),
        "ListSessions": lambda: anon.list_sessions(),
        "GetObject": lambda: anon.get_object("x"),
        "ListObjects": lambda: anon.list_objects(),
        "DeleteObject": lambda: anon.delete_object("x"),
        "ReadObject": lambda: anon.read("x"),
        "ListObjectVersions": lambda: anon.list_versions("x"),
        "RestoreObjectVersion": lambda: anon.restore("x", 1),
        "PutObject": lambda: anon.objects.PutObject(
            ss.obj_pb.PutObjectRequest(name="x", data=b"a", sha256=ss.sha(b"a")), timeout=ss.TIMEOUT),
        "GetPartitionInfo": lambda: anon.partition_info("x", 0),
        "ReadPartition": lambda: anon.read_partition("x", 0),
    }
    for method, call in calls.items():
        try:
            expect_error(Code.UNAUTHENTICATED, call)
        except AssertionError as e:
            raise AssertionError(f"{method}: {e}") from None
    # the same server serves a client with a certificate
    c = srv.client("client")
    c.put_object("with-cert", b"hello")
    ss.assert_same_bytes(c.read("with-cert"), b"hello")
    expect_error(Code.UNAUTHENTICATED, anon.get_object, "with-cert")
