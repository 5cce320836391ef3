# t_import.sh - `mamori import`: CP932 and UTF-8 (BOM) files as Excel
# writes them, every validator failure named by line, column and rule (each
# bad value of a row on a line of its own), all or nothing, --skip-invalid,
# duplicates on a composite key, the verify file, header and format errors,
# a 200,000-row file under a memory bound, SIGKILL mid-import, the report
# file, and who may import. Every value is synthetic (printf fixtures,
# mamori-synth).
source "$ROOT/tests/cli/lib.sh"

new_vault
as admin
ok dataset create staff --client 'テスト商事' --purpose '人事' \
    --field name:name --field kana:kana:search --field birth:date \
    --field postal:postal --field phone:phone --field email:email \
    --field mynumber:mynumber --field corp:corpnumber --field note:text \
    --key name,birth
ok --json dataset list
contains "$OUT" '"name":"name","type":"name","searchable":true,"key":true'
contains "$OUT" '"name":"kana","type":"kana","searchable":true,"key":false'
rc_is 2 dataset create bad --client c --purpose p --field a:text --key b
contains "$ERR" '--key'
ok dataset grant staff op1 --handler
ok_in "$INIT_PW" user add op2 --role operator
ok_in "$INIT_PW" user add view1 --role viewer
ok dataset grant staff op2
ok dataset grant staff view1
first_login op2 "Nibanme#Kagi-4417"
first_login view1 "Miru!Dake-8832"

count() { # count DATASET: records, as the admin sees them
    as admin
    ok --json dataset list
    printf '%s' "$OUT" | sed -n "s/.*\"name\":\"$1\"[^]]*\"records\":\([0-9]*\).*/\1/p"
}

# ---- CP932 with ① 髙 﨑 ～ －, CRLF, quoted comma and newline ------------
# 髙橋 (FBFC 8BB4), 﨑田 (FAB1 9363), ① (8740), ～ (8160), － (817C),
# ﾀｶﾊｼ (half-width katakana), 全角 digits in the phone.
printf 'name,kana,birth,phone,note\r\n' >cp.csv
printf '\xfb\xfc\x8b\xb4\x81\x40\x88\xea\x98\x59,\xc0\xb6\xca\xbc \xb2\xc1\xdb\xb3,1980-04-01,\x82\x4f\x82\x58\x82\x4f-1234-5678,"\x87\x40 a, b\r\nline2 \x81\x60 \x81\x7c"\r\n' >>cp.csv
printf '\xfa\xb1\x93\x63\x81\x40\x89\xd4\x8e\x71,\xbb\xc0\xde \xca\xc5\xba,S55.4.2,03-1234-5678,plain\r\n' >>cp.csv
as op1
ok import staff cp.csv
contains "$OUT" "Rows read: 2"
contains "$OUT" "Imported: 2"
contains "$OUT" "Encoding: cp932"
[ "$(count staff)" = 2 ] || die "cp932 import: want 2 records"
as op1
ok --json record search staff 'kana=タカハシ　イチロウ'
contains "$OUT" '"name":"髙橋　一郎"'
contains "$OUT" '"phone":"09012345678"'
contains "$OUT" '① a, b'
contains "$OUT" 'line2 ～ －'
ok --json record search staff 'kana=サダ　ハナコ'
contains "$OUT" '"name":"﨑田　花子"'
contains "$OUT" '"birth":"1980-04-02"'
# --json summary with the SHA-256 of the file.
ok --json import staff cp.csv
contains "$OUT" '"duplicates":2'
contains "$OUT" "\"sha256\":\"$(sha256sum cp.csv | cut -d' ' -f1)\""

