"""Every refusal of the storage API has its status: INVALID_ARGUMENT for bad
requests, DATA_LOSS for bytes that do not match their hash, FAILED_PRECONDITION
for a session in the wrong state, NOT_FOUND for what does not exist,
RESOURCE_EXHAUSTED for limits. After each, the session is still usable where the
contract says so, and the object committed first still reads back identical."""

from __future__ import annotations

import os
import re
import time

import grpc
import pytest

import storage_support as ss
from storage_support import Code, KIB, MIB, expect_error, sha, us_pb

MAX_PARTITION = 1 * MIB
KEEPER = "errors/keeper"


@pytest.fixture(scope="module")
def server(module_storage):
    """This module's sluiced: a small maximum partition size, to test that limit."""
    return module_storage.server(label="sluiced-errors", max_partition_size=MAX_PARTITION)


@pytest.fixture(scope="module")
def keeper(server):
    c = server.client()
    data = ss.random_bytes(3 * 64 * KIB + 99)
    info = c.put_object(KEEPER, data, partition_size=64 * KIB)
    c.close()
    return data, info


@pytest.fixture(autouse=True)
def keeper_survives(keeper, server):
    """After every test: the object committed before it is unchanged."""
    yield
    data, info = keeper
    c = server.client()
    try:
        ss.assert_object_describes(c.get_object(KEEPER), KEEPER, data, 64 * KIB, version=1)
        ss.assert_same_bytes(c.read(KEEPER), data, "the keeper object after an error case")
        assert [v.version for v in c.list_versions(KEEPER).versions] == [1]
    finally:
        c.close()


def _valid(**overrides) -> dict:
    """A valid CreateSessionRequest's fields (10 bytes in partitions of 4)."""
    data = b"0123456789"
    fields = dict(object_name=ss.unique_name("errors/create"), total_size=10, partition_size=4,
                  partition_sha256=[sha(p) for p in ss.split(data, 4)])
    fields.update(overrides)
    return fields


BAD_CREATES = {
    "empty name": _valid(object_name=""),
    "1025-byte name": _valid(object_name="x" * 1025),
    "1025-byte name of 2-byte characters": _valid(object_name="\u00e9" * 512 + "a"),
    "NUL in name": _valid(object_name="a\x00b"),
    "name is NUL": _valid(object_name="\x00"),
    "negative total_size": _valid(total_size=-1, partition_sha256=[]),
    "partition_size 0": _valid(partition_size=0),
    "negative partition_size": _valid(partition_size=-4),
    "partition_size over the maximum": _valid(total_size=MAX_PARTITION + 1,
                                              partition_size=MAX_PARTITION + 1,
                                              partition_sha256=[sha(b"x")]),
    "too many hashes": _valid(partition_sha256=[sha(b"a")] * 4),
    "too few hashes": _valid(partition_sha256=[sha(b"a")] * 2),
    "no hashes": _valid(partition_sha256=[]),
    "a hash for an empty object": _valid(total_size=0, partition_sha256=[sha(b"")]),
    "31-byte hash": _valid(partition_sha256=[sha(b"a"), sha(b"b")[:31], sha(b"c")]),
    "33-byte hash": _valid(partition_sha256=[sha(b"a"), sha(b"b"), sha(b"c") + b"\x00"]),
    "empty hash": _valid(partition_sha256=[sha(b"a"), b"", sha(b"c")]),
    "31-byte object_sha256": _valid(object_sha256=sha(b"x")[:31]),
    "65 metadata entries": _valid(user_metadata={f"k{i}": "v" for i in range(65)}),
    "empty metadata key": _valid(user_metadata={"": "v"}),
    "129-byte metadata key": _valid(user_metadata={"k" * 129: "v"}),
    "1025-byte metadata value": _valid(user_metadata={"k": "v" * 1025}),
}


@pytest.mark.parametrize("fields", list(BAD_CREATES.values()), ids=list(BAD_CREATES))
def test_create_session_invalid_argument(client, fields):
    err = expect_error(Code.INVALID_ARGUMENT, client.create_raw, **fields)
    assert err.details(), "a refusal says what was wrong"


