"""Development certificates for the interop suite.

Used only when SLUICE_CERTS_DIR is not set: it writes the same set of files that
scripts/make-certs.sh produces (same names, subjects and SANs), so the suite can
run before (or without) that script. Generated with the `cryptography` package
because it can make an already-expired certificate without an OpenSSL CA database.

Files written into the target directory:
  ca.pem ca-key.pem                       test CA
  server.pem server-key.pem               CN=localhost, SAN localhost,127.0.0.1,::1
  client.pem client-key.pem               CN=sluice-client, SAN DNS:client.sluice.test
  client2.pem client2-key.pem             CN=sluice-client2, SAN DNS:client2.sluice.test
  other-ca.pem other-ca-key.pem           an unrelated CA
  other-client.pem other-client-key.pem   CN=sluice-client, signed by other-ca
  expired-client.pem expired-client-key.pem  signed by ca, validity ended in the past
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REQUIRED_FILES = (
    "ca.pem",
    "server.pem",
    "server-key.pem",
    "client.pem",
    "client-key.pem",
    "client2.pem",
    "client2-key.pem",
    "other-ca.pem",
    "other-client.pem",
    "other-client-key.pem",
    "expired-client.pem",
    "expired-client-key.pem",
)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sluice test"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(cn: str):
    key = _key()
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(ca_key, ca_cert, cn, sans, server: bool, not_before=None, not_after=None):
    key = _key()
    now = _dt.datetime.now(_dt.timezone.utc)
    nb = not_before or (now - _dt.timedelta(days=1))
    na = not_after or (now + _dt.timedelta(days=825))
    eku = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return key, cert


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_dev_certs(directory: str) -> str:
    """Writes the full certificate set into `directory` and returns it."""
    os.makedirs(directory, exist_ok=True)
    ca_key, ca_cert = _make_ca("Sluice Test CA")
    other_ca_key, other_ca_cert = _make_ca("Sluice Other CA")
    _write(os.path.join(directory, "ca.pem"), _pem(ca_cert))
    _write(os.path.join(directory, "ca-key.pem"), _key_pem(ca_key))
    _write(os.path.join(directory, "other-ca.pem"), _pem(other_ca_cert))
    _write(os.path.join(directory, "other-ca-key.pem"), _key_pem(other_ca_key))

    now = _dt.datetime.now(_dt.timezone.utc)
    leaves = {
        "server": (ca_key, ca_cert, "localhost", [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ], True, None, None),
        "client": (ca_key, ca_cert, "sluice-client",
                   [x509.DNSName("client.sluice.test")], False, None, None),
        "client2": (ca_key, ca_cert, "sluice-client2",
                    [x509.DNSName("client2.sluice.test")], False, None, None),
        "other-client": (other_ca_key, other_ca_cert, "sluice-client",
                         [x509.DNSName("client.sluice.test")], False, None, None),
        "expired-client": (ca_key, ca_cert, "sluice-expired",
                           [x509.DNSName("expired.sluice.test")], False,
                           now - _dt.timedelta(days=30), now - _dt.timedelta(days=1)),
    }
    for stem, (ik, ic, cn, sans, server, nb, na) in leaves.items():
        key, cert = _make_leaf(ik, ic, cn, sans, server, nb, na)
        _write(os.path.join(directory, f"{stem}.pem"), _pem(cert))
        _write(os.path.join(directory, f"{stem}-key.pem"), _key_pem(key))
    return directory


def missing_files(directory: str) -> list[str]:
    return [n for n in REQUIRED_FILES if not os.path.isfile(os.path.join(directory, n))]


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "dev-certs"
    print(make_dev_certs(target))
