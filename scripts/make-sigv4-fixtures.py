#!/usr/bin/env python3
"""Writes Tests/Vectors/sigv4/botocore-cases.json: S3 requests signed by botocore.

    .venv/bin/python scripts/make-sigv4-fixtures.py          # rewrite the fixture
    .venv/bin/python scripts/make-sigv4-fixtures.py --check  # exit 1 if it is stale

Each case is one request of the kinds Sluice's S3 client sends, signed by botocore's
S3SigV4Auth (the signer boto3 uses for S3) at a fixed time. The fixture holds the request
as Swift's SigV4Signer takes it (method, encoded path, decoded query, headers including
host and x-amz-content-sha256, payload hash) and what botocore produced from it: the
canonical request, the string to sign and the headers it added. Swift's tests sign the
same inputs and must produce the same bytes; Tests/Interop/test_sigv4_botocore.py runs
this script's build() again and requires the committed file to equal it, so the
fixture is provably botocore's and never edited by hand.

botocore's add_auth reads the clock through botocore.auth.get_current_datetime, which
is replaced for the call; a RecordingS3SigV4Auth keeps the canonical request and string
to sign that add_auth computes, without changing them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import sys
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURE = os.path.join(REPO_ROOT, "Tests", "Vectors", "sigv4", "botocore-cases.json")

# AWS's documentation key pair: obviously not a secret, and the one its examples use.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLE+token/with=padding+and/slashes=="

NOW = datetime.datetime(2026, 3, 14, 15, 9, 26)
LEAP_DAY_MIDNIGHT = datetime.datetime(2024, 2, 29, 23, 59, 59)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
BLOB = b"partition bytes \x00\x01\x02 and more"
COMPLETE_XML = (
    b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Part><PartNumber>1</PartNumber><ETag>\"0123456789abcdef0123456789abcdef\"</ETag></Part>"
    b"</CompleteMultipartUpload>"
)


def key_path(key: str) -> str:
    """An object key as it appears in a request path: every byte but unreserved ones and
    '/' percent-encoded, the same rule as Swift's AWSPercentEncoding.encode(keepingSlashes:)."""
    return quote(key, safe="/~")


def checksum_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


# name, method, url (path already encoded), query (decoded pairs), headers, body, and what
# else varies: region, session token, signing time, botocore request context.
CASES = [
    dict(
        name="put-object-signed-payload-checksum",
        method="PUT",
        url="http://127.0.0.1:9000/sluice-blobs/" + key_path("blobs/9f/9f86d081884c7d65.blob"),
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(BLOB)),
            "x-amz-checksum-sha256": checksum_sha256(BLOB),
        },
        body=BLOB,
    ),
    dict(
        # Over https with a checksum header and a streaming body botocore does not hash the
        # payload: the canonical request carries UNSIGNED-PAYLOAD instead.
        name="put-object-unsigned-payload",
        method="PUT",
        url="https://sluice-blobs.s3.eu-west-1.amazonaws.com/" + key_path("blobs/large.bin"),
        region="eu-west-1",
        headers={
            "Content-Length": str(len(BLOB)),
            "x-amz-checksum-sha256": checksum_sha256(BLOB),
        },
        body=BLOB,
        context={
            "checksum": {"request_algorithm": {"in": "header", "name": "x-amz-checksum-sha256"}},
            "has_streaming_input": True,
        },
    ),
    dict(
        name="get-object-range-path-style-port",
        method="GET",
        url="http://localhost:9000/sluice-blobs/" + key_path("blobs/ab/cd.blob"),
        headers={"Range": "bytes=0-1048575"},
    ),
    dict(
        name="head-object-virtual-host",
        method="HEAD",
        url="https://sluice-blobs.s3.eu-central-1.amazonaws.com/" + key_path("blobs/ab/cd.blob"),
        region="eu-central-1",
    ),
    dict(
        name="delete-object-key-needs-encoding",
        method="DELETE",
        url="https://s3.us-east-1.amazonaws.com/sluice-blobs/"
        + key_path("dir one/na\u00efve file \u20ac a+b=c;d.bin"),
    ),
    dict(
        name="list-objects-v2-prefix-start-after",
        method="GET",
        url="https://s3.us-east-1.amazonaws.com/sluice-blobs",
        query=[
            ("list-type", "2"),
            ("prefix", "blobs/caf\u00e9 cr\u00e8me/\u65e5\u672c/"),
            ("start-after", "blobs/caf\u00e9 cr\u00e8me/\u65e5\u672c/0001"),
            ("max-keys", "1000"),
        ],
    ),
    dict(
        name="list-objects-v2-continuation-token",
        method="GET",
        url="http://127.0.0.1:9000/sluice-blobs",
        query=[
            ("list-type", "2"),
            ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+more=="),
            ("prefix", ""),
            ("max-keys", "2"),
        ],
    ),
    dict(
        name="get-object-session-token",
        method="GET",
        url="https://sluice-blobs.s3.us-west-2.amazonaws.com/" + key_path("blobs/ab/cd.blob"),
        region="us-west-2",
        session_token=SESSION_TOKEN,
    ),
    dict(
        name="create-multipart-upload",
        method="POST",
        url="http://minio.internal:9000/sluice-blobs/" + key_path("blobs/big.blob"),
        query=[("uploads", "")],
        headers={"Content-Type": "application/octet-stream"},
    ),
    dict(
        name="upload-part",
        method="PUT",
        url="http://minio.internal:9000/sluice-blobs/" + key_path("blobs/big.blob"),
        query=[("uploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"), ("partNumber", "3")],
        headers={"Content-Length": str(len(BLOB))},
        body=BLOB,
    ),
    dict(
        name="complete-multipart-upload",
        method="POST",
        url="http://minio.internal:9000/sluice-blobs/" + key_path("blobs/big.blob"),
        query=[("uploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")],
        headers={"Content-Type": "application/xml"},
        body=COMPLETE_XML,
    ),
    dict(
        name="header-values-trimmed-and-collapsed",
        method="PUT",
        url="http://127.0.0.1:9000/sluice-blobs/" + key_path("blobs/meta.blob"),
        headers={
            "X-Amz-Meta-Title": "   two   inner \t runs  ",
            "x-amz-meta-EMPTY": "",
            "Cache-Control": "no-cache,  no-store",
        },
        body=b"",
        signed_at=LEAP_DAY_MIDNIGHT,
    ),
]


