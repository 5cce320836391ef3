/*
 * test_import.c - mamori_import through the public API: a pull source in
 * small reads, counts and SHA-256, all or nothing, skip_invalid, problems
 * (line, column, kind, rule; never a value; every invalid value of a
 * rejected row), duplicates on a composite key
 * against records and within the file, the verify source, header errors
 * (naming no value), NUL bytes, Excel's empty ",,," rows, the My Number
 * rule, roles, and the audit entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mamori.h"
#include "helpers.h"
#include "vault.h"
#include "banned.h"

struct msrc {
    const char *p;
    size_t n, pos, step;
};

static long mread(void *arg, void *buf, size_t len)
{
    struct msrc *m = arg;
    size_t k = m->n - m->pos;
    if (k > len)
        k = len;
    if (m->step && k > m->step)
        k = m->step;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (long)k;
}

#define MAXP 32
struct probs {
    size_t n;
    uint64_t line[MAXP];
    char column[MAXP][64];
    enum mamori_problem_kind kind[MAXP];
    char rule[MAXP][160];
    char all[8192]; /* every problem's text, to grep for values */
    uint64_t last_rows;
    size_t total;      /* every problem, past MAXP too */
    uint64_t max_line; /* the greatest line so far */
    int out_of_order;  /* a problem came before one of an earlier line */
};

static void on_problem(void *arg, const struct mamori_problem *p)
{
    struct probs *ps = arg;
    size_t l = strlen(ps->all);
    snprintf(ps->all + l, sizeof ps->all - l, "%llu|%s|%s\n",
             (unsigned long long)p->line, p->column, p->rule);
    ps->total++;
    if (p->line < ps->max_line)
        ps->out_of_order = 1;
    else
        ps->max_line = p->line;
    if (ps->n == MAXP)
        return;
    ps->line[ps->n] = p->line;
    snprintf(ps->column[ps->n], sizeof ps->column[0], "%s", p->column);
    ps->kind[ps->n] = p->kind;
    snprintf(ps->rule[ps->n], sizeof ps->rule[0], "%s", p->rule);
    ps->n++;
}

static void on_progress(void *arg, uint64_t bytes, uint64_t rows)
{
    struct probs *ps = arg;
    (void)bytes;
    ps->last_rows = rows;
}

static int do_import(mamori_sess *s, const char *ds, const char *csv,
                     const char *verify, int skip, struct probs *ps,
                     struct mamori_import_result *res)
{
    struct msrc a = {csv, strlen(csv), 0, 3};
    struct msrc b = {verify, verify ? strlen(verify) : 0, 0, 5};
    struct mamori_source sa = {mread, &a}, sb = {mread, &b};
    struct mamori_import_opts o = {0};
    memset(ps, 0, sizeof *ps);
    o.skip_invalid = skip;
    o.problem = on_problem;
    o.progress = on_progress;
    o.arg = ps;
    return mamori_import(s, ds, &sa, verify ? &sb : NULL, &o, res);
}

/* do_import of len bytes (which may hold a NUL), without a verify file. */
static int do_import_n(mamori_sess *s, const char *ds, const char *csv,
                       size_t len, struct probs *ps,
                       struct mamori_import_result *res)
{
    struct msrc a = {csv, len, 0, 3};
    struct mamori_source sa = {mread, &a};
    struct mamori_import_opts o = {0};
    memset(ps, 0, sizeof *ps);
    o.problem = on_problem;
    o.arg = ps;
    return mamori_import(s, ds, &sa, NULL, &o, res);
}

static size_t found(mamori_sess *s, const char *ds, const char *field,
                    const char *value)
{
    struct mamori_record **rs = NULL;
    size_t n = 0;
    assert_int_equal(mamori_record_search(s, ds, field, value, &rs, &n), 0);
    mamori_record_array_free(rs, n);
    return n;
}

