#!/usr/bin/env bash
# Makes the toolchain rust-toolchain.toml pins available without a download (only the package
# registries are reachable): when rustup has no toolchain of that name but its installed stable is
# that very version, the pinned name points at it (a symlink in rustup's toolchains folder: rustup's
# own `toolchain link` refuses release names). Idempotent; says what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
command -v rustup >/dev/null || exit 0
if rustup toolchain list | grep -q "^$want-"; then
    exit 0
fi
stable=$(rustup run stable rustc --version 2>/dev/null | awk '{print $2}')
if [ "$stable" = "$want" ]; then
    sysroot=$(rustup run stable rustc --print sysroot)
    host=${sysroot##*/stable-}
    ln -sfn "$sysroot" "$(dirname "$sysroot")/$want-$host"
    echo "toolchain: $want points at the installed stable ($host)"
else
    echo "toolchain: rust-toolchain.toml pins $want, installed stable is ${stable:-none}; install $want" >&2
    exit 1
fi
