/*
 * mask.c - masked forms of field values (see mask.h for the rules).
 *
 * Every type checks that its value has the canonical shape before keeping
 * any part of it; anything unexpected becomes FULL. The output is assembled
 * from a few pieces (kept slices of the input and literal masks) straight
 * into the malloc'd result, so no other copy of the value is made.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori.h"
#include "mask.h"
#include "text.h"
#include "banned.h"

#define FULL "＊＊＊"
#define GIVEN "＊＊"
#define IDEO_SPACE "　" /* U+3000 */

/* A municipality, 郡 or ward name has at most this many characters before
 * its 市/郡/町/村/区 (the longest real ones have 6: いちき串木野市). */
#define UNIT_MAX_CHARS 7

/* ---- output ------------------------------------------------------------- */

struct piece {
    const char *p;
    size_t n;
};

/* Concatenates the pieces into a new string in *out. A result over
 * MASK_MAX_LEN cannot come from a canonical value: it is masked entirely. */
static int emit(char **out, const struct piece *pc, size_t count)
{
    static const struct piece full = {FULL, sizeof FULL - 1};
    size_t i, total = 0;
    char *s;

    for (i = 0; i < count; i++) {
        if (pc[i].n > MASK_MAX_LEN - total) {
            pc = &full;
            count = 1;
            total = full.n;
            break;
        }
        total += pc[i].n;
    }
    s = malloc(total + 1);
    if (s == NULL)
        return MAMORI_ENOMEM;
    total = 0;
    for (i = 0; i < count; i++) {
        if (pc[i].n > 0)
            memcpy(s + total, pc[i].p, pc[i].n);
        total += pc[i].n;
    }
    s[total] = '\0';
    *out = s;
    return 0;
}

static int emit_full(char **out)
{
    const struct piece p = {FULL, sizeof FULL - 1};

    return emit(out, &p, 1);
}

/* ---- characters --------------------------------------------------------- */

/* Decodes the code point at s[*i] of a string text_utf8_valid accepted. */
static int32_t next_cp(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t p = *i, need, k;
    int32_t v;

    if (u[p] < 0x80) {
        *i = p + 1;
        return u[p];
    }
    if (u[p] < 0xE0) {
        need = 1;
        v = u[p] & 0x1F;
    } else if (u[p] < 0xF0) {
        need = 2;
        v = u[p] & 0x0F;
    } else {
        need = 3;
        v = u[p] & 0x07;
    }
    if (n - p - 1 < need) { /* cannot happen after validation */
        *i = n;
        return -1;
    }
    for (k = 1; k <= need; k++)
        v = (v << 6) | (u[p + k] & 0x3F);
    *i = p + 1 + need;
    return v;
}

static int is_han(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F) ||
           (c >= 0x30000 && c <= 0x3134F) || c == 0x3005 /* 々 */ ||
           c == 0x3006 /* 〆 */ || c == 0x303B /* 〻 */;
}

static int is_hiragana(int32_t c)
{
    return (c >= 0x3041 && c <= 0x3096) || (c >= 0x309D && c <= 0x309F);
}

/* Katakana letters, ヶ, ー and the iteration marks; not ・ (U+30FB). */
static int is_katakana(int32_t c)
{
    return (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x30FC && c <= 0x30FF) ||
           (c >= 0x31F0 && c <= 0x31FF);
}

static int is_latin_letter(int32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    if (c >= 0xC0 && c <= 0x24F)
        return c != 0xD7 && c != 0xF7;
    return c >= 0x1E00 && c <= 0x1EFF;
}

/* A character that can start a name: a letter of some script. */
static int is_name_letter(int32_t c)
{
    return is_han(c) || is_hiragana(c) || is_katakana(c) || is_latin_letter(c);
}

/* Anything else a canonical name may hold (see canon_name in text.c):
 * ・ ゠ . - ', variation selectors and Latin combining marks. */
static int is_name_other(int32_t c)
{
    return c == 0x30FB || c == 0x30A0 || c == '.' || c == '-' || c == '\'' ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF) ||
           (c >= 0x300 && c <= 0x36F);
}

/* Characters of a place name: kanji, kana, ヶ, ー. */
static int is_place_char(int32_t c)
{
    return is_han(c) || is_hiragana(c) || is_katakana(c);
}

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Length of the longest entry of the NULL-terminated list that s starts
 * with; 0 if none. */
