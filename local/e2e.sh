#!/usr/bin/env bash
# `make e2e`: the real state machine and functions on a local stack of its own, driven by tests/e2e (pytest).
#   local/e2e.sh [pytest args...]      e.g. local/e2e.sh -k rollback -x
# The stack uses its own ports (CONVOY_E2E_PORT, default 5100..5102) and a state dir named by them
# (.local-stack/e2e-<port>), so a running dev stack, a demo or another e2e run on other ports is not disturbed;
# it is stopped at the end whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=$ROOT/.tools/venv/bin/python
export PYTHONPATH=$ROOT/local${PYTHONPATH:+:$PYTHONPATH}  # the local stack's package, convoy_local
BASE=${CONVOY_E2E_PORT:-5100}
step() { printf '\n==> %s\n' "$*"; }

step "tools"
bash local/install.sh
# shellcheck disable=SC2207 # one binary name a line, no spaces
FUNCTIONS=($("$PY" -m convoy_local.render --functions))  # template.yaml's functions, by binary name

step "build (debug): convoy and ${#FUNCTIONS[@]} functions"
cargo build --quiet -p convoy
for fn in "${FUNCTIONS[@]}"; do cargo build --quiet --bin "$fn"; done  # as `cargo lambda watch` builds them

step "local stack (ports $BASE..$((BASE + 2)))"
export CONVOY_STACK_DIR=$ROOT/.local-stack/e2e-$BASE CONVOY_MOTO_PORT=$BASE CONVOY_WATCH_PORT=$((BASE + 1))
export CONVOY_SHIM_PORT=$((BASE + 2))
trap 'bash local/stack.sh stop' EXIT
bash local/stack.sh start
# shellcheck disable=SC1091
source "$CONVOY_STACK_DIR/env"

step "tests/e2e"
"$PY" -m pytest -p no:cacheprovider tests/e2e "$@"
