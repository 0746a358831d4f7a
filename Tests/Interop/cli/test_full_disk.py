"""A full blob volume is reported as what it is: RESOURCE_EXHAUSTED "the blob store is
out of space" (trailer sluice-exhausted: space), not "busy, send it again"; the CLI
says the server is out of space and exits 7 without hammering it with retries. What
was stored stays intact, and once space is freed the same upload resumes. On the client's
side, a sync into a full directory says which one and keeps its files as they were.

The blob store sits on a small tmpfs this test mounts (root only; skips otherwise)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

import cli_support as cs
import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, MIB, expect_error

TMPFS_SIZE = 8 * MIB


def small_filesystem(path: str, size: int = TMPFS_SIZE):
    os.makedirs(path, exist_ok=True)
    return sup.mounted(["-t", "tmpfs", "-o", f"size={size}", "tmpfs"], path, "a tmpfs")


def fill(path: str) -> str:
    """Fills the file system holding `path` to the last byte; returns the filler's path."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (64 * KIB, 4 * KIB, 1):
            for _ in range(100_000):        # bounded: far more than any tmpfs here holds
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    st = os.statvfs(path)
    assert st.f_bavail * st.f_frsize < 64 * KIB, "the file system is not full"
    return filler


@pytest.fixture
def full_disk_server(storage, tmp_path):
    with small_filesystem(str(tmp_path / "volume")) as volume:
        blobs = os.path.join(volume, "blobs")
        os.makedirs(blobs)
        srv = storage.server(blobs_dir=blobs, label="sluiced-full-disk")
        try:
            yield srv, volume
        finally:
            srv.stop()


def test_full_blob_store_answers_resource_exhausted_and_resumes(full_disk_server):
    srv, volume = full_disk_server
    c = srv.client()
    kept = ss.random_bytes(512 * KIB, seed=1)
    c.put_object("disk/kept", kept, partition_size=128 * KIB)

    filler = fill(volume)
    data = ss.random_bytes(1 * MIB, seed=2)
    s = c.create_session("disk/new", data, 256 * KIB)
    parts = ss.split(data, 256 * KIB)
    e = expect_error(Code.RESOURCE_EXHAUSTED, c.upload_partition, s.session_id, 0, parts[0])
    assert "out of space" in e.details(), e.details()
    assert "send it again" not in e.details().split(";")[0], e.details()
    trailers = dict(e.trailing_metadata() or ())
    assert trailers.get("sluice-exhausted") == "space", trailers
    assert trailers.get("sluice-request-id") or dict(e.initial_metadata() or ()).get(
        "sluice-request-id"), "no sluice-request-id header"

    ss.assert_same_bytes(c.read("disk/kept"), kept, "an object stored before the disk filled")
    os.remove(filler)
    c.upload_partitions(s.session_id, data, 256 * KIB)
    c.commit(s.session_id)
    ss.assert_same_bytes(c.read("disk/new"), data, "the upload resumed after space was freed")
    ss.assert_same_bytes(c.read("disk/kept"), kept, "the object stored first")
    srv.assert_alive()


def test_cli_says_the_server_is_out_of_space_and_resumes(full_disk_server, cli_runner, tmp_path):
    srv, volume = full_disk_server
    cli_runner.address = srv.address
    src = str(tmp_path / "big")
    cs.write_random_file(src, 2 * MIB)
    filler = fill(volume)
    started = time.monotonic()
    r = cli_runner.run("upload", src, "disk/cli", "--partition-size", "256KiB", timeout=120)
    assert r.rc == 7, r.explain()
    assert "out of space" in r.stderr.lower(), r.explain()
    assert time.monotonic() - started < 60, "the CLI kept retrying a full server"
    os.remove(filler)
    cli_runner.ok("upload", src, "disk/cli", "--partition-size", "256KiB", timeout=120)
    out = str(tmp_path / "out")
    cli_runner.ok("download", "disk/cli", out)
    assert cs.sha256_file(out) == cs.sha256_file(src)


