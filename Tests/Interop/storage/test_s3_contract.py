"""sluiced's S3 blob store, as S3 sees it: where blobs go (PREFIX/blobs/SCOPE/HEX64,
one scope per principal, and nothing else but the store's mark PREFIX/database-id), what each request carries (checksums, no 100-continue,
ranged reads), path- and virtual-host addressing, where credentials come from
(environment, session token, shared credentials file and profile), and the SigV4
signature of every request, recomputed from AWS's algorithm by
s3_support.sigv4_problems (moto checks no signature; the proxy records requests)."""

from __future__ import annotations

import re
import subprocess
from typing import Optional

import pytest

import interop_support as sup
import s3_support as s3
import storage_support as ss
from storage_support import KIB

# What these tests are about exists only on S3.
pytestmark = ss.only_blob_stores("s3")

PSIZE = 32 * KIB


@pytest.fixture
def proxy(moto_server):
    """A proxy that injects nothing: it only records the requests."""
    p = s3.FaultProxy(moto_server.port, rate=0.0)
    yield p
    p.close()


TESTING = {s3.ACCESS_KEY_ID: s3.SECRET_ACCESS_KEY}


def _roundtrip(srv, name: str = "contract/obj", who: str = "client",
               data: Optional[bytes] = None, copies: int = 1) -> bytes:
    c = srv.client(who)
    data = ss.random_bytes(3 * PSIZE + 17) if data is None else data
    c.put_object(name, data, partition_size=PSIZE)
    ss.assert_same_bytes(c.read(name), data)
    ss.assert_same_bytes(c.read(name, offset=PSIZE // 2, length=PSIZE),
                         data[PSIZE // 2:PSIZE // 2 + PSIZE])
    for part in ss.split(data, PSIZE):
        assert srv.blobs.copies(part) == copies
    return data


# --------------------------------------------------------------------------
# Layout and requests
# --------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "deep/er/prefix"], ids=["no-prefix", "prefix"])
def test_blob_keys_and_requests(storage, proxy, prefix):
    store = storage.blob_store(prefix=prefix)
    srv = storage.server(blobs=store.via(proxy.endpoint))
    data = _roundtrip(srv, who="client")
    _roundtrip(srv, who="client2", data=data, copies=2)   # same bytes, other principal
    blobs = srv.blobs
    assert blobs.layout_problems() == []
    keys = sorted(o.key for o in blobs.objects())
    want_prefix = f"{prefix}/blobs/" if prefix else "blobs/"
    assert all(k.startswith(want_prefix) for k in keys), keys
    mark = f"{prefix}/database-id" if prefix else "database-id"
    assert sorted(blobs.all_keys()) == sorted(keys + [mark]), "objects outside PREFIX/blobs/ but the store's mark"
    scopes = {k[len(want_prefix):].split("/")[0] for k in keys}
    assert len(scopes) == 2, f"one scope per principal expected: {scopes}"
    parts = ss.split(data, PSIZE)
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == sorted([ss.hexsha(p) for p in parts] * 2)
    assert s3.wire_contract_problems(proxy, blobs) == []
    assert s3.sigv4_problems(proxy.requests(), TESTING) == []
    assert proxy.requests("GET"), "reads did not GET"


def test_reads_fetch_only_the_bytes_asked(storage, proxy):
    """A read of a few bytes is one ranged GET of those bytes, not of the partition."""
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint))
    c = srv.client()
    data = ss.random_bytes(3 * PSIZE)
    c.put_object("contract/ranges", data, partition_size=PSIZE)
    proxy.reset_counts()
    offset = PSIZE + 1000
    ss.assert_same_bytes(c.read("contract/ranges", offset=offset, length=10),
                         data[offset:offset + 10])
    assert [r.headers.get("range") for r in proxy.requests("GET")] == ["bytes=1000-1009"]
    proxy.reset_counts()
    ss.assert_same_bytes(c.read_partition("contract/ranges", 2, offset=5, length=PSIZE - 5),
                         data[2 * PSIZE + 5:])
    assert [r.headers.get("range") for r in proxy.requests("GET")] == \
        [f"bytes=5-{PSIZE - 1}"]


def test_virtual_host_addressing(storage, proxy):
    """addressing=virtual: the bucket goes in the Host name (BUCKET.localhost, which
    resolves to loopback), not in the path."""
    store = storage.blob_store()
    srv = storage.server(blobs=store.via(f"http://localhost:{proxy.port}", addressing="virtual"))
    _roundtrip(srv)
    recs = proxy.requests()
    hosts = {r.headers.get("host") for r in recs}
    assert hosts == {f"{store.bucket}.localhost:{proxy.port}"}, hosts
    in_path = [r.target for r in recs if r.path.startswith(f"/{store.bucket}/")
               or r.path == f"/{store.bucket}"]
    assert not in_path, f"bucket in the path with virtual addressing: {in_path[:3]}"
    assert s3.wire_contract_problems(proxy, srv.blobs) == []
    assert s3.sigv4_problems(recs, TESTING) == []


def test_https_endpoint_with_a_private_ca(storage, moto_server):
    """An https endpoint: sluiced speaks TLS to it, trusting the CA named by ca=, and
    signs and checks everything as over plain HTTP."""
    certs = storage.certs
    tls_proxy = s3.FaultProxy(moto_server.port, tls=(certs.server_cert, certs.server_key))
    try:
        srv = storage.server(blobs=storage.blob_store().via(tls_proxy.endpoint, ca=certs.ca))
        _roundtrip(srv)
        assert tls_proxy.requests("PUT") and tls_proxy.requests("GET"), "nothing went over TLS"
        assert s3.sigv4_problems(tls_proxy.requests(), TESTING) == []
    finally:
        tls_proxy.close()


def test_https_endpoint_with_an_untrusted_certificate_stops_startup(storage, moto_server):
    """Without ca= the system's CAs are trusted, and the dev CA is not one of them: start-up
    fails, saying it was the certificate, rather than falling back to anything unverified."""
    tls_proxy = s3.FaultProxy(moto_server.port, tls=(storage.certs.server_cert, storage.certs.server_key))
    try:
        srv = storage.server(blobs=storage.blob_store().via(tls_proxy.endpoint), start=False,
                             s3_attempts=1)
        proc = subprocess.run(srv.argv(sup.free_port()), env=srv.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = proc.stdout.decode("utf-8", "replace")
        assert proc.returncode != 0 and "sluiced listening on" not in out, out[-3000:]
        assert "certificate" in out.lower(), f"the message does not name the certificate:\n{out[-3000:]}"
        assert not tls_proxy.requests(), "a request went through despite the untrusted certificate"
    finally:
        tls_proxy.close()


def test_path_addressing_keeps_the_endpoint_host(storage, proxy):
    store = storage.blob_store()
    srv = storage.server(blobs=store.via(proxy.endpoint, addressing="path"))
    _roundtrip(srv)
    recs = proxy.requests()
    assert {r.headers.get("host") for r in recs} == {f"127.0.0.1:{proxy.port}"}
    assert all(r.path == f"/{store.bucket}" or r.path.startswith(f"/{store.bucket}/")
               for r in recs), [r.target for r in recs][:5]


# --------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["sluice", "odd~prefix/p+q=r,s@t!u(v)'w*x_y-z.0"],
                         ids=["plain", "odd-characters"])
def test_every_request_kind_is_signed_right(storage, proxy, prefix):
    """HEAD bucket (start-up), PUT, ranged GET, and the collector's LIST and DELETE:
    each signature is what AWS's algorithm gives — with a plain prefix, and with one
    full of characters that SigV4 percent-encodes (in paths and in LIST's query)."""
    store = storage.blob_store(prefix=prefix)
    srv = storage.server(blobs=store.via(proxy.endpoint), blob_grace_period=1,
                         collector_interval=1)
    _roundtrip(srv)
    c = srv.client()
    data = ss.random_bytes(2 * PSIZE)
    s = c.create_session("contract/aborted", data, PSIZE)
    c.upload_partitions(s.session_id, data, PSIZE)
    assert all(store.copies(p) == 1 for p in ss.split(data, PSIZE))
    c.abort(s.session_id)
    sup.wait_until(lambda: all(store.copies(p) == 0 for p in ss.split(data, PSIZE)), 20,
                   interval=0.2, what="the collector to list and delete the aborted blobs")
    assert store.layout_problems() == []
    recs = proxy.requests()
    kinds = {(r.method, "list-type=2" in r.target) for r in recs}
    assert {("HEAD", False), ("PUT", False), ("GET", False), ("GET", True),
            ("DELETE", False)} <= kinds, kinds
    problems = s3.sigv4_problems(recs, TESTING)
    assert problems == [], f"{len(problems)} of {len(recs)} requests signed wrong; first:\n" \
        + "\n".join(problems[:2])


# --------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------

ENV_KEY = ("AKIDFROMENVIRONMENT1", "secret-from-the-environment")
DEFAULT_KEY = ("AKIDDEFAULTPROFILE01", "secret-of-the-default-profile")
PROFILE_KEY = ("AKIDNAMEDPROFILE0001", "secret-of-the-named-profile")


def _signed_only_with(proxy, key: tuple[str, str]) -> None:
    recs = proxy.requests()
    assert recs, "no S3 request"
    problems = s3.sigv4_problems(recs, {key[0]: key[1]})
    assert problems == [], f"{len(problems)} of {len(recs)} requests not signed with " \
        f"{key[0]}; first: {problems[0][:1500]}"


def _signed_headers(record) -> list[str]:
    m = re.search(r"SignedHeaders=([^,\s]+)", record.headers.get("authorization", ""))
    return m.group(1).split(";") if m else []


def _credentials_file(path, profiles: dict, token: Optional[str] = None) -> str:
    with open(path, "w") as f:
        for name, (key, secret) in profiles.items():
            f.write(f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
            if token:
                f.write(f"aws_session_token = {token}\n")
            f.write("\n")
    return str(path)


def _file_only(tmp_path, path: str, profile: Optional[str] = None) -> dict:
    """No credentials in the environment: the shared file (and profile) only."""
    return {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SHARED_CREDENTIALS_FILE": path, "AWS_PROFILE": profile, "HOME": str(tmp_path)}


def test_environment_credentials(storage, proxy):
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint),
                         env={"AWS_ACCESS_KEY_ID": ENV_KEY[0], "AWS_SECRET_ACCESS_KEY": ENV_KEY[1]})
    _roundtrip(srv)
    _signed_only_with(proxy, ENV_KEY)
    assert not any("x-amz-security-token" in r.headers for r in proxy.requests())


def test_session_token_is_sent_and_signed(storage, proxy):
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint),
                         env={"AWS_ACCESS_KEY_ID": ENV_KEY[0], "AWS_SECRET_ACCESS_KEY": ENV_KEY[1],
                              "AWS_SESSION_TOKEN": "session/token+=="})
    _roundtrip(srv)
    _signed_only_with(proxy, ENV_KEY)
    bad = [r.target for r in proxy.requests()
           if r.headers.get("x-amz-security-token") != "session/token+=="
           or "x-amz-security-token" not in _signed_headers(r)]
    assert not bad, f"requests without the session token, or not signing it: {bad[:3]}"


