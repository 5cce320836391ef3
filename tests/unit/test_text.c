/*
 * test_text.c - unit tests for lib/text.c: validators, canonical forms,
 * search keys, check digits, dates, hostile input. All values are synthetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

/* The rule text must not contain the value (nor, for values of 2 bytes or
 * more, any copy of it). */
static void assert_rule_clean(const char *rule, const char *in, size_t len)
{
    assert_non_null(rule);
    assert_true(strlen(rule) > 0);
    if (len >= 2)
        assert_null(memmem(rule, strlen(rule), in, len));
}

static char *canon_n(enum field_type t, const char *in, size_t len)
{
    char *out = NULL, *again = NULL;
    const char *rule = NULL;
    int rc = text_canonical(t, in, len, &out, &rule);

    if (rc != 0)
        fail_msg("%s: \"%.*s\" rejected: %s", text_type_name(t), (int)len, in,
                 rule ? rule : "(no rule)");
    assert_non_null(out);
    assert_null(rule);
    assert_true(text_utf8_valid(out, strlen(out)));
    /* idempotence */
    rc = text_canonical(t, out, strlen(out), &again, &rule);
    if (rc != 0)
        fail_msg("%s: canonical \"%s\" rejected: %s", text_type_name(t), out,
                 rule ? rule : "(no rule)");
    assert_string_equal(again, out);
    free(again);
    return out;
}

static void canon_ok(enum field_type t, const char *in, const char *want)
{
    char *out = canon_n(t, in, strlen(in));

    if (strcmp(out, want) != 0)
        fail_msg("%s: \"%s\" -> \"%s\", want \"%s\"", text_type_name(t), in,
                 out, want);
    free(out);
}

static void canon_bad_n(enum field_type t, const char *in, size_t len,
                        const char *want_rule)
{
    char sentinel = 0;
    char *out = &sentinel;
    const char *rule = NULL;
    int rc = text_canonical(t, in, len, &out, &rule);

    if (rc == 0)
        fail_msg("%s: \"%.*s\" accepted as \"%s\"", text_type_name(t), (int)len,
                 in, out);
    assert_int_equal(rc, -1);
    assert_null(out);
    assert_rule_clean(rule, in, len);
    if (want_rule != NULL && strcmp(rule, want_rule) != 0)
        fail_msg("%s: \"%.*s\": rule \"%s\", want \"%s\"", text_type_name(t),
                 (int)len, in, rule, want_rule);
}

static void canon_bad(enum field_type t, const char *in, const char *want)
{
    canon_bad_n(t, in, strlen(in), want);
}

static char *key_n(enum field_type t, const char *in, size_t len)
{
    char *out = NULL;
    int rc = text_search_key(t, in, len, &out);

    assert_int_equal(rc, 0);
    assert_non_null(out);
    assert_true(text_utf8_valid(out, strlen(out)));
    return out;
}

static void key_is(enum field_type t, const char *in, const char *want)
{
    char *k = key_n(t, in, strlen(in));

    if (strcmp(k, want) != 0)
        fail_msg("%s key of \"%s\" is \"%s\", want \"%s\"", text_type_name(t),
                 in, k, want);
    free(k);
}

static void key_same(enum field_type t, const char *a, const char *b)
{
    char *ka = key_n(t, a, strlen(a));
    char *kb = key_n(t, b, strlen(b));

    if (strcmp(ka, kb) != 0)
        fail_msg("%s keys differ: \"%s\" -> \"%s\", \"%s\" -> \"%s\"",
                 text_type_name(t), a, ka, b, kb);
    free(ka);
    free(kb);
}

static void key_differ(enum field_type t, const char *a, const char *b)
{
    char *ka = key_n(t, a, strlen(a));
    char *kb = key_n(t, b, strlen(b));

    if (strcmp(ka, kb) == 0)
        fail_msg("%s keys equal: \"%s\", \"%s\" -> \"%s\"", text_type_name(t),
                 a, b, ka);
    free(ka);
    free(kb);
}

/* The search key of the canonical value equals the key of the raw input. */
static void key_stable(enum field_type t, const char *in)
{
    char *c = canon_n(t, in, strlen(in));

    key_same(t, c, in);
    free(c);
}

static void date_is(const char *in, int y, int m, int d)
{
    int yy = 0, mm = 0, dd = 0;
    const char *rule = NULL;
    int rc = text_date_parse(in, strlen(in), &yy, &mm, &dd, &rule);

    if (rc != 0)
        fail_msg("date \"%s\" rejected: %s", in, rule);
    assert_int_equal(yy, y);
    assert_int_equal(mm, m);
    assert_int_equal(dd, d);
}

/* ---- type names --------------------------------------------------------- */

static void test_type_names(void **state)
{
    enum field_type t, u;

    (void)state;
    for (t = FT_TEXT; t < FT_COUNT; t++) {
        assert_int_equal(text_type_parse(text_type_name(t), &u), 0);
        assert_int_equal(u, t);
    }
    assert_int_equal(text_type_parse("mynumber", &u), 0);
    assert_int_equal(u, FT_MYNUMBER);
    assert_int_equal(text_type_parse("corpnumber", &u), 0);
    assert_int_equal(u, FT_CORPNUMBER);
    assert_int_equal(text_type_parse("Name", &u), -1);
    assert_int_equal(text_type_parse("", &u), -1);
    assert_int_equal(text_type_parse("names", &u), -1);
    assert_int_equal(text_type_parse(NULL, &u), -1);
    assert_string_equal(text_type_name(FT_COUNT), "unknown");
    assert_string_equal(text_type_name(FT_KANA), "kana");
}

/* ---- check digits ------------------------------------------------------- */

static void test_mynumber_check_digit(void **state)
{
    (void)state;
    assert_int_equal(text_mynumber_check_digit("12345678901"), '8');
    assert_true(text_mynumber_valid("123456789018"));
    assert_false(text_mynumber_valid("123456789010"));
    assert_false(text_mynumber_valid("123456789017"));
    assert_false(text_mynumber_valid("123456789019"));
    /* r = 0 and r = 1 both give check digit 0 */
    assert_int_equal(text_mynumber_check_digit("00000000000"), '0');
    assert_int_equal(text_mynumber_check_digit("00000000006"), '0');
    assert_true(text_mynumber_valid("000000000060"));
    assert_false(text_mynumber_valid("000000000061"));
    assert_int_equal(text_mynumber_check_digit("10000000001"), '3');
    assert_true(text_mynumber_valid("100000000013"));
    assert_false(text_mynumber_valid("100000000014"));
    assert_false(text_mynumber_valid("100000000012"));
    /* not digits */
    assert_false(text_mynumber_valid("12345678901a"));
    assert_false(text_mynumber_valid("1234567890 8"));
    assert_int_equal(text_mynumber_check_digit("1234567890x"), '\0');
    assert_false(text_mynumber_valid(NULL));

    canon_ok(FT_MYNUMBER, "123456789018", "123456789018");
    canon_ok(FT_MYNUMBER, "1234 5678 9018", "123456789018");
    canon_ok(FT_MYNUMBER, "1234-5678-9018", "123456789018");
    canon_ok(FT_MYNUMBER, "１２３４　５６７８　９０１８", "123456789018");
    canon_ok(FT_MYNUMBER, "１２３４－５６７８－９０１８", "123456789018");
    canon_bad(FT_MYNUMBER, "123456789010", "check digit does not match");
    canon_bad(FT_MYNUMBER, "123456789019", "check digit does not match");
    canon_bad(FT_MYNUMBER, "123456789017", "check digit does not match");
    canon_bad(FT_MYNUMBER, "12345678901", "must be 12 digits");
    canon_bad(FT_MYNUMBER, "1234567890180", "must be 12 digits");
    canon_bad(FT_MYNUMBER, "", "must be 12 digits");
    canon_bad(FT_MYNUMBER, "12345678901x",
              "may contain only digits, spaces and hyphens");
    canon_bad(FT_MYNUMBER, "1234.5678.9018",
              "may contain only digits, spaces and hyphens");
}

