/*
 * test_vault.c - datasets, records, encryption binding, blind-index search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "crypto.h"
#include "helpers.h"
#include "i18n.h"
#include "vault.h"

static void schema_roundtrip(void **state)
{
    (void)state;
    struct vault_ds d, e;
    char text[4096], again[4096];
    memset(&d, 0, sizeof d);
    assert_int_equal(
        vault_schema_parse("v1;bits=18;name:name:s;birth:date;tel:phone:s", &d),
        0);
    assert_int_equal(d.nfields, 3);
    assert_int_equal(d.index_bits, 18);
    assert_string_equal(d.fields[1].name, "birth");
    assert_int_equal(d.fields[1].type, FT_DATE);
    assert_true(d.fields[2].searchable);
    assert_false(d.fields[1].searchable);
    assert_int_equal(vault_schema_format(&d, text, sizeof text), 0);
    assert_string_equal(text, "v1;bits=18;name:name:s;birth:date;tel:phone:s");
    memset(&e, 0, sizeof e);
    assert_int_equal(vault_schema_parse(text, &e), 0);
    assert_int_equal(vault_schema_format(&e, again, sizeof again), 0);
    assert_string_equal(text, again);
}

static void schema_hostile(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "v2;bits=18;a:text",
        "v1;bits=0;a:text",
        "v1;bits=33;a:text",
        "v1;bits=18",
        "v1;bits=18;",
        "v1;bits=18;A:text",
        "v1;bits=18;a:nope",
        "v1;bits=18;a:text:x",
        "v1;bits=18;a",
        "v1;bits=18;:text",
        "v1;bits=999999999999;a:text",
        "v1;bits=18;a:texttexttexttexttext",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct vault_ds d;
        memset(&d, 0, sizeof d);
        assert_int_not_equal(vault_schema_parse(bad[i], &d), 0);
    }
}

static void rid_roundtrip(void **state)
{
    (void)state;
    uint8_t rid[16], back[16];
    char text[37];
    for (int i = 0; i < 16; i++)
        rid[i] = (uint8_t)(i * 17);
    vault_rid_format(rid, text);
    assert_string_equal(text, "00112233-4455-6677-8899-aabbccddeeff");
    assert_int_equal(vault_rid_parse(text, back), 0);
    assert_memory_equal(rid, back, 16);
    assert_int_not_equal(
        vault_rid_parse("00112233-4455-6677-8899-aabbccddeef", back), 0);
    assert_int_not_equal(
        vault_rid_parse("00112233+4455-6677-8899-aabbccddeeff", back), 0);
    assert_int_not_equal(
        vault_rid_parse("0011223g-4455-6677-8899-aabbccddeeff", back), 0);
    assert_int_not_equal(vault_rid_parse("", back), 0);
    assert_int_not_equal(vault_rid_parse(NULL, back), 0);
}

/* An index entry's check fits the value and record it was made for, and
 * nothing else; the stored bytes differ between records of one value. */