static size_t prefix_in(const char *s, size_t n, const char *const *list)
{
    size_t best = 0, i, k;

    for (i = 0; list[i] != NULL; i++) {
        k = strlen(list[i]);
        if (k <= n && k > best && memcmp(s, list[i], k) == 0)
            best = k;
    }
    return best;
}

/* Bytes of one space (U+0020 or U+3000) at the start of s, or 0. */
static size_t space_at(const char *s, size_t n)
{
    if (n >= 1 && s[0] == ' ')
        return 1;
    if (n >= 3 && memcmp(s, IDEO_SPACE, 3) == 0)
        return 3;
    return 0;
}

/* ---- name, kana --------------------------------------------------------- */

/*
 * name and kana: letters, with single U+3000 between parts (never first or
 * last); the family name is everything before the first U+3000. A part
 * starts with a letter; names may then hold ・ ゠ . - ' and marks, kana
 * only katakana and ・.
 */
static int mask_name(const char *s, size_t n, int kana, char **out)
{
    size_t i = 0, first_end = 0, fam_end = 0, fam_chars = 0;
    int32_t last = 0;

    while (i < n) {
        size_t at = i;
        int32_t c = next_cp(s, n, &i);
        int letter = kana ? is_katakana(c) : is_name_letter(c);
        if (c == 0x3000) {
            if (at == 0 || last == 0x3000 || i == n)
                return emit_full(out);
            if (fam_end == 0)
                fam_end = at;
        } else if (at == 0 || last == 0x3000) {
            if (!letter)
                return emit_full(out);
        } else if (!letter && !(kana ? c == 0x30FB : is_name_other(c))) {
            return emit_full(out);
        }
        if (at == 0)
            first_end = i;
        if (fam_end == 0)
            fam_chars++;
        last = c;
    }
    if (fam_end > 0) {
        struct piece p[3] = {
            {s, fam_end}, {IDEO_SPACE, 3}, {GIVEN, sizeof GIVEN - 1}};
        if (fam_chars > MASK_NAME_KEEP_MAX)
            return emit_full(out);
        return emit(out, p, 3);
    } else {
        struct piece p[2] = {{s, first_end}, {GIVEN, sizeof GIVEN - 1}};
        return emit(out, p, 2);
    }
}

/* ---- numbers and dates -------------------------------------------------- */

static const char STARS[] = "*************";

/* The first group of a canonical phone number (see mask.h), or 0 if the
 * length does not fit the prefix. */
static size_t phone_first_group(const char *d, size_t n)
{
    size_t want = 10, group = 3;

    if (memcmp(d, "0120", 4) == 0) {
        group = 4;
    } else if (memcmp(d, "0800", 4) == 0) {
        want = 11;
        group = 4;
    } else if (d[2] == '0' && (d[1] == '2' || (d[1] >= '5' && d[1] <= '9'))) {
        want = 11;
    } else if (d[1] == '3' || d[1] == '6' ||
               (d[1] == '4' && (d[2] == '2' || d[2] == '7'))) {
        /* 03, 06 and 04 (04-2xxx, 04-7xxx) are the two-digit area codes.
         * 042x and 047x may also be three- or four-digit ones (042 八王子,
         * 0422): two never shows more than the area code. */
        group = 2;
    }
    return n == want ? group : 0;
}

static int mask_phone(const char *s, size_t n, char **out)
{
    size_t g;

    if ((n != 10 && n != 11) || !all_digits(s, n) || s[0] != '0' || s[1] == '0')
        return emit_full(out);
    g = phone_first_group(s, n);
    if (g == 0)
        return emit_full(out);
    {
        struct piece p[5] = {
            {s, g}, {"-", 1}, {STARS, n - g - 4}, {"-", 1}, {s + n - 4, 4}};
        return emit(out, p, 5);
    }
}

/* mynumber and corpnumber: want digits, all but the last 4 hidden. */
static int mask_number(const char *s, size_t n, size_t want, char **out)
{
    if (n != want || !all_digits(s, n))
        return emit_full(out);
    {
        struct piece p[2] = {{STARS, want - 4}, {s + want - 4, 4}};
        return emit(out, p, 2);
    }
}

static int mask_date(const char *s, size_t n, char **out)
{
    struct piece p[2] = {{s, 4}, {"-**-**", 6}};

    if (n != 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
        s[7] != '-' || !all_digits(s + 8, 2))
        return emit_full(out);
    return emit(out, p, 2);
}

