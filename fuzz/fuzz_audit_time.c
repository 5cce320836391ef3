/*
 * fuzz_audit_time.c - the audit filters' time parser (mamori_audit_time)
 * takes text from API queries and the command line: anything malformed is
 * refused without a crash, and what it accepts prints back as it came
 * (no day that does not exist, no sign, no stray byte).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64], again[64];
    int64_t start = 0, end = 0;
    struct tm tm;
    time_t t;

    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (mamori_audit_time(text, 0, &start) != 0) {
        if (mamori_audit_time(text, 1, &end) == 0 || start != 0)
            abort(); /* refused either way, and nothing given back */
        return 0;
    }
    if (mamori_audit_time(text, 1, &end) != 0 || end < start)
        abort();
    t = (time_t)start;
    if (!gmtime_r(&t, &tm))
        abort();
    if (strlen(text) == 10) {
        /* a date: its first second, and its last */
        strftime(again, sizeof again, "%Y-%m-%d", &tm);
        if (strcmp(again, text) != 0 || end - start != 86399)
            abort();
    } else {
        /* a time: the same second either way (a fraction is dropped) */
        strftime(again, sizeof again, "%Y-%m-%dT%H:%M:%S", &tm);
        if (strncmp(again, text, 19) != 0 || end != start)
            abort();
    }
    return 0;
}
