#!/usr/bin/env bash
# Runs the test manifest's programs natively on this Linux host, as a check
# of the programs themselves (they are ordinary static Linux programs).
#
#   user/linux/host-check.sh [OUT_DIR]     (default OUT_DIR: target/bulkhead)
#
# Builds with scripts/linux-build.sh OUT_DIR, then for each container of
# OUT_DIR/test.manifest copies its staged tree to a fresh temporary
# directory, and runs the container's `run` lines in order with a clean
# environment: the manifest's `env` lines plus BULKHEAD_ROOT=<that
# directory>, which the programs put in front of absolute paths. A
# program's exit status must match its `expect` line. `spawn` lines and
# `expect signal` lines (the crash test needs Bulkhead) are skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$here/target/bulkhead}
"$here/scripts/linux-build.sh" "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-host-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
work=$(cd "$work" && pwd -P)

passed=0 failed=0 skipped=0
container="" root="" envs=() last=() status=""
judge() {   # judge EXPECT-LINE-WORDS...
    [ ${#last[@]} -gt 0 ] || return 0
    if [ "$1" = signal ]; then
        echo "host-check: $container: skipped ${last[*]} (expects signal $2: needs Bulkhead)"
        skipped=$((skipped + 1))
    elif [ "$status" = "$1" ]; then
        passed=$((passed + 1))
    else
        echo "host-check: $container: FAILED ${last[*]}: exit status $status, expected $1"
        failed=$((failed + 1))
    fi
    last=()
}
while read -r word rest; do
    case "$word" in
    '' | '#'*) ;;
    container)
        container=${rest%%#*} container=${container// /} envs=() last=()
        root="$work/$container"
        cp -R "$out/linux/stage/$container" "$root" ;;
    env) envs+=("${rest%%#*}") ;;
    run)
        mapfile -d '' -t argv < <(printf '%s' "$rest" | xargs printf '%s\0')
        echo "host-check: $container: ${argv[*]}"
        set +e
        (cd "$root" && env -i "${envs[@]}" BULKHEAD_ROOT="$root" \
            bash -c 'exec -a "$0" "$@"' "${argv[0]}" "$root${argv[0]}" "${argv[@]:1}")
        status=$?
        set -e
        last=("${argv[@]}")
        ;;
    expect) judge ${rest%%#*} ;;
    spawn) echo "host-check: $container: skipped spawn $rest"; skipped=$((skipped + 1)) ;;
    *) ;;   # mode, memory, files: only meaningful inside Bulkhead
    esac
done < "$out/test.manifest"
echo "host-check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
