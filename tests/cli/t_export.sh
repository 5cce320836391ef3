# Take-out under approval: an operator asks, an admin (not the requester)
# approves or rejects, the requester runs it once into an AES-256 ZIP that
# 7z opens with the password shown once, or into CMS that openssl opens
# with the recipient's key; CP932; --search; the bulk-export alert; the
# ledger; failures leave no file; nothing personal on disk; an approval
# lapses after export.approval_hours.
. "$ROOT/tests/cli/lib.sh"
new_vault
O=$T/outdir
mkdir -p "$O"
TINY=$T/tiny
cleanup() { umount "$TINY" 2>/dev/null || true; }
trap cleanup EXIT

# first line of $OUT (the id; a note may follow)
first() { printf '%s\n' "$OUT" | head -n1; }
# jget KEY: the string value of KEY in the JSON object in $OUT
jget() { printf '%s' "$OUT" | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

as op1
ok --quiet record add people name='山田 太郎' kana='やまだ たろう' \
    birth=1980-04-01 postal=1000001 phone=09012345678 \
    email=taro@example.jp mynumber=123456789018 note='メモ, "引用"'
id1=$OUT
ok --quiet record add people name='佐藤 花子' phone=0312345678 \
    email=hanako@example.jp
id2=$OUT
ok --quiet record add people name='髙橋 一郎' note='①と﨑'
id3=$OUT

# ---- command line checks (before the vault is opened) ----
rc_is 2 export request people --format zip
contains "$ERR" "--reason"
rc_is 2 export request people --reason 'for the client'
contains "$ERR" "--format"
rc_is 2 export request people --reason 'for the client' --format tar
rc_is 2 export request people --reason 'for the client' --format cms
contains "$ERR" "--recipient-cert"
rc_is 2 export request people --reason 'for the client' --format zip \
    --recipient-cert /dev/null
rc_is 2 export request people --reason 'for the client' --format zip \
    --encoding latin1
rc_is 2 export request people --reason 'for the client' --format zip \
    --search name
rc_is 2 export run 1
contains "$ERR" "--out"
rc_is 2 export run 1 --out -
rc_is 2 export run abc --out "$O/x.zip"
rc_is 5 export request people --reason 'call 090-1234-5678' --format zip
lacks "$ERR" "1234"

# ---- roles: admins and auditors do not request; operators do not approve
as admin
rc_is 4 export request people --reason 'for the client' --format zip
as aud1
rc_is 4 export request people --reason 'for the client' --format zip
as op1
ok export request people --reason 'payroll for the client' --format zip
idz=$(first)
contains "$OUT" "export approve $idz"
rc_is 4 export approve "$idz"
as aud1
rc_is 4 export approve "$idz"
as op1
rc_is 1 export run "$idz" --out "$O/early.zip"
contains "$ERR" "pending"
[ ! -e "$O/early.zip" ] || die "a pending export ran"

# ---- reject, then no run
ok --quiet export request people --reason 'rejected one' --format zip
idr=$OUT
as admin
ok export reject "$idr"
rc_is 1 export approve "$idr"
as op1
rc_is 1 export run "$idr" --out "$O/rejected.zip"
[ ! -e "$O/rejected.zip" ] || die "a rejected export ran"

# ---- approve; another operator may not run it; the requester runs it once
as admin
ok_in "$INIT_PW" user add op2 --role operator
ok dataset grant people op2
ok export approve "$idz"
first_login op2 "$OP_PW"
rc_is 4 export run "$idz" --out "$O/other.zip"
[ ! -e "$O/other.zip" ] || die "another operator ran the export"
as op1
# An output never replaces the vault's own files or its key file: refused
# before anything runs (the export stays approved), and the vault opens.
sum0=$(sha256sum "$KEY")
rc_is 5 export run "$idz" --out "$MAMORI_HOME/vault.db"
contains "$ERR" "vault's own directory"
rc_is 5 export run "$idz" --out "$KEY"
contains "$ERR" "vault's key file"
ln "$MAMORI_HOME/keys.db" "$O/hard-link"
rc_is 5 export run "$idz" --out "$O/hard-link"
contains "$ERR" "one of the vault's own files"
rm "$O/hard-link"
[ "$(sha256sum "$KEY")" = "$sum0" ] || die "a refused export changed the key"
ok export run "$idz" --out "$O/people.zip"
run_out=$OUT
pw=$(printf '%s\n' "$OUT" | tail -n1)
[ ${#pw} -ge 20 ] || die "short password: ${#pw}"
case "$pw" in *[!A-Za-z0-9]* | *[0Oo1lI]*) die "password alphabet" ;; esac
contains "$OUT" "records: 3"
sha=$(printf '%s\n' "$OUT" | sed -n 's/^sha256: //p')
[ "$(sha256sum "$O/people.zip" | cut -d' ' -f1)" = "$sha" ] || die "sha256"
[ "$(stat -c %a "$O/people.zip")" = 600 ] || die "mode of the export"
rc_is 1 export run "$idz" --out "$O/again.zip"
contains "$ERR" "done"
[ ! -e "$O/again.zip" ] || die "second run wrote a file"

# 7z: AES-256, a wrong password fails, the right one gives the CSV
7z l -slt -p"$pw" "$O/people.zip" >"$T/7zl" || die "7z l"
grep -q 'AES-256' "$T/7zl" || die "not AES-256"
mkdir "$T/x"
(cd "$T/x" && 7z x -y -p'WrongWrongWrong2345678' "$O/people.zip" \
    >/dev/null 2>&1) && die "a wrong password opened the ZIP"
rm -f "$T/x/people.csv"
(cd "$T/x" && 7z x -y -p"$pw" "$O/people.zip" >/dev/null) || die "7z x"
csv=$T/x/people.csv
head -c 3 "$csv" | od -An -tx1 | grep 'ef bb bf' >/dev/null || die "no BOM"
[ "$(sed -n 1p "$csv")" = $'\xef\xbb\xbfid,name,kana,birth,postal,phone,email,mynumber,note\r' ] ||
    die "header: $(sed -n 1p "$csv")"
[ "$(wc -l <"$csv")" -eq 4 ] || die "rows: $(wc -l <"$csv")"
# every row is CRLF-terminated
[ "$(grep -c $'\r$' "$csv")" -eq 4 ] || die "CRLF"
# the rows equal the records as record get gives them
ok --json record get people "$id2"
want="$id2,$(jget name),,,,$(jget phone),$(jget email),,"
grep -qxF "$want"$'\r' "$csv" || die "row of record 2: want $want"
ok --json record get people "$id1"
want="$id1,$(jget name),$(jget kana),$(jget birth),$(jget postal),$(jget phone),$(jget email),$(jget mynumber),\"メモ, \"\"引用\"\"\""
grep -qxF "$want"$'\r' "$csv" || die "row of record 1: want $want"
grep -qF "$id3,髙橋　一郎,,,,,,,①と﨑" "$csv" || die "row of record 3"

# the password is shown once: not in the ledger, the audit, the vault
as admin
ok --json export list
lacks "$OUT" "$pw"
contains "$OUT" "\"sha256\":\"$sha\""
ok --json audit show
lacks "$OUT" "$pw"
contains "$OUT" '"action":"export.run"'
contains "$OUT" "$id1"
lacks "$OUT" '山田'
if grep -r -q -a -F "$pw" "$MAMORI_HOME" "$O" "$HOME"; then
    die "the password is on disk"
fi
# nothing personal on disk outside the encrypted file
for v in 0312345678 hanako@example.jp '佐藤' '髙橋'; do
    if grep -r -q -a -F "$v" "$MAMORI_HOME" "$O" "$HOME"; then
        die "a value is on disk in plain text"
    fi
done
ls -A "$O" | grep '\.tmp' >/dev/null && die "a temporary file remains"

# mark: admin only, after done, once
as op1
rc_is 4 export mark "$idz" returned
as admin
rc_is 1 export mark "$idr" returned
rc_is 2 export mark "$idz" lost
ok export mark "$idz" returned
rc_is 1 export mark "$idz" destroyed

# ---- --search, a non-handler: only the matches, My Numbers masked
as op2
ok --quiet export request people --reason 'one person' --format zip \
    --search name='山田太郎'
ids=$OUT
as admin
ok export approve "$ids"
as op2
ok export run "$ids" --out "$O/one.zip"
contains "$OUT" "records: 1"
pw2=$(printf '%s\n' "$OUT" | tail -n1)
rm -rf "$T/y" && mkdir "$T/y"
(cd "$T/y" && 7z x -y -p"$pw2" "$O/one.zip" >/dev/null) || die "7z x one"
[ "$(wc -l <"$T/y/people.csv")" -eq 2 ] || die "search exported more"
grep -q "$id1" "$T/y/people.csv" || die "match missing"
grep -q '123456789018' "$T/y/people.csv" && die "non-handler got a My Number"
grep -q '\*\*\*\*\*\*\*\*9018' "$T/y/people.csv" || die "My Number not masked"
# the value from standard input (--search FIELD=-): not on the command line
ok_in '山田太郎' --quiet export request people --reason 'one person, stdin' \
    --format zip --search name=-
ids=$OUT
as admin
ok export approve "$ids"
as op2
ok export run "$ids" --out "$O/one-stdin.zip"
contains "$OUT" "records: 1"
rc_is 2 export request people --reason 'no value' --format zip --search name=-
contains "$ERR" "standard input"
ok --json record search people name='山田太郎'
contains "$OUT" '"mynumber":"********9018"'
# the search value is kept sealed, not in plain text
if grep -r -q -a -F '山田' "$MAMORI_HOME"; then die "search value on disk"; fi

# ---- CMS to a certificate, CP932
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/r.key" \
    -out "$T/r.crt" -days 30 -subj '/CN=Client Recipient/O=Test KK' \
    2>/dev/null
printf 'garbage\n' >"$T/bad.crt"
as op1
rc_is 5 export request people --reason 'to the client' --format cms \
    --recipient-cert "$T/bad.crt"
contains "$ERR" "certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/r2.key" \
    -out "$T/r2.crt" -days 1 -subj '/CN=Short Lived' 2>/dev/null
ok --quiet export request people --reason 'to the client' --format cms \
    --recipient-cert "$T/r.crt" --encoding cp932
idc=$OUT
ok --quiet export request people --reason 'to the client, utf-8' \
    --format cms --recipient-cert "$T/r.crt"
idu=$OUT
as admin
ok export approve "$idc"
ok export approve "$idu"
as op1
ok export run "$idc" --out "$O/people.p7m"
lacks "$OUT" "password"
[ "$(printf '%s\n' "$OUT" | tail -n1 | cut -c1-7)" = "sha256:" ] ||
    die "a cms run shows a password line"
ok export run "$idu" --out "$O/people-utf8.p7m"
openssl cms -decrypt -inform DER -in "$O/people.p7m" -inkey "$T/r.key" \
    -binary -out "$T/cp932.csv" || die "openssl cms -decrypt"
openssl cms -decrypt -inform DER -in "$O/people-utf8.p7m" \
    -inkey "$T/r.key" -binary -out "$T/utf8.csv" || die "cms utf-8"
iconv -f CP932 -t UTF-8 "$T/cp932.csv" >"$T/cp932-as-utf8.csv" ||
    die "iconv -f CP932"
# the CP932 file is the UTF-8 one without its BOM
tail -c +4 "$T/utf8.csv" | cmp -s - "$T/cp932-as-utf8.csv" ||
    die "CP932 and UTF-8 exports differ"
cmp -s "$T/utf8.csv" "$csv" || die "CMS and ZIP CSVs differ"
grep -q '髙橋' "$T/cp932-as-utf8.csv" || die "CP932 lost 髙"
# a value with no CP932 form: refused, named by record and field
ok --quiet record add people name='𠮷田 太郎'
idx=$OUT
ok --quiet export request people --reason 'cp932 again' --format zip \
    --encoding cp932
idk=$OUT
as admin
ok export approve "$idk"
as op1
rc_is 5 export run "$idk" --out "$O/k.zip"
contains "$ERR" "$idx"
contains "$ERR" '"name"'
lacks "$ERR" '𠮷'
[ ! -e "$O/k.zip" ] || die "a refused export left its file"
ls -A "$O" | grep '\.tmp' >/dev/null && die "a temporary file remains"
ok record delete people "$idx"

# ---- a failure while writing leaves nothing: a tiny file system
{
    echo 'name,phone'
    i=0
    for f in 青木 石井 上田 遠藤 大野 加藤 木村 久保 小林 斎藤 \
        清水 杉山 田中 中村 西田 野口 橋本 福田 松本 森; do
        for g in 愛 明 彩 勇 薫 翔 健 恵 聡 茂 純 進 忠 匠 翼 望 仁 優 涼 亮; do
            i=$((i + 1))
            printf '%s %s,090%08d\n' "$f" "$g" "$i"
        done
    done
} >"$T/more.csv"
ok import people "$T/more.csv"
ok --quiet export request people --reason 'too big for the disk' \
    --format zip
idf=$OUT
as admin
ok export approve "$idf"
as op1
mkdir -p "$TINY"
if mount -t tmpfs -o size=4k,mode=0700 tmpfs "$TINY" 2>/dev/null; then
    rc_is 1 export run "$idf" --out "$TINY/f.zip"
    contains "$ERR" "disk is full"
    [ -z "$(ls -A "$TINY")" ] || die "a full disk left: $(ls -A "$TINY")"
    umount "$TINY"
elif [ "$(id -u)" -ne 0 ]; then
    # no mount allowed: a read-only directory fails the same way
    chmod 0500 "$TINY"
    rc_is 1 export run "$idf" --out "$TINY/f.zip"
    chmod 0700 "$TINY"
    [ -z "$(ls -A "$TINY")" ] || die "a failed write left: $(ls -A "$TINY")"
else
    echo "note: root without mount: the full-disk case is not tested" >&2
fi
# a directory that does not exist
rc_is 3 export run "$idf" --out "$T/nodir/f.zip"
# it stayed approved: it runs now, and the alert fires (403 > 100); a file
# already at the target is replaced whole
echo 'an older file' >"$O/big.zip"
ok export run "$idf" --out "$O/big.zip"
contains "$OUT" "records: 403"
[ "$(head -c 2 "$O/big.zip")" = PK ] || die "the older file was not replaced"
ls -A "$O" | grep '\.tmp' >/dev/null && die "a temporary file remains"
as admin
ok --json audit show
contains "$OUT" '"action":"export.alert"'
contains "$OUT" 'bulk export: 403 records > threshold 100'

# ---- the alert: above export.alert_threshold only
ok config set export.alert_threshold 403
as op1
ok --quiet export request people --reason 'at the threshold' --format zip
ida=$OUT
as admin
ok export approve "$ida"
as op1
ok export run "$ida" --out "$O/at.zip"
as admin
ok --json audit show
n=$(printf '%s' "$OUT" | grep -o '"action":"export.alert"' | wc -l)
[ "$n" -eq 1 ] || die "alerts at the threshold: $n"
ok config set export.alert_threshold 3
as op1
ok --quiet export request people --reason 'above three' --format zip \
    --search name='佐藤花子'
ok --quiet export request people --reason 'above three' --format zip
idb=$OUT
as admin
ok export approve "$idb"
as op1
ok export run "$idb" --out "$O/above.zip"
as admin
ok --json audit show
n=$(printf '%s' "$OUT" | grep -o '"action":"export.alert"' | wc -l)
[ "$n" -eq 2 ] || die "alerts above the threshold: $n"

# ---- the ledger: every field, operators see their own
as admin
ok --json export list
for k in id dataset requester requested reason format encoding \
    search_field recipient recipient_sha256 state approver decided expires \
    ran count sha256 marked_by marked; do
    contains "$OUT" "\"$k\":"
done
contains "$OUT" '"state":"returned"'
contains "$OUT" '"state":"rejected"'
contains "$OUT" '"state":"pending"'
contains "$OUT" '"recipient":"O=Test KK,CN=Client Recipient"'
contains "$OUT" "\"recipient_sha256\":\"$(openssl x509 -in "$T/r.crt" \
    -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
    tr 'A-F' 'a-f')\""
contains "$OUT" '"search_field":"name"'
lacks "$OUT" '山田'
ok export list
contains "$OUT" "payroll for the client"
ok export mark "$idc" destroyed
as aud1
ok --json export list
contains "$OUT" '"state":"destroyed"'
as op2
ok --json export list
contains "$OUT" '"requester":"op2"'
lacks "$OUT" '"requester":"op1"'

# ---- an approval lasts export.approval_hours (72 by default, 1-8760)
as aud1
ok config get export.approval_hours
[ "$OUT" = 72 ] || die "default approval hours: $OUT"
as admin
rc_is 5 config set export.approval_hours 0
contains "$ERR" "1-8760"
rc_is 5 config set export.approval_hours 8761
ok --json config list
contains "$OUT" '"key":"export.approval_hours","value":"72","default":"72"'
as op1
ok --quiet export request people --reason 'handover that waits' --format zip
idl=$OUT
ok --quiet export request people --reason 'seen lapsed in the ledger' \
    --format zip
idm=$OUT
as admin
ok export approve "$idl"
ok export approve "$idm"
as op1
ok --json export list
t0=$MAMORI_TEST_NOW
printf '%s' "$OUT" | jq -e --argjson id "$idl" --arg e \
    "$(date -u -d "@$((t0 + 72 * 3600))" +%Y-%m-%dT%H:%M:%SZ)" \
    '.[] | select(.id == $id) | .state == "approved" and .expires == $e' \
    >/dev/null || die "no expiry 72 h on: $OUT"
printf '%s' "$OUT" | jq -e '[.[] | select(.state != "approved") | .expires] |
    all(. == null)' >/dev/null || die "an expiry outside approved: $OUT"
# 72 hours on: the run is refused, and the request lapsed for good
export MAMORI_TEST_NOW=$((t0 + 72 * 3600))
login op1 "$OP_PW"
rc_is 1 export run "$idl" --out "$O/late.zip"
contains "$ERR" "export $idl: the approval lapsed after 72 h"
[ ! -e "$O/late.zip" ] || die "a lapsed export ran"
rc_is 1 export run "$idl" --out "$O/late.zip"
contains "$ERR" "lapsed"
login admin "$ADMIN_PW"
rc_is 1 export approve "$idl"
contains "$ERR" "lapsed, not pending"
rc_is 1 export reject "$idm"
contains "$ERR" "lapsed, not pending"
# the ledger reads both lapsed, and says so in its entry for the one it
# marked; the run's refusal is in the log
ok --json export list
for x in "$idl" "$idm"; do
    printf '%s' "$OUT" | jq -e --argjson id "$x" '.[] | select(.id == $id) |
        .state == "lapsed" and .expires == null' >/dev/null ||
        die "export $x not lapsed: $OUT"
done
ok --json audit show --last 20
printf '%s' "$OUT" | jq -e --arg d "state: export $idl: approval lapsed" \
    '[.[] | select(.action == "export.run" and .outcome == "error" and
      (.detail | startswith($d)))] | length == 1' >/dev/null ||
    die "the lapse is not audited: $OUT"
