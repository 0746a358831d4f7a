"""--server takes HOST:PORT, and also https://HOST:PORT (what people paste from a
browser or a config of another tool): the scheme is not taken for part of a host
name. Any other scheme, a path, or user information is a usage error (exit 2) that
shows the expected form, and no connection is attempted."""

from __future__ import annotations

import os

import pytest

import cli_support as cs


def test_https_scheme_is_accepted(cli, tmp_path):
    data = os.urandom(3000)
    src = cs.write_file(str(tmp_path / "src"), data)
    name = cs.unique("url/obj")
    cli.ok("upload", src, name, address=f"https://{cli.address}")
    out = str(tmp_path / "out")
    cli.ok("download", name, out, address=f"HTTPS://{cli.address}/")
    with open(out, "rb") as f:
        assert f.read() == data
    cli.ok("ls", address=f"https://{cli.address}")


@pytest.mark.parametrize("form", [
    "http://{a}", "grpc://{a}", "ftp://{a}", "https://{a}/v1/objects", "https://user@{a}",
    "{a}/path", "https://{a}?x=1",
])
def test_other_forms_are_usage_errors(cli, form):
    server = form.format(a=cli.address)
    r = cli.run("ls", address=server, timeout=30).expect(2)
    assert "HOST:PORT" in r.stderr, r.explain()
    assert server in r.stderr, r.explain()
    lowered = r.stderr.lower()
    assert "resolve" not in lowered and "dns" not in lowered, r.explain()


def test_server_from_the_environment_is_checked_too(cli, tmp_path):
    r = cli.run("ls", connect=False, env={
        "SLUICE_SERVER": f"http://{cli.address}", "SLUICE_CA": cli.certs.path("ca.pem"),
        "SLUICE_CERT": cli.certs.client("client")[0], "SLUICE_KEY": cli.certs.client("client")[1],
    }, timeout=30).expect(2)
    assert "HOST:PORT" in r.stderr, r.explain()
