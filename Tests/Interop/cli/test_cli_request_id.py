"""The uploader's CreateSession and PutObject are idempotent: it saves a request id in its
journal before it calls, and a run killed before it learned the answer (the server made the
session or the version, the reply never came) sends the same id on the next run and continues
that session, or gets that version, instead of leaking another session or making a second,
identical version."""

from __future__ import annotations

import time

import cli_support as cs
import interop_support as sup
import storage_support as ss
from storage_support import KIB, obj_pb, us_pb

SIZE = 300 * KIB + 7
FLAGS = ("--partition-size", "64KiB", "--json")


def killed_after_its_journal_entry(cli, forwarder_factory, src, name, *flags):
    """Starts an upload that cannot reach the server (through a forwarder aimed at a port
    nobody listens on: it saves its journal entry, then waits), kills it, and returns the
    forwarder and the entry."""
    fwd = forwarder_factory(sup.free_port())
    first = cli.start("upload", src, name, *flags, address=fwd.address)
    sup.wait_until(lambda: next(iter(cli.journal_entries()), None), 30, interval=0.05, what="the journal entry")
    first.kill()
    entry = cli.journal_entries()[0]
    assert entry["sessionID"] == "" and entry.get("requestID"), entry
    return fwd, entry


def test_killed_before_the_reply_reuses_its_session(cli, server, forwarder_factory, tmp_path):
    src = str(tmp_path / "file")
    digest = cs.write_random_file(src, SIZE)
    name = cs.unique("request-id/kill")
    fwd, entry = killed_after_its_journal_entry(cli, forwarder_factory, src, name, *FLAGS)

    # What the server would have made had the call arrived and its reply been lost.
    c = server.client()
    made = c.sessions.CreateSession(us_pb.CreateSessionRequest(
        object_name=name, total_size=entry["size"], partition_size=entry["partitionSize"],
        partition_sha256=[bytes.fromhex(h) for h in entry["partitionSHA256"]],
        object_sha256=bytes.fromhex(entry["objectSHA256"]), request_id=entry["requestID"]),
        timeout=ss.TIMEOUT)

    fwd.retarget(server.port)
    second = cli.run("upload", src, name, *FLAGS, address=fwd.address).expect(0)
    assert second.event("completed")["session_id"] == made.session_id
    assert second.event("completed")["sha256"] == digest
    sessions = [s for s in c.all_sessions() if s.object_name == name]
    assert [s.session_id for s in sessions] == [made.session_id], \
        f"the rerun opened another session: {[(s.session_id, s.state) for s in sessions]}"
    assert cli.journal_entries() == []


def test_a_small_file_killed_before_the_reply_gets_the_version_its_call_made(
        cli, server, forwarder_factory, tmp_path):
    src = str(tmp_path / "small")
    digest = cs.write_random_file(src, 100 * KIB)
    name = cs.unique("request-id/put-kill")
    fwd, entry = killed_after_its_journal_entry(cli, forwarder_factory, src, name, "--json")

    # What the server would have stored had the PutObject arrived and its reply been lost.
    c = server.client()
    with open(src, "rb") as f:
        data = f.read()
    made = c.objects.PutObject(obj_pb.PutObjectRequest(
        name=name, data=data, sha256=bytes.fromhex(digest), request_id=entry["requestID"]), timeout=ss.TIMEOUT)

    fwd.retarget(server.port)
    second = cli.run("upload", src, name, "--json", address=fwd.address).expect(0)
    assert second.event("completed")["version"] == made.version == 1
    versions = c.list_versions(name).versions
    assert [v.version for v in versions] == [1], f"the rerun made another version: {versions}"
    assert cli.journal_entries() == []


def test_every_upload_sends_a_request_id(cli, server, postgres, tmp_path):
    src = str(tmp_path / "file")
    cs.write_random_file(src, SIZE)
    name = cs.unique("request-id/plain")
    cli.ok("upload", src, name, *FLAGS)
    out = postgres.run(f"SELECT request_id FROM upload_sessions WHERE object_name = '{name}'",
                       url=server.database_url).split()
    assert len(out) == 1 and len(out[0]) == 36, f"request ids stored: {out}"
