"""DeleteObject with keep_versions (a delete marker): the object stops being current but its
versions stay listed, readable by number and restorable; a delete without it still removes
everything. Seen from the outside with grpcio against sluiced and PostgreSQL.

alice is certs/client, bob certs/client2."""

from __future__ import annotations

import os

import grpc
import pytest

import feed_support as fs
import quota_support as qs
import storage_support as ss
from storage_support import expect_error
from sluice.v1 import objects_pb2 as obj_pb
from sluice.v1 import partitions_pb2 as part_pb
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc

pytestmark = ss.only_blob_stores("disk")   # the change is in the metadata, whatever the store
Code = grpc.StatusCode
PSIZE = 1024


@pytest.fixture(scope="module")
def soft_server(module_storage):
    return module_storage.server(label="sluiced-soft-delete")


@pytest.fixture(scope="module")
def alice(soft_server):
    return soft_server.client("client")


def keep_delete(client, name: str, owner: str = ""):
    return client.objects.DeleteObject(
        obj_pb.DeleteObjectRequest(name=name, owner=owner, keep_versions=True), timeout=ss.TIMEOUT)


def names(client, prefix: str) -> list[str]:
    return [o.name for o in client.list_all(prefix=prefix)[0]]


def test_keep_versions_delete_hides_and_keeps_versions_restorable(alice):
    name = ss.unique_name("soft/a")
    first, second = ss.random_bytes(3000, seed=1), ss.random_bytes(1500, seed=2)
    alice.put_object(name, first, partition_size=PSIZE)
    alice.put_object(name, second, partition_size=PSIZE)

    assert keep_delete(alice, name).deleted_versions == 0

    err = expect_error(Code.NOT_FOUND, alice.get_object, name)
    assert name in err.details(), err.details()
    expect_error(Code.NOT_FOUND, alice.read, name)
    expect_error(Code.NOT_FOUND, alice.partition_info, name, 0)
    assert name not in names(alice, "soft/")
    versions = alice.list_versions(name).versions
    assert [v.version for v in versions] == [2, 1]
    assert not any(v.is_current for v in versions)
    # explicit versions still read, whole and by partition
    assert alice.get_object(name, version=1).size == len(first)
    ss.assert_same_bytes(alice.read(name, version=1), first)
    ss.assert_same_bytes(alice.read_partition(name, 1, version=2), second[PSIZE:])
    # a second keep-versions delete finds no current object; the versions are untouched
    err = expect_error(Code.NOT_FOUND, keep_delete, alice, name)
    assert "keep_versions" in err.details(), err.details()
    assert len(alice.list_versions(name).versions) == 2

    restored = alice.restore(name, 1)
    assert restored.version == 3 and restored.is_current and restored.restored_from_version == 1
    ss.assert_same_bytes(alice.read(name), first)
    assert name in names(alice, "soft/")


def test_upload_after_keep_versions_delete_continues_the_versions(alice):
    name = ss.unique_name("soft/b")
    alice.put_object(name, b"one", partition_size=PSIZE)
    keep_delete(alice, name)
    info = alice.put_object(name, b"two", partition_size=PSIZE)
    assert info.version == 2 and info.is_current
    assert alice.read(name) == b"two"
    assert [v.version for v in alice.list_versions(name).versions] == [2, 1]


def test_delete_without_keep_versions_afterwards_removes_everything(alice):
    name = ss.unique_name("soft/c")
    alice.put_object(name, b"one", partition_size=PSIZE)
    alice.put_object(name, b"two", partition_size=PSIZE)
    keep_delete(alice, name)
    assert alice.delete_object(name).deleted_versions == 2
    expect_error(Code.NOT_FOUND, alice.list_versions, name)
    expect_error(Code.NOT_FOUND, alice.get_object, name, 1)
    expect_error(Code.NOT_FOUND, alice.restore, name, 1)
    # the default is still the hard delete
    alice.put_object(name, b"again", partition_size=PSIZE)
    assert alice.delete_object(name).deleted_versions == 1
    expect_error(Code.NOT_FOUND, alice.list_versions, name)


