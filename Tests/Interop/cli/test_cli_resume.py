"""Resuming: an upload whose CLI was SIGKILLed, or whose server was killed and
restarted, finishes on the next run of the same command in the same session, sending
only the partitions the server lacks; a file changed in between starts a fresh session;
a killed download resumes from its verified partitions."""

from __future__ import annotations

import json
import os

import cli_support as cs
import storage_support as ss
from cli_support import MIB

BIG = 200 * MIB + 4321
PSIZE = 4 * MIB
COUNT = ss.partition_count(BIG, PSIZE)
UPLOAD_FLAGS = ("--parallel", "2", "--partition-size", "4MiB", "--json")
WAIT = 300.0


def _some_done(minimum: int = 3):
    def predicate(events):
        done = cs.completed_partitions(events)
        return done if len(done) >= minimum else None
    return predicate


def _started(events):
    return next((e for e in events if e.get("event") == "started"), None)


def _sessions_for(client: ss.StorageClient, name: str) -> list:
    return [s for s in client.all_sessions() if s.object_name == name]


def _assert_resumed(second: cs.Result, session_id: str, stored_before: set[int]) -> set[int]:
    """The second run continued `session_id` and sent exactly the partitions the server
    lacked: none of `stored_before`, total − done in all. Returns what it sent."""
    start = second.event("started")
    assert start["session_id"] == session_id, f"a new session: {start}"
    assert start["resumed"] is True, start
    done = start["done_partitions"]
    assert done >= len(stored_before), (
        f"the rerun found {done} partitions done; the server had stored {len(stored_before)}")
    sent = cs.completed_partitions(second.events)
    assert len(sent) == len(set(sent)), f"a partition reported twice: {sent}"
    sent_set = set(sent)
    assert not (sent_set & stored_before), (
        f"partitions the server already held were sent again: {sorted(sent_set & stored_before)}")
    assert len(sent_set) == COUNT - done, (
        f"sent {len(sent_set)} partitions; {COUNT} − {done} done = {COUNT - done} were missing")
    summary = second.event("completed")
    assert summary["partitions_transferred"] == COUNT - done, summary
    assert summary["session_id"] == session_id and summary["resumed"] is True, summary
    already = [e for e in second.events
               if e.get("event") == "partition_completed" and e.get("already_stored")]
    assert not already, f"partitions sent although stored: {already}"
    return sent_set


def _download_and_compare(cli: cs.CLI, name: str, path: str, digest: str, **kwargs) -> None:
    cli.run("download", name, path, timeout=cs.BIG_RUN_TIMEOUT, **kwargs).expect(0)
    assert cs.sha256_file(path) == digest, "the object's bytes differ from the file's"


