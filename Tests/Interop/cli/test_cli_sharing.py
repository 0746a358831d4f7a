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
