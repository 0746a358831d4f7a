"""The CLI's deletes conditional on the current version (DeleteObject's if_current_version):

- `sluice sync` deletes a file remotely only as the version it planned against. Another
  device's edit committed after that plan (and after sync's own look at the object) used to be
  deleted unseen, and then followed locally: the edit was lost although "an edit beats a
  deletion". The deletion is now refused by the server, left for the next pass, which brings
  the edit down.
- `sluice rm --if-version N` deletes only while N is current.

The race is lined up in sluiced's database: a psql session holds the object's row, the other
device's commit waits for it first, then sync's delete (after its look found the old version
still current); released, the commit lands before the delete is decided."""

from __future__ import annotations

import os

import cli_support as cs
import sync_support as sy
from row_locks import HeldObjectRow, wait_for_waiters
from sluice.v1 import upload_sessions_pb2 as us_pb

PSIZE = 1024


def sync_args(local: str, prefix: str, state_file: str) -> list[str]:
    return ["sync", local, prefix, "--json", "--device", "laptop", "--state-file", state_file]


def test_sync_does_not_delete_a_version_committed_after_it_planned_the_deletion(cli, server, postgres, tmp_path):
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique("sync-cond-delete") + "/"
    name = prefix + "notes.txt"
    url = server.database_url
    sy.write(a, "notes.txt", b"base")
    cli.ok(*sync_args(a, prefix, state))
    os.remove(os.path.join(a, "notes.txt"))

    desktop = server.client()
    edit = b"the desktop's edit"
    session = desktop.create_session(name, edit, PSIZE)
    desktop.upload_partitions(session.session_id, edit, PSIZE)
    held = HeldObjectRow(postgres, url, name)
    try:
        commit = desktop.sessions.CommitSession.future(
            us_pb.CommitSessionRequest(session_id=session.session_id), timeout=60)
        assert wait_for_waiters(postgres, url, 1, 10), "the desktop's commit never waited for the row"
        laptop = cli.start(*sync_args(a, prefix, state))
        assert wait_for_waiters(postgres, url, 2, 30), "the laptop's deletion never reached the row:\n" + laptop.explain()
    finally:
        held.release()
    assert commit.result().object.version == 2
    assert laptop.wait(60) == 0, laptop.explain()

    deferred = [e for e in laptop.events if e["event"] == "deferred" and e["path"] == "notes.txt"]
    assert deferred and "version 2, not 1" in deferred[0]["detail"], laptop.explain()
    assert not [e for e in laptop.events if e["event"] == "delete_remote"], laptop.explain()
    assert desktop.get_object(name).version == 2
    assert sy.read(a, "notes.txt") == edit, "the desktop's edit did not come back:\n" + laptop.explain()
    again = cli.ok(*sync_args(a, prefix, state))
    assert again.event("summary")["downloaded"] == 0 and desktop.read(name) == edit, again.explain()


def test_rm_if_version_deletes_only_that_version(cli, tmp_path):
    path = str(tmp_path / "notes.txt")
    name = cs.unique("rm-if-version") + "/notes.txt"
    cs.upload_versions(cli, path, name, b"one", b"two")

    stale = cli.run("rm", "--if-version", "1", name).expect(1)
    assert "is at version 2, not 1; nothing was deleted" in stale.stderr, stale.explain()
    cli.run("rm", "--if-version", "0", name).expect(2)
    assert "version: 2 (current)" in cli.ok("stat", name).out
    cli.ok("rm", "--keep-versions", "--if-version", "2", name)
    cli.run("stat", name).expect(3)