def test_resume_after_cli_sigkill(cli, server, tmp_path):
    src = str(tmp_path / "big")
    digest = cs.write_random_file(src, BIG)
    name = cs.unique("resume/cli-kill")

    first = cli.start("upload", src, name, *UPLOAD_FLAGS)
    start = first.wait_for(_started, WAIT, "the started event")
    session_id = start["session_id"]
    assert start["partitions"] == COUNT and start["resumed"] is False, start
    seen = first.wait_for(_some_done(3), WAIT, "three stored partitions")
    assert first.kill() == -9, "the upload finished before it could be killed"
    assert len(seen) < COUNT

    # The journal kept the session for the next run.
    entries = cli.journal_entries()
    assert [e["sessionID"] for e in entries] == [session_id], entries

    c = server.client()
    got = c.get_session(session_id)
    assert got.state == ss.OPEN
    stored = set(got.stored_partitions)
    assert set(seen) <= stored, f"acknowledged {sorted(seen)} but the server holds {sorted(stored)}"
    assert 0 < len(stored) < COUNT, f"{len(stored)} of {COUNT} stored: not a mid-upload kill"

    second = cli.run("upload", src, name, *UPLOAD_FLAGS, timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    _assert_resumed(second, session_id, stored)
    assert second.event("completed")["sha256"] == digest

    sessions = _sessions_for(c, name)
    assert [s.session_id for s in sessions] == [session_id], (
        f"the rerun opened another session: {[(s.session_id, s.state) for s in sessions]}")
    assert sessions[0].state == ss.COMMITTED and sessions[0].committed_version == 1
    assert cli.journal_entries() == [], "the journal entry outlived the commit"
    _download_and_compare(cli, name, str(tmp_path / "back"), digest)


def test_a_journal_whose_version_was_deleted_since_uploads_the_file_again(cli, server, tmp_path):
    """A killed upload's journal names its session. When that session was committed after all
    (here by another client sending the rest) and its version then deleted for good (by another
    device, say), the rerun does not fail on the deleted version: it was never finished here,
    so it starts over as a new upload, and the object ends up holding the file."""
    src = str(tmp_path / "big")
    digest = cs.write_random_file(src, BIG)
    name = cs.unique("resume/deleted-since")
    first = cli.start("upload", src, name, *UPLOAD_FLAGS)
    session_id = first.wait_for(_started, WAIT, "the started event")["session_id"]
    first.wait_for(_some_done(3), WAIT, "three stored partitions")
    assert first.kill() == -9, "the upload finished before it could be killed"

    c = server.client()
    with open(src, "rb") as f:
        data = f.read()
    stored = set(c.get_session(session_id).stored_partitions)
    for index in range(COUNT):
        if index not in stored:
            c.upload_partition(session_id, index, data[index * PSIZE:(index + 1) * PSIZE])
    assert c.commit(session_id).version == 1
    c.delete_object(name)

    second = cli.run("upload", src, name, *UPLOAD_FLAGS, timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    summary = second.event("completed")
    assert summary["session_id"] != session_id and summary["sha256"] == digest, summary
    assert cli.journal_entries() == [], "the journal entry outlived the commit"
    _download_and_compare(cli, name, str(tmp_path / "back"), digest)


def test_an_upload_without_a_whole_hash_resumes_as_one(cli, server, tmp_path):
    """--no-whole-sha256 is part of what the journal remembers: the same command, killed and
    run again, continues the session that asked for no whole hash, and the version it commits
    has none (the summary names the composite)."""
    src = str(tmp_path / "big")
    digest = cs.write_random_file(src, BIG)
    name = cs.unique("resume/no-whole-hash")
    flags = (*UPLOAD_FLAGS, "--no-whole-sha256")

    first = cli.start("upload", src, name, *flags)
    session_id = first.wait_for(_started, WAIT, "the started event")["session_id"]
    first.wait_for(_some_done(3), WAIT, "three stored partitions")
    assert first.kill() == -9, "the upload finished before it could be killed"
    c = server.client()
    stored = set(c.get_session(session_id).stored_partitions)
    assert c.get_session(session_id).skip_whole_sha256 and 0 < len(stored) < COUNT

    second = cli.run("upload", src, name, *flags, timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    _assert_resumed(second, session_id, stored)
    done = second.event("completed")
    assert done["sha256"] == "" and len(done["composite_sha256"]) == 64, done
    assert c.get_object(name).sha256_state == ss.info_pb.SHA256_STATE_NOT_COMPUTED
    _download_and_compare(cli, name, str(tmp_path / "back"), digest)


def test_resume_after_server_killed_and_restarted(storage, cli_runner, forwarder_factory, tmp_path):
    """sluiced is SIGKILLed mid-upload; the CLI (no retries) gives up with exit 6; the
    server comes back on the same database and blobs; the same command finishes the
    same session. The CLI talks to a fixed loopback address that forwards to whichever
    port the server has, so its journal (keyed by server address) still applies."""
    srv = storage.server()
    fwd = forwarder_factory(srv.port)
    cli = cli_runner
    cli.address = fwd.address
    src = str(tmp_path / "big")
    digest = cs.write_random_file(src, BIG)
    name = cs.unique("resume/server-kill")

    first = cli.start("upload", src, name, *UPLOAD_FLAGS, "--retries", "0")
    session_id = first.wait_for(_started, WAIT, "the started event")["session_id"]
    seen = first.wait_for(_some_done(3), WAIT, "three stored partitions")
    srv.kill()
    rc = first.wait(120)
    assert rc == cs.EXIT_TRANSIENT, f"exit {rc} after the server died:\n{first.explain()}"
    failed = [e for e in first.events if e.get("event") == "failed"]
    assert failed and failed[-1]["exit_code"] == cs.EXIT_TRANSIENT, first.explain()
    cs.assert_human_message(first.stderr(), "the CLI's error")

    srv.start()
    fwd.retarget(srv.port)
    c = srv.client()
    got = c.get_session(session_id)
    assert got.state == ss.OPEN
    stored = set(got.stored_partitions)
    assert set(seen) <= stored, f"acknowledged {sorted(seen)}, the restarted server holds {sorted(stored)}"
    assert len(stored) < COUNT

    second = cli.run("upload", src, name, *UPLOAD_FLAGS, timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    _assert_resumed(second, session_id, stored)
    assert [s.session_id for s in _sessions_for(c, name)] == [session_id]
    _download_and_compare(cli, name, str(tmp_path / "back"), digest)


def test_upload_rides_out_a_server_restart(storage, cli_runner, forwarder_factory, tmp_path):
    """With its default retries, one run of the CLI survives sluiced being killed and
    started again under it, and commits the right bytes in its one session."""
    srv = storage.server()
    fwd = forwarder_factory(srv.port)
    cli = cli_runner
    cli.address = fwd.address
    src = str(tmp_path / "big")
    digest = cs.write_random_file(src, BIG)
    name = cs.unique("resume/ride-out")

    run = cli.start("upload", src, name, *UPLOAD_FLAGS)
    session_id = run.wait_for(_started, WAIT, "the started event")["session_id"]
    run.wait_for(_some_done(3), WAIT, "three stored partitions")
    srv.kill()
    srv.start()
    fwd.retarget(srv.port)
    rc = run.wait(cs.BIG_RUN_TIMEOUT)
    assert rc == 0, f"the upload did not survive the restart (exit {rc}):\n{run.explain()}"
    summary = [e for e in run.events if e.get("event") == "completed"][-1]
    assert summary["session_id"] == session_id and summary["sha256"] == digest, summary
    c = srv.client()
    assert [s.session_id for s in _sessions_for(c, name)] == [session_id]
    _download_and_compare(cli, name, str(tmp_path / "back"), digest)


def test_changed_file_starts_a_fresh_session(cli, server, tmp_path):
    """Same size and same modification time, one byte different in a partition the
    server already holds: the old session must not be reused."""
    size = 64 * MIB + 99
    src = str(tmp_path / "file")
    cs.write_random_file(src, size)
    name = cs.unique("resume/changed")
    flags = ("--parallel", "2", "--partition-size", "1MiB", "--json")

    first = cli.start("upload", src, name, *flags)
    old_id = first.wait_for(_started, WAIT, "the started event")["session_id"]
    seen = first.wait_for(_some_done(2), WAIT, "two stored partitions")
    assert first.kill() == -9, "the upload finished before it could be killed"

    st = os.stat(src)
    victim = seen[0]                       # stored on the server: reuse would be wrong
    with open(src, "r+b") as f:
        f.seek(victim * MIB + 1234)
        b = f.read(1)
        f.seek(victim * MIB + 1234)
        f.write(bytes([b[0] ^ 0xFF]))
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.path.getsize(src) == size
    new_digest = cs.sha256_file(src)

    second = cli.run("upload", src, name, *flags, timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    start = second.event("started")
    assert start["session_id"] != old_id, "the changed file went into the old session"
    assert start["resumed"] is False, start
    # The new session may find partitions the killed run stored already held (only what
    # changed moves), never the changed one: that one is sent.
    assert victim in cs.completed_partitions(second.events), "the changed partition was not sent"
    assert second.event("completed")["sha256"] == new_digest

    c = server.client()
    states = {s.session_id: s.state for s in _sessions_for(c, name)}
    assert states.get(start["session_id"]) == ss.COMMITTED, states
    assert states.get(old_id) in (ss.ABORTED, ss.OPEN, ss.EXPIRED), states
    info = ss.settled(c, name)      # a parallel upload's whole hash is settled after its commit
    assert info.version == 1 and info.sha256.hex() == new_digest
    _download_and_compare(cli, name, str(tmp_path / "back"), new_digest)


def test_download_resumes_after_sigkill(cli, server, tmp_path):
    size = 96 * MIB + 17
    src = str(tmp_path / "src")
    digest = cs.write_random_file(src, size)
    name = cs.unique("resume/download")
    cli.run("upload", src, name, "--partition-size", "1MiB", timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    count = ss.partition_count(size, MIB)

    target = str(tmp_path / "out" / "copy.bin")
    os.makedirs(os.path.dirname(target))
    first = cli.start("download", name, target, "--parallel", "2", "--json")
    seen = first.wait_for(_some_done(4), WAIT, "four verified partitions")
    assert first.kill() == -9, "the download finished before it could be killed"
    assert not os.path.exists(target), "a killed download left a file at the target"
    # The partial file and its sidecar journal sit beside the target.
    partial = os.path.join(os.path.dirname(target), ".copy.bin.sluice-part")
    sidecar = partial + ".json"
    assert os.path.exists(partial) and os.path.exists(sidecar), os.listdir(os.path.dirname(target))
    # The sidecar: its description as one JSON line (written once), then one line per
    # partition verified since (appended: bookkeeping linear in partitions).
    with open(sidecar, "rb") as f:
        lines = f.read().splitlines()
    kept = set(json.loads(lines[0])["verified"]) | {int(line) for line in lines[1:] if line.strip()}
    # A partition is reported verified just before the sidecar records it, so a kill
    # can lose at most the ones in flight (--parallel 2).
    assert len(kept) >= len(seen) - 2, f"reported verified {sorted(seen)}, recorded {sorted(kept)}"
    assert kept, "no verified partition was recorded for a resume"

    second = cli.run("download", name, target, "--parallel", "2", "--json",
                     timeout=cs.BIG_RUN_TIMEOUT).expect(0)
    start = second.event("started")
    assert start["resumed"] is True, start
    done = start["done_partitions"]
    assert done == len(kept), f"{len(kept)} partitions were recorded verified, the rerun kept {done}"
    fetched = set(cs.completed_partitions(second.events))
    assert not (fetched & kept), f"kept partitions fetched again: {sorted(fetched & kept)}"
    assert len(fetched) == count - done
    assert second.event("completed")["partitions_transferred"] == count - done
    assert cs.sha256_file(target) == digest
    assert sorted(os.listdir(os.path.dirname(target))) == ["copy.bin"], (
        f"the partial file or its journal stayed: {os.listdir(os.path.dirname(target))}")