static void test_basic_counts_sha(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] = "name,kana,birth,phone,note\r\n"
                              "山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,1990-01-02,０９０-1234-5678,"
                              "\"a, b\r\nc\"\r\n"
                              "田中　花子,たなか はなこ,S55.4.1,,\r\n";
    struct mamori_import_result res;
    struct probs ps;
    unsigned char dg[32];
    unsigned int dl;
    char hex[65];

    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res), 0);
    assert_int_equal(res.rows, 2);
    assert_int_equal(res.imported, 2);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(res.encoding, MAMORI_ENC_UTF8);
    assert_int_equal(ps.n, 0);
    assert_int_equal(ps.last_rows, 2);
    EVP_Digest(csv, strlen(csv), dg, &dl, EVP_sha256(), NULL);
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    assert_string_equal(res.sha256, hex);
    assert_int_equal(found(tv->op, "people", "kana", "ヤマダ　タロウ"), 1);
    assert_int_equal(found(tv->op, "people", "phone", "09012345678"), 1);

    /* The audit entry: import, the count and the file's keyed
     * fingerprint, never its SHA-256 (of a file of one My Number, that
     * would give the number back to whoever tries them all). */
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(mamori_audit_show(tv->aud, 6, &e, &n), 0);
    assert_true(n >= 1);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].action, "import") != 0)
            continue;
        seen = 1;
        assert_string_equal(e[i].outcome, "ok");
        assert_int_equal(e[i].count, 2);
        assert_non_null(strstr(e[i].detail, "rows 2 ok 2"));
        assert_null(strstr(e[i].detail, hex));
        const char *fp = strstr(e[i].detail, " file ");
        assert_non_null(fp);
        fp += 6;
        assert_int_equal(strspn(fp, "0123456789abcdef"), 32);
        assert_int_equal(fp[32], '\0');
        assert_null(strstr(hex, fp)); /* not a piece of the SHA-256 */
        assert_non_null(e[i].record_ids);
        assert_non_null(strchr(e[i].record_ids, ','));
    }
    assert_true(seen);
    mamori_audit_entries_free(e, n);
}

/* The fingerprint in the newest import entry (32 hex digits). */
static void last_fingerprint(mamori_sess *aud, char out[33])
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    const char *fp = NULL;

    assert_int_equal(mamori_audit_show(aud, 4, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, "import") == 0)
            fp = strstr(e[i].detail, " file ");
    assert_non_null(fp);
    snprintf(out, 33, "%s", fp + 6);
    assert_int_equal(strspn(out, "0123456789abcdef"), 32);
    mamori_audit_entries_free(e, n);
}

/* Two imports of one file show one fingerprint, refused or not; another
 * file shows another. */
static void test_fingerprint_same_file(void **state)
{
    struct tvault *tv = *state;
    const char *a = "name,kana\r\n指紋 一郎,シモン イチロウ\r\n";
    const char *b = "name,kana\r\n指紋 二郎,シモン ジロウ\r\n";
    struct mamori_import_result res;
    struct probs ps;
    char f1[33], f2[33], f3[33];

    assert_int_equal(do_import(tv->op, "people", a, NULL, 0, &ps, &res), 0);
    last_fingerprint(tv->aud, f1);
    (void)do_import(tv->op, "people", a, NULL, 0, &ps, &res);
    last_fingerprint(tv->aud, f2);
    assert_int_equal(do_import(tv->op, "people", b, NULL, 0, &ps, &res), 0);
    last_fingerprint(tv->aud, f3);
    assert_string_equal(f1, f2);
    assert_string_not_equal(f1, f3);
}

static void test_all_or_nothing(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] = "name,kana,birth,phone\n"
                              "小川　一,オガワ,1980-01-01,03-1111-2222\n"
                              "小川　二,オガワ,1980-01-02,03-1111-3333\n"
                              "小川　三,Ogawa99,1980-02-31,12345\n";
    struct mamori_import_result res;
    struct probs ps;

    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "line 4, column kana"));
    assert_int_equal(res.rows, 3);
    assert_int_equal(res.imported, 0);
    assert_int_equal(res.rejected, 1);
    /* Every refusal of the row, in its columns' order. */
    assert_int_equal(ps.n, 3);
    static const char *const cols[] = {"kana", "birth", "phone"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ps.line[i], 4);
        assert_int_equal(ps.kind[i], MAMORI_PROBLEM_INVALID);
        assert_string_equal(ps.column[i], cols[i]);
        assert_true(strlen(ps.rule[i]) > 0);
    }
    assert_non_null(strstr(ps.rule[1], "day")); /* February 31 */
    /* The session's detail still names the first one only. */
    assert_null(strstr(mamori_errdetail(tv->op), "column birth"));
    assert_null(strstr(ps.all, "Ogawa99"));
    assert_null(strstr(ps.all, "12345"));
    assert_null(strstr(ps.all, "小川"));
    assert_int_equal(found(tv->op, "people", "kana", "オガワ"), 0);

    /* skip_invalid: the two good rows go in. */
    assert_int_equal(do_import(tv->op, "people", csv, NULL, 1, &ps, &res), 0);
    assert_int_equal(res.imported, 2);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(found(tv->op, "people", "kana", "オガワ"), 2);
}

