/*
 * test_mask.c - unit tests for lib/mask.c: the masked form of each field
 * type, odd and hostile shapes, and a property check that the hidden part
 * never shows. All values are synthetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"
#include "text.h"
#include "banned.h"

#define FULL "＊＊＊"

/* ---- helpers ------------------------------------------------------------ */

/* Masks in[0..len) and checks what every result must satisfy. */
static char *mask_n(enum field_type t, const char *in, size_t len)
{
    char *out = NULL;
    int rc = mask_value(t, in, len, &out);

    if (rc != 0)
        fail_msg("%s: mask_value returned %d", text_type_name(t), rc);
    assert_non_null(out);
    assert_true(strlen(out) <= MASK_MAX_LEN);
    assert_true(text_utf8_valid(out, strlen(out)));
    /* every masked form hides something */
    assert_true(strchr(out, '*') != NULL || strstr(out, "＊") != NULL);
    return out;
}

static void mask_ok(enum field_type t, const char *in, const char *want)
{
    char *out = mask_n(t, in, strlen(in));

    if (strcmp(out, want) != 0)
        fail_msg("%s: \"%s\" -> \"%s\", want \"%s\"", text_type_name(t), in,
                 out, want);
    free(out);
}

static void mask_full_n(enum field_type t, const char *in, size_t len)
{
    char *out = mask_n(t, in, len);

    if (strcmp(out, FULL) != 0)
        fail_msg("%s: odd value of %zu bytes -> \"%s\", want it fully masked",
                 text_type_name(t), len, out);
    free(out);
}

static void mask_full(enum field_type t, const char *in)
{
    mask_full_n(t, in, strlen(in));
}

/* The masked form of in holds none of the hidden strings. */
static void mask_hides(enum field_type t, const char *in,
                       const char *const *hidden, size_t nhidden)
{
    char *out = mask_n(t, in, strlen(in));
    size_t i;

    assert_string_not_equal(out, in);
    for (i = 0; i < nhidden; i++)
        if (strstr(out, hidden[i]) != NULL)
            fail_msg("%s: \"%s\" -> \"%s\" shows \"%s\"", text_type_name(t), in,
                     out, hidden[i]);
    free(out);
}

static size_t count_digits(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            n++;
    return n;
}

/* Deterministic xorshift, so a failure can be replayed. */
static uint64_t rng_state = 0x6d616d6f72690001ULL;

static uint32_t rnd(uint32_t bound)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % bound);
}

static void rnd_digits(char *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        d[i] = (char)('0' + rnd(10));
}

/* ---- per type ----------------------------------------------------------- */

static void test_name(void **state)
{
    (void)state;
    mask_ok(FT_NAME, "山田　太郎", "山田　＊＊");
    mask_ok(FT_NAME, "佐々木　花子", "佐々木　＊＊");
    mask_ok(FT_NAME, "髙橋　一", "髙橋　＊＊");
    mask_ok(FT_NAME, "𠮷田　美咲", "𠮷田　＊＊");
    mask_ok(FT_NAME, "勅使河原　宏", "勅使河原　＊＊");
    /* several parts: only the first is kept */
    mask_ok(FT_NAME, "ファン　デル　ワールス", "ファン　＊＊");
    mask_ok(FT_NAME, "O'Brien　Mary", "O'Brien　＊＊");
    mask_ok(FT_NAME, "Müller　Jürgen", "Müller　＊＊");
    mask_ok(FT_NAME, "スミス　ジョン・ポール", "スミス　＊＊");
    /* no space: first character only */
    mask_ok(FT_NAME, "山田太郎", "山＊＊");
    mask_ok(FT_NAME, "林", "林＊＊");
    mask_ok(FT_NAME, "𠮷田花子", "𠮷＊＊");
    mask_ok(FT_NAME, "ジョン・スミス", "ジ＊＊");
    mask_ok(FT_NAME, "John-Paul", "J＊＊");
    /* a kanji with a variation selector keeps the kanji only */
    mask_ok(FT_NAME, "葛\xf3\xa0\x84\x80西", "葛＊＊");
    /* the given name's length does not show */
    mask_ok(FT_NAME, "山田　一", "山田　＊＊");
    mask_ok(FT_NAME, "山田　寿限無寿限無五劫", "山田　＊＊");
}

static void test_kana(void **state)
{
    (void)state;
    mask_ok(FT_KANA, "ヤマダ　タロウ", "ヤマダ　＊＊");
    mask_ok(FT_KANA, "ササキ　ハナコ", "ササキ　＊＊");
    mask_ok(FT_KANA, "ヤマダタロウ", "ヤ＊＊");
    mask_ok(FT_KANA, "スミス　ジョン・ポール", "スミス　＊＊");
    mask_ok(FT_KANA, "ヴァン　ロー", "ヴァン　＊＊");
    mask_ok(FT_KANA, "ヶ", "ヶ＊＊");
}

