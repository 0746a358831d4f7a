"""The change feed (sluice.v1.ChangeService) from the outside: events for commit,
restore and delete arrive with cursors; resuming from a cursor misses nothing and repeats
nothing, across a watcher's restart, a sluiced SIGKILL and several sluiced instances on
one database; concurrent commits make a gapless, commit-ordered feed; retention; the
listing's change_cursor; visibility. Every result is compared with the database's own
record of the log (the changes table, read with psql)."""

from __future__ import annotations

import concurrent.futures
import time

import grpc
import pytest

import storage_support as ss
import feed_support as fs
from sluice.v1 import changes_pb2 as ch_pb

pytestmark = ss.only_blob_stores("disk")   # the feed lives in PostgreSQL, whatever the store
Code = grpc.StatusCode


def listing_cursor(client) -> str:
    return client.list_objects(prefix="", page_size=1).change_cursor


def test_commit_restore_delete_arrive_in_order_with_cursors(storage, postgres):
    server = storage.server()
    client = server.client()
    start = listing_cursor(client)
    assert fs.position(start) >= 0
    watcher = fs.Watcher(client, cursor=start)
    data = ss.random_bytes(3000, seed=1)
    # In order (parallel=1): the commit knows the whole-object SHA-256, so its change carries
    # it (after an out-of-order upload the change is recorded before the hash is known: its
    # sha256 is empty; test_commit_composite covers that).
    info = client.put_object("feed/a.txt", data, partition_size=1024, parallel=1)
    client.put_object("feed/a.txt", b"second", partition_size=1024)
    client.restore("feed/a.txt", info.version)
    client.delete_object("feed/a.txt")
    got = watcher.take(4)
    assert [c.kind for c in got] == [fs.VERSION_CREATED, fs.VERSION_CREATED, fs.VERSION_CREATED,
                                     fs.OBJECT_DELETED]
    assert [c.version for c in got] == [1, 2, 3, 0]
    assert got[0].size == len(data) and got[0].sha256 == ss.sha(data)
    assert got[2].size == len(data) and got[2].sha256 == ss.sha(data)   # the restored bytes
    assert all(c.name == "feed/a.txt" and c.commit_time.seconds > 0 for c in got)
    positions = [fs.position(c.cursor) for c in got]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert fs.as_rows(got) == fs.logged(postgres, server, fs.position(start))
    assert watcher.quiet(0.5) == []
    watcher.cancel()


def test_empty_cursor_watches_from_now(storage, postgres):
    """An empty cursor starts at the head, and the first response (no changes) says where
    that is, so the client holds a cursor before the first change."""
    server = storage.server()
    client = server.client()
    client.put_object("before", b"x")
    watcher = fs.Watcher(client)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and watcher.responses == 0:
        time.sleep(0.05)
    assert watcher.responses == 1 and watcher.events.empty()
    head = postgres.run("SELECT last_position FROM change_log_state", url=server.database_url).strip()
    assert watcher.cursor == f"c1.{head}"
    client.put_object("after", b"y")
    assert [c.name for c in watcher.take(1)] == ["after"]
    watcher.cancel()


def test_watcher_on_one_instance_sees_a_commit_through_another(storage, postgres):
    first = storage.server()
    second = storage.server(database_url=first.database_url, blobs=first.blobs)
    writer, reader = first.client(), second.client()
    start = listing_cursor(reader)
    watcher = fs.Watcher(reader, cursor=start)
    writer.put_object("shared/x", b"hello")
    writer.delete_object("shared/x")
    got = watcher.take(2)
    assert [c.kind for c in got] == [fs.VERSION_CREATED, fs.OBJECT_DELETED]
    assert fs.as_rows(got) == fs.logged(postgres, first, fs.position(start))
    watcher.cancel()


def test_restarted_watcher_resumes_exactly_after_its_cursor(storage, postgres):
    server = storage.server()
    client = server.client()
    start = listing_cursor(client)
    watcher = fs.Watcher(client, cursor=start)
    for i in range(5):
        client.put_object(f"r/{i}", b"a" * i)
    seen = watcher.take(5)
    watcher.cancel()
    for i in range(5, 12):
        client.put_object(f"r/{i}", b"b" * i)
    resumed = fs.Watcher(client, cursor=seen[-1].cursor)
    rest = resumed.take(7)
    assert resumed.quiet(0.5) == []
    resumed.cancel()
    assert fs.as_rows(seen + rest) == fs.logged(postgres, server, fs.position(start))


