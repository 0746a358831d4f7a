"""Every sluiced flag can be set from the environment (SLUICED_<NAME>), the repeatable ones
too (one value per line), and a variable set to something its flag cannot take stops sluiced
naming it instead of leaving the default in force."""

from __future__ import annotations

import os
import subprocess

import pytest

import quota_support as qs
import storage_support as ss

CAROL_IDENTITY = "CN=sluice-workload;URI=spiffe://sluice.test/ns/a"


@ss.only_blob_stores("disk")   # configuration, whatever the store
def test_repeatable_flags_come_from_the_environment_one_per_line(storage):
    srv = storage.server(label="sluiced-env-lists", env={
        "SLUICED_ADMIN": f"CN=someone-else\n {qs.ALICE_IDENTITY} \n",
        "SLUICED_REGISTER_PRINCIPAL": f"carol={CAROL_IDENTITY}\n",
    })
    alice = qs.Caller(srv, "client")
    handles = {p.handle for p in alice.principals()}   # an administrator's call
    assert "carol" in handles, handles


@ss.only_blob_stores("disk")
def test_a_flag_on_the_command_line_wins_over_the_environment(storage):
    srv = storage.server(label="sluiced-env-flag-wins", admin="CN=someone-else",
                         env={"SLUICED_ADMIN": qs.ALICE_IDENTITY})
    alice = qs.Caller(srv, "client")
    with pytest.raises(Exception) as refused:
        alice.principals()
    assert refused.value.code() == ss.Code.PERMISSION_DENIED, refused.value


@pytest.mark.parametrize("variable, value", [
    ("SLUICED_QUOTA_BYTES", "10G"), ("SLUICED_BLOB_GRACE_PERIOD", "1h"), ("SLUICED_H2C", "maybe")])
def test_an_unreadable_variable_stops_sluiced_naming_it(sluiced_command, variable, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
    env[variable] = value
    proc = subprocess.run([*sluiced_command, "--h2c"], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode != 0
    assert f"{variable}='{value}'".encode() in proc.stdout, proc.stdout


@ss.only_blob_stores("disk")
def test_a_port_in_use_is_named_in_the_failure(storage):
    import socket
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        srv = storage.server(label="sluiced-port-in-use", start=False)
        proc = subprocess.run(srv.argv(port), env=srv.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    finally:
        held.close()
    assert proc.returncode != 0
    assert f"--listen: cannot listen on 127.0.0.1:{port}: Address already in use".encode() in proc.stdout, proc.stdout


TEN_YEARS = 10 * 365 * 86400
EXBIBYTE = 1 << 60


@ss.only_blob_stores("disk")
def test_every_numeric_flag_at_the_top_of_its_range_still_serves(storage):
    """Each numeric flag has a range, and its largest value works: timers, intervals,
    timestamps and retention windows of ten years, quotas and rates of an exbibyte."""
    srv = storage.server(
        label="sluiced-largest-flags",
        keepalive_interval=TEN_YEARS, idle_timeout=TEN_YEARS, preface_timeout=TEN_YEARS,
        stream_stall_timeout=TEN_YEARS, drain_timeout=TEN_YEARS, session_lifetime=TEN_YEARS,
        empty_session_lifetime=TEN_YEARS, session_retention=TEN_YEARS, change_retention=TEN_YEARS,
        change_watch_stall_timeout=TEN_YEARS, blob_grace_period=TEN_YEARS, collector_interval=TEN_YEARS,
        scrub_interval=TEN_YEARS, quota_bytes=EXBIBYTE, quota_objects=EXBIBYTE, rate_requests=EXBIBYTE,
        rate_bytes_in=EXBIBYTE, rate_bytes_out=EXBIBYTE, max_unread_request_bytes=EXBIBYTE,
        max_partitions=1_000_000, max_connections=1_000_000, max_calls_per_principal=1_000_000)
    client = srv.client("client")
    data = ss.random_bytes(300 * ss.KIB, seed=7)
    name = ss.unique_name("flags/largest")
    info = client.put_object(name, data, partition_size=128 * ss.KIB)
    assert info.size == len(data)
    ss.assert_same_bytes(client.read(name), data, "an upload under the largest flags")
    session = client.create_session(ss.unique_name("flags/open"), data, 128 * ss.KIB)
    assert session.expire_time.seconds > 0
    client.delete_object(name)
    srv.assert_alive()


@pytest.mark.parametrize("flag, value, refusal", [
    ("--quota-bytes", "-5", "--quota-bytes must be 0 to 1152921504606846976 bytes (0 means no limit), got -5"),
    ("--drain-timeout", "-1", "--drain-timeout must be 0 to 315360000 seconds"),
    ("--collector-interval", "9223372036854775807", "--collector-interval must be 1 to 315360000 seconds"),
    ("--session-retention", str(TEN_YEARS + 1), f"--session-retention must be 0 to 315360000 seconds, got {TEN_YEARS + 1}"),
    ("--database-pool-size", "100000", "--database-pool-size must be 1 to 1000, got 100000"),
    ("--max-concurrent-streams", "4294967296", "--max-concurrent-streams must be 1 to 2147483647"),
])
def test_a_numeric_flag_outside_its_range_stops_sluiced_naming_the_range(sluiced_command, flag, value, refusal):
    """A negative value is the flag's value, not another flag, and any value outside the
    flag's range (the same from its environment variable) stops sluiced at start-up with
    the range, instead of crashing later or failing every collector pass."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
    for argv, environment in (
            ([*sluiced_command, "--h2c", flag, value], env),
            ([*sluiced_command, "--h2c"], {**env, "SLUICED_" + flag[2:].upper().replace("-", "_"): value})):
        proc = subprocess.run(argv, env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert proc.returncode != 0
        assert refusal.encode() in proc.stdout, proc.stdout
