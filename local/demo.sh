#!/usr/bin/env bash
# `make demo`: release examples/deployment.yaml on the local stack, with the real state machine and functions.
#   install tools (no-op when current) -> build -> start the stack -> seed the demo world -> run -> stop
# A stack that was already running (local/stack.sh start) is used and left running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MANIFEST=${1:-examples/deployment.yaml}
PY=$ROOT/.tools/venv/bin/python
export PYTHONPATH=$ROOT/local${PYTHONPATH:+:$PYTHONPATH}  # the local stack's package, convoy_local
step() { printf '\n==> %s\n' "$*"; }

[ -f "$MANIFEST" ] || { echo "demo: no $MANIFEST" >&2; exit 1; }

step "tools"
bash local/install.sh
# shellcheck disable=SC2207 # one binary name a line, no spaces
FUNCTIONS=($("$PY" -m convoy_local.render --functions))  # template.yaml's functions, by binary name

step "build (debug): convoy and ${#FUNCTIONS[@]} functions"
cargo build --quiet -p convoy
# One `--bin` at a time, exactly as `cargo lambda watch` runs them: a multi-package build unifies features
# differently, and the first invoke would then rebuild.
for fn in "${FUNCTIONS[@]}"; do
  printf '  %s\n' "$fn"
  cargo build --quiet --bin "$fn"
done

step "local stack"
started=0
if ! bash local/stack.sh status >/dev/null 2>&1; then
  bash local/stack.sh start
  started=1
fi
stop_stack() { [ $started -eq 1 ] && bash local/stack.sh stop || true; }
trap stop_stack EXIT
# shellcheck disable=SC1091
source .local-stack/env

step "seed: clusters convoy-demo-a/-b, 7 services, rule convoy-demo-nightly, job convoy-demo-migrate (all 1.0.0)"
"$PY" local/seed_demo.py --endpoint "$CONVOY_MOTO_ENDPOINT"

step "release $MANIFEST"
"$PY" -m convoy_local.release "$MANIFEST" --endpoint "$CONVOY_MOTO_ENDPOINT" --max-wait 1

step "job tasks the release started (RunTask; the simulator's /_stats/jobs)"
"$PY" - "$CONVOY_MOTO_ENDPOINT" <<'PY'
import sys

from convoy_local.control import Moto

tasks = Moto(sys.argv[1]).get("/_stats/jobs")
for t in tasks:
    exits = ", ".join(f"{name}={code}" for name, code in t["containers"].items())
    print(f"  {t['cluster']}/{t['taskArn'].rsplit('/', 1)[-1]}  {t['taskDefinitionArn'].rsplit('/', 1)[-1]}  "
          f"startedBy={t['startedBy']}  {t['lastStatus']} ({t['stopCode']})  exit: {exits}")
if not tasks:
    print("  none")
PY
