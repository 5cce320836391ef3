/*
 * fuzz_json_out.c - libFuzzer target for server/json_out.c.
 *
 * Builds a record from the input and writes it both ways: srv_record_text,
 * and jansson's compact dump of srv_record_json plus a newline. Aborts
 * unless the texts are the same byte for byte, or srv_record_text declined
 * (-1) a record it is allowed to decline (a field name that is not UTF-8,
 * or a key clash even after the "field:" prefix). Also aborts if
 * srv_record_text gives text where jansson gives no object.
 *
 * Input: byte 0 - field count (low 3 bits) and masked (bit 3); bytes 1-2 -
 * the version; the rest - NUL-separated strings, taken in turn as name and
 * value. A name string that is a single byte below 8 stands for one of
 * the names in `fixed` (the record's own keys, a prefixed one, a long one).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mamorid.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LONG_NAME                                                              \
    "a_very_long_field_name_that_goes_past_the_eighty_bytes_of_the_renamed_"   \
    "key_buffer"
static const char *const fixed[] = {"id",      "version", "masked", "field:id",
                                    "field:x", "name",    "kana",   LONG_NAME};

/* The next NUL-terminated string of the input (a copy), or NULL at its
 * end. */
static char *take(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p, *z;
    char *out;

    if (s >= end)
        return NULL;
    z = memchr(s, 0, (size_t)(end - s));
    if (!z)
        z = end;
    out = malloc((size_t)(z - s) + 1);
    if (!out)
        abort();
    memcpy(out, s, (size_t)(z - s));
    out[z - s] = '\0';
    *p = z < end ? z + 1 : end;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mamori_kv kv[8];
    char *owned[16];
    size_t nowned = 0, n, i, jlen;
    struct mamori_record r;
    const uint8_t *p, *end = data + size;
    char *text = NULL, *dump;
    size_t len = 0;
    json_t *o;
    int rc;

    if (size < 3)
        return 0;
    memset(&r, 0, sizeof r);
    memcpy(r.id, "0b7c6a52-3f1e-4d2a-9c61-5e8f0a1b2c3d", MAMORI_ID_LEN);
    r.masked = (data[0] >> 3) & 1;
    r.version = (uint32_t)data[1] << 8 | data[2];
    n = data[0] & 7;
    p = data + 3;
    for (i = 0; i < n; i++) {
        char *name = take(&p, end), *value;

        if (!name)
            break;
        owned[nowned++] = name;
        value = take(&p, end);
        if (!value)
            value = strdup("");
        if (!value)
            abort();
        owned[nowned++] = value;
        kv[i].name = strlen(name) == 1 && (unsigned char)name[0] < 8
                         ? fixed[(unsigned char)name[0]]
                         : name;
        kv[i].value = value;
    }
    r.n = i;
    r.fields = kv;

    rc = srv_record_text(&r, &text, &len);
    o = srv_record_json(&r);
    if (!o) {
        if (rc == 0)
            abort(); /* text where jansson has no object */
    } else if (rc == 0) {
        jlen = json_dumpb(o, NULL, 0, JSON_COMPACT);
        dump = malloc(jlen + 1);
        if (!dump || json_dumpb(o, dump, jlen, JSON_COMPACT) != jlen)
            abort();
        dump[jlen] = '\n';
        if (len != jlen + 1 || memcmp(text, dump, len) != 0)
            abort();
        free(dump);
    }
    json_decref(o);
    free(text);
    for (i = 0; i < nowned; i++)
        free(owned[i]);
    return 0;
}
