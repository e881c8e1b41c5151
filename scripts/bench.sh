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
# 5. a second boot for the scaling benchmark (servers/root/src/
#    scaling.rs): target/bench/scaling.iso, the same kernel and programs
#    with user/linux/scale.manifest and `root.scaling=COUNTS pcid.limit=256`
#    on the command line, in BENCH_SCALING_MEMORY of memory. The root
#    server keeps 1, 10, 100, then 1000 idle ipc containers alive and
#    measures getpid, the IPC round trip, a ping sweep over every server
#    (CR3 writes and TLB flushes per call) and the kernel memory per
#    container. PCIDs are limited to 256 so that the larger counts have
#    more address spaces than PCIDs (a real CPU has 4094). The runner
#    merges its `scaling.*` figures into the same report (a "Scaling"
#    section, a `scaling` object in results.json, scaling.svg).
#    BENCH_SCALING=none skips it. Under Bochs (128 MiB) it runs 1, 8 and
#    32 containers with 16 PCIDs.
#
# Everything goes under target/bench/ (the guest transcript in bench.log).
# Variables: BENCH_TIMEOUT (seconds, default 300), BENCH_MEMORY (128M),
# BENCH_CMDLINE (kernel command line, default loglevel=warn), BENCH_SCALING
# (counts, default 1,10,100,1000; none to skip), BENCH_SCALING_MEMORY (2G).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
accel=${1:-${BENCH_ACCEL:-tcg}}
timeout=${BENCH_TIMEOUT:-300}
memory=${BENCH_MEMORY:-128M}
cmdline=${BENCH_CMDLINE:-loglevel=warn}
scaling=${BENCH_SCALING:-1,10,100,1000}
scaling_memory=${BENCH_SCALING_MEMORY:-2G}
scaling_pcids=256
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
    # Bochs has 128 MiB: fewer containers, and fewer PCIDs to outnumber.
    scaling=${BENCH_SCALING:-1,8,32}
    scaling_pcids=16
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
scaling_args=()
if [ "$scaling" != none ]; then
    "$here/scripts/mkiso.sh" "$out/bulkhead-bench.elf" "$out/scaling.iso" \
        "$cmdline root.scaling=$scaling pcid.limit=$scaling_pcids" grub \
        "$out/root.elf:root" "$out/bench.elf:bench" "$out/linuxsrv.elf:linuxsrv" \
        "$out/scale.manifest:manifest" "$out/alpha-files.cpio:alpha-files"
    scaling_args=(--scaling-iso "$out/scaling.iso")
    [ "$accel" = bochs ] || scaling_args+=(--scaling-memory "$scaling_memory")
fi
(cd "$here" && "$cargo" build -q --release -p bulkhead-runner)
rm -f "$out/$results.json" "$out/$results.md"
"$here/target/release/bulkhead-runner" bench --iso "$out/bench.iso" "${emulator[@]}" \
    --timeout "$timeout" --log "$out/$log" "${scaling_args[@]}" \
    --json "$out/$results.json" --markdown "$out/$results.md"
