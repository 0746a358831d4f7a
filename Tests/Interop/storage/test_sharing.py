"""Sharing (sluice.v1.SharingService and the `owner` field): handles, grants and what
they allow, seen from the outside with grpcio against sluiced and PostgreSQL.

alice is certs/client, bob certs/client2, carol certs/spiffe-a (registered ahead of
her first call with --register-principal), dave certs/shared-a."""

from __future__ import annotations


import grpc
import pytest

import feed_support as fs
import storage_support as ss
from storage_support import Code, KIB, expect_error
from sluice.v1 import objects_pb2 as obj_pb
from sluice.v1 import partitions_pb2 as part_pb
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc
from sluice.v1 import upload_sessions_pb2 as us_pb
from sluice.v1 import usage_pb2 as use_pb
from sluice.v1 import usage_pb2_grpc as use_grpc

PSIZE = 4 * KIB
READ, WRITE = sh_pb.ACCESS_READ, sh_pb.ACCESS_WRITE
OBJECT, PREFIX = sh_pb.GRANT_SCOPE_OBJECT, sh_pb.GRANT_SCOPE_PREFIX
CAROL_IDENTITY = "CN=sluice-workload;URI=spiffe://sluice.test/ns/a"
NEEDED_CERTS = ["client", "client2", "spiffe-a", "shared-a", "shared-b"]


@pytest.fixture(scope="module", autouse=True)
def sharing_certs(certs):
    ss.require_certs(certs, NEEDED_CERTS)


class Principal:
    """A StorageClient plus SharingService, and the object calls with an owner."""

    def __init__(self, server, who: str):
        self.c = server.client(who)
        self.sharing = sh_grpc.SharingServiceStub(self.c.channel)
        self.handle = self.whoami().handle

    def whoami(self):
        return self.sharing.WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT)

    def grant(self, grantee: str, path: str, access=READ, scope=PREFIX):
        return self.sharing.GrantAccess(sh_pb.GrantAccessRequest(
            grantee=grantee, scope=scope, path=path, access=access), timeout=ss.TIMEOUT)

    def revoke(self, grantee: str, path: str, scope=PREFIX):
        return self.sharing.RevokeAccess(sh_pb.RevokeAccessRequest(
            grantee=grantee, scope=scope, path=path), timeout=ss.TIMEOUT).revoked

    def grants(self, **kw):
        return self.sharing.ListGrants(sh_pb.ListGrantsRequest(**kw), timeout=ss.TIMEOUT)

    def shared_with_me(self, **kw):
        return self.sharing.ListSharedWithMe(sh_pb.ListSharedWithMeRequest(**kw), timeout=ss.TIMEOUT)

    # --- object calls addressing an owner ---------------------------------

    def get(self, owner: str, name: str, version: int = 0):
        return self.c.objects.GetObject(obj_pb.GetObjectRequest(name=name, version=version, owner=owner),
                                        timeout=ss.TIMEOUT)

    def read(self, owner: str, name: str) -> bytes:
        msgs = self.c.objects.ReadObject(obj_pb.ReadObjectRequest(name=name, owner=owner), timeout=ss.TIMEOUT)
        return b"".join(m.data for m in msgs)

    def names(self, owner: str, prefix: str = "") -> list[str]:
        out, token = [], ""
        for _ in range(100):
            page = self.c.objects.ListObjects(obj_pb.ListObjectsRequest(
                prefix=prefix, owner=owner, page_size=2, page_token=token), timeout=ss.TIMEOUT)
            out += [o.name for o in page.objects]
            token = page.next_page_token
            if not token:
                return out
        raise AssertionError("ListObjects did not finish within 100 pages")

    def versions(self, owner: str, name: str):
        return list(self.c.objects.ListObjectVersions(obj_pb.ListObjectVersionsRequest(
            name=name, owner=owner), timeout=ss.TIMEOUT).versions)

    def delete(self, owner: str, name: str):
        return self.c.objects.DeleteObject(obj_pb.DeleteObjectRequest(name=name, owner=owner), timeout=ss.TIMEOUT)

    def restore(self, owner: str, name: str, version: int):
        return self.c.objects.RestoreObjectVersion(obj_pb.RestoreObjectVersionRequest(
            name=name, version=version, owner=owner), timeout=ss.TIMEOUT)

    def partition_info(self, owner: str, name: str, index: int = 0):
        return self.c.partitions.GetPartitionInfo(part_pb.GetPartitionInfoRequest(
            object_name=name, partition_index=index, owner=owner), timeout=ss.TIMEOUT)

    def read_partition(self, owner: str, name: str, index: int = 0) -> bytes:
        msgs = self.c.partitions.ReadPartition(part_pb.ReadPartitionRequest(
            object_name=name, partition_index=index, owner=owner), timeout=ss.TIMEOUT)
        return b"".join(m.data for m in msgs)

    def create(self, owner: str, name: str, data: bytes):
        parts = ss.split(data, PSIZE)
        return self.c.sessions.CreateSession(us_pb.CreateSessionRequest(
            object_name=name, total_size=len(data), partition_size=PSIZE,
            partition_sha256=[ss.sha(p) for p in parts], object_sha256=ss.sha(data), owner=owner),
            timeout=ss.TIMEOUT)

    def upload(self, owner: str, name: str, data: bytes):
        s = self.create(owner, name, data)
        self.c.upload_partitions(s.session_id, data, PSIZE, parallel=1)
        return self.c.commit(s.session_id)


