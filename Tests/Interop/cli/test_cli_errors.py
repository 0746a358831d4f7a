"""Failures and their exit codes: 2 usage, 3 not found, 4 authentication or
permission, 6 transient out of retries — each with a message a person can read (no
Swift values dumped), and quickly."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

import cli_support as cs
import interop_support as sup


@pytest.fixture
def small_object(cli, tmp_path) -> tuple[str, bytes]:
    data = os.urandom(1000)
    src = cs.write_file(str(tmp_path / "small"), data)
    name = cs.unique("errors/obj")
    cli.ok("upload", src, name)
    return name, data


# --------------------------------------------------------------------------
# 2: usage
# --------------------------------------------------------------------------

USAGE = [
    ("unknown-command", ["frobnicate"]),
    ("unknown-flag", ["ls", "--no-such-flag"]),
    ("upload-no-arguments", ["upload"]),
    ("upload-no-remote", ["upload", "{file}"]),
    ("parallel-zero", ["upload", "{file}", "x", "--parallel", "0"]),
    ("parallel-word", ["upload", "{file}", "x", "--parallel", "many"]),
    ("retries-negative", ["download", "x", "{tmp}/out", "--retries", "-1"]),
    ("partition-size-too-big", ["upload", "{file}", "x", "--partition-size", "65MiB"]),
    ("partition-size-zero", ["upload", "{file}", "x", "--partition-size", "0"]),
    ("partition-size-word", ["upload", "{file}", "x", "--partition-size", "lots"]),
    ("download-no-local", ["download", "x"]),
    ("download-local-and-stdout", ["download", "x", "{tmp}/out", "--stdout"]),
    ("stdout-and-json", ["download", "x", "--stdout", "--json"]),
    ("restore-version-zero", ["restore", "x", "0"]),
    ("restore-version-word", ["restore", "x", "latest"]),
    ("server-not-host-port", ["stat", "x", "--server", "nonsense"]),
    ("cert-without-key", ["stat", "x", "--server", "127.0.0.1:1", "--cert", "{certs}/client.pem"]),
    ("config-unknown-key", ["stat", "x", "--config", "{tmp}/bad.conf"]),
    ("config-missing", ["stat", "x", "--config", "{tmp}/no-such.conf"]),
    ("parallel-negative", ["upload", "{file}", "x", "--parallel", "-3"]),
    ("usage-days-negative", ["usage", "--days", "-1"]),
    ("admin-usage-days-negative", ["admin", "usage", "bob", "--days", "-4"]),
    ("admin-usage-days-too-many", ["admin", "usage", "bob", "--days", "91"]),
    ("health-timeout-negative", ["health", "--timeout", "-1"]),
    ("whoami-timeout-zero", ["whoami", "--timeout", "0"]),
    ("upload-fifo-without-writer", ["upload", "{tmp}/fifo", "x"]),
    ("rm-if-version-negative", ["rm", "x", "--if-version", "-1"]),
    ("restore-if-version-negative", ["restore", "x", "1", "--if-version", "-2"]),
]


@pytest.mark.parametrize("args", [a for _, a in USAGE], ids=[i for i, _ in USAGE])
def test_usage_errors_exit_2(cli_runner, tmp_path, args):
    cli = cli_runner
    f = cs.write_file(str(tmp_path / "file"), b"data")
    (tmp_path / "bad.conf").write_text("server = 127.0.0.1:1\ncolour = blue\n")
    os.mkfifo(tmp_path / "fifo")   # nobody writes to it: opening it must not hang the upload
    argv = [a.format(file=f, tmp=str(tmp_path), certs=cli.certs.dir) for a in args]
    started = time.monotonic()
    r = cli.run(*argv, connect=False, timeout=30).expect(cs.EXIT_USAGE)
    assert time.monotonic() - started < 20
    cs.assert_human_message(r.stderr, "the usage error")
    assert "Missing value" not in r.stderr, r.explain()
    assert r.out.strip() == "", f"a usage error printed on stdout:\n{r.out}"
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.parametrize("args,usage", [
    (["admin", "limits", "bob", "--set", "bogus=1"], "Usage: sluice admin limits"),
    (["stat", "x", "--server", "127.0.0.1:1", "--cert", "{certs}/client.pem"], "Usage: sluice stat"),
], ids=["admin-limits-bad-set", "cert-without-key"])
def test_usage_errors_found_when_running_show_the_subcommands_usage(cli_runner, args, usage):
    args = [a.format(certs=cli_runner.certs.dir) for a in args]
    r = cli_runner.run(*args, connect=False).expect(cs.EXIT_USAGE)
    assert usage in r.stderr and "<subcommand>" not in r.stderr, r.explain()


def test_server_refused_argument_exits_2(cli):
    r = cli.run("stat", "").expect(cs.EXIT_USAGE)          # an empty object name: INVALID_ARGUMENT
    cs.assert_human_message(r.stderr)


def test_whoami_without_certificate_exits_2(cli):
    r = cli.run("whoami", who=None).expect(cs.EXIT_USAGE)
    cs.assert_human_message(r.stderr)


@pytest.mark.parametrize("last", ["..", ".", "n" * 256])
def test_an_object_whose_last_part_cannot_name_a_file_is_not_fetched_into_a_directory(cli, tmp_path, last):
    # ".." would have put the temporary files outside the directory given; each of these was
    # fetched whole before the rename failed, and its temporary files stayed.
    name = cs.unique("errors/odd") + "/" + last
    cli.ok("upload", cs.write_file(str(tmp_path / "src"), b"bytes"), name)
    into = tmp_path / "into"
    into.mkdir()
    before = sorted(os.listdir(tmp_path))
    r = cli.run("download", name, str(into)).expect(cs.EXIT_USAGE)
    cs.assert_human_message(r.stderr)
    assert os.listdir(into) == [] and sorted(os.listdir(tmp_path)) == before
    cli.ok("download", name, str(into / "chosen"))               # a file named by the user is fine
    assert (into / "chosen").read_bytes() == b"bytes"


# --------------------------------------------------------------------------
# 3: not found
# --------------------------------------------------------------------------

def test_download_of_missing_object_exits_3(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    name = cs.unique("errors/missing")
    r = cli.run("download", name, str(out / "file")).expect(cs.EXIT_NOT_FOUND)
    cs.assert_human_message(r.stderr)
    assert name in r.stderr, r.stderr
    assert os.listdir(out) == [], f"a failed download left files: {os.listdir(out)}"
    stdout_file = str(tmp_path / "stdout")
    r = cli.run("download", name, "--stdout", stdout_path=stdout_file).expect(cs.EXIT_NOT_FOUND)
    assert os.path.getsize(stdout_file) == 0


@pytest.mark.parametrize("args", [
    ["stat", "{missing}"],
    ["versions", "{missing}"],
    ["rm", "{missing}"],
    ["restore", "{missing}", "1"],
    ["restore", "{name}", "99"],
    ["stat", "{name}", "--version", "99"],
    ["download", "{name}", "{tmp}/v99", "--version", "99"],
    ["upload", "{tmp}/no-such-file", "{missing}"],
    ["sessions", "abort", "{session}"],
], ids=["stat", "versions", "rm", "restore-object", "restore-version", "stat-version",
        "download-version", "upload-local-file", "sessions-abort"])
def test_not_found_exits_3(cli, small_object, tmp_path, args):
    name, _ = small_object
    argv = [a.format(missing=cs.unique("errors/missing"), name=name, tmp=str(tmp_path),
                     session=os.urandom(16).hex()) for a in args]
    r = cli.run(*argv).expect(cs.EXIT_NOT_FOUND)
    cs.assert_human_message(r.stderr)


@pytest.mark.parametrize("flag", ["--ca", "--cert", "--key"])
def test_a_missing_certificate_or_key_file_is_not_found_in_words(cli_runner, tmp_path, flag):
    """A --ca, --cert or --key file that does not exist is a local file not found (exit 3), said
    in words with the flag that named it, not OpenSSL's error chain (exit 1)."""
    missing = str(tmp_path / "nope.pem")
    flags = {"--ca": cli_runner.certs.path("ca.pem"), "--cert": cli_runner.certs.path("client.pem"),
             "--key": cli_runner.certs.path("client-key.pem")} | {flag: missing}
    r = cli_runner.run("health", "--server", "127.0.0.1:1", *[x for pair in flags.items() for x in pair],
                       connect=False).expect(cs.EXIT_NOT_FOUND)
    assert f"cannot read {flag} {missing}: No such file or directory" in r.stderr, r.explain()
    assert "error:" not in r.stderr.replace("sluice: error:", ""), r.explain()


