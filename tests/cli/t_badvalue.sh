# A rejected value names field and rule, never the value, and changes nothing.
. "$ROOT/tests/cli/lib.sh"
new_vault
ok record add people name='山田 太郎' mynumber=123456789018
id=$OUT
cp "$MAMORI_HOME/vault.db" "$T/before.db"

check_bad() { # field value rule
    mam record add people name='鈴木 一郎' "$1=$2"
    [ "$RC" -eq 5 ] || die "bad $1 accepted (exit $RC)"
    contains "$ERR" "$1"
    contains "$ERR" "$3"
    lacks "$ERR" "$2"
}
check_bad mynumber 123456789010 'check digit'
check_bad birth '平成31年5月1日' 'era'
check_bad birth '2023-02-29' 'day'
check_bad postal '100-00011' '7 digits'
check_bad phone '090-1234-567' 'digits'
check_bad email 'taro.example.jp' '@'

mam record update people "$id" mynumber=987654321001
[ "$RC" -eq 5 ] || die "bad update accepted"
mam record add people nosuchfield=1
[ "$RC" -eq 5 ] || die "unknown field accepted"
mam record add people 'name'
[ "$RC" -eq 2 ] || die "missing = not a usage error (exit $RC)"

ok --json record get people "$id"
contains "$OUT" '"mynumber":"123456789018"'
contains "$OUT" '"version":1'
ok --json dataset list
contains "$OUT" '"records":1'
# no record rows changed (audit rows were added)
a=$(sqlite3 "$T/before.db" 'SELECT hex(ct) FROM records ORDER BY id')
b=$(sqlite3 "$MAMORI_HOME/vault.db" 'SELECT hex(ct) FROM records ORDER BY id')
[ "$a" = "$b" ] || die "records changed"
