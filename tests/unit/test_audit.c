/*
 * test_audit.c - the chain, checkpoints, and their parser on hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"
#include "guard.h"
#include "helpers.h"
#include "internal.h"
#include "keys.h"
#include "store.h"
#include "audit_cols.h"

static void sql(struct tvault *tv, const char *q)
{
    char path[600];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, audit_cols_sql(), NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The integer the query q (through audit_cols) gives. */
static int64_t sql_int(struct tvault *tv, const char *q)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int64_t v;

    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, audit_cols_sql(), NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Verification refuses the log after edit, naming entry seq first. */
static void tampered_at(struct tvault *tv, const char *edit, int64_t seq)
{
    struct mamori_verify_result vr;

    sql(tv, edit);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_int_equal(vr.first_bad, seq);
}

static void add_some(struct tvault *tv, int n)
{
    struct mamori_kv kv[] = {{"name", "山田 太郎"}};
    char id[MAMORI_ID_LEN + 1];
    for (int i = 0; i < n; i++)
        assert_int_equal(
            mamori_record_add(tv->op, "people", kv, 1, id, sizeof id), 0);
}

static void chain_detects_changes(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;

    add_some(tv, 5);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_true(vr.entries >= 12);
    assert_string_equal(vr.problem, "");

    sql(tv, "UPDATE audit_cols SET body = json_set(body, '$.x', 'x') WHERE seq "
            "= 8");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_int_equal(vr.first_bad, 8);
    assert_non_null(strstr(vr.problem, "altered"));
    assert_non_null(strstr(mamori_errdetail(tv->aud), "8"));
}

/* Rows the store cannot even split are named too, by their number, and
 * not taken for entry 0 (a blob turned into text by ||, a short blob, a
 * body with no end); so is every later reader's view of them. */
static void unreadable_entry_named(void **state)
{
    struct tvault *tv = *state;
    static const char *const edit[] = {
        "UPDATE audit SET entry = substr(entry, 1, 30) || x'41' ||"
        " substr(entry, 32) WHERE seq = 6",
        "UPDATE audit SET entry = x'04' WHERE seq = 6",
        "UPDATE audit SET entry = x'04' || zeroblob(40) || x'4141' ||"
        " zeroblob(32) WHERE seq = 6",
        "UPDATE audit SET entry = replace(entry, x'00', x'01') WHERE seq = 6",
    };
    struct mamori_verify_result vr;
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;

    add_some(tv, 4);
    sql(tv, "CREATE TABLE keep AS SELECT entry FROM audit WHERE seq = 6");
    for (size_t i = 0; i < sizeof edit / sizeof edit[0]; i++) {
        tampered_at(tv, edit[i], 6);
        assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                         MAMORI_ETAMPER);
        assert_string_equal(vr.problem, "entry 6 was altered");
        assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), MAMORI_ETAMPER);
        sql(tv, "UPDATE audit SET entry = (SELECT entry FROM keep)"
                " WHERE seq = 6");
        assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    }
}

static void chain_detects_deletion(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;
    add_some(tv, 3);
    sql(tv, "DELETE FROM audit WHERE seq = 3");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_int_equal(vr.first_bad, 3);
    assert_non_null(strstr(vr.problem, "missing"));

    /* a forged, huge newest number is refused at once, not worked through */
    int64_t bound = 0, count = 0;
    assert_int_equal(store_audit_row_bound(tv->m->store, &bound), 0);
    assert_int_equal(store_audit_count(tv->m->store, &count), 0);
    assert_true(bound >= count);
    sql(tv, "UPDATE audit SET seq = 4000000000000000 WHERE seq = "
            "(SELECT max(seq) FROM audit)");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_non_null(strstr(vr.problem, "impossible"));
    sql(tv, "UPDATE audit SET seq = -5 WHERE seq = 4000000000000000");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
}

