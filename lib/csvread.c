/*
 * csvread.c - streaming RFC 4180 reader on libcsv, with line numbers, limits,
 * encoding detection and CP932 -> UTF-8 per field.
 *
 * Line numbers: libcsv does not report positions, but a row can only end
 * at a CR or LF. The reader hands libcsv one segment at a time, each ending
 * just after a CR or LF (or at the end of a chunk), so a row-end callback
 * always fires on the last byte of the segment being parsed; the next row
 * starts at the first segment that does not begin with CR or LF (libcsv
 * skips blank lines). Lines end at LF, CRLF or a CR alone. A line is
 * numbered as a spreadsheet numbers its rows: the line breaks inside a
 * quoted field (an address typed with Alt+Enter in Excel) do not count,
 * so that "line 4" is the row the operator finds as 4 in Excel; a blank
 * line counts, as Excel shows it as an empty row.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "crypto.h"
#include "mamori.h"
#include "cp932.h"
#include "csvread.h"
#include "i18n.h"
#include "text.h"
#include "banned.h"

#define CHUNK (64 * 1024)

struct csv_reader {
    csv_read_fn rd;
    void *arg;
    struct csv_parser p;
    int p_init;
    struct cp932 *conv;
    enum csv_encoding enc;
    struct csv_limits lim;

    unsigned char *buf; /* CHUNK bytes */
    size_t len, pos;    /* bytes in buf, next to parse */
    size_t avail;       /* bytes the parser may take (detect holds back) */
    int eof;            /* the read function said 0 */
    int done;           /* csv_fini has run */
    int started;        /* first chunk seen (BOM check) */
    uint64_t bytes;
    uint64_t line;     /* line of buf[pos], as a spreadsheet counts */
    int after_cr;      /* the byte before buf[pos] was a CR */
    int want_start;    /* the next non-CR/LF byte starts a row */
    uint64_t row_line; /* where the row being parsed started */
    size_t row_raw;    /* raw bytes of the row so far */

    /* The row being filled, then handed out. */
    char **field;
    size_t *flen;
    size_t nfields, cap_fields;
    char *arena; /* converted field bytes, NUL after each */
    size_t arena_len, arena_cap;
    int have_row;
    int delivered; /* a row was handed out: clear it before the next */

    int rc; /* sticky error */
    struct csv_error err;
};

int csv_encoding_parse(const char *name, enum csv_encoding *out)
{
    if (!name)
        return -1;
    if (strcasecmp(name, "auto") == 0)
        *out = CSV_ENC_AUTO;
    else if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        *out = CSV_ENC_UTF8;
    else if (strcasecmp(name, "cp932") == 0 || strcasecmp(name, "sjis") == 0 ||
             strcasecmp(name, "shift_jis") == 0 ||
             strcasecmp(name, "windows-31j") == 0)
        *out = CSV_ENC_CP932;
    else
        return -1;
    return 0;
}

const char *csv_encoding_name(enum csv_encoding e)
{
    switch (e) {
    case CSV_ENC_UTF8:
        return "utf-8";
    case CSV_ENC_CP932:
        return "cp932";
    default:
        return "auto";
    }
}

/* libcsv's buffer holds raw field bytes: wipe a block before it goes. */
static void *wipe_realloc(void *old, size_t size)
{
    void *p;
    size_t had;

    if (size == 0)
        size = 1;
    p = malloc(size);
    if (!p)
        return NULL;
    if (old) {
        had = malloc_usable_size(old);
        memcpy(p, old, had < size ? had : size);
        crypto_wipe(old, had);
        free(old);
    }
    return p;
}

static void wipe_free(void *p)
{
    if (!p)
        return;
    crypto_wipe(p, malloc_usable_size(p));
    free(p);
}

static int no_space(unsigned char c)
{
    (void)c; /* RFC 4180: spaces belong to the field */
    return 0;
}

static int fail(struct csv_reader *r, int rc, uint64_t line, size_t column,
                const char *what)
{
    if (r->rc == 0) {
        r->rc = rc;
        r->err.line = line;
        r->err.column = column;
        r->err.what = what;
    }
    return rc;
}

static void row_clear(struct csv_reader *r)
{
    if (r->arena && r->arena_len)
        crypto_wipe(r->arena, r->arena_len);
    r->arena_len = 0;
    r->nfields = 0;
    r->row_raw = 0;
    r->have_row = 0;
}

