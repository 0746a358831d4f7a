"""`sluice sync` counts what an upload put on the wire when the file changed while it was
uploaded and had to be sent again: the bytes and calls of the failed attempt too, with a
`retrying` event. A paced sluiced (--rate-bytes-in) makes the upload last long enough for
the file to be changed in the middle of it."""

from __future__ import annotations

import os
import time

import pytest

import cli_support as cs
from cli_support import MIB

SIZE = 32 * MIB
RATE = 8 * MIB                 # bytes per second the server takes in: the upload lasts ~4 s


@pytest.fixture(scope="module")
def paced_server(module_storage):
    return module_storage.server(label="sluiced-sync-paced", rate_bytes_in=RATE)


@pytest.fixture
def pcli(cli_runner, paced_server) -> cs.CLI:
    paced_server.assert_alive()
    cli_runner.address = paced_server.address
    return cli_runner


def _sync_changing(pcli, tmp_path, name: str, change):
    """`sluice sync` of a folder holding one SIZE file NAME, which `change(path)` changes while
    part of it is on its way; the run must exit 0. Returns the run, the folder, the file's path
    and the remote prefix."""
    a = str(tmp_path / "a")
    os.makedirs(a)
    path = os.path.join(a, name)
    cs.write_random_file(path, SIZE)
    prefix = cs.unique("sync-" + name.split(".")[0]) + "/"
    proc = pcli.start("sync", a, prefix, "--json", "--device", "dev")
    try:
        time.sleep(1.5)                                     # part of the file is on its way
        change(path)
        assert proc.wait(120) == 0, proc.explain()
    finally:
        proc.close()
    return proc, a, path, prefix


def _rewrite_the_end(path: str) -> None:
    with open(path, "r+b") as f:
        f.seek(SIZE - 4096)
        f.write(os.urandom(4096))


def test_an_upload_sent_again_counts_every_byte_it_sent(pcli, tmp_path):
    proc, a, path, prefix = _sync_changing(pcli, tmp_path, "moving.bin", _rewrite_the_end)
    retried = [e for e in proc.events if e["event"] == "retrying"]
    assert retried and retried[0]["path"] == "moving.bin", proc.explain()
    summary = [e for e in proc.events if e["event"] == "summary"][0]
    upload = [e for e in proc.events if e["event"] == "upload"][0]
    # The first attempt sent a part of the file, the second at least the changed partition.
    assert summary["bytes_sent"] > SIZE and upload["bytes"] == summary["bytes_sent"], proc.explain()
    assert summary["calls"] > 2 + SIZE // (8 * MIB), proc.explain()
    assert cs.sha256_file(path) in pcli.ok("stat", prefix + "moving.bin").out
    # An earlier attempt's own version is not another device's: no conflict copy of it.
    assert not [e for e in proc.events if e["event"] == "conflict"], proc.explain()
    assert os.listdir(a) == ["moving.bin"]


def _replace_with_folder(path: str) -> None:
    os.unlink(path)
    os.mkdir(path)
    with open(os.path.join(path, "inside.txt"), "w") as f:
        f.write("inside\n")


def _replace_with_fifo(path: str) -> None:
    os.unlink(path)
    os.mkfifo(path)


def _replace_with_link(path: str) -> None:
    os.unlink(path)
    os.symlink("elsewhere.bin", path)


@pytest.mark.parametrize("replace", [_replace_with_folder, _replace_with_fifo, _replace_with_link],
                         ids=["folder", "fifo", "symlink"])
def test_a_file_replaced_while_it_is_uploaded_is_left_for_the_next_pass(pcli, tmp_path, replace):
    """A file that becomes a folder (or a FIFO, a link) while it is uploaded is a race like
    one deleted meanwhile: `deferred`, exit 0; not the usage error `sluice upload DIR` is."""
    proc, a, _, prefix = _sync_changing(pcli, tmp_path, "morph.bin", replace)
    deferred = [e for e in proc.events if e["event"] == "deferred"]
    assert [e["path"] for e in deferred] == ["morph.bin"], proc.explain()
    assert deferred[0]["detail"] == "the local file went away meanwhile", proc.explain()
    assert not [e for e in proc.events if e["event"] == "failed"], proc.explain()
    # The next pass sees what is there now.
    again = pcli.ok("sync", a, prefix, "--json", "--device", "dev")
    if replace is _replace_with_folder:
        assert "inside" in pcli.ok("download", prefix + "morph.bin/inside.txt", "--stdout").out, again.out


def _abort_the_open_session(pcli, who: str) -> None:
    """Aborts the caller's upload session as soon as one is open (`sluice sessions abort`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = pcli.ok("sessions", "list", "--open", who=who).out.split()
        if listed:
            pcli.ok("sessions", "abort", listed[0], who=who)
            return
        time.sleep(0.1)
    raise AssertionError("no upload session was opened within 30 s")


@pytest.mark.parametrize("shared", [False, True], ids=["own folder", "shared folder"])
def test_an_upload_whose_session_is_aborted_fails_and_counts_what_it_sent(pcli, tmp_path, shared):
    """The user stops an upload that sync is making (`sluice sessions abort`): that file fails
    (exit 1) and is sent by the next pass. In another's folder too: an aborted session is no
    sign that the owner changed the grant, once the grants show they did not. The summary
    counts the bytes the aborted upload put on the wire."""
    a = str(tmp_path / "a")
    os.makedirs(a)
    prefix = cs.unique("sync-aborted") + "/"
    who, extra = "client", []
    if shared:
        pcli.ok("whoami", who="client2")                   # bob is known once he called
        pcli.ok("share", prefix, "sluice-client2", "--write")
        who, extra = "client2", ["--owner", "sluice-client"]
    path = os.path.join(a, "big.bin")
    cs.write_random_file(path, SIZE)
    proc = pcli.start("sync", a, prefix, "--json", "--device", "dev", *extra, who=who)
    try:
        _abort_the_open_session(pcli, who)
        assert proc.wait(120) == 1, proc.explain()
    finally:
        proc.close()
    failed = [e for e in proc.events if e["event"] == "failed"]
    assert [e["path"] for e in failed] == ["big.bin"] and "aborted" in failed[0]["detail"], proc.explain()
    assert not [e for e in proc.events if e["event"] == "upload"], proc.explain()
    summary = [e for e in proc.events if e["event"] == "summary"][0]
    assert summary["failed"] == 1 and summary["bytes_sent"] > 0, proc.explain()

    again = pcli.ok("sync", a, prefix, "--json", "--device", "dev", *extra, who=who)
    assert [e["path"] for e in again.events if e["event"] == "upload"] == ["big.bin"], again.out
    assert cs.sha256_file(path) in pcli.ok("stat", prefix + "big.bin").out