# ---- UTF-8 with a BOM, LF, 全角 digits, mapped columns ------------------
printf '\xef\xbb\xbf氏名 , kana,生年月日\n' >bom.csv
printf '山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,１９９０年１月２日\n' >>bom.csv
ok import staff bom.csv --map '氏名=name' --map '生年月日=birth'
contains "$OUT" "Encoding: utf-8"
contains "$OUT" "Imported: 1"
ok --json record search staff 'kana=やまだ たろう'
contains "$OUT" '"birth":"1990-01-02"'
contains "$OUT" '"kana":"ヤマダ　タロウ"'

# ---- every validator failure: line, column, rule; all or nothing --------
before=$(count staff)
cat >bad.csv <<'EOF'
name,kana,birth,postal,phone,email,mynumber,corp,note
佐藤　一,サトウ　ハジメ,1970-01-01,100-0001,03-1111-2222,a@example.jp,123456789018,7000012050002,ok
佐藤1,サトウ,1970-01-02,,,,,,
佐藤　二,漢字,1970-01-03,,,,,,
佐藤　三,サトウ,1970-02-30,,,,,,
佐藤　四,サトウ,1970-01-04,12-345,,,,,
佐藤　五,サトウ,1970-01-05,,12345,,,,
佐藤　六,サトウ,1970-01-06,,,not-an-email,,,
佐藤　七,サトウ,1970-01-07,,,,123456789012,,
佐藤　八,サトウ,1970-01-08,,,,,1000012050002,
EOF
printf '佐藤　九,サトウ,1970-01-09,,,,,,"ctl\001"\n' >>bad.csv
rc_is 5 import staff bad.csv
for l in 3 4 5 6 7 8 9 10 11; do contains "$ERR" "line $l, column"; done
contains "$ERR" "line 3, column name:"
contains "$ERR" "line 4, column kana:"
contains "$ERR" "line 5, column birth:"
contains "$ERR" "line 6, column postal:"
contains "$ERR" "line 7, column phone:"
contains "$ERR" "line 8, column email:"
contains "$ERR" "line 9, column mynumber:"
contains "$ERR" "line 10, column corp:"
contains "$ERR" "line 11, column note:"
lacks "$ERR" "line 2,"
lacks "$ERR" "123456789012"
lacks "$ERR" "not-an-email"
contains "$OUT" "Rejected: 9"
contains "$OUT" "Imported: 0"
[ "$(count staff)" = "$before" ] || die "a bad file changed the dataset"
# ... and with --skip-invalid the good row goes in (exit 0), the report file
# lists the others, 0600, with no personal value in it.
as op1
# The report never replaces the file it reports on, the second keying, the
# vault's files or its key file.
cp bad.csv bad-copy.csv
rc_is 5 import staff bad.csv --skip-invalid --report bad.csv
contains "$ERR" "a file this command reads"
cmp -s bad.csv bad-copy.csv || die "the report replaced its input"
rc_is 5 import staff bad.csv --report "$MAMORI_HOME/vault.db"
contains "$ERR" "--report"
rc_is 5 import staff bad.csv --report "$KEY"
contains "$ERR" "key file"
ok dataset list # (the vault still opens)
ok import staff bad.csv --skip-invalid --report rep.txt
contains "$OUT" "Imported: 1"
contains "$OUT" "Rejected: 9"
[ "$(stat -c %a rep.txt)" = 600 ] || die "report mode $(stat -c %a rep.txt)"
[ "$(wc -l <rep.txt)" = 9 ] || die "report: want 9 lines"
grep -q 'line 9, column mynumber: ' rep.txt || die "report lacks line 9"
for v in 佐藤 サトウ 1970 123456789012 1000012050002 not-an-email 12-345 \
    12345 漢字; do
    if grep -q -- "$v" rep.txt; then die "report holds a value: $v"; fi
done
[ "$(count staff)" = $((before + 1)) ] || die "--skip-invalid: want +1"

