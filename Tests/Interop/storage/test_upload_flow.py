"""The whole life of an object through stock grpcio: an upload session filled out of
order and in parallel, the commit, every way of reading it back (whole, ranges,
partitions), edge sizes, idempotent re-sends and commits, versions, restore, delete."""

from __future__ import annotations

import random
import re

import pytest

import storage_support as ss
from storage_support import Code, KIB, MIB, expect_error, sha

PSIZE = 1 * MIB
BIG = 5 * MIB + 123                   # six partitions, the last one 123 bytes


@pytest.fixture(scope="module")
def big(server):
    """A 5 MiB + 123 object uploaded out of order and in parallel, checked step by
    step; later tests read it."""
    c = server.client()
    name = "flow/big.bin"
    data = ss.random_bytes(BIG)
    parts = ss.split(data, PSIZE)
    assert len(parts) == 6 and len(parts[-1]) == 123

    s = c.create_session(name, data, PSIZE, content_type="application/octet-stream",
                         user_metadata={"origin": "test_upload_flow", "ünïcode": "日本"})
    assert re.match(ss.SESSION_ID_RE, s.session_id), s.session_id
    assert s.object_name == name
    assert (s.total_size, s.partition_size, s.partition_count) == (BIG, PSIZE, 6)
    assert list(s.stored_partitions) == [] and s.stored_bytes == 0
    assert s.state == ss.OPEN
    assert list(s.partition_sha256) == [sha(p) for p in parts]
    assert s.object_sha256 == sha(data)
    assert s.content_type == "application/octet-stream"
    assert dict(s.user_metadata) == {"origin": "test_upload_flow", "ünïcode": "日本"}
    assert s.committed_version == 0
    assert s.create_time.ToDatetime() < s.expire_time.ToDatetime()

    # First three partitions, out of order, in parallel.
    first = [4, 1, 5]
    acks = c.upload_partitions(s.session_id, data, PSIZE, indices=first, parallel=3)
    for i, ack in acks.items():
        assert (ack.partition_index, ack.size, ack.sha256, ack.already_stored) == \
            (i, len(parts[i]), sha(parts[i]), False)
    got = c.get_session(s.session_id)
    assert list(got.stored_partitions) == [1, 4, 5]
    assert got.stored_bytes == sum(len(parts[i]) for i in first)
    assert got.state == ss.OPEN

    # The rest, shuffled, in parallel.
    rest = [0, 2, 3]
    random.shuffle(rest)
    acks = c.upload_partitions(s.session_id, data, PSIZE, indices=rest, parallel=3)
    assert all(not a.already_stored for a in acks.values())
    got = c.get_session(s.session_id)
    assert list(got.stored_partitions) == list(range(6))
    assert got.stored_bytes == BIG

    info = c.commit(s.session_id)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    assert info.restored_from_version == 0
    assert info.content_type == "application/octet-stream"
    assert dict(info.user_metadata) == {"origin": "test_upload_flow", "ünïcode": "日本"}

    done = c.get_session(s.session_id)
    assert done.state == ss.COMMITTED and done.committed_version == 1
    c.close()
    return name, data, info


def test_get_object_describes_the_commit(big, client):
    name, data, committed = big
    for version in (0, 1):
        info = client.get_object(name, version=version)
        ss.assert_object_describes(info, name, data, PSIZE, version=1)
        assert info.create_time == committed.create_time
        assert info.update_time == committed.update_time
        assert dict(info.user_metadata) == dict(committed.user_metadata)


def test_read_whole_object(big, client):
    name, data, _ = big
    ss.settled(client, name)   # uploaded out of order: the verifier settles its whole hash
    result = client.read_object(name)
    ss.assert_same_bytes(result.data, data)
    assert result.object is not None, "the first ReadObject message carries the ObjectInfo"
    assert result.object.version == 1 and result.object.sha256 == sha(data)
    assert result.object.size == len(data)
    assert all(not m.HasField("object") for m in result.messages[1:]), \
        "only the first ReadObject message carries the ObjectInfo"


