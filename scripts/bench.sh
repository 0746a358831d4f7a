#!/usr/bin/env bash
# Measure this machine's limits, then Sluice's RPC benchmarks against them, in one run.
#
#   scripts/bench.sh          (`make bench` builds release first, then runs this)
#
# Environment:
#   BENCH_DD_MB             size of the disk write test in MiB (default 1024)
#   BENCH_DIR               scratch folder: disk test, server logs, results.jsonl (default .data/bench)
#   BENCH_INTEROP           the sluice-interop binary (default .build/release/sluice-interop)
#   BENCH_CERTS             folder with ca.pem, server.pem, client.pem and keys (default certs)
#   BENCH_STREAMS           concurrency levels, callers or streams (default "1 8 64")
#   BENCH_BULK_BYTES        payload bytes per upload or download run (default 2 GiB)
#   BENCH_MESSAGE_SIZE      message size of uploads and downloads (default 1 MiB)
#   BENCH_UNARY_SIZE        payload of a unary call (default 64 bytes)
#   BENCH_UNARY_SECONDS     length of each unary run (default 5)
#   BENCH_MAX_SECONDS       the longest a bulk run may take; it then stops early (default 60)
#   BENCH_MODES             which Sluice runs, from "unary upload download" (the default)
#   BENCH_REFERENCE         1 (default): also upload to the Python grpcio reference server; 0: not
#   BENCH_REPEAT            runs of each measurement; the table shows the median (default 1)
#   BENCH_ARGS              extra arguments for every `sluice-interop bench`
#   BENCH_METRICS           1 (default): also run unary and upload against a Sluice server with
#                           --metrics-listen (labelled "Sluice+metrics"), to show what metrics cost; 0: not
#   BENCH_PROFILE           1: record `perf` on the Sluice server during the 8-stream upload and
#                           print its top symbols (needs perf; off by default)
#
# The baselines (see DESIGN.md, "Performance targets"):
#   - SHA-256 and AES-128-GCM throughput of one core, as CPU-seconds per GiB: the floor of what
#     a server that receives a TLS upload and hashes it must spend.
#   - sequential disk write with fdatasync: the ceiling for a durable upload.
# The RPC benchmarks, all over mutual TLS on 127.0.0.1, one connection per run:
#   - unary calls per second (UnaryEcho, small payload) with 1, 8 and 64 concurrent callers;
#   - client-streaming upload (ClientStreamEcho) and server-streaming download
#     (ServerStreamEcho) with 1, 8 and 64 concurrent streams of 1 MiB messages;
#   - the same upload against a stock gRPC server (Python grpcio, Tests/Interop/reference_server.py),
#     labelled "reference".
# Each server is a separate process; its CPU time (utime + stime from /proc/PID/stat) is read
# before and after each run and reported per GiB (bulk) or per call (unary). The client's own
# CPU time (getrusage) is reported beside it; client and server share this machine's cores.
# Raw results, one JSON line per run, go to $BENCH_DIR/results.jsonl.
# Benchmarks only; never part of `make test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DD_MB="${BENCH_DD_MB:-1024}"
BENCH_DIR="${BENCH_DIR:-$ROOT/.data/bench}"
INTEROP="${BENCH_INTEROP:-$ROOT/.build/release/sluice-interop}"
CERTS="${BENCH_CERTS:-$ROOT/certs}"
STREAMS="${BENCH_STREAMS:-1 8 64}"
BULK_BYTES="${BENCH_BULK_BYTES:-2147483648}"
MESSAGE_SIZE="${BENCH_MESSAGE_SIZE:-1048576}"
UNARY_SIZE="${BENCH_UNARY_SIZE:-64}"
UNARY_SECONDS="${BENCH_UNARY_SECONDS:-5}"
MAX_SECONDS="${BENCH_MAX_SECONDS:-60}"
MODES="${BENCH_MODES:-unary upload download}"
REFERENCE="${BENCH_REFERENCE:-1}"
PROFILE="${BENCH_PROFILE:-0}"
METRICS="${BENCH_METRICS:-1}"
REPEAT="${BENCH_REPEAT:-1}"
RESULTS="$BENCH_DIR/results.jsonl"
VENV_PYTHON="$ROOT/.venv/bin/python"
GIB=1073741824
CLK_TCK="$(getconf CLK_TCK)"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_REPEAT must be a positive integer" >&2; exit 2; }

# Other work on the machine skews every number below (the client and the server share its
# cores), so the table says how busy it was.
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
    echo "bench: warning: load average is $LOAD_START on $(nproc) cores; results will be noisy" >&2