static void index_check(void **state)
{
    struct vault_ds d;
    struct vault_probe v, w;
    uint8_t k1[CRYPTO_KEY_LEN], k2[CRYPTO_KEY_LEN], ra[16], rb[16];
    uint8_t ca[VAULT_CHECK_LEN], cb[VAULT_CHECK_LEN], bad[VAULT_CHECK_LEN];
    (void)state;

    memset(&d, 0, sizeof d);
    assert_int_equal(vault_schema_parse("v1;bits=18;tel:phone:s", &d), 0);
    crypto_random(k1, sizeof k1);
    crypto_random(k2, sizeof k2);
    d.fields[0].index_key = crypto_hmac_key_new(k1, sizeof k1);
    d.fields[0].check_key = crypto_hmac_key_new(k2, sizeof k2);
    assert_non_null(d.fields[0].index_key);
    assert_non_null(d.fields[0].check_key);
    crypto_random(ra, sizeof ra);
    crypto_random(rb, sizeof rb);

    vault_probe_make(&d, &d.fields[0], "09012345678", 11, &v);
    vault_probe_make(&d, &d.fields[0], "09012345679", 11, &w);
    assert_int_equal(v.maclen, 3);
    assert_int_equal(v.mac[2] & 0x3F, 0); /* 18 bits kept */
    vault_probe_seal(&v, ra, ca);
    vault_probe_seal(&v, rb, cb);
    assert_memory_equal(ca, ra, 8); /* the nonce: the record id's start */
    assert_int_equal(vault_probe_keep(&v, ca, sizeof ca), 1);
    assert_int_equal(vault_probe_keep(&v, cb, sizeof cb), 1);
    /* Same value, other record: the stored check differs. */
    assert_memory_not_equal(ca + 8, cb + 8, 4);
    assert_memory_not_equal(ca + 8, v.check, 4);
    /* Another value does not fit, nor does any altered byte. */
    assert_int_equal(vault_probe_keep(&w, ca, sizeof ca), 0);
    for (size_t i = 0; i < sizeof ca; i++) {
        memcpy(bad, ca, sizeof bad);
        bad[i] ^= 0x01;
        assert_int_equal(vault_probe_keep(&v, bad, sizeof bad), 0);
    }
    /* Entries without a check (older vaults) are always read. */
    assert_int_equal(vault_probe_keep(&w, NULL, 0), 1);
    assert_int_equal(vault_probe_keep(&w, ca, sizeof ca - 1), 1);
    crypto_hmac_key_free(d.fields[0].index_key);
    crypto_hmac_key_free(d.fields[0].check_key);
}

static const char *field(const struct mamori_record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

/* Runs sql straight on the file: the count of its one row, or the rows
 * changed when it returns none. */
static int raw_sql(struct tvault *tv, const char *sql)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;
    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
        else if (r == SQLITE_DONE)
            n = sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Rows of the blind index, read straight from the file. */
static int blind_rows(struct tvault *tv)
{
    return raw_sql(tv, "SELECT count(*) FROM blind");
}

/* The fixture's operator enters My Numbers here: a designated handler. */
static void make_handler(struct tvault *tv)
{
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1",
                                                MAMORI_GRANT_HANDLER),
                     0);
}

static void records_crud(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv kv[] = {{"name", "山田　太郎"},
                             {"kana", "やまだ　たろう"},
                             {"birth", "S55.4.1"},
                             {"phone", "０９０ー１２３４ー５６７８"},
                             {"mynumber", "123456789018"}};
    char id[MAMORI_ID_LEN + 1], id2[MAMORI_ID_LEN + 1];
    struct mamori_record *r = NULL, **rs = NULL;
    size_t n = 0;

    make_handler(tv);
    assert_int_equal(mamori_record_add(tv->op, "people", kv, 5, id, sizeof id),
                     0);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(
        mamori_record_add(tv->op, "people", kv, 1, id2, sizeof id2), 0);
    assert_string_not_equal(id, id2);

    assert_int_equal(mamori_record_get(tv->op, "people", id, &r), 0);
    assert_string_equal(field(r, "birth"), "1980-04-01");
    assert_string_equal(field(r, "kana"), "ヤマダ　タロウ");
    assert_string_equal(field(r, "mynumber"), "123456789018");
    assert_false(r->masked);
    assert_int_equal(r->version, 1);
    assert_null(field(r, "note"));
    mamori_record_free(r);

    assert_int_equal(
        mamori_record_search(tv->op, "people", "kana", "ﾔﾏﾀﾞ ﾀﾛｳ", &rs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, id);
    mamori_record_array_free(rs, n);
    assert_int_equal(mamori_record_search(tv->op, "people", "phone",
                                          "090-1234-5678", &rs, &n),
                     0);
    assert_int_equal(n, 1);
    mamori_record_array_free(rs, n);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "山田太郎", &rs, &n), 0);
    assert_int_equal(n, 2);
    mamori_record_array_free(rs, n);
    /* not searchable */
    assert_int_equal(
        mamori_record_search(tv->op, "people", "birth", "1980-04-01", &rs, &n),
        MAMORI_EINVAL);

    struct mamori_kv up[] = {{"phone", "080-1111-2222"}, {"note", "メモ"}};
    assert_int_equal(mamori_record_update(tv->op, "people", id, up, 2), 0);
    assert_int_equal(mamori_record_get(tv->op, "people", id, &r), 0);
    assert_int_equal(r->version, 2);
    assert_string_equal(field(r, "phone"), "08011112222");
    assert_string_equal(field(r, "note"), "メモ");
    assert_string_equal(field(r, "name"), "山田　太郎");
    mamori_record_free(r);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "phone", "09012345678", &rs, &n),
        0);
    assert_int_equal(n, 0);
    mamori_record_array_free(rs, n);

    /* several lookups in one call */
    const char *vals[] = {"ヤマダタロウ", "スズキ", "やまだ　たろう"};
    size_t first[4];
    assert_int_equal(mamori_record_search_many(tv->op, "people", "kana", vals,
                                               3, &rs, &n, first),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(first[0], 0);
    assert_int_equal(first[1], 1);
    assert_int_equal(first[2], 1);
    assert_int_equal(first[3], 2);
    assert_string_equal(rs[0]->id, id);
    assert_string_equal(rs[1]->id, id);
    mamori_record_array_free(rs, n);
    const char *bad[] = {"ヤマダ", ""};
    assert_int_equal(mamori_record_search_many(tv->op, "people", "kana", bad, 2,
                                               &rs, &n, first),
                     MAMORI_EINVAL);
    assert_null(rs);

    /* id has name, kana, phone indexed; id2 only name */
    assert_int_equal(blind_rows(tv), 4);
    assert_int_equal(mamori_record_delete(tv->op, "people", id2), 0);
    assert_int_equal(blind_rows(tv), 3);
    assert_int_equal(mamori_record_get(tv->op, "people", id2, &r),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_record_delete(tv->op, "people", id2),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_record_get(tv->op, "people", "not-an-id", &r),
                     MAMORI_EINVAL);
}