def test_watcher_across_a_sluiced_sigkill_misses_nothing_and_repeats_nothing(storage, postgres):
    watched = storage.server()
    other = storage.server(database_url=watched.database_url, blobs=watched.blobs)
    start = listing_cursor(watched.client())
    watcher = fs.Watcher(watched.client(), cursor=start)
    writer = other.client()
    for i in range(4):
        writer.put_object(f"k/{i}", b"z")
    seen = watcher.take(4)
    watched.kill()                      # no drain: the stream just breaks
    for i in range(4, 10):
        writer.put_object(f"k/{i}", b"z")
    watched.start()
    resumed = fs.Watcher(watched.client(), cursor=watcher.cursor)
    rest = resumed.take(6)
    assert resumed.quiet(0.5) == []
    resumed.cancel()
    assert fs.as_rows(seen + rest) == fs.logged(postgres, watched, fs.position(start))


def test_concurrent_committers_make_a_gapless_commit_ordered_feed(storage, postgres):
    """The 41/42 trap: with positions taken before commit, a reader racing many committers
    would skip a change that commits late. Many threads commit while a watcher reads; the
    watcher must see every change, once, with consecutive positions."""
    first = storage.server()
    second = storage.server(database_url=first.database_url, blobs=first.blobs)
    start = listing_cursor(first.client())
    watcher = fs.Watcher(first.client(), cursor=start)
    clients = [first.client(), second.client()]
    threads, per_thread = 8, 8

    def commit_many(t: int) -> None:
        c = clients[t % 2]
        for i in range(per_thread):
            c.put_object(f"c/{t}/{i}", bytes([t, i]), parallel=1)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(commit_many, range(threads)))
    got = watcher.take(threads * per_thread, timeout=60)
    assert watcher.quiet(0.5) == []
    watcher.cancel()
    positions = [fs.position(c.cursor) for c in got]
    base = fs.position(start)
    assert positions == list(range(base + 1, base + 1 + threads * per_thread))
    assert fs.as_rows(got) == fs.logged(postgres, first, base)
    assert sorted(c.name for c in got) == sorted(f"c/{t}/{i}" for t in range(threads) for i in range(per_thread))


def test_list_changes_pages_and_catches_up(storage, postgres):
    server = storage.server()
    client = server.client()
    for i in range(5):
        client.put_object(f"p/{i}", b"q")
    stub = fs.changes_stub(client)
    page = stub.ListChanges(ch_pb.ListChangesRequest(page_size=2), timeout=30)
    assert [c.name for c in page.changes] == ["p/0", "p/1"] and not page.caught_up
    names = [c.name for c in page.changes]
    for _ in range(10):
        page = stub.ListChanges(ch_pb.ListChangesRequest(cursor=page.next_cursor, page_size=2), timeout=30)
        names += [c.name for c in page.changes]
        if page.caught_up:
            break
    assert names == [f"p/{i}" for i in range(5)] and page.caught_up
    again = stub.ListChanges(ch_pb.ListChangesRequest(cursor=page.next_cursor), timeout=30)
    assert list(again.changes) == [] and again.caught_up and again.next_cursor == page.next_cursor


@pytest.mark.parametrize("cursor", ["garbage", "c1.", "c1.-1", "c1.01", "c2.5", "c1.99999999999999999999", " c1.1"])
def test_malformed_cursor_is_invalid_argument(storage, cursor):
    server = storage.server()
    stub = fs.changes_stub(server.client())
    err = ss.expect_error(Code.INVALID_ARGUMENT, stub.ListChanges, ch_pb.ListChangesRequest(cursor=cursor), timeout=30)
    assert "cursor" in err.details()
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.WatchChanges(ch_pb.WatchChangesRequest(cursor=cursor), timeout=30))
    assert raised.value.code() == Code.INVALID_ARGUMENT