static void test_name_odd(void **state)
{
    static const char *const odd[] = {
        "山田 太郎",            /* ASCII space: not canonical */
        "　山田　太郎",         /* leading space */
        "山田　　太郎",         /* a run of spaces */
        "山田　太郎　",         /* trailing space */
        "山田1　太郎",          /* digit */
        "山田　太郎2",          /* digit in the hidden part: still odd */
        "09012345678",          /* a phone number in a name field */
        "123456789018",         /* a My Number */
        "taro@example.jp",      /* an e-mail address */
        "東京都千代田区１－１", /* full-width digit */
        "・山田",               /* starts with a middle dot */
        "山田　・太郎",         /* part starts with a middle dot */
        "-山田",                /* starts with a hyphen */
        "\314\201abc",          /* starts with a combining mark */
        "山田\t太郎",           /* control character */
        "😀　太郎",              /* emoji */
        "<script>",             /* markup */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        mask_full(FT_NAME, odd[i]);
        mask_full(FT_KANA, odd[i]);
    }
    /* kana: only katakana */
    mask_full(FT_KANA, "やまだ　たろう");
    mask_full(FT_KANA, "山田　太郎");
    mask_full(FT_KANA, "Yamada　Taro");
}

static void test_name_embedded_nul(void **state)
{
    static const char v[] = "山田\0太郎";

    (void)state;
    mask_full_n(FT_NAME, v, sizeof v - 1);
    mask_full_n(FT_KANA, "ヤマ\0ダ", 10);
    mask_full_n(FT_EMAIL, "t\0aro@example.jp", 16);
    mask_full_n(FT_PHONE,
                "0901234"
                "\0"
                "678",
                11);
    mask_full_n(FT_MYNUMBER,
                "12345678"
                "\0"
                "018",
                12);
    mask_full_n(FT_DATE,
                "1980-0"
                "\0"
                "-01",
                10);
    {
        /* the prefecture before the NUL is kept, nothing after it */
        char *o = mask_n(FT_ADDRESS,
                         "東京都"
                         "\0"
                         "千代田区",
                         22);
        assert_string_equal(o, "東京都＊＊＊");
        free(o);
    }
}

static void test_name_family_limit(void **state)
{
    char buf[4 * (MASK_NAME_KEEP_MAX + 1) + 16];
    char want[sizeof buf];
    size_t i, n = 0;
    char *out;

    (void)state;
    /* MASK_NAME_KEEP_MAX four-byte characters: kept */
    for (i = 0; i < MASK_NAME_KEEP_MAX; i++) {
        memcpy(buf + n, "𠮷", 4);
        n += 4;
    }
    memcpy(want, buf, n);
    memcpy(buf + n, "　太郎", 9);
    memcpy(want + n, "　＊＊", 10);
    buf[n + 9] = '\0';
    mask_ok(FT_NAME, buf, want);
    /* one more: fully masked */
    memcpy(buf + n, "𠮷　太郎", 13);
    buf[n + 13] = '\0';
    out = mask_n(FT_NAME, buf, n + 13);
    assert_string_equal(out, FULL);
    free(out);
}

static void test_phone(void **state)
{
    (void)state;
    /* mobile, IP, M2M: 3 + middle + 4 */
    mask_ok(FT_PHONE, "09012345678", "090-****-5678");
    mask_ok(FT_PHONE, "08098765432", "080-****-5432");
    mask_ok(FT_PHONE, "07011112222", "070-****-2222");
    mask_ok(FT_PHONE, "06011112222", "060-****-2222");
    mask_ok(FT_PHONE, "05012345678", "050-****-5678");
    mask_ok(FT_PHONE, "02012345678", "020-****-5678");
    /* two-digit area codes */
    mask_ok(FT_PHONE, "0312345678", "03-****-5678");
    mask_ok(FT_PHONE, "0698765432", "06-****-5432");
    mask_ok(FT_PHONE, "0429123456", "04-****-3456");
    mask_ok(FT_PHONE, "0471234567", "04-****-4567");
    /* 042x, 047x may be longer codes (0422): still two */
    mask_ok(FT_PHONE, "0422123456", "04-****-3456");
    mask_ok(FT_PHONE, "0426123456", "04-****-3456");
    /* other landlines: three */
    mask_ok(FT_PHONE, "0451234567", "045-***-4567");
    mask_ok(FT_PHONE, "0482345678", "048-***-5678");
    mask_ok(FT_PHONE, "0465123456", "046-***-3456");
    mask_ok(FT_PHONE, "0112345678", "011-***-5678");
    mask_ok(FT_PHONE, "0526543210", "052-***-3210");
    mask_ok(FT_PHONE, "0267123456", "026-***-3456");
    mask_ok(FT_PHONE, "0980123456", "098-***-3456");
    mask_ok(FT_PHONE, "0570123456", "057-***-3456");
    /* free dial */
    mask_ok(FT_PHONE, "0120123456", "0120-**-3456");
    mask_ok(FT_PHONE, "08001234567", "0800-***-4567");
}