fi

rows=()   # "name|throughput|server CPU|client CPU|notes" rows for the closing table
pids=()   # servers this script started, killed on exit

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$BENCH_DIR/dd.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
            rows+=("$label (1 core, openssl)|n/a|n/a|-|")
            floor=n/a
            continue
        fi
        rows+=("$label (1 core, openssl)|$(fmt_rate "$rate")|$(cpu_per_gib "$rate")|-|one core, 16 KiB buffers")
        # bench_datapath.py reports its transfers against these instead of measuring again.
        export "BENCH_OPENSSL_$(tr 'a-z-' 'A-Z_' <<<"$alg")=$rate"
        [[ "$floor" == n/a ]] || floor="$(awk -v f="$floor" -v r="$rate" -v g="$GIB" 'BEGIN { print f + g / r }')"
    done
    # Decrypting a TLS upload and hashing it: no server can spend less than this per GiB.
    if [[ "$floor" != n/a ]]; then
        rows+=("floor: TLS receive + SHA-256|-|$(awk -v f="$floor" 'BEGIN { printf "%.2f CPU-s/GiB", f }')|-|AES-128-GCM + SHA-256")
    fi
}

bench_disk() {
    local file="$BENCH_DIR/dd.tmp" t0 t1 rate
    mkdir -p "$BENCH_DIR"
    echo "bench: dd ${DD_MB} MiB with fdatasync to $BENCH_DIR" >&2
    t0="$(date +%s%N)"
    dd if=/dev/zero of="$file" bs=1M count="$DD_MB" conv=fdatasync status=none
    t1="$(date +%s%N)"
    rm -f "$file"
    rate="$(awk -v b="$((DD_MB * 1048576))" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f", b / (ns / 1e9) }')"
    rows+=("disk sequential write (fdatasync)|$(fmt_rate "$rate")|-|-|dd ${DD_MB} MiB, bs=1M")
}

# ---------------------------------------------------------------------------------------------
# RPC benchmarks
# ---------------------------------------------------------------------------------------------

# cpu_ticks PID: user + system CPU time of a process (all its threads), in clock ticks.
# Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may hold spaces, so count
# from the last ')'.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# json_field KEY JSON: the value of a top-level number, boolean or string field.
json_field() { grep -o "\"$1\":[^,}]*" <<<"$2" | head -1 | cut -d: -f2- | tr -d '"'; }

# start_server KIND LOG ARGV...: starts a server that prints "... listening on HOST:PORT",
# waits for that line, and sets SERVER_PID and SERVER_PORT.
start_server() {
    local kind="$1" log="$2" tries
    shift 2
    : >"$log"   # now, not in the background job: a stale line must not be read as this one's
    "$@" >>"$log" 2>&1 &
    SERVER_PID=$!
    pids+=("$SERVER_PID")
    SERVER_PORT=""
    for ((tries = 0; tries < 300; tries++)); do
        SERVER_PORT="$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$log" | head -1)"
        [[ -n "$SERVER_PORT" ]] && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "bench: the $kind server did not start; its log ($log):" >&2
    tail -20 "$log" >&2
    return 1
}

# bench_once PID PORT MODE STREAMS [EXTRA ARGS...]: one `sluice-interop bench` run with the
# server's CPU time read around it. Sets LINE to its JSON line, with "server_cpu_seconds" added.
bench_once() {
    local pid="$1" port="$2" mode="$3" streams="$4" t0 t1 server_cpu
    shift 4
    t0="$(cpu_ticks "$pid")"
    # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
    LINE="$("$INTEROP" bench --server "127.0.0.1:$port" --ca "$CERTS/ca.pem" \
        --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem" \
        --mode "$mode" --streams "$streams" "$@" ${BENCH_ARGS:-})" || return 1
    t1="$(cpu_ticks "$pid")" || return 1
    server_cpu="$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')"
    LINE="${LINE%\}},\"server_cpu_seconds\":$server_cpu}"
}

