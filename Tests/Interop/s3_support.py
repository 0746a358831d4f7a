"""S3 test helpers for the interop suite: a moto server (S3 stand-in) in its own
process, boto3 access to buckets and to the blobs sluiced keeps in them, and a
fault-injecting HTTP/1.1 proxy to put between sluiced and moto.

No pytest fixtures live here (see storage/conftest.py and the tests).

  moto = MotoServer(workdir).start()          # python -m moto.server on a free port
  bucket = moto.create_bucket()               # a fresh bucket, boto3
  proxy = FaultProxy(moto.port, rate=0.3, seed=7)
  sluiced ... --blobs proxy-endpoint URL      # see S3Blobs.url()
  proxy.injected()                            # {"slowdown": 12, "drop_body": 4, ...}

The proxy is stdlib only (threads and sockets). For a chosen share of requests it
answers 503 SlowDown or 500 InternalError with S3's XML error body, drops the
connection after the request headers, in the middle of the request body or in the
middle of the response body, or stalls (reads the request, never answers); every
other request is forwarded as it came (Content-Length and chunked bodies, HEAD,
Range, interim 100 responses) and the client side of the proxy stays keep-alive
even though moto's server closes its connection after every response.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import os
import random
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import interop_support as sup  # noqa: E402

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
START_TIMEOUT = 60.0


# --------------------------------------------------------------------------
# Credentials and boto3
# --------------------------------------------------------------------------

def aws_env(base: Optional[dict] = None, **extra: Optional[str]) -> dict:
    """`base` (os.environ by default) without any AWS_* variable, plus the test
    credentials (testing/testing) and the region; extra entries override (None
    removes). Hermetic: no profile, config file or session token of the caller leaks in."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true")
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def boto3_client(endpoint: str, *, retries: Optional[dict] = None, timeout: float = 30.0,
                 service: str = "s3", access_key_id: str = ACCESS_KEY_ID,
                 secret_access_key: str = SECRET_ACCESS_KEY, **config):
    """A boto3 client (S3 by default) for `endpoint` with the test credentials,
    path-style addressing and (by default) botocore's standard retries."""
    import boto3
    from botocore.config import Config

    cfg = Config(region_name=REGION, s3={"addressing_style": "path"},
                 retries=retries or {"mode": "standard", "max_attempts": 5},
                 connect_timeout=timeout, read_timeout=timeout, **config)
    return boto3.session.Session(
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
        region_name=REGION).client(service, endpoint_url=endpoint, config=cfg)


def random_bucket_name(prefix: str = "sluice-test") -> str:
    return f"{prefix}-{os.urandom(6).hex()}"


