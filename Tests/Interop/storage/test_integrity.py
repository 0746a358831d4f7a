"""Stored bytes are checked, not trusted: a commit reads none (every byte was verified on
arrival), so damage done after the upload is caught at the next whole-partition read or
scrub, never served; a partition sent again whose stored
blob no longer matches is rewritten rather than answered already_stored; a read of a
whole partition ends with DATA_LOSS, before the partition's last chunk, when its bytes
have rotted; and the scrubber (--scrub-interval) finds damaged and missing blobs, logs
them and records them in damaged_blobs, which an upload of the same bytes repairs.

Damage is done behind sluiced's back, on disk (a byte flipped in place) or in S3 (the
object overwritten with one byte flipped), found by content as every storage test does."""

from __future__ import annotations

import os

import grpc
import pytest

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, expect_error, info_pb, obj_pb

PSIZE = 8 * KIB


def damage(blobs, payload: bytes) -> int:
    """Flips one byte in the middle of every stored copy of `payload`; returns how many."""
    where = blobs.inventory().get(ss.hexsha(payload), [])
    for place in where:
        middle = len(payload) // 2
        if blobs.kind == "disk":
            with open(place, "r+b") as f:
                f.seek(middle)
                byte = f.read(1)
                f.seek(middle)
                f.write(bytes([byte[0] ^ 0x01]))
        else:
            data = bytearray(blobs.get(place))
            data[middle] ^= 0x01
            blobs.put(place, bytes(data))
    assert where, "the payload is stored somewhere"
    return len(where)


def remove(blobs, payload: bytes) -> int:
    """Deletes every stored copy of `payload` behind sluiced's back; returns how many."""
    where = blobs.inventory().get(ss.hexsha(payload), [])
    for place in where:
        if blobs.kind == "disk":
            os.unlink(place)
        else:
            blobs.delete(place)
    assert where, "the payload is stored somewhere"
    return len(where)


def read_until_error(c: ss.StorageClient, name: str, **fields) -> tuple[bytes, grpc.StatusCode]:
    """The bytes a ReadObject delivers before it ends, and how it ends."""
    got = []
    try:
        for message in c.objects.ReadObject(obj_pb.ReadObjectRequest(name=name, **fields),
                                            timeout=ss.TIMEOUT):
            got.append(message.data)
    except grpc.RpcError as e:
        return b"".join(got), e.code()
    return b"".join(got), Code.OK


def test_single_partition_commit_reads_no_bytes_damage_is_caught_at_read(server, client, postgres):
    """A commit reads no payload (O(partitions)): bytes damaged between their upload and
    the commit are not its business. The version is made as declared, and the damage is
    caught where it always is: a whole-partition read ends with DATA_LOSS (and records
    it), as would the scrubber; uploading the same bytes again repairs the blob."""
    data = ss.random_bytes(PSIZE - 5)
    s = client.create_session(ss.unique_name("integrity/single"), data, PSIZE, object_sha256=False)
    client.upload_partition(s.session_id, 0, data)
    damage(server.blobs, data)
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, s.object_name, data, PSIZE, version=1)
    assert info.sha256_state == info_pb.SHA256_STATE_UNDECLARED
    got, code = read_until_error(client, s.object_name)
    assert code == Code.DATA_LOSS and got == b"", f"read of the damaged object: {code.name}, {len(got)} bytes"
    found = postgres.run(f"SELECT detected_by FROM damaged_blobs WHERE encode(sha256, 'hex') = "
                         f"'{ss.hexsha(data)}'", url=server.database_url).split()
    assert found == ["read"], found
    client.put_object(ss.unique_name("integrity/single-repair"), data, partition_size=PSIZE)
    ss.assert_same_bytes(client.read(s.object_name), data, "the repaired single-partition object")


def test_multi_partition_commit_reads_no_bytes_damage_is_caught_at_read(server, client):
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    s = client.create_session(ss.unique_name("integrity/multi"), data, PSIZE)
    client.upload_partitions(s.session_id, data, PSIZE, parallel=1)
    damage(server.blobs, parts[1])
    info = client.commit(s.session_id)
    # In order, the whole-object hash advanced as the bytes arrived: verified at commit.
    ss.assert_object_describes(info, s.object_name, data, PSIZE, version=1)
    assert info.sha256_state == info_pb.SHA256_STATE_VERIFIED
    expect_error(Code.DATA_LOSS, client.read_partition, s.object_name, 1)
    ss.assert_same_bytes(client.read_partition(s.object_name, 0), parts[0], "an intact partition")
    client.upload_partition(client.create_session(ss.unique_name("integrity/multi-repair"), parts[1], PSIZE)
                            .session_id, 0, parts[1])
    ss.assert_same_bytes(client.read(s.object_name), data, "the repaired object")


