#!/usr/bin/env bash
# The project's one test command (`make test`): installs the pinned tools it needs into ignored folders
# (idempotent, a no-op when up to date), then runs every suite. Fails on the first failing suite.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
step() { printf '\n==> [%4ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }
trap 'printf "\n==> [%4ds] done\n" "$(( $(date +%s) - started ))"' EXIT

step "tools"
bash scripts/toolchain.sh
bash local/install.sh
bash tools/install-checkers.sh

step "build (workspace, debug: the local stack serves these binaries)"
cargo build --workspace --locked

step "cargo test (unit, aws-smithy-mocks, moto integration, contract)"
cargo test --workspace --locked

step "bench's pure figures: the API-rate lower bound, the price of transitions (no stack)"
.tools/venv/bin/python -m pytest -q -p no:cacheprovider bench/test_bounds.py

step "the local simulator (pytest against one moto server: ECS service deployments and blue/green strategies, CodeDeploy)"
.tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests

step "template and state machine checks"
bash tools/check-templates.sh

step "end to end: the real state machine on the local stack"
bash local/e2e.sh