class RecordingS3SigV4Auth(S3SigV4Auth):
    """S3SigV4Auth that remembers the canonical request and string to sign it computed."""

    def canonical_request(self, request):
        self.recorded_canonical_request = super().canonical_request(request)
        return self.recorded_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.recorded_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.recorded_string_to_sign


ADDED_BY_SIGNER = ("x-amz-date", "x-amz-security-token", "authorization")


def sign(case: dict) -> dict:
    region = case.get("region", "us-east-1")
    signed_at = case.get("signed_at", NOW)
    token = case.get("session_token")
    body = case.get("body", b"")
    query = case.get("query", [])
    request = AWSRequest(
        method=case["method"], url=case["url"], headers=dict(case.get("headers", {})),
        data=body, params=list(query),
    )
    request.context.update(case.get("context", {}))
    auth = RecordingS3SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, token), "s3", region)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=signed_at):
        auth.add_auth(request)

    host = auth.headers_to_sign(request)["host"]
    sent = [(name, value) for name, value in request.headers.items()]
    inputs = [("host", host)] + [(n, v) for n, v in sent if n.lower() not in ADDED_BY_SIGNER]
    added = {n.lower(): v for n, v in sent if n.lower() in ADDED_BY_SIGNER}
    path = case["url"].split("://", 1)[1]
    path = path[path.index("/"):] if "/" in path else "/"
    out = {
        "name": case["name"],
        "region": region,
        "accessKeyID": ACCESS_KEY_ID,
        "secretAccessKey": SECRET_ACCESS_KEY,
        "epochSeconds": int(signed_at.replace(tzinfo=datetime.timezone.utc).timestamp()),
        "method": case["method"],
        "path": path,
        "query": [list(pair) for pair in query],
        "headers": [list(pair) for pair in inputs],
        "payloadHash": request.headers["X-Amz-Content-SHA256"],
        "bodySHA256": hashlib.sha256(body).hexdigest(),
        "canonicalRequest": auth.recorded_canonical_request,
        "stringToSign": auth.recorded_string_to_sign,
        "addedHeaders": [[name, added[name]] for name in ADDED_BY_SIGNER if name in added],
    }
    if token is not None:
        out["sessionToken"] = token
    return out


def build() -> dict:
    return {
        "description": "S3 requests signed by botocore's S3SigV4Auth; written by "
        "scripts/make-sigv4-fixtures.py, do not edit by hand",
        "cases": [sign(case) for case in CASES],
    }


def render(fixture: dict) -> str:
    return json.dumps(fixture, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        with open(FIXTURE, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{FIXTURE} is stale: run scripts/make-sigv4-fixtures.py", file=sys.stderr)
                return 1
        return 0
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {FIXTURE} ({len(CASES)} cases, botocore {botocore.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