def test_resent_partition_repairs_a_damaged_blob(server, client):
    data = ss.random_bytes(2 * PSIZE)
    parts = ss.split(data, PSIZE)
    s = client.create_session(ss.unique_name("integrity/resend"), data, PSIZE)
    client.upload_partitions(s.session_id, data, PSIZE)
    # Intact: sending it again is the documented no-op.
    assert client.upload_partition(s.session_id, 0, parts[0]).already_stored
    damage(server.blobs, parts[0])
    assert server.blobs.copies(parts[0]) == 0
    resent = client.upload_partition(s.session_id, 0, parts[0])
    assert not resent.already_stored, "a damaged blob was answered already_stored"
    assert server.blobs.copies(parts[0]) == 1, "the blob holds the right bytes again"
    ss.assert_same_bytes(client.read(client.commit(s.session_id).name), data, "after the repair")


@pytest.mark.parametrize("harm", ["damaged", "missing"])
def test_a_put_of_held_bytes_repairs_a_blob_nobody_has_read_since_it_rotted(server, client, harm):
    """PutObject of bytes the owner already holds reuses the blob only while it is intact: one
    that rotted or vanished before any read noticed is rewritten from the new bytes, so the
    acknowledged put reads back, and so does the earlier object sharing the blob."""
    data = ss.random_bytes(5000)
    first, again = ss.unique_name("integrity/put-held"), ss.unique_name("integrity/put-again")
    client.objects.PutObject(obj_pb.PutObjectRequest(name=first, data=data, sha256=ss.sha(data)), timeout=ss.TIMEOUT)
    (damage if harm == "damaged" else remove)(server.blobs, data)
    assert server.blobs.copies(data) == 0
    info = client.objects.PutObject(obj_pb.PutObjectRequest(name=again, data=data, sha256=ss.sha(data)),
                                    timeout=ss.TIMEOUT)
    assert info.version == 1 and info.sha256_state == info_pb.SHA256_STATE_VERIFIED
    assert server.blobs.copies(data) == 1, "the blob holds the right bytes again"
    ss.assert_same_bytes(client.read(again), data, "the put that repaired the blob")
    ss.assert_same_bytes(client.read(first), data, "the earlier object sharing the blob")


def test_reads_of_rotten_partitions_end_with_data_loss(server, client, postgres):
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("integrity/rot")
    client.put_object(name, data, partition_size=PSIZE)
    damage(server.blobs, parts[1])

    got, code = read_until_error(client, name)
    assert code == Code.DATA_LOSS, f"ReadObject of a damaged object ended with {code.name}"
    # Partition 0 is served; no byte of the damaged partition 1 (one chunk here) goes out.
    ss.assert_same_bytes(got, parts[0], "bytes served before DATA_LOSS")
    expect_error(Code.DATA_LOSS, client.read_partition, name, 1)
    ss.assert_same_bytes(client.read_partition(name, 0), parts[0], "an intact partition")
    ss.assert_same_bytes(client.read_partition(name, 2), parts[2], "an intact partition")
    # A read of part of a partition is served as stored (checking it would mean reading
    # all of it): the client checks it against the published partition hash.
    assert len(client.read_partition(name, 1, offset=1, length=10)) == 10
    got, code = read_until_error(client, name, offset=2 * PSIZE)
    assert code == Code.OK and got == parts[2]
    # The reads recorded what they found, for the operator.
    found = postgres.run(f"SELECT detected_by FROM damaged_blobs WHERE encode(sha256, 'hex') = "
                         f"'{ss.hexsha(parts[1])}'", url=server.database_url).split()
    assert found == ["read"], found

    # An upload of the same bytes (any session) repairs the blob.
    client.put_object(ss.unique_name("integrity/rot-repair"), parts[1], partition_size=PSIZE)
    ss.assert_same_bytes(client.read(name), data, "the object after its blob was repaired")
    assert postgres.run(f"SELECT count(*) FROM damaged_blobs WHERE encode(sha256, 'hex') = "
                        f"'{ss.hexsha(parts[1])}'", url=server.database_url).strip() == "0"


