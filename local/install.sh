#!/usr/bin/env bash
# Install the local stack's Python tools (moto, cargo-lambda, pytest) into <repo>/.tools/venv.
# Idempotent: a stamp keyed by the hash of local/requirements.txt makes a second run a no-op.
#
#   local/install.sh            # install or confirm
#   CONVOY_BOOTSTRAP_PYTHON=python3.12 local/install.sh   # choose the interpreter that creates the venv
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$ROOT/.tools/venv
REQ=$ROOT/local/requirements.txt
STAMP=$VENV/.convoy-requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

echo "local/install.sh: installing $(grep -cv '^\s*\(#\|$\)' "$REQ") pinned packages into .tools/venv" >&2
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$ROOT/.tools"
  "${CONVOY_BOOTSTRAP_PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
echo "$want" > "$STAMP"
echo "local/install.sh: done ($VENV)" >&2
