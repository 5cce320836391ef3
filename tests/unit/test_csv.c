/*
 * test_csv.c - the streaming CSV reader: RFC 4180 quoting, CRLF, line
 * numbers of rows spanning lines, every chunk size, CR-only line ends, BOM
 * and encoding detection (a stray byte in UTF-8, CP932 at the end of a
 * read), UTF-16/UTF-32 refused, CP932, and the errors
 * (truncated, malformed, limits, bad bytes, NUL bytes, read failure) with
 * their line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori.h"
#include "csvread.h"
#include "banned.h"

/* An in-memory source handing out at most `step` bytes per read. */
struct src {
    const char *data;
    size_t len, pos, step;
    int fail_at; /* read number that fails, 0 never */
    int reads;
};

static long src_read(void *arg, void *buf, size_t len)
{
    struct src *s = arg;
    size_t n = s->len - s->pos;
    if (s->fail_at && ++s->reads == s->fail_at)
        return -1;
    if (n > len)
        n = len;
    if (s->step && n > s->step)
        n = s->step;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (long)n;
}

/* Reads every row into a printable form: "L<line>:f1|f2|...\n". */
static int read_all(const char *data, size_t len, size_t step,
                    enum csv_encoding enc, const struct csv_limits *lim,
                    char *out, size_t outsize, struct csv_error *err,
                    enum csv_encoding *found)
{
    struct src s = {data, len, 0, step, 0, 0};
    struct csv_reader *r;
    struct csv_row row;
    size_t o = 0;
    int rc;

    out[0] = '\0';
    assert_int_equal(csv_reader_new(src_read, &s, enc, lim, &r), 0);
    while ((rc = csv_reader_next(r, &row)) == 0) {
        o += (size_t)snprintf(out + o, outsize - o,
                              "L%llu:", (unsigned long long)row.line);
        for (size_t i = 0; i < row.n; i++) {
            assert_int_equal(strlen(row.field[i]), row.len[i]);
            o += (size_t)snprintf(out + o, outsize - o, "%s%s", i ? "|" : "",
                                  row.field[i]);
        }
        o += (size_t)snprintf(out + o, outsize - o, "\n");
        assert_true(o < outsize);
    }
    if (err)
        *err = *csv_reader_error(r);
    if (found)
        *found = csv_reader_encoding(r);
    /* Errors are sticky; the end stays the end. */
    assert_int_equal(csv_reader_next(r, &row), rc);
    csv_reader_free(r);
    return rc;
}

static void test_rfc4180_lines(void **state)
{
    static const char in[] = "name,note\r\n"
                             "a,\"x,y\"\r\n"
                             "b,\"multi\r\nline\"\r\n"
                             "\r\n"
                             "c,\"say \"\"hi\"\"\"\r\n"
                             " e , \r\n"
                             ",\n"
                             "d,last";
    /* Lines as Excel numbers its rows: the line break inside b's note is
     * not one, the blank line is. */
    static const char want[] = "L1:name|note\n"
                               "L2:a|x,y\n"
                               "L3:b|multi\r\nline\n"
                               "L5:c|say \"hi\"\n"
                               "L6: e | \n"
                               "L7:|\n"
                               "L8:d|last\n";
    static const size_t steps[] = {0, 1, 2, 3, 5, 7, 11};
    char out[1024];
    (void)state;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        enum csv_encoding e;
        assert_int_equal(read_all(in, strlen(in), steps[i], CSV_ENC_AUTO, NULL,
                                  out, sizeof out, NULL, &e),
                         1);
        assert_string_equal(out, want);
        assert_int_equal(e, CSV_ENC_UTF8); /* ASCII only */
    }
}