/* Makes room for add more bytes in the arena (the field pointers are
 * fixed up when it moves). */
static int arena_reserve(struct csv_reader *r, size_t add)
{
    size_t need = r->arena_len + add, cap;
    char *p;

    if (need < add)
        return MAMORI_ETOOBIG;
    if (need <= r->arena_cap)
        return 0;
    cap = r->arena_cap ? r->arena_cap : 4096;
    while (cap < need)
        cap *= 2;
    p = malloc(cap);
    if (!p)
        return MAMORI_ENOMEM;
    if (r->arena) {
        memcpy(p, r->arena, r->arena_len);
        for (size_t i = 0; i < r->nfields; i++)
            r->field[i] = p + (r->field[i] - r->arena);
        crypto_wipe(r->arena, r->arena_cap);
        free(r->arena);
    }
    r->arena = p;
    r->arena_cap = cap;
    return 0;
}

/* libcsv: one field ended. */
static void on_field(void *data, size_t len, void *arg)
{
    struct csv_reader *r = arg;
    size_t col = r->nfields + 1, outlen = 0;
    char *dst;
    int rc;

    if (r->rc)
        return;
    if (r->nfields >= r->lim.fields) {
        fail(r, MAMORI_ETOOBIG, r->row_line, col, N_("too many fields in row"));
        return;
    }
    if (len > r->lim.field_bytes) {
        fail(r, MAMORI_ETOOBIG, r->row_line, col, N_("field too long"));
        return;
    }
    /* Fields go on as C strings: a NUL would cut the value short. */
    if (len && memchr(data, '\0', len)) {
        fail(r, MAMORI_EINVAL, r->row_line, col, N_("contains a NUL byte"));
        return;
    }
    r->row_raw += len;
    if (r->row_raw > r->lim.row_bytes) {
        fail(r, MAMORI_ETOOBIG, r->row_line, col, N_("row too long"));
        return;
    }
    if (r->nfields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 16;
        char **f = realloc(r->field, cap * sizeof *f);
        if (f)
            r->field = f;
        size_t *l = f ? realloc(r->flen, cap * sizeof *l) : NULL;
        if (!f || !l) {
            fail(r, MAMORI_ENOMEM, r->row_line, col, N_("out of memory"));
            return;
        }
        r->flen = l;
        r->cap_fields = cap;
    }
    if (r->enc == CSV_ENC_CP932) {
        size_t max = cp932_out_max(r->conv, len);
        rc = max ? arena_reserve(r, max + 1) : MAMORI_ETOOBIG;
        if (rc != 0) {
            fail(r, rc, r->row_line, col, N_("out of memory"));
            return;
        }
        dst = r->arena + r->arena_len;
        cp932_reset(r->conv);
        rc = cp932_convert(r->conv, data, len, 1, dst, max, &outlen);
        if (rc != 0) {
            crypto_wipe(dst, outlen);
            fail(r, MAMORI_EINVAL, r->row_line, col,
                 N_("bytes that are not CP932 (Shift_JIS)"));
            return;
        }
    } else {
        /* UTF-8, or ASCII while the encoding is still undecided. */
        if (r->enc == CSV_ENC_UTF8 && len && !text_utf8_valid(data, len)) {
            fail(r, MAMORI_EINVAL, r->row_line, col,
                 N_("bytes that are not UTF-8"));
            return;
        }
        rc = arena_reserve(r, len + 1);
        if (rc != 0) {
            fail(r, rc, r->row_line, col, N_("out of memory"));
            return;
        }
        dst = r->arena + r->arena_len;
        if (len)
            memcpy(dst, data, len);
        outlen = len;
    }
    dst[outlen] = '\0';
    r->field[r->nfields] = dst;
    r->flen[r->nfields] = outlen;
    r->nfields++;
    r->arena_len += outlen + 1;
}

/* libcsv: the row ended. */
static void on_row(int term, void *arg)
{
    struct csv_reader *r = arg;
    (void)term;
    if (r->rc)
        return;
    r->have_row = 1;
    r->want_start = 1;
}

/* Length of the valid UTF-8 prefix of s[0..n); *cut is set when what
 * follows is only the start of a sequence cut off by the end. */
