-- audit_cols: the audit log with each entry (one blob since schema 11:
-- format byte, prev_mac, body, NUL, record ids, mac) split into columns,
-- for reading the log with the sqlite3 shell (docs/audit-log.md):
--
--   sqlite3 -readonly vault.db -cmd '.read docs/audit-cols.sql' \
--     "SELECT seq, json_extract(body, '$.a') FROM audit_cols"
--
-- The tests also edit entries through it: updates and inserts write the
-- entry back, as they are, so a test can write what the store never would.
CREATE TEMP VIEW audit_cols AS
SELECT seq, format, prev_mac, body,
       nullif(CAST(substr(entry, 34 + nul, length(entry) - 32 - 33 - nul)
                   AS TEXT), '') AS record_ids,
       mac
FROM (SELECT seq, entry,
             unicode(CAST(substr(entry, 1, 1) AS TEXT)) AS format,
             substr(entry, 2, 32) AS prev_mac,
             instr(substr(entry, 34), x'00') AS nul,
             CAST(substr(entry, 34, instr(substr(entry, 34), x'00') - 1)
                  AS TEXT) AS body,
             substr(entry, -32) AS mac
      FROM main.audit);
CREATE TEMP TRIGGER audit_cols_update INSTEAD OF UPDATE ON audit_cols BEGIN
  UPDATE audit SET seq = NEW.seq,
    entry = CAST(char(NEW.format) || NEW.prev_mac || NEW.body || x'00'
                 || coalesce(NEW.record_ids, '') || NEW.mac AS BLOB)
  WHERE seq = OLD.seq;
END;
CREATE TEMP TRIGGER audit_cols_insert INSTEAD OF INSERT ON audit_cols BEGIN
  INSERT INTO audit(seq, entry) VALUES(NEW.seq,
    CAST(char(NEW.format) || NEW.prev_mac || NEW.body || x'00'
         || coalesce(NEW.record_ids, '') || NEW.mac AS BLOB));
END;
