"""`--client-ca` naming an intermediate CA admits the clients that intermediate issued, and only
those: an operator can trust one issuing CA without every other CA under the same root.

The chain is made here: a root (path length 1), two intermediates under it, and a client
certificate from each. sluiced trusts the first intermediate alone."""

from __future__ import annotations

import grpc
import pytest

import interop_support as sup
import storage_support as ss
from certificate_support import CertificateFolder
from storage_support import KIB

pytestmark = ss.only_blob_stores("disk")   # the handshake, whatever the blob store


@pytest.fixture(scope="module")
def chain(certs, tmp_path_factory) -> sup.Certs:
    made = CertificateFolder(str(tmp_path_factory.mktemp("intermediates")), certs)
    made.issue("root", "root", "root", ca_path_length=1)
    for team in ("issuing", "sibling"):
        made.issue(f"{team}-ca", f"{team} CA", "root", ca_path_length=0)
        made.issue(f"{team}-client", f"{team}-client", f"{team}-ca")
    return made.certs


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
