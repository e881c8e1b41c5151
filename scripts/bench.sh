#!/usr/bin/env bash
# Builds the benchmark ISO and runs it: `make bench`.
#
#   scripts/bench.sh [tcg|kvm]       (default: BENCH_ACCEL, else tcg)
#
# 1. the kernel with `--features bench` (kernel/src/bench.rs: env lines,
#    cr3.load.flush, cr3.load.noflush when PCID is on);
# 2. the user programs, among them user/bench (syscall.null.native, ...);
# 3. a GRUB ISO whose boot modules are `root` and `bench`: the root server
#    runs `bench` instead of the tests and ends QEMU with the verdict;
# 4. `bulkhead-runner bench`: QEMU TCG with `-icount shift=0,sleep=off`, so
#    RDTSC counts executed instructions and the figures repeat exactly (with
#    kvm: no icount, real cycles). It prints the table and writes
#    target/bench/results.json and target/bench/results.md.
#
# Everything goes under target/bench/ (the guest transcript in bench.log).
# Variables: BENCH_TIMEOUT (seconds, default 300), BENCH_MEMORY (128M),
# BENCH_CMDLINE (kernel command line, default loglevel=warn).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
accel=${1:-${BENCH_ACCEL:-tcg}}
timeout=${BENCH_TIMEOUT:-300}
memory=${BENCH_MEMORY:-128M}
cmdline=${BENCH_CMDLINE:-loglevel=warn}
out="$here/target/bench"
cargo=${CARGO:-$(command -v cargo 2>/dev/null || echo /usr/bin/cargo)}

case "$accel" in
tcg | kvm) ;;
*) echo "bench: the accelerator must be tcg or kvm, not '$accel'" >&2; exit 2 ;;
esac

mkdir -p "$out"
"$here/scripts/kernel-build.sh" "$out/bulkhead-bench.elf" bench
"$here/scripts/user-build.sh" "$out"
"$here/scripts/mkiso.sh" "$out/bulkhead-bench.elf" "$out/bench.iso" "$cmdline" grub \
    "$out/root.elf:root" "$out/bench.elf:bench"
(cd "$here" && "$cargo" build -q --release -p bulkhead-runner)
rm -f "$out/results.json" "$out/results.md"
"$here/target/release/bulkhead-runner" bench --iso "$out/bench.iso" --accel "$accel" \
    --timeout "$timeout" --memory "$memory" --log "$out/bench.log" \
    --json "$out/results.json" --markdown "$out/results.md"