/* A problem names the row as Excel numbers it: the line breaks typed in
 * a cell (Alt+Enter) before it do not count. */
static void test_lines_as_excel_rows(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] =
        "name,kana,note\r\n"
        "行数　一,ギョウスウ,\"一行目\r\n二行目\r\n三行目\"\r\n"
        "行数　二,Gyou2,\r\n";
    struct mamori_import_result res;
    struct probs ps;

    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 3);
    assert_string_equal(ps.column[0], "kana");
    assert_non_null(strstr(mamori_errdetail(tv->op), "line 3, column kana"));
}

/* Headers as Excel users write them: capitals, full-width letters, a
 * second BOM before the first name, a zero-width space. */
static void test_header_case_and_width(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] =
        "\xef\xbb\xbf\xef\xbb\xbfName,\xef\xbc\xab\xef\xbc"
        "\xa1\xef\xbc\xae\xef\xbc\xa1,Pho\xe2\x80\x8bne\r\n"
        "見出　一,ミダシ,03-1111-4444\r\n";
    struct mamori_import_result res;
    struct probs ps;

    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res), 0);
    assert_int_equal(res.imported, 1);
    assert_int_equal(ps.n, 0);
    assert_int_equal(found(tv->op, "people", "kana", "ミダシ"), 1);
    assert_int_equal(found(tv->op, "people", "phone", "0311114444"), 1);
}

/* Records in a dataset, as the admin's list gives them. */
static int64_t records_in(struct tvault *tv, const char *ds)
{
    struct mamori_dataset_info *list = NULL;
    size_t n = 0;
    int64_t count = -1;
    assert_int_equal(mamori_dataset_list(tv->admin, &list, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, ds) == 0)
            count = list[i].records;
    mamori_dataset_list_free(list, n);
    return count;
}

/* A rejected row names each of its invalid values (by column, in the
 * file's column order), wherever they are in the row; the valid rows of
 * the same file are imported as before. */
static void test_every_problem_of_a_row(void **state)
{
    struct tvault *tv = *state;
    /* Columns in another order than the schema's. Line 3: its first and
     * last values are bad; line 5: every value is. */
    static const char csv[] = "phone,note,birth,kana,name\n"
                              "03-1111-2222,ok,1980-01-01,ノムラ,野村　一\n"
                              "12,ok,1980-01-02,ノムラ,野村1\n"
                              "03-1111-4444,,1980-01-04,ノムラ,野村　三\n"
                              "999,\"ctl\001\",1980-13-01,Nomura,野村2\n";
    static const struct {
        uint64_t line;
        const char *column;
    } want[] = {{3, "phone"}, {3, "name"}, {5, "phone"}, {5, "note"},
                {5, "birth"}, {5, "kana"}, {5, "name"}};
    const size_t nwant = sizeof want / sizeof want[0];
    struct mamori_import_result res;
    struct probs ps;

    for (int skip = 0; skip <= 1; skip++) {
        assert_int_equal(
            do_import(tv->op, "people", csv, NULL, skip, &ps, &res),
            skip ? 0 : MAMORI_EINVAL);
        assert_int_equal(res.rows, 4);
        assert_int_equal(res.rejected, 2); /* rows, not problems */
        assert_int_equal(res.duplicates, 0);
        assert_int_equal(res.imported, skip ? 2 : 0);
        if (!skip) /* the refusal names the first problem and the count */
            assert_non_null(
                strstr(mamori_errdetail(tv->op), "line 3, column phone"));
        assert_int_equal(ps.n, nwant);
        assert_int_equal(ps.total, nwant);
        for (size_t i = 0; i < nwant; i++) {
            assert_int_equal(ps.line[i], want[i].line);
            assert_string_equal(ps.column[i], want[i].column);
            assert_int_equal(ps.kind[i], MAMORI_PROBLEM_INVALID);
            assert_true(strlen(ps.rule[i]) > 0);
        }
        assert_non_null(strstr(ps.rule[4], "month"));
        assert_null(strstr(ps.all, "999"));
        assert_null(strstr(ps.all, "ctl"));
        assert_null(strstr(ps.all, "Nomura"));
        assert_null(strstr(ps.all, "野村"));
        assert_null(strstr(ps.all, "13-01"));
        assert_int_equal(found(tv->op, "people", "kana", "ノムラ"),
                         skip ? 2 : 0);
    }
}

