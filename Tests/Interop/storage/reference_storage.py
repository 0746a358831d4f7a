"""A reference implementation of the sluice.v1 storage services on Python grpcio,
for validating the storage tests themselves (as reference_server.py does for the
echo tests). Not a product: metadata lives in SQLite, bytes in files named by
their SHA-256 under --blobs, and the collector is a simple thread.

It takes sluiced's command line (what the tests use of it), so the storage
fixtures can run it instead of sluiced:

  SLUICE_STORAGE_REFERENCE=1 pytest Tests/Interop/storage

Known difference: grpcio cannot request a client certificate without requiring
one, so without --require-client-cert it never asks for one, and the half of
test_without_client_certificate_storage_is_unauthenticated that uses a
certificate fails against this server.

--database is accepted and ignored: the metadata goes to <blobs dir>.sqlite, so two
instances given the same --blobs share it, and a restart finds it again.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from typing import Optional

import grpc
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health, health_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storage_support as ss  # noqa: E402
from storage_support import info_pb, obj_grpc, obj_pb, part_grpc, part_pb, us_grpc, us_pb  # noqa: E402

SESSION_ID = re.compile(r"[0-9a-f]{32}")
READ_CHUNK = 256 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, principal TEXT NOT NULL,
    name BLOB NOT NULL, total INTEGER NOT NULL, psize INTEGER NOT NULL, hashes BLOB NOT NULL,
    object_sha BLOB NOT NULL, content_type TEXT NOT NULL, meta TEXT NOT NULL, state TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL, committed_version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS session_parts (
    sid TEXT NOT NULL, idx INTEGER NOT NULL, size INTEGER NOT NULL, sha BLOB NOT NULL,
    PRIMARY KEY (sid, idx));
CREATE TABLE IF NOT EXISTS objects (
    principal TEXT NOT NULL, name BLOB NOT NULL, current INTEGER NOT NULL, next INTEGER NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (principal, name));
CREATE TABLE IF NOT EXISTS versions (
    principal TEXT NOT NULL, name BLOB NOT NULL, version INTEGER NOT NULL, size INTEGER NOT NULL,
    sha BLOB NOT NULL, content_type TEXT NOT NULL, meta TEXT NOT NULL, psize INTEGER NOT NULL,
    hashes BLOB NOT NULL, committed REAL NOT NULL, restored_from INTEGER NOT NULL,
    PRIMARY KEY (principal, name, version));
"""


class Refusal(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def refuse(code, message):
    raise Refusal(code, message)


def receive_partition(requests, index: int, size: int, digest: bytes, write, flush=lambda: None) -> None:
    """Passes the data messages of an UploadPartition to `write`, then calls `flush`; refuses
    bytes that do not match the declared size and SHA-256."""
    h, received = hashlib.sha256(), 0
    for msg in requests:
        if msg.WhichOneof("message") != "data":
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "only the first message is a target")
        received += len(msg.data)
        if received > size:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, f"partition {index} is {size} bytes")
        h.update(msg.data)
        write(msg.data)
    flush()
    if received != size:
        refuse(grpc.StatusCode.INVALID_ARGUMENT, f"partition {index} is {size} bytes; {received} were sent")
    if h.digest() != digest:
        refuse(grpc.StatusCode.DATA_LOSS, f"partition {index} does not match its SHA-256")


def ts(t: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromNanoseconds(int(t * 1e9))
    return out


def split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i:i + 32] for i in range(0, len(blob), 32)]


