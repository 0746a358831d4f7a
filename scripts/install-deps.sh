#!/usr/bin/env bash
# Install the system packages Sluice builds and tests against (Debian 12), only those missing.
#
#   scripts/install-deps.sh [EXTRA_PACKAGE...]
#
# Fast when everything is present: one dpkg-query, no network. `apt-get update` runs only when
# something must be installed. Needs root (or sudo) only in that case.
set -euo pipefail

PACKAGES=(
    libnghttp2-dev      # HTTP/2 framing, HPACK, flow control (CNGHTTP2)
    libssl-dev          # TLS and SHA-256 (COpenSSL)
    libpq-dev           # PostgreSQL client library (CLibPQ)
    libcurl4-openssl-dev # HTTP(S) to S3-compatible blob storage (CCurl)
    zlib1g-dev          # gzip message compression (CZlib)
    protobuf-compiler   # protoc, for `make protos`
    libprotobuf-dev     # the well-known .proto files protoc imports
    openssl             # the CLI, for scripts/make-certs.sh and `make bench`
    postgresql          # a PostgreSQL server for the metadata store in tests and `make run`
    python3-venv        # `python3 -m venv` for the interop tests, when python3 is Debian's
    protobuf-c-compiler # protoc-c, messages for the C client (clients/c)
    libprotobuf-c-dev   # the protobuf-c runtime the C client links against
    pkg-config          # the C client's compiler and linker flags
    "$@"
)

# dpkg-query prints one line per known package; anything not "installed" (or unknown) is missing.
missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} system packages present"
else
    echo "install-deps: installing ${missing[*]}"
    SUDO=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Wait for a concurrent apt/dpkg (e.g. unattended upgrades) instead of failing at once.
    APT=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    "${SUDO[@]}" "${APT[@]}" update -qq
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

# Swift itself cannot come from apt here; say so plainly rather than fail later in `swift build`.
if ! command -v swift >/dev/null && [[ ! -x /opt/swift/usr/bin/swift ]]; then
    echo "install-deps: warning: swift not found on PATH nor at /opt/swift/usr/bin" >&2
fi
