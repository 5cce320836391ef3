/*
 * mask.h - the masked form of a field value, for showing a record to
 * someone who may see that it exists and roughly what it holds, but not
 * the value itself.
 *
 * Pure functions over UTF-8 strings; no I/O, no global state. The masked
 * form never lets the hidden part be recovered (its length included, where
 * the rule says so) and keeps its shape recognisable to an operator. "＊" is
 * U+FF0A (full-width, for Japanese text), "*" is ASCII (for digit fields).
 *
 *   name, kana  the family name is kept and the given name becomes "＊＊"
 *               (always two, so its length does not leak); canonical names
 *               separate them by one U+3000: "山田　太郎" -> "山田　＊＊",
 *               "ヤマダ　タロウ" -> "ヤマダ　＊＊". A name without U+3000
 *               keeps its first character: "山田太郎" -> "山＊＊". A family
 *               name over MASK_NAME_KEEP_MAX characters is not kept.
 *   phone       canonical digits, shown hyphenated: first group, then one
 *               '*' per hidden digit, then the last 4 digits. The first
 *               group is never longer than the real area code:
 *                 0120 (10 digits), 0800 (11)             4 digits
 *                 020, 050, 060, 070, 080, 090 (11)       3 digits
 *                 03, 06, 042, 047 (10)                   2 digits
 *                 any other (10)                          3 digits
 *               "09012345678" -> "090-****-5678", "0312345678" ->
 *               "03-****-5678", "0120123456" -> "0120-**-3456". (04 is a
 *               two-digit area code for 04-2xxx and 04-7xxx only, and 042x
 *               and 047x can also be longer codes: two never shows more than
 *               the real area code.) A length that does not fit the prefix
 *               is an unexpected shape.
 *   address     kept up to and including the municipality, then "＊＊＊":
 *               prefecture + 市 (+ 区 for the 20 政令指定都市), 郡 + 町/村,
 *               町/村, or 東京都 + one of the 23 特別区. One space (U+0020 or
 *               U+3000) may stand between the parts. Municipalities are
 *               recognised from their shape (a few names that contain 市,
 *               郡, 町 or 村 are listed); when unsure less is kept: a
 *               prefecture without a recognised municipality keeps only the
 *               prefecture ("東京都＊＊＊"); without a prefecture, all is
 *               masked.
 *   date        "YYYY-MM-DD" -> "YYYY-**-**".
 *   postal      "NNN-NNNN" -> "NNN-****".
 *   mynumber    12 digits, corpnumber 13 digits: all but the last 4 become
 *               '*': "********9018".
 *   email       first character of the local part, "***@", the domain:
 *               "taro@example.jp" -> "t***@example.jp".
 *   text        always "＊＊＊" (free text can hold anything).
 *
 * Anything else - a value that is not of its type's canonical shape, an
 * empty value, a value over TEXT_MAX_VALUE bytes, an unknown type - is
 * masked entirely as "＊＊＊" and never echoed.
 *
 * mask_value's input need not be NUL-terminated; *out is NUL-terminated,
 * valid UTF-8, at most MASK_MAX_LEN bytes, and may still hold personal data
 * (a family name, a municipality): the caller wipes and frees it. On failure
 * *out is NULL. -1 (MAMORI_EINVAL) also if out is NULL, or in is NULL with
 * len > 0; -2 is MAMORI_ENOMEM.
 */
#ifndef MAMORI_MASK_H
#define MAMORI_MASK_H

#include <stddef.h>

#include "text.h"

/* Longest family name (in code points) that a masked name keeps. */
#define MASK_NAME_KEEP_MAX 32

/* Longest masked form, in bytes without the terminating NUL. */
#define MASK_MAX_LEN 320

/* The masked form of a canonical value of type t (as text_canonical
 * produced it), malloc'd in *out. 0, or -2 on ENOMEM; -1 if in is not
 * valid UTF-8. Never fails for other input: an unexpected shape is
 * masked entirely. */
int mask_value(enum field_type t, const char *in, size_t len, char **out);

#endif
