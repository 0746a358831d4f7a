"""sluice-c prints object names and the server's messages with control characters escaped,
as the Swift CLI does (cli/test_cli_control_characters.py): a name is other people's data,
and raw it could rewrite the reader's terminal or fake listing lines."""

from __future__ import annotations

import pytest

import c_support as cs
import storage_support as ss
from cli_support import HOSTILE_NAMES, assert_no_control_characters
from odd_server import OddServer


def test_ls_escapes_names(sluice_c, server):
    folder = ss.unique_name("c-esc") + "/"
    c = server.client()
    try:
        for name in HOSTILE_NAMES:
            c.put_object(folder + name, b"x")
        c.put_object(folder + "dir\x1b[2J/inner", b"x")
    finally:
        c.close()
    for args in (["ls", folder], ["ls", "-l", folder], ["ls", "-r", folder]):
        r = sluice_c.ok(*args)
        assert_no_control_characters(r.stdout.replace("\t", " ").encode(), "sluice-c " + " ".join(args))
        lines = r.stdout.splitlines()
        assert len(lines) == len(HOSTILE_NAMES) + 1, f"{args}: a name spans lines:\n{r.stdout}"
        for shown in HOSTILE_NAMES.values():
            assert any(line.endswith(folder + shown) for line in lines), f"{shown!r} not in:\n{r.stdout}"
        inner = "dir\\x1b[2J/inner" if "-r" in args else "dir\\x1b[2J/"
        assert any(line.endswith(folder + inner) for line in lines), r.stdout


@pytest.fixture(scope="module")
def odd(certs):
    server = OddServer(certs).start()
    yield server
    server.stop()


def test_the_servers_message_is_escaped(c_binaries, certs, odd, tmp_path):
    client = cs.CClient(c_binaries[0], certs, str(tmp_path), odd.address)
    odd.mode = "status 5 gone%1B%5B2J%0Afake line %C2%9B"
    r = client.run("health")
    cs.assert_error(r, cs.EXIT_NOT_FOUND, "NOT_FOUND")
    assert "gone\\x1b[2J\\nfake line \\u009b" in r.stderr, r.explain()
    assert "\nfake line" not in r.stderr, r.explain()
    assert_no_control_characters(r.stderr.encode(), "the error")
