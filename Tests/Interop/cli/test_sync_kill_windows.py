"""`sluice sync` killed (SIGKILL) at the two moments where a rerun used to lose track of what
the killed run did on the server:

- while its PutObject was committing: the rerun, listing before that commit landed, sent the
  file again and made a second, identical version; it now sends the request id the killed
  run saved in the state file, and gets the killed call's version back;
- after it recorded a version that overtook another device's commit, before it kept that
  commit as a conflict copy: the rerun saw both sides in step and the other device's edit
  stayed only an old version; the check is now saved with the record and finished by the
  rerun.

A commit is held at the right moment by a row lock on the object in sluiced's database (a
psql session in a transaction), released well within sluiced's 10 s lock timeout; the
conflict copy's download is slowed by a paced sluiced (--rate-bytes-out)."""

from __future__ import annotations

import contextlib
import json
import os
import time

import pytest

import cli_support as cs
import sync_support as sy
from cli_support import MIB
from row_locks import HeldObjectRow, wait_for_waiters

THEIRS_SIZE = 16 * MIB          # the overtaken version: ~4 s to fetch at RATE
RATE = 4 * MIB                  # bytes per second the server sends each principal


@pytest.fixture(scope="module")
def paced_server(module_storage):
    return module_storage.server(label="sluiced-sync-kill-windows", rate_bytes_out=RATE)


@pytest.fixture
def pcli(cli_runner, paced_server) -> cs.CLI:
    paced_server.assert_alive()
    cli_runner.address = paced_server.address
    return cli_runner


def synced_version(state_file: str, path: str) -> int:
    # The state's maps by path are arrays of alternating paths and values (paths are bytes:
    # a JSON object would merge names that differ only in Unicode normalization).
    try:
        with open(state_file, "rb") as f:
            files = json.load(f)["files"]
        return dict(zip(files[::2], files[1::2]))[path]["remoteVersion"]
    except (OSError, ValueError, KeyError):
        return 0


def sync_args(local: str, prefix: str, state_file: str) -> list[str]:
    return ["sync", local, prefix, "--json", "--device", "laptop", "--state-file", state_file]


@contextlib.contextmanager
def killed_while_its_put_commits(pcli, server, postgres, tmp_path, label: str):
    """Syncs notes.txt ("first"), edits it ("second") and runs the sync again, killing it
    while its PutObject waits at the object's row, which a psql session holds until the block
    ends. Yields the local folder, the state file, the prefix and the object's name."""
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique(label) + "/"
    name = prefix + "notes.txt"
    url = server.database_url
    sy.write(a, "notes.txt", b"first")
    pcli.ok(*sync_args(a, prefix, state))
    sy.write(a, "notes.txt", b"second")
    held = HeldObjectRow(postgres, url, name)
    try:
        killed = pcli.start(*sync_args(a, prefix, state))
        assert wait_for_waiters(postgres, url, 1, 8), "the put never reached its commit:\n" + killed.explain()
        killed.kill()
        yield a, state, prefix, name
    finally:
        held.release()


def test_a_sync_killed_while_its_put_commits_makes_no_second_version(pcli, paced_server, postgres, tmp_path):
    with killed_while_its_put_commits(pcli, paced_server, postgres, tmp_path, "sync-kill-put") as (a, state, prefix, name):
        # The rerun lists before the killed call's commit lands, and sends the file again;
        # its call waits behind the held commit too (or, queued, for the database).
        rerun = pcli.start(*sync_args(a, prefix, state))
        wait_for_waiters(postgres, paced_server.database_url, 2, 4)
    assert rerun.wait(60) == 0, rerun.explain()

    client = paced_server.client()
    versions = client.list_versions(name).versions
    assert len(versions) == 2, f"the rerun made another version: {[(v.version, v.sha256.hex()[:8]) for v in versions]}"
    assert pcli.ok(*sync_args(a, prefix, state)).event("summary")["uploaded"] == 0
    assert len(client.list_versions(name).versions) == 2


def test_a_killed_sync_whose_put_was_deleted_since_uploads_the_file_again(pcli, paced_server, postgres, tmp_path):
    """The killed run's put commits, but before any run records it the object is deleted for
    good (by another device). The request id the state kept now names a deleted version: the
    rerun takes a new one and uploads the file, where it used to fail on that id (NOT_FOUND)
    on every run until the server forgot the session."""
    with killed_while_its_put_commits(pcli, paced_server, postgres, tmp_path, "sync-kill-deleted") as (a, state, prefix, name):
        pass
    client = paced_server.client()
    deadline = time.monotonic() + 10
    while len(client.list_versions(name).versions) < 2:
        assert time.monotonic() < deadline, "the killed run's put never committed"
        time.sleep(0.05)
    client.delete_object(name)

    pcli.run(*sync_args(a, prefix, state), timeout=60).expect(0)
    assert client.read(name) == b"second"
    assert pcli.ok(*sync_args(a, prefix, state)).event("summary")["uploaded"] == 0


def test_a_sync_killed_before_it_kept_an_overtaken_version_keeps_it_on_the_next_run(
        pcli, paced_server, postgres, tmp_path):
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique("sync-kill-overtaken") + "/"
    name = prefix + "notes.txt"
    url = paced_server.database_url
    sy.write(a, "notes.txt", b"base")
    pcli.ok(*sync_args(a, prefix, state))
    sy.write(a, "notes.txt", b"the laptop's edit")
    theirs = str(tmp_path / "theirs.bin")
    their_digest = cs.write_random_file(theirs, THEIRS_SIZE)

    # Another device commits after the laptop listed, and the laptop's put overtakes it:
    # both commits wait on the held row, the other device's first.
    held = HeldObjectRow(postgres, url, name)
    try:
        other = pcli.start("upload", theirs, name, "--json")
        assert wait_for_waiters(postgres, url, 1, 30), "the other device never committed:\n" + other.explain()
        laptop = pcli.start(*sync_args(a, prefix, state))
        wait_for_waiters(postgres, url, 2, 4)
        time.sleep(1.2)        # the laptop's record of its put is then saved as it is made
    finally:
        held.release()
    assert other.wait(60) == 0, other.explain()

    # The laptop made version 3 over the other device's 2, recorded it, and now fetches 2 as
    # a conflict copy (slowly): killed there.
    deadline = time.monotonic() + 30
    while synced_version(state, "notes.txt") != 3:
        assert time.monotonic() < deadline and laptop.alive(), "version 3 never recorded:\n" + laptop.explain()
        time.sleep(0.02)
    laptop.kill()
    copies = lambda: sorted(n for n in os.listdir(a) if n.startswith("notes (conflict from "))
    assert not copies(), f"the conflict copy was made before the kill: {copies()}"

    rerun = pcli.ok(*sync_args(a, prefix, state))
    conflict = rerun.event("conflict")
    assert conflict["path"] == "notes.txt" and "version 2" in conflict["detail"], rerun.explain()
    assert len(copies()) == 1, os.listdir(a)
    assert cs.sha256_file(os.path.join(a, copies()[0])) == their_digest
    assert sy.read(a, "notes.txt") == b"the laptop's edit"
    again = pcli.ok(*sync_args(a, prefix, state))
    assert not [e for e in again.events if e["event"] == "conflict"], again.out
    assert len(copies()) == 1
