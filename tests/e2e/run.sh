#!/bin/bash
# run.sh - the web UI's browser tests: a vault made with the CLI (as
# tests/cli/api_lib.sh does: users with TOTP from oathtool, a dataset,
# synthetic records), mamorid over TLS, then headless Debian chromium
# driven by playwright-core (node's test runner). Screenshots of failures
# go to tests/e2e/out/. Usage: BUILD=build tests/e2e/run.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
export ROOT
export BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
export MAMORI="$BUILD/mamori" SYNTH="$BUILD/mamori-synth"
[ -d "$here/node_modules/playwright-core" ] ||
    { echo "e2e: run 'npm ci' in tests/e2e (tools/deps.sh install does)" >&2; exit 1; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "e2e: no $CHROMIUM (apt install chromium)" >&2; exit 1; }
export CHROMIUM
T=$(mktemp -d "${TMPDIR:-/tmp}/mamori-e2e.XXXXXX")
export T
rm -rf "$here/out"
mkdir -p "$here/out"
start=$(date +%s)

(
    cd "$T"
    # The CLI sets the vault up on a test clock two hours back, so that
    # the one-time codes it uses are all older than the browser's (which
    # run on the real clock: mamorid is started without MAMORI_TEST_NOW).
    export MAMORI_TEST_NOW=$(($(date +%s) - 7200))
    . "$ROOT/tests/cli/lib.sh"
    . "$ROOT/tests/cli/api_lib.sh"
    OP2_PW='Zwei#Bedien-6610'
    VW_PW='Shiru#Dake-4471'
    new_vault
    as admin
    ok_in "$INIT_PW" user add op2 --role operator
    ok_in "$INIT_PW" user add vw1 --role viewer
    ok dataset grant people op2
    ok dataset grant people vw1
    # the fields of the demo's dataset (tools/demo.sh), whose birth field
    # mamori-synth's CSV calls birthdate: imported in the browser with a
    # column map
    ok dataset create staff --client '株式会社サンプル' --purpose '年末調整事務' \
        --field name:name:search --field kana:kana:search \
        --field birth:date --field postal:postal --field address:address \
        --field phone:phone:search --field email:email --field mynumber:mynumber
    ok dataset grant staff op1 --handler
    "$SYNTH" --count 50 --seed 2026 --header --encoding cp932 --crlf >"$T/synth.csv"
    first_login op2 "$OP2_PW"
    first_login vw1 "$VW_PW"
    as op1
    ok record add people name='山田 太郎' kana='ヤマダ タロウ' phone='090-1111-2222' \
        mynumber=123456789018 birth=1980-04-01 note='e2e'
    ok record add people name='佐藤 花子' kana='サトウ ハナコ' phone='080-3333-4444'
    ok record add people name='鈴木 一郎' kana='スズキ イチロウ' phone='070-5555-6666'
    api_setup
    unset MAMORI_TEST_NOW
    cat >"$T/env.json" <<JSON
{"admin_pw": "$ADMIN_PW", "op_pw": "$OP_PW", "op2_pw": "$OP2_PW",
 "vw_pw": "$VW_PW", "aud_pw": "$AUD_PW", "init_pw": "$INIT_PW",
 "vault_id": "$VID", "devkey": "$DEVKEY", "t": "$T"}
JSON
    export NODE_EXTRA_CA_CERTS="$T/cert.pem"
    rc=0
    srv_start
    echo "e2e: setup $(($(date +%s) - start))s, mamorid on port $PORT"
    BASE="https://localhost:$PORT" node --test --test-force-exit --test-concurrency=1 \
        "$here/qr.test.mjs" "$here/ui.test.mjs" "$here/roles.test.mjs" \
        "$here/import.test.mjs" "$here/operate.test.mjs" || rc=1
    srv_stop
    if [ "$rc" -eq 0 ]; then
        # The idle logout, with the page's idle limit made short by a
        # test hook (MAMORI_TEST_IDLE_SECONDS, honoured with
        # MAMORI_TEST_HOOKS=1).
        MAMORI_TEST_IDLE_SECONDS=6 srv_start
        BASE="https://localhost:$PORT" node --test --test-force-exit "$here/idle.test.mjs" || rc=1
        srv_stop
    fi
    [ "$rc" -eq 0 ] || { echo "--- mamorid log"; tail -n 20 "$T/srv.err"; }
    exit "$rc"
)
rc=$?
echo "e2e: $([ $rc -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start))s"
if [ "$rc" -eq 0 ]; then rm -rf "$T"; else echo "e2e: files kept in $T"; fi
exit "$rc"
