"""`sluice sync` of many small files, from the outside: what calls reach sluiced (its access
log, one line per call), and that files moved many at a time arrive whole on another device.

A small file (at most 4 MiB, one partition) goes up in one PutObject and comes down in one
ReadObject; an empty directory's marker is one PutObject up and no call down; the pass
lists the prefix once. The client's own count (the summary's `calls`) is the server's."""

from __future__ import annotations

import collections
import os
import random
import re
import shutil
import time

import grpc
import pytest

import cli_support as cs
import storage_support as ss
import sync_support as sy
from cli_support import MIB

CALL_LINE = re.compile(r"msg=(?:call|\"call failed\").* method=/[\w.]+/(\w+)")


def sync(cli, local, prefix, device):
    return cli.run("sync", local, prefix, "--device", device, "--json")


def summary(result) -> dict:
    return result.event("summary")


def _barrier(server, client) -> str:
    """Makes one call and waits (bounded) for its access-log line: every call answered
    before it has its line by then. Returns the call's request id."""
    request = ss.obj_pb.GetObjectRequest(name=ss.unique_name("sync-calls/barrier"))
    with pytest.raises(grpc.RpcError) as caught:
        client.objects.GetObject(request, timeout=30)
    metadata = caught.value.initial_metadata() or caught.value.trailing_metadata()
    request_id = next(v for k, v in metadata if k == "sluice-request-id")
    deadline = time.monotonic() + 10
    while f"request_id={request_id}" not in server.mp.output():
        assert time.monotonic() < deadline, f"no access-log line for {request_id}"
        time.sleep(0.05)
    return request_id


class CallCounter:
    """Calls by method name that the server logged between `start` and `stop`, barrier calls
    left out."""

    def __init__(self, server, client):
        self.server, self.client = server, client
        self.barriers: set[str] = set()

    def _counts(self) -> collections.Counter:
        counts = collections.Counter()
        for line in self.server.mp.output().splitlines():
            found = CALL_LINE.search(line)
            if found and not any(f"request_id={b}" in line for b in self.barriers):
                counts[found.group(1)] += 1
        return counts

    def start(self) -> None:
        self.barriers.add(_barrier(self.server, self.client))
        self.before = self._counts()

    def stop(self) -> collections.Counter:
        self.barriers.add(_barrier(self.server, self.client))
        after = self._counts()
        after.subtract(self.before)
        return +after


@pytest.fixture
def calls(server):
    client = server.client()
    return CallCounter(server, client)


def test_each_small_file_takes_one_call_each_way(cli, server, calls, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-calls") + "/"
    rng = random.Random(3)
    files = {f"d{i % 5}/f{i}.txt": os.urandom(rng.randint(1, 4096)) for i in range(40)}
    files["empty.txt"] = b""
    files["edge.bin"] = os.urandom(4 * MIB)           # the largest one-call file
    for rel, data in files.items():
        sy.write(a, rel, data)
    os.makedirs(os.path.join(a, "empty-dir"))

    calls.start()
    up = sync(cli, a, prefix, "A").expect(0)
    made = calls.stop()
    assert made == {"ListObjects": 1, "PutObject": len(files) + 1}, made   # + the directory marker
    assert summary(up)["uploaded"] == len(files) + 1, up.out
    assert summary(up)["calls"] == sum(made.values()), (summary(up), made)

    calls.start()
    down = sync(cli, b, prefix, "B").expect(0)
    made = calls.stop()
    assert made == {"ListObjects": 1, "ReadObject": len(files)}, made
    assert summary(down)["downloaded"] == len(files) + 1, down.out
    assert summary(down)["calls"] == sum(made.values()), (summary(down), made)
    assert sy.tree(a) == sy.tree(b)
    for rel, data in files.items():
        assert sy.read(b, rel) == data, rel

    # An edit is one call more each way; an unchanged tree is one listing.
    sy.write(b, "d1/f1.txt", b"edited on B")
    calls.start()
    assert summary(sync(cli, b, prefix, "B").expect(0))["uploaded"] == 1
    assert calls.stop() == {"ListObjects": 1, "PutObject": 1}
    calls.start()
    assert summary(sync(cli, a, prefix, "A").expect(0))["downloaded"] == 1
    assert calls.stop() == {"ListObjects": 1, "ReadObject": 1}
    assert sy.read(a, "d1/f1.txt") == b"edited on B"
    calls.start()
    again = summary(sync(cli, a, prefix, "A").expect(0))
    assert calls.stop() == {"ListObjects": 1} and again["calls"] == 1, again


def test_many_small_files_moved_at_once_arrive_whole(cli, server, tmp_path):
    """Hundreds of small files (and a few large ones beside them) move many at a time;
    another device gets every byte, and edits and deletions made there come back."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-many") + "/"
    rng = random.Random(7)
    for i in range(300):
        size = rng.choice([0, 1, rng.randint(2, 8192), rng.randint(8192, 300_000)])
        sy.write(a, f"t{i % 12}/s{i % 7}/f{i}.bin", os.urandom(size))
    sy.write(a, "large/just-over.bin", os.urandom(4 * MIB + 1))   # a session upload, beside them
    sy.write(a, "large/two-partitions.bin", os.urandom(9 * MIB))
    up = summary(sync(cli, a, prefix, "A").expect(0))
    assert up["uploaded"] == 302 and up["failed"] == 0, up
    down = summary(sync(cli, b, prefix, "B").expect(0))
    assert down["downloaded"] == 302 and down["failed"] == 0, down
    assert sy.tree(a) == sy.tree(b)

    for i in range(0, 300, 6):
        sy.write(b, f"t{i % 12}/s{i % 7}/f{i}.bin", f"edited {i}".encode())
    for i in range(3, 300, 30):
        os.remove(os.path.join(b, f"t{i % 12}/s{i % 7}/f{i}.bin"))
    shutil.rmtree(os.path.join(b, "large"))
    back = summary(sync(cli, b, prefix, "B").expect(0))
    assert back["uploaded"] == 50 and back["deleted_remote"] == 12, back
    sync(cli, a, prefix, "A").expect(0)
    assert sy.tree(a) == sy.tree(b)
    assert not os.path.exists(os.path.join(a, "large"))
    assert sy.read(a, "t6/s6/f6.bin") == b"edited 6"


def test_a_file_made_again_after_a_sync_deleted_it_is_no_conflict(cli, server, tmp_path):
    """The object a sync deleted keeps its versions (hidden, not current). Making the file
    again gives the object its next version: the hidden ones were no other device's news, so
    nothing comes back as a conflict copy."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    os.makedirs(b)
    prefix = cs.unique("sync-again") + "/"
    sy.write(a, "notes.txt", b"first")
    sy.write(a, "big.bin", os.urandom(5 * MIB))
    sync(cli, a, prefix, "A").expect(0)
    sync(cli, b, prefix, "B").expect(0)
    os.remove(os.path.join(a, "notes.txt"))
    os.remove(os.path.join(a, "big.bin"))
    sync(cli, a, prefix, "A").expect(0)
    sync(cli, b, prefix, "B").expect(0)
    assert sorted(os.listdir(b)) == []

    sy.write(a, "notes.txt", b"second life")
    sy.write(a, "big.bin", os.urandom(5 * MIB + 7))
    again = sync(cli, a, prefix, "A").expect(0)
    assert not [e for e in again.events if e["event"] == "conflict"], again.out
    assert sorted(os.listdir(a)) == ["big.bin", "notes.txt"]
    sync(cli, b, prefix, "B").expect(0)
    assert sy.tree(a) == sy.tree(b)
    assert sy.read(b, "notes.txt") == b"second life"