@pytest.fixture(scope="module")
def sharing_server(module_storage):
    return module_storage.server(label="sluiced-sharing", register_principal=f"carol={CAROL_IDENTITY}")


@pytest.fixture(scope="module")
def alice(sharing_server):
    return Principal(sharing_server, "client")


@pytest.fixture(scope="module")
def bob(sharing_server):
    return Principal(sharing_server, "client2")


def _put(p: Principal, name: str, data: bytes):
    return p.c.put_object(name, data, partition_size=PSIZE)


def test_handles_derive_from_the_certificate_and_are_unique(sharing_server, alice, bob):
    assert alice.handle == "sluice-client"
    assert alice.whoami().identity == "CN=sluice-client;DNS=client.sluice.test"
    assert bob.handle == "sluice-client2"
    # shared-a and shared-b both have CN=sluice-shared: the second gets a suffix
    first, second = Principal(sharing_server, "shared-a"), Principal(sharing_server, "shared-b")
    assert {first.handle, second.handle} == {"sluice-shared", "sluice-shared-2"}
    assert first.whoami().handle == first.handle, "a handle never changes"
    assert Principal(sharing_server, "shared-b").handle == second.handle


def test_handles_survive_a_restart(storage):
    srv = storage.server()
    before = Principal(srv, "client2").handle
    srv.restart()
    assert Principal(srv, "client2").handle == before == "sluice-client2"


def test_without_a_grant_another_principals_object_is_not_found(alice, bob):
    name = ss.unique_name("private/") + "/x"
    _put(alice, name, ss.random_bytes(3 * PSIZE))
    for owner in (alice.handle, "no-such-handle", "Not A Handle!"):
        for call in (lambda: bob.get(owner, name), lambda: bob.read(owner, name),
                     lambda: bob.versions(owner, name), lambda: bob.partition_info(owner, name),
                     lambda: bob.read_partition(owner, name), lambda: bob.delete(owner, name),
                     lambda: bob.restore(owner, name, 1), lambda: bob.create(owner, name, b"x")):
            expect_error(Code.NOT_FOUND, call)
        assert bob.names(owner, "private/") == []
    # the same wording for an unknown owner as for a known one that shares nothing
    known = expect_error(Code.NOT_FOUND, bob.get, alice.handle, name).details()
    unknown = expect_error(Code.NOT_FOUND, bob.get, "no-such-handle", name).details()
    assert known == unknown
    assert alice.get("", name).owner == alice.handle