static void test_phone_odd(void **state)
{
    static const char *const odd[] = {
        "090-1234-5678", /* hyphens: not canonical */
        "0901234567",    /* mobile with 10 digits */
        "031234567",     /* 9 digits */
        "031234567890",  /* 12 digits */
        "0312345678 ",   /* trailing space */
        "0012345678",    /* international prefix */
        "1234567890",    /* no trunk 0 */
        "+819012345678", /* not canonical */
        "0800123456",    /* 0800 with 10 digits */
        "012012345678",  /* 0120 with 12 digits */
        "03123456７８",  /* full-width digits */
        "０３１２３４５６７８",
        "tel:0312345678",
        "0",
        "09",
        "山田　太郎",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
        mask_full(FT_PHONE, odd[i]);
}

static void test_address(void **state)
{
    (void)state;
    /* 東京23区 */
    mask_ok(FT_ADDRESS, "東京都千代田区千代田１－１", "東京都千代田区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都世田谷区世田谷4丁目21番27号",
            "東京都世田谷区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都江戸川区中央1-4-1", "東京都江戸川区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都中央区日本橋室町2-1", "東京都中央区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都港区芝公園4-2-8", "東京都港区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都北区王子本町1-15-22", "東京都北区＊＊＊");
    /* 政令指定都市: the ward is kept */
    mask_ok(FT_ADDRESS, "北海道札幌市中央区北一条西2丁目",
            "北海道札幌市中央区＊＊＊");
    mask_ok(FT_ADDRESS, "京都府京都市中京区寺町通御池上る上本能寺前町488",
            "京都府京都市中京区＊＊＊");
    mask_ok(FT_ADDRESS, "神奈川県横浜市保土ケ谷区川辺町2-9",
            "神奈川県横浜市保土ケ谷区＊＊＊");
    mask_ok(FT_ADDRESS, "神奈川県横浜市保土ヶ谷区川辺町2-9",
            "神奈川県横浜市保土ヶ谷区＊＊＊");
    mask_ok(FT_ADDRESS, "大阪府大阪市北区梅田1-1-3", "大阪府大阪市北区＊＊＊");
    mask_ok(FT_ADDRESS, "大阪府堺市堺区南瓦町3-1", "大阪府堺市堺区＊＊＊");
    mask_ok(FT_ADDRESS, "福岡県北九州市小倉北区城内1-1",
            "福岡県北九州市小倉北区＊＊＊");
    mask_ok(FT_ADDRESS, "埼玉県さいたま市浦和区常盤6-4-4",
            "埼玉県さいたま市浦和区＊＊＊");
    mask_ok(FT_ADDRESS, "静岡県浜松市中央区元城町103-2",
            "静岡県浜松市中央区＊＊＊");
    mask_ok(FT_ADDRESS, "愛知県名古屋市中区三の丸3-1-1",
            "愛知県名古屋市中区＊＊＊");
    mask_ok(FT_ADDRESS, "愛知県名古屋市中村区名駅1-1-4",
            "愛知県名古屋市中村区＊＊＊");
    mask_ok(FT_ADDRESS, "兵庫県神戸市東灘区住吉東町5-2-1",
            "兵庫県神戸市東灘区＊＊＊");
    mask_ok(FT_ADDRESS, "広島県広島市安佐南区古市1-4-1",
            "広島県広島市安佐南区＊＊＊");
    mask_ok(FT_ADDRESS, "熊本県熊本市中央区手取本町1-1",
            "熊本県熊本市中央区＊＊＊");
    /* a 政令市 written without its ward keeps the city only */
    mask_ok(FT_ADDRESS, "京都府京都市烏丸通御池下る", "京都府京都市＊＊＊");
    mask_ok(FT_ADDRESS, "神奈川県横浜市青葉台1-2", "神奈川県横浜市＊＊＊");
    /* ordinary cities */
    mask_ok(FT_ADDRESS, "東京都八王子市元本郷町三丁目24番1号",
            "東京都八王子市＊＊＊");
    mask_ok(FT_ADDRESS, "千葉県市川市八幡1-1-1", "千葉県市川市＊＊＊");
    mask_ok(FT_ADDRESS, "千葉県市原市国分寺台中央1-1-1", "千葉県市原市＊＊＊");
    mask_ok(FT_ADDRESS, "三重県四日市市諏訪町1-5", "三重県四日市市＊＊＊");
    mask_ok(FT_ADDRESS, "広島県廿日市市下平良1-11-1", "広島県廿日市市＊＊＊");
    mask_ok(FT_ADDRESS, "奈良県大和郡山市北郡山町248-4",
            "奈良県大和郡山市＊＊＊");
    mask_ok(FT_ADDRESS, "愛知県蒲郡市旭町17-1", "愛知県蒲郡市＊＊＊");
    mask_ok(FT_ADDRESS, "福島県郡山市朝日1-23-7", "福島県郡山市＊＊＊");
    mask_ok(FT_ADDRESS, "岐阜県郡上市八幡町島谷228", "岐阜県郡上市＊＊＊");
    mask_ok(FT_ADDRESS, "東京都町田市森野2-2-22", "東京都町田市＊＊＊");
    mask_ok(FT_ADDRESS, "東京都東村山市本町1-2-3", "東京都東村山市＊＊＊");
    mask_ok(FT_ADDRESS, "新潟県十日町市千歳町3-3", "新潟県十日町市＊＊＊");
    mask_ok(FT_ADDRESS, "茨城県つくばみらい市福田195",
            "茨城県つくばみらい市＊＊＊");
    mask_ok(FT_ADDRESS, "鹿児島県いちき串木野市昭和通133-1",
            "鹿児島県いちき串木野市＊＊＊");
    mask_ok(FT_ADDRESS, "宮城県川崎市1-1", "宮城県川崎市＊＊＊");
    /* 郡 + 町/村 */
    mask_ok(FT_ADDRESS, "長野県北佐久郡軽井沢町大字軽井沢1323",
            "長野県北佐久郡軽井沢町＊＊＊");
    mask_ok(FT_ADDRESS, "東京都西多摩郡奥多摩町氷川215-6",
            "東京都西多摩郡奥多摩町＊＊＊");
    mask_ok(FT_ADDRESS, "富山県中新川郡上市町横法音寺40",
            "富山県中新川郡上市町＊＊＊");
    mask_ok(FT_ADDRESS, "北海道余市郡余市町朝日町4",
            "北海道余市郡余市町＊＊＊");
    mask_ok(FT_ADDRESS, "奈良県高市郡明日香村岡55",
            "奈良県高市郡明日香村＊＊＊");
    mask_ok(FT_ADDRESS, "山形県西村山郡河北町谷地1",
            "山形県西村山郡河北町＊＊＊");
    mask_ok(FT_ADDRESS, "沖縄県島尻郡渡嘉敷村字渡嘉敷183",
            "沖縄県島尻郡渡嘉敷村＊＊＊");
    mask_ok(FT_ADDRESS, "宮城県柴田郡川崎町大字前川字裏丁175-1",
            "宮城県柴田郡川崎町＊＊＊");
    mask_ok(FT_ADDRESS, "群馬県佐波郡玉村町大字下新田201",
            "群馬県佐波郡玉村町＊＊＊");
    mask_ok(FT_ADDRESS, "北海道虻田郡ニセコ町字富士見47",
            "北海道虻田郡ニセコ町＊＊＊");
    mask_ok(FT_ADDRESS, "北海道茅部郡森町字御幸町144-1",
            "北海道茅部郡森町＊＊＊");
    mask_ok(FT_ADDRESS, "沖縄県国頭郡東村字平良804", "沖縄県国頭郡東村＊＊＊");
    /* Tokyo's islands have no 郡 */
    mask_ok(FT_ADDRESS, "東京都小笠原村父島字西町", "東京都小笠原村＊＊＊");
    mask_ok(FT_ADDRESS, "東京都青ヶ島村無番地", "東京都青ヶ島村＊＊＊");
    mask_ok(FT_ADDRESS, "東京都八丈町大賀郷2551-2", "東京都八丈町＊＊＊");
    mask_ok(FT_ADDRESS, "東京都御蔵島村字入かねが沢", "東京都御蔵島村＊＊＊");
    /* one space between the parts */
    mask_ok(FT_ADDRESS, "東京都 千代田区 千代田1-1", "東京都 千代田区＊＊＊");
    mask_ok(FT_ADDRESS, "東京都　港区芝公園", "東京都　港区＊＊＊");
    mask_ok(FT_ADDRESS, "北海道札幌市　中央区北一条西2",
            "北海道札幌市　中央区＊＊＊");
    mask_ok(FT_ADDRESS, "長野県北佐久郡 軽井沢町長倉",
            "長野県北佐久郡 軽井沢町＊＊＊");
    /* only the municipality: the mask is still there */
    mask_ok(FT_ADDRESS, "東京都千代田区", "東京都千代田区＊＊＊");
}

static void test_address_unrecognised(void **state)
{
    (void)state;
    /* prefecture only */
    mask_ok(FT_ADDRESS, "東京都", "東京都＊＊＊");
    mask_ok(FT_ADDRESS, "東京都丸の内1-1", "東京都＊＊＊");
    mask_ok(FT_ADDRESS, "大阪府1-2-3", "大阪府＊＊＊");
    mask_ok(FT_ADDRESS, "東京都１２３市", "東京都＊＊＊");
    mask_ok(FT_ADDRESS, "東京都  千代田区", "東京都＊＊＊");
    /* a 区 that is not a known ward: its name may be a town name */
    mask_ok(FT_ADDRESS, "大阪府中夬区日本橋室町", "大阪府＊＊＊");
    mask_ok(FT_ADDRESS, "東京都中夬区日本橋室町", "東京都＊＊＊");
    /* a name too long for a municipality */
    mask_ok(FT_ADDRESS, "北海道あいうえおかきくけこ市", "北海道＊＊＊");
    /* 町/村 without 郡: as likely a district of a municipality left out,
     * so only the prefecture is kept */
    mask_ok(FT_ADDRESS, "大阪府本町2-3-4", "大阪府＊＊＊");
    mask_ok(FT_ADDRESS, "京都府寺町通御池上る上本能寺前町488", "京都府＊＊＊");
    mask_ok(FT_ADDRESS, "長野県軽井沢町長倉2381-1", "長野県＊＊＊");
    mask_ok(FT_ADDRESS, "富山県上市町横法音寺40", "富山県＊＊＊");
    mask_ok(FT_ADDRESS, "奈良県北郡山町248-4", "奈良県＊＊＊");
    mask_ok(FT_ADDRESS, "北海道本町村", "北海道＊＊＊");
    /* a 政令市's ward without its city */
    mask_ok(FT_ADDRESS, "大阪府北区梅田1-1-3", "大阪府＊＊＊");
    /* 郡 without its town */
    mask_ok(FT_ADDRESS, "長野県北佐久郡大字長倉", "長野県＊＊＊");
    mask_ok(FT_ADDRESS, "長野県北佐久郡", "長野県＊＊＊");
    /* 市 as the first character is part of a name, not the end of one */
    mask_ok(FT_ADDRESS, "東京都市", "東京都＊＊＊");
    /* no prefecture: all masked */
    mask_full(FT_ADDRESS, "千代田区千代田1-1");
    mask_full(FT_ADDRESS, "横浜市中区本町6-50-10");
    mask_full(FT_ADDRESS, "〒100-0001 東京都千代田区千代田1-1");
    mask_full(FT_ADDRESS, "123 Main Street, Springfield");
    mask_full(FT_ADDRESS, "東京");
    mask_full(FT_ADDRESS, " 東京都千代田区");
}

static void test_date(void **state)
{
    static const char *const odd[] = {
        "1980/04/01",     "19800401",       "1980-4-1",    "S55.4.1",
        "昭和55年4月1日", "１９８０-04-01", "1980-04-01 ", "1980-04-0a",
        "1980-04-001",    "80-04-01",       "1980x04-01",
    };
    size_t i;

    (void)state;
    mask_ok(FT_DATE, "1980-04-01", "1980-**-**");
    mask_ok(FT_DATE, "2024-02-29", "2024-**-**");
    mask_ok(FT_DATE, "1926-12-25", "1926-**-**");
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
        mask_full(FT_DATE, odd[i]);
}

static void test_postal(void **state)
{
    static const char *const odd[] = {
        "1000001",  "100-00011", "１００-０００１", "〒100-0001",
        "100 0001", "10-00001",  "100-000a",        "100-0001 ",
    };
    size_t i;

    (void)state;
    mask_ok(FT_POSTAL, "100-0001", "100-****");
    mask_ok(FT_POSTAL, "060-8588", "060-****");
    mask_ok(FT_POSTAL, "900-8570", "900-****");
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
        mask_full(FT_POSTAL, odd[i]);
}

static void test_numbers(void **state)
{
    static const char *const odd[] = {
        "12345678901",    "1234567890189",
        "1234-5678-9018", "１２３４５６７８９０１８",
        "12345678901a",   "T7000012050002",
        " 123456789018",  "",
    };
    size_t i;

    (void)state;
    mask_ok(FT_MYNUMBER, "123456789018", "********9018");
    mask_ok(FT_MYNUMBER, "000000000019", "********0019");
    mask_ok(FT_CORPNUMBER, "7000012050002", "*********0002");
    mask_ok(FT_CORPNUMBER, "1180301018771", "*********8771");
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        mask_full(FT_MYNUMBER, odd[i]);
        if (strlen(odd[i]) != 13)
            mask_full(FT_CORPNUMBER, odd[i]);
    }
    mask_full(FT_CORPNUMBER, "123456789018");
    mask_full(FT_MYNUMBER, "7000012050002");
}