def test_download_into_a_missing_directory_is_a_local_error(cli, small_object, tmp_path):
    """The object exists; the local directory does not: a local error (exit 1), not the
    not-found of a missing object (3)."""
    name, _ = small_object
    target = str(tmp_path / "no-such-dir" / "file")
    r = cli.run("download", name, target).expect(cs.EXIT_OTHER)
    assert str(tmp_path / "no-such-dir") in r.stderr, r.explain()
    cs.assert_human_message(r.stderr)


def test_another_principals_object_is_not_found(cli, small_object, tmp_path):
    name, _ = small_object
    cli.run("stat", name, who="client2").expect(cs.EXIT_NOT_FOUND)
    cli.run("download", name, str(tmp_path / "x"), who="client2").expect(cs.EXIT_NOT_FOUND)
    cli.run("rm", name, who="client2").expect(cs.EXIT_NOT_FOUND)
    cli.ok("stat", name)                                   # still there for its owner


# --------------------------------------------------------------------------
# 4: authentication
# --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["other-client", "expired-client", None],
                         ids=["untrusted-ca", "expired", "no-certificate"])
@pytest.mark.parametrize("command", ["stat", "download", "upload", "ls", "health"])
def test_refused_client_certificate_exits_4(cli, small_object, tmp_path, who, command):
    name, _ = small_object
    src = cs.write_file(str(tmp_path / "up"), b"bytes")
    args = {
        "stat": ["stat", name],
        "download": ["download", name, str(tmp_path / "down"), "--retries", "1"],
        "upload": ["upload", src, cs.unique("errors/denied"), "--retries", "1"],
        "ls": ["ls"],
        "health": ["health"],
    }[command]
    started = time.monotonic()
    r = cli.run(*args, who=who, timeout=60).expect(cs.EXIT_DENIED)
    assert time.monotonic() - started < 30, "a refused certificate was retried as if transient"
    cs.assert_human_message(r.stderr)
    assert not os.path.exists(tmp_path / "down")