static size_t utf8_prefix(const unsigned char *s, size_t n, int *cut)
{
    size_t i = 0;
    *cut = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return i;
        size_t have = n - i < len ? n - i : len;
        if (!text_utf8_valid((const char *)s + i, have)) {
            /* A prefix of a valid sequence cut by the end is not wrong. */
            if (have < len) {
                int ok = 1;
                for (size_t k = 1; k < have; k++)
                    ok &= (s[i + k] & 0xC0) == 0x80;
                if (ok && !(c == 0xE0 && have > 1 && s[i + 1] < 0xA0) &&
                    !(c == 0xED && have > 1 && s[i + 1] > 0x9F) &&
                    !(c == 0xF0 && have > 1 && s[i + 1] < 0x90) &&
                    !(c == 0xF4 && have > 1 && s[i + 1] > 0x8F))
                    *cut = 1;
            }
            return i;
        }
        i += len;
    }
    return i;
}

/* Tallies the non-ASCII bytes of s[0..n) that are in valid UTF-8 sequences
 * (*good) and those that are not (*bad); a sequence cut off by the end of
 * the chunk counts for neither, unless the input has ended there. */
static void utf8_tally(const unsigned char *s, size_t n, int eof, size_t *good,
                       size_t *bad)
{
    size_t i = 0;
    int cut;

    *good = *bad = 0;
    while (i < n) {
        size_t ok = utf8_prefix(s + i, n - i, &cut);
        for (size_t k = i; k < i + ok; k++)
            *good += s[k] >= 0x80;
        i += ok;
        if (i == n || (cut && !eof))
            break;
        (*bad)++;
        i++;
    }
}

/* How far s[0..n) decodes as CP932: n, or the offset of the first bad
 * sequence (a character cut off by the end of the chunk is fine unless the
 * input has ended there). */
static size_t cp932_reach(struct cp932 *conv, const unsigned char *s, size_t n,
                          int eof)
{
    char out[3 * (512 + 8) + 8];
    size_t outlen, reach = n;
    int rc = 0;

    cp932_reset(conv);
    for (size_t i = 0; i < n && rc == 0; i += 512) {
        size_t take = n - i < 512 ? n - i : 512;
        rc = cp932_convert(conv, s + i, take, eof && i + take == n, out,
                           sizeof out, &outlen);
        crypto_wipe(out, outlen);
    }
    if (rc != 0) {
        uint64_t at = 0;
        uint32_t cp = 0;
        cp932_error(conv, &at, &cp);
        reach = at < n ? (size_t)at : n;
    }
    cp932_reset(conv);
    return reach;
}

/* Decides the encoding from a chunk, at its first non-ASCII byte: UTF-8
 * unless the bytes are mostly not UTF-8 (fewer than 4 in 5 of the
 * non-ASCII ones) and decode as CP932 further than as UTF-8. CP932 text is
 * hardly ever valid UTF-8 for long (its lead bytes 0x81-0x9F are UTF-8
 * continuation bytes), while a UTF-8 file with a stray byte stays mostly
 * valid. A CP932 file with a corrupt byte further on is still CP932: its
 * error is then named where the corrupt byte is, not at the first line
 * that is not UTF-8. */
static void detect(struct csv_reader *r)
{
    const unsigned char *b = r->buf + r->pos;
    size_t n = r->len - r->pos, i = 0, good, bad;
    int cut = 0;

    while (i < n && b[i] < 0x80)
        i++;
    if (i == n)
        return; /* still ASCII: undecided */
    if (!r->eof && n - i < CHUNK / 4) {
        /* Too few bytes to go on (the end of a read may even cut a
         * character): parse the ASCII before them, decide on the next
         * chunk, which starts with them. */
        r->avail = r->pos + i;
        return;
    }
    utf8_tally(b + i, n - i, r->eof, &good, &bad);
    if (bad == 0 || good >= 4 * bad ||
        cp932_reach(r->conv, b + i, n - i, r->eof) <=
            utf8_prefix(b + i, n - i, &cut))
        r->enc = CSV_ENC_UTF8;
    else
        r->enc = CSV_ENC_CP932;
}

