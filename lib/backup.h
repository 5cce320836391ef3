/*
 * backup.h - the encrypted backup file format (backup_file.c), shared by
 * backup.c (create, verify, restore, list) and the fuzz target.
 *
 * A file is a header then chunks:
 *
 *   header (BACKUP_HEADER_LEN bytes, in clear, authenticated):
 *     magic[8]            "MAMORIBD" (data) or "MAMORIBK" (key store)
 *     u16 version         BACKUP_VERSION; others are refused
 *     u16 header length   BACKUP_HEADER_LEN
 *     u32 chunk size      a power of two, 2^6 .. 2^22
 *     vault id[36]
 *     i64 created         unix time
 *     salt[32]            per file: the file key is
 *                         crypto_kdf(base key, "mamori-backup-file", salt)
 *     nonce prefix[4]     per file: chunk i's nonce is prefix || be64(i)
 *     manifest summary:   i64 records, i64 datasets, i64 audit entries,
 *                         audit head[32], snapshot SHA-256[32],
 *                         u64 snapshot size
 *     seal (key backups): u8 kind, salt[16], u64 ops, u64 mem, kek[60]
 *                         (see keys.h; zero in data backups)
 *   chunks: AES-256-GCM of chunk-size bytes of plaintext each, tag after;
 *     the last one holds less than a chunk (maybe nothing) and is always
 *     there. AD = SHA-256(header) || be64(index) || u8 last, so that a
 *     header change, reordered, dropped or truncated chunks all fail.
 *
 * The plaintext is a manifest block (be32 length, then the manifest, at
 * most BACKUP_MANIFEST_MAX bytes) followed by the snapshot file.
 * Integers are big-endian. Every length read from a file is bounded before
 * it is used.
 */
#ifndef MAMORI_BACKUP_H
#define MAMORI_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "keys.h"

#define BACKUP_MAGIC_DATA "MAMORIBD"
#define BACKUP_MAGIC_KEYS "MAMORIBK"
#define BACKUP_MAGIC_LEN 8
#define BACKUP_VERSION 1
#define BACKUP_HEADER_LEN 285
#define BACKUP_CHUNK_DEFAULT (1u << 20)
#define BACKUP_CHUNK_MIN (1u << 6)
#define BACKUP_CHUNK_MAX (1u << 22)
#define BACKUP_MANIFEST_MAX (1u << 20)
/* Most datasets a manifest lists. */
#define BACKUP_MANIFEST_DATASETS 4096

enum backup_kind { BACKUP_KIND_DATA = 1, BACKUP_KIND_KEYS = 2 };

struct backup_header {
    int kind; /* BACKUP_KIND_* */
    uint32_t chunk_size;
    char vault_id[37];
    int64_t created;
    uint8_t salt[32];
    uint8_t nonce_prefix[4];
    int64_t records, datasets, audit_entries;
    uint8_t audit_head[CRYPTO_MAC_LEN];
    uint8_t sha256[32]; /* of the snapshot */
    uint64_t snapshot_size;
    struct keys_seal seal; /* key backups */
};

/* The manifest, inside the encrypted part: the header's summary again and
 * the record count of each dataset. */
struct backup_manifest_ds {
    char name[64];
    int64_t records;
};
struct backup_manifest {
    int64_t created;
    int64_t records, datasets, audit_entries;
    uint8_t audit_head[CRYPTO_MAC_LEN];
    uint8_t sha256[32];
    uint64_t snapshot_size;
    size_t nds;
    struct backup_manifest_ds *ds; /* malloc'd, nds entries */
};
void backup_manifest_release(struct backup_manifest *mf);

/* Header bytes <-> struct. decode checks magic, version, lengths and
 * bounds: 0 or MAMORI_ECRYPTO with *why set. */
void backup_header_encode(const struct backup_header *h,
                          uint8_t out[BACKUP_HEADER_LEN]);
int backup_header_decode(const uint8_t *p, size_t len, struct backup_header *h,
                         const char **why);

/* Manifest bytes <-> struct (encode mallocs *out). */
int backup_manifest_encode(const struct backup_manifest *mf, uint8_t **out,
                           size_t *len);
int backup_manifest_decode(const uint8_t *p, size_t len,
                           struct backup_manifest *mf, const char **why);

/* ---- writing --------------------------------------------------------- */

struct backup_writer;
/* Starts a file on fd (written from its current position): fills in h's
 * salt and nonce prefix, writes the header and the manifest block. The
 * file key comes from base_key (wiped by the caller). chunk_size 0 means
 * BACKUP_CHUNK_DEFAULT. A write that fails is MAMORI_EIO here and in the
 * calls below; new then leaves its errno in errno. */
int backup_writer_new(int fd, struct backup_header *h,
                      const uint8_t base_key[CRYPTO_KEY_LEN],
                      const uint8_t *manifest, size_t mlen,
                      struct backup_writer **out);
int backup_writer_write(struct backup_writer *w, const void *p, size_t n);
/* Writes the last chunk; file_sha256 (may be NULL) receives the SHA-256
 * of every byte written. The caller fsyncs and closes fd. */
int backup_writer_finish(struct backup_writer *w, uint8_t file_sha256[32]);
/* The errno of the first write that failed (ENOSPC for a full disk), or
 * 0: what made write or finish return MAMORI_EIO. */
int backup_writer_oserr(struct backup_writer *w);
void backup_writer_free(struct backup_writer *w);

/* ---- reading --------------------------------------------------------- */

/* Reads up to n bytes into p; *got < n only at the end of the input.
 * 0 or an error. */
typedef int (*backup_read_fn)(void *arg, uint8_t *p, size_t n, size_t *got);
/* Receives the snapshot's plaintext, chunk by chunk, each chunk
 * authenticated before it is passed on (the whole file is only known good
 * when backup_read returns 0: discard what the sink wrote otherwise). */
typedef int (*backup_sink_fn)(void *arg, const uint8_t *p, size_t n);
/* Gives the base key for a header (after it decoded): 0, or an error
 * (MAMORI_EKEY, MAMORI_ECRYPTO for a header not for us). */
typedef int (*backup_key_fn)(void *arg, const struct backup_header *h,
                             uint8_t base_key[CRYPTO_KEY_LEN]);

/* Reads a whole backup: header, every chunk (tags, order, the last-chunk
 * flag), the manifest (which must agree with the header) and the
 * snapshot's size and SHA-256 (which must agree with both). 0, or
 * MAMORI_ECRYPTO with *why naming the problem, or the callbacks' errors.
 * mf is released by the caller (also on failure). */
int backup_read(backup_read_fn rd, void *rd_arg, backup_key_fn key,
                void *key_arg, backup_sink_fn sink, void *sink_arg,
                struct backup_header *h, struct backup_manifest *mf,
                const char **why);

/* Reads only the header of a file descriptor (for listings). */
int backup_read_header_fd(int fd, struct backup_header *h, const char **why);

/* SHA-256 and length of everything left to read on fd. */
int backup_sha256_fd(int fd, uint8_t out[32], uint64_t *size);

/* A backup_read_fn over a file descriptor (arg: int *). */
int backup_read_fd(void *arg, uint8_t *p, size_t n, size_t *got);

#endif
