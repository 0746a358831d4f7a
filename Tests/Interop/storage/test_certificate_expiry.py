"""A client certificate that expires while its connection is open: the connection was made while
it was valid, but from its expiry on every call on it is refused UNAUTHENTICATED (saying when it
expired and what to do), and a watch it holds ends the same way, within seconds. A new connection
is refused at the handshake, as before.

The certificate (signed by the dev CA, valid for a few seconds) is made here with `cryptography`."""

from __future__ import annotations

import datetime
import os
import shutil
import time

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import feed_support as fs
import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB

pytestmark = ss.only_blob_stores("disk")   # the handshake's certificate, whatever the store

LIFETIME = datetime.timedelta(seconds=12)


def short_lived(certs: sup.Certs, folder: str, name: str, common_name: str = "",
                lifetime: datetime.timedelta = LIFETIME) -> tuple[sup.Certs, datetime.datetime]:
    """NAME.pem / NAME-key.pem in `folder` for COMMON_NAME (NAME when empty), signed by the dev
    CA, expiring `lifetime` from now, beside a copy of the dev CA; returns them as Certs and the
    expiry."""
    with open(certs.path("ca-key.pem"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    with open(certs.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    expiry = now + lifetime
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(expiry)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(os.path.join(folder, f"{name}.pem"), "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(folder, f"{name}-key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    shutil.copy(certs.ca, os.path.join(folder, "ca.pem"))
    return sup.Certs(folder), expiry


def test_calls_and_watches_on_a_connection_end_when_its_certificate_expires(storage, certs, tmp_path):
    server = storage.server(label="sluiced-expiry")
    folder = str(tmp_path / "short-lived")
    os.makedirs(folder)
    stem = f"expiring-{os.urandom(3).hex()}"
    short, expiry = short_lived(certs, folder, stem)
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
    folder = str(tmp_path / "two")
    os.makedirs(folder)
    principal = f"renewing-{os.urandom(3).hex()}"
    short, expiry = short_lived(certs, folder, "old", common_name=principal)
    renewed, _ = short_lived(certs, folder, "new", common_name=principal, lifetime=datetime.timedelta(days=1))
    old = ss.StorageClient(sup.secure_channel(server.address, short, "old"), label="old")
    new = ss.StorageClient(sup.secure_channel(server.address, renewed, "new"), label="new")
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