def test_read_grant_allows_reading_and_refuses_writing(alice, bob):
    folder = ss.unique_name("read") + "/"
    data = ss.random_bytes(2 * PSIZE + 7)
    _put(alice, folder + "a.txt", data)
    _put(alice, folder + "sub/b.txt", b"bee")
    _put(alice, ss.unique_name("readother") + "/hidden", b"h")
    grant = alice.grant(bob.handle, folder, READ)
    assert (grant.owner, grant.grantee, grant.path, grant.access) == (alice.handle, bob.handle, folder, READ)

    info = bob.get(alice.handle, folder + "a.txt")
    assert info.owner == alice.handle and info.written_by == alice.handle and info.size == len(data)
    ss.assert_same_bytes(bob.read(alice.handle, folder + "a.txt"), data)
    assert [v.version for v in bob.versions(alice.handle, folder + "a.txt")] == [1]
    assert bob.partition_info(alice.handle, folder + "a.txt", 1).size == PSIZE
    ss.assert_same_bytes(bob.read_partition(alice.handle, folder + "a.txt", 2), data[2 * PSIZE:])
    assert bob.names(alice.handle) == [folder + "a.txt", folder + "sub/b.txt"], \
        "a grantee lists only what its grants cover"

    for call in (lambda: bob.delete(alice.handle, folder + "a.txt"),
                 lambda: bob.restore(alice.handle, folder + "a.txt", 1),
                 lambda: bob.create(alice.handle, folder + "new.txt", b"new")):
        expect_error(Code.PERMISSION_DENIED, call)
    assert [v.version for v in alice.c.list_versions(folder + "a.txt").versions] == [1]


def test_write_grant_allows_upload_delete_restore_and_records_the_writer(alice, bob):
    folder = ss.unique_name("write") + "/"
    name = folder + "doc.txt"
    _put(alice, name, b"version one")
    alice.grant(bob.handle, folder, WRITE)

    v2 = bob.upload(alice.handle, name, b"bob's version two")
    assert (v2.version, v2.owner, v2.written_by) == (2, alice.handle, bob.handle)
    mine = alice.c.get_object(name)
    assert (mine.version, mine.written_by) == (2, bob.handle), "the owner sees the grantee's version"
    assert [(v.version, v.written_by) for v in alice.c.list_versions(name).versions] == \
        [(2, bob.handle), (1, alice.handle)]
    expect_error(Code.NOT_FOUND, bob.c.get_object, name)  # nothing of bob's own by that name

    v3 = bob.restore(alice.handle, name, 1)
    assert (v3.version, v3.restored_from_version, v3.written_by) == (3, 1, bob.handle)
    ss.assert_same_bytes(alice.c.read(name), b"version one")

    fresh = bob.upload(alice.handle, folder + "new/by-bob.txt", b"new object")
    assert fresh.version == 1 and fresh.owner == alice.handle
    assert bob.delete(alice.handle, folder + "new/by-bob.txt").deleted_versions == 1
    expect_error(Code.NOT_FOUND, alice.c.get_object, folder + "new/by-bob.txt")


def test_a_prefix_grant_covers_the_folder_only(alice, bob):
    base = ss.unique_name("docs")
    _put(alice, f"{base}/a/b", b"inside")
    _put(alice, f"{base}x", b"beside")
    _put(alice, f"{base}x/y", b"beside too")
    got = alice.grant(bob.handle, base, READ)          # normalised to end with "/"
    assert got.path == base + "/"
    assert bob.read(alice.handle, f"{base}/a/b") == b"inside"
    expect_error(Code.NOT_FOUND, bob.get, alice.handle, f"{base}x")
    expect_error(Code.NOT_FOUND, bob.get, alice.handle, f"{base}x/y")
    assert bob.names(alice.handle, base) == [f"{base}/a/b"]


