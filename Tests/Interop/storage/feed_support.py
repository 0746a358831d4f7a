"""Helpers for the change feed tests: a watcher that reads a WatchChanges stream on a
thread of its own, and the database's own record of the change log (through psql)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Optional

import grpc

import storage_support as ss
from sluice.v1 import changes_pb2 as ch_pb
from sluice.v1 import changes_pb2_grpc as ch_grpc

Kind = ch_pb.ChangeKind
VERSION_CREATED, OBJECT_DELETED = Kind.CHANGE_KIND_VERSION_CREATED, Kind.CHANGE_KIND_OBJECT_DELETED
GRANT_ADDED, GRANT_REVOKED = Kind.CHANGE_KIND_GRANT_ADDED, Kind.CHANGE_KIND_GRANT_REVOKED


def position(cursor: str) -> int:
    assert cursor.startswith("c1."), cursor
    return int(cursor[3:])


def changes_stub(client: ss.StorageClient) -> ch_grpc.ChangeServiceStub:
    return ch_grpc.ChangeServiceStub(client.channel)


class Watcher:
    """One WatchChanges call read on a background thread into a queue of Change
    messages; `cursor` is the last cursor received (from a change or a heartbeat)."""

    def __init__(self, client: ss.StorageClient, cursor: str = "", owner: str = "",
                 prefix: str = ""):
        self.cursor = cursor
        self.events: "queue.Queue" = queue.Queue()
        self.error: Optional[grpc.RpcError] = None
        self.responses = 0
        self.call = changes_stub(client).WatchChanges(
            ch_pb.WatchChangesRequest(cursor=cursor, owner=owner, prefix=prefix), timeout=300)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for response in self.call:
                self.responses += 1
                for change in response.changes:
                    self.events.put(change)
                self.cursor = response.cursor
        except grpc.RpcError as e:
            self.error = e

    def take(self, count: int, timeout: float = 20.0) -> list:
        """The next `count` changes; fails if they do not all arrive within `timeout`."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {count} changes within {timeout}s "
                                     f"(error: {self.error})")
            try:
                out.append(self.events.get(timeout=min(left, 0.5)))
            except queue.Empty:
                if self.error is not None and self.events.empty():
                    raise AssertionError(f"the watch ended after {len(out)} of {count}: {self.error}")
        return out

    def quiet(self, seconds: float = 1.0) -> list:
        """Whatever arrives within `seconds` (expected: nothing)."""
        out, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                out.append(self.events.get(timeout=0.1))
            except queue.Empty:
                pass
        return out

    def cancel(self) -> None:
        self.call.cancel()
        self.thread.join(10)


def logged(postgres, server, after: int = 0) -> list[tuple[int, str, str, int]]:
    """The change log as the database records it: (position, kind, name, version)."""
    text = postgres.run(
        f"SELECT position, kind, name, coalesce(version, 0) FROM changes WHERE position > {after} "
        "ORDER BY position", url=server.database_url)
    rows = []
    for line in text.splitlines():
        pos, kind, name, version = line.split("|")
        rows.append((int(pos), kind, name, int(version)))
    return rows


KIND_NAMES = {VERSION_CREATED: "version_created", OBJECT_DELETED: "object_deleted",
              GRANT_ADDED: "grant_added", GRANT_REVOKED: "grant_revoked"}


def as_rows(changes) -> list[tuple[int, str, str, int]]:
    return [(position(c.cursor), KIND_NAMES[c.kind], c.name, c.version) for c in changes]