GOOD_CREATES = {
    "1024-byte name": _valid(object_name="x" * 1024),
    "1024-byte name of 2-byte characters": _valid(object_name="\u00e9" * 512),
    "slashes and dots are data": _valid(object_name="../../etc/passwd"),
    "partition_size at the maximum": _valid(total_size=MAX_PARTITION, partition_size=MAX_PARTITION,
                                            partition_sha256=[sha(b"x")]),
    "partition larger than the object": _valid(partition_size=1000, partition_sha256=[sha(b"x")]),
    "64 metadata entries, 128-byte key, 1024-byte value": _valid(
        user_metadata={**{f"k{i}": "v" for i in range(63)}, "k" * 128: "v" * 1024}),
}


@pytest.mark.parametrize("fields", list(GOOD_CREATES.values()), ids=list(GOOD_CREATES))
def test_create_session_limits_inclusive(client, fields):
    s = client.create_raw(**fields)
    assert s.state == ss.OPEN and s.object_name == fields["object_name"]
    assert s.partition_count == len(fields["partition_sha256"])
    client.abort(s.session_id)


def test_too_many_partitions(client):
    """The default limit is 10,000 partitions per session."""
    fields = _valid(total_size=10_001, partition_size=1, partition_sha256=[sha(b"a")] * 10_001)
    expect_error({Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED}, client.create_raw, **fields)


def test_name_that_is_not_utf8(server, client):
    """A string field that is not UTF-8 (sent as raw protobuf bytes: no stock
    library will encode one) is refused, never stored."""
    raw_create = client.channel.unary_unary(
        "/sluice.v1.UploadSessionService/CreateSession",
        request_serializer=None, response_deserializer=us_pb.UploadSession.FromString)
    # object_name = b"\xff\xfe" (field 1), total_size 0 (omitted), partition_size 1 (field 3)
    body = b"\x0a\x02\xff\xfe" + b"\x18\x01"
    err = expect_error(Code.INVALID_ARGUMENT, raw_create, body, timeout=ss.TIMEOUT)
    assert "not a valid" in err.details(), err.details()
    # the same request with a valid name, byte for byte, is accepted
    ok = raw_create(b"\x0a\x02\xc3\xa9" + b"\x18\x01", timeout=ss.TIMEOUT)
    assert ok.object_name == "\u00e9"
    client.abort(ok.session_id)


# --------------------------------------------------------------------------
# UploadPartition
# --------------------------------------------------------------------------

PSIZE = 4 * KIB


@pytest.fixture
def session(client):
    """An open session of three partitions (4 KiB, 4 KiB, 1 KiB): (session, data)."""
    data = ss.random_bytes(2 * PSIZE + KIB)
    s = client.create_session(ss.unique_name("errors/session"), data, PSIZE)
    return s, data


def _target(session_id: str, index: int):
    return us_pb.UploadPartitionRequest(
        target=us_pb.PartitionTarget(session_id=session_id, partition_index=index))


def _data(payload: bytes):
    return us_pb.UploadPartitionRequest(data=payload)


def _finish_and_check(client, s, data, psize=PSIZE):
    """The session is still usable: everything missing uploads, the commit works,
    the bytes read back."""
    got = client.get_session(s.session_id)
    assert got.state == ss.OPEN
    missing = [i for i in range(got.partition_count) if i not in got.stored_partitions]
    client.upload_partitions(s.session_id, data, psize, indices=missing)
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, s.object_name, data, psize, version=1)
    ss.assert_same_bytes(client.read(s.object_name), data)


