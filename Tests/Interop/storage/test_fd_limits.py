"""Running short of file descriptors under legitimate load is not an internal error:
sluiced raises its soft open-file limit to the hard limit at start (and logs it), and
bounds the staging files open at once (--max-open-staging-files, by default a quarter
of the limit), so that many concurrent uploads wait their turn and all succeed, even
when the hard limit is low."""

from __future__ import annotations

import os
import re
import socket
import time

import grpc
import pytest

import storage_support as ss
from storage_support import KIB, obj_pb, us_pb

pytestmark = ss.only_blob_stores("disk")   # the limit is sluiced's, whatever the store

PART = 16 * KIB


def _slow_partition(session_id: str, index: int, payload: bytes, pause: float):
    """An UploadPartition whose bytes arrive in two halves `pause` seconds apart, so
    that its staging file stays open meanwhile."""
    yield us_pb.UploadPartitionRequest(
        target=us_pb.PartitionTarget(session_id=session_id, partition_index=index))
    yield us_pb.UploadPartitionRequest(data=payload[:len(payload) // 2])
    time.sleep(pause)
    yield us_pb.UploadPartitionRequest(data=payload[len(payload) // 2:])


def _concurrent_uploads(srv, count: int, channels: int = 4, pause: float = 1.0):
    """`count` partitions of one session uploaded at once over `channels` connections;
    returns the failures as (index, code, details)."""
    clients = [srv.client() for _ in range(channels)]
    data = ss.random_bytes(count * PART, seed=count)
    s = clients[0].create_session(ss.unique_name("fd/obj"), data, PART)
    parts = ss.split(data, PART)
    futures = [
        clients[i % channels].sessions.UploadPartition.future(
            _slow_partition(s.session_id, i, parts[i], pause), timeout=120)
        for i in range(count)]
    failures = []
    for i, f in enumerate(futures):
        try:
            f.result()
        except grpc.RpcError as e:
            failures.append((i, e.code().name, e.details()))
    if not failures:
        clients[0].commit(s.session_id)
        ss.assert_same_bytes(clients[0].read(s.object_name), data, "the object uploaded at once")
    return failures


def _under_limit(storage, soft: int, hard: int, **options):
    storage.command = ["prlimit", f"--nofile={soft}:{hard}", *storage.command]
    return storage.server(label=f"sluiced-nofile-{soft}-{hard}", **options)


def test_soft_limit_is_raised_to_the_hard_limit(storage):
    srv = _under_limit(storage, 128, 4096)
    log = srv.mp.output()
    assert re.search(r'msg="open file limit".*soft=4096', log), log[-2000:]
    assert re.search(r"soft_before=128", log), log[-2000:]
    failures = _concurrent_uploads(srv, 300)
    assert not failures, f"{len(failures)} uploads failed: {failures[:5]}"
    srv.assert_alive()


def test_staging_files_wait_their_turn_under_a_low_hard_limit(storage):
    srv = _under_limit(storage, 256, 256)
    assert "max_open_staging_files=64" in srv.mp.output()
    failures = _concurrent_uploads(srv, 400)
    assert not failures, f"{len(failures)} uploads failed: {failures[:5]}"
    srv.assert_alive()


def test_the_staging_file_limit_is_a_flag(storage):
    srv = storage.server(label="sluiced-staging-flag", max_open_staging_files=3)
    assert "max_open_staging_files=3" in srv.mp.output()
    failures = _concurrent_uploads(srv, 12, channels=2, pause=0.3)
    assert not failures, failures


def test_one_principal_stalling_its_uploads_leaves_a_quarter_of_the_staging_files(storage):
    """With --max-open-staging-files 8, a principal whose uploads stall after their first bytes
    holds at most 6 staging files (all but a quarter): another principal's PutObject is served
    at once instead of waiting for the stalled calls to end, and the stalled principal's
    seventh and eighth uploads wait their turn without failing."""
    import threading
    srv = storage.server(label="sluiced-staging-share", max_open_staging_files=8)
    staller, other = srv.client("client"), srv.client("client2")
    release = threading.Event()
    payload = ss.random_bytes(PART, seed=8)

    def stalled(session_id: str):
        yield us_pb.UploadPartitionRequest(
            target=us_pb.PartitionTarget(session_id=session_id, partition_index=0))
        yield us_pb.UploadPartitionRequest(data=payload[:PART // 2])
        release.wait(60)
        yield us_pb.UploadPartitionRequest(data=payload[PART // 2:])

    sessions = [staller.create_session(ss.unique_name("share/stall"), payload, PART) for _ in range(8)]
    futures = [staller.sessions.UploadPartition.future(stalled(s.session_id), timeout=90) for s in sessions]
    try:
        time.sleep(1.5)   # the stalled calls take what they may
        # A deadline well short of the stalled calls' 60 s: the put must not wait for them.
        served = other.objects.PutObject(obj_pb.PutObjectRequest(
            name=ss.unique_name("share/other"), data=b"served", sha256=ss.sha(b"served")), timeout=20)
        assert served.size == len(b"served")
        assert all(not f.done() for f in futures), [f.exception() for f in futures if f.done()]
    finally:
        release.set()
    for f in futures:
        assert f.result().size == PART
    srv.assert_alive()


def test_a_staging_limit_past_the_descriptors_is_capped(storage):
    """Asked for more staging files than there are descriptors, sluiced keeps to a third of
    its open-file limit: running out is not survivable on Linux (libdispatch aborts the process
    when its worker monitor cannot open /proc files, as an earlier form of this test showed by
    crashing sluiced with SIGILL), so every upload waits its turn and succeeds instead."""
    srv = _under_limit(storage, 256, 256, max_open_staging_files=100_000)
    assert "max_open_staging_files=85" in srv.mp.output()
    # A long pause keeps as many staging files open at once as the server lets in.
    failures = _concurrent_uploads(srv, 400, pause=2.0)
    assert not failures, f"{len(failures)} uploads failed: {failures[:5]}"
    srv.assert_alive()



def test_connections_past_the_limit_are_closed_and_the_rest_keep_working(storage):
    """--max-connections (by default half the open-file limit): a connection past it is closed
    as soon as it is accepted, so no client can make sluiced run out of descriptors; the
    connections already open keep working, and a slot freed is taken by the next client."""
    srv = storage.server(label="sluiced-max-connections", max_connections=2)
    first, second = srv.client(), srv.client()
    for c in (first, second):
        c.put_object(ss.unique_name("conn/obj"), b"held")
    third = srv.client()
    with pytest.raises(grpc.RpcError) as refused:
        third.put_object(ss.unique_name("conn/obj"), b"refused")
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    first.put_object(ss.unique_name("conn/obj"), b"still served")
    first.channel.close()
    _serves_a_new_client(srv, "no connection was admitted after one closed")
    srv.assert_alive()


def _serves_a_new_client(srv, failure: str, within: float = 20) -> None:
    """Waits until a new connection's PutObject succeeds; fails with `failure` after `within` s."""
    deadline = time.monotonic() + within
    while True:
        client = srv.client()
        try:
            client.put_object(ss.unique_name("fd/again"), b"served again")
            return
        except grpc.RpcError:
            client.channel.close()
            assert time.monotonic() < deadline, failure
            time.sleep(0.2)


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accepting_pauses_instead_of_spinning_while_descriptors_run_out(storage):
    """With every descriptor taken (here by connections, --max-connections set past the limit),
    accept fails with EMFILE: the listener pauses a second at a time (logged) instead of calling
    accept again at once on a spinning core, and serves again once descriptors are free."""
    srv = _under_limit(storage, 128, 128, max_connections=1000)
    host, port = srv.address.rsplit(":", 1)
    held = []
    try:
        for _ in range(200):
            try:
                held.append(socket.create_connection((host, int(port)), timeout=2))
            except OSError:
                break
        time.sleep(1)
        pid = srv.mp.proc.pid
        before = _cpu_seconds(pid)
        time.sleep(3)
        busy = (_cpu_seconds(pid) - before) / 3
        assert busy < 0.3, f"sluiced used {busy:.2f} CPU-s/s while out of descriptors"
        assert "accepting failed for want of a resource" in srv.mp.output()
    finally:
        for sock in held:
            sock.close()
    _serves_a_new_client(srv, "sluiced did not serve again once descriptors were free")
    srv.assert_alive()
