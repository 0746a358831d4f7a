#!/usr/bin/env bash
# A project-local, throwaway PostgreSQL cluster for development and tests.
#
#   scripts/postgres.sh start     initdb on first use, start, wait until ready (idempotent)
#   scripts/postgres.sh stop      fast shutdown (idempotent)
#   scripts/postgres.sh status    "running ..." (exit 0) or "stopped" (exit 3)
#   scripts/postgres.sh url       the libpq URI of database `sluice` (works whether running or not)
#   scripts/postgres.sh psql ...  psql connected to that URI, extra arguments passed on
#   scripts/postgres.sh destroy   stop, then delete the whole cluster (.data/postgres)
#
# Layout (all under the project, ignored by git through .data/):
#   .data/postgres/data      the cluster (PGDATA), mode 0700
#   .data/postgres/socket    the Unix socket directory: .s.PGSQL.54329 lives here
#   .data/postgres/log       the server log (a file)
#   .data/postgres/.lock     flock(1) lock, so concurrent start/stop calls do not race
#
# The server listens on the Unix socket only (listen_addresses = ''), on port 54329 so the socket
# file never collides with a system cluster's .s.PGSQL.5432. Authentication is `trust`: whoever
# can reach the socket is any role, the superuser `postgres` included. That is fine for a
# throwaway development cluster and the reason the socket is reachable only by its owner's
# group (and root). Never point this script at data you care about.
#
# initdb and pg_ctl refuse to run as root. Run as root, the script runs them as the `postgres`
# system user (runuser): .data/postgres is owned by that user, and the path down to it must be
# traversable (o+x) for it; the script checks each directory and adds o+x only where it is
# missing, saying so. Run as any other user, the cluster belongs to that user and nothing is
# chown'ed or chmod'ed.
#
# A crash can leave a stale postmaster.pid whose PID now belongs to another process (after a
# container restart, PIDs are reused); the postmaster would then refuse to start. `start` treats
# the file as live only if that PID is a process whose working directory is this cluster's data
# directory (a postmaster chdirs there), and otherwise removes it and the socket lock file.
#
# Environment:
#   SLUICE_PG_PORT        port number, i.e. the socket file's name (default 54329)
#   SLUICE_PG_SOCKET_DIR  socket directory (default .data/postgres/socket); set it when the project
#                         path is so long that the socket path exceeds the 107-byte Unix limit
#   SLUICE_PG_BINDIR      directory of initdb/pg_ctl/postgres (default: newest /usr/lib/postgresql/*/bin)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/.data/postgres"
DATA="$BASE/data"
SOCK="${SLUICE_PG_SOCKET_DIR:-$BASE/socket}"
LOG="$BASE/log"
LOCK="$BASE/.lock"
PORT="${SLUICE_PG_PORT:-54329}"
DATABASE=sluice
SUPERUSER=postgres
START_TIMEOUT=120   # seconds; crash recovery after an unclean stop can take a while

die() { echo "postgres.sh: $*" >&2; exit 1; }
note() { echo "postgres.sh: $*" >&2; }

# --- where the server binaries are -----------------------------------------------------------
find_bindir() {
    if [[ -n "${SLUICE_PG_BINDIR:-}" ]]; then
        echo "$SLUICE_PG_BINDIR"; return
    fi
    local dir
    dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"; return
    fi
    dir="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
    [[ -x "$dir/pg_ctl" ]] || die "no PostgreSQL server found (apt-get install postgresql, or set SLUICE_PG_BINDIR)"
    echo "$dir"
}

# --- who runs the server -----------------------------------------------------------------------
# As root: the postgres system user. Otherwise: the current user.
if ((EUID == 0)); then
    id -u postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the server as"
    as_owner() { (cd "$BASE" && runuser -u postgres -- "$@" 9>&-); }
else
    as_owner() { (cd "$BASE" && "$@" 9>&-); }
fi

