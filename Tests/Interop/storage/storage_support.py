"""Helpers for the storage suite (Tests/Interop/storage): the generated sluice.v1
stubs, a small client over the three storage services, byte and hash helpers,
and a content-addressed view of a blobs directory. No pytest fixtures live here
(see conftest.py in this directory)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP_DIR = os.path.dirname(HERE)
if INTEROP_DIR not in sys.path:
    sys.path.insert(0, INTEROP_DIR)

import interop_support as sup  # noqa: E402

KIB = 1024
MIB = 1024 * 1024
CHUNK = 256 * KIB          # data message size of an UploadPartition call
TIMEOUT = 30.0             # per call
SESSION_ID_RE = r"^[0-9a-fA-F]{32}$"

STORAGE_PROTOS = (
    "sluice/v1/admin.proto",
    "sluice/v1/usage.proto",
    "sluice/v1/changes.proto",
    "sluice/v1/sharing.proto",
    "sluice/v1/object_info.proto",
    "sluice/v1/objects.proto",
    "sluice/v1/partitions.proto",
    "sluice/v1/upload_sessions.proto",
)

_gen_lock = threading.Lock()
_generated = False


# --------------------------------------------------------------------------
# Generated stubs
# --------------------------------------------------------------------------

def generate_storage_stubs(out_dir: str = sup.GENERATED_DIR) -> str:
    """Generates the sluice.v1 modules into out_dir (the directory the echo stubs
    use, so that both live in one `sluice` package). protoc writes into a temporary
    directory first and each file is moved into place only when it changed, with an
    atomic rename: a concurrent pytest run never imports half a file."""
    global _generated
    with _gen_lock:
        if _generated:
            return out_dir
        from grpc_tools import protoc
        import grpc_tools

        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        os.makedirs(out_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".gen-", dir=out_dir)
        try:
            rc = protoc.main([
                "grpc_tools.protoc", f"-I{sup.PROTOS_ROOT}", f"-I{well_known}",
                f"--python_out={tmp}", f"--pyi_out={tmp}", f"--grpc_python_out={tmp}",
                *STORAGE_PROTOS,
            ])
            if rc != 0:
                raise RuntimeError(f"grpc_tools.protoc failed ({rc}) for {STORAGE_PROTOS}")
            for dirpath, _, files in os.walk(tmp):
                rel = os.path.relpath(dirpath, tmp)
                target_dir = os.path.normpath(os.path.join(out_dir, rel))
                os.makedirs(target_dir, exist_ok=True)
                for name in files:
                    _replace_if_changed(os.path.join(dirpath, name), os.path.join(target_dir, name))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        pkg = out_dir
        for part in ("sluice", "v1"):
            pkg = os.path.join(pkg, part)
            init = os.path.join(pkg, "__init__.py")
            if not os.path.exists(init):
                with open(init, "w"):
                    pass
        if out_dir not in sys.path:
            sys.path.insert(0, out_dir)
        importlib.invalidate_caches()
        _generated = True
        return out_dir


def _replace_if_changed(src: str, dst: str) -> None:
    with open(src, "rb") as f:
        new = f.read()
    try:
        with open(dst, "rb") as f:
            if f.read() == new:
                return
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(dst))
    with os.fdopen(fd, "wb") as f:
        f.write(new)
    os.replace(tmp, dst)


generate_storage_stubs()

from sluice.v1 import object_info_pb2 as info_pb  # noqa: E402
from sluice.v1 import objects_pb2 as obj_pb  # noqa: E402
from sluice.v1 import objects_pb2_grpc as obj_grpc  # noqa: E402
from sluice.v1 import partitions_pb2 as part_pb  # noqa: E402
from sluice.v1 import partitions_pb2_grpc as part_grpc  # noqa: E402
from sluice.v1 import upload_sessions_pb2 as us_pb  # noqa: E402
from sluice.v1 import upload_sessions_pb2_grpc as us_grpc  # noqa: E402

State = us_pb.UploadSession.State
OPEN, COMMITTED, ABORTED, EXPIRED = State.OPEN, State.COMMITTED, State.ABORTED, State.EXPIRED
Code = grpc.StatusCode


# --------------------------------------------------------------------------
# Bytes and hashes
# --------------------------------------------------------------------------

def rss_mib(pid: int) -> float:
    """A process's resident memory, MiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hexsha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_bytes(n: int, seed: Optional[int] = None) -> bytes:
    """n random bytes; reproducible with a seed (random.randbytes), else os.urandom."""
    if seed is None:
        return os.urandom(n)
    return random.Random(seed).randbytes(n)


