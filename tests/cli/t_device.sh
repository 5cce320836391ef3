# Registered devices: init approves this machine; another machine's key
# gets a restricted session until an admin approves it; revocation, a
# forged key, an unsafe key file.
. "$ROOT/tests/cli/lib.sh"
new_vault
[ "$(stat -c %a "$HOME/.config/mamori/device.key")" = 600 ] ||
    die "device key not 0600"
as admin
ok --json device list
contains "$OUT" '"state":"approved"'
contains "$OUT" '"requested_by":"admin"'
dev0=$(jq -r '.[0].id' <<<"$OUT")

# the only approved device cannot be revoked while device.required is on:
# no one could log in again to approve another
rc_is 4 device revoke "$dev0"
contains "$ERR" "last approved device"
contains "$ERR" "device.required"
lacks "$OUT" "revoked"
ok --json audit show --last 1
jq -e '.[0].action == "device.revoke" and .[0].outcome == "denied"' \
    <<<"$OUT" >/dev/null || die "refused revoke, audit: $OUT"
ok --json device list
[ "$(jq -r '.[0].state' <<<"$OUT")" = approved ] || die "revoked: $OUT"
ok user list

# op1 on a second PC: logins are refused until the device is approved
export MAMORI_DEVICE_KEY="$T/pc2/device.key"
as op1
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -eq 4 ] || die "login from an unregistered device: exit $RC"
contains "$ERR" "device enroll"
# asking for approval checks the credentials, opens no session
mam_in "Wrong-Pass-123!" device enroll --user op1 --name x
[ "$RC" -eq 4 ] || die "device enroll with a wrong password: exit $RC"
mam_in "$OP_PW" device enroll --user op1 --name x
[ "$RC" -eq 4 ] || die "device enroll without the code: exit $RC"
contains "$ERR" "--otp"
tick
ok_in "$OP_PW" device enroll --user op1 --otp "$(code op1)" --name '経理部 PC-2'
id=$(printf '%s\n' "$OUT" | head -1)
[[ "$id" =~ ^[0-9a-f-]{36}$ ]] || die "no device id: $OUT"
[ "$(stat -c %a "$MAMORI_DEVICE_KEY")" = 600 ] || die "pc2 key not 0600"
tick
mam_in "$OP_PW" device enroll --user op1 --otp "$(code op1)" --name again
[ "$RC" -ne 0 ] || die "enrolled twice"
contains "$ERR" "already pending"
# pending: still refused
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -eq 4 ] || die "login from a pending device: exit $RC"
unset MAMORI_DEVICE_KEY
as admin
ok device approve "$id"
ok --json device list
contains "$OUT" '"name":"経理部 PC-2","state":"approved"'
export MAMORI_DEVICE_KEY="$T/pc2/device.key"
login op1 "$OP_PW"
ok --json record search people name='山田太郎'
# every entry names the device
unset MAMORI_DEVICE_KEY
as admin
ok --json audit show --last 3
contains "$OUT" "\"device\":\"$id\""

# revoked: the session on pc2 ends, logins from it are refused
ok device revoke "$id"
export MAMORI_DEVICE_KEY="$T/pc2/device.key"
as op1
rc_is 4 record search people name='山田太郎'
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -eq 4 ] || die "revoked device logged in"

# a key file others can read is refused; a forged key does not pass
cp "$T/pc2/device.key" "$T/pc3.key"
chmod 0644 "$T/pc3.key"
export MAMORI_DEVICE_KEY="$T/pc3.key"
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -ne 0 ] || die "unsafe key file used"
contains "$ERR" "device key"
unset MAMORI_DEVICE_KEY
# the approved machine's public key with another private key: the key
# file does not hold together, nothing is sent
pk=$(sed -n 1p "$HOME/.config/mamori/device.key")
sk=$(sed -n 2p "$T/pc2/device.key")
printf '%s\n%s\n' "$pk" "$sk" >"$T/forged.key"
chmod 0600 "$T/forged.key"
export MAMORI_DEVICE_KEY="$T/forged.key"
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -ne 0 ] || die "forged device key logged in"
contains "$ERR" "device key"
unset MAMORI_DEVICE_KEY
# (the revoked device's attempt above was audited as a failed proof)
login admin "$ADMIN_PW"
ok --json audit show --last 10
contains "$OUT" "device proof failed"

# with pc2 revoked this machine's device is the last approved one again;
# with device.required off it may go (and the session on it ends)
rc_is 4 device revoke "$dev0"
ok config set device.required off
ok device revoke "$dev0"
rc_is 4 user list