static void test_email(void **state)
{
    static const char *const odd[] = {
        "no-at-sign.example.jp", "@example.jp",      "taro@",
        "a@b@example.jp",        "山田@example.jp",  "taro@例え.jp",
        "taro @example.jp",      "taro@exa mple.jp", "\"taro\"@example.jp",
        "taro@example.jp\n",
    };
    char big[300];
    size_t i;

    (void)state;
    mask_ok(FT_EMAIL, "taro@example.jp", "t***@example.jp");
    mask_ok(FT_EMAIL, "a@b.jp", "a***@b.jp");
    mask_ok(FT_EMAIL, "yamada.taro+tag@mail.example.co.jp",
            "y***@mail.example.co.jp");
    mask_ok(FT_EMAIL, "hanako..x.@docomo.ne.jp", "h***@docomo.ne.jp");
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++)
        mask_full(FT_EMAIL, odd[i]);
    /* local part over 64 bytes */
    memset(big, 'a', 65);
    memcpy(big + 65, "@example.jp", 12);
    mask_full(FT_EMAIL, big);
    /* 254 bytes in all is the most an address has */
    memset(big, 'a', 64);
    big[64] = '@';
    memset(big + 65, 'b', 185);
    memcpy(big + 250, ".jp", 4);
    assert_int_equal(strlen(big), 253);
    {
        char *out = mask_n(FT_EMAIL, big, 253);
        assert_int_equal(strlen(out), 1 + 4 + 188);
        free(out);
    }
    memset(big + 65, 'b', 187);
    memcpy(big + 252, ".jp", 4);
    mask_full(FT_EMAIL, big);
}