# ---- a row with several bad values: each named, one line each, in the
# file's column order; the row counted once, its good neighbour as before --
printf 'name,kana,birth,phone,email\n' >multi.csv
printf '佐藤　十,サトウ,1970-01-10,03-1111-2222,b@example.jp\n' >>multi.csv
printf '佐藤　十一,サトウ,1970-13-01,12345,not-an-email\n' >>multi.csv
before=$(count staff)
as op1
rc_is 5 import staff multi.csv
[ "$(grep '^line ' <<<"$ERR" | cut -d: -f1 | tr '\n' '|')" = \
    "line 3, column birth|line 3, column phone|line 3, column email|" ] ||
    die "several bad values: $ERR"
contains "$ERR" "line 3, column birth: month must be 1 to 12"
contains "$ERR" "(1 rows rejected; nothing imported)"
contains "$OUT" "Rejected: 1"
contains "$OUT" "Imported: 0"
for v in 佐藤 1970-13 12345 not-an-email; do lacks "$ERR" "$v"; done
[ "$(count staff)" = "$before" ] || die "several bad values: dataset changed"
# ... in Japanese under a Japanese locale
as op1
LC_ALL=ja_JP.UTF-8 LANG=ja_JP.UTF-8 mam import staff multi.csv
[ "$RC" -eq 5 ] || die "several bad values (ja): exit $RC"
contains "$ERR" "3 行目、列 birth: 月は 1 から 12 までです"
[ "$(grep -c '^3 行目、列 \(birth\|phone\|email\): ' <<<"$ERR")" = 3 ] ||
    die "several bad values (ja): $ERR"
lacks "$ERR" "line 3"
# ... and --skip-invalid imports the good row; the report has the three
ok import staff multi.csv --skip-invalid --report multi.txt
contains "$OUT" "Imported: 1"
contains "$OUT" "Rejected: 1"
contains "$ERR" "3 problems listed in multi.txt"
[ "$(wc -l <multi.txt)" = 3 ] || die "several bad values: report: $(cat multi.txt)"
grep -q '^line 3, column email: ' multi.txt || die "report lacks the email"
[ "$(count staff)" = $((before + 1)) ] || die "several bad values: want +1"

# ---- all or nothing: one bad row at the very end ------------------------
$SYNTH --count 3000 --seed 41 --header >big.csv
sed -i '1s/.*/name,kana,birth,postal,note,phone,email,mynumber/' big.csv
printf '最後　行,サイゴ,2000-13-01,,,,,\n' >>big.csv
before=$(count staff)
as op1
rc_is 5 import staff big.csv
contains "$ERR" "line 3002, column birth:"
[ "$(count staff)" = "$before" ] || die "bad last row: dataset changed"
as admin
ok audit show --last 3
contains "$OUT" "import	staff	error"
contains "$OUT" "rows 3001 ok 0 bad 1"

# ---- duplicates: against records and within the file (composite key) ----
printf 'name,birth,kana\n鈴木　一,1980-05-05,スズキ\n鈴木　一,1980-05-06,スズキ\n鈴木 一,1980/5/5,スズキ\n髙橋　一郎,1980-04-01,タカハシ\n' >dup.csv
before=$(count staff)
as op1
ok import staff dup.csv
contains "$OUT" "Imported: 2"
contains "$OUT" "Duplicates: 2"
contains "$ERR" "line 4: duplicate in file"
contains "$ERR" "line 5: duplicate of a record"
[ "$(count staff)" = $((before + 2)) ] || die "duplicates imported"