static int mask_postal(const char *s, size_t n, char **out)
{
    struct piece p[2] = {{s, 3}, {"-****", 5}};

    if (n != 8 || !all_digits(s, 3) || s[3] != '-' || !all_digits(s + 4, 4))
        return emit_full(out);
    return emit(out, p, 2);
}

/* ---- email -------------------------------------------------------------- */

static int email_local_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static int email_domain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int mask_email(const char *s, size_t n, char **out)
{
    const char *at;
    size_t local, i;

    if (n == 0 || n > 254)
        return emit_full(out);
    at = memchr(s, '@', n);
    if (at == NULL)
        return emit_full(out);
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || local + 1 == n)
        return emit_full(out);
    for (i = 0; i < local; i++)
        if (!email_local_char(s[i]))
            return emit_full(out);
    for (i = local + 1; i < n; i++)
        if (!email_domain_char(s[i]))
            return emit_full(out);
    {
        struct piece p[3] = {{s, 1}, {"***@", 4}, {at + 1, n - local - 1}};
        return emit(out, p, 3);
    }
}

/* ---- address ------------------------------------------------------------ */

static const char *const prefectures[] = {
    "北海道", "青森県",   "岩手県", "宮城県",   "秋田県", "山形県", "福島県",
    "茨城県", "栃木県",   "群馬県", "埼玉県",   "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県",   "石川県", "福井県",   "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県",   "三重県", "滋賀県",   "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県",   "岡山県", "広島県", "山口県",
    "徳島県", "香川県",   "愛媛県", "高知県",   "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県",   "宮崎県", "鹿児島県", "沖縄県", NULL};

static const char *const tokyo_wards[] = {
    "千代田区", "中央区", "港区",   "新宿区", "文京区",   "台東区",
    "墨田区",   "江東区", "品川区", "目黒区", "大田区",   "世田谷区",
    "渋谷区",   "中野区", "杉並区", "豊島区", "北区",     "荒川区",
    "板橋区",   "練馬区", "足立区", "葛飾区", "江戸川区", NULL};

/* Wards of the 政令指定都市. */
static const char *const w_sapporo[] = {"中央区", "北区",   "東区", "白石区",
                                        "豊平区", "南区",   "西区", "厚別区",
                                        "手稲区", "清田区", NULL};
static const char *const w_sendai[] = {"青葉区", "宮城野区", "若林区",
                                       "太白区", "泉区",     NULL};
static const char *const w_saitama[] = {"西区",   "北区",   "大宮区", "見沼区",
                                        "中央区", "桜区",   "浦和区", "南区",
                                        "緑区",   "岩槻区", NULL};
static const char *const w_chiba[] = {"中央区", "花見川区", "稲毛区", "若葉区",
                                      "緑区",   "美浜区",   NULL};
static const char *const w_yokohama[] = {
    "鶴見区",     "神奈川区",   "西区",   "中区",   "南区",
    "保土ケ谷区", "保土ヶ谷区", "磯子区", "金沢区", "港北区",
    "戸塚区",     "港南区",     "旭区",   "緑区",   "瀬谷区",
    "栄区",       "泉区",       "青葉区", "都筑区", NULL};
static const char *const w_kawasaki[] = {"川崎区", "幸区",   "中原区", "高津区",
                                         "多摩区", "宮前区", "麻生区", NULL};
static const char *const w_sagamihara[] = {"緑区", "中央区", "南区", NULL};
static const char *const w_niigata[] = {"北区",   "東区",   "中央区",
                                        "江南区", "秋葉区", "南区",
                                        "西区",   "西蒲区", NULL};
static const char *const w_shizuoka[] = {"葵区", "駿河区", "清水区", NULL};
/* Hamamatsu: the wards from 2024 and the ones before. */
static const char *const w_hamamatsu[] = {"中央区", "浜名区", "天竜区", "中区",
                                          "東区",   "西区",   "南区",   "北区",
                                          "浜北区", NULL};
static const char *const w_nagoya[] = {
    "千種区", "東区",   "北区",   "西区",   "中村区", "中区",
    "昭和区", "瑞穂区", "熱田区", "中川区", "港区",   "南区",
    "守山区", "緑区",   "名東区", "天白区", NULL};
static const char *const w_kyoto[] = {"北区",   "上京区", "左京区", "中京区",
                                      "東山区", "下京区", "南区",   "右京区",
                                      "伏見区", "山科区", "西京区", NULL};