def test_prefix_with_like_wildcards_matches_literally(alice, bob):
    base = ss.unique_name("w")
    _put(alice, f"{base}%_/in", b"in")
    _put(alice, f"{base}ab/out", b"out")
    alice.grant(bob.handle, f"{base}%_/", READ)
    assert bob.names(alice.handle, base) == [f"{base}%_/in"]
    expect_error(Code.NOT_FOUND, bob.get, alice.handle, f"{base}ab/out")


def test_an_object_grant_covers_that_name_only(alice, bob):
    name = ss.unique_name("single") + "/file"
    _put(alice, name, b"one")
    _put(alice, name + "2", b"two")
    alice.grant(bob.handle, name, WRITE, scope=OBJECT)
    assert bob.read(alice.handle, name) == b"one"
    expect_error(Code.NOT_FOUND, bob.get, alice.handle, name + "2")
    assert bob.names(alice.handle, name) == [name]


def test_revoking_takes_effect_on_the_next_call_and_stops_open_sessions(alice, bob):
    folder = ss.unique_name("revoke") + "/"
    name = folder + "f"
    _put(alice, name, b"alice's")
    alice.grant(bob.handle, folder, WRITE)
    data = ss.random_bytes(2 * PSIZE)
    pending = bob.create(alice.handle, folder + "pending", data)
    assert pending.owner == alice.handle
    bob.c.upload_partitions(pending.session_id, data, PSIZE, parallel=1)
    unfinished = bob.create(alice.handle, folder + "unfinished", data)
    bob.c.upload_partition(unfinished.session_id, 0, data[:PSIZE])
    assert bob.read(alice.handle, name) == b"alice's"

    revoked = alice.revoke(bob.handle, folder)
    assert revoked.access == WRITE
    expect_error(Code.NOT_FOUND, bob.get, alice.handle, name)
    assert bob.names(alice.handle, folder) == []
    # The revoke aborted both sessions: they could never commit again.
    assert bob.c.get_session(pending.session_id).state == ss.ABORTED
    expect_error(Code.FAILED_PRECONDITION, bob.c.commit, pending.session_id)
    expect_error(Code.FAILED_PRECONDITION, bob.c.commit, pending.session_id)   # for good
    expect_error(Code.FAILED_PRECONDITION, bob.c.upload_partition, unfinished.session_id, 1, data[PSIZE:])
    assert bob.c.abort(unfinished.session_id).state == ss.ABORTED
    expect_error(Code.NOT_FOUND, alice.c.get_object, folder + "pending")
    # lowered to READ: still no commit
    alice.grant(bob.handle, folder, READ)
    expect_error(Code.FAILED_PRECONDITION, bob.c.commit, pending.session_id)
    assert bob.read(alice.handle, name) == b"alice's"
    expect_error(Code.NOT_FOUND, alice.revoke, bob.handle, folder + "never/")