def test_page_size_out_of_range_is_invalid_argument(storage):
    stub = fs.changes_stub(storage.server().client())
    ss.expect_error(Code.INVALID_ARGUMENT, stub.ListChanges, ch_pb.ListChangesRequest(page_size=1001), timeout=30)


def test_cursor_older_than_retention_is_out_of_range(storage, postgres):
    server = storage.server(change_retention=1, collector_interval=1)
    client = server.client()
    client.put_object("old", b"1")
    client.put_object("old", b"2")
    stub = fs.changes_stub(client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if postgres.run("SELECT pruned_through FROM change_log_state", url=server.database_url).strip() != "0":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the collector did not prune the change log within 30 s")
    err = ss.expect_error(Code.OUT_OF_RANGE, stub.ListChanges, ch_pb.ListChangesRequest(cursor="c1.0"), timeout=30)
    assert "resynchronise" in err.details() and "change_cursor" in err.details()
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.WatchChanges(ch_pb.WatchChangesRequest(cursor="c1.0"), timeout=30))
    assert raised.value.code() == Code.OUT_OF_RANGE
    # A cursor from the listing still resumes.
    fresh = listing_cursor(client)
    page = stub.ListChanges(ch_pb.ListChangesRequest(cursor=fresh), timeout=30)
    assert page.caught_up


def test_listing_cursor_resumes_after_exactly_what_the_listing_shows(storage):
    server = storage.server()
    client = server.client()
    client.put_object("l/a", b"1")
    listing = client.list_objects(prefix="l/")
    assert [o.name for o in listing.objects] == ["l/a"]
    client.put_object("l/b", b"2")
    page = fs.changes_stub(client).ListChanges(ch_pb.ListChangesRequest(cursor=listing.change_cursor), timeout=30)
    assert [(c.name, c.kind) for c in page.changes] == [("l/b", fs.VERSION_CREATED)]


def test_concurrent_commits_never_slip_between_listing_and_cursor(storage):
    """Lists while others commit: every object is either in the listing or in the changes
    after its cursor, never in both (repeated) and never in neither (missed)."""
    server = storage.server()
    writer, reader = server.client(), server.client()
    stub = fs.changes_stub(reader)
    names = [f"s/{i:03d}" for i in range(40)]
    snapshots = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = pool.submit(lambda: [writer.put_object(n, b"v", parallel=1) for n in names])
        while not done.done():
            page = reader.list_objects(prefix="s/", page_size=1000)
            snapshots.append(([o.name for o in page.objects], page.change_cursor))
        done.result()
    assert snapshots
    for listed, cursor in snapshots:
        after = stub.ListChanges(ch_pb.ListChangesRequest(cursor=cursor, prefix="s/", page_size=1000), timeout=30)
        later = [c.name for c in after.changes]
        assert sorted(listed + later) == names, (listed, later)


def _principal_id(postgres, server, like: str) -> int:
    return int(postgres.run(f"SELECT id FROM principals WHERE name LIKE '{like}' ORDER BY id LIMIT 1",
                            url=server.database_url).strip())


def test_others_changes_are_invisible_unless_granted(storage, postgres):
    server = storage.server()
    alice, bob = server.client("client"), server.client("client2")
    bob_start = listing_cursor(bob)
    alice.put_object("docs/secret", b"1")
    page = fs.changes_stub(bob).ListChanges(ch_pb.ListChangesRequest(cursor=bob_start), timeout=30)
    assert list(page.changes) == [] and page.caught_up      # skipped, cursor moved past it
    assert fs.position(page.next_cursor) > fs.position(bob_start)
    names = postgres.run("SELECT id, name FROM principals ORDER BY id", url=server.database_url)
    ids = {line.split("|", 1)[1]: int(line.split("|")[0]) for line in names.splitlines()}
    alice_id = next(i for n, i in ids.items() if "client2" not in n and "client" in n)
    bob_id = next(i for n, i in ids.items() if "client2" in n)
    # The sharing API lands separately; a grant row is what it will write.
    postgres.run(f"INSERT INTO grants (owner_id, grantee_id, scope, path, access) "
                 f"VALUES ({alice_id}, {bob_id}, 'prefix', 'docs/', 'read')", url=server.database_url)
    watcher = fs.Watcher(bob, cursor=page.next_cursor)
    alice.put_object("docsx", b"not covered")
    alice.put_object("docs/a/b", b"covered")
    alice.put_object("other", b"not covered")
    alice.delete_object("docs/a/b")
    got = watcher.take(2)
    assert [(c.name, c.kind) for c in got] == [("docs/a/b", fs.VERSION_CREATED), ("docs/a/b", fs.OBJECT_DELETED)]
    assert watcher.quiet(0.5) == []
    watcher.cancel()
    # The owner filter: an unknown handle shows nothing (existence never leaks).
    page = fs.changes_stub(bob).ListChanges(ch_pb.ListChangesRequest(cursor=bob_start, owner="nobody"), timeout=30)
    assert list(page.changes) == []


