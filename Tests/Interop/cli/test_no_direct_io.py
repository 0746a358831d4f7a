"""Blobs of 1 MiB and more, and the CLI's downloads of large partitions, are written past the
page cache (O_DIRECT) where the file system allows it. On one that refuses direct I/O (ramfs,
which refuses it at open) both fall back to ordinary writes: every byte still lands.

The blob store and the download target sit on a ramfs this test mounts (root only; skips
otherwise)."""

from __future__ import annotations

import contextlib
import os

import pytest

import cli_support as cs
import interop_support as sup
import storage_support as ss
from storage_support import MIB


@contextlib.contextmanager
def ramfs(path: str):
    os.makedirs(path, exist_ok=True)
    with sup.mounted(["-t", "ramfs", "ramfs"], path, "a ramfs"):
        probe = os.path.join(path, "probe")
        with pytest.raises(OSError):
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600))
        yield path


def test_large_partitions_land_on_a_file_system_without_direct_io(storage, cli_runner, tmp_path):
    with ramfs(str(tmp_path / "volume")) as volume:
        blobs = os.path.join(volume, "blobs")
        os.makedirs(blobs)
        srv = storage.server(blobs_dir=blobs, label="sluiced-ramfs")
        try:
            c = srv.client()
            data = ss.random_bytes(3 * MIB + 4097, seed=5)
            s = c.create_session("ramfs/large", data, 2 * MIB)
            c.upload_partitions(s.session_id, data, 2 * MIB)
            c.commit(s.session_id)
            ss.assert_same_bytes(c.read("ramfs/large"), data, "an object stored on a ramfs")

            cli_runner.address = srv.address
            out = os.path.join(volume, "downloaded")
            cli_runner.ok("download", "ramfs/large", out)
            assert open(out, "rb").read() == data, "a download onto a ramfs"
            srv.assert_alive()
        finally:
            srv.stop()
