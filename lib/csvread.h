/*
 * csvread.h - a streaming RFC 4180 reader (libcsv underneath) for imports from
 * Excel: CP932 or UTF-8 (with or without a BOM), CRLF, LF or CR, quoted fields
 * holding commas, quotes and newlines.
 *
 * The reader pulls bytes from a read function in fixed-size chunks and
 * hands out one row at a time, its fields converted to UTF-8, with the
 * physical line on which the row starts. Memory stays bounded whatever the
 * input: a field, a row and the number of fields per row have limits, and
 * going over one is an error naming the line. The encoding is forced, or
 * detected: a UTF-8 BOM, else (decided at the first non-ASCII byte, over
 * at least 16 KiB from there or the rest of the file) UTF-8 if the bytes
 * are mostly valid UTF-8 or do not decode as CP932, else CP932. A stray
 * byte in a UTF-8 file is then refused in its field rather than turning
 * the whole file into mojibake. A UTF-16 or UTF-32 file (Excel's "Unicode
 * Text") is refused at its first line, naming its encoding, whatever
 * encoding was asked for.
 * Fields may hold personal data: every buffer is wiped before it is
 * released. (libcsv's function names start with csv_ too: ours are
 * csv_reader_*.)
 */
#ifndef MAMORI_CSVREAD_H
#define MAMORI_CSVREAD_H

#include <stddef.h>
#include <stdint.h>

enum csv_encoding {
    CSV_ENC_AUTO = 0, /* detect (as input: detect; as result: not yet) */
    CSV_ENC_UTF8,
    CSV_ENC_CP932,
};

/* "auto", "utf-8" (or "utf8"), "cp932" (or "sjis", "shift_jis") ->
 * encoding: 0, or -1 for another name. */
int csv_encoding_parse(const char *name, enum csv_encoding *out);
const char *csv_encoding_name(enum csv_encoding e);

/* Bytes read: > 0, 0 at the end, < 0 on error (MAMORI_EIO is reported). */
typedef long (*csv_read_fn)(void *arg, void *buf, size_t len);

/* Limits; 0 picks the default. */
#define CSV_FIELD_MAX_DEFAULT (64 * 1024) /* bytes of one field, as read */
#define CSV_FIELDS_MAX_DEFAULT 256        /* fields of one row */
#define CSV_ROW_MAX_DEFAULT (1024 * 1024) /* bytes of one row, as read */
struct csv_limits {
    size_t field_bytes;
    size_t fields;
    size_t row_bytes;
};

/* One row: n fields of UTF-8 text (NUL-terminated, len[i] bytes), valid
 * until the next csv_reader_next or csv_reader_free. */
struct csv_row {
    uint64_t line; /* physical line (1-based; LF, CRLF or CR) where it starts */
    size_t n;
    char **field;
    const size_t *len;
};

/* What went wrong: the line, the 1-based column (0 when it is not about
 * one field) and a static English text (in the message catalog: show it
 * with _()). Never a value. */
struct csv_error {
    uint64_t line;
    size_t column;
    const char *what;
};

struct csv_reader;

/* A reader over rd(arg, ...). enc: forced, or CSV_ENC_AUTO. lim may be
 * NULL. 0, MAMORI_ENOMEM, MAMORI_EIO (no CP932 converter). */
int csv_reader_new(csv_read_fn rd, void *arg, enum csv_encoding enc,
                   const struct csv_limits *lim, struct csv_reader **out);

/* The next row: 0 with *row filled; 1 at the end of the input;
 * MAMORI_EINVAL (malformed CSV, a quoted field still open at the end, bytes
 * not valid in the encoding, a NUL byte in a field, a UTF-16 or UTF-32
 * file), MAMORI_ETOOBIG (a limit),
 * MAMORI_EIO (read), MAMORI_ENOMEM: csv_reader_error says where. After an error
 * the reader returns that error again. */
int csv_reader_next(struct csv_reader *r, struct csv_row *row);

const struct csv_error *csv_reader_error(const struct csv_reader *r);

/* The encoding in use: the forced one, the detected one, or CSV_ENC_AUTO
 * while only ASCII has been seen (CSV_ENC_UTF8 once the input has ended
 * that way). */
enum csv_encoding csv_reader_encoding(const struct csv_reader *r);

/* Bytes of input read so far. */
uint64_t csv_reader_bytes(const struct csv_reader *r);

/* Frees r, wiping what it holds; NULL is fine. */
void csv_reader_free(struct csv_reader *r);

#endif