@pytest.mark.parametrize("profile", [None, "sluice"], ids=["default-profile", "AWS_PROFILE"])
def test_credentials_from_the_shared_file(storage, proxy, tmp_path, profile):
    path = _credentials_file(tmp_path / "credentials",
                             {"default": DEFAULT_KEY, "sluice": PROFILE_KEY})
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint),
                         env=_file_only(tmp_path, path, profile))
    _roundtrip(srv)
    _signed_only_with(proxy, DEFAULT_KEY if profile is None else PROFILE_KEY)


def test_session_token_from_the_shared_file(storage, proxy, tmp_path):
    path = _credentials_file(tmp_path / "credentials", {"default": DEFAULT_KEY},
                             token="file-session-token")
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint),
                         env=_file_only(tmp_path, path))
    _roundtrip(srv)
    _signed_only_with(proxy, DEFAULT_KEY)
    assert {r.headers.get("x-amz-security-token") for r in proxy.requests()} == \
        {"file-session-token"}


def test_environment_credentials_come_before_the_file(storage, proxy, tmp_path):
    path = _credentials_file(tmp_path / "credentials", {"default": DEFAULT_KEY})
    srv = storage.server(blobs=storage.blob_store().via(proxy.endpoint),
                         env={"AWS_ACCESS_KEY_ID": ENV_KEY[0], "AWS_SECRET_ACCESS_KEY": ENV_KEY[1],
                              "AWS_SHARED_CREDENTIALS_FILE": path, "HOME": str(tmp_path)})
    _roundtrip(srv)
    _signed_only_with(proxy, ENV_KEY)