static void test_text(void **state)
{
    (void)state;
    mask_full(FT_TEXT, "自由記述のメモ");
    mask_full(FT_TEXT, "a");
    mask_full(FT_TEXT, "line1\nline2\tx");
    mask_full(FT_TEXT, "東京都千代田区千代田1-1");
}

/* ---- hostile input ------------------------------------------------------ */

static void test_empty(void **state)
{
    int t;
    char *out = NULL;

    (void)state;
    for (t = 0; t < FT_COUNT; t++) {
        mask_full_n((enum field_type)t, "", 0);
        assert_int_equal(mask_value((enum field_type)t, NULL, 0, &out), 0);
        assert_string_equal(out, FULL);
        free(out);
        out = NULL;
    }
}

static void test_invalid_utf8(void **state)
{
    static const struct {
        const char *v;
        size_t n;
    } bad[] = {
        {"\xff", 1},
        {"\xe5\xb1", 2},         /* truncated 山 */
        {"山田\xe5\xb1", 8},     /* truncated at the end */
        {"\xc0\xaf", 2},         /* overlong / */
        {"\xe0\x80\xaf", 3},     /* overlong */
        {"\xed\xa0\x80", 3},     /* surrogate */
        {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"\x80"
         "abc",
         4}, /* lone continuation */
        {"taro@example.jp\xfe", 16},
        {"0901234567\xc3", 11},
    };
    size_t i;
    int t;

    (void)state;
    for (t = 0; t < FT_COUNT; t++) {
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char sentinel = 0;
            char *out = &sentinel;
            int rc = mask_value((enum field_type)t, bad[i].v, bad[i].n, &out);
            if (rc != -1)
                fail_msg("%s: invalid UTF-8 case %zu gave %d",
                         text_type_name((enum field_type)t), i, rc);
            assert_null(out);
        }
    }
}

