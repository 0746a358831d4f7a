"""PutObject (issue 12): a small object in one call — bytes inline (at most 4 MiB), the
declared SHA-256 required and checked, durable before the answer, a new version exactly
as a one-partition session committed would make (same grant rules, same idempotency by
request_id, same change-feed record)."""

from __future__ import annotations

import concurrent.futures

import pytest

import storage_support as ss
from storage_support import Code, KIB, expect_error, info_pb, obj_pb
from sluice.v1 import changes_pb2 as ch_pb
from sluice.v1 import changes_pb2_grpc as ch_grpc
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc

MIB = 1024 * KIB
LIMIT = 4 * MIB


def put(client, name, data, *, sha256=None, **fields):
    return client.objects.PutObject(obj_pb.PutObjectRequest(
        name=name, data=data, sha256=ss.sha(data) if sha256 is None else sha256, **fields), timeout=ss.TIMEOUT)


def test_the_largest_put_the_limits_allow_fits_one_message(server, client):
    """4 MiB of data with the most metadata allowed (64 entries, 128-byte keys, 1,024-byte
    values) and a 1,024-byte name: every field within its limit, so the request is served."""
    data = ss.random_bytes(LIMIT, seed=64)
    name = (ss.unique_name("put/largest-") + "n" * 1024)[:1024]
    metadata = {f"{i:03d}".ljust(128, "k"): "v" * 1024 for i in range(64)}
    info = put(client, name, data, content_type="application/octet-stream", user_metadata=metadata,
               request_id=ss.unique_name("rid").ljust(128, "x"))
    assert (info.size, len(info.user_metadata)) == (LIMIT, 64)
    ss.assert_same_bytes(client.read(name), data, "the largest put")


@pytest.mark.parametrize("size", [0, 1, 4 * KIB, LIMIT], ids=["empty", "one-byte", "4KiB", "4MiB"])
def test_put_stores_a_verified_version(server, client, size):
    data = ss.random_bytes(size)
    name = ss.unique_name("put/ok")
    info = put(client, name, data, content_type="text/plain", user_metadata={"k": "v"})
    assert (info.name, info.version, info.size, info.partition_count) == (name, 1, size, 1 if size else 0)
    assert info.sha256 == ss.sha(data) and info.sha256_state == info_pb.SHA256_STATE_VERIFIED
    assert (info.content_type, dict(info.user_metadata)) == ("text/plain", {"k": "v"})
    ss.assert_object_describes(info, name, data, max(size, 1), version=1)
    ss.assert_same_bytes(client.read(name), data, "the put object")
    # A second put is the next version; no session stays open behind either.
    assert put(client, name, data).version == 2
    assert client.all_sessions(open_only=True) == []


def test_puts_whose_callers_give_up_leave_no_session_open(server, client):
    """A PutObject without request_id whose deadline passes mid-call gives its hidden session
    back (nobody could resume it): none stays open to count against the open-session quota."""
    import grpc
    import time
    prefix = ss.unique_name("put/gaveup")
    data = ss.random_bytes(64 * KIB)
    request = lambda n: obj_pb.PutObjectRequest(name=f"{prefix}/{n}", data=data, sha256=ss.sha(data))
    expired = 0
    for n in range(300):
        try:
            client.objects.PutObject(request(n), timeout=0.001 + (n % 10) * 0.001)
        except grpc.RpcError as e:
            assert e.code() == Code.DEADLINE_EXCEEDED, e.details()
            expired += 1
    assert expired > 0, "no call outran its deadline: the test proves nothing on this machine"
    deadline = time.monotonic() + 20
    while True:
        left = [s.object_name for s in client.all_sessions(open_only=True) if s.object_name.startswith(prefix)]
        if not left:
            break
        assert time.monotonic() < deadline, f"{len(left)} sessions of abandoned puts stay open"
        time.sleep(0.1)


def test_a_put_without_request_id_keeps_its_hidden_session_only_minutes(server, client, postgres):
    """Nobody can resume the session of a put without request_id, so it lives at most 5 minutes
    (were sluiced killed mid-put, its slot and reservation come back then, not after the hour an
    empty session gets); with a request_id it lives as a session does, for the retry."""
    prefix = ss.unique_name("put/lifetime")
    data = ss.random_bytes(KIB)
    put(client, f"{prefix}/plain", data)
    put(client, f"{prefix}/idem", data, request_id=f"lifetime-{prefix}")
    rows = postgres.run(
        "SELECT object_name || ' ' || extract(epoch FROM expires_at - created_at)::bigint FROM upload_sessions "
        f"WHERE object_name LIKE '{prefix}/%' ORDER BY object_name", url=server.database_url).split("\n")
    lifetimes = {name.rsplit("/", 1)[1]: int(seconds) for name, seconds in (r.split() for r in rows if r)}
    assert lifetimes["plain"] <= 300 < lifetimes["idem"], lifetimes


