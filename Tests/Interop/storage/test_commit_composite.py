"""Commits read no payload (issue 12): a commit is O(partitions). Every version carries
composite_sha256 (SHA-256 of its partitions' SHA-256s, in order) from the commit on; its
whole-object sha256 is known at commit when the partitions arrived in order (the server
advances the hash as they stream in) or once the server has read back the partitions that
arrived ahead of the hash (it does so while the upload runs), else it is PENDING (empty) until
the verifier has hashed the rest after the commit. A declared whole-object hash is still
checked: known at commit, a wrong one refuses the commit (DATA_LOSS) as before; found later,
it is recorded as MISMATCH and never presented as verified."""

from __future__ import annotations

import pytest

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, expect_error, info_pb
from test_integrity import damage  # the shared way to flip a stored byte

PSIZE = 16 * KIB
PENDING, VERIFIED = info_pb.SHA256_STATE_PENDING, info_pb.SHA256_STATE_VERIFIED
UNDECLARED, MISMATCH = info_pb.SHA256_STATE_UNDECLARED, info_pb.SHA256_STATE_MISMATCH
NOT_COMPUTED = info_pb.SHA256_STATE_NOT_COMPUTED


def _session(client, name, data, *, declared: bytes | None):
    return client.create_raw(
        object_name=name, total_size=len(data), partition_size=PSIZE,
        partition_sha256=[ss.sha(p) for p in ss.split(data, PSIZE)],
        object_sha256=declared if declared is not None else b"")


def _upload_backwards(client, session_id, data):
    parts = ss.split(data, PSIZE)
    for index in reversed(range(len(parts))):
        client.upload_partition(session_id, index, parts[index])


def _hashed_through(postgres, server, session_id: str) -> int:
    """How many leading partitions the session's whole-object hash covers."""
    return int(postgres.run(
        f"SELECT whole_hashed_through FROM upload_sessions WHERE encode(id, 'hex') = '{session_id}'",
        url=server.database_url))


def test_in_order_upload_is_verified_at_commit(server, client):
    data = ss.random_bytes(4 * PSIZE + 3)
    name = ss.unique_name("composite/in-order")
    s = _session(client, name, data, declared=ss.sha(data))
    client.upload_partitions(s.session_id, data, PSIZE, parallel=1)
    info = client.commit(s.session_id)
    assert info.sha256_state == VERIFIED and info.sha256 == ss.sha(data)
    assert info.composite_sha256 == ss.composite(data, PSIZE)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    # Listings and version lists carry both hashes and the state too.
    listed = [o for o in client.list_objects(prefix=name).objects if o.name == name]
    assert [(o.sha256, o.composite_sha256, o.sha256_state) for o in listed] == \
        [(ss.sha(data), ss.composite(data, PSIZE), VERIFIED)]


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_out_of_order_upload_commits_pending_then_settles(server, client, declared):
    data = ss.random_bytes(3 * PSIZE + 100)
    name = ss.unique_name("composite/backwards")
    s = _session(client, name, data, declared=ss.sha(data) if declared else None)
    _upload_backwards(client, s.session_id, data)
    info = client.commit(s.session_id)
    # The commit answers at once with everything but the whole-object hash.
    assert info.sha256_state in (PENDING, VERIFIED if declared else UNDECLARED), info.sha256_state
    assert info.composite_sha256 == ss.composite(data, PSIZE)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    settled = ss.settled(client, name)
    assert settled.sha256_state == (VERIFIED if declared else UNDECLARED)
    assert settled.sha256 == ss.sha(data)
    # Committing again answers the same version, now settled.
    again = client.commit(s.session_id)
    assert (again.version, again.sha256, again.sha256_state) == (1, ss.sha(data), settled.sha256_state)


def test_wrong_declared_hash_known_at_commit_is_refused(server, client):
    data = ss.random_bytes(2 * PSIZE)
    wrong = ss.sha(b"not these bytes")
    s = _session(client, ss.unique_name("composite/wrong-in-order"), data, declared=wrong)
    client.upload_partitions(s.session_id, data, PSIZE, parallel=1)
    e = expect_error(Code.DATA_LOSS, client.commit, s.session_id)
    assert wrong.hex() in e.details() and ss.hexsha(data) in e.details(), e.details()
    expect_error(Code.NOT_FOUND, client.get_object, s.object_name)


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_partitions_that_arrived_ahead_are_hashed_before_the_commit(server, client, postgres, declared):
    """A parallel upload's partitions mostly arrive ahead of the in-order hash; the server
    reads them back while the upload runs, so the commit knows the whole hash."""
    data = ss.random_bytes(6 * PSIZE + 5)
    name = ss.unique_name("composite/ahead")
    s = _session(client, name, data, declared=ss.sha(data) if declared else None)
    _upload_backwards(client, s.session_id, data)
    sup.wait_until(lambda: _hashed_through(postgres, server, s.session_id) == 7, 20, interval=0.05,
                   what="the server to hash the partitions that arrived ahead")
    info = client.commit(s.session_id)
    assert info.sha256_state == (VERIFIED if declared else UNDECLARED) and info.sha256 == ss.sha(data)


