"""Quotas, rate limits, usage and administration (issue 13), from the outside with
grpcio against sluiced and PostgreSQL.

One module server with no default limits and alice (certs/client) as its only
administrator (--admin); each test gives its own principal the overrides it needs
through AdminService, so tests do not share limits. Quotas and limits are sluiced's
metadata, whatever the blob store: disk only."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import grpc
import pytest

import quota_support as qs
import storage_support as ss
from quota_support import (QUOTA_BYTES, QUOTA_OBJECTS, QUOTA_SESSIONS, RATE_BYTES_IN, RATE_BYTES_OUT,
                           RATE_REQUESTS, Caller)
from storage_support import Code, KIB, expect_error
from sluice.v1 import upload_sessions_pb2 as us_pb
from sluice.v1 import usage_pb2 as use_pb

pytestmark = ss.only_blob_stores("disk")

NEEDED_CERTS = ["client", "client2", "spiffe-a", "spiffe-b", "shared-a", "shared-b", "nosubject-a", "nosubject-b"]


@pytest.fixture(scope="module", autouse=True)
def quota_certs(certs):
    ss.require_certs(certs, NEEDED_CERTS)


@pytest.fixture(scope="module")
def qserver(module_storage):
    return module_storage.server(label="sluiced-quotas", admin=qs.ALICE_IDENTITY)


@pytest.fixture
def alice(qserver) -> Caller:
    return Caller(qserver, "client")


def caller(qserver, who: str) -> Caller:
    c = Caller(qserver, who)
    _ = c.handle          # recorded (and its handle known) before an admin sets its limits
    return c


# --------------------------------------------------------------------------
# Quotas
# --------------------------------------------------------------------------

def test_quota_defaults_by_flag_refuse_with_numbers_and_touch_nothing(storage):
    srv = storage.server(label="sluiced-flag-quotas", quota_bytes=10_000, quota_objects=2, quota_sessions=2)
    c = srv.client("client")
    kept = ss.random_bytes(4000, seed=1)
    c.put_object("kept", kept, partition_size=1000)

    # bytes: 4000 stored + 7000 declared > 10000
    err = expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "big", ss.random_bytes(7000, seed=2), 1000)
    msg = err.details()
    assert "byte quota" in msg and "10000" in msg and "4000" in msg and "7000" in msg, msg
    assert qs.trailer(err, "sluice-exhausted") == "quota"
    raw = qs.raw_unary(srv, "client", "/sluice.v1.UploadSessionService/CreateSession", us_pb.CreateSessionRequest(
        object_name="big", total_size=7000, partition_size=7000, partition_sha256=[ss.sha(b"x" * 7000)]))
    assert raw.grpc_status == Code.RESOURCE_EXHAUSTED.value[0], (raw.grpc_status, raw.grpc_message)
    assert qs.raw_trailer(raw, qs.PUSHBACK) == "-1", "a quota refusal asks not to retry"

    # a session reserves its declared size until it ends
    s = c.create_session("second", ss.random_bytes(5000, seed=3), 1000)
    err = expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "third", b"x" * 2000, 1000)
    assert "usage 9000" in err.details(), err.details()
    c.abort(s.session_id)                                        # abort settles: the 5000 are free again
    second = ss.random_bytes(5000, seed=3)
    c.put_object("second", second, partition_size=1000)           # commit settles into a version

    # objects: "kept" and "second" exist, the quota is 2; a new version of an existing object fits
    err = expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "third", b"x", 1)
    assert "object quota" in err.details() and "limit 2" in err.details(), err.details()
    c.put_object("kept", b"v2", partition_size=1000)

    # sessions: two open at once
    open1 = c.create_session("kept", b"a", 1)
    open2 = c.create_session("second", b"b", 1)
    err = expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "kept", b"c", 1)
    assert "open-session quota" in err.details() and "limit 2" in err.details(), err.details()
    for s in (open1, open2):
        c.abort(s.session_id)

    # nothing stored was touched by the refusals
    ss.assert_same_bytes(c.read("kept", version=1), kept)
    ss.assert_same_bytes(c.read("second"), second)
    # the quota is per principal: another principal stores freely
    other = srv.client("client2")
    other.put_object("third", b"y" * 3000, partition_size=1000)


def test_a_grantee_refused_by_the_owners_quota_learns_nothing_of_the_owners_usage(qserver, alice):
    """A grantee writing into a shared folder is refused by the owner's quotas like the owner,
    but its refusal names neither the owner's usage nor its limit: those count the owner's
    private objects too, and a refusal that stores nothing could be asked again and again to
    follow every private upload and delete. The owner's own refusal keeps its numbers."""
    from sluice.v1 import sharing_pb2 as sh_pb
    jo, kim = caller(qserver, "shared-a"), caller(qserver, "shared-b")
    alice.limits(jo.handle, {QUOTA_BYTES: 10_000, QUOTA_OBJECTS: 3})
    try:
        folder = ss.unique_name("inbox") + "/"
        jo.sharing.GrantAccess(sh_pb.GrantAccessRequest(
            grantee=kim.handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path=folder, access=sh_pb.ACCESS_WRITE),
            timeout=ss.TIMEOUT)
        jo.c.put_object(ss.unique_name("private"), ss.random_bytes(4321, seed=41), partition_size=1000)
        jo.c.put_object(ss.unique_name("private"), ss.random_bytes(1234, seed=42), partition_size=1000)

        big = ss.random_bytes(6000, seed=43)
        err = expect_error(Code.RESOURCE_EXHAUSTED, kim.c.create_raw, object_name=folder + "big", total_size=len(big),
                           partition_size=1000, owner=jo.handle,
                           partition_sha256=[ss.sha(big[i:i + 1000]) for i in range(0, len(big), 1000)])
        msg = err.details()
        assert "byte quota" in msg and jo.handle in msg and "6000" in msg, msg
        for secret in ("5555", "10000", "usage", "limit"):
            assert secret not in msg, msg
        assert qs.trailer(err, "sluice-exhausted") == "quota"

        jo.c.put_object(ss.unique_name("private"), b"third", partition_size=1000)
        err = expect_error(Code.RESOURCE_EXHAUSTED, kim.c.create_raw, object_name=folder + "one", total_size=1,
                           partition_size=1, owner=jo.handle, partition_sha256=[ss.sha(b"1")])
        msg = err.details()
        assert "object quota" in msg and "limit" not in msg and "usage" not in msg and " 3 " not in msg, msg

        err = expect_error(Code.RESOURCE_EXHAUSTED, jo.c.create_session, folder + "big", big, 1000)
        assert "usage 5560" in err.details() and "limit 10000" in err.details(), err.details()
    finally:
        alice.limits(jo.handle, {}, clear=[QUOTA_BYTES, QUOTA_OBJECTS])


