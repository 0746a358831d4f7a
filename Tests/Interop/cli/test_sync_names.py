"""`sluice sync` and the names it meets: names that differ only in Unicode normalization,
names as long as a file name may be, names that look like sync's own temporary files, and
names that are not UTF-8. Every one is either synced or skipped with a note; none is merged
with another, lost, or deleted silently."""

from __future__ import annotations

import os

import cli_support as cs
import sync_support as sy


def sync(cli, local, prefix, *extra, device="dev"):
    return cli.run("sync", local, prefix, "--device", device, "--json", *extra)


def summary(result) -> dict:
    return result.event("summary")


def test_names_that_differ_only_in_normalization_are_two_files(cli, tmp_path):
    # README: names are bytes, so `caf\u00e9` and `cafe\u0301` are two objects; sync keeps them
    # as two files, as the file system and the server do.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-nfc") + "/"
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    sy.write(a, nfc, b"composed")
    sy.write(a, nfd, b"decomposed, other bytes")
    sy.write(a, "dir\u00e9/x", b"in the composed folder")
    sy.write(a, "dire\u0301/x", b"in the decomposed folder")
    first = sync(cli, a, prefix, device="A").expect(0)
    assert summary(first)["uploaded"] == 4, first.explain()
    down = sync(cli, b, prefix, device="B").expect(0)
    assert summary(down)["downloaded"] == 4, down.explain()
    assert sy.tree(b) == sy.tree(a)
    for root in (a, b):
        again = summary(sync(cli, root, prefix).expect(0))
        assert again["uploaded"] == again["downloaded"] == again["conflicts"] == 0, again

    # An edit of one is an edit of that file only, not a conflict with the other.
    sy.write(b, nfd, b"decomposed, edited on B")
    edit = sync(cli, b, prefix, device="B").expect(0)
    assert summary(edit)["uploaded"] == 1 and summary(edit)["conflicts"] == 0, edit.explain()
    back = sync(cli, a, prefix, device="A").expect(0)
    assert summary(back)["downloaded"] == 1 and summary(back)["conflicts"] == 0, back.explain()
    assert sy.read(a, nfd) == b"decomposed, edited on B" and sy.read(a, nfc) == b"composed"

    # A deletion of one deletes that file only, and stays deleted.
    os.unlink(os.path.join(b, nfc))
    gone = sync(cli, b, prefix, device="B").expect(0)
    assert summary(gone)["deleted_remote"] == 1 and summary(gone)["downloaded"] == 0, gone.explain()
    sync(cli, a, prefix, device="A").expect(0)
    assert not os.path.exists(os.path.join(a, nfc)) and not os.path.exists(os.path.join(b, nfc))
    assert sy.read(a, nfd) == sy.read(b, nfd) == b"decomposed, edited on B"
    assert sy.tree(a) == sy.tree(b)


def test_names_as_long_as_a_file_name_may_be_come_down_and_conflict(cli, tmp_path):
    # The temporary files of a download and conflict copies are named after the file; for a
    # name near NAME_MAX (255 bytes) they are shortened to fit, so every legal name syncs.
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-long") + "/"
    small = {"L" * n: f"{n} bytes of name".encode() for n in (230, 240, 250)}
    for name, data in small.items():
        sy.write(a, name, data)
    big = "B" * 250
    sy.write(a, big, os.urandom(6 * cs.MIB))
    assert summary(sync(cli, a, prefix, device="A").expect(0))["uploaded"] == 4
    down = sync(cli, b, prefix, device="B").expect(0)
    assert summary(down)["downloaded"] == 4 and summary(down)["failed"] == 0, down.explain()
    assert sy.tree(b) == sy.tree(a)

    # Edited on both sides: the copy keeps its suffix and extension, shortened to fit.
    name = "N" * 230 + ".txt"
    sy.write(a, name, b"first")
    sync(cli, a, prefix, device="A").expect(0)
    sync(cli, b, prefix, device="B").expect(0)
    sy.write(a, name, b"edited on A")
    sy.write(b, name, b"edited on B")
    sync(cli, a, prefix, device="A").expect(0)
    both = sync(cli, b, prefix, device="B").expect(0)
    assert summary(both)["conflicts"] == 1 and summary(both)["failed"] == 0, both.explain()
    sync(cli, a, prefix, device="A").expect(0)
    copies = [f for f in os.listdir(b) if " (conflict from B " in f]
    assert len(copies) == 1 and copies[0].endswith(").txt") and len(copies[0].encode()) <= 255, copies
    assert sy.read(b, copies[0]) == b"edited on B" and sy.read(b, name) == b"edited on A"
    assert sy.tree(a) == sy.tree(b)

    # `sluice download` of a large object to such a name works too.
    target = str(tmp_path / ("D" * 250))
    cli.ok("download", prefix + big, target)
    assert sy.read(tmp_path, "D" * 250) == sy.read(a, big)


