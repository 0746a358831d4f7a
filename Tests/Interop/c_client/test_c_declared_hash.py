"""A version whose uploader declared a whole-object SHA-256 its bytes do not have
(SHA256_STATE_MISMATCH): sluice-c refuses to download it, as the Swift CLI does (exit 5,
nothing written), and `ls -l` flags it with `MISMATCH:` where the hash goes, as
`sluice ls -l` does. Its partitions are sound, so only the declared-hash state tells."""

from __future__ import annotations

import os

import c_support as cs
import storage_support as ss

PSIZE = 16 * 1024


def _mismatched_object(server, postgres) -> tuple[str, bytes]:
    """Commits an object whose session declared the SHA-256 of other bytes, the commit coming
    before the server knew the whole hash, so that it proves wrong afterwards."""
    data = os.urandom(3 * PSIZE)
    name = ss.unique_name("c-mismatch") + "/b.bin"
    c = server.client()
    try:
        ss.mismatched_version(c, postgres, server, name, data, PSIZE)
    finally:
        c.close()
    return name, data


def test_download_of_a_mismatched_version_is_refused_like_the_swift_cli(sluice_c, swift_cli, server, postgres, tmp_path):
    name, data = _mismatched_object(server, postgres)
    target = tmp_path / "target"
    target.mkdir()
    r = sluice_c.run("download", name, str(target / "out"))
    cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert "declared" in r.stderr and ss.hexsha(data) in r.stderr, r.explain()
    assert not list(target.iterdir()), f"a refused download left {list(target.iterdir())}"
    assert swift_cli.run("download", name, str(tmp_path / "swift-out")).rc == r.rc


def test_long_listing_flags_a_mismatched_version(sluice_c, swift_cli, server, postgres):
    name, data = _mismatched_object(server, postgres)
    folder = name.rsplit("/", 1)[0] + "/"
    line = next(l for l in sluice_c.ok("ls", "-l", "-r", folder).stdout.splitlines() if l.endswith("\t" + name))
    size, version, digest, _ = line.split("\t")
    assert (size, version) == (str(len(data)), "1"), line
    assert digest == "MISMATCH:" + ss.hexsha(data), line
    swift = next(l for l in swift_cli.ok("ls", "-l", "-r", folder).out.splitlines() if l.endswith(" " + name))
    assert "MISMATCH:" in swift, swift
