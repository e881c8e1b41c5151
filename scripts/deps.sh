#!/usr/bin/env bash
# Installs what Bulkhead needs to build and boot, when it is missing.
#
#   scripts/deps.sh [--check]
#
# Idempotent and fast when everything is present (only `command -v` and a
# sysroot look-up). On Debian/Ubuntu it installs missing packages with apt
# (as root, or through sudo); elsewhere it prints exactly what to install.
# With --check it only reports.
set -euo pipefail
check_only=${1:-}
here=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-none

missing=()    # Debian package names
need() {      # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need qemu-system-x86_64 qemu-system-x86
need xorriso xorriso
need mformat mtools
need grub-mkrescue grub-common
[ -d /usr/lib/grub/i386-pc ] || missing+=(grub-pc-bin)
[ -d /usr/lib/grub/x86_64-efi ] || missing+=(grub-efi-amd64-bin)
# Bochs models a CPU with PCID and INVPCID (QEMU's TCG has neither).
need bochs bochs
[ -f /usr/share/bochs/BIOS-bochs-latest ] || missing+=(bochsbios)
[ -f /usr/share/vgabios/vgabios.bin ] || missing+=(vgabios)
# The containers' Linux test programs are C, built with musl and packed
# into cpio archives.
need musl-gcc musl-tools
need cpio cpio

# Rust: the prebuilt target if the active toolchain has (or can get) it,
# else Debian's Rust with its library source for -Zbuild-std.
prebuilt_ok() {
    command -v rustc >/dev/null 2>&1 && command -v cargo >/dev/null 2>&1 || return 1
    compgen -G "$(rustc --print sysroot)/lib/rustlib/$target/lib/libcore-*.rlib" >/dev/null
}
debian_rust_ok() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] &&
        [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/core" ] &&
        { command -v ld.lld-22 >/dev/null 2>&1 || command -v ld.lld >/dev/null 2>&1; }
}
if ! prebuilt_ok && [ "${BULKHEAD_TOOLCHAIN:-auto}" != build-std ] && command -v rustup >/dev/null 2>&1 &&
    [ -z "$check_only" ]; then
    echo "deps: adding the $target target with rustup"
    timeout 300 rustup target add "$target" >/dev/null 2>&1 || echo "deps: rustup could not add $target; trying Debian's Rust"
fi
if [ "${BULKHEAD_TOOLCHAIN:-auto}" = build-std ] || ! prebuilt_ok; then
    debian_rust_ok || missing+=(rustc-web cargo-web rust-web-src lld-22)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: missing: ${missing[*]}"
if [ -n "$check_only" ]; then
    echo "deps: install them with: sudo apt-get install ${missing[*]}"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: this is not a Debian-like system. Install the equivalents of:" >&2
    echo "  ${missing[*]}" >&2
    echo "  (QEMU for x86_64, xorriso, mtools, GRUB 2 with its i386-pc and x86_64-efi modules," >&2
    echo "   and a Rust toolchain with 'rustup target add $target')" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: run as root, or install sudo, to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
install() { "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; }
if ! install "${missing[@]}" >/tmp/bulkhead-deps.log 2>&1; then
    echo "deps: refreshing the package lists"
    "${sudo[@]}" apt-get update >>/tmp/bulkhead-deps.log 2>&1 || true
    if ! install "${missing[@]}" >>/tmp/bulkhead-deps.log 2>&1; then
        tail -20 /tmp/bulkhead-deps.log >&2
        echo "deps: apt-get could not install: ${missing[*]} (log: /tmp/bulkhead-deps.log)" >&2
        exit 1
    fi
fi
echo "deps: installed ${missing[*]}"
"$here/scripts/deps.sh" --check
