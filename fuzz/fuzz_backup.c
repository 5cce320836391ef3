/*
 * fuzz_backup.c - the backup reader takes files from outside the host
 * (a backup disk, a restore from elsewhere): header, chunks and manifest
 * must be refused cleanly whatever the bytes, with every allocation
 * bounded. Inputs are read with a fixed test key, so that a seed that is
 * a real backup under that key reaches the chunk and manifest code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[CRYPTO_KEY_LEN] = {
    0x6d, 0x61, 0x6d, 0x6f, 0x72, 0x69, 0x2d, 0x66,
    0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79}; /* "mamori-fuzz-key" */

struct src {
    const uint8_t *p;
    size_t len, at;
};

static int rd(void *arg, uint8_t *p, size_t n, size_t *got)
{
    struct src *s = arg;
    size_t k = s->len - s->at < n ? s->len - s->at : n;
    memcpy(p, s->p + s->at, k);
    s->at += k;
    *got = k;
    return 0;
}

static int key(void *arg, const struct backup_header *h,
               uint8_t base[CRYPTO_KEY_LEN])
{
    (void)arg;
    (void)h;
    memcpy(base, fuzz_key, sizeof fuzz_key);
    return 0;
}

static int sink(void *arg, const uint8_t *p, size_t n)
{
    size_t *total = arg;
    if (n > 0 && p == NULL)
        abort();
    *total += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct src s = {data, size, 0};
    struct backup_header h;
    struct backup_manifest mf;
    const char *why = NULL;
    size_t total = 0;
    int rc;

    if (crypto_init() != 0)
        abort();
    rc = backup_read(rd, &s, key, NULL, sink, &total, &h, &mf, &why);
    if (why == NULL)
        abort();
    if (rc == 0) {
        /* Accepted: the manifest agrees with the header and the payload
         * with both. */
        if (total != h.snapshot_size || mf.snapshot_size != h.snapshot_size ||
            mf.nds > BACKUP_MANIFEST_DATASETS || s.at != size)
            abort();
    } else if (rc == MAMORI_ECRYPTO && why[0] == '\0') {
        abort(); /* a refusal says why */
    }
    backup_manifest_release(&mf);
    /* The header decoder on its own, on every prefix length. */
    if (size <= BACKUP_HEADER_LEN + 8 &&
        backup_header_decode(data, size, &h, &why) == 0 &&
        (h.chunk_size < BACKUP_CHUNK_MIN || h.chunk_size > BACKUP_CHUNK_MAX))
        abort();
    /* And the manifest decoder on raw bytes. */
    if (backup_manifest_decode(data, size, &mf, &why) == 0 &&
        mf.nds > BACKUP_MANIFEST_DATASETS)
        abort();
    backup_manifest_release(&mf);
    return 0;
}
