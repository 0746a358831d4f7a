"""Swift's SigV4 signer and botocore agree: the fixture Swift is tested against is botocore's.

Tests/Vectors/sigv4/botocore-cases.json holds S3 requests and what botocore's S3SigV4Auth
made of them (canonical request, string to sign, added headers). Swift's SigV4BotocoreTests
requires SigV4Signer to reproduce every byte of it; this test signs the same requests with
botocore again, through scripts/make-sigv4-fixtures.py, and requires the committed file to be
exactly that output. Together: Swift's signatures are botocore's, with no hand-edited file in
between. It needs no server and no Swift binary.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO_ROOT, "scripts", "make-sigv4-fixtures.py")


def load_generator():
    spec = importlib.util.spec_from_file_location("make_sigv4_fixtures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = load_generator()

with open(generator.FIXTURE, encoding="utf-8") as f:
    COMMITTED = json.load(f)

REGENERATED = generator.build()
CASE_NAMES = [case["name"] for case in REGENERATED["cases"]]


def test_same_cases_in_the_same_order():
    assert [case["name"] for case in COMMITTED["cases"]] == CASE_NAMES


@pytest.mark.parametrize("index", range(len(CASE_NAMES)), ids=CASE_NAMES)
def test_committed_case_is_botocores_output(index):
    assert COMMITTED["cases"][index] == REGENERATED["cases"][index]


def test_committed_file_is_byte_identical():
    with open(generator.FIXTURE, encoding="utf-8") as f:
        assert f.read() == generator.render(REGENERATED)


def signature(case: dict) -> str:
    """The signature recomputed from the fixture's string to sign with plain hmac, so the
    fixture's steps are consistent among themselves and not only equal to a rerun."""
    day = case["stringToSign"].split("\n")[2].split("/")[0]
    key = ("AWS4" + case["secretAccessKey"]).encode()
    for part in (day, case["region"], "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, case["stringToSign"].encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("index", range(len(CASE_NAMES)), ids=CASE_NAMES)
def test_fixture_steps_are_consistent(index):
    case = COMMITTED["cases"][index]
    creq_hash = hashlib.sha256(case["canonicalRequest"].encode()).hexdigest()
    assert case["stringToSign"].endswith("\n" + creq_hash)
    added = dict(case["addedHeaders"])
    assert [name for name, _ in case["addedHeaders"]][0] == "x-amz-date"
    assert added["authorization"].endswith("Signature=" + signature(case))
    signed_names = case["canonicalRequest"].split("\n")[-2]
    assert f"SignedHeaders={signed_names}, " in added["authorization"]
    assert ("x-amz-security-token" in added) == ("sessionToken" in case)