def test_a_read_of_several_partitions_ends_with_data_loss_at_the_damaged_one(server, client):
    """ReadPartition with partition_count checks each partition whole as ReadObject does:
    the partitions before the damaged one arrive whole, then DATA_LOSS, with no byte of the
    damaged partition (one chunk here) sent; a run that stops before it is served."""
    data = ss.random_bytes(5 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("integrity/rot-run")
    client.put_object(name, data, partition_size=PSIZE)
    damage(server.blobs, parts[3])

    got = []
    with pytest.raises(grpc.RpcError) as failure:
        for message in client.partitions.ReadPartition(
                ss.part_pb.ReadPartitionRequest(object_name=name, partition_index=1, partition_count=4),
                timeout=ss.TIMEOUT):
            got.append(message.data)
    assert failure.value.code() == Code.DATA_LOSS, failure.value
    assert "partition 3" in (failure.value.details() or ""), failure.value.details()
    ss.assert_same_bytes(b"".join(got), parts[1] + parts[2], "bytes served before DATA_LOSS")
    ss.assert_same_bytes(client.read_partition(name, 0, count=3), b"".join(parts[:3]), "an intact run")
    ss.assert_same_bytes(client.read_partition(name, 4, count=2), parts[4], "an intact run after the damage")


def _damaged_rows(storage, server) -> list[str]:
    out = storage.postgres.run(
        "SELECT encode(sha256, 'hex') || ' ' || detected_by FROM damaged_blobs ORDER BY 1",
        url=server.database_url)
    return [line for line in out.splitlines() if line]


def test_scrubber_finds_records_and_forgets_repaired_damage(storage):
    srv = storage.server(label="sluiced-scrub", scrub_interval=1, scrub_bytes_per_second=1024 * 1024)
    c = srv.client()
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("scrub/obj")
    c.put_object(name, data, partition_size=PSIZE)
    sup.wait_until(lambda: "scrub pass" in srv.mp.output(), 20, interval=0.2, what="a scrub pass")
    assert "scrub found a damaged blob" not in srv.mp.output()
    assert _damaged_rows(storage, srv) == []

    damage(srv.blobs, parts[2])
    sup.wait_until(lambda: _damaged_rows(storage, srv), 20, interval=0.2,
                   what="the scrubber to record the damaged blob")
    assert _damaged_rows(storage, srv) == [f"{ss.hexsha(parts[2])} scrubber"]
    log = srv.mp.output()
    assert "scrub found a damaged blob" in log and ss.hexsha(parts[2]) in log

    # An upload of the same bytes rewrites the blob and clears the finding.
    c.put_object(ss.unique_name("scrub/repair"), parts[2], partition_size=PSIZE)
    assert _damaged_rows(storage, srv) == []
    ss.assert_same_bytes(c.read(name), data, "the object after the repair")
    # Passes after the repair find nothing more.
    passes = srv.mp.output().count("scrub pass")
    sup.wait_until(lambda: srv.mp.output().count("scrub pass") >= passes + 2, 20, interval=0.2,
                   what="two more scrub passes")
    assert _damaged_rows(storage, srv) == []


def test_scrubber_reports_missing_blobs(storage):
    srv = storage.server(label="sluiced-scrub-missing", scrub_interval=1)
    c = srv.client()
    data = ss.random_bytes(PSIZE)
    c.put_object(ss.unique_name("scrub/missing"), data, partition_size=PSIZE)
    assert srv.blobs.delete_all() == 1
    sup.wait_until(lambda: _damaged_rows(storage, srv), 20, interval=0.2,
                   what="the scrubber to record the missing blob")
    assert _damaged_rows(storage, srv) == [f"{ss.hexsha(data)} scrubber"]
    srv.assert_alive()


def test_a_client_that_verifies_gets_the_bytes_as_stored_and_the_server_checks_on_request(
        server, client, postgres):
    """client_verifies: the server sends a partition as stored, unhashed, so damaged bytes
    reach the client (which must check them) and nothing is recorded; the same read without
    the flag is checked by the server, ends with DATA_LOSS and records the damage."""
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("integrity/client-verifies")
    client.put_object(name, data, partition_size=PSIZE)
    damage(server.blobs, parts[1])

    def recorded() -> str:
        return postgres.run(f"SELECT count(*) FROM damaged_blobs WHERE encode(sha256, 'hex') = "
                            f"'{ss.hexsha(parts[1])}'", url=server.database_url).strip()

    got, code = read_until_error(client, name, client_verifies=True)
    assert code == Code.OK and len(got) == len(data) and got != data
    assert ss.sha(got[PSIZE:2 * PSIZE]) != ss.sha(parts[1]) and got[:PSIZE] == parts[0]
    run = b"".join(m.data for m in client.partitions.ReadPartition(
        ss.part_pb.ReadPartitionRequest(object_name=name, partition_index=0, partition_count=3,
                                        client_verifies=True), timeout=ss.TIMEOUT))
    assert run == got
    assert recorded() == "0", "an unchecked read recorded damage it never looked for"
    expect_error(Code.DATA_LOSS, client.read_partition, name, 1)
    assert recorded() == "1"