static void test_corpnumber_check_digit(void **state)
{
    (void)state;
    assert_int_equal(text_corpnumber_check_digit("000012050002"), '7');
    assert_int_equal(text_corpnumber_check_digit("180301018771"), '1');
    assert_int_equal(text_corpnumber_check_digit("000000000000"), '9');
    assert_true(text_corpnumber_valid("7000012050002"));
    assert_true(text_corpnumber_valid("1180301018771"));
    assert_true(text_corpnumber_valid("9000000000000"));
    assert_false(text_corpnumber_valid("6000012050002"));
    assert_false(text_corpnumber_valid("8000012050002"));
    assert_false(text_corpnumber_valid("0180301018771"));
    assert_false(text_corpnumber_valid("2180301018771"));
    assert_false(text_corpnumber_valid("700001205000x"));
    assert_int_equal(text_corpnumber_check_digit("00001205000"), '\0');

    canon_ok(FT_CORPNUMBER, "7000012050002", "7000012050002");
    canon_ok(FT_CORPNUMBER, "7-0000-1205-0002", "7000012050002");
    canon_ok(FT_CORPNUMBER, "１１８０３０１０１８７７１", "1180301018771");
    canon_bad(FT_CORPNUMBER, "8000012050002", "check digit does not match");
    canon_bad(FT_CORPNUMBER, "6000012050002", "check digit does not match");
    canon_bad(FT_CORPNUMBER, "2180301018771", "check digit does not match");
    canon_bad(FT_CORPNUMBER, "700001205000", "must be 13 digits");
    canon_bad(FT_CORPNUMBER, "123456789018", "must be 13 digits");
    canon_bad(FT_CORPNUMBER, "T7000012050002",
              "may contain only digits, spaces and hyphens");
}

/* ---- dates -------------------------------------------------------------- */

static void test_date_western(void **state)
{
    (void)state;
    canon_ok(FT_DATE, "1980-04-01", "1980-04-01");
    canon_ok(FT_DATE, "1980/4/1", "1980-04-01");
    canon_ok(FT_DATE, "1980.4.1", "1980-04-01");
    canon_ok(FT_DATE, "1980年4月1日", "1980-04-01");
    canon_ok(FT_DATE, "1980年04月01日", "1980-04-01");
    canon_ok(FT_DATE, "１９８０年４月１日", "1980-04-01");
    canon_ok(FT_DATE, "１９８０／０４／０１", "1980-04-01");
    canon_ok(FT_DATE, "１９８０－０４－０１", "1980-04-01");
    canon_ok(FT_DATE, "1980−04−01", "1980-04-01"); /* U+2212 */
    canon_ok(FT_DATE, "19800401", "1980-04-01");
    canon_ok(FT_DATE, " 1980-04-01　", "1980-04-01");
    canon_ok(FT_DATE, "1980年 4月 1日", "1980-04-01");
    canon_ok(FT_DATE, "1873-01-01", "1873-01-01");
    canon_ok(FT_DATE, "9999-12-31", "9999-12-31");
    date_is("2024/12/31", 2024, 12, 31);

    canon_bad(FT_DATE, "1872-12-31",
              "dates before 1873 (lunisolar calendar) are not accepted");
    canon_bad(FT_DATE, "10000-01-01", "not a recognised date format");
    canon_bad(FT_DATE, "80-4-1", "year must have 4 digits");
    canon_bad(FT_DATE, "1980/04-01", "not a recognised date format");
    canon_bad(FT_DATE, "1980年4月1", "not a recognised date format");
    canon_bad(FT_DATE, "1980-4", "not a recognised date format");
    canon_bad(FT_DATE, "1980-04-01-02", "not a recognised date format");
    canon_bad(FT_DATE, "1980-004-01", "not a recognised date format");
    canon_bad(FT_DATE, "April 1, 1980", "not a recognised date format");
    canon_bad(FT_DATE, "", "not a recognised date format");
    canon_bad(FT_DATE, "1980-13-01", "month must be 1 to 12");
    canon_bad(FT_DATE, "1980-00-10", "month must be 1 to 12");
    canon_bad(FT_DATE, "1980-04-00", "day does not exist in that month");
    canon_bad(FT_DATE, "1980-04-31", "day does not exist in that month");
    canon_bad(FT_DATE, "1980年2月30日", "day does not exist in that month");
    canon_bad(FT_DATE, "19800230", "day does not exist in that month");
}

static void test_date_leap(void **state)
{
    (void)state;
    canon_ok(FT_DATE, "2024-02-29", "2024-02-29");
    canon_ok(FT_DATE, "2000-02-29", "2000-02-29");
    canon_ok(FT_DATE, "平成12年2月29日", "2000-02-29");
    canon_ok(FT_DATE, "S55.2.29", "1980-02-29");
    canon_bad(FT_DATE, "2023-02-29", "day does not exist in that month");
    canon_bad(FT_DATE, "1900-02-29", "day does not exist in that month");
    canon_bad(FT_DATE, "2100-02-29", "day does not exist in that month");
    canon_bad(FT_DATE, "令和5年2月29日", "day does not exist in that month");
    canon_bad(FT_DATE, "2024-02-30", "day does not exist in that month");
}