def test_the_feed_records_a_keep_versions_delete_like_any_delete(alice, soft_server, postgres):
    name = ss.unique_name("soft/feed")
    start = alice.list_objects(prefix="", page_size=1).change_cursor
    watcher = fs.Watcher(alice, cursor=start, prefix="soft/feed")
    alice.put_object(name, b"x", partition_size=PSIZE)
    keep_delete(alice, name)
    alice.restore(name, 1)
    alice.delete_object(name)
    got = watcher.take(4)
    watcher.cancel()
    assert [c.kind for c in got] == [fs.VERSION_CREATED, fs.OBJECT_DELETED, fs.VERSION_CREATED,
                                     fs.OBJECT_DELETED]
    assert [c.version for c in got] == [1, 0, 2, 0]
    assert all(c.name == name for c in got)
    logged = [row for row in fs.logged(postgres, soft_server, fs.position(start)) if row[2] == name]
    assert logged == fs.as_rows(got)


def test_sharing_rules_hold_for_kept_versions(soft_server, alice, certs):
    if not os.path.isfile(certs.path("client2.pem")):
        pytest.skip("certs/client2 is missing: run scripts/make-certs.sh")
    bob = soft_server.client("client2")
    sharing = sh_grpc.SharingServiceStub(alice.channel)
    owner = sharing.WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    bob_handle = sh_grpc.SharingServiceStub(bob.channel).WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    name = ss.unique_name("shared-soft/a")
    data = ss.random_bytes(2000, seed=3)
    alice.put_object(name, data, partition_size=PSIZE)

    def versions_as_bob():
        return bob.objects.ListObjectVersions(
            obj_pb.ListObjectVersionsRequest(name=name, owner=owner), timeout=ss.TIMEOUT).versions

    def restore_as_bob():
        return bob.objects.RestoreObjectVersion(
            obj_pb.RestoreObjectVersionRequest(name=name, version=1, owner=owner), timeout=ss.TIMEOUT)

    # no grant: as if there were no such object
    expect_error(Code.NOT_FOUND, keep_delete, bob, name, owner)
    sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path="shared-soft/",
        access=sh_pb.ACCESS_READ), timeout=ss.TIMEOUT)
    expect_error(Code.PERMISSION_DENIED, keep_delete, bob, name, owner)
    keep_delete(alice, name)
    # READ sees the kept versions and reads them by number, but cannot restore
    assert [v.version for v in versions_as_bob()] == [1]
    msgs = bob.objects.ReadObject(obj_pb.ReadObjectRequest(name=name, version=1, owner=owner),
                                  timeout=ss.TIMEOUT)
    ss.assert_same_bytes(b"".join(m.data for m in msgs), data)
    expect_error(Code.PERMISSION_DENIED, restore_as_bob)
    # WRITE restores and deletes keeping the versions
    sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path="shared-soft/",
        access=sh_pb.ACCESS_WRITE), timeout=ss.TIMEOUT)
    assert restore_as_bob().version == 2
    assert keep_delete(bob, name, owner).deleted_versions == 0
    assert [v.version for v in versions_as_bob()] == [2, 1]
    expect_error(Code.NOT_FOUND, bob.objects.GetObject,
                 obj_pb.GetObjectRequest(name=name, owner=owner), timeout=ss.TIMEOUT)


def test_kept_versions_still_count_against_the_quotas(storage):
    srv = storage.server(label="sluiced-soft-quota", quota_bytes=10_000)
    caller = qs.Caller(srv, "client")
    data = ss.random_bytes(6000, seed=4)
    caller.c.put_object("kept", data, partition_size=PSIZE)
    keep_delete(caller.c, "kept")
    usage = caller.usage()
    assert (usage.logical_bytes, usage.objects, usage.versions) == (6000, 1, 1), usage
    err = expect_error(Code.RESOURCE_EXHAUSTED, caller.c.create_session, "other", data, PSIZE)
    assert "byte quota" in err.details(), err.details()
    # deleted for good, the bytes no longer count
    caller.c.delete_object("kept")
    assert caller.usage().logical_bytes == 0
    caller.c.put_object("other", data, partition_size=PSIZE)
