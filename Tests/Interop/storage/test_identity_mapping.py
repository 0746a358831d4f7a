"""Distinct certificates are distinct principals. Before, the principal was the
certificate's subject alone: two certificates with empty (or equal) subjects and
different SANs shared one principal and read each other's objects.

--principal-from subject+sans (the default) counts the subject and every SAN;
san-uri (SPIFFE IDs) and san-dns count the certificate's one URI or DNS SAN and refuse
certificates with none or several; subject counts the subject alone (and merges
certificates that share it, as documented). Every mapping refuses, with
UNAUTHENTICATED and a message saying why, a certificate that yields an empty identity.

The certificates are scripts/make-certs.sh's identity-mapping kinds."""

from __future__ import annotations


import pytest

import storage_support as ss
from storage_support import Code, expect_error

PAIRS = [("nosubject-a", "nosubject-b"), ("shared-a", "shared-b"), ("spiffe-a", "spiffe-b")]
KINDS = ["nosubject-a", "nosubject-b", "shared-a", "shared-b", "spiffe-a", "spiffe-b",
         "spiffe-two", "nobody"]


@pytest.fixture(scope="module", autouse=True)
def identity_certs(certs):
    ss.require_certs(certs, KINDS)


def _isolated(srv, first: str, second: str) -> None:
    a, b = srv.client(first), srv.client(second)
    name = ss.unique_name("identity/secret")
    data = ss.random_bytes(1000, seed=len(first))
    a.put_object(name, data, partition_size=256)
    expect_error(Code.NOT_FOUND, b.get_object, name)
    expect_error(Code.NOT_FOUND, b.read, name)
    assert name not in [o.name for o in b.list_all(prefix="identity/")[0]], \
        f"{second} lists {first}'s object"
    mine = b.put_object(name, b"b's own bytes", partition_size=256)
    assert mine.version == 1, f"{second} wrote a new version of {first}'s object"
    ss.assert_same_bytes(a.read(name), data, f"{first}'s object after {second} wrote its own")
    a.close()
    b.close()


def _refused(srv, who: str, *words: str) -> None:
    c = srv.client(who)
    e = expect_error(Code.UNAUTHENTICATED, c.list_objects)
    for word in words:
        assert word in (e.details() or ""), e.details()
    c.close()


@pytest.fixture(scope="module")
def default_server(module_storage):
    return module_storage.server(label="sluiced-identity-default")


@pytest.mark.parametrize("first,second", PAIRS)
def test_default_mapping_never_merges_distinct_certificates(default_server, first, second):
    _isolated(default_server, first, second)
    _isolated(default_server, second, first)


def test_default_mapping_refuses_a_certificate_that_names_nobody(default_server):
    _refused(default_server, "nobody", "neither a subject nor subject alternative names")


def test_default_mapping_still_serves_ordinary_certificates(default_server):
    _isolated(default_server, "client", "client2")


def test_san_uri_mapping(module_storage):
    srv = module_storage.server(label="sluiced-identity-uri", principal_from="san-uri")
    _isolated(srv, "spiffe-a", "spiffe-b")
    _refused(srv, "spiffe-two", "2 URI", "san-uri")
    _refused(srv, "client", "0 URI")
    _refused(srv, "nobody", "0 URI")


def test_san_dns_mapping(module_storage):
    srv = module_storage.server(label="sluiced-identity-dns", principal_from="san-dns")
    _isolated(srv, "shared-a", "shared-b")
    _isolated(srv, "nosubject-a", "nosubject-b")
    _refused(srv, "spiffe-a", "0 DNS")


def test_subject_mapping_refuses_empty_subjects(module_storage):
    srv = module_storage.server(label="sluiced-identity-subject", principal_from="subject")
    _refused(srv, "nosubject-a", "empty subject")
    _refused(srv, "nobody", "empty subject")
    _isolated(srv, "client", "client2")