static void test_api_misuse(void **state)
{
    char sentinel = 0;
    char *out = &sentinel;

    (void)state;
    assert_int_equal(mask_value(FT_NAME, "山田　太郎", 15, NULL), -1);
    assert_int_equal(mask_value(FT_NAME, NULL, 5, &out), -1);
    assert_null(out);
    /* an unknown type is masked entirely */
    out = NULL;
    assert_int_equal(mask_value(FT_COUNT, "山田　太郎", 15, &out), 0);
    assert_string_equal(out, FULL);
    free(out);
    out = NULL;
    assert_int_equal(
        mask_value((enum field_type) - 1, "123456789018", 12, &out), 0);
    assert_string_equal(out, FULL);
    free(out);
    out = NULL;
    assert_int_equal(mask_value((enum field_type)1000, "x", 1, &out), 0);
    assert_string_equal(out, FULL);
    free(out);
    /* len is honoured: only the first part of a longer buffer is read */
    mask_ok(FT_DATE, "1980-04-01", "1980-**-**");
    {
        char *o = mask_n(FT_MYNUMBER, "123456789018999", 12);
        assert_string_equal(o, "********9018");
        free(o);
    }
}

/* Fills buf (cap bytes) with head then repeats of unit, to exactly n bytes
 * with ASCII padding; returns buf. */
static char *make_long(char *buf, size_t n, const char *head, const char *unit)
{
    size_t h = strlen(head), u = strlen(unit), w = 0;

    memcpy(buf, head, h);
    w = h;
    while (w + u <= n) {
        memcpy(buf + w, unit, u);
        w += u;
    }
    while (w < n)
        buf[w++] = 'x';
    buf[n] = '\0';
    return buf;
}