def checksum_sha256_b64(data: bytes) -> str:
    """The value of x-amz-checksum-sha256 for these bytes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --------------------------------------------------------------------------
# moto in server mode
# --------------------------------------------------------------------------

class MotoServer:
    """`python -m moto.server` on a free port of 127.0.0.1, in its own process
    group (killable whole), its output in a log file. moto accepts any credentials
    and checks no signature (see sigv4_problems for that)."""

    def __init__(self, workdir: str, python: str = sys.executable):
        self.workdir = workdir
        self.python = python
        self.access_key_id = ACCESS_KEY_ID
        self.secret_access_key = SECRET_ACCESS_KEY
        self.port: Optional[int] = None
        self.mp: Optional[sup.ManagedProcess] = None
        self._client = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MotoServer":
        os.makedirs(self.workdir, exist_ok=True)
        last = None
        for attempt in range(3):   # a free port can be taken between probe and bind
            port = sup.free_port()
            log = os.path.join(self.workdir, f"moto-{port}.log")
            env = aws_env()
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            mp = sup.ManagedProcess([self.python, "-m", "moto.server", "-H", "127.0.0.1",
                                     "-p", str(port)], log, env=env).start()
            try:
                self._wait_ready(mp, port)
            except AssertionError as e:
                mp.stop()
                last = e
                continue
            self.mp, self.port = mp, port
            return self
        raise last  # type: ignore[misc]

    def _wait_ready(self, mp: sup.ManagedProcess, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not mp.alive():
                raise AssertionError(f"moto.server exited with {mp.proc.returncode}:\n{mp.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json",
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"moto.server did not answer within {START_TIMEOUT}s:\n{mp.tail()}")

    def alive(self) -> bool:
        return self.mp is not None and self.mp.alive()

    @property
    def credentials(self) -> dict:
        """The environment variables that hold this server's credentials."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret_access_key}

    def client(self, **kwargs):
        """A boto3 client straight to moto (no proxy); shared unless kwargs are given."""
        if kwargs:
            return boto3_client(self.endpoint, access_key_id=self.access_key_id,
                                secret_access_key=self.secret_access_key, **kwargs)
        with self._lock:
            if self._client is None:
                self._client = boto3_client(self.endpoint, access_key_id=self.access_key_id,
                                            secret_access_key=self.secret_access_key)
            return self._client

    def create_bucket(self, name: Optional[str] = None) -> str:
        name = name or random_bucket_name()
        self.client().create_bucket(Bucket=name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Deletes every object of the bucket, then the bucket."""
        c = self.client()
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                c.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        c.delete_bucket(Bucket=name)

    def bucket_exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError
        try:
            self.client().head_bucket(Bucket=name)
            return True
        except ClientError:
            return False

    def tail(self, n: int = 4000) -> str:
        return self.mp.tail(n) if self.mp else ""

    def stop(self) -> None:
        if self.mp is not None:
            self.mp.stop(grace=5)
            try:   # and anything it started (werkzeug's reloader is off, but be sure)
                os.killpg(self.mp.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# --------------------------------------------------------------------------
# A bucket prefix holding sluiced's blobs
# --------------------------------------------------------------------------

@dataclass
class BlobObject:
    key: str
    size: int
    etag: str
    last_modified: object


class S3Blobs:
    """The blobs sluiced keeps in `bucket` under `prefix`, seen through boto3
    (straight to moto): keys PREFIX/blobs/SCOPE/HEX64, or blobs/SCOPE/HEX64 when
    the prefix is empty. Found by content, like the disk inventory: an object's
    SHA-256 is computed from its bytes (cached per key and ETag: blobs never change
    in place)."""

    kind = "s3"

    def __init__(self, moto: MotoServer, bucket: str, prefix: str = "",
                 endpoint: Optional[str] = None, addressing: str = "path", ca: Optional[str] = None):
        self.moto = moto
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint          # what sluiced is told (a proxy); None: moto itself
        self.addressing = addressing      # what sluiced is told: path | virtual
        self.ca = ca                      # what sluiced is told to trust for an https endpoint
        self._sha_cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def via(self, endpoint: Optional[str], addressing: Optional[str] = None,
            ca: Optional[str] = None) -> "S3Blobs":
        """The same bucket and prefix, with sluiced told to reach S3 at `endpoint`
        (a FaultProxy's), with `addressing`, trusting the CA file `ca` for https;
        inspection still goes straight to moto."""
        other = S3Blobs(self.moto, self.bucket, self.prefix, endpoint,
                        addressing or self.addressing, ca)
        other._sha_cache, other._lock = self._sha_cache, self._lock
        return other

    def env(self, base: Optional[dict] = None) -> dict:
        """`base` with the AWS_* variables sluiced needs for this store (see aws_env)."""
        return aws_env(base, **self.moto.credentials)

    @property
    def request_prefix(self) -> str:
        """How the request path of a blob object starts, as sluiced addresses it."""
        if self.addressing == "virtual":
            return f"/{self.blobs_prefix}"
        return f"/{self.bucket}/{self.blobs_prefix}"

    @property
    def blobs_prefix(self) -> str:
        return f"{self.prefix}/blobs/" if self.prefix else "blobs/"

    def url(self, endpoint: Optional[str] = None, addressing: Optional[str] = None) -> str:
        """The --blobs value: s3://BUCKET/PREFIX?endpoint=...&region=...&addressing=..."""
        endpoint = endpoint or self.endpoint or self.moto.endpoint
        addressing = addressing or self.addressing
        path = f"/{self.prefix}" if self.prefix else ""
        return (f"s3://{self.bucket}{path}?endpoint={endpoint}&region={REGION}"
                f"&addressing={addressing}" + (f"&ca={self.ca}" if self.ca else ""))

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.blobs_prefix} (moto {self.moto.endpoint}" + \
            (f", sluiced via {self.endpoint})" if self.endpoint else ")")

    def objects(self, under: Optional[str] = None) -> list[BlobObject]:
        """Every object under `under` (the blobs prefix by default)."""
        out = []
        paginator = self.moto.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket,
                                       Prefix=self.blobs_prefix if under is None else under):
            for o in page.get("Contents", []):
                out.append(BlobObject(o["Key"], o["Size"], o["ETag"], o["LastModified"]))
        return out

    def all_keys(self) -> list[str]:
        """Every key in the bucket, blobs or not."""
        return [o.key for o in self.objects(under="")]

    def get(self, key: str, range_: Optional[str] = None) -> bytes:
        kwargs = {"Range": range_} if range_ else {}
        return self.moto.client().get_object(Bucket=self.bucket, Key=key, **kwargs)["Body"].read()

    def delete(self, key: str) -> None:
        self.moto.client().delete_object(Bucket=self.bucket, Key=key)

    def delete_all(self) -> int:
        """Deletes every blob object (behind sluiced's back); returns how many."""
        objs = self.objects()
        c = self.moto.client()
        for i in range(0, len(objs), 1000):
            c.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": o.key} for o in objs[i:i + 1000]], "Quiet": True})
        return len(objs)

    def put(self, key: str, data: bytes) -> None:
        self.moto.client().put_object(Bucket=self.bucket, Key=key, Body=data)

    def _sha_of(self, obj: BlobObject) -> Optional[str]:
        cache_key = (obj.key, obj.etag)
        with self._lock:
            hit = self._sha_cache.get(cache_key)
        if hit is not None:
            return hit
        from botocore.exceptions import ClientError
        try:
            data = self.get(obj.key)
        except ClientError:
            return None          # deleted while we listed
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._sha_cache[cache_key] = digest
        return digest

    def inventory(self) -> dict[str, list[str]]:
        """sha256 hex of each blob object's content → keys holding it."""
        found: dict[str, list[str]] = {}
        for obj in self.objects():
            digest = self._sha_of(obj)
            if digest is not None:
                found.setdefault(digest, []).append(obj.key)
        return found

    def copies(self, payload: bytes) -> int:
        return len(self.inventory().get(hashlib.sha256(payload).hexdigest(), []))

    def layout_problems(self) -> list[str]:
        """Objects that break the contract: anything outside PREFIX/ (the bucket is
        sluiced's only under its prefix), blob keys other than PREFIX/blobs/SCOPE/HEX64,
        blobs whose bytes do not hash to the HEX64 of their key."""
        problems = []
        own = f"{self.prefix}/" if self.prefix else ""
        for key in self.all_keys():
            if not key.startswith(own):
                problems.append(f"{key}: outside the prefix {own!r}")
                continue
            if not key.startswith(self.blobs_prefix):
                continue
            rest = key[len(self.blobs_prefix):].split("/")
            if len(rest) != 2 or not rest[0] or not HEX64.match(rest[1]):
                problems.append(f"{key}: not {self.blobs_prefix}SCOPE/HEX64")
        for obj in self.objects():
            name = obj.key.rsplit("/", 1)[-1]
            digest = self._sha_of(obj)
            if HEX64.match(name) and digest is not None and digest != name:
                problems.append(f"{obj.key}: content hashes to {digest}")
        return problems