@pytest.mark.parametrize("offset,length", [
    (0, 100),                              # start
    (PSIZE + PSIZE // 2, 10),              # middle of a partition
    (PSIZE - 7, 2 * PSIZE + 14),           # spans three partitions
    (2 * PSIZE - 1, 2),                    # exactly across one boundary
    (BIG - 1, 1),                          # last byte
    (3 * PSIZE + 5, 0),                    # length 0 reads to the end
    (BIG - 50, 1000),                      # past the end is cut
    (0, BIG + 1),                          # whole object, length one too many
    (5 * PSIZE, 0),                        # exactly the last (short) partition
])
def test_read_ranges(big, client, offset, length):
    name, data, _ = big
    want = data[offset:] if length == 0 else data[offset:offset + length]
    ss.assert_same_bytes(client.read(name, offset=offset, length=length), want,
                         f"range offset={offset} length={length}")


def test_read_at_end_is_empty(big, client):
    """offset == size is not past the end: an empty range."""
    name, data, _ = big
    assert client.read(name, offset=len(data)) == b""
    assert client.read(name, offset=len(data), length=10) == b""


def test_read_bad_ranges(big, client):
    name, data, _ = big
    expect_error({Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT}, client.read, name,
                 offset=len(data) + 1)
    expect_error(Code.INVALID_ARGUMENT, client.read, name, offset=-1)
    expect_error(Code.INVALID_ARGUMENT, client.read, name, length=-1)


def test_partitions_info_and_reads(big, client):
    name, data, _ = big
    parts = ss.split(data, PSIZE)
    for i, part in enumerate(parts):
        info = client.partition_info(name, i)
        assert (info.index, info.offset, info.size, info.sha256) == \
            (i, i * PSIZE, len(part), sha(part))
        assert client.partition_info(name, i, version=1) == info
        ss.assert_same_bytes(client.read_partition(name, i), part, f"partition {i}")
    # ranges within a partition
    ss.assert_same_bytes(client.read_partition(name, 2, offset=1000, length=5000),
                         parts[2][1000:6000])
    ss.assert_same_bytes(client.read_partition(name, 3, offset=PSIZE - 1), parts[3][-1:])
    ss.assert_same_bytes(client.read_partition(name, 5, offset=100), parts[5][100:])
    ss.assert_same_bytes(client.read_partition(name, 0, version=1, offset=7, length=0),
                         parts[0][7:])
    expect_error({Code.NOT_FOUND, Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT},
                 client.partition_info, name, len(parts))
    expect_error({Code.NOT_FOUND, Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT},
                 client.read_partition, name, len(parts))
    expect_error({Code.NOT_FOUND, Code.OUT_OF_RANGE, Code.INVALID_ARGUMENT},
                 client.partition_info, name, -1)


def test_read_partition_past_end_is_cut(big, client):
    name, data, _ = big
    last = ss.split(data, PSIZE)[-1]
    ss.assert_same_bytes(client.read_partition(name, 5, offset=100, length=1000), last[100:])


def test_empty_object(client):
    name = ss.unique_name("flow/empty")
    s = client.create_session(name, b"", PSIZE)
    assert s.partition_count == 0 and s.total_size == 0
    assert list(s.partition_sha256) == []
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, name, b"", PSIZE, version=1)
    assert info.sha256 == sha(b"")
    ss.assert_object_describes(client.get_object(name), name, b"", PSIZE, version=1)
    result = client.read_object(name)
    assert result.data == b""
    assert result.object is not None and result.object.size == 0