/* A dataset's record key (--key): no two records share one, whatever the
 * width or form it was typed in; an incomplete key identifies nothing; a
 * record needs a value at all. */
static void record_key_and_empty_records(void **state)
{
    struct tvault *tv = *state;
    static const struct mamori_field_def fields[] = {{"empno", "text", 1, 1},
                                                     {"name", "name", 1, 0},
                                                     {"note", "text", 0, 0}};
    struct mamori_dataset_def d = {"staff", "テスト商事", "人事",
                                   NULL,    fields,       3};
    struct mamori_kv e001[] = {{"empno", "E001"}, {"name", "山田　太郎"}};
    struct mamori_kv wide[] = {{"empno", "Ｅ００１"}, {"name", "佐藤　花子"}};
    struct mamori_kv e002[] = {{"empno", "E002"}, {"name", "佐藤　花子"}};
    struct mamori_kv to_e001[] = {{"empno", "e001"}};
    struct mamori_kv same[] = {{"empno", "E001"}, {"note", "x"}};
    struct mamori_kv nokey[] = {{"name", "鈴木　一郎"}};
    struct mamori_kv empty[] = {{"name", ""}, {"note", ""}};
    struct mamori_kv clear[] = {{"empno", ""}, {"name", ""}};
    char id1[MAMORI_ID_LEN + 1], id2[MAMORI_ID_LEN + 1], id3[MAMORI_ID_LEN + 1];
    struct mamori_record *r = NULL;

    assert_int_equal(mamori_dataset_create(tv->admin, &d), 0);
    assert_int_equal(mamori_dataset_grant(tv->admin, "staff", "op1"), 0);
    assert_int_equal(
        mamori_record_add(tv->op, "staff", e001, 2, id1, sizeof id1), 0);
    assert_int_equal(
        mamori_record_add(tv->op, "staff", wide, 2, id2, sizeof id2),
        MAMORI_EEXIST);
    assert_non_null(strstr(mamori_errdetail(tv->op), "empno"));
    assert_null(strstr(mamori_errdetail(tv->op), "E001"));
    assert_int_equal(
        mamori_record_add(tv->op, "staff", e002, 2, id2, sizeof id2), 0);
    /* an update may not take another record's key; its own is kept */
    assert_int_equal(mamori_record_update(tv->op, "staff", id2, to_e001, 1),
                     MAMORI_EEXIST);
    assert_int_equal(mamori_record_update(tv->op, "staff", id1, same, 2), 0);
    assert_int_equal(mamori_record_get(tv->op, "staff", id2, &r), 0);
    assert_string_equal(r->fields[0].value, "E002");
    mamori_record_free(r);
    /* no key value: nothing to compare, both are kept */
    assert_int_equal(
        mamori_record_add(tv->op, "staff", nokey, 1, id3, sizeof id3), 0);
    assert_int_equal(
        mamori_record_add(tv->op, "staff", nokey, 1, id3, sizeof id3), 0);
    /* a record with no value at all is no record */
    assert_int_equal(
        mamori_record_add(tv->op, "staff", empty, 2, id3, sizeof id3),
        MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "no field has a value"));
    assert_int_equal(mamori_record_update(tv->op, "staff", id2, clear, 2),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_record_get(tv->op, "staff", id2, &r), 0);
    assert_string_equal(r->fields[0].value, "E002");
    mamori_record_free(r);
}

