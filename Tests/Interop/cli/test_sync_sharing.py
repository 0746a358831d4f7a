"""`sluice sync --owner`: a grantee syncing a folder another principal shares with it. Losing
access (a revoked or narrowed grant) is not a deletion: the grantee's copies stay. A folder
shared for reading only syncs one way: the owner's changes come down, the grantee's own
changes stay on its device."""

from __future__ import annotations

import os

import cli_support as cs
import sync_support as sy

ALICE, BOB = "sluice-client", "sluice-client2"
EXIT_ACCESS_LOST = 9


def sync(cli, local, prefix, *extra, who="client", device="dev"):
    return cli.run("sync", local, prefix, "--device", device, "--json", *extra, who=who)


def bob_sync(cli, local, folder, *extra):
    return sync(cli, local, folder, "--owner", ALICE, *extra, who="client2", device="bob")


def shared_folder(cli, tmp_path, access: str, files: dict[str, bytes]) -> tuple[str, str, str]:
    """Alice's folder with `files`, shared with bob (`--read` or `--write`) and synced to his
    directory; returns (alice's directory, bob's directory, the folder)."""
    a, b = str(tmp_path / "alice"), str(tmp_path / "bob")
    os.makedirs(b)
    for rel, data in files.items():
        sy.write(a, rel, data)
    folder = cs.unique("sync-shared") + "/"
    cli.ok("whoami", who="client2")                          # bob is known once he called
    sync(cli, a, folder, device="alice").expect(0)
    cli.ok("share", folder, BOB, access)
    bob_sync(cli, b, folder).expect(0)
    assert sy.tree(a) == sy.tree(b)
    return a, b, folder


FILES = {"plan.txt": b"the plan", "notes/a.txt": b"a", "notes/b.txt": b"b", "sub/deep/c.bin": os.urandom(5000)}


def test_a_revoked_share_deletes_nothing_locally_and_exits_access_lost(cli, tmp_path):
    a, b, folder = shared_folder(cli, tmp_path, "--write", FILES)
    sy.write(b, "plan.txt", b"bob's edit, not yet synced")
    before = sy.tree(b)
    cli.ok("unshare", folder, BOB)

    dry = bob_sync(cli, b, folder, "--dry-run").expect(EXIT_ACCESS_LOST)
    assert not [e for e in dry.events if e["event"] == "delete_local"], dry.explain()
    r = bob_sync(cli, b, folder).expect(EXIT_ACCESS_LOST)
    assert not [e for e in r.events if e["event"] in ("delete_local", "upload", "download")], r.explain()
    assert "does not share" in r.stderr and ALICE in r.stderr, r.stderr
    assert sy.tree(b) == before

    # Shared again, the sync goes on where it was: bob's edit goes up, nothing is lost.
    cli.ok("share", folder, BOB, "--write")
    bob_sync(cli, b, folder).expect(0)
    sync(cli, a, folder, device="alice").expect(0)
    assert sy.read(a, "plan.txt") == b"bob's edit, not yet synced"
    assert sy.tree(a) == sy.tree(b) == before


def test_a_narrowed_share_keeps_what_is_no_longer_shared(cli, tmp_path):
    a, b, folder = shared_folder(cli, tmp_path, "--write", FILES)
    before = sy.tree(b)
    cli.ok("unshare", folder, BOB)
    cli.ok("share", folder + "sub/", BOB, "--write")
    r = bob_sync(cli, b, folder).expect(EXIT_ACCESS_LOST)
    assert "plan.txt" in r.stderr or "notes/" in r.stderr, r.stderr
    assert sy.tree(b) == before


def test_files_the_owner_deleted_are_still_deleted(cli, tmp_path):
    # The check must not stop real deletions: with the grant in place, they go across.
    a, b, folder = shared_folder(cli, tmp_path, "--write", FILES)
    os.remove(os.path.join(a, "plan.txt"))
    sync(cli, a, folder, device="alice").expect(0)
    r = bob_sync(cli, b, folder).expect(0)
    assert [e["path"] for e in r.events if e["event"] == "delete_local"] == ["plan.txt"], r.explain()
    assert sy.tree(a) == sy.tree(b)


