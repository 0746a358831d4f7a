#!/usr/bin/env bash
# Run every Sluice test: the Swift suites (XCTest / Swift Testing), then the Python interop
# suite. (The fuzz targets have their own sanitized build: `make fuzz`; CI runs them after this.)
#
#   scripts/run-tests.sh              (what `make test` and .ci/run do)
#
# Setup first (each step is quick when already done): system packages, dev certificates, the
# .venv, a debug build including tests. Then the suites run, each even if an
# earlier one failed, and the script exits non-zero if any failed.
#
# Environment:
#   SWIFT_TEST_ARGS     extra arguments for `swift test` (e.g. "--filter SluiceRPCTests")
#   PYTEST_ARGS         extra arguments for pytest (e.g. "-k health -x")
#   SWIFT_TEST_TIMEOUT  seconds before a hung `swift test` is killed (default 900)
#   PYTEST_TIMEOUT      seconds before a hung pytest run is killed (default 900)
#   PYTEST_WORKERS      parallel pytest processes (default 3; each takes whole test files)
#   SLUICE_TEST_BUILD   "debug" (default): debug build, Swift suites, interop suite;
#                       "release": release build (`swift build -c release`) and the interop
#                       suite against it — the optimizer's code is what users run, and a fault
#                       only it has (a miscompiled or unsafe construct) passes every debug run
#   SLUICE_TEST_DATABASE_URL  PostgreSQL for the tests; when unset, the project's cluster
#                       (scripts/postgres.sh) is started, and stopped at exit unless it was running
#                       before. Tests make their own uniquely named databases in it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Swift lives at /opt/swift on these machines; use it when it is not on PATH already.
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

# limited SECONDS CMD...: run CMD, killed if it hangs past SECONDS (exit 124). Without a
# terminal (CI) timeout signals CMD's whole process group, so servers a test started die too;
# at a terminal it stays in the foreground so that Ctrl-C reaches the tests.
limited() {
    local secs="$1"; shift
    if [[ -t 0 ]]; then
        timeout --foreground -k 30 "$secs" "$@"
    else
        timeout -k 30 "$secs" "$@"
    fi
}

# --- setup (a failure here stops everything: there is nothing meaningful to test) ---------
step "system packages";   scripts/install-deps.sh
step "dev certificates";  scripts/make-certs.sh
step "python venv";       scripts/python-venv.sh
step "database"
if [[ -z "${SLUICE_TEST_DATABASE_URL:-}" ]]; then
    if ! scripts/postgres.sh status >/dev/null; then
        trap 'step "stopping the database"; scripts/postgres.sh stop || true' EXIT
    fi
    scripts/postgres.sh start
    SLUICE_TEST_DATABASE_URL="$(scripts/postgres.sh url)"
    export SLUICE_TEST_DATABASE_URL
fi
echo "SLUICE_TEST_DATABASE_URL=$SLUICE_TEST_DATABASE_URL"

# --- build --------------------------------------------------------------------------------
swift_status=0   # 0 passed, else failed
py_status=0
built=0          # executables for the interop suite exist and are current
configuration="${SLUICE_TEST_BUILD:-debug}"
case "$configuration" in
    debug|release) ;;
    *) echo "run-tests: SLUICE_TEST_BUILD is '$configuration'; use debug or release" >&2; exit 2 ;;
esac

if [[ "$configuration" == release ]]; then
    step "swift build -c release"
    swift build -c release && built=1 || { swift_status=1; echo "run-tests: the release build failed" >&2; }
else
    step "swift build --build-tests"
    if swift build --build-tests; then
        built=1
    else
        swift_status=1
        echo "run-tests: the build with tests failed; building the executables alone for the interop suite" >&2
        step "swift build"
        swift build && built=1 || echo "run-tests: swift build failed" >&2
    fi
fi

# --- the C client (clients/c): plain and ASan/UBSan builds for Tests/Interop/c_client -------
step "C client (make c-client c-client-asan)"
if make -s c-client c-client-asan; then
    export SLUICE_C_BIN_DIR="$ROOT/.build-c"
else
    echo "run-tests: the C client did not build; Tests/Interop/c_client will fail" >&2
fi

# --- Swift suites (debug only: `swift test` builds its own configuration) ------------------
if ((swift_status == 0)) && [[ "$configuration" == debug ]]; then
    step "swift test"
    # shellcheck disable=SC2086  # SWIFT_TEST_ARGS is a word list on purpose
    limited "${SWIFT_TEST_TIMEOUT:-900}" swift test --skip-build ${SWIFT_TEST_ARGS:-} || swift_status=$?
    ((swift_status == 124)) && echo "run-tests: swift test timed out" >&2
fi

# --- Python interop suite -----------------------------------------------------------------
if ((built)); then
    step "pytest Tests/Interop"
    SLUICE_BIN_DIR="$(swift build -c "$configuration" --show-bin-path)"
    export SLUICE_BIN_DIR
    export SLUICE_CERTS_DIR="$ROOT/certs"
    export PYTHONDONTWRITEBYTECODE=1
    # shellcheck disable=SC2086  # PYTEST_ARGS is a word list on purpose
    # Whole files per worker (--dist loadfile): a module's servers start once, in one process.
    limited "${PYTEST_TIMEOUT:-900}" .venv/bin/python -m pytest Tests/Interop -q \
        -n "${PYTEST_WORKERS:-3}" --dist loadfile ${PYTEST_ARGS:-} \
        || py_status=$?
    case "$py_status" in
        0) ;;
        5) echo "run-tests: warning: pytest collected no tests" >&2; py_status=0 ;;
        124) echo "run-tests: pytest timed out" >&2 ;;
    esac
else
    py_status=1
    echo "run-tests: interop suite not run: no executables to test" >&2
fi

# --- summary ------------------------------------------------------------------------------
word() { (($1 == 0)) && echo passed || echo "FAILED (exit $1)"; }
step "summary"
echo "build:         $configuration"
echo "swift suites:  $([[ "$configuration" == debug ]] && word "$swift_status" || echo "not run (release build: $(word "$swift_status"))")"
echo "interop suite: $(word "$py_status")"
((swift_status == 0 && py_status == 0))