static void test_bom_utf8(void **state)
{
    static const char in[] = "\xef\xbb\xbfname,kana\n"
                             "\xe5\xb1\xb1\xe7\x94\xb0,\xef\xbe\x94\xef\xbe"
                             "\x8f\xef\xbe\x80\xef\xbe\x9e\n";
    char out[256];
    enum csv_encoding e;
    (void)state;
    for (size_t step = 0; step < 5; step++) {
        assert_int_equal(read_all(in, strlen(in), step, CSV_ENC_AUTO, NULL, out,
                                  sizeof out, NULL, &e),
                         1);
        assert_string_equal(out, "L1:name|kana\nL2:\xe5\xb1\xb1\xe7\x94\xb0|"
                                 "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef"
                                 "\xbe\x9e\n");
        assert_int_equal(e, CSV_ENC_UTF8);
    }
    /* Forced UTF-8 drops the BOM too. */
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_UTF8, NULL, out,
                              sizeof out, NULL, NULL),
                     1);
    assert_memory_equal(out, "L1:name|", 8);
}

static void test_utf8_detected_without_bom(void **state)
{
    static const char in[] = "a,b\n\xe9\xab\x99,\xef\xa8\x91\n";
    char out[256];
    enum csv_encoding e;
    (void)state;
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_AUTO, NULL, out,
                              sizeof out, NULL, &e),
                     1);
    assert_int_equal(e, CSV_ENC_UTF8);
    assert_string_equal(out, "L1:a|b\nL2:\xe9\xab\x99|\xef\xa8\x91\n");
}

static void test_cp932_detected(void **state)
{
    /* ① 髙 﨑 ～ － in CP932, CRLF, a quoted field with a comma. */
    static const char in[] = "name,note\r\n"
                             "\xfb\xfc\x96\xec,\"\x87\x40,\x81\x60\"\r\n"
                             "\xfa\xb1\x8e\x52,\x81\x7c\xb1\r\n";
    static const char want[] =
        "L1:name|note\n"
        "L2:\xe9\xab\x99\xe9\x87\x8e|\xe2\x91\xa0,\xef\xbd\x9e\n"
        "L3:\xef\xa8\x91\xe5\xb1\xb1|\xef\xbc\x8d\xef\xbd\xb1\n";
    char out[256];
    enum csv_encoding e;
    (void)state;
    for (size_t step = 0; step < 6; step++) {
        assert_int_equal(read_all(in, strlen(in), step, CSV_ENC_AUTO, NULL, out,
                                  sizeof out, NULL, &e),
                         1);
        assert_string_equal(out, want);
        assert_int_equal(e, CSV_ENC_CP932);
    }
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_CP932, NULL, out,
                              sizeof out, NULL, &e),
                     1);
    assert_string_equal(out, want);
}

static void test_cp932_late_in_file(void **state)
{
    /* 100 kB of ASCII rows, then a CP932 row: detected when it comes. */
    size_t n = 0, cap = 120000;
    char *in = malloc(cap), *out = malloc(cap * 2);
    enum csv_encoding e;
    struct csv_error err;
    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    n += (size_t)snprintf(in, cap, "a,b\n");
    while (n < 100000)
        n += (size_t)snprintf(in + n, cap - n, "xxxxxxxx,yyyyyyyy\n");
    memcpy(in + n, "\x8e\x52,\x93\x63\n", 6);
    n += 6;
    assert_int_equal(
        read_all(in, n, 0, CSV_ENC_AUTO, NULL, out, cap * 2, &err, &e), 1);
    assert_int_equal(e, CSV_ENC_CP932);
    assert_non_null(strstr(out, "|\xe7\x94\xb0\n"));
    free(in);
    free(out);
}

static void test_wrong_encoding_forced(void **state)
{
    static const char in[] = "name,kana\r\n"
                             "ok,ok\r\n"
                             "\x8e\x52\x93\x63,x\r\n";
    char out[256];
    struct csv_error err;
    (void)state;
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_UTF8, NULL, out,
                              sizeof out, &err, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.what, "UTF-8"));
    /* Rows before the bad one were delivered. */
    assert_string_equal(out, "L1:name|kana\nL2:ok|ok\n");
}

