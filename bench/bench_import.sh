#!/bin/bash
# bench_import.sh BUILD - CSV import: `mamori import` of a CP932 CSV
# (mamori-synth --encoding cp932 --crlf, as Excel writes it) against the
# sqlite3 and sqlcipher shells' `.import` of the UTF-8 version into a plain
# table with an index per searchable column (name, kana, phone). Prints each
# time, the ratios and mamori's peak RSS. BENCH_ROWS (default 1000000)
# scales it.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
rows=${BENCH_ROWS:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-import.XXXXXX")
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

echo "== generating $rows synthetic people (UTF-8 and CP932)"
"$build/mamori-synth" --count "$rows" --seed 1 >"$W/people.csv"
"$build/mamori-synth" --count "$rows" --seed 1 --header --encoding cp932 \
    --crlf >"$W/people-cp932.csv"

schema="CREATE TABLE people(name,kana,birthdate,postal,address,phone,email,mynumber);
CREATE INDEX i_name ON people(name);
CREATE INDEX i_kana ON people(kana);
CREATE INDEX i_phone ON people(phone);"

# peer SHELL DB KEYSQL: .import into the indexed table; sets import_s.
peer() {
    local shell=$1 db=$2 keysql=$3 t0 t1
    echo "== $shell .import (3 indexes)"
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
}
peer sqlite3 "$W/plain.db" ""
plain=$import_s
peer sqlcipher "$W/cipher.db" "PRAGMA key = 'bench-passphrase';"
cipher=$import_s

echo "== mamori import"
# A vault with an admin, an operator (My Number handler) and the dataset,
# made with the CLI test helpers (TOTP through oathtool).
T="$W/t"
mkdir -p "$T"
export T MAMORI="$build/mamori"
(
    cd "$T"
    # shellcheck source=../tests/cli/lib.sh
    source "$root/tests/cli/lib.sh"
    ok_in "$ADMIN_PW" init --key-file "$KEY" --admin admin
    login admin "$ADMIN_PW"
    enrol admin
    ok_in "$INIT_PW" user add op1 --role operator
    ok dataset create people --client bench --purpose bench \
        --field name:name:search --field kana:kana:search \
        --field birthdate:date --field postal:postal --field address:address \
        --field phone:phone:search --field email:email \
        --field mynumber:mynumber
    ok dataset grant people op1 --handler
    first_login op1 "$OP_PW"
    t0=$(now)
    /usr/bin/time -f %M -o "$W/rss.txt" "$MAMORI" import people \
        "$W/people-cp932.csv" >"$W/import.out" 2>"$W/import.err" ||
        die "import failed: $(cat "$W/import.err")"
    t1=$(now)
    secs "$t0" "$t1" >"$W/mamori_s.txt"
)
m=$(cat "$W/mamori_s.txt")
rss_kib=$(tail -n 1 "$W/rss.txt")
rss=$(echo "scale=1; $rss_kib / 1024" | bc -l)
cat "$W/import.out"

echo
echo "== results ($rows rows, CP932 CSV for mamori, UTF-8 for the shells; 3 indexes)"
printf 'import  sqlite3 %8.2f s | sqlcipher %8.2f s | mamori %8.2f s (peak RSS %s MiB)\n' \
    "$plain" "$cipher" "$m" "$rss"
printf '        mamori/sqlite3 = %s   mamori/sqlcipher = %s   (goal: mamori/sqlite3 <= 1.0, RSS <= 64 MiB)\n' \
    "$(ratio "$m" "$plain")" "$(ratio "$m" "$cipher")"