class Store:
    def __init__(self, args):
        self.args = args
        root = args.blobs[len("file://"):]
        self.root = root.rstrip("/")
        self.blobs = os.path.join(self.root, "blobs")
        self.staging = os.path.join(self.root, "staging")
        os.makedirs(self.blobs, exist_ok=True)
        os.makedirs(self.staging, exist_ok=True)
        self.db_path = self.root + ".sqlite"
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def tx(self, body):
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = body(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result
        finally:
            db.close()

    # --- blobs ----------------------------------------------------------------

    def scope(self, principal: str) -> str:
        return hashlib.sha256(principal.encode()).hexdigest()[:16]

    def blob_path(self, principal: str, digest: bytes) -> str:
        return os.path.join(self.blobs, self.scope(principal), digest.hex())

    # --- sessions -------------------------------------------------------------

    def state_of(self, row) -> str:
        state = row["state"]
        if state == "open" and time.time() >= row["expires"]:
            return "expired"
        return state

    def session_row(self, db, sid: str, principal: str):
        if not SESSION_ID.fullmatch(sid):
            refuse(grpc.StatusCode.INVALID_ARGUMENT, f"session_id {sid[:40]!r} is not 32 hex digits")
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM sessions WHERE id = ? AND principal = ?",
                         (sid, principal)).fetchone()
        if row is None:
            refuse(grpc.StatusCode.NOT_FOUND, f"no upload session {sid}")
        return row

    def session_message(self, db, row, partition_hashes: bool = True) -> us_pb.UploadSession:
        """The session; a listing leaves out the partition hashes (as sluiced does)."""
        parts = db.execute("SELECT idx, size FROM session_parts WHERE sid = ? ORDER BY idx",
                           (row["id"],)).fetchall()
        states = {"open": us_pb.UploadSession.OPEN, "committed": us_pb.UploadSession.COMMITTED,
                  "aborted": us_pb.UploadSession.ABORTED, "expired": us_pb.UploadSession.EXPIRED}
        hashes = split_hashes(row["hashes"])
        return us_pb.UploadSession(
            session_id=row["id"], object_name=row["name"].decode(), total_size=row["total"],
            partition_size=row["psize"], partition_count=len(hashes),
            stored_partitions=[p[0] for p in parts], stored_bytes=sum(p[1] for p in parts),
            state=states[self.state_of(row)], create_time=ts(row["created"]),
            expire_time=ts(row["expires"]), content_type=row["content_type"],
            user_metadata=json.loads(row["meta"]), object_sha256=row["object_sha"],
            partition_sha256=hashes if partition_hashes else [], committed_version=row["committed_version"])

    @staticmethod
    def check_name(name: str) -> bytes:
        raw = name.encode("utf-8")
        if not 1 <= len(raw) <= 1024 or b"\x00" in raw:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "object names are 1 to 1024 bytes without NUL")
        return raw

    def create(self, principal, req):
        name = self.check_name(req.object_name)
        bad = lambda m: refuse(grpc.StatusCode.INVALID_ARGUMENT, m)  # noqa: E731
        if req.total_size < 0:
            bad("total_size must not be negative")
        if not 1 <= req.partition_size <= self.args.max_partition_size:
            bad(f"partition_size must be 1 to {self.args.max_partition_size}")
        count = -(-req.total_size // req.partition_size)
        if count > self.args.max_partitions:
            bad(f"{count} partitions; the limit is {self.args.max_partitions}")
        if len(req.partition_sha256) != count:
            bad(f"partition_sha256 has {len(req.partition_sha256)} entries, need {count}")
        if any(len(h) != 32 for h in req.partition_sha256):
            bad("a SHA-256 is 32 bytes")
        if req.object_sha256 and len(req.object_sha256) != 32:
            bad("object_sha256 is 32 bytes")
        if len(req.user_metadata) > 64 or any(
                not 1 <= len(k.encode()) <= 128 or len(v.encode()) > 1024
                for k, v in req.user_metadata.items()):
            bad("user_metadata: at most 64 entries, keys 1 to 128 bytes, values up to 1024")

        def body(db):
            now = time.time()
            open_count = db.execute(
                "SELECT count(*) FROM sessions WHERE principal = ? AND state = 'open' AND expires > ?",
                (principal, now)).fetchone()[0]
            if open_count >= self.args.max_open_sessions:
                refuse(grpc.StatusCode.RESOURCE_EXHAUSTED,
                       f"{open_count} open sessions; the limit is {self.args.max_open_sessions}")
            sid = os.urandom(16).hex()
            db.execute(
                "INSERT INTO sessions (id, principal, name, total, psize, hashes, object_sha, "
                "content_type, meta, state, created, expires) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (sid, principal, name, req.total_size, req.partition_size,
                 b"".join(req.partition_sha256), req.object_sha256, req.content_type,
                 json.dumps(dict(req.user_metadata)), "open", now,
                 now + self.args.session_lifetime))
            return self.session_message(db, self.session_row(db, sid, principal))
        return self.tx(body)

    def require_open(self, row):
        state = self.state_of(row)
        if state != "open":
            refuse(grpc.StatusCode.FAILED_PRECONDITION, f"upload session {row['id']} is {state}")

    def upload(self, principal, requests):
        first = next(requests, None)
        if first is None or first.WhichOneof("message") != "target":
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a target")
        sid, index = first.target.session_id, first.target.partition_index

        def lookup(db):
            row = self.session_row(db, sid, principal)
            self.require_open(row)
            hashes = split_hashes(row["hashes"])
            if not 0 <= index < len(hashes):
                refuse(grpc.StatusCode.INVALID_ARGUMENT, f"partition_index {index} out of range")
            size = min(row["psize"], row["total"] - index * row["psize"])
            stored = db.execute("SELECT 1 FROM session_parts WHERE sid = ? AND idx = ?",
                                (sid, index)).fetchone() is not None
            return hashes[index], size, stored
        digest, size, stored = self.tx(lookup)
        response = us_pb.UploadPartitionResponse(partition_index=index, size=size, sha256=digest)
        if stored:
            # The bytes sent are checked all the same (and dropped): already_stored vouches for them.
            receive_partition(requests, index, size, digest, lambda data: None)
            response.already_stored = True
            return response
        tmp = os.path.join(self.staging, os.urandom(16).hex() + ".part")
        try:
            with open(tmp, "wb") as f:
                receive_partition(requests, index, size, digest, f.write,
                                  lambda: (f.flush(), os.fsync(f.fileno())))
            path = self.blob_path(principal, digest)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

        def register(db):
            row = self.session_row(db, sid, principal)
            self.require_open(row)
            db.execute("INSERT OR IGNORE INTO session_parts VALUES (?,?,?,?)",
                       (sid, index, size, digest))
        self.tx(register)
        return response

    def get_session(self, principal, sid):
        def body(db):
            return self.session_message(db, self.session_row(db, sid, principal))
        return self.tx(body)

    def commit(self, principal, sid):
        def body(db):
            row = self.session_row(db, sid, principal)
            if row["state"] == "committed":
                return self.version_info(db, principal, row["name"], row["committed_version"])
            self.require_open(row)
            hashes = split_hashes(row["hashes"])
            stored = {r[0] for r in db.execute("SELECT idx FROM session_parts WHERE sid = ?", (sid,))}
            missing = [i for i in range(len(hashes)) if i not in stored]
            if missing:
                refuse(grpc.StatusCode.FAILED_PRECONDITION,
                       f"partitions {', '.join(map(str, missing))} are missing")
            whole = hashlib.sha256()
            for d in hashes:
                with open(self.blob_path(principal, d), "rb") as f:
                    whole.update(f.read())
            if row["object_sha"] and whole.digest() != row["object_sha"]:
                refuse(grpc.StatusCode.DATA_LOSS, "the object does not match object_sha256")
            now = time.time()
            obj = db.execute("SELECT next FROM objects WHERE principal = ? AND name = ?",
                             (principal, row["name"])).fetchone()
            version = obj[0] if obj else 1
            if obj:
                db.execute("UPDATE objects SET current = ?, next = ? WHERE principal = ? AND name = ?",
                           (version, version + 1, principal, row["name"]))
            else:
                db.execute("INSERT INTO objects VALUES (?,?,?,?,?)",
                           (principal, row["name"], 1, 2, now))
            db.execute("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (principal, row["name"], version, row["total"], whole.digest(),
                        row["content_type"], row["meta"], row["psize"], row["hashes"], now, 0))
            db.execute("UPDATE sessions SET state = 'committed', committed_version = ? WHERE id = ?",
                       (version, sid))
            return self.version_info(db, principal, row["name"], version)
        return self.tx(body)

    def abort(self, principal, sid):
        def body(db):
            row = self.session_row(db, sid, principal)
            if row["state"] == "committed":
                refuse(grpc.StatusCode.FAILED_PRECONDITION, "the session is committed")
            db.execute("UPDATE sessions SET state = 'aborted' WHERE id = ?", (sid,))
            return self.session_message(db, self.session_row(db, sid, principal))
        return self.tx(body)

    def list_sessions(self, principal, req):
        size = page_size(req.page_size)
        after = decode_token(req.page_token, int, 1 << 62)

        def body(db):
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT * FROM sessions WHERE principal = ? AND seq < ? ORDER BY seq DESC",
                (principal, after)).fetchall()
            if req.open_only:
                rows = [r for r in rows if self.state_of(r) == "open"]
            page = rows[:size]
            token = encode_token(page[-1]["seq"]) if len(rows) > size else ""
            return us_pb.ListSessionsResponse(
                sessions=[self.session_message(db, r, partition_hashes=False) for r in page],
                next_page_token=token)
        return self.tx(body)

    # --- objects --------------------------------------------------------------

    def version_info(self, db, principal, name: bytes, version: int, partitions=True):
        obj = db.execute("SELECT current, created FROM objects WHERE principal = ? AND name = ?",
                         (principal, name)).fetchone()
        if obj is None:
            refuse(grpc.StatusCode.NOT_FOUND, "no such object")
        if version < 0:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "version must not be negative")
        version = version or obj[0]
        db.row_factory = sqlite3.Row
        v = db.execute("SELECT * FROM versions WHERE principal = ? AND name = ? AND version = ?",
                       (principal, name, version)).fetchone()
        if v is None:
            refuse(grpc.StatusCode.NOT_FOUND, f"no version {version}")
        hashes = split_hashes(v["hashes"])
        info = info_pb.ObjectInfo(
            name=name.decode(), version=version, size=v["size"], sha256=v["sha"],
            content_type=v["content_type"], user_metadata=json.loads(v["meta"]),
            create_time=ts(obj[1]), update_time=ts(v["committed"]), partition_size=v["psize"],
            partition_count=len(hashes), is_current=version == obj[0],
            restored_from_version=v["restored_from"])
        if partitions:
            for i, d in enumerate(hashes):
                info.partitions.add(index=i, offset=i * v["psize"],
                                    size=min(v["psize"], v["size"] - i * v["psize"]), sha256=d)
        return info

    def get_object(self, principal, name, version, partitions=True):
        raw = self.check_name(name)
        return self.tx(lambda db: self.version_info(db, principal, raw, version, partitions))

    def list_objects(self, principal, req):
        size = page_size(req.page_size)
        after = decode_token(req.page_token, str, None)
        prefix = req.prefix.encode()

        def body(db):
            rows = db.execute("SELECT name FROM objects WHERE principal = ? ORDER BY name",
                              (principal,)).fetchall()
            entries = []  # (key bytes, kind)
            for (name,) in rows:
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix):]
                if req.delimiter and req.delimiter.encode() in rest:
                    cut = rest.index(req.delimiter.encode()) + len(req.delimiter.encode())
                    key = prefix + rest[:cut]
                    if not entries or entries[-1] != (key, "p"):
                        entries.append((key, "p"))
                else:
                    entries.append((name, "o"))
            if after is not None:
                entries = [e for e in entries if e[0] > bytes.fromhex(after)]
            page = entries[:size]
            resp = obj_pb.ListObjectsResponse(
                next_page_token=encode_token(page[-1][0].hex()) if len(entries) > size else "")
            for key, kind in page:
                if kind == "p":
                    resp.common_prefixes.append(key.decode())
                else:
                    resp.objects.append(self.version_info(db, principal, key, 0, False))
            return resp
        return self.tx(body)

    def delete(self, principal, name):
        raw = self.check_name(name)

        def body(db):
            n = db.execute("DELETE FROM versions WHERE principal = ? AND name = ?",
                           (principal, raw)).rowcount
            db.execute("DELETE FROM objects WHERE principal = ? AND name = ?", (principal, raw))
            if n == 0:
                refuse(grpc.StatusCode.NOT_FOUND, "no such object")
            return obj_pb.DeleteObjectResponse(deleted_versions=n)
        return self.tx(body)

    def list_versions(self, principal, req):
        raw = self.check_name(req.name)
        size = page_size(req.page_size)
        before = decode_token(req.page_token, int, 1 << 62)

        def body(db):
            self.version_info(db, principal, raw, 0, False)   # NOT_FOUND
            nums = [r[0] for r in db.execute(
                "SELECT version FROM versions WHERE principal = ? AND name = ? AND version < ? "
                "ORDER BY version DESC", (principal, raw, before))]
            page = nums[:size]
            return obj_pb.ListObjectVersionsResponse(
                versions=[self.version_info(db, principal, raw, v, False) for v in page],
                next_page_token=encode_token(page[-1]) if len(nums) > size else "")
        return self.tx(body)

    def restore(self, principal, name, version):
        raw = self.check_name(name)
        if version <= 0:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "version must be positive")

        def body(db):
            self.version_info(db, principal, raw, version, False)
            nxt = db.execute("SELECT next FROM objects WHERE principal = ? AND name = ?",
                             (principal, raw)).fetchone()[0]
            db.execute(
                "INSERT INTO versions SELECT principal, name, ?, size, sha, content_type, meta, "
                "psize, hashes, ?, ? FROM versions WHERE principal = ? AND name = ? AND version = ?",
                (nxt, time.time(), version, principal, raw, version))
            db.execute("UPDATE objects SET current = ?, next = ? WHERE principal = ? AND name = ?",
                       (nxt, nxt + 1, principal, raw))
            return self.version_info(db, principal, raw, nxt)
        return self.tx(body)

    def read_range(self, principal, info, offset, length):
        if offset < 0 or length < 0:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "offset and length must not be negative")
        if offset > info.size:
            refuse(grpc.StatusCode.OUT_OF_RANGE, "offset is past the end")
        end = info.size if length == 0 else min(info.size, offset + length)
        for p in info.partitions:
            lo, hi = max(offset, p.offset), min(end, p.offset + p.size)
            if lo >= hi:
                continue
            try:
                f = open(self.blob_path(principal, p.sha256), "rb")
            except FileNotFoundError:
                refuse(grpc.StatusCode.DATA_LOSS, f"the bytes of partition {p.index} are missing")
            with f:
                f.seek(lo - p.offset)
                left = hi - lo
                while left:
                    chunk = f.read(min(READ_CHUNK, left))
                    if not chunk:
                        refuse(grpc.StatusCode.INTERNAL, "blob is short")
                    left -= len(chunk)
                    yield chunk

    # --- collector ------------------------------------------------------------

    def collect(self):
        now = time.time()

        def body(db):
            db.execute("DELETE FROM session_parts WHERE sid IN (SELECT id FROM sessions WHERE "
                       "state = 'aborted' OR (state = 'open' AND expires < ?))", (now,))
            used = set()
            for principal, hashes in db.execute(
                    "SELECT principal, hashes FROM versions UNION ALL "
                    "SELECT s.principal, p.sha FROM session_parts p JOIN sessions s ON s.id = p.sid "
                    "WHERE s.state = 'open'"):
                for d in split_hashes(hashes):
                    used.add(self.blob_path(principal, d))
            for dirpath, _, files in os.walk(self.blobs):
                for f in files:
                    path = os.path.join(dirpath, f)
                    try:
                        old = os.stat(path).st_mtime < now - self.args.blob_grace_period
                    except FileNotFoundError:
                        continue
                    if path not in used and old:
                        os.unlink(path)
        self.tx(body)