def test_a_commit_landing_past_its_sessions_expiry_leaves_no_create_passing_the_quota(storage, postgres):
    """A create counts an open session's reservation only until the session expires, and sees
    a version only once its commit lands. A commit that found its session unexpired just before
    the expiry and lands after it must not leave a create in between counting neither: here
    the commit is held at the object's row past the expiry, and the create (which counts the
    reservation a minute past the expiry) is refused, where it used to pass and leave the owner
    past its quota."""
    import datetime
    from row_locks import HeldObjectRow, wait_for_waiters
    srv = storage.server(label="sluiced-quota-expiry", quota_bytes=10_000, session_lifetime=3)
    c = srv.client("client")
    name = ss.unique_name("expiring")
    c.put_object(name, b"1", partition_size=1000)
    data = ss.random_bytes(9000, seed=51)
    session = c.create_session(name, data, 1000)
    c.upload_partitions(session.session_id, data, 1000)
    expires = c.get_session(session.session_id).expire_time.ToDatetime(tzinfo=datetime.timezone.utc)

    held = HeldObjectRow(postgres, srv.database_url, name)
    try:
        commit = c.sessions.CommitSession.future(
            us_pb.CommitSessionRequest(session_id=session.session_id), timeout=30)
        assert wait_for_waiters(postgres, srv.database_url, 1, 10), "the commit never waited for the row"
        late = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 0.5
        assert late > 0.5, "the commit was not held before the session's expiry: the test is too slow here"
        time.sleep(late)
        other = ss.random_bytes(2000, seed=52)
        err = expect_error(Code.RESOURCE_EXHAUSTED, c.sessions.CreateSession, us_pb.CreateSessionRequest(
            object_name=ss.unique_name("other"), total_size=len(other), partition_size=1000,
            partition_sha256=[ss.sha(other[:1000]), ss.sha(other[1000:])]), timeout=30)
        assert "usage 9001" in err.details(), err.details()
    finally:
        held.release()
    assert commit.result().object.version == 2


