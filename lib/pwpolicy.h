/*
 * pwpolicy.h - the rules a new or changed password must meet.
 *
 * Two profiles. The requirements profile follows the client's requirement
 * list: at least 10 characters mixing upper case, lower case, digits and
 * symbols. The NIST profile follows SP 800-63B: length only (15, or 8 for
 * an account with a second factor), no composition rules. Both refuse the
 * user name, common and dictionary passwords (cracklib plus our own list of
 * keyboard walks, sequences, repeats and Japanese office words), and a new
 * password that is the current one or too close to it. Exact reuse of older
 * passwords is the caller's check, against the hashes it keeps.
 *
 * Pure checks over the caller's buffers: nothing is stored or logged.
 * Thread-safe (cracklib, which is not, runs under a lock inside).
 */
#ifndef MAMORI_PWPOLICY_H
#define MAMORI_PWPOLICY_H

#include <stddef.h>

/* Longest password (and current password) accepted, in bytes of UTF-8. */
#define PWPOLICY_MAX_BYTES 1024

/* Requirements profile: the minimum length when the policy says 0, the
 * smallest minimum a policy can ask for (smaller values are raised to it)
 * and the largest (larger values make the policy invalid). In code
 * points. */
#define PWPOLICY_DEFAULT_MIN 10
#define PWPOLICY_FLOOR_MIN 8
#define PWPOLICY_CEIL_MIN 64

/* NIST profile minimums, in code points: without and with MFA. */
#define PWPOLICY_NIST_MIN 15
#define PWPOLICY_NIST_MIN_MFA 8

enum pw_profile {
    PW_PROFILE_REQUIREMENTS = 0, /* length + upper, lower, digit, symbol */
    PW_PROFILE_NIST = 1,         /* SP 800-63B: length + blocklist */
};

/* A zero-initialised struct is the requirements profile with its
 * defaults and cracklib's default dictionary. */
struct pw_policy {
    enum pw_profile profile;
    int min_length; /* requirements profile only: 0 means 10; 1..7 count as
                       8; above 64 or negative is an invalid policy */
    int has_mfa;    /* NIST profile only: nonzero lowers 15 to 8 */
    const char *dict_path; /* cracklib dictionary prefix (path without
                              .pwd/.pwi/.hwm); NULL: the library's
                              compiled-in default */
};

/*
 * Checks a new password pw (len bytes, need not be NUL-terminated) against
 * policy p.
 *   user  the account name (NUL-terminated), or NULL if not known yet;
 *   old   the current password (oldlen bytes) when this is a change, else
 *         NULL.
 * Length counts Unicode code points; pw must be valid UTF-8 without control
 * characters, at most PWPOLICY_MAX_BYTES bytes. Full-width ASCII (Ａ, ０,
 * ！) counts as its ASCII counterpart, everywhere; a character that is not
 * A-Z, a-z, 0-9 or a space counts as a symbol (so kana and kanji do).
 *
 * Returns 0 if the password is acceptable (*rule set to NULL), else a
 * negative code with *rule pointing to a static English text naming the
 * rule broken, never quoting the password, e.g. "shorter than 10
 * characters", "needs an upper-case letter", "contains the user name",
 * "is a common password", "too similar to the current password":
 *   MAMORI_EINVAL   a rule is broken, or an argument or the policy is bad;
 *   MAMORI_ETOOBIG  pw or old is longer than PWPOLICY_MAX_BYTES;
 *   MAMORI_EIO      the password dictionary is missing or unreadable
 *                   (fail closed: no password passes without it);
 *   MAMORI_ENOMEM   out of memory.
 * rule may be NULL. The password's working copies live in guarded memory
 * and are wiped; cracklib's own internal copies are not (see pwpolicy.c).
 */
int pwpolicy_check(const struct pw_policy *p, const char *user, const char *pw,
                   size_t len, const char *old, size_t oldlen,
                   const char **rule) __attribute__((warn_unused_result));

/* The minimum length a rule from pwpolicy_check names when it is one of
 * the "shorter than N characters" texts (to translate it as one message
 * with N), else 0. The other rule texts are in the message catalog as they
 * are: translate them with _(). */
int pwpolicy_rule_min(const char *rule);

#endif
