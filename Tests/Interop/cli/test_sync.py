"""`sluice sync`: a local directory kept in step with a remote prefix, both ways, by the
real CLI against sluiced with PostgreSQL. Several sync clients on separate directories
play several devices of one principal, or two principals sharing a folder with WRITE.
Trees are compared by content (SHA-256 of every file, and every directory)."""

from __future__ import annotations

import json
import os
import random
import shutil
import time

import pytest

import cli_support as cs
import storage_support as ss
import sync_support as sy
from cli_support import MIB

ALICE, BOB = "sluice-client", "sluice-client2"
CONVERGE = 40.0          # seconds a watched change may take to reach every device (bounded)


def sync(cli, local, prefix, *extra, who="client", device="dev"):
    return cli.run("sync", local, prefix, "--device", device, "--json", *extra, who=who)


def summary(result) -> dict:
    return result.event("summary")


def test_upload_sends_only_the_changed_partition(cli, tmp_path):
    path = str(tmp_path / "big")
    cs.write_random_file(path, 3 * MIB + 5)
    name = cs.unique("sync-dedup") + "/big"
    first = cli.ok("upload", path, name, "--partition-size", "1MiB", "--json").event("completed")
    assert first["bytes_transferred"] == 3 * MIB + 5
    with open(path, "r+b") as f:
        f.seek(MIB + 10)
        f.write(b"changed!")
    again = cli.ok("upload", path, name, "--partition-size", "1MiB", "--json").event("completed")
    assert again["partitions_transferred"] == 1 and again["bytes_transferred"] == MIB, again
    assert again["version"] == 2
    # Without --partition-size the upload cuts the file as the stored version was cut.
    with open(path, "r+b") as f:
        f.seek(2 * MIB + 1)
        f.write(b"again")
    third = cli.ok("upload", path, name, "--json").event("completed")
    assert third["partitions_transferred"] == 1 and third["bytes_transferred"] == MIB, third


def test_a_grown_small_file_is_not_cut_as_small_as_it_was(cli, tmp_path):
    # A small object is stored as one partition of its own size; the upload of the same file
    # grown large cuts it at the default size, not into thousands of 4 KiB partitions.
    path = str(tmp_path / "grows")
    cs.write_random_file(path, 4096)
    name = cs.unique("sync-grow") + "/file"
    cli.ok("upload", path, name, "--json")
    cs.write_random_file(path, 9 * MIB)
    grown = cli.ok("upload", path, name, "--json")
    assert grown.event("started")["partition_size"] == 8 * MIB, grown.out
    done = grown.event("completed")
    assert done["partitions"] == 2 and done["version"] == 2, done