def test_whoami_with_refused_certificate_exits_4(cli):
    r = cli.run("whoami", who="other-client").expect(cs.EXIT_DENIED)
    assert "CN=sluice-other-client" in r.out, r.out        # it still says who it tried as
    cs.assert_human_message(r.stderr)


def test_untrusted_server_exits_4(cli, small_object):
    """The client does not trust the server's CA."""
    name, _ = small_object
    cert, key = cli.certs.client("client")
    r = cli.run("stat", name, "--server", cli.address, "--ca", cli.certs.path("other-ca.pem"),
                "--cert", cert, "--key", key, connect=False, timeout=60).expect(cs.EXIT_DENIED)
    cs.assert_human_message(r.stderr)


# The certificate hint follows only failures about the certificate or the TLS handshake;
# PERMISSION_DENIED is about what the principal may do, and the server's message says what.
TLS_HINT = "check --cert/--key"



def test_a_server_certificate_for_another_name_points_at_the_address(cli, small_object):
    """The server's certificate is trusted but names other hosts: exit 4, with the hint to
    check the address (--server / --server-name), not the certificates."""
    name, _ = small_object
    r = cli.run("stat", name, "--server-name", "elsewhere.example", timeout=60).expect(cs.EXIT_DENIED)
    assert "--server-name" in r.stderr and "--cert/--key" not in r.stderr, r.explain()