@pytest.mark.parametrize("size,psize", [
    (1, PSIZE),             # one byte
    (1, 1),                 # one byte, one-byte partitions
    (3 * MIB, PSIZE),       # exact multiple of the partition size
    (PSIZE, PSIZE),         # exactly one full partition
    (PSIZE + 1, PSIZE),     # one byte spills into a second partition
    (1000, 7),              # many tiny partitions (143)
])
def test_sizes(client, size, psize):
    name = ss.unique_name(f"flow/size-{size}-{psize}")
    data = ss.random_bytes(size)
    s = client.create_session(name, data, psize)
    assert s.partition_count == ss.partition_count(size, psize)
    client.upload_partitions(s.session_id, data, psize, parallel=4)
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, name, data, psize, version=1)
    ss.assert_same_bytes(client.read(name), data)
    last = s.partition_count - 1
    ss.assert_same_bytes(client.read_partition(name, last), ss.split(data, psize)[last])


def test_resending_a_stored_partition_checks_the_bytes_sent(client):
    """already_stored vouches for the bytes sent too: other bytes are refused as on a first
    upload (DATA_LOSS for the hash, INVALID_ARGUMENT for the size), and the stored copy stays."""
    name = ss.unique_name("flow/resend-wrong")
    psize = 64 * KIB
    data = ss.random_bytes(2 * psize)
    parts = ss.split(data, psize)
    s = client.create_session(name, data, psize)
    client.upload_partition(s.session_id, 0, parts[0])
    wrong = bytes([parts[0][0] ^ 1]) + parts[0][1:]
    err = expect_error(Code.DATA_LOSS, client.upload_partition, s.session_id, 0, wrong)
    assert "partition 0" in err.details(), err.details()
    err = expect_error(Code.INVALID_ARGUMENT, client.upload_partition, s.session_id, 0, b"abcd")
    assert "partition 0" in err.details(), err.details()
    assert client.upload_partition(s.session_id, 0, parts[0]).already_stored is True
    client.upload_partition(s.session_id, 1, parts[1])
    ss.assert_object_describes(client.commit(s.session_id), name, data, psize, version=1)
    ss.assert_same_bytes(client.read(name), data)


def test_resend_stored_partition_is_a_no_op(client):
    name = ss.unique_name("flow/resend")
    data = ss.random_bytes(3 * 64 * KIB + 5)
    psize = 64 * KIB
    parts = ss.split(data, psize)
    s = client.create_session(name, data, psize)
    first = client.upload_partition(s.session_id, 1, parts[1])
    assert first.already_stored is False
    again = client.upload_partition(s.session_id, 1, parts[1])
    assert (again.partition_index, again.size, again.sha256, again.already_stored) == \
        (1, psize, sha(parts[1]), True)
    got = client.get_session(s.session_id)
    assert list(got.stored_partitions) == [1] and got.stored_bytes == psize
    # the rest, and partition 1 once more in the same parallel batch
    acks = client.upload_partitions(s.session_id, data, psize, indices=[3, 0, 2], parallel=3)
    assert not any(a.already_stored for a in acks.values())
    assert client.upload_partition(s.session_id, 1, parts[1]).already_stored is True
    got = client.get_session(s.session_id)
    assert list(got.stored_partitions) == [0, 1, 2, 3] and got.stored_bytes == len(data)
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, name, data, psize, version=1)
    ss.assert_same_bytes(client.read(name), data)


