"""Contract fixtures, Python side, and the API compatibility guard.

1. Fixtures (Tests/Fixtures, written by scripts/make-fixtures.py; the Swift side is
   Tests/ContractTests). For every manifest entry, with message classes compiled from the
   current Protos/:
     - the .binpb decodes with no unknown fields; its re-encoding equals the file byte for
       byte when the entry is byte_exact (no map with more than one entry: one valid
       encoding), both with the default and the deterministic serializer; otherwise (map
       entry order is unspecified) the re-encoding decodes to an equal message;
     - the .json parses (unknown names are errors) to the same message, and the message's
       JSON equals the file as parsed JSON;
     - the files are exactly what the generator writes today (fixtures are current).

2. Compatibility. Tests/Fixtures/api-baseline.binpb is the FileDescriptorSet of the public
   API (make-fixtures.BASELINE_DIRS) when it was last accepted. The current Protos/ must
   keep every message, field (number, name, type, type name, label, oneof), enum value and
   service method (types, streaming) of the baseline; additions are fine. A deliberate
   break is accepted by rewriting the baseline: scripts/make-fixtures.py --update-baseline.
   The mutation tests below show the checker catches each kind of break, on descriptors
   edited directly and on .proto text compiled by protoc.

Message classes come from a private descriptor pool (see make-fixtures.py for why), so
nothing here touches the interop suite's generated `sluice` package.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil

import pytest
from google.protobuf import descriptor_pb2, json_format

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(REPO_ROOT, "scripts", "make-fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

FDP = descriptor_pb2.FieldDescriptorProto


def _manifest() -> list[dict]:
    with open(mf.MANIFEST, encoding="utf-8") as f:
        return json.load(f)["fixtures"]


MANIFEST = _manifest()


@pytest.fixture(scope="module")
def current_fds() -> descriptor_pb2.FileDescriptorSet:
    """The current Protos/ (BASELINE_DIRS, imports included)."""
    return mf.compile_descriptor_set()


@pytest.fixture(scope="module")
def classes(current_fds) -> dict:
    return mf.message_classes(current_fds)


@pytest.fixture(scope="module")
def baseline() -> descriptor_pb2.FileDescriptorSet:
    with open(mf.BASELINE, "rb") as f:
        return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def _read(rel: str) -> bytes:
    with open(os.path.join(mf.FIXTURES, rel), "rb") as f:
        return f.read()


def _has_unknown_fields(msg) -> bool:
    """Whether msg or any message inside it carries fields its type does not know."""
    stripped = type(msg)()
    stripped.CopyFrom(msg)
    stripped.DiscardUnknownFields()
    return stripped.ByteSize() != msg.ByteSize()


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

def test_manifest_is_sane():
    names = [e["name"] for e in MANIFEST]
    assert names == sorted(set(names)), "fixture names are unique and sorted"
    assert sum(e["byte_exact"] for e in MANIFEST) >= len(MANIFEST) - 2, \
        "most fixtures should be byte-exact (single-entry maps)"
    assert any(not e["byte_exact"] for e in MANIFEST), "one fixture exercises multi-entry maps"


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_binary_round_trip(entry, classes):
    data = _read(entry["binary"])
    msg = classes[entry["type"]].FromString(data)
    assert not _has_unknown_fields(msg), f"{entry['name']}: fields unknown to {entry['type']}"
    if entry["byte_exact"]:
        assert msg.SerializeToString() == data
        assert msg.SerializeToString(deterministic=True) == data
    else:
        again = classes[entry["type"]].FromString(msg.SerializeToString())
        assert again == msg
        assert mf.max_map_entries(msg) > 1, "not byte_exact only because of multi-entry maps"


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_json_round_trip(entry, classes):
    cls = classes[entry["type"]]
    binary = cls.FromString(_read(entry["binary"]))
    text = _read(entry["json"]).decode("utf-8")
    assert json_format.Parse(text, cls()) == binary
    assert json.loads(json_format.MessageToJson(binary)) == json.loads(text)


def test_fixtures_are_current(classes):
    """The files equal what scripts/make-fixtures.py writes now (rerun it after changes)."""
    expected = mf.render(classes)
    on_disk = {"manifest.json"} | {
        f"{pkg}/{name}" for pkg in os.listdir(mf.FIXTURES) if os.path.isdir(os.path.join(mf.FIXTURES, pkg))
        for name in os.listdir(os.path.join(mf.FIXTURES, pkg)) if name.endswith((".binpb", ".json"))}
    assert on_disk == set(expected), "fixture set changed: run scripts/make-fixtures.py"
    stale = [rel for rel, content in sorted(expected.items()) if _read(rel) != content]
    assert not stale, f"stale fixtures (run scripts/make-fixtures.py): {stale}"


# --------------------------------------------------------------------------
# Compatibility checker
# --------------------------------------------------------------------------

def _index(fds: descriptor_pb2.FileDescriptorSet):
    """Fully qualified name (no leading dot) -> DescriptorProto / EnumDescriptorProto /
    ServiceDescriptorProto, nested types included."""
    messages, enums, services = {}, {}, {}

    def walk(prefix: str, m: descriptor_pb2.DescriptorProto) -> None:
        full = f"{prefix}{m.name}"
        messages[full] = m
        for nested in m.nested_type:
            walk(full + ".", nested)
        for e in m.enum_type:
            enums[f"{full}.{e.name}"] = e

    for f in fds.file:
        prefix = f"{f.package}." if f.package else ""
        for m in f.message_type:
            walk(prefix, m)
        for e in f.enum_type:
            enums[prefix + e.name] = e
        for s in f.service:
            services[prefix + s.name] = s
    return messages, enums, services


def _field_signature(m: descriptor_pb2.DescriptorProto, f: FDP) -> dict:
    """What a field means on the wire and in JSON. Synthetic oneofs (proto3 `optional`)
    do not count as oneof membership."""
    real_oneof = f.HasField("oneof_index") and not f.proto3_optional
    return {
        "name": f.name,
        "json_name": f.json_name,
        "type": FDP.Type.Name(f.type),
        "type_name": f.type_name,
        "label": FDP.Label.Name(f.label),
        "oneof": m.oneof_decl[f.oneof_index].name if real_oneof else None,
    }


def compatibility_problems(baseline: descriptor_pb2.FileDescriptorSet,
                           current: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Everything of the baseline the current descriptors break; [] when compatible."""
    problems: list[str] = []
    b_msgs, b_enums, b_svcs = _index(baseline)
    c_msgs, c_enums, c_svcs = _index(current)

    for full, bm in sorted(b_msgs.items()):
        cm = c_msgs.get(full)
        if cm is None:
            problems.append(f"message {full}: removed")
            continue
        c_by_number = {f.number: f for f in cm.field}
        c_by_name = {f.name: f for f in cm.field}
        for bf in bm.field:
            cf = c_by_number.get(bf.number)
            if cf is None:
                moved = c_by_name.get(bf.name)
                if moved is not None:
                    problems.append(f"field {full}.{bf.name}: renumbered {bf.number} -> {moved.number}")
                else:
                    problems.append(f"field {full}.{bf.name} = {bf.number}: removed")
                continue
            b_sig, c_sig = _field_signature(bm, bf), _field_signature(cm, cf)
            for key in b_sig:
                if b_sig[key] != c_sig[key]:
                    problems.append(f"field {full}.{bf.name} = {bf.number}: {key} changed "
                                    f"{b_sig[key]!r} -> {c_sig[key]!r}")
            if cf.name != bf.name and bf.name in c_by_name:
                problems.append(f"field {full}.{bf.name}: renumbered {bf.number} -> "
                                f"{c_by_name[bf.name].number}")

    for full, be in sorted(b_enums.items()):
        ce = c_enums.get(full)
        if ce is None:
            problems.append(f"enum {full}: removed")
            continue
        c_values = {v.number: v.name for v in ce.value}
        c_numbers = {v.name: v.number for v in ce.value}
        for bv in be.value:
            if bv.number not in c_values:
                if bv.name in c_numbers:
                    problems.append(f"enum value {full}.{bv.name}: renumbered {bv.number} -> "
                                    f"{c_numbers[bv.name]}")
                else:
                    problems.append(f"enum value {full}.{bv.name} = {bv.number}: removed")
            elif c_values[bv.number] != bv.name:
                problems.append(f"enum value {full}.{bv.name} = {bv.number}: renamed to "
                                f"{c_values[bv.number]}")

    for full, bs in sorted(b_svcs.items()):
        cs = c_svcs.get(full)
        if cs is None:
            problems.append(f"service {full}: removed")
            continue
        c_methods = {m.name: m for m in cs.method}
        for bmeth in bs.method:
            cmeth = c_methods.get(bmeth.name)
            if cmeth is None:
                problems.append(f"method {full}/{bmeth.name}: removed")
                continue
            for key in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(bmeth, key) != getattr(cmeth, key):
                    problems.append(f"method {full}/{bmeth.name}: {key} changed "
                                    f"{getattr(bmeth, key)!r} -> {getattr(cmeth, key)!r}")
    return problems