static void test_date_era(void **state)
{
    (void)state;
    canon_ok(FT_DATE, "昭和55年4月1日", "1980-04-01");
    canon_ok(FT_DATE, "S55.4.1", "1980-04-01");
    canon_ok(FT_DATE, "S55/4/1", "1980-04-01");
    canon_ok(FT_DATE, "S55-4-1", "1980-04-01");
    canon_ok(FT_DATE, "s55.4.1", "1980-04-01");
    canon_ok(FT_DATE, "Ｓ５５．４．１", "1980-04-01");
    canon_ok(FT_DATE, "S55年4月1日", "1980-04-01");
    canon_ok(FT_DATE, "昭和 55年 4月 1日", "1980-04-01");
    canon_ok(FT_DATE, "㍼55年4月1日", "1980-04-01"); /* U+337C */
    canon_ok(FT_DATE, "昭和５５年４月１日", "1980-04-01");
    canon_ok(FT_DATE, "H1.1.8", "1989-01-08");
    canon_ok(FT_DATE, "h31.4.30", "2019-04-30");
    canon_ok(FT_DATE, "R1.5.1", "2019-05-01");
    canon_ok(FT_DATE, "R元.5.1", "2019-05-01");
    canon_ok(FT_DATE, "r6/1/1", "2024-01-01");
    canon_ok(FT_DATE, "T15.12.24", "1926-12-24");
    canon_ok(FT_DATE, "M45.7.29", "1912-07-29");
    canon_ok(FT_DATE, "明治6年1月1日", "1873-01-01");

    /* each boundary: last day of the old era, first of the new one */
    canon_ok(FT_DATE, "明治45年7月29日", "1912-07-29");
    canon_bad(FT_DATE, "明治45年7月30日", "date is outside its era");
    canon_ok(FT_DATE, "大正元年7月30日", "1912-07-30");
    canon_bad(FT_DATE, "大正元年7月29日", "date is outside its era");
    canon_ok(FT_DATE, "大正15年12月24日", "1926-12-24");
    canon_bad(FT_DATE, "大正15年12月25日", "date is outside its era");
    canon_ok(FT_DATE, "昭和元年12月25日", "1926-12-25");
    canon_bad(FT_DATE, "昭和元年12月24日", "date is outside its era");
    canon_ok(FT_DATE, "昭和64年1月7日", "1989-01-07");
    canon_bad(FT_DATE, "昭和64年1月8日", "date is outside its era");
    canon_ok(FT_DATE, "平成元年1月8日", "1989-01-08");
    canon_bad(FT_DATE, "平成元年1月7日", "date is outside its era");
    canon_ok(FT_DATE, "平成31年4月30日", "2019-04-30");
    canon_bad(FT_DATE, "平成31年5月1日", "date is outside its era");
    canon_ok(FT_DATE, "令和元年5月1日", "2019-05-01");
    canon_bad(FT_DATE, "令和元年4月30日", "date is outside its era");
    canon_bad(FT_DATE, "H31.5.1", "date is outside its era");
    canon_bad(FT_DATE, "S64.1.8", "date is outside its era");
    canon_bad(FT_DATE, "平成50年1月1日", "date is outside its era");

    canon_bad(FT_DATE, "明治5年12月31日",
              "dates before 1873 (lunisolar calendar) are not accepted");
    canon_bad(FT_DATE, "明治元年10月23日",
              "dates before 1873 (lunisolar calendar) are not accepted");
    canon_bad(FT_DATE, "S0.4.1", "era year must be 1 or more");
    canon_bad(FT_DATE, "昭和0年4月1日", "era year must be 1 or more");
    canon_bad(FT_DATE, "X55.4.1", "not a recognised date format");
    canon_bad(FT_DATE, "元年5月1日", "not a recognised date format");
    canon_bad(FT_DATE, "S55.4.1日", "not a recognised date format");
    canon_bad(FT_DATE, "昭和55年4月", "not a recognised date format");
    canon_bad(FT_DATE, "昭和55年4月31日", "day does not exist in that month");
    canon_bad(FT_DATE, "S5504", "not a recognised date format");

    date_is("昭和64年1月7日", 1989, 1, 7);
    date_is("令和元年5月1日", 2019, 5, 1);
}

/* An era year has 1 or 2 digits (Showa, the longest era, reached 64): a
 * Western year written after an era name is no date. */
static void test_date_era_year_digits(void **state)
{
    (void)state;
    canon_ok(FT_DATE, "S05.4.1", "1930-04-01");
    canon_ok(FT_DATE, "令和７年１月１日", "2025-01-01");
    canon_bad(FT_DATE, "令和2020年1月1日",
              "era year must have at most 2 digits");
    canon_bad(FT_DATE, "R2025.4.1", "era year must have at most 2 digits");
    canon_bad(FT_DATE, "Ｒ２０２５．４．１",
              "era year must have at most 2 digits");
    canon_bad(FT_DATE, "令和7981年12月31日",
              "era year must have at most 2 digits");
    canon_bad(FT_DATE, "S055.4.1", "era year must have at most 2 digits");
    canon_bad(FT_DATE, "平成100年1月1日",
              "era year must have at most 2 digits");
    /* the Western forms keep their 4 digits */
    canon_ok(FT_DATE, "2025/4/1", "2025-04-01");
    canon_ok(FT_DATE, "20250401", "2025-04-01");
    /* not a date, so its search key is no date's key */
    char *k = key_n(FT_DATE, "R2025.4.1", strlen("R2025.4.1"));
    assert_string_not_equal(k, "4043-04-01");
    free(k);
}

static void test_date_parse_api(void **state)
{
    int y = -1, m = -1, d = -1;
    const char *rule = NULL;

    (void)state;
    assert_int_equal(text_date_parse("H31.5.1", 7, &y, &m, &d, &rule), -1);
    assert_string_equal(rule, "date is outside its era");
    assert_int_equal(text_date_parse("\xff", 1, &y, &m, &d, &rule), -1);
    assert_string_equal(rule, "not valid UTF-8");
    /* len is honoured: the trailing junk is outside it */
    assert_int_equal(text_date_parse("1980-04-01junk", 10, &y, &m, &d, &rule),
                     0);
    assert_int_equal(y * 10000 + m * 100 + d, 19800401);
    assert_int_equal(text_date_parse("1980-04-01", 10, &y, &m, &d, NULL), 0);
    assert_int_equal(text_date_parse("1980", 4, NULL, &m, &d, &rule), -1);
}

/* ---- postal ------------------------------------------------------------- */

static void test_postal(void **state)
{
    (void)state;
    canon_ok(FT_POSTAL, "100-0001", "100-0001");
    canon_ok(FT_POSTAL, "1000001", "100-0001");
    canon_ok(FT_POSTAL, "〒100-0001", "100-0001");
    canon_ok(FT_POSTAL, "１００－０００１", "100-0001");
    canon_ok(FT_POSTAL, "〒１００ー０００１", "100-0001");
    canon_ok(FT_POSTAL, " 〒 100 0001 ", "100-0001");
    canon_ok(FT_POSTAL, "100‐0001", "100-0001");   /* U+2010 */
    canon_ok(FT_POSTAL, "100−0001", "100-0001");   /* U+2212 */
    canon_ok(FT_POSTAL, "100―0001", "100-0001");   /* U+2015 */
    canon_ok(FT_POSTAL, "〶100-0001", "100-0001"); /* NFKC -> 〒 */
    canon_bad(FT_POSTAL, "100-000", "must be 7 digits");
    canon_bad(FT_POSTAL, "100-00011", "must be 7 digits");
    canon_bad(FT_POSTAL, "〒", "must be 7 digits");
    canon_bad(FT_POSTAL, "100-000a",
              "may contain only digits, hyphens, spaces and a leading "
              "postal mark");
    canon_bad(FT_POSTAL, "100〒0001",
              "may contain only digits, hyphens, spaces and a leading "
              "postal mark");
    canon_bad(FT_POSTAL, "〒〒100-0001", NULL);

    key_is(FT_POSTAL, "〒100-0001", "1000001");
    key_same(FT_POSTAL, "１００－０００１", "〒100-0001");
    key_stable(FT_POSTAL, "〒１００－０００１");
}

/* ---- phone -------------------------------------------------------------- */

