"""`sluice sync --watch` rounds look only at what changed: the paths inotify names on the
device where a file changed, the paths the change feed names on the others (each round's
summary counts the local files it `scanned`). Trees still converge through creations,
deletions, emptied and filled directories and a renamed folder."""

from __future__ import annotations

import os
import shutil
import time

import pytest

import cli_support as cs
import interop_support as sup
import sync_support as sy

CONVERGE = 40.0          # seconds a watched change may take to reach every device (bounded)
FILES = 60


@pytest.fixture
def watchers(cli):
    started = []

    def start(local, prefix, device):
        proc = cli.start("sync", local, prefix, "--watch", "--json", "--device", device)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.close()


def summaries_after(proc, mark: int) -> list[dict]:
    return [e for e in proc.events[mark:] if e.get("event") == "summary"]


def test_a_watch_round_looks_only_at_the_changed_paths(cli, tmp_path, watchers):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-scope") + "/"
    for i in range(FILES):
        sy.write(a, f"d{i % 6}/f{i}.txt", f"file {i}".encode())
    os.makedirs(os.path.join(a, "empty"))
    wa, wb = watchers(a, prefix, "A"), watchers(b, prefix, "B")
    sy.wait_same([a, b], CONVERGE, "the first full passes", extra=lambda t: "empty/" in t)
    first = summaries_after(wa, 0)[0]
    assert first["scanned"] >= FILES, first                     # the first pass is a full one

    mark_a, mark_b = len(wa.events), len(wb.events)
    sy.write(a, "d1/f1.txt", b"edited on A")
    sy.wait_same([a, b], CONVERGE, "one edit", extra=lambda t: t["d1/f1.txt"] == cs_sha(b"edited on A"))
    up = wa.wait_for(lambda ev: next((e for e in summaries_after(wa, mark_a) if e["uploaded"] == 1), None),
                     CONVERGE, "the round that sent the edit")
    # One listing and one PutObject (the file grew: no session cut in the stored size).
    assert up["scanned"] <= 2 and up["calls"] == 2, str(wa.events[mark_a:])
    down = wb.wait_for(lambda ev: next((e for e in summaries_after(wb, mark_b) if e["downloaded"] == 1), None),
                       CONVERGE, "the round that fetched the edit")
    assert down["scanned"] <= 2 and down["calls"] == 2, str(wb.events[mark_b:])

    # Structure changes through scoped rounds: a new nested folder, a new empty one, the
    # empty one filled, a folder deleted, a folder renamed.
    sy.write(a, "new/deeper/x.txt", b"new and nested")
    os.makedirs(os.path.join(a, "fresh-empty"))
    sy.write(a, "empty/now-full.txt", b"filled")
    shutil.rmtree(os.path.join(a, "d2"))
    os.rename(os.path.join(a, "d3"), os.path.join(a, "d3-renamed"))
    tree = sy.wait_same([a, b], CONVERGE, "the structure changes",
                        extra=lambda t: "new/deeper/x.txt" in t and "fresh-empty/" in t and "d2/" not in t
                        and "d3-renamed/f3.txt" in t and "d3/" not in t and "empty/now-full.txt" in t)
    assert len([k for k in tree if not k.endswith("/")]) == FILES - 10 + 2, sorted(tree)

    # And back: emptied on B, the folder stays (as a marker) on A.
    os.remove(os.path.join(b, "empty/now-full.txt"))
    sy.wait_same([a, b], CONVERGE, "a folder emptied on B",
                 extra=lambda t: "empty/now-full.txt" not in t and "empty/" in t)
    # The marker goes up once B's deletion has (deletions wait for a quiet spell).
    def listing_with_the_marker():
        listed = cli.ok("ls", "-r", prefix).out.split()
        return listed if prefix + "empty/.sluice-dir" in listed else None

    listed = sup.wait_until(listing_with_the_marker, CONVERGE, interval=0.5, what="the emptied folder's marker")
    assert prefix + "empty/.sluice-dir" in listed and prefix + "fresh-empty/.sluice-dir" in listed, listed
    assert wa.alive() and wb.alive()