def test_concurrent_creates_cannot_pass_the_byte_quota(qserver, alice):
    bob = caller(qserver, "nosubject-a")
    alice.limits(bob.handle, {QUOTA_BYTES: 10_000, QUOTA_SESSIONS: 0, QUOTA_OBJECTS: 0})
    data = b"z" * 1000

    barrier = threading.Barrier(20)

    def create(i: int):
        barrier.wait(timeout=30)
        try:
            return bob.c.create_session(f"race/{i}", data, 1000).session_id
        except grpc.RpcError as e:
            assert e.code() == Code.RESOURCE_EXHAUSTED, (e.code(), e.details())
            assert "byte quota" in e.details(), e.details()
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(create, range(20)))
    made = [r for r in results if r]
    assert len(made) == 10, f"{len(made)} of 20 sessions of 1000 bytes fit a 10000-byte quota"
    usage = bob.usage()
    assert usage.reserved_bytes == 10_000 and usage.open_sessions == 10, usage
    for sid in made:
        bob.c.abort(sid)
    assert bob.usage().reserved_bytes == 0


def test_override_replaces_default_and_clear_restores_it(qserver, alice):
    carol = caller(qserver, "spiffe-a")
    record = alice.limits(carol.handle, {QUOTA_OBJECTS: 1})
    assert record.quotas.objects == 1 and record.quotas.bytes == 0, record
    carol.c.put_object("one", b"1", partition_size=1)
    err = expect_error(Code.RESOURCE_EXHAUSTED, carol.c.create_session, "two", b"2", 1)
    assert "object quota" in err.details(), err.details()
    # restore copies a version: it counts against the byte quota like any other
    alice.limits(carol.handle, {QUOTA_BYTES: 1})
    err = expect_error(Code.RESOURCE_EXHAUSTED, carol.c.restore, "one", 1)
    assert "byte quota" in err.details(), err.details()
    record = alice.limits(carol.handle, {}, clear=[QUOTA_OBJECTS, QUOTA_BYTES])
    assert list(record.overrides) == [] and record.quotas.objects == 0
    carol.c.put_object("two", b"2", partition_size=1)
    assert carol.c.restore("one", 1).version == 2


# --------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------

def test_request_rate_refused_with_pushback_and_never_slows_another(qserver, alice):
    dave = caller(qserver, "shared-a")
    erin = caller(qserver, "shared-b")
    alice.limits(dave.handle, {RATE_REQUESTS: 2})

    raw = qs.raw_connection(qserver, "shared-a")

    def raw_usage():
        return qs.raw_call(raw, "/sluice.v1.UsageService/GetUsage", use_pb.GetUsageRequest())

    try:
        # past the burst (one second: 2 calls), refusals carry the pushback trailer (read on a
        # raw connection: grpcio keeps grpc-* trailers to itself), and each refused caller is
        # sent one token (500 ms) later than the one before, so waiters do not all come back
        # at once
        # six calls sent at once (streams of one connection): they reach the admission
        # together, however slow the machine is at answering them
        sids = [raw.unary("/sluice.v1.UsageService/GetUsage", use_pb.GetUsageRequest().SerializeToString())
                for _ in range(6)]
        results = [raw.wait(sid, timeout=ss.TIMEOUT) for sid in sids]
        codes = [r.grpc_status for r in results]
        assert codes.count(0) in (2, 3) and set(codes) <= {0, Code.RESOURCE_EXHAUSTED.value[0]}, codes
        pushbacks = sorted(int(qs.raw_trailer(r, qs.PUSHBACK)) for r in results if r.grpc_status != 0)
        for r in results:
            if r.grpc_status != 0:
                assert "2 calls per second" in r.grpc_message, r.grpc_message
        assert 0 < pushbacks[0] <= 500, pushbacks
        gaps = [b - a for a, b in zip(pushbacks, pushbacks[1:])]
        assert all(400 <= g <= 600 for g in gaps), pushbacks
        err = expect_error(Code.RESOURCE_EXHAUSTED, dave.usage)
        assert "request rate limit exceeded: 2 calls per second" in err.details(), err.details()
        # another principal, meanwhile, is not limited at all
        for _ in range(10):
            erin.usage()
        # waiting the pushback is enough
        for _ in range(10):
            last = raw_usage()
            if last.grpc_status == Code.RESOURCE_EXHAUSTED.value[0]:
                break
        assert last.grpc_status == Code.RESOURCE_EXHAUSTED.value[0], "10 calls at 2 per second all passed"
        time.sleep(int(qs.raw_trailer(last, qs.PUSHBACK)) / 1000 + 0.05)
        assert raw_usage().grpc_status == 0
    finally:
        raw.close()
    alice.limits(dave.handle, {}, clear=[RATE_REQUESTS])


