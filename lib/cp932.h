/*
 * cp932.h - CP932 (Windows Shift_JIS: JIS X 0208 with the NEC and IBM
 * extensions, as Excel writes it) <-> UTF-8, through iconv("CP932").
 *
 * A converter is streaming-safe: input may arrive in chunks of any size,
 * a chunk may end inside a multibyte sequence (the bytes are held until the
 * next call). Nothing is ever substituted: a byte sequence that is not
 * CP932 (decoding), or a character that has no CP932 form (encoding, e.g.
 * U+20BB7 𠮷 or an emoji), is an error that gives the offset of the bad
 * sequence and, when encoding, the code point, so that the caller can name
 * the record and field. The converted text may be personal data: the
 * converter wipes what it holds.
 */
#ifndef MAMORI_CP932_H
#define MAMORI_CP932_H

#include <stddef.h>
#include <stdint.h>

enum cp932_dir {
    CP932_DECODE = 0, /* CP932 bytes -> UTF-8 */
    CP932_ENCODE = 1, /* UTF-8 -> CP932 bytes */
};

struct cp932;

/* A new converter. 0, MAMORI_ENOMEM, or MAMORI_EIO when the C library has
 * no CP932 converter (glibc's gconv modules missing). */
int cp932_new(enum cp932_dir dir, struct cp932 **out);
/* Frees c (wipes the bytes it holds); NULL is fine. */
void cp932_free(struct cp932 *c);
/* Back to the start of a stream: held bytes dropped, offset 0, no error. */
void cp932_reset(struct cp932 *c);

/* Output bytes one cp932_convert of inlen input bytes may write at most
 * (the held bytes of an earlier call included). 0 on size overflow. */
size_t cp932_out_max(const struct cp932 *c, size_t inlen);

/* Converts in[0..inlen) (following whatever earlier calls held back) into
 * out, which must hold cp932_out_max(c, inlen) bytes (else MAMORI_ETOOBIG,
 * nothing consumed); *outlen gets the bytes written (no NUL is added). An
 * incomplete sequence at the end of in is held for the next call, unless
 * final is set: then it is an error. Returns 0, or MAMORI_EINVAL at the
 * first bad sequence: *outlen then covers the text before it, and
 * cp932_error tells where it was. After an error only cp932_reset or
 * cp932_free are useful. */
int cp932_convert(struct cp932 *c, const void *in, size_t inlen, int final,
                  char *out, size_t outsize, size_t *outlen);

/* Where the last error was: the byte offset in the input stream of the bad
 * sequence (counted from the start or the last reset), and for
 * CP932_ENCODE the code point with no CP932 form (0 if the input was not
 * UTF-8 at all, or for a sequence cut short at the end). */
void cp932_error(const struct cp932 *c, uint64_t *offset, uint32_t *cp);

/* One-shot helpers for a whole value (a field): *out is malloc'd,
 * NUL-terminated (*outlen excludes the NUL); the caller wipes and frees
 * it. MAMORI_EINVAL when a sequence cannot be converted, with *bad (if not
 * NULL) its byte offset in in; MAMORI_ENOMEM; MAMORI_EIO (no converter).
 * For many values, reuse a converter with cp932_reset instead. */
int cp932_to_utf8(const void *in, size_t len, char **out, size_t *outlen,
                  size_t *bad);
int cp932_from_utf8(const char *in, size_t len, char **out, size_t *outlen,
                    size_t *bad);

/* Converts one whole value with c (reset first, final): the same contract
 * as the helpers above without opening a converter each time. */
int cp932_convert_all(struct cp932 *c, const void *in, size_t len, char **out,
                      size_t *outlen, size_t *bad);

#endif