# run_bench SERVER_LABEL PID PORT MODE STREAMS [EXTRA ARGS...]: BENCH_REPEAT runs, each a JSON
# line in results.jsonl; the run of median throughput becomes a row of the table.
run_bench() {
    local label="$1" pid="$2" port="$3" mode="$4" streams="$5"
    shift 5
    local name unit line key run lines=() bytes calls elapsed server_cpu client_cpu rate server_cost client_cost notes
    unit="streams"; [[ "$mode" == unary ]] && unit="callers"
    [[ "$streams" == 1 ]] && unit="${unit%s}"
    name="$label $mode, $streams $unit"
    key=bytes_per_second; [[ "$mode" == unary ]] && key=calls_per_second
    for ((run = 1; run <= REPEAT; run++)); do
        if ((REPEAT > 1)); then echo "bench: $name ($run/$REPEAT)" >&2; else echo "bench: $name" >&2; fi
        if ! bench_once "$pid" "$port" "$mode" "$streams" "$@"; then
            rows+=("$name|failed|-|-|see the messages above")
            return 0
        fi
        LINE="${LINE%\}},\"server\":\"$label\",\"run\":$run}"
        echo "$LINE" >>"$RESULTS"
        lines+=("$(json_field "$key" "$LINE") $LINE")
    done
    # The median run by throughput (the upper one of an even count).
    line="$(printf '%s\n' "${lines[@]}" | sort -g -k1,1 | sed -n "$((REPEAT / 2 + 1))p" | cut -d' ' -f2-)"

    bytes="$(json_field bytes "$line")"
    calls="$(json_field calls "$line")"
    elapsed="$(json_field elapsed_seconds "$line")"
    server_cpu="$(json_field server_cpu_seconds "$line")"
    client_cpu="$(json_field client_cpu_seconds "$line")"
    if [[ "$mode" == unary ]]; then
        rate="$(awk -v c="$calls" -v s="$elapsed" 'BEGIN { printf "%.0f calls/s", c / s }')"
        server_cost="$(awk -v t="$server_cpu" -v c="$calls" 'BEGIN { printf "%.0f us/call", t / c * 1e6 }')"
        client_cost="$(awk -v t="$client_cpu" -v c="$calls" 'BEGIN { printf "%.0f us/call", t / c * 1e6 }')"
        notes="latency p50 $(json_field latency_p50_us "$line" | cut -d. -f1) us, p99 $(json_field latency_p99_us "$line" | cut -d. -f1) us"
    else
        rate="$(fmt_rate "$(json_field bytes_per_second "$line")")"
        server_cost="$(awk -v t="$server_cpu" -v b="$bytes" -v g="$GIB" 'BEGIN { printf "%.2f CPU-s/GiB", t / (b / g) }')"
        client_cost="$(awk -v t="$client_cpu" -v b="$bytes" -v g="$GIB" 'BEGIN { printf "%.2f CPU-s/GiB", t / (b / g) }')"
        notes="$(awk -v b="$bytes" -v s="$elapsed" 'BEGIN { printf "%.2f GiB in %.1f s", b / 1073741824, s }')"
        [[ "$(json_field complete "$line")" == true ]] || notes+=" (stopped at the time limit)"
    fi
    ((REPEAT == 1)) || notes+="; median of $REPEAT"
    rows+=("$name|$rate|$server_cost|$client_cost|$notes")
}

# run_modes LABEL PID PORT MODES: every mode asked for, at every concurrency level.
run_modes() {
    local label="$1" pid="$2" port="$3" modes="$4" mode streams
    for mode in $modes; do
        for streams in $STREAMS; do
            case "$mode" in
            unary)
                run_bench "$label" "$pid" "$port" unary "$streams" \
                    --message-size "$UNARY_SIZE" --duration-seconds "$UNARY_SECONDS"
                ;;
            upload | download)
                if [[ "$PROFILE" == 1 && "$label" == Sluice && "$mode" == upload && "$streams" == 8 ]]; then
                    profile_server "$pid" "$BENCH_DIR/perf-upload.data" &
                    local perf_pid=$!
                    sleep 0.2
                fi
                run_bench "$label" "$pid" "$port" "$mode" "$streams" \
                    --message-size "$MESSAGE_SIZE" --total-bytes "$BULK_BYTES" --duration-seconds "$MAX_SECONDS"
                if [[ -n "${perf_pid:-}" ]]; then
                    kill -INT "$perf_pid" 2>/dev/null || true
                    wait "$perf_pid" 2>/dev/null || true
                    unset perf_pid
                    report_profile "$BENCH_DIR/perf-upload.data"
                fi
                ;;
            *) echo "bench: unknown mode '$mode' in BENCH_MODES" >&2 ;;
            esac
        done
    done
}

# profile_server PID FILE: samples the server with call graphs until interrupted.
profile_server() {
    rm -f "$2" "$2.old"
    exec perf record -q -F 999 -g -p "$1" -o "$2" 2>/dev/null
}