def test_byte_rates_pace_uploads_and_downloads(qserver, alice):
    frank = caller(qserver, "spiffe-b")
    alice.limits(frank.handle, {RATE_BYTES_IN: 256 * KIB, RATE_BYTES_OUT: 256 * KIB})
    data = ss.random_bytes(1024 * KIB, seed=7)
    other = caller(qserver, "client2")
    started = time.monotonic()
    done = threading.Event()
    others = []

    def meanwhile():
        while not done.is_set() and len(others) < 50:
            others.append(other.usage().handle)

    t = threading.Thread(target=meanwhile)
    t.start()
    try:
        frank.c.put_object("paced", data, partition_size=512 * KIB, parallel=2)
    finally:
        done.set()
        t.join(30)
    upload = time.monotonic() - started
    # one second of burst, then 256 KiB/s: 1 MiB cannot arrive in less than ~3 s
    assert upload >= 2.0, f"1 MiB at 256 KiB/s was uploaded in {upload:.2f} s"
    assert others, "another principal's calls went through while the upload was paced"
    started = time.monotonic()
    ss.assert_same_bytes(frank.c.read("paced"), data)
    download = time.monotonic() - started
    assert download >= 2.0, f"1 MiB at 256 KiB/s was downloaded in {download:.2f} s"
    alice.limits(frank.handle, {}, clear=[RATE_BYTES_IN, RATE_BYTES_OUT])


@pytest.mark.parametrize("direction", ["in", "out"])
def test_a_cleared_byte_rate_reaches_calls_in_progress(qserver, alice, direction):
    """A rate cleared while a paced call runs applies to it within seconds (the call admits
    its caller again every second while bytes move), not when the principal starts another
    call: 1 MiB at 8 KiB/s would take two minutes."""
    frank = caller(qserver, "spiffe-b")
    data = ss.random_bytes(1024 * KIB, seed=8)
    if direction == "out":
        frank.c.put_object("cleared/out", data, partition_size=1024 * KIB)
    limit = RATE_BYTES_IN if direction == "in" else RATE_BYTES_OUT
    alice.limits(frank.handle, {limit: 8 * KIB})
    result = {}

    def transfer():
        if direction == "in":
            frank.c.put_object("cleared/in", data, partition_size=1024 * KIB)
        else:
            result["read"] = frank.c.read("cleared/out")

    started = time.monotonic()
    t = threading.Thread(target=transfer)
    t.start()
    time.sleep(3)
    alice.limits(frank.handle, {}, clear=[limit])
    t.join(60)
    assert not t.is_alive(), "the transfer was still paced a minute after its rate was cleared"
    assert time.monotonic() - started < 30
    if direction == "out":
        ss.assert_same_bytes(result["read"], data)


# --------------------------------------------------------------------------
# Usage
# --------------------------------------------------------------------------

def put_sending_what_is_missing(client, name: str, data: bytes, partition_size: int):
    """An upload that sends only the partitions its new session does not list as stored, as
    the CLI does (a partition sent anyway is received, checked and counted as traffic)."""
    s = client.create_session(name, data, partition_size)
    held = set(s.stored_partitions)
    missing = [i for i in range(s.partition_count) if i not in held]
    client.upload_partitions(s.session_id, data, partition_size, indices=missing)
    return client.commit(s.session_id)


