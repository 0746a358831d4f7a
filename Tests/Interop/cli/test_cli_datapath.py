"""The CLI on issue 12's data path: a small file goes up in one PutObject call; a
download checks partitions against the composite hash (no second pass) and refuses a
version whose declared hash proved wrong; and its sidecar journal grows linearly with
the number of partitions (counted in bytes the CLI process wrote, not in time)."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

import cli_support as cs
import storage_support as ss
from cli_support import KIB
from storage_support import info_pb


def test_small_file_is_one_put_and_round_trips(cli, server, tmp_path):
    data = os.urandom(4 * KIB)
    src = cs.write_file(str(tmp_path / "small"), data)
    name = cs.unique("datapath/small")
    done = cli.ok("upload", src, name, "--json").event("completed")
    assert (done["size"], done["sha256"], done["partitions"]) == (len(data), ss.hexsha(data), 1), done
    assert "session_id" not in done, "a one-partition file went through an upload session"
    c = server.client()
    try:
        assert c.all_sessions(open_only=True) == [], "PutObject left an open session behind"
        info = c.get_object(name)
        assert info.sha256_state == info_pb.SHA256_STATE_VERIFIED and info.sha256 == ss.sha(data)
    finally:
        c.close()
    out = str(tmp_path / "out")
    cli.ok("download", name, out)
    assert open(out, "rb").read() == data
    assert f"sha256: {ss.hexsha(data)} (verified)" in cli.ok("stat", name).out


def test_upload_hashes_each_byte_once_and_reports_the_servers_whole_hash(cli, server, tmp_path):
    """A file of several partitions is hashed per partition only: the session declares no
    whole-file SHA-256 (the client did not compute one), yet the summary reports the whole
    file's, which the server computed from the stored bytes and the composite vouches for.
    A download right after reports the same one."""
    psize = 64 * KIB
    data = os.urandom(6 * psize + 5)
    src = cs.write_file(str(tmp_path / "several"), data)
    name = cs.unique("datapath/once")
    up = cli.ok("upload", src, name, "--json", "--partition-size", str(psize), "--parallel", "4")
    done = up.event("completed")
    assert (done["size"], done["sha256"], done["partitions"]) == (len(data), ss.hexsha(data), 7), done
    c = server.client()
    try:
        session = c.get_session(up.event("started")["session_id"])
        assert session.object_sha256 == b"", "the client hashed the whole file besides its partitions"
        info = ss.settled(c, name)
        assert info.sha256 == ss.sha(data) and info.sha256_state == info_pb.SHA256_STATE_UNDECLARED, info
        assert info.composite_sha256 == ss.composite(data, psize)
    finally:
        c.close()
    out = str(tmp_path / "out")
    down = cli.ok("download", name, out, "--json", "--parallel", "4")
    assert open(out, "rb").read() == data
    assert down.event("completed")["sha256"] == ss.hexsha(data)


def test_an_upload_without_a_whole_hash_is_checked_by_its_composite(cli, server, tmp_path):
    """--no-whole-sha256: the session asks the server for no whole-object SHA-256, the upload
    ends at the commit, and the upload's and the download's summaries carry the composite
    that every partition was checked under; `sluice stat` says the hash was not computed."""
    psize = 64 * KIB
    data = os.urandom(5 * psize + 9)
    src = cs.write_file(str(tmp_path / "composite"), data)
    name = cs.unique("datapath/composite")
    composite = ss.composite(data, psize).hex()
    up = cli.ok("upload", src, name, "--json", "--no-whole-sha256", "--partition-size", str(psize),
                "--parallel", "4")
    done = up.event("completed")
    assert (done["size"], done["sha256"], done["composite_sha256"]) == (len(data), "", composite), done
    c = server.client()
    try:
        assert c.get_session(up.event("started")["session_id"]).skip_whole_sha256
        info = c.get_object(name)
        assert (info.sha256_state, info.sha256) == (info_pb.SHA256_STATE_NOT_COMPUTED, b""), info
    finally:
        c.close()
    assert "not computed" in cli.ok("stat", name).out
    out = str(tmp_path / "out")
    text = cli.ok("download", name, out)
    assert open(out, "rb").read() == data
    assert f"composite-sha256 {composite}" in text.out + text.stderr


def test_upload_help_says_only_partition_hashes_are_declared(cli_runner):
    """The help tells what the upload does: partitions hashed and declared, no whole-file hash
    declared (the server computes it; `sluice stat` then says the uploader declared none)."""
    text = " ".join(cli_runner.run("upload", "--help", connect=False).expect(0).out.split())
    assert "SHA-256 of every partition and of the whole" not in text, text
    assert "declares no whole-file SHA-256" in text, text


def test_download_refuses_a_version_whose_declared_hash_proved_wrong(cli, server, postgres, tmp_path):
    psize = 16 * KIB
    data = os.urandom(3 * psize)
    name = cs.unique("datapath/mismatch")
    c = server.client()
    try:
        ss.mismatched_version(c, postgres, server, name, data, psize)
    finally:
        c.close()
    assert "MISMATCH" in cli.ok("stat", name).out
    r = cli.run("download", name, str(tmp_path / "out")).expect(cs.EXIT_INTEGRITY)
    cs.assert_human_message(r.stderr, "the integrity error")
    assert not os.path.exists(tmp_path / "out")


def _blocks_written(cli: cs.CLI, *args) -> int:
    """Runs the CLI to the end; returns the bytes its process wrote to files (the kernel's
    block-output count of the child, which counts every page it dirtied)."""
    argv = cli._argv(args, True, "client", None)
    proc = subprocess.Popen(argv, env=cli.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    killer = threading.Timer(cs.RUN_TIMEOUT, proc.kill)     # bounded: a hung run is killed
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status) if "status" in locals() else -9
    assert os.waitstatus_to_exitcode(status) == 0, f"{argv} failed"
    return usage.ru_oublock * 512


def test_download_bookkeeping_is_linear_in_partitions(cli, tmp_path):
    """1,024 partitions of 512 bytes. Re-encoding the sidecar (every partition's hash) after
    each partition wrote ~1,024 x 68 KB = 70 MB; appending writes the description once
    plus a line per partition: well under 8 MiB in all, data file included."""
    count, psize = 1024, 512
    data = os.urandom(count * psize)
    src = cs.write_file(str(tmp_path / "many"), data)
    name = cs.unique("datapath/many")
    cli.ok("upload", src, name, "--partition-size", str(psize), "--parallel", "8", timeout=cs.BIG_RUN_TIMEOUT)
    out = str(tmp_path / "out")
    written = _blocks_written(cli, "download", name, out, "--parallel", "8")
    assert open(out, "rb").read() == data
    if written < len(data):
        pytest.skip("this kernel does not account the bytes a process writes (ru_oublock)")
    assert written < 8 * 1024 * 1024, f"the download wrote {written} bytes for a {len(data)}-byte object"
