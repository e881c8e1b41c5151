#!/usr/bin/env bash
# Builds the kernel for x86_64-unknown-none and copies the ELF to OUT.
#
#   scripts/kernel-build.sh OUT [CARGO_FEATURES]
#   scripts/kernel-build.sh --probe-prebuilt   (exit 0 if the prebuilt target is usable)
#
# See scripts/toolchain.sh for the two toolchain paths. The kernel's flags
# (static relocation model, kernel code model, frame pointers) are set
# here and, for plain `cargo` invocations, in .cargo/config.toml.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/toolchain.sh"
out=${1:?usage: kernel-build.sh OUT [FEATURES] | --probe-prebuilt}
features=${2:-}
if [ "$out" = --probe-prebuilt ]; then prebuilt_ok; exit; fi

mode=$(toolchain_mode) || { echo "kernel-build: cannot build" >&2; exit 1; }
# The prebuilt path takes these from .cargo/config.toml; -Zbuild-std must
# set RUSTFLAGS (for the linker), which replaces the config's flags.
flags=""
[ "$mode" = build-std ] && flags="-C relocation-model=static -C code-model=kernel -C force-frame-pointers=yes"
feature_args=()
[ -n "$features" ] && feature_args=(--features "$features")
target_dir="$here/target/kernel-$mode"
(cd "$here" && target_cargo "$mode" "$target_dir" "$flags" -p bulkhead-kernel "${feature_args[@]}")
mkdir -p "$(dirname "$out")"
cp "$target_dir/$target/release/bulkhead-kernel" "$out"
echo "kernel-build: $out ($mode toolchain${features:+, features: $features})"
