#!/bin/bash
# bench_export.sh BUILD - export of a whole dataset to an AES-256 ZIP
# (mamori export run) against `7z a -tzip -mem=AES256` of the same CSV at
# the same deflate level, and mamori's peak RSS. Prints each figure and the
# ratio. BENCH_ROWS (default 1000000) scales it. The vault is filled with
# `mamori import` of mamori-synth's people.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
rows=${BENCH_ROWS:-1000000}
# mamori's ZIP member is deflated at zlib level 6 (EXPORT_ZIP_LEVEL in
# lib/export.c); 7-Zip's -mx=6 is its deflate at "normal" (fb 32, 1 pass).
level=6
W=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-export.XXXXXX")
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

# The CLI test helpers make the vault, its users and their logins.
export T=$W MAMORI=$build/mamori ROOT=$root
. "$root/tests/cli/lib.sh"
set +x

echo "== generating $rows synthetic people"
"$build/mamori-synth" --count "$rows" --seed 1 --header >"$W/people.csv"

echo "== vault, import"
ok_in "$ADMIN_PW" init --key-file "$KEY" --admin admin
login admin "$ADMIN_PW"
enrol admin
ok_in "$INIT_PW" user add op1 --role operator
ok dataset create people --client 'ベンチ商事' --purpose '給与計算' \
    --field name:name:search --field kana:kana:search \
    --field birthdate:date --field postal:postal --field address:address \
    --field phone:phone:search --field email:email \
    --field mynumber:mynumber
ok dataset grant people op1 --handler
ok config set export.alert_threshold 100
first_login op1 "$OP_PW"
t0=$(now)
ok import people "$W/people.csv"
t1=$(now)
echo "import: $(secs "$t0" "$t1") s"

echo "== mamori export run (zip, level $level)"
ok --quiet export request people --reason 'benchmark of the export' \
    --format zip
id=$OUT
as admin
ok export approve "$id"
as op1
t0=$(now)
set +e
/usr/bin/time -f '%M' -o "$W/rss" "$MAMORI" export run "$id" \
    --out "$W/mamori.zip" >"$W/run.out" 2>"$W/run.err" </dev/null
rc=$?
set -e
t1=$(now)
[ "$rc" -eq 0 ] || die "export run: exit $rc: $(cat "$W/run.err")"
m_s=$(secs "$t0" "$t1")
m_rss_kib=$(tail -n1 "$W/rss")
m_rss=$(echo "scale=1; $m_rss_kib / 1024" | bc -l)
pw=$(tail -n1 "$W/run.out")
count=$(awk -F': ' '/^records/ {print $2}' "$W/run.out")
[ "$count" = "$rows" ] || die "exported $count records, want $rows"

echo "== the same CSV, for the peer"
mkdir "$W/x"
(cd "$W/x" && 7z x -p"$pw" "$W/mamori.zip" >/dev/null)
csv=$W/x/people.csv
[ "$(wc -l <"$csv")" -eq $((rows + 1)) ] || die "CSV row count"

echo "== 7z a -tzip -mem=AES256 -mx=$level"
t0=$(now)
7z a -tzip -mem=AES256 -mx=$level -p"$pw" "$W/peer.zip" "$csv" >/dev/null
t1=$(now)
p_s=$(secs "$t0" "$t1")

echo
echo "== results ($rows records, $(du -m "$csv" | cut -f1) MiB of CSV)"
printf 'export  7z %8.2f s | mamori %8.2f s (peak RSS %s MiB; zip %s MiB vs %s MiB)\n' \
    "$p_s" "$m_s" "$m_rss" "$(du -m "$W/mamori.zip" | cut -f1)" \
    "$(du -m "$W/peer.zip" | cut -f1)"
printf '        mamori/7z = %s   (goal: <= 1.0, RSS <= 64 MiB)\n' \
    "$(ratio "$m_s" "$p_s")"
