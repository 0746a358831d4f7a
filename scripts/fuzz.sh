#!/usr/bin/env bash
# Build the libFuzzer targets (Fuzz/Sources) with address sanitizer and run each for a while.
#
#   scripts/fuzz.sh            build, then run every target for FUZZ_SECONDS (what `make fuzz` does)
#   scripts/fuzz.sh build      build only
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   targets to run (default: all, see below)
#   FUZZ_CONFIG    debug (default: quickest to build) or release (several times the
#                  executions per second, for long runs)
#
# Targets are built into .build-fuzz (the package includes them only when SLUICE_FUZZ=1, so
# the normal build never compiles them). Each run starts from the seed corpus in
# Fuzz/Corpus/<target> and keeps what it discovers in .build-fuzz/corpus/<target>; a crashing
# input is saved as .build-fuzz/artifacts/<target>-crash-… (add it to Fuzz/Corpus/<target>
# once fixed, as a regression input). The script ends with a table of executions per target
# and fails if any target found a crash.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

ALL_TARGETS=(FuzzDeframer FuzzServerConnection FuzzMetadata FuzzPageToken FuzzObjectValidation FuzzClientFiles)
read -r -a TARGETS <<<"${FUZZ_TARGETS:-${ALL_TARGETS[*]}}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
SCRATCH=.build-fuzz
export SLUICE_FUZZ=1
# One -sanitize flag with both: SwiftPM's --sanitize=fuzzer --sanitize=address passes two, and
# swiftc keeps only the last, which leaves the code without coverage instrumentation.
# The targets use @testable imports, hence -enable-testing (implied in debug builds).
BUILD=(swift build --scratch-path "$SCRATCH" -c "${FUZZ_CONFIG:-debug}" -Xswiftc -sanitize=fuzzer,address)
[[ "${FUZZ_CONFIG:-debug}" == release ]] && BUILD+=(-Xswiftc -enable-testing)

# The sanitized build reuses the dependency checkouts of the normal build when there are
# some, so it needs no network.
if [[ ! -d "$SCRATCH/checkouts" && -d .build/checkouts ]]; then
    mkdir -p "$SCRATCH"
    cp -a .build/checkouts .build/repositories "$SCRATCH"/ 2>/dev/null || true
    cp -a .build/workspace-state.json "$SCRATCH"/ 2>/dev/null || true
fi

build_started=$SECONDS
for target in "${TARGETS[@]}"; do
    # gold warns about every ASan report stub when linking with -sanitize=address; harmless.
    "${BUILD[@]}" --product "$target" 2>&1 | { grep -v "Cannot export local symbol '__asan_" || true; }
done
echo "fuzz: built ${TARGETS[*]} in $((SECONDS - build_started)) s"
[[ "${1:-}" == build ]] && exit 0

BIN="$("${BUILD[@]}" --show-bin-path)"
mkdir -p "$SCRATCH/artifacts"
summary=()
failed=0
total_runs=0
for target in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/corpus/$target" "Fuzz/Corpus/$target"
    log="$SCRATCH/$target.log"
    printf '\n==> %s for %s s\n' "$target" "$SECONDS_PER_TARGET"
    status=0
    # Swift's own crash backtracer would race libFuzzer's report (and trips ASan); libFuzzer
    # reports the crash and saves the input.
    # Leak checking is off (per input and at exit): the Swift runtime's caches and the
    # server's connections outlive a single input by design.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$BIN/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=3072 -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix="$SCRATCH/artifacts/$target-" \
        "$SCRATCH/corpus/$target" "Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    runs="${runs:-0}"
    total_runs=$((total_runs + runs))
    if ((status == 0)); then
        summary+=("$(printf '%-22s %12s runs  ok' "$target" "$runs")")
    else
        failed=1
        tail -40 "$log"
        summary+=("$(printf '%-22s %12s runs  FAILED (exit %s; see %s)' "$target" "$runs" "$status" "$log")")
    fi
done

printf '\n==> fuzz summary (%s s per target)\n' "$SECONDS_PER_TARGET"
printf '%s\n' "${summary[@]}"
printf '%-22s %12s runs\n' total "$total_runs"
((failed == 0))
