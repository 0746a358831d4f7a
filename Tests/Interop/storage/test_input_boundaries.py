"""Client input PostgreSQL cannot take is refused where it enters, with a status a
person can act on, never INTERNAL "internal database error": a NUL in any handle or
identity, a change cursor near int64 max, a ListPrincipals page token the server did not
issue, a limit named twice in SetLimits. And an object deleted (its bytes collected) while
it is being read ends the read NOT_FOUND, not DATA_LOSS with an internal blob key.

alice (certs/client) is the administrator; bob is certs/client2."""

from __future__ import annotations

import time

import grpc
import pytest

import quota_support as qs
import storage_support as ss
from quota_support import Caller
from storage_support import Code, MIB, expect_error
from sluice.v1 import admin_pb2 as adm_pb
from sluice.v1 import changes_pb2 as ch_pb
from sluice.v1 import changes_pb2_grpc as ch_grpc
from sluice.v1 import objects_pb2 as obj_pb
from sluice.v1 import sharing_pb2 as sh_pb

# What is refused here is refused before any blob is touched, and a read whose blob is
# collected takes the same path on every store: the disk store is enough.
pytestmark = ss.only_blob_stores("disk")

NEEDED_CERTS = ["client", "client2"]
NUL_HANDLE = "bo\x00b"
INT64_MAX = 2**63 - 1


@pytest.fixture(scope="module", autouse=True)
def boundary_certs(certs):
    ss.require_certs(certs, NEEDED_CERTS)


@pytest.fixture(scope="module")
def bserver(module_storage):
    # A short grace and a collector pass every second: a deleted object's blobs go at once.
    return module_storage.server(label="sluiced-boundaries", admin=qs.ALICE_IDENTITY,
                                 blob_grace_period=1, collector_interval=1)


@pytest.fixture
def alice(bserver) -> Caller:
    return Caller(bserver, "client")


@pytest.fixture
def bob(bserver) -> Caller:
    return Caller(bserver, "client2")


def _refused(code, fn, *args, mentioning=(), **kwargs) -> str:
    error = expect_error(code, fn, *args, **kwargs)
    details = error.details() or ""
    assert "internal" not in details and "PostgreSQL" not in details, details
    for word in mentioning:
        assert word in details, f"{word!r} not in {details!r}"
    return details


@pytest.mark.parametrize("bad", [NUL_HANDLE, "Bob", "b" * 65])
def test_sharing_handles_are_checked(alice, bob, bad):
    bob.handle   # bob exists
    sh = alice.sharing
    t = ss.TIMEOUT
    _refused(Code.INVALID_ARGUMENT, sh.GrantAccess, sh_pb.GrantAccessRequest(
        grantee=bad, scope=sh_pb.GRANT_SCOPE_OBJECT, path="a", access=sh_pb.ACCESS_READ), timeout=t,
        mentioning=["grantee", "not a principal's handle"])
    _refused(Code.INVALID_ARGUMENT, sh.RevokeAccess, sh_pb.RevokeAccessRequest(
        grantee=bad, scope=sh_pb.GRANT_SCOPE_OBJECT, path="a"), timeout=t, mentioning=["grantee"])
    _refused(Code.INVALID_ARGUMENT, sh.ListGrants, sh_pb.ListGrantsRequest(grantee=bad), timeout=t,
             mentioning=["grantee"])
    _refused(Code.INVALID_ARGUMENT, sh.ListSharedWithMe, sh_pb.ListSharedWithMeRequest(owner=bad), timeout=t,
             mentioning=["owner"])
    changes = ch_grpc.ChangeServiceStub(alice.c.channel)
    _refused(Code.INVALID_ARGUMENT, changes.ListChanges, ch_pb.ListChangesRequest(owner=bad), timeout=t,
             mentioning=["owner"])


def test_a_well_formed_unknown_grantee_is_not_found(alice):
    _refused(Code.NOT_FOUND, alice.sharing.GrantAccess, sh_pb.GrantAccessRequest(
        grantee="nobody-here", scope=sh_pb.GRANT_SCOPE_OBJECT, path="a", access=sh_pb.ACCESS_READ),
        timeout=ss.TIMEOUT, mentioning=["no principal has handle 'nobody-here'"])


