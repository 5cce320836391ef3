/*
 * spool.h - an encrypted spool for a body that arrives slowly (an import
 * upload): appended to as it arrives, read back once it is complete, so
 * that the slow part holds nothing of the vault's.
 *
 * The key is fresh for each spool, random, held only in guarded memory and
 * wiped when the spool is freed: a spool file outlives neither its process
 * nor its spool. The plaintext is cut into SPOOL_CHUNK-byte chunks, each
 * sealed with AES-256-GCM (crypto_aead_encrypt_nonce) under a nonce that
 * is the chunk's index, with the index and a last-chunk flag as associated
 * data: a chunk altered, moved, dropped or cut short, or the last one
 * missing, does not read back. A full chunk is never the last: the last
 * chunk is short (maybe empty), so its length says which it is.
 * On disk, each chunk is nonce || ciphertext || tag.
 */
#ifndef MAMORI_SPOOL_H
#define MAMORI_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_CHUNK (64 * 1024)

struct spool;

/* Opens an anonymous read-write file in dir (O_TMPFILE, or, where the file
 * system has none, a file made 0600 and unlinked at once): nothing of it
 * stays after a crash. dir is made 0700 if absent; it must be a directory
 * of ours (not a link), its mode is set to 0700. 0 (*fd set) or
 * MAMORI_EIO, MAMORI_ETOOBIG (a path too long). */
int spool_tmpfile(const char *dir, int *fd);

/* A new spool writing to fd (empty, opened read-write). The spool owns fd
 * from this call on, and closes it (in spool_free, or here on failure).
 * 0, MAMORI_ENOMEM or MAMORI_EINVAL (fd < 0). */
int spool_new(int fd, struct spool **out);

/* Appends n bytes: whole chunks are sealed and written, the rest waits in
 * memory. 0, MAMORI_EIO, MAMORI_ECRYPTO, MAMORI_ETOOBIG (over 2^63 bytes)
 * or MAMORI_ESTATE (after spool_finish, or after a failed write). */
int spool_write(struct spool *s, const void *p, size_t n);

/* Writes the last chunk; reading may start. 0 or as spool_write. */
int spool_finish(struct spool *s);

/* A mamori_source read function (arg: the spool): up to len bytes of the
 * plaintext from the start, chunk by chunk (each checked before any of its
 * bytes is given out), 0 at its end, -1 on error: spool_why then says
 * what (altered, truncated, out of order, I/O). Only after
 * spool_finish. */
long spool_read(void *arg, void *buf, size_t len);

/* Why the last call failed, in English (no content of the spool), or
 * NULL. */
const char *spool_why(const struct spool *s);

/* The plaintext bytes written so far. */
uint64_t spool_size(const struct spool *s);

/* Closes the file, wipes the key and the buffers, frees s. NULL is fine. */
void spool_free(struct spool *s);

#endif