static void test_long_values(void **state)
{
    size_t big = (size_t)1 << 20;
    char *buf = malloc(big + 1);
    char *out;
    int t;

    (void)state;
    assert_non_null(buf);
    /* TEXT_MAX_VALUE bytes: still masked by type */
    make_long(buf, TEXT_MAX_VALUE, "東京都千代田区", "千代田");
    assert_int_equal(strlen(buf), TEXT_MAX_VALUE);
    mask_ok(FT_ADDRESS, buf, "東京都千代田区＊＊＊");
    mask_full_n(FT_TEXT, buf, TEXT_MAX_VALUE);
    make_long(buf, TEXT_MAX_VALUE, "a", "山");
    /* "a" + 1365 kanji = 4096 bytes exactly */
    assert_int_equal(strlen(buf), TEXT_MAX_VALUE);
    assert_int_equal(buf[TEXT_MAX_VALUE - 1] & 0xC0, 0x80);
    mask_ok(FT_NAME, buf, "a＊＊");
    /* a family name of 4 KiB is not kept */
    make_long(buf, TEXT_MAX_VALUE - 9, "", "山");
    memcpy(buf + strlen(buf), "　太郎", 10);
    out = mask_n(FT_NAME, buf, strlen(buf));
    assert_string_equal(out, FULL);
    free(out);
    /* over TEXT_MAX_VALUE: no canonical value is that long */
    make_long(buf, TEXT_MAX_VALUE + 1, "東京都千代田区", "千代田");
    mask_full_n(FT_ADDRESS, buf, TEXT_MAX_VALUE + 1);
    make_long(buf, big, "東京都千代田区", "千代田");
    for (t = 0; t < FT_COUNT; t++)
        mask_full_n((enum field_type)t, buf, big);
    /* long values of every type are never echoed */
    memset(buf, '7', TEXT_MAX_VALUE);
    for (t = 0; t < FT_COUNT; t++)
        mask_full_n((enum field_type)t, buf, TEXT_MAX_VALUE);
    free(buf);
}

/* A value of another type's shape is masked entirely, not echoed. */
static void test_wrong_shape(void **state)
{
    static const struct {
        enum field_type own;
        const char *v;
    } vals[] = {
        {FT_MYNUMBER, "123456789018"},
        {FT_CORPNUMBER, "7000012050002"},
        {FT_PHONE, "09012345678"},
        {FT_DATE, "1980-04-01"},
        {FT_POSTAL, "100-0001"},
        {FT_EMAIL, "taro@example.jp"},
        {FT_ADDRESS, "東京都千代田区千代田１－１"},
        {FT_KANA, "ヤマダ　タロウ"},
    };
    size_t i;
    int t;

    (void)state;
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        for (t = 0; t < FT_COUNT; t++) {
            if ((enum field_type)t == vals[i].own)
                continue;
            /* a kana name is a valid name too */
            if (vals[i].own == FT_KANA && t == FT_NAME)
                continue;
            mask_full((enum field_type)t, vals[i].v);
        }
    }
    /* a kanji name is no kana, no address (no prefecture), ... */
    for (t = 0; t < FT_COUNT; t++)
        if (t != FT_NAME)
            mask_full((enum field_type)t, "山田　太郎");
}

/* ---- property: the hidden part never shows ------------------------------ */

static void test_property_mynumber(void **state)
{
    char d[14], first8[9];
    int i;

    (void)state;
    for (i = 0; i < 500; i++) {
        char *out;
        rnd_digits(d, 11);
        d[11] = text_mynumber_check_digit(d);
        d[12] = '\0';
        assert_true(text_mynumber_valid(d));
        memcpy(first8, d, 8);
        first8[8] = '\0';
        out = mask_n(FT_MYNUMBER, d, 12);
        assert_null(strstr(out, first8));
        assert_int_equal(count_digits(out), 4);
        assert_memory_equal(out, "********", 8);
        assert_string_equal(out + 8, d + 8);
        free(out);
    }
    for (i = 0; i < 500; i++) {
        char *out;
        rnd_digits(d + 1, 12);
        d[0] = text_corpnumber_check_digit(d + 1);
        d[13] = '\0';
        assert_true(text_corpnumber_valid(d));
        memcpy(first8, d, 8);
        first8[8] = '\0';
        out = mask_n(FT_CORPNUMBER, d, 13);
        assert_null(strstr(out, first8));
        assert_int_equal(count_digits(out), 4);
        assert_string_equal(out + 9, d + 9);
        free(out);
    }
}

static void test_property_phone(void **state)
{
    static const char *const prefixes[] = {"090", "080", "070", "050",  "03",
                                           "06",  "045", "011", "0120", "0800"};
    static const size_t lens[] = {11, 11, 11, 11, 10, 10, 10, 10, 10, 11};
    static const size_t groups[] = {3, 3, 3, 3, 2, 2, 3, 3, 4, 4};
    char d[12];
    int i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        size_t k = rnd(10), p = strlen(prefixes[k]), n = lens[k], g = groups[k];
        size_t j, mid = n - g - 4;
        char *out;
        memcpy(d, prefixes[k], p);
        rnd_digits(d + p, n - p);
        if (k == 1 && d[3] == '0')
            d[3] = '1'; /* 0800 is free dial, not a mobile */
        if (k == 5 && d[2] == '0')
            d[2] = '1'; /* 060 is a mobile prefix, not Osaka */
        d[n] = '\0';
        out = mask_n(FT_PHONE, d, n);
        /* g digits, "-", mid stars, "-", the last 4 */
        assert_int_equal(strlen(out), n + 2);
        assert_memory_equal(out, d, g);
        assert_int_equal(out[g], '-');
        for (j = 0; j < mid; j++)
            assert_int_equal(out[g + 1 + j], '*');
        assert_int_equal(out[g + 1 + mid], '-');
        assert_string_equal(out + g + 2 + mid, d + n - 4);
        assert_int_equal(count_digits(out), g + 4);
        free(out);
    }
}