def test_usage_equals_what_was_stored(storage):
    srv = storage.server(label="sluiced-usage")
    u = Caller(srv, "client")
    a = ss.random_bytes(3000, seed=11)
    b = ss.random_bytes(2000, seed=12)
    put_sending_what_is_missing(u.c, "docs/a", a, 1000)
    put_sending_what_is_missing(u.c, "docs/a", a, 1000)        # a second version, the same bytes: deduplicated
    put_sending_what_is_missing(u.c, "docs/deep/b", b, 1000)
    put_sending_what_is_missing(u.c, "top", a[:1000], 1000)   # shares its one partition with docs/a
    open_session = u.c.create_session("pending", b"p" * 500, 500)
    ss.assert_same_bytes(u.c.read("docs/deep/b"), b)

    usage = u.usage(days=3)
    assert usage.handle == u.handle
    assert usage.logical_bytes == 3000 + 3000 + 2000 + 1000
    assert usage.physical_bytes == 3000 + 2000, "identical partitions are stored once"
    assert usage.objects == 3 and usage.versions == 4
    assert usage.open_sessions == 1 and usage.reserved_bytes == 500 and usage.grantee_open_sessions == 0
    assert [(p.prefix, p.logical_bytes, p.objects, p.versions) for p in usage.prefixes] == [
        ("docs/", 8000, 2, 3), ("top", 1000, 1, 1)]
    assert len(usage.traffic) == 3
    today = usage.traffic[-1]
    # Traffic counts the bytes sent: partitions the server already held when a session was
    # created (the second docs/a, top) are not sent again.
    assert 3000 + 2000 <= today.uploaded_bytes < 3000 + 3000 + 2000 + 1000, today
    assert today.downloaded_bytes >= 2000, today
    assert usage.quotas.sessions == 100, "the open-session quota defaults to --max-open-sessions"
    u.c.abort(open_session.session_id)
    expect_error(Code.INVALID_ARGUMENT, u.usage, 91)


# --------------------------------------------------------------------------
# Administration
# --------------------------------------------------------------------------

def test_admin_calls_are_refused_to_non_admins(qserver):
    bob = caller(qserver, "client2")
    calls = [
        lambda: bob.principals(),
        lambda: bob.limits(bob.handle, {QUOTA_BYTES: 1}),
        lambda: bob.usage_of(bob.handle),
        lambda: bob.disable(bob.handle),
        lambda: bob.register("mallory", "CN=mallory"),
        lambda: bob.abort_sessions(bob.handle),
    ]
    for call in calls:
        err = expect_error(Code.PERMISSION_DENIED, call)
        assert "not an administrator" in err.details(), err.details()
    assert bob.usage().quotas.bytes != 1, "a refused SetLimits changed nothing"


def test_admin_lists_registers_reads_usage_and_logs_who(qserver, alice):
    bob = caller(qserver, "client2")
    registered = alice.register("gina", "CN=gina")
    assert registered.handle == "gina" and registered.identity == "CN=gina" and not registered.disabled
    listed = {p.handle: p for p in alice.principals()}
    assert {"gina", bob.handle, alice.handle} <= set(listed), sorted(listed)
    assert listed[alice.handle].admin and not listed[bob.handle].admin
    assert alice.usage_of(bob.handle).handle == bob.handle
    expect_error(Code.NOT_FOUND, alice.usage_of, "nobody-has-this")
    err = expect_error(Code.INVALID_ARGUMENT, alice.limits, bob.handle, {QUOTA_BYTES: -1})
    assert "negative" in err.details()
    def logged():
        return [l for l in qserver.mp.output().splitlines() if "admin action" in l and "RegisterPrincipal" in l]

    deadline = time.monotonic() + 10
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = logged()
    assert lines and qs.ALICE_IDENTITY in lines[-1] and "gina" in lines[-1], lines


def test_disabled_principal_is_refused_and_keeps_its_data(qserver, alice):
    hank = caller(qserver, "nosubject-b")
    data = ss.random_bytes(3000, seed=21)
    name = ss.unique_name("keep")
    hank.c.put_object(name, data, partition_size=1000)
    record = alice.disable(hank.handle)
    assert record.disabled
    for call in (lambda: hank.c.read(name), hank.usage, lambda: hank.c.create_session("x", b"x", 1)):
        err = expect_error(Code.PERMISSION_DENIED, call)
        assert "disabled" in err.details(), err.details()
    # an administrator is never refused as disabled, so it can undo it
    assert alice.usage_of(hank.handle).objects >= 1
    assert not alice.disable(hank.handle, False).disabled
    ss.assert_same_bytes(hank.c.read(name), data)