static void checkpoint_catches_truncation(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;
    char *cp = NULL;
    size_t len = 0;

    add_some(tv, 3);
    assert_int_equal(mamori_audit_checkpoint(tv->aud, &cp, &len), 0);
    assert_int_equal(strlen(cp), len);
    assert_int_equal(mamori_audit_verify(tv->aud, cp, len, &vr), 0);
    add_some(tv, 2);
    assert_int_equal(mamori_audit_verify(tv->aud, cp, len, &vr), 0);

    sql(tv, "DELETE FROM audit WHERE seq >= (SELECT max(seq) - 6 FROM audit)");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_int_equal(mamori_audit_verify(tv->aud, cp, len, &vr),
                     MAMORI_ETAMPER);
    assert_non_null(strstr(vr.problem, "removed"));

    /* a changed signature, or another key, is refused */
    char *bad = strdup(cp);
    char *sig = strstr(bad, "\nsig ");
    assert_non_null(sig);
    sig[5] = sig[5] == '0' ? '1' : '0';
    assert_int_equal(mamori_audit_verify(tv->aud, bad, len, &vr),
                     MAMORI_ETAMPER);
    assert_non_null(strstr(vr.problem, "signature"));
    free(bad);
    free(cp);
}

/* A log long enough to be verified by several threads: problems inside a
 * range and at the seam between ranges are both found. */
static void parallel_verify(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;
    struct store_audit_row row;
    int64_t n = 0;
    char q[200];

    memset(&row, 0, sizeof row);
    snprintf(row.user, sizeof row.user, "op1");
    snprintf(row.action, sizeof row.action, "record.get");
    snprintf(row.outcome, sizeof row.outcome, "ok");
    row.count = 1;
    assert_int_equal(store_begin(tv->m->store), 0);
    for (int i = 0; i < 70000; i++) {
        row.time = 1790000000 + i;
        assert_int_equal(audit_append(tv->m, &row), 0);
    }
    assert_int_equal(store_commit(tv->m->store), 0);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_true(vr.entries > 70000);
    assert_int_equal(store_audit_count(tv->m->store, &n), 0);
    int64_t seam = 1 + n / 2; /* first entry of the second range */

    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.n', 2)"
             " WHERE seq = %lld",
             (long long)(seam + 100));
    tampered_at(tv, q, seam + 100);
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.n', 1)"
             " WHERE seq = %lld",
             (long long)(seam + 100));
    sql(tv, q);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);

    /* the seam: the second range's first entry no longer follows the first
     * range's last */
    snprintf(q, sizeof q, "DELETE FROM audit WHERE seq = %lld",
             (long long)(seam - 1));
    sql(tv, q);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_non_null(strstr(vr.problem, "missing"));
}

static void checkpoint_parser_rejects(void **state)
{
    (void)state;
    const char *good =
        "mamori-audit-checkpoint v1\n"
        "vault 0b5e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b\n"
        "seq 42\n"
        "head "
        "abababababababababababababababababababababababababababababababab\n"
        "time 1790000000\n"
        "key cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\n"
        "sig efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"
        "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef\n";
    struct audit_checkpoint cp;
    const char *why;
    char buf[2048];

    assert_int_equal(audit_checkpoint_parse(good, strlen(good), &cp, &why), 0);
    assert_int_equal(cp.seq, 42);
    assert_int_equal(cp.time, 1790000000);
    assert_int_equal(cp.head[0], 0xab);
    assert_string_equal(cp.vault_id, "0b5e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");

    static const struct {
        const char *from, *to, *why;
    } muts[] = {
        {"seq 42", "seq -2", "seq"},
        {"seq 42", "seq 042", "seq"},
        {"seq 42", "seq 9999999999999999999999", "seq"},
        {"seq 42", "seq ", "seq"},
        {"head ab", "head zz", "head"},
        {"time 1790000000", "tim 1790000000", "time"},
        {"vault 0b5e", "vault 0B5E", "vault"},
        {"v1\n", "v2\n", "checkpoint"},
        {"\nsig ", "\nsig  ", "sig"},
    };
    for (size_t i = 0; i < sizeof muts / sizeof *muts; i++) {
        const char *at = strstr(good, muts[i].from);
        assert_non_null(at);
        int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - good), good,
                         muts[i].to, at + strlen(muts[i].from));
        assert_true(n > 0);
        assert_int_equal(audit_checkpoint_parse(buf, (size_t)n, &cp, &why),
                         MAMORI_EINVAL);
        assert_non_null(strstr(why, muts[i].why));
    }
    /* truncated at every length, and trailing junk */
    for (size_t l = 0; l < strlen(good); l++)
        assert_int_equal(audit_checkpoint_parse(good, l, &cp, &why),
                         MAMORI_EINVAL);
    snprintf(buf, sizeof buf, "%sx", good);
    assert_int_equal(audit_checkpoint_parse(buf, strlen(buf), &cp, &why),
                     MAMORI_EINVAL);
    /* oversized */
    char *big = malloc(100000);
    memset(big, 'a', 100000);
    assert_int_equal(audit_checkpoint_parse(big, 100000, &cp, &why),
                     MAMORI_EINVAL);
    free(big);
}

