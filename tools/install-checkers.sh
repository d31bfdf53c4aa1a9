#!/usr/bin/env bash
# Installs the pinned template and state-machine checkers into .tools/ (git-ignored). Idempotent: a tool
# already at its pinned version is left alone, so a warm machine takes about a second.
#
#   tools/install-checkers.sh            # SAM CLI + cfn-lint, checkov, asl-validator + statelint
#   tools/install-checkers.sh --build    # also cargo-lambda + zig (sam build / tools/package.sh), the arm64 and musl Rust targets
#
# Layout: .tools/sam (venv: aws-sam-cli, bundling cfn-lint and aws-sam-translator),
#         .tools/checkov (own venv: checkov pins a boto3 that conflicts with SAM's),
#         .tools/node_modules (npm ci from tools/package.json + tools/package-lock.json).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
PYTHON=${PYTHON:-python3}

mkdir -p "$TOOLS"

# pip_pin VENV PACKAGE==VERSION...: creates VENV once, installs only what is not already at its pin.
pip_pin() {
  local venv=$1
  shift
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  local missing=()
  for spec in "$@"; do
    local name=${spec%%==*} want=${spec##*==}
    local have
    have=$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
    [ "$have" = "$want" ] || missing+=("$spec")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-checkers: pip install ${missing[*]} into ${venv#"$ROOT"/}"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
  fi
}

pip_pin "$TOOLS/sam" "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION"
pip_pin "$TOOLS/checkov" "checkov==$CHECKOV_VERSION"

# npm ci is exact to the committed lockfile; skip it when node_modules already matches that lockfile.
stamp="$TOOLS/node_modules/.package-lock.sha256"
want=$(sha256sum "$ROOT/tools/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-checkers: npm ci (asl-validator, @wmfs/statelint) into .tools/node_modules"
  cp "$ROOT/tools/package.json" "$ROOT/tools/package-lock.json" "$TOOLS/"
  (cd "$TOOLS" && npm ci --no-fund --no-audit --loglevel=error)
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--build" ]; then
  # cargo-lambda's wheel brings zig (the arm64 cross linker); the venv's python must be first on PATH for SAM.
  pip_pin "$TOOLS/sam" "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
  # aarch64-unknown-linux-gnu: the functions (arm64 Lambda); x86_64-unknown-linux-musl: the static convoy CLI of
  # the pipeline's render step (CodeBuild, x86_64).
  for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  done
fi

echo "install-checkers: ready in ${TOOLS#"$ROOT"/} (sam $SAM_CLI_VERSION, cfn-lint $CFN_LINT_VERSION, checkov $CHECKOV_VERSION)"