static void test_property_name(void **state)
{
    static const char *const fam[] = {"山田", "佐藤", "鈴木", "高橋", "渡辺",
                                      "伊藤", "中村", "小林", "加藤", "吉田"};
    static const char *const given[] = {"太郎", "花子", "一郎", "美咲", "翔太",
                                        "陽菜", "大輝", "結衣", "蓮",   "葵"};
    static const char *const kfam[] = {"ヤマダ", "サトウ", "スズキ",
                                       "タカハシ"};
    static const char *const kgiven[] = {"タロウ", "ハナコ", "イチロウ",
                                         "ミサキ"};
    char v[64], want[64];
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        const char *f = fam[rnd(10)], *g = given[rnd(10)];
        const char *hidden[1] = {g};
        snprintf(v, sizeof v, "%s　%s", f, g);
        snprintf(want, sizeof want, "%s　＊＊", f);
        mask_ok(FT_NAME, v, want);
        mask_hides(FT_NAME, v, hidden, 1);
        /* without the space even the family name is cut to one char */
        snprintf(v, sizeof v, "%s%s", f, g);
        {
            const char *h2[2] = {g, f};
            mask_hides(FT_NAME, v, h2, 2);
        }
    }
    for (i = 0; i < 100; i++) {
        const char *f = kfam[rnd(4)], *g = kgiven[rnd(4)];
        const char *hidden[1] = {g};
        snprintf(v, sizeof v, "%s　%s", f, g);
        mask_hides(FT_KANA, v, hidden, 1);
    }
}

static void test_property_address(void **state)
{
    static const struct {
        const char *v;
        size_t kept; /* bytes kept */
    } heads[] = {
        {"東京都千代田区", 21},
        {"北海道札幌市中央区", 27},
        {"長野県北佐久郡軽井沢町", 33},
        {"京都府京都市中京区", 27},
        {"東京都八王子市", 21},
        {"沖縄県島尻郡渡嘉敷村", 30},
        {"大阪府", 9},
    };
    static const char *const tails[] = {
        "丸の内一丁目9番2号", "大字長倉字鳥井原1323",          "本町2-3-4",
        "西新宿二丁目8番1号", "寺町通御池上る上本能寺前町488", "字渡嘉敷183",
        "栄町5丁目",
    };
    char v[256], want[256];
    int i;

    (void)state;
    for (i = 0; i < 300; i++) {
        size_t h = rnd(7), t = rnd(7);
        const char *hidden[1] = {tails[t]};
        snprintf(v, sizeof v, "%s%s", heads[h].v, tails[t]);
        snprintf(want, sizeof want, "%.*s＊＊＊", (int)heads[h].kept,
                 heads[h].v);
        mask_ok(FT_ADDRESS, v, want);
        mask_hides(FT_ADDRESS, v, hidden, 1);
    }
}

static void test_property_email_date(void **state)
{
    static const char *const locals[] = {"taro", "hanako.yamada", "info", "x9",
                                         "sato+work"};
    char v[96], local_rest[32], dt[11];
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        const char *l = locals[rnd(5)];
        const char *hidden[1] = {local_rest};
        char *out;
        snprintf(local_rest, sizeof local_rest, "%s@", l + 1);
        snprintf(v, sizeof v, "%s@mail%u.example.jp", l, (unsigned)rnd(100));
        mask_hides(FT_EMAIL, v, hidden, 1);
        out = mask_n(FT_EMAIL, v, strlen(v));
        assert_int_equal(out[0], l[0]);
        assert_memory_equal(out + 1, "***@", 4);
        free(out);
    }
    for (i = 0; i < 200; i++) {
        char *out;
        snprintf(dt, sizeof dt, "%04u-%02u-%02u", 1900 + (unsigned)rnd(130),
                 1 + (unsigned)rnd(12), 1 + (unsigned)rnd(28));
        out = mask_n(FT_DATE, dt, 10);
        assert_int_equal(count_digits(out), 4);
        assert_memory_equal(out, dt, 4);
        assert_string_equal(out + 4, "-**-**");
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_kana),
        cmocka_unit_test(test_name_odd),
        cmocka_unit_test(test_name_embedded_nul),
        cmocka_unit_test(test_name_family_limit),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_phone_odd),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_address_unrecognised),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_postal),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_api_misuse),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_property_mynumber),
        cmocka_unit_test(test_property_phone),
        cmocka_unit_test(test_property_name),
        cmocka_unit_test(test_property_address),
        cmocka_unit_test(test_property_email_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