static void entries_carry_no_values(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv kv[] = {{"name", "秘密 花子"},
                             {"mynumber", "123456789018"}};
    struct mamori_record **rs = NULL;
    struct mamori_audit_entry *e = NULL;
    char id[MAMORI_ID_LEN + 1];
    size_t n = 0;

    /* a My Number handler enters one */
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1",
                                                MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(mamori_record_add(tv->op, "people", kv, 2, id, sizeof id),
                     0);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "秘密花子", &rs, &n), 0);
    assert_int_equal(n, 1);
    mamori_record_array_free(rs, n);
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(e[i].detail, "秘密"));
        assert_null(strstr(e[i].detail, "123456789018"));
        if (e[i].record_ids) {
            assert_null(strstr(e[i].record_ids, "秘密"));
        }
    }
    assert_string_equal(e[n - 1].action, "record.search");
    assert_string_equal(e[n - 1].record_ids, id);
    assert_int_equal(e[n - 1].count, 1);
    mamori_audit_entries_free(e, n);
}

/* The newest entry as mamori_audit_show gives it (before show's own). */
static void newest(struct tvault *tv, struct mamori_audit_entry *out)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;

    assert_int_equal(mamori_audit_show(tv->aud, 1, &e, &n), 0);
    assert_int_equal(n, 1);
    *out = e[0];
    out->record_ids = NULL;
    mamori_audit_entries_free(e, n);
}

