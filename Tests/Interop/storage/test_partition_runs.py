"""ReadPartition with partition_count: several consecutive partitions whole in one call,
as a download of small partitions reads them (one call per partition cost 3.3 times the
time of the same bytes in 8 MiB partitions). The bytes are the partitions' in order, a
count past the last partition stops at the last, and every other shape of request is
refused with INVALID_ARGUMENT saying which field is wrong."""

from __future__ import annotations

import pytest

import storage_support as ss
from storage_support import Code, KIB, expect_error

PSIZE = 4 * KIB
MAX_COUNT = 1024


@pytest.fixture(scope="module")
def stored(server):
    """An object of 7 partitions, the last short, and its bytes."""
    c = server.client()
    data = ss.random_bytes(6 * PSIZE + 123)
    name = ss.unique_name("runs/seven")
    c.put_object(name, data, partition_size=PSIZE)
    c.close()
    return name, data


def test_consecutive_partitions_arrive_whole_and_in_order(client, stored):
    name, data = stored
    parts = ss.split(data, PSIZE)
    for first, count in [(0, 7), (0, 2), (2, 3), (6, 1), (3, 0), (3, 1)]:
        expected = b"".join(parts[first:first + max(count, 1)])
        ss.assert_same_bytes(client.read_partition(name, first, count=count), expected,
                             f"partitions {first}, count {count}")
    # A count running past the last partition stops at the last.
    ss.assert_same_bytes(client.read_partition(name, 4, count=MAX_COUNT), b"".join(parts[4:]), "a run past the end")
    # The same by version number, and through the partitions' own boundaries only.
    ss.assert_same_bytes(client.read_partition(name, 0, version=1, count=7), data, "the whole version")


def test_a_run_is_refused_with_the_field_it_gets_wrong(client, stored):
    name, _ = stored
    for count in (-1, MAX_COUNT + 1, 2**31 - 1):
        e = expect_error(Code.INVALID_ARGUMENT, client.read_partition, name, 0, count=count)
        assert "partition_count" in e.details() and "1024" in e.details(), e.details()
    for fields in ({"offset": 1}, {"length": 10}):
        e = expect_error(Code.INVALID_ARGUMENT, client.read_partition, name, 0, count=2, **fields)
        assert "partition_count" in e.details() and "offset and length" in e.details(), e.details()
    e = expect_error(Code.INVALID_ARGUMENT, client.read_partition, name, 7, count=2)
    assert "partition_index 7" in e.details() and "0 to 6" in e.details(), e.details()
    expect_error(Code.NOT_FOUND, client.read_partition, ss.unique_name("runs/missing"), 0, count=2)
    # A count of one keeps the range fields of a one-partition read.
    assert len(client.read_partition(name, 1, offset=10, length=20, count=1)) == 20


def test_another_principal_reads_no_run_without_a_grant(server, stored):
    name, _ = stored
    stranger = server.client("client2")
    try:
        expect_error(Code.NOT_FOUND, stranger.read_partition, name, 0, count=3)
    finally:
        stranger.close()