def test_current_protos_keep_the_baseline(baseline, current_fds):
    problems = compatibility_problems(baseline, current_fds)
    assert not problems, (
        "Protos/ breaks the API baseline (Tests/Fixtures/api-baseline.binpb):\n  "
        + "\n  ".join(problems)
        + "\nIf the break is deliberate, run scripts/make-fixtures.py --update-baseline.")


def test_baseline_covers_the_public_api(baseline):
    names = sorted(f.name for f in baseline.file)
    for expected in ("sluice/v1/upload_sessions.proto", "sluice/v1/objects.proto",
                     "sluice/v1/partitions.proto", "grpc/health/v1/health.proto",
                     "grpc/reflection/v1/reflection.proto"):
        assert expected in names
    assert not any(n.startswith("sluice/interop/") for n in names)


# --- the checker catches each kind of break (mutations of a copy of the baseline) ---

def _message(fds, full: str) -> descriptor_pb2.DescriptorProto:
    return _index(fds)[0][full]


def _field(fds, message: str, name: str) -> FDP:
    return next(f for f in _message(fds, message).field if f.name == name)


def _method(fds, service: str, name: str):
    return next(m for m in _index(fds)[2][service].method if m.name == name)


def _remove_field(fds):
    fields = _message(fds, "sluice.v1.ObjectInfo").field
    fields.remove(_field(fds, "sluice.v1.ObjectInfo", "size"))