@pytest.mark.parametrize("where", ["first", "later"])
@pytest.mark.parametrize("bad", [
    pytest.param(b"\x0a\x05ab", id="truncated"),
    pytest.param(b"\x0a\x04\x0a\x02\xff\xfe", id="target-not-utf8"),
    pytest.param(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", id="not-protobuf"),
])
def test_upload_message_that_does_not_decode_is_the_clients_mistake(server, client, session, where, bad):
    """UploadPartition reads its messages itself (to take the data without a copy); one that is
    not a protobuf encoding of UploadPartitionRequest is refused INVALID_ARGUMENT, as every other
    method's request is, never INTERNAL (which says the server failed), and the session stays
    usable."""
    s, data = session
    raw = client.channel.stream_unary(
        "/sluice.v1.UploadSessionService/UploadPartition", request_serializer=None,
        response_deserializer=us_pb.UploadPartitionResponse.FromString)
    messages = [bad] if where == "first" else [_target(s.session_id, 0).SerializeToString(), bad]
    err = expect_error(Code.INVALID_ARGUMENT, raw, iter(messages), timeout=ss.TIMEOUT)
    assert "not a valid sluice.v1.UploadPartitionRequest" in err.details(), err.details()
    _finish_and_check(client, s, data)


def test_upload_invalid_messages(client, session):
    s, data = session
    p0 = data[:PSIZE]
    cases = {
        "index == partition_count": [_target(s.session_id, 3), _data(data[2 * PSIZE:])],
        "index -1": [_target(s.session_id, -1), _data(p0)],
        "first message is data": [_data(p0)],
        "first message is empty": [us_pb.UploadPartitionRequest(), _data(p0)],
        "no message at all": [],
        "a second target": [_target(s.session_id, 0), _data(p0[:100]), _target(s.session_id, 0),
                            _data(p0[100:])],
    }
    for what, messages in cases.items():
        try:
            expect_error(Code.INVALID_ARGUMENT, client.upload_messages, messages)
        except AssertionError as e:
            raise AssertionError(f"{what}: {e}") from None
    got = client.get_session(s.session_id)
    assert list(got.stored_partitions) == [] and got.stored_bytes == 0
    _finish_and_check(client, s, data)


def test_messages_after_the_target_are_refused_saying_what_they_lack(client, session):
    """A later message that is empty (neither target nor data) is told it carries no data,
    not that it was a target (it used to be); a second target is told only the first may be one."""
    s, data = session
    p0 = data[:PSIZE]
    empty = expect_error(Code.INVALID_ARGUMENT, client.upload_messages,
                         [_target(s.session_id, 0), _data(p0[:100]), us_pb.UploadPartitionRequest(), _data(p0[100:])])
    assert "carries no data" in empty.details() and "may be a target" not in empty.details(), empty.details()
    second = expect_error(Code.INVALID_ARGUMENT, client.upload_messages,
                          [_target(s.session_id, 0), _target(s.session_id, 0), _data(p0)])
    assert "only the first UploadPartition message may be a target" in second.details(), second.details()
    assert list(client.get_session(s.session_id).stored_partitions) == []


BAD_IDS = ["", "xyz", "0" * 31, "0" * 33, "g" * 32, "0" * 30 + "-1", " " + "0" * 31,
           "0" * 32 + "\x00"]


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=repr)
def test_bad_session_id_format(client, bad_id):
    expect_error(Code.INVALID_ARGUMENT, client.get_session, bad_id)
    expect_error(Code.INVALID_ARGUMENT, client.commit, bad_id)
    expect_error(Code.INVALID_ARGUMENT, client.abort, bad_id)
    expect_error(Code.INVALID_ARGUMENT, client.upload_partition, bad_id, 0, b"abc")


def test_unknown_session_is_not_found(client):
    unknown = os.urandom(16).hex()
    expect_error(Code.NOT_FOUND, client.get_session, unknown)
    expect_error(Code.NOT_FOUND, client.commit, unknown)
    expect_error(Code.NOT_FOUND, client.abort, unknown)
    expect_error(Code.NOT_FOUND, client.upload_partition, unknown, 0, b"abc")


def test_wrong_bytes_are_data_loss_and_the_session_stays_usable(client, session):
    s, data = session
    parts = ss.split(data, PSIZE)
    flipped = bytearray(parts[1])
    flipped[1234] ^= 0x01
    err = expect_error(Code.DATA_LOSS, client.upload_partition, s.session_id, 1, bytes(flipped))
    assert err.details()
    # another partition's bytes, of the right size
    expect_error(Code.DATA_LOSS, client.upload_partition, s.session_id, 1, parts[0])
    got = client.get_session(s.session_id)
    assert list(got.stored_partitions) == [] and got.stored_bytes == 0
    ack = client.upload_partition(s.session_id, 1, parts[1])
    assert ack.already_stored is False and ack.sha256 == sha(parts[1])
    # a wrong re-send of a stored partition cannot replace it
    try:
        client.upload_partition(s.session_id, 1, bytes(flipped))
    except grpc.RpcError as e:
        assert e.code() == Code.DATA_LOSS, e
    assert list(client.get_session(s.session_id).stored_partitions) == [1]
    _finish_and_check(client, s, data)


