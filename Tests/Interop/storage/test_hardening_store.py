"""Storage API hardening, from the outside:

- CreateSession with a request_id is idempotent per principal; the same id with another
  declaration is INVALID_ARGUMENT; a session that stores nothing gives its open-session
  slot back after --empty-session-lifetime.
- User metadata keys that differ only in Unicode normalization are refused rather than
  merged; keys and object names come back exactly as sent (byte for byte).
- Page tokens are authenticated: a hand-made, altered, another principal's or another
  listing's token is INVALID_ARGUMENT; tokens outlive a restart (the key is kept in the
  database) and --page-token-key-file sets the key."""

from __future__ import annotations

import base64
import os
import unicodedata

import grpc
import pytest

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, expect_error, obj_pb, us_pb

# What is tested here is metadata; the blob store does not take part.
pytestmark = ss.only_blob_stores("disk")

DATA = b"0123456789"


def _declaration(name: str, data: bytes = DATA, **extra) -> dict:
    return dict(object_name=name, total_size=len(data), partition_size=4,
                partition_sha256=[ss.sha(p) for p in ss.split(data, 4)], **extra)


# --------------------------------------------------------------------------
# 7: request_id
# --------------------------------------------------------------------------

def test_request_id_returns_the_same_session(client, client2):
    rid = "3f1c0a9e-7d2b-4c55-9e3a-0b6f1d2e4a77"
    name = ss.unique_name("rid/same")
    first = client.create_raw(**_declaration(name, request_id=rid))
    again = client.create_raw(**_declaration(name, request_id=rid))
    assert again.session_id == first.session_id and again.state == ss.OPEN
    assert [s.session_id for s in client.all_sessions() if s.object_name == name] == [first.session_id]
    # Another principal's id space is its own.
    other = client2.create_raw(**_declaration(name, request_id=rid))
    assert other.session_id != first.session_id

    # Once the session is committed the id still answers it (now COMMITTED).
    client.upload_partitions(first.session_id, DATA, 4, parallel=1)
    client.commit(first.session_id)
    done = client.create_raw(**_declaration(name, request_id=rid))
    assert done.session_id == first.session_id and done.state == ss.COMMITTED


def test_request_id_with_another_declaration_is_invalid(client):
    rid = ss.unique_name("rid")
    name = ss.unique_name("rid/differs")
    client.create_raw(**_declaration(name, request_id=rid))
    for changed in (_declaration(name + "x", request_id=rid),
                    _declaration(name, b"0123456780", request_id=rid),
                    _declaration(name, request_id=rid, content_type="text/plain"),
                    _declaration(name, request_id=rid, user_metadata={"k": "v"})):
        e = expect_error(Code.INVALID_ARGUMENT, client.create_raw, **changed)
        assert "request_id" in e.details(), e.details()


@pytest.mark.parametrize("rid", ["x" * 129, "has space", "caf\u00e9", "tab\there"])
def test_bad_request_ids_are_refused(client, rid):
    e = expect_error(Code.INVALID_ARGUMENT, client.create_raw,
                     **_declaration(ss.unique_name("rid/bad"), request_id=rid))
    assert "request_id" in e.details()


def test_request_id_of_128_characters_is_accepted(client):
    s = client.create_raw(**_declaration(ss.unique_name("rid/long"), request_id="r" * 128))
    assert s.state == ss.OPEN


def test_empty_sessions_give_their_slot_back_early(storage):
    srv = storage.server(label="sluiced-empty", max_open_sessions=2, empty_session_lifetime=1,
                         collector_interval=1, session_lifetime=3600)
    c = srv.client()
    empty = c.create_raw(**_declaration(ss.unique_name("empty/a")))
    busy = c.create_raw(**_declaration(ss.unique_name("empty/b")))

    def lifetime(session):
        return (session.expire_time.ToDatetime() - session.create_time.ToDatetime()).total_seconds()

    # expire_time is the effective expiry: the empty-session lifetime until a partition is stored.
    assert lifetime(empty) == pytest.approx(1, abs=0.01), empty
    assert lifetime(c.get_session(busy.session_id)) == pytest.approx(1, abs=0.01)
    c.upload_partition(busy.session_id, 0, DATA[:4])
    assert lifetime(c.get_session(busy.session_id)) == pytest.approx(3600, abs=0.01)
    expect_error(Code.RESOURCE_EXHAUSTED, c.create_raw, **_declaration(ss.unique_name("empty/c")))
    sup.wait_until(lambda: c.get_session(empty.session_id).state == ss.EXPIRED, 20, interval=0.2,
                   what="the empty session to expire")
    assert c.get_session(busy.session_id).state == ss.OPEN, "a session holding a partition expired"
    assert c.create_raw(**_declaration(ss.unique_name("empty/c"))).state == ss.OPEN