def test_user_files_named_like_sync_temporaries_are_skipped_never_deleted(cli, tmp_path):
    # Only temporary files that carry this pairing's marker are sync's own; a user's files that
    # merely look like them (or another sync's, in an overlapping folder) are skipped with a
    # note: never deleted, never uploaded.
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique("sync-lookalikes") + "/"
    sy.write(a, "notes.txt", b"notes\n")
    users = {".notes.txt.sluice-download": b"user data 1\n", ".other.sluice-download": b"user data 2\n",
             "..notes.txt.sluice-download.sluice-part": b"user data 3\n",
             "..notes.txt.sluice-download.sluice-part.json": b'{"user": 4}\n',
             "...notes.txt.sluice-download.sluice-part.json.tmp": b"user data 5\n",
             "sub/.x.0123456789ab.sluice-download": b"another pairing's\n"}
    for rel, data in users.items():
        sy.write(a, rel, data)
    sy.write(a, "report.sluice-download", b"an ordinary name\n")
    for _ in range(2):
        r = sync(cli, a, prefix, "--state-file", state).expect(0)
        skips = {e["path"]: e["detail"] for e in r.events if e["event"] == "skip"}
        assert set(skips) == set(users), r.explain()
        for rel in users:
            assert "temporary" in skips[rel], r.explain()
        assert summary(r)["skipped"] == len(users), r.explain()
        assert summary(r)["deleted_local"] == 0, r.explain()
    plain = cli.run("sync", a, prefix, "--state-file", state).expect(0)
    for rel in users:
        assert f"skip {rel}: it is named like a sync temporary file" in plain.stderr, plain.explain()
    for rel, data in users.items():
        assert sy.read(a, rel) == data, rel
    listing = cli.ok("ls", "-r", prefix).out
    assert "notes.txt" in listing and "report.sluice-download" in listing, listing
    assert "sluice-part" not in listing and "other" not in listing and ".x." not in listing, listing


def test_names_that_are_not_utf8_are_skipped_with_a_note(cli, tmp_path):
    # Object names are UTF-8: a local name that is not (from an ISO-8859-1 system, an old
    # archive) cannot be synced, and is reported with its bytes escaped, never left out unsaid.
    a = str(tmp_path / "a")
    prefix = cs.unique("sync-not-utf8") + "/"
    sy.write(a, "ok.txt", b"fine")
    sy.write(a, "sub/ok too.txt", b"fine too")
    for name in (b"bad\xff\xfe.txt", b"sub/latin1-caf\xe9.txt"):
        with open(os.path.join(os.fsencode(a), name), "wb") as f:
            f.write(b"a name that is not UTF-8")
    expected = ["bad\\xff\\xfe.txt", "sub/latin1-caf\\xe9.txt"]
    for _ in range(2):
        r = sync(cli, a, prefix).expect(0)
        skips = {e["path"]: e["detail"] for e in r.events if e["event"] == "skip"}
        assert sorted(skips) == expected, r.explain()
        for path in expected:
            assert skips[path].startswith("not valid UTF-8"), r.explain()
        assert summary(r)["skipped"] == 2, r.explain()
    # Printed lines show the escapes once, as the JSON does: `bad\\xff`, not `bad\\\\xff`.
    plain = cli.run("sync", a, prefix).expect(0)
    for path in expected:
        assert f"skip {path}: not valid UTF-8" in plain.stderr, plain.explain()
    assert os.path.exists(os.path.join(os.fsencode(a), b"bad\xff\xfe.txt"))
    assert os.path.exists(os.path.join(os.fsencode(a), b"sub/latin1-caf\xe9.txt"))
    listed = cli.ok("ls", "-r", prefix).out
    assert prefix + "ok.txt" in listed and "sub/ok too.txt" in listed and "latin1" not in listed and "bad" not in listed