static void request_context_is_logged_and_sealed(void **state)
{
    struct tvault *tv = *state;
    struct mamori_audit_entry e;
    struct mamori_verify_result vr;
    char long_id[300], q[256];

    mamori_set_request("192.0.2.7", "0123456789abcdef");
    add_some(tv, 1);
    newest(tv, &e);
    assert_string_equal(e.action, "record.add");
    assert_string_equal(e.client, "192.0.2.7");
    assert_string_equal(e.request_id, "0123456789abcdef");
    int64_t seq = e.seq;

    /* hostile context: control characters dropped, long values cut */
    memset(long_id, 'f', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    mamori_set_request("10.0.0.1\n\x1b[31m", long_id);
    add_some(tv, 1);
    newest(tv, &e);
    assert_null(strchr(e.client, '\n'));
    assert_null(strchr(e.client, '\x1b'));
    assert_true(strncmp(e.client, "10.0.0.1", 8) == 0);
    assert_true(strlen(e.request_id) < sizeof e.request_id);
    assert_true(strlen(e.request_id) > 0);

    /* cleared: the next entries name nothing */
    mamori_set_request(NULL, NULL);
    add_some(tv, 1);
    newest(tv, &e);
    assert_string_equal(e.client, "");
    assert_string_equal(e.request_id, "");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);

    /* the context is covered by the MAC */
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.c', '192.0.2.8')"
             " WHERE seq = %lld",
             (long long)seq);
    tampered_at(tv, q, seq);
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.c', '192.0.2.7',"
             " '$.r', 'x')"
             " WHERE seq = %lld",
             (long long)seq);
    tampered_at(tv, q, seq);
    /* a downgrade to format 1 (whose MAC does not cover the context) */
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.r',"
             " '0123456789abcdef'), format = 1"
             " WHERE seq = %lld",
             (long long)seq);
    tampered_at(tv, q, seq);
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET body = json_set(body, '$.c', '', '$.r', '')"
             " WHERE seq = %lld",
             (long long)seq);
    tampered_at(tv, q, seq);
    snprintf(q, sizeof q, "UPDATE audit_cols SET format = 9 WHERE seq = %lld",
             (long long)seq);
    sql(tv, q);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr),
                     MAMORI_ETAMPER);
    assert_non_null(strstr(vr.problem, "format"));
    /* back as it was: intact again */
    snprintf(q, sizeof q,
             "UPDATE audit_cols SET format = 4, body = json_set(body, '$.c',"
             " '192.0.2.7', '$.r', '0123456789abcdef') WHERE seq = %lld",
             (long long)seq);
    sql(tv, q);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
}

struct v1_state {
    struct crypto_hmac_key *key;
    const char *vault_id;
    uint8_t prev[CRYPTO_MAC_LEN];
    char *sql;
    size_t len, cap;
};

/* Starts a rewrite of the chain from its first key. */
static void rewrite_begin(struct tvault *tv, struct v1_state *st)
{
    const uint8_t *k0;

    memset(st, 0, sizeof *st);
    assert_int_equal(keys_audit_initial(tv->m->keys, &k0), 0);
    st->key = crypto_hmac_key_new(k0, CRYPTO_KEY_LEN);
    assert_non_null(st->key);
    st->vault_id = tv->m->vault_id;
}

/* Appends to st->sql line, the statement of k bytes that rewrites one
 * entry (snprintf's result for a buffer of size bytes). */
static void add_sql(struct v1_state *st, const char *line, size_t size, int k)
{
    assert_true(k > 0 && (size_t)k < size);
    if (st->len + (size_t)k + 1 > st->cap) {
        st->cap = (st->len + (size_t)k + 1) * 2;
        st->sql = realloc(st->sql, st->cap);
        assert_non_null(st->sql);
    }
    memcpy(st->sql + st->len, line, (size_t)k + 1);
    st->len += (size_t)k;
}

/* Rewrites the chain as a schema-8 writer would have written it: entries
 * 1 to 3 in format 1 (written before schema 8), the rest in format 2. */
static int old_row(void *arg, const struct store_audit_row *row)
{
    struct v1_state *st = arg;
    struct store_audit_row r = *row;
    char mac[2 * CRYPTO_MAC_LEN + 1], prev[2 * CRYPTO_MAC_LEN + 1];
    char line[512];
    int k;

    r.format = r.seq <= 3 ? AUDIT_FORMAT_V1 : AUDIT_FORMAT_V2;
    if (r.format == AUDIT_FORMAT_V1)
        r.client[0] = r.request_id[0] = '\0';
    memcpy(r.prev_mac, st->prev, CRYPTO_MAC_LEN);
    audit_mac(st->key, st->vault_id, &r, r.mac);
    memcpy(st->prev, r.mac, CRYPTO_MAC_LEN);
    crypto_hex(r.mac, CRYPTO_MAC_LEN, mac);
    crypto_hex(r.prev_mac, CRYPTO_MAC_LEN, prev);
    k = snprintf(
        line, sizeof line,
        "UPDATE audit_cols SET mac = x'%s', prev_mac = x'%s', format = %d,"
        " body = json_set(body, '$.c', '%s', '$.r', '%s')"
        " WHERE seq = %lld;",
        mac, prev, r.format, r.client, r.request_id, (long long)r.seq);
    add_sql(st, line, sizeof line, k);
    return 0;
}

