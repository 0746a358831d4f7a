"""The S3 test helpers themselves (s3_support.py), against moto and boto3 alone — no
Swift binary: the fault proxy forwards faithfully (bodies, ranges, HEAD, chunked
and 100-continue requests, keep-alive), its errors are S3's, every fault kind is
survivable by a retrying client (botocore), its decisions are seeded, and the
blob inventory reads a bucket the way the disk one reads a directory."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import os
import random
import socket
import time
import xml.etree.ElementTree as ET

import pytest

import s3_support as s3

KIB = 1024
MIB = 1024 * 1024


@pytest.fixture
def bucket(moto_server):
    name = moto_server.create_bucket()
    yield name
    moto_server.delete_bucket(name)


@pytest.fixture
def fast_retries(monkeypatch):
    """botocore's standard retries, with millisecond backoff and no retry quota (the
    quota would stop retrying a client that saw many faults: these tests make them)."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount",
                        lambda self, context: 0.002 * random.random())
    monkeypatch.setattr(standard.RetryQuotaChecker, "acquire_retry_quota",
                        lambda self, context: True)


def _retrying_client(endpoint: str, attempts: int = 8, timeout: float = 10.0):
    return s3.boto3_client(endpoint, retries={"mode": "standard", "max_attempts": attempts},
                           timeout=timeout)


def _get(client, bucket: str, key: str, attempts: int = 8, **kwargs) -> bytes:
    """GetObject and read its body; a body cut short (botocore does not retry that:
    the call had returned) is fetched again."""
    from botocore.exceptions import IncompleteReadError, ResponseStreamingError
    from urllib3.exceptions import ProtocolError

    last = None
    for _ in range(attempts):
        try:
            return client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
        except (IncompleteReadError, ResponseStreamingError, ProtocolError) as e:
            last = e
    raise AssertionError(f"GET {key} failed {attempts} times; last: {last!r}")


def _direct(moto_server, bucket: str, key: str) -> bytes:
    return moto_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


# --------------------------------------------------------------------------
# moto and the blob inventory
# --------------------------------------------------------------------------

def test_blob_inventory_reads_a_bucket_by_content(moto_server, bucket):
    blobs = s3.S3Blobs(moto_server, bucket, "pre/fix/")
    assert blobs.blobs_prefix == "pre/fix/blobs/"
    a, b = os.urandom(1000), os.urandom(10)
    ha, hb = hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()
    blobs.put(f"pre/fix/blobs/scope1/{ha}", a)
    blobs.put(f"pre/fix/blobs/scope2/{ha}", a)
    blobs.put(f"pre/fix/blobs/scope2/{'0' * 64}", b)        # named for other bytes
    blobs.put("pre/fix/other/thing", b)                      # outside blobs/
    blobs.put(f"pre/fixture/blobs/s/{hb}", b)                # another prefix: not ours

    assert blobs.copies(a) == 2 and blobs.copies(b) == 1 and blobs.copies(b"x") == 0
    assert sorted(blobs.inventory()[ha]) == [f"pre/fix/blobs/scope1/{ha}",
                                             f"pre/fix/blobs/scope2/{ha}"]
    problems = blobs.layout_problems()
    assert any(p.startswith(f"pre/fix/blobs/scope2/{'0' * 64}: content hashes to {hb}")
               for p in problems), problems
    assert any(p.startswith("pre/fixture/blobs/") for p in problems), problems
    assert len(problems) == 2, problems        # pre/fix/other: under the prefix, allowed
    assert blobs.delete_all() == 3
    assert blobs.copies(a) == 0
    assert sorted(blobs.all_keys()) == ["pre/fix/other/thing", f"pre/fixture/blobs/s/{hb}"]

    assert blobs.url() == (f"s3://{bucket}/pre/fix?endpoint={moto_server.endpoint}"
                           f"&region=us-east-1&addressing=path")
    assert s3.S3Blobs(moto_server, bucket, "").url("http://127.0.0.1:9") == \
        f"s3://{bucket}?endpoint=http://127.0.0.1:9&region=us-east-1&addressing=path"
    assert s3.S3Blobs(moto_server, bucket, "").blobs_prefix == "blobs/"


