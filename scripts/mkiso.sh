#!/usr/bin/env bash
# Makes a bootable ISO from a kernel ELF.
#
#   scripts/mkiso.sh KERNEL_ELF OUT_ISO "KERNEL COMMAND LINE" [auto|limine|grub] [FILE:NAME ...]
#
# Each FILE:NAME is a boot module: FILE is copied into the ISO and handed
# to the kernel under NAME (the root server is the module named "root").
#
# auto: a Limine ISO (BIOS and UEFI) when Limine's binaries are available
# (LIMINE_DIR pointing at an extracted v8.x-binary branch, with its `limine`
# host tool built by `make -C $LIMINE_DIR`), otherwise a GRUB ISO made by
# grub-mkrescue (BIOS and, when grub-efi-amd64-bin is installed, UEFI).
# Says which it built.
set -euo pipefail
kernel=${1:?usage: mkiso.sh KERNEL OUT CMDLINE [loader]}
out=${2:?usage: mkiso.sh KERNEL OUT CMDLINE [loader]}
cmdline=${3:-}
loader=${4:-auto}
shift $(( $# < 4 ? $# : 4 ))
modules=("$@")
here=$(cd "$(dirname "$0")/.." && pwd)

limine_ok() {
    [ -n "${LIMINE_DIR:-}" ] && [ -f "$LIMINE_DIR/limine-bios-cd.bin" ] &&
        [ -f "$LIMINE_DIR/limine-uefi-cd.bin" ] && [ -f "$LIMINE_DIR/limine-bios.sys" ]
}

if [ "$loader" = auto ]; then
    if limine_ok; then loader=limine; else loader=grub; fi
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-iso.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot" "$(dirname "$out")"
# Without its debug information: GRUB also loads the file as the `kernel`
# module (for the symbol table, which stays), and it stays in memory.
strip --strip-debug -o "$root/boot/bulkhead.elf" "$kernel"
# '|' cannot appear in a command line we pass, so it is a safe sed delimiter.
subst() { sed "s|@CMDLINE@|$cmdline|" "$1"; }

# Copies the modules into the ISO tree and prints the loader lines for them.
module_lines() {   # module_lines grub|limine
    local spec file name
    for spec in "${modules[@]}"; do
        file=${spec%%:*} name=${spec##*:}
        [ -f "$file" ] || { echo "mkiso: module file $file is missing" >&2; exit 1; }
        cp "$file" "$root/boot/$name.mod"
        if [ "$1" = grub ]; then
            printf '    module2 /boot/%s.mod %s\n' "$name" "$name"
        else
            printf '    module_path: boot():/boot/%s.mod\n    module_cmdline: %s\n' "$name" "$name"
        fi
    done
}

case "$loader" in
limine)
    limine_ok || { echo "mkiso: LIMINE_DIR must hold Limine 8.x binaries (limine-bios-cd.bin, limine-uefi-cd.bin, limine-bios.sys)" >&2; exit 1; }
    mkdir -p "$root/boot/limine" "$root/EFI/BOOT"
    { subst "$here/limine.cfg"; module_lines limine; } > "$root/boot/limine/limine.conf"
    cp "$LIMINE_DIR"/limine-bios.sys "$LIMINE_DIR"/limine-bios-cd.bin "$LIMINE_DIR"/limine-uefi-cd.bin "$root/boot/limine/"
    for efi in BOOTX64.EFI BOOTIA32.EFI; do
        [ -f "$LIMINE_DIR/$efi" ] && cp "$LIMINE_DIR/$efi" "$root/EFI/BOOT/"
    done
    xorriso -as mkisofs -R -r -J -b boot/limine/limine-bios-cd.bin -no-emul-boot \
        -boot-load-size 4 -boot-info-table -hfsplus -apm-block-size 2048 \
        --efi-boot boot/limine/limine-uefi-cd.bin -efi-boot-part --efi-boot-image \
        --protective-msdos-label "$root" -o "$out" >/dev/null 2>&1
    tool="$LIMINE_DIR/limine"
    [ -x "$tool" ] || { echo "mkiso: $tool is missing: build it with 'make -C $LIMINE_DIR'" >&2; exit 1; }
    "$tool" bios-install "$out" >/dev/null 2>&1
    echo "mkiso: built Limine ISO $out (BIOS+UEFI, cmdline '$cmdline', modules: ${modules[*]:-none})"
    ;;
grub)
    for tool in grub-mkrescue xorriso mformat; do
        command -v "$tool" >/dev/null 2>&1 || { echo "mkiso: $tool not found: run 'make deps' (or: sudo apt-get install grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools)" >&2; exit 1; }
    done
    [ -d /usr/lib/grub/i386-pc ] || { echo "mkiso: GRUB's BIOS modules are missing: sudo apt-get install grub-pc-bin" >&2; exit 1; }
    mkdir -p "$root/boot/grub"
    lines=$(module_lines grub)
    subst "$here/boot/grub.cfg" | awk -v mods="$lines" '/^    boot$/ && mods != "" { print mods } { print }' > "$root/boot/grub/grub.cfg"
    if ! log=$(grub-mkrescue -o "$out" "$root" 2>&1); then
        echo "$log" >&2
        echo "mkiso: grub-mkrescue failed" >&2
        exit 1
    fi
    echo "mkiso: built GRUB ISO $out (Multiboot2, cmdline '$cmdline', modules: ${modules[*]:-none})"
    ;;
*)
    echo "mkiso: loader must be auto, limine or grub, not '$loader'" >&2
    exit 1
    ;;
esac
