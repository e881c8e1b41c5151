#!/usr/bin/env bash
# Runs the in-guest system-call fuzzer (user/fuzz) under QEMU TCG.
#
#   scripts/fuzz.sh [COUNT] [SEED]     (defaults: 20000 calls, seed 1)
#
# 1. a plain kernel (no in-kernel test suite) into target/fuzz/bulkhead.elf;
# 2. the user programs (scripts/user-build.sh target/fuzz), among them
#    fuzz.elf;
# 3. a GRUB ISO whose boot modules are `root` and `fuzz`, with the command
#    line `user.fuzz.count=COUNT user.fuzz.seed=SEED loglevel=warn` (plus
#    FUZZ_CMDLINE), and a container (the syscall server, a manifest written
#    here, an archive) whose program `fuzz` (user/linux/src/fuzz.c) makes
#    the same number of random Linux system calls from the same seed: the
#    root server runs `fuzz` instead of the tests, then the container,
#    prints `test fuzz::run ... ok` (or FAILED), one line per container
#    program and the leak check, the `N passed, N failed` summary, and
#    ends QEMU with the verdict;
# 4. `bulkhead-runner test`, which judges the run like any test run: a
#    kernel panic, a triple fault, a hang (host timeout) or a fuzzer that
#    did not exit with 0 (a finding, or a crash) is a failure.
#
# The guest transcript goes to target/fuzz/fuzz-SEED-COUNT.log. The fuzzer
# prints `fuzz: N calls, seed S` every 1000 calls; to see the calls around
# a crash, rerun the same seed with FUZZ_CMDLINE="user.fuzz.trace=N" (N a
# little below the last progress line): every call from N on is printed
# before it is made.
#
# Variables: FUZZ_LOG (transcript path), FUZZ_TIMEOUT (seconds; default 120 + COUNT/10), FUZZ_MEMORY
# (QEMU memory, default 128M), FUZZ_CMDLINE (more kernel options, e.g.
# `user.fuzz.partner=0 user.fuzz.epoch=500 timer_hz=1000`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-20000}
seed=${2:-1}
case "$count$seed" in
*[!0-9]* | "") echo "fuzz: COUNT and SEED must be decimal numbers" >&2; exit 2 ;;
esac
timeout=${FUZZ_TIMEOUT:-$((120 + count / 10))}
memory=${FUZZ_MEMORY:-128M}
cmdline="user.fuzz.count=$count user.fuzz.seed=$seed loglevel=warn${FUZZ_CMDLINE:+ $FUZZ_CMDLINE}"
out="$here/target/fuzz"
log=${FUZZ_LOG:-$out/fuzz-$seed-$count.log}
cargo=${CARGO:-$(command -v cargo 2>/dev/null || echo /usr/bin/cargo)}

mkdir -p "$out"
"$here/scripts/kernel-build.sh" "$out/bulkhead.elf"
"$here/scripts/user-build.sh" "$out"
"$here/scripts/linux-build.sh" "$out" >/dev/null
cat >"$out/fuzz.manifest" <<MANIFEST
# Written by scripts/fuzz.sh: the same number of random Linux system calls
# in a container of each mode, then a program that must still run.
container fuzz
mode ipc direct sci sci-sticky
memory 8M
files crashy-files
run /bin/fuzz $count $seed
expect 0
run /bin/hello
expect 0
MANIFEST
"$here/scripts/mkiso.sh" "$out/bulkhead.elf" "$out/fuzz.iso" "$cmdline" grub \
    "$out/root.elf:root" "$out/fuzz.elf:fuzz" "$out/linuxsrv.elf:linuxsrv" \
    "$out/fuzz.manifest:manifest" "$out/crashy-files.cpio:crashy-files"
(cd "$here" && "$cargo" build -q --release -p bulkhead-runner)
started=$(date +%s)
status=0
"$here/target/release/bulkhead-runner" test --iso "$out/fuzz.iso" --memory "$memory" \
    --timeout "$timeout" --log "$log" || status=$?
elapsed=$(( $(date +%s) - started ))
verdict=passed
[ "$status" -eq 0 ] || verdict=FAILED
echo "fuzz: $count calls, seed $seed: $verdict in ${elapsed} s (QEMU TCG, transcript $log)"
exit "$status"
