"""Downloads of small partitions read runs of them: one ReadPartition call with
partition_count for consecutive partitions, split and checked one partition at a time
by the CLI. Through a grpcio proxy in front of sluiced that counts the calls, and that
can play a server older than partition_count (it clears the field, so each call reads
one partition): the CLI then goes on call after call, and the file is the same."""

from __future__ import annotations

import os

import pytest

import cli_support as cs
from cli_support import KIB
from read_proxy import proxy_factory  # noqa: F401 (a fixture)

PSIZE = 64 * KIB
COUNT = 20


@pytest.fixture
def stored(cli, tmp_path):
    data = os.urandom(COUNT * PSIZE - 1000)
    source = cs.write_file(str(tmp_path / "source"), data)
    name = cs.unique("runs/small")
    cli.ok("upload", source, name, "--partition-size", "64KiB")
    return name, data


def _download(cli_runner, address: str, name: str, data: bytes, parallel: int, tmp_path) -> cs.Result:
    """Downloads `name` through the proxy at `address` and checks the file is `data`."""
    target = tmp_path / "out.bin"
    r = cli_runner.run("download", name, str(target), "--parallel", str(parallel), "--json",
                       address=address).expect(0)
    assert target.read_bytes() == data, "the downloaded file differs"
    return r


def test_small_partitions_download_in_runs(cli_runner, proxy_factory, stored, tmp_path):
    name, data = stored
    address, proxy = proxy_factory(older=False)
    r = _download(cli_runner, address, name, data, 2, tmp_path)
    # Two calls keep two streams busy: 10 partitions each, every partition reported verified once.
    assert sorted(proxy.reads) == [(0, 10), (10, 10)], proxy.reads
    assert sorted(cs.completed_partitions(r.events)) == list(range(COUNT))


def test_a_server_reading_one_partition_per_call_still_serves_the_download(
        cli_runner, proxy_factory, stored, tmp_path):
    name, data = stored
    address, proxy = proxy_factory(older=True)
    r = _download(cli_runner, address, name, data, 1, tmp_path)
    # Each call brought one partition; the next asked for the rest of the run.
    assert proxy.reads == [(i, COUNT - i) for i in range(COUNT - 1)] + [(COUNT - 1, 0)], proxy.reads
    completed = cs.completed_partitions(r.events)
    assert completed == list(range(COUNT)), completed
    assert not [e for e in r.events if e.get("event") in ("retrying", "partition_restarted")], r.events


@pytest.fixture
def stored_large(cli, tmp_path):
    """An object of eight 2 MiB partitions (each sent as two 1 MiB messages), and its bytes."""
    data = os.urandom(8 * 2 * 1024 * KIB - 3)
    source = cs.write_file(str(tmp_path / "source"), data)
    name = cs.unique("runs/large")
    cli.ok("upload", source, name, "--partition-size", "2MiB")
    return name, data


def test_a_run_ending_inside_a_partition_refetches_that_partition_alone(
        cli_runner, proxy_factory, stored_large, tmp_path):
    """A call that ends with OK half-way through a partition is a server's fault: the whole
    partitions before it count, the half one is reported restarted and fetched on its own
    (which checks it again), and the run goes on after it."""
    name, data = stored_large
    address, proxy = proxy_factory(older=False)
    proxy.endings = [3]
    r = _download(cli_runner, address, name, data, 1, tmp_path)
    assert proxy.reads == [(0, 4), (1, 0), (2, 2), (4, 4)], proxy.reads
    restarted = [(e["partition"], e["discarded_bytes"]) for e in r.events if e.get("event") == "partition_restarted"]
    assert restarted == [(1, 1024 * KIB)], r.events
    assert sorted(cs.completed_partitions(r.events)) == list(range(8))


def test_a_run_cut_short_goes_on_from_the_first_partition_it_lacks(
        cli_runner, proxy_factory, stored_large, tmp_path):
    """A run call that ends with UNAVAILABLE after some partitions arrived whole keeps them:
    the next call asks for the rest at once (no backoff: the call made progress), and the
    partition caught half-way is reported restarted and fetched whole. A cut before any
    partition arrived is retried after a backoff, as any failed call."""
    name, data = stored_large
    address, proxy = proxy_factory(older=False)
    # Three messages are one partition and a half.
    proxy.cuts = [3, 0]
    r = _download(cli_runner, address, name, data, 1, tmp_path)
    assert proxy.reads == [(0, 4), (1, 3), (1, 3), (4, 4)], proxy.reads
    completed = cs.completed_partitions(r.events)
    assert sorted(completed) == list(range(8)) and len(completed) == 8, completed
    restarted = [e for e in r.events if e.get("event") == "partition_restarted"]
    assert [(e["partition"], e["discarded_bytes"]) for e in restarted] == [(1, 1024 * KIB)], restarted
    retries = [e for e in r.events if e.get("event") == "retrying"]
    assert len(retries) == 1 and "partitions 1 to 3" in retries[0]["operation"], retries


def _stream(cli_runner, address: str, name: str, data: bytes, parallel: int, tmp_path) -> None:
    """Streams `name` to standard output through the proxy at `address`; checks it is `data`."""
    out = tmp_path / "stdout.bin"
    cli_runner.run("download", name, "--stdout", "--parallel", str(parallel), address=address,
                   stdout_path=str(out)).expect(0)
    assert out.read_bytes() == data, "what --stdout wrote differs"


def test_a_stream_reads_runs_of_at_most_one_mebibyte(cli_runner, proxy_factory, stored, tmp_path):
    """--stdout holds each run in memory until its turn: its runs stop at 1 MiB (sixteen
    64 KiB partitions), where a download to a file reads all twenty in one call."""
    name, data = stored
    address, proxy = proxy_factory(older=False)
    _stream(cli_runner, address, name, data, 1, tmp_path)
    assert proxy.reads == [(0, 16), (16, 4)], proxy.reads


def test_a_stream_run_cut_short_goes_on_from_the_first_partition_it_lacks(
        cli_runner, proxy_factory, stored, tmp_path):
    """A run cut after three whole partitions keeps them in memory and asks for the rest,
    which land after them: the stream is the object, byte for byte."""
    name, data = stored
    address, proxy = proxy_factory(older=False)
    proxy.cuts = [3]
    _stream(cli_runner, address, name, data, 1, tmp_path)
    assert proxy.reads == [(0, 16), (3, 13), (16, 4)], proxy.reads


def test_a_stream_from_a_server_reading_one_partition_per_call(cli_runner, proxy_factory, stored, tmp_path):
    name, data = stored
    address, proxy = proxy_factory(older=True)
    _stream(cli_runner, address, name, data, 2, tmp_path)
    assert len(proxy.reads) == COUNT, proxy.reads