def page_size(n: int) -> int:
    if n < 0 or n > 1000:
        refuse(grpc.StatusCode.INVALID_ARGUMENT, "page_size is 1 to 1000 (0 means 100)")
    return n or 100


def encode_token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": value}).encode()).decode()


def decode_token(token: str, kind, default):
    if not token:
        return default
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))["k"]
        if not isinstance(value, kind):
            raise ValueError(value)
        if kind is str:
            bytes.fromhex(value)
        return value
    except Exception:
        refuse(grpc.StatusCode.INVALID_ARGUMENT, "page_token is not one this server gave")


def principal_of(context) -> str:
    auth = context.auth_context() or {}
    cns = auth.get("x509_common_name") or []
    if not cns:
        refuse(grpc.StatusCode.UNAUTHENTICATED, "storage calls need a client certificate")
    return "CN=" + cns[0].decode()


def handler(fn):
    def wrapped(self, request, context):
        try:
            return fn(self, principal_of(context), request, context)
        except Refusal as r:
            context.abort(r.code, r.message)
    return wrapped


def stream_handler(fn):
    def wrapped(self, request, context):
        try:
            yield from fn(self, principal_of(context), request, context)
        except Refusal as r:
            context.abort(r.code, r.message)
    return wrapped


class Sessions(us_grpc.UploadSessionServiceServicer):
    def __init__(self, store):
        self.s = store

    @handler
    def CreateSession(self, p, req, ctx):
        return self.s.create(p, req)

    @handler
    def UploadPartition(self, p, requests, ctx):
        return self.s.upload(p, requests)

    @handler
    def GetSession(self, p, req, ctx):
        return self.s.get_session(p, req.session_id)

    @handler
    def CommitSession(self, p, req, ctx):
        return us_pb.CommitSessionResponse(object=self.s.commit(p, req.session_id))

    @handler
    def AbortSession(self, p, req, ctx):
        return self.s.abort(p, req.session_id)

    @handler
    def ListSessions(self, p, req, ctx):
        return self.s.list_sessions(p, req)