def test_a_directory_emptied_while_watched_does_not_empty_the_remote(cli, tmp_path, watchers):
    # Every file removed at once (a mistaken `rm`, a disk going away) reaches the watch as
    # events for those paths only. The round looks at everything before deleting so many,
    # finds the directory empty, and stops as a full pass does: nothing deleted remotely.
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-watch-emptied") + "/"
    names = [f"f{i}.txt" for i in range(6)]
    for n in names:
        sy.write(a, n, n.encode())
    wa = watchers(a, prefix, "A")
    wa.wait_for(lambda ev: next((e for e in summaries_after(wa, 0) if e["uploaded"] == len(names)), None),
                CONVERGE, "the first pass")
    for n in names:
        os.remove(os.path.join(a, n))
    assert wa.wait(CONVERGE) == cs.EXIT_USAGE, wa.explain()
    assert "--allow-delete-all" in wa.stderr() and "Nothing was deleted" in wa.stderr(), wa.explain()
    assert sorted(cli.ok("ls", prefix).out.split()) == sorted(prefix + n for n in names)


def _watched_after_a_sync(cli, tmp_path, watchers, label: str, count: int):
    """`count` files in tmp_path/a synced once under a fresh prefix, then watched (its first
    pass done): (the folder, the prefix, the file names, the watch)."""
    a = str(tmp_path / "a")
    prefix = cs.unique(label) + "/"
    names = [f"f{i:02}.txt" for i in range(count)]
    for n in names:
        sy.write(a, n, n.encode())
    cli.ok("sync", a, prefix, "--device", "A")
    wa = watchers(a, prefix, "A")
    wa.wait_for(lambda ev: summaries_after(wa, 0), CONVERGE, "the first pass")
    return a, prefix, names, wa


def test_a_side_emptied_over_several_seconds_while_watched_is_judged_whole(cli, tmp_path, watchers):
    # The local directory emptied a few files at a time, then the remote prefix removed for
    # good one `sluice rm` at a time: deletions wait for both sides to be still, so the watch
    # sees each side emptied whole and stops, instead of carrying the deletions out round by
    # round until the other side is empty too.
    b = str(tmp_path / "b")
    a, prefix, names, wa = _watched_after_a_sync(cli, tmp_path, watchers, "sync-watch-slowly", 12)
    for i in range(0, len(names), 3):
        for n in names[i:i + 3]:
            os.remove(os.path.join(a, n))
        time.sleep(0.5)
    assert wa.wait(CONVERGE) == cs.EXIT_USAGE, wa.explain()
    assert sorted(cli.ok("ls", prefix).out.split()) == sorted(prefix + n for n in names)

    os.makedirs(b)
    cli.ok("sync", b, prefix, "--device", "B")
    wb = watchers(b, prefix, "B")
    wb.wait_for(lambda ev: summaries_after(wb, 0), CONVERGE, "the first pass")
    for n in names:
        cli.ok("rm", prefix + n)
    assert wb.wait(CONVERGE) == cs.EXIT_USAGE, wb.explain()
    assert "--allow-delete-all" in wb.stderr(), wb.explain()
    assert sorted(os.listdir(b)) == names, wb.explain()


def test_edits_go_out_while_a_deletion_waits_for_both_sides_to_be_still(cli, tmp_path, watchers):
    # A deletion waits for a quiet spell; the edits made meanwhile must not. Someone deletes a
    # file, then types into another for 20 s: the lines reach the other device while the typing
    # goes on (one wait for both once held everything back until the typing had stopped for 2 s,
    # or for 60 s), and the deletion follows once both sides are still.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-watch-typing") + "/"
    for n in ["notes.txt", "old.txt"] + [f"keep{i}.txt" for i in range(6)]:
        sy.write(a, n, n.encode())
    wa, wb = watchers(a, prefix, "A"), watchers(b, prefix, "B")
    sy.wait_same([a, b], CONVERGE, "the first full passes", extra=lambda t: "old.txt" in t)

    os.remove(os.path.join(a, "old.txt"))
    time.sleep(1)                        # A's round holds the deletion back; the typing starts after
    typed, reached_b_while_typing = b"", False
    for line in range(40):
        typed += f"line {line}\n".encode()
        sy.write(a, "notes.txt", typed)
        time.sleep(0.5)
        on_b = sy.read(b, "notes.txt")
        reached_b_while_typing |= on_b.startswith(b"line ")
    assert reached_b_while_typing, \
        f"no line reached the other device while the typing went on:\n{wa.explain()}\n{wb.explain()}"
    sy.wait_same([a, b], CONVERGE, "the typing and the deletion",
                 extra=lambda t: "old.txt" not in t and t["notes.txt"] == cs_sha(typed))


