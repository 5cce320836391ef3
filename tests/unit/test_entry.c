/*
 * test_entry.c - verified double entry: two operators' keyings compared
 * after normalisation, the record made only when they agree; who may start,
 * verify, amend and list; expiry with the test clock; nothing in the clear
 * in the file or the audit log.
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

#include "helpers.h"

#define OP2_PW "Second#Keyer-482"
#define OP3_PW "Third#Keyer-9931"
#define VIEW_PW "Just#Looking-2207"

/* The fixture: tv (admin, op1 granted "people", aud1), op2 granted too,
 * op3 an operator without the grant, view a viewer with it. */
struct ev {
    struct tvault tv;
    mamori_sess *op2, *op3, *view;
};

static int ev_setup(void **state)
{
    struct ev *e = calloc(1, sizeof *e);
    mamori_sess *a;

    if (!e || tv_setup(&e->tv) != 0)
        goto fail;
    a = e->tv.admin;
    if (mamori_user_add(a, "op2", "operator", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_user_add(a, "op3", "operator", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_user_add(a, "view1", "viewer", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_dataset_grant(a, "people", "op2") ||
        mamori_dataset_grant(a, "people", "view1"))
        goto fail;
    e->op2 = tv_first_login(&e->tv, "op2", TV_INITIAL_PW, OP2_PW);
    e->op3 = tv_first_login(&e->tv, "op3", TV_INITIAL_PW, OP3_PW);
    e->view = tv_first_login(&e->tv, "view1", TV_INITIAL_PW, VIEW_PW);
    if (!e->op2 || !e->op3 || !e->view)
        goto fail;
    *state = e;
    return 0;
fail:
    free(e);
    return -1;
}

static int ev_teardown(void **state)
{
    struct ev *e = *state;
    mamori_session_close(e->op2);
    mamori_session_close(e->op3);
    mamori_session_close(e->view);
    tv_teardown(&e->tv);
    free(e);
    return 0;
}

static int64_t records(struct ev *e)
{
    struct mamori_dataset_info *d = NULL;
    size_t n = 0;
    int64_t k = -1;
    if (mamori_dataset_list(e->tv.admin, &d, &n) == 0 && n == 1)
        k = d[0].records;
    mamori_dataset_list_free(d, n);
    return k;
}

static size_t pending(mamori_sess *s)
{
    struct mamori_entry_info *info = NULL;
    size_t n = 0;
    assert_int_equal(mamori_entry_list(s, NULL, &info, &n), 0);
    free(info);
    return n;
}

static const char *field(const struct mamori_record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

/* Runs one SQL statement on the vault file directly (a test's tamper). */
static int raw_sql(struct ev *e, const char *sql)
{
    char path[600];
    sqlite3 *db;
    int rc;
    snprintf(path, sizeof path, "%s/vault.db", e->tv.home);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The first column of the first row of a query on the vault file, -1 on
 * error. */
static int64_t raw_count(struct ev *e, const char *sql)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    snprintf(path, sizeof path, "%s/vault.db", e->tv.home);
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* 1 if the bytes of s occur in any file of the vault home. */
static int on_disk(struct ev *e, const char *s)
{
    static const char *const names[] = {"vault.db", "vault.db-wal",
                                        "vault.db-shm", "vault.db-journal"};
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[600];
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", e->tv.home, names[i]);
        f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = len > 0 ? malloc((size_t)len) : NULL;
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len &&
            memmem(buf, (size_t)len, s, strlen(s)))
            found = 1;
        free(buf);
        fclose(f);
    }
    return found;
}

/* ---- the two keyings agree ------------------------------------------------
 */

static void match_creates_record(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    /* The same source keyed two ways: 全角/半角, 和暦/ISO, ひらがな/半角カナ.
     */
    struct mamori_kv first[] = {{"name", "山田　太郎"},
                                {"kana", "やまだ　たろう"},
                                {"birth", "S55.4.1"},
                                {"phone", "０９０ー１２３４ー５６７８"},
                                {"note", ""}};
    struct mamori_kv second[] = {{"phone", "090-1234-5678"},
                                 {"birth", "1980-04-01"},
                                 {"kana", "ﾔﾏﾀﾞ ﾀﾛｳ"},
                                 {"name", "山田 太郎"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[256];
    struct mamori_record *r = NULL;
    int64_t before = records(e);

    assert_int_equal(
        mamori_entry_start(tv->op, "people", first, 5, id, sizeof id), 0);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4'); /* UUID v4 */
    assert_int_equal(records(e), before);
    assert_int_equal(pending(e->op2), 1);

    assert_int_equal(mamori_entry_verify(e->op2, id, second, 4, rid, sizeof rid,
                                         mis, sizeof mis),
                     0);
    assert_int_equal(strlen(rid), 36);
    assert_string_equal(mis, "");
    assert_int_equal(records(e), before + 1);
    assert_int_equal(pending(e->op2), 0);

    assert_int_equal(mamori_record_get(tv->op, "people", rid, &r), 0);
    assert_int_equal(r->n, 4);
    assert_string_equal(field(r, "name"), "山田　太郎");
    assert_string_equal(field(r, "kana"), "ヤマダ　タロウ");
    assert_string_equal(field(r, "birth"), "1980-04-01");
    assert_string_equal(field(r, "phone"), "09012345678");
    assert_null(field(r, "note"));
    mamori_record_free(r);

    /* The entry is gone: a second verify finds nothing. */
    assert_int_equal(
        mamori_entry_verify(e->op2, id, second, 4, rid, sizeof rid, NULL, 0),
        MAMORI_ENOTFOUND);
    assert_int_equal(records(e), before + 1);
}

/* ---- they differ, the first operator corrects, verified again --------- */

static void mismatch_then_amend(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv first[] = {{"name", "佐藤 花子"},
                                {"birth", "1991-02-03"},
                                {"phone", "03-1111-2222"}};
    struct mamori_kv second[] = {
        {"name", "佐藤　花子"}, {"birth", "H3.2.13"}, {"note", "転記"}};
    struct mamori_kv fix[] = {
        {"birth", "1991-02-13"}, {"phone", ""}, {"note", "転記"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1],
        mis[MAMORI_ENTRY_MISMATCH_MAX];
    struct mamori_entry_info *info = NULL;
    struct mamori_record *r = NULL;
    size_t n = 0;
    int64_t before = records(e);

    assert_int_equal(
        mamori_entry_start(tv->op, "people", first, 3, id, sizeof id), 0);
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 3, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EMISMATCH);
    /* Names only, in schema order, never the values. */
    assert_string_equal(mis, "birth,phone,note");
    assert_string_equal(rid, "");
    const char *det = mamori_errdetail(e->op2);
    assert_non_null(strstr(det, "fields that differ: birth, phone, note"));
    assert_null(strstr(det, "1991"));
    assert_null(strstr(det, "03"));
    assert_null(strstr(det, "転記"));
    assert_int_equal(records(e), before);

    assert_int_equal(mamori_entry_list(e->op2, "people", &info, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(info[0].id, id);
    assert_string_equal(info[0].dataset, "people");
    assert_string_equal(info[0].entered_by, "op1");
    assert_int_equal(info[0].mismatches, 1);
    assert_int_equal(info[0].version, 1);
    assert_true(info[0].expires == info[0].created + 72 * 3600);
    free(info);

    /* The first operator corrects: phone cleared, birth fixed, note added. */
    assert_int_equal(mamori_entry_amend(tv->op, id, fix, 3), 0);
    assert_int_equal(mamori_entry_list(tv->op, NULL, &info, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].version, 2);
    assert_int_equal(info[0].mismatches, 1);
    free(info);

    assert_int_equal(mamori_entry_verify(e->op2, id, second, 3, rid, sizeof rid,
                                         mis, sizeof mis),
                     0);
    assert_int_equal(records(e), before + 1);
    assert_int_equal(mamori_record_get(e->op2, "people", rid, &r), 0);
    assert_string_equal(field(r, "birth"), "1991-02-13");
    assert_string_equal(field(r, "name"), "佐藤　花子");
    assert_string_equal(field(r, "note"), "転記");
    assert_null(field(r, "phone"));
    mamori_record_free(r);
}

/* After MAMORI_ENTRY_TRIES failed verifications of a version, only an
 * amendment re-opens it: the comparison is no guessing oracle. */
static void tries_are_limited(void **state)
{
    struct ev *e = *state;
    struct mamori_kv first[] = {{"name", "高橋 一郎"}, {"birth", "1970-01-01"}};
    struct mamori_kv guess[] = {{"name", "高橋 一郎"}, {"birth", "1970-01-02"}};
    struct mamori_kv same[] = {{"birth", "1970-01-01"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[64];
    int64_t before = records(e);

    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", first, 2, id, sizeof id), 0);
    for (int i = 0; i < MAMORI_ENTRY_TRIES; i++)
        assert_int_equal(mamori_entry_verify(e->op2, id, guess, 2, rid,
                                             sizeof rid, mis, sizeof mis),
                         MAMORI_EMISMATCH);
    /* Even the right values are refused now, and name nothing. */
    assert_int_equal(mamori_entry_verify(e->op2, id, first, 2, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_ESTATE);
    assert_string_equal(mis, "");
    assert_non_null(strstr(mamori_errdetail(e->op2), "amend"));
    /* The first operator confirms the value: verifiable again. */
    assert_int_equal(mamori_entry_amend(e->tv.op, id, same, 1), 0);
    assert_int_equal(mamori_entry_verify(e->op2, id, first, 2, rid, sizeof rid,
                                         mis, sizeof mis),
                     0);
    assert_int_equal(records(e), before + 1);
}

/* ---- who may do what -------------------------------------------------- */

static void same_operator_refused(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv kv[] = {{"name", "鈴木 次郎"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[64];
    int64_t before = records(e);

    assert_int_equal(mamori_entry_start(tv->op, "people", kv, 1, id, sizeof id),
                     0);
    snprintf(mis, sizeof mis, "untouched");
    assert_int_equal(mamori_entry_verify(tv->op, id, kv, 1, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EDENIED);
    assert_string_equal(mis, "");
    assert_int_equal(records(e), before);
    assert_int_equal(pending(tv->op), 1);
    /* Amending does not make the first operator a second one. */
    assert_int_equal(mamori_entry_amend(tv->op, id, kv, 1), 0);
    assert_int_equal(mamori_entry_verify(tv->op, id, kv, 1, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EDENIED);
    assert_int_equal(records(e), before);
    /* Nor may another operator amend it. */
    assert_int_equal(mamori_entry_amend(e->op2, id, kv, 1), MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(e->op2), "only the operator"));
}

static void roles_and_grants(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv kv[] = {{"name", "伊藤 三郎"}};
    char id[MAMORI_ID_LEN + 1], other[MAMORI_ID_LEN + 1],
        rid[MAMORI_ID_LEN + 1];
    struct mamori_entry_info *info = NULL;
    size_t n = 0;
    int64_t before = records(e);

    /* Only granted operators start. */
    assert_int_equal(
        mamori_entry_start(e->op3, "people", kv, 1, other, sizeof other),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_start(e->view, "people", kv, 1, other, sizeof other),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_start(tv->aud, "people", kv, 1, other, sizeof other),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_start(tv->admin, "people", kv, 1, other, sizeof other),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_start(tv->op, "nosuch", kv, 1, other, sizeof other),
        MAMORI_ENOTFOUND);
    assert_int_equal(mamori_entry_start(tv->op, "people", kv, 1, id, sizeof id),
                     0);
    /* Only granted operators verify. */
    assert_int_equal(
        mamori_entry_verify(e->op3, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_verify(e->view, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_verify(tv->aud, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EDENIED);
    assert_int_equal(
        mamori_entry_verify(tv->admin, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EDENIED);
    assert_int_equal(mamori_entry_amend(e->op3, id, kv, 1), MAMORI_EDENIED);
    assert_int_equal(records(e), before);

    /* Lists: the auditor sees all, operators their datasets' entries. */
    assert_int_equal(mamori_entry_list(tv->aud, NULL, &info, &n), 0);
    assert_int_equal(n, 1);
    free(info);
    assert_int_equal(mamori_entry_list(e->op3, NULL, &info, &n), 0);
    assert_int_equal(n, 0);
    free(info);
    assert_int_equal(mamori_entry_list(e->op3, "people", &info, &n),
                     MAMORI_EDENIED);
    assert_null(info);
    assert_int_equal(mamori_entry_list(e->view, NULL, &info, &n),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_entry_list(tv->admin, NULL, &info, &n),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_entry_list(tv->aud, "nosuch", &info, &n),
                     MAMORI_ENOTFOUND);
    /* A revoked grant ends the operator's part. */
    assert_int_equal(mamori_dataset_revoke(tv->admin, "people", "op2"), 0);
    assert_int_equal(
        mamori_entry_verify(e->op2, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EDENIED);
    assert_int_equal(mamori_entry_list(e->op2, NULL, &info, &n), 0);
    assert_int_equal(n, 0);
    free(info);
    assert_int_equal(records(e), before);
}

/* ---- bad input -------------------------------------------------------- */

static void invalid_values(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv bad_date[] = {{"name", "木村 四郎"},
                                   {"birth", "2024-13-45"}};
    struct mamori_kv bad_name[] = {{"nosuchfield", "x"}};
    struct mamori_kv twice[] = {{"name", "a"}, {"name", "b"}};
    struct mamori_kv empty[] = {{"name", ""}};
    struct mamori_kv nulls[] = {{"name", NULL}};
    struct mamori_kv good[] = {{"name", "木村 四郎"}};
    struct mamori_kv bad_phone[] = {{"name", "木村 四郎"},
                                    {"phone", "12ab-ﾃｽﾄ"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[64];
    struct mamori_entry_info *info = NULL;
    size_t n = 0;

    assert_int_equal(
        mamori_entry_start(tv->op, "people", bad_date, 2, id, sizeof id),
        MAMORI_EINVAL);
    assert_string_equal(id, "");
    assert_non_null(strstr(mamori_errdetail(tv->op), "birth"));
    assert_null(strstr(mamori_errdetail(tv->op), "2024-13"));
    assert_int_equal(
        mamori_entry_start(tv->op, "people", bad_name, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "no such field"));
    assert_int_equal(
        mamori_entry_start(tv->op, "people", twice, 2, id, sizeof id),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", empty, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", nulls, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", NULL, 0, id, sizeof id),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", NULL, 2, id, sizeof id),
        MAMORI_EINVAL);
    assert_int_equal(mamori_entry_start(tv->op, "people", good, 1, id, 10),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_entry_start(tv->op, "people", good, 1, NULL, 37),
                     MAMORI_EINVAL);
    assert_int_equal(pending(tv->op), 0);

    /* An oversized value is refused, not stored. */
    size_t big = 256 * 1024;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'A', big);
    huge[big] = '\0';
    struct mamori_kv hostile[] = {{"name", huge}};
    assert_int_not_equal(
        mamori_entry_start(tv->op, "people", hostile, 1, id, sizeof id), 0);
    free(huge);
    assert_int_equal(pending(tv->op), 0);

    /* The second keying is validated too; a bad one is no mismatch. */
    assert_int_equal(
        mamori_entry_start(tv->op, "people", good, 1, id, sizeof id), 0);
    assert_int_equal(mamori_entry_verify(e->op2, id, bad_phone, 2, rid,
                                         sizeof rid, mis, sizeof mis),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(e->op2), "phone"));
    assert_null(strstr(mamori_errdetail(e->op2), "ﾃｽﾄ"));
    assert_int_equal(mamori_entry_verify(e->op2, id, NULL, 0, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_entry_verify(e->op2, id, empty, 1, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_entry_amend(tv->op, id, bad_date, 2),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_entry_amend(tv->op, id, NULL, 0), MAMORI_EINVAL);
    /* Clearing every field would leave nothing to verify. */
    assert_int_equal(mamori_entry_amend(tv->op, id, empty, 1), MAMORI_EINVAL);
    assert_int_equal(mamori_entry_list(tv->op, NULL, &info, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].mismatches, 0);
    assert_int_equal(info[0].version, 1);
    free(info);
}

static void unknown_and_malformed_ids(void **state)
{
    struct ev *e = *state;
    struct mamori_kv kv[] = {{"name", "中村 五郎"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], upper[40];
    char long_id[300];
    static const char *const bad[] = {"",
                                      "not-an-id",
                                      "00000000-0000-4000-8000-00000000000",
                                      "00000000-0000-4000-8000-0000000000000",
                                      "0000000g-0000-4000-8000-000000000000",
                                      "00000000+0000-4000-8000-000000000000",
                                      "'; DROP TABLE entries; --"};

    assert_int_equal(mamori_entry_verify(e->op2,
                                         "00000000-0000-4000-8000-000000000000",
                                         kv, 1, rid, sizeof rid, NULL, 0),
                     MAMORI_ENOTFOUND);
    assert_non_null(strstr(mamori_errdetail(e->op2), "no pending entry"));
    assert_int_equal(mamori_entry_amend(e->tv.op,
                                        "00000000-0000-4000-8000-000000000000",
                                        kv, 1),
                     MAMORI_ENOTFOUND);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mamori_entry_verify(e->op2, bad[i], kv, 1, rid,
                                             sizeof rid, NULL, 0),
                         MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(e->op2), "entry id"));
        assert_int_equal(mamori_entry_amend(e->tv.op, bad[i], kv, 1),
                         MAMORI_EINVAL);
    }
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(
        mamori_entry_verify(e->op2, long_id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_verify(e->op2, NULL, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_verify(NULL, long_id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_ESESSION);
    /* Upper case names the same entry. */
    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", kv, 1, id, sizeof id), 0);
    for (size_t i = 0; i <= strlen(id); i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    assert_int_equal(
        mamori_entry_verify(e->op2, upper, kv, 1, rid, 10, NULL, 0),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_entry_verify(e->op2, upper, kv, 1, rid, sizeof rid, NULL, 0), 0);
}

/* ---- secrecy ---------------------------------------------------------- */

static void nothing_in_the_clear(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv first[] = {{"name", "Qzxvynthetic Person"},
                                {"note", "SYNTH-NOTE-58213-ZQ"},
                                {"birth", "1966-06-16"}};
    struct mamori_kv second[] = {{"name", "Qzxvynthetic Person"},
                                 {"note", "SYNTH-NOTE-58213-ZX"},
                                 {"birth", "1966-06-16"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[64];
    struct mamori_audit_entry *a = NULL;
    size_t n = 0, seen_start = 0, seen_mismatch = 0, seen_verify = 0;

    assert_int_equal(
        mamori_entry_start(tv->op, "people", first, 3, id, sizeof id), 0);
    /* The search works: what is stored in the clear (the entry's id, the
     * audit entry's action) is found. */
    assert_true(on_disk(e, id));
    assert_true(on_disk(e, "entry.start"));
    assert_false(on_disk(e, "SYNTH-NOTE-58213"));
    assert_false(on_disk(e, "Qzxvynthetic"));
    assert_false(on_disk(e, "1966-06-16"));
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 3, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EMISMATCH);
    assert_string_equal(mis, "note");
    assert_int_equal(mamori_entry_amend(tv->op, id, second + 1, 1), 0);
    assert_false(on_disk(e, "SYNTH-NOTE-58213"));
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 3, rid, sizeof rid,
                                         mis, sizeof mis),
                     0);
    /* The record too is ciphertext only. */
    assert_false(on_disk(e, "SYNTH-NOTE-58213"));
    assert_false(on_disk(e, "Qzxvynthetic"));

    /* The audit log names entries and records, never a value. */
    assert_int_equal(mamori_audit_show(tv->aud, 0, &a, &n), 0);
    for (size_t i = 0; i < n; i++) {
        const char *ids = a[i].record_ids ? a[i].record_ids : "";
        assert_null(strstr(a[i].detail, "SYNTH"));
        assert_null(strstr(a[i].detail, "Qzxv"));
        assert_null(strstr(a[i].detail, "1966"));
        assert_null(strstr(ids, "SYNTH"));
        if (strncmp(a[i].action, "entry.", 6) != 0)
            continue;
        assert_non_null(strstr(a[i].detail, id));
        assert_string_equal(a[i].dataset, "people");
        if (strcmp(a[i].action, "entry.start") == 0) {
            assert_string_equal(a[i].user, "op1");
            assert_string_equal(a[i].outcome, "ok");
            seen_start++;
        } else if (strcmp(a[i].action, "entry.verify") == 0 &&
                   strcmp(a[i].outcome, "ok") != 0) {
            assert_non_null(strstr(a[i].detail, "fields differ: note"));
            seen_mismatch++;
        } else if (strcmp(a[i].action, "entry.verify") == 0) {
            assert_string_equal(a[i].user, "op2");
            assert_string_equal(ids, rid);
            assert_int_equal(a[i].count, 1);
            seen_verify++;
        }
    }
    assert_int_equal(seen_start, 1);
    assert_int_equal(seen_mismatch, 1);
    assert_int_equal(seen_verify, 1);
    mamori_audit_entries_free(a, n);
    /* The chain still verifies. */
    struct mamori_verify_result res;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &res), 0);
}

/* The ciphertext is bound to the operator who keyed it: changing the
 * column to let them verify their own keying breaks the seal. */
static void binding_to_keyer(void **state)
{
    struct ev *e = *state;
    struct mamori_kv kv[] = {{"name", "小林 六郎"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], sql[256];
    int64_t before = records(e);

    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", kv, 1, id, sizeof id), 0);
    snprintf(sql, sizeof sql,
             "UPDATE entries SET entered_by = (SELECT id FROM users WHERE "
             "name = 'op2') WHERE id = '%s'",
             id);
    assert_int_equal(raw_sql(e, sql), 0);
    assert_int_equal(
        mamori_entry_verify(e->tv.op, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_ECRYPTO);
    snprintf(sql, sizeof sql, "UPDATE entries SET version = 7 WHERE id = '%s'",
             id);
    assert_int_equal(raw_sql(e, sql), 0);
    assert_int_equal(
        mamori_entry_verify(e->tv.op, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_ECRYPTO);
    assert_int_equal(records(e), before);
}

/* ---- My Numbers --------------------------------------------------------- */

static void mynumber_rules(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv kv[] = {{"name", "加藤 七子"},
                             {"mynumber", "123456789018"}};
    struct mamori_kv second[] = {{"name", "加藤　七子"},
                                 {"mynumber", "１２３４５６７８９０１８"}};
    struct mamori_kv plain[] = {{"name", "加藤 七子"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[64];
    struct mamori_record *r = NULL;
    int64_t before = records(e);

    /* Not a handler: may not enter one. */
    assert_int_equal(mamori_entry_start(tv->op, "people", kv, 2, id, sizeof id),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->op), "mynumber"));
    assert_int_equal(pending(tv->op), 0);
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1",
                                                MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(mamori_entry_start(tv->op, "people", kv, 2, id, sizeof id),
                     0);
    /* A verifier who is not a handler can neither key it nor leave it out. */
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 2, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_entry_verify(e->op2, id, plain, 1, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(e->op2), "My Number"));
    assert_int_equal(records(e), before);
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op2",
                                                MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 2, rid, sizeof rid,
                                         mis, sizeof mis),
                     0);
    assert_int_equal(mamori_record_get(e->op2, "people", rid, &r), 0);
    assert_string_equal(field(r, "mynumber"), "123456789018");
    mamori_record_free(r);
    /* A wrong check digit is a rule, named without the value. */
    struct mamori_kv badmn[] = {{"mynumber", "123456789012"}};
    assert_int_equal(
        mamori_entry_start(tv->op, "people", badmn, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_null(strstr(mamori_errdetail(tv->op), "123456789012"));
    /* A handler's entry without a My Number: clearing one is handling. */
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1", 0),
                     0);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", plain, 1, id, sizeof id), 0);
    struct mamori_kv clear[] = {{"mynumber", ""}};
    assert_int_equal(mamori_entry_amend(tv->op, id, clear, 1), MAMORI_EDENIED);
}

/* ---- expiry ----------------------------------------------------------- */

static void expiry_wipes_and_audits(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    struct mamori_kv kv[] = {{"name", "渡辺 八郎"}};
    char id[MAMORI_ID_LEN + 1], keep[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1];
    struct mamori_audit_entry *a = NULL;
    size_t n = 0;
    int found = 0;

    assert_int_equal(mamori_config_set(tv->admin, "entry.expire_hours", "1"),
                     0);
    assert_int_equal(mamori_entry_start(tv->op, "people", kv, 1, id, sizeof id),
                     0);
    /* 59 minutes on, another entry; 2 minutes later only the first is
     * past its hour. (Sessions idle out: everybody logs in again.) */
    tv_clock_set(tv_clock() + 59 * 60);
    mamori_session_close(tv->op);
    tv->op = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(tv->op);
    assert_int_equal(
        mamori_entry_start(tv->op, "people", kv, 1, keep, sizeof keep), 0);
    tv_clock_set(tv_clock() + 2 * 60);
    mamori_session_close(e->op2);
    e->op2 = tv_login(tv, "op2", OP2_PW);
    assert_non_null(e->op2);
    assert_int_equal(
        mamori_entry_verify(e->op2, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_ENOTFOUND);
    assert_int_equal(pending(e->op2), 1);

    mamori_session_close(tv->aud);
    tv->aud = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(tv->aud);
    assert_int_equal(mamori_audit_show(tv->aud, 0, &a, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].action, "entry.expire") != 0)
            continue;
        found++;
        assert_string_equal(a[i].dataset, "people");
        assert_int_equal(a[i].count, 1);
        assert_string_equal(a[i].record_ids, id);
        assert_string_equal(a[i].outcome, "ok");
        assert_non_null(strstr(a[i].detail, "expired"));
    }
    assert_int_equal(found, 1);
    mamori_audit_entries_free(a, n);

    /* The row is gone from the file, not just hidden. */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM entries WHERE id = '%s'",
             id);
    assert_int_equal(raw_count(e, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM entries WHERE id = '%s'",
             keep);
    assert_int_equal(raw_count(e, sql), 1);
    /* The second one goes an hour after it was started. */
    tv_clock_set(tv_clock() + 60 * 60);
    mamori_session_close(e->op2);
    e->op2 = tv_login(tv, "op2", OP2_PW);
    assert_non_null(e->op2);
    assert_int_equal(pending(e->op2), 0);
}

/* ---- fail closed ------------------------------------------------------ */

static void audit_failure_stores_nothing(void **state)
{
    struct ev *e = *state;
    struct mamori_kv kv[] = {{"name", "山本 九郎"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1];
    int64_t before = records(e);

    mamori_test_fail_audit(e->tv.m, 1);
    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", kv, 1, id, sizeof id),
        MAMORI_EAUDIT);
    assert_string_equal(id, "");
    mamori_test_fail_audit(e->tv.m, 0);
    assert_int_equal(pending(e->tv.op), 0);
    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", kv, 1, id, sizeof id), 0);
    mamori_test_fail_audit(e->tv.m, 1);
    assert_int_equal(
        mamori_entry_verify(e->op2, id, kv, 1, rid, sizeof rid, NULL, 0),
        MAMORI_EAUDIT);
    assert_string_equal(rid, "");
    mamori_test_fail_audit(e->tv.m, 0);
    assert_int_equal(records(e), before);
    assert_int_equal(pending(e->tv.op), 1);
}

/* A long mismatch list is cut at a name, never inside one. */
static void mismatch_list_is_cut(void **state)
{
    struct ev *e = *state;
    struct mamori_kv first[] = {{"name", "a"}, {"kana", "ア"}, {"note", "x"}};
    struct mamori_kv second[] = {{"phone", "0311112222"}};
    char id[MAMORI_ID_LEN + 1], rid[MAMORI_ID_LEN + 1], mis[12];

    assert_int_equal(
        mamori_entry_start(e->tv.op, "people", first, 3, id, sizeof id), 0);
    assert_int_equal(mamori_entry_verify(e->op2, id, second, 1, rid, sizeof rid,
                                         mis, sizeof mis),
                     MAMORI_EMISMATCH);
    /* "name,kana,phone,note" does not fit 12 bytes: cut after a name, with
     * room kept for ",...". */
    assert_string_equal(mis, "name,...");
}

/* A verified entry makes a record as record add does: not a second one
 * with a record key that is taken; the entry stays for amending. */
static void key_of_another_record(void **state)
{
    struct ev *e = *state;
    struct tvault *tv = &e->tv;
    static const struct mamori_field_def fields[] = {{"empno", "text", 1, 1},
                                                     {"name", "name", 1, 0}};
    struct mamori_dataset_def d = {"staff", "テスト商事", "人事",
                                   NULL,    fields,       2};
    struct mamori_kv one[] = {{"empno", "E001"}, {"name", "山田　太郎"}};
    struct mamori_kv two[] = {{"empno", "ｅ００１"}, {"name", "佐藤　花子"}};
    char rid[MAMORI_ID_LEN + 1], id[MAMORI_ID_LEN + 1];

    assert_int_equal(mamori_dataset_create(tv->admin, &d), 0);
    assert_int_equal(mamori_dataset_grant(tv->admin, "staff", "op1"), 0);
    assert_int_equal(mamori_dataset_grant(tv->admin, "staff", "op2"), 0);
    assert_int_equal(
        mamori_record_add(tv->op, "staff", one, 2, rid, sizeof rid), 0);
    assert_int_equal(mamori_entry_start(tv->op, "staff", two, 2, id, sizeof id),
                     0);
    assert_int_equal(
        mamori_entry_verify(e->op2, id, two, 2, rid, sizeof rid, NULL, 0),
        MAMORI_EEXIST);
    assert_non_null(strstr(mamori_errdetail(e->op2), "empno"));
    assert_int_equal(pending(e->op2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_of_another_record, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(match_creates_record, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(mismatch_then_amend, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(tries_are_limited, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(same_operator_refused, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(roles_and_grants, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(invalid_values, ev_setup, ev_teardown),
        cmocka_unit_test_setup_teardown(unknown_and_malformed_ids, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(nothing_in_the_clear, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(binding_to_keyer, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(mynumber_rules, ev_setup, ev_teardown),
        cmocka_unit_test_setup_teardown(expiry_wipes_and_audits, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(audit_failure_stores_nothing, ev_setup,
                                        ev_teardown),
        cmocka_unit_test_setup_teardown(mismatch_list_is_cut, ev_setup,
                                        ev_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
