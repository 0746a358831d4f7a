"""`sluice usage`, `sluice admin …`, and how the CLI meets quotas and rate limits:
the single retry policy waits the server's grpc-retry-pushback-ms and then succeeds;
a quota refusal is not retried and exits 8 with the server's numbers. alice
(certs/client) is the server's administrator, bob (certs/client2) is not."""

from __future__ import annotations

import json
import re
import grpc
import pytest

import cli_support as cs
import quota_support as qs
import storage_support as ss
from sluice.v1 import upload_sessions_pb2 as us_pb
from cli_support import EXIT_DENIED

EXIT_QUOTA = 8
ALICE, BOB = "sluice-client", "sluice-client2"


@pytest.fixture(scope="module")
def qserver(module_storage):
    return module_storage.server(label="sluiced-cli-quotas", admin=qs.ALICE_IDENTITY)


@pytest.fixture
def qcli(cli_runner, qserver) -> cs.CLI:
    qserver.assert_alive()
    cli_runner.address = qserver.address
    return cli_runner


def test_usage_and_admin_commands(qcli, tmp_path):
    src = str(tmp_path / "src")
    cs.write_file(src, b"x" * 5000)
    qcli.ok("upload", src, "photos/one", who="client2")
    qcli.ok("upload", src, "photos/one", who="client2")
    usage = json.loads(qcli.ok("usage", "--json", "--days", "2", who="client2").out)
    assert usage["handle"] == BOB
    assert usage["logical_bytes"] == 10000 and usage["physical_bytes"] == 5000
    assert usage["objects"] == 1 and usage["versions"] == 2
    assert usage["prefixes"] == [{"prefix": "photos/", "logical_bytes": 10000, "objects": 1, "versions": 2}]
    assert len(usage["traffic"]) == 2 and usage["traffic"][-1]["uploaded_bytes"] >= 10000
    text = qcli.ok("usage", who="client2").out
    assert "logical bytes:  10000" in text and "physical bytes: 5000" in text, text

    # admin commands: refused to bob (exit 4), done for alice
    for args in (["principals"], ["usage", BOB], ["limits", BOB, "--set", "quota-bytes=1"],
                 ["disable", BOB], ["enable", BOB], ["register", "ivy", "CN=ivy"], ["abort-sessions", BOB]):
        r = qcli.run("admin", *args, who="client2").expect(EXIT_DENIED)
        assert "not an administrator" in r.stderr, r.stderr
    qcli.ok("admin", "register", "ivy", "CN=ivy")
    listed = [json.loads(line) for line in qcli.ok("admin", "principals", "--json").out.splitlines()]
    assert {"ivy", ALICE, BOB} <= {p["handle"] for p in listed}
    assert json.loads(qcli.ok("admin", "usage", BOB, "--json").out)["versions"] == 2
    limited = json.loads(qcli.ok("admin", "limits", BOB, "--set", "quota-bytes=12000", "--json").out)
    assert limited["overrides"] == {"quota-bytes": 12000} and limited["quotas"]["bytes"] == 12000

    # a quota refusal: exit 8, the server's numbers, no retries (it returns at once)
    r = qcli.run("upload", src, "photos/two", who="client2").expect(EXIT_QUOTA)
    assert "byte quota" in r.stderr and "12000" in r.stderr and "10000" in r.stderr, r.stderr
    cs.assert_human_message(r.stderr)
    qcli.ok("admin", "limits", BOB, "--clear", "quota-bytes")
    qcli.ok("upload", src, "photos/two", who="client2")

    # disable / enable
    assert "disabled" in qcli.ok("admin", "disable", BOB).out
    r = qcli.run("ls", who="client2").expect(EXIT_DENIED)
    assert "disabled" in r.stderr, r.stderr
    qcli.ok("admin", "enable", BOB)
    assert "photos/one" in qcli.ok("ls", "-r", who="client2").out


def test_admin_abort_sessions_frees_a_principals_open_sessions(qcli, qserver):
    bob = qserver.client("client2")
    data = ss.random_bytes(3000, seed=5)
    opened = [bob.create_session(ss.unique_name("stuck"), data, 1000) for _ in range(2)]
    out = qcli.ok("admin", "abort-sessions", BOB).out
    assert f"aborted 2 upload sessions of {BOB}" in out, out
    assert all(bob.get_session(s.session_id).state == us_pb.UploadSession.ABORTED for s in opened)
    assert "aborted 0 upload sessions" in qcli.ok("admin", "abort-sessions", BOB).out


def test_usage_says_which_open_sessions_grantees_opened(qcli, qserver):
    # bob's session into alice's folder is behind her reserved bytes, so her usage counts it,
    # and says it is his: his session quota counts it, hers does not.
    folder = ss.unique_name("team") + "/"
    qcli.ok("share", folder, BOB, "--write")
    bob = qserver.client("client2")
    data = ss.random_bytes(3000, seed=6)
    opened = bob.create_raw(
        object_name=folder + "draft", total_size=len(data), partition_size=1000, owner=ALICE,
        partition_sha256=[ss.sha(p) for p in ss.split(data, 1000)])
    try:
        mine = json.loads(qcli.ok("usage", "--json").out)
        assert mine["grantee_open_sessions"] == 1 and mine["open_sessions"] >= 1, mine
        assert "(1 of them opened by grantees, counted by their session quotas)" in qcli.ok("usage").out
        his = json.loads(qcli.ok("usage", "--json", who="client2").out)
        assert his["grantee_open_sessions"] == 0 and his["open_sessions"] >= 1, his
    finally:
        bob.sessions.AbortSession(us_pb.AbortSessionRequest(session_id=opened.session_id), timeout=ss.TIMEOUT)
    assert json.loads(qcli.ok("usage", "--json").out)["grantee_open_sessions"] == 0


def test_cli_waits_the_pushback_then_succeeds(qcli, qserver, tmp_path):
    alice = qs.Caller(qserver, "client")
    carol = qs.Caller(qserver, "shared-a")
    alice.limits(carol.handle, {qs.RATE_REQUESTS: 4})
    # 12 partitions, 4 at once, at 4 calls per second (one second of burst): some calls
    # must be refused, and each refused call is retried after the server's pushback
    src = str(tmp_path / "src")
    data = ss.random_bytes(12 * 1024, seed=5)
    cs.write_file(src, data)
    r = qcli.ok("upload", src, "paced/file", "--partition-size", "1024", "--json", who="shared-a")
    retries = [e for e in r.events if e.get("event") == "retrying"]
    assert retries, "no call was refused at 4 calls per second"
    for e in retries:
        # the wait is exactly the server's pushback (named in its message), not a backoff
        found = re.search(r"request rate limit exceeded: 4 calls per second; try again in (\d+) ms", e["error"])
        assert found, e
        assert abs(e["delay_seconds"] - int(found.group(1)) / 1000) < 1e-6, e
    dst = str(tmp_path / "dst")
    qcli.ok("download", "paced/file", dst, who="shared-a")
    with open(dst, "rb") as f:
        ss.assert_same_bytes(f.read(), data)
    alice.limits(carol.handle, {}, clear=[qs.RATE_REQUESTS])