@pytest.mark.parametrize("what", ["one byte short", "one byte long", "far too long", "empty",
                                  "last partition at full size"])
def test_wrong_size_is_refused_and_the_session_stays_usable(client, session, what):
    s, data = session
    parts = ss.split(data, PSIZE)
    index, payload = {
        "one byte short": (0, parts[0][:-1]),
        "one byte long": (0, parts[0] + b"\x00"),
        "far too long": (0, parts[0] + os.urandom(2 * MIB)),
        "empty": (0, b""),
        "last partition at full size": (2, parts[2] + os.urandom(PSIZE - len(parts[2]))),
    }[what]
    # The server's messages say INVALID_ARGUMENT for a size that does not match; the
    # proto's UploadPartition comment says DATA_LOSS for size or hash: either is accepted.
    expect_error({Code.INVALID_ARGUMENT, Code.DATA_LOSS}, client.upload_partition,
                 s.session_id, index, payload)
    got = client.get_session(s.session_id)
    assert list(got.stored_partitions) == [] and got.stored_bytes == 0
    _finish_and_check(client, s, data)


def test_message_over_the_receive_limit(client, session):
    """A data message past the server's maximum message size (4 MiB of data plus 128 KiB
    for the message's fields) is refused with RESOURCE_EXHAUSTED; nothing is stored and
    the session stays usable."""
    s, data = session
    expect_error(Code.RESOURCE_EXHAUSTED, client.upload_messages,
                 [_target(s.session_id, 0), _data(os.urandom(4 * MIB + 128 * KIB + 16))])
    assert list(client.get_session(s.session_id).stored_partitions) == []
    _finish_and_check(client, s, data)


# --------------------------------------------------------------------------
# CommitSession, AbortSession and session states
# --------------------------------------------------------------------------

def test_commit_with_missing_partitions_names_them(client):
    data = ss.random_bytes(5 * PSIZE)
    s = client.create_session(ss.unique_name("errors/missing"), data, PSIZE)
    client.upload_partitions(s.session_id, data, PSIZE, indices=[0, 2])
    err = expect_error(Code.FAILED_PRECONDITION, client.commit, s.session_id)
    named = {int(n) for n in re.findall(r"\d+", err.details() or "")}
    assert {1, 3, 4} <= named, f"the message names the missing partitions: {err.details()!r}"
    expect_error(Code.NOT_FOUND, client.get_object, s.object_name)
    client.upload_partitions(s.session_id, data, PSIZE, indices=[4, 3])
    err = expect_error(Code.FAILED_PRECONDITION, client.commit, s.session_id)
    assert "1" in re.findall(r"\d+", err.details() or ""), err.details()
    _finish_and_check(client, s, data)


def test_commit_with_wrong_object_sha256_is_data_loss(client):
    data = ss.random_bytes(3 * PSIZE)
    name = ss.unique_name("errors/object-sha")
    s = client.create_raw(object_name=name, total_size=len(data), partition_size=PSIZE,
                          partition_sha256=[sha(p) for p in ss.split(data, PSIZE)],
                          object_sha256=sha(b"something else"))
    # In order, the commit knows the whole hash and refuses; after an out-of-order upload the
    # commit reads nothing and the mismatch is recorded after it (test_commit_composite).
    client.upload_partitions(s.session_id, data, PSIZE, parallel=1)
    expect_error(Code.DATA_LOSS, client.commit, s.session_id)
    expect_error(Code.NOT_FOUND, client.get_object, name)
    assert client.get_session(s.session_id).state != ss.COMMITTED
    expect_error(Code.DATA_LOSS, client.commit, s.session_id)     # and again: still refused


