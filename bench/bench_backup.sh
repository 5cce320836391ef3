#!/bin/bash
# bench_backup.sh BUILD - `mamori backup create` of a vault of BENCH_ROWS
# (default 1000000) synthetic people against its peer: `sqlite3 vault.db
# ".backup x"` followed by `openssl enc -aes-256-ctr -pbkdf2` of the copy.
# Prints each time, the ratio (goal: mamori/peer <= 1.2) and mamori's peak
# RSS.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
rows=${BENCH_ROWS:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-backup.XXXXXX")
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

# The vault is made through the CLI as a user would: init, MFA, a dataset,
# an operator, and an import of the synthetic CSV.
home="$W/vault"
export HOME="$W" MAMORI_HOME="$home" MAMORI_KEY_FILE="$W/vault.key"
export MAMORI_DEVICE_KEY="$W/device.key"
unset XDG_RUNTIME_DIR MAMORI_PASSPHRASE_FD || true
m() { "$build/mamori" "$@"; }
as() { export MAMORI_SESSION_FILE="$W/session-$1"; }
otp() { oathtool --totp -b "$(cat "$W/totp-$1")"; }
enrol() { # enrol USER: MFA on USER's session
    local secret
    secret=$(m --json mfa enroll | sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p')
    printf '%s' "$secret" >"$W/totp-$1"
    m mfa confirm "$(otp "$1")" >/dev/null
}
admin_pw='Bench-Root-91!x' op_pw='Vault-Bench-7xQ#'
echo "== a vault of $rows synthetic people"
"$build/mamori-synth" --count "$rows" --seed 1 --header >"$W/people.csv"
printf '%s\n' "$admin_pw" | m init --key-file "$MAMORI_KEY_FILE" --admin admin >/dev/null
as admin
printf '%s\n' "$admin_pw" | m login --user admin >/dev/null
enrol admin
m dataset create people --client bench --purpose benchmark \
    --field name:name:search --field kana:kana:search --field birth:date \
    --field postal:postal --field address:address \
    --field phone:phone:search --field email:email \
    --field mynumber:mynumber >/dev/null
printf '%s\n' 'Bench-Op-12!' | m user add op --role operator >/dev/null
m dataset grant people op --handler >/dev/null
as op
printf '%s\n' 'Bench-Op-12!' | m login --user op >/dev/null
printf '%s\n%s\n' 'Bench-Op-12!' "$op_pw" | m passwd >/dev/null
enrol op
t0=$(now)
m import people "$W/people.csv" --map birthdate=birth >/dev/null
echo "import: $(secs "$t0" "$(now)") s"
rm -f "$W/people.csv"
as admin # the session from before the import
db_mib=$(( $(stat -c %s "$home/vault.db") / 1048576 ))
echo "vault.db: $db_mib MiB"
# Warm the page cache alike for both.
cat "$home/vault.db" >/dev/null

echo "== peer: sqlite3 .backup + openssl enc -aes-256-ctr -pbkdf2"
t0=$(now)
sqlite3 "$home/vault.db" ".backup '$W/peer.db'"
openssl enc -aes-256-ctr -pbkdf2 -salt -pass pass:bench-passphrase \
    -in "$W/peer.db" -out "$W/peer.db.enc"
t1=$(now)
peer=$(secs "$t0" "$t1")
rm -f "$W/peer.db" "$W/peer.db.enc"

echo "== mamori backup create"
mkdir -m 700 "$W/bk"
t0=$(now)
/usr/bin/time -f 'peak_rss_kib %M' -o "$W/time.txt" \
    "$build/mamori" backup create --out "$W/bk" --quiet
t1=$(now)
mine=$(secs "$t0" "$t1")
rss=$(awk '/^peak_rss_kib/ {printf "%.1f", $2 / 1024}' "$W/time.txt")
size=$(( $(stat -c %s "$W"/bk/*.mbak) / 1048576 ))

echo "== mamori backup verify"
t0=$(now)
/usr/bin/time -f 'peak_rss_kib %M' -o "$W/time2.txt" \
    "$build/mamori" backup verify "$W"/bk/*.mbak >/dev/null
t1=$(now)
ver=$(secs "$t0" "$t1")
vrss=$(awk '/^peak_rss_kib/ {printf "%.1f", $2 / 1024}' "$W/time2.txt")

echo
echo "== results ($rows records, vault.db $db_mib MiB, backup $size MiB)"
printf 'backup  peer %8.2f s | mamori %8.2f s (peak RSS %s MiB)\n' \
    "$peer" "$mine" "$rss"
printf '        mamori/peer = %s   (goal: <= 1.2)\n' "$(ratio "$mine" "$peer")"
printf 'verify  mamori %8.2f s (peak RSS %s MiB; decrypt, SHA-256, audit chain)\n' \
    "$ver" "$vrss"