static void test_cp932_invalid_bytes(void **state)
{
    static const char in[] = "a,b\r\n\x93\x63,\"x\ny\x81\x20\"\r\n";
    char out[256];
    struct csv_error err;
    (void)state;
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_CP932, NULL, out,
                              sizeof out, &err, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 2);
    assert_non_null(strstr(err.what, "CP932"));
}

static void test_truncated(void **state)
{
    static const char in[] = "a,b\nc,d\ne,\"open\nstill open\nand";
    char out[256];
    struct csv_error err;
    (void)state;
    for (size_t step = 0; step < 4; step++) {
        assert_int_equal(read_all(in, strlen(in), step, CSV_ENC_AUTO, NULL, out,
                                  sizeof out, &err, NULL),
                         MAMORI_EINVAL);
        assert_int_equal(err.line, 3);
        assert_int_equal(err.column, 2);
        assert_non_null(strstr(err.what, "not closed"));
        assert_string_equal(out, "L1:a|b\nL2:c|d\n");
    }
}

static void test_malformed_quotes(void **state)
{
    static const char *bad[] = {"a,b\nx,y\"z\n", "a,b\nx,\"y\"z\n",
                                "a,b\nx,\"y\" \n"};
    char out[256];
    struct csv_error err;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(read_all(bad[i], strlen(bad[i]), 0, CSV_ENC_AUTO, NULL,
                                  out, sizeof out, &err, NULL),
                         MAMORI_EINVAL);
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 2);
        assert_non_null(strstr(err.what, "quot"));
    }
}

static void test_limits(void **state)
{
    struct csv_limits lim = {10, 3, 20};
    char out[256];
    struct csv_error err;
    (void)state;
    /* A field of 11 bytes. */
    assert_int_equal(read_all("a\n12345678901\n", 14, 0, CSV_ENC_AUTO, &lim,
                              out, sizeof out, &err, NULL),
                     MAMORI_ETOOBIG);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.what, "field too long");
    /* Exactly at the limit is fine. */
    assert_int_equal(read_all("1234567890\n", 11, 0, CSV_ENC_AUTO, &lim, out,
                              sizeof out, &err, NULL),
                     1);
    /* Four fields. */
    assert_int_equal(read_all("a\n\n1,2,3,4\n", 11, 0, CSV_ENC_AUTO, &lim, out,
                              sizeof out, &err, NULL),
                     MAMORI_ETOOBIG);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 4);
    /* A row of 21 bytes in 3 fields. */
    assert_int_equal(read_all("1234567,1234567,1234567\n", 24, 0, CSV_ENC_AUTO,
                              &lim, out, sizeof out, &err, NULL),
                     MAMORI_ETOOBIG);
    assert_string_equal(err.what, "row too long");
}

static void test_huge_field_bounded(void **state)
{
    /* 8 MB in one quoted field with no line end: refused at the limit
     * without buffering it all. */
    size_t n = 8u << 20;
    char *in = malloc(n), out[64];
    struct csv_error err;
    (void)state;
    assert_non_null(in);
    memset(in, 'x', n);
    in[0] = '"';
    assert_int_equal(
        read_all(in, n, 0, CSV_ENC_AUTO, NULL, out, sizeof out, &err, NULL),
        MAMORI_ETOOBIG);
    assert_int_equal(err.line, 1);
    free(in);
}

static void test_read_error(void **state)
{
    struct src s = {"a,b\nc,d\n", 8, 0, 4, 2, 0};
    struct csv_reader *r;
    struct csv_row row;
    (void)state;
    assert_int_equal(csv_reader_new(src_read, &s, CSV_ENC_AUTO, NULL, &r), 0);
    assert_int_equal(csv_reader_next(r, &row), 0);
    assert_int_equal(csv_reader_next(r, &row), MAMORI_EIO);
    assert_int_equal(csv_reader_next(r, &row), MAMORI_EIO);
    csv_reader_free(r);
    assert_int_equal(csv_reader_new(NULL, &s, CSV_ENC_AUTO, NULL, &r),
                     MAMORI_EINVAL);
}