def test_committed_session_takes_nothing_more(client):
    data = ss.random_bytes(2 * PSIZE)
    s = client.create_session(ss.unique_name("errors/committed"), data, PSIZE)
    client.upload_partitions(s.session_id, data, PSIZE)
    info = client.commit(s.session_id)
    for index in (0, 1):
        expect_error(Code.FAILED_PRECONDITION, client.upload_partition, s.session_id, index,
                     ss.split(data, PSIZE)[index])
    # Aborting a committed session must not undo the commit, whatever it answers.
    try:
        client.abort(s.session_id)
    except grpc.RpcError as e:
        assert e.code() == Code.FAILED_PRECONDITION, e
    got = client.get_session(s.session_id)
    assert got.state == ss.COMMITTED and got.committed_version == 1
    assert client.commit(s.session_id).version == info.version == 1
    ss.assert_same_bytes(client.read(s.object_name), data)


def test_aborted_session_takes_nothing_more(client):
    data = ss.random_bytes(2 * PSIZE)
    s = client.create_session(ss.unique_name("errors/aborted"), data, PSIZE)
    client.upload_partition(s.session_id, 0, data[:PSIZE])
    assert client.abort(s.session_id).state == ss.ABORTED
    expect_error(Code.FAILED_PRECONDITION, client.upload_partition, s.session_id, 1,
                 data[PSIZE:])
    expect_error(Code.FAILED_PRECONDITION, client.upload_partition, s.session_id, 0,
                 data[:PSIZE])
    expect_error(Code.FAILED_PRECONDITION, client.commit, s.session_id)
    assert client.get_session(s.session_id).state == ss.ABORTED
    expect_error(Code.NOT_FOUND, client.get_object, s.object_name)


# --------------------------------------------------------------------------
# Objects, versions and partitions that do not exist
# --------------------------------------------------------------------------

def test_unknown_object_is_not_found(client):
    name = ss.unique_name("errors/never")
    expect_error(Code.NOT_FOUND, client.get_object, name)
    expect_error(Code.NOT_FOUND, client.read, name)
    expect_error(Code.NOT_FOUND, client.delete_object, name)
    expect_error(Code.NOT_FOUND, client.restore, name, 1)
    expect_error(Code.NOT_FOUND, client.partition_info, name, 0)
    expect_error(Code.NOT_FOUND, client.read_partition, name, 0)
    try:
        assert list(client.list_versions(name).versions) == []
    except grpc.RpcError as e:
        assert e.code() == Code.NOT_FOUND, e