static void bad_value_changes_nothing(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv kv[] = {{"name", "佐藤 花子"},
                             {"mynumber", "123456789010"}};
    struct mamori_dataset_info *ds = NULL;
    size_t n = 0;
    char id[MAMORI_ID_LEN + 1];

    make_handler(tv);
    assert_int_equal(mamori_dataset_list(tv->op, &ds, &n), 0);
    int64_t before = ds[0].records;
    mamori_dataset_list_free(ds, n);

    assert_int_equal(mamori_record_add(tv->op, "people", kv, 2, id, sizeof id),
                     MAMORI_EINVAL);
    const char *d = mamori_errdetail(tv->op);
    assert_non_null(strstr(d, "mynumber"));
    assert_non_null(strstr(d, "check digit"));
    assert_null(strstr(d, "123456789010"));
    /* a name pasted with a zero-width space looks right: the rule says
     * what is wrong, and names the field, never the value */
    struct mamori_kv zw[] = {{"kana", "サトウ ハナコ"},
                             {"name", "佐藤\xe2\x80\x8b花子"}};
    assert_int_equal(mamori_record_add(tv->op, "people", zw, 2, id, sizeof id),
                     MAMORI_EINVAL);
    d = mamori_errdetail(tv->op);
    assert_non_null(strstr(d, "\"name\""));
    assert_non_null(strstr(d, "invisible character"));
    assert_null(strstr(d, "佐藤"));
    assert_null(strstr(d, "花子"));
    struct mamori_kv intl[] = {{"name", "佐藤 花子"},
                               {"phone", "010-123-4567"}};
    assert_int_equal(
        mamori_record_add(tv->op, "people", intl, 2, id, sizeof id),
        MAMORI_EINVAL);
    d = mamori_errdetail(tv->op);
    assert_non_null(strstr(d, "\"phone\""));
    assert_non_null(strstr(d, "010"));
    assert_null(strstr(d, "123"));
    struct mamori_kv unknown[] = {{"nosuch", "x"}};
    assert_int_equal(
        mamori_record_add(tv->op, "people", unknown, 1, id, sizeof id),
        MAMORI_EINVAL);
    struct mamori_kv twice[] = {{"name", "佐藤 花子"}, {"name", "佐藤 花子"}};
    assert_int_equal(
        mamori_record_add(tv->op, "people", twice, 2, id, sizeof id),
        MAMORI_EINVAL);

    assert_int_equal(mamori_dataset_list(tv->op, &ds, &n), 0);
    assert_int_equal(ds[0].records, before);
    mamori_dataset_list_free(ds, n);
}

static size_t found_by_phone(struct tvault *tv, const char *phone)
{
    struct mamori_record **rs = NULL;
    size_t n = 0;
    assert_int_equal(
        mamori_record_search(tv->op, "people", "phone", phone, &rs, &n), 0);
    mamori_record_array_free(rs, n);
    return n;
}

