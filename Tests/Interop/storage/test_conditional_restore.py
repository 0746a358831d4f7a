"""RestoreObjectVersion with if_current_version: the restore happens only while that version is
the current one, checked in the restore's own transaction; otherwise FAILED_PRECONDITION names
the current version and nothing is restored. That is what makes a restore safe to retry after
its answer was lost. 0 (absent) restores unconditionally, as for a client that does not know the
field. Seen from the outside with grpcio against sluiced and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest

import storage_support as ss
from storage_support import expect_error
from sluice.v1 import objects_pb2 as obj_pb

pytestmark = ss.only_blob_stores("disk")   # the condition is in the metadata, whatever the store
Code = grpc.StatusCode


@pytest.fixture(scope="module")
def alice(module_storage):
    return module_storage.server(label="sluiced-conditional-restore").client("client")


def restore(client, name: str, version: int, if_current_version: int = 0):
    return client.objects.RestoreObjectVersion(
        obj_pb.RestoreObjectVersionRequest(name=name, version=version, if_current_version=if_current_version),
        timeout=ss.TIMEOUT)


def test_a_retry_of_a_restore_whose_answer_was_lost_makes_no_second_version(alice):
    name = ss.two_versions(alice, "restore-cond/retry")
    assert restore(alice, name, 1, if_current_version=2).version == 3
    err = expect_error(Code.FAILED_PRECONDITION, restore, alice, name, 1, 2)
    assert f"'{name}' is at version 3, not 2; nothing was restored" in err.details(), err.details()
    versions = alice.list_versions(name).versions
    assert [(v.version, v.restored_from_version) for v in versions] == [(3, 1), (2, 0), (1, 0)]
    assert alice.read(name) == b"one"


def test_without_the_field_the_restore_is_unconditional(alice):
    name = ss.two_versions(alice, "restore-cond/absent")
    request = obj_pb.RestoreObjectVersionRequest(name=name, version=1)
    assert not any(field.name == "if_current_version" for field, _ in request.ListFields())
    assert alice.objects.RestoreObjectVersion(request, timeout=ss.TIMEOUT).version == 3
    assert alice.objects.RestoreObjectVersion(request, timeout=ss.TIMEOUT).version == 4


def test_a_negative_version_is_invalid(alice):
    name = ss.two_versions(alice, "restore-cond/negative")
    err = expect_error(Code.INVALID_ARGUMENT, restore, alice, name, 1, -1)
    assert "if_current_version" in err.details(), err.details()
    assert alice.get_object(name).version == 2