def test_unknown_version_is_not_found(client, keeper):
    for version in (2, 99):
        expect_error(Code.NOT_FOUND, client.get_object, KEEPER, version=version)
        expect_error(Code.NOT_FOUND, client.read, KEEPER, version=version)
        expect_error(Code.NOT_FOUND, client.restore, KEEPER, version)
        expect_error(Code.NOT_FOUND, client.partition_info, KEEPER, 0, version=version)
        expect_error(Code.NOT_FOUND, client.read_partition, KEEPER, 0, version=version)
    expect_error({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, client.get_object, KEEPER, version=-1)
    expect_error({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, client.restore, KEEPER, 0)
    expect_error({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, client.get_object, "")


def test_bytes_lost_behind_the_servers_back_are_data_loss(storage):
    """Blobs removed from the store by someone else (files deleted, objects deleted
    from the bucket): the metadata still describes the object, and every read of its
    bytes fails promptly with DATA_LOSS, naming what is missing — not a hang, not
    empty or short data presented as success."""
    srv = storage.server(label="sluiced-lost-bytes")
    c = srv.client()
    name = ss.unique_name("errors/lost")
    data = ss.random_bytes(4 * 64 * KIB + 5)
    c.put_object(name, data, partition_size=64 * KIB)
    assert srv.blobs.delete_all() == 5, f"expected 5 blobs in {srv.blobs.describe()}"

    ss.assert_object_describes(c.get_object(name), name, data, 64 * KIB, version=1)
    for what, call in (("ReadObject", lambda: c.read(name)),
                       ("ReadObject range", lambda: c.read(name, offset=64 * KIB + 1, length=10)),
                       ("ReadPartition", lambda: c.read_partition(name, 4))):
        started = time.monotonic()
        err = expect_error(Code.DATA_LOSS, call)
        assert time.monotonic() - started < 20, f"{what} took {time.monotonic() - started:.0f}s"
        assert err.details(), f"{what}: DATA_LOSS without a message"
    srv.assert_alive()


# --------------------------------------------------------------------------
# Open sessions per principal
# --------------------------------------------------------------------------

def test_open_session_limit(storage):
    srv = storage.server(max_open_sessions=3)
    c, c2 = srv.client("client"), srv.client("client2")
    data = b"abc"
    opened = [c.create_session(ss.unique_name("limit"), data, 2) for _ in range(3)]
    err = expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "limit/4th", data, 2)
    assert "3" in err.details(), f"the refusal names the limit: {err.details()!r}"
    # the limit is per principal
    other = c2.create_session("limit/other", data, 2)
    # an aborted session frees a slot ...
    c.abort(opened[0].session_id)
    fourth = c.create_session("limit/4th", data, 2)
    expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "limit/5th", data, 2)
    # ... and so does a committed one
    c.upload_partitions(fourth.session_id, data, 2)
    c.commit(fourth.session_id)
    fifth = c.create_session("limit/5th", data, 2)
    expect_error(Code.RESOURCE_EXHAUSTED, c.create_session, "limit/6th", data, 2)
    # refused creations left nothing behind
    assert len(c.all_sessions(open_only=True)) == 3
    assert {s.session_id for s in c.all_sessions(open_only=True)} == \
        {opened[1].session_id, opened[2].session_id, fifth.session_id}
    ss.assert_same_bytes(c.read("limit/4th"), data)
    c2.abort(other.session_id)


# --------------------------------------------------------------------------
# NUL characters: PostgreSQL text cannot hold them, and no name has one
# --------------------------------------------------------------------------

NUL_NAME = "errors/nul\x00name"


def test_nul_in_names_of_reads_is_refused_cleanly(client):
    """A name with NUL can never exist: a refusal (INVALID_ARGUMENT) or NOT_FOUND,
    never an internal failure."""
    either = {Code.INVALID_ARGUMENT, Code.NOT_FOUND}
    expect_error(either, client.get_object, NUL_NAME)
    expect_error(either, client.read, NUL_NAME)
    expect_error(either, client.delete_object, NUL_NAME)
    expect_error(either, client.list_versions, NUL_NAME)
    expect_error(either, client.restore, NUL_NAME, 1)
    expect_error(either, client.partition_info, NUL_NAME, 0)
    expect_error(either, client.read_partition, NUL_NAME, 0)


@pytest.mark.parametrize("field", ["prefix", "delimiter", "page_token"])
def test_nul_in_listing_arguments(client, field):
    """A prefix or delimiter with NUL matches nothing (or is refused); a page token
    with NUL is not one the server issued."""
    args = {"prefix": "", "delimiter": "", "page_token": ""}
    args[field] = "a\x00b"
    try:
        page = client.list_objects(**args)
    except grpc.RpcError as e:
        assert e.code() == Code.INVALID_ARGUMENT, f"{e.code().name}: {e.details()}"
        return
    assert field != "page_token", "a page token with NUL was accepted"
    if field == "prefix":
        assert list(page.objects) == [] and list(page.common_prefixes) == []


@pytest.mark.parametrize("what", ["metadata key", "metadata value", "content_type"])
def test_nul_in_session_strings(client, what):
    """Strings stored with a session either come back exactly, NUL included, or are
    refused with INVALID_ARGUMENT; never an internal failure."""
    fields = _valid()
    if what == "metadata key":
        fields["user_metadata"] = {"a\x00b": "v"}
    elif what == "metadata value":
        fields["user_metadata"] = {"k": "a\x00b"}
    else:
        fields["content_type"] = "text/plain\x00x"
    try:
        s = client.create_raw(**fields)
    except grpc.RpcError as e:
        assert e.code() == Code.INVALID_ARGUMENT, f"{e.code().name}: {e.details()}"
        return
    got = client.get_session(s.session_id)
    assert dict(got.user_metadata) == fields.get("user_metadata", {})
    assert got.content_type == fields.get("content_type", "")
    client.abort(s.session_id)