/* Rewrites the chain as a schema-10 writer would have written it: every
 * entry in format 3, its MAC over the body and record ids as stored. */
static int v3_row(void *arg, const struct store_audit_raw *raw)
{
    struct v1_state *st = arg;
    struct store_audit_row r;
    char mac[2 * CRYPTO_MAC_LEN + 1], prev[2 * CRYPTO_MAC_LEN + 1];
    char line[256], *ids = NULL;

    memset(&r, 0, sizeof r);
    if (raw->record_ids) {
        ids = strndup(raw->record_ids, raw->ids_len);
        assert_non_null(ids);
    }
    r.seq = raw->seq;
    r.format = AUDIT_FORMAT_V3;
    r.body = raw->body;
    r.body_len = raw->body_len;
    r.record_ids = ids;
    memcpy(r.prev_mac, st->prev, CRYPTO_MAC_LEN);
    audit_mac(st->key, st->vault_id, &r, r.mac);
    free(ids);
    memcpy(st->prev, r.mac, CRYPTO_MAC_LEN);
    crypto_hex(r.mac, CRYPTO_MAC_LEN, mac);
    crypto_hex(r.prev_mac, CRYPTO_MAC_LEN, prev);
    add_sql(st, line, sizeof line,
            snprintf(line, sizeof line,
                     "UPDATE audit_cols SET mac = x'%s', prev_mac = x'%s',"
                     " format = 3 WHERE seq = %lld;",
                     mac, prev, (long long)r.seq));
    return 0;
}

/* A schema-10 vault's log (format 3, one column per part) moves into one
 * blob per entry and still verifies; a change is caught in an entry too
 * long for mac_v3's one-buffer path (40 record ids, hashed in parts). */
static void format3_entries_verify(void **state)
{
    struct tvault *tv = *state;
    struct v1_state st;
    struct mamori_verify_result vr;
    struct mamori_record **rs = NULL;
    struct store *s = NULL;
    size_t n = 0;

    add_some(tv, 40);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "山田太郎", &rs, &n), 0);
    assert_int_equal(n, 40);
    mamori_record_array_free(rs, n);
    rewrite_begin(tv, &st);
    assert_int_equal(
        store_audit_scan_raw(tv->m->store, 1, INT64_MAX, v3_row, &st), 0);
    crypto_hmac_key_free(st.key);
    sql(tv, st.sql);
    free(st.sql);
    sql(tv, "CREATE TABLE audit10(seq INTEGER PRIMARY KEY,"
            " format INTEGER NOT NULL, body TEXT NOT NULL, record_ids TEXT,"
            " prev_mac BLOB NOT NULL, mac BLOB NOT NULL);"
            "INSERT INTO audit10 SELECT seq, format, body, record_ids,"
            " prev_mac, mac FROM audit_cols;"
            "DROP VIEW audit_cols;"
            "DROP TABLE audit; ALTER TABLE audit10 RENAME TO audit;"
            /* added at schema 13 */
            "ALTER TABLE users DROP COLUMN enrol_failures;"
            "ALTER TABLE users DROP COLUMN enrol_locked_until;"
            "PRAGMA user_version = 10;");
    assert_int_equal(store_open(tv->home, 0, &s), 0);
    store_close(s);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_true(vr.entries > 40);
    /* older entries keep format 3; new ones are format 4 */
    add_some(tv, 1);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    int64_t seq = sql_int(tv, "SELECT seq FROM audit_cols"
                              " WHERE length(record_ids) > 1024");
    assert_int_equal(sql_int(tv, "SELECT format FROM audit_cols WHERE seq = 2"),
                     AUDIT_FORMAT_V3);
    tampered_at(
        tv,
        "UPDATE audit_cols SET record_ids ="
        " replace(record_ids, '-', '+') WHERE length(record_ids) > 1024",
        seq);
}