def test_moto_runs_in_its_own_process(moto_server):
    assert moto_server.alive()
    assert moto_server.mp.proc.pid != os.getpid()
    assert not moto_server.bucket_exists(s3.random_bucket_name("absent"))
    env = s3.aws_env({"AWS_PROFILE": "x", "AWS_SESSION_TOKEN": "y", "PATH": "/bin"})
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and env["PATH"] == "/bin"


# --------------------------------------------------------------------------
# Forwarding
# --------------------------------------------------------------------------

def test_proxy_forwards_faithfully(moto_server, bucket, proxy):
    c = s3.boto3_client(proxy.endpoint)
    objects = {f"k/{n}": os.urandom(n) for n in (0, 1, 1000, 1 * MIB, 3 * MIB + 5)}
    for key, data in objects.items():          # the 1 MiB+ ones go with Expect: 100-continue
        c.put_object(Bucket=bucket, Key=key, Body=data)
    for key, data in objects.items():
        assert _direct(moto_server, bucket, key) == data, f"{key} stored wrong"
        assert _get(c, bucket, key) == data, f"{key} read back wrong"
        assert c.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
        if len(data) > 100:
            assert _get(c, bucket, key, Range="bytes=10-99") == data[10:100]
            assert _get(c, bucket, key, Range="bytes=-7") == data[-7:]
            assert _get(c, bucket, key, Range=f"bytes={len(data) - 3}-") == data[-3:]
    listed = c.list_objects_v2(Bucket=bucket, Prefix="k/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(objects)
    c.delete_object(Bucket=bucket, Key="k/1")
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        c.head_object(Bucket=bucket, Key="k/1")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    assert proxy.injected() == {} and not proxy.upstream_errors, proxy.summary()
    recs = proxy.requests()
    assert any(r.headers.get("expect") == "100-continue" for r in recs), \
        "no 100-continue request was exercised"
    for r in recs:
        assert r.status is not None, f"{r.method} {r.target} got no answer"
        if r.method == "PUT":
            data = objects[r.path.split("/", 2)[2]]
            assert (r.body_length, r.body_sha256) == (len(data), hashlib.sha256(data).hexdigest())
    # keep-alive on the client side, although moto closes after every answer
    assert proxy.connections < len(recs) / 3, proxy.summary()
    assert proxy.upstream_connections == len(recs), proxy.summary()


def test_chunked_and_100_continue_requests(moto_server, bucket, proxy):
    data = os.urandom(200 * KIB + 3)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    chunks = (data[i:i + 30000] for i in range(0, len(data), 30000))
    conn.request("PUT", f"/{bucket}/chunked", body=chunks, encode_chunked=True)
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    assert _direct(moto_server, bucket, "chunked") == data

    # 100-continue by hand: headers, wait for the interim answer, then the body
    conn.putrequest("PUT", f"/{bucket}/expect")
    conn.putheader("Content-Length", str(len(data)))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    interim = conn.sock.recv(64)
    assert interim.startswith(b"HTTP/1.1 100 "), interim
    conn.sock.sendall(data)
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    assert _direct(moto_server, bucket, "expect") == data
    conn.close()
    puts = proxy.requests("PUT")
    assert [(r.connection, r.on_connection) for r in puts] == [(1, 1), (1, 2)], \
        "both requests went over one kept-alive connection"
    assert _get(s3.boto3_client(proxy.endpoint), bucket, "expect", Range="bytes=5-9") == \
        data[5:10]


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------

def test_errors_are_s3_errors_and_keep_the_connection(moto_server, bucket, proxy):
    proxy.configure(rate=1.0, mix={"slowdown": 1})
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    conn.request("GET", f"/{bucket}/nothing")
    r = conn.getresponse()
    body = r.read()
    assert r.status == 503 and r.getheader("Content-Type") == "application/xml"
    assert ET.fromstring(body).findtext("Code") == "SlowDown"
    conn.request("HEAD", f"/{bucket}/nothing")
    r = conn.getresponse()
    assert r.status == 503 and r.read() == b""

    proxy.configure(mix={"internal": 1})
    conn.request("PUT", f"/{bucket}/refused", body=os.urandom(50 * KIB))
    r = conn.getresponse()
    body = r.read()
    assert r.status == 500 and ET.fromstring(body).findtext("Code") == "InternalError"
    assert not moto_server.client().list_objects_v2(Bucket=bucket).get("Contents"), \
        "a refused PUT reached moto"

    proxy.configure(rate=0.0)
    conn.request("PUT", f"/{bucket}/accepted", body=b"hello")
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    conn.close()
    assert proxy.connections == 1, "the error answers closed the connection"
    assert proxy.injected() == {"slowdown": 2, "internal": 1}
    assert [x.status for x in proxy.requests()] == [503, 503, 500, 200]


def test_max_consecutive_lets_a_retry_through(moto_server, bucket, proxy):
    proxy.configure(rate=1.0, mix={"slowdown": 1}, max_consecutive=3)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    statuses = []
    for _ in range(5):
        conn.request("GET", f"/{bucket}/missing")
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
    assert statuses == [503, 503, 503, 404, 503]
    conn.close()


@pytest.mark.parametrize("kind", ["slowdown", "internal", "drop_headers", "drop_body",
                                  "drop_response"])
def test_each_fault_is_survivable_with_retries(moto_server, bucket, proxy, fast_retries, kind):
    """Every request faults (rate 1), at most twice in a row: botocore gets each
    operation through on its 3rd attempt, and the bytes are right."""
    proxy.configure(rate=1.0, mix={kind: 1}, max_consecutive=2)
    c = _retrying_client(proxy.endpoint, attempts=4)
    objects = {f"f/{i}": os.urandom(64 * KIB + i) for i in range(3)}
    for key, data in objects.items():
        c.put_object(Bucket=bucket, Key=key, Body=data)
    for key, data in objects.items():
        assert _direct(moto_server, bucket, key) == data
        assert _get(c, bucket, key) == data
        assert _get(c, bucket, key, Range="bytes=100-4195") == data[100:4196]
    assert c.head_object(Bucket=bucket, Key="f/0")["ContentLength"] == len(objects["f/0"])
    got = proxy.injected()
    # drop_body applies only to requests with a body (the PUTs)
    least = 2 * len(objects) if kind == "drop_body" else 2 * 3 * len(objects)
    assert set(got) == {kind} and got[kind] >= least, proxy.summary()
    assert not proxy.upstream_errors, proxy.upstream_errors


def test_stall_is_a_timeout(moto_server, bucket, proxy, fast_retries):
    proxy.configure(rate=1.0, mix={"stall": 1}, max_consecutive=1, stall_seconds=20)
    c = _retrying_client(proxy.endpoint, attempts=3, timeout=1.0)
    started = time.monotonic()
    c.put_object(Bucket=bucket, Key="stalled", Body=b"late but there")
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 10, f"{elapsed:.1f}s"
    assert _direct(moto_server, bucket, "stalled") == b"late but there"
    assert proxy.injected() == {"stall": 1}


def test_mixed_faults_under_parallel_load(moto_server, bucket, proxy, fast_retries):
    proxy.configure(rate=0.35, mix=s3.DEFAULT_MIX, max_consecutive=3, cover_all=True)
    c = _retrying_client(proxy.endpoint, attempts=5)
    rng = random.Random(proxy.seed)
    objects = {f"mix/{i}": rng.randbytes(rng.randint(1, 300 * KIB)) for i in range(40)}

    def roundtrip(key):
        data = objects[key]
        c.put_object(Bucket=bucket, Key=key, Body=data)
        assert _get(c, bucket, key) == data, f"{key} read back wrong"
        lo = len(data) // 3
        assert _get(c, bucket, key, Range=f"bytes={lo}-") == data[lo:]
        return key

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(roundtrip, objects))
    assert sorted(done) == sorted(objects)
    for key, data in objects.items():
        assert _direct(moto_server, bucket, key) == data
    got = proxy.injected()
    missing = [k for k in s3.DEFAULT_MIX if not got.get(k)]
    assert not missing, f"never injected {missing}: {proxy.summary()}"
    share = proxy.injected_total() / proxy.total_requests
    assert 0.2 < share < 0.5, proxy.summary()
    print(proxy.summary())


