/*
 * fuzz_checkpoint.c - the audit checkpoint parser takes text from outside
 * the host; it must reject anything malformed without crashing, and accept
 * only what it can print back identically.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_checkpoint cp;
    const char *why = NULL;
    char head[65], pk[65], sig[129], again[1024];

    if (audit_checkpoint_parse((const char *)data, size, &cp, &why) != 0) {
        if (!why || !*why)
            abort(); /* a rejection must say why */
        return 0;
    }
    if (cp.signed_len >= size || cp.seq < 0 || cp.time < 0)
        abort();
    /* Accepted input is exactly the canonical rendering of what was
     * parsed: nothing ignored, nothing ambiguous. */
    crypto_hex(cp.head, sizeof cp.head, head);
    crypto_hex(cp.pk, sizeof cp.pk, pk);
    crypto_hex(cp.sig, sizeof cp.sig, sig);
    int n = snprintf(again, sizeof again,
                     "mamori-audit-checkpoint v1\nvault %s\nseq %lld\n"
                     "head %s\ntime %lld\nkey %s\nsig %s\n",
                     cp.vault_id, (long long)cp.seq, head, (long long)cp.time,
                     pk, sig);
    if (n < 0 || (size_t)n != size ||
        strncasecmp(again, (const char *)data, size) != 0)
        abort();
    return 0;
}
