#!/usr/bin/env python3
"""Writes Sluice's contract fixtures: canonical encodings of the API's main messages.

    .venv/bin/python scripts/make-fixtures.py                    # rewrite the fixtures
    .venv/bin/python scripts/make-fixtures.py --update-baseline  # and the API baseline

Output, under Tests/Fixtures/:
  <package>/<Message>[.<variant>].binpb  deterministic binary encoding
  <package>/<Message>[.<variant>].json   canonical proto3 JSON (json_format.MessageToJson,
                                         sort_keys, 2-space indent, trailing newline)
  manifest.json                          every fixture: its files, its fully qualified
                                         message type and whether it is byte-exact
  api-baseline.binpb                     only with --update-baseline: a FileDescriptorSet
                                         of BASELINE_DIRS (imports included, no source
                                         info), the contract the compatibility test holds
                                         the current Protos/ to

Byte-exact fixtures. Protobuf leaves the order of map entries on the wire unspecified;
"deterministic" serialization is a promise of one implementation, not a cross-language
canonical form. A fixture is therefore byte-exact (manifest "byte_exact": true) only when
no map in it has more than one entry: such messages have a single valid encoding (fields
in number order, packed repeated scalars, defaults omitted), so every implementation must
reproduce the file byte for byte. The few fixtures with multi-entry maps are there to
show maps survive the trip; tests compare their re-encoding semantically (decoded message
equality).

The messages are built from classes made out of a descriptor set that grpc_tools.protoc
compiles from Protos/ into a temp dir, loaded into a private descriptor pool. That is
what generated *_pb2 modules do too, without their import-path and global-pool clashes
(the interop suite's echo stubs own the `sluice` package; grpcio-health-checking
registers grpc/health/v1/health.proto in the default pool).

Everything is fixed data: running the script twice writes identical files.
Tests: Tests/Interop/test_contract_fixtures.py and Tests/ContractTests (Swift).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile

from google.protobuf import descriptor_pb2, json_format, message_factory

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PROTOS = os.path.join(ROOT, "Protos")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
MANIFEST = os.path.join(FIXTURES, "manifest.json")
BASELINE = os.path.join(FIXTURES, "api-baseline.binpb")

# The public API the baseline guards (directories under Protos/). The interop echo
# service is a test vehicle, not API, and is left out.
BASELINE_DIRS = ("grpc/health", "grpc/reflection", "sluice/v1")


# --------------------------------------------------------------------------
# Compiling Protos/
# --------------------------------------------------------------------------

def proto_files(dirs=BASELINE_DIRS) -> list[str]:
    """The .proto files under Protos/<dir> for each dir, relative to Protos/, sorted."""
    found = []
    for d in dirs:
        for base, _, names in os.walk(os.path.join(PROTOS, d)):
            found += [os.path.relpath(os.path.join(base, n), PROTOS)
                      for n in names if n.endswith(".proto")]
    return sorted(p.replace(os.sep, "/") for p in found)


def compile_descriptor_set(files=None, protos_root: str = PROTOS) -> descriptor_pb2.FileDescriptorSet:
    """Runs grpc_tools.protoc over files (default: proto_files()) with --include_imports
    and returns the FileDescriptorSet (no source info, so comments do not matter)."""
    from grpc_tools import protoc  # imported lazily: heavy
    import grpc_tools

    files = proto_files() if files is None else files
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="sluice-fixtures-") as tmp:
        out = os.path.join(tmp, "descriptor-set.binpb")
        rc = protoc.main(["grpc_tools.protoc", f"-I{protos_root}", f"-I{well_known}",
                          "--include_imports", f"--descriptor_set_out={out}", *files])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed ({rc}) on {' '.join(files)}")
        with open(out, "rb") as f:
            return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def message_classes(fds: descriptor_pb2.FileDescriptorSet | None = None) -> dict:
    """Fully qualified message name -> Python message class, from a private pool."""
    fds = compile_descriptor_set() if fds is None else fds
    return message_factory.GetMessages(list(fds.file))


# --------------------------------------------------------------------------
# The fixtures
# --------------------------------------------------------------------------

def sha(label: str) -> bytes:
    """A fixed, realistic-looking SHA-256 value."""
    return hashlib.sha256(label.encode()).digest()


def ts(classes, seconds: int, nanos: int = 0):
    t = classes["google.protobuf.Timestamp"]()
    t.seconds, t.nanos = seconds, nanos
    return t


# Fixed instants (2025-03-01T12:00:00Z and later), with 0, 3, 6 and 9 fractional digits
# so that both JSON encoders' RFC 3339 formatting is exercised.
T0 = 1740830400


def build_fixtures(classes) -> list[tuple[str, object]]:
    """(fixture name "<package>/<Message>[.<variant>]", message), in a fixed order."""
    def fill(msg, fields: dict):
        """Sets fields on msg (lists extend repeated fields, messages are copied in)."""
        for key, value in fields.items():
            if isinstance(value, (list, tuple)):
                getattr(msg, key).extend(value)
            elif hasattr(value, "DESCRIPTOR"):
                getattr(msg, key).CopyFrom(value)
            else:
                setattr(msg, key, value)
        return msg

    def v1(message: str, /, **fields):
        """A sluice.v1 message with the given fields."""
        return fill(classes["sluice.v1." + message](), fields)

    out: list[tuple[str, object]] = []

    def add(variant: str | None, msg) -> None:
        d = msg.DESCRIPTOR
        name = d.full_name[len(d.file.package) + 1:]
        out.append((f"{d.file.package}/{name}" + (f".{variant}" if variant else ""), msg))

    part_size = 4 * 1024 * 1024
    total = 2 * part_size + 1000
    hashes = [sha("report.pdf#0"), sha("report.pdf#1"), sha("report.pdf#2")]
    object_hash = sha("report.pdf")

    def partitions():
        return [v1("PartitionInfo", index=i, offset=i * part_size,
                   size=part_size if i < 2 else 1000, sha256=hashes[i]) for i in range(3)]

    def object_info(**kw):
        info = v1("ObjectInfo", name="reports/2025/report.pdf", version=3, size=total,
                  sha256=object_hash, content_type="application/pdf",
                  create_time=ts(classes, T0), update_time=ts(classes, T0 + 86400, 123000000),
                  partition_size=part_size, partition_count=3, is_current=True)
        info.user_metadata["owner"] = "finance"
        return fill(info, kw)

    # --- upload sessions ---
    req = v1("CreateSessionRequest", object_name="reports/2025/report.pdf", total_size=total,
             partition_size=part_size, partition_sha256=hashes, object_sha256=object_hash,
             content_type="application/pdf")
    req.user_metadata["owner"] = "finance"
    add(None, req)
    multi = v1("CreateSessionRequest", object_name="photos/été/ünïcode.jpg", total_size=10,
               partition_size=16, partition_sha256=[sha("photo")], content_type="image/jpeg")
    for key, value in (("camera", "X100"), ("album", "summer"), ("a-very-long-key", "ü")):
        multi.user_metadata[key] = value
    add("multi_metadata", multi)
    add("empty_object", v1("CreateSessionRequest", object_name="empty.txt", partition_size=1024))
    add("request_id", v1("CreateSessionRequest", object_name="empty.txt", partition_size=1024,
                         request_id="3f1c0a9e-7d2b-4c55-9e3a-0b6f1d2e4a77"))

    State = classes["sluice.v1.UploadSession"].State

    def session(state, stored, **kw):
        s = v1("UploadSession", session_id="5f3c9a0e8b7d4c21a6e0f1b2c3d4e5f6",
               object_name="reports/2025/report.pdf", total_size=total, partition_size=part_size,
               partition_count=3, stored_partitions=stored,
               stored_bytes=sum(part_size if i < 2 else 1000 for i in stored), state=state,
               create_time=ts(classes, T0, 500), expire_time=ts(classes, T0 + 7 * 86400),
               content_type="application/pdf", object_sha256=object_hash,
               partition_sha256=hashes, **kw)
        s.user_metadata["owner"] = "finance"
        return s

    add("open", session(State.OPEN, [0, 2]))
    add("committed", session(State.COMMITTED, [0, 1, 2], committed_version=3))
    add("aborted", session(State.ABORTED, [1]))
    add("expired", session(State.EXPIRED, []))

    add("target", v1("UploadPartitionRequest", target=v1(
        "PartitionTarget", session_id="5f3c9a0e8b7d4c21a6e0f1b2c3d4e5f6", partition_index=2)))
    add("data", v1("UploadPartitionRequest", data=bytes(range(256)) * 4))
    # A set oneof member with an empty value is still on the wire (tag, length 0).
    add("empty_data", v1("UploadPartitionRequest", data=b""))
    add(None, v1("UploadPartitionResponse", partition_index=2, size=1000, sha256=hashes[2]))
    add("already_stored", v1("UploadPartitionResponse", partition_index=0, size=part_size,
                             sha256=hashes[0], already_stored=True))
    add(None, v1("CommitSessionResponse", object=object_info(partitions=partitions())))
    add(None, v1("ListSessionsResponse",
                 sessions=[session(State.OPEN, [0, 2]), session(State.COMMITTED, [0, 1, 2],
                                                                committed_version=3)],
                 next_page_token="c2Vzc2lvbnM6Mg"))

    # --- objects ---
    add(None, v1("GetObjectRequest", name="reports/2025/report.pdf", version=2))
    # A version above 2^53: JSON carries int64 as a string, so nothing is rounded.
    add("large_version", v1("GetObjectRequest", name="big", version=2**53 + 1))
    add(None, object_info(partitions=partitions()))
    add("restored", object_info(version=4, restored_from_version=2,
                                update_time=ts(classes, T0 + 2 * 86400, 123456789),
                                partitions=partitions()))
    add(None, v1("ListObjectsRequest", prefix="reports/", delimiter="/", page_size=2,
                 page_token="b2JqZWN0czoy"))
    add(None, v1("ListObjectsResponse", objects=[object_info(), object_info(
        name="reports/readme.txt", version=1, size=12, sha256=sha("readme"),
        content_type="text/plain", partition_size=part_size, partition_count=1,
        update_time=ts(classes, T0, 0), create_time=ts(classes, T0, 0))],
        common_prefixes=["reports/2024/", "reports/2025/"], next_page_token="b2JqZWN0czo0"))
    add(None, v1("ReadObjectRequest", name="reports/2025/report.pdf", version=3,
                 offset=part_size - 10, length=20))
    add("first", v1("ReadObjectResponse", data=b"%PDF-1.7\n", object=object_info()))
    add("data", v1("ReadObjectResponse", data=b"\x00\x01\x02\xff\xfe"))
    add(None, v1("ListObjectVersionsResponse", versions=[
        object_info(version=4, restored_from_version=2, update_time=ts(classes, T0 + 2 * 86400, 123456789)),
        object_info(is_current=False),
    ], next_page_token="dmVyc2lvbnM6Mg"))
    add(None, v1("RestoreObjectVersionRequest", name="reports/2025/report.pdf", version=2))

    # --- partitions ---
    add(None, v1("GetPartitionInfoRequest", object_name="reports/2025/report.pdf", version=3,
                 partition_index=1))
    add(None, partitions()[1])
    add(None, v1("ReadPartitionRequest", object_name="reports/2025/report.pdf", version=3,
                 partition_index=2, offset=100, length=900))
    add("run", v1("ReadPartitionRequest", object_name="reports/2025/report.pdf", version=3,
                  partition_index=64, partition_count=64))

    # --- sharing: handles, grants, and the owner / written_by fields ---
    add(None, v1("PrincipalInfo", handle="sluice-client2", identity="CN=sluice-client2;DNS=client2.sluice.test",
                 create_time=ts(classes, T0, 250000000)))
    # Enum values by number (sharing.proto): scope OBJECT 1, PREFIX 2; access READ 1, WRITE 2.
    def grant(**kw):
        fields = dict(owner="alice", grantee="bob.smith", scope=2, path="reports/2025/", access=1,
                      update_time=ts(classes, T0 + 3600, 7000))
        fields.update(kw)
        return v1("Grant", **fields)
    add(None, grant())
    add(None, v1("GrantAccessRequest", grantee="bob.smith", scope=1,
                 path="reports/2025/report.pdf", access=2))
    add(None, v1("RevokeAccessRequest", grantee="bob.smith", scope=2,
                 path="reports/2025/"))
    add(None, v1("RevokeAccessResponse", revoked=grant()))
    add(None, v1("ListGrantsRequest", grantee="bob.smith", page_size=50, page_token="Z3JhbnRzOjE"))
    add(None, v1("ListSharedWithMeRequest", owner="alice", page_size=50, page_token="c2hhcmVkOjE"))
    add(None, v1("ListGrantsResponse", grants=[grant(), grant(
        scope=1, path="reports/2025/report.pdf", access=2)], next_page_token="Z3JhbnRzOjI"))
    add("owner", v1("GetObjectRequest", name="reports/2025/report.pdf", owner="alice"))
    add("owner", v1("ListObjectsRequest", prefix="reports/", delimiter="/", owner="alice"))
    add("owner", v1("ReadObjectRequest", name="reports/2025/report.pdf", owner="alice"))
    add("owner", v1("DeleteObjectRequest", name="reports/2025/report.pdf", owner="alice"))
    add("keep_versions", v1("DeleteObjectRequest", name="notes/todo.txt", keep_versions=True))
    add("if_current_version", v1("DeleteObjectRequest", name="notes/todo.txt", keep_versions=True,
                                 if_current_version=4))
    add("owner", v1("ListObjectVersionsRequest", name="reports/2025/report.pdf", page_size=10, owner="alice"))
    add("owner", v1("RestoreObjectVersionRequest", name="reports/2025/report.pdf", version=2, owner="alice"))
    add("if_current_version", v1("RestoreObjectVersionRequest", name="notes/todo.txt", version=2,
                                 if_current_version=4))
    add("owner", v1("GetPartitionInfoRequest", object_name="reports/2025/report.pdf", partition_index=1,
                    owner="alice"))
    add("owner", v1("ReadPartitionRequest", object_name="reports/2025/report.pdf", partition_index=2,
                    owner="alice"))
    add("owner", v1("CreateSessionRequest", object_name="reports/2025/report.pdf", total_size=10,
                    partition_size=16, partition_sha256=[sha("shared")], owner="alice"))
    add("shared", object_info(owner="alice", written_by="bob.smith", partitions=partitions()))
    add("shared", session(State.OPEN, [0], owner="alice"))

    # --- whole-object hashes (composite, state) and PutObject (issue 12). Enum values by
    # number (object_info.proto Sha256State): PENDING 1, VERIFIED 2, MISMATCH 4.
    composite = hashlib.sha256(b"".join(hashes)).digest()
    add("composite", object_info(composite_sha256=composite, sha256_state=2, partitions=partitions()))
    add("pending", object_info(sha256=b"", composite_sha256=composite, sha256_state=1))
    add("mismatch", object_info(composite_sha256=composite, sha256_state=4))
    add(None, v1("PutObjectRequest", name="notes/todo.txt", data=b"buy milk\n",
                 sha256=hashlib.sha256(b"buy milk\n").digest(), content_type="text/plain",
                 request_id="5b7e2c1a-0f3d-4e8a-9c6b-2d4f8a1e3c70"))
    add("owner", v1("PutObjectRequest", name="reports/2025/notes.txt", data=b"ok",
                    sha256=hashlib.sha256(b"ok").digest(), owner="alice"))

    # --- change feed ---
    add("change_cursor", v1("ListObjectsResponse", objects=[object_info()], change_cursor="c1.4242"))
    add(None, v1("WatchChangesRequest", cursor="c1.4242", owner="alice", prefix="reports/"))
    Kind = classes["sluice.v1.Change"].DESCRIPTOR.fields_by_name["kind"].enum_type.values_by_name

    def change(kind: str, position: int, **kw):
        return v1("Change", cursor=f"c1.{position}", kind=Kind[kind].number, owner="alice",
                  name="reports/2025/report.pdf", actor="bob", commit_time=ts(classes, T0 + position, 5000), **kw)

    created = change("CHANGE_KIND_VERSION_CREATED", 4243, version=3, size=total, sha256=object_hash)
    deleted = change("CHANGE_KIND_OBJECT_DELETED", 4244)
    Access = classes["sluice.v1.Grant"].DESCRIPTOR.fields_by_name["access"].enum_type.values_by_name
    Scope = classes["sluice.v1.Grant"].DESCRIPTOR.fields_by_name["scope"].enum_type.values_by_name
    granted = change("CHANGE_KIND_GRANT_ADDED", 4245, grant=v1(
        "Grant", owner="alice", grantee="bob", scope=Scope["GRANT_SCOPE_PREFIX"].number, path="reports/",
        access=Access["ACCESS_WRITE"].number, update_time=ts(classes, T0 + 4245, 5000)))
    granted.name = "reports/"
    add("version_created", created)
    add("object_deleted", deleted)
    add("grant_added", granted)
    add(None, v1("WatchChangesResponse", changes=[created, deleted], cursor="c1.4244"))
    add("heartbeat", v1("WatchChangesResponse", cursor="c1.5000"))
    add(None, v1("ListChangesRequest", cursor="c1.4242", prefix="reports/", page_size=100))
    add(None, v1("ListChangesResponse", changes=[created], next_cursor="c1.4243", caught_up=True))

    # --- usage and administration ---
    Limit = classes["sluice.v1.LimitOverride"].DESCRIPTOR.fields_by_name["limit"].enum_type.values_by_name
    quotas = v1("Quotas", bytes=10 << 30, objects=100000, sessions=100)
    rates = v1("RateLimits", requests_per_second=50, bytes_in_per_second=64 << 20, bytes_out_per_second=0)
    add(None, v1("GetUsageRequest", days=30))
    add(None, v1("Usage", handle="alice", logical_bytes=3 * total, physical_bytes=total, objects=2, versions=3,
                 open_sessions=1, reserved_bytes=1 << 20,
                 traffic=[v1("DailyTraffic", day="2025-06-01", uploaded_bytes=total, downloaded_bytes=2 * total)],
                 prefixes=[v1("PrefixUsage", prefix="reports/", logical_bytes=2 * total, objects=1, versions=2)],
                 quotas=quotas, rate_limits=rates))
    add(None, v1("SetLimitsRequest", handle="bob.smith",
                 set=[v1("LimitOverride", limit=Limit["LIMIT_QUOTA_BYTES"].number, value=10 << 30)],
                 clear=[Limit["LIMIT_REQUESTS_PER_SECOND"].number]))
    add(None, v1("PrincipalRecord", handle="bob.smith", identity="CN=bob", create_time=ts(classes, T0),
                 disabled=True, admin=False,
                 overrides=[v1("LimitOverride", limit=Limit["LIMIT_QUOTA_BYTES"].number, value=10 << 30)],
                 quotas=quotas, rate_limits=rates))

    # --- health ---
    Health = classes["grpc.health.v1.HealthCheckResponse"]
    add("serving", Health(status=Health.SERVING))
    add("not_serving", Health(status=Health.NOT_SERVING))
    return out


def max_map_entries(msg) -> int:
    """The largest number of entries in any map field of msg, nested messages included."""
    most = 0
    for field, value in msg.ListFields():
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            most = max(most, len(value))
            if entry.fields_by_name["value"].message_type is not None:
                most = max([most] + [max_map_entries(v) for v in value.values()])
        elif field.message_type is not None:
            items = value if field.is_repeated else [value]
            most = max([most] + [max_map_entries(v) for v in items])
    return most


def to_json(msg) -> str:
    """The canonical JSON text of a fixture."""
    return json_format.MessageToJson(msg, sort_keys=True, indent=2) + "\n"


def render(classes) -> dict[str, bytes]:
    """Every file the fixtures consist of (path relative to Tests/Fixtures -> content)."""
    files: dict[str, bytes] = {}
    entries = []
    for name, msg in build_fixtures(classes):
        if name + ".binpb" in files:
            raise ValueError(f"duplicate fixture {name}")
        files[name + ".binpb"] = msg.SerializeToString(deterministic=True)
        files[name + ".json"] = to_json(msg).encode()
        entries.append({"name": name, "type": msg.DESCRIPTOR.full_name,
                        "binary": name + ".binpb", "json": name + ".json",
                        "byte_exact": max_map_entries(msg) <= 1})
    manifest = {
        "about": "Contract fixtures written by scripts/make-fixtures.py; do not edit by hand. "
                 "byte_exact: the binary re-encoding must equal the file byte for byte (no map "
                 "holds more than one entry, so there is one valid encoding); otherwise map "
                 "entry order is unspecified and re-encodings are compared as messages.",
        "fixtures": sorted(entries, key=lambda e: e["name"]),
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                              + "\n").encode()
    return files


def write_fixtures(files: dict[str, bytes]) -> None:
    """Writes files under Tests/Fixtures and removes fixtures no longer generated."""
    packages = {p.split("/")[0] for p in files if "/" in p}
    for pkg in packages | {d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d))}:
        pkg_dir = os.path.join(FIXTURES, pkg)
        for entry in sorted(os.listdir(pkg_dir)) if os.path.isdir(pkg_dir) else []:
            if entry.endswith((".binpb", ".json")) and f"{pkg}/{entry}" not in files:
                os.remove(os.path.join(pkg_dir, entry))
    for rel, content in sorted(files.items()):
        path = os.path.join(FIXTURES, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update-baseline", action="store_true",
                    help="also rewrite Tests/Fixtures/api-baseline.binpb from the current Protos/ "
                         "(a deliberate, reviewed change of the API contract)")
    args = ap.parse_args(argv)

    os.makedirs(FIXTURES, exist_ok=True)
    fds = compile_descriptor_set()
    files = render(message_classes(fds))
    write_fixtures(files)
    count = len(json.loads(files["manifest.json"])["fixtures"])
    print(f"make-fixtures: {count} fixtures -> {os.path.relpath(FIXTURES, ROOT)}")
    if args.update_baseline:
        with open(BASELINE, "wb") as f:
            f.write(fds.SerializeToString(deterministic=True))
        print(f"make-fixtures: API baseline ({len(fds.file)} files) -> {os.path.relpath(BASELINE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
