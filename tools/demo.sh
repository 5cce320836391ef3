#!/bin/bash
# demo.sh BUILD [--serve] - `make run`: a demo vault in ./demo with
# synthetic people, and a tour of the CLI. With --serve it then starts
# mamorid on https://127.0.0.1:8443 (or the next free port) with a
# self-signed certificate for localhost, prints the URL and the demo logins,
# and stays in the foreground until Ctrl-C (or SIGTERM). Every value shown
# is synthetic. MAMORI_DEMO_DIR (default ./demo) and MAMORI_DEMO_PORT
# (default 8443) move it.
set -euo pipefail
build=${1:-build}
serve=0
[ "${2:-}" = --serve ] && serve=1
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
M="$build/mamori"
demo=${MAMORI_DEMO_DIR:-$root/demo}
export MAMORI_HOME="$demo/vault"
ADMIN_PW='Demo-Kanri-2026!' OP_PW='Demo-Operator-2026!' AUD_PW='Demo-Auditor-2026!'
INIT_PW='Shoki-Pass#4821'

# mfa USER: enrols a TOTP authenticator for USER's session; oathtool plays
# the phone app. The secret is kept in $demo/totp-USER for the tour.
mfa() {
    local out secret
    out=$("$M" --json mfa enroll)
    secret=$(printf '%s' "$out" | sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p')
    printf '%s\n' "$secret" >"$demo/totp-$1"
    printf '$ mamori mfa enroll            # QR code for the authenticator app\n'
    printf '$ mamori mfa confirm CODE      # the code the app shows (oathtool here)\n'
    "$M" mfa confirm "$(oathtool --totp -b "$secret")" | head -3
    echo "  ... (10 recovery codes, shown once)"
}
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ mamori %s\n' "$*"; "$M" "$@"; }
as() { export MAMORI_SESSION_FILE="$demo/session-$1"; }

rm -rf "$demo"
mkdir -p "$demo"
say "A new vault; its master key file is created 0400"
printf '%s\n' "$ADMIN_PW" | run init --key-file "$demo/master.key" --admin admin
as admin
printf '%s\n' "$ADMIN_PW" | run login --user admin
say "Admins must use a one-time code (TOTP): the first login enrols it"
mfa admin
say "Users: an operator (事務取扱担当者) and an auditor"
printf '%s\n' "$INIT_PW" | run user add tanaka --role operator
printf '%s\n' "$INIT_PW" | run user add kansa --role auditor
run user list
say "A dataset for a client, with three searchable fields"
run dataset create payroll --client '株式会社サンプル' --purpose '年末調整事務' \
    --ends 2027-03-31 --field name:name:search --field kana:kana:search \
    --field birth:date --field postal:postal --field address:address \
    --field phone:phone:search --field email:email --field mynumber:mynumber
run dataset grant payroll tanaka --handler
say "The admin cannot read personal data"
run record search payroll kana=ヤマダ || true

as tanaka
printf '%s\n' "$INIT_PW" | run login --user tanaka
say "The initial password an admin set is changed at the first login"
printf '%s\n%s\n' "$INIT_PW" "$OP_PW" | run passwd
mfa tanaka
say "The operator imports 200 synthetic people from a CSV saved by Excel (CP932, CRLF)"
"$build/mamori-synth" --count 200 --seed 2026 --header --encoding cp932 \
    --crlf >"$demo/people.csv"
run import payroll "$demo/people.csv" --map birthdate=birth
first_id=$("$M" record add payroll name='山田　太郎' kana='ヤマダ タロウ' \
    birth='S55.4.1' postal='１００－０００１' phone='090-1234-5678' \
    mynumber=123456789018)
say "Search by kana, typed in half-width or hiragana, finds the same record"
run record search payroll kana='ﾔﾏﾀﾞ ﾀﾛｳ'
run record search payroll kana='やまだ　たろう' --json
say "Correct a record; each change is a new version"
run record update payroll "$first_id" phone='080-1111-2222'
run record get payroll "$first_id"

say "Data leaves only with the admin's approval (持ち出し), encrypted"
export_id=$("$M" -q export request payroll --format zip \
    --reason '年末調整 税理士へ送付' --search kana=ヤマダタロウ)
printf '$ mamori export request payroll --format zip --search kana=... -> %s\n' \
    "$export_id"
as admin
run export approve "$export_id"
as tanaka
run export run "$export_id" --out "$demo/payroll.zip"
run export list
as admin
say "An encrypted backup, checked without restoring it"
run backup create
run backup verify "$(ls -t "$MAMORI_HOME"/backups/*.mbak | head -n 1)"

as kansa
printf '%s\n' "$INIT_PW" | run login --user kansa
printf '%s\n%s\n' "$INIT_PW" "$AUD_PW" | run passwd
mfa kansa
say "The auditor sees who did what: ids and counts, never values"
run audit show --last 8
run audit checkpoint --out "$demo/checkpoint.txt"
run audit verify --checkpoint "$demo/checkpoint.txt"

cat <<MSG

Demo vault: $MAMORI_HOME (key file $demo/master.key)
Logins (synthetic): admin / $ADMIN_PW   tanaka / $OP_PW   kansa / $AUD_PW
One-time codes: oathtool --totp -b "\$(cat $demo/totp-tanaka)"  (or scan
the secret into a phone app); this machine is the approved device.
Try:  export MAMORI_HOME=$MAMORI_HOME
      $M login --user tanaka --otp CODE
      $M record search payroll kana=ヤマダタロウ
MSG

[ "$serve" = 1 ] || exit 0

# ---- mamorid with the demo vault ---------------------------------------------
say "The HTTPS API server (mamorid) with the demo vault"
tls="$demo/tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" -days 30 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
chmod 600 "$tls/key.pem"
runas=()
if [ "$(id -u)" -eq 0 ]; then
    # mamorid will not run as root: it becomes "nobody", who must own the
    # vault (the key file and the certificate are read before the switch).
    runas=(--user nobody)
    chown -R nobody: "$MAMORI_HOME"
    chmod 711 "$demo"
fi
port=${MAMORI_DEMO_PORT:-8443}
srv=
trap 'if [ -n "$srv" ]; then kill -TERM "$srv" 2>/dev/null || true; fi' EXIT
for _ in $(seq 20); do
    "$build/mamorid" --home "$MAMORI_HOME" --listen "127.0.0.1:$port" \
        --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem" \
        --key-file "$demo/master.key" "${runas[@]}" 2>"$demo/mamorid.log" &
    srv=$!
    for _ in $(seq 200); do
        grep -q "listening on" "$demo/mamorid.log" && break
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    grep -q "listening on" "$demo/mamorid.log" && break
    wait "$srv" 2>/dev/null || true
    srv=
    grep -q "cannot listen" "$demo/mamorid.log" || {
        cat "$demo/mamorid.log" >&2
        exit 1
    }
    port=$((port + 1))
done
[ -n "$srv" ] || { echo "demo: no free port" >&2; exit 1; }
cat <<MSG

mamorid is serving the demo vault at  https://127.0.0.1:$port/
  (self-signed certificate for localhost: $tls/cert.pem; e.g.
   curl --cacert $tls/cert.pem https://localhost:$port/healthz)
API description: https://127.0.0.1:$port/api/v1/openapi.yaml
Logins (synthetic):
  admin   / $ADMIN_PW   one-time code: oathtool --totp -b $(cat "$demo/totp-admin")
  tanaka  / $OP_PW   one-time code: oathtool --totp -b $(cat "$demo/totp-tanaka")
  kansa   / $AUD_PW   one-time code: oathtool --totp -b $(cat "$demo/totp-kansa")
A browser must be enrolled as a device and approved by the admin first
(device.required is on). Server log: $demo/mamorid.log
Press Ctrl-C to stop.
MSG
stop() {
    kill -TERM "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
    srv=
    echo "mamorid stopped."
    exit 0
}
trap stop INT TERM
wait "$srv" || true
srv=