@pytest.mark.parametrize("then", ["new-file-at-once", "new-file-later", "remote-edit-later"])
def test_a_side_emptied_while_rounds_go_on_is_still_judged_whole(cli, tmp_path, watchers, then):
    # Rounds go on while a deletion waits; what they record must not pass for proof that the
    # emptied side is still there. Emptied, then one new file made there (at once, or a second
    # later, after a round held the deletions), or one of its files edited on the other side
    # (which a round brings back): the watch still stops, and nothing remote is deleted.
    a, prefix, names, wa = _watched_after_a_sync(cli, tmp_path, watchers, "sync-watch-emptied-rounds", 8)
    for n in names:
        os.remove(os.path.join(a, n))
    if then == "new-file-at-once":
        sy.write(a, "new.txt", b"a new file")
    else:
        time.sleep(1)
        if then == "new-file-later":
            sy.write(a, "new.txt", b"a new file")
        else:
            edited = os.path.join(str(tmp_path), "edited")
            with open(edited, "wb") as f:
                f.write(b"edited elsewhere")
            cli.ok("upload", edited, prefix + names[0])
    assert wa.wait(CONVERGE) == cs.EXIT_USAGE, wa.explain()
    assert "--allow-delete-all" in wa.stderr(), wa.explain()
    # What the rounds recorded meanwhile is in the state file now: the same judgement must
    # stand for a run after the watch (a restarted watch's first pass is such a run).
    again = cli.run("sync", a, prefix, "--device", "A", timeout=60).expect(cs.EXIT_USAGE)
    assert "--allow-delete-all" in again.stderr, again.explain()
    listed = cli.ok("ls", prefix).out.split()
    assert all(prefix + n in listed for n in names), listed


def test_deletions_beside_files_rewritten_on_the_same_side_go_ahead(cli, tmp_path, watchers):
    # Files rewritten on the side that deleted others (a checkout, a formatter) show that side
    # is there, though rounds sent them while the deletions waited.
    a, prefix, names, wa = _watched_after_a_sync(cli, tmp_path, watchers, "sync-watch-rewritten", 10)
    for n in names[:4]:
        os.remove(os.path.join(a, n))
    for n in names[4:]:
        sy.write(a, n, b"rewritten " + n.encode())
    def remote_listing():
        listed = cli.ok("ls", prefix).out.split()
        return listed if sorted(listed) == sorted(prefix + n for n in names[4:]) else None
    sup.wait_until(remote_listing, CONVERGE, interval=0.5, what="the four deletions carried out")
    assert wa.alive(), wa.explain()


def test_a_watched_directory_that_disappears_stops_the_watch(cli, tmp_path, watchers):
    # Removed (or unmounted with its mount point): the watch says so once and ends as a run
    # on a missing directory does (exit 3), instead of failing every second for ever.
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-watch-gone") + "/"
    sy.write(a, "f.txt", b"f")
    wa = watchers(a, prefix, "A")
    wa.wait_for(lambda ev: summaries_after(wa, 0), CONVERGE, "the first pass")
    shutil.rmtree(a)
    assert wa.wait(CONVERGE) == cs.EXIT_NOT_FOUND, wa.explain()
    assert f"cannot sync {a}" in wa.stderr(), wa.explain()
    assert not [e for e in wa.events if e.get("event") == "failed"], wa.explain()
    assert cli.ok("ls", prefix).out.split() == [prefix + "f.txt"]


def cs_sha(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()
