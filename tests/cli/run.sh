#!/bin/bash
# run.sh - runs every tests/cli/t_*.sh against the built mamori binary.
# Each test gets a fresh temp dir in $T and helpers from lib.sh; it passes
# when it exits 0. Usage: BUILD=build tests/cli/run.sh [t_name ...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$root/$BUILD" ;; esac
export MAMORI="$BUILD/mamori" SYNTH="$BUILD/mamori-synth" ROOT="$root"

if [ $# -gt 0 ]; then
    tests=()
    for n in "$@"; do tests+=("$here/${n%.sh}.sh"); done
else
    tests=("$here"/t_*.sh)
fi

pass=0 fail=0 failed=()
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    T=$(mktemp -d "${TMPDIR:-/tmp}/mamori-$name.XXXXXX")
    start=$(date +%s)
    if (export T; cd "$T" && bash "$t") >"$T.log" 2>&1; then
        pass=$((pass + 1))
        echo "ok   $name ($(( $(date +%s) - start ))s)"
        rm -rf "$T" "$T.log"
    else
        fail=$((fail + 1))
        failed+=("$name")
        echo "FAIL $name"
        sed 's/^/    /' "$T.log" | tail -n 60
    fi
done
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
