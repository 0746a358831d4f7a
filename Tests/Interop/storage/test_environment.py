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
