# t_backup.sh - `mamori backup`: create, keys, verify, list, restore into a
# new home (every record and the audit chain identical), a flipped byte in
# the header, a chunk, the tag, and a truncated file (exit 6), a wrong key
# file, a non-empty target, retention, who may, nothing personal in the
# file, SIGKILL in the middle, and the systemd units. A restored vault
# has no live session and no runnable approval; a killed restore's files
# do not block a retry; wrong targets and a full disk are named.
# Synthetic data only.
source "$ROOT/tests/cli/lib.sh"

new_vault
as admin
ok_in "$INIT_PW" user add view1 --role viewer
ok dataset grant people view1
first_login view1 "Miru!Dake-8832"

# ---- a vault worth backing up --------------------------------------------
as op1
ids=()
for i in $(seq 1 12); do
    ok record add people name="試験 花子" kana="しけん はなこ" \
        phone="090-7777-$(printf %04d "$i")" mynumber=123456789018 \
        note="合成メモ$i"
    ids+=("$OUT")
done
# More rows through the importer when it is there (mamori-synth people).
"$SYNTH" --count 3000 --seed 7 --header >people.csv
mam import people people.csv --map birthdate=birth --map address=note
imported=$RC

# an export approved, not yet run, when the backup is made
ok --quiet export request people --reason 'handover before the backup' \
    --format zip
xid=$OUT

login admin "$ADMIN_PW"
ok export approve "$xid"
bk="$T/bk"
mkdir -m 700 "$bk"
ok --json backup create --out "$bk"
contains "$OUT" '"kind":"data"'
printf '%s' "$OUT" | jq -e '.file_sha256 | test("^[0-9a-f]{64}$")' \
    >/dev/null || die "create: no file SHA-256: $OUT"
file=$(printf '%s' "$OUT" | sed -n 's/.*"file":"\([^"]*\)".*/\1/p')
[ -f "$file" ] || die "no backup file in: $OUT"
case "$(basename "$file")" in
mamori-????????-????????T??????Z.mbak) ;;
*) die "unexpected backup name: $file" ;;
esac
[ "$(stat -c %a "$file")" = 600 ] || die "backup file not 0600"
records=$(printf '%s' "$OUT" | sed -n 's/.*"records":\([0-9]*\).*/\1/p')
[ "$records" -ge 12 ] || die "records in the manifest: $records"
[ "$imported" -ne 0 ] || [ "$records" -ge 3012 ] || die "import not in backup"
audit_n=$(printf '%s' "$OUT" | sed -n 's/.*"audit_entries":\([0-9]*\).*/\1/p')
rc_is 5 backup keys --out "$MAMORI_HOME/vault.db"
contains "$ERR" "vault's own directory"
rc_is 5 backup keys --out "$KEY"
contains "$ERR" "key file"
ok backup keys --out "$T/keys.mbak"
[ "$(stat -c %a "$T/keys.mbak")" = 600 ] || die "key backup not 0600"

# nothing personal in the files, in clear
for f in "$file" "$T/keys.mbak"; do
    for needle in 試験 09077770001 123456789018 合成メモ; do
        if grep -q "$needle" "$f"; then die "$needle in clear in $f"; fi
    done
done
ls -a "$MAMORI_HOME" | grep '^\.backup-tmp' >/dev/null && die "temp dir left behind"

ok backup verify "$file"
contains "$OUT" "ok: $records records"
ok backup verify "$T/keys.mbak"
ok backup list --out "$bk"
contains "$OUT" "$(basename "$file")"
# a listing reads headers only: no file SHA-256 to show, so none
ok --json backup list --out "$bk"
printf '%s' "$OUT" | jq -e 'length == 1 and (.[0] | has("file_sha256") | not)' \
    >/dev/null || die "list: $OUT"

# ---- who may --------------------------------------------------------------
as op1
rc_is 4 backup create --out "$bk"
rc_is 4 backup verify "$file"
rc_is 4 backup list --out "$bk"
as view1
rc_is 4 backup create --out "$bk"
rc_is 4 backup verify "$file"
login aud1 "$AUD_PW"
rc_is 4 backup create --out "$bk"
rc_is 4 backup keys --out "$T/k2.mbak"
ok backup verify "$file"
ok --json audit show
contains "$OUT" '"action":"backup.create"'
contains "$OUT" '"action":"backup.verify"'
# the old entries, to compare with the restored vault's
ok --json audit show
printf '%s' "$OUT" | tr '{' '\n' | grep '"seq":' |
    awk -v n="$audit_n" -F'"seq":' '{split($2, a, ","); if (a[1] + 0 <= n) print}' \
        >"$T/audit-old.txt"
