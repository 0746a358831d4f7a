"""The request message limit leaves room for 4 MiB of data: an UploadPartition
message may carry 4 MiB (4,194,304 bytes) of data, and the limit on the serialized
message is 4 MiB + 128 KiB (4,325,376 bytes) by default. A message past it answers
RESOURCE_EXHAUSTED naming the limit, not to be retried, and the session stays usable."""

from __future__ import annotations

import pytest

import storage_support as ss
from storage_support import Code, MIB, KIB, expect_error, us_pb

LIMIT = 4 * MIB + 128 * KIB


def _serialized_size(n: int) -> int:
    return len(us_pb.UploadPartitionRequest(data=b"\0" * n).SerializeToString())


def _data_for_serialized(size: int) -> int:
    """The number of data bytes whose UploadPartitionRequest serializes to `size`."""
    n = size - 5                    # tag + 4-byte length varint at these sizes
    assert _serialized_size(n) == size
    return n


def _upload_in_one_message(client, payload: bytes):
    s = client.create_session(ss.unique_name("limits/obj"), payload, 8 * MIB)
    reply = client.upload_partition(s.session_id, 0, payload, chunk=len(payload), timeout=60)
    return s, reply


@pytest.mark.parametrize("size", [4 * MIB, _data_for_serialized(LIMIT)],
                         ids=["4MiB-of-data", "serialized-exactly-the-limit"])
def test_a_message_up_to_the_limit_is_accepted(client, size):
    payload = ss.random_bytes(size, seed=size)
    s, reply = _upload_in_one_message(client, payload)
    assert reply.size == size and not reply.already_stored
    client.commit(s.session_id)


def test_one_byte_past_the_limit_is_refused_with_the_limit_named(client):
    payload = ss.random_bytes(_data_for_serialized(LIMIT + 1), seed=7)
    s = client.create_session(ss.unique_name("limits/over"), payload, 8 * MIB)
    e = expect_error(Code.RESOURCE_EXHAUSTED, client.upload_partition, s.session_id, 0, payload,
                     chunk=len(payload), timeout=60)
    assert str(LIMIT) in e.details(), e.details()
    # Sending it again cannot pass: a negative pushback tells clients not to retry it.
    assert ("grpc-retry-pushback-ms", "-1") in (e.trailing_metadata() or ()), e.trailing_metadata()
    # The same partition in smaller messages goes through: the session is intact.
    reply = client.upload_partition(s.session_id, 0, payload, chunk=MIB, timeout=60)
    assert reply.size == len(payload)
    client.commit(s.session_id)