@pytest.mark.parametrize("index", [2147483647, 2147483646, -1, -2147483648])
def test_extreme_partition_indexes_are_invalid_argument(client, index):
    name = ss.unique_name("extreme/idx")
    s = client.create_raw(**_declaration(name))
    expect_error(Code.INVALID_ARGUMENT, client.upload_partition, s.session_id, index, b"0123")
    client.upload_partitions(s.session_id, DATA, 4, parallel=1)
    client.commit(s.session_id)
    expect_error(Code.INVALID_ARGUMENT, client.partition_info, name, index)
    expect_error(Code.INVALID_ARGUMENT, client.read_partition, name, index)


# --------------------------------------------------------------------------
# 8: Unicode normalization
# --------------------------------------------------------------------------

NFD, NFC = "e\u0301", "\u00e9"


def test_metadata_keys_differing_in_normalization_are_refused(client):
    assert unicodedata.normalize("NFC", NFD) == NFC
    e = expect_error(Code.INVALID_ARGUMENT, client.create_raw,
                     **_declaration(ss.unique_name("nfc/both"), user_metadata={NFD: "decomposed", NFC: "composed"}))
    assert "normalization" in e.details(), e.details()


def test_put_object_metadata_keys_differing_in_normalization_are_refused(client):
    """PutObject carries the same map: refused as CreateSession refuses it, nothing stored."""
    name = ss.unique_name("nfc/put")
    e = expect_error(Code.INVALID_ARGUMENT, client.objects.PutObject, obj_pb.PutObjectRequest(
        name=name, data=b"x", sha256=ss.sha(b"x"), user_metadata={NFD: "decomposed", NFC: "composed"}),
        timeout=ss.TIMEOUT)
    assert "normalization" in e.details(), e.details()
    expect_error(Code.NOT_FOUND, client.get_object, name)


@pytest.mark.parametrize("key", [NFD, NFC])
def test_metadata_keys_come_back_as_sent(client, key):
    name = ss.unique_name("nfc/one")
    s = client.create_raw(**_declaration(name, user_metadata={key: "v", "plain": "p"}))
    assert dict(s.user_metadata) == {key: "v", "plain": "p"}
    client.upload_partitions(s.session_id, DATA, 4, parallel=1)
    info = client.commit(s.session_id)
    assert dict(info.user_metadata) == {key: "v", "plain": "p"}
    assert dict(client.get_object(name).user_metadata) == {key: "v", "plain": "p"}


def test_object_names_differing_in_normalization_are_two_objects(client):
    base = ss.unique_name("nfc/name-")
    a, b = base + "caf" + NFC, base + "cafe\u0301"
    client.put_object(a, b"composed", partition_size=4)
    client.put_object(b, b"decomposed", partition_size=4)
    assert client.read(a) == b"composed" and client.read(b) == b"decomposed"
    objects, _ = client.list_all(prefix=base)
    assert sorted(o.name for o in objects) == sorted([a, b])
    assert client.get_object(a).name == a and client.get_object(b).name == b


# --------------------------------------------------------------------------
# 9: page tokens
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(server):
    """Five objects under one prefix, three versions of one of them, three sessions."""
    c = server.client()
    prefix = ss.unique_name("tokens/") + "/"
    for i in range(5):
        c.put_object(f"{prefix}{i}", b"abc", partition_size=4)
    for _ in range(2):
        c.put_object(f"{prefix}0", b"abcd", partition_size=4)
    c.close()
    return prefix


def _tokens(c, prefix):
    return {
        "objects": c.list_objects(prefix=prefix, page_size=2).next_page_token,
        "versions": c.list_versions(f"{prefix}0", page_size=1).next_page_token,
        "sessions": c.list_sessions(page_size=1).next_page_token,
    }


def _use(c, kind, base, token, **kw):
    if kind == "objects":
        return c.list_objects(prefix=kw.get("prefix", base), delimiter=kw.get("delimiter", ""),
                              page_size=2, page_token=token)
    if kind == "versions":
        return c.list_versions(kw.get("name", f"{base}0"), page_size=1, page_token=token)
    return c.list_sessions(page_size=1, page_token=token, open_only=kw.get("open_only", False))


