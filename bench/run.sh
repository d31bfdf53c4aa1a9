#!/usr/bin/env bash
# Fleet-scale figures on a local stack of its own (ports CONVOY_BENCH_PORT..+2, default 5500..5502), stopped at
# the end whatever happens. Figures only, never part of the test command; see docs/performance.md.
#   bash bench/run.sh [bench.py args]       e.g. bash bench/run.sh --sizes 10,100 --skip failure
#   bash bench/run.sh --coldstart           start-up of each release binary under cargo lambda watch, zip sizes
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=$ROOT/.tools/venv/bin/python
export PYTHONPATH=$ROOT/local${PYTHONPATH:+:$PYTHONPATH}  # bench.py uses the local stack's package, convoy_local
BASE=${CONVOY_BENCH_PORT:-5500}
step() { printf '\n==> %s\n' "$*" >&2; }

MODE=release
if [ "${1:-}" = "--coldstart" ]; then MODE=coldstart; shift; fi
for arg in "$@"; do
  case "$arg" in -h|--help)  # answer without building or starting anything
    bash local/install.sh >&2
    [ "$MODE" = coldstart ] && exec "$PY" bench/coldstart.py --help
    exec "$PY" bench/bench.py --help ;;
  esac
done

bash local/install.sh >&2
# shellcheck disable=SC2207 # one binary name a line, no spaces
FUNCTIONS=($("$PY" -m convoy_local.render --functions))  # template.yaml's functions, by binary name
export CONVOY_STACK_DIR=$ROOT/.local-stack/bench CONVOY_MOTO_PORT=$BASE CONVOY_WATCH_PORT=$((BASE + 1))
# Every batch of a wave runs at once (up to --concurrency, default 10), plus the parent's own calls.
export CONVOY_SHIM_PORT=$((BASE + 2)) CONVOY_LAMBDA_CONCURRENCY=${CONVOY_LAMBDA_CONCURRENCY:-12}
# The batches pace themselves to the simulator's buckets: the same rate scale as bench.py's.
RATE_SCALE=10
prev=
for arg in "$@"; do
  case "$prev" in --rate-scale) RATE_SCALE=$arg ;; esac
  case "$arg" in --no-buckets) RATE_SCALE=1000000 ;; --rate-scale=*) RATE_SCALE=${arg#*=} ;; esac
  prev=$arg
done
export CONVOY_ECS_RATE_SCALE=$RATE_SCALE
export RUST_LOG=${RUST_LOG:-warn}

if [ "$MODE" = coldstart ]; then
  step "build (release, host target): ${#FUNCTIONS[@]} functions"
  for fn in "${FUNCTIONS[@]}"; do cargo build --quiet --release --bin "$fn"; done
  export CONVOY_WATCH_ARGS="--release"
else
  step "build (debug): ${#FUNCTIONS[@]} functions"
  for fn in "${FUNCTIONS[@]}"; do cargo build --quiet --bin "$fn"; done  # as `cargo lambda watch` builds them
fi

step "local stack (ports $BASE..$((BASE + 2)))"
trap 'bash local/stack.sh stop' EXIT
bash local/stack.sh start
# shellcheck disable=SC1091
source "$CONVOY_STACK_DIR/env"

if [ "$MODE" = coldstart ]; then
  "$PY" bench/coldstart.py "$@"
else
  "$PY" bench/bench.py "$@"
fi
