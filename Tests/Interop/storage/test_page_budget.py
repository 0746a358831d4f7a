"""Listing answers are bounded in bytes as well as in items, from a stock grpcio client (4 MiB
receive limit): a page of ListObjects, ListObjectVersions or ListSessions ends before its items
encode to more than 1 MiB (PageBudget.maxBytes) and says so with next_page_token, and walking
the tokens visits every item exactly once, in order. ListSessions leaves the partition hashes out
(GetSession has them). ListPrincipals pages are bounded alike (an identity has no fixed
length). GetUsage lists at most 500 top-level prefixes (the largest) and sums the
rest in omitted_prefixes."""

from __future__ import annotations

import hashlib

import quota_support as qs
import storage_support as ss
from quota_support import Caller
from sluice.v1 import admin_pb2 as adm_pb
from sluice.v1 import objects_pb2 as obj_pb

PAGE_BUDGET = 1 << 20              # PageBudget.maxBytes: encoded items per page
ENVELOPE = 8 * 1024                # next_page_token, change_cursor, tags: far less than this
MAX_PREFIXES = 500                 # UsageLedger.maxPrefixes


def huge_metadata(seed: int) -> dict[str, str]:
    """The most user metadata an item may carry: 64 entries, 128-byte keys, 1024-byte values."""
    return {f"{seed:04d}-{i:02d}".ljust(128, "k"): chr(ord("a") + (seed + i) % 26) * 1024 for i in range(64)}


def put(c: ss.StorageClient, name: str, data: bytes, metadata: dict[str, str]):
    return c.objects.PutObject(obj_pb.PutObjectRequest(
        name=name, data=data, sha256=hashlib.sha256(data).digest(), user_metadata=metadata), timeout=ss.TIMEOUT)


def assert_within_budget(page, items: int):
    assert page.ByteSize() <= PAGE_BUDGET + ENVELOPE, (page.ByteSize(), items)
    assert items >= 1, "a page always holds at least one item"


def test_object_pages_with_the_most_metadata_stay_within_the_budget(storage):
    srv = storage.server(label="sluiced-page-budget")
    c = srv.client()
    names = [f"meta/{i:03d}" for i in range(40)]          # about 74 KB each encoded: 3 MB in all
    for i, name in enumerate(names):
        put(c, name, b"x%d" % i, huge_metadata(i))
    put(c, "meta/sub/rolled", b"r", huge_metadata(99))    # rolled up under a delimiter

    seen, pages, token = [], 0, ""
    while True:
        page = c.list_objects("meta/", "", 1000, token)
        pages += 1
        assert_within_budget(page, len(page.objects))
        assert all(len(o.user_metadata) == 64 for o in page.objects)
        seen += [o.name for o in page.objects]
        token = page.next_page_token
        if not token:
            break
        assert len(page.objects) < 1000, "the page ended early because of its bytes"
    assert seen == sorted(names + ["meta/sub/rolled"]), "every object once, in name order"
    assert pages >= 3, pages

    # With a delimiter, the rolled-up name costs only its prefix.
    objects, prefixes = c.list_all("meta/", "/", page_size=1000)
    assert [o.name for o in objects] == names and prefixes == ["meta/sub/"]

    # The default page size (100) answers a stock client too.
    first = c.list_objects("meta/")
    assert_within_budget(first, len(first.objects))
    assert first.next_page_token


def test_version_pages_with_the_most_metadata_stay_within_the_budget(storage):
    srv = storage.server(label="sluiced-page-budget-versions")
    c = srv.client()
    for i in range(30):
        put(c, "versions/one", b"v%d" % i, huge_metadata(i))
    seen, token = [], ""
    while True:
        page = c.list_versions("versions/one", page_size=1000, page_token=token)
        assert_within_budget(page, len(page.versions))
        seen += [v.version for v in page.versions]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(range(30, 0, -1)), "every version once, newest first"


def test_session_pages_leave_out_partition_hashes_and_stay_within_the_budget(storage):
    srv = storage.server(label="sluiced-page-budget-sessions")
    c = srv.client()
    count = 10_000
    hashes = [hashlib.sha256(b"%d" % i).digest() for i in range(count)]
    made = []
    for i in range(16):
        made.append(c.create_raw(
            object_name=f"sessions/{i}", total_size=count, partition_size=1, partition_sha256=hashes,
            user_metadata=huge_metadata(i)).session_id)
    # Stored partitions are listed: send some into one session.
    c.upload_partition(made[0], 0, b"0")

    listed, pages, token = [], 0, ""
    while True:
        page = c.list_sessions(page_size=1000, page_token=token)
        pages += 1
        assert_within_budget(page, len(page.sessions))
        for s in page.sessions:
            assert list(s.partition_sha256) == [], "ListSessions leaves the partition hashes out"
            assert s.partition_count == count
        listed += [s.session_id for s in page.sessions]
        token = page.next_page_token
        if not token:
            break
    assert listed == made[::-1], "every session once, newest first"
    assert pages >= 2, "16 sessions of 74 KB of metadata do not fit one 1 MiB page"
    stored = next(s for s in c.all_sessions() if s.session_id == made[0])
    assert list(stored.stored_partitions) == [0]
    full = c.get_session(made[0])
    assert list(full.partition_sha256) == hashes, "GetSession still has them"
    for session_id in made:
        c.abort(session_id)


def test_usage_lists_the_largest_prefixes_and_sums_the_rest(storage):
    srv = storage.server(label="sluiced-usage-prefixes")
    u = Caller(srv, "client")
    small = MAX_PREFIXES + 20
    for i in range(small):
        put(u.c, f"n{i:04d}-" + "p" * 900, b"s", {})          # long top-level names of 1 byte
    for i in range(5):
        put(u.c, f"big{i}/object", b"B" * 100, {})           # the largest prefixes

    usage = u.usage()
    assert usage.ByteSize() < PAGE_BUDGET, usage.ByteSize()
    assert len(usage.prefixes) == MAX_PREFIXES
    listed = [p.prefix for p in usage.prefixes]
    assert listed == sorted(listed), "still in name order"
    assert [f"big{i}/" for i in range(5)] == [p for p in listed if p.startswith("big")]
    assert usage.omitted_prefix_count == small + 5 - MAX_PREFIXES
    rest = usage.omitted_prefixes
    assert rest.prefix == ""
    assert (sum(p.logical_bytes for p in usage.prefixes) + rest.logical_bytes,
            sum(p.objects for p in usage.prefixes) + rest.objects,
            sum(p.versions for p in usage.prefixes) + rest.versions) == (
        usage.logical_bytes, usage.objects, usage.versions)
    assert (rest.logical_bytes, rest.objects, rest.versions) == (25, 25, 25)


def test_principal_pages_with_long_identities_stay_within_the_budget(storage):
    srv = storage.server(label="sluiced-page-budget-principals", admin=qs.ALICE_IDENTITY)
    alice = Caller(srv, "client")
    handles = [f"long-{i:02d}" for i in range(40)]           # 64 KB identities: 2.6 MB in all
    for handle in handles:
        alice.register(handle, f"CN={handle};URI=" + "u" * (64 * 1024))
    listed, token = [], ""
    while True:
        page = alice.admin.ListPrincipals(adm_pb.ListPrincipalsRequest(page_size=1000, page_token=token),
                                          timeout=ss.TIMEOUT)
        assert_within_budget(page, len(page.principals))
        listed += [p.handle for p in page.principals]
        token = page.next_page_token
        if not token:
            break
    assert [h for h in listed if h.startswith("long-")] == handles, "every principal once, in handle order"
    assert len(listed) == len(set(listed))
