# When the audit entry cannot be written, the operation is refused and
# nothing else changes: the record is neither written nor returned.
. "$ROOT/tests/cli/lib.sh"
new_vault
ok record add people name='山田 太郎' phone='090-1111-2222'
id=$OUT
before=$(sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records')

export MAMORI_TEST_HOOKS=1 MAMORI_FAIL_AUDIT=1
rc_is 7 record add people name='佐藤 花子'
rc_is 7 record get people "$id"
[ -z "$OUT" ] || die "record released without audit: $OUT"
lacks "$OUT" '山田'
rc_is 7 record search people name='山田太郎'
lacks "$OUT" '山田'
rc_is 7 record update people "$id" phone='090-3333-4444'
rc_is 7 record delete people "$id"
unset MAMORI_FAIL_AUDIT

after=$(sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records')
[ "$before" = "$after" ] || die "record count changed: $before -> $after"
ok --json record get people "$id"
contains "$OUT" '"phone":"09011112222"'
contains "$OUT" '"version":1'
login aud1 "$AUD_PW"
ok audit verify

# also with a trigger that makes the audit insert fail in SQLite itself
sqlite3 "$MAMORI_HOME/vault.db" "CREATE TRIGGER no_audit BEFORE INSERT ON audit
  BEGIN SELECT RAISE(ABORT, 'audit disabled'); END;"
as op1
mam record add people name='鈴木 一郎'
[ "$RC" -ne 0 ] || die "record added while audit inserts fail"
sqlite3 "$MAMORI_HOME/vault.db" "DROP TRIGGER no_audit"
after2=$(sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records')
[ "$before" = "$after2" ] || die "record written while audit failed"
