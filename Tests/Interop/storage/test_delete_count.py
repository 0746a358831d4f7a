"""DeleteObject's deleted_versions counts what the delete destroyed, under the object row lock
that every commit takes too: a version committed while the delete waited for that row is
deleted with the others and counted, for the unconditional delete and for one conditional on
the version that commit made; a keep-versions delete destroys nothing and keeps that version
too. Seen from the outside with grpcio against sluiced and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest

import storage_support as ss
from row_locks import delete_behind_a_commit
from sluice.v1 import objects_pb2 as obj_pb

pytestmark = ss.only_blob_stores("disk")   # the count is in the metadata, whatever the store
Code = grpc.StatusCode


@pytest.fixture(scope="module")
def count_server(module_storage):
    return module_storage.server(label="sluiced-delete-count")


@pytest.fixture(scope="module")
def alice(count_server):
    return count_server.client("client")


@pytest.mark.parametrize("if_current_version", [0, 2], ids=["unconditional", "if-current-2"])
def test_a_version_committed_while_the_delete_waits_is_deleted_and_counted(
        alice, count_server, postgres, if_current_version):
    name = ss.unique_name("count/forgood")
    answer = delete_behind_a_commit(alice, postgres, count_server.database_url, name, obj_pb.DeleteObjectRequest(
        name=name, if_current_version=if_current_version), ss.TIMEOUT).result()
    assert answer.deleted_versions == 2
    ss.expect_error(Code.NOT_FOUND, alice.list_versions, name)


def test_a_keep_versions_delete_behind_a_commit_keeps_that_version_too(alice, count_server, postgres):
    name = ss.unique_name("count/keep")
    answer = delete_behind_a_commit(alice, postgres, count_server.database_url, name, obj_pb.DeleteObjectRequest(
        name=name, keep_versions=True), ss.TIMEOUT).result()
    assert answer.deleted_versions == 0
    ss.expect_error(Code.NOT_FOUND, alice.get_object, name)
    assert [v.version for v in alice.list_versions(name).versions] == [2, 1]
