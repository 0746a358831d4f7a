"""`sluice whoami` shows the principal sluiced makes of the certificate, under each
--principal-from mapping, and says when a mapping finds no identity in it."""

from __future__ import annotations

import os

import pytest


def _need(cli, *stems):
    for stem in stems:
        if not os.path.isfile(cli.certs.path(f"{stem}.pem")):
            pytest.skip(f"{stem}.pem is missing: run scripts/make-certs.sh")


def test_whoami_shows_the_principal(cli):
    _need(cli, "spiffe-a")
    out = cli.ok("whoami", who="spiffe-a").stdout.decode()
    assert "principal (--principal-from subject+sans) (the server's default): " \
           "CN=sluice-workload;URI=spiffe://sluice.test/ns/a" in out, out
    assert "principal (--principal-from san-uri): spiffe://sluice.test/ns/a" in out, out
    assert "principal (--principal-from san-dns): none:" in out, out


def test_whoami_of_a_certificate_that_names_nobody(cli):
    _need(cli, "nobody")
    r = cli.run("whoami", who="nobody")
    out = r.stdout.decode()
    assert "principal (--principal-from subject+sans) (the server's default): none:" in out, r.explain()