static const char *const w_osaka[] = {
    "都島区",   "福島区",   "此花区", "西区",     "港区",
    "大正区",   "天王寺区", "浪速区", "西淀川区", "東淀川区",
    "東成区",   "生野区",   "旭区",   "城東区",   "阿倍野区",
    "住吉区",   "東住吉区", "西成区", "淀川区",   "鶴見区",
    "住之江区", "平野区",   "北区",   "中央区",   NULL};
static const char *const w_sakai[] = {"堺区", "中区", "東区",   "西区",
                                      "南区", "北区", "美原区", NULL};
static const char *const w_kobe[] = {"東灘区", "灘区",   "兵庫区", "長田区",
                                     "須磨区", "垂水区", "北区",   "中央区",
                                     "西区",   NULL};
static const char *const w_okayama[] = {"北区", "中区", "東区", "南区", NULL};
static const char *const w_hiroshima[] = {"中区",   "東区",     "南区",
                                          "西区",   "安佐南区", "安佐北区",
                                          "安芸区", "佐伯区",   NULL};
static const char *const w_kitakyushu[] = {"門司区",   "若松区",   "戸畑区",
                                           "小倉北区", "小倉南区", "八幡東区",
                                           "八幡西区", NULL};
static const char *const w_fukuoka[] = {"東区", "博多区", "中央区", "南区",
                                        "西区", "城南区", "早良区", NULL};
static const char *const w_kumamoto[] = {"中央区", "東区", "西区",
                                         "南区",   "北区", NULL};

static const struct {
    const char *pref;
    const char *city;
    const char *const *wards;
} designated[] = {
    {"北海道", "札幌市", w_sapporo},
    {"宮城県", "仙台市", w_sendai},
    {"埼玉県", "さいたま市", w_saitama},
    {"千葉県", "千葉市", w_chiba},
    {"神奈川県", "横浜市", w_yokohama},
    {"神奈川県", "川崎市", w_kawasaki},
    {"神奈川県", "相模原市", w_sagamihara},
    {"新潟県", "新潟市", w_niigata},
    {"静岡県", "静岡市", w_shizuoka},
    {"静岡県", "浜松市", w_hamamatsu},
    {"愛知県", "名古屋市", w_nagoya},
    {"京都府", "京都市", w_kyoto},
    {"大阪府", "大阪市", w_osaka},
    {"大阪府", "堺市", w_sakai},
    {"兵庫県", "神戸市", w_kobe},
    {"岡山県", "岡山市", w_okayama},
    {"広島県", "広島市", w_hiroshima},
    {"福岡県", "北九州市", w_kitakyushu},
    {"福岡県", "福岡市", w_fukuoka},
    {"熊本県", "熊本市", w_kumamoto},
};

/* Municipalities and 郡 whose name holds 市, 郡, 町 or 村 before the end,
 * which the shape rule would cut short. Only cutting short is listed:
 * it keeps less than it should, never more. */
static const char *const odd_units[] = {
    "大和郡山市", "蒲郡市",     "小郡市",   "町田市",   "大町市",   "十日町市",
    "東村山市",   "武蔵村山市", "羽村市",   "田村市",   "大村市",   "四日市市",
    "廿日市市",   "野々市市",   "西村山郡", "北村山郡", "東村山郡", "田村郡",
    "余市郡",     "高市郡",     NULL};
/* Towns of that kind, tried right after a 郡. */
static const char *const odd_towns[] = {"上市町", "下市町", "余市町",
                                        "玉村町", "大町町", NULL};

/* Tokyo's island towns and villages belong to no 郡. */
static const char *const tokyo_islands[] = {
    "大島町", "利島村",   "新島村",   "神津島村", "三宅村", "御蔵島村",
    "八丈町", "青ヶ島村", "青ケ島村", "小笠原村", NULL};

enum { M_NONE = 0, M_SHI, M_GUN, M_CHO, M_KU };

static int marker_of(int32_t c)
{
    switch (c) {
    case 0x5E02: /* 市 */
        return M_SHI;
    case 0x90E1: /* 郡 */
        return M_GUN;
    case 0x753A: /* 町 */
    case 0x6751: /* 村 */
        return M_CHO;
    case 0x533A: /* 区 */
        return M_KU;
    default:
        return M_NONE;
    }
}

/*
 * A place name of 1..UNIT_MAX_CHARS place characters and its marker: the
 * first 市/郡/町/村/区 after the first character (a 郡 after two: no 郡 name
 * is shorter, and "北郡山町" is a district, not 北郡 + 山町). With after_gun,
 * only 町 and 村 end it, and 郡 or 区 fail it (a town name may hold 市:
 * 上市町). Returns the bytes including the marker and sets *mk, or 0.
 */
