#!/bin/bash
# run.sh BUILD - `make bench`: mamori against the sqlite3 and sqlcipher shells
# on the same synthetic CSV, in one run. Prints each figure and its ratio.
# BENCH_ROWS (default 1000000) and BENCH_LOOKUPS (default 20000) scale it.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
rows=${BENCH_ROWS:-1000000}
lookups=${BENCH_LOOKUPS:-20000}
lookups=$((lookups > rows / 2 ? rows / 2 : lookups))
W=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

echo "== generating $rows synthetic people"
"$build/mamori-synth" --count "$rows" --seed 1 >"$W/people.csv"
# lookup keys: phone numbers of evenly spaced rows (a selective key, as an
# operator's search is; rows with a quoted address are skipped so that the
# comma split stays right)
awk -F, -v n="$lookups" -v r="$rows" \
    'NR % int(r / n) == 0 && !/"/ && k < n { print $6; k++ }' \
    "$W/people.csv" >"$W/keys.txt"

schema="CREATE TABLE people(name,kana,birthdate,postal,address,phone,email,mynumber);
CREATE INDEX i_name ON people(name);
CREATE INDEX i_kana ON people(kana);
CREATE INDEX i_phone ON people(phone);"
lookup_sql() {
    sed "s/'/''/g; s/.*/SELECT * FROM people WHERE phone = '&';/" "$W/keys.txt"
}

# peer NAME SHELL DB KEYSQL: the shell imports the CSV into a table with
# the 3 indexes, then runs the lookups; sets import_s and lookup_s.
peer() {
    local name=$1 shell=$2 db=$3 keysql=$4 t0 t1
    echo "== $name .import (3 indexes)"
    t0=$(now)
    "$shell" "$db" >/dev/null <<SQL
$keysql
PRAGMA journal_mode=WAL;
$schema
.mode csv
.import $W/people.csv people
SQL
    t1=$(now)
    import_s=$(secs "$t0" "$t1")
    { echo "$keysql"; lookup_sql; } >"$W/lookups-$name.sql"
    t0=$(now)
    "$shell" "$db" <"$W/lookups-$name.sql" >/dev/null
    t1=$(now)
    lookup_s=$(secs "$t0" "$t1")
}

peer sqlite3 sqlite3 "$W/plain.db" ""
plain=$import_s plain_q=$lookup_s
peer sqlcipher sqlcipher "$W/cipher.db" "PRAGMA key = 'bench-passphrase';"
cipher=$import_s cipher_q=$lookup_s

echo "== mamori"
"$build/bench-vault" "$W" "$W/people.csv" "$W/keys.txt" >"$W/mamori.txt"
cat "$W/mamori.txt"
m_ins=$(awk '/^insert_seconds/ {print $2}' "$W/mamori.txt")
m_rss=$(awk '/^insert_peak_rss_mib/ {print $2}' "$W/mamori.txt")
m_lps=$(awk '/^lookups_per_second/ {print $2}' "$W/mamori.txt")
m_vps=$(awk '/^verify_entries_per_second/ {print $2}' "$W/mamori.txt")
plain_lps=$(echo "$lookups / $plain_q" | bc -l)
cipher_lps=$(echo "$lookups / $cipher_q" | bc -l)

echo
echo "== results ($rows rows, 8 fields, 3 searchable; $lookups lookups)"
printf 'insert  sqlite3 %8.2f s | sqlcipher %8.2f s | mamori %8.2f s (peak RSS %s MiB)\n' \
    "$plain" "$cipher" "$m_ins" "$m_rss"
printf '        mamori/sqlite3 = %s   mamori/sqlcipher = %s   (goal: mamori/sqlite3 <= 1.0, RSS <= 64 MiB)\n' \
    "$(ratio "$m_ins" "$plain")" "$(ratio "$m_ins" "$cipher")"
printf 'lookup  sqlite3 %8.0f /s | sqlcipher %8.0f /s | mamori %8.0f /s\n' \
    "$plain_lps" "$cipher_lps" "$m_lps"
printf '        mamori/sqlite3 = %s   mamori/sqlcipher = %s   (goal: mamori >= 100000 /s)\n' \
    "$(ratio "$m_lps" "$plain_lps")" "$(ratio "$m_lps" "$cipher_lps")"
printf 'verify  mamori %.0f entries/s (goal >= 3000000 /s)\n' "$m_vps"
# The two absolute goals were set on a machine where the sqlite3 .import of
# 1,000,000 rows took about 14 s. This machine's speed drifts (a shared,
# paravirtualised one was seen at half speed for hours), so each goal is
# also shown scaled by the sqlite3 import of this same run. Both figures
# are printed; the scaled one says what the raw one means here.
if [ "$rows" -eq 1000000 ]; then
    speed=$(echo "14 / $plain" | bc -l)
    printf 'machine sqlite3 .import %.2f s against about 14 s where the goals were set: speed %.2f\n' \
        "$plain" "$speed"
    printf '        goals at this speed: lookup >= %.0f /s (mamori %s of it), verify >= %.0f /s (mamori %s of it)\n' \
        "$(echo "100000 * $speed" | bc -l)" \
        "$(ratio "$m_lps" "$(echo "100000 * $speed" | bc -l)")" \
        "$(echo "3000000 * $speed" | bc -l)" \
        "$(ratio "$m_vps" "$(echo "3000000 * $speed" | bc -l)")"
fi

# The data-in-and-out benchmarks (issue 4), each against its own peers in
# this same run: import, export, backup; and the API against nginx (issue 5).
for b in import export backup api; do
    echo
    "$root/bench/bench_$b.sh" "$build"
done
