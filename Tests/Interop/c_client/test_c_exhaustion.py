"""RESOURCE_EXHAUSTED is sorted by what it is about, alike in sluice-c and the Swift CLI: a
quota (trailer `sluice-exhausted: quota`) exits 8 with the hint to look at `sluice usage`, not
6 with "could not be reached", which would invite a script to retry it forever. (A message over
the server's size limit, which sluiced refuses with a negative `grpc-retry-pushback-ms`, is in
test_c_hostile_answers.py: sluiced's own limit cannot be set below what these clients send.)"""

from __future__ import annotations

import pytest

import c_support as cs
import cli_support
from servers import require_binary

EXIT_QUOTA = 8
TRANSIENT_HINT = "could not be reached"


@pytest.fixture(scope="module")
def small_quota(module_storage):
    return module_storage.server(label="sluiced-c-quota", quota_bytes=1000)


def clients(c_binaries, certs, tmp_path, address):
    c = cs.CClient(c_binaries[0], certs, str(tmp_path), address)
    swift = cli_support.CLI(require_binary("sluice"), certs, str(tmp_path / "swift-cli"), address)
    return c, swift


def test_a_quota_exits_8_in_both_clients(c_binaries, certs, small_quota, tmp_path):
    c, swift = clients(c_binaries, certs, tmp_path, small_quota.address)
    src = str(tmp_path / "src")
    cs.write_random(src, 5000)
    r = c.run("upload", src, "over/quota")
    cs.assert_error(r, EXIT_QUOTA, "RESOURCE_EXHAUSTED")
    assert "sluice usage" in r.stderr and TRANSIENT_HINT not in r.stderr, r.explain()
    s = swift.run("upload", src, "over/quota", "--retries", "1")
    swift.close()
    assert s.rc == EXIT_QUOTA and "sluice usage" in s.stderr, s.explain()