/* A search reads a record only when its entry's check fits: with every
 * check spoiled nothing is found; without checks (a vault indexed before
 * schema 10) everything is, as before. */
static void search_reads_by_check(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv kv[] = {{"name", "丙 三郎"}, {"phone", "03-1234-5678"}};
    char id[MAMORI_ID_LEN + 1];

    assert_int_equal(mamori_record_add(tv->op, "people", kv, 2, id, sizeof id),
                     0);
    assert_int_equal(
        raw_sql(tv, "SELECT count(*) FROM blind WHERE length(chk) = 12"), 2);
    assert_int_equal(found_by_phone(tv, "0312345678"), 1);
    assert_int_equal(raw_sql(tv, "UPDATE blind SET chk = zeroblob(12)"), 2);
    assert_int_equal(found_by_phone(tv, "0312345678"), 0);
    assert_int_equal(raw_sql(tv, "UPDATE blind SET chk = NULL"), 2);
    assert_int_equal(found_by_phone(tv, "0312345678"), 1);
    assert_int_equal(found_by_phone(tv, "0312345679"), 0);
}

/* A batch large enough to be shared between connections and threads:
 * matches come back in value order, and of two bad values the first one
 * is named, whichever job met it. */
static void search_batch_shared(void **state)
{
    struct tvault *tv = *state;
    enum { NV = 300 };
    static char vals[NV][16];
    const char *v[NV];
    const size_t at[3] = {5, 150, 299};
    char ids[3][MAMORI_ID_LEN + 1];
    struct mamori_record **rs = NULL;
    size_t n = 0, first[NV + 1];

    for (size_t i = 0; i < NV; i++) {
        snprintf(vals[i], sizeof vals[i], "0900000%04zu", i);
        v[i] = vals[i];
    }
    for (size_t i = 0; i < 3; i++) {
        struct mamori_kv kv[] = {{"name", "丁 四郎"}, {"phone", vals[at[i]]}};
        assert_int_equal(
            mamori_record_add(tv->op, "people", kv, 2, ids[i], sizeof ids[i]),
            0);
    }
    v[200] = vals[5]; /* looked up twice */
    assert_int_equal(mamori_record_search_many(tv->op, "people", "phone", v, NV,
                                               &rs, &n, first),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(rs[0]->id, ids[0]);
    assert_string_equal(rs[1]->id, ids[1]);
    assert_string_equal(rs[2]->id, ids[0]);
    assert_string_equal(rs[3]->id, ids[2]);
    for (size_t i = 0; i <= NV; i++) {
        size_t want = (i > 5) + (i > 150) + (i > 200) + (i > 299);
        assert_int_equal(first[i], want);
    }
    mamori_record_array_free(rs, n);

    v[250] = "";
    v[100] = "";
    assert_int_equal(mamori_record_search_many(tv->op, "people", "phone", v, NV,
                                               &rs, &n, first),
                     MAMORI_EINVAL);
    assert_null(rs);
    assert_non_null(strstr(mamori_errdetail(tv->op), "search value 101 "));
}

static void ciphertext_bound_to_record(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv a[] = {{"name", "甲 一郎"}}, b[] = {{"name", "乙 二郎"}};
    char ida[MAMORI_ID_LEN + 1], idb[MAMORI_ID_LEN + 1], path[600];
    struct mamori_record *r = NULL;
    sqlite3 *db;
    uint8_t ra[16], rb[16];

    assert_int_equal(mamori_record_add(tv->op, "people", a, 1, ida, sizeof ida),
                     0);
    assert_int_equal(mamori_record_add(tv->op, "people", b, 1, idb, sizeof idb),
                     0);
    assert_int_equal(vault_rid_parse(ida, ra), 0);
    assert_int_equal(vault_rid_parse(idb, rb), 0);
    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "UPDATE records SET ct = (SELECT ct FROM records "
                           "WHERE id = ?2) WHERE id = ?1",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, ra, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, rb, 16, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);

    assert_int_equal(mamori_record_get(tv->op, "people", ida, &r),
                     MAMORI_ECRYPTO);
    assert_null(r);
    assert_int_equal(mamori_record_get(tv->op, "people", idb, &r), 0);
    mamori_record_free(r);
}