static void test_empty(void **state)
{
    char out[64];
    struct csv_error err;
    (void)state;
    assert_int_equal(
        read_all("", 0, 0, CSV_ENC_AUTO, NULL, out, sizeof out, &err, NULL), 1);
    assert_string_equal(out, "");
    assert_int_equal(read_all("\r\n\r\n\n", 5, 0, CSV_ENC_AUTO, NULL, out,
                              sizeof out, &err, NULL),
                     1);
    assert_string_equal(out, "");
}

/* A NUL byte would cut a field short wherever it goes on as a C string:
 * the field is refused, naming its line and column. */
static void test_nul_refused(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        enum csv_encoding enc;
        uint64_t line;
        size_t column;
        const char *before;
    } bad[] = {
        {"a\0b\n", 4, CSV_ENC_AUTO, 1, 1, ""},
        {"id,mn\n1,123456789018\0ZZZ\n", 25, CSV_ENC_AUTO, 2, 2, "L1:id|mn\n"},
        {"id,name\r\n1,\"\0\xe5\xb1\xb1\"\r\n", 19, CSV_ENC_AUTO, 2, 2,
         "L1:id|name\n"},
        {"id,name\r\n1,\"x\ny\0\"\r\n", 19, CSV_ENC_UTF8, 2, 2, "L1:id|name\n"},
        {"id,name\r\n1,\x8e\x52\0\r\n", 16, CSV_ENC_CP932, 2, 2,
         "L1:id|name\n"},
    };
    char out[256];
    struct csv_error err;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t step = 0; step < 4; step++) {
            assert_int_equal(read_all(bad[i].in, bad[i].len, step, bad[i].enc,
                                      NULL, out, sizeof out, &err, NULL),
                             MAMORI_EINVAL);
            assert_int_equal(err.line, bad[i].line);
            assert_int_equal(err.column, bad[i].column);
            assert_string_equal(err.what, "contains a NUL byte");
            assert_string_equal(out, bad[i].before);
        }
    }
}

/* A CR alone ends a line (old Mac, some Excel exports), as LF and CRLF
 * do; a CRLF split between two reads is one line end. */
static void test_cr_line_ends(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a,b\rc,d\r\re,f\r", "L1:a|b\nL2:c|d\nL4:e|f\n"},
        {"a,b\rc,d\r\ne,f\nx,y", "L1:a|b\nL2:c|d\nL3:e|f\nL4:x|y\n"},
        /* (the CR in the quoted field is no line of its own) */
        {"a,\"x\ry\"\rb,c\r\n\r\nd,e", "L1:a|x\ry\nL2:b|c\nL4:d|e\n"},
        {"a\r\n\r\n\rb\r\r\nc", "L1:a\nL4:b\nL6:c\n"},
    };
    static const size_t steps[] = {0, 1, 2, 3, 4, 5, 7};
    char out[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            assert_int_equal(read_all(cases[i].in, strlen(cases[i].in),
                                      steps[k], CSV_ENC_AUTO, NULL, out,
                                      sizeof out, NULL, NULL),
                             1);
            assert_string_equal(out, cases[i].want);
        }
    }
    /* An error names the right line too. */
    struct csv_error err;
    assert_int_equal(read_all("a,b\rc,d\rx,y\"z\r", 14, 0, CSV_ENC_AUTO, NULL,
                              out, sizeof out, &err, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(err.line, 3);
}

/* A UTF-8 file with one stray byte stays UTF-8 (the field holding the byte
 * is refused), even when the whole sample would decode as CP932, which
 * would import every value as mojibake. */
static void test_utf8_stray_byte(void **state)
{
    /* アイ,アイ / イア,イア / 0xE9 アイ,アイ: all of it decodes as CP932. */
    static const char in[] =
        "name,kana\n"
        "\xe3\x82\xa2\xe3\x82\xa4,\xe3\x82\xa2\xe3\x82\xa4\n"
        "\xe3\x82\xa4\xe3\x82\xa2,\xe3\x82\xa4\xe3\x82\xa2\n"
        "\xe9\xe3\x82\xa2\xe3\x82\xa4,\xe3\x82\xa2\xe3\x82\xa4\n";
    /* 山田,ヤマダ / 田中 0xE9,タナカ. */
    static const char in2[] = "name,kana\r\n"
                              "\xe5\xb1\xb1\xe7\x94\xb0,\xe3\x83\xa4\xe3\x83"
                              "\x9e\xe3\x83\x80\r\n"
                              "\xe7\x94\xb0\xe4\xb8\xad\xe9,\xe3\x82\xbf\xe3"
                              "\x83\x8a\xe3\x82\xab\r\n";
    char out[256];
    struct csv_error err;
    enum csv_encoding e;
    (void)state;
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_AUTO, NULL, out,
                              sizeof out, &err, &e),
                     MAMORI_EINVAL);
    assert_int_equal(e, CSV_ENC_UTF8);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.what, "UTF-8"));
    assert_string_equal(out, "L1:name|kana\n"
                             "L2:\xe3\x82\xa2\xe3\x82\xa4|\xe3\x82\xa2\xe3\x82"
                             "\xa4\n"
                             "L3:\xe3\x82\xa4\xe3\x82\xa2|\xe3\x82\xa4\xe3\x82"
                             "\xa2\n");
    assert_int_equal(read_all(in2, strlen(in2), 0, CSV_ENC_AUTO, NULL, out,
                              sizeof out, &err, &e),
                     MAMORI_EINVAL);
    assert_int_equal(e, CSV_ENC_UTF8);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.what, "UTF-8"));
}

