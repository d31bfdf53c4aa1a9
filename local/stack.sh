#!/usr/bin/env bash
# The local, Docker-free AWS stack the real state machine runs on:
#   moto (+ ECS rollout simulator, Step Functions engine)  :CONVOY_MOTO_PORT  (default 5000)
#   cargo lambda watch (the real Rust functions)           :CONVOY_WATCH_PORT (default 9000)
#   lambda shim (ARN -> name, function errors as Lambda)   :CONVOY_SHIM_PORT  (default 9001)
# moto's Step Functions engine sends Lambda Invoke to localhost:$MOTO_PORT, so moto runs with MOTO_PORT set
# to the shim; the functions reach moto through AWS_ENDPOINT_URL.
#
#   local/stack.sh start     # start (a no-op when already running); build the functions first
#   local/stack.sh status
#   local/stack.sh stop      # stops what `start` started, by PID (state in .local-stack/)
#   local/stack.sh stop-functions | start-functions
#                            # stop / start `cargo lambda watch` alone (a function server crash and restart:
#                            # the shim answers Lambda.ServiceException meanwhile, which the Tasks retry)
#
# moto also serves S3: `start` creates the release records bucket there (CONVOY_RECORDS_BUCKET, default
# convoy-records) and gives its name to the functions.
# `start` writes .local-stack/env (CONVOY_MOTO_ENDPOINT, AWS_ENDPOINT_URL, ...) for the other scripts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${CONVOY_STACK_DIR:-$ROOT/.local-stack}
PY=${CONVOY_PYTHON:-$ROOT/.tools/venv/bin/python}
export PYTHONPATH=$ROOT/local${PYTHONPATH:+:$PYTHONPATH}  # the local stack's package, convoy_local
CARGO_LAMBDA=$(dirname "$PY")/cargo-lambda
MOTO_PORT_HTTP=${CONVOY_MOTO_PORT:-5000}
WATCH_PORT=${CONVOY_WATCH_PORT:-9000}
SHIM_PORT=${CONVOY_SHIM_PORT:-9001}
CONCURRENCY=${CONVOY_LAMBDA_CONCURRENCY:-2}
RECORDS_BUCKET=${CONVOY_RECORDS_BUCKET:-convoy-records}
PROCS=(moto watch shim)

say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