def test_a_wrong_declared_hash_found_before_the_commit_is_refused(server, client, postgres):
    data = ss.random_bytes(3 * PSIZE)
    wrong = ss.sha(b"not these bytes")
    s = _session(client, ss.unique_name("composite/wrong-ahead"), data, declared=wrong)
    _upload_backwards(client, s.session_id, data)
    sup.wait_until(lambda: _hashed_through(postgres, server, s.session_id) == 3, 20, interval=0.05,
                   what="the server to hash the partitions that arrived ahead")
    e = expect_error(Code.DATA_LOSS, client.commit, s.session_id)
    assert wrong.hex() in e.details() and ss.hexsha(data) in e.details(), e.details()


def test_wrong_declared_hash_found_after_commit_is_a_recorded_mismatch(server, client, postgres):
    data = ss.random_bytes(3 * PSIZE)
    wrong = ss.sha(b"not these bytes")
    name = ss.unique_name("composite/wrong-backwards")
    s = _session(client, name, data, declared=wrong)
    _upload_backwards(client, s.session_id, data)
    info = ss.commit_before_the_whole_hash(client, postgres, server, s.session_id)
    assert info.sha256 == b""
    settled = ss.settled(client, name)
    # The hash of the stored bytes is shown, flagged: never the declared one, never verified.
    assert settled.sha256_state == MISMATCH, settled.sha256_state
    assert settled.sha256 == ss.sha(data) != wrong
    for seen in [client.get_object(name), client.list_versions(name).versions[0],
                 *[o for o in client.list_objects(prefix=name).objects if o.name == name]]:
        assert seen.sha256_state == MISMATCH and seen.sha256 != wrong
    # A restore of it copies the finding.
    restored = client.restore(name, 1)
    assert restored.sha256_state == MISMATCH


def test_commit_reads_no_payload_damage_after_upload_is_caught_at_read(server, client, postgres):
    """A blob damaged after its upload: the commit (out of order, pending) succeeds without
    reading it; the verifier cannot vouch for the object (it stays PENDING, never
    verified) and records the damage; reads end with DATA_LOSS as before."""
    data = ss.random_bytes(3 * PSIZE)
    parts = ss.split(data, PSIZE)
    name = ss.unique_name("composite/damaged")
    s = _session(client, name, data, declared=ss.sha(data))
    # Damaged before the partition the hash needs first arrives: nothing has read it back yet.
    for index in (2, 1):
        client.upload_partition(s.session_id, index, parts[index])
    damage(server.blobs, parts[1])
    client.upload_partition(s.session_id, 0, parts[0])
    info = client.commit(s.session_id)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    assert info.sha256_state == PENDING
    expect_error(Code.DATA_LOSS, client.read_partition, name, 1)
    detected = sup.wait_until(lambda: postgres.run(
        f"SELECT detected_by FROM damaged_blobs WHERE encode(sha256, 'hex') = '{ss.hexsha(parts[1])}'",
        url=server.database_url).split(), 20, interval=0.1, what="the damage to be recorded")
    assert detected == ["read"], detected
    assert client.get_object(name).sha256_state == PENDING, "a damaged object was settled"


@pytest.mark.parametrize("order", ["in-order", "backwards"])
def test_an_upload_that_asks_for_no_whole_hash_is_never_hashed_whole(server, client, postgres, order):
    """skip_whole_sha256: neither the in-order hash (as partitions stream in) nor the read-back
    of partitions that arrived ahead runs, the version is NOT_COMPUTED with no sha256 for good,
    and its composite and partition hashes still describe it; its bytes read back whole."""
    data = ss.random_bytes(4 * PSIZE + 7)
    name = ss.unique_name(f"composite/skip-{order}")
    s = client.create_raw(
        object_name=name, total_size=len(data), partition_size=PSIZE,
        partition_sha256=[ss.sha(p) for p in ss.split(data, PSIZE)], skip_whole_sha256=True)
    assert s.skip_whole_sha256 and client.get_session(s.session_id).skip_whole_sha256
    if order == "in-order":
        client.upload_partitions(s.session_id, data, PSIZE, parallel=1)
    else:
        _upload_backwards(client, s.session_id, data)
    info = client.commit(s.session_id)
    assert _hashed_through(postgres, server, s.session_id) == 0
    assert (info.sha256_state, info.sha256) == (NOT_COMPUTED, b"")
    assert info.composite_sha256 == ss.composite(data, PSIZE)
    ss.assert_object_describes(info, name, data, PSIZE, version=1)
    assert ss.settled(client, name).sha256_state == NOT_COMPUTED
    assert client.read(name) == data


def test_asking_for_no_whole_hash_beside_a_declared_one_is_invalid(server, client):
    data = ss.random_bytes(2 * PSIZE)
    error = expect_error(
        Code.INVALID_ARGUMENT, client.create_raw,
        object_name=ss.unique_name("composite/both"), total_size=len(data), partition_size=PSIZE,
        partition_sha256=[ss.sha(p) for p in ss.split(data, PSIZE)], object_sha256=ss.sha(data),
        skip_whole_sha256=True)
    assert "skip_whole_sha256" in error.details() and "object_sha256" in error.details()
