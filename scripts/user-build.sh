#!/usr/bin/env bash
# Builds the native user programs for x86_64-unknown-none and copies them:
#
#   scripts/user-build.sh OUT_DIR      ->  OUT_DIR/root.elf, OUT_DIR/usertests.elf,
#                                          OUT_DIR/bench.elf, OUT_DIR/fuzz.elf,
#                                          OUT_DIR/linuxsrv.elf
#
# The programs (servers/root, servers/linux, user/tests, user/bench, user/fuzz, on the runtime user/rt) are static
# executables linked at 0x400000 by user/user.ld, with the default code
# model (RUSTFLAGS replaces the kernel's flags from .cargo/config.toml).
# See scripts/toolchain.sh for the two toolchain paths.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/toolchain.sh"
out=${1:?usage: user-build.sh OUT_DIR}

mode=$(toolchain_mode) || { echo "user-build: cannot build" >&2; exit 1; }
flags="-C relocation-model=static -C force-frame-pointers=yes"
target_dir="$here/target/user-$mode"
(cd "$here" && target_cargo "$mode" "$target_dir" "$flags" -p bulkhead-root -p bulkhead-usertests -p bulkhead-bench -p bulkhead-fuzz -p bulkhead-linux-server)
mkdir -p "$out"
# Boot modules stay in memory for the whole run: without their debug
# information (symbols are kept) they take a fraction of it; the syscall
# server, loaded once per container, is a twentieth of the size.
for pair in root:root usertests:usertests bench:bench fuzz:fuzz linux-server:linuxsrv; do
    strip --strip-debug -o "$out/${pair#*:}.elf" "$target_dir/$target/release/bulkhead-${pair%%:*}"
done
echo "user-build: $out/root.elf $out/usertests.elf $out/bench.elf $out/fuzz.elf $out/linuxsrv.elf ($mode toolchain)"
