/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (lib/csv.c) in both
 * encodings.
 *
 * The first byte picks the encoding (auto, UTF-8, CP932), small limits or
 * the defaults, and the read size (1..16 bytes, or whole chunks); the rest
 * is the file. Aborts if an invariant breaks:
 *   - csv_reader_next returns 0, 1 or a MAMORI_E* code, and after the end or
 *     an error keeps returning the same;
 *   - every field is valid UTF-8, NUL-terminated at its length, within the
 *     field limit (times 3 for CP932, which can grow); row lines never go
 *     down and never pass the number of line ends (LF, CRLF, a lone CR)
 *     + 1;
 *   - an error names a line and a static, non-empty text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori.h"
#include "csvread.h"
#include "text.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x))                                                              \
            abort();                                                           \
    } while (0)

struct src {
    const uint8_t *p;
    size_t n, pos, step;
};

static long rd(void *arg, void *buf, size_t len)
{
    struct src *s = arg;
    size_t k = s->n - s->pos;
    if (k > len)
        k = len;
    if (s->step && k > s->step)
        k = s->step;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (long)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_limits small = {64, 8, 256};
    struct csv_reader *r;
    struct csv_row row;
    struct src s;
    uint64_t last = 0, ends = 0;
    int rc;

    if (size < 1)
        return 0;
    enum csv_encoding enc = (enum csv_encoding)(data[0] % 3);
    int lim = (data[0] >> 2) & 1;
    size_t step = (data[0] >> 3) & 15;
    s = (struct src){data + 1, size - 1, 0, step};
    for (size_t i = 1; i < size; i++)
        ends += data[i] == '\n' ||
                (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
    if (csv_reader_new(rd, &s, enc, lim ? &small : NULL, &r) != 0)
        return 0;
    size_t fmax = lim ? small.field_bytes : CSV_FIELD_MAX_DEFAULT;
    while ((rc = csv_reader_next(r, &row)) == 0) {
        CHECK(row.line >= last && row.line <= ends + 1);
        last = row.line;
        CHECK(row.n >= 1);
        for (size_t i = 0; i < row.n; i++) {
            CHECK(row.field[i][row.len[i]] == '\0');
            CHECK(row.len[i] <= 3 * fmax);
            CHECK(text_utf8_valid(row.field[i], row.len[i]));
        }
    }
    if (rc != 1) {
        const struct csv_error *e = csv_reader_error(r);
        CHECK(rc == MAMORI_EINVAL || rc == MAMORI_ETOOBIG ||
              rc == MAMORI_ENOMEM || rc == MAMORI_EIO);
        CHECK(e->what && e->what[0]);
        CHECK(e->line >= 1 && e->line <= ends + 1);
    }
    CHECK(csv_reader_next(r, &row) == rc);
    csv_reader_free(r);
    return 0;
}
