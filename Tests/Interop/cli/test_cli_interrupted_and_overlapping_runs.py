"""A transfer stopped by a signal, and two runs of the same transfer at once.

Ctrl-C and SIGTERM (a service manager, `timeout`) stop a transfer alike: exit 130, and the
same command resumes it. Two runs of one transfer, as a user who starts a command again in
another terminal meets them: the second is refused at once (exit 2, saying which run holds what), and
the first finishes as if alone. Without that, two downloads into one target wrote one partial
file, and the first renamed a mix of both onto the target with exit 0; two uploads of one file
fed one session, and whichever finished second failed. A paced sluiced makes the first run
last long enough for the second to start."""

from __future__ import annotations

import os
import signal
import time

import pytest

import cli_support as cs
from cli_support import MIB

SIZE = 24 * MIB
RATE = 8 * MIB                 # bytes per second the server takes in and sends: ~3 s a transfer


@pytest.fixture(scope="module")
def paced_server(module_storage):
    return module_storage.server(label="sluiced-concurrent-runs", rate_bytes_in=RATE, rate_bytes_out=RATE)


@pytest.fixture
def pcli(cli_runner, paced_server) -> cs.CLI:
    paced_server.assert_alive()
    cli_runner.address = paced_server.address
    return cli_runner


def _started(pcli, until, *args):
    """The command, started, once `until()` says its transfer is under way."""
    proc = pcli.start(*args)
    deadline = time.monotonic() + 30
    while not until():
        assert proc.alive() and time.monotonic() < deadline, proc.explain()
        time.sleep(0.05)
    return proc


def test_a_second_download_into_the_same_target_is_refused(pcli, tmp_path):
    first_bytes, second_bytes = str(tmp_path / "v1"), str(tmp_path / "v2")
    cs.write_random_file(first_bytes, SIZE)
    cs.write_random_file(second_bytes, SIZE)
    name = cs.unique("concurrent/download")
    pcli.ok("upload", first_bytes, name)
    pcli.ok("upload", second_bytes, name)
    downloads = tmp_path / "downloads"
    os.makedirs(downloads)
    target, partial = str(downloads / "out"), str(downloads / ".out.sluice-part.json")
    proc = _started(pcli, lambda: os.path.exists(partial), "download", name, target, "--version", "1")
    try:
        second = pcli.run("download", name, target, "--version", "2").expect(cs.EXIT_USAGE)
        assert "another download into" in second.stderr and target in second.stderr, second.stderr
        cs.assert_human_message(second.stderr)
        assert proc.wait(120) == 0, proc.explain()
    finally:
        proc.close()
    assert cs.sha256_file(target) == cs.sha256_file(first_bytes)
    assert os.listdir(downloads) == ["out"]
    # Once the first is done, the same download runs as ever.
    pcli.ok("download", name, target, "--version", "2")
    assert cs.sha256_file(target) == cs.sha256_file(second_bytes)


def test_a_second_upload_of_the_same_file_to_the_same_name_is_refused(pcli, tmp_path):
    source = str(tmp_path / "big.bin")
    cs.write_random_file(source, SIZE)
    name = cs.unique("concurrent/upload")
    proc = _started(pcli, lambda: pcli.ok("sessions", "list", "--open").out.strip(), "upload", source, name)
    try:
        second = pcli.run("upload", source, name).expect(cs.EXIT_USAGE)
        assert "another upload of" in second.stderr and name in second.stderr, second.stderr
        cs.assert_human_message(second.stderr)
        assert proc.wait(120) == 0, proc.explain()
    finally:
        proc.close()
    assert cs.sha256_file(source) in pcli.ok("stat", name).out
    assert len(pcli.ok("versions", name).out.strip().splitlines()) == 1
    # The lock went with the run: the same upload runs again.
    pcli.ok("upload", source, name)
    assert len(pcli.ok("versions", name).out.strip().splitlines()) == 2


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_an_upload_which_the_same_command_resumes(pcli, tmp_path, stop):
    source = str(tmp_path / "big.bin")
    cs.write_random_file(source, SIZE)
    name = cs.unique("stopped/upload")
    proc = _started(pcli, lambda: pcli.ok("sessions", "list", "--open").out.strip(), "upload", source, name)
    try:
        proc.proc.send_signal(stop)
        assert proc.wait(60) == 130, proc.explain()
        assert "interrupted; run the same command again to resume" in proc.stderr(), proc.explain()
    finally:
        proc.close()
    resumed = pcli.ok("upload", source, name, "--json")
    assert resumed.event("completed")["resumed"] is True, resumed.out
    assert cs.sha256_file(source) in pcli.ok("stat", name).out
    assert len(pcli.ok("versions", name).out.strip().splitlines()) == 1


def _uploaded(pcli, tmp_path, label: str):
    """An object of SIZE random bytes, and an empty folder to download it into; returns the
    source file, the folder, the target in it, the target's partial sidecar and the name."""
    source = str(tmp_path / "src.bin")
    cs.write_random_file(source, SIZE)
    downloads = tmp_path / "downloads"
    os.makedirs(downloads)
    name = cs.unique(label)
    pcli.ok("upload", source, name)
    return source, downloads, str(downloads / "out"), str(downloads / ".out.sluice-part.json"), name


def test_a_partial_download_of_an_object_deleted_meanwhile_is_not_left_behind(pcli, tmp_path):
    # The version goes while it is downloaded: no run could ever finish the partial file, which
    # used to stay beside the target for good.
    _, downloads, target, partial, name = _uploaded(pcli, tmp_path, "deleted/meanwhile")
    # One partition at a time: those not begun when the version goes cannot be read.
    proc = _started(pcli, lambda: os.path.exists(partial), "download", name, target, "--parallel", "1")
    try:
        pcli.ok("rm", name)
        assert proc.wait(60) == cs.EXIT_NOT_FOUND, proc.explain()
    finally:
        proc.close()
    assert os.listdir(downloads) == [], os.listdir(downloads)


def test_a_download_that_finds_nothing_leaves_another_partial_alone(pcli, tmp_path):
    # A version that does not exist (a typo), or a name another principal does not have, says
    # nothing of the partial file an interrupted download of what does exist left there.
    source, _, target, partial, name = _uploaded(pcli, tmp_path, "partial/kept")
    proc = _started(pcli, lambda: os.path.exists(partial), "download", name, target)
    proc.kill()
    proc.close()
    pcli.run("download", name, target, "--version", "99").expect(cs.EXIT_NOT_FOUND)
    pcli.run("download", name, target, who="client2").expect(cs.EXIT_NOT_FOUND)
    assert os.path.exists(partial)
    resumed = pcli.ok("download", name, target, "--json")
    assert resumed.event("completed")["resumed"] is True, resumed.out
    assert cs.sha256_file(target) == cs.sha256_file(source)