def test_unknown_mapping_is_refused_at_start(sluiced_command):
    import subprocess
    proc = subprocess.run([*sluiced_command, "--principal-from", "cn", "--h2c"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode != 0
    assert b"--principal-from" in proc.stdout, proc.stdout


def test_an_identity_too_long_to_index_is_refused_naming_the_limit(default_server, certs, tmp_path):
    """A certificate whose identity (subject and 60 random DNS SANs, about 4.4 KB) is longer
    than a principal's name may be gets UNAUTHENTICATED naming the limit, not INTERNAL from
    the database's index; other callers are served as before."""
    import secrets
    import shutil
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    import devcerts
    import interop_support as sup
    ca_cert = x509.load_pem_x509_certificate(certs.read("ca.pem"))
    ca_key = serialization.load_pem_private_key(certs.read("ca-key.pem"), password=None)
    sans = [x509.DNSName(f"{secrets.token_hex(32)}.sluice.test") for _ in range(60)]
    key, cert = devcerts._make_leaf(ca_key, ca_cert, "sluice-long-identity", sans, server=False)
    shutil.copy(certs.path("ca.pem"), tmp_path / "ca.pem")
    (tmp_path / "long.pem").write_bytes(devcerts._pem(cert))
    (tmp_path / "long-key.pem").write_bytes(devcerts._key_pem(key))
    channel = sup.secure_channel(default_server.address, sup.Certs(str(tmp_path)), "long")
    client = ss.StorageClient(channel, label="long")
    try:
        e = expect_error(Code.UNAUTHENTICATED, client.list_objects)
        assert "too long for this server to record" in (e.details() or ""), e.details()
    finally:
        client.close()
    ordinary = default_server.client("client")
    ordinary.put_object(ss.unique_name("identity/after-long"), b"still served", partition_size=256)
    ordinary.close()


def _dns_client(srv, certs, folder, label: str, dns_name: str):
    """A client whose certificate's one DNS SAN is `dns_name`."""
    import shutil
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    import devcerts
    import interop_support as sup
    ca_cert = x509.load_pem_x509_certificate(certs.read("ca.pem"))
    ca_key = serialization.load_pem_private_key(certs.read("ca-key.pem"), password=None)
    key, cert = devcerts._make_leaf(ca_key, ca_cert, f"sluice-{label}", [x509.DNSName(dns_name)], server=False)
    shutil.copy(certs.path("ca.pem"), folder / "ca.pem")
    (folder / f"{label}.pem").write_bytes(devcerts._pem(cert))
    (folder / f"{label}-key.pem").write_bytes(devcerts._key_pem(key))
    channel = sup.secure_channel(srv.address, sup.Certs(str(folder)), label)
    return ss.StorageClient(channel, label=label)


def test_san_dns_names_differing_only_in_case_are_one_principal(storage, postgres, certs, tmp_path):
    """DNS names are case-insensitive (RFC 4343): a certificate renewed with its DNS name in
    other case keeps its principal and objects. A principal an older sluiced recorded with
    capitals is lowercased at start-up; where the lowercase name is taken already, the other
    stays as it was and the log names both."""
    srv = storage.server(label="sluiced-dns-case", principal_from="san-dns")
    first = _dns_client(srv, certs, tmp_path, "dns-upper", "Workload.Example.TEST")
    renewed = _dns_client(srv, certs, tmp_path, "dns-lower", "workload.example.test")
    name, data = ss.unique_name("identity/dns-case"), ss.random_bytes(3000, seed=43)
    first.put_object(name, data, partition_size=1024)
    ss.assert_same_bytes(renewed.read(name), data, "the object, read with the renewed certificate")
    first.close()
    renewed.close()

    # As an older sluiced left them: the name in its certificate's case, and two spellings
    # of another name as two principals.
    srv.stop()
    postgres.run("UPDATE principals SET name = 'Workload.Example.TEST' WHERE name = 'workload.example.test'",
                 srv.database_url)
    postgres.run("INSERT INTO principals (name, handle) VALUES ('Other.Example.TEST', 'other-upper'), "
                 "('other.example.test', 'other-lower')", srv.database_url)
    srv.start()
    renewed = _dns_client(srv, certs, tmp_path, "dns-lower", "workload.example.test")
    ss.assert_same_bytes(renewed.read(name), data, "the object, after the legacy name was lowercased")
    renewed.close()
    names = postgres.run("SELECT name FROM principals WHERE lower(name) LIKE '%.example.test' ORDER BY name",
                         srv.database_url).split()
    assert names == ["Other.Example.TEST", "other.example.test", "workload.example.test"], names
    log = "".join(text for _, text in srv.logs())
    assert "principal name lowercased" in log, log[-3000:]
    assert "principal unreachable" in log and "other-upper" in log and "other-lower" in log, log[-3000:]
