#!/usr/bin/env bash
# Adds up what `make test` ran and prints the closing `N passed, N failed`
# line: host unit tests, every in-kernel suite run, and each harness
# self-check (a boot that had to fail for one exact reason) as one case.
#
#   scripts/test-summary.sh OUT_DIR
set -euo pipefail
out=${1:?usage: test-summary.sh OUT_DIR}
passed=0 failed=0

# cargo: "test result: ok. 19 passed; 0 failed; ..."
if [ -f "$out/host-tests.log" ]; then
    read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
                       END { print p + 0, f + 0 }' "$out/host-tests.log")
    echo "test: host unit tests: $p passed, $f failed"
    passed=$((passed + p)) failed=$((failed + f))
fi

# kernel suites: the runner's verdict line in each log
for log in "$out"/test-*.log; do
    [ -f "$log" ] || continue
    name=$(basename "$log" .log)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
    if [ -z "$line" ] || ! grep -q '^runner: PASS' "$log"; then
        echo "test: $name: no passing summary"
        failed=$((failed + 1))
        continue
    fi
    p=${line%% passed*} f=${line#*, } f=${f%% failed*}
    echo "test: $name: $line"
    passed=$((passed + p)) failed=$((failed + f))
done

# harness self-checks
for log in "$out"/harness-*.log; do
    [ -f "$log" ] || continue
    if grep -q '^runner: PASS: failed as expected' "$log"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