def test_a_read_only_share_syncs_down_and_keeps_local_changes_here(cli, tmp_path):
    a, b, folder = shared_folder(cli, tmp_path, "--read", FILES)
    sy.write(b, "plan.txt", b"bob's edit")                   # both edit: a conflict
    sy.write(a, "plan.txt", b"alice's edit")
    sy.write(b, "notes/a.txt", b"bob's own note")            # only bob edits
    sy.write(b, "mine.txt", b"bob's new file")               # only bob has it
    os.remove(os.path.join(b, "notes/b.txt"))                # bob deletes the owner's file
    sync(cli, a, folder, device="alice").expect(0)

    r = bob_sync(cli, b, folder).expect(0)
    conflict = r.event("conflict")
    assert conflict["path"] == "plan.txt" and "reading only" in conflict["detail"], r.explain()
    assert sy.read(b, "plan.txt") == b"alice's edit"         # the owner's version, in the same run
    copies = [n for n in os.listdir(b) if n.startswith("plan (conflict from bob ")]
    assert len(copies) == 1 and sy.read(b, copies[0]) == b"bob's edit", os.listdir(b)
    kept = sorted(e["path"] for e in r.events if e["event"] == "skip")
    assert kept == ["mine.txt", "notes/a.txt"], r.explain()
    assert sy.read(b, "notes/b.txt") == b"b"                 # the owner's file came back
    assert not [e for e in r.events if e["event"] in ("upload", "delete_remote", "failed")], r.explain()

    # The next runs have nothing to say: the kept changes were reported once.
    again = bob_sync(cli, b, folder).expect(0)
    assert [e["event"] for e in again.events] == ["summary"], again.explain()
    assert sy.read(b, "notes/a.txt") == b"bob's own note" and sy.read(b, "mine.txt") == b"bob's new file"

    # A kept file changed again is reported again; the owner's side never changed.
    sy.write(b, "mine.txt", b"bob's new file, longer")
    third = bob_sync(cli, b, folder).expect(0)
    assert [e["path"] for e in third.events if e["event"] == "skip"] == ["mine.txt"], third.explain()
    sync(cli, a, folder, device="alice").expect(0)
    assert not os.path.exists(os.path.join(a, "mine.txt")) and not os.path.exists(os.path.join(a, copies[0]))
    assert sy.read(a, "notes/a.txt") == b"a"

    # The owner's later change to a file bob kept his edit of: both versions stay on bob's side.
    sy.write(a, "notes/a.txt", b"alice's new note")
    sync(cli, a, folder, device="alice").expect(0)
    fourth = bob_sync(cli, b, folder).expect(0)
    assert fourth.event("conflict")["path"] == "notes/a.txt", fourth.explain()
    assert sy.read(b, "notes/a.txt") == b"alice's new note"


MANY = 2000


def _bob_uploading_many(cli, tmp_path, count: int = MANY):
    """Bob's sync, started, of `count` new files into the folder alice shares with him for
    writing, once its first upload is done; returns (the running sync, bob's directory, the
    folder). Four uploads at a time (`--parallel 1`): a grant changed then lands mid-pass."""
    _, b, folder = shared_folder(cli, tmp_path, "--write", FILES)
    for i in range(count):
        sy.write(b, f"new/f{i:04}.txt", f"bob's file {i}\n".encode())
    proc = cli.start("sync", b, folder, "--owner", ALICE, "--device", "bob", "--json", "--parallel", "1",
                     who="client2")
    proc.wait_for(lambda events: any(e.get("event") == "upload" for e in events), 60, "bob's first upload")
    return proc, b, folder


def test_a_share_revoked_during_a_pass_stops_it_with_one_message(cli, tmp_path):
    # The grant goes while bob's sync is uploading: the files left do not each fail with
    # "shares nothing named …"; the pass stops, looks at the grants again and says what
    # happened once, as a pass started after the revoke does (exit 9).
    proc, b, folder = _bob_uploading_many(cli, tmp_path)
    try:
        cli.ok("unshare", folder, BOB)
        assert proc.wait(120) == EXIT_ACCESS_LOST, proc.explain()
        assert "does not share" in proc.stderr() and ALICE in proc.stderr(), proc.explain()
        assert not [e for e in proc.events if e.get("event") == "failed"], proc.explain()
        assert len(os.listdir(os.path.join(b, "new"))) == MANY            # bob's files stay
    finally:
        proc.close()


def test_a_share_lowered_to_read_during_a_pass_keeps_the_rest_here(cli, tmp_path):
    # Lowered to READ mid-pass: what was not uploaded yet stays on bob's device, said once
    # per file as a pass started after the change says it, and the run ends well (exit 0).
    proc, b, folder = _bob_uploading_many(cli, tmp_path)
    try:
        cli.ok("share", folder, BOB, "--read")
        assert proc.wait(120) == 0, proc.explain()
        assert not [e for e in proc.events if e.get("event") == "failed"], proc.explain()
        kept = [e for e in proc.events if e.get("event") == "skip" and "reading only" in e.get("detail", "")]
        uploaded = [e for e in proc.events if e.get("event") == "upload"]
        assert kept and len(kept) + len(uploaded) >= MANY, proc.explain()
    finally:
        proc.close()
