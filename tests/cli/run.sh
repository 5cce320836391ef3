#!/bin/bash
# run.sh - runs every tests/cli/t_*.sh against the built mamori binary.
# Each test gets a fresh temp dir in $T and helpers from lib.sh; it passes
# when it exits 0. Tests are independent (own vault, own $HOME), so they
# run JOBS at a time (default: the number of CPUs); a failed test's log
# is printed after its line.
# Usage: BUILD=build [JOBS=N] tests/cli/run.sh [t_name ...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$root/$BUILD" ;; esac
export MAMORI="$BUILD/mamori" SYNTH="$BUILD/mamori-synth" ROOT="$root"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad JOBS: $jobs" >&2; exit 2; }

if [ $# -gt 0 ]; then
    tests=()
    for n in "$@"; do tests+=("$here/${n%.sh}.sh"); done
else
    tests=("$here"/t_*.sh)
fi

res=$(mktemp -d "${TMPDIR:-/tmp}/mamori-run.XXXXXX")
trap 'rm -rf "$res"' EXIT

# one NAME PATH: runs one test; its verdict line goes to $res/NAME.
one() {
    local name=$1 t=$2 start dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mamori-$name.XXXXXX")
    start=$(date +%s)
    if (export T=$dir; cd "$dir" && bash "$t") >"$dir.log" 2>&1; then
        echo "ok   $name ($(($(date +%s) - start))s)" >"$res/$name"
        rm -rf "$dir" "$dir.log"
    else
        { echo "FAIL $name ($(($(date +%s) - start))s)"
          sed 's/^/    /' "$dir.log" | tail -n 60; } >"$res/$name"
    fi
    cat "$res/$name"
}

running=0
for t in "${tests[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    one "$(basename "$t" .sh)" "$t" &
    running=$((running + 1))
done
wait

pass=0 fail=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    if [ -f "$res/$name" ] && head -c 4 "$res/$name" | grep '^ok' >/dev/null; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "failed: $name"
    fi
done
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