/* Rows for bulk tests: name and phone, phone unique per row. */
static struct mamori_kv *bulk_rows(size_t n, char (*phones)[16])
{
    struct mamori_kv *kv = calloc(n * 2, sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        snprintf(phones[i], 16, "090%08zu", i);
        kv[2 * i] = (struct mamori_kv){"name", "山田 太郎"};
        kv[2 * i + 1] = (struct mamori_kv){"phone", phones[i]};
    }
    return kv;
}

static int64_t records_in(struct tvault *tv)
{
    struct mamori_dataset_info *ds = NULL;
    size_t n = 0;
    assert_int_equal(mamori_dataset_list(tv->op, &ds, &n), 0);
    int64_t r = ds[0].records;
    mamori_dataset_list_free(ds, n);
    return r;
}

static void bulk_all_or_nothing(void **state)
{
    struct tvault *tv = *state;
    enum { N = 3000 };
    char(*phones)[16] = calloc(N, 16);
    struct mamori_kv *kv = bulk_rows(N, phones);
    char *ids = calloc(N, MAMORI_ID_LEN + 1);
    mamori_bulk *b = NULL;
    struct mamori_record **rs = NULL;
    size_t n = 0;

    /* two adds in one bulk, committed together */
    assert_int_equal(mamori_bulk_begin(tv->op, "people", &b), 0);
    assert_int_equal(mamori_bulk_add(b, kv, 2, 1000, ids, N * 37), 0);
    assert_int_equal(strlen(ids), 36);
    /* the gate is held by the bulk: other calls are refused, not hung */
    assert_int_equal(mamori_record_search(tv->op, "people", "phone",
                                          "090-0000-0001", &rs, &n),
                     MAMORI_ESTATE);
    struct mamori_record *one = NULL;
    char id0[MAMORI_ID_LEN + 1];
    memcpy(id0, ids, MAMORI_ID_LEN);
    id0[MAMORI_ID_LEN] = 0;
    assert_int_equal(mamori_record_get(tv->op, "people", id0, &one),
                     MAMORI_ESTATE);
    assert_null(one);
    /* a too-small id buffer is refused without writing past it */
    char small[37];
    assert_int_equal(mamori_bulk_add(b, kv, 2, 4, small, sizeof small),
                     MAMORI_EINVAL);
    /* the refused add doomed the bulk: nothing of it is kept */
    assert_int_equal(mamori_bulk_add(b, kv + 2000, 2, 2000, ids, N * 37),
                     MAMORI_ESTATE);
    assert_int_equal(mamori_bulk_commit(b), MAMORI_ESTATE);
    assert_int_equal(records_in(tv), 0);
    assert_int_equal(mamori_bulk_begin(tv->op, "people", &b), 0);
    assert_int_equal(mamori_bulk_add(b, kv, 2, 1000, ids, N * 37), 0);
    assert_int_equal(mamori_bulk_add(b, kv + 2000, 2, 2000, ids, N * 37), 0);
    assert_int_equal(mamori_bulk_commit(b), 0);
    assert_int_equal(records_in(tv), N);
    assert_int_equal(mamori_record_search(tv->op, "people", "phone",
                                          "090-0000-2999", &rs, &n),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0]->id, ids + 1999 * 37);
    mamori_record_array_free(rs, n);

    /* a batch big enough to be split over the reader connections: every
     * value finds its own record, absent ones none, in value order */
    enum { Q = 100 };
    const char *q[Q];
    char qbuf[Q][16];
    size_t first[Q + 1];
    for (size_t i = 0; i < Q; i++) {
        if (i % 10 == 3)
            snprintf(qbuf[i], 16, "080-9999-%04zu", i); /* absent */
        else
            snprintf(qbuf[i], 16, "090-0000-%04zu", 2999 - i * 29);
        q[i] = qbuf[i];
    }
    assert_int_equal(mamori_record_search_many(tv->op, "people", "phone", q, Q,
                                               &rs, &n, first),
                     0);
    assert_int_equal(n, Q - Q / 10);
    assert_int_equal(first[0], 0);
    assert_int_equal(first[Q], n);
    for (size_t i = 0; i < Q; i++) {
        size_t row = 2999 - i * 29;
        if (i % 10 == 3) {
            assert_int_equal(first[i + 1], first[i]);
            continue;
        }
        assert_int_equal(first[i + 1], first[i] + 1);
        const char *want = row >= 1000 ? ids + (row - 1000) * 37 : NULL;
        if (want)
            assert_string_equal(rs[first[i]]->id, want);
    }
    mamori_record_array_free(rs, n);
    q[81] = "";
    assert_int_equal(mamori_record_search_many(tv->op, "people", "phone", q, Q,
                                               &rs, &n, first),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "value 82"));
    assert_null(rs);

    /* a bad row in the second add: its number counts from the bulk's
     * first row, and abort leaves nothing */
    kv[2 * 1300 + 1].value = "12";
    kv[2 * 1700 + 1].value = "34";
    assert_int_equal(mamori_bulk_begin(tv->op, "people", &b), 0);
    assert_int_equal(mamori_bulk_add(b, kv, 2, 1000, ids, N * 37), 0);
    assert_int_equal(mamori_bulk_add(b, kv + 2000, 2, 2000, ids, N * 37),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "row 1301,"));
    assert_non_null(strstr(mamori_errdetail(tv->op), "phone"));
    assert_int_equal(ids[0], '\0');
    assert_int_equal(mamori_bulk_add(b, kv, 2, 10, ids, N * 37), MAMORI_ESTATE);
    assert_int_equal(mamori_bulk_commit(b), MAMORI_ESTATE);
    assert_int_equal(records_in(tv), N);

    /* add_many reports the lowest bad row whichever thread finds it */
    assert_int_equal(
        mamori_record_add_many(tv->op, "people", kv, 2, N, ids, N * 37),
        MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "row 1301,"));
    assert_int_equal(records_in(tv), N);

    /* long id lists are logged in pieces, and the chain verifies */
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    int parts = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(e[i].detail, "part ")) {
            parts++;
            assert_true(strlen(e[i].record_ids) <= 64 * 1024 + 40);
        }
    assert_true(parts >= 2);
    mamori_audit_entries_free(e, n);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    free(kv);
    free(phones);
    free(ids);
}

