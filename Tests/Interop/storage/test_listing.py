"""ListObjects: byte order of names, prefix and delimiter roll-ups, paging that
visits every entry exactly once, and its limits."""

from __future__ import annotations

import pytest

import storage_support as ss
from storage_support import Code, expect_error, sha

NAMES = ["a/1", "a/2", "a/b/3", "b/4", "c"]

# Names whose byte order differs from UTF-16 order (U+FF5A vs U+1F600) and from
# canonical-equivalence (NFC "é" vs NFD "e\u0301" are different byte strings, so
# different names: names are data).
UNICODE_NAMES = ["Z", "e", "e\u0301", "f", "z", "\u00e9", "\u00e9/x", "\u65e5\u672c",
                 "\u65e5\u672c/\u6771\u4eac", "\uff5a", "\U0001f600"]


def _bytes_order(names):
    return sorted(names, key=lambda n: n.encode("utf-8"))


@pytest.fixture(scope="module")
def tree(server):
    """The NAMES objects for `client`, the UNICODE_NAMES objects for `client2` (so
    each principal's listing is exactly its own set). name → bytes."""
    c, c2 = server.client("client"), server.client("client2")
    contents = {}
    for i, name in enumerate(NAMES):
        contents[name] = f"object {i}: {name}".encode()
        c.put_object(name, contents[name])
    unicode_contents = {}
    for i, name in enumerate(UNICODE_NAMES):
        unicode_contents[name] = f"unicode {i}".encode() * (i + 1)
        c2.put_object(name, unicode_contents[name])
    c.close()
    c2.close()
    return contents, unicode_contents


def _names(objects):
    return [o.name for o in objects]


def test_root_with_delimiter(tree, client):
    contents, _ = tree
    page = client.list_objects(prefix="", delimiter="/")
    assert _names(page.objects) == ["c"]
    assert list(page.common_prefixes) == ["a/", "b/"]
    assert page.next_page_token == ""
    [c] = page.objects
    assert (c.version, c.size, c.sha256, c.is_current) == (1, len(contents["c"]),
                                                           sha(contents["c"]), True)
    assert len(c.partitions) == 0, "listings leave partitions empty"
    assert c.partition_count == 1


def test_prefix_with_delimiter(tree, client):
    page = client.list_objects(prefix="a/", delimiter="/")
    assert _names(page.objects) == ["a/1", "a/2"]
    assert list(page.common_prefixes) == ["a/b/"]
    page = client.list_objects(prefix="a/b/", delimiter="/")
    assert _names(page.objects) == ["a/b/3"]
    assert list(page.common_prefixes) == []
    # a prefix that is not a "folder": the remainder after it is what rolls up
    page = client.list_objects(prefix="a", delimiter="/")
    assert _names(page.objects) == []
    assert list(page.common_prefixes) == ["a/"]


def test_no_delimiter_lists_everything_in_byte_order(tree, client):
    contents, _ = tree
    objects, prefixes = client.list_all()
    assert _names(objects) == NAMES
    assert prefixes == []
    for o in objects:
        assert (o.size, o.sha256, o.version, o.is_current) == \
            (len(contents[o.name]), sha(contents[o.name]), 1, True)
    assert _names(client.list_all(prefix="a")[0]) == ["a/1", "a/2", "a/b/3"]
    assert _names(client.list_all(prefix="a/b")[0]) == ["a/b/3"]
    assert _names(client.list_all(prefix="c")[0]) == ["c"]
    assert client.list_all(prefix="zzz") == ([], [])
    assert client.list_all(prefix="a/1/", delimiter="/") == ([], [])