[ "$(wc -l <"$T/audit-old.txt")" -eq "$audit_n" ] || die "old audit entries"

# ---- tampering: every kind of damage is exit 6 ---------------------------
size=$(stat -c %s "$file")
for off in 0 10 40 100 250 290 $((size / 2)) $((size - 17)) $((size - 1)); do
    cp "$file" "$T/bad.mbak"
    printf '\x5a' | dd of="$T/bad.mbak" bs=1 seek="$off" conv=notrunc 2>/dev/null
    cmp -s "$file" "$T/bad.mbak" && {
        printf '\x5b' | dd of="$T/bad.mbak" bs=1 seek="$off" conv=notrunc 2>/dev/null
    }
    rc_is 6 backup verify "$T/bad.mbak"
done
for cut in 0 100 285 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$file" >"$T/bad.mbak"
    rc_is 6 backup verify "$T/bad.mbak"
done
printf 'x' >>"$T/bad.mbak"
rc_is 6 backup verify "$T/bad.mbak"

# ---- restore into a new home ---------------------------------------------
new="$T/restored"
rc_is 2 backup restore "$file" --home "$new"
head -c 32 /dev/urandom >"$T/wrong.key"
chmod 400 "$T/wrong.key"
rc_is 4 backup restore "$file" --home "$new" --keys "$T/keys.mbak" \
    --key-file "$T/wrong.key"
[ ! -e "$new" ] || die "a refused restore left $new"
mkdir -m 700 "$T/full"
touch "$T/full/x"
mam backup restore "$file" --home "$T/full" --keys "$T/keys.mbak" --key-file "$KEY"
[ "$RC" -ne 0 ] || die "restore into a non-empty directory"
[ ! -e "$T/full/vault.db" ] || die "restore wrote into a non-empty directory"
ok backup restore "$file" --home "$new" --keys "$T/keys.mbak" --key-file "$KEY"
[ "$(stat -c %a "$new")" = 700 ] || die "restored home not 0700"
[ "$(stat -c %a "$new/vault.db")" = 600 ] || die "vault.db not 0600"
[ "$(stat -c %a "$new/keys.db")" = 600 ] || die "keys.db not 0600"
rc_is 1 backup restore "$file" --home "$new" --keys "$T/keys.mbak" --key-file "$KEY"
# a killed restore's own files do not block the retry, which clears them;
# anything else does, and the refusal names it
mkdir -m 700 "$T/again"
echo partial >"$T/again/.restore-vault.db"
echo partial >"$T/again/.restore-keys.db"
echo note >"$T/again/.notes"
rc_is 1 backup restore "$file" --home "$T/again" --keys "$T/keys.mbak" \
    --key-file "$KEY"
contains "$ERR" "the directory is not empty: 1 entry, .notes"
[ -e "$T/again/.restore-vault.db" ] || die "a refused restore removed files"
rm "$T/again/.notes"
ok backup restore "$file" --home "$T/again" --keys "$T/keys.mbak" \
    --key-file "$KEY"
[ -z "$(ls -A "$T/again" | grep '^\.restore-')" ] || die "leftovers stayed"
[ -f "$T/again/vault.db" ] || die "no vault restored after the leftovers"
# a file is not a directory; a missing parent is named
echo x >"$T/afile"
rc_is 1 backup restore "$file" --home "$T/afile" --keys "$T/keys.mbak" \
    --key-file "$KEY"
contains "$ERR" "$T/afile: not a directory"
rc_is 3 backup restore "$file" --home "$T/no/parent/v" --keys "$T/keys.mbak" \
    --key-file "$KEY"
contains "$ERR" "$T/no/parent: no such directory"

# every record identical, as JSON, in both vaults
as op1
for id in "${ids[@]}"; do
    ok --json record get people "$id"
    printf '%s\n' "$OUT" >>"$T/old.json"
