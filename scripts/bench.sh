#!/usr/bin/env bash
# Measure this machine's limits, then (once they exist) Sluice's RPC benchmarks against them.
#
#   scripts/bench.sh          (`make bench` builds release first, then runs this)
#
# Environment:
#   BENCH_DD_MB     size of the disk write test in MiB (default 1024)
#   BENCH_DIR       scratch folder for the disk test (default .data/bench)
#   BENCH_ARGS      extra arguments for `sluice-interop bench`
#
# The baselines (see DESIGN.md, "Performance targets"):
#   - SHA-256 and AES-128-GCM throughput of one core, as CPU-seconds per GiB: the floor of what
#     a server that receives a TLS upload and hashes it must spend.
#   - sequential disk write with fdatasync: the ceiling for a durable upload.
# Benchmarks only; never part of `make test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DD_MB="${BENCH_DD_MB:-1024}"
BENCH_DIR="${BENCH_DIR:-$ROOT/.data/bench}"
INTEROP="$ROOT/.build/release/sluice-interop"
GIB=1073741824

rows=()   # "name|throughput|cost" rows for the closing table

# openssl_speed ALGORITHM: bytes per second of one core on 16 KiB buffers, for one second.
openssl_speed() {
    # -mr prints "+F:<n>:<alg>:<bytes per second>" for the one buffer size asked for.
    openssl speed -mr -seconds 1 -bytes 16384 -evp "$1" 2>/dev/null | awk -F: '/^\+F:/ { print $4 }' | tail -1
}

# fmt_rate BYTES_PER_SECOND -> "1.23 GB/s" (decimal, like dd and most tools)
fmt_rate() { awk -v r="$1" 'BEGIN { if (r >= 1e9) printf "%.2f GB/s", r / 1e9; else printf "%.0f MB/s", r / 1e6 }'; }

# cpu_per_gib BYTES_PER_SECOND -> CPU-seconds per GiB for a single-threaded loop
cpu_per_gib() { awk -v r="$1" -v g="$GIB" 'BEGIN { printf "%.2f CPU-s/GiB", g / r }'; }

bench_crypto() {
    local alg label rate floor=0
    for alg in sha256:SHA-256 aes-128-gcm:AES-128-GCM; do
        label="${alg#*:}"; alg="${alg%%:*}"
        echo "bench: openssl speed -evp $alg (1 s)" >&2
        rate="$(openssl_speed "$alg")"
        if [[ -z "$rate" ]]; then
            rows+=("$label (1 core, openssl)|n/a|n/a")
            floor=n/a
            continue
        fi
        rows+=("$label (1 core, openssl)|$(fmt_rate "$rate")|$(cpu_per_gib "$rate")")
        [[ "$floor" == n/a ]] || floor="$(awk -v f="$floor" -v r="$rate" -v g="$GIB" 'BEGIN { print f + g / r }')"
    done
    # Decrypting a TLS upload and hashing it: no server can spend less than this per GiB.
    if [[ "$floor" != n/a ]]; then
        rows+=("floor: TLS receive + SHA-256|-|$(awk -v f="$floor" 'BEGIN { printf "%.2f CPU-s/GiB", f }')")
    fi
}

bench_disk() {
    local file="$BENCH_DIR/dd.tmp" t0 t1 rate
    mkdir -p "$BENCH_DIR"
    trap 'rm -f "$BENCH_DIR/dd.tmp"' EXIT
    echo "bench: dd ${DD_MB} MiB with fdatasync to $BENCH_DIR" >&2
    t0="$(date +%s%N)"
    dd if=/dev/zero of="$file" bs=1M count="$DD_MB" conv=fdatasync status=none
    t1="$(date +%s%N)"
    rm -f "$file"
    rate="$(awk -v b="$((DD_MB * 1048576))" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f", b / (ns / 1e9) }')"
    rows+=("disk sequential write (fdatasync)|$(fmt_rate "$rate")|-")
}

# ---------------------------------------------------------------------------------------------
# >>> RPC BENCHMARKS: to be filled in. <<<
# Runs `sluice-interop bench` once the binary has that subcommand (checked through --help), e.g.
# a client-streaming upload of 1 MiB messages over mutual TLS, reporting GB/s and server
# CPU-s/GiB next to the baselines above, and a durable upload through the whole product path
# compared with the disk's fdatasync bandwidth. Until then this step says it was skipped.
# ---------------------------------------------------------------------------------------------
bench_rpc() {
    if [[ ! -x "$INTEROP" ]]; then
        echo "bench: RPC benchmarks skipped: $INTEROP not built" >&2
        return 0
    fi
    if ! "$INTEROP" --help 2>&1 | grep -qw bench; then
        echo "bench: RPC benchmarks skipped: sluice-interop has no 'bench' subcommand yet" >&2
        return 0
    fi
    echo "bench: sluice-interop bench" >&2
    # TODO: pass the real options (certificates, sizes, durations) and add its numbers to rows.
    # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
    "$INTEROP" bench ${BENCH_ARGS:-}
}

print_table() {
    printf '\n%-36s %-12s %s\n' "measure" "throughput" "cost"
    printf '%-36s %-12s %s\n' "------------------------------------" "------------" "-------------"
    local row name rate cost
    for row in "${rows[@]}"; do
        IFS='|' read -r name rate cost <<<"$row"
        printf '%-36s %-12s %s\n' "$name" "$rate" "$cost"
    done
    printf '\n(%s cores, %s)\n' "$(nproc)" "$(openssl version | cut -d' ' -f1-2)"
}

bench_crypto
bench_disk
print_table
bench_rpc
