/*
 * test_cp932.c - CP932 <-> UTF-8: the Microsoft extensions (① 髙 﨑),
 * the characters where CP932 and JIS Shift_JIS differ (～ －), streaming
 * over every split point, errors with their offset and code point.
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
#include "cp932.h"
#include "banned.h"

/* CP932 bytes and their UTF-8. */
struct pair {
    const char *cp932;
    const char *utf8;
};

static const struct pair pairs[] = {
    {"\x87\x40", "\xe2\x91\xa0"},             /* ① U+2460 (NEC row 13) */
    {"\xfb\xfc", "\xe9\xab\x99"},             /* 髙 U+9AD9 (IBM extension) */
    {"\xfa\xb1", "\xef\xa8\x91"},             /* 﨑 U+FA11 */
    {"\x81\x60", "\xef\xbd\x9e"},             /* ～ U+FF5E, not U+301C */
    {"\x81\x7c", "\xef\xbc\x8d"},             /* － U+FF0D, not U+2212 */
    {"\xb1\xdd", "\xef\xbd\xb1\xef\xbe\x9d"}, /* ｱﾝ half-width katakana */
    {"\x8e\x52\x93\x63", "\xe5\xb1\xb1\xe7\x94\xb0"}, /* 山田 */
    {"abc,\"1\"\r\n", "abc,\"1\"\r\n"},
};

static void test_decode_extensions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_int_equal(cp932_to_utf8(pairs[i].cp932, strlen(pairs[i].cp932),
                                       &out, &n, NULL),
                         0);
        assert_int_equal(n, strlen(pairs[i].utf8));
        assert_memory_equal(out, pairs[i].utf8, n);
        assert_int_equal(out[n], '\0');
        free(out);
    }
}

static void test_decode_nec_ibm_duplicate(void **state)
{
    /* 﨑 has two CP932 codes (IBM 0xFAB1, NEC-selected IBM 0xED95): both
     * decode to U+FA11; encoding picks one of them. */
    char *out = NULL, *back = NULL;
    size_t n, bn;
    (void)state;
    assert_int_equal(cp932_to_utf8("\xed\x95", 2, &out, &n, NULL), 0);
    assert_string_equal(out, "\xef\xa8\x91");
    assert_int_equal(cp932_from_utf8(out, n, &back, &bn, NULL), 0);
    assert_int_equal(bn, 2);
    assert_true(memcmp(back, "\xfa\xb1", 2) == 0 ||
                memcmp(back, "\xed\x95", 2) == 0);
    free(out);
    free(back);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_int_equal(cp932_from_utf8(pairs[i].utf8, strlen(pairs[i].utf8),
                                         &out, &n, NULL),
                         0);
        assert_int_equal(n, strlen(pairs[i].cp932));
        assert_memory_equal(out, pairs[i].cp932, n);
        free(out);
    }
}

static void test_encode_unmappable_named(void **state)
{
    /* "ab𠮷c": 𠮷 (U+20BB7) has no CP932 form; error at byte 2. */
    const char in[] = "ab\xf0\xa0\xae\xb7"
                      "c";
    struct cp932 *c;
    char out[64];
    size_t n = 99, bad = 0;
    uint64_t off = 0;
    uint32_t cp = 0;
    char *o = NULL;
    (void)state;

    assert_int_equal(cp932_new(CP932_ENCODE, &c), 0);
    assert_int_equal(cp932_convert(c, in, strlen(in), 1, out, sizeof out, &n),
                     MAMORI_EINVAL);
    assert_int_equal(n, 2); /* "ab" converted before it */
    assert_memory_equal(out, "ab", 2);
    cp932_error(c, &off, &cp);
    assert_int_equal(off, 2);
    assert_int_equal(cp, 0x20BB7);
    /* After an error the converter refuses until reset. */
    assert_int_equal(cp932_convert(c, "x", 1, 1, out, sizeof out, &n),
                     MAMORI_EINVAL);
    cp932_reset(c);
    assert_int_equal(cp932_convert(c, "x", 1, 1, out, sizeof out, &n), 0);
    assert_int_equal(n, 1);
    cp932_free(c);

    /* An emoji, and invalid UTF-8 (code point 0). */
    assert_int_equal(cp932_from_utf8("\xf0\x9f\x98\x80", 4, &o, &n, &bad),
                     MAMORI_EINVAL);
    assert_null(o);
    assert_int_equal(bad, 0);
    assert_int_equal(cp932_new(CP932_ENCODE, &c), 0);
    assert_int_equal(cp932_convert(c, "a\xff", 2, 1, out, sizeof out, &n),
                     MAMORI_EINVAL);
    cp932_error(c, &off, &cp);
    assert_int_equal(off, 1);
    assert_int_equal(cp, 0);
    cp932_free(c);
}

static void test_decode_invalid(void **state)
{
    static const struct {
        const char *in;
        size_t len, bad;
    } cases[] = {
        {"ab\x81\x20", 4, 2}, /* bad trail byte */
        {"\xa0", 1, 0},       /* unassigned single byte */
        {"x\x80", 2, 1},
        {"\x85\x40", 2, 0}, /* unassigned row */
        {"ok\xfd", 3, 2},
        {"\x88", 1, 0}, /* lead byte cut short at the end */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = (char *)1;
        size_t n, bad = 999;
        assert_int_equal(
            cp932_to_utf8(cases[i].in, cases[i].len, &out, &n, &bad),
            MAMORI_EINVAL);
        assert_null(out);
        assert_int_equal(bad, cases[i].bad);
    }
}

