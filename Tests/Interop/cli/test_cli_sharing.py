"""`sluice share`, `unshare`, `shares`, `whoami`'s handle and `--owner` on the object
commands, end to end against sluiced with storage. alice is certs/client, bob
certs/client2."""

from __future__ import annotations

import json
import os

import pytest

import cli_support as cs
from cli_support import EXIT_DENIED, EXIT_NOT_FOUND

ALICE, BOB = "sluice-client", "sluice-client2"


def _handle(cli, who: str) -> str:
    out = cli.ok("whoami", who=who).out
    lines = [line for line in out.splitlines() if line.startswith("handle: ")]
    assert lines, out
    return lines[0].split(": ", 1)[1]


def test_whoami_shows_the_handle(cli):
    assert _handle(cli, "client") == ALICE
    assert _handle(cli, "client2") == BOB


def test_share_use_and_unshare(cli, tmp_path):
    _handle(cli, "client2")                      # bob is known once he has called
    folder = cs.unique("clishare") + "/"
    src = str(tmp_path / "src")
    cs.write_file(src, b"alice's plan")
    cli.ok("upload", src, folder + "plan.txt")

    # without a grant: not found
    r = cli.run("stat", folder + "plan.txt", "--owner", ALICE, who="client2").expect(EXIT_NOT_FOUND)

    shared = cli.ok("share", folder, BOB, "--read").out
    assert f"prefix {folder} read {ALICE} -> {BOB}" in shared, shared

    listed = cli.ok("ls", "-r", folder, "--owner", ALICE, who="client2").out.split()
    assert listed == [folder + "plan.txt"], listed
    stat = cli.ok("stat", folder + "plan.txt", "--owner", ALICE, who="client2").out
    assert "size: 12 " in stat, stat
    dst = str(tmp_path / "dst")
    cli.ok("download", folder + "plan.txt", dst, "--owner", ALICE, who="client2")
    with open(dst, "rb") as f:
        assert f.read() == b"alice's plan"
    assert "v1" in cli.ok("versions", folder + "plan.txt", "--owner", ALICE, who="client2").out

    # READ: writing is refused with the "denied" exit code
    cli.run("rm", folder + "plan.txt", "--owner", ALICE, who="client2").expect(EXIT_DENIED)
    cli.run("upload", src, folder + "new.txt", "--owner", ALICE, who="client2").expect(EXIT_DENIED)

    # WRITE: bob uploads a version into alice's folder, restores, deletes
    cli.ok("share", folder, BOB, "--write")
    bobs = str(tmp_path / "bobs")
    cs.write_file(bobs, b"bob's edit")
    cli.ok("upload", bobs, folder + "plan.txt", "--owner", ALICE, who="client2")
    assert "v2" in cli.ok("versions", folder + "plan.txt").out
    cli.ok("restore", folder + "plan.txt", "1", "--owner", ALICE, who="client2")
    cli.ok("download", folder + "plan.txt", dst)
    with open(dst, "rb") as f:
        assert f.read() == b"alice's plan"
    cli.ok("upload", bobs, folder + "scratch.txt", "--owner", ALICE, who="client2")
    cli.ok("rm", folder + "scratch.txt", "--owner", ALICE, who="client2")
    cli.run("stat", folder + "scratch.txt").expect(EXIT_NOT_FOUND)

    mine = [json.loads(line) for line in cli.ok("shares", "--json").out.splitlines()]
    assert {"direction": "mine", "owner": ALICE, "grantee": BOB, "scope": "prefix", "path": folder,
            "access": "write"}.items() <= next(g for g in mine if g["path"] == folder).items()
    theirs = cli.ok("shares", who="client2").out
    assert f"prefix {folder} write {ALICE} -> {BOB}" in theirs.split("shared with me:")[1], theirs

    cli.ok("unshare", folder, BOB)
    cli.run("stat", folder + "plan.txt", "--owner", ALICE, who="client2").expect(EXIT_NOT_FOUND)
    cli.run("unshare", folder, BOB).expect(EXIT_NOT_FOUND)
    assert folder not in cli.ok("shares", who="client2").out


def test_object_grants_and_unknown_handles(cli, tmp_path):
    _handle(cli, "client2")
    name = cs.unique("clione") + "/file"
    src = str(tmp_path / "one")
    cs.write_file(src, b"one")
    cli.ok("upload", src, name)
    out = cli.ok("share", name, BOB, "--read").out
    assert f"object {name} read" in out, out
    cli.ok("stat", name, "--owner", ALICE, who="client2")
    r = cli.run("share", name, "no-such-principal", "--read").expect(EXIT_NOT_FOUND)
    assert "no-such-principal" in r.stderr, r.explain()
    cli.run("stat", name, "--owner", "no-such-principal", who="client2").expect(EXIT_NOT_FOUND)
    cli.run("share", name, BOB).expect(cs.EXIT_USAGE)       # --read or --write is required


def test_share_says_whose_object_and_refuses_a_name_you_have_no_object_at(cli, tmp_path):
    """bob shares a name only alice has an object at: that would grant access to bob's own
    (non-existent) object, not alice's; refused (exit 3) unless --allow-missing says a grant
    for an object to come is meant. Every share says whose object it is."""
    _handle(cli, "client2")
    name = cs.unique("clinone") + "/plan.txt"
    src = cs.write_file(str(tmp_path / "plan"), b"alice's plan")
    cli.ok("upload", src, name)
    cli.ok("share", name, BOB, "--read")

    r = cli.run("share", name, ALICE, "--read", who="client2").expect(EXIT_NOT_FOUND)
    assert "--allow-missing" in r.stderr and name in r.stderr, r.explain()
    cs.assert_human_message(r.stderr)
    assert f"{name}" not in cli.ok("shares").out.split("shared with me:")[1], "a grant was made"

    out = cli.ok("share", name, ALICE, "--read", "--allow-missing", who="client2").out
    assert f"object {name} read {BOB} -> {ALICE}" in out and f"owner: {BOB}, you" in out, out
    out = cli.ok("share", name, BOB, "--write").out
    assert f"owner: {ALICE}, you" in out, out


def test_a_folder_named_without_its_slash_is_pointed_at_the_slash(cli, tmp_path):
    """`sluice share docs …` where docs/ is a folder of objects and docs no object: refused
    (exit 3) with the message pointing at `docs/`, not at --allow-missing, which would make an
    object grant on a name nobody uploads (the grantee would see nothing)."""
    _handle(cli, "client2")
    folder = cs.unique("clislash")
    cli.ok("upload", cs.write_file(str(tmp_path / "n"), b"notes"), folder + "/notes.txt")
    r = cli.run("share", folder, BOB, "--read").expect(EXIT_NOT_FOUND)
    assert f"write {folder}/" in r.stderr and "--allow-missing" not in r.stderr, r.explain()
    cs.assert_human_message(r.stderr)


def test_an_empty_folder_can_be_shared(cli):
    """A folder is shared before anything is in it (so the grantee can fill it)."""
    _handle(cli, "client2")
    folder = cs.unique("cliempty") + "/"
    out = cli.ok("share", folder, BOB, "--write").out
    assert f"prefix {folder} write {ALICE} -> {BOB}" in out, out