def test_plaintext_to_a_tls_server_says_why_it_was_closed(cli):
    """`--plaintext` against sluiced's TLS port: the server closes the connection without a
    word; the message says that a TLS server does so."""
    r = cli.run("health", "--plaintext", timeout=60)
    assert r.rc == cs.EXIT_TRANSIENT and "speaks TLS" in r.stderr, r.explain()


@pytest.mark.parametrize("who", ["other-client", "nobody"], ids=["tls-refused", "unauthenticated"])
def test_certificate_failures_get_the_certificate_hint(cli, who):
    r = cli.run("ls", who=who, timeout=60).expect(cs.EXIT_DENIED)
    assert TLS_HINT in r.stderr, r.explain()


def test_permission_denied_gets_no_certificate_hint(cli, tmp_path):
    cli.ok("whoami", who="client2")
    folder = cs.unique("errors/readonly") + "/"
    src = cs.write_file(str(tmp_path / "src"), b"plan")
    cli.ok("upload", src, folder + "plan.txt")
    cli.ok("share", folder, "sluice-client2", "--read")
    denied = [
        cli.run("upload", src, folder + "plan.txt", "--owner", "sluice-client", who="client2", timeout=60),
        cli.run("rm", folder + "plan.txt", "--owner", "sluice-client", who="client2", timeout=60),
        cli.run("admin", "principals", who="client2", timeout=60),
    ]
    for r in denied:
        r.expect(cs.EXIT_DENIED)
        assert "PERMISSION_DENIED" in r.stderr, r.explain()
        assert TLS_HINT not in r.stderr, r.explain()
        cs.assert_human_message(r.stderr)


# --------------------------------------------------------------------------
# 6: transient, out of retries
# --------------------------------------------------------------------------

def _closed_port() -> int:
    """A port nobody listens on (bound and released; nothing here binds it again)."""
    return sup.free_port()


@pytest.mark.parametrize("command", ["download", "upload", "health"])
def test_nobody_listening_exits_6_quickly(cli_runner, tmp_path, command):
    cli = cli_runner
    address = f"127.0.0.1:{_closed_port()}"
    src = cs.write_file(str(tmp_path / "up"), b"bytes")
    args = {
        "download": ["download", "x", str(tmp_path / "down"), "--retries", "1"],
        "upload": ["upload", src, "x", "--retries", "1"],
        "health": ["health"],
    }[command]
    started = time.monotonic()
    r = cli.run(*args, address=address, timeout=60).expect(cs.EXIT_TRANSIENT)
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"took {elapsed:.1f}s to give up with --retries 1"
    assert not os.path.exists(tmp_path / "down")
    assert address in r.stderr, f"the message does not name the server:\n{r.stderr}"


# Every command whose calls are retried takes --retries (README, "Command-line client"); with
# nobody listening, --retries 1 gives up after one retry.
RETRYING = [
    ["ls"], ["stat", "x"], ["versions", "x"], ["sessions"], ["sessions", "list"],
    ["sessions", "abort", "0" * 32], ["shares"], ["usage"], ["admin", "principals"],
    ["admin", "usage", "bob"], ["watch", "--cursor-file", "{tmp}/cursor"],
    ["download", "x", "{tmp}/down"], ["upload", "{tmp}/up", "x"],
]


@pytest.mark.parametrize("args", RETRYING, ids=[" ".join(a[:2]) for a in RETRYING])
def test_commands_that_retry_take_retries(cli_runner, tmp_path, args):
    cs.write_file(str(tmp_path / "up"), b"bytes")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    address = f"127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    r = cli_runner.run(*args, "--retries", "1", address=address, timeout=60).expect(cs.EXIT_TRANSIENT)
    assert time.monotonic() - started < 15, r.explain()
    cs.assert_human_message(r.stderr)


