#!/usr/bin/env bash
# Make the project-local Python environment (.venv) for the interop tests.
#
#   scripts/python-venv.sh            PYTHON=python3.11 scripts/python-venv.sh
#
# Installs the pinned packages of Tests/Interop/requirements.txt. A stamp file records the
# requirements and the interpreter they were installed for; when both are unchanged and the
# venv's python still runs, nothing is done (no network).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/Tests/Interop/requirements.txt"
STAMP="$VENV/.sluice-requirements.stamp"
PYTHON="${PYTHON:-python3}"

[[ -f "$REQ" ]] || { echo "python-venv: $REQ not found" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || { echo "python-venv: $PYTHON not found" >&2; exit 1; }

# What the venv must match: the requirements' hash and the base interpreter's path and version.
want="$(sha256sum "$REQ" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])')"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "python-venv: .venv is up to date"
    exit 0
fi

# A venv made by another interpreter is remade whole; otherwise install on top of it.
if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c '
import sys
sys.exit(0 if sys.base_prefix + " " + sys.version.split()[0] == sys.argv[1] else 1)' \
    "$("$PYTHON" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])')" 2>/dev/null; then
    echo "python-venv: interpreter changed; remaking .venv"
    rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "python-venv: creating .venv with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

echo "python-venv: installing $(grep -cE '^[A-Za-z0-9]' "$REQ") pinned packages"
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQ"
echo "$want" >"$STAMP"
echo "python-venv: done"