def test_data_messages_in_every_valid_encoding_are_stored(client):
    """A data message is read where it arrived when it is exactly its `data` field; any other
    valid encoding is decoded by protobuf's rules (unknown fields skipped, the last of a
    repeated oneof field wins, an empty data message adds nothing), with the same bytes
    stored."""
    name = ss.unique_name("flow/encodings")
    data = ss.random_bytes(96 * KIB + 7)
    s = client.create_session(name, data, len(data))
    pieces = [data[:40 * KIB], data[40 * KIB:70 * KIB], data[70 * KIB:90 * KIB], data[90 * KIB:]]

    def data_message(chunk: bytes) -> bytes:
        return ss.us_pb.UploadPartitionRequest(data=chunk).SerializeToString()

    unknown_varint_field_15 = bytes([15 << 3 | 0, 1])
    messages = [
        ss.us_pb.UploadPartitionRequest(target=ss.us_pb.PartitionTarget(
            session_id=s.session_id, partition_index=0)).SerializeToString(),
        data_message(pieces[0]),
        data_message(pieces[1]) + unknown_varint_field_15,
        data_message(b""),
        data_message(b"replaced by the field that follows") + data_message(pieces[2]),
        unknown_varint_field_15 + data_message(pieces[3]),
    ]
    upload = client.channel.stream_unary(
        "/sluice.v1.UploadSessionService/UploadPartition", request_serializer=None,
        response_deserializer=ss.us_pb.UploadPartitionResponse.FromString)
    ack = upload(iter(messages), timeout=ss.TIMEOUT)
    assert (ack.size, ack.sha256, ack.already_stored) == (len(data), sha(data), False)
    ss.assert_object_describes(client.commit(s.session_id), name, data, len(data), version=1)
    ss.assert_same_bytes(client.read(name), data)


def test_commit_twice_answers_the_same_version(client):
    name = ss.unique_name("flow/commit-twice")
    data = ss.random_bytes(100 * KIB)
    s = client.create_session(name, data, 64 * KIB)
    client.upload_partitions(s.session_id, data, 64 * KIB)
    first = client.commit(s.session_id)
    second = client.commit(s.session_id)
    assert first.version == second.version == 1
    assert (second.name, second.size) == (name, len(data))
    assert second.composite_sha256 == first.composite_sha256
    # Partitions sent out of order leave the whole hash to the verifier, right after the commit.
    assert ss.settled(client, name, 1).sha256 == sha(data)
    assert list(second.partitions) == list(first.partitions)
    versions = client.list_versions(name).versions
    assert [v.version for v in versions] == [1]
    assert client.get_session(s.session_id).committed_version == 1


def test_versions_restore_and_delete(client):
    name = ss.unique_name("flow/versions")
    a = ss.random_bytes(200 * KIB + 1)
    b = ss.random_bytes(70 * KIB)
    v1 = client.put_object(name, a, partition_size=64 * KIB)
    v2 = client.put_object(name, b, partition_size=32 * KIB)
    assert (v1.version, v2.version) == (1, 2)
    ss.assert_object_describes(v2, name, b, 32 * KIB, version=2)
    assert v2.create_time == v1.create_time, "create_time is that of the name's first commit"
    assert v2.update_time.ToDatetime() >= v1.update_time.ToDatetime()

    ss.assert_object_describes(client.get_object(name), name, b, 32 * KIB, version=2)
    old = client.get_object(name, version=1)
    ss.assert_object_describes(old, name, a, 64 * KIB, version=1, is_current=False)
    ss.assert_same_bytes(client.read(name), b)
    ss.assert_same_bytes(client.read(name, version=1), a)
    ss.assert_same_bytes(client.read_partition(name, 0, version=1), a[:64 * KIB])

    listed = client.list_versions(name).versions
    assert [(v.version, v.is_current) for v in listed] == [(2, True), (1, False)]
    assert all(len(v.partitions) == 0 for v in listed)
    assert [v.sha256 for v in listed] == [sha(b), sha(a)]

    v3 = client.restore(name, 1)
    ss.assert_object_describes(v3, name, a, 64 * KIB, version=3)
    assert v3.restored_from_version == 1
    assert v3.create_time == v1.create_time
    ss.assert_same_bytes(client.read(name), a)
    ss.assert_same_bytes(client.read(name, version=3), a)
    ss.assert_same_bytes(client.read(name, version=2), b)
    cur = client.get_object(name)
    assert (cur.version, cur.restored_from_version, cur.is_current) == (3, 1, True)
    assert client.get_object(name, version=2).is_current is False

    listed = client.list_versions(name).versions
    assert [v.version for v in listed] == [3, 2, 1]
    assert [v.restored_from_version for v in listed] == [1, 0, 0]
    # paging through versions, one at a time, newest first
    seen, token = [], ""
    for _ in range(10):
        page = client.list_versions(name, page_size=1, page_token=token)
        assert len(page.versions) <= 1
        seen += [v.version for v in page.versions]
        token = page.next_page_token
        if not token:
            break
    assert seen == [3, 2, 1]

    deleted = client.delete_object(name)
    assert deleted.deleted_versions == 3
    for version in (0, 1, 2, 3):
        expect_error(Code.NOT_FOUND, client.get_object, name, version=version)
        expect_error(Code.NOT_FOUND, client.read, name, version=version)
    expect_error(Code.NOT_FOUND, client.partition_info, name, 0)
    expect_error(Code.NOT_FOUND, client.read_partition, name, 0)
    expect_error(Code.NOT_FOUND, client.restore, name, 1)
    expect_error(Code.NOT_FOUND, client.delete_object, name)
    objects, _ = client.list_all(prefix=name)
    assert objects == []

    # The name can be used again: a fresh object with only the new version.
    c = ss.random_bytes(10)
    again = client.put_object(name, c)
    ss.assert_same_bytes(client.read(name), c)
    assert [v.version for v in client.list_versions(name).versions] == [again.version]


