# Tampering with the audit log or the records is detected.
. "$ROOT/tests/cli/lib.sh"
new_vault
for i in 1 2 3 4 5; do
    ok record add people name="山田 太郎" phone="090-0000-000$i"
done
ids=$(sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records')
[ "$ids" = 5 ] || die "expected 5 records"
ok record search people name='山田太郎'
login aud1 "$AUD_PW"
ok audit verify
DB="$MAMORI_HOME/vault.db"
sq() { audit_cols "$DB" "$1"; }
save() { cp "$DB" "$T/good.db"; rm -f "$DB-wal" "$DB-shm"; }
restore() { cp "$T/good.db" "$DB"; rm -f "$DB-wal" "$DB-shm"; }
sq 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
save

expect_tamper() { # what
    mam audit verify
    [ "$RC" -eq 6 ] || die "$1 not detected (exit $RC: $OUT $ERR)"
    restore
    ok audit verify
    save
}

sq "UPDATE audit_cols SET body = json_set(body, '$.n', json_extract(body, '$.n') + 1) WHERE seq = 5"
expect_tamper "changed count"
sq "UPDATE audit_cols SET body = json_set(body, '$.u', 'op2') WHERE seq = 6"
expect_tamper "changed user"
sq "UPDATE audit_cols SET body = json_set(body, '$.o', 'denied') WHERE seq = 7"
expect_tamper "changed outcome"
sq "DELETE FROM audit WHERE seq = 4"
expect_tamper "deleted middle row"
# The request context (schema 8) is covered too: the CLI names itself.
# Since schema 9 (format 3) the fields are stored as one JSON body, which
# the MAC covers byte for byte; the columns are read from it. Since schema
# 11 (format 4) the MAC covers the stored entry as it is.
[ "$(audit_sql "$DB" "SELECT client || '/' || format FROM audit_v WHERE seq = 6")" = cli/4 ] ||
    die "the CLI's entries do not name it as the client"
sq "UPDATE audit_cols SET body = json_set(body, '$.c', '192.0.2.1') WHERE seq = 6"
expect_tamper "changed client"
sq "UPDATE audit_cols SET body = json_set(body, '$.r', 'abcd') WHERE seq = 6"
expect_tamper "changed request id"
sq "UPDATE audit_cols SET format = 1 WHERE seq = 6"
expect_tamper "format downgraded"
sq "UPDATE audit_cols SET format = 2 WHERE seq = 6"
expect_tamper "format downgraded to 2"
sq "UPDATE audit_cols SET body = replace(body, ':', ': ') WHERE seq = 6"
expect_tamper "body re-spaced (same JSON, other bytes)"
sq "UPDATE audit_cols SET body = 'not json' WHERE seq = 6"
expect_tamper "body not JSON"
sq "CREATE TEMP TABLE a AS SELECT seq, entry FROM audit WHERE seq IN (5,6);
    UPDATE audit SET entry=(SELECT entry FROM a WHERE seq=6) WHERE seq=5;
    UPDATE audit SET entry=(SELECT entry FROM a WHERE seq=5) WHERE seq=6;"
expect_tamper "swapped rows"
sq "INSERT INTO audit(seq, entry) SELECT seq + 1000, entry FROM audit WHERE seq = 3"
expect_tamper "inserted row"
sq "UPDATE audit_cols SET record_ids = 'x' WHERE seq = 6"
expect_tamper "record ids added"
sq "UPDATE audit SET seq = seq + 100 WHERE seq = (SELECT max(seq) FROM audit) - 2"
expect_tamper "reordered row"

# truncation of the newest entries is caught only against a checkpoint
ok audit checkpoint --out "$T/cp"
ok audit verify --checkpoint "$T/cp"
sq 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
save
n=$(sq 'SELECT max(seq) FROM audit')
sq "DELETE FROM audit WHERE seq >= $((n - 3))"
ok audit verify
mam audit verify --checkpoint "$T/cp"
[ "$RC" -eq 6 ] || die "truncation not detected against the checkpoint"
contains "$ERR$OUT" "removed"
restore
# a forged checkpoint (edited seq) is refused
sed 's/^seq .*/seq 1/' "$T/cp" >"$T/cp-forged"
mam audit verify --checkpoint "$T/cp-forged"
[ "$RC" -ne 0 ] || die "forged checkpoint accepted"

# one record's ciphertext copied over another's: the read fails integrity
login op1 "$OP_PW"
a=$(sq "SELECT lower(hex(id)) FROM records ORDER BY id LIMIT 1")
sq "UPDATE records SET ct = (SELECT ct FROM records ORDER BY id DESC LIMIT 1)
    WHERE id = (SELECT id FROM records ORDER BY id LIMIT 1)"
aid="${a:0:8}-${a:8:4}-${a:12:4}-${a:16:4}-${a:20:12}"
rc_is 6 record get people "$aid"
mam record search people name='山田太郎'
[ "$RC" -eq 6 ] || die "search released a swapped record (exit $RC)"
