/*
 * fuzz_audit_entry.c - an audit entry is read back from vault.db as one
 * blob, which anyone with the file can edit: the split must refuse what the
 * store cannot have written, and what it accepts must lie inside the blob
 * in the store's layout; the parts then decode or are refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_audit_raw raw;
    struct store_audit_row row;
    char *buf = NULL;
    size_t cap = 0;

    memset(&raw, 0, sizeof raw);
    if (store_audit_entry_split(data, size, &raw) != 0)
        return 0;
    const uint8_t *body = (const uint8_t *)raw.body;
    if (raw.format != data[0] || raw.prev_mac != data + 1 ||
        body != data + 33 || raw.mac != data + size - 32 || raw.entry != data ||
        raw.entry_len != size - 32 ||
        33 + raw.body_len + 1 + raw.ids_len + 32 != size ||
        memchr(body, 0, raw.body_len) != NULL || body[raw.body_len] != 0 ||
        (raw.ids_len == 0) != (raw.record_ids == NULL))
        abort();
    (void)audit_row_decode(&raw, &row, &buf, &cap);
    free(buf);
    return 0;
}