static void entries_before_the_migration_verify(void **state)
{
    struct tvault *tv = *state;
    struct v1_state st;
    struct mamori_verify_result vr;
    struct mamori_audit_entry e;
    struct store *s = NULL;

    mamori_set_request("192.0.2.5", "00000000deadbeef");
    add_some(tv, 3);
    mamori_set_request(NULL, NULL);
    rewrite_begin(tv, &st);
    assert_int_equal(store_audit_scan(tv->m->store, 1, INT64_MAX, old_row, &st),
                     0);
    crypto_hmac_key_free(st.key);
    sql(tv, st.sql);
    free(st.sql);
    /* A schema-8 vault: one column per field. */
    sql(tv, "CREATE TABLE audit8(seq INTEGER PRIMARY KEY,"
            " time INTEGER NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL,"
            " action TEXT NOT NULL, dataset TEXT NOT NULL, record_ids TEXT,"
            " count INTEGER NOT NULL, outcome TEXT NOT NULL,"
            " detail TEXT NOT NULL, prev_mac BLOB NOT NULL,"
            " mac BLOB NOT NULL, format INTEGER NOT NULL DEFAULT 1,"
            " client TEXT NOT NULL DEFAULT '',"
            " request_id TEXT NOT NULL DEFAULT '');"
            "INSERT INTO audit8 SELECT seq, json_extract(body, '$.t'),"
            " json_extract(body, '$.u'), json_extract(body, '$.d'),"
            " json_extract(body, '$.a'), json_extract(body, '$.s'),"
            " record_ids, json_extract(body, '$.n'),"
            " json_extract(body, '$.o'), json_extract(body, '$.x'),"
            " prev_mac, mac, format, json_extract(body, '$.c'),"
            " json_extract(body, '$.r') FROM audit_cols;"
            "DROP VIEW audit_cols;" /* it names the table dropped next */
            "DROP TABLE audit; ALTER TABLE audit8 RENAME TO audit;"
            "ALTER TABLE blind DROP COLUMN chk;" /* added at schema 10 */
            /* added at schema 13 */
            "ALTER TABLE users DROP COLUMN enrol_failures;"
            "ALTER TABLE users DROP COLUMN enrol_locked_until;"
            "PRAGMA user_version = 8;");
    /* Opening it migrates: every old entry keeps its format and verifies. */
    assert_int_equal(store_open(tv->home, 0, &s), 0);
    store_close(s);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_true(vr.entries > 3);
    mamori_set_request("198.51.100.1", "feedface00000000");
    add_some(tv, 2);
    mamori_set_request(NULL, NULL);
    newest(tv, &e);
    assert_string_equal(e.client, "198.51.100.1");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    /* an old entry given a context it never had is caught */
    tampered_at(
        tv,
        "UPDATE audit_cols SET body = json_set(body, '$.c', '203.0.113.9')"
        " WHERE seq = 2",
        2);
    sql(tv,
        "UPDATE audit_cols SET body = json_set(body, '$.c', '') WHERE seq = 2");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    /* a format 2 entry's context is covered */
    tampered_at(
        tv,
        "CREATE TABLE keep AS SELECT body FROM audit_cols WHERE seq = 5;"
        "UPDATE audit_cols SET body = json_set(body, '$.r', 'x') WHERE seq = 5",
        5);
    sql(tv,
        "UPDATE audit_cols SET body = (SELECT body FROM keep) WHERE seq = 5;"
        "DROP TABLE keep");
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    /* an old entry claimed as format 2, or as 3, is caught */
    tampered_at(tv, "UPDATE audit_cols SET format = 2 WHERE seq = 3", 3);
    tampered_at(tv, "UPDATE audit_cols SET format = 3 WHERE seq = 3", 3);
}

/* The stored body: what the encoder writes decodes to the same fields;
 * anything else a hand on the file may leave is refused. */
