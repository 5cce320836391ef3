# Key sources: a key file (refused when group/other can read it), a
# passphrase (Argon2id), what the vault remembers, and overrides.
. "$ROOT/tests/cli/lib.sh"

# key file: created 0400 by init, remembered by the vault
ok_in "$ADMIN_PW" init --key-file "$KEY" --admin admin
[ "$(stat -c %a "$KEY")" = 400 ] || die "key file mode $(stat -c %a "$KEY")"
[ "$(stat -c %s "$KEY")" = 32 ] || die "key file size"
as admin
ok_in "$ADMIN_PW" login --user admin
enrol admin
ok user list
# a copy readable by others is refused, whether remembered or given
cp "$KEY" "$T/copy.key"
chmod 0644 "$T/copy.key"
rc_is 4 --key-file "$T/copy.key" user list
contains "$ERR" "key"
MAMORI_KEY_FILE="$T/copy.key" rc_is 4 user list
chmod 0600 "$T/copy.key"
MAMORI_KEY_FILE="$T/copy.key" ok user list
# the remembered key file, made readable by others, is refused too
chmod 0644 "$KEY"
rc_is 4 user list
chmod 0400 "$KEY"
ok user list
# a wrong key (another vault's) does not open this one
head -c 32 /dev/urandom >"$T/wrong.key"
chmod 0400 "$T/wrong.key"
rc_is 4 --key-file "$T/wrong.key" user list
# an existing vault is not overwritten
mam_in "$ADMIN_PW" init --key-file "$T/other.key" --admin admin
[ "$RC" -ne 0 ] || die "init over an existing vault"

# passphrase: line 1 the passphrase, line 2 the password when not a TTY
export MAMORI_HOME="$T/vault2"
PASS='correct horse battery staple 2026'
ok_in "$PASS
$ADMIN_PW" init --passphrase --admin admin
ls "$MAMORI_HOME" | grep . >/dev/null || die "no vault"
as admin2
ok_in "$PASS
$ADMIN_PW" login --user admin
exec 3<<<"$PASS"
MAMORI_PASSPHRASE_FD=3 ok --json mfa enroll
contains "$OUT" "otpauth://totp/mamori:admin"
exec 3<<<"wrong passphrase"
MAMORI_PASSPHRASE_FD=3 rc_is 4 user list
exec 3<&-
# the key store never holds the passphrase or the master key in clear
if grep -qaF "$PASS" "$MAMORI_HOME"/*; then die "passphrase at rest"; fi