/* Converts in, cut into two chunks at every point, and in one-byte chunks:
 * always the same output as in one go. */
static void check_splits(enum cp932_dir dir, const char *in, size_t len,
                         const char *want, size_t wantlen)
{
    struct cp932 *c;
    char out[512];
    assert_int_equal(cp932_new(dir, &c), 0);
    for (size_t cut = 0; cut <= len; cut++) {
        size_t n1 = 0, n2 = 0;
        cp932_reset(c);
        assert_int_equal(cp932_convert(c, in, cut, 0, out, sizeof out, &n1), 0);
        assert_int_equal(cp932_convert(c, in + cut, len - cut, 1, out + n1,
                                       sizeof out - n1, &n2),
                         0);
        assert_int_equal(n1 + n2, wantlen);
        assert_memory_equal(out, want, wantlen);
    }
    cp932_reset(c);
    size_t total = 0;
    for (size_t i = 0; i < len; i++) {
        size_t n = 0;
        assert_int_equal(cp932_convert(c, in + i, 1, i + 1 == len, out + total,
                                       sizeof out - total, &n),
                         0);
        total += n;
    }
    assert_int_equal(total, wantlen);
    assert_memory_equal(out, want, wantlen);
    cp932_free(c);
}

static void test_streaming_splits(void **state)
{
    char sj[128], u8[256];
    size_t sl = 0, ul = 0;
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        memcpy(sj + sl, pairs[i].cp932, strlen(pairs[i].cp932));
        sl += strlen(pairs[i].cp932);
        memcpy(u8 + ul, pairs[i].utf8, strlen(pairs[i].utf8));
        ul += strlen(pairs[i].utf8);
    }
    check_splits(CP932_DECODE, sj, sl, u8, ul);
    check_splits(CP932_ENCODE, u8, ul, sj, sl);
}

static void test_streaming_error_offset(void **state)
{
    /* The bad byte is in the second chunk: its offset counts the stream. */
    struct cp932 *c;
    char out[64];
    size_t n;
    uint64_t off;
    (void)state;
    assert_int_equal(cp932_new(CP932_DECODE, &c), 0);
    assert_int_equal(cp932_convert(c, "abc\x88", 4, 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cp932_convert(c,
                                   "\x9f"
                                   "de\xa0",
                                   4, 1, out, sizeof out, &n),
                     MAMORI_EINVAL);
    assert_int_equal(n, 5); /* 亜 (3 bytes) + "de" */
    cp932_error(c, &off, NULL);
    assert_int_equal(off, 7);
    /* A lead byte held, then the stream ends: an error at it. */
    cp932_reset(c);
    assert_int_equal(cp932_convert(c, "ab\x88", 3, 0, out, sizeof out, &n), 0);
    assert_int_equal(cp932_convert(c, "", 0, 1, out, sizeof out, &n),
                     MAMORI_EINVAL);
    cp932_error(c, &off, NULL);
    assert_int_equal(off, 2);
    cp932_free(c);
}

static void test_output_bound(void **state)
{
    struct cp932 *c;
    char out[8];
    size_t n = 7;
    (void)state;
    assert_int_equal(cp932_new(CP932_DECODE, &c), 0);
    /* Too small for the worst case: refused, nothing consumed. */
    assert_true(cp932_out_max(c, 100) >= 300);
    assert_int_equal(
        cp932_convert(c, "\xb1\xb1\xb1\xb1", 4, 1, out, sizeof out, &n),
        MAMORI_ETOOBIG);
    assert_int_equal(n, 0);
    assert_int_equal(cp932_out_max(c, SIZE_MAX), 0);
    /* Half-width katakana: 3 bytes out for each byte in, exactly fits. */
    char big[3 * 4 + 8];
    assert_int_equal(
        cp932_convert(c, "\xb1\xb1\xb1\xb1", 4, 1, big, sizeof big, &n), 0);
    assert_int_equal(n, 12);
    assert_int_equal(cp932_convert(c, NULL, 1, 1, big, sizeof big, &n),
                     MAMORI_EINVAL);
    cp932_free(c);
}

static void test_hostile_bytes(void **state)
{
    /* Every byte pair: decoding either succeeds with valid UTF-8 or fails
     * at offset 0 or 1; never more output than the bound. */
    struct cp932 *c;
    char out[32];
    (void)state;
    assert_int_equal(cp932_new(CP932_DECODE, &c), 0);
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            unsigned char in[2] = {(unsigned char)a, (unsigned char)b};
            size_t n = 0;
            uint64_t off = 99;
            cp932_reset(c);
            int rc = cp932_convert(c, in, 2, 1, out, sizeof out, &n);
            if (rc == 0) {
                assert_true(n >= 1 && n <= 6);
            } else {
                assert_int_equal(rc, MAMORI_EINVAL);
                cp932_error(c, &off, NULL);
                assert_true(off <= 1);
            }
        }
    }
    cp932_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_extensions),
        cmocka_unit_test(test_decode_nec_ibm_duplicate),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_encode_unmappable_named),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_streaming_splits),
        cmocka_unit_test(test_streaming_error_offset),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_hostile_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