report_profile() {
    local demangle=(cat)
    command -v swift-demangle >/dev/null && demangle=(swift-demangle --simplified)
    {
        echo "bench: server profile of the 8-stream upload ($1), share of samples by library:"
        perf report -i "$1" --no-children --sort dso --stdio -q -g none 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -10 | sed -E 's/ +$//'
        echo "bench: top symbols (self time; stripped libraries such as libcrypto show as addresses, left out):"
        perf report -i "$1" --no-children --sort dso,symbol --stdio -q -g none 2>/dev/null |
            grep -E '^ +[0-9.]+%' | grep -vE '\] 0x[0-9a-f]+ ' | head -20 | "${demangle[@]}" |
            sed -E 's/ +- +- *$//; s/ {3,}/  /g' | cut -c1-160
    } >&2 || true
}

bench_rpc() {
    if [[ ! -x "$INTEROP" ]]; then
        echo "bench: RPC benchmarks skipped: $INTEROP not built" >&2
        return 0
    fi
    if ! "$INTEROP" --help 2>&1 | grep -qw bench; then
        echo "bench: RPC benchmarks skipped: sluice-interop has no 'bench' subcommand" >&2
        return 0
    fi
    local file
    for file in ca.pem server.pem server-key.pem client.pem client-key.pem; do
        if [[ ! -f "$CERTS/$file" ]]; then
            echo "bench: RPC benchmarks skipped: $CERTS/$file missing (make certs)" >&2
            return 0
        fi
    done
    if [[ "$PROFILE" == 1 ]] && ! command -v perf >/dev/null; then
        echo "bench: BENCH_PROFILE=1 but perf is not installed (apt-get install linux-perf); not profiling" >&2
        PROFILE=0
    fi
    mkdir -p "$BENCH_DIR"
    : >"$RESULTS"

    # Sluice: `sluice-interop serve`, mutual TLS, its default windows (8 MiB per stream,
    # 64 MiB per connection).
    if start_server Sluice "$BENCH_DIR/server-sluice.log" \
        "$INTEROP" serve --listen 127.0.0.1:0 --cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" \
        --client-ca "$CERTS/ca.pem" --require-client-cert --log-level warning; then
        run_modes Sluice "$SERVER_PID" "$SERVER_PORT" "$MODES"
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    else
        rows+=("Sluice server|failed to start|-|-|$BENCH_DIR/server-sluice.log")
    fi

    # The same server with metrics on (swift-metrics + Prometheus, scraped once a second as a
    # monitoring system would): unary and upload only, to compare with the rows above.
    local metrics_modes
    metrics_modes="$(tr ' ' '\n' <<<"$MODES" | grep -xE 'unary|upload' | tr '\n' ' ' || true)"
    if [[ "$METRICS" == 1 && -n "${metrics_modes// /}" ]]; then
        if start_server Sluice+metrics "$BENCH_DIR/server-sluice-metrics.log" \
            "$INTEROP" serve --listen 127.0.0.1:0 --cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" \
            --client-ca "$CERTS/ca.pem" --require-client-cert --log-level warning --metrics-listen 127.0.0.1:0; then
            local metrics_url scraper
            metrics_url="$(sed -n 's/.* metrics at \(http:[^[:space:]]*\).*/\1/p' "$BENCH_DIR/server-sluice-metrics.log" | head -1)"
            (while kill -0 "$SERVER_PID" 2>/dev/null; do curl -fsS -o /dev/null "$metrics_url" || true; sleep 1; done) &
            scraper=$!
            run_modes Sluice+metrics "$SERVER_PID" "$SERVER_PORT" "$metrics_modes"
            kill "$SERVER_PID" 2>/dev/null || true
            wait "$SERVER_PID" 2>/dev/null || true
            kill "$scraper" 2>/dev/null || true
            wait "$scraper" 2>/dev/null || true
        else
            rows+=("Sluice+metrics server|failed to start|-|-|$BENCH_DIR/server-sluice-metrics.log")
        fi
    fi

    # The reference: a stock gRPC server (Python grpcio) with its default settings.
    [[ "$REFERENCE" == 1 ]] || return 0
    if [[ ! -x "$VENV_PYTHON" ]]; then
        echo "bench: .venv missing; making it (scripts/python-venv.sh)" >&2
        scripts/python-venv.sh >&2 || true
    fi
    if ! "$VENV_PYTHON" -c 'import grpc' 2>/dev/null; then
        echo "bench: reference runs skipped: no grpcio in .venv (scripts/python-venv.sh)" >&2
        rows+=("reference (Python grpcio)|skipped|-|-|no grpcio in .venv")
        return 0
    fi
    if start_server reference "$BENCH_DIR/server-reference.log" \
        "$VENV_PYTHON" Tests/Interop/reference_server.py --port 0 --certs "$CERTS"; then
        run_modes "reference (Python grpcio)" "$SERVER_PID" "$SERVER_PORT" upload
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    else
        rows+=("reference (Python grpcio) server|failed to start|-|-|$BENCH_DIR/server-reference.log")
    fi
}