int csv_reader_new(csv_read_fn rd, void *arg, enum csv_encoding enc,
                   const struct csv_limits *lim, struct csv_reader **out)
{
    struct csv_reader *r;
    int rc = MAMORI_ENOMEM;

    *out = NULL;
    if (!rd)
        return MAMORI_EINVAL;
    r = calloc(1, sizeof *r);
    if (!r)
        return MAMORI_ENOMEM;
    r->rd = rd;
    r->arg = arg;
    r->enc = enc;
    r->lim.field_bytes =
        lim && lim->field_bytes ? lim->field_bytes : CSV_FIELD_MAX_DEFAULT;
    r->lim.fields = lim && lim->fields ? lim->fields : CSV_FIELDS_MAX_DEFAULT;
    r->lim.row_bytes =
        lim && lim->row_bytes ? lim->row_bytes : CSV_ROW_MAX_DEFAULT;
    r->line = 1;
    r->row_line = 1;
    r->want_start = 1;
    r->buf = malloc(CHUNK);
    if (!r->buf)
        goto fail;
    /* Either encoding may be detected: the converter is ready either way. */
    rc = cp932_new(CP932_DECODE, &r->conv);
    if (rc != 0)
        goto fail;
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = MAMORI_ENOMEM;
        goto fail;
    }
    r->p_init = 1;
    csv_set_space_func(&r->p, no_space);
    csv_set_realloc_func(&r->p, wipe_realloc);
    csv_set_free_func(&r->p, wipe_free);
    *out = r;
    return 0;
fail:
    csv_reader_free(r);
    return rc;
}

void csv_reader_free(struct csv_reader *r)
{
    if (!r)
        return;
    if (r->p_init)
        csv_free(&r->p);
    cp932_free(r->conv);
    if (r->buf) {
        crypto_wipe(r->buf, CHUNK);
        free(r->buf);
    }
    if (r->arena) {
        crypto_wipe(r->arena, r->arena_cap);
        free(r->arena);
    }
    free(r->field);
    free(r->flen);
    free(r);
}

const struct csv_error *csv_reader_error(const struct csv_reader *r)
{
    return &r->err;
}

enum csv_encoding csv_reader_encoding(const struct csv_reader *r)
{
    if (r->enc == CSV_ENC_AUTO && r->done)
        return CSV_ENC_UTF8;
    return r->enc;
}

uint64_t csv_reader_bytes(const struct csv_reader *r)
{
    return r->bytes;
}

/* UTF-16 and UTF-32 (Excel's "Unicode Text" is UTF-16LE with a BOM) are
 * not read: a file in either is refused at once, naming its encoding,
 * rather than read as bytes (NULs, mojibake). Without a BOM, UTF-16 shows
 * as an ASCII header with a NUL byte before or after each character. */
static int wide_encoding(struct csv_reader *r)
{
    const unsigned char *b = r->buf;

    if (r->len >= 4 && ((memcmp(b, "\xff\xfe\0\0", 4) == 0 ||
                         memcmp(b, "\0\0\xfe\xff", 4) == 0)))
        return fail(r, MAMORI_EINVAL, 1, 0,
                    N_("the file is in UTF-32: save it as CSV UTF-8 or as "
                       "CSV (comma delimited)"));
    if ((r->len >= 2 &&
         (memcmp(b, "\xff\xfe", 2) == 0 || memcmp(b, "\xfe\xff", 2) == 0)) ||
        (r->len >= 4 &&
         ((b[0] && b[0] < 0x80 && !b[1] && b[2] && b[2] < 0x80 && !b[3]) ||
          (!b[0] && b[1] && b[1] < 0x80 && !b[2] && b[3] && b[3] < 0x80))))
        return fail(r, MAMORI_EINVAL, 1, 0,
                    N_("the file is in UTF-16 (Excel's Unicode Text): save "
                       "it as CSV UTF-8 or as CSV (comma delimited)"));
    return 0;
}

/* Reads the next chunk, after the bytes detect held back: the first one
 * at least 4 bytes (for the BOM), and while the encoding is undecided as
 * much as fits, so that it is decided on enough bytes. */
