#!/usr/bin/env bash
# Builds the eight arm64 Lambda functions (the seven steps and the watchdog) with `sam build` (cargo-lambda + zig,
# BuildMethod rust-cargolambda, one crate per CodeUri so features never unify across functions) and zips each
# bootstrap into build/lambda/ to print the deployment sizes. Slow on a cold target dir: a release cross-compile with LTO.
#
#   tools/package.sh          # needs tools/install-checkers.sh --build (cargo-lambda, zig, aarch64 target)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash tools/install-checkers.sh --build
# SAM finds cargo-lambda on PATH and zig as `python3 -m ziglang` of the first python3 on PATH: the tools venv.
export PATH="$ROOT/.tools/sam/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

start=$(date +%s)
sam build --no-cached --template-file template.yaml
echo "package: sam build took $(( $(date +%s) - start )) s"

mkdir -p build/lambda
python3 - "$ROOT" <<'PY'
import os, sys, zipfile
root = sys.argv[1]
built = os.path.join(root, ".aws-sam", "build")
rows = []
for logical in sorted(os.listdir(built)):
    bootstrap = os.path.join(built, logical, "bootstrap")
    if not os.path.isfile(bootstrap):
        continue
    out = os.path.join(root, "build", "lambda", logical + ".zip")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16  # Lambda runs bootstrap: it must stay executable
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(bootstrap, "rb") as f:
            z.writestr(info, f.read())
    rows.append((logical, os.path.getsize(bootstrap), os.path.getsize(out)))
if len(rows) != 8:
    sys.exit(f"package: expected 8 functions in .aws-sam/build, found {len(rows)}")
print(f"{'function':34} {'bootstrap':>12} {'zip':>12}")
for logical, raw, zipped in rows:
    print(f"{logical:34} {raw:>12,} {zipped:>12,}")
PY
