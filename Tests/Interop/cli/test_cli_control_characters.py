"""Names are other people's data: anyone who can write into a folder shared with you names
its objects. Printed raw, an object name holding ESC [ … recolours or rewrites the reader's
terminal, and one holding a newline fakes listing lines. Every human-readable line of
`sluice` (ls, stat, sessions, share, shares, watch, the error line with the server's
message) shows control characters escaped (cli_support.HOSTILE_NAMES); JSON output stays
JSON, with the names exactly as stored."""

from __future__ import annotations

import json

import pytest

import cli_support as cs
from cli_support import HOSTILE_NAMES, assert_no_control_characters
from odd_server import OddServer

BOB = "sluice-client2"


@pytest.fixture
def folder(server) -> str:
    """A folder of objects with hostile names and metadata."""
    folder = cs.unique("esc") + "/"
    c = server.client()
    try:
        for name in HOSTILE_NAMES:
            c.put_object(folder + name, b"x", user_metadata={"note": "a\x1b]0;title\x07b"})
    finally:
        c.close()
    return folder


def test_ls_escapes_names(cli, folder):
    for args in (["ls", folder], ["ls", "-l", folder], ["ls", "-r", folder]):
        r = cli.ok(*args)
        assert_no_control_characters(r.stdout, " ".join(args))
        lines = r.out.splitlines()
        assert len(lines) == len(HOSTILE_NAMES), f"{args}: a name spans lines:\n{r.out}"
        for shown in HOSTILE_NAMES.values():
            assert any(line.endswith(folder + shown) for line in lines), f"{shown!r} not in:\n{r.out}"


def test_ls_escapes_prefixes(cli, server):
    parent = cs.unique("escp") + "/"
    c = server.client()
    try:
        c.put_object(parent + "clear\x1b[2J/inner", b"x")
    finally:
        c.close()
    for args in (["ls", parent], ["ls", "-l", parent]):
        r = cli.ok(*args)
        assert_no_control_characters(r.stdout, " ".join(args))
        assert r.out.rstrip("\n").endswith(parent + "clear\\x1b[2J/"), r.out


def test_stat_escapes_name_and_metadata(cli, folder):
    r = cli.ok("stat", folder + "red\x1b[31mRED\x1b[0m.txt")
    assert_no_control_characters(r.stdout, "stat")
    assert f"name: {folder}red\\x1b[31mRED\\x1b[0m.txt\n" in r.out, r.out
    assert "metadata: note=a\\x1b]0;title\\x07b\n" in r.out, r.out


def test_sessions_escape_object_names(cli, server):
    name = cs.unique("escs") + "/open\x1b[8m"
    c = server.client()
    try:
        c.create_session(name, b"x" * 10, 10)
    finally:
        c.close()
    r = cli.ok("sessions")
    assert_no_control_characters(r.stdout, "sessions")
    assert any(line.endswith(name.replace("\x1b", "\\x1b")) for line in r.out.splitlines()), r.out


def test_share_and_shares_escape_paths(cli, folder):
    cli.ok("whoami", who="client2")
    name = folder + "new\nline.txt"
    shared = cli.ok("share", name, BOB, "--read")
    assert_no_control_characters(shared.stdout, "share")
    assert f"{folder}new\\nline.txt" in shared.out, shared.out
    listed = cli.ok("shares", who="client2")
    assert_no_control_characters(listed.stdout, "shares")
    assert f"{folder}new\\nline.txt" in listed.out, listed.out
    grants = [json.loads(line) for line in cli.ok("shares", "--json", who="client2").out.splitlines()]
    assert name in [g["path"] for g in grants], grants


def test_watch_escapes_text_and_keeps_json(cli, server, tmp_path):
    c = server.client()
    cursor = c.list_objects(page_size=1).change_cursor
    prefix = cs.unique("escw") + "/"
    hostile = prefix + "csi\u009b31m\x1b[1A\n.txt"
    c.put_object(hostile, b"x")
    c.close()
    seen = {}
    for mode in ("text", "json"):
        cursor_file = str(tmp_path / f"{mode}.cursor")
        with open(cursor_file, "w") as f:
            f.write(cursor)
        watch = cli.start("watch", prefix, "--cursor-file", cursor_file, *(["--json"] if mode == "json" else []))
        try:
            watch.wait_for(lambda _: watch.lines, 60, "the change")
            watch.kill()
        finally:
            watch.close()
        seen[mode] = watch.lines
    assert len(seen["text"]) == 1, seen
    assert prefix + "csi\\u009b31m\\x1b[1A\\n.txt " in seen["text"][0], seen
    assert [json.loads(line)["name"] for line in seen["json"]] == [hostile], seen
    for lines in seen.values():
        assert_no_control_characters("\n".join(lines).encode(), "watch")


@pytest.fixture(scope="module")
def odd(certs):
    server = OddServer(certs).start()
    yield server
    server.stop()


def test_the_servers_message_is_escaped(cli_runner, odd):
    odd.mode = "status 5 gone%1B%5B2J%0Afake line %C2%9B"
    r = cli_runner.run("health", "--timeout", "5", address=odd.address, timeout=60).expect(cs.EXIT_NOT_FOUND)
    assert "gone\\x1b[2J\\nfake line \\u009b" in r.stderr, r.explain()
    assert "\nfake line" not in r.stderr, r.explain()
    assert_no_control_characters(r.stderr.encode(), "the error")
