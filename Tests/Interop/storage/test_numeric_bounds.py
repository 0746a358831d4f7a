"""Out-of-range numbers are the client's mistake: INVALID_ARGUMENT (or NOT_FOUND for a
well-formed version that does not exist), never UNKNOWN or INTERNAL, and never a
database's words (the issue: partition_index 2147483647 answered
"UNKNOWN ... PostgreSQL error 22003: integer out of range")."""

from __future__ import annotations

import pytest

import storage_support as ss
from storage_support import Code, expect_error

I32_MAX = 2**31 - 1
I32_MIN = -(2**31)
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
NAME = "bounds/obj"
DATA = b"0123456789" * 100


@pytest.fixture(scope="module")
def stored(server):
    c = server.client()
    c.put_object(NAME, DATA, partition_size=256)
    c.close()
    return NAME


def _check(e):
    text = e.details() or ""
    for word in ("PostgreSQL", "SQL", "22003", "handler failed"):
        assert word not in text, f"database or internal text reached the client: {text!r}"


@pytest.mark.parametrize("index", [I32_MAX, I32_MAX - 1, -1, I32_MIN, 1_000_000])
def test_upload_partition_index(client, index):
    s = client.create_session(ss.unique_name("bounds/up"), DATA, 256)
    _check(expect_error(Code.INVALID_ARGUMENT, client.upload_partition, s.session_id, index, b"x"))
    client.abort(s.session_id)


@pytest.mark.parametrize("index", [I32_MAX, I32_MAX - 1, -1, I32_MIN])
def test_partition_reads_index(client, stored, index):
    _check(expect_error(Code.INVALID_ARGUMENT, client.partition_info, stored, index))
    _check(expect_error(Code.INVALID_ARGUMENT, client.read_partition, stored, index))


@pytest.mark.parametrize("field,value", [
    ("version", -1), ("version", I64_MIN), ("offset", -1), ("offset", I64_MIN), ("length", -1),
    ("length", I64_MIN),
])
def test_negative_read_numbers(client, stored, field, value):
    _check(expect_error(Code.INVALID_ARGUMENT, client.read_object, stored, **{field: value}))
    _check(expect_error(Code.INVALID_ARGUMENT, client.read_partition, stored, 0, **{field: value}))


@pytest.mark.parametrize("version", [-1, I64_MIN])
def test_negative_versions(client, stored, version):
    _check(expect_error(Code.INVALID_ARGUMENT, client.get_object, stored, version=version))
    _check(expect_error(Code.INVALID_ARGUMENT, client.restore, stored, version))


def test_huge_numbers_are_refused_or_not_found(client, stored):
    _check(expect_error({Code.NOT_FOUND, Code.INVALID_ARGUMENT}, client.get_object, stored, version=I64_MAX))
    _check(expect_error({Code.NOT_FOUND, Code.INVALID_ARGUMENT}, client.restore, stored, I64_MAX))
    _check(expect_error({Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT}, client.read_object, stored,
                        offset=I64_MAX))
    _check(expect_error({Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT}, client.read_object, stored,
                        offset=I64_MAX, length=I64_MAX))


@pytest.mark.parametrize("page_size", [-1, I32_MIN])
def test_negative_page_sizes(client, stored, page_size):
    _check(expect_error(Code.INVALID_ARGUMENT, client.list_objects, page_size=page_size))
    _check(expect_error(Code.INVALID_ARGUMENT, client.list_versions, stored, page_size=page_size))
    _check(expect_error(Code.INVALID_ARGUMENT, client.list_sessions, page_size=page_size))


@pytest.mark.parametrize("fields", [
    dict(total_size=-1, partition_size=4), dict(total_size=I64_MIN, partition_size=4),
    dict(total_size=I64_MAX, partition_size=4), dict(total_size=I64_MAX, partition_size=I64_MAX),
    dict(total_size=10, partition_size=-1), dict(total_size=10, partition_size=0),
    dict(total_size=10, partition_size=I64_MIN), dict(total_size=10, partition_size=I64_MAX),
])
def test_create_session_sizes(client, fields):
    _check(expect_error(Code.INVALID_ARGUMENT, client.create_raw, object_name=ss.unique_name("bounds/c"),
                        partition_sha256=[ss.sha(b"x")] * 3, **fields))