def test_the_owner_sees_and_aborts_a_grantees_sessions_and_a_revoke_frees_them(alice, bob):
    """A grantee's session into the owner's folder reserves the owner's quota: the owner lists
    it, counts it in its usage, may abort it, and a revoke (or lowering to READ) aborts it."""
    usage = use_grpc.UsageServiceStub(alice.c.channel)

    def reserved_and_open():
        got = usage.GetUsage(use_pb.GetUsageRequest(), timeout=ss.TIMEOUT)
        return got.reserved_bytes, got.open_sessions

    folder = ss.unique_name("inbox") + "/"
    alice.grant(bob.handle, folder, WRITE)
    before = reserved_and_open()
    big = 64 * PSIZE + 1
    # One byte, the last partition, makes the session non-empty (it would live a day).
    declared = us_pb.CreateSessionRequest(
        object_name=folder + "big", total_size=big, partition_size=PSIZE,
        partition_sha256=[ss.sha(ss.random_bytes(PSIZE)) for _ in range(64)] + [ss.sha(b"x")],
        owner=alice.handle)
    held = bob.c.sessions.CreateSession(declared, timeout=ss.TIMEOUT)
    bob.c.upload_partition(held.session_id, 64, b"x")
    declared.object_name = folder + "other"
    other = bob.c.sessions.CreateSession(declared, timeout=ss.TIMEOUT)
    assert reserved_and_open() == (before[0] + 2 * big, before[1] + 2)

    mine = {s.session_id: s for s in alice.c.all_sessions(open_only=True)}
    assert {held.session_id, other.session_id} <= set(mine)
    assert mine[held.session_id].owner == alice.handle and mine[held.session_id].stored_bytes == 1
    assert alice.c.get_session(other.session_id).state == ss.OPEN
    assert alice.c.abort(other.session_id).state == ss.ABORTED
    assert bob.c.get_session(other.session_id).state == ss.ABORTED
    expect_error(Code.FAILED_PRECONDITION, bob.c.commit, other.session_id)

    alice.revoke(bob.handle, folder)
    assert bob.c.get_session(held.session_id).state == ss.ABORTED
    assert alice.c.get_session(held.session_id).state == ss.ABORTED
    assert reserved_and_open() == before

    # Lowering WRITE to READ aborts as well.
    alice.grant(bob.handle, folder, WRITE)
    declared.object_name = folder + "lowered"
    lowered = bob.c.sessions.CreateSession(declared, timeout=ss.TIMEOUT)
    alice.grant(bob.handle, folder, READ)
    assert bob.c.get_session(lowered.session_id).state == ss.ABORTED
    assert reserved_and_open() == before


def test_only_the_grantee_stores_partitions_of_and_commits_its_session_in_the_owners_folder(
        sharing_server, alice, bob):
    """The owner sees a grantee's session into its folder (GetSession) and may abort it, but
    neither stores its partitions nor commits it: both answer PERMISSION_DENIED saying who can,
    whatever the session's state. A principal with no part in the session finds none (NOT_FOUND)."""
    dave = Principal(sharing_server, "shared-a")
    folder = ss.unique_name("grantee-session") + "/"
    alice.grant(bob.handle, folder, WRITE)
    data = ss.random_bytes(2 * PSIZE)
    session = bob.create(alice.handle, folder + "f", data)
    sid = session.session_id
    assert alice.c.get_session(sid).state == ss.OPEN

    def owner_is_refused(index: int):
        for call, args, what in ((alice.c.upload_partition, (sid, index, ss.split(data, PSIZE)[index]),
                                  "store its partitions"),
                                 (alice.c.commit, (sid,), "commit it")):
            e = expect_error(Code.PERMISSION_DENIED, call, *args)
            assert f"upload session {sid}" in e.details() and f"only that principal can {what}" in e.details(), \
                e.details()
            assert "you may abort it" in e.details(), e.details()

    owner_is_refused(0)
    for call, args in ((dave.c.upload_partition, (sid, 0, data[:PSIZE])), (dave.c.commit, (sid,)),
                       (dave.c.get_session, (sid,))):
        expect_error(Code.NOT_FOUND, call, *args)
    # Nothing the owner sent was stored; the grantee goes on as if the owner had not tried.
    assert list(bob.c.get_session(sid).stored_partitions) == []
    bob.c.upload_partitions(sid, data, PSIZE, parallel=1)
    assert bob.c.commit(sid).version == 1
    owner_is_refused(1)
    expect_error(Code.NOT_FOUND, dave.c.upload_partition, sid, 1, data[PSIZE:])
    assert alice.read(alice.handle, folder + "f") == data