static void test_phone(void **state)
{
    (void)state;
    canon_ok(FT_PHONE, "090-1234-5678", "09012345678");
    canon_ok(FT_PHONE, "０９０ー１２３４ー５６７８", "09012345678");
    canon_ok(FT_PHONE, "０９０－１２３４－５６７８", "09012345678");
    canon_ok(FT_PHONE, "(090) 1234 5678", "09012345678");
    canon_ok(FT_PHONE, "（０９０）１２３４－５６７８", "09012345678");
    canon_ok(FT_PHONE, "+81 90-1234-5678", "09012345678");
    canon_ok(FT_PHONE, "+81-90-1234-5678", "09012345678");
    canon_ok(FT_PHONE, "+81 (0)90-1234-5678", "09012345678");
    canon_ok(FT_PHONE, "＋８１　９０　１２３４　５６７８", "09012345678");
    canon_ok(FT_PHONE, "03-1234-5678", "0312345678");
    canon_ok(FT_PHONE, "0467-12-3456", "0467123456");
    canon_ok(FT_PHONE, "01267-2-3456", "0126723456");
    canon_ok(FT_PHONE, "0120-123-456", "0120123456");
    canon_ok(FT_PHONE, "0800-123-4567", "08001234567");
    canon_ok(FT_PHONE, "050-1234-5678", "05012345678");
    canon_ok(FT_PHONE, "060-1234-5678", "06012345678");
    canon_ok(FT_PHONE, "070-1234-5678", "07012345678");
    canon_ok(FT_PHONE, "080-1234-5678", "08012345678");
    canon_ok(FT_PHONE, "020-1234-5678", "02012345678");
    canon_ok(FT_PHONE, "0570-123-456", "0570123456");

    canon_bad(FT_PHONE, "0120-123-4567",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "0800-123-456",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "090-1234-567",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "03-1234-56789",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "050-1234-567",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "090123456789012345678",
              "wrong number of digits for its prefix");
    canon_bad(FT_PHONE, "90-1234-5678", "must start with 0 or +81");
    canon_bad(FT_PHONE, "0012-345-6789",
              "must not start with 00 (a prefix for calls abroad): give 0... "
              "or +81...");
    canon_bad(FT_PHONE, "００－００００－００００",
              "must not start with 00 (a prefix for calls abroad): give 0... "
              "or +81...");
    canon_bad(FT_PHONE, "", "must start with 0 or +81");
    /* 010 is the prefix for calls abroad; no area code starts with it */
    canon_bad(FT_PHONE, "010-123-4567",
              "must not start with 010 (the prefix for calls abroad): give "
              "0... or +81...");
    canon_bad(FT_PHONE, "０１０１２３４５６７", NULL);
    canon_bad(FT_PHONE, "+81 10-123-4567", NULL);
    canon_ok(FT_PHONE, "011-123-4567", "0111234567");
    canon_ok(FT_PHONE, "0123-45-6789", "0123456789");
    canon_bad(FT_PHONE, "+1 555 123 4567",
              "only Japanese numbers (+81) are accepted");
    canon_bad(FT_PHONE, "090-1234-5678 ext 12",
              "may contain only digits, hyphens, spaces and parentheses");
    canon_bad(FT_PHONE, "090+1234+5678",
              "may contain only digits, hyphens, spaces and parentheses");

    key_same(FT_PHONE, "０９０ー１２３４ー５６７８", "090-1234-5678");
    key_is(FT_PHONE, "090-1234-5678", "09012345678");
    key_is(FT_PHONE, "+81 90 1234 5678", "09012345678");
    key_is(FT_PHONE, "+81 (0)3-1234-5678", "0312345678");
    key_is(FT_PHONE, "TEL: 03(1234)5678", "0312345678");
    key_stable(FT_PHONE, "+81 (0)90-1234-5678");
    key_stable(FT_PHONE, "０９０ー１２３４ー５６７８");
}

/* After +81 only one trunk 0 is dropped: "+81 00 3..." is 003..., which
 * is no Japanese number, not 03.... */
static void test_phone_one_trunk_zero(void **state)
{
    (void)state;
    canon_ok(FT_PHONE, "+81 0 3-1234-5678", "0312345678");
    canon_bad(FT_PHONE, "+81 00 3-1234-5678", "must start with 0 or +81");
    canon_bad(FT_PHONE, "+81 (0)0 3-1234-5678", "must start with 0 or +81");
    canon_bad(FT_PHONE, "+810003-1234-5678", "must start with 0 or +81");
    key_is(FT_PHONE, "+81 00 3-1234-5678", "00312345678");
    key_differ(FT_PHONE, "+81 00 3-1234-5678", "03-1234-5678");
}

/* ---- email -------------------------------------------------------------- */