def split(data: bytes, partition_size: int) -> list[bytes]:
    return [data[i:i + partition_size] for i in range(0, len(data), partition_size)]


def partition_count(total: int, partition_size: int) -> int:
    return (total + partition_size - 1) // partition_size


def unique_name(prefix: str = "obj") -> str:
    return f"{prefix}-{os.urandom(6).hex()}"


def two_versions(client: "StorageClient", prefix: str, partition_size: int = 1024) -> str:
    """A fresh name under `prefix` with version 1 (b"one") and version 2 (b"two", current)."""
    name = unique_name(prefix)
    client.put_object(name, b"one", partition_size=partition_size)
    client.put_object(name, b"two", partition_size=partition_size)
    return name


def assert_same_bytes(actual: bytes, expected: bytes, what: str = "bytes") -> None:
    """Equality, reported by size and SHA-256 (never by dumping megabytes)."""
    if actual != expected:
        first = next((i for i, (a, b) in enumerate(zip(actual, expected)) if a != b),
                     min(len(actual), len(expected)))
        raise AssertionError(
            f"{what} differ: got {len(actual)} bytes sha256 {hexsha(actual)}, expected "
            f"{len(expected)} bytes sha256 {hexsha(expected)}; first difference at byte {first}")
    assert sha(actual) == sha(expected)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def require_certs(certs, names) -> None:
    """Skips the calling module when a dev certificate it needs is missing."""
    missing = [k for k in names if not os.path.isfile(certs.path(f"{k}.pem"))]
    if missing:
        pytest.skip(f"the certificates {missing} are missing: run scripts/make-certs.sh")


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 10.0):
    """Polls `predicate` until it returns something true, and returns that; fails naming
    `what` (and the last value) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def expect_error(codes, fn: Callable, *args, **kwargs) -> grpc.RpcError:
    """Calls fn and asserts it fails with one of `codes` (a StatusCode or a set);
    returns the error. A streaming answer is drained so its status surfaces."""
    if isinstance(codes, grpc.StatusCode):
        codes = {codes}
    try:
        result = fn(*args, **kwargs)
        if isinstance(result, Iterator) or hasattr(result, "__next__"):
            result = list(result)
    except grpc.RpcError as e:
        assert e.code() in codes, (
            f"expected {sorted(c.name for c in codes)}, got {e.code().name}: {e.details()!r}")
        return e
    raise AssertionError(f"expected {sorted(c.name for c in codes)}, but the call succeeded: "
                         f"{_short(result)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 600 else text[:600] + "..."


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------

def partition_requests(session_id: str, index: int, payload: bytes,
                       chunk: int = CHUNK) -> Iterator:
    """The messages of one UploadPartition call: the target, then data chunks."""
    yield us_pb.UploadPartitionRequest(
        target=us_pb.PartitionTarget(session_id=session_id, partition_index=index))
    for off in range(0, len(payload), chunk):
        yield us_pb.UploadPartitionRequest(data=payload[off:off + chunk])


@dataclass
class ReadResult:
    data: bytes
    object: Optional[object]         # ObjectInfo of the first message, if it carried one
    messages: list


class StorageClient:
    """The three storage services over one channel, with the helpers tests need."""

    def __init__(self, channel: grpc.Channel, label: str = "client"):
        self.channel = channel
        self.label = label
        self.sessions = us_grpc.UploadSessionServiceStub(channel)
        self.objects = obj_grpc.ObjectServiceStub(channel)
        self.partitions = part_grpc.PartitionServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    # --- sessions ---------------------------------------------------------

    def create_session(self, name: str, data: bytes, partition_size: int, *,
                       object_sha256: bool = True, content_type: str = "",
                       user_metadata: Optional[dict] = None,
                       timeout: float = TIMEOUT):
        req = us_pb.CreateSessionRequest(
            object_name=name, total_size=len(data), partition_size=partition_size,
            partition_sha256=[sha(p) for p in split(data, partition_size)],
            object_sha256=sha(data) if object_sha256 else b"",
            content_type=content_type, user_metadata=user_metadata or {})
        return self.sessions.CreateSession(req, timeout=timeout)

    def create_raw(self, timeout: float = TIMEOUT, **fields):
        return self.sessions.CreateSession(us_pb.CreateSessionRequest(**fields), timeout=timeout)

    def get_session(self, session_id: str, timeout: float = TIMEOUT):
        return self.sessions.GetSession(us_pb.GetSessionRequest(session_id=session_id),
                                        timeout=timeout)

    def upload_partition(self, session_id: str, index: int, payload: bytes,
                         chunk: int = CHUNK, timeout: float = TIMEOUT):
        return self.sessions.UploadPartition(
            partition_requests(session_id, index, payload, chunk), timeout=timeout)

    def upload_messages(self, messages: Iterable, timeout: float = TIMEOUT):
        return self.sessions.UploadPartition(iter(messages), timeout=timeout)

    def upload_partitions(self, session_id: str, data: bytes, partition_size: int,
                          indices: Optional[Sequence[int]] = None, parallel: int = 4,
                          timeout: float = TIMEOUT) -> dict:
        """Uploads the given partitions (all by default), each on its own call,
        `parallel` at a time, in the order given. Returns index → response."""
        parts = split(data, partition_size)
        if indices is None:
            indices = list(range(len(parts)))
        if parallel <= 1 or len(indices) <= 1:
            return {i: self.upload_partition(session_id, i, parts[i], timeout=timeout)
                    for i in indices}
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = {i: pool.submit(self.upload_partition, session_id, i, parts[i],
                                      CHUNK, timeout) for i in indices}
            return {i: f.result() for i, f in futures.items()}

    def commit(self, session_id: str, timeout: float = TIMEOUT):
        return self.sessions.CommitSession(
            us_pb.CommitSessionRequest(session_id=session_id), timeout=timeout).object

    def abort(self, session_id: str, timeout: float = TIMEOUT):
        return self.sessions.AbortSession(us_pb.AbortSessionRequest(session_id=session_id),
                                          timeout=timeout)

    def list_sessions(self, open_only: bool = False, page_size: int = 0, page_token: str = "",
                      timeout: float = TIMEOUT):
        return self.sessions.ListSessions(
            us_pb.ListSessionsRequest(open_only=open_only, page_size=page_size,
                                      page_token=page_token), timeout=timeout)

    def all_sessions(self, open_only: bool = False, page_size: int = 100) -> list:
        out, token = [], ""
        for _ in range(1000):
            page = self.list_sessions(open_only=open_only, page_size=page_size, page_token=token)
            out.extend(page.sessions)
            token = page.next_page_token
            if not token:
                return out
        raise AssertionError("ListSessions did not finish within 1000 pages")

    def put_object(self, name: str, data: bytes, partition_size: int = 64 * KIB,
                   parallel: int = 4, **create_kwargs):
        """Create, upload everything, commit; returns the committed ObjectInfo, with its
        whole-object SHA-256 settled (waiting for it after an out-of-order upload) unless
        the version is gone by then."""
        s = self.create_session(name, data, partition_size, **create_kwargs)
        self.upload_partitions(s.session_id, data, partition_size, parallel=parallel)
        info = self.commit(s.session_id)
        if info.sha256_state != info_pb.SHA256_STATE_PENDING:
            return info
        try:
            return settled(self, name, info.version)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return info

    # --- objects ----------------------------------------------------------

    def get_object(self, name: str, version: int = 0, timeout: float = TIMEOUT):
        return self.objects.GetObject(obj_pb.GetObjectRequest(name=name, version=version),
                                      timeout=timeout)

    def read_object(self, name: str, version: int = 0, offset: int = 0, length: int = 0,
                    timeout: float = TIMEOUT) -> ReadResult:
        msgs = list(self.objects.ReadObject(
            obj_pb.ReadObjectRequest(name=name, version=version, offset=offset, length=length),
            timeout=timeout))
        info = msgs[0].object if msgs and msgs[0].HasField("object") else None
        return ReadResult(b"".join(m.data for m in msgs), info, msgs)

    def read(self, name: str, version: int = 0, offset: int = 0, length: int = 0) -> bytes:
        return self.read_object(name, version, offset, length).data

    def list_objects(self, prefix: str = "", delimiter: str = "", page_size: int = 0,
                     page_token: str = "", timeout: float = TIMEOUT):
        return self.objects.ListObjects(
            obj_pb.ListObjectsRequest(prefix=prefix, delimiter=delimiter, page_size=page_size,
                                      page_token=page_token), timeout=timeout)

    def list_all(self, prefix: str = "", delimiter: str = "", page_size: int = 1000,
                 max_pages: int = 1000) -> tuple[list, list[str]]:
        """Every page: (objects, common_prefixes)."""
        objects, prefixes, token = [], [], ""
        for _ in range(max_pages):
            page = self.list_objects(prefix, delimiter, page_size, token)
            objects.extend(page.objects)
            prefixes.extend(page.common_prefixes)
            token = page.next_page_token
            if not token:
                return objects, prefixes
        raise AssertionError(f"ListObjects did not finish within {max_pages} pages")

    def list_versions(self, name: str, page_size: int = 0, page_token: str = "",
                      timeout: float = TIMEOUT):
        return self.objects.ListObjectVersions(
            obj_pb.ListObjectVersionsRequest(name=name, page_size=page_size,
                                             page_token=page_token), timeout=timeout)

    def delete_object(self, name: str, timeout: float = TIMEOUT):
        return self.objects.DeleteObject(obj_pb.DeleteObjectRequest(name=name), timeout=timeout)

    def restore(self, name: str, version: int, timeout: float = TIMEOUT):
        return self.objects.RestoreObjectVersion(
            obj_pb.RestoreObjectVersionRequest(name=name, version=version), timeout=timeout)

    # --- partitions -------------------------------------------------------

    def partition_info(self, name: str, index: int, version: int = 0,
                       timeout: float = TIMEOUT):
        return self.partitions.GetPartitionInfo(
            part_pb.GetPartitionInfoRequest(object_name=name, version=version,
                                            partition_index=index), timeout=timeout)

    def read_partition(self, name: str, index: int, version: int = 0, offset: int = 0,
                       length: int = 0, count: int = 0, timeout: float = TIMEOUT) -> bytes:
        msgs = self.partitions.ReadPartition(
            part_pb.ReadPartitionRequest(object_name=name, version=version,
                                         partition_index=index, offset=offset, length=length,
                                         partition_count=count),
            timeout=timeout)
        return b"".join(m.data for m in msgs)


# --------------------------------------------------------------------------
# Assertions on descriptions
# --------------------------------------------------------------------------

def composite(data: bytes, partition_size: int) -> bytes:
    """ObjectInfo.composite_sha256 of `data` cut into partitions of `partition_size`:
    SHA-256 of the partitions' SHA-256s concatenated in order."""
    return sha(b"".join(sha(p) for p in split(data, partition_size)))


