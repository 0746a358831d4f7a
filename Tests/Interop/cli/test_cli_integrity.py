"""Integrity: the CLI never hands over bytes that do not match their SHA-256.

Bits cannot be flipped in flight (TLS would just fail the connection), so corruption is
made at rest — one byte of a stored partition's blob file — and, for uploads, by
changing the local file while it is being sent (after it was hashed)."""

from __future__ import annotations

import os

import pytest

import cli_support as cs
import storage_support as ss
from cli_support import KIB, MIB

PSIZE = 256 * KIB
PARTS = 6
CORRUPT = 3          # a partition in the middle: earlier ones are fine, later ones too


def _corrupt_stored_partition(server, data: bytes, index: int) -> str:
    """Flips one byte of the blob holding partition `index` (found by content);
    returns its path."""
    part = ss.split(data, PSIZE)[index]
    paths = ss.blob_inventory(server.blobs_dir).get(ss.hexsha(part), [])
    assert len(paths) == 1, f"expected one blob file holding partition {index}, found {paths}"
    path = paths[0]
    with open(path, "r+b") as f:
        f.seek(len(part) // 2)
        b = f.read(1)
        f.seek(len(part) // 2)
        f.write(bytes([b[0] ^ 0x01]))
    assert ss.blob_copies(server.blobs_dir, part) == 0
    return path


@pytest.fixture
def corrupted(storage, cli_runner, tmp_path):
    """An object of 6 partitions on its own sluiced whose partition 3 is corrupt on disk."""
    srv = storage.server()
    cli_runner.address = srv.address
    data = os.urandom(PARTS * PSIZE)
    src = cs.write_file(str(tmp_path / "src"), data)
    name = cs.unique("integrity/at-rest")
    cli_runner.ok("upload", src, name, "--partition-size", "256KiB")
    _corrupt_stored_partition(srv, data, CORRUPT)
    return srv, name, data


def _says_which_partition(text: str) -> None:
    assert f"partition {CORRUPT}" in text, f"the message does not name partition {CORRUPT}:\n{text}"


def test_download_of_corrupt_partition_fails_and_leaves_no_target(storage, cli_runner, corrupted, tmp_path):
    srv, name, data = corrupted
    target = tmp_path / "out" / "file.bin"
    target.parent.mkdir()
    r = cli_runner.run("download", name, str(target)).expect(cs.EXIT_INTEGRITY)
    assert not target.exists(), "a corrupt download reached the target path"
    _says_which_partition(r.stderr)
    cs.assert_human_message(r.stderr, "the integrity error")
    # The CLI reads unchecked by the server (it hashes every byte itself) and, on the mismatch,
    # asks again with the server checking: the server found and recorded the damage.
    found = storage.postgres.run(
        f"SELECT detected_by FROM damaged_blobs WHERE encode(sha256, 'hex') = "
        f"'{ss.hexsha(ss.split(data, PSIZE)[CORRUPT])}'", url=srv.database_url).split()
    assert found == ["read"], found
    # The same with --json: the last event is the failure, with exit code 5.
    r = cli_runner.run("download", name, str(target), "--json").expect(cs.EXIT_INTEGRITY)
    failed = r.event("failed")
    assert failed["exit_code"] == cs.EXIT_INTEGRITY, failed
    _says_which_partition(failed["error"])
    assert not target.exists()
    assert CORRUPT not in cs.completed_partitions(r.events), "the corrupt partition was reported verified"
    # A third run resumes from what the others kept, and still refuses.
    r = cli_runner.run("download", name, str(target), "--json").expect(cs.EXIT_INTEGRITY)
    assert not target.exists(), "a resumed download of a corrupt object reached the target"


def test_download_in_one_run_keeps_what_precedes_the_corrupt_partition(cli_runner, corrupted, tmp_path):
    """With --parallel 1 all six partitions are one run, read with one call: the partitions
    before the corrupt one are verified as they arrive, the corrupt one is fetched once
    more on its own and reported, and nothing reaches the target."""
    _, name, _ = corrupted
    target = tmp_path / "file.bin"
    r = cli_runner.run("download", name, str(target), "--parallel", "1", "--json").expect(cs.EXIT_INTEGRITY)
    _says_which_partition(r.event("failed")["error"])
    assert not target.exists(), "a corrupt download reached the target path"
    assert cs.completed_partitions(r.events) == list(range(CORRUPT)), r.events


def test_stdout_download_stops_before_the_corrupt_partition(cli_runner, corrupted, tmp_path):
    _, name, data = corrupted
    out = str(tmp_path / "stdout.bin")
    r = cli_runner.run("download", name, "--stdout", "--parallel", "2",
                       stdout_path=out).expect(cs.EXIT_INTEGRITY)
    _says_which_partition(r.stderr)
    cs.assert_human_message(r.stderr, "the integrity error")
    written = open(out, "rb").read()
    assert len(written) <= CORRUPT * PSIZE, (
        f"{len(written)} bytes written: past the start of corrupt partition {CORRUPT} "
        f"(byte {CORRUPT * PSIZE})")
    ss.assert_same_bytes(written, data[:len(written)], "what --stdout wrote")
    assert len(written) % PSIZE == 0, "a partition was written in part"


def test_healthy_object_still_downloads_beside_a_corrupt_one(cli_runner, corrupted, tmp_path):
    """The failure is about that object only: the server and the CLI stay usable."""
    srv, _, _ = corrupted
    data = os.urandom(2 * PSIZE + 3)
    src = cs.write_file(str(tmp_path / "ok-src"), data)
    name = cs.unique("integrity/fine")
    cli_runner.ok("upload", src, name, "--partition-size", "256KiB")
    dst = str(tmp_path / "ok-dst")
    cli_runner.ok("download", name, dst)
    assert open(dst, "rb").read() == data
    srv.assert_alive()


# --------------------------------------------------------------------------
# The local file changes while it is being uploaded
# --------------------------------------------------------------------------

UP_SIZE = 128 * MIB
UP_FLAGS = ("--partition-size", "1MiB", "--parallel", "1", "--json")
CHANGE_FROM = 16 * MIB            # partitions 16.. are changed after partition 0 is stored
CHANGED_UPLOAD_TIMEOUT = 60.0


def _first_partition_stored(events):
    return cs.completed_partitions(events) or None


def _upload_while_changing(cli: cs.CLI, tmp_path, change) -> tuple[cs.Running, str, int]:
    src = str(tmp_path / "changing")
    cs.write_random_file(src, UP_SIZE)
    name = cs.unique("integrity/changing")
    run = cli.start("upload", src, name, *UP_FLAGS)
    run.wait_for(_first_partition_stored, 300, "the first stored partition")
    change(src)
    # 128 MiB take seconds; a CLI still running after a minute is stuck.
    rc = run.wait(CHANGED_UPLOAD_TIMEOUT)
    assert rc != 0, ("the upload succeeded although the file changed under it (did it finish "
                     f"before the change?):\n{run.explain()}")
    return run, name, rc


def _overwrite_tail(path: str) -> None:
    with open(path, "r+b") as f:
        f.seek(CHANGE_FROM)
        left = UP_SIZE - CHANGE_FROM
        while left > 0:
            block = os.urandom(min(8 * MIB, left))
            f.write(block)
            left -= len(block)
    assert os.path.getsize(path) == UP_SIZE


def _truncate(path: str) -> None:
    os.truncate(path, CHANGE_FROM)


@pytest.mark.parametrize("change", [_overwrite_tail, _truncate], ids=["overwritten", "truncated"])
def test_file_changed_during_upload_is_not_committed(cli, tmp_path, change):
    run, name, rc = _upload_while_changing(cli, tmp_path, change)
    failed = [e for e in run.events if e.get("event") == "failed"]
    assert failed, f"no failed event:\n{run.explain()}"
    assert rc == cs.EXIT_INTEGRITY and failed[-1]["exit_code"] == cs.EXIT_INTEGRITY, (
        f"exit {rc}, expected 5 (integrity):\n{run.explain()}")
    cs.assert_human_message(run.stderr(), "the error")
    assert "committing" not in [e.get("event") for e in run.events], "it went on to commit"
    cli.run("stat", name).expect(cs.EXIT_NOT_FOUND)


# --------------------------------------------------------------------------
# The object's composite hash does not match its (sound) partitions
# --------------------------------------------------------------------------

def test_whole_object_mismatch_is_refused(storage, postgres, cli_runner, tmp_path):
    """Every partition verifies but the object's composite SHA-256 — what the CLI checks
    the partition list against, instead of hashing the file a second time — is wrong
    (changed in the database): the file download is refused and discarded; --stdout,
    which cannot take back what it wrote, still exits 5."""
    srv = storage.server()
    cli = cli_runner
    cli.address = srv.address
    data = os.urandom(3 * PSIZE + 11)
    src = cs.write_file(str(tmp_path / "src"), data)
    name = cs.unique("integrity/whole")
    cli.ok("upload", src, name, "--partition-size", "256KiB")
    wrong = bytes(32)
    changed = postgres.run(
        f"UPDATE object_versions SET composite_sha256 = '\\x{wrong.hex()}'::bytea "
        f"WHERE composite_sha256 = '\\x{ss.composite(data, PSIZE).hex()}'::bytea RETURNING version",
        url=srv.database_url)
    assert changed.strip() == "1", f"could not change the stored composite (schema changed?): {changed!r}"

    out = tmp_path / "out"
    out.mkdir()
    r = cli.run("download", name, str(out / "file")).expect(cs.EXIT_INTEGRITY)
    cs.assert_human_message(r.stderr, "the integrity error")
    assert wrong.hex() in r.stderr or "SHA-256" in r.stderr or "sha256" in r.stderr.lower(), r.stderr
    assert os.listdir(out) == [], f"a download that failed its whole-object check left {os.listdir(out)}"

    r = cli.run("download", name, "--stdout", stdout_path=str(tmp_path / "stdout")).expect(
        cs.EXIT_INTEGRITY)
    cs.assert_human_message(r.stderr, "the integrity error")