def test_same_seed_same_decisions(moto_server, bucket):
    outcomes = []
    for _ in range(2):
        with s3.FaultProxy(moto_server.port, rate=0.5, seed=1234,
                           mix={"slowdown": 1, "internal": 1}) as p:
            conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
            for i in range(30):
                conn.request("GET", f"/{bucket}/k{i}")
                r = conn.getresponse()
                r.read()
            conn.close()
            outcomes.append([(r.target, r.fault, r.status) for r in p.requests()])
    assert outcomes[0] == outcomes[1]
    assert {f for _, f, _ in outcomes[0]} == {None, "slowdown", "internal"}


def test_drops_are_seen_by_the_client(moto_server, bucket, proxy):
    """What each drop looks like on the wire to a client that does not retry."""
    data = os.urandom(100 * KIB)
    moto_server.client().put_object(Bucket=bucket, Key="there", Body=data)

    def attempt(method, key, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        try:
            conn.request(method, f"/{bucket}/{key}", body=body)
            r = conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, ConnectionError, socket.timeout) as e:
            return type(e).__name__, None
        finally:
            conn.close()

    proxy.configure(rate=1.0, mix={"drop_headers": 1})
    assert attempt("GET", "there")[1] is None
    proxy.configure(mix={"drop_body": 1})
    assert attempt("PUT", "new", body=data)[1] is None
    proxy.configure(mix={"drop_response": 1})
    assert attempt("GET", "there")[1] is None            # half the body, then the end
    status, _ = attempt("PUT", "put-then-cut", body=b"x")  # stored, but the answer is cut
    assert status != 200
    assert _direct(moto_server, bucket, "put-then-cut") == b"x"
    keys = [o["Key"] for o in moto_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert "new" not in keys, "a PUT whose body was cut was stored"
    assert proxy.injected() == {"drop_headers": 1, "drop_body": 1, "drop_response": 2}


# --------------------------------------------------------------------------
# The SigV4 checker
# --------------------------------------------------------------------------

ODD_KEYS = ["plain/key", "odd~prefix/p+q=r,s@t!u(v)'w*x_y-z.0/blob", "sp ace/ü/%41/a&b=c?d#e",
            "trailing/"]


def test_sigv4_checker_agrees_with_botocore(moto_server, bucket, proxy):
    """Every request botocore signs — PUT, GET with Range, HEAD, LIST with odd
    prefixes and continuation tokens, DELETE, on keys that need percent-encoding —
    passes the checker; with another secret, or tampered with, none does."""
    c = s3.boto3_client(proxy.endpoint)
    for key in ODD_KEYS:
        c.put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert _get(c, bucket, key, Range="bytes=1-3") == key.encode()[1:4]
        c.head_object(Bucket=bucket, Key=key)
        c.list_objects_v2(Bucket=bucket, Prefix=key[:12], MaxKeys=1, StartAfter="a b")
    pages = list(c.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 1}))
    assert len(pages) == len(ODD_KEYS) and any("continuation-token=" in r.target
                                               for r in proxy.requests("GET"))
    c.delete_object(Bucket=bucket, Key=ODD_KEYS[1])
    c.head_bucket(Bucket=bucket)
    recs = proxy.requests()
    assert {r.method for r in recs} == {"PUT", "GET", "HEAD", "DELETE"}
    assert s3.sigv4_problems(recs, {"testing": "testing"}) == []

    wrong = s3.sigv4_problems(recs, {"testing": "not-the-secret"})
    assert len(wrong) == len(recs) and all("the spec gives" in p for p in wrong)
    assert len(s3.sigv4_problems(recs, {"other": "testing"})) == len(recs)
    tampered = [s3.RequestRecord(r.method, r.target.replace("plain", "plaim"), r.headers, None,
                                 0, 0) for r in recs if "plain" in r.target]
    assert tampered and len(s3.sigv4_problems(tampered, {"testing": "testing"})) == len(tampered)


def test_slow_answers_drip_but_arrive_whole(moto_server, bucket, proxy):
    data = os.urandom(40 * KIB)
    moto_server.client().put_object(Bucket=bucket, Key="slow", Body=data)
    proxy.configure(rate=1.0, mix={"slow": 1})
    proxy.slow_chunk, proxy.slow_interval = 8 * KIB, 0.1
    c = s3.boto3_client(proxy.endpoint, timeout=0.5)     # no gap reaches the read timeout
    started = time.monotonic()
    assert _get(c, bucket, "slow") == data
    took = time.monotonic() - started
    assert 0.45 <= took < 5, f"{took:.2f}s for 5 chunks 0.1 s apart"
    assert proxy.injected() == {"slow": 1}