/* A CP932 file with a corrupt byte further on: still CP932, and the error
 * names the corrupt line, not the first line that is not UTF-8. */
static void test_cp932_corrupt_later(void **state)
{
    /* name,kana / 山田,ヤマダ / 0xFF 0xFE,タ */
    static const char in[] = "name,kana\r\n"
                             "\x8e\x52\x93\x63,\x83\x84\x83\x7d\x83\x5f\r\n"
                             "\xff\xfe,\x83\x5e\r\n";
    char out[256];
    struct csv_error err;
    enum csv_encoding e;
    (void)state;
    assert_int_equal(read_all(in, strlen(in), 0, CSV_ENC_AUTO, NULL, out,
                              sizeof out, &err, &e),
                     MAMORI_EINVAL);
    assert_int_equal(e, CSV_ENC_CP932);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.what, "CP932"));
    assert_string_equal(out, "L1:name|kana\n"
                             "L2:\xe5\xb1\xb1\xe7\x94\xb0|\xe3\x83\xa4\xe3\x83"
                             "\x9e\xe3\x83\x80\n");
}

/* Excel's "Unicode Text" is UTF-16LE with a BOM (and TABs): refused at
 * once, naming the encoding, whatever encoding was asked for, and never
 * read as mojibake or as a file of NUL bytes. */
static void test_utf16_refused(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *what;
    } bad[] = {
        {"\xff\xfen\0a\0m\0e\0\t\0k\0\r\0\n\0", 18, "UTF-16"},
        {"\xfe\xff\0n\0a\0m\0e\0,\0k\0\n", 16, "UTF-16"},
        {"n\0a\0m\0e\0,\0k\0\r\0\n\0", 16, "UTF-16"},
        {"\0n\0a\0m\0e\0,\0k\0\n", 14, "UTF-16"},
        {"\xff\xfe\0\0n\0\0\0\n\0\0\0", 12, "UTF-32"},
        {"\0\0\xfe\xff\0\0\0n\0\0\0\n", 12, "UTF-32"},
    };
    static const enum csv_encoding encs[] = {CSV_ENC_AUTO, CSV_ENC_UTF8,
                                             CSV_ENC_CP932};
    char out[64];
    struct csv_error err;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t k = 0; k < 3; k++) {
            for (size_t step = 0; step < 3; step++) {
                assert_int_equal(read_all(bad[i].in, bad[i].len, step, encs[k],
                                          NULL, out, sizeof out, &err, NULL),
                                 MAMORI_EINVAL);
                assert_string_equal(out, "");
                assert_int_equal(err.line, 1);
                assert_int_equal(err.column, 0);
                assert_non_null(strstr(err.what, bad[i].what));
            }
        }
    }
}

