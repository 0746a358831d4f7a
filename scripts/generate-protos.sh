#!/usr/bin/env bash
# Regenerate Sources/SluiceProto/Generated from every .proto under Protos/ (`make protos`).
#
#   scripts/generate-protos.sh
#
# Runs protoc once over all files with two plugins:
#   protoc-gen-swift    messages (swift-protobuf), public, files named by their path
#                       with "/" turned into "_" (grpc/health/v1/health.proto ->
#                       grpc_health_v1_health.pb.swift), so equal base names cannot collide;
#   protoc-gen-sluice   service namespaces, server protocols and client stubs
#                       (*.sluice.swift), and SluiceProtoFiles.swift, the descriptors of
#                       every file and its imports for server reflection.
# It also writes Protos/descriptor-set.binpb (all files, imports included), committed so
# that a change to the wire contract shows up in review.
#
# protoc-gen-swift is built from apple/swift-protobuf at the pinned version into
# .build-tools/ when missing. The Sluice plugin is Python and needs the `protobuf`
# package: .venv is used when it has it, else .build-tools/venv is made.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SWIFT_PROTOBUF_VERSION="1.39.0"
TOOLS="$ROOT/.build-tools"
OUT="Sources/SluiceProto/Generated"
SLUICE_PLUGIN="$ROOT/Tools/protoc-gen-sluice/protoc-gen-sluice"
SWIFT_PLUGIN="${PROTOC_GEN_SWIFT:-$TOOLS/swift-protobuf/.build/release/protoc-gen-swift}"

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v protoc >/dev/null || { echo "generate-protos: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }

# protoc-gen-swift, built once at the pinned version.
if [[ ! -x "$SWIFT_PLUGIN" ]]; then
    echo "generate-protos: building protoc-gen-swift $SWIFT_PROTOBUF_VERSION"
    mkdir -p "$TOOLS"
    if [[ ! -d "$TOOLS/swift-protobuf/.git" ]]; then
        rm -rf "$TOOLS/swift-protobuf"
        git clone --quiet --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" \
            https://github.com/apple/swift-protobuf.git "$TOOLS/swift-protobuf"
    fi
    swift build --package-path "$TOOLS/swift-protobuf" -c release --product protoc-gen-swift
fi

# A Python with the protobuf package for protoc-gen-sluice.
has_protobuf() { [[ -x "$1" ]] && "$1" -c 'import google.protobuf' 2>/dev/null; }
if has_protobuf "$ROOT/.venv/bin/python"; then
    PYTHON_BIN="$ROOT/.venv/bin"
else
    if ! has_protobuf "$TOOLS/venv/bin/python"; then
        echo "generate-protos: creating .build-tools/venv with protobuf"
        python3 -m venv "$TOOLS/venv"
        "$TOOLS/venv/bin/python" -m pip install --disable-pip-version-check --no-input -q protobuf
    fi
    PYTHON_BIN="$TOOLS/venv/bin"
fi

mapfile -t PROTOS < <(cd Protos && find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
[[ ${#PROTOS[@]} -gt 0 ]] || { echo "generate-protos: no .proto files under Protos/" >&2; exit 1; }

# Generate into a fresh directory, then replace the old output whole, so files of a
# deleted .proto do not linger and a failed run leaves the old output in place.
STAGING="$(mktemp -d)"
trap 'rm -rf "$STAGING"' EXIT
# The plugin's `#!/usr/bin/env python3` finds the chosen Python first on PATH.
PATH="$PYTHON_BIN:$PATH" protoc \
    --proto_path=Protos \
    --plugin=protoc-gen-swift="$SWIFT_PLUGIN" \
    --plugin=protoc-gen-sluice="$SLUICE_PLUGIN" \
    --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --swift_out="$STAGING" \
    --sluice_opt=registry=true \
    --sluice_out="$STAGING" \
    --include_imports --descriptor_set_out=Protos/descriptor-set.binpb \
    "${PROTOS[@]}"

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$STAGING"/*.swift "$OUT"/
echo "generate-protos: ${#PROTOS[@]} .proto files -> $OUT ($(ls "$OUT" | wc -l) Swift files), Protos/descriptor-set.binpb"
