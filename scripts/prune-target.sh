#!/usr/bin/env bash
# Keeps a cached target/ from growing run after run: every change to the workspace leaves its old test binaries
# and incremental state behind (each binary links the AWS SDKs). Above the budget, removes the workspace's own
# artifacts (rebuilt in a few minutes) and the incremental state; the dependencies' artifacts, the expensive
# part, stay; if old dependency versions alone exceed it, target/debug goes. CONVOY_TARGET_BUDGET_GB sets the budget (default 6).
set -euo pipefail
cd "$(dirname "$0")/.."

budget_gb=${CONVOY_TARGET_BUDGET_GB:-6}
[ -d target/debug ] || exit 0
if [ "${CARGO_INCREMENTAL:-}" = 0 ]; then
  rm -rf target/debug/incremental
fi
used_kb=$(du -sk target/debug | cut -f1)
if [ "$used_kb" -le $(( budget_gb * 1024 * 1024 )) ]; then
  echo "prune-target: target/debug $(( used_kb / 1024 )) MB, within ${budget_gb} GB"
  exit 0
fi
packages=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
for package in $packages; do
  cargo clean --quiet -p "$package"
done
rm -rf target/debug/incremental
# Still above: old versions of dependencies (a changed Cargo.lock leaves the previous ones): start cold.
if [ "$(du -sk target/debug | cut -f1)" -gt $(( budget_gb * 1024 * 1024 )) ]; then
  rm -rf target/debug
  echo "prune-target: target/debug was $(( used_kb / 1024 )) MB, mostly old dependencies; removed (a cold build follows)"
  exit 0
fi
echo "prune-target: target/debug was $(( used_kb / 1024 )) MB; removed the workspace's artifacts, now $(( $(du -sk target/debug | cut -f1) / 1024 )) MB"