def _renumber_field(fds):
    _field(fds, "sluice.v1.ObjectInfo", "size").number = 30


def _retype_field(fds):
    _field(fds, "sluice.v1.ObjectInfo", "version").type = FDP.TYPE_STRING


def _change_message_type(fds):
    _field(fds, "sluice.v1.ObjectInfo", "partitions").type_name = ".sluice.v1.ObjectInfo"


def _make_singular(fds):
    _field(fds, "sluice.v1.CreateSessionRequest", "partition_sha256").label = FDP.LABEL_OPTIONAL


def _rename_field(fds):
    _field(fds, "sluice.v1.UploadSession", "stored_bytes").name = "bytes_stored"


def _reuse_number(fds):
    f = _field(fds, "sluice.v1.GetObjectRequest", "version")
    f.name, f.json_name, f.type = "generation", "generation", FDP.TYPE_STRING


def _leave_oneof(fds):
    _field(fds, "sluice.v1.UploadPartitionRequest", "data").ClearField("oneof_index")


def _streaming_flag(fds):
    _method(fds, "sluice.v1.ObjectService", "ReadObject").server_streaming = False


def _method_input(fds):
    _method(fds, "sluice.v1.ObjectService", "GetObject").input_type = ".sluice.v1.ReadObjectRequest"


def _remove_method(fds):
    methods = _index(fds)[2]["sluice.v1.PartitionService"].method
    methods.remove(_method(fds, "sluice.v1.PartitionService", "ReadPartition"))


def _renumber_enum_value(fds):
    state = _index(fds)[1]["sluice.v1.UploadSession.State"]
    next(v for v in state.value if v.name == "OPEN").number = 7