def assert_whole_hash(info, data: bytes) -> None:
    """The whole-object hashes of `info` stand for `data`: the composite always (known at
    commit), sha256 once the server knows it (a commit reads no bytes: after an
    out-of-order upload it is PENDING, and empty, until the verifier has hashed the
    object; NOT_COMPUTED, and empty, when the uploader asked for none), and never a
    MISMATCH for the right bytes."""
    if info.composite_sha256 or info.partition_size:
        assert info.composite_sha256 == composite(data, info.partition_size), "composite sha256"
    if info.sha256_state in (info_pb.SHA256_STATE_PENDING, info_pb.SHA256_STATE_NOT_COMPUTED):
        assert info.sha256 == b"", "a pending or not computed sha256 is empty"
    else:
        assert info.sha256_state in (info_pb.SHA256_STATE_VERIFIED, info_pb.SHA256_STATE_UNDECLARED), \
            f"sha256_state {info.sha256_state}"
        assert info.sha256 == sha(data), "whole-object sha256"


def settled(client: "StorageClient", name: str, version: int = 0, timeout: float = 20.0):
    """GetObject, polled until the version's whole-object SHA-256 is no longer pending
    (the verifier runs right after the commit); bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_object(name, version)
        if info.sha256_state != info_pb.SHA256_STATE_PENDING:
            return info
        assert time.monotonic() < deadline, f"{name} v{info.version} still pending after {timeout}s"
        time.sleep(0.02)

def commit_before_the_whole_hash(client: "StorageClient", postgres, server, session_id: str):
    """Commits a session whose partitions are all stored as if the commit came before the server
    had hashed them as a whole (as one served by another instance while this one was still
    reading them back can): waits until the session's whole hash covers every partition, then
    sets it back to one partition with no state, which neither the frontier nor the commit can
    extend. The commit is then PENDING and the verifier hashes the object from the start."""
    where = f"FROM upload_sessions WHERE encode(id, 'hex') = '{session_id}'"
    count = int(postgres.run(f"SELECT (total_size + partition_size - 1) / partition_size {where}",
                             url=server.database_url))
    sup.wait_until(lambda: int(postgres.run(f"SELECT whole_hashed_through {where}", url=server.database_url)) == count,
                   20, what="the server to hash the stored partitions as a whole")
    postgres.run(f"UPDATE upload_sessions SET whole_hashed_through = 1, whole_hash_state = NULL "
                 f"WHERE encode(id, 'hex') = '{session_id}'", url=server.database_url)
    info = client.commit(session_id)
    assert info.sha256_state == info_pb.SHA256_STATE_PENDING, info.sha256_state
    return info


def mismatched_version(client: "StorageClient", postgres, server, name: str, data: bytes, partition_size: int):
    """Commits `name` from a session that declared the SHA-256 of other bytes, the commit coming
    before the hash was known (``commit_before_the_whole_hash``), and waits until the verifier
    has recorded the mismatch; returns the settled version."""
    s = client.create_raw(object_name=name, total_size=len(data), partition_size=partition_size,
                          partition_sha256=[sha(p) for p in split(data, partition_size)],
                          object_sha256=sha(b"something else"))
    client.upload_partitions(s.session_id, data, partition_size)
    commit_before_the_whole_hash(client, postgres, server, s.session_id)
    info = settled(client, name)
    assert info.sha256_state == info_pb.SHA256_STATE_MISMATCH, info.sha256_state
    return info


def assert_object_describes(info, name: str, data: bytes, partition_size: int, *,
                            version: Optional[int] = None, with_partitions: bool = True,
                            is_current: Optional[bool] = True) -> None:
    """ObjectInfo matches the bytes it stands for: size, whole SHA-256, partition
    layout (index, offset, size, SHA-256 of every partition, in order)."""
    parts = split(data, partition_size)
    assert info.name == name
    if version is not None:
        assert info.version == version, f"version {info.version}, expected {version}"
    assert info.size == len(data)
    assert_whole_hash(info, data)
    assert info.partition_size == partition_size
    assert info.partition_count == len(parts)
    if is_current is not None:
        assert info.is_current is is_current
    if with_partitions:
        got = [(p.index, p.offset, p.size, p.sha256) for p in info.partitions]
        want = [(i, i * partition_size, len(p), sha(p)) for i, p in enumerate(parts)]
        assert got == want, "partition layout"
    else:
        assert len(info.partitions) == 0, "listings leave partitions empty"


# --------------------------------------------------------------------------
# The blobs directory, seen by content
# --------------------------------------------------------------------------

def blob_inventory(root: str) -> dict[str, list[str]]:
    """sha256 hex of each regular file's content → paths holding it, for every
    file under root. Layout-agnostic: it finds bytes wherever the store keeps them."""
    found: dict[str, list[str]] = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                continue   # removed (or replaced) while we walked
            found.setdefault(h.hexdigest(), []).append(path)
    return found


def blob_copies(root: str, payload: bytes) -> int:
    """How many files under root hold exactly these bytes."""
    return len(blob_inventory(root).get(hexsha(payload), []))


# --------------------------------------------------------------------------
# Blob stores, seen the same way whatever they are
# --------------------------------------------------------------------------

class DiskBlobs:
    """A blobs directory (--blobs file:///PATH), inspected by content.

    The store-neutral interface the tests use (s3_support.S3Blobs has the same):
      kind            "disk" | "s3"
      url()           the --blobs value
      inventory()     sha256 hex of content → where it is stored (paths / keys)
      copies(payload) how many stored blobs hold exactly these bytes
      delete_all()    removes every stored blob behind sluiced's back; returns how many
      describe()      where the store is, for messages"""

    kind = "disk"

    def __init__(self, root: str):
        self.root = root

    def url(self) -> str:
        return "file://" + self.root

    def inventory(self) -> dict[str, list[str]]:
        # The store's own records, of its folder layout (PATH/layout) and of the database it
        # belongs to (PATH/database-id), are not blobs.
        records = {os.path.join(self.root, "layout"), os.path.join(self.root, "database-id")}
        found = {}
        for digest, paths in blob_inventory(self.root).items():
            paths = [p for p in paths if p not in records]
            if paths:
                found[digest] = paths
        return found

    def copies(self, payload: bytes) -> int:
        return blob_copies(self.root, payload)

    def delete_all(self) -> int:
        n = 0
        for paths in self.inventory().values():
            for path in paths:
                os.unlink(path)
                n += 1
        return n

    def describe(self) -> str:
        return self.root


# --------------------------------------------------------------------------
# Which blob stores
# --------------------------------------------------------------------------

BLOB_KINDS = ("disk", "s3")


def blob_kinds() -> list[str]:
    """The stores the storage suite runs against: SLUICE_TEST_BLOB_STORES
    ("disk,s3" when unset)."""
    wanted = os.environ.get("SLUICE_TEST_BLOB_STORES", "").strip()
    kinds = [k.strip() for k in wanted.split(",") if k.strip()] if wanted else list(BLOB_KINDS)
    unknown = [k for k in kinds if k not in BLOB_KINDS]
    if unknown:
        raise pytest.UsageError(f"SLUICE_TEST_BLOB_STORES: unknown {unknown}; known {BLOB_KINDS}")
    return kinds


def only_blob_stores(*kinds: str):
    """Runs a test (or, as pytestmark, a module) against these stores only; say why
    where it is used. Overrides the parameters of the `blob_kind` fixture."""
    chosen = [k for k in kinds if k in blob_kinds()]
    if not chosen:
        chosen = [pytest.param(kinds[0], marks=pytest.mark.skip(
            reason=f"SLUICE_TEST_BLOB_STORES={os.environ.get('SLUICE_TEST_BLOB_STORES')} "
                   f"excludes {', '.join(kinds)}"))]
    return pytest.mark.parametrize("blob_kind", chosen, indirect=True)


# --------------------------------------------------------------------------
# Skipping
# --------------------------------------------------------------------------

def unavailable(reason: str):
    """Skip, or fail when SLUICE_REQUIRE_BINARIES=1 (CI must not skip silently)."""
    if sup.binaries_required():
        pytest.fail(f"SLUICE_REQUIRE_BINARIES=1 but {reason}", pytrace=False)
    pytest.skip(reason)