class Objects(obj_grpc.ObjectServiceServicer):
    def __init__(self, store):
        self.s = store

    @handler
    def GetObject(self, p, req, ctx):
        return self.s.get_object(p, req.name, req.version)

    @handler
    def ListObjects(self, p, req, ctx):
        return self.s.list_objects(p, req)

    @handler
    def DeleteObject(self, p, req, ctx):
        return self.s.delete(p, req.name)

    @stream_handler
    def ReadObject(self, p, req, ctx):
        info = self.s.get_object(p, req.name, req.version)
        first = True
        for chunk in self.s.read_range(p, info, req.offset, req.length):
            yield obj_pb.ReadObjectResponse(data=chunk, object=info if first else None)
            first = False
        if first:
            yield obj_pb.ReadObjectResponse(object=info)

    @handler
    def ListObjectVersions(self, p, req, ctx):
        return self.s.list_versions(p, req)

    @handler
    def RestoreObjectVersion(self, p, req, ctx):
        return self.s.restore(p, req.name, req.version)


class Partitions(part_grpc.PartitionServiceServicer):
    def __init__(self, store):
        self.s = store

    def _partition(self, p, name, version, index):
        info = self.s.get_object(p, name, version)
        if not 0 <= index < len(info.partitions):
            refuse(grpc.StatusCode.NOT_FOUND, f"no partition {index}")
        return info, info.partitions[index]

    @handler
    def GetPartitionInfo(self, p, req, ctx):
        return self._partition(p, req.object_name, req.version, req.partition_index)[1]

    @stream_handler
    def ReadPartition(self, p, req, ctx):
        info, part = self._partition(p, req.object_name, req.version, req.partition_index)
        count = req.partition_count or 1
        if not 1 <= count <= 1024:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, f"partition_count {count} is out of range: 1 to 1024")
        if count > 1 and (req.offset or req.length):
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "offset and length apply to one partition (partition_count)")
        if req.offset < 0 or req.length < 0 or req.offset > part.size:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "bad range")
        if count > 1:
            last = info.partitions[min(len(info.partitions), req.partition_index + count) - 1]
            start, length = part.offset, last.offset + last.size - part.offset
        else:
            start = part.offset + req.offset
            length = part.size - req.offset if req.length == 0 else min(req.length, part.size - req.offset)
        for chunk in self.s.read_range(p, info, start, length or 0):
            if length == 0:
                break
            yield part_pb.ReadPartitionResponse(data=chunk)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="reference storage server (tests only); "
                                 "flags as sluiced: --database --blobs ...")
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--require-client-cert", action="store_true")
    ap.add_argument("--database", required=True)
    ap.add_argument("--blobs", required=True)
    ap.add_argument("--session-lifetime", type=float, default=86400)
    ap.add_argument("--blob-grace-period", type=float, default=3600)
    ap.add_argument("--collector-interval", type=float, default=300)
    ap.add_argument("--max-partition-size", type=int, default=64 * 1024 * 1024)
    ap.add_argument("--max-partitions", type=int, default=10_000)
    ap.add_argument("--max-open-sessions", type=int, default=100)
    args = ap.parse_args(argv)

    store = Store(args)
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=32),
                         options=[("grpc.so_reuseport", 0)])
    us_grpc.add_UploadSessionServiceServicer_to_server(Sessions(store), server)
    obj_grpc.add_ObjectServiceServicer_to_server(Objects(store), server)
    part_grpc.add_PartitionServiceServicer_to_server(Partitions(store), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    read = lambda p: open(p, "rb").read()  # noqa: E731
    creds = grpc.ssl_server_credentials(
        [(read(args.key), read(args.cert))],
        root_certificates=read(args.client_ca) if args.client_ca else None,
        require_client_auth=args.require_client_cert)
    port = server.add_secure_port(args.listen, creds)
    if port == 0:
        print(f"cannot listen on {args.listen}: address in use", flush=True)
        return 1
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def collector():
        while not stop.wait(args.collector_interval):
            try:
                store.collect()
            except Exception as e:  # noqa: BLE001
                print(f"collector pass failed: {e!r}", flush=True)
    threading.Thread(target=collector, daemon=True).start()
    print(f"sluiced listening on {args.listen}", flush=True)
    stop.wait()
    server.stop(5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
