"""Certificates made by a test for itself (with `cryptography`): CAs and client certificates of
a chosen lifetime, written as NAME.pem / NAME-key.pem beside a copy of the dev CA that signed
the server's, so that `interop_support.Certs(folder)` and `secure_channel` take them."""

from __future__ import annotations

import datetime
import os
import shutil
from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import interop_support as sup


class CertificateFolder:
    """A folder of test certificates; `certs` views it as interop_support.Certs."""

    def __init__(self, folder: str, dev: sup.Certs):
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        shutil.copy(dev.ca, os.path.join(folder, "ca.pem"))
        self.certs = sup.Certs(folder)
        self._dev = dev

    def issue(self, name: str, common_name: str, issuer: Optional[str] = None, *,
              ca_path_length: Optional[int] = None,
              lifetime: datetime.timedelta = datetime.timedelta(days=1)) -> datetime.datetime:
        """NAME.pem for COMMON_NAME signed by ISSUER.pem here (the dev CA when None; itself for a
        self-signed root when ISSUER is NAME): a CA when `ca_path_length` is given, else a client
        certificate. Returns when it expires."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        if issuer == name:
            issuer_name, issuer_key = subject, key
        else:
            issuer_name, issuer_key = self._issuer(issuer)
        now = datetime.datetime.now(datetime.timezone.utc)
        expiry = now + lifetime
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(expiry))
        if ca_path_length is None:
            builder = (builder
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        else:
            builder = (builder
                       .add_extension(x509.BasicConstraints(ca=True, path_length=ca_path_length), critical=True)
                       .add_extension(x509.KeyUsage(
                           digital_signature=False, content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                           encipher_only=False, decipher_only=False), critical=True))
        certificate = builder.sign(issuer_key, hashes.SHA256())
        with open(self.certs.path(f"{name}.pem"), "wb") as f:
            f.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(self.certs.path(f"{name}-key.pem"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return expiry

    def _issuer(self, issuer: Optional[str]):
        certificate_path, key_path = ((self._dev.ca, self._dev.path("ca-key.pem")) if issuer is None
                                      else self.certs.client(issuer))
        with open(certificate_path, "rb") as f:
            certificate = x509.load_pem_x509_certificate(f.read())
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return certificate.subject, key