# --- the libpq URI -----------------------------------------------------------------------------
# Percent-encode everything but unreserved characters and '/', byte by byte.
uri_encode() {
    local LC_ALL=C s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9/._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

url() {
    printf 'postgresql:///%s?host=%s&port=%s&user=%s\n' \
        "$DATABASE" "$(uri_encode "$SOCK")" "$PORT" "$SUPERUSER"
}

# --- layout and permissions --------------------------------------------------------------------
# Make .data/postgres owned by the server's user, and make sure that user can reach it.
prepare_layout() {
    local socket_file="$SOCK/.s.PGSQL.$PORT"
    ((${#socket_file} <= 107)) \
        || die "socket path $socket_file is longer than 107 bytes; set SLUICE_PG_SOCKET_DIR to a shorter directory"

    mkdir -p "$BASE"
    if ((EUID == 0)); then
        [[ "$(stat -c %U "$BASE")" == postgres ]] || chown postgres:postgres "$BASE"
        [[ -d "$SOCK" ]] || install -d -o postgres -g postgres -m 0750 "$SOCK"
        ensure_reachable "$BASE"
        ensure_reachable "$SOCK"
    fi
    as_owner mkdir -p "$SOCK"
    as_owner chmod 0750 "$SOCK"
}

# ensure_reachable DIR: every directory from / down to DIR's parent must be searchable (x) by the
# postgres user; add o+x (search only, not read) where it is not, and say so.
ensure_reachable() {
    local dir="$1" dirs=()
    while [[ "$dir" != / ]]; do
        dir="$(dirname "$dir")"
        dirs=("$dir" "${dirs[@]}")
    done
    for dir in "${dirs[@]}"; do
        if ! runuser -u postgres -- test -x "$dir"; then
            chmod o+x "$dir"
            note "added o+x to $dir so that the postgres user can reach $1"
        fi
    done
}

# --- is the server running? ----------------------------------------------------------------------
# The PID in postmaster.pid, if that PID is a live process whose working directory is $DATA
# (a postmaster chdirs to its data directory); empty otherwise.
live_postmaster_pid() {
    local pidfile="$DATA/postmaster.pid" pid cwd
    [[ -f "$pidfile" ]] || return 0
    pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
    [[ -n "$cwd" && "$cwd" -ef "$DATA" ]] && echo "$pid"
    return 0
}

is_ready() {
    "$BINDIR/pg_isready" -q -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres -t 2 >/dev/null 2>&1
}

# Remove postmaster.pid and the socket's lock file when no live postmaster owns them.
remove_stale_files() {
    if [[ -f "$DATA/postmaster.pid" && -z "$(live_postmaster_pid)" ]]; then
        rm -f "$DATA/postmaster.pid"
        note "removed a stale $DATA/postmaster.pid (left by a crash)"
    fi
    local sock_lock="$SOCK/.s.PGSQL.$PORT.lock" pid cwd
    if [[ -f "$sock_lock" ]]; then
        pid="$(head -n 1 "$sock_lock" 2>/dev/null || true)"
        cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
        if ! [[ -n "$cwd" && "$cwd" -ef "$DATA" ]]; then
            rm -f "$sock_lock" "$SOCK/.s.PGSQL.$PORT"
            note "removed a stale socket lock $sock_lock"
        fi
    fi
}

# --- initdb --------------------------------------------------------------------------------------
init_cluster() {
    [[ -f "$DATA/PG_VERSION" ]] && return 0
    [[ -e "$DATA" ]] && die "$DATA exists but is not a cluster (no PG_VERSION); run '$0 destroy' to start over"
    note "initdb $DATA"
    # Into a temporary directory first: an interrupted initdb never leaves a half cluster at $DATA.
    as_owner rm -rf "$DATA.initdb"
    if ! as_owner "$BINDIR/initdb" -D "$DATA.initdb" --auth=trust --username="$SUPERUSER" \
        --encoding=UTF8 --locale=C >"$BASE/initdb.log" 2>&1; then
        cat "$BASE/initdb.log" >&2
        die "initdb failed (output above, also in $BASE/initdb.log)"
    fi
    printf "\n# Settings owned by scripts/postgres.sh, rewritten on every start.\ninclude_if_exists = 'sluice.conf'\n" \
        | as_owner tee -a "$DATA.initdb/postgresql.conf" >/dev/null
    as_owner mv "$DATA.initdb" "$DATA"
}

# Rewritten on every start, so that moving the project directory moves the socket too.
write_settings() {
    local sock_escaped="${SOCK//\'/\'\'}"
    as_owner tee "$DATA/sluice.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh on every start; edits here are lost.
listen_addresses = ''
port = $PORT
unix_socket_directories = '$sock_escaped'
unix_socket_permissions = 0770
# The Swift suites run many tests at once (swift-testing does not cap them), each with its own
# database and pool: at 400 a run could exhaust the slots, and a test refused its connection
# then waited for ever.
max_connections = 1000
EOF
}

ensure_database() {
    local exists
    exists="$("$BINDIR/psql" -X -q -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")"
    if [[ "$exists" != 1 ]]; then
        "$BINDIR/psql" -X -q -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres \
            -c "CREATE DATABASE $DATABASE" >/dev/null
        note "created database $DATABASE"
    fi
}

# pg_ctl start, with nothing of our caller's but stdin/stdout/stderr (which pg_ctl points at
# /dev/null and the log). The server outlives this script: a descriptor it inherited, say the
# write end of a pipe our caller reads to the end, would keep that caller waiting forever.
launch_server() {
    (
        local fd
        for fd in /proc/"$BASHPID"/fd/*; do
            fd="${fd##*/}"
            if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-"; fi
        done
        as_owner "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOG" -w -t "$START_TIMEOUT" -s </dev/null
    )
}

# --- commands --------------------------------------------------------------------------------------
start() {
    if is_ready; then
        ensure_database
        return 0
    fi
    init_cluster
    write_settings

    local pid
    pid="$(live_postmaster_pid)"
    if [[ -z "$pid" ]]; then
        remove_stale_files
        if ! launch_server; then
            tail -n 20 "$LOG" >&2 || true
            die "pg_ctl start failed (log: $LOG)"
        fi
    else
        note "a postmaster (pid $pid) is already running but not ready yet; waiting"
    fi

    local waited=0
    until is_ready; do
        ((waited < START_TIMEOUT * 10)) || die "the server did not become ready in ${START_TIMEOUT}s (log: $LOG)"
        [[ -n "$(live_postmaster_pid)" ]] || { tail -n 20 "$LOG" >&2 || true; die "the server exited during startup (log: $LOG)"; }
        sleep 0.1
        waited=$((waited + 1))
    done
    ensure_database
}

stop() {
    [[ -d "$DATA" ]] || return 0
    if [[ -z "$(live_postmaster_pid)" ]]; then
        remove_stale_files
        return 0
    fi
    if ! as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s; then
        note "fast shutdown did not finish in 60s; immediate shutdown"
        as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m immediate -w -t 30 -s || true
    fi
    [[ -z "$(live_postmaster_pid)" ]] || die "the server (pid $(live_postmaster_pid)) is still running"
}

status() {
    local pid
    pid="$(live_postmaster_pid)"
    if [[ -n "$pid" ]] && is_ready; then
        echo "running (pid $pid): $(url)"
    elif [[ -n "$pid" ]]; then
        echo "starting or stopping (pid $pid, not accepting connections)"
    else
        echo "stopped"
        return 3
    fi
}

with_lock() {
    prepare_layout
    exec 9>>"$LOCK"
    flock -w 300 9 || die "another postgres.sh holds $LOCK for more than 300s"
    "$@"
}

cmd="${1:-}"
case "$cmd" in
    url) url ;;
    start|stop|status|psql|destroy)
        BINDIR="$(find_bindir)"
        case "$cmd" in
            start) with_lock start ;;
            stop) with_lock stop ;;
            status) [[ -d "$BASE" ]] || { echo stopped; exit 3; }; status ;;
            psql) shift; exec "$BINDIR/psql" -X "$(url)" "$@" ;;
            destroy)
                with_lock stop
                rm -rf "$DATA" "$DATA.initdb" "$LOG" "$BASE/initdb.log" "$BASE/sluice.conf"
                [[ -n "${SLUICE_PG_SOCKET_DIR:-}" ]] || rm -rf "$SOCK"
                note "removed the cluster in $BASE"
                ;;
        esac
        ;;
    *)
        sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
        exit 2
        ;;
esac