# ---- verify file: match, then a mismatch named by line and column -------
printf 'name,kana,birth\n中村　一,ナカムラ,1981-01-01\n中村　二,ナカムラ,1981-01-02\n' >va.csv
printf 'birth,name,kana\n1981/1/1,中村 一,ﾅｶﾑﾗ\n1981-01-02,中村　二,ナカムラ\n' >vb.csv
printf 'name,kana,birth\n中村　一,ナカムラ,1981-01-01\n中村　二,ナカムラ,1981-01-03\n' >vc.csv
before=$(count staff)
as op1
rc_is 5 import staff va.csv --verify-against vc.csv
contains "$ERR" "line 3, column birth: mismatch"
contains "$OUT" "Mismatches: 1"
lacks "$ERR" "1981"
[ "$(count staff)" = "$before" ] || die "mismatch imported"
printf 'name,kana,birth\n中村　一,ナカムラ,1981-01-01\n' >vd.csv
rc_is 5 import staff va.csv --verify-against vd.csv
contains "$ERR" "line 3: mismatch: the verify file has fewer rows"
ok import staff va.csv --verify-against vb.csv
contains "$OUT" "Imported: 2"
contains "$OUT" "Mismatches: 0"
[ "$(count staff)" = $((before + 2)) ] || die "verified import"

# ---- format errors: truncated, wrong encoding, headers ------------------
printf 'name,note\n小林　一,"open\nand never closed\n' >trunc.csv
rc_is 5 import staff trunc.csv
contains "$ERR" "line 2, column note: file format: quoted field not closed"
printf 'name,kana\n\x8f\xac\x97\xd1\x81\x40\x88\xea,\xba\xca\xde\xd4\xbc\n' >sj.csv
rc_is 5 import staff sj.csv --encoding utf-8
contains "$ERR" "line 2, column name: file format: bytes that are not UTF-8"
ok import staff sj.csv --encoding cp932
contains "$OUT" "Imported: 1"
# (the encoding as Windows names it, in any case)
for enc in Shift_JIS CP932 Windows-31J; do
    ok import staff sj.csv --encoding "$enc" --skip-invalid
    contains "$OUT" "Encoding: cp932"
done
ok import staff bom.csv --encoding UTF-8 --skip-invalid --map '氏名=name' \
    --map '生年月日=birth'
contains "$OUT" "Encoding: utf-8"
printf 'name,shoe_size\nx,1\n' >h1.csv
rc_is 5 import staff h1.csv
contains "$ERR" "line 1, column shoe_size: file format: header: unknown column"
printf 'name,kana,name\nx,y,z\n' >h2.csv
rc_is 5 import staff h2.csv
contains "$ERR" "column given twice"
printf 'name,,kana\nx,y,z\n' >h3.csv
rc_is 5 import staff h3.csv
contains "$ERR" "line 1, column #2: file format: header: empty column header"
rc_is 5 import staff h1.csv --map shoe=kana
contains "$ERR" "a column map names a column that is not in the header"
# Excel's "Unicode Text" (UTF-16LE, BOM, TABs): refused, naming UTF-16,
# whatever --encoding says; nothing imported
before=$(count staff)
as op1
{ printf '\xff\xfe'; printf 'name\tkana\r\n山田　一\tヤマダ\r\n' |
    iconv -f UTF-8 -t UTF-16LE; } >u16.txt
for enc in auto cp932 utf-8; do
    rc_is 5 import staff u16.txt --encoding "$enc"
    contains "$ERR" "line 1: file format: the file is in UTF-16"
    lacks "$ERR" "NUL"
done
[ "$(count staff)" = "$before" ] || die "a UTF-16 file changed the dataset"
# Excel's ",,," rows (formatted, empty cells) are no records
printf 'name,kana,birth\r\n,,\r\n空行　一,クウギョウ,1980-05-05\r\n,,\r\n,,\r\n' |
    iconv -f UTF-8 -t CP932 >excel-empty.csv
