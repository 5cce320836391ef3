/*
 * totp.h - second factor for logins: TOTP codes (RFC 6238, HMAC-SHA-1, 6
 * digits, 30-second steps, over liboath), the otpauth:// URI an
 * authenticator app enrols from, that URI as a QR code for a terminal
 * (libqrencode), and single-use recovery codes.
 *
 * Secrets, codes and anything derived from a secret (its Base32 text, the
 * URI, the QR text) are the caller's to wipe: crypto_wipe for buffers,
 * crypto_wipe_free_str for malloc'd strings. Functions return 0 or a
 * negative MAMORI_E* code and wipe their own intermediate copies.
 */
#ifndef MAMORI_TOTP_H
#define MAMORI_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20 /* raw secret bytes (160 bits, RFC 4226) */
/* Secret lengths accepted by the functions below: RFC 4226 R6 asks for at
 * least 128 bits. */
#define TOTP_SECRET_MIN 16
#define TOTP_SECRET_MAX 64
/* Size of the Base32 text of a TOTP_SECRET_LEN secret, with its NUL. In
 * general a len-byte secret needs (8 * len + 4) / 5 + 1 bytes. */
#define TOTP_SECRET_B32_SIZE 33
#define TOTP_STEP 30
#define TOTP_DIGITS 6
/* Largest verification window accepted, in steps each side. */
#define TOTP_WINDOW_MAX 10
/* Longest typed code or recovery code accepted, in bytes (spaces and
 * full-width forms included); longer input is refused unread. */
#define TOTP_INPUT_MAX 64
/* Longest issuer and account name in a URI, in bytes of UTF-8. */
#define TOTP_NAME_MAX 128
/* Longest text totp_qr_text encodes, in bytes. */
#define TOTP_QR_TEXT_MAX 2048

/* Fills secret with TOTP_SECRET_LEN random bytes (crypto_random). */
void totp_secret_new(uint8_t secret[TOTP_SECRET_LEN]);

/*
 * Base32 (RFC 4648 alphabet, upper case, no padding) of secret[0..len) into
 * out, NUL-terminated. len is TOTP_SECRET_MIN..TOTP_SECRET_MAX; out holds
 * size bytes, at least (8 * len + 4) / 5 + 1 (TOTP_SECRET_B32_SIZE for
 * TOTP_SECRET_LEN). MAMORI_EINVAL for a bad argument, MAMORI_ETOOBIG if out
 * is too small (out is then left empty).
 */
int totp_secret_base32(const uint8_t *secret, size_t len, char *out,
                       size_t size);

/*
 * The TOTP_DIGITS-digit code of time step `step` (unix time / TOTP_STEP)
 * into out. MAMORI_EINVAL for a bad secret length or a step whose start
 * time does not fit in time_t; MAMORI_ECRYPTO if liboath fails.
 */
int totp_code(const uint8_t *secret, size_t len, uint64_t step,
              char out[TOTP_DIGITS + 1]);

/*
 * Checks a code the user typed, at unix time now (>= 0), against the steps
 * now / TOTP_STEP - window .. + window (0 <= window <= TOTP_WINDOW_MAX; 1 is
 * the usual choice: a code is good for about a minute and a half).
 *
 * Input: exactly TOTP_DIGITS digits after U+0020 and U+3000 spaces are
 * removed and full-width digits (U+FF10..U+FF19, typed by Japanese IMEs) are
 * folded to ASCII; anything else, or more than TOTP_INPUT_MAX bytes, is
 * MAMORI_EINVAL and is not compared at all.
 *
 * Replay: only a step > last_used_step can match. If the code matches
 * several steps of the window, the latest is taken, so storing
 * *matched_step as the next last_used_step refuses that same code for
 * every step it matched. Returns 0 with *matched_step set, or
 * MAMORI_EAUTH if no allowed step matches (*matched_step untouched). Codes
 * are compared in constant time and every step of the window is computed
 * and compared, whichever matches.
 */