def _remove_message(fds):
    for f in fds.file:
        if f.name == "sluice/v1/partitions.proto":
            f.message_type.remove(next(m for m in f.message_type if m.name == "ReadPartitionResponse"))


MUTATIONS = [
    (_remove_field, "field sluice.v1.ObjectInfo.size = 3: removed"),
    (_renumber_field, "field sluice.v1.ObjectInfo.size: renumbered 3 -> 30"),
    (_retype_field, "field sluice.v1.ObjectInfo.version = 2: type changed 'TYPE_INT64' -> 'TYPE_STRING'"),
    (_change_message_type, "field sluice.v1.ObjectInfo.partitions = 11: type_name changed"),
    (_make_singular, "field sluice.v1.CreateSessionRequest.partition_sha256 = 4: label changed"),
    (_rename_field, "field sluice.v1.UploadSession.stored_bytes = 7: name changed"),
    (_reuse_number, "field sluice.v1.GetObjectRequest.version = 2: name changed 'version' -> 'generation'"),
    (_leave_oneof, "field sluice.v1.UploadPartitionRequest.data = 2: oneof changed 'message' -> None"),
    (_streaming_flag, "method sluice.v1.ObjectService/ReadObject: server_streaming changed True -> False"),
    (_method_input, "method sluice.v1.ObjectService/GetObject: input_type changed"),
    (_remove_method, "method sluice.v1.PartitionService/ReadPartition: removed"),
    (_renumber_enum_value, "enum value sluice.v1.UploadSession.State.OPEN: renumbered 1 -> 7"),
    (_remove_message, "message sluice.v1.ReadPartitionResponse: removed"),
]


@pytest.mark.parametrize("mutate,expected", MUTATIONS, ids=[m.__name__.strip("_") for m, _ in MUTATIONS])
def test_checker_reports_breaks(baseline, mutate, expected):
    mutated = copy.deepcopy(baseline)
    mutate(mutated)
    assert mutated != baseline, "the mutation changed nothing"
    problems = compatibility_problems(baseline, mutated)
    assert any(p.startswith(expected) for p in problems), problems


def test_checker_reads_real_proto_edits(baseline, tmp_path):
    """End to end: edited .proto text, compiled by protoc like the real check."""
    root = tmp_path / "Protos"
    shutil.copytree(mf.PROTOS, root)
    objects = root / "sluice" / "v1" / "objects.proto"
    text = objects.read_text()
    for old, new in (
        ("  // The version; 0 means the current one.\n  int64 version = 2;\n  // Handle of the principal whose object",
         "  // The version; 0 means the current one.\n  string version = 2;\n  // Handle of the principal whose object"),
        ("returns (stream ReadObjectResponse)", "returns (ReadObjectResponse)"),
        ("  int64 deleted_versions = 1;", "  int64 deleted_versions = 2;"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    objects.write_text(text)
    problems = compatibility_problems(baseline, mf.compile_descriptor_set(protos_root=str(root)))
    assert problems == [
        "field sluice.v1.DeleteObjectResponse.deleted_versions: renumbered 1 -> 2",
        "field sluice.v1.GetObjectRequest.version = 2: type changed 'TYPE_INT64' -> 'TYPE_STRING'",
        "method sluice.v1.ObjectService/ReadObject: server_streaming changed True -> False",
    ]


def test_checker_allows_additions(baseline):
    grown = copy.deepcopy(baseline)
    info = _message(grown, "sluice.v1.ObjectInfo")
    info.field.add(name="etag", number=100, type=FDP.TYPE_STRING, label=FDP.LABEL_OPTIONAL,
                   json_name="etag")
    info.nested_type.add(name="Extra")
    state = _index(grown)[1]["sluice.v1.UploadSession.State"]
    state.value.add(name="PAUSED", number=5)
    svc = _index(grown)[2]["sluice.v1.ObjectService"]
    svc.method.add(name="CopyObject", input_type=".sluice.v1.GetObjectRequest",
                   output_type=".sluice.v1.ObjectInfo")
    next(f for f in grown.file if f.name == "sluice/v1/objects.proto").message_type.add(name="CopyObjectRequest")
    assert compatibility_problems(baseline, grown) == []
