"""The metadata database's disk is full (PostgreSQL's SQLSTATE 53100, disk_full): writes are
refused as the full blob store's are, with RESOURCE_EXHAUSTED, the trailer
`sluice-exhausted: space` and words a person can act on (never INTERNAL); what is stored stays
readable; once space returns, the same calls work again without a restart.

The database lives in a tablespace on a small tmpfs (so only its tables run out of space, not
PostgreSQL's log, whose exhaustion makes PostgreSQL itself stop); mounting needs root, as the
CLI's full-disk tests do."""

from __future__ import annotations

import contextlib
import os
import pwd
import tempfile

import grpc

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB

pytestmark = ss.only_blob_stores("disk")   # the database's disk, whatever the blob store

TABLESPACE_BYTES = 64 << 20


@contextlib.contextmanager
def database_on_a_small_disk(postgres):
    """A new database whose tables live on a tmpfs of TABLESPACE_BYTES; yields its URL and the
    tmpfs's folder, where a filler file can take the space. The folder is outside pytest's own
    (which only root may enter): PostgreSQL's user must reach it."""
    folder = tempfile.mkdtemp(prefix="sluice-pgdisk-")
    os.chmod(folder, 0o755)
    tablespace, database = f"sluice_full_{os.urandom(6).hex()}", None
    try:
        with sup.mounted(["-t", "tmpfs", "-o", f"size={TABLESPACE_BYTES}", "tmpfs"], folder, "a tmpfs"):
            try:
                location = os.path.join(folder, "tablespace")
                os.makedirs(location)
                owner = pwd.getpwnam("postgres")
                os.chown(location, owner.pw_uid, owner.pw_gid)
                postgres.run(f"CREATE TABLESPACE {tablespace} LOCATION '{location}'")
                database, url = postgres.create_database(tablespace=tablespace)
                yield url, folder
            finally:
                if database:
                    postgres.drop_database(database)
                with contextlib.suppress(Exception):
                    postgres.run(f"DROP TABLESPACE IF EXISTS {tablespace}")
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def fill(folder: str) -> str:
    """Takes every free byte of the file system at `folder`; returns the filler's path."""
    filler = os.path.join(folder, "filler")
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096):  # megabytes, then the last partial one
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    return filler


def test_a_full_database_disk_refuses_writes_as_out_of_space_and_recovers(storage, postgres):
    with database_on_a_small_disk(postgres) as (url, folder):
        srv = storage.server(database_url=url, label="sluiced-db-full")
        c = srv.client()
        kept = ss.random_bytes(20 * KIB, seed=21)
        c.put_object("full/kept", kept, partition_size=8 * KIB)

        filler = fill(folder)
        # A write needs a new page only once the pages it has are full: write until one does.
        refusal = None
        for n in range(400):
            try:
                c.put_object(f"full/during-{n}", ss.random_bytes(2 * KIB, seed=n), partition_size=KIB)
            except grpc.RpcError as e:
                refusal = e
                break
        assert refusal is not None, "400 objects were stored on a full database disk"
        assert refusal.code() == Code.RESOURCE_EXHAUSTED, (refusal.code(), refusal.details())
        trailers = dict(refusal.trailing_metadata() or ())
        assert trailers.get("sluice-exhausted") == "space", trailers
        text = refusal.details()
        assert "metadata database is out of disk space" in text and "request id" in text, text
        for word in ("PostgreSQL", "53100", "could not extend", "tablespace"):
            assert word not in text, f"internal text reached the client: {text!r}"
        # What is stored can still be read.
        ss.assert_same_bytes(c.read("full/kept"), kept, "an object stored before the disk filled")

        os.unlink(filler)
        more = ss.random_bytes(300 * KIB, seed=22)
        c.put_object("full/after", more, partition_size=64 * KIB)
        ss.assert_same_bytes(c.read("full/after"), more, "an object stored once space returned")
        srv.assert_alive()
        srv.stop()