static int fill(struct csv_reader *r)
{
    size_t keep = r->len - r->pos;

    if (keep)
        memmove(r->buf, r->buf + r->pos, keep);
    r->len = keep;
    r->pos = 0;
    while (!r->eof && r->len < (!r->started              ? 4
                                : r->enc == CSV_ENC_AUTO ? CHUNK
                                                         : 1)) {
        long n = r->rd(r->arg, r->buf + r->len, CHUNK - r->len);
        if (n < 0 || (size_t)n > CHUNK - r->len)
            return fail(r, MAMORI_EIO, r->line, 0,
                        N_("the input could not be read"));
        if (n == 0)
            r->eof = 1;
        r->len += (size_t)n;
        r->bytes += (uint64_t)n;
    }
    if (!r->started) {
        r->started = 1;
        if (wide_encoding(r) != 0)
            return r->rc;
        if (r->enc != CSV_ENC_CP932 && r->len >= 3 &&
            memcmp(r->buf, "\xef\xbb\xbf", 3) == 0) {
            r->pos = 3;
            r->enc = CSV_ENC_UTF8;
        }
    }
    r->avail = r->len;
    if (r->enc == CSV_ENC_AUTO)
        detect(r);
    return 0;
}

/* Parses one segment: up to and including the next CR or LF. */
static void parse_segment(struct csv_reader *r)
{
    const unsigned char *b = r->buf + r->pos;
    size_t n = r->avail - r->pos, k = 0;

    while (k < n && b[k] != '\n' && b[k] != '\r')
        k++;
    if (k < n)
        k++; /* the terminator belongs to this segment */
    if (r->want_start && b[0] != '\n' && b[0] != '\r') {
        r->want_start = 0;
        r->row_line = r->line;
    }
    size_t done = csv_parse(&r->p, b, k, on_field, on_row, r);
    if (r->rc)
        return;
    if (done != k) {
        int e = csv_error(&r->p);
        if (e == CSV_EPARSE)
            fail(r, MAMORI_EINVAL, r->line, r->nfields + 1,
                 N_("malformed quoting (a quote inside an unquoted field, or "
                    "text after a closing quote)"));
        else if (e == CSV_ETOOBIG)
            fail(r, MAMORI_ETOOBIG, r->row_line, r->nfields + 1,
                 N_("field too long"));
        else
            fail(r, MAMORI_ENOMEM, r->row_line, r->nfields + 1,
                 N_("out of memory"));
        return;
    }
    /* A field still being read must stay within its limit too. */
    if (r->p.entry_pos > r->lim.field_bytes) {
        fail(r, MAMORI_ETOOBIG, r->row_line, r->nfields + 1,
             N_("field too long"));
        return;
    }
    if (r->row_raw + r->p.entry_pos > r->lim.row_bytes) {
        fail(r, MAMORI_ETOOBIG, r->row_line, r->nfields + 1,
             N_("row too long"));
        return;
    }
    /* CRLF, LF and a CR alone (old Mac) each end a line; a CRLF may be
     * split between two chunks. One that ends no row in a row begun is in
     * a quoted field: not a line of its own. */
    if ((b[k - 1] == '\r' || (b[k - 1] == '\n' && !(k == 1 && r->after_cr))) &&
        (r->have_row || r->want_start))
        r->line++;
    r->after_cr = b[k - 1] == '\r';
    r->pos += k;
}

int csv_reader_next(struct csv_reader *r, struct csv_row *row)
{
    memset(row, 0, sizeof *row);
    if (r->rc)
        return r->rc;
    if (r->delivered) {
        row_clear(r);
        r->delivered = 0;
    }
    while (!r->have_row) {
        if (r->rc)
            return r->rc;
        if (r->pos < r->avail) {
            parse_segment(r);
            continue;
        }
        if (r->done)
            return 1;
        if (!r->eof) {
            if (fill(r) != 0)
                return r->rc;
            continue;
        }
        /* End of input: the last row may have no line end. */
        r->done = 1;
        if (csv_fini(&r->p, on_field, on_row, r) != 0 && !r->rc) {
            if (csv_error(&r->p) == CSV_EPARSE)
                fail(r, MAMORI_EINVAL, r->row_line, r->nfields + 1,
                     N_("quoted field not closed at the end of the file "
                        "(truncated?)"));
            else
                fail(r, MAMORI_ENOMEM, r->row_line, r->nfields + 1,
                     N_("out of memory"));
        }
    }
    if (r->rc)
        return r->rc;
    r->delivered = 1;
    row->line = r->row_line;
    row->n = r->nfields;
    row->field = r->field;
    row->len = r->flen;
    return 0;
}
