#!/usr/bin/env bash
# Builds the benchmark ISO and runs it: `make bench`.
#
#   scripts/bench.sh [tcg|kvm|bochs]   (default: BENCH_ACCEL, else tcg)
#
# 1. the kernel with `--features bench` (kernel/src/bench.rs: env lines,
#    cr3.load.flush, cr3.load.noflush when PCID is on);
# 2. the user programs, among them user/bench (syscall.null.native, ...);
# 3. a GRUB ISO whose boot modules are `root`, `bench` and the container
#    benchmarks (the syscall server, user/linux/bench.manifest and an
#    archive with user/linux/src/bench.c): the root server runs `bench`
#    instead of the tests, then the manifest's containers, and ends QEMU
#    with the verdict;
# 4. `bulkhead-runner bench`: QEMU TCG with `-icount shift=0,sleep=off`, so
#    RDTSC counts executed instructions and the figures repeat exactly (with
#    kvm: no icount, real cycles). It prints the table and writes
#    target/bench/results.json and target/bench/results.md.
#
# With `bochs` step 4 boots the same ISO under Bochs 2.7 instead
# (`bulkhead-runner bench --emulator bochs`: cpu model corei7_haswell_4770,
# which has PCID and INVPCID, so cr3.load.noflush is measured too). RDTSC
# then counts emulated instructions; the outputs say these are emulator
# figures, not hardware cycles. They go to target/bench/results-bochs.json
# and results-bochs.md (the QEMU results are left alone), the transcript to
# bench-bochs.log. Bochs takes its memory (128 MiB) from the runner's
# bochsrc, so BENCH_MEMORY does not apply.
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
tcg | kvm)
    emulator=(--accel "$accel" --memory "$memory")
    results=results
    log=bench.log
    ;;
bochs)
    emulator=(--emulator bochs)
    results=results-bochs
    log=bench-bochs.log
    ;;
*) echo "bench: the accelerator must be tcg, kvm or bochs, not '$accel'" >&2; exit 2 ;;
esac

mkdir -p "$out"
"$here/scripts/kernel-build.sh" "$out/bulkhead-bench.elf" bench
"$here/scripts/user-build.sh" "$out"
"$here/scripts/linux-build.sh" "$out"
"$here/scripts/mkiso.sh" "$out/bulkhead-bench.elf" "$out/bench.iso" "$cmdline" grub \
    "$out/root.elf:root" "$out/bench.elf:bench" "$out/linuxsrv.elf:linuxsrv" \
    "$out/bench.manifest:manifest" "$out/alpha-files.cpio:alpha-files"
(cd "$here" && "$cargo" build -q --release -p bulkhead-runner)
rm -f "$out/$results.json" "$out/$results.md"
"$here/target/release/bulkhead-runner" bench --iso "$out/bench.iso" "${emulator[@]}" \
    --timeout "$timeout" --log "$out/$log" \
    --json "$out/$results.json" --markdown "$out/$results.md"
