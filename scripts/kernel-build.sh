#!/usr/bin/env bash
# Builds the kernel for x86_64-unknown-none and copies the ELF to OUT.
#
#   scripts/kernel-build.sh OUT [CARGO_FEATURES]
#
# Two toolchain paths, chosen automatically (override with
# BULKHEAD_TOOLCHAIN=prebuilt|build-std):
#   prebuilt   the active rustc has the x86_64-unknown-none target installed
#              (rustup target add x86_64-unknown-none); links with rust-lld.
#   build-std  Debian's rustc-web/cargo-web/rust-web-src: core, alloc and
#              compiler_builtins are built from the library source with
#              -Zbuild-std (RUSTC_BOOTSTRAP=1 enables only that flag), and
#              the kernel links with ld.lld-22 (or GNU ld).
set -euo pipefail
out=${1:?usage: kernel-build.sh OUT [FEATURES] | --probe-prebuilt}
features=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-none
mode=${BULKHEAD_TOOLCHAIN:-auto}

prebuilt_ok() {
    command -v rustc >/dev/null 2>&1 || return 1
    local sysroot
    sysroot=$(rustc --print sysroot 2>/dev/null) || return 1
    compgen -G "$sysroot/lib/rustlib/$target/lib/libcore-*.rlib" >/dev/null
}

debian_rust_ok() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || return 1
    local sysroot
    sysroot=$(/usr/bin/rustc --print sysroot 2>/dev/null) || return 1
    [ -d "$sysroot/lib/rustlib/src/rust/library/core" ]
}

# --probe-prebuilt: exit 0 if the prebuilt target is usable (for `make lint`).
if [ "$out" = --probe-prebuilt ]; then prebuilt_ok; exit; fi

if [ "$mode" = auto ]; then
    if prebuilt_ok; then mode=prebuilt
    elif debian_rust_ok; then mode=build-std
    else
        echo "kernel-build: no Rust toolchain that can build for $target." >&2
        echo "  Either: rustup target add $target" >&2
        echo "  Or (Debian/Ubuntu): sudo apt-get install rustc-web cargo-web rust-web-src lld-22" >&2
        echo "  ('make deps' does this for you.)" >&2
        exit 1
    fi
fi

feature_args=()
[ -n "$features" ] && feature_args=(--features "$features")

case "$mode" in
prebuilt)
    prebuilt_ok || { echo "kernel-build: the active rustc lacks $target (run: rustup target add $target)" >&2; exit 1; }
    target_dir="$here/target/kernel-prebuilt"
    (cd "$here" && cargo build -p bulkhead-kernel --release --target "$target" \
        --target-dir "$target_dir" "${feature_args[@]}")
    ;;
build-std)
    debian_rust_ok || { echo "kernel-build: Debian's Rust with library source is missing (sudo apt-get install rustc-web cargo-web rust-web-src lld-22)" >&2; exit 1; }
    # The target's default linker, rust-lld, is not in Debian's rustc.
    base_flags="-C relocation-model=static -C code-model=kernel -C force-frame-pointers=yes"
    if command -v ld.lld-22 >/dev/null 2>&1; then linker="-C linker=ld.lld-22"
    elif command -v ld.lld >/dev/null 2>&1; then linker="-C linker=ld.lld"
    elif command -v ld >/dev/null 2>&1; then linker="-C linker=ld -C linker-flavor=ld"
    else echo "kernel-build: no linker (sudo apt-get install lld-22)" >&2; exit 1
    fi
    [ -n "${BULKHEAD_LINKER:-}" ] && linker="-C linker=$BULKHEAD_LINKER -C linker-flavor=ld"
    target_dir="$here/target/kernel-build-std"
    (cd "$here" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="$base_flags $linker" \
        /usr/bin/cargo build -p bulkhead-kernel --release --target "$target" \
        --target-dir "$target_dir" "${feature_args[@]}" \
        -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem)
    ;;
*)
    echo "kernel-build: BULKHEAD_TOOLCHAIN must be prebuilt or build-std, not '$mode'" >&2
    exit 1
    ;;
esac

mkdir -p "$(dirname "$out")"
cp "$target_dir/$target/release/bulkhead-kernel" "$out"
echo "kernel-build: $out ($mode toolchain${features:+, features: $features})"