def test_admin_aborts_a_principals_open_sessions_and_frees_what_they_held(module_storage):
    """AbortPrincipalSessions ends the sessions a principal opened and those a grantee opened
    into its folder: the quota they reserved is free at once, a partition or commit still
    arriving for them is refused, and committed objects and other principals' sessions stay."""
    from sluice.v1 import sharing_pb2 as sh_pb
    srv = module_storage.server(label="sluiced-abort-sessions", admin=qs.ALICE_IDENTITY)
    alice, jo, kim = Caller(srv, "client"), Caller(srv, "shared-a"), Caller(srv, "shared-b")
    folder = ss.unique_name("abort-all") + "/"
    jo.sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=kim.handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path=folder, access=sh_pb.ACCESS_WRITE),
        timeout=ss.TIMEOUT)
    kept = ss.random_bytes(2000, seed=31)
    jo.c.put_object(folder + "kept", kept, partition_size=1000)
    data = ss.random_bytes(4000, seed=32)
    own = jo.c.create_session(folder + "own", data, 1000)
    jo.c.upload_partition(own.session_id, 0, data[:1000])
    granted = kim.c.create_raw(
        object_name=folder + "granted", total_size=len(data), partition_size=1000, owner=jo.handle,
        partition_sha256=[ss.sha(data[i:i + 1000]) for i in range(0, len(data), 1000)])
    elsewhere = kim.c.create_session(ss.unique_name("kims-own"), data, 1000)
    assert alice.usage_of(jo.handle).open_sessions == 2

    assert alice.abort_sessions(jo.handle) == 2
    usage = alice.usage_of(jo.handle)
    assert usage.open_sessions == 0 and usage.reserved_bytes == 0, usage
    for call in (lambda: jo.c.upload_partition(own.session_id, 1, data[1000:2000]),
                 lambda: jo.c.commit(own.session_id),
                 lambda: kim.c.upload_partition(granted.session_id, 0, data[:1000])):
        expect_error(Code.FAILED_PRECONDITION, call)
    ss.assert_same_bytes(jo.c.read(folder + "kept"), kept)
    assert kim.c.get_session(elsewhere.session_id).state == us_pb.UploadSession.OPEN
    assert alice.abort_sessions(jo.handle) == 0, "nothing is open any more"
    expect_error(Code.NOT_FOUND, alice.abort_sessions, "nobody-has-this")
    kim.c.abort(elsewhere.session_id)


def test_a_disabled_principals_running_calls_end_and_its_watch_sees_nothing_new(qserver, alice):
    """Disabling reaches calls already running, not only new ones: the principal's watch of a
    folder shared with it ends PERMISSION_DENIED without delivering any change made after the
    disable, and its upload still streaming is refused before its end."""
    import feed_support as fs
    from sluice.v1 import sharing_pb2 as sh_pb
    from storage_support import obj_pb
    ivy = caller(qserver, "nosubject-b")
    folder = ss.unique_name("shared-disable") + "/"
    alice.sharing.GrantAccess(sh_pb.GrantAccessRequest(
        grantee=ivy.handle, scope=sh_pb.GRANT_SCOPE_PREFIX, path=folder, access=sh_pb.ACCESS_READ),
        timeout=ss.TIMEOUT)
    watcher = fs.Watcher(ivy.c, owner=alice.handle, prefix=folder)
    data = ss.random_bytes(100, seed=3)

    def put(name):
        alice.c.objects.PutObject(obj_pb.PutObjectRequest(name=name, data=data, sha256=ss.sha(data)),
                                  timeout=ss.TIMEOUT)

    put(folder + "before")
    assert [c.name for c in watcher.take(1)] == [folder + "before"]
    session = ivy.c.create_session(ss.unique_name("disable-upload"), b"u" * (64 * KIB), 64 * KIB)
    stop_sending = threading.Event()

    def slow_messages():
        yield us_pb.UploadPartitionRequest(target=us_pb.PartitionTarget(
            session_id=session.session_id, partition_index=0))
        for _ in range(64):
            if stop_sending.wait(0.25):
                return
            yield us_pb.UploadPartitionRequest(data=b"u" * KIB)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        upload = pool.submit(lambda: ivy.c.upload_messages(slow_messages(), timeout=60))
        time.sleep(1.5)
        try:
            assert alice.disable(ivy.handle).disabled
            put(folder + "after")
            refused = upload.exception(timeout=30)
        finally:
            stop_sending.set()
    assert isinstance(refused, grpc.RpcError) and refused.code() == Code.PERMISSION_DENIED, refused
    assert "disabled" in refused.details(), refused.details()
    assert watcher.quiet(4) == [], "the disabled principal's watch delivered a change made after the disable"
    deadline = time.monotonic() + 10
    while watcher.error is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert watcher.error is not None and watcher.error.code() == Code.PERMISSION_DENIED, watcher.error
    assert not alice.disable(ivy.handle, False).disabled


