"""Every failure of sluice-c prints `sluice-c: error: STATUS: message` and exits with the
code the Swift `sluice` CLI gives the same failure (README, "Command-line client"):
2 usage / INVALID_ARGUMENT, 3 not found, 4 TLS refused / UNAUTHENTICATED /
PERMISSION_DENIED, 5 DATA_LOSS, 6 UNAVAILABLE."""

from __future__ import annotations

import os

import pytest

import c_support as cs
import interop_support as sup
import storage_support as ss


def test_unknown_object_is_not_found(sluice_c, swift_cli, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    r = sluice_c.run("download", "no/such/object", str(target / "out"))
    cs.assert_error(r, cs.EXIT_NOT_FOUND, "NOT_FOUND")
    assert not list(target.iterdir()), "a file was left behind"
    assert swift_cli.run("download", "no/such/object", str(tmp_path / "o2")).rc == r.rc


def test_download_into_a_missing_directory_is_a_local_error(sluice_c, swift_cli, tmp_path):
    """A missing local directory is a local error (exit 1), not a missing object (3)."""
    name = ss.unique_name("c-nodir")
    src = str(tmp_path / "src")
    cs.write_random(src, 100)
    sluice_c.ok("upload", src, name)
    target = str(tmp_path / "no-such-dir" / "out")
    r = sluice_c.run("download", name, target)
    cs.assert_error(r, 1, "UNKNOWN")
    assert str(tmp_path / "no-such-dir") in r.stderr, r.explain()
    assert swift_cli.run("download", name, target).rc == r.rc


def test_missing_local_file_is_not_found(sluice_c, tmp_path):
    r = sluice_c.run("upload", str(tmp_path / "absent"), "x")
    cs.assert_error(r, cs.EXIT_NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize("who,ca", [("other-client", "ca.pem"), (None, "ca.pem"),
                                    ("client", "other-ca.pem")],
                         ids=["client-cert-of-another-ca", "no-client-cert", "server-not-trusted"])
def test_refused_tls_is_denied(sluice_c, swift_cli, who, ca):
    r = sluice_c.run("ls", who=who, ca=ca)
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "TLS failed" in r.stderr, r.explain()
    flags = swift_cli.flags(who=who, ca=ca)
    assert swift_cli.run("ls", *flags, connect=False).rc == cs.EXIT_DENIED


@pytest.mark.parametrize("flag", ["--ca", "--cert", "--key"])
def test_a_missing_certificate_or_key_file_is_not_found_in_words(sluice_c, tmp_path, flag):
    """As in the Swift CLI: a --ca, --cert or --key file that does not exist is a local file not
    found (exit 3), said with the flag that named it, not OpenSSL's error chain."""
    missing = str(tmp_path / "nope.pem")
    argv = sluice_c.argv(["ls"])
    argv[argv.index(flag) + 1] = missing
    r = sluice_c.run(*argv[1:], raw=True)
    assert r.rc == cs.EXIT_NOT_FOUND and f"cannot read {flag} {missing}: No such file or directory" in r.stderr, \
        r.explain()


def test_server_name_is_the_name_the_certificate_must_carry(sluice_c):
    """--server-name, as in the Swift CLI: the connection goes to --server (here 127.0.0.1), and
    the server's certificate must carry this name instead; one it does not carry is refused and
    pointed at --server/--server-name, not at the client's own certificates."""
    r = sluice_c.run("health", "--server-name", "elsewhere.example")
    cs.assert_error(r, cs.EXIT_DENIED, "UNAVAILABLE")
    assert "--server-name" in r.stderr and "--cert/--key" not in r.stderr, r.explain()
    assert sluice_c.ok("health", "--server-name", "localhost").stdout.strip() == "SERVING"


def test_certificate_naming_nobody_is_unauthenticated(sluice_c):
    cs.assert_error(sluice_c.run("ls", who="nobody"), cs.EXIT_DENIED, "UNAUTHENTICATED")


def test_write_with_a_read_grant_is_permission_denied(sluice_c, swift_cli, tmp_path):
    folder = ss.unique_name("c-shared") + "/"
    src = str(tmp_path / "src")
    data = cs.write_random(src, 1000)
    sluice_c.ok("upload", src, folder + "plan.txt")
    swift_cli.ok("whoami", who="client2")            # the grantee is known once it has called
    swift_cli.ok("share", folder, "sluice-client2", "--read")

    out = str(tmp_path / "granted")
    sluice_c.ok("download", folder + "plan.txt", out, "--owner", "sluice-client", who="client2")
    assert cs.read(out) == data
    r = sluice_c.run("upload", src, folder + "new.txt", "--owner", "sluice-client", who="client2")
    cs.assert_error(r, cs.EXIT_DENIED, "PERMISSION_DENIED")


def test_only_certificate_failures_get_the_certificate_hint(sluice_c, swift_cli, tmp_path):
    """The hint to check --cert/--key/--ca follows a refused handshake and UNAUTHENTICATED,
    never PERMISSION_DENIED (what the principal may do; the server's message says what)."""
    hint = "check --cert/--key"
    for who, ca in (("other-client", "ca.pem"), ("nobody", "ca.pem"), ("client", "other-ca.pem")):
        r = sluice_c.run("ls", who=who, ca=ca).expect(cs.EXIT_DENIED)
        assert hint in r.stderr, r.explain()
    folder = ss.unique_name("c-hint") + "/"
    src = str(tmp_path / "src")
    cs.write_random(src, 100)
    sluice_c.ok("upload", src, folder + "plan.txt")
    swift_cli.ok("whoami", who="client2")
    swift_cli.ok("share", folder, "sluice-client2", "--read")
    r = sluice_c.run("upload", src, folder + "new.txt", "--owner", "sluice-client", who="client2")
    cs.assert_error(r, cs.EXIT_DENIED, "PERMISSION_DENIED")
    assert hint not in r.stderr, r.explain()


def test_server_down_is_transient(sluice_c, swift_cli):
    address = f"127.0.0.1:{sup.free_port()}"
    r = sluice_c.run("health", address=address)
    cs.assert_error(r, cs.EXIT_TRANSIENT, "UNAVAILABLE")
    assert swift_cli.run("health", address=address).rc == cs.EXIT_TRANSIENT


@pytest.mark.parametrize("args", [
    ["bogus"], ["upload", "only-one"], ["download"], ["ls", "a", "b"], ["--parallel", "0", "ls"],
    ["--partition-size", "65MiB", "ls"], ["--partition-size", "lots", "ls"], ["--frobnicate", "ls"],
], ids=lambda a: " ".join(a))
def test_bad_arguments_are_usage_errors(sluice_c, args):
    cs.assert_error(sluice_c.run(*args), cs.EXIT_USAGE, "INVALID_ARGUMENT")


def test_argument_the_server_refuses_is_a_usage_error(sluice_c, tmp_path):
    src = str(tmp_path / "src")
    cs.write_random(src, 10)
    r = sluice_c.run("upload", src, "n" * 1025)
    cs.assert_error(r, cs.EXIT_USAGE, "INVALID_ARGUMENT")


def test_damaged_partition_is_an_integrity_failure(sluice_c, server, postgres, tmp_path):
    """A stored partition overwritten behind sluiced's back: sluice-c reads unchecked by the
    server (it hashes every byte itself), finds the mismatch, reads the partition again with the
    server checking it, which records the damage and answers DATA_LOSS; nothing is written to
    the target."""
    name = ss.unique_name("c-damaged")
    parts = [b"a" * 300_000, b"b" * 300_000]
    server.client().put_object(name, b"".join(parts), partition_size=300_000)
    paths = server.blobs.inventory()[ss.hexsha(parts[1])]
    for path in paths:
        with open(path, "r+b") as f:
            f.seek(1000)
            f.write(b"X")
    out = tmp_path / "out"
    # One call per partition, and both in one call (partition_count): DATA_LOSS at the second.
    for parallel in ("4", "1"):
        r = sluice_c.run("download", name, str(out), "--parallel", parallel)
        cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
        assert "partition 1" in r.stderr and "damaged in storage" in r.stderr, r.explain()
        assert not out.exists()
    found = postgres.run(f"SELECT detected_by FROM damaged_blobs WHERE encode(sha256, 'hex') = "
                         f"'{ss.hexsha(parts[1])}'", url=server.database_url).split()
    assert found == ["read"], found


def test_a_target_name_as_long_as_a_file_name_may_be_downloads(sluice_c, swift_cli, tmp_path):
    """The temporary file beside a 250-byte target name still fits NAME_MAX (shortened), so a
    legal name can be downloaded, by either client."""
    name = ss.unique_name("c-longname")
    src = str(tmp_path / "src")
    cs.write_random(src, 100_000)
    sluice_c.ok("upload", src, name)
    out = tmp_path / "out"
    out.mkdir()
    for client, letter in ((sluice_c, "C"), (swift_cli, "S")):
        target = str(out / (letter * 250))
        client.ok("download", name, target)
        with open(src, "rb") as a, open(target, "rb") as b:
            assert a.read() == b.read()
    assert sorted(os.listdir(out)) == ["C" * 250, "S" * 250]
