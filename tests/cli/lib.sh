# lib.sh - helpers for the CLI end-to-end tests. Sourced by each t_*.sh;
# $T is the test's own temp dir, $MAMORI the binary under test.
set -euo pipefail
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE XDG_RUNTIME_DIR MAMORI_KEY_FILE MAMORI_PASSPHRASE_FD || true
export HOME="$T/os-home"
mkdir -p "$HOME"
export MAMORI_HOME="$T/vault"
KEY="$T/master.key"
ADMIN_PW='Vault#Keeper-2026'
OP_PW='0Per@tor-pass1'
INIT_PW='Init!Tmp-7q2zK'
AUD_PW='Kansa#Yaku-5521'

die() { echo "FAILED: $*" >&2; exit 1; }

# The library's test clock: pinned, moved on by tests instead of sleeping.
export MAMORI_TEST_HOOKS=1
export MAMORI_TEST_NOW=${MAMORI_TEST_NOW:-$(date +%s)}
# tick: the clock 30 s on, so that the next TOTP code is a new one.
tick() { export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 30)); }
# code USER: USER's TOTP code now, from the real oathtool.
code() { oathtool --totp -b "$(cat "$T/totp-$1")" --now "@$MAMORI_TEST_NOW"; }

# mam ARGS... : runs mamori, stdout to $OUT, stderr to $ERR, status in $RC.
mam() {
    set +e
    "$MAMORI" "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
    set -e
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# mam_in INPUT ARGS... : same with INPUT on stdin.
mam_in() {
    local input=$1
    shift
    set +e
    printf '%s\n' "$input" | "$MAMORI" "$@" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
ok() { mam "$@"; [ "$RC" -eq 0 ] || die "mamori $* -> exit $RC: $ERR"; }
ok_in() { mam_in "$@"; [ "$RC" -eq 0 ] || die "mamori ${*:2} -> exit $RC: $ERR"; }
# rc_is N ARGS... : expects exit status N.
rc_is() {
    local want=$1
    shift
    mam "$@"
    [ "$RC" -eq "$want" ] || die "mamori $* -> exit $RC, want $want: $ERR $OUT"
}
# listening PID ERRFILE: waits until mamorid (PID, stderr in ERRFILE) says
# it listens, then sets PORT to the port it reports (started with port 0 in
# --listen, the kernel picks a free one: servers of tests run side by side
# never collide). Fails the test if it ends first (PID "": not checked)
# or takes over 10 s.
listening() {
    local p
    for _ in $(seq 200); do
        # (the file may not be there yet: script(1) makes it)
        p=$(sed -n 's|^mamorid: listening on https*://.*:\([0-9][0-9]*\)\r*$|\1|p' \
            "$2" 2>/dev/null || true)
        if [ -n "$p" ]; then
            PORT=$p
            return 0
        fi
        [ -z "$1" ] || kill -0 "$1" 2>/dev/null ||
            die "mamorid ended: $(cat "$2")"
        sleep 0.05
    done
    die "mamorid did not start listening: $(cat "$2")"
}
# synth_dataset NAME: a dataset with the columns of mamori-synth's CSV
# (name, kana, phone searchable), granted to op1 as a My Number handler.
# Run as an admin.
synth_dataset() {
    ok dataset create "$1" --client c --purpose p --field name:name:search \
        --field kana:kana:search --field birthdate:date --field postal:postal \
        --field address:address --field phone:phone:search \
        --field email:email --field mynumber:mynumber
    ok dataset grant "$1" op1 --handler
}
# audit_cols DB SQL: SQL with the view audit_cols (docs/audit-cols.sql),
# each audit entry split into its former columns; edits through it write
# the entry back.
audit_cols() {
    sqlite3 "$1" -cmd ".read $ROOT/docs/audit-cols.sql" "$2"
}
# audit_sql DB SQL: SQL over the view audit_v, the audit log with its
# fields as columns (since schema 9 they are stored as one JSON body).
audit_sql() {
    audit_cols "$1" "CREATE TEMP VIEW audit_v AS SELECT seq, format, record_ids,
        json_extract(body, '\$.t') AS time, json_extract(body, '\$.n') AS count,
        json_extract(body, '\$.u') AS user, json_extract(body, '\$.d') AS device,
        json_extract(body, '\$.a') AS action, json_extract(body, '\$.s') AS dataset,
        json_extract(body, '\$.o') AS outcome, json_extract(body, '\$.x') AS detail,
        json_extract(body, '\$.c') AS client, json_extract(body, '\$.r') AS request_id
        FROM audit_cols; $2"
}
contains() { case "$1" in *"$2"*) ;; *) die "expected '$2' in: $1" ;; esac; }
lacks() { case "$1" in *"$2"*) die "did not expect '$2' in: $1" ;; *) ;; esac; }

# as USER: uses USER's session file from now on.
as() { export MAMORI_SESSION_FILE="$T/session-$1"; }

login() { # login USER PASSWORD (with a fresh TOTP code once enrolled)
    as "$1"
    if [ -f "$T/totp-$1" ]; then
        tick
        ok_in "$2" login --user "$1" --otp "$(code "$1")"
    else
        ok_in "$2" login --user "$1"
    fi
}

# enrol USER: MFA for USER on their session; the secret is kept in
# $T/totp-USER for later logins.
enrol() {
    ok --json mfa enroll
    local secret
    secret=$(printf '%s' "$OUT" | sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p')
    [ ${#secret} -eq 32 ] || die "no TOTP secret in: $OUT"
    printf '%s' "$secret" >"$T/totp-$1"
    tick
    ok mfa confirm "$(code "$1")"
}

# first_login USER PASSWORD: logs in with the initial password $INIT_PW an
# admin set, and changes it to PASSWORD as the restricted session demands.
first_login() {
    as "$1"
    ok_in "$INIT_PW" login --user "$1"
    contains "$OUT" "mamori passwd"
    ok_in "$INIT_PW
$2" passwd
    enrol "$1"
}

# new_vault: a vault with admin "admin", operator "op1", auditor "aud1" and
# dataset "people" granted to op1.
new_vault() {
    ok_in "$ADMIN_PW" init --key-file "$KEY" --admin admin
    login admin "$ADMIN_PW"
    enrol admin
    ok_in "$INIT_PW" user add op1 --role operator
    ok_in "$INIT_PW" user add aud1 --role auditor
    ok dataset create people --client 'テスト商事' --purpose '給与計算' \
        --field name:name:search --field kana:kana:search \
        --field birth:date --field postal:postal \
        --field phone:phone:search --field email:email \
        --field mynumber:mynumber --field note:text
    ok dataset grant people op1 --handler
    first_login aud1 "$AUD_PW"
    first_login op1 "$OP_PW"
}