def test_a_disabled_principals_idle_watch_ends_within_seconds(qserver, alice):
    """A watch with nothing to send is ended PERMISSION_DENIED soon after its principal is
    disabled, not at its next heartbeat (30 s) or deadline: it admits its caller again once a
    second while it waits (it used to run on until its deadline)."""
    import feed_support as fs
    ivy = caller(qserver, "nosubject-b")
    watcher = fs.Watcher(ivy.c, prefix=ss.unique_name("idle-disable") + "/")
    deadline = time.monotonic() + 10
    while watcher.responses == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watcher.responses == 1 and watcher.error is None, "the watch did not begin"
    time.sleep(1.5)
    try:
        assert alice.disable(ivy.handle).disabled
        disabled_at = time.monotonic()
        while watcher.error is None and time.monotonic() < disabled_at + 10:
            time.sleep(0.05)
        waited = time.monotonic() - disabled_at
    finally:
        assert not alice.disable(ivy.handle, False).disabled
    assert watcher.error is not None and watcher.error.code() == Code.PERMISSION_DENIED, watcher.error
    assert "disabled" in watcher.error.details(), watcher.error.details()
    assert waited < 3.5, f"the idle watch ended {waited:.1f} s after the disable"


def test_every_idle_watch_of_a_disabled_principal_ends_while_anothers_goes_on(qserver, alice):
    """Once a second one idle watch of each principal admits it again for all of the principal's
    watches; refused, it ends them all at once (not one a second), and another principal's
    watch goes on."""
    import feed_support as fs
    ivy = caller(qserver, "nosubject-b")
    prefix = ss.unique_name("idle-disable-many") + "/"
    watchers = [fs.Watcher(ivy.c, prefix=prefix) for _ in range(20)]
    other = fs.Watcher(alice.c, prefix=prefix)
    deadline = time.monotonic() + 10
    while any(w.responses == 0 for w in watchers + [other]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(w.responses == 1 and w.error is None for w in watchers + [other]), "the watches did not begin"
    time.sleep(1.5)
    try:
        assert alice.disable(ivy.handle).disabled
        disabled_at = time.monotonic()
        while any(w.error is None for w in watchers) and time.monotonic() < disabled_at + 10:
            time.sleep(0.05)
        waited = time.monotonic() - disabled_at
    finally:
        assert not alice.disable(ivy.handle, False).disabled
    codes = [w.error.code() if w.error else None for w in watchers]
    assert codes == [Code.PERMISSION_DENIED] * len(watchers), codes
    assert waited < 3.5, f"the last idle watch ended {waited:.1f} s after the disable"
    assert other.error is None, other.error
    alice.c.put_object(prefix + "after", b"a")
    assert [c.name for c in other.take(1)] == [prefix + "after"]
    other.call.cancel()


def test_health_and_reflection_list_the_new_services(qserver, alice):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2

    method = alice.c.channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    [resp] = list(method(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=ss.TIMEOUT))
    names = {s.name for s in resp.list_services_response.service}
    assert {"sluice.v1.UsageService", "sluice.v1.AdminService"} <= names, sorted(names)
    health = health_pb2_grpc.HealthStub(alice.c.channel)
    for service in ("sluice.v1.UsageService", "sluice.v1.AdminService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=ss.TIMEOUT).status
        assert status == health_pb2.HealthCheckResponse.SERVING, service