def test_versions_of_restored_restore(client):
    """Restoring a restored version records the version it names, and bytes stay right."""
    name = ss.unique_name("flow/restore-chain")
    a, b = ss.random_bytes(1000), ss.random_bytes(2000)
    client.put_object(name, a)
    client.put_object(name, b)
    v3 = client.restore(name, 1)
    v4 = client.restore(name, 2)
    v5 = client.restore(name, 3)
    assert [(v.version, v.restored_from_version) for v in (v3, v4, v5)] == [(3, 1), (4, 2), (5, 3)]
    ss.assert_same_bytes(client.read(name), a)
    ss.assert_same_bytes(client.read(name, version=4), b)
    # restoring the current version is allowed and still makes a new version
    v6 = client.restore(name, 5)
    assert v6.version == 6 and v6.sha256 == sha(a)


def test_list_sessions(client):
    name = ss.unique_name("flow/list-sessions")
    data = ss.random_bytes(10)
    s1 = client.create_session(name, data, 4)
    s2 = client.create_session(name, data, 4)
    s3 = client.create_session(name, data, 4)
    client.abort(s3.session_id)
    ids = [s.session_id for s in client.all_sessions()]
    mine = [i for i in ids if i in (s1.session_id, s2.session_id, s3.session_id)]
    assert mine == [s3.session_id, s2.session_id, s1.session_id], "newest first"
    open_ids = [s.session_id for s in client.all_sessions(open_only=True)]
    assert s1.session_id in open_ids and s2.session_id in open_ids
    assert s3.session_id not in open_ids
    assert all(s.state == ss.OPEN for s in client.all_sessions(open_only=True))
    # paging with page_size 1 visits each session once
    seen, token = [], ""
    for _ in range(1000):
        page = client.list_sessions(page_size=1, page_token=token)
        assert len(page.sessions) <= 1
        seen += [s.session_id for s in page.sessions]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == len(ids)
    for s in (s1, s2):
        client.abort(s.session_id)


def test_abort_answers_aborted_session(client):
    name = ss.unique_name("flow/abort")
    data = ss.random_bytes(300)
    s = client.create_session(name, data, 100)
    client.upload_partition(s.session_id, 0, data[:100])
    aborted = client.abort(s.session_id)
    assert aborted.session_id == s.session_id and aborted.state == ss.ABORTED
    # Its partitions went with it (their bytes too: nothing else keeps them).
    assert list(aborted.stored_partitions) == [] and aborted.stored_bytes == 0, aborted
    again = client.get_session(s.session_id)
    assert again.state == ss.ABORTED and list(again.stored_partitions) == [] and again.stored_bytes == 0, again
    expect_error(Code.NOT_FOUND, client.get_object, name)