# --------------------------------------------------------------------------
# What sluiced's S3 requests must look like
# --------------------------------------------------------------------------

def wire_contract_problems(proxy: "FaultProxy", blobs: S3Blobs) -> list[str]:
    """What breaks sluiced's S3 request contract among the requests the proxy saw:
    an Expect: 100-continue anywhere; a blob PUT (whose body the proxy read whole)
    without x-amz-checksum-sha256 (base64) and x-amz-content-sha256 (hex) of exactly
    its bytes, or whose bytes do not hash to its key's HEX64; a blob GET without Range."""
    problems = []
    recs = proxy.requests()
    if not recs:
        return ["sluiced sent no S3 request through the proxy"]
    problems += [f"{r.method} {r.target}: Expect: {r.headers['expect']}"
                 for r in recs if "expect" in r.headers]
    puts = [r for r in recs if r.method == "PUT" and r.path.startswith(blobs.request_prefix)
            and r.body_sha256 is not None]
    if not puts:
        problems.append("no blob PUT was seen whole")
    for r in puts:
        want_b64 = base64.b64encode(bytes.fromhex(r.body_sha256)).decode()
        got = r.headers.get("x-amz-checksum-sha256")
        if got != want_b64:
            problems.append(f"PUT {r.target}: x-amz-checksum-sha256 {got!r}, the body's is "
                            f"{want_b64}")
        got = r.headers.get("x-amz-content-sha256")
        if got != r.body_sha256:
            problems.append(f"PUT {r.target}: x-amz-content-sha256 {got!r}, the body's is "
                            f"{r.body_sha256}")
        if r.path.rsplit("/", 1)[-1] != r.body_sha256:
            problems.append(f"PUT {r.target}: the body hashes to {r.body_sha256}")
    problems += [f"GET {r.target}: no Range" for r in recs
                 if r.method == "GET" and r.path.startswith(blobs.request_prefix)
                 and "range" not in r.headers]
    return problems


# --------------------------------------------------------------------------
# SigV4 signatures, checked from the spec
# --------------------------------------------------------------------------

_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                   r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
                   r"Signature=(?P<signature>[0-9a-f]{64})$")