/* The reader reads 64 KiB at a time. A CP932 file whose first non-ASCII
 * bytes fall at the very end of a read (E3 81 is a cut UTF-8 sequence, and
 * a level-2 kanji in CP932) is still CP932: the encoding is not decided on
 * two bytes; nor on the few bytes a short read (a pipe) gives. */
static void test_cp932_at_chunk_end(void **state)
{
    static const char tail[] = "\xe3\x81\x82\xa0\x82\xa2,\x83\x5e\r\n"
                               "\x8e\x52,\x93\x63\r\n";
    static const size_t steps[] = {0, 1, 7, 4096};
    size_t n = 0, cap = 70000, chunk = 64 * 1024;
    char *in = malloc(cap), *out = malloc(cap * 2);
    enum csv_encoding e;
    struct csv_error err;
    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    n += (size_t)snprintf(in, cap, "a,b\r\n");
    while (n + 40 < chunk - 2)
        n += (size_t)snprintf(in + n, cap - n, "xxxxxxxx,yyyyyyyy\r\n");
    memset(in + n, 'z', chunk - 2 - n);
    n = chunk - 2;
    memcpy(in + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        assert_int_equal(read_all(in, n, steps[k], CSV_ENC_AUTO, NULL, out,
                                  cap * 2, &err, &e),
                         1);
        assert_int_equal(e, CSV_ENC_CP932);
        /* z...z縺あい|タ, then 山|田. */
        assert_non_null(strstr(out, "z\xe7\xb8\xba\xe3\x81\x82\xe3\x81\x84|"
                                    "\xe3\x82\xbf\nL3450:\xe5\xb1\xb1|"
                                    "\xe7\x94\xb0\n"));
    }
    /* A short CP932 file read a few bytes at a time. */
    static const char small[] = "a,b\r\n\xe3\x81\x82\xa0\x82\xa2,x\r\n";
    for (size_t step = 1; step < 6; step++) {
        assert_int_equal(read_all(small, strlen(small), step, CSV_ENC_AUTO,
                                  NULL, out, cap * 2, &err, &e),
                         1);
        assert_int_equal(e, CSV_ENC_CP932);
        assert_string_equal(out, "L1:a|b\nL2:\xe7\xb8\xba\xe3\x81\x82\xe3\x81"
                                 "\x84|x\n");
    }
    free(in);
    free(out);
}

static void test_encoding_names(void **state)
{
    enum csv_encoding e;
    (void)state;
    assert_int_equal(csv_encoding_parse("UTF-8", &e), 0);
    assert_int_equal(e, CSV_ENC_UTF8);
    assert_int_equal(csv_encoding_parse("cp932", &e), 0);
    assert_int_equal(e, CSV_ENC_CP932);
    assert_int_equal(csv_encoding_parse("auto", &e), 0);
    assert_int_equal(e, CSV_ENC_AUTO);
    assert_int_equal(csv_encoding_parse("latin1", &e), -1);
    assert_int_equal(csv_encoding_parse(NULL, &e), -1);
    assert_string_equal(csv_encoding_name(CSV_ENC_CP932), "cp932");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4180_lines),
        cmocka_unit_test(test_bom_utf8),
        cmocka_unit_test(test_utf8_detected_without_bom),
        cmocka_unit_test(test_cp932_detected),
        cmocka_unit_test(test_cp932_late_in_file),
        cmocka_unit_test(test_wrong_encoding_forced),
        cmocka_unit_test(test_cp932_invalid_bytes),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_malformed_quotes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_huge_field_bounded),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_cr_line_ends),
        cmocka_unit_test(test_utf8_stray_byte),
        cmocka_unit_test(test_cp932_corrupt_later),
        cmocka_unit_test(test_utf16_refused),
        cmocka_unit_test(test_cp932_at_chunk_end),
        cmocka_unit_test(test_encoding_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
