"""The clients walk pages that end early: with user metadata at its limits, a ListObjects page
ends at 1 MiB of items (PageBudget) long before page_size 1000, and sluice-c's `ls` and the
Swift CLI's `ls`, `versions` and `sessions list` still print every entry exactly once, in order,
by following next_page_token."""

from __future__ import annotations

import hashlib

import storage_support as ss
from sluice.v1 import objects_pb2 as obj_pb

COUNT = 30          # about 74 KB each: more than two pages


def huge_metadata(seed: int) -> dict[str, str]:
    """64 entries of 128-byte keys and 1 KiB values: the most an item may carry."""
    return {f"{seed:04d}-{i:02d}".ljust(128, "k"): "v" * 1024 for i in range(64)}


def put(c, name: str, data: bytes, metadata: dict[str, str]):
    return c.objects.PutObject(obj_pb.PutObjectRequest(
        name=name, data=data, sha256=hashlib.sha256(data).digest(), user_metadata=metadata), timeout=ss.TIMEOUT)


def test_listings_of_early_ended_pages_print_everything(sluice_c, swift_cli, server):
    c = server.client()
    prefix = ss.unique_name("paging") + "/"
    names = [f"{prefix}{i:03d}" for i in range(COUNT)]
    for i, name in enumerate(names):
        put(c, name, b"%d" % i, huge_metadata(i))
    first = c.list_objects(prefix, "", 1000)
    assert first.next_page_token and len(first.objects) < COUNT, "the server ends the page early"

    assert sluice_c.ok("ls", "-r", prefix).stdout.split() == names
    assert swift_cli.run("ls", "-r", prefix).expect(0).stdout.decode().split() == names

    for i in range(COUNT):
        put(c, names[0], b"again %d" % i, huge_metadata(i))
    versions = swift_cli.run("versions", names[0]).expect(0).stdout.decode().splitlines()
    assert len(versions) == COUNT + 1, versions[:3]

    made = [c.create_raw(object_name=f"{prefix}session-{i}", total_size=1, partition_size=1,
                         partition_sha256=[hashlib.sha256(b"s").digest()],
                         user_metadata=huge_metadata(i)).session_id for i in range(16)]
    try:
        printed = swift_cli.run("sessions", "list", "--open").expect(0).stdout.decode()
        assert all(printed.count(session_id) == 1 for session_id in made), printed[:500]
    finally:
        for session_id in made:
            c.abort(session_id)