done
export MAMORI_HOME="$new"
# the sessions of the original, live at the backup, are not in the copy
rc_is 4 record get people "${ids[0]}"
contains "$ERR" "not logged in"
as aud1
rc_is 4 audit show
login op1 "$OP_PW"
# the approval of the past lapsed: the take-out ran once, or not at all
rc_is 1 export run "$xid" --out "$T/x.zip"
contains "$ERR" "lapsed"
[ ! -e "$T/x.zip" ] || die "a lapsed export ran"
ok --json export list
printf '%s' "$OUT" | jq -e --argjson id "$xid" \
    '.[] | select(.id == $id) | .state == "lapsed"' >/dev/null ||
    die "ledger: $OUT"
for id in "${ids[@]}"; do
    ok --json record get people "$id"
    printf '%s\n' "$OUT" >>"$T/new.json"
done
cmp -s "$T/old.json" "$T/new.json" || die "records differ after restore"
ok --json record search people phone=090-7777-0003
contains "$OUT" "${ids[2]}"
login aud1 "$AUD_PW"
ok audit verify
ok --json audit show
printf '%s' "$OUT" | tr '{' '\n' | grep '"seq":' |
    awk -v n="$audit_n" -F'"seq":' '{split($2, a, ","); if (a[1] + 0 <= n) print}' \
        >"$T/audit-new.txt"
cmp -s "$T/audit-old.txt" "$T/audit-new.txt" || die "audit entries differ"
contains "$OUT" '"action":"backup.restore"'
printf '%s' "$OUT" | grep -Eq 'restored backup of [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z: records [0-9]+, audit [0-9]+; ended sessions [1-9][0-9]*, lapsed exports 1' ||
    die "restore entry: $OUT"
export MAMORI_HOME="$T/vault"

# ---- retention -----------------------------------------------------------
login admin "$ADMIN_PW"
for i in 1 2 3; do
    tick
    ok backup create --out "$bk" --keep 2
done
[ "$(ls "$bk"/*.mbak | wc -l)" -eq 2 ] || die "--keep 2 kept $(ls "$bk" | wc -l)"
rc_is 2 backup create --out "$bk" --keep 0
# quiet: the new file's path alone
tick
ok -q backup create --out "$bk" --keep 2
case "$OUT" in "$bk"/mamori-*.mbak) ;; *) die "-q backup create: '$OUT'" ;; esac
[ -f "$OUT" ] || die "-q printed no file: $OUT"
rc_is 2 backup create --out "$bk" --keep x
ok --json backup list --out "$bk"
[ "$(printf '%s' "$OUT" | grep -o '"kind":"data"' | wc -l)" -eq 2 ] ||
    die "list: $OUT"

# ---- SIGKILL in the middle of a backup ---------------------------------
kb="$T/bk-kill"
mkdir -m 700 "$kb"
export MAMORI_TEST_BACKUP_DELAY_MS=40
setsid "$MAMORI" backup create --out "$kb" >/dev/null 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 300); do
    ls -a "$MAMORI_HOME" | grep '^\.backup-tmp' >/dev/null && break
    sleep 0.02