pid_of() { [ -f "$STATE/$1.pid" ] && cat "$STATE/$1.pid"; }
alive() { local pid; pid=$(pid_of "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # name url seconds
  local deadline=$((SECONDS + $3))
  until curl -s -o /dev/null "$2"; do
    if ! alive "$1"; then
      say "$1 exited during start-up; last lines of $STATE/$1.log:"
      tail -n 20 "$STATE/$1.log" >&2 || true
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "$1 not answering on $2 after $3 s; last lines of $STATE/$1.log:"
      tail -n 20 "$STATE/$1.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

# The bucket the functions keep release records in (docs/decisions/0003); a moto reset deletes it and
# seeding (convoy_local.seed) creates it again.
create_records_bucket() { # moto_url
  CONVOY_RECORDS_BUCKET=$RECORDS_BUCKET "$PY" -m convoy_local.seed --endpoint "$1" --only-records-bucket \
    >"$STATE/records-bucket.log" 2>&1 && return 0
  say "could not create the records bucket $RECORDS_BUCKET in moto; $STATE/records-bucket.log:"
  tail -n 20 "$STATE/records-bucket.log" >&2 || true
  return 1
}

# Runs a command in its own session (so `stop` can end it with everything it spawned) and records its PID.
launch() { # name command...
  local name=$1; shift
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/$name.pid"
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name") || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # the process leads its own session/group (setsid): end the group, i.e. cargo-lambda's function processes too
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$STATE/$name.pid"
}

# `watch` runs `cargo run --bin <function>` on a function's first invoke: fresh binaries start at once.
# --ignore-changes: source edits during a run must not rebuild and restart the functions.
launch_functions() { # moto_url
  # shellcheck disable=SC2086 # CONVOY_WATCH_ARGS is a list of words
  # The functions put the release events on moto's default bus, as the template's default does.
  (cd "$ROOT" && AWS_ENDPOINT_URL=$1 CONVOY_RECORDS_BUCKET=$RECORDS_BUCKET RUST_LOG=${RUST_LOG:-info} \
    CONVOY_RELEASE_EVENT_BUS=${CONVOY_RELEASE_EVENT_BUS:-default} \
    launch watch "$CARGO_LAMBDA" lambda watch -A 127.0.0.1 -P "$WATCH_PORT" \
      --concurrency "$CONCURRENCY" --ignore-changes ${CONVOY_WATCH_ARGS:-})
}

# The function server alone, on a running stack; the stopped one's log is kept as watch.log.<time>.
start_functions() {
  alive moto && alive shim || die "the stack is not running: local/stack.sh start"
  alive watch && { say "function server already running (pid $(pid_of watch))"; return 0; }
  [ -f "$STATE/watch.log" ] && mv "$STATE/watch.log" "$STATE/watch.log.$(date +%s)"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  launch_functions "http://127.0.0.1:$MOTO_PORT_HTTP"
  wait_http watch "http://127.0.0.1:$WATCH_PORT/" 60 || die "the function server did not come back (log: $STATE/watch.log)"
  say "function server :$WATCH_PORT (pid $(pid_of watch))"
}

status() {
  local all=0
  for p in "${PROCS[@]}"; do
    if alive "$p"; then printf '%-6s running (pid %s)\n' "$p" "$(pid_of "$p")"; else printf '%-6s stopped\n' "$p"; all=1; fi
  done
  [ -f "$STATE/env" ] && [ $all -eq 0 ] && sed -n 's/^export //p' "$STATE/env"
  return $all
}

start() {
  [ -x "$PY" ] || die "no $PY: run local/install.sh first"
  [ -x "$CARGO_LAMBDA" ] || die "no $CARGO_LAMBDA: run local/install.sh first"
  mkdir -p "$STATE"
  if alive moto && alive watch && alive shim; then
    say "already running"; status; return 0
  fi
  for p in "${PROCS[@]}"; do stop_one "$p"; done  # a half-started stack: start clean
  for port in "$MOTO_PORT_HTTP" "$WATCH_PORT" "$SHIM_PORT"; do
    port_busy "$port" && die "port $port is in use (set CONVOY_MOTO_PORT / CONVOY_WATCH_PORT / CONVOY_SHIM_PORT)"
  done
  local moto_url="http://127.0.0.1:$MOTO_PORT_HTTP"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

  MOTO_PORT=$SHIM_PORT launch moto "$PY" -m convoy_local.moto_server --port "$MOTO_PORT_HTTP" --sfn-engine --quiet
  launch shim "$PY" -m convoy_local.lambda_shim --port "$SHIM_PORT" \
    --upstream "127.0.0.1:$WATCH_PORT" --fallback "127.0.0.1:$MOTO_PORT_HTTP"
  launch_functions "$moto_url"

  local ok=0
  wait_http moto "$moto_url/moto-api/" 60 &&
    create_records_bucket "$moto_url" &&
    wait_http shim "http://127.0.0.1:$SHIM_PORT/moto-api/" 30 &&
    wait_http watch "http://127.0.0.1:$WATCH_PORT/" 60 || ok=1
  if [ $ok -ne 0 ]; then
    for p in "${PROCS[@]}"; do stop_one "$p"; done
    die "start failed (logs in $STATE)"
  fi
  cat > "$STATE/env" <<EOF
export CONVOY_MOTO_ENDPOINT=$moto_url
export AWS_ENDPOINT_URL=$moto_url
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export CONVOY_LAMBDA_ENDPOINT=http://127.0.0.1:$SHIM_PORT
export CONVOY_RECORDS_BUCKET=$RECORDS_BUCKET
EOF
  say "moto $moto_url (records: s3://$RECORDS_BUCKET)  cargo-lambda :$WATCH_PORT  shim :$SHIM_PORT  (logs and PIDs in $STATE)"
}

case "${1:-}" in
  start) start ;;
  stop) for p in shim watch moto; do stop_one "$p"; done; rm -f "$STATE/env"; say "stopped" ;;
  status) status ;;
  stop-functions) stop_one watch; say "function server stopped" ;;
  start-functions) start_functions ;;
  *) echo "usage: $0 start|stop|status|stop-functions|start-functions" >&2; exit 2 ;;
esac
