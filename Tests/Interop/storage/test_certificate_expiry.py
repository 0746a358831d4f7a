"""A client certificate that expires while its connection is open: the connection was made while
it was valid, but from its expiry on every call on it is refused UNAUTHENTICATED (saying when it
expired and what to do), and a watch it holds ends the same way, within seconds. A new connection
is refused at the handshake, as before.

The certificates (signed by the dev CA, one valid for a few seconds) are made here."""

from __future__ import annotations

import datetime
import os
import time

import feed_support as fs
import interop_support as sup
import storage_support as ss
from certificate_support import CertificateFolder
from storage_support import Code, KIB

pytestmark = ss.only_blob_stores("disk")   # the handshake's certificate, whatever the store

LIFETIME = datetime.timedelta(seconds=12)


def test_calls_and_watches_on_a_connection_end_when_its_certificate_expires(storage, certs, tmp_path):
    server = storage.server(label="sluiced-expiry")
    made = CertificateFolder(str(tmp_path / "short-lived"), certs)
    stem = f"expiring-{os.urandom(3).hex()}"
    expiry = made.issue(stem, stem, lifetime=LIFETIME)
    short = made.certs
    client = ss.StorageClient(sup.secure_channel(server.address, short, stem), label="expiring")
    try:
        data = ss.random_bytes(4 * KIB, seed=41)
        client.put_object("expiry/before", data, partition_size=4 * KIB)
        watcher = fs.Watcher(client, prefix="expiry/")
        sup.wait_until(lambda: watcher.responses >= 1, 10, what="the watch to begin")

        left = (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert left > 1, f"the certificate expired before the test could use it ({left:.1f} s left)"
        time.sleep(left + 1.5)
        refusal = ss.expect_error(Code.UNAUTHENTICATED, client.list_objects)
        assert "expired" in refusal.details() and "renewed certificate" in refusal.details(), refusal.details()
        sup.wait_until(lambda: watcher.error is not None, 10, what="the watch to end")
        assert watcher.error.code() == Code.UNAUTHENTICATED, watcher.error
        assert "expired" in watcher.error.details(), watcher.error.details()
    finally:
        client.close()
    # A new connection with it is refused at the handshake.
    fresh = ss.StorageClient(sup.secure_channel(server.address, short, stem), label="expired")
    try:
        ss.expect_error(Code.UNAVAILABLE, fresh.list_objects)
    finally:
        fresh.close()
    server.assert_alive()


def test_the_expired_connections_watch_ends_while_a_renewed_ones_goes_on(storage, certs, tmp_path):
    """One principal, two connections: one with a certificate about to expire, one with its
    renewal (the same name, valid for a day). The first's waiting watch ends within seconds of
    the expiry; the second's goes on and still delivers."""
    server = storage.server(label="sluiced-expiry-two")
    made = CertificateFolder(str(tmp_path / "two"), certs)
    principal = f"renewing-{os.urandom(3).hex()}"
    expiry = made.issue("old", principal, lifetime=LIFETIME)
    made.issue("new", principal)
    old = ss.StorageClient(sup.secure_channel(server.address, made.certs, "old"), label="old")
    new = ss.StorageClient(sup.secure_channel(server.address, made.certs, "new"), label="new")
    try:
        # The renewed connection's watches come first and outnumber the old one's.
        watches = [fs.Watcher(new, prefix="two/") for _ in range(3)] + [fs.Watcher(old, prefix="two/")]
        sup.wait_until(lambda: all(w.responses >= 1 for w in watches), 10, what="the watches to begin")
        left = (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert left > 1, f"the certificate expired before the test could use it ({left:.1f} s left)"
        time.sleep(left)
        ended = time.monotonic()
        sup.wait_until(lambda: watches[-1].error is not None, 10, what="the expired connection's watch to end")
        assert time.monotonic() - ended < 5, "the expired connection's watch ran on"
        assert watches[-1].error.code() == Code.UNAUTHENTICATED, watches[-1].error
        new.put_object("two/after", b"after the old certificate expired")
        for w in watches[:-1]:
            assert [c.name for c in w.take(1)] == ["two/after"] and w.error is None, w.error
    finally:
        old.close()
        new.close()
    server.assert_alive()