def test_issued_tokens_work(client, listed):
    objects, _ = client.list_all(prefix=listed, page_size=2)
    assert len(objects) == 5
    tokens = _tokens(client, listed)
    assert all(tokens.values()), tokens
    for kind, token in tokens.items():
        _use(client, kind, listed, token)


def test_hand_made_tokens_are_refused(client, listed):
    # What the old tokens were: base64 of the cursor.
    forged = {"objects": base64.b64encode(f"o{listed}3".encode()).decode(),
              "versions": base64.b64encode(b"2").decode(),
              "sessions": base64.b64encode(b"0:" + b"00" * 16).decode()}
    for kind, token in forged.items():
        for t in (token, "!!!", "A" * 5000, base64.b64encode(os.urandom(80)).decode()):
            e = expect_error(Code.INVALID_ARGUMENT, _use, client, kind, listed, t)
            assert "page_token" in e.details()


def test_altered_tokens_are_refused(client, listed):
    for kind, token in _tokens(client, listed).items():
        raw = bytearray(base64.b64decode(token))
        raw[-1] ^= 0x01
        expect_error(Code.INVALID_ARGUMENT, _use, client, kind, listed, base64.b64encode(bytes(raw)).decode())
        expect_error(Code.INVALID_ARGUMENT, _use, client, kind, listed, token[:-4])


def test_tokens_are_bound_to_principal_parameters_and_listing(client, client2, listed):
    tokens = _tokens(client, listed)
    for kind, token in tokens.items():
        expect_error(Code.INVALID_ARGUMENT, _use, client2, kind, listed, token)
    expect_error(Code.INVALID_ARGUMENT, _use, client, "objects", listed, tokens["objects"], prefix=listed + "1")
    expect_error(Code.INVALID_ARGUMENT, _use, client, "objects", listed, tokens["objects"], delimiter="/")
    expect_error(Code.INVALID_ARGUMENT, _use, client, "versions", listed, tokens["versions"], name=f"{listed}1")
    expect_error(Code.INVALID_ARGUMENT, _use, client, "sessions", listed, tokens["sessions"], open_only=True)
    expect_error(Code.INVALID_ARGUMENT, _use, client, "versions", listed, tokens["objects"])
    expect_error(Code.INVALID_ARGUMENT, _use, client, "objects", listed, tokens["versions"])


def test_versions_token_of_a_deleted_object_is_not_found(client):
    name = ss.unique_name("tokens/gone")
    for _ in range(3):
        client.put_object(name, b"x", partition_size=4)
    token = client.list_versions(name, page_size=1).next_page_token
    client.delete_object(name)
    expect_error(Code.NOT_FOUND, client.list_versions, name, page_size=1, page_token=token)


def test_tokens_outlive_a_restart_and_a_second_instance(storage):
    srv = storage.server(label="sluiced-tokens")
    c = srv.client()
    for i in range(3):
        c.put_object(f"t/{i}", b"abc", partition_size=4)
    token = c.list_objects(prefix="t/", page_size=1).next_page_token
    other = storage.server(label="sluiced-tokens-2", database_url=srv.database_url, blobs=srv.blobs)
    assert [o.name for o in other.client().list_objects(prefix="t/", page_size=1, page_token=token).objects] == ["t/1"]
    srv.restart()
    assert [o.name for o in srv.client().list_objects(prefix="t/", page_size=1, page_token=token).objects] == ["t/1"]


def test_page_token_key_file(storage, tmp_path):
    short = tmp_path / "short.key"
    short.write_bytes(b"too short")
    srv = storage.server(label="sluiced-shortkey", page_token_key_file=str(short), start=False)
    with pytest.raises(AssertionError, match="32"):
        srv.start()
    key = tmp_path / "page.key"
    key.write_bytes(os.urandom(32))
    one = storage.server(label="sluiced-key-1", page_token_key_file=str(key))
    c = one.client()
    for i in range(3):
        c.put_object(f"k/{i}", b"abc", partition_size=4)
    token = c.list_objects(prefix="k/", page_size=1).next_page_token
    # Same key file, same database: accepted. The database's own key is another key.
    two = storage.server(label="sluiced-key-2", database_url=one.database_url, blobs=one.blobs,
                         page_token_key_file=str(key))
    assert [o.name for o in two.client().list_objects(prefix="k/", page_size=1, page_token=token).objects] == ["k/1"]
    three = storage.server(label="sluiced-key-3", database_url=one.database_url, blobs=one.blobs)
    expect_error(Code.INVALID_ARGUMENT, three.client().list_objects, prefix="k/", page_size=1, page_token=token)
