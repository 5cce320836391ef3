/*
 * fuzz_audit_body.c - an audit entry's body is read back from vault.db,
 * which anyone with the file can edit: the decoder must refuse anything
 * malformed without crashing, and what it accepts must encode back to a
 * body that decodes to the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_audit_row row, again;
    char body[AUDIT_BODY_MAX];
    size_t n;

    memset(&row, 0, sizeof row);
    if (audit_body_decode((const char *)data, size, &row) != 0)
        return 0;
    /* Every text field ends inside its array. */
    if (strnlen(row.user, sizeof row.user) == sizeof row.user ||
        strnlen(row.detail, sizeof row.detail) == sizeof row.detail ||
        strnlen(row.request_id, sizeof row.request_id) == sizeof row.request_id)
        abort();
    n = audit_body_encode(&row, body, sizeof body);
    if (n == 0 || n > sizeof body)
        abort();
    memset(&again, 0, sizeof again);
    if (audit_body_decode(body, n, &again) != 0 ||
        memcmp(&row, &again, sizeof row) != 0)
        abort();
    return 0;
}