def test_put_refuses_bytes_that_do_not_match_their_hash(server, client):
    name = ss.unique_name("put/wrong")
    e = expect_error(Code.DATA_LOSS, put, client, name, b"hello", sha256=ss.sha(b"other"))
    assert ss.hexsha(b"hello") in e.details() and "nothing was stored" in e.details(), e.details()
    expect_error(Code.NOT_FOUND, client.get_object, name)
    e = expect_error(Code.INVALID_ARGUMENT, put, client, name, b"hello", sha256=b"")
    assert "sha256" in e.details() and "32" in e.details(), e.details()


def test_put_over_the_limit_points_to_upload_sessions(server, client):
    data = ss.random_bytes(LIMIT + 1)
    e = expect_error(Code.INVALID_ARGUMENT, put, client, ss.unique_name("put/big"), data)
    assert str(LIMIT) in e.details() and "upload session" in e.details(), e.details()


def test_put_request_id_makes_retries_idempotent(server, client):
    name = ss.unique_name("put/idem")
    data = ss.random_bytes(3 * KIB)
    first = put(client, name, data, request_id="put-retry-1")
    again = put(client, name, data, request_id="put-retry-1")
    assert (first.version, again.version) == (1, 1), "a retry made a second version"
    assert [v.version for v in client.list_versions(name).versions] == [1]
    e = expect_error(Code.INVALID_ARGUMENT, put, client, name, data + b"!", request_id="put-retry-1")
    assert "request_id" in e.details(), e.details()


def test_overlapping_retries_of_one_put_all_answer_its_version(server, client):
    """A retry that overlaps its first attempt (a deadline passed, a connection stalled,
    hedging) gets the version the first one makes, not FAILED_PRECONDITION for finding the
    session committed under it."""
    for round in range(6):
        name = ss.unique_name("put/overlap")
        data = ss.random_bytes(64 * KIB)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(put, client, name, data, request_id=f"overlap-{name}") for _ in range(8)]
            versions = [call.result().version for call in calls]
        assert versions == [1] * 8, f"round {round}: {versions}"
        assert [v.version for v in client.list_versions(name).versions] == [1]


def test_put_is_in_the_change_feed(server, client):
    name = ss.unique_name("put/feed")
    data = ss.random_bytes(KIB)
    changes = ch_grpc.ChangeServiceStub(client.channel)
    put(client, name, data)
    got, cursor = [], ""
    for _ in range(100):
        page = changes.ListChanges(ch_pb.ListChangesRequest(prefix=name, cursor=cursor), timeout=ss.TIMEOUT)
        got += list(page.changes)
        cursor = page.next_cursor
        if page.caught_up:
            break
    assert [(c.name, c.version, c.sha256) for c in got] == [(name, 1, ss.sha(data))]


def test_put_into_another_principals_folder_follows_write_grants(server, client, client2):
    alice = sh_grpc.SharingServiceStub(client.channel)
    bob_handle = sh_grpc.SharingServiceStub(client2.channel).WhoAmI(
        sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    alice_handle = alice.WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT).handle
    folder = ss.unique_name("put/shared") + "/"
    name = folder + "f"
    expect_error(Code.NOT_FOUND, put, client2, name, b"x", owner=alice_handle)
    alice.GrantAccess(sh_pb.GrantAccessRequest(grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path=folder,
                                               access=sh_pb.ACCESS_READ), timeout=ss.TIMEOUT)
    expect_error(Code.PERMISSION_DENIED, put, client2, name, b"x", owner=alice_handle)
    alice.GrantAccess(sh_pb.GrantAccessRequest(grantee=bob_handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path=folder,
                                               access=sh_pb.ACCESS_WRITE), timeout=ss.TIMEOUT)
    info = put(client2, name, b"x", owner=alice_handle)
    assert (info.owner, info.written_by) == (alice_handle, bob_handle)
    assert client.read(name) == b"x"