done
sleep 0.3
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
unset MAMORI_TEST_BACKUP_DELAY_MS
for f in "$kb"/* "$kb"/.*; do
    [ -f "$f" ] || continue
    case "$f" in *.mbak) die "a killed backup left $f" ;; esac
    rc_is 6 backup verify "$f"
done
login aud1 "$AUD_PW"
ok audit verify
login op1 "$OP_PW"
ok record get people "${ids[0]}"
login admin "$ADMIN_PW"
ok backup create --out "$kb"
ls -a "$MAMORI_HOME" | grep '^\.backup-tmp' >/dev/null && die "debris after the next backup"
[ "$(ls -a "$kb" | grep -c '\.tmp$')" -eq 0 ] || die "temp output left"
# the killed run's "started" got its outcome from the next one: an error,
# by the admin who ran it, counts only
login aud1 "$AUD_PW"
ok --json audit show
interrupted() {
    jq -c '[.[] | select(.action == "backup.create" and .outcome == "error"
        and (.detail | startswith("error: interrupted: an earlier run did not finish (leftovers removed: temp dirs 1, partial files ")))
        | .user]' <<<"$OUT"
}
[ "$(interrupted)" = '["admin"]' ] || die "interrupted run not noted: $(interrupted)"
# a killed run's leftovers made by hand: noted once, then no more
mkdir -m 700 "$MAMORI_HOME/.backup-tmp.Zz9Yx8"
printf '%s' "$kb" >"$MAMORI_HOME/.backup-tmp.Zz9Yx8/out"
echo partial >"$MAMORI_HOME/.backup-tmp.Zz9Yx8/vault.db"
login admin "$ADMIN_PW"
tick
ok backup create --out "$kb"
tick
ok backup create --out "$kb"
[ ! -e "$MAMORI_HOME/.backup-tmp.Zz9Yx8" ] || die "hand-made leftovers stayed"
login aud1 "$AUD_PW"
ok --json audit show
[ "$(interrupted)" = '["admin","admin"]' ] || die "hand-made leftovers: $(interrupted)"
login admin "$ADMIN_PW"

# ---- a full disk: an input/output error that says so and where ----------
tiny="$T/tiny"
mkdir -p "$tiny"
if mount -t tmpfs -o size=4k,mode=0700 tmpfs "$tiny" 2>/dev/null; then
    rc_is 1 backup create --out "$tiny"
    contains "$ERR" "input/output error: no space left on device: $tiny"
    [ -z "$(ls -A "$tiny")" ] || die "a full disk left: $(ls -A "$tiny")"
    rc_is 1 --json backup keys --out "$tiny/k.mbak"
    printf '%s' "$OUT" | jq -e --arg d "no space left on device: $tiny" \
        '.error.code == "io" and .error.detail == $d' >/dev/null ||
        die "keys on a full disk: $OUT"
    [ -z "$(ls -A "$tiny")" ] || die "a full disk left: $(ls -A "$tiny")"
    umount "$tiny"
    login aud1 "$AUD_PW"
    ok --json audit show --last 4
    contains "$OUT" "writing the backup failed: no space left on device"
    contains "$OUT" "writing the key backup failed: no space left on device"
    lacks "$OUT" "$tiny"
    login admin "$ADMIN_PW"
else
    echo "note: no tmpfs mount: the full-disk case is not tested" >&2
fi

# ---- the timer: the key holder, without a session ------------------------
as nobody
mam backup create --out "$kb" --key-file "$KEY"
if [ "$RC" -eq 0 ]; then
    login aud1 "$AUD_PW"
    ok --json audit show --last 3
    contains "$OUT" '"user":"system"'
else
    # main.c does not yet open `backup create` without a session.
    [ "$RC" -eq 4 ] || die "backup create without a session: $RC $ERR"
    echo "note: backup create as the key holder needs CMD_NO_SESSION in main.c"
fi

# ---- the systemd units ---------------------------------------------------
svc="$ROOT/dist/mamori-backup.service"
tmr="$ROOT/dist/mamori-backup.timer"
grep -q '^Type=oneshot$' "$svc" || die "service: Type=oneshot"
grep -q '^ExecStart=.*mamori backup create --home /var/lib/mamori --key-file \${CREDENTIALS_DIRECTORY}/' "$svc" ||
    die "service: ExecStart"
grep -q '^LoadCredential' "$svc" || die "service: credential"
for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
    ProtectHome=yes PrivateNetwork=yes 'ReadWritePaths=/var/lib/mamori' \
    'User=mamori' 'UMask=0077'; do
    grep -q "^$k" "$svc" || die "service: $k"
done
grep -q '^OnCalendar=daily$' "$tmr" || die "timer: OnCalendar=daily"
grep -q '^Persistent=true$' "$tmr" || die "timer: Persistent=true"
grep -q '^WantedBy=timers.target$' "$tmr" || die "timer: WantedBy"
if command -v systemd-analyze >/dev/null 2>&1; then
    # Only our files' own findings count (the host may lack the user or
    # the binary path).
    systemd-analyze verify "$svc" "$tmr" >"$T/sa.txt" 2>&1 || true
    if grep -E 'mamori-backup\.(service|timer):[0-9]+: ' "$T/sa.txt" |
        grep -v 'Executable\|ExecStart\|User' ; then
        die "systemd-analyze: $(cat "$T/sa.txt")"
    fi
fi
echo "backup: $records records (import exit $imported), $audit_n audit entries round-tripped"