int totp_verify(const uint8_t *secret, size_t len, const char *code,
                int64_t now, int window, uint64_t last_used_step,
                uint64_t *matched_step);

/*
 * The enrolment URI, malloc'd into *out:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER
 *     &algorithm=SHA1&digits=6&period=30
 * issuer and account are percent-encoded (every byte outside RFC 3986
 * "unreserved" becomes %XX, so spaces, '&', ':' and UTF-8 are all encoded;
 * Google's key URI format forbids a literal ':' inside either, an encoded
 * one is the best we can do). Each must be 1..TOTP_NAME_MAX bytes of valid
 * UTF-8 without control characters: MAMORI_EINVAL / MAMORI_ETOOBIG
 * otherwise; MAMORI_ENOMEM. The URI holds the secret: wipe it with
 * crypto_wipe_free_str.
 */
int totp_uri(const char *issuer, const char *account, const uint8_t *secret,
             size_t len, char **out);

/*
 * A QR code of text (libqrencode, ECC level M, 8-bit data, 1..
 * TOTP_QR_TEXT_MAX bytes) as UTF-8 lines for a terminal, malloc'd into *out.
 * Each character cell holds two modules, one above the other, drawn with
 * "█" "▀" "▄" " "; a 4-module quiet zone surrounds the symbol; every line
 * ends in '\n' and all lines have the same number of cells.
 *
 * Polarity: LIGHT modules (and the quiet zone) are the block glyphs, DARK
 * modules are spaces. A terminal paints glyphs in its foreground colour on
 * its background, so on the usual dark-background terminal this shows dark
 * modules on a light ground, which is what the QR standard specifies and
 * what every phone camera app reads (many do not read the inverted form).
 * On a light-background terminal it comes out inverted; callers should
 * then also offer the URI or the Base32 secret as text.
 *
 * The four glyphs are East Asian Width "Ambiguous": a terminal set to draw
 * ambiguous characters double-width (a common setting in Japanese locales)
 * draws this QR code distorted, and the same text fallback applies.
 *
 * MAMORI_EINVAL for empty or NULL text, MAMORI_ETOOBIG if it is too long
 * for a QR code, MAMORI_ENOMEM. The text encodes whatever was given (for a
 * URI, the secret): wipe it with crypto_wipe_free_str.
 */
int totp_qr_text(const char *text, char **out);

/*
 * Recovery codes: TOTP_RECOVERY_CODES are issued at a time, each of
 * TOTP_RECOVERY_CHARS characters drawn uniformly from the 31 characters
 * 2-9 and A-Z without I, L, O (no 0/O/1/I/L to misread), shown as
 * XXXXX-XXXXX (TOTP_RECOVERY_LEN with the dash).
 */
#define TOTP_RECOVERY_CODES 10
#define TOTP_RECOVERY_CHARS 10
#define TOTP_RECOVERY_LEN 11 /* with the dash */

/* One new recovery code "XXXXX-XXXXX", NUL-terminated. */
void totp_recovery_new(char out[TOTP_RECOVERY_LEN + 1]);

/*
 * The canonical form of a typed recovery code: upper-cased, spaces
 * (U+0020, U+3000) and dashes ('-', full-width U+FF0D, U+2010..U+2015,
 * U+2212, and the long-vowel marks U+30FC / U+FF70 a Japanese IME types for
 * '-') removed, full-width letters and digits folded; into out as
 * TOTP_RECOVERY_CHARS characters and a NUL. Returns 0, or MAMORI_EINVAL
 * (-1) if the result is not exactly TOTP_RECOVERY_CHARS characters of the
 * alphabet, in is NULL or longer than TOTP_INPUT_MAX bytes (out is then
 * empty).
 */
int totp_recovery_normalise(const char *in, char out[TOTP_RECOVERY_CHARS + 1]);

#endif