def test_space_running_out_inside_a_large_partition(full_disk_server):
    """Partitions of 1 MiB and more are written past the page cache (O_DIRECT); the disk
    filling up in the middle of one is the same RESOURCE_EXHAUSTED, the partial staging file
    is removed (its space comes back), and the partition is stored whole once space is freed."""
    srv, volume = full_disk_server
    c = srv.client()
    filler = fill(volume)
    # Leave room for about half of a 2 MiB partition.
    os.truncate(filler, max(0, os.path.getsize(filler) - 1 * MIB))
    free_before = os.statvfs(volume).f_bavail

    data = ss.random_bytes(3 * MIB + 123, seed=3)
    s = c.create_session("disk/large", data, 2 * MIB)
    parts = ss.split(data, 2 * MIB)
    e = expect_error(Code.RESOURCE_EXHAUSTED, c.upload_partition, s.session_id, 0, parts[0])
    assert "out of space" in e.details(), e.details()
    assert dict(e.trailing_metadata() or ()).get("sluice-exhausted") == "space"
    assert os.statvfs(volume).f_bavail >= free_before, "the partial staging file kept its space"

    os.remove(filler)
    c.upload_partitions(s.session_id, data, 2 * MIB)
    c.commit(s.session_id)
    ss.assert_same_bytes(c.read("disk/large"), data, "a large partition stored after space was freed")
    srv.assert_alive()


def test_an_older_store_on_a_full_disk_still_starts(storage, tmp_path):
    """A blob folder an older sluiced made (blobs two fan-out levels down, no PATH/layout file,
    no PATH/database-id mark) opens on a full disk as it did before: its layout is read from its
    blobs and its database from the blobs that database knows, until the files can be written,
    and new blobs go two levels down beside the old ones."""
    with small_filesystem(str(tmp_path / "volume")) as volume:
        blobs = os.path.join(volume, "blobs")
        old = ss.random_bytes(1000, seed=3)
        digest = ss.hexsha(old)
        first = storage.server(blobs_dir=blobs, label="sluiced-full-old-store-made")
        first.client().put_object("disk/before", old)
        first.stop()
        # What an older sluiced left: the blob two levels down, and neither record file.
        folder = os.path.join(blobs, "blobs", "p1", digest[:2], digest[2:4])
        os.makedirs(folder)
        os.rename(os.path.join(blobs, "blobs", "p1", digest[:2], digest), os.path.join(folder, digest))
        for record in ("layout", "database-id"):
            os.remove(os.path.join(blobs, record))
        filler = fill(volume)
        srv = storage.server(blobs_dir=blobs, database_url=first.database_url, label="sluiced-full-old-store")
        try:
            srv.assert_alive()
            os.remove(filler)
            c = srv.client()
            data = ss.random_bytes(2000, seed=4)
            c.put_object("disk/after", data)
            ss.assert_same_bytes(c.read("disk/after"), data, "an object stored once space was freed")
            ss.assert_same_bytes(c.read("disk/before"), old, "the older store's object")
            new = ss.hexsha(data)
            placed = [d for d, _, files in os.walk(os.path.join(blobs, "blobs")) if new in files]
            assert [os.path.relpath(d, os.path.join(blobs, "blobs")).count(os.sep) for d in placed] == [2], placed
        finally:
            srv.stop()



def test_sync_into_a_full_directory_names_it_and_keeps_what_was_there(cli, tmp_path):
    """A sync whose download does not fit: the message names the directory and file (not the
    descriptor path the client writes through), the local file keeps its last good content,
    and once there is room the next pass brings the new version."""
    prefix = cs.unique("sync-full") + "/"
    with small_filesystem(str(tmp_path / "small")) as small:
        local = os.path.join(small, "dir")
        os.makedirs(local)
        with open(os.path.join(local, "kept.txt"), "wb") as f:
            f.write(b"the last good content\n")
        cli.ok("sync", local, prefix, "--device", "small")
        bigger = str(tmp_path / "bigger")
        cs.write_random_file(bigger, TMPFS_SIZE + MIB)             # cannot fit the volume
        cli.ok("upload", bigger, prefix + "kept.txt")

        r = cli.run("sync", local, prefix, "--device", "small")
        assert r.rc == cs.EXIT_OTHER, r.explain()
        said = r.out + r.stderr
        assert "/proc/self/fd" not in said, r.explain()
        assert f"cannot write {local}/" in said and "No space left on device" in said, r.explain()
        with open(os.path.join(local, "kept.txt"), "rb") as f:
            assert f.read() == b"the last good content\n"

        subprocess.run(["mount", "-o", f"remount,size={4 * TMPFS_SIZE}", small], check=True)
        cli.ok("sync", local, prefix, "--device", "small")
        assert cs.sha256_file(os.path.join(local, "kept.txt")) == cs.sha256_file(bigger)