def test_an_idle_watcher_outlives_the_stream_stall_timeout(storage):
    """Nothing to send is not a stall: a watcher with no changes for longer than
    --stream-stall-timeout is not reset, and still gets the next change."""
    server = storage.server(stream_stall_timeout=2)
    client = server.client()
    watcher = fs.Watcher(client, cursor=listing_cursor(client))
    time.sleep(5)
    assert watcher.error is None, watcher.error
    client.put_object("late", b"l")
    assert [c.name for c in watcher.take(1)] == ["late"]
    watcher.cancel()


def test_the_listener_reconnects_and_watchers_miss_nothing(storage, postgres):
    """The LISTEN connection is cut (pg_terminate_backend): sluiced reconnects and wakes
    its watchers, which re-read from their cursors."""
    server = storage.server()
    client = server.client()
    watcher = fs.Watcher(client, cursor=listing_cursor(client))
    client.put_object("before-cut", b"1")
    assert [c.name for c in watcher.take(1)] == ["before-cut"]
    database = server.database_url.split("?")[0].rsplit("/", 1)[1]
    killed = postgres.run(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE application_name = 'sluiced-change-listener' AND datname = '{database}'").strip()
    assert killed == "1"
    client.put_object("after-cut", b"2")
    assert [c.name for c in watcher.take(1)] == ["after-cut"]
    watcher.cancel()


def test_heartbeats_move_the_cursor_past_invisible_changes(storage, postgres):
    server = storage.server()
    alice, bob = server.client("client"), server.client("client2")
    start = listing_cursor(bob)
    watcher = fs.Watcher(bob, cursor=start)
    alice.list_objects(page_size=1)
    owner = int(postgres.run("SELECT id FROM principals WHERE name NOT LIKE '%client2%' ORDER BY id LIMIT 1",
                             url=server.database_url))
    bulk = 2500
    postgres.run(f"""
        WITH n AS (UPDATE change_log_state SET last_position = last_position + {bulk} RETURNING last_position)
        INSERT INTO changes (position, kind, owner_id, name, actor_id, version, size, sha256, committed_at)
        SELECT n.last_position - {bulk} + g, 'version_created', {owner}, 'hidden/' || g, {owner}, 1, 0,
            '\\x00'::bytea, now() FROM n, generate_series(1, {bulk}) g;
        SELECT pg_notify('sluice_changes', 'bulk');
        """, url=server.database_url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and fs.position(watcher.cursor) < fs.position(start) + 2000:
        time.sleep(0.1)
    assert fs.position(watcher.cursor) >= fs.position(start) + 2000, watcher.cursor
    assert watcher.events.empty()
    watcher.cancel()


def test_shutdown_ends_watchers_instead_of_waiting_for_them(storage):
    """A watcher never finishes by itself: on SIGTERM sluiced ends it with UNAVAILABLE
    (naming the cursor to watch again from) and drains without waiting out the timeout."""
    server = storage.server(drain_timeout=120)
    client = server.client()
    watcher = fs.Watcher(client, cursor=listing_cursor(client))
    client.put_object("x", b"1")
    watcher.take(1)
    assert server.mp.stop(grace=60) == 0
    watcher.thread.join(10)
    assert watcher.error is not None and watcher.error.code() == Code.UNAVAILABLE, watcher.error
    assert "watch again from cursor c1." in watcher.error.details()
