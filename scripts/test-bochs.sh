#!/usr/bin/env bash
# Runs the whole test suite (in-kernel, then user-land) under Bochs 2.7 on a
# CPU model that has PCID and INVPCID (corei7_haswell_4770), which QEMU's TCG
# lacks, and requires the kernel's banner to say `PCID yes INVPCID yes`.
#
#   scripts/test-bochs.sh
#
# Builds the test kernel, the user programs and the runner through their make
# targets, makes a GRUB ISO (target/bulkhead/test-bochs.iso), and judges the
# boot with `bulkhead-runner bochs --require-pcid`; the serial output and the
# verdict go to the terminal and to target/bulkhead/test-bochs.log. Exits
# non-zero unless the runner says PASS. Bochs comes from Debian's bochs,
# bochsbios and vgabios packages.
#
# Environment: BOCHS_TIMEOUT (seconds, default 300), BOCHS_CMDLINE (the kernel
# command line, default "loglevel=info"), BOCHS_NAME (names the ISO and the
# log, default test-bochs), BULKHEAD_BOCHS (the bochs binary).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=target/bulkhead
timeout=${BOCHS_TIMEOUT:-300}
cmdline=${BOCHS_CMDLINE:-loglevel=info}
name=${BOCHS_NAME:-test-bochs}
runner=target/release/bulkhead-runner

make --no-print-directory kernel-test user linux runner
scripts/mkiso.sh "$out/bulkhead-test.elf" "$out/$name.iso" "$cmdline" grub \
    "$out/root.elf:root" "$out/usertests.elf:usertests" "$out/linuxsrv.elf:linuxsrv" \
    "$out/small.manifest:manifest" "$out/alpha-files.cpio:alpha-files" \
    "$out/beta-files.cpio:beta-files" "$out/crashy-files.cpio:crashy-files" >/dev/null
echo "== $name: GRUB ISO under Bochs (corei7_haswell_4770), cmdline '$cmdline'"
start=$SECONDS
status=0
"$runner" bochs --iso "$out/$name.iso" --timeout "$timeout" --require-pcid \
    --log "$out/$name.log" || status=$?
echo "$name: $(grep -m1 '^cpu: ' "$out/$name.log" 2>/dev/null || echo 'no cpu banner')"
echo "$name: $(grep '^runner: ' "$out/$name.log" 2>/dev/null | tail -1 || echo 'no verdict') ($((SECONDS - start)) s)"
exit "$status"