def _uri_encode(text: str, keep_slash: bool) -> str:
    """SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ (and / in paths) as %XY."""
    return urllib.parse.quote(text, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_request(record: "RequestRecord") -> tuple[str, Optional[str]]:
    """The SigV4 canonical request of a recorded request, built as S3 builds it
    from what arrived (path and query decoded, then encoded per the spec, once;
    headers as listed in SignedHeaders; the payload hash from x-amz-content-sha256).
    Returns (canonical request, problem or None)."""
    m = _AUTH.match(record.headers.get("authorization", ""))
    if not m:
        return "", f"Authorization is not SigV4: {record.headers.get('authorization')!r}"
    path, _, query = record.target.partition("?")
    params = []
    for item in query.split("&") if query else []:
        k, _, v = item.partition("=")
        params.append((_uri_encode(urllib.parse.unquote(k), False),
                       _uri_encode(urllib.parse.unquote(v), False)))
    names = m["signed"].split(";")
    if names != sorted(names) or any(n != n.lower() for n in names):
        return "", f"SignedHeaders not sorted lower-case: {m['signed']}"
    missing = [n for n in names if n not in record.headers]
    if missing or "host" not in names:
        return "", f"signed headers not sent: {missing}, or host not signed"
    headers = "".join(f"{n}:{' '.join(record.headers[n].split())}\n" for n in names)
    payload = record.headers.get("x-amz-content-sha256")
    if payload is None:
        return "", "no x-amz-content-sha256"
    return "\n".join([record.method, _uri_encode(urllib.parse.unquote(path), True),
                      "&".join(f"{k}={v}" for k, v in sorted(params)), headers, m["signed"],
                      payload]), None


def sigv4_problems(records: Iterable["RequestRecord"], secrets: dict[str, str],
                   region: str = REGION, service: str = "s3") -> list[str]:
    """Requests whose SigV4 signature is not what the spec gives for them with the
    secret of their access key (`secrets`: access key id → secret access key); also
    unsigned requests, unknown keys, another region or service, a date that does not
    match x-amz-date. An implementation of AWS's algorithm that shares no code with
    the signer under test (and is checked against botocore in test_s3_support.py)."""
    import hmac

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    problems = []
    for r in records:
        what = f"{r.method} {r.target}"
        m = _AUTH.match(r.headers.get("authorization", ""))
        if not m:
            problems.append(f"{what}: not SigV4-signed ({r.headers.get('authorization')!r})")
            continue
        if m["key"] not in secrets:
            problems.append(f"{what}: signed with access key {m['key']}, expected one of "
                            f"{sorted(secrets)}")
            continue
        if (m["region"], m["service"]) != (region, service):
            problems.append(f"{what}: scope {m['region']}/{m['service']}")
        amz_date = r.headers.get("x-amz-date", "")
        if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != m["date"]:
            problems.append(f"{what}: x-amz-date {amz_date!r} vs credential date {m['date']}")
            continue
        creq, problem = canonical_request(r)
        if problem:
            problems.append(f"{what}: {problem}")
            continue
        scope = f"{m['date']}/{m['region']}/{m['service']}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(creq.encode()).hexdigest()])
        key = mac(("AWS4" + secrets[m["key"]]).encode(), m["date"])
        for part in (m["region"], m["service"], "aws4_request"):
            key = mac(key, part)
        want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if want != m["signature"]:
            problems.append(f"{what}: signature {m['signature']}, the spec gives {want} for "
                            f"the canonical request\n{creq}")
    return problems


# --------------------------------------------------------------------------
# The fault-injecting proxy
# --------------------------------------------------------------------------

FAULTS = ("slowdown", "internal", "drop_headers", "drop_body", "drop_response", "stall",
          "forbidden", "slow", "drop_after_body", "skewed", "late", "huge_error", "stuck_listing",
          "late_after_504")
DROPS = ("drop_headers", "drop_body", "drop_response")
DEFAULT_MIX = {"slowdown": 2, "internal": 1, "drop_headers": 1, "drop_body": 1, "drop_response": 1}

_ERRORS = {
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "internal": (500, "Internal Server Error", "InternalError",
                 "We encountered an internal error. Please try again."),
    "forbidden": (403, "Forbidden", "AccessDenied", "Access Denied"),
    "skewed": (403, "Forbidden", "RequestTimeTooSkewed",
               "The difference between the request time and the current time is too large."),
    "huge_error": (500, "Internal Server Error", "InternalError", "We encountered an internal error."),
}

MAX_HEAD = 64 * 1024
RELAY = 64 * 1024


class _Closed(Exception):
    """The peer closed (or we closed on purpose): end this connection."""


@dataclass
class RequestRecord:
    """One request the proxy saw, and what it did with it."""
    method: str
    target: str
    headers: dict                      # lower-case name → value (last one wins)
    fault: Optional[str]               # None: forwarded
    connection: int                    # which client connection (1-based)
    on_connection: int                 # the n-th request on that connection (1-based)
    status: Optional[int] = None       # the answer the client got, when it got one
    body_length: Optional[int] = None  # request body bytes read, when all were read
    body_sha256: Optional[str] = None  # hex, when all were read
    note: str = ""
    started: float = 0.0               # time.monotonic() when its head was read
    answered: Optional[float] = None   # when the upstream's final answer head arrived
    finished: Optional[float] = None   # when the whole answer was passed on (forwarded ones)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class _Head:
    first_line: str
    headers: list[tuple[str, str]]
    raw: bytes

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        name = name.lower()
        found = default
        for k, v in self.headers:
            if k.lower() == name:
                found = v
        return found

    def tokens(self, name: str) -> set[str]:
        out = set()
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                out.update(t.strip().lower() for t in v.split(",") if t.strip())
        return out


def _read_head(f) -> Optional[_Head]:
    """A request or response head (start line and headers) from a buffered reader;
    None at a clean EOF before any byte."""
    raw = bytearray()
    first = f.readline(MAX_HEAD + 1)
    while first in (b"\r\n", b"\n"):          # tolerate stray CRLF between messages
        first = f.readline(MAX_HEAD + 1)
    if not first:
        return None
    if not first.endswith(b"\n"):
        raise _Closed("truncated start line")
    raw += first
    headers = []
    while True:
        line = f.readline(MAX_HEAD + 1)
        if not line or not line.endswith(b"\n"):
            raise _Closed("truncated head")
        raw += line
        if len(raw) > MAX_HEAD:
            raise _Closed("head too large")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return _Head(first.decode("latin-1").rstrip("\r\n"), headers, bytes(raw))


def _close_socket(sock: Optional[socket.socket]) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Body:
    """Framing of one message body: 'none', 'length' (n bytes), 'chunked', 'close'."""

    def __init__(self, kind: str, length: int = 0):
        self.kind, self.length = kind, length

    @staticmethod
    def of_request(head: _Head) -> "_Body":
        if "chunked" in head.tokens("transfer-encoding"):
            return _Body("chunked")
        cl = head.get("content-length")
        if cl is not None:
            return _Body("length", int(cl))
        return _Body("none")

    @staticmethod
    def of_response(head: _Head, method: str, status: int) -> "_Body":
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return _Body("none")
        if "chunked" in head.tokens("transfer-encoding"):
            return _Body("chunked")
        cl = head.get("content-length")
        if cl is not None:
            return _Body("length", int(cl))
        return _Body("close")

    @property
    def present(self) -> bool:
        return self.kind == "chunked" or (self.kind in ("length",) and self.length > 0) \
            or self.kind == "close"


def _relay_body(src, body: _Body, sink: Optional[Callable[[bytes], None]],
                hasher=None, limit: Optional[int] = None) -> int:
    """Copies a body from buffered reader `src` to `sink` (None: discard), raw (chunk
    framing included). With `limit`, stops after about that many payload bytes and
    returns (a partial body for a drop). Returns the payload bytes relayed."""
    done = 0

    def out(data: bytes) -> None:
        if sink is not None and data:
            sink(data)

    if body.kind == "none":
        return 0
    if body.kind == "length":
        left = body.length if limit is None else min(limit, body.length)
        while left:
            data = src.read1(min(RELAY, left)) if hasattr(src, "read1") else src.read(min(RELAY, left))
            if not data:
                raise _Closed("body cut short")
            if hasher is not None:
                hasher.update(data)
            out(data)
            left -= len(data)
            done += len(data)
        return done
    if body.kind == "close":
        while limit is None or done < limit:
            want = RELAY if limit is None else min(RELAY, limit - done)
            data = src.read1(want)
            if not data:
                break
            if hasher is not None:
                hasher.update(data)
            out(data)
            done += len(data)
        return done
    # chunked
    while True:
        line = src.readline(MAX_HEAD + 1)
        if not line.endswith(b"\n"):
            raise _Closed("chunk size line cut short")
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        out(line)
        if size == 0:
            while True:                           # trailers, then the empty line
                t = src.readline(MAX_HEAD + 1)
                if not t.endswith(b"\n"):
                    raise _Closed("trailers cut short")
                out(t)
                if t in (b"\r\n", b"\n"):
                    return done
        left = size
        if limit is not None:
            left = min(left, max(1, limit - done))
        while left:
            data = src.read1(min(RELAY, left))
            if not data:
                raise _Closed("chunk cut short")
            if hasher is not None:
                hasher.update(data)
            out(data)
            left -= len(data)
            done += len(data)
        if limit is not None and done >= limit:
            return done
        crlf = src.readline(3)
        out(crlf)


class FaultProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 in front of an upstream HTTP server
    (moto). For a share `rate` of the requests it injects one fault, drawn with the
    weights of `mix` among those that apply to the request:

      slowdown       503 with <Error><Code>SlowDown</Code>...  (body read first; keep-alive)
      internal       500 with <Error><Code>InternalError</Code>...
      drop_headers   close right after the request headers
      drop_body      close after part of the request body (requests with a body only)
      drop_response  forward, then close after part of the response body (without
                     sending anything when the answer has no body): S3 did the work,
                     the client does not know
      stall          read the request, never answer; close after `stall_seconds` or
                     when the client gives up
      forbidden      403 with <Error><Code>AccessDenied</Code>... (a permanent refusal;
                     not in DEFAULT_MIX)
      skewed         403 with <Error><Code>RequestTimeTooSkewed</Code>... (this host's
                     clock is off; not in DEFAULT_MIX)
      huge_error     500 InternalError whose error document is padded to `huge_error_bytes`
                     (not in DEFAULT_MIX)
      stuck_listing  forward a ListObjectsV2, and answer it as truncated with the continuation
                     token "stuck" every time: a listing that never ends (other requests are
                     forwarded as they are; not in DEFAULT_MIX)
      late_after_504 answer 504 Gateway Timeout at once, and deliver the request (one without
                     a body) upstream `late_seconds` later all the same (not in DEFAULT_MIX)
      late           hold the request for `late_seconds` without a word, then carry it
                     out upstream all the same: a gateway delivering a request its client
                     gave up on (not in DEFAULT_MIX)
      slow           forward, but pass the response body on in `slow_chunk` bytes every
                     `slow_interval` seconds: a transfer slow but never stalled (not in
                     DEFAULT_MIX)
      drop_after_body  forward a response whose body has a length, announcing 1,000 bytes
                     more than it holds, and close after the last real byte: every byte
                     arrived, yet the transfer fails (not in DEFAULT_MIX)

    Seeded (`seed`), so a run's sequence of decisions can be replayed; `methods`
    limits faults to those methods; `max_consecutive` caps faults in a row for one
    request (method, target, Range), so a client that retries that often must get
    through — an upload test then cannot fail by bad luck; `cover_all` makes each
    fault pick a kind not injected yet while there is one that applies, so that a run
    with enough faults surely has every kind. Everything is counted: `injected()`,
    `records`, `summary()`."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", *,
                 rate: float = 0.0, mix: Optional[dict] = None, seed: Optional[int] = None,
                 methods: Optional[Iterable[str]] = None, max_consecutive: Optional[int] = None,
                 stall_seconds: float = 30.0, keep_alive: bool = True,
                 cover_all: bool = False, slow_chunk: int = 8 * 1024,
                 slow_interval: float = 0.25, late_seconds: float = 5.0, max_records: int = 100_000,
                 tls: Optional[tuple[str, str]] = None):
        self.upstream = (upstream_host, upstream_port)
        # (certificate chain, key) PEM files: serve HTTPS to sluiced, plain HTTP upstream.
        self._tls: Optional[ssl.SSLContext] = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.rate = rate
        self.mix = dict(DEFAULT_MIX if mix is None else mix)
        self.methods = {m.upper() for m in methods} if methods else None
        self.max_consecutive = max_consecutive
        self.stall_seconds = stall_seconds
        self.keep_alive = keep_alive
        self.cover_all = cover_all
        self.slow_chunk = slow_chunk
        self.slow_interval = slow_interval
        self.late_seconds = late_seconds
        self.huge_error_bytes = 12 * 1024 * 1024
        self._check_mix()
        self._streaks: dict[tuple, int] = {}
        self.counts: collections.Counter = collections.Counter()
        self.records: collections.deque = collections.deque(maxlen=max_records)
        self.total_requests = 0
        self.connections = 0
        self.upstream_connections = 0
        self.upstream_errors: list[str] = []
        self._closed = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, name="fault-proxy-accept", daemon=True)
        t.start()
        self._threads.append(t)

    # --- configuration and results ------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def _check_mix(self) -> None:
        unknown = set(self.mix) - set(FAULTS)
        assert not unknown, f"unknown fault kinds {sorted(unknown)}; known: {FAULTS}"
        assert 0.0 <= self.rate <= 1.0, f"rate {self.rate} outside [0, 1]"

    def configure(self, *, rate: Optional[float] = None, mix: Optional[dict] = None,
                  methods: Optional[Iterable[str]] = ..., max_consecutive: Optional[int] = ...,
                  stall_seconds: Optional[float] = None,
                  cover_all: Optional[bool] = None) -> None:
        """Changes the fault settings for the requests that come next."""
        with self._lock:
            if rate is not None:
                self.rate = rate
            if mix is not None:
                self.mix = dict(mix)
            if methods is not ...:
                self.methods = {m.upper() for m in methods} if methods else None
            if max_consecutive is not ...:
                self.max_consecutive = max_consecutive
            if stall_seconds is not None:
                self.stall_seconds = stall_seconds
            if cover_all is not None:
                self.cover_all = cover_all
            self._check_mix()

    def injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (kinds never injected are absent)."""
        with self._lock:
            return {k: v for k, v in self.counts.items() if v}

    def injected_total(self) -> int:
        return sum(self.injected().values())

    def requests(self, method: Optional[str] = None,
                 fault: Optional[str] = "any") -> list[RequestRecord]:
        """Records, optionally only one method and one outcome (fault=None: forwarded)."""
        with self._lock:
            recs = list(self.records)
        return [r for r in recs if (method is None or r.method == method)
                and (fault == "any" or r.fault == fault)]

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.records.clear()
            self.total_requests = 0
            self._streaks.clear()

    def summary(self) -> str:
        with self._lock:
            by_method = collections.Counter(r.method for r in self.records)
            return (f"proxy :{self.port} seed={self.seed} rate={self.rate} "
                    f"requests={self.total_requests} {dict(by_method)} "
                    f"connections={self.connections} upstream_connections="
                    f"{self.upstream_connections} injected={dict(self.counts)} "
                    f"upstream_errors={len(self.upstream_errors)}")

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            _close_socket(s)
        for t in list(self._threads):
            t.join(5)

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- decisions ------------------------------------------------------------

    def _decide(self, method: str, target: str, head: _Head, body: _Body) -> Optional[str]:
        key = (method, target, head.get("range"))
        with self._lock:
            self.total_requests += 1
            if self.rate <= 0 or (self.methods is not None and method not in self.methods):
                self._streaks.pop(key, None)
                return None
            if self.max_consecutive is not None and \
                    self._streaks.get(key, 0) >= self.max_consecutive:
                self._streaks.pop(key, None)
                return None
            # Draw even when nothing applies, so one seed gives one sequence.
            hit = self._rng.random() < self.rate
            choices = [(k, w) for k, w in sorted(self.mix.items())
                       if w > 0 and (k != "drop_body" or body.present)]
            pick = self._rng.random() * sum(w for _, w in choices) if choices else 0.0
            if not hit or not choices:
                self._streaks.pop(key, None)
                return None
            if self.cover_all and any(self.counts[k] == 0 for k, _ in choices):
                choices = [(k, w) for k, w in choices if self.counts[k] == 0]
                pick = self._rng.random() * sum(w for _, w in choices)
            for kind, w in choices:
                pick -= w
                if pick < 0:
                    break
            self._streaks[key] = self._streaks.get(key, 0) + 1
            self.counts[kind] += 1
            return kind

    # --- connections ----------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                r, _, _ = select.select([self._listener], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed.is_set():
                    _close_socket(sock)
                    return
                self.connections += 1
                number = self.connections
                self._sockets.add(sock)
            t = threading.Thread(target=self._serve, args=(sock, number),
                                 name=f"fault-proxy-{number}", daemon=True)
            t.start()
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _connect_upstream(self) -> tuple[socket.socket, object]:
        up = socket.create_connection(self.upstream, timeout=60)
        up.settimeout(None)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.upstream_connections += 1
            self._sockets.add(up)
        return up, up.makefile("rb")

    def _drop_upstream(self, up: Optional[socket.socket]) -> None:
        if up is not None:
            _close_socket(up)
            with self._lock:
                self._sockets.discard(up)

    @staticmethod
    def _usable(up: socket.socket) -> bool:
        """The idle upstream connection was not closed by the other end."""
        try:
            r, _, _ = select.select([up], [], [], 0)
            if not r:
                return True
            return up.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def _serve(self, client: socket.socket, number: int) -> None:
        if self._tls is not None:
            try:
                client.settimeout(10)
                client = self._tls.wrap_socket(client, server_side=True)
                client.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                with self._lock:
                    self.upstream_errors.append(f"TLS handshake with the client failed: {e}")
                _close_socket(client)
                return
        cf = client.makefile("rb")
        up: Optional[socket.socket] = None
        uf = None
        count = 0
        try:
            while not self._closed.is_set():
                head = _read_head(cf)
                if head is None:
                    return
                count += 1
                parts = head.first_line.split(" ", 2)
                if len(parts) != 3:
                    raise _Closed(f"bad request line {head.first_line!r}")
                method, target, version = parts
                body = _Body.of_request(head)
                fault = self._decide(method, target, head, body)
                rec = RequestRecord(method, target, {k.lower(): v for k, v in head.headers},
                                    fault, number, count, started=time.monotonic())
                with self._lock:
                    self.records.append(rec)
                expect = "100-continue" in head.tokens("expect")
                client_close = "close" in head.tokens("connection") or version == "HTTP/1.0"

                if fault == "drop_headers":
                    raise _Closed("fault")
                if fault in _ERRORS:
                    rec.status = _ERRORS[fault][0]  # (before the client can see it)
                    if expect:                     # answer instead of 100; body never read
                        self._send_error(client, fault, method, close=True)
                        raise _Closed("fault")
                    self._read_request_body(cf, body, rec)
                    close = client_close or not self.keep_alive
                    self._send_error(client, fault, method, close=close)
                    if close:
                        return
                    continue
                if fault == "drop_body":
                    if expect:
                        client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    half = max(1, body.length // 2) if body.kind == "length" else RELAY
                    _relay_body(cf, body, None, limit=half - 1 if half > 1 else 0)
                    raise _Closed("fault")
                if fault == "stall":
                    if expect:
                        client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self._read_request_body(cf, body, rec)
                    self._stall(client)
                    raise _Closed("fault")

                if fault == "late_after_504":
                    rec.status = 504
                    client.sendall(b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    threading.Thread(target=self._deliver_late, args=(head.raw, rec), daemon=True).start()
                    raise _Closed("fault")
                if fault == "late" and self._closed.wait(self.late_seconds):
                    raise _Closed("proxy closed")
                # Forward.
                if up is not None and not self._usable(up):
                    self._drop_upstream(up)
                    up = uf = None
                if up is None:
                    try:
                        up, uf = self._connect_upstream()
                    except OSError as e:
                        self._upstream_failed(rec, f"connect: {e!r}")
                        raise _Closed("upstream")
                try:
                    keep = self._forward(client, cf, up, uf, head, method, body, expect, rec,
                                         drop=(fault == "drop_response"),
                                         slow=(fault == "slow"),
                                         overlong=(fault == "drop_after_body"),
                                         stuck=(fault == "stuck_listing" and "list-type=2" in target))
                except _Closed:
                    raise
                except OSError as e:
                    self._upstream_failed(rec, repr(e))
                    raise _Closed("upstream")
                if fault in ("drop_response", "drop_after_body", "late"):
                    raise _Closed("fault")
                up_keep, client_keep = keep
                if not up_keep:
                    self._drop_upstream(up)
                    up = uf = None
                if not client_keep or client_close or not self.keep_alive:
                    return
        except (_Closed, OSError, ValueError):
            return
        finally:
            try:
                cf.close()
            except OSError:
                pass
            _close_socket(client)
            self._drop_upstream(up)
            with self._lock:
                self._sockets.discard(client)

    def _deliver_late(self, raw_head: bytes, rec: RequestRecord) -> None:
        """Sends a request (its head; it has no body) upstream `late_seconds` from now, as a
        gateway that answered for it already may, and reads the answer nobody waits for."""
        if self._closed.wait(self.late_seconds):
            return
        try:
            with socket.create_connection(self.upstream, timeout=10) as up:
                up.sendall(raw_head)
                answer = up.recv(RELAY)
            rec.note = f"delivered late, answered {answer.split(b' ', 2)[1].decode(errors='replace')}"
        except OSError as e:
            rec.note = f"late delivery failed: {e!r}"

    def _upstream_failed(self, rec: RequestRecord, what: str) -> None:
        rec.note = f"upstream failed: {what}"
        with self._lock:
            self.upstream_errors.append(f"{rec.method} {rec.target}: {what}")

    def _read_request_body(self, cf, body: _Body, rec: RequestRecord) -> None:
        h = hashlib.sha256()
        rec.body_length = _relay_body(cf, body, None, hasher=h)
        rec.body_sha256 = h.hexdigest()

    def _send_error(self, client: socket.socket, fault: str, method: str, close: bool) -> None:
        status, reason, code, message = _ERRORS[fault]
        request_id = os.urandom(8).hex().upper()
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
               f"<Message>{message}</Message><RequestId>{request_id}</RequestId>"
               f"<HostId>fault-proxy</HostId></Error>").encode()
        if fault == "huge_error":
            xml += b" " * max(0, self.huge_error_bytes - len(xml))
        body = b"" if method == "HEAD" else xml
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nx-amz-request-id: {request_id}\r\n"
                f"Server: AmazonS3\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n")
        client.sendall(head.encode() + body)

    def _stall(self, client: socket.socket) -> None:
        deadline = time.monotonic() + self.stall_seconds
        while not self._closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([client], [], [], min(left, 0.2))
            if r:
                try:
                    if client.recv(RELAY) == b"":
                        return                      # the client gave up
                except OSError:
                    return

    def _forward(self, client, cf, up, uf, head: _Head, method: str, body: _Body, expect: bool,
                 rec: RequestRecord, drop: bool, slow: bool = False,
                 overlong: bool = False, stuck: bool = False) -> tuple[bool, bool]:
        """Sends one request upstream and its answer back. Returns (upstream stays
        usable, client connection stays open)."""
        raw_request = head.raw
        if stuck:
            # The token is the proxy's invention: upstream lists from the start again.
            target = head.first_line.split(" ", 2)[1]
            raw_request = raw_request.replace(
                target.encode(), re.sub(r"&?continuation-token=[^&]*", "", target).encode(), 1)
        up.sendall(raw_request)
        h = hashlib.sha256()
        if expect:
            # The upstream answers 100 (then the body follows) or a final status at once.
            resp = _read_head(uf)
            if resp is None:
                raise OSError("upstream closed before answering")
            status = int(resp.first_line.split(" ", 2)[1])
            if status == 100:
                client.sendall(resp.raw)
            else:
                rec.status = status
                client.sendall(resp.raw)
                _relay_body(uf, _Body.of_response(resp, method, status), client.sendall)
                return False, False               # the request body's fate is unknown: close
        rec.body_length = _relay_body(cf, body, up.sendall, hasher=h)
        rec.body_sha256 = h.hexdigest()
        while True:
            resp = _read_head(uf)
            if resp is None:
                raise OSError("upstream closed before answering")
            status = int(resp.first_line.split(" ", 2)[1])
            if 100 <= status < 200 and status != 101:
                client.sendall(resp.raw)          # interim (100 after all, 103)
                continue
            break
        rec.status = status
        rec.answered = time.monotonic()
        rbody = _Body.of_response(resp, method, status)
        up_keep = "close" not in resp.tokens("connection") and rbody.kind != "close" \
            and not resp.first_line.startswith("HTTP/1.0")
        raw = resp.raw
        client_keep = rbody.kind != "close"
        if not up_keep and client_keep and self.keep_alive:
            # moto closes after every answer; the client side stays keep-alive, as S3 does.
            raw = _without_connection_close(resp)
        if drop:
            if rbody.present and rbody.kind != "close":
                client.sendall(raw)
                half = rbody.length // 2 if rbody.kind == "length" else RELAY // 2
                _relay_body(uf, rbody, client.sendall, limit=max(half, 0))
                rec.note = "response cut after part of its body"
            else:
                # No body to cut: the answer is lost whole. (A head cut in the middle is
                # taken for a complete one by lenient parsers such as http.client's.)
                rec.note = "processed upstream, answer never sent"
            return False, False
        if stuck and rbody.kind == "length":
            document = bytearray()
            _relay_body(uf, rbody, document.extend)
            document = re.sub(rb"<IsTruncated>false</IsTruncated>", b"<IsTruncated>true</IsTruncated>", bytes(document))
            document = re.sub(rb"<NextContinuationToken>[^<]*</NextContinuationToken>", b"", document)
            document = document.replace(b"</ListBucketResult>",
                                        b"<NextContinuationToken>stuck</NextContinuationToken></ListBucketResult>")
            client.sendall(_with_content_length(resp, len(document)) + document)
            rec.note = "answered as truncated, continuation token 'stuck'"
            return False, False
        if overlong and rbody.kind == "length" and rbody.length > 0:
            client.sendall(_with_content_length(resp, rbody.length + 1000))
            _relay_body(uf, rbody, client.sendall)
            rec.note = "every byte sent under a Content-Length 1,000 bytes larger, then closed"
            return False, False
        client.sendall(raw)
        _relay_body(uf, rbody, self._dripping(client) if slow else client.sendall)
        rec.finished = time.monotonic()
        return up_keep, client_keep

    def _dripping(self, client: socket.socket) -> Callable[[bytes], None]:
        """A sink that passes bytes on `slow_chunk` at a time, `slow_interval` apart."""
        def send(data: bytes) -> None:
            for i in range(0, len(data), self.slow_chunk):
                if self._closed.wait(self.slow_interval):
                    raise _Closed("proxy closed")
                client.sendall(data[i:i + self.slow_chunk])
        return send


def _with_content_length(resp: _Head, length: int) -> bytes:
    """The response head announcing `length` body bytes (and no keep-alive)."""
    lines = [resp.first_line]
    for k, v in resp.headers:
        if k.lower() in ("content-length", "connection"):
            continue
        lines.append(f"{k}: {v}")
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _without_connection_close(resp: _Head) -> bytes:
    lines = [resp.first_line]
    for k, v in resp.headers:
        if k.lower() == "connection":
            continue
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