def test_two_devices_reconcile_by_content(cli, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(a)
    os.makedirs(b)
    prefix = cs.unique("sync-two") + "/"
    sy.write(a, "top.txt", b"top")
    sy.write(a, "x/y/z/deep.bin", os.urandom(70_000))
    sy.write(a, "same.txt", b"already on both")
    sy.write(b, "same.txt", b"already on both")
    os.makedirs(os.path.join(a, "empty/inner"))
    sy.write(a, ".sluiceignore", b"# build output\n*.o\ncache/\n!keep.o\n")
    sy.write(a, "main.o", b"object code")
    sy.write(a, "keep.o", b"kept")
    sy.write(a, "cache/c.txt", b"cached")
    os.symlink("top.txt", os.path.join(a, "link"))

    first = sync(cli, a, prefix, device="A").expect(0)
    skips = [e for e in first.events if e["event"] == "skip"]
    assert [e["path"] for e in skips] == ["link"] and "symbolic link" in skips[0]["detail"], skips
    assert summary(first)["uploaded"] == 6, first.out     # same.txt too: B has not synced yet
    listed = cli.ok("ls", "-r", prefix).out.split()
    assert prefix + "main.o" not in listed and prefix + "cache/c.txt" not in listed
    assert prefix + "empty/inner/.sluice-dir" in listed, listed

    second = sync(cli, b, prefix, device="B").expect(0)
    s = summary(second)
    assert s["uploaded"] == 0 and s["conflicts"] == 0, second.out
    assert s["downloaded"] == 5, second.out               # same.txt already held the content
    expected = {k: v for k, v in sy.tree(a).items()
                if k not in ("main.o", "cache/", "cache/c.txt")}
    assert sy.tree(b) == expected

    # Re-sync of an unchanged tree: one listing, nothing hashed or moved.
    again = summary(sync(cli, b, prefix, device="B").expect(0))
    assert again["calls"] == 1 and again["uploaded"] == again["downloaded"] == 0, again

    # Modify, delete a tree, rename (delete + create), a new nested file, a new empty dir on B.
    sy.write(b, "top.txt", b"top, edited on B")
    shutil.rmtree(os.path.join(b, "x"))
    os.rename(os.path.join(b, "same.txt"), os.path.join(b, "renamed.txt"))
    sy.write(b, "empty/inner/now-full.txt", b"no longer empty")
    os.makedirs(os.path.join(b, "fresh"))
    sync(cli, b, prefix, device="B").expect(0)
    back = sync(cli, a, prefix, device="A").expect(0)
    kinds = sorted(e["event"] for e in back.events if e["event"] not in ("summary", "skip"))
    assert "conflict" not in kinds, back.out
    assert sy.read(a, "top.txt") == b"top, edited on B", back.out
    assert not os.path.exists(os.path.join(a, "x")), "the emptied tree of a deleted file stays"
    assert not os.path.exists(os.path.join(a, "same.txt"))
    assert sy.read(a, "renamed.txt") == b"already on both"
    assert os.path.isdir(os.path.join(a, "fresh"))
    ta, tb = sy.tree(a), sy.tree(b)
    for local_only in ("main.o", "cache/", "cache/c.txt"):
        ta.pop(local_only)
    assert ta == tb
    # The deleted file's versions stay listed for restoring until the object is deleted;
    # the object is gone from the listing.
    assert prefix + "x/y/z/deep.bin" not in cli.ok("ls", "-r", prefix).out.split()


def test_dry_run_changes_nothing(cli, tmp_path):
    a = str(tmp_path / "a")
    sy.write(a, "f.txt", b"data")
    prefix = cs.unique("sync-dry") + "/"
    r = cli.run("sync", a, prefix, "--dry-run").expect(0)
    assert "would upload f.txt" in r.out, r.out
    assert cli.ok("ls", "-r", prefix).out.split() == []


def test_a_file_deleted_through_sync_can_be_restored(cli, tmp_path):
    """Sync deletes keep the versions: `sluice versions` and `sluice restore` bring the file
    back; `sluice rm --keep-versions` does the same by hand, `sluice rm` removes them for good."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-restore") + "/"
    sy.write(a, "notes.txt", b"precious")
    os.makedirs(b)
    sync(cli, a, prefix, device="A").expect(0)
    sync(cli, b, prefix, device="B").expect(0)
    os.remove(os.path.join(b, "notes.txt"))
    sync(cli, b, prefix, device="B").expect(0)
    sync(cli, a, prefix, device="A").expect(0)
    assert not os.path.exists(os.path.join(a, "notes.txt"))
    name = prefix + "notes.txt"
    assert name not in cli.ok("ls", "-r", prefix).out.split()
    assert len(cli.ok("versions", name).out.splitlines()) == 1
    assert "as version 2" in cli.ok("restore", name, "1").out
    sync(cli, a, prefix, device="A").expect(0)
    assert sy.read(a, "notes.txt") == b"precious"
    assert "versions kept" in cli.ok("rm", "--keep-versions", name).out
    assert len(cli.ok("versions", name).out.splitlines()) == 2
    assert "(2 versions)" in cli.ok("rm", name).out
    cli.run("versions", name).expect(cs.EXIT_NOT_FOUND)


def test_missing_directory_exits_not_found(cli, tmp_path):
    r = cli.run("sync", str(tmp_path / "nope"), "p/").expect(cs.EXIT_NOT_FOUND)
    assert "nope" in r.stderr


def test_concurrent_edit_keeps_both_versions_on_both_sides(cli, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-conflict") + "/"
    sy.write(a, "doc/notes.txt", b"v1")
    sync(cli, a, prefix, device="laptop").expect(0)
    os.makedirs(b)
    sync(cli, b, prefix, device="desktop").expect(0)

    sy.write(a, "doc/notes.txt", b"laptop's edit")
    sy.write(b, "doc/notes.txt", b"desktop's edit!")
    sync(cli, a, prefix, device="laptop").expect(0)
    r = sync(cli, b, prefix, device="desktop").expect(0)
    conflict = r.event("conflict")
    assert conflict["path"] == "doc/notes.txt" and "conflict from desktop" in conflict["detail"], conflict
    sync(cli, a, prefix, device="laptop").expect(0)

    for root in (a, b):
        names = sorted(os.listdir(os.path.join(root, "doc")))
        assert len(names) == 2 and names[0] == "notes (conflict from desktop " + names[0][29:], names
        assert names[0].endswith(").txt") and names[1] == "notes.txt", names
        assert sy.read(root, "doc/notes.txt") == b"laptop's edit"
        assert sy.read(root, "doc/" + names[0]) == b"desktop's edit!"
    assert sy.tree(a) == sy.tree(b)


@pytest.fixture
def watchers(cli):
    """Starts `sluice sync --watch` processes; stops them at teardown (the runner kills them)."""
    started = []

    def start(local, prefix, *extra, who="client", device="dev"):
        proc = cli.start("sync", local, prefix, "--watch", "--json", "--device", device, *extra, who=who)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.close()


def test_watch_converges_across_three_devices_and_two_principals(cli, tmp_path, watchers):
    a, a2, b = (str(tmp_path / n) for n in ("a", "a2", "b"))
    for d in (a, a2, b):
        os.makedirs(d)
    folder = cs.unique("sync-share") + "/"
    cli.ok("whoami", who="client2")                          # bob is known once he called
    cli.ok("share", folder, BOB, "--write")
    watchers(a, folder, device="alice-laptop")
    watchers(a2, folder, device="alice-desktop")
    watchers(b, folder, "--owner", ALICE, who="client2", device="bob")

    sy.write(a, "plan.txt", b"alice's plan")
    sy.write(a, "nested/deeper/data.bin", os.urandom(40_000))
    sy.wait_same([a, a2, b], CONVERGE, "files made on one device",
                 extra=lambda t: "nested/deeper/data.bin" in t)

    sy.write(b, "plan.txt", b"bob's better plan")            # bob writes into alice's folder
    os.makedirs(os.path.join(b, "bobs-empty-dir"))
    sy.wait_same([a, a2, b], CONVERGE, "bob's edit",
                 extra=lambda t: "bobs-empty-dir/" in t and t.get("plan.txt") == cs_sha(b"bob's better plan"))

    os.remove(os.path.join(a2, "nested/deeper/data.bin"))
    os.rename(os.path.join(a2, "plan.txt"), os.path.join(a2, "plan-final.txt"))
    final = sy.wait_same([a, a2, b], CONVERGE, "a deletion and a rename",
                         extra=lambda t: "plan.txt" not in t and "plan-final.txt" in t)
    assert "nested/deeper/data.bin" not in final


def cs_sha(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def test_killed_sync_resumes_and_loses_nothing(cli, tmp_path, watchers):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-kill") + "/"
    rng = random.Random(11)
    for i in range(60):
        sy.write(a, f"d{i % 6}/f{i}.bin", os.urandom(rng.randint(1, 30_000)))
    sy.write(a, "big.bin", os.urandom(3 * MIB))
    watchers(b, prefix, device="B")
    for round_ in range(4):
        proc = cli.start("sync", a, prefix, "--watch", "--json", "--device", "A")
        time.sleep(rng.uniform(0.05, 1.0))
        proc.kill()
        sy.write(a, f"after-kill-{round_}.txt", f"written after kill {round_}".encode())
    last = watchers(a, prefix, device="A")
    tree = sy.wait_same([a, b], CONVERGE, "a sync killed four times, then restarted",
                        extra=lambda t: "after-kill-3.txt" in t)
    assert len([k for k in tree if not k.endswith("/")]) == 61 + 4
    assert last.alive()


def test_sluiced_restart_in_the_middle(storage, cli_runner, forwarder_factory, tmp_path):
    server = storage.server(label="sluiced-sync-restart")
    fwd = forwarder_factory(server.port)          # one address across the restart
    cli_runner.address = fwd.address
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(a)
    os.makedirs(b)
    prefix = cs.unique("sync-restart") + "/"
    for d, dev in ((a, "A"), (b, "B")):
        cli_runner.start("sync", d, prefix, "--watch", "--json", "--device", dev)
    sy.write(a, "before.txt", b"before the restart")
    sy.wait_same([a, b], CONVERGE, "before the restart", extra=lambda t: "before.txt" in t)
    server.stop()
    sy.write(a, "during.txt", b"while the server was away")
    sy.write(b, "during-b.txt", b"also while away")
    time.sleep(1.0)
    server.start()
    fwd.retarget(server.port)
    sy.wait_same([a, b], CONVERGE + 20, "after the restart",
                 extra=lambda t: "during.txt" in t and "during-b.txt" in t)


def test_a_second_sync_of_the_same_pairing_is_refused(cli, tmp_path, watchers):
    a = str(tmp_path / "a")
    sy.write(a, "f.txt", b"one")
    prefix = cs.unique("sync-lock") + "/"
    running = watchers(a, prefix, device="A")
    running.wait_for(lambda events: any(e.get("event") == "summary" for e in events), 30, "the first pass")
    r = sync(cli, a, prefix, device="A").expect(cs.EXIT_USAGE)
    assert "another sync" in r.stderr, r.stderr
    running.kill()
    sync(cli, a, prefix, device="A").expect(0)     # the lock went with the killed process


def test_a_sync_killed_mid_upload_does_not_send_again_what_was_stored(cli, server, tmp_path):
    a = str(tmp_path / "a")
    size = 64 * MIB + 3                                  # 9 partitions of 8 MiB
    os.makedirs(a)
    cs.write_random_file(os.path.join(a, "big.bin"), size)
    prefix = cs.unique("sync-midway") + "/"
    client = server.client()
    proc = cli.start("sync", a, prefix, "--json", "--device", "A")
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < 2:
        sessions = [s for s in client.all_sessions(open_only=True) if s.object_name == prefix + "big.bin"]
        stored = max((len(s.stored_partitions) for s in sessions), default=0)
        time.sleep(0.02)
    assert stored >= 2, "no partition was stored within 60 s"
    proc.kill()
    again = summary(sync(cli, a, prefix, device="A").expect(0))
    assert again["uploaded"] == 1, again
    assert again["bytes_sent"] <= size - 2 * 8 * MIB, f"what was stored went again: {again}"
    assert ss.settled(client, prefix + "big.bin").sha256.hex() == cs.sha256_file(os.path.join(a, "big.bin"))


def test_remote_files_under_a_local_symbolic_link_are_left_alone_on_both_sides(cli, tmp_path, watchers):
    # Whoever may write into the prefix (a WRITE grantee, the owner of a shared folder) must
    # not reach through a link to a directory, which the scan skips as not followed.
    a, outside = str(tmp_path / "a"), str(tmp_path / "outside")
    prefix = cs.unique("sync-symlink") + "/"
    sy.write(a, "readme.txt", b"hi")
    sy.write(outside, "precious.txt", b"the user's own file outside the synced folder")
    os.symlink(outside, os.path.join(a, "link"))
    sync(cli, a, prefix, device="A").expect(0)
    planted = str(tmp_path / "planted.sh")
    cs.write_file(planted, b"#!/bin/sh\necho planted\n")
    for name in ("link/planted.sh", "link/precious.txt", "link/sub/deeper.sh"):
        cli.ok("upload", planted, prefix + name)
    untouched = sy.tree(outside)

    for _ in range(2):
        r = sync(cli, a, prefix, device="A").expect(0)
        skips = [e["path"] for e in r.events if e["event"] == "skip"]
        skipped = set(skips)
        assert {"link", "link/planted.sh", "link/precious.txt", "link/sub/deeper.sh"} <= skipped, r.out
        # Each said once, and counted once.
        assert len(skips) == len(skipped) == r.event("summary")["skipped"], r.out
        assert not [e for e in r.events if e["event"] in ("download", "delete_remote", "conflict")], r.out
        assert sy.tree(outside) == untouched
    listed = cli.ok("ls", "-r", prefix).out.split()
    assert {prefix + "link/planted.sh", prefix + "link/precious.txt", prefix + "link/sub/deeper.sh"} <= set(listed)

    # A watching sync's rounds look only at the paths that changed: not through the link either.
    running = watchers(a, prefix, device="A")
    running.wait_for(lambda events: any(e.get("event") == "summary" for e in events), 30, "the first pass")
    cli.ok("upload", planted, prefix + "link/while-watching.sh")
    running.wait_for(lambda events: any(e.get("path") == "link/while-watching.sh" for e in events), 30,
                     "the watch to see the remote change")
    time.sleep(1.0)
    assert sy.tree(outside) == untouched
    assert prefix + "link/while-watching.sh" in cli.ok("ls", "-r", prefix).out.split()


@pytest.mark.parametrize("size,rounds", [(0, 8), (4 * MIB + 100, 3)], ids=["put", "session"])
def test_simultaneous_edits_on_two_devices_keep_both_as_files(cli, tmp_path, size, rounds):
    # Both devices often list before either commits: the later commit overtakes the earlier
    # one's version, which must come back as a conflict copy, also when the rounds follow each
    # other within a second (conflict copies named alike). Small files go in one PutObject,
    # larger ones through a session.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-race") + "/"
    filler = os.urandom(size)
    sy.write(a, "notes.txt", b"base" + filler)
    # Copies of overtaken versions name the principal that wrote them and the second: with
    # copies of those names already there (as after an earlier round within the same second),
    # a copy must still be made, under a name of its own.
    now = time.time()
    for second in range(-2, 120):
        stamp = time.strftime("%Y-%m-%d %H%M%S", time.gmtime(now + second))
        sy.write(a, f"notes (conflict from {ALICE} {stamp}).txt", f"an older copy {second}".encode())
    sync(cli, a, prefix, device="laptop").expect(0)
    sync(cli, b, prefix, device="desktop").expect(0)
    for k in range(rounds):
        edits = {a: f"laptop {k}".encode() + filler, b: f"desktop {k}".encode() + filler}
        for root, data in edits.items():
            sy.write(root, "notes.txt", data)
        running = [cli.start("sync", root, prefix, "--json", "--device", device)
                   for root, device in ((a, "laptop"), (b, "desktop"))]
        for proc in running:
            assert proc.wait(60) == 0, proc.explain()
            proc.close()
        for _ in range(2):
            sync(cli, a, prefix, device="laptop").expect(0)
            sync(cli, b, prefix, device="desktop").expect(0)
        ta, tb = sy.tree(a), sy.tree(b)
        assert ta == tb, f"round {k}: the devices differ"
        held = set(ta.values())
        for data in edits.values():
            assert cs_sha(data) in held, f"round {k}: {data[:10]!r} is in none of the {len(ta)} files"


def test_a_file_rewritten_while_it_uploads_makes_no_conflict_copy_of_itself(cli, tmp_path):
    # An upload sent again because the file changed meanwhile replaces its own first version,
    # which is no other device's: nothing to keep as a conflict copy.
    import threading
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-rewrite") + "/"
    sy.write(a, "busy.txt", b"first")
    sync(cli, a, prefix, device="A").expect(0)
    stop = threading.Event()

    def rewrite():
        n = 0
        while not stop.is_set():
            n += 1
            sy.write(a, "busy.txt", f"rewrite {n}".encode())
            time.sleep(0.005)

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        runs = [sync(cli, a, prefix, device="A") for _ in range(6)]
    finally:
        stop.set()
        writer.join()
    sync(cli, a, prefix, device="A").expect(0)
    conflicts = [e for r in runs for e in r.events if e["event"] == "conflict"]
    assert not conflicts, conflicts
    assert sorted(os.listdir(a)) == ["busy.txt"]


def test_temporary_files_of_downloads_that_cannot_resume_are_removed(cli, tmp_path):
    # A download that failed (or was killed) leaves its temporary files, named with the
    # pairing's marker from the state file; once the path is no longer to be downloaded, the
    # next pass removes them, and nothing else.
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique("sync-temporaries") + "/"
    sy.write(a, "kept.txt", b"kept")
    sync(cli, a, prefix, "--state-file", state).expect(0)
    with open(state, "rb") as f:
        marker = json.load(f)["temporaryMarker"]
    gone = f".gone.bin.{marker}.sluice-download"
    leftovers = [f".{gone}.sluice-part", f".{gone}.sluice-part.json", f"..{gone}.sluice-part.json.tmp",
                 f"sub/.gone.txt.{marker}.sluice-download"]
    for rel in leftovers:
        sy.write(a, rel, b"partial")
    sy.write(a, ".mine.bin.sluice-part", b"a `sluice download` of the user's own, not sync's")
    sync(cli, a, prefix, "--state-file", state).expect(0)
    for rel in leftovers:
        assert not os.path.exists(os.path.join(a, rel)), rel
    assert os.path.exists(os.path.join(a, ".mine.bin.sluice-part"))
    assert sy.read(a, "kept.txt") == b"kept"


def test_a_marker_of_the_synced_folder_itself_is_skipped_and_the_sync_settles(cli, tmp_path):
    # Anyone who can write the folder can make PREFIX/.sluice-dir; the top always exists, so
    # it is skipped with a note rather than downloaded on every run.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-top-marker") + "/"
    sy.write(a, "x.txt", b"x")
    sync(cli, a, prefix).expect(0)
    empty = str(tmp_path / "empty")
    open(empty, "wb").close()
    cli.ok("upload", empty, prefix + ".sluice-dir")
    os.makedirs(b)
    for root in (a, b, a, b):
        r = sync(cli, root, prefix).expect(0)
        assert not [e for e in r.events if e["event"] in ("download", "upload", "delete_local", "delete_remote")
                    and e["path"] == ".sluice-dir"], r.explain()
        assert [e["path"] for e in r.events if e["event"] == "skip"] == [".sluice-dir"], r.explain()
    again = summary(sync(cli, b, prefix).expect(0))
    assert again["downloaded"] == again["uploaded"] == 0, again
    assert not os.path.exists(os.path.join(b, ".sluice-dir"))
    assert "x.txt" in cli.ok("ls", prefix).out and ".sluice-dir" in cli.ok("ls", prefix).out


def test_ignore_rules_from_the_other_device_apply_in_the_run_that_brings_them(cli, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-ignore-arrives") + "/"
    sy.write(a, ".sluiceignore", b"*.tmp\n")
    sy.write(a, "doc.txt", b"doc")
    sync(cli, a, prefix, device="laptop").expect(0)
    os.makedirs(b)
    sync(cli, b, prefix, device="desktop").expect(0)

    # The laptop re-includes keep.tmp and excludes local-only/; one run of the desktop gets
    # the rules and keep.tmp, and sends nothing the new rules exclude.
    sy.write(a, ".sluiceignore", b"*.tmp\n!keep.tmp\nlocal-only/\n")
    sy.write(a, "keep.tmp", b"keep me")
    sync(cli, a, prefix, device="laptop").expect(0)
    sy.write(b, "local-only/cache.bin", b"the desktop's own cache")
    r = sync(cli, b, prefix, device="desktop").expect(0)
    assert sorted(e["path"] for e in r.events if e["event"] == "download") == [".sluiceignore", "keep.tmp"], r.explain()
    assert not [e for e in r.events if e["event"] == "upload"], r.explain()
    assert [e["event"] for e in r.events].count("summary") == 1, r.explain()
    assert sy.read(b, "keep.tmp") == b"keep me"
    assert "local-only" not in cli.ok("ls", "-r", prefix).out


def test_a_same_size_edit_under_a_restored_modification_time_is_uploaded(cli, tmp_path):
    # cp -p, rsync -t, tar x or `touch -r` put the old modification time back; the change
    # time cannot be put back, so the edit is still seen.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-ctime") + "/"
    sy.write(a, "mt.txt", b"AAAA\n")
    sync(cli, a, prefix, device="laptop").expect(0)
    path = os.path.join(a, "mt.txt")
    before = os.stat(path)
    time.sleep(0.05)
    sy.write(a, "mt.txt", b"BBBB\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    r = sync(cli, a, prefix, device="laptop").expect(0)
    assert [e["path"] for e in r.events if e["event"] == "upload"] == ["mt.txt"], r.explain()
    os.makedirs(b)
    sync(cli, b, prefix, device="desktop").expect(0)
    assert sy.read(b, "mt.txt") == b"BBBB\n"
    # An unchanged tree is still not hashed again: nothing to do.
    again = summary(sync(cli, a, prefix, device="laptop").expect(0))
    assert again["uploaded"] == again["downloaded"] == 0, again


def test_a_side_found_empty_does_not_empty_the_other_without_confirmation(cli, tmp_path):
    # An unmounted disk or a folder removed for good looks like "every file was deleted":
    # the run refuses (exit 2) and deletes nothing, unless --allow-delete-all confirms it.
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-emptied") + "/"
    names = [f"f{i}.txt" for i in range(5)]
    for n in names:
        sy.write(a, n, n.encode())
    sync(cli, a, prefix).expect(0)

    moved = str(tmp_path / "elsewhere")
    os.rename(a, moved)                                        # the disk "went away"
    os.makedirs(a)
    r = sync(cli, a, prefix).expect(cs.EXIT_USAGE)
    assert "--allow-delete-all" in r.stderr and "Nothing was deleted" in r.stderr, r.stderr
    assert sorted(cli.ok("ls", prefix).out.split()) == sorted(prefix + n for n in names)
    shutil.rmtree(a)
    os.rename(moved, a)

    for n in names:
        cli.ok("rm", prefix + n)                               # removed for good on the server
    r = sync(cli, a, prefix).expect(cs.EXIT_USAGE)
    assert sorted(os.listdir(a)) == names, r.explain()
    r = sync(cli, a, prefix, "--allow-delete-all").expect(0)
    assert summary(r)["deleted_local"] == len(names) and os.listdir(a) == []


def test_a_side_found_empty_after_the_other_changed_still_needs_confirmation(cli, tmp_path):
    # Another device deleted one file and edited another since this one last synced; then this
    # device's folder is found empty (an unmounted disk). The pass would delete every other
    # file on the server, and from there on every device: it refuses, as when nothing changed.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-emptied-changed") + "/"
    names = [f"f{i}.txt" for i in range(6)]
    for n in names:
        sy.write(a, n, n.encode())
    sync(cli, a, prefix, device="A").expect(0)
    os.makedirs(b)
    sync(cli, b, prefix, device="B").expect(0)
    os.remove(os.path.join(a, "f0.txt"))
    sy.write(a, "f1.txt", b"edited on A\n")
    sync(cli, a, prefix, device="A").expect(0)

    for n in names:
        os.remove(os.path.join(b, n))                          # B's disk "went away"
    r = sync(cli, b, prefix, device="B").expect(cs.EXIT_USAGE)
    assert "--allow-delete-all" in r.stderr and "Nothing was deleted" in r.stderr, r.stderr
    assert sorted(cli.ok("ls", prefix).out.split()) == sorted(prefix + n for n in names[1:])
    assert os.listdir(b) == [], r.explain()
    r = sync(cli, a, prefix, device="A").expect(0)             # A keeps its files
    assert sorted(os.listdir(a)) == names[1:], r.explain()


def test_a_folder_emptied_of_all_but_hidden_files_still_needs_confirmation(cli, tmp_path):
    # `rm -rf dir/*` skips dotfiles: the synced .sluiceignore stays, and a stray .DS_Store
    # may appear. Neither shows the folder is still there.
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-emptied-hidden") + "/"
    names = [f"f{i}.txt" for i in range(5)] + ["sub/s.txt"]
    sy.write(a, ".sluiceignore", b"*.tmp\n")
    for n in names:
        sy.write(a, n, n.encode())
    sync(cli, a, prefix).expect(0)
    for n in names:
        os.remove(os.path.join(a, n))
    sy.write(a, ".DS_Store", b"finder")
    r = sync(cli, a, prefix).expect(cs.EXIT_USAGE)
    assert "--allow-delete-all" in r.stderr and "Nothing was deleted" in r.stderr, r.stderr
    assert sorted(cli.ok("ls", "-r", prefix).out.split()) == sorted(prefix + n for n in names + [".sluiceignore"])


def test_a_file_that_became_a_folder_while_the_other_device_edited_it_converges(cli, tmp_path):
    # One device replaces file x with a folder x/ and folder d/ with a file d, while the other
    # edits x and d/inner. The folder keeps the name and the file is kept beside it as a
    # conflict copy: both devices converge and nothing is lost, without an endless "later".
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    prefix = cs.unique("sync-file-folder") + "/"
    sy.write(a, "x", b"x was a file\n")
    sy.write(a, "d/inner", b"inner of d\n")
    sync(cli, a, prefix, device="A").expect(0)
    os.makedirs(b)
    sync(cli, b, prefix, device="B").expect(0)
    os.remove(os.path.join(a, "x"))
    sy.write(a, "x/child", b"child of the new folder x\n")
    shutil.rmtree(os.path.join(a, "d"))
    sy.write(a, "d", b"d is now a file\n")
    sy.write(b, "x", b"B's edit of x\n")
    sy.write(b, "d/inner", b"B's edit of d/inner\n")
    runs = [sync(cli, root, prefix, device=device).expect(0)
            for _ in range(4) for root, device in ((a, "A"), (b, "B"))]
    for r in runs:
        assert "changed meanwhile" not in r.out + r.stderr, r.explain()
    assert sy.tree(a) == sy.tree(b), (sorted(sy.tree(a)), sorted(sy.tree(b)))
    files = {k: v for k, v in sy.tree(a).items() if v != "dir"}
    assert sy.read(a, "x/child") == b"child of the new folder x\n"
    assert sy.read(a, "d/inner") == b"B's edit of d/inner\n"
    copies = {sy.read(a, k) for k in files if " (conflict from " in k}
    assert copies == {b"B's edit of x\n", b"d is now a file\n"}, sorted(files)
    for root, device in ((a, "A"), (b, "B")):
        again = sync(cli, root, prefix, device=device).expect(0)
        assert not [e for e in again.events if e["event"] not in ("summary",)], again.explain()