static void body_encoding(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"t\":1,",
        "{\"t\":1,\"n\":1,\"u\":\"a\",\"d\":\"\",\"a\":\"x\",\"s\":\"\","
        "\"o\":\"ok\",\"x\":\"\",\"c\":\"\"}", /* r missing */
        "{\"t\":1,\"n\":1,\"u\":\"a\",\"u\":\"b\",\"d\":\"\",\"a\":\"x\","
        "\"s\":\"\",\"o\":\"ok\",\"x\":\"\",\"c\":\"\",\"r\":\"\"}", /* u twice
                                                                      */
        "{\"t\":1.5,\"n\":1,\"u\":\"a\",\"d\":\"\",\"a\":\"x\",\"s\":\"\","
        "\"o\":\"ok\",\"x\":\"\",\"c\":\"\",\"r\":\"\"}", /* t not an integer */
        "{\"t\":1,\"n\":1,\"u\":\"a\\u0000b\",\"d\":\"\",\"a\":\"x\","
        "\"s\":\"\",\"o\":\"ok\",\"x\":\"\",\"c\":\"\",\"r\":\"\"}", /* NUL */
        "{\"t\":1,\"n\":1,\"u\":\"a\",\"d\":\"\",\"a\":\"x\",\"s\":\"\","
        "\"o\":\"ok-but-much-too-long\",\"x\":\"\",\"c\":\"\",\"r\":\"\"}",
    };
    struct store_audit_row row, back;
    char body[AUDIT_BODY_MAX];
    size_t n;

    (void)state;
    memset(&row, 0, sizeof row);
    row.time = -5;
    row.count = INT64_MAX;
    snprintf(row.user, sizeof row.user,
             "op\xff\xfe"
             "1"); /* not UTF-8 */
    snprintf(row.device, sizeof row.device, "山田の端末");
    snprintf(row.action, sizeof row.action, "record.get");
    snprintf(row.detail, sizeof row.detail, "a\"b\\c\x01\x7f");
    memset(row.request_id, 'f', sizeof row.request_id - 1);
    n = audit_body_encode(&row, body, sizeof body);
    assert_true(n > 0 && n < sizeof body);
    memset(&back, 0, sizeof back);
    assert_int_equal(audit_body_decode(body, n, &back), 0);
    assert_int_equal(back.time, -5);
    assert_int_equal(back.count, INT64_MAX);
    assert_string_equal(back.user, "op\xef\xbf\xbd\xef\xbf\xbd"
                                   "1");
    assert_string_equal(back.device, row.device);
    assert_string_equal(back.detail, row.detail);
    assert_string_equal(back.request_id, row.request_id);
    assert_string_equal(back.client, "");
    /* A field that lost its NUL is not written. */
    memset(row.outcome, 'o', sizeof row.outcome);
    assert_int_equal(audit_body_encode(&row, body, sizeof body), 0);
    assert_int_equal(audit_body_encode(&back, body, 100), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(audit_body_decode(bad[i], strlen(bad[i]), &back),
                         MAMORI_ETAMPER);
}

/* ---- epochs and transactions ------------------------------------------- */

/* The seq of the log's newest entry (the writer's view). */
static int64_t head_seq(struct tvault *tv)
{
    uint8_t mac[CRYPTO_MAC_LEN];
    int64_t seq = 0;
    assert_int_equal(store_audit_head(tv->m->store, &seq, mac), 0);
    return seq;
}

/* Appends entries in the open gate's transaction, as a long import or
 * export does, until the head is seq to. */
static void append_until(struct tvault *tv, int64_t to)
{
    struct store_audit_row row;

    for (int64_t seq = head_seq(tv); seq < to; seq++) {
        guard_event_row(&row, "admin", "", OP_IMPORT, "ok", "part");
        assert_int_equal(audit_append(tv->m, &row), 0);
    }
}