/* A detail too long for its buffer is cut after its last whole character:
 * what the CLI prints and the JSON carries stays valid UTF-8. Every
 * alignment of 2-, 3- and 4-byte characters against the cut. */
static void long_detail_cut_at_character(void **state)
{
    struct tvault *tv = *state;
    static const char *chars[] = {"é", "あ", "𠮷"};
    char text[2048];

    for (size_t c = 0; c < sizeof chars / sizeof *chars; c++) {
        for (size_t pad = 0; pad < 4; pad++) {
            size_t len = 0;
            for (size_t i = 0; i < pad; i++)
                text[len++] = 'x';
            while (len + 8 < sizeof text) {
                memcpy(text + len, chars[c], strlen(chars[c]));
                len += strlen(chars[c]);
            }
            text[len] = '\0';
            for (int verbatim = 0; verbatim < 2; verbatim++) {
                if (verbatim)
                    sess_detail_text(tv->op, text);
                else
                    sess_detail(tv->op, "field \"%s\": %s", "note", text);
                const char *d = mamori_errdetail(tv->op);
                const char *full = text;
                size_t n = strlen(d), skip = 0;
                if (!verbatim) {
                    assert_memory_equal(d, "field \"note\": ", 14);
                    skip = 14;
                }
                assert_true(n < 512 && n + 4 >= 511);
                assert_true(text_utf8_valid(d, n));
                /* a prefix of the text, cut before a character's first
                 * byte */
                assert_memory_equal(d + skip, full, n - skip);
                assert_true(((unsigned char)full[n - skip] & 0xC0) != 0x80);
            }
        }
    }
    /* A detail that fits is left whole. */
    sess_detail(tv->op, "field \"%s\": %s", "note", "あいう");
    assert_string_equal(mamori_errdetail(tv->op), "field \"note\": あいう");
}

