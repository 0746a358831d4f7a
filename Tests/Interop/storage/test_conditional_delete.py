"""DeleteObject with if_current_version: the delete happens only while that version is the
current one, checked in the delete's own transaction; otherwise FAILED_PRECONDITION names the
current version and nothing is deleted. 0 (absent) deletes unconditionally, as for a client
that does not know the field. Seen from the outside with grpcio against sluiced and
PostgreSQL.

alice is certs/client, bob certs/client2."""

from __future__ import annotations

import os

import grpc
import pytest

import storage_support as ss
from row_locks import EDIT, delete_behind_a_commit
from storage_support import expect_error
from sluice.v1 import objects_pb2 as obj_pb
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc

pytestmark = ss.only_blob_stores("disk")   # the condition is in the metadata, whatever the store
Code = grpc.StatusCode


@pytest.fixture(scope="module")
def cond_server(module_storage):
    return module_storage.server(label="sluiced-conditional-delete")


@pytest.fixture(scope="module")
def alice(cond_server):
    return cond_server.client("client")


def delete(client, name: str, if_current_version: int = 0, keep_versions: bool = False, owner: str = ""):
    return client.objects.DeleteObject(
        obj_pb.DeleteObjectRequest(name=name, owner=owner, keep_versions=keep_versions,
                                   if_current_version=if_current_version), timeout=ss.TIMEOUT)


@pytest.mark.parametrize("keep_versions", [False, True])
def test_another_version_is_refused_and_nothing_is_deleted(alice, keep_versions):
    name = ss.two_versions(alice, "cond/stale")
    err = expect_error(Code.FAILED_PRECONDITION, delete, alice, name, 1, keep_versions)
    assert f"'{name}' is at version 2, not 1; nothing was deleted" in err.details(), err.details()
    assert alice.get_object(name).version == 2
    assert alice.read(name) == b"two"
    assert [v.version for v in alice.list_versions(name).versions] == [2, 1]


def test_the_current_version_is_deleted_for_good(alice):
    name = ss.two_versions(alice, "cond/match")
    assert delete(alice, name, 2).deleted_versions == 2
    expect_error(Code.NOT_FOUND, alice.list_versions, name)
    # a name that does not exist is NOT_FOUND whatever the condition
    expect_error(Code.NOT_FOUND, delete, alice, name, 2)


def test_the_current_version_is_deleted_keeping_its_versions(alice):
    name = ss.two_versions(alice, "cond/keep")
    assert delete(alice, name, 2, keep_versions=True).deleted_versions == 0
    expect_error(Code.NOT_FOUND, alice.get_object, name)
    assert [v.version for v in alice.list_versions(name).versions] == [2, 1]
    # no version is current now: a condition on any refuses, for either kind of delete
    for keep in (False, True):
        err = expect_error(Code.FAILED_PRECONDITION, delete, alice, name, 2, keep)
        assert "has no current version" in err.details() and "not 2" in err.details(), err.details()
    assert len(alice.list_versions(name).versions) == 2


def test_without_the_field_the_delete_is_unconditional(alice):
    name = ss.two_versions(alice, "cond/absent")
    # what a client that predates the field sends: field 4 absent on the wire
    request = obj_pb.DeleteObjectRequest(name=name)
    assert not any(field.name == "if_current_version" for field, _ in request.ListFields())
    assert alice.objects.DeleteObject(request, timeout=ss.TIMEOUT).deleted_versions == 2
    expect_error(Code.NOT_FOUND, alice.get_object, name)


def test_a_negative_version_is_invalid(alice):
    name = ss.two_versions(alice, "cond/negative")
    err = expect_error(Code.INVALID_ARGUMENT, delete, alice, name, -1)
    assert "if_current_version" in err.details(), err.details()
    assert alice.get_object(name).version == 2


def test_a_version_committed_while_the_delete_waits_is_not_deleted(alice, cond_server, postgres):
    """The check is made on the row the delete locks, after the commit that got there first:
    not a look before the delete, which would pass and then delete the new version unseen."""
    name = ss.unique_name("cond/race")
    deletion = delete_behind_a_commit(alice, postgres, cond_server.database_url, name, obj_pb.DeleteObjectRequest(
        name=name, keep_versions=True, if_current_version=1), ss.TIMEOUT)
    with pytest.raises(grpc.RpcError) as refused:
        deletion.result()
    assert refused.value.code() == Code.FAILED_PRECONDITION, refused.value
    assert "is at version 2, not 1" in refused.value.details(), refused.value.details()
    assert alice.read(name) == EDIT


def test_a_grantee_deletes_in_the_owners_folder_on_the_same_condition(cond_server, alice, certs):
    if not os.path.isfile(certs.path("client2.pem")):
        pytest.skip("certs/client2 is missing: run scripts/make-certs.sh")
    bob = cond_server.client("client2")
    sharing = sh_grpc.SharingServiceStub(alice.channel)
    owner = sharing.WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    bob_handle = sh_grpc.SharingServiceStub(bob.channel).WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    name = ss.two_versions(alice, "cond-shared/a")

    # no grant: as if there were no such object, whatever version is named
    expect_error(Code.NOT_FOUND, delete, bob, name, 1, owner=owner)
    sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path="cond-shared/",
        access=sh_pb.ACCESS_READ), timeout=ss.TIMEOUT)
    expect_error(Code.PERMISSION_DENIED, delete, bob, name, 2, owner=owner)
    sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path="cond-shared/",
        access=sh_pb.ACCESS_WRITE), timeout=ss.TIMEOUT)

    for keep in (True, False):
        err = expect_error(Code.FAILED_PRECONDITION, delete, bob, name, 1, keep, owner=owner)
        assert f"'{name}' is at version 2, not 1; nothing was deleted" in err.details(), err.details()
    assert alice.get_object(name).version == 2
    assert delete(bob, name, 2, keep_versions=True, owner=owner).deleted_versions == 0
    expect_error(Code.NOT_FOUND, alice.get_object, name)
    assert [v.version for v in alice.list_versions(name).versions] == [2, 1]