def test_owner_always_sees_everything_and_lists_its_grants(alice, bob):
    folder = ss.unique_name("own") + "/"
    _put(alice, folder + "x", b"x")
    alice.grant(bob.handle, folder, READ)
    alice.grant(bob.handle, folder + "x", WRITE, scope=OBJECT)
    assert alice.c.read(folder + "x") == b"x"
    assert alice.read(alice.handle, folder + "x") == b"x", "owner = own handle is the caller"
    made = [g for g in _all(alice.grants, grantee=bob.handle) if g.path.startswith(folder)]
    assert [(g.scope, g.path, g.access) for g in made] == [(OBJECT, folder + "x", WRITE), (PREFIX, folder, READ)]
    received = [g for g in _all(bob.shared_with_me, owner=alice.handle) if g.path.startswith(folder)]
    assert [(g.owner, g.grantee) for g in received] == [(alice.handle, bob.handle)] * 2
    assert all(g.grantee == bob.handle for g in _all(alice.grants, grantee=bob.handle))
    # the grantee sees both grants; after revoking it sees neither
    alice.revoke(bob.handle, folder)
    alice.revoke(bob.handle, folder + "x", scope=OBJECT)
    assert [g for g in _all(bob.shared_with_me) if g.path.startswith(folder)] == []


def _all(method, **kw) -> list:
    out, token = [], ""
    for _ in range(200):
        page = method(page_size=1, page_token=token, **kw)
        out += list(page.grants)
        token = page.next_page_token
        if not token:
            return out
    raise AssertionError("the grant listing did not finish within 200 pages")


def test_page_tokens_are_bound_to_their_listing(alice, bob):
    folder = ss.unique_name("tok") + "/"
    for i in range(3):
        alice.grant(bob.handle, f"{folder}{i}/", READ)
    page = alice.grants(page_size=1)
    assert page.next_page_token
    expect_error(Code.INVALID_ARGUMENT, bob.grants, page_size=1, page_token=page.next_page_token)
    expect_error(Code.INVALID_ARGUMENT, alice.shared_with_me, page_size=1, page_token=page.next_page_token)


def test_a_grantee_cannot_re_share(sharing_server, alice, bob):
    folder = ss.unique_name("reshare") + "/"
    _put(alice, folder + "f", b"alice's")
    alice.grant(bob.handle, folder, WRITE)
    dave = Principal(sharing_server, "shared-a")
    # bob can only grant over his own objects: the grant names bob as owner
    g = bob.grant(dave.handle, folder, READ)
    assert g.owner == bob.handle
    expect_error(Code.NOT_FOUND, dave.get, alice.handle, folder + "f")
    assert dave.names(alice.handle) == []
    expect_error(Code.NOT_FOUND, dave.get, bob.handle, folder + "f")


def test_bad_grants_are_refused_precisely(alice, bob):
    expect_error(Code.INVALID_ARGUMENT, alice.grant, alice.handle, "x/")
    e = expect_error(Code.NOT_FOUND, alice.grant, "nobody-has-this", "x/")
    assert "nobody-has-this" in e.details()
    expect_error(Code.INVALID_ARGUMENT, alice.grant, bob.handle, "")
    expect_error(Code.INVALID_ARGUMENT, alice.grant, bob.handle, "x\0y")
    expect_error(Code.INVALID_ARGUMENT, alice.grant, bob.handle, "x/", sh_pb.ACCESS_UNSPECIFIED)
    expect_error(Code.INVALID_ARGUMENT, alice.grant, bob.handle, "x/", READ, sh_pb.GRANT_SCOPE_UNSPECIFIED)
    expect_error(Code.INVALID_ARGUMENT, alice.grant, "", "x/")
    # re-granting replaces the access
    alice.grant(bob.handle, "regrant/", READ)
    again = alice.grant(bob.handle, "regrant/", WRITE)
    assert again.access == WRITE
    assert [g.access for g in _all(alice.grants, grantee=bob.handle) if g.path == "regrant/"] == [WRITE]


