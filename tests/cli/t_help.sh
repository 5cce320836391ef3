# Every command has help; usage errors are exit 2 and name no values; the
# man page renders without warnings.
. "$ROOT/tests/cli/lib.sh"
ok --help
all=$OUT
for cmd in init login logout "user add" "user list" "dataset create" \
    "dataset list" "dataset grant" "record add" "record get" "record update" \
    "record delete" "record search" "audit show" "audit checkpoint" \
    "audit verify" passwd "user unlock" "user reset" "session list" \
    "session revoke" "config list" "config get" "config set" "mfa enroll" \
    "mfa confirm" "mfa reset" "device enroll" "device approve" \
    "device revoke" "device list" "access review"; do
    contains "$all" "  $cmd"
    # shellcheck disable=SC2086
    ok help $cmd
    contains "$OUT" "mamori $cmd"
    # shellcheck disable=SC2086
    ok $cmd --help
done
ok --version
contains "$OUT" "mamori "
rc_is 2 frobnicate
rc_is 2 record
rc_is 2 record add
rc_is 2 record add people --no-such-option
rc_is 2 record add people 'name'
mam record add people 'ｓｅｃｒｅｔ-value-without-equals'
[ "$RC" -eq 2 ] || die "missing = accepted"
lacks "$ERR" 'secret-value'
lacks "$ERR" 'ｓｅｃｒｅｔ'
long=$(head -c 5000 /dev/zero | tr '\0' a)
rc_is 2 record add people "name=$long"
lacks "$ERR" "$long"
[ -f "$ROOT/docs/mamori.1" ] || die "no man page"
warn=$(groff -man -Tutf8 -ww "$ROOT/docs/mamori.1" 2>&1 >/dev/null)
[ -z "$warn" ] || die "man page warnings: $warn"
for cmd in init login "record search" "audit verify" MAMORI_HOME "EXIT STATUS"; do
    grep -q -- "$cmd" "$ROOT/docs/mamori.1" || die "man page lacks $cmd"
done
# every command `mamori --help` lists has its section in the man page
ok --help
cmds=$(printf '%s\n' "$OUT" | awk '/^Commands:/ {f = 1; next} /^$/ {f = 0} f' |
    cut -c3-28 | sed 's/ *$//')
[ "$(printf '%s\n' "$cmds" | wc -l)" -gt 40 ] || die "command list: $cmds"
while read -r group verb; do
    grep -q "^\.SS \"mamori $group.*$verb" "$ROOT/docs/mamori.1" ||
        die "man page has no section for: $group $verb"
done <<<"$cmds"