def test_connection_refused_message_is_readable(cli_runner, tmp_path):
    address = f"127.0.0.1:{_closed_port()}"
    r = cli_runner.run("download", "x", str(tmp_path / "down"), "--retries", "0",
                       address=address, timeout=60).expect(cs.EXIT_TRANSIENT)
    cs.assert_human_message(r.stderr, "the connection error")


def test_retries_are_reported_then_exit_6(cli_runner, tmp_path):
    cli = cli_runner
    address = f"127.0.0.1:{_closed_port()}"
    r = cli.run("download", "x", str(tmp_path / "down"), "--retries", "2", "--json",
                address=address, timeout=60).expect(cs.EXIT_TRANSIENT)
    retries = [e for e in r.events if e.get("event") == "retrying"]
    assert [e["retry"] for e in retries] == [1, 2], r.out
    failed = r.event("failed")
    assert failed["exit_code"] == cs.EXIT_TRANSIENT, failed
    r0 = cli.run("download", "x", str(tmp_path / "down"), "--retries", "0", "--json",
                 address=address, timeout=60).expect(cs.EXIT_TRANSIENT)
    assert not [e for e in r0.events if e.get("event") == "retrying"], r0.out


@pytest.fixture
def silent_listener():
    """A TCP listener on 127.0.0.1 that accepts connections and never says a word."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = lsock.accept()
                accepted.append(c)
            except socket.timeout:
                continue
            except OSError:
                return

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"127.0.0.1:{lsock.getsockname()[1]}"
    stop.set()
    t.join(5)
    lsock.close()
    for c in accepted:
        c.close()


def test_silent_server_exits_6_in_bounded_time(cli_runner, tmp_path, silent_listener):
    """A peer that accepts TCP but never answers the TLS handshake must not hang the CLI."""
    started = time.monotonic()
    r = cli_runner.run("download", "x", str(tmp_path / "down"), "--retries", "0",
                       address=silent_listener, timeout=90).expect(cs.EXIT_TRANSIENT)
    assert time.monotonic() - started < 60
    cs.assert_human_message(r.stderr)
    r = cli_runner.run("health", "--timeout", "2", address=silent_listener,
                       timeout=90).expect(cs.EXIT_TRANSIENT)
    cs.assert_human_message(r.stderr)


# --------------------------------------------------------------------------
# A reader that went away
# --------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["upload", "download", "watch"])
def test_output_whose_reader_is_gone_ends_the_command_with_exit_1(cli, tmp_path, command):
    """`sluice … | head -1`: once standard output and error are pipes nobody reads, the next
    line the command writes ends it with exit 1, as a broken pipe ends other tools (it used to
    die of a Swift runtime trap, exit 132, with a backtrace); an upload cut short resumes."""
    src = str(tmp_path / "big")
    cs.write_random_file(src, 64 * cs.MIB)
    name = cs.unique("errors/reader-gone")
    if command != "upload":
        cli.ok("upload", src, name)
    args = {
        "upload": ["upload", src, name, "--parallel", "1", "--partition-size", "1MiB"],
        "download": ["download", name, str(tmp_path / "back"), "--parallel", "1"],
        "watch": ["watch", name],
    }[command]
    read_end, write_end = os.pipe()
    os.close(read_end)
    import subprocess
    proc = subprocess.Popen(cli._argv(args, True, "client", None), env=cli.env(), stdin=subprocess.DEVNULL,
                            stdout=write_end, stderr=write_end, start_new_session=True)
    os.close(write_end)
    if command == "watch":
        time.sleep(1)
        cli.ok("upload", cs.write_file(str(tmp_path / "next"), b"a change to watch"), name)
    assert proc.wait(120) == 1, f"{command} with nobody reading its output ended with {proc.returncode}"
    if command == "upload":
        cli.ok("upload", src, name)
