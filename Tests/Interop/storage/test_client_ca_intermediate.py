"""`--client-ca` naming an intermediate CA admits the clients that intermediate issued, and only
those: an operator can trust one issuing CA without every other CA under the same root.

The chain is made here with the openssl CLI: a root (path length 1), two intermediates under it,
and a client certificate from each. sluiced trusts the first intermediate alone."""

from __future__ import annotations

import os
import shutil
import subprocess

import grpc
import pytest

import interop_support as sup
import storage_support as ss
from storage_support import KIB

pytestmark = ss.only_blob_stores("disk")   # the handshake, whatever the blob store


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def _extensions(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, f"{name}.ext")
    with open(path, "w") as f:
        f.write(text)
    return path


def _key(folder: str, name: str) -> str:
    path = os.path.join(folder, f"{name}-key.pem")
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path


def _issue(folder: str, name: str, subject: str, issuer: str, extensions: str) -> None:
    """NAME.pem (and NAME-key.pem) for `subject`, signed by ISSUER.pem with `extensions`."""
    key = _key(folder, name)
    csr = os.path.join(folder, f"{name}.csr")
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(folder, f"{issuer}.pem"),
             "-CAkey", os.path.join(folder, f"{issuer}-key.pem"), "-set_serial", f"0x{os.urandom(8).hex()}",
             "-days", "30", "-sha256", "-extfile", _extensions(folder, name, extensions),
             "-out", os.path.join(folder, f"{name}.pem"))


CA = "basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n"
CLIENT = ("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyAgreement\n"
          "extendedKeyUsage = clientAuth\n")


@pytest.fixture(scope="module")
def chain(certs, tmp_path_factory) -> sup.Certs:
    """Certificates in a folder of their own, beside a copy of the dev CA (which signed the server's)."""
    folder = str(tmp_path_factory.mktemp("intermediates"))
    root_key = _key(folder, "root")
    _openssl("req", "-new", "-x509", "-key", root_key, "-subj", "/O=Sluice Test/CN=root", "-days", "30",
             "-sha256", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", os.path.join(folder, "root.pem"))
    for team in ("issuing", "sibling"):
        _issue(folder, f"{team}-ca", f"/O=Sluice Test/CN={team} CA", "root", CA)
        _issue(folder, f"{team}-client", f"/CN={team}-client", f"{team}-ca", CLIENT)
    shutil.copy(certs.ca, os.path.join(folder, "ca.pem"))
    return sup.Certs(folder)


def _client(server, chain: sup.Certs, who: str) -> ss.StorageClient:
    return ss.StorageClient(sup.secure_channel(server.address, chain, who), label=who)


def test_an_intermediate_client_ca_admits_its_own_clients_only(storage, chain):
    server = storage.server(client_ca=chain.path("issuing-ca.pem"), label="sluiced-intermediate")
    admitted = _client(server, chain, "issuing-client")
    try:
        data = ss.random_bytes(4 * KIB, seed=31)
        admitted.put_object("intermediate/one", data, partition_size=4 * KIB)
        ss.assert_same_bytes(admitted.read("intermediate/one"), data, "an object of the intermediate's client")
    finally:
        admitted.close()
    refused = _client(server, chain, "sibling-client")
    try:
        ss.expect_error(grpc.StatusCode.UNAVAILABLE, refused.list_objects)
    finally:
        refused.close()
    server.assert_alive()