as op1
ok import staff excel-empty.csv
contains "$OUT" "Rows read: 1"
contains "$OUT" "Imported: 1"
[ "$(count staff)" = $((before + 1)) ] || die "empty rows became records"
before=$((before + 1))
printf '' >empty.csv
rc_is 5 import staff empty.csv
contains "$ERR" "empty"
rc_is 2 import staff h1.csv --encoding latin1
rc_is 2 import staff h1.csv --map nothing
rc_is 3 import staff does-not-exist.csv
# a row with more or fewer fields than the header: each count as it is
printf 'name,kana,birth\n山田　一,ヤマダ,1980-01-01,x\n山田　二,ヤマダ\n' >shape.csv
rc_is 5 import staff shape.csv
contains "$ERR" "line 2: 4 fields, but the header has 3 columns"
contains "$ERR" "line 3: 2 fields, but the header has 3 columns"
# the key (--key name,birth) holds for single records too: a second record
# with it, in another width or era, is refused, named by the key's fields
ok record add staff name='重複　太郎' birth=1970-05-05
rc_is 1 record add staff name='重複 太郎' birth='昭和45年5月5日'
contains "$ERR" "name, birth"
lacks "$ERR" "重複"

# ---- who may import -----------------------------------------------------
for u in view1 aud1 admin; do
    as "$u"
    rc_is 4 import staff va.csv
done
as op2
printf 'name,birth,mynumber\n松本　二,1985-01-02,\n松本　一,1985-01-01,123456789018\n' >mn.csv
rc_is 4 import staff mn.csv
contains "$ERR" "My Number"
# (one line number for the row, in the problem and in the refusal)
contains "$ERR" "line 3"
lacks "$ERR" "row "
printf 'name,birth,mynumber\n松本　一,1985-01-01,\n' >mn2.csv
ok import staff mn2.csv
as admin
ok_in "$INIT_PW" user add op3 --role operator
first_login op3 'Sanban%Me-2290'
rc_is 4 import staff mn2.csv

# ---- 200,000 rows (CP932, CRLF) under a memory bound --------------------
$SYNTH --count 200000 --seed 7 --header --encoding cp932 --crlf >200k.csv
as admin
synth_dataset bulk
as op1
/usr/bin/time -f %M -o rss.txt "$MAMORI" import bulk 200k.csv >out 2>err ||
    die "200k import failed: $(cat err)"
grep -q "Imported: 200000" out || die "200k: $(cat out)"
rss=$(tail -n 1 rss.txt)
# (AddressSanitizer's shadow memory and quarantine inflate RSS: the bound is
# for the normal build.)
if ldd "$MAMORI" | grep libasan >/dev/null; then
    echo "ASan build: peak RSS ${rss} KiB not checked"
else
    [ "$rss" -lt 65536 ] || die "200k import: peak RSS $rss KiB >= 64 MiB"
fi
echo "200k import peak RSS ${rss} KiB"
[ "$(count bulk)" = 200000 ] || die "200k: record count"

# ---- SIGKILL during a large import: the vault as before -----------------
as op1
"$MAMORI" import bulk 200k.csv --skip-invalid >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -9 "$pid" 2>/dev/null || die "import ended before the kill"
wait "$pid" 2>/dev/null || true
[ "$(count bulk)" = 200000 ] || die "SIGKILL: record count changed"
as admin
ok audit verify
# ---- progress bar: on a terminal only -----------------------------------
as admin
ok dataset create ttyds --client c --purpose p --field name:name:search \
    --field kana:kana --field birthdate:date --field postal:postal \
    --field address:address --field phone:phone --field email:email \
    --field mynumber:mynumber
ok dataset grant ttyds op1 --handler
as op1
$SYNTH --count 30000 --seed 11 --header >tty.csv
# script(1) gives the command a terminal; its output is the terminal's.
script -qec "$MAMORI import ttyds tty.csv --skip-invalid" tty.log >/dev/null ||
    die "import under a terminal failed: $(cat tty.log)"
grep -q "rows/s" tty.log || die "no progress bar on a terminal: $(cat tty.log)"
grep -q "ETA" tty.log || die "no ETA in the progress bar"
grep -q "Imported: 30000" tty.log || die "tty import: $(cat tty.log)"
mam import ttyds tty.csv
lacks "$ERR" "rows/s"
echo "import tests done"
