/*
 * fuzz_reason.c - the check of a user's own words before they go into the
 * audit log (guard_reason_check, guard_text_has_email): any bytes give 0
 * or MAMORI_EINVAL without a crash, and what passes is valid UTF-8 with no
 * control character, no run of GUARD_NUMBER_RUN digits and nothing shaped
 * like an email address.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mamori.h"
#include "text.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[600];
    int rc;

    if (size >= sizeof text || memchr(data, 0, size))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rc = guard_reason_check(NULL, text);
    if (rc != 0 && rc != MAMORI_EINVAL)
        abort();
    if (rc != 0)
        return 0;
    if (!text_utf8_valid(text, size) || guard_text_has_number(text) ||
        guard_text_has_email(text))
        abort();
    for (size_t i = 0; i < size; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] == 0x7F)
            abort();
    return 0;
}
