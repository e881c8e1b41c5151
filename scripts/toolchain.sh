# Sourced by kernel-build.sh and user-build.sh: finds a toolchain that can
# build for x86_64-unknown-none and runs cargo with it.
#
# Two paths, chosen automatically (override with
# BULKHEAD_TOOLCHAIN=prebuilt|build-std):
#   prebuilt   the active rustc has the x86_64-unknown-none target installed
#              (rustup target add x86_64-unknown-none); links with rust-lld.
#   build-std  Debian's rustc-web/cargo-web/rust-web-src: core, alloc and
#              compiler_builtins are built from the library source with
#              -Zbuild-std (RUSTC_BOOTSTRAP=1 enables only that flag), and
#              the program links with ld.lld-22, ld.lld, or GNU ld
#              (BULKHEAD_LINKER=ld forces GNU ld).

target=x86_64-unknown-none

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

# The -C flags naming the linker for the build-std path.
choose_linker() {
    if [ -n "${BULKHEAD_LINKER:-}" ]; then echo "-C linker=$BULKHEAD_LINKER -C linker-flavor=ld"
    elif command -v ld.lld-22 >/dev/null 2>&1; then echo "-C linker=ld.lld-22"
    elif command -v ld.lld >/dev/null 2>&1; then echo "-C linker=ld.lld"
    elif command -v ld >/dev/null 2>&1; then echo "-C linker=ld -C linker-flavor=ld"
    else return 1
    fi
}

# Prints the path to use (prebuilt or build-std), or explains and fails.
toolchain_mode() {
    local mode=${BULKHEAD_TOOLCHAIN:-auto}
    if [ "$mode" = auto ]; then
        if prebuilt_ok; then mode=prebuilt
        elif debian_rust_ok; then mode=build-std
        else
            echo "no Rust toolchain that can build for $target." >&2
            echo "  Either: rustup target add $target" >&2
            echo "  Or (Debian/Ubuntu): sudo apt-get install rustc-web cargo-web rust-web-src lld-22" >&2
            echo "  ('make deps' does this for you.)" >&2
            return 1
        fi
    fi
    case "$mode" in
    prebuilt) prebuilt_ok || { echo "the active rustc lacks $target (run: rustup target add $target)" >&2; return 1; } ;;
    build-std) debian_rust_ok || { echo "Debian's Rust with library source is missing (sudo apt-get install rustc-web cargo-web rust-web-src lld-22)" >&2; return 1; } ;;
    *) echo "BULKHEAD_TOOLCHAIN must be prebuilt or build-std, not '$mode'" >&2; return 1 ;;
    esac
    echo "$mode"
}

# target_cargo MODE TARGET_DIR RUSTFLAGS CARGO-ARGS...: `cargo build` for the
# target with the chosen toolchain, in release mode. Run it in a subshell:
# it may export RUSTFLAGS.
target_cargo() {
    local mode=$1 dir=$2 flags=$3
    shift 3
    if [ "$mode" = prebuilt ]; then
        # Empty flags: keep the ones from .cargo/config.toml (so `cargo
        # clippy` shares the build cache).
        if [ -n "$flags" ]; then export RUSTFLAGS="$flags"; fi
        cargo build --release --target "$target" --target-dir "$dir" "$@"
    else
        local linker
        linker=$(choose_linker) || { echo "no linker (sudo apt-get install lld-22)" >&2; return 1; }
        RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags $linker" \
            /usr/bin/cargo build --release --target "$target" --target-dir "$dir" "$@" \
            -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem
    fi
}