@pytest.mark.parametrize("position", [INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000, 1_000_000])
def test_a_cursor_past_the_head_is_out_of_range_however_far(alice, position):
    changes = ch_grpc.ChangeServiceStub(alice.c.channel)
    cursor = f"c1.{position}"
    _refused(Code.OUT_OF_RANGE, changes.ListChanges, ch_pb.ListChangesRequest(cursor=cursor),
             timeout=ss.TIMEOUT, mentioning=["ahead of this server's change log"])

    def watch():
        for _ in changes.WatchChanges(ch_pb.WatchChangesRequest(cursor=cursor), timeout=ss.TIMEOUT):
            pass
    _refused(Code.OUT_OF_RANGE, watch, mentioning=["ahead of this server's change log"])


@pytest.mark.parametrize("bad", [NUL_HANDLE, "Alice", ""])
def test_admin_handles_are_checked(alice, bad):
    _refused(Code.INVALID_ARGUMENT, alice.limits, bad, {qs.QUOTA_BYTES: 5}, mentioning=["handle"])
    _refused(Code.INVALID_ARGUMENT, alice.usage_of, bad, mentioning=["handle"])
    _refused(Code.INVALID_ARGUMENT, alice.disable, bad, mentioning=["handle"])
    _refused(Code.INVALID_ARGUMENT, alice.register, bad, "CN=someone", mentioning=["handle"])


def test_admin_unknown_handles_are_not_found_and_nul_identities_refused(alice):
    for call in (lambda: alice.usage_of("nobody-here"), lambda: alice.disable("nobody-here")):
        _refused(Code.NOT_FOUND, call, mentioning=["no principal has handle 'nobody-here'"])
    _refused(Code.INVALID_ARGUMENT, alice.register, "nul-identity", "CN=a\x00b", mentioning=["identity", "NUL"])


@pytest.mark.parametrize("token", ["zz", "x" * 5000, "A" * 100, "\x00"])
def test_list_principals_refuses_forged_tokens(alice, token):
    _refused(Code.INVALID_ARGUMENT, alice.admin.ListPrincipals, adm_pb.ListPrincipalsRequest(page_token=token),
             timeout=ss.TIMEOUT, mentioning=["page_token"])


def test_list_principals_pages_with_its_own_tokens(alice, bob):
    bob.handle
    for handle in ("reg-a", "reg-b", "reg-c"):
        alice.register(handle, f"CN={handle}")
    handles = [p.handle for p in alice.principals()]   # pages of 2, following next_page_token
    assert handles == sorted(handles) and len(handles) == len(set(handles))
    assert {alice.handle, bob.handle, "reg-a", "reg-b", "reg-c"} <= set(handles)
    first = alice.admin.ListPrincipals(adm_pb.ListPrincipalsRequest(page_size=1), timeout=ss.TIMEOUT)
    assert first.next_page_token and first.next_page_token != first.principals[0].handle


def test_set_limits_refuses_a_limit_named_twice(alice):
    me = alice.handle
    request = adm_pb.SetLimitsRequest(handle=me, set=[
        adm_pb.LimitOverride(limit=qs.QUOTA_BYTES, value=5), adm_pb.LimitOverride(limit=qs.QUOTA_BYTES, value=6)])
    _refused(Code.INVALID_ARGUMENT, alice.admin.SetLimits, request, timeout=ss.TIMEOUT,
             mentioning=["quota_bytes is set twice"])
    _refused(Code.INVALID_ARGUMENT, alice.limits, me, {}, clear=[qs.QUOTA_OBJECTS, qs.QUOTA_OBJECTS],
             mentioning=["cleared twice"])
    assert not [p for p in alice.principals() if p.handle == me][0].overrides


def test_an_object_deleted_while_it_is_read_ends_not_found(alice):
    """The read holds its first message while the object is deleted and its blobs are
    collected; the rest of the stream ends NOT_FOUND, naming the object, no blob key."""
    name = ss.unique_name("boundaries/doomed")
    data = ss.random_bytes(24 * MIB)
    alice.c.put_object(name, data, partition_size=1 * MIB)
    stream = alice.c.objects.ReadObject(obj_pb.ReadObjectRequest(name=name), timeout=120)
    got = [next(stream).data]
    alice.c.delete_object(name)
    time.sleep(4)   # grace 1 s, a collector pass every second
    with pytest.raises(grpc.RpcError) as raised:
        for message in stream:
            got.append(message.data)
    error = raised.value
    assert error.code() == Code.NOT_FOUND, (error.code(), error.details())
    assert f"object '{name}' version 1 was deleted while it was being read" in error.details()
    assert ss.hexsha(data[:MIB])[:16] not in error.details() and "p1/" not in error.details()
    body = b"".join(got)
    assert len(body) < len(data) and data.startswith(body)