print_table() {
    local format='%-46s %-14s %-17s %-17s %s\n' row name rate server client notes
    # shellcheck disable=SC2059  # the format is ours
    printf "\n$format" "measure" "throughput" "server CPU" "client CPU" "notes"
    # shellcheck disable=SC2059
    printf "$format" "----------------------------------------------" "--------------" "-----------------" \
        "-----------------" "-----"
    for row in "${rows[@]}"; do
        IFS='|' read -r name rate server client notes <<<"$row"
        # shellcheck disable=SC2059
        printf "$format" "$name" "$rate" "$server" "$client" "$notes"
    done
    printf '\n(%s cores, %s; RPCs over mutual TLS on 127.0.0.1, one connection per run;\n' \
        "$(nproc)" "$(openssl version | cut -d' ' -f1-2)"
    printf ' server CPU is the server process'"'"'s utime+stime per GiB received or sent (per call for unary),\n'
    printf ' client CPU the bench client'"'"'s (getrusage); both share the machine'"'"'s cores.\n'
    printf ' For the openssl rows, "server CPU" is what one core spends per GiB.\n'
    printf ' Load average at start %s, at end %s. Raw: %s)\n' "$LOAD_START" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "${RESULTS#"$ROOT"/}"
}

# The storage path: a multi-GiB object through sessions, fsync, PostgreSQL and back, with the
# server's memory sampled throughout (scripts/bench_storage.py; BENCH_STORAGE=0 skips it).
bench_storage() {
    [[ "${BENCH_STORAGE:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: storage run skipped: no .build/release/sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_storage.py"
}

# The CLI: upload and download of 1 MiB, 64 MiB and 1 GiB files with --parallel 1, 4 and 16
# (scripts/bench_cli.py; BENCH_CLI=0 skips it).
bench_cli() {
    [[ "${BENCH_CLI:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluice" || ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: CLI runs skipped: no release sluice and sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_cli.py"
}

# The C client (clients/c) beside the Swift CLI: 1 GiB up and down, and a resumed 256 MiB
# upload (scripts/bench_c.py; BENCH_C=0 skips it).
bench_c() {
    [[ "${BENCH_C:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build-c/sluice-c" || ! -x "$ROOT/.build/release/sluice" ]]; then
        echo "bench: C client runs skipped: no .build-c/sluice-c (make c-client) or release sluice" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_c.py"
}

# Issue 12's data path: PutObject rates (1 and 16 callers) beside a file write+fsync loop,
# 128 KiB vs 8 MiB partitions through the CLI, and commit time against object size
# (scripts/bench_datapath.py; BENCH_DATAPATH=0 skips it).
bench_datapath() {
    [[ "${BENCH_DATAPATH:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluice" || ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: data-path runs skipped: no release sluice and sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_datapath.py"
}

# The change feed: commit-to-event latency with 1, 100 and 1,000 watchers and the cost of an
# idle watcher (scripts/bench_feed.py; BENCH_FEED=0 skips it).
bench_feed() {
    [[ "${BENCH_FEED:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: feed run skipped: no .build/release/sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_feed.py"
}

# The cost of quotas and rate limits: unary calls and an upload with every limit configured
# (high enough never to bite) against none (scripts/bench_limits.py; BENCH_LIMITS=0 skips it).
bench_limits() {
    [[ "${BENCH_LIMITS:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: limits run skipped: no .build/release/sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_limits.py"
}

# sluice sync: a 10,000-file tree, a 1 GiB file and one 8 MiB change in it, watch latency
# (scripts/bench_sync.py; BENCH_SYNC=0 skips it, BENCH_SYNC_QUICK=1 scales it down).
bench_sync() {
    [[ "${BENCH_SYNC:-1}" == 1 ]] || return 0
    if [[ ! -x "$ROOT/.build/release/sluice" || ! -x "$ROOT/.build/release/sluiced" ]]; then
        echo "bench: sync runs skipped: no release sluice and sluiced" >&2
        return 0
    fi
    "$VENV_PYTHON" "$ROOT/scripts/bench_sync.py"
}

bench_crypto
bench_disk
bench_rpc
print_table
bench_storage
bench_cli
bench_c
bench_datapath
bench_feed
bench_limits
bench_sync