printf '%s' "$OUT" | jq -e --arg id "$idm" \
    '[.[] | select(.action == "export.list" and .outcome == "ok" and
      (.detail | startswith("approval lapsed: export ")) and
      (.detail | ltrimstr("approval lapsed: export ") | split(", ") |
       any(. == $id)))] | length == 1' >/dev/null ||
    die "the list's lapse is not audited: $OUT"
# a longer setting brings nothing back
ok config set export.approval_hours 8760
as op1
rc_is 1 export run "$idm" --out "$O/late.zip"
contains "$ERR" "lapsed"
[ ! -e "$O/late.zip" ] || die "a lapsed export ran"
# fail closed: the refusal's entry cannot be written, nothing is marked
as admin
ok config set export.approval_hours 1
as op1
ok --quiet export request people --reason 'fail closed lapse' --format zip
idn=$OUT
as admin
ok export approve "$idn"
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 3600))
login op1 "$OP_PW"
MAMORI_FAIL_AUDIT=1 mam export run "$idn" --out "$O/late.zip"
[ "$RC" -eq 7 ] || die "run without its audit entry: exit $RC: $ERR"
mam export run "$idn" --out "$O/late.zip"
[ "$RC" -eq 1 ] || die "lapsed run: exit $RC: $ERR"
contains "$ERR" "the approval lapsed after 1 h"
[ ! -e "$O/late.zip" ] || die "a lapsed export ran"

# ---- an expired certificate is refused: the vault's clock, a year on
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 400 * 86400))
login op1 "$OP_PW"
rc_is 5 export request people --reason 'late' --format cms \
    --recipient-cert "$T/r.crt"
contains "$ERR" "expired"
as admin
login admin "$ADMIN_PW"
ok audit verify