/* Many rows over several batches (and workers): every problem of every
 * bad row, in line order, none for the good rows, which are imported. The
 * library reports them all; the front ends bound what they list. */
static void test_every_problem_many_rows(void **state)
{
    struct tvault *tv = *state;
    const size_t nrows = 2600;
    size_t cap = 64 + nrows * 64, len = 0, bad = 0;
    char *csv = malloc(cap);
    struct mamori_import_result res;
    struct probs ps;

    assert_non_null(csv);
    len += (size_t)snprintf(csv, cap, "name,kana,birth,phone\n");
    for (size_t i = 0; i < nrows; i++) {
        /* Every third row: a bad kana and a bad phone. */
        int b = i % 3 == 0;
        bad += (size_t)b;
        len += (size_t)snprintf(
            csv + len, cap - len, "試験　太郎,%s,1980-01-%02zu,%s\n",
            b ? "Shiken" : "シケン", 1 + i % 28, b ? "1" : "03-1111-2222");
    }
    assert_true(len < cap);
    assert_int_equal(do_import(tv->op, "people", csv, NULL, 1, &ps, &res), 0);
    assert_int_equal(res.rows, nrows);
    assert_int_equal(res.rejected, bad);
    assert_int_equal(res.imported, nrows - bad);
    assert_int_equal(records_in(tv, "people"), (int64_t)(nrows - bad));
    assert_int_equal(ps.total, 2 * bad);
    assert_false(ps.out_of_order);
    assert_int_equal(ps.max_line, 2 + 3 * (bad - 1));
    for (size_t i = 0; i < MAXP; i++) {
        /* Rows 0, 3, 6, ... (lines 2, 5, 8, ...), kana then phone. */
        assert_int_equal(ps.line[i], 2 + 3 * (i / 2));
        assert_string_equal(ps.column[i], i % 2 ? "phone" : "kana");
    }
    assert_null(strstr(ps.all, "Shiken"));
    free(csv);
}

static void test_header_problems(void **state)
{
    struct tvault *tv = *state;
    static const char *bad[] = {"name,shoe\nx,y\n", "name,name\nx,y\n",
                                "name, ,kana\nx,y,z\n", ""};
    struct mamori_import_result res;
    struct probs ps;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            do_import(tv->op, "people", bad[i], NULL, 0, &ps, &res),
            MAMORI_EINVAL);
        assert_true(ps.n >= 1);
        assert_int_equal(ps.kind[0], MAMORI_PROBLEM_FORMAT);
        assert_int_equal(res.imported, 0);
    }
    /* A map turns an unknown header into a field. */
    struct msrc a = {"氏名,kana\n石井　一,イシイ\n", 0, 0, 0};
    struct mamori_source sa = {mread, &a};
    struct mamori_kv map[] = {{"氏名", "name"}};
    struct mamori_import_opts o = {0};
    a.n = strlen(a.p);
    o.map = map;
    o.nmap = 1;
    assert_int_equal(mamori_import(tv->op, "people", &sa, NULL, &o, &res), 0);
    assert_int_equal(res.imported, 1);
    /* Hostile arguments. */
    assert_int_equal(mamori_import(tv->op, "people", NULL, NULL, &o, &res),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_import(tv->op, "people", &sa, NULL, &o, NULL),
                     MAMORI_EINVAL);
    o.nmap = 1;
    o.map = NULL;
    assert_int_equal(mamori_import(tv->op, "people", &sa, NULL, &o, &res),
                     MAMORI_EINVAL);
}