/* The epoch of the key store's audit key; the key before it is gone. */
static uint64_t stored_epoch(struct tvault *tv)
{
    uint8_t k[CRYPTO_KEY_LEN];
    uint64_t e = 0;

    assert_int_equal(keys_audit_key(tv->m->keys, 100, k, &e), 0);
    if (e > 0)
        assert_int_equal(keys_audit_key(tv->m->keys, e - 1, k, NULL),
                         MAMORI_ESTATE);
    crypto_wipe(k, sizeof k);
    return e;
}

/* A transaction whose entries cross into the next epoch (seq AUDIT_EPOCH +
 * 1 starts it) and is then rolled back leaves the log in the older epoch:
 * the key store must still hold that epoch's key, or every later append
 * fails and the vault refuses everything. */
static void epoch_crossed_then_rolled_back(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;
    struct mamori_audit_entry e;
    struct guard_call c;
    int64_t n;

    assert_true(head_seq(tv) < AUDIT_EPOCH);
    assert_int_equal(guard_begin(&c, tv->admin, OP_USER_LIST, NULL), 0);
    append_until(tv, AUDIT_EPOCH + 3);
    assert_int_equal(guard_end(&c, MAMORI_EIO), MAMORI_EIO);
    assert_true(head_seq(tv) < AUDIT_EPOCH);
    /* the failure was recorded, and the vault goes on */
    newest(tv, &e);
    assert_string_equal(e.action, "user.list");
    assert_string_equal(e.outcome, "error");
    add_some(tv, 1);
    n = head_seq(tv);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_int_equal(vr.entries, n);

    /* twice across and back; then across and committed */
    assert_int_equal(guard_begin(&c, tv->admin, OP_USER_LIST, NULL), 0);
    append_until(tv, 2 * AUDIT_EPOCH + 3);
    assert_int_equal(guard_end(&c, MAMORI_EIO), MAMORI_EIO);
    assert_int_equal(guard_begin(&c, tv->admin, OP_USER_LIST, NULL), 0);
    append_until(tv, AUDIT_EPOCH + 3);
    /* not before the commit */
    assert_int_equal(stored_epoch(tv), 0);
    assert_int_equal(guard_end(&c, 0), 0);
    /* the key store follows the committed log, its older key wiped */
    assert_int_equal(stored_epoch(tv), 1);
    add_some(tv, 1);
    n = head_seq(tv);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_int_equal(vr.entries, n);
}

/* A process that dies between the log's commit and the key store's leaves
 * the store an epoch behind: the next writer derives forward from it, and
 * moves it on with its own commit. */
static void key_store_behind_the_log(void **state)
{
    struct tvault *tv = *state;
    struct mamori_verify_result vr;
    struct guard_call c;
    int64_t n;

    assert_int_equal(guard_begin(&c, tv->admin, OP_USER_LIST, NULL), 0);
    append_until(tv, AUDIT_EPOCH + 3);
    assert_int_equal(guard_end(&c, 0), 0);
    assert_int_equal(stored_epoch(tv), 1);
    assert_int_equal(keys_audit_rewind(tv->m->keys, 0), 0);
    crypto_hmac_key_free(tv->m->audit_key); /* as a new process */
    tv->m->audit_key = NULL;
    assert_int_equal(stored_epoch(tv), 0);
    add_some(tv, 1);
    assert_int_equal(stored_epoch(tv), 1);
    n = head_seq(tv);
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    assert_int_equal(vr.entries, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoint_parser_rejects),
        cmocka_unit_test(body_encoding),
        cmocka_unit_test_setup_teardown(chain_detects_changes, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(unreadable_entry_named, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(format3_entries_verify, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(chain_detects_deletion, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_catches_truncation,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(entries_carry_no_values, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(parallel_verify, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(request_context_is_logged_and_sealed,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(entries_before_the_migration_verify,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(epoch_crossed_then_rolled_back,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(key_store_behind_the_log,
                                        tv_group_setup, tv_group_teardown),
    };
    if (mamori_library_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
