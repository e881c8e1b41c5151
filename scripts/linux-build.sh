#!/usr/bin/env bash
# Builds the Linux test programs for the containers and packs each
# container's file tree into a cpio archive:
#
#   scripts/linux-build.sh OUT_DIR   ->  OUT_DIR/linux/bin/PROGRAM      (static musl ELFs)
#                                        OUT_DIR/<container>-files.cpio (one per user/linux/trees/<container>)
#                                        OUT_DIR/{test,demo,bench,scale}.manifest (copies), OUT_DIR/full-test.manifest
#                                        (test.manifest + robust.manifest), OUT_DIR/small.manifest
#                                        (test.manifest, one mode per container)
#
# Every user/linux/src/NAME.c is one program, built with musl-gcc -static
# (hello also as hello-pie, a static PIE) and stripped; a program is only
# rebuilt when its source or check.h changed. Each archive (cpio newc,
# owner 0:0, sorted, fixed timestamps) holds the container's tree plus
# bin/ with every program and an empty tmp/. The staged trees stay in
# OUT_DIR/linux/stage/<container>/ for the host check (user/linux/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: linux-build.sh OUT_DIR}
src="$here/user/linux/src"
trees="$here/user/linux/trees"

for tool in musl-gcc cpio strip; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "linux-build: $tool not found: run 'make deps' (or: sudo apt-get install musl-tools cpio binutils)" >&2
        exit 1
    }
done

cflags=(-Os -Wall -Wextra -Werror -std=gnu11)
bin="$out/linux/bin"
mkdir -p "$bin"

# musl-gcc's specs know no -static-pie: link a static PIE by hand with
# musl's self-relocating start file rcrt1.o, which lies next to the Scrt1.o
# named in the specs file the musl-gcc wrapper passes to gcc.
specs=$(grep -o '/[^" ]*musl-gcc\.specs' "$(command -v musl-gcc)" | head -n1 || true)
musl_lib=$(dirname "$(grep -o '/[^ ]*/Scrt1\.o' "${specs:-/dev/null}" 2>/dev/null | head -n1 || true)")
[ -f "$musl_lib/rcrt1.o" ] || { echo "linux-build: musl's rcrt1.o not found in '$musl_lib'" >&2; exit 1; }
pie=(-fPIE -pie -nostartfiles -Wl,-Bstatic -Wl,--no-dynamic-linker -Wl,-z,text
     "$musl_lib/rcrt1.o" "$musl_lib/crti.o" "$(musl-gcc -print-file-name=crtbeginS.o)")
pie_end=("$(musl-gcc -print-file-name=crtendS.o)" "$musl_lib/crtn.o")

build() {   # build OUTPUT SOURCE static|pie
    local target=$1 source=$2
    [ "$target" -nt "$source" ] && [ "$target" -nt "$src/check.h" ] && [ "$target" -nt "$0" ] && return 0
    if [ "$3" = pie ]; then
        musl-gcc "${cflags[@]}" "${pie[@]}" "$source" "${pie_end[@]}" -o "$target.tmp"
    else
        musl-gcc "${cflags[@]}" -static "$source" -o "$target.tmp"
    fi
    strip "$target.tmp"
    mv "$target.tmp" "$target"
}

programs=0
for c in "$src"/*.c; do
    name=$(basename "$c" .c)
    build "$bin/$name" "$c" static
    programs=$((programs + 1))
done
build "$bin/hello-pie" "$src/hello.c" pie
programs=$((programs + 1))
for f in "$bin"/*; do   # drop programs whose source is gone
    name=$(basename "$f")
    [ -f "$src/$name.c" ] || [ "$name" = hello-pie ] || rm -f "$f"
done

archives=0
for tree in "$trees"/*/; do
    name=$(basename "$tree")
    stage="$out/linux/stage/$name"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp -R "$tree". "$stage/"
    mkdir -p "$stage/bin" "$stage/tmp"
    chmod 1777 "$stage/tmp"
    cp "$bin"/* "$stage/bin/"
    find "$stage" -exec touch -h -d @0 {} +
    (cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) > "$out/$name-files.cpio.tmp"
    mv "$out/$name-files.cpio.tmp" "$out/$name-files.cpio"
    archives=$((archives + 1))
done

cp "$here/user/linux/test.manifest" "$out/test.manifest"
cp "$here/user/linux/demo.manifest" "$out/demo.manifest"
cp "$here/user/linux/bench.manifest" "$out/bench.manifest"
cp "$here/user/linux/scale.manifest" "$out/scale.manifest"
# The main test run also injects faults (user/linux/robust.manifest).
cat "$here/user/linux/test.manifest" "$here/user/linux/robust.manifest" >"$out/full-test.manifest"
# Small machines (64 MiB, Bochs) run each container in the first mode its
# `mode` line names only (a copy per mode does not fit).
sed -E 's/^(mode +[a-z-]+)( +[a-z-]+)+ *$/\1/' "$here/user/linux/test.manifest" >"$out/small.manifest"
echo "linux-build: $programs programs, $archives archives in $out"
