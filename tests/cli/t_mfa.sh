# TOTP MFA through the binary, with codes from the real oathtool: enrolment
# with a QR code, login with --otp, replay, wrong codes and the lockout,
# recovery codes, an admin's reset.
. "$ROOT/tests/cli/lib.sh"
new_vault
as admin
ok_in "$INIT_PW" user add op3 --role operator
as op3
ok_in "$INIT_PW" login --user op3
ok_in "$INIT_PW
Heron#4417-Vtq" passwd
ok mfa enroll
contains "$OUT" "otpauth://totp/mamori:op3"
contains "$OUT" "█"
secret=$(printf '%s\n' "$OUT" | sed -n 's/^.*: \([A-Z2-7]\{32\}\)$/\1/p')
[ ${#secret} -eq 32 ] || die "secret line missing"
printf '%s' "$secret" >"$T/totp-op3"
rc_is 4 mfa confirm 000000
rc_is 4 record search people name='山田太郎'
tick
ok --json mfa confirm "$(code op3)"
codes=$(printf '%s' "$OUT" | tr -d '[]"{}' | sed 's/recovery_codes://' | tr ',' ' ')
set -- $codes
[ $# -eq 10 ] || die "want 10 recovery codes, got $#"
rc1=$1 rc2=$2

# the password alone is refused and says what is missing
as op3
mam_in "Heron#4417-Vtq" login --user op3
[ "$RC" -eq 4 ] || die "login without code: exit $RC"
contains "$ERR" "--otp"
tick
c=$(code op3)
ok_in "Heron#4417-Vtq" login --user op3 --otp "$c"
# the same code again: a replay
mam_in "Heron#4417-Vtq" login --user op3 --otp "$c"
[ "$RC" -eq 4 ] || die "replayed code accepted"
# full-width digits, as a Japanese IME types them, are the same code
tick
fw=$(code op3 | sed 'y/0123456789/０１２３４５６７８９/')
ok_in "Heron#4417-Vtq" login --user op3 --otp "$fw"
# a recovery code works once
ok_in "Heron#4417-Vtq" login --user op3 --otp "$rc1"
mam_in "Heron#4417-Vtq" login --user op3 --otp "$rc1"
[ "$RC" -eq 4 ] || die "recovery code used twice"

# wrong codes lock the account like wrong passwords
for i in 1 2 3 4; do
    mam_in "Heron#4417-Vtq" login --user op3 --otp 123456
done
tick
mam_in "Heron#4417-Vtq" login --user op3 --otp "$(code op3)"
[ "$RC" -eq 4 ] || die "locked account logged in"
as admin
ok --json audit show --last 30
contains "$OUT" '"detail":"wrong one-time code (1 in a row)"'
contains "$OUT" '"action":"user.lock"'
ok user unlock op3

# an admin cannot drop their own MFA with a session alone
rc_is 4 mfa reset admin
contains "$ERR" "ask another admin"
lacks "$OUT" "removed"
# a failed reset claims no removal in the audit log
rc_is 3 mfa reset nobody
ok --json audit show --last 3
jq -e '[.[] | select(.action == "mfa.reset")] | length == 2 and
    all(.[]; .detail | contains("removed") | not) and
    (.[0].outcome == "denied") and (.[1].outcome == "error")' \
    <<<"$OUT" >/dev/null || die "refused mfa resets, audit: $OUT"
ok --json access review
contains "$OUT" '"user":"admin","role":"admin","mfa":"active"'

# a lost phone: the admin resets; the next login must enrol again
ok mfa reset op3
contains "$OUT" "MFA of op3 removed"
ok --json audit show --last 1
jq -e '.[0].action == "mfa.reset" and .[0].outcome == "ok" and
    (.[0].detail | startswith("user op3: MFA removed"))' <<<"$OUT" \
    >/dev/null || die "mfa reset, audit: $OUT"
as op3
ok_in "Heron#4417-Vtq" login --user op3
contains "$OUT" "mfa enroll"
rc_is 4 record search people name='山田太郎'
# admins must use MFA whatever the settings say
as admin
rc_is 3 config set mfa.admin off
ok config set mfa.operator off
ok --json audit show --last 1
contains "$OUT" '"detail":"mfa.operator: on -> off"'

# no secret, code or recovery code is in the vault's files
for f in "$MAMORI_HOME"/*; do
    for p in "$secret" "$rc1" "$rc2" "${rc1/-/}"; do
        if grep -aqF -- "$p" "$f"; then die "secret found in $f"; fi
    done
done