@pytest.mark.parametrize("delimiter", ["", "/"])
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_paging_visits_each_entry_once(tree, client, delimiter, page_size):
    full = client.list_objects(delimiter=delimiter, page_size=1000)
    assert full.next_page_token == ""
    want = _bytes_order(_names(full.objects) + list(full.common_prefixes))
    seen, token, pages = [], "", 0
    for _ in range(50):
        page = client.list_objects(delimiter=delimiter, page_size=page_size, page_token=token)
        pages += 1
        entries = _names(page.objects) + list(page.common_prefixes)
        assert 0 < len(entries) <= page_size or (not entries and not page.next_page_token)
        seen += _bytes_order(entries)
        token = page.next_page_token
        if not token:
            break
    else:
        pytest.fail("paging did not end within 50 pages")
    assert seen == want, "every entry exactly once, in order across pages"
    assert pages >= -(-len(want) // page_size)


def test_paging_with_prefix(tree, client):
    seen, token = [], ""
    for _ in range(10):
        page = client.list_objects(prefix="a/", page_size=2, page_token=token)
        seen += _names(page.objects)
        token = page.next_page_token
        if not token:
            break
    assert seen == ["a/1", "a/2", "a/b/3"]


def test_page_size_zero_means_default(tree, client):
    page = client.list_objects(page_size=0)
    assert _names(page.objects) == NAMES and page.next_page_token == ""


def test_limits_and_bad_tokens(tree, client):
    client.list_objects(page_size=1000)
    expect_error(Code.INVALID_ARGUMENT, client.list_objects, page_size=1001)
    expect_error(Code.INVALID_ARGUMENT, client.list_objects, page_size=-1)
    expect_error(Code.INVALID_ARGUMENT, client.list_objects, page_token="not-a-token")
    expect_error(Code.INVALID_ARGUMENT, client.list_objects, page_token="\x00\xff")
    # a real token, tampered with
    token = client.list_objects(page_size=1).next_page_token
    assert token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    try:
        page = client.list_objects(page_size=1, page_token=tampered)
    except ss.grpc.RpcError as e:
        assert e.code() == Code.INVALID_ARGUMENT, e
    else:
        # a token that still decodes must still page within the caller's own objects
        assert set(_names(page.objects)) <= set(NAMES)
    expect_error(Code.INVALID_ARGUMENT, client.list_versions, "c", page_size=1001)
    expect_error(Code.INVALID_ARGUMENT, client.list_versions, "c", page_token="not-a-token")
    expect_error(Code.INVALID_ARGUMENT, client.list_sessions, page_size=1001)
    expect_error(Code.INVALID_ARGUMENT, client.list_sessions, page_token="not-a-token")


def test_unicode_names_sort_in_byte_order(tree, client2):
    _, contents = tree
    objects, prefixes = client2.list_all()
    assert _names(objects) == _bytes_order(UNICODE_NAMES)
    assert prefixes == []
    # NFC and NFD spellings are two objects with their own bytes
    for name in ("\u00e9", "e\u0301"):
        ss.assert_same_bytes(client2.read(name), contents[name], repr(name))
        assert client2.get_object(name).sha256 == sha(contents[name])
    page = client2.list_objects(delimiter="/")
    assert list(page.common_prefixes) == _bytes_order(["\u00e9/", "\u65e5\u672c/"])
    assert _names(page.objects) == _bytes_order(
        [n for n in UNICODE_NAMES if "/" not in n])
    page = client2.list_objects(prefix="\u65e5\u672c/", delimiter="/")
    assert _names(page.objects) == ["\u65e5\u672c/\u6771\u4eac"]
    assert _names(client2.list_all(prefix="\u00e9")[0]) == ["\u00e9", "\u00e9/x"]
    # paging through multi-byte names
    seen, token = [], ""
    for _ in range(30):
        page = client2.list_objects(page_size=2, page_token=token)
        seen += _names(page.objects)
        token = page.next_page_token
        if not token:
            break
    assert seen == _bytes_order(UNICODE_NAMES)


def test_paging_past_names_that_start_with_a_combining_mark(storage):
    """A page token resumes after any name, including one whose first character is a
    combining mark (it joins the token's kind byte into one grapheme; found by fuzzing)."""
    srv = storage.server()
    c = srv.client()
    names = ["\u0301a", "\u0301b/x", "\u0301c"]
    for name in names:
        c.put_object(name, name.encode())
    objects, prefixes = c.list_all(page_size=1)
    assert _names(objects) == names and prefixes == []
    objects, prefixes = c.list_all(delimiter="/", page_size=1)
    assert _names(objects) == ["\u0301a", "\u0301c"] and prefixes == ["\u0301b/"]


def test_listing_shows_current_versions(storage):
    """A listing shows each name once, at its current version."""
    srv = storage.server()
    c = srv.client()
    c.put_object("v", b"one")
    c.put_object("v", b"two!")
    c.put_object("w", b"w")
    objects, _ = c.list_all()
    assert [(o.name, o.version, o.size, o.is_current) for o in objects] == \
        [("v", 2, 4, True), ("w", 1, 1, True)]
    c.restore("v", 1)
    objects, _ = c.list_all()
    assert [(o.name, o.version, o.size, o.restored_from_version) for o in objects] == \
        [("v", 3, 3, 1), ("w", 1, 1, 0)]
    c.delete_object("w")
    assert _names(c.list_all()[0]) == ["v"]
