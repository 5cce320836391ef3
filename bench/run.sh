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

echo "== sqlite3 .import (plain table, 3 indexes)"
t0=$(now)
sqlite3 "$W/plain.db" <<SQL
PRAGMA journal_mode=WAL;
$schema
.mode csv
.import $W/people.csv people
SQL
t1=$(now)
plain=$(secs "$t0" "$t1")
lookup_sql >"$W/lookups.sql"
t0=$(now)
sqlite3 "$W/plain.db" <"$W/lookups.sql" >/dev/null
t1=$(now)
plain_q=$(secs "$t0" "$t1")

echo "== sqlcipher .import (keyed database, 3 indexes)"
t0=$(now)
sqlcipher "$W/cipher.db" <<SQL >/dev/null
PRAGMA key = 'bench-passphrase';
PRAGMA journal_mode=WAL;
$schema
.mode csv
.import $W/people.csv people
SQL
t1=$(now)
cipher=$(secs "$t0" "$t1")
{ echo "PRAGMA key = 'bench-passphrase';"; cat "$W/lookups.sql"; } >"$W/lookups-c.sql"
t0=$(now)
sqlcipher "$W/cipher.db" <"$W/lookups-c.sql" >/dev/null
t1=$(now)
cipher_q=$(secs "$t0" "$t1")

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
