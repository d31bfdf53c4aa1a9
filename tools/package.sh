#!/usr/bin/env bash
# `make package`: everything a deployment ships, built the way its users build it, and checked.
#
#  1. `sam build` from the repository root, exactly as a SAM user types it: samconfig.toml's build settings and
#     no CARGO_TARGET_DIR of ours (SAM CLI >= 1.156.0 builds BuildMethod rust-cargolambda without
#     --beta-features; the pinned 1.170.0 builds every function into the workspace's target/). One crate per
#     CodeUri, so features never unify across functions.
#  2. Checks .aws-sam/build: every rust-cargolambda function of template.yaml has an arm64 ELF bootstrap, and
#     its deployment zip (build/lambda/<LogicalId>.zip) is at most 4 MB.
#  3. The convoy CLI for the pipeline's render step: a static x86_64 Linux binary (musl, linked by zig through
#     cargo-lambda), build/convoy/convoy and its build/convoy/convoy.sha256; `make publish-cli` uploads it.
#
#   tools/package.sh     # installs what it needs first (tools/install-checkers.sh --build)
# Slow on a cold target/: release cross-compiles with LTO (timings in README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash tools/install-checkers.sh --build
# SAM finds cargo-lambda on PATH and zig as `python3 -m ziglang` of the first python3 on PATH: the tools venv.
export PATH="$ROOT/.tools/sam/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
# What a user's shell has: SAM picks the target directory itself.
unset CARGO_TARGET_DIR
MAX_ZIP_BYTES=4000000
CLI_TARGET=x86_64-unknown-linux-musl

start=$(date +%s)
sam build
echo "package: sam build took $(( $(date +%s) - start )) s"

mkdir -p build/lambda
"$ROOT/.tools/sam/bin/python" - "$ROOT" "$MAX_ZIP_BYTES" <<'PY'
import os, struct, sys, zipfile
from samtranslator.yaml_helper import yaml_parse
root, limit = sys.argv[1], int(sys.argv[2])
template = yaml_parse(open(os.path.join(root, "template.yaml")).read())
functions = sorted(name for name, res in template["Resources"].items()
                   if (res.get("Metadata") or {}).get("BuildMethod") == "rust-cargolambda")
built = os.path.join(root, ".aws-sam", "build")
problems, rows = [], []
for logical in functions:
    bootstrap = os.path.join(built, logical, "bootstrap")
    if not os.path.isfile(bootstrap):
        problems.append(f"{logical}: sam build left no {os.path.relpath(bootstrap, root)}")
        continue
    with open(bootstrap, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF" or struct.unpack_from("<H", head, 18)[0] != 183:  # EM_AARCH64
        problems.append(f"{logical}: bootstrap is not an arm64 ELF executable")
    out = os.path.join(root, "build", "lambda", logical + ".zip")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16  # Lambda runs bootstrap: it must stay executable
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(bootstrap, "rb") as f:
            z.writestr(info, f.read())
    size = os.path.getsize(out)
    if size > limit:
        problems.append(f"{logical}: {size:,} bytes zipped, over the {limit:,} byte limit")
    rows.append((logical, os.path.getsize(bootstrap), size))
print(f"{'function':34} {'bootstrap':>12} {'zip':>12}")
for logical, raw, zipped in rows:
    print(f"{logical:34} {raw:>12,} {zipped:>12,}")
if len(functions) != 8:
    problems.append(f"template.yaml builds {len(functions)} rust-cargolambda functions, expected 8")
if problems:
    sys.exit("package: " + "\npackage: ".join(problems))
print(f"package: {len(rows)} functions, every zip <= {limit:,} bytes")
PY
stray=$(find functions -maxdepth 2 -name target -type d)
[ -z "$stray" ] || echo "package: note: per-crate target folders ($stray): an older SAM CLI built each function on its own"

start=$(date +%s)
# cargo-lambda drives zig as the C compiler and linker of the musl target (aws-lc-sys has C in it).
cargo lambda build --release --locked --target "$CLI_TARGET" --package convoy --bin convoy
echo "package: convoy ($CLI_TARGET) took $(( $(date +%s) - start )) s"
target_dir=$(cargo metadata --no-deps --format-version 1 | "$ROOT/.tools/sam/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p build/convoy
install -m 0755 "$target_dir/lambda/convoy/bootstrap" build/convoy/convoy # where cargo-lambda puts every binary
"$ROOT/.tools/sam/bin/python" - build/convoy/convoy <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    elf = f.read()
if elf[:4] != b"\x7fELF" or elf[4] != 2 or struct.unpack_from("<H", elf, 18)[0] != 62:  # 64-bit, EM_X86_64
    sys.exit(f"package: {path} is not an x86_64 ELF executable")
phoff, = struct.unpack_from("<Q", elf, 32)
phentsize, phnum = struct.unpack_from("<HH", elf, 54)
kinds = {struct.unpack_from("<I", elf, phoff + i * phentsize)[0] for i in range(phnum)}
if 3 in kinds:  # PT_INTERP: a dynamic loader, so not static
    sys.exit(f"package: {path} names a dynamic loader: it is not static")
PY
if [ "$(uname -s -m)" = "Linux x86_64" ]; then
  build/convoy/convoy --version
fi
(cd build/convoy && sha256sum convoy > convoy.sha256)
echo "package: build/convoy/convoy, static $CLI_TARGET, $(stat -c %s build/convoy/convoy) bytes, sha256 $(cut -d' ' -f1 build/convoy/convoy.sha256)"