def test_a_grantees_upload_is_stored_in_the_owners_scope(sharing_server, alice, bob):
    folder = ss.unique_name("scope") + "/"
    payload = ss.random_bytes(PSIZE, seed=99)
    _put(alice, folder + "original", payload)
    assert sharing_server.blobs.copies(payload) == 1
    alice.grant(bob.handle, folder, WRITE)
    bob.upload(alice.handle, folder + "copy", payload)
    assert sharing_server.blobs.copies(payload) == 1, "the grantee's bytes dedup in the owner's scope"
    bob.c.put_object(ss.unique_name("bobs-own"), payload, partition_size=PSIZE)
    assert sharing_server.blobs.copies(payload) == 2, "bob's own upload is in bob's scope"


def test_a_registered_principal_can_be_shared_with_before_it_connects(sharing_server, alice):
    folder = ss.unique_name("prereg") + "/"
    _put(alice, folder + "welcome", b"hello carol")
    alice.grant("carol", folder, READ)
    carol = Principal(sharing_server, "spiffe-a")
    assert carol.handle == "carol"
    assert carol.whoami().identity == CAROL_IDENTITY
    assert carol.read(alice.handle, folder + "welcome") == b"hello carol"


def test_registration_is_idempotent_and_conflicts_stop_start_up(storage):
    database = storage.database()
    first = storage.server(database_url=database, register_principal=f"carol={CAROL_IDENTITY}")
    first.stop()
    first.start()                                      # the same pair again: fine
    first.stop()
    clash = storage.server(database_url=database, register_principal="carol=CN=someone-else", start=False)
    with pytest.raises(AssertionError, match="already belongs to identity"):
        clash.start()
    other = storage.server(database_url=database, register_principal=f"carla={CAROL_IDENTITY}", start=False)
    with pytest.raises(AssertionError, match="already has handle 'carol'"):
        other.start()
    bad = storage.server(database_url=database, register_principal="Bad Handle=CN=x", start=False)
    with pytest.raises(AssertionError, match="HANDLE=IDENTITY"):
        bad.start()


def test_shared_changes_reach_the_grantee_feed_and_grants_are_events(storage):
    """Through the real SharingService: a grant and its revoke are changes both sides see;
    while the grant lasts, the grantee's watch carries the owner's covered changes (with the
    owner's and the writer's handles), and nothing outside the grant; after the revoke, nothing."""
    server = storage.server(label="sluiced-shared-feed")
    alice, bob = Principal(server, "client"), Principal(server, "client2")
    start = alice.c.list_objects(prefix="", page_size=1).change_cursor
    alice_feed = fs.Watcher(alice.c, cursor=start)
    bob_feed = fs.Watcher(bob.c, cursor=start)

    alice.grant(bob.handle, "team/", access=WRITE)
    for feed in (alice_feed, bob_feed):
        (added,) = feed.take(1)
        assert added.kind == fs.GRANT_ADDED
        assert (added.owner, added.grant.grantee, added.grant.path) == (alice.handle, bob.handle, "team/")
        assert added.grant.access == WRITE

    _put(alice, "team/plan", b"v1")
    _put(alice, "private/diary", b"not shared")
    bob.upload(alice.handle, "team/plan", b"v2 by bob")
    got = bob_feed.take(2)
    assert [(c.kind, c.owner, c.name, c.version, c.actor) for c in got] == [
        (fs.VERSION_CREATED, alice.handle, "team/plan", 1, alice.handle),
        (fs.VERSION_CREATED, alice.handle, "team/plan", 2, bob.handle),
    ]
    assert bob_feed.quiet(0.5) == []
    assert [c.name for c in alice_feed.take(3)] == ["team/plan", "private/diary", "team/plan"]

    alice.revoke(bob.handle, "team/")
    for feed in (alice_feed, bob_feed):
        (revoked,) = feed.take(1)
        assert (revoked.kind, revoked.grant.grantee, revoked.grant.path) == (fs.GRANT_REVOKED, bob.handle, "team/")
    _put(alice, "team/plan", b"v3")
    assert bob_feed.quiet(1.0) == []
    assert alice_feed.take(1)[0].version == 3
    alice_feed.cancel()
    bob_feed.cancel()