static size_t scan_unit(const char *s, size_t n, int after_gun, int *mk)
{
    size_t i = 0, chars = 0;

    while (i < n && chars <= UNIT_MAX_CHARS) {
        int32_t c = next_cp(s, n, &i);
        int m = marker_of(c);
        if (!is_place_char(c))
            return 0;
        if (chars > 0 && m != M_NONE) {
            if (after_gun && (m == M_GUN || m == M_KU))
                return 0;
            if (m == M_GUN && chars < 2)
                return 0;
            if (!after_gun || m == M_CHO) {
                *mk = m;
                return i;
            }
            /* 市 inside a town's name: read on */
        }
        chars++;
    }
    return 0;
}

/*
 * The municipality at the start of s (after prefecture pref): its length in
 * bytes, or 0 if none is recognised. A 町 or 村 counts only after a 郡 (or
 * as one of Tokyo's island municipalities, which have none): on its own it
 * is as likely a district of a municipality left out ("本町2-3").
 */
static size_t municipality(const char *s, size_t n, const char *pref)
{
    size_t k, sp, w, i;
    int mk = M_NONE;

    if (strcmp(pref, "東京都") == 0) {
        k = prefix_in(s, n, tokyo_wards);
        if (k == 0)
            k = prefix_in(s, n, tokyo_islands);
        if (k > 0)
            return k;
    }
    for (i = 0; i < sizeof designated / sizeof designated[0]; i++) {
        k = strlen(designated[i].city);
        if (strcmp(pref, designated[i].pref) != 0 || k > n ||
            memcmp(s, designated[i].city, k) != 0)
            continue;
        sp = space_at(s + k, n - k);
        w = prefix_in(s + k + sp, n - k - sp, designated[i].wards);
        return w > 0 ? k + sp + w : k;
    }
    if (prefix_in(s, n, odd_towns) > 0)
        return 0; /* a town without its 郡 */
    k = prefix_in(s, n, odd_units);
    if (k > 0)
        mk = memcmp(s + k - 3, "郡", 3) == 0 ? M_GUN : M_SHI;
    else
        k = scan_unit(s, n, 0, &mk);
    if (k == 0 || mk == M_KU || mk == M_CHO)
        return 0;
    if (mk == M_SHI)
        return k;
    sp = space_at(s + k, n - k);
    w = prefix_in(s + k + sp, n - k - sp, odd_towns);
    if (w == 0)
        w = scan_unit(s + k + sp, n - k - sp, 1, &mk);
    return w > 0 ? k + sp + w : 0;
}

static int mask_address(const char *s, size_t n, char **out)
{
    size_t pl = 0, sp, m, keep, i;
    const char *pref = NULL;

    for (i = 0; prefectures[i] != NULL; i++) {
        size_t k = strlen(prefectures[i]);
        if (k <= n && memcmp(s, prefectures[i], k) == 0) {
            pref = prefectures[i];
            pl = k;
            break;
        }
    }
    if (pref == NULL)
        return emit_full(out);
    sp = space_at(s + pl, n - pl);
    m = municipality(s + pl + sp, n - pl - sp, pref);
    keep = m > 0 ? pl + sp + m : pl;
    {
        struct piece p[2] = {{s, keep}, {FULL, sizeof FULL - 1}};
        return emit(out, p, 2);
    }
}

/* ---- entry point -------------------------------------------------------- */

int mask_value(enum field_type t, const char *in, size_t len, char **out)
{
    if (out == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    if (in == NULL && len > 0)
        return MAMORI_EINVAL;
    if (!text_utf8_valid(in, len))
        return MAMORI_EINVAL;
    if (in == NULL || len == 0 || len > TEXT_MAX_VALUE)
        return emit_full(out);
    switch (t) {
    case FT_NAME:
        return mask_name(in, len, 0, out);
    case FT_KANA:
        return mask_name(in, len, 1, out);
    case FT_PHONE:
        return mask_phone(in, len, out);
    case FT_ADDRESS:
        return mask_address(in, len, out);
    case FT_DATE:
        return mask_date(in, len, out);
    case FT_POSTAL:
        return mask_postal(in, len, out);
    case FT_MYNUMBER:
        return mask_number(in, len, 12, out);
    case FT_CORPNUMBER:
        return mask_number(in, len, 13, out);
    case FT_EMAIL:
        return mask_email(in, len, out);
    case FT_TEXT:
    default:
        return emit_full(out);
    }
}