/* Binds the catalog the build made (<build>/locale, next to tests/). */
static int bind_build_catalog(void)
{
    char exe[PATH_MAX], dir[PATH_MAX + 16];
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(dir, sizeof dir, "%s/../locale", exe);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return -1;
    i18n_bind(dir);
    return 0;
}

/* Under a Japanese locale the details come in Japanese, rules included;
 * the audit log's details stay English. */
static void detail_in_japanese(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv unknown[] = {{"nosuch", "1"}};
    struct mamori_kv bad[] = {{"birth", "2024-13-01"}};
    struct mamori_config_item *items = NULL;
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    struct mamori_record *r = NULL;
    char id[MAMORI_ID_LEN + 1];

    if (!setlocale(LC_ALL, "ja_JP.UTF-8") && !setlocale(LC_ALL, "ja_JP.utf8"))
        fail_msg("locale ja_JP.UTF-8 missing (make deps)");
    if (bind_build_catalog() != 0)
        fail_msg("no message catalog next to the test (make all)");

    assert_int_equal(
        mamori_record_add(tv->op, "people", unknown, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_string_equal(mamori_errdetail(tv->op),
                        "項目「nosuch」: データセットにない項目です");
    assert_int_equal(mamori_record_add(tv->op, "people", bad, 1, id, sizeof id),
                     MAMORI_EINVAL);
    assert_string_equal(mamori_errdetail(tv->op),
                        "項目「birth」: 月は 1 から 12 までです");
    assert_int_equal(mamori_config_list(tv->op, &items, &n), MAMORI_EDENIED);
    assert_string_equal(mamori_errdetail(tv->op),
                        "役割 operator は config.list を実行できません");
    assert_int_equal(mamori_record_get(tv->op, "nosuch",
                                       "00000000-0000-4000-8000-000000000000",
                                       &r),
                     MAMORI_ENOTFOUND);
    assert_string_equal(mamori_errdetail(tv->op),
                        "その名前のデータセットはありません");
    assert_true(text_utf8_valid(mamori_errdetail(tv->op),
                                strlen(mamori_errdetail(tv->op))));

    /* the audit log: English, whatever the locale */
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(e[i].detail, "field birth: month must be 1 to 12"))
            seen = 1;
        if (strcmp(e[i].outcome, "ok") == 0)
            continue; /* the refusals above */
        for (const unsigned char *p = (const unsigned char *)e[i].detail; *p;
             p++)
            assert_true(*p < 0x80);
    }
    assert_true(seen);
    mamori_audit_entries_free(e, n);

    /* English again in the C locale */
    assert_non_null(setlocale(LC_ALL, "C"));
    assert_int_equal(
        mamori_record_add(tv->op, "people", unknown, 1, id, sizeof id),
        MAMORI_EINVAL);
    assert_string_equal(mamori_errdetail(tv->op),
                        "field \"nosuch\": no such field in dataset");
}

static int restore_locale(void **state)
{
    setlocale(LC_ALL, "C");
    return tv_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(schema_roundtrip),
        cmocka_unit_test(schema_hostile),
        cmocka_unit_test(rid_roundtrip),
        cmocka_unit_test(index_check),
    };
    const struct CMUnitTest withvault[] = {
        cmocka_unit_test_setup_teardown(records_crud, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(record_key_and_empty_records,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(bad_value_changes_nothing,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(ciphertext_bound_to_record,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(search_reads_by_check, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(search_batch_shared, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(bulk_all_or_nothing, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(long_detail_cut_at_character,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(detail_in_japanese, tv_group_setup,
                                        restore_locale),
    };
    if (mamori_library_init() != 0)
        return 1;
    return cmocka_run_group_tests(pure, NULL, NULL) |
           cmocka_run_group_tests(withvault, NULL, NULL);
}
