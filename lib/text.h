/*
 * text.h - validation, canonical forms and search keys for the field types.
 *
 * Pure functions over UTF-8 strings; no I/O, no global state. Every result
 * string is malloc'd and NUL-terminated; the caller wipes (sodium_memzero or
 * explicit_bzero) and frees it, since it may hold personal data.
 */
#ifndef MAMORI_TEXT_H
#define MAMORI_TEXT_H

#include <stddef.h>

enum field_type {
    FT_TEXT = 0,
    FT_NAME,
    FT_KANA,
    FT_DATE,
    FT_POSTAL,
    FT_PHONE,
    FT_EMAIL,
    FT_MYNUMBER,
    FT_CORPNUMBER,
    FT_ADDRESS,
    FT_COUNT
};

/* Longest value accepted for any field, in bytes of UTF-8 input. */
#define TEXT_MAX_VALUE 4096

/* "name" -> FT_NAME etc. Returns 0, or -1 for an unknown name. */
int text_type_parse(const char *s, enum field_type *out);
const char *text_type_name(enum field_type t);

/*
 * Validates in (len bytes, need not be NUL-terminated) as a value of type t
 * and returns its canonical form in *out:
 *   text, address  valid UTF-8, no control characters except (text) TAB and
 *                  LF, no private-use (外字) characters, NFC, trimmed;
 *                  non-empty
 *   name           NFKC, spaces (U+0020, U+3000) trimmed and runs collapsed
 *                  to one U+3000; no digits or symbols besides ・ー々〆 etc.;
 *                  at least one letter
 *   kana           NFKC, hiragana -> katakana, spaces as for name; only
 *                  katakana, ー, ・ and spaces; at least one kana besides ー
 *   date           "YYYY-MM-DD" from 1980-04-01, 1980/4/1, 1980年4月1日,
 *                  昭和55年4月1日, S55.4.1, S55/4/1, 元年, full-width digits;
 *                  era years of 1 or 2 digits; impossible dates and dates
 *                  outside their era rejected
 *   postal         "NNN-NNNN" from 7 digits, 〒, hyphen variants, full-width
 *   phone          digits only, per Japanese numbering lengths
 *   email          local@domain, NFKC, domain lower-cased
 *   mynumber       12 digits with a valid check digit
 *   corpnumber     13 digits with a valid leading check digit
 * Every type but text refuses zero-width characters, the BOM and direction
 * marks and controls (U+200B-U+200F, U+202A-U+202E, U+2060, U+2066-U+2069,
 * U+FEFF).
 * Returns 0; -1 if invalid, with *rule set to a static English rule text
 * naming what is wrong (never the value), e.g. "check digit does not match";
 * -2 if out of memory.
 */
int text_canonical(enum field_type t, const char *in, size_t len, char **out,
                   const char **rule);

/*
 * The search key of a canonical value: what the blind index hashes. NFKC,
 * case-folded, all spaces removed, the spacing sound marks ゛゜ composed
 * with the kana before them, hiragana -> katakana (name, kana),
 * long-vowel/dash/wave-dash variants unified, common variant kanji folded
 * (髙->高, 﨑->崎 ... for name and address), digits only for phone, postal,
 * mynumber, corpnumber. Accepts raw user input too (search terms are not
 * always valid values): returns 0, or -1 if in is not UTF-8, -2 on ENOMEM.
 */
int text_search_key(enum field_type t, const char *in, size_t len, char **out);

/* Check digits. digits points at exactly 12 / 13 ASCII digits.
 * Return 1 if valid, 0 if not. */
int text_mynumber_valid(const char *digits);
int text_corpnumber_valid(const char *digits);
/* The check digit ('0'..'9') for the 11-digit base of a My Number (appended
 * last) and for the 12-digit base of a corporate number (put first). */
char text_mynumber_check_digit(const char *base11);
char text_corpnumber_check_digit(const char *base12);

/* Parses a date in any accepted form (see above). 0 and y/m/d, or -1 with
 * *rule. */
int text_date_parse(const char *in, size_t len, int *y, int *m, int *d,
                    const char **rule);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
int text_utf8_valid(const char *s, size_t len);
/* Length of the UTF-8 sequence at p (at most n bytes) and its code point in
 * *cp, or 0 if it is not one: truncated, overlong, a surrogate or above
 * U+10FFFF. */
size_t text_utf8_char(const unsigned char *p, size_t n, uint32_t *cp);

#endif