static void test_email(void **state)
{
    char local[80], big[300];

    (void)state;
    canon_ok(FT_EMAIL, "taro@example.com", "taro@example.com");
    canon_ok(FT_EMAIL, "Taro.Yamada@Example.CO.JP",
             "Taro.Yamada@example.co.jp");
    canon_ok(FT_EMAIL, "  taro@example.com ", "taro@example.com");
    canon_ok(FT_EMAIL, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com");
    canon_ok(FT_EMAIL, "taro..yamada.@docomo.ne.jp",
             "taro..yamada.@docomo.ne.jp");
    canon_ok(FT_EMAIL, "a+tag@sub-domain.example.jp",
             "a+tag@sub-domain.example.jp");
    canon_ok(FT_EMAIL, "x@xn--eckwd4c7c.jp", "x@xn--eckwd4c7c.jp");

    canon_bad(FT_EMAIL, "taro", "must contain exactly one @");
    canon_bad(FT_EMAIL, "a@b@example.com", "must contain exactly one @");
    canon_bad(FT_EMAIL, "@example.com", "local part is empty");
    canon_bad(FT_EMAIL, "taro@localhost", "domain must contain a dot");
    canon_bad(FT_EMAIL, "taro@exa_mple.com",
              "domain may contain only a-z, 0-9, hyphens and dots");
    canon_bad(FT_EMAIL, "taro@-example.com",
              "domain label must not start or end with a hyphen");
    canon_bad(FT_EMAIL, "taro@example-.com",
              "domain label must not start or end with a hyphen");
    canon_bad(FT_EMAIL, "taro@example..com",
              "domain has an empty or over-long label");
    canon_bad(FT_EMAIL, "taro@example.com.",
              "domain has an empty or over-long label");
    canon_bad(FT_EMAIL, "taro@", "domain has an empty or over-long label");
    canon_bad(FT_EMAIL, "ta ro@example.com", "must not contain spaces");
    canon_bad(FT_EMAIL, "太郎@example.com",
              "must contain only ASCII characters");
    canon_bad(FT_EMAIL, "taro@例え.jp", "must contain only ASCII characters");
    canon_bad(FT_EMAIL, "ta(ro@example.com",
              "local part contains a character that is not allowed");
    canon_bad(FT_EMAIL, "", "must not be empty");

    memset(local, 'a', 65);
    memcpy(local + 65, "@example.com", 13);
    canon_bad(FT_EMAIL, local, "local part is longer than 64 bytes");
    memset(big, 'b', sizeof big);
    memcpy(big, "taro@", 5);
    for (size_t i = 60; i < 250; i += 60)
        big[i] = '.';
    memcpy(big + 251, ".jp", 4); /* 254 bytes */
    canon_ok(FT_EMAIL, big, big);
    memcpy(big + 251, "b.jp", 5); /* 255 bytes */
    canon_bad(FT_EMAIL, big, "longer than 254 bytes");
    memset(big + 5, 'c', 64);
    memcpy(big + 69, ".jp", 4);
    canon_bad(FT_EMAIL, big, "domain has an empty or over-long label");

    key_same(FT_EMAIL, "Taro@Example.com", "taro@example.com");
    key_same(FT_EMAIL, " ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "TARO@example.com");
    key_stable(FT_EMAIL, "Taro.Yamada@Example.CO.JP");
}

/* ---- name and kana ------------------------------------------------------ */

static void test_name(void **state)
{
    (void)state;
    canon_ok(FT_NAME, "山田　太郎", "山田　太郎");
    canon_ok(FT_NAME, "山田 太郎", "山田　太郎");
    canon_ok(FT_NAME, "  山田 　  太郎　", "山田　太郎");
    canon_ok(FT_NAME, "山田太郎", "山田太郎");
    canon_ok(FT_NAME, "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ");
    canon_ok(FT_NAME, "やまだ たろう", "やまだ　たろう");
    canon_ok(FT_NAME, "佐々木 〆子", "佐々木　〆子");
    canon_ok(FT_NAME, "一ヶ谷", "一ヶ谷");
    canon_ok(FT_NAME, "ジョン・スミス", "ジョン・スミス");
    canon_ok(FT_NAME, "ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス");
    canon_ok(FT_NAME, "O'Brien", "O'Brien");
    canon_ok(FT_NAME, "O’Brien", "O'Brien"); /* U+2019 */
    canon_ok(FT_NAME, "Mary-Jane Smith", "Mary-Jane　Smith");
    canon_ok(FT_NAME, "J. R. Smith", "J.　R.　Smith");
    canon_ok(FT_NAME, "Ｊｏｈｎ　Ｓｍｉｔｈ", "John　Smith");
    canon_ok(FT_NAME, "José", "José");
    canon_ok(FT_NAME, "Jose\xcc\x81", "José"); /* e + U+0301 composes */
    canon_ok(FT_NAME, "Nguyễn", "Nguyễn");
    /* the canonical value keeps the person's own kanji */
    canon_ok(FT_NAME, "髙橋", "髙橋");
    canon_ok(FT_NAME, "山﨑", "山﨑");
    canon_ok(FT_NAME, "渡邊", "渡邊");
    canon_ok(FT_NAME, "𠮷田", "𠮷田");
    canon_ok(FT_NAME, "葛\xf3\xa0\x84\x80城", "葛\xf3\xa0\x84\x80城"); /* IVS */
    /* dash look-alikes */
    canon_ok(FT_NAME, "サト‐", "サトー");
    canon_ok(FT_NAME, "サトｰ", "サトー");
    canon_ok(FT_NAME, "Smith‐Jones", "Smith-Jones");

    canon_bad(FT_NAME, "山田1", "must not contain digits");
    canon_bad(FT_NAME, "山田１", "must not contain digits");
    canon_bad(FT_NAME, "山田①", "must not contain digits");
    canon_bad(FT_NAME, "山田@太郎",
              "contains a character that is not allowed in a name");
    canon_bad(FT_NAME, "山田_太郎",
              "contains a character that is not allowed in a name");
    canon_bad(FT_NAME, "山田〜",
              "contains a character that is not allowed in a name");
    canon_bad(FT_NAME, "Иван",
              "contains a character that is not allowed in a name");
    canon_bad(FT_NAME, "山田\t太郎", "contains a control character");
    canon_bad(FT_NAME, "", "must not be empty");
    canon_bad(FT_NAME, " 　 ", "must not be empty");
    canon_bad(FT_NAME, "\xcc\x81山田",
              "contains a combining mark that is not part of a letter");
    canon_bad(FT_NAME, "ﾞ",
              "contains a combining mark that is not part of a letter");
    canon_bad(FT_NAME, "a \xcc\x81",
              "contains a combining mark that is not part of a letter");
    canon_bad(FT_NAME, "山\xf3\xa0\x84\x80\xf3\xa0\x84\x80",
              "contains a combining mark that is not part of a letter");
    canon_bad(FT_NAME,
              "ab\xe2\x80\xae"
              "cd", /* RLO */
              "contains an invisible character (zero-width space, BOM or "
              "direction control)");
}

static void test_kana(void **state)
{
    (void)state;
    canon_ok(FT_KANA, "やまだ　たろう", "ヤマダ　タロウ");
    canon_ok(FT_KANA, "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ");
    canon_ok(FT_KANA, "ヤマダ タロウ", "ヤマダ　タロウ");
    canon_ok(FT_KANA, " ヤマダ   タロウ ", "ヤマダ　タロウ");
    canon_ok(FT_KANA, "ｶｰﾄﾞ", "カード");
    canon_ok(FT_KANA, "か-ど", "カード");
    canon_ok(FT_KANA, "カ－ド", "カード");
    canon_ok(FT_KANA, "カ‐ド", "カード");
    canon_ok(FT_KANA, "ゔぁいおりん", "ヴァイオリン");
    canon_ok(FT_KANA, "いすゞ", "イスヾ");
    canon_ok(FT_KANA, "ジョン・スミス", "ジョン・スミス");
    canon_ok(FT_KANA, "か\xe3\x82\x99", "ガ"); /* か + U+3099 */
    canon_ok(FT_KANA, "わ\xe3\x82\x99", "ヷ"); /* わ + U+3099 */
    /* The spacing marks ゛゜ (U+309B, U+309C) of older full-width text. */
    canon_ok(FT_KANA, "ヤマタ゛　タロウ", "ヤマダ　タロウ");
    canon_ok(FT_KANA, "やまた゛", "ヤマダ");
    canon_ok(FT_KANA, "ハ゜ク", "パク");
    canon_ok(FT_NAME, "ヤマタ゛　タロウ", "ヤマダ　タロウ");
    canon_ok(FT_NAME, "やまた゛", "やまだ");
    key_same(FT_KANA, "ヤマタ゛", "ﾔﾏﾀﾞ");
    key_same(FT_NAME, "ハ゜ク", "ﾊﾟｸ");
    canon_bad(FT_KANA, "゛ヤマダ", NULL); /* a mark with nothing to mark */
    canon_bad(FT_NAME, "゛ヤマダ", NULL);

    canon_bad(FT_KANA, "山田",
              "may contain only kana, long vowel marks, middle dots and "
              "spaces");
    canon_bad(FT_KANA, "ヤマダ1", NULL);
    canon_bad(FT_KANA, "Yamada", NULL);
    canon_bad(FT_KANA, "-ヤマダ", NULL);
    canon_bad(FT_KANA, "ヤマダ -", NULL);
    canon_bad(FT_KANA, "ジョン・-", NULL); /* a dash after ・ is no ー */
    canon_bad(FT_KANA, "ヤマダ〜", NULL);
    canon_bad(FT_KANA, "ア\xe3\x82\x9a", NULL); /* ア + U+309A */
    canon_bad(FT_KANA, "ヤマダ\n", "contains a control character");
    canon_bad(FT_KANA, "　", "must not be empty");
}

/* Punctuation alone is neither a name nor a reading. */
static void test_name_kana_need_letter(void **state)
{
    (void)state;
    canon_bad(FT_NAME, "－", "must contain a letter"); /* NFKC "-" */
    canon_bad(FT_NAME, "-", "must contain a letter");
    canon_bad(FT_NAME, ".", "must contain a letter");
    canon_bad(FT_NAME, "・", "must contain a letter");
    canon_bad(FT_NAME, "ー", "must contain a letter");
    canon_bad(FT_NAME, "' . -", "must contain a letter");
    canon_bad(FT_NAME, "・　ー", "must contain a letter");
    canon_ok(FT_NAME, "J.", "J.");
    canon_ok(FT_NAME, "ヱ", "ヱ");
    canon_bad(FT_KANA, "ー", "must contain a kana letter");
    canon_bad(FT_KANA, "・", "must contain a kana letter");
    canon_bad(FT_KANA, "ｰ", "must contain a kana letter");
    canon_bad(FT_KANA, "ー・ー　・", "must contain a kana letter");
    canon_ok(FT_KANA, "ア", "ア");
    canon_ok(FT_KANA, "アー", "アー");
}

/* ---- text and address --------------------------------------------------- */

static void test_text(void **state)
{
    (void)state;
    canon_ok(FT_TEXT, "hello", "hello");
    canon_ok(FT_TEXT, "  hello\tworld\n ", "hello\tworld");
    canon_ok(FT_TEXT, "line1\r\nline2", "line1\nline2");
    canon_ok(FT_TEXT, "　メモ　", "メモ");
    canon_ok(FT_TEXT, "e\xcc\x81", "\xc3\xa9"); /* NFC */
    canon_ok(FT_TEXT, "ｱｲｳ", "ｱｲｳ");            /* NFC keeps half-width */
    canon_ok(FT_TEXT, "Ａ１", "Ａ１");
    canon_bad(FT_TEXT, "a\rb", "contains a control character");
    canon_bad(FT_TEXT, "bell\a", "contains a control character");
    canon_bad(FT_TEXT, "del\x7f", "contains a control character");
    canon_bad(FT_TEXT, "c1\xc2\x85", "contains a control character");
    canon_bad(FT_TEXT, "", "must not be empty");
    canon_bad(FT_TEXT, " \t\n　", "must not be empty");
    canon_bad(FT_TEXT,
              "\xcc\x81"
              "abc",
              "starts with a combining mark");

    canon_ok(FT_ADDRESS, "東京都千代田区千代田1-1", "東京都千代田区千代田1-1");
    canon_ok(FT_ADDRESS, " 東京都　港区 ", "東京都　港区");
    canon_bad(FT_ADDRESS, "東京都\n港区", "contains a control character");
    canon_bad(FT_ADDRESS, "東京都港区\n", "contains a control character");
    canon_bad(FT_ADDRESS, "東京都\t港区", "contains a control character");
    canon_bad(FT_ADDRESS, "", "must not be empty");
}

/* CP932's user-defined characters (外字, F040-F9FC) decode to Private Use
 * code points, which no other system shows as the same character. */
static void test_text_private_use(void **state)
{
    static const char *const rule =
        "contains a private-use (user-defined) character";
    (void)state;
    canon_bad(FT_TEXT, "\xee\x80\x80", rule);            /* U+E000 */
    canon_bad(FT_TEXT, "メモ\xee\x9d\x97", rule);        /* U+E757 */
    canon_bad(FT_ADDRESS, "東京都\xee\x80\x81区", rule); /* U+E001 */
    canon_bad(FT_ADDRESS, "\xef\xa3\xbf", rule);         /* U+F8FF */
    canon_bad(FT_TEXT, "a\xf3\xb0\x80\x80", rule);       /* U+F0000 */
    canon_bad(FT_TEXT, "a\xf4\x8f\xbf\xbd", rule);       /* U+10FFFD */
    canon_bad(FT_NAME, "山\xee\x80\x80", NULL);
    canon_ok(FT_TEXT, "\xef\xa4\x80", "\xe8\xb1\x88"); /* U+F900 is no PUA */
}

/* Zero-width characters, the BOM and direction controls come with text
 * copied from web pages and mails: a value that looks right is refused by
 * a rule that says why (text keeps them; search keys drop them). */
/* A tab or a line break inside a number (a paste from elsewhere) is
 * refused, as in a name, not read as a separator; spaces still are. */
static void test_numbers_control_chars(void **state)
{
    static const char *const rule = "contains a control character";
    static const char *const cc[] = {"\t", "\n", "\r", "\x1b"};
    char v[64];

    (void)state;
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++) {
        print_message("control %zu\n", i);
        snprintf(v, sizeof v, "100%s0001", cc[i]);
        canon_bad(FT_POSTAL, v, rule);
        snprintf(v, sizeof v, "03%s1234%s5678", cc[i], cc[i]);
        canon_bad(FT_PHONE, v, rule);
        snprintf(v, sizeof v, "1234%s5678%s9018", cc[i], cc[i]);
        canon_bad(FT_MYNUMBER, v, rule);
        snprintf(v, sizeof v, "7000012050002%s", cc[i]);
        canon_bad(FT_CORPNUMBER, v, rule);
    }
    canon_ok(FT_POSTAL, "100 0001", "100-0001");
    canon_ok(FT_MYNUMBER, "1234 5678 9018", "123456789018");
}

static void test_invisible_chars(void **state)
{
    static const char *const rule =
        "contains an invisible character (zero-width space, BOM or "
        "direction control)";
    static const char *const zw[] = {
        "\xe2\x80\x8b", /* U+200B zero-width space */
        "\xe2\x80\x8c", /* U+200C */
        "\xe2\x80\x8d", /* U+200D */
        "\xe2\x81\xa0", /* U+2060 word joiner */
        "\xef\xbb\xbf", /* U+FEFF BOM */
        "\xe2\x80\x8f", /* U+200F RLM */
        "\xe2\x80\xae", /* U+202E RLO */
        "\xe2\x81\xa7", /* U+2067 RLI */
    };
    char v[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof zw / sizeof zw[0]; i++) {
        print_message("invisible %zu\n", i);
        snprintf(v, sizeof v, "山田%s太郎", zw[i]);
        canon_bad(FT_NAME, v, rule);
        snprintf(v, sizeof v, "%sヤマダ", zw[i]);
        canon_bad(FT_KANA, v, rule);
        snprintf(v, sizeof v, "1980-04-01%s", zw[i]);
        canon_bad(FT_DATE, v, rule);
        snprintf(v, sizeof v, "100-%s0001", zw[i]);
        canon_bad(FT_POSTAL, v, rule);
        snprintf(v, sizeof v, "03-1234-5678%s", zw[i]);
        canon_bad(FT_PHONE, v, rule);
        snprintf(v, sizeof v, "taro%s@example.com", zw[i]);
        canon_bad(FT_EMAIL, v, rule);
        snprintf(v, sizeof v, "1234%s56789018", zw[i]);
        canon_bad(FT_MYNUMBER, v, rule);
        snprintf(v, sizeof v, "7000012050002%s", zw[i]);
        canon_bad(FT_CORPNUMBER, v, rule);
        snprintf(v, sizeof v, "東京都%s港区", zw[i]);
        canon_bad(FT_ADDRESS, v, rule);
        /* free text keeps them; the key drops them */
        snprintf(v, sizeof v, "メ%sモ", zw[i]);
        free(canon_n(FT_TEXT, v, strlen(v)));
        snprintf(v, sizeof v, "山田%s太郎", zw[i]);
        key_same(FT_NAME, v, "山田太郎");
    }
    {
        int y, m, d;
        const char *r = NULL;
        assert_int_equal(
            text_date_parse("S55.4.1\xe2\x80\x8b", 10, &y, &m, &d, &r), -1);
        assert_string_equal(r, rule);
    }
    /* variation selectors are no invisible characters: an IVS stays */
    canon_ok(FT_NAME, "葛\xf3\xa0\x84\x80城", "葛\xf3\xa0\x84\x80城");
    canon_ok(FT_ADDRESS, "葛\xf3\xa0\x84\x80城市", "葛\xf3\xa0\x84\x80城市");
}

/* ---- search keys -------------------------------------------------------- */

static void test_key_kana_name(void **state)
{
    (void)state;
    key_same(FT_KANA, "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ");
    key_is(FT_KANA, "やまだ　たろう", "ヤマダタロウ");
    key_is(FT_KANA, "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ");
    key_same(FT_NAME, "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ");
    key_same(FT_NAME, "ヤマダ タロウ", "やまだたろう");
    key_same(FT_KANA, "ジョン・スミス", "ジョン スミス");
    key_same(FT_NAME, "ジョン・スミス", "ジョンスミス");

    key_same(FT_NAME, "髙橋", "高橋");
    key_same(FT_NAME, "山﨑", "山崎");
    key_same(FT_NAME, "渡邊", "渡辺");
    key_same(FT_NAME, "渡邉", "渡辺");
    key_same(FT_NAME, "齋藤", "斎藤");
    key_same(FT_NAME, "齊藤", "斉藤");
    key_differ(FT_NAME, "斎藤", "斉藤");
    key_same(FT_NAME, "𠮷田", "吉田");
    key_same(FT_NAME, "濱田", "浜田");
    key_same(FT_NAME, "澤井", "沢井");
    key_same(FT_NAME, "一ヶ谷", "一ケ谷");
    key_same(FT_NAME, "葛\xf3\xa0\x84\x80城", "葛城"); /* IVS dropped */
    key_differ(FT_NAME, "山田", "山口");
    key_is(FT_NAME, "髙橋　一郎", "高橋一郎");

    key_same(FT_NAME, "山田 太郎", "山田太郎");
    key_same(FT_NAME, "山田　太郎", "山田太郎");
    key_same(FT_NAME, "John Smith", "JOHN SMITH");
    key_same(FT_NAME, "ｊｏｈｎ　ｓｍｉｔｈ", "johnsmith");
    key_same(FT_NAME, "O’Brien", "o'brien");
    key_stable(FT_NAME, "O’Brien");

    /* dash and long-vowel variants after kana */
    key_is(FT_NAME, "サトー", "サトー");
    key_same(FT_NAME, "サト-", "サトー");
    key_same(FT_NAME, "サト‐", "サトー");
    key_same(FT_NAME, "サト−", "サトー");
    key_same(FT_NAME, "サト－", "サトー");
    key_same(FT_NAME, "サトｰ", "サトー");
    key_same(FT_NAME, "サト―", "サトー");
    key_same(FT_KANA, "らーめん", "ラ-メン");
    key_same(FT_NAME, "Mary‐Jane", "mary-jane");
    key_differ(FT_KANA, "サトウ", "サトー");

    /* the search key of a canonical value is the key of the raw value */
    key_stable(FT_NAME, "  やまだ   たろう ");
    key_stable(FT_NAME, "ｻﾄ‐ ｼﾞﾛｳ");
    key_stable(FT_NAME, "Mary‐Jane  Smith");
    key_stable(FT_KANA, "ｶｰﾄﾞ ﾀﾛｳ");
    key_stable(FT_KANA, "か-ど");
}

static void test_key_wave_dash(void **state)
{
    (void)state;
    key_same(FT_TEXT, "10〜20", "10～20"); /* U+301C, U+FF5E */
    key_same(FT_TEXT, "10〜20", "10~20");
    key_same(FT_TEXT, "10∼20", "10~20"); /* U+223C */
    key_is(FT_TEXT, "10〜20", "10~20");
    key_same(FT_ADDRESS, "1〜3番地", "1～3番地");
    key_same(FT_NAME, "ワ〜イ", "ワ～イ");
    key_same(FT_KANA, "ワ〜イ", "ワ~イ");
}

static void test_key_address_text(void **state)
{
    (void)state;
    key_same(FT_ADDRESS, "霞ヶ関", "霞ケ関");
    key_same(FT_ADDRESS, "髙田馬場", "高田馬場");
    key_same(FT_ADDRESS, "1ー2ー3", "1-2-3");
    key_same(FT_ADDRESS, "１－２－３", "1-2-3");
    key_same(FT_ADDRESS, "1−2−3", "1-2-3");
    key_same(FT_ADDRESS, "千代田区 千代田１‐１", "千代田区千代田1-1");
    key_is(FT_ADDRESS, "センター1ー2", "センター1-2");
    key_is(FT_ADDRESS, "ｾﾝﾀｰ", "センター");
    key_differ(FT_TEXT, "髙", "高"); /* text does not fold kanji */
    key_same(FT_TEXT, "ABC def", "abcdef");
    key_same(FT_TEXT, "Ａ Ｂ", "ab");
    key_same(FT_TEXT, "a\tb\nc", "abc");
    key_same(FT_TEXT,
             "Stra\xc3\x9f"
             "e",
             "STRASSE");
    key_differ(FT_TEXT, "ひらがな", "ヒラガナ"); /* only name/kana fold */
    /* canonically equivalent orders of U+0345 (folds to a starter) and
     * U+0321 have one key */
    key_same(FT_TEXT, "a\xcd\x85\xcc\xa1", "a\xcc\xa1\xcd\x85");
    key_same(FT_NAME, "A\xcd\x85\xcc\xa1", "a\xcc\xa1\xcd\x85");
    key_stable(FT_TEXT, "  Ａ　ｂ\r\nc ");
    /* the spacing sound marks ゛゜ of older full-width text: the stored
     * address keeps them, its key composes them as for name and kana */
    key_same(FT_ADDRESS, "ハ゛ス通り", "バス通り");
    key_same(FT_ADDRESS, "ハ゛ス通り", "ﾊﾞｽ通り");
    key_same(FT_ADDRESS, "ク゛ラント゛ハイツ", "グランドハイツ");
    key_same(FT_ADDRESS, "ハ゜ーク１ー２", "パーク1-2");
    key_same(FT_TEXT, "ハ゛ス", "バス");
    canon_ok(FT_ADDRESS, "ハ゛ス通り", "ハ゛ス通り");
    key_stable(FT_ADDRESS, "ハ゜ーク　１ー２");
    key_stable(FT_ADDRESS, " 東京都 千代田区 １‐１ ");
}

static void test_key_numbers_dates(void **state)
{
    char *k;

    (void)state;
    key_is(FT_MYNUMBER, "1234 5678 9018", "123456789018");
    key_is(FT_MYNUMBER, "１２３４－５６７８－９０１８", "123456789018");
    key_is(FT_CORPNUMBER, "7-0000-1205-0002", "7000012050002");
    key_is(FT_DATE, "S55.4.1", "1980-04-01");
    key_same(FT_DATE, "昭和55年4月1日", "1980-04-01");
    key_same(FT_DATE, "１９８０／４／１", "1980/04/01");
    key_stable(FT_DATE, "㍼55年4月1日");
    /* not a date: still a key (folded like text), which no valid date
     * has, since every valid date's key is its own canonical form */
    k = key_n(FT_DATE, "1980-02-30", 10);
    assert_string_equal(k, "1980-02-30");
    free(k);
    k = key_n(FT_DATE, "Ｈ３１．５．１", strlen("Ｈ３１．５．１"));
    assert_string_equal(k, "h31.5.1");
    free(k);
    k = key_n(FT_DATE, "", 0);
    assert_string_equal(k, "");
    free(k);
}

/* ---- hostile input ------------------------------------------------------ */

static const char *const bad_utf8[] = {
    "\xff",             /* never valid */
    "\x80",             /* lone continuation */
    "\xc0\xaf",         /* overlong '/' */
    "\xc1\xbf",         /* overlong */
    "\xe0\x80\xaf",     /* overlong 3-byte */
    "\xf0\x80\x80\xaf", /* overlong 4-byte */
    "\xed\xa0\x80",     /* surrogate D800 */
    "\xed\xbf\xbf",     /* surrogate DFFF */
    "\xf4\x90\x80\x80", /* above U+10FFFF */
    "\xf5\x80\x80\x80",
    "\xe3\x81",     /* truncated */
    "\xe3\x81\x41", /* bad continuation */
    "abc\xe3",      /* truncated at the end */
};

static void test_utf8_invalid(void **state)
{
    size_t i;
    enum field_type t;

    (void)state;
    for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        const char *s = bad_utf8[i];
        size_t len = strlen(s);
        assert_false(text_utf8_valid(s, len));
        for (t = FT_TEXT; t < FT_COUNT; t++) {
            char *out = NULL;
            canon_bad_n(t, s, len, "not valid UTF-8");
            assert_int_equal(text_search_key(t, s, len, &out), -1);
            assert_null(out);
        }
    }
    assert_true(text_utf8_valid("", 0));
    assert_true(text_utf8_valid(NULL, 0));
    assert_true(text_utf8_valid("a\0b", 3));
    assert_true(text_utf8_valid("\xc2\x80", 2));
    assert_true(text_utf8_valid("\xed\x9f\xbf", 3));     /* U+D7FF */
    assert_true(text_utf8_valid("\xee\x80\x80", 3));     /* U+E000 */
    assert_true(text_utf8_valid("\xf0\xa0\xae\xb7", 4)); /* 𠮷 */
    assert_true(text_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    /* the length is honoured: the bad byte is outside it */
    assert_true(text_utf8_valid("ab\xff", 2));
}

static void test_nul_inside(void **state)
{
    static const char v[] = "山田\0太郎";
    size_t len = sizeof v - 1;
    char *k;

    (void)state;
    canon_bad_n(FT_NAME, v, len, "contains a control character");
    canon_bad_n(FT_TEXT, v, len, "contains a control character");
    canon_bad_n(FT_ADDRESS, v, len, "contains a control character");
    canon_bad_n(FT_KANA, "ヤマダ\0タロウ", 19, "contains a control character");
    canon_bad_n(FT_EMAIL, "a\0@example.com", 14,
                "contains a control character");
    canon_bad_n(FT_MYNUMBER, "123456\0789018", 13, NULL);
    canon_bad_n(FT_DATE, "1980\0-04-01", 11, NULL);
    /* search keys drop it, so no key holds a NUL that would cut it short */
    k = key_n(FT_NAME, v, len);
    assert_string_equal(k, "山田太郎");
    free(k);
}

static void test_too_long(void **state)
{
    char *big = malloc(5001);
    enum field_type t;
    char *out;
    size_t i;

    (void)state;
    assert_non_null(big);
    memset(big, '1', 5000);
    big[5000] = '\0';
    for (t = FT_TEXT; t < FT_COUNT; t++) {
        canon_bad_n(t, big, 5000, "too long");
        canon_bad_n(t, big, TEXT_MAX_VALUE + 1, "too long");
        out = NULL;
        assert_int_equal(text_search_key(t, big, 5000, &out), -1);
        assert_null(out);
    }
    /* exactly at the limit is fine */
    memset(big, 'a', TEXT_MAX_VALUE);
    out = canon_n(FT_TEXT, big, TEXT_MAX_VALUE);
    assert_int_equal(strlen(out), TEXT_MAX_VALUE);
    free(out);
    /* 4095 bytes of "ｱ " pairs: each space becomes U+3000 (3 bytes), so
     * the canonical kana grows past the limit */
    for (i = 0; i + 4 <= TEXT_MAX_VALUE; i += 4)
        memcpy(big + i, "\xef\xbd\xb1 ", 4); /* ｱ + space */
    canon_bad_n(FT_KANA, big, i - 1, "too long after normalisation");
    /* NFC expansion: U+0958 (3 bytes) becomes two code points (6 bytes) */
    for (i = 0; i + 3 <= 3900; i += 3)
        memcpy(big + i, "\xe0\xa5\x98", 3);
    canon_bad_n(FT_TEXT, big, i, "too long after normalisation");
    /* NFKC expansion: U+FDFA gives 18 code points; the key may be long */
    for (i = 0; i + 3 <= TEXT_MAX_VALUE; i += 3)
        memcpy(big + i, "\xef\xb7\xba", 3);
    out = key_n(FT_TEXT, big, i);
    assert_true(strlen(out) > TEXT_MAX_VALUE);
    free(out);
    free(big);
}

static void test_combining_marks(void **state)
{
    enum field_type t;
    char *k;

    (void)state;
    canon_bad(FT_TEXT, "\xcc\x81", "starts with a combining mark");
    canon_bad(FT_ADDRESS, "\xe3\x82\x99", "starts with a combining mark");
    canon_bad(FT_NAME, "\xcc\x81",
              "contains a combining mark that is not part of a letter");
    canon_bad(FT_KANA, "\xe3\x82\x99", NULL);
    for (t = FT_TEXT; t < FT_COUNT; t++) {
        canon_bad(t, "\xcc\x81\xcc\x81\xcc\x81", NULL);
        k = key_n(t, "\xcc\x81", 2);
        free(k);
    }
}

static void test_api_misuse(void **state)
{
    char *out = NULL;
    const char *rule = NULL;

    (void)state;
    out = (char *)&rule; /* any non-NULL value: must be reset */
    assert_int_equal(text_canonical(FT_TEXT, NULL, 5, &out, &rule), -1);
    assert_null(out);
    assert_non_null(rule);
    assert_int_equal(text_canonical(FT_TEXT, "a", 1, NULL, &rule), -1);
    assert_int_equal(text_canonical(FT_COUNT, "a", 1, &out, &rule), -1);
    assert_string_equal(rule, "unknown field type");
    assert_null(out);
    assert_int_equal(text_canonical((enum field_type) - 1, "a", 1, &out, &rule),
                     -1);
    assert_int_equal(text_canonical(FT_TEXT, NULL, 0, &out, &rule), -1);
    assert_string_equal(rule, "must not be empty");
    /* rule may be NULL */
    assert_int_equal(text_canonical(FT_TEXT, "x", 1, &out, NULL), 0);
    assert_string_equal(out, "x");
    free(out);
    out = NULL;
    assert_int_equal(text_canonical(FT_MYNUMBER, "1", 1, &out, NULL), -1);
    assert_null(out);
    assert_int_equal(text_search_key(FT_COUNT, "a", 1, &out), -1);
    out = (char *)&rule;
    assert_int_equal(text_search_key(FT_TEXT, NULL, 3, &out), -1);
    assert_null(out);
    assert_int_equal(text_search_key(FT_TEXT, "a", 1, NULL), -1);
}

/* Realistic values in realistic mistakes: the rule never carries them. */
static void test_rules_never_hold_value(void **state)
{
    static const struct {
        enum field_type t;
        const char *v;
    } cases[] = {
        {FT_MYNUMBER, "123456789010"},
        {FT_MYNUMBER, "12345678901"},
        {FT_CORPNUMBER, "8000012050002"},
        {FT_PHONE, "090-1234-567"},
        {FT_PHONE, "+1 555 123 4567"},
        {FT_POSTAL, "100-000"},
        {FT_EMAIL, "taro@localhost"},
        {FT_EMAIL, "yamada taro@example.com"},
        {FT_NAME, "山田1"},
        {FT_NAME, "tel 0312345678"},
        {FT_KANA, "山田"},
        {FT_DATE, "平成31年5月1日"},
        {FT_DATE, "1980-02-30"},
        {FT_DATE, "digits"},
        {FT_TEXT, "bad\x01text"},
        {FT_ADDRESS, "東京\n港区"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        canon_bad(cases[i].t, cases[i].v, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_mynumber_check_digit),
        cmocka_unit_test(test_corpnumber_check_digit),
        cmocka_unit_test(test_date_western),
        cmocka_unit_test(test_date_leap),
        cmocka_unit_test(test_date_era),
        cmocka_unit_test(test_date_era_year_digits),
        cmocka_unit_test(test_date_parse_api),
        cmocka_unit_test(test_postal),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_phone_one_trunk_zero),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_kana),
        cmocka_unit_test(test_name_kana_need_letter),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_private_use),
        cmocka_unit_test(test_invisible_chars),
        cmocka_unit_test(test_numbers_control_chars),
        cmocka_unit_test(test_key_kana_name),
        cmocka_unit_test(test_key_wave_dash),
        cmocka_unit_test(test_key_address_text),
        cmocka_unit_test(test_key_numbers_dates),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_combining_marks),
        cmocka_unit_test(test_api_misuse),
        cmocka_unit_test(test_rules_never_hold_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