/* A header cell is named in a problem only when it is a well-formed field
 * name; a file with no header row has a record there. */
static void test_header_names_no_value(void **state)
{
    struct tvault *tv = *state;
    struct mamori_import_result res;
    struct probs ps;
    const char *detail;

    /* No header row at all: one problem, naming no cell. */
    assert_int_equal(do_import(tv->op, "people",
                               "123456789018,山田　太郎,090-1234-5678\n"
                               "123456789018,山田　花子,090-1234-5679\n",
                               NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 1);
    assert_string_equal(ps.column[0], "");
    assert_int_equal(ps.kind[0], MAMORI_PROBLEM_FORMAT);
    assert_non_null(strstr(ps.rule[0], "not a header"));
    detail = mamori_errdetail(tv->op);
    assert_non_null(strstr(detail, "not a header"));
    assert_null(strstr(detail, "123456789018"));
    assert_null(strstr(detail, "山田"));
    assert_null(strstr(ps.all, "123456789018"));
    assert_null(strstr(ps.all, "山田"));
    assert_null(strstr(ps.all, "090"));
    assert_int_equal(res.imported, 0);

    /* A header with value-like cells: those go by their number. */
    assert_int_equal(do_import(tv->op, "people",
                               "name,123456789018,山田,山田,shoe\nx,y,z,w,v\n",
                               NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(ps.n, 5);
    assert_string_equal(ps.column[0], "#2");
    assert_non_null(strstr(ps.rule[0], "unknown column"));
    assert_string_equal(ps.column[1], "#3");
    assert_string_equal(ps.column[2], "#4"); /* given twice */
    assert_non_null(strstr(ps.rule[2], "twice"));
    assert_string_equal(ps.column[3], "#4");
    assert_string_equal(ps.column[4], "shoe"); /* a field name's form */
    detail = mamori_errdetail(tv->op);
    assert_non_null(strstr(detail, "column #2"));
    assert_null(strstr(detail, "123456789018"));
    assert_null(strstr(ps.all, "123456789018"));
    assert_null(strstr(ps.all, "山田"));
    assert_int_equal(res.imported, 0);
}

/* A NUL byte in a field is refused, not taken as the end of the value. */
static void test_nul_in_field(void **state)
{
    struct tvault *tv = *state;
    static const char a[] = "name,kana,note\n"
                            "石川　一,イシカワ,123456789018\0ZZZ\n";
    static const char b[] = "name,kana,note\n"
                            "石川　二,イシカワ,ok\n"
                            "\0山田,イシカワ,x\n";
    struct mamori_import_result res;
    struct probs ps;

    assert_int_equal(do_import_n(tv->op, "people", a, sizeof a - 1, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(res.imported, 0);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 2);
    assert_string_equal(ps.column[0], "note");
    assert_int_equal(ps.kind[0], MAMORI_PROBLEM_FORMAT);
    assert_non_null(strstr(ps.rule[0], "NUL"));
    assert_null(strstr(ps.all, "123456789018"));
    assert_null(strstr(mamori_errdetail(tv->op), "123456789018"));

    assert_int_equal(do_import_n(tv->op, "people", b, sizeof b - 1, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(res.imported, 0);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 3);
    assert_string_equal(ps.column[0], "name");
    assert_non_null(strstr(ps.rule[0], "NUL"));
    assert_int_equal(found(tv->op, "people", "kana", "イシカワ"), 0);
}

static void test_mynumber_and_roles(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] = "name,mynumber\n福田　一,123456789018\n";
    struct mamori_import_result res;
    struct probs ps;

    /* op1 is not a My Number handler of people. */
    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EDENIED);
    assert_int_equal(res.imported, 0);
    assert_null(strstr(ps.all, "123456789018"));
    assert_int_equal(do_import(tv->aud, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EDENIED);
    assert_int_equal(do_import(tv->admin, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EDENIED);
    assert_int_equal(do_import(tv->op, "nosuch", csv, NULL, 0, &ps, &res),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1",
                                                MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res), 0);
    assert_int_equal(res.imported, 1);
}

static void test_duplicates_composite_key(void **state)
{
    struct tvault *tv = *state;
    static const struct mamori_field_def f[] = {{"name", "name", 0, 1},
                                                {"birth", "date", 0, 1},
                                                {"note", "text", 0, 0}};
    struct mamori_dataset_def d = {"keyed", "c", "p", NULL, f, 3};
    struct mamori_import_result res;
    struct probs ps;
    struct mamori_dataset_info *list = NULL;
    size_t n = 0;

    assert_int_equal(mamori_dataset_create(tv->admin, &d), 0);
    assert_int_equal(mamori_dataset_grant(tv->admin, "keyed", "op1"), 0);
    assert_int_equal(mamori_dataset_list(tv->admin, &list, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, "keyed") != 0)
            continue;
        assert_int_equal(list[i].fields[0].key, 1);
        assert_int_equal(list[i].fields[0].searchable, 1); /* implied */
        assert_int_equal(list[i].fields[2].key, 0);
    }
    mamori_dataset_list_free(list, n);

    assert_int_equal(do_import(tv->op, "keyed",
                               "name,birth\n原　一,1980-01-01\n", NULL, 0, &ps,
                               &res),
                     0);
    /* Line 2 same name, other birth: new. Line 3 the record again (spaces
     * and date form differ). Line 4 equals line 2. */
    assert_int_equal(do_import(tv->op, "keyed",
                               "birth,name,note\n"
                               "1980-01-02,原　一,a\n"
                               "1980/1/1,原 一,b\n"
                               "1980-01-02,原　　一,c\n",
                               NULL, 0, &ps, &res),
                     0);
    assert_int_equal(res.imported, 1);
    assert_int_equal(res.duplicates, 2);
    assert_int_equal(ps.n, 2);
    assert_int_equal(ps.line[0], 3);
    assert_int_equal(ps.kind[0], MAMORI_PROBLEM_DUP_RECORD);
    assert_int_equal(ps.line[1], 4);
    assert_int_equal(ps.kind[1], MAMORI_PROBLEM_DUP_FILE);
    assert_null(strstr(ps.all, "原"));
}

static void test_verify(void **state)
{
    struct tvault *tv = *state;
    static const char a[] = "name,kana,birth\n"
                            "森　一,モリ,1970-01-01\n"
                            "森　二,モリ,1970-01-02\n";
    static const char same[] = "kana,birth,name\n"
                               "ﾓﾘ,S45.1.1,森 一\n"
                               "モリ,1970-01-02,森　二\n";
    static const char other[] = "name,kana,birth\n"
                                "森　一,モリ,1970-01-01\n"
                                "森　三,モリ,1970-01-02\n"
                                "森　四,モリ,1970-01-03\n";
    struct mamori_import_result res;
    struct probs ps;

    assert_int_equal(do_import(tv->op, "people", a, other, 0, &ps, &res),
                     MAMORI_EMISMATCH);
    assert_int_equal(res.imported, 0);
    assert_int_equal(res.mismatches, 2);
    assert_int_equal(ps.line[0], 3);
    assert_string_equal(ps.column[0], "name");
    assert_int_equal(ps.kind[0], MAMORI_PROBLEM_MISMATCH);
    assert_int_equal(ps.kind[1], MAMORI_PROBLEM_MISMATCH); /* extra row */
    assert_null(strstr(ps.all, "森"));
    assert_int_equal(found(tv->op, "people", "kana", "モリ"), 0);
    /* skip_invalid does not let a mismatch through. */
    assert_int_equal(do_import(tv->op, "people", a, other, 1, &ps, &res),
                     MAMORI_EMISMATCH);
    assert_int_equal(do_import(tv->op, "people", a, same, 0, &ps, &res), 0);
    assert_int_equal(res.imported, 2);
    assert_int_equal(found(tv->op, "people", "kana", "モリ"), 2);
}

static void test_cp932_and_truncated(void **state)
{
    struct tvault *tv = *state;
    /* 髙橋 / ﾀｶﾊｼ / ① ～ － in CP932. */
    static const char cp[] = "name,kana,note\r\n"
                             "\xfb\xfc\x8b\xb4\x81\x40\x88\xea,\xc0\xb6\xca"
                             "\xbc,\x87\x40\x81\x60\x81\x7c\r\n";
    struct mamori_import_result res;
    struct probs ps;
    struct mamori_record **rs = NULL;
    size_t n = 0;

    assert_int_equal(do_import(tv->op, "people", cp, NULL, 0, &ps, &res), 0);
    assert_int_equal(res.encoding, MAMORI_ENC_CP932);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "kana", "タカハシ", &rs, &n), 0);
    assert_int_equal(n, 1);
    for (size_t i = 0; i < rs[0]->n; i++) {
        if (strcmp(rs[0]->fields[i].name, "name") == 0)
            assert_string_equal(rs[0]->fields[i].value, "髙橋　一");
        if (strcmp(rs[0]->fields[i].name, "note") == 0)
            assert_string_equal(rs[0]->fields[i].value, "①～－");
    }
    mamori_record_array_free(rs, n);

    assert_int_equal(do_import(tv->op, "people", "name,note\n木村　一,\"open\n",
                               NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 2);
    assert_string_equal(ps.column[0], "note");
    assert_int_equal(ps.kind[0], MAMORI_PROBLEM_FORMAT);
    assert_int_equal(found(tv->op, "people", "kana", "キムラ"), 0);
}

/* Excel writes ",,,," for a row whose cells were formatted but left
 * empty, often many at the end of a sheet: like a blank line, such a row
 * is no record (never an empty one) and is not counted; the lines of the
 * rows after it are still the file's. */
static void test_empty_rows_skipped(void **state)
{
    struct tvault *tv = *state;
    static const char csv[] = ",,\r\n"
                              "name,kana,birth\r\n"
                              ",,\r\n"
                              "西田　一,ニシダ,1980-01-01\r\n"
                              ",,\r\n"
                              "西田　二,ニシダ,1980-02-30\r\n"
                              ",,\r\n"
                              ",,\r\n";
    struct mamori_import_result res;
    struct probs ps;
    int64_t before = records_in(tv, "people");

    assert_int_equal(do_import(tv->op, "people", csv, NULL, 0, &ps, &res),
                     MAMORI_EINVAL);
    assert_int_equal(res.rows, 2);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.line[0], 6);
    assert_string_equal(ps.column[0], "birth");
    assert_int_equal(records_in(tv, "people"), before);
    assert_int_equal(do_import(tv->op, "people", csv, csv, 1, &ps, &res), 0);
    assert_int_equal(res.rows, 2);
    assert_int_equal(res.imported, 1);
    assert_int_equal(res.mismatches, 0);
    assert_int_equal(records_in(tv, "people"), before + 1);
}

static void test_schema_key_text(void **state)
{
    /* Schema text from before key fields still parses; ":k" round-trips. */
    struct vault_ds *d = calloc(1, sizeof *d);
    char out[256];
    (void)state;
    assert_non_null(d);
    assert_int_equal(vault_schema_parse("v1;bits=18;a:text:s;b:name", d), 0);
    assert_int_equal(d->nfields, 2);
    assert_int_equal(d->fields[0].searchable, 1);
    assert_int_equal(d->fields[0].key, 0);
    assert_int_equal(d->fields[1].key, 0);
    assert_int_equal(
        vault_schema_parse("v1;bits=18;a:name:s:k;b:date:s:k;c:text", d), 0);
    assert_int_equal(d->fields[0].key, 1);
    assert_int_equal(d->fields[1].key, 1);
    assert_int_equal(d->fields[2].key, 0);
    assert_int_equal(vault_schema_format(d, out, sizeof out), 0);
    assert_string_equal(out, "v1;bits=18;a:name:s:k;b:date:s:k;c:text");
    assert_int_equal(vault_schema_parse("v1;bits=18;a:name:k", d),
                     MAMORI_EINVAL);
    assert_int_equal(vault_schema_parse("v1;bits=18;a:name:s:k:k", d),
                     MAMORI_EINVAL);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_key_text),
        cmocka_unit_test_setup_teardown(test_basic_counts_sha, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_same_file,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_lines_as_excel_rows,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_header_case_and_width,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_every_problem_of_a_row,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_every_problem_many_rows,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_header_problems, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_header_names_no_value,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_field, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_mynumber_and_roles, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_composite_key,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_verify, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_cp932_and_truncated,
                                        tv_group_setup, tv_group_teardown),
        cmocka_unit_test_setup_teardown(test_empty_rows_skipped, tv_group_setup,
                                        tv_group_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
