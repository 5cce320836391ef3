/*
 * backup.c - encrypted backups: create, keys, verify, list, restore (see
 * the Backups section of mamori.h; the file format is in backup.h).
 *
 * Who may run what: create and keys are admin operations, verify and list
 * admin or auditor, through the gate; create has a second entry point for
 * the holder of the unsealed vault (the daily timer), audited as "system";
 * restore needs no session, only the backed-up vault's key.
 *
 * A long backup must not hold the vault's write lock, so create and verify
 * pass the gate twice: once to be allowed to start (an entry "started"),
 * once for the result (counts, SHA-256, or the error). The snapshot is
 * taken by a connection of its own (SQLite's backup API under one read
 * transaction: consistent, and writers go on meanwhile). Unencrypted
 * snapshots (a copy of vault.db: ciphertexts and the audit log) live only
 * in HOME/.backup-tmp.XXXXXX (0700) and are unlinked as soon as they are
 * not needed, on every path; one backup runs at a time per home (an flock
 * on HOME/.backup.lock), and each one removes what a killed one left
 * behind: its temp dir, and its partial output wherever it wrote (the
 * temp dir notes where).
 *
 * A restored vault starts with no session, login challenge or approved
 * export of the past (restore_reset). A full disk or read-only file
 * system is an input/output error that says so and where (the audit
 * entry says so without the path).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "backup.h"
#include "config.h"
#include "guard.h"
#include "i18n.h"
#include "internal.h"
#include "keys.h"
#include "store.h"
#include "workers.h"
#include "banned.h"

#define DATA_LABEL "mamori-backup-data"
#define KEYS_LABEL "mamori-backup-keys"
#define TMP_PREFIX ".backup-tmp."
#define LOCK_NAME ".backup.lock"
#define OUT_TMP_PREFIX ".mamori-"
/* A temp dir's note of where its run writes its partial output. */
#define OUT_NOTE "out"
/* What a restore writes before it renames them into place. */
#define RESTORE_KEYS_TMP ".restore-keys.db"
#define RESTORE_VAULT_TMP ".restore-vault.db"
#define SUFFIX ".mbak"
#define IO_BLOCK (1u << 20)
#define LIST_MAX 10000
#define SYSTEM_USER "system"

/* ---- small helpers ------------------------------------------------------- */

static int errno_rc(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return MAMORI_ENOTFOUND;
    case EEXIST:
    case ENOTEMPTY:
        return MAMORI_EEXIST;
    case ENOMEM:
        return MAMORI_ENOMEM;
    case ENAMETOOLONG:
        return MAMORI_ETOOBIG;
    case EACCES:
    case EPERM:
        return MAMORI_EDENIED;
    default:
        return MAMORI_EIO;
    }
}

static int join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? MAMORI_ETOOBIG : 0;
}

static void problem(struct mamori_backup_info *info, const char *why)
{
    if (info && why && *why && !info->problem[0])
        snprintf(info->problem, sizeof info->problem, "%s", why);
}

/* As problem, from a format the caller translated: for the user only
 * (restore, which logs no failure; or after the audit entry is written).
 * Paths and file names in it lose control characters and are cut at a
 * character boundary. */
static void problemf(struct mamori_backup_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problemf(struct mamori_backup_info *info, const char *fmt, ...)
{
    char raw[PATH_MAX + 256];
    va_list ap;

    if (!info || info->problem[0])
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    guard_clean_text(raw, info->problem, sizeof info->problem);
}

/* What an OS error that a user can act on means (English: the audit
 * log's words; the user gets _() of it), else NULL. */
static const char *os_reason(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
        return N_("no space left on device");
    case EROFS:
        return N_("read-only file system");
    default:
        return NULL;
    }
}

/* A failed step whose OS error e is one that os_reason knows: the log's
 * detail (English, no path) gets the reason after the step; then, once
 * the entry is written, say_os tells the user where (a directory). Such a
 * failure is an input/output error, as `export run` reports a full
 * disk. */
static int log_os(char *log, size_t size, int rc, int e)
{
    size_t n = strlen(log);

    if (rc == 0 || !os_reason(e))
        return rc;
    if (n < size)
        snprintf(log + n, size - n, ": %s", os_reason(e));
    return MAMORI_EIO;
}

static void say_os(struct mamori_backup_info *info, int e, const char *where)
{
    if (!info || !os_reason(e))
        return;
    info->problem[0] = '\0';
    problemf(info, "%s: %s", _(os_reason(e)), where);
}

/* Keeps the first OS error of a step (*oserr may be NULL). */
static void note_err(int *oserr, int e)
{
    if (oserr && *oserr == 0)
        *oserr = e;
}

/* An ISO 8601 UTC time (the audit log's words for a time). */
static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return MAMORI_EIO;
    rc = fsync(fd) == 0 ? 0 : MAMORI_EIO;
    close(fd);
    return rc;
}

/* The directory part of path (".": none). */
static int dir_of(const char *path, char *out, size_t size)
{
    const char *sl = strrchr(path, '/');
    size_t n;

    if (!sl) {
        snprintf(out, size, ".");
        return 0;
    }
    n = sl == path ? 1 : (size_t)(sl - path);
    if (n >= size)
        return MAMORI_ETOOBIG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* Test hook: MAMORI_TEST_BACKUP_DELAY_MS slows every step down so that a
 * test can kill a backup in the middle. */
static long delay_ms(const struct mamori *m)
{
    const char *v =
        m && m->test_hooks ? getenv("MAMORI_TEST_BACKUP_DELAY_MS") : NULL;
    long ms = v ? strtol(v, NULL, 10) : 0;
    return ms > 0 && ms < 10000 ? ms : 0;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Removes a private temp dir and the files in it. They are unlinked, not
 * overwritten first: a snapshot holds what vault.db holds (personal values
 * only as ciphertexts under keys kept apart, and the audit log, which
 * carries none), and overwriting it would write the whole vault to the
 * disk a second time (and promise nothing on journalled or flash
 * storage). */
static void tmpdir_remove(const char *dir)
{
    char p[PATH_MAX];
    struct dirent *e;
    DIR *d;

    if (!dir || !dir[0])
        return;
    d = opendir(dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (join(p, sizeof p, dir, e->d_name) == 0)
                (void)unlink(p);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

static int tmpdir_make(const char *home, char *out, size_t size, int *oserr)
{
    int n = snprintf(out, size, "%s/" TMP_PREFIX "XXXXXX", home);

    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return MAMORI_ETOOBIG;
    }
    if (!mkdtemp(out)) { /* mkdtemp makes it 0700 */
        int e = errno;
        out[0] = '\0';
        note_err(oserr, e);
        return errno_rc(e);
    }
    return 0;
}

/* One backup operation at a time per home: exclusive for create (which
 * then clears what a killed run left), shared for the others. */
static int lock_home(const char *home, int excl, int *fd)
{
    char p[PATH_MAX];
    int rc = join(p, sizeof p, home, LOCK_NAME);

    *fd = -1;
    if (rc != 0)
        return rc;
    *fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        return errno_rc(errno);
    while (flock(*fd, excl ? LOCK_EX : LOCK_SH) != 0) {
        if (errno != EINTR) {
            close(*fd);
            *fd = -1;
            return MAMORI_EIO;
        }
    }
    return 0;
}

static void unlock_home(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* Notes in the temp dir tmp where this run writes its partial output
 * (dir), so that if it is killed, the next create clears that directory
 * too, wherever it writes itself. */
static int note_out(const char *tmp, const char *dir, int *oserr)
{
    char p[PATH_MAX], abs[PATH_MAX];
    const char *d = realpath(dir, abs) ? abs : dir;
    size_t n = strlen(d), at = 0;
    int fd, rc = join(p, sizeof p, tmp, OUT_NOTE);

    if (rc != 0)
        return rc;
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        note_err(oserr, errno);
        return errno_rc(errno);
    }
    while (rc == 0 && at < n) {
        ssize_t k = write(fd, d + at, n - at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            note_err(oserr, k < 0 ? errno : ENOSPC);
            rc = MAMORI_EIO;
        } else {
            at += (size_t)k;
        }
    }
    if (close(fd) != 0 && rc == 0)
        rc = MAMORI_EIO;
    return rc;
}

/* The directory a killed run's temp dir tmp noted, or "". */
static void read_note(const char *tmp, char *out, size_t size)
{
    char p[PATH_MAX];
    struct stat st;
    ssize_t k = 0;
    int fd;

    out[0] = '\0';
    if (join(p, sizeof p, tmp, OUT_NOTE) != 0)
        return;
    fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (size_t)st.st_size < size) {
        k = read(fd, out, (size_t)st.st_size);
        if (k != (ssize_t)st.st_size)
            k = 0;
    }
    close(fd);
    if (k > 0 && memchr(out, '\0', (size_t)k))
        k = 0;
    out[k > 0 ? k : 0] = '\0';
}

/* This vault's partial outputs in dir (.mamori-<id>-XXXXXX.tmp): only
 * names of that pattern, nothing else. Returns how many it removed. */
static int clear_out_tmps(const char *dir, const char *vault_id)
{
    char mine[32], p[PATH_MAX];
    struct dirent *e;
    DIR *d = dir && dir[0] ? opendir(dir) : NULL;
    size_t pl;
    int removed = 0;

    if (!d)
        return 0;
    snprintf(mine, sizeof mine, OUT_TMP_PREFIX "%.8s-", vault_id);
    pl = strlen(mine);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, mine, pl) == 0 && l == pl + 6 + 4 &&
            strcmp(e->d_name + l - 4, ".tmp") == 0 &&
            join(p, sizeof p, dir, e->d_name) == 0 && unlink(p) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

/* What clear_leftovers removed of runs that did not finish, by the
 * operation that left it: temp dirs, and partial outputs. */
enum { LEFT_CREATE, LEFT_KEYS, LEFT_VERIFY, LEFT_KINDS };
struct leftovers {
    int dirs[LEFT_KINDS], files[LEFT_KINDS];
};

/* Which operation made the temp dir tmp that a killed run left: keys
 * copies the key store into it, create notes where it writes, verify
 * decrypts into it without a note. One killed before it wrote anything
 * there counts as create's. */
static int tmpdir_kind(const char *tmp)
{
    char p[PATH_MAX];

    if (join(p, sizeof p, tmp, "keys.db") == 0 && access(p, F_OK) == 0)
        return LEFT_KEYS;
    if (join(p, sizeof p, tmp, OUT_NOTE) == 0 && access(p, F_OK) == 0)
        return LEFT_CREATE;
    if (join(p, sizeof p, tmp, "vault.db") == 0 && access(p, F_OK) == 0)
        return LEFT_VERIFY;
    return LEFT_CREATE;
}

/* Under the exclusive lock: temp dirs under home that a killed backup
 * left, the partial outputs they noted, and this vault's partial outputs
 * in dir (whose run is not known: counted as create's). What it removed
 * goes into *lo. */
static void clear_leftovers(const char *home, const char *dir,
                            const char *vault_id, struct leftovers *lo)
{
    char p[PATH_MAX], out[PATH_MAX];
    struct dirent *e;
    DIR *d = opendir(home);

    memset(lo, 0, sizeof *lo);
    if (d) {
        while ((e = readdir(d)) != NULL)
            if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
                join(p, sizeof p, home, e->d_name) == 0) {
                int k = tmpdir_kind(p);
                read_note(p, out, sizeof out);
                lo->files[k] += clear_out_tmps(out, vault_id);
                tmpdir_remove(p);
                lo->dirs[k]++;
            }
        closedir(d);
    }
    lo->files[LEFT_CREATE] += clear_out_tmps(dir, vault_id);
}

/* ---- the snapshot -------------------------------------------------------- */

static int sq(int rc)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return (rc & 0xff) == SQLITE_NOMEM ? MAMORI_ENOMEM : MAMORI_EIO;
}

/* Copies HOME/vault.db into dest (a new file) with SQLite's backup API,
 * under one read transaction of a connection of its own: the copy is one
 * consistent state, and the vault's writers are not held up (WAL).
 * *oserr receives ENOSPC for a full disk. */
static int snapshot_db(struct mamori *m, const char *dest, int *oserr)
{
    char src_path[PATH_MAX];
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    long ms = delay_ms(m);
    int rc, fd;

    rc = join(src_path, sizeof src_path, m->home, "vault.db");
    if (rc != 0)
        return rc;
    fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        note_err(oserr, errno);
        return errno_rc(errno);
    }
    close(fd);
    rc = sq(sqlite3_open_v2(src_path, &src,
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                                SQLITE_OPEN_NOFOLLOW,
                            NULL));
    if (rc == 0)
        rc = sq(sqlite3_busy_timeout(src, 10000));
    if (rc == 0)
        rc = sq(sqlite3_open_v2(dest, &dst,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                    SQLITE_OPEN_NOFOLLOW,
                                NULL));
    /* The copy is a scratch file: no journal, no syncs, a small cache. */
    if (rc == 0)
        rc = sq(sqlite3_exec(dst,
                             "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                             "PRAGMA cache_size=-2048;",
                             NULL, NULL, NULL));
    if (rc == 0)
        rc = sq(sqlite3_exec(src,
                             "PRAGMA cache_size=-2048; BEGIN;"
                             "SELECT count(*) FROM sqlite_schema;",
                             NULL, NULL, NULL));
    if (rc != 0)
        goto out;
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        rc = sq(sqlite3_errcode(dst));
        if (rc == 0)
            rc = MAMORI_EIO;
        goto out;
    }
    for (;;) {
        int st = sqlite3_backup_step(b, ms ? 16 : -1);
        if (st == SQLITE_DONE)
            break;
        if (st != SQLITE_OK && st != SQLITE_BUSY && st != SQLITE_LOCKED) {
            if ((st & 0xff) == SQLITE_FULL)
                note_err(oserr, ENOSPC);
            rc = sq(st);
            break;
        }
        if (ms)
            pause_ms(ms);
        else if (st != SQLITE_OK)
            pause_ms(5);
    }
    if (sqlite3_backup_finish(b) != SQLITE_OK && rc == 0) {
        if ((sqlite3_errcode(dst) & 0xff) == SQLITE_FULL)
            note_err(oserr, ENOSPC);
        rc = sq(sqlite3_errcode(dst));
    }
out:
    if (src) {
        (void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(src);
    }
    if (dst && sqlite3_close(dst) != SQLITE_OK && rc == 0)
        rc = MAMORI_EIO;
    return rc;
}

/* Counts of a snapshot (opened read-only in its temp dir) for the
 * manifest. */
static int snapshot_manifest(const char *dir, struct backup_manifest *mf)
{
    struct store *st = NULL;
    struct store_dataset *ds = NULL;
    size_t n = 0;
    int rc;

    rc = store_open_reader(dir, &st);
    if (rc == 0)
        rc = store_dataset_list(st, &ds, &n);
    if (rc == 0 && n > BACKUP_MANIFEST_DATASETS)
        rc = MAMORI_ETOOBIG;
    if (rc == 0 && n > 0) {
        mf->ds = calloc(n, sizeof *mf->ds);
        if (!mf->ds)
            rc = MAMORI_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = store_record_count(st, ds[i].id, &mf->ds[i].records);
        snprintf(mf->ds[i].name, sizeof mf->ds[i].name, "%s", ds[i].name);
        mf->records += mf->ds[i].records;
        mf->nds = i + 1;
    }
    mf->datasets = (int64_t)n;
    if (rc == 0)
        rc = store_audit_count(st, &mf->audit_entries);
    if (rc == 0) {
        int64_t seq = 0;
        rc = store_audit_head(st, &seq, mf->audit_head);
        if (rc == MAMORI_ENOTFOUND)
            rc = 0;
    }
    free(ds);
    store_close(st);
    return rc;
}

/* SHA-256 and size of a file. */
static int sha256_file(const char *path, uint8_t out[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

    if (fd < 0)
        return errno_rc(errno);
    rc = backup_sha256_fd(fd, out, size);
    close(fd);
    return rc;
}

struct sha_job {
    const char *path;
    uint8_t sha[32];
    uint64_t size;
    int rc;
};

static void *sha_job_run(void *arg)
{
    struct sha_job *j = arg;
    j->rc = sha256_file(j->path, j->sha, &j->size);
    return NULL;
}

/* The manifest of the snapshot file snap (in dir): its counts, and its
 * SHA-256 and size, hashed on a second thread meanwhile. */
static int snapshot_summary(const char *dir, const char *snap,
                            struct backup_manifest *mf)
{
    struct sha_job j = {snap, {0}, 0, 0};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, sha_job_run, &j) == 0;
    int rc = snapshot_manifest(dir, mf);

    if (threaded)
        pthread_join(th, NULL);
    else
        sha_job_run(&j);
    if (rc == 0)
        rc = j.rc;
    memcpy(mf->sha256, j.sha, sizeof mf->sha256);
    mf->snapshot_size = j.size;
    return rc;
}

/* Encrypts the file at src into fd: header h, manifest mf, then the
 * file's bytes. *oserr receives the OS error of a failed write. */
static int encrypt_file(struct mamori *m, int fd, struct backup_header *h,
                        const struct backup_manifest *mf,
                        const uint8_t base[CRYPTO_KEY_LEN], const char *src,
                        uint8_t file_sha[32], int *oserr)
{
    struct backup_writer *w = NULL;
    uint8_t *mfbytes = NULL, *buf = NULL;
    size_t mflen = 0;
    uint64_t total = 0;
    long ms = delay_ms(m);
    int in = -1, rc;

    rc = backup_manifest_encode(mf, &mfbytes, &mflen);
    if (rc != 0)
        return rc;
    in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    buf = malloc(IO_BLOCK);
    if (in < 0 || !buf) {
        rc = in < 0 ? errno_rc(errno) : MAMORI_ENOMEM;
        goto out;
    }
    rc = backup_writer_new(fd, h, base, mfbytes, mflen, &w);
    if (rc == MAMORI_EIO)
        note_err(oserr, errno);
    while (rc == 0) {
        ssize_t k = read(in, buf, IO_BLOCK);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = MAMORI_EIO;
            break;
        }
        if (k == 0)
            break;
        total += (uint64_t)k;
        rc = backup_writer_write(w, buf, (size_t)k);
        if (ms)
            pause_ms(ms);
    }
    /* The file must still be the one the manifest describes. */
    if (rc == 0 && total != h->snapshot_size)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = backup_writer_finish(w, file_sha);
    if (rc != 0 && w && backup_writer_oserr(w))
        note_err(oserr, backup_writer_oserr(w));
out:
    backup_writer_free(w);
    if (in >= 0)
        close(in);
    if (buf)
        crypto_wipe(buf, IO_BLOCK);
    free(buf);
    if (mfbytes)
        crypto_wipe(mfbytes, mflen);
    free(mfbytes);
    return rc;
}

/* Writes an encrypted file for snapshot src to a new temp name in dir
 * (returned in tmp, "" on failure), synced. */
static int write_temp(struct mamori *m, struct backup_header *h,
                      const struct backup_manifest *mf,
                      const uint8_t base[CRYPTO_KEY_LEN], const char *src,
                      const char *dir, char *tmp, size_t tmp_size,
                      uint8_t file_sha[32], int *oserr)
{
    int fd, rc, n;

    n = snprintf(tmp, tmp_size, "%s/" OUT_TMP_PREFIX "%.8s-XXXXXX.tmp", dir,
                 h->vault_id);
    if (n < 0 || (size_t)n >= tmp_size) {
        tmp[0] = '\0';
        return MAMORI_ETOOBIG;
    }
    fd = mkostemps(tmp, 4, O_CLOEXEC); /* 0600 */
    if (fd < 0) {
        tmp[0] = '\0';
        note_err(oserr, errno);
        return errno_rc(errno);
    }
    rc = encrypt_file(m, fd, h, mf, base, src, file_sha, oserr);
    if (rc == 0 && fsync(fd) != 0) {
        note_err(oserr, errno);
        rc = errno_rc(errno);
    }
    if (close(fd) != 0 && rc == 0) {
        note_err(oserr, errno);
        rc = MAMORI_EIO;
    }
    if (rc != 0) {
        (void)unlink(tmp);
        tmp[0] = '\0';
    }
    return rc;
}

/* Writes an encrypted file for snapshot src to a temp name in dir, and
 * links it to final_path: a new name, never over another file. */
static int write_backup(struct mamori *m, struct backup_header *h,
                        const struct backup_manifest *mf,
                        const uint8_t base[CRYPTO_KEY_LEN], const char *src,
                        const char *dir, const char *final_path,
                        uint8_t file_sha[32], int *oserr)
{
    char tmp[PATH_MAX];
    int rc =
        write_temp(m, h, mf, base, src, dir, tmp, sizeof tmp, file_sha, oserr);

    if (rc != 0)
        return rc;
    /* link fails if the name is taken: no backup overwrites another. */
    if (link(tmp, final_path) != 0) {
        if (errno != EEXIST)
            note_err(oserr, errno);
        rc = errno_rc(errno);
    }
    (void)unlink(tmp);
    if (rc == 0)
        rc = fsync_dir(dir);
    return rc;
}

static void hex32(const uint8_t *p, char out[65])
{
    crypto_hex(p, 32, out);
}

static void info_from_header(struct mamori_backup_info *info,
                             const struct backup_header *h)
{
    info->kind =
        h->kind == BACKUP_KIND_KEYS ? MAMORI_BACKUP_KEYS : MAMORI_BACKUP_DATA;
    snprintf(info->vault_id, sizeof info->vault_id, "%s", h->vault_id);
    snprintf(info->key_source, sizeof info->key_source, "%s",
             h->seal.kind == KEYS_SEAL_KEYFILE      ? "keyfile"
             : h->seal.kind == KEYS_SEAL_PASSPHRASE ? "passphrase"
                                                    : "");
    info->created = h->created;
    info->records = h->records;
    info->datasets = h->datasets;
    info->audit_entries = h->audit_entries;
    hex32(h->audit_head, info->audit_head);
    hex32(h->sha256, info->sha256);
}

/* ---- who runs it: a session through the gate, or the key holder ------- */

struct actor {
    struct mamori *m;
    mamori_sess *s; /* NULL: "system" */
};

/* The "started" entry; for a session, also the permission check. */
static int act_start(struct actor *a, enum guard_op op)
{
    struct guard_call c;
    int rc;

    if (!a->s)
        return guard_audit_event(a->m, SYSTEM_USER, "", op, "ok", "started");
    rc = guard_begin(&c, a->s, op, NULL);
    if (rc != 0)
        return rc;
    snprintf(c.detail, sizeof c.detail, "started");
    return guard_end(&c, 0);
}

/* The result entry: ok with detail and count, or the error; with
 * last_backup, the store's meta "last_backup" is set in the same
 * transaction. Returns rc, or the audit failure. */
static int act_finish(struct actor *a, enum guard_op op, int rc,
                      const char *detail, int64_t count, int set_last)
{
    char when[24];
    int arc;

    snprintf(when, sizeof when, "%lld", (long long)mamori_now());
    if (a->s) {
        struct guard_call c;
        arc = guard_begin(&c, a->s, op, NULL);
        if (arc != 0)
            return rc != 0 ? rc : arc;
        snprintf(c.detail, sizeof c.detail, "%s", detail ? detail : "");
        c.count = count;
        if (rc == 0 && set_last)
            rc = store_meta_set(a->m->store, "last_backup", when);
        arc = guard_end(&c, rc);
        return rc != 0 ? rc : arc;
    }
    {
        struct store_audit_row row;
        char d[sizeof row.detail];
        struct mamori *m = a->m;

        if (rc != 0)
            snprintf(d, sizeof d, "error: %s", detail ? detail : "");
        else
            snprintf(d, sizeof d, "%s", detail ? detail : "");
        guard_event_row(&row, SYSTEM_USER, "", op, rc == 0 ? "ok" : "error", d);
        row.count = count;
        pthread_mutex_lock(&m->lock);
        arc = store_begin(m->store);
        if (arc == 0 && rc == 0 && set_last)
            arc = store_meta_set(m->store, "last_backup", when);
        if (arc == 0)
            arc = audit_append(m, &row);
        if (arc == 0)
            arc = audit_commit(m);
        if (arc != 0)
            arc = guard_audit_failed(m, op);
        pthread_mutex_unlock(&m->lock);
        return rc != 0 ? rc : arc;
    }
}

/* The backup directory: dir, or HOME/backups (made 0700). */
static int out_dir(struct mamori *m, const char *dir, char *out, size_t size)
{
    struct stat st;
    int rc;

    if (dir && *dir) {
        if (strlen(dir) >= size)
            return MAMORI_ETOOBIG;
        snprintf(out, size, "%s", dir);
    } else {
        rc = join(out, size, m->home, "backups");
        if (rc != 0)
            return rc;
        if (mkdir(out, 0700) != 0 && errno != EEXIST)
            return errno_rc(errno);
    }
    if (stat(out, &st) != 0)
        return errno_rc(errno);
    return S_ISDIR(st.st_mode) ? 0 : MAMORI_ENOTFOUND;
}

/* ---- listing and retention ---------------------------------------------- */

static int info_cmp(const void *a, const void *b)
{
    const struct mamori_backup_info *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1; /* newest first */
    /* Same second: the later name (a "-N" suffix) is the newer one. */
    size_t lx = strlen(x->path), ly = strlen(y->path);
    if (lx != ly)
        return lx < ly ? 1 : -1;
    return -strcmp(x->path, y->path);
}

/* This vault's backups in dir, newest first (headers only). */
static int scan_dir(struct mamori *m, const char *dir,
                    struct mamori_backup_info **out, size_t *n)
{
    struct mamori_backup_info *list = NULL, *grown;
    size_t cnt = 0, cap = 0;
    char prefix[32], p[PATH_MAX];
    struct dirent *e;
    DIR *d;
    int rc = 0;

    *out = NULL;
    *n = 0;
    snprintf(prefix, sizeof prefix, "mamori-%.8s-", m->vault_id);
    d = opendir(dir);
    if (!d)
        return errno_rc(errno);
    while ((e = readdir(d)) != NULL) {
        struct backup_header h;
        const char *why;
        struct stat st;
        size_t l = strlen(e->d_name);
        int fd;

        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            l <= strlen(SUFFIX) ||
            strcmp(e->d_name + l - strlen(SUFFIX), SUFFIX) != 0 ||
            join(p, sizeof p, dir, e->d_name) != 0)
            continue;
        fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            backup_read_header_fd(fd, &h, &why) != 0 ||
            h.kind != BACKUP_KIND_DATA ||
            strcmp(h.vault_id, m->vault_id) != 0) {
            close(fd);
            continue;
        }
        close(fd);
        if (cnt >= LIST_MAX) {
            rc = MAMORI_ETOOBIG;
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                rc = MAMORI_ENOMEM;
                break;
            }
            list = grown;
        }
        memset(&list[cnt], 0, sizeof list[cnt]);
        info_from_header(&list[cnt], &h);
        snprintf(list[cnt].path, sizeof list[cnt].path, "%s", p);
        list[cnt].size = (int64_t)st.st_size;
        cnt++;
    }
    closedir(d);
    if (rc != 0) {
        free(list);
        return rc;
    }
    if (cnt > 1)
        qsort(list, cnt, sizeof *list, info_cmp);
    *out = list;
    *n = cnt;
    return 0;
}

/* Deletes this vault's backups in dir beyond the newest keep. */
static int retain(struct mamori *m, const char *dir, int keep, int *removed)
{
    struct mamori_backup_info *list = NULL;
    size_t n = 0;
    int rc = scan_dir(m, dir, &list, &n);

    *removed = 0;
    for (size_t i = (size_t)keep; rc == 0 && i < n; i++) {
        if (unlink(list[i].path) == 0)
            (*removed)++;
        else
            rc = errno_rc(errno);
    }
    free(list);
    if (rc == 0 && *removed)
        rc = fsync_dir(dir);
    return rc;
}

/* ---- create -------------------------------------------------------------- */

/* A killed run wrote its "started" entry and never its outcome: for each
 * kind of run whose leftovers clear_leftovers removed, an entry of that
 * action, an error, saying so (counts only). The run goes on whether or
 * not it could be written (a failed write raises the alert). */
static void note_interrupted(struct actor *a, const struct leftovers *lo)
{
    static const enum guard_op ops[LEFT_KINDS] = {
        [LEFT_CREATE] = OP_BACKUP_CREATE,
        [LEFT_KEYS] = OP_BACKUP_KEYS,
        [LEFT_VERIFY] = OP_BACKUP_VERIFY,
    };
    char detail[128];

    for (int k = 0; k < LEFT_KINDS; k++) {
        if (lo->dirs[k] == 0 && lo->files[k] == 0)
            continue;
        snprintf(detail, sizeof detail,
                 "interrupted: %s did not finish (leftovers removed: temp "
                 "dirs %d, partial files %d)",
                 lo->dirs[k] > 1 ? "earlier runs" : "an earlier run",
                 lo->dirs[k], lo->files[k]);
        (void)act_finish(a, ops[k], MAMORI_EIO, detail, 0, 0);
    }
}

static int create(struct actor *a, const char *dir_arg, int keep,
                  struct mamori_backup_info *info)
{
    struct mamori *m = a->m;
    char dir[PATH_MAX], tmp[PATH_MAX] = "", snap[PATH_MAX],
                        final[PATH_MAX] = "";
    char stamp[32], detail[128];
    struct backup_manifest mf;
    struct backup_header h;
    struct leftovers lo;
    uint8_t *base = NULL, fsha[32];
    struct tm tm;
    time_t now;
    int rc, lockfd = -1, removed = 0, oserr = 0;
    const char *where = m->home; /* where an OS error happened */

    memset(&mf, 0, sizeof mf);
    memset(&h, 0, sizeof h);
    if (keep < 0)
        return MAMORI_EINVAL;
    rc = act_start(a, OP_BACKUP_CREATE);
    if (rc != 0)
        return rc;
    if (keep == 0) {
        pthread_mutex_lock(&m->lock);
        keep = config_int(m, CFG_BACKUP_KEEP);
        pthread_mutex_unlock(&m->lock);
    }
    rc = out_dir(m, dir_arg, dir, sizeof dir);
    if (rc == 0)
        rc = lock_home(m->home, 1, &lockfd);
    if (rc != 0) {
        problem(info, "backup directory");
        goto out;
    }
    clear_leftovers(m->home, dir, m->vault_id, &lo);
    note_interrupted(a, &lo);
    rc = tmpdir_make(m->home, tmp, sizeof tmp, &oserr);
    if (rc == 0)
        rc = note_out(tmp, dir, &oserr);
    if (rc == 0)
        rc = join(snap, sizeof snap, tmp, "vault.db");
    if (rc == 0)
        rc = snapshot_db(m, snap, &oserr);
    if (rc != 0) {
        problem(info, "snapshot failed");
        goto out;
    }
    mf.created = mamori_now();
    rc = snapshot_summary(tmp, snap, &mf);
    if (rc != 0) {
        problem(info, "snapshot unreadable");
        goto out;
    }
    h.kind = BACKUP_KIND_DATA;
    snprintf(h.vault_id, sizeof h.vault_id, "%s", m->vault_id);
    h.created = mf.created;
    h.records = mf.records;
    h.datasets = mf.datasets;
    h.audit_entries = mf.audit_entries;
    memcpy(h.audit_head, mf.audit_head, sizeof h.audit_head);
    memcpy(h.sha256, mf.sha256, sizeof h.sha256);
    h.snapshot_size = mf.snapshot_size;

    now = (time_t)mf.created;
    if (!gmtime_r(&now, &tm) ||
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0) {
        rc = MAMORI_EINVAL;
        goto out;
    }
    base = crypto_secret_alloc(CRYPTO_KEY_LEN);
    if (!base) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    rc = keys_derive(m->keys, DATA_LABEL, base);
    where = dir;
    /* Several backups in one second get -1, -2, ... */
    for (int i = 0; rc == 0 && i < 100; i++) {
        int k =
            i == 0
                ? snprintf(final, sizeof final, "%s/mamori-%.8s-%s" SUFFIX, dir,
                           m->vault_id, stamp)
                : snprintf(final, sizeof final, "%s/mamori-%.8s-%s-%d" SUFFIX,
                           dir, m->vault_id, stamp, i);
        if (k < 0 || (size_t)k >= sizeof final) {
            rc = MAMORI_ETOOBIG;
            break;
        }
        if (access(final, F_OK) == 0)
            continue;
        rc = write_backup(m, &h, &mf, base, snap, dir, final, fsha, &oserr);
        if (rc != MAMORI_EEXIST)
            break;
        rc = 0;
    }
    if (rc != 0) {
        problem(info, "writing the backup failed");
        goto out;
    }
    tmpdir_remove(tmp);
    tmp[0] = '\0';
    rc = retain(m, dir, keep, &removed);
    if (rc != 0)
        problem(info, "removing old backups failed");
out:
    if (tmp[0])
        tmpdir_remove(tmp);
    unlock_home(lockfd);
    crypto_secret_free(base);
    if (rc == 0) {
        char fhex[65];
        hex32(fsha, fhex);
        snprintf(detail, sizeof detail,
                 "records %lld, datasets %lld, audit %lld, removed %d, "
                 "sha256 %s",
                 (long long)mf.records, (long long)mf.datasets,
                 (long long)mf.audit_entries, removed, fhex);
        if (info) {
            struct stat st;
            info_from_header(info, &h);
            snprintf(info->path, sizeof info->path, "%s", final);
            memcpy(info->file_sha256, fhex, sizeof fhex);
            info->removed = removed;
            if (stat(final, &st) == 0)
                info->size = (int64_t)st.st_size;
        }
    } else {
        snprintf(detail, sizeof detail, "%.120s",
                 info && info->problem[0] ? info->problem : "failed");
        rc = log_os(detail, sizeof detail, rc, oserr);
    }
    backup_manifest_release(&mf);
    int frc = act_finish(a, OP_BACKUP_CREATE, rc, detail, mf.records, rc == 0);
    /* Fail closed: a backup whose entry could not be written is not
     * kept. */
    if (rc == 0 && frc != 0) {
        (void)unlink(final);
        if (info)
            info->path[0] = '\0';
    }
    if (rc != 0)
        say_os(info, oserr, where);
    return frc;
}

int mamori_backup_create(mamori_sess *s, const char *dir, int keep,
                         struct mamori_backup_info *out)
{
    struct actor a = {s ? s->m : NULL, s};

    if (out)
        memset(out, 0, sizeof *out);
    if (!s)
        return MAMORI_ESESSION;
    return create(&a, dir, keep, out);
}

int mamori_backup_create_system(mamori *m, const char *dir, int keep,
                                struct mamori_backup_info *out)
{
    struct actor a = {m, NULL};

    if (out)
        memset(out, 0, sizeof *out);
    if (!m)
        return MAMORI_EINVAL;
    return create(&a, dir, keep, out);
}

/* ---- keys ---------------------------------------------------------------- */

int mamori_backup_keys(mamori_sess *s, const char *file,
                       struct mamori_backup_info *out)
{
    struct mamori_backup_info local;
    struct mamori_backup_info *info = out ? out : &local;
    char tmp[PATH_MAX] = "", snap[PATH_MAX], dir[PATH_MAX],
         out_tmp[PATH_MAX] = "";
    struct backup_manifest mf;
    struct backup_header h;
    struct guard_call c;
    uint8_t *base = NULL, fsha[32];
    int rc, lockfd = -1, oserr = 0;

    memset(info, 0, sizeof *info);
    memset(&mf, 0, sizeof mf);
    memset(&h, 0, sizeof h);
    if (!s)
        return MAMORI_ESESSION;
    if (!file || !*file)
        return MAMORI_EINVAL;
    /* The key store is small: one pass through the gate. */
    rc = guard_begin(&c, s, OP_BACKUP_KEYS, NULL);
    if (rc != 0)
        return rc;
    struct mamori *m = s->m;
    const char *why, *where = m->home; /* where an OS error happened */
    rc = mamori_output_check(m->home, file, NULL, 0, &why);
    if (rc != 0)
        problem(info, why);
    if (rc == 0)
        rc = dir_of(file, dir, sizeof dir);
    if (rc == 0)
        rc = lock_home(m->home, 0, &lockfd);
    if (rc == 0)
        rc = tmpdir_make(m->home, tmp, sizeof tmp, &oserr);
    if (rc == 0)
        rc = note_out(tmp, dir, &oserr);
    if (rc == 0)
        rc = join(snap, sizeof snap, tmp, "keys.db");
    if (rc == 0)
        rc = keys_snapshot(m->keys, snap);
    if (rc == 0)
        rc = sha256_file(snap, mf.sha256, &mf.snapshot_size);
    if (rc == 0)
        rc = keys_seal_get(m->keys, &h.seal);
    if (rc != 0) {
        problem(info, "copying the key store failed");
        goto out;
    }
    mf.created = mamori_now();
    h.kind = BACKUP_KIND_KEYS;
    snprintf(h.vault_id, sizeof h.vault_id, "%s", m->vault_id);
    h.created = mf.created;
    memcpy(h.sha256, mf.sha256, 32);
    h.snapshot_size = mf.snapshot_size;
    base = crypto_secret_alloc(CRYPTO_KEY_LEN);
    rc = base ? keys_derive(m->keys, KEYS_LABEL, base) : MAMORI_ENOMEM;
    /* Put in place over file only once the entry is committed. */
    where = dir;
    if (rc == 0)
        rc = write_temp(m, &h, &mf, base, snap, dir, out_tmp, sizeof out_tmp,
                        fsha, &oserr);
    if (rc != 0) {
        problem(info, "writing the key backup failed");
        goto out;
    }
    info_from_header(info, &h);
    snprintf(info->path, sizeof info->path, "%s", file);
    hex32(fsha, info->file_sha256);
    {
        struct stat st;
        if (stat(out_tmp, &st) == 0)
            info->size = (int64_t)st.st_size;
    }
    snprintf(c.detail, sizeof c.detail, "sha256 %s", info->file_sha256);
    c.count = 1;
out:
    if (tmp[0])
        tmpdir_remove(tmp);
    crypto_secret_free(base);
    if (rc != 0) {
        snprintf(c.detail, sizeof c.detail, "%.120s", info->problem);
        rc = log_os(c.detail, sizeof c.detail, rc, oserr);
    }
    crypto_wipe(&h.seal, sizeof h.seal);
    rc = guard_end(&c, rc);
    if (rc != 0)
        say_os(info, oserr, where);
    /* Fail closed: without its entry, the file at that path stays as it
     * was. (Still under the lock: a create clears temp outputs.) */
    if (out_tmp[0]) {
        if (rc == 0 && rename(out_tmp, file) != 0)
            rc = errno_rc(errno);
        if (rc == 0)
            rc = fsync_dir(dir);
        else
            (void)unlink(out_tmp);
    }
    unlock_home(lockfd);
    if (rc != 0)
        info->path[0] = '\0';
    return rc;
}

/* ---- reading a backup file ---------------------------------------------- */

/* Where a decrypted snapshot goes. */
struct file_sink {
    int fd;
    int oserr; /* errno of a write that failed */
};

static int sink_write(void *arg, const uint8_t *p, size_t n)
{
    struct file_sink *fs = arg;

    while (n > 0) {
        ssize_t k = write(fs->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fs->oserr = k < 0 ? errno : ENOSPC;
            return MAMORI_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Keys for reading: from the open vault (verify) or from a KEK that a key
 * backup's seal gave up (restore). want_kind 0 accepts both kinds. */
struct key_src {
    struct keys *keys;    /* the open vault's, or NULL */
    const uint8_t *kek;   /* or a bare KEK */
    const char *vault_id; /* the file must be of this vault */
    int want_kind;        /* BACKUP_KIND_*, or 0 */
};

static int key_for(void *arg, const struct backup_header *h,
                   uint8_t base[CRYPTO_KEY_LEN])
{
    struct key_src *ks = arg;
    const char *label = h->kind == BACKUP_KIND_KEYS ? KEYS_LABEL : DATA_LABEL;

    if (ks->want_kind && h->kind != ks->want_kind)
        return MAMORI_ECRYPTO;
    if (strcmp(h->vault_id, ks->vault_id) != 0)
        return MAMORI_ECRYPTO;
    if (ks->keys)
        return keys_derive(ks->keys, label, base);
    crypto_kdf(ks->kek, label, ks->vault_id, strlen(ks->vault_id), base);
    return 0;
}

/* Decrypts file into out_path (a new 0600 file): 0 only if every check of
 * backup_read passed. *oserr receives the OS error of a failed write. */
static int decrypt_to(const char *file, struct key_src *ks,
                      const char *out_path, struct backup_header *h,
                      struct backup_manifest *mf,
                      struct mamori_backup_info *info, int *oserr)
{
    struct file_sink fs = {-1, 0};
    const char *why = "";
    int in, rc;

    in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        problem(info, "cannot open the backup file");
        return errno_rc(errno);
    }
    if (out_path) {
        fs.fd =
            open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0600);
        if (fs.fd < 0) {
            note_err(oserr, errno);
            rc = errno_rc(errno);
            close(in);
            return rc;
        }
    }
    rc = backup_read(backup_read_fd, &in, key_for, ks,
                     out_path ? sink_write : NULL, &fs, h, mf, &why);
    if (rc != 0 && fs.oserr)
        note_err(oserr, fs.oserr);
    if (rc == MAMORI_ECRYPTO && strcmp(why, "no key for this backup") == 0)
        why = h->kind != ks->want_kind && ks->want_kind
                  ? "not the expected kind of backup"
                  : "made for another vault";
    if (rc != 0)
        problem(info, why);
    if (fs.fd >= 0) {
        if (rc == 0 && fsync(fs.fd) != 0) {
            note_err(oserr, errno);
            rc = MAMORI_EIO;
        }
        if (close(fs.fd) != 0 && rc == 0) {
            note_err(oserr, errno);
            rc = MAMORI_EIO;
        }
    }
    close(in);
    return rc;
}

/* Checks a decrypted data snapshot in dir against its manifest: the audit
 * chain (under the vault's audit key), its length and head, and the
 * record counts. */
static int check_snapshot(struct mamori *m, const char *dir,
                          const struct backup_manifest *mf,
                          struct mamori_backup_info *info)
{
    struct backup_manifest again;
    struct mamori_verify_result res;
    struct mamori *v;
    int rc;

    memset(&again, 0, sizeof again);
    v = calloc(1, sizeof *v);
    if (!v)
        return MAMORI_ENOMEM;
    snprintf(v->home, sizeof v->home, "%s", dir);
    snprintf(v->vault_id, sizeof v->vault_id, "%s", m->vault_id);
    v->keys = m->keys; /* borrowed: the chain's k0 */
    rc = store_open_reader(dir, &v->store);
    if (rc == 0) {
        rc = audit_verify(v, NULL, 0, &res);
        if (rc != 0)
            problem(info, res.problem[0] ? res.problem
                                         : "the audit chain does not verify");
    } else {
        problem(info, "the snapshot does not open");
        rc = MAMORI_ECRYPTO;
    }
    /* A long chain is checked on the handle's worker threads. */
    workers_stop(v->workers);
    for (size_t i = 0; i < MAMORI_READERS; i++)
        if (v->readers[i])
            store_close(v->readers[i]);
    store_close(v->store);
    free(v);
    if (rc != 0)
        return rc == MAMORI_ETAMPER || rc == MAMORI_ECRYPTO ? rc
                                                            : MAMORI_ETAMPER;
    if (res.entries != mf->audit_entries) {
        problem(info, "the audit log's length differs from the manifest");
        return MAMORI_ETAMPER;
    }
    rc = snapshot_manifest(dir, &again);
    if (rc == 0 &&
        (again.audit_entries != mf->audit_entries ||
         !crypto_equal(again.audit_head, mf->audit_head, CRYPTO_MAC_LEN))) {
        problem(info, "the audit chain's head differs from the manifest");
        rc = MAMORI_ETAMPER;
    } else if (rc == 0 &&
               (again.records != mf->records ||
                again.datasets != mf->datasets || again.nds != mf->nds)) {
        problem(info, "the record counts differ from the manifest");
        rc = MAMORI_ETAMPER;
    }
    for (size_t i = 0; rc == 0 && i < again.nds; i++)
        if (again.ds[i].records != mf->ds[i].records ||
            strcmp(again.ds[i].name, mf->ds[i].name) != 0) {
            problem(info, "the record counts differ from the manifest");
            rc = MAMORI_ETAMPER;
        }
    if (rc != 0 && rc != MAMORI_ETAMPER) {
        problem(info, "the snapshot cannot be read");
        rc = MAMORI_ECRYPTO;
    }
    backup_manifest_release(&again);
    return rc;
}

/* ---- verify -------------------------------------------------------------- */

int mamori_backup_verify(mamori_sess *s, const char *file,
                         struct mamori_backup_info *out)
{
    struct mamori_backup_info local;
    struct mamori_backup_info *info = out ? out : &local;
    char tmp[PATH_MAX] = "", snap[PATH_MAX], detail[128];
    struct backup_manifest mf;
    struct backup_header h;
    struct actor a;
    struct stat st;
    int rc, lockfd = -1, oserr = 0;

    memset(info, 0, sizeof *info);
    memset(&mf, 0, sizeof mf);
    memset(&h, 0, sizeof h);
    if (!s)
        return MAMORI_ESESSION;
    if (!file || !*file)
        return MAMORI_EINVAL;
    a.m = s->m;
    a.s = s;
    rc = act_start(&a, OP_BACKUP_VERIFY);
    if (rc != 0)
        return rc;
    struct key_src ks = {s->m->keys, NULL, s->m->vault_id, 0};
    rc = lock_home(s->m->home, 0, &lockfd);
    if (rc == 0)
        rc = tmpdir_make(s->m->home, tmp, sizeof tmp, &oserr);
    if (rc == 0)
        rc = join(snap, sizeof snap, tmp, "vault.db");
    if (rc == 0)
        rc = decrypt_to(file, &ks, snap, &h, &mf, info, &oserr);
    if (rc == 0 && h.kind == BACKUP_KIND_DATA)
        rc = check_snapshot(s->m, tmp, &mf, info);
    if (tmp[0])
        tmpdir_remove(tmp);
    unlock_home(lockfd);
    if (h.kind) {
        info_from_header(info, &h);
        snprintf(info->path, sizeof info->path, "%s", file);
        if (stat(file, &st) == 0)
            info->size = (int64_t)st.st_size;
    }
    backup_manifest_release(&mf);
    if (rc == 0)
        snprintf(detail, sizeof detail,
                 "intact: %s backup, records %lld, "
                 "audit %lld",
                 h.kind == BACKUP_KIND_KEYS ? "key" : "data",
                 (long long)h.records, (long long)h.audit_entries);
    else {
        snprintf(detail, sizeof detail, "%.120s",
                 info->problem[0] ? info->problem : "not verified");
        rc = log_os(detail, sizeof detail, rc, oserr);
    }
    /* Like audit verify: the finding is reported even if logging it
     * fails. */
    int arc = act_finish(&a, OP_BACKUP_VERIFY, rc, detail, h.records, 0);
    if (rc != 0)
        say_os(info, oserr, s->m->home);
    return rc != 0 ? rc : arc;
}

/* ---- list and probe ------------------------------------------------------ */

int mamori_backup_list(mamori_sess *s, const char *dir,
                       struct mamori_backup_info **out, size_t *n)
{
    char d[PATH_MAX];
    struct guard_call c;
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_BACKUP_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = out_dir(s->m, dir, d, sizeof d);
    if (rc == 0)
        rc = scan_dir(s->m, d, out, n);
    c.count = (int64_t)*n;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int mamori_backup_probe(const char *file, struct mamori_backup_info *out)
{
    struct backup_header h;
    const char *why;
    struct stat st;
    int fd, rc;

    if (!file || !out)
        return MAMORI_EINVAL;
    memset(out, 0, sizeof *out);
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_rc(errno);
    rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? 0 : MAMORI_EIO;
    if (rc == 0)
        rc = backup_read_header_fd(fd, &h, &why);
    close(fd);
    if (rc != 0) {
        problem(out, rc == MAMORI_ECRYPTO ? why : "cannot read the file");
        return rc;
    }
    info_from_header(out, &h);
    snprintf(out->path, sizeof out->path, "%s", file);
    out->size = (int64_t)st.st_size;
    return 0;
}

/* ---- restore ------------------------------------------------------------- */

/* 1 if name is one of the temp files a restore writes in its new home. */
static int restore_tmp_name(const char *name)
{
    return strcmp(name, RESTORE_KEYS_TMP) == 0 ||
           strcmp(name, RESTORE_VAULT_TMP) == 0;
}

/* Why home's parent cannot hold home (mkdir failed with e). */
static int restore_parent(const char *home, int e,
                          struct mamori_backup_info *info)
{
    char parent[PATH_MAX];
    struct stat st;

    if (dir_of(home, parent, sizeof parent) != 0)
        snprintf(parent, sizeof parent, "%s", home);
    if (e == ENOENT)
        problemf(info, _("%s: no such directory"), parent);
    else if (e == ENOTDIR && stat(parent, &st) == 0 && !S_ISDIR(st.st_mode))
        problemf(info, _("%s: not a directory"), parent);
    else if (e == ENOTDIR)
        problemf(info, _("%s: a part of the path is not a directory"), parent);
    else if (os_reason(e))
        problemf(info, "%s: %s", _(os_reason(e)), parent);
    else if (e == EACCES || e == EPERM)
        problemf(info, _("%s: permission denied"), parent);
    return os_reason(e) ? MAMORI_EIO : errno_rc(e);
}

/* home must be missing (it is made 0700) or a directory of ours that
 * holds nothing but what an interrupted restore left (its two temp files,
 * removed here: *left says how many). *lockfd holds an exclusive flock on
 * home until the caller closes it, so that no other restore into it runs
 * meanwhile. */
static int restore_home(const char *home, int *made, int *lockfd, int *left,
                        struct mamori_backup_info *info)
{
    char first[256] = "";
    struct dirent *e;
    struct stat st;
    int64_t others = 0;
    DIR *d;
    int rc = 0, fd;

    *made = 0;
    *lockfd = -1;
    *left = 0;
    if (mkdir(home, 0700) == 0)
        *made = 1;
    else if (errno != EEXIST)
        return restore_parent(home, errno, info);
    if (lstat(home, &st) != 0) {
        problem(info, "cannot use the directory");
        return errno_rc(errno);
    }
    if (S_ISLNK(st.st_mode)) {
        problemf(info, _("%s: a symbolic link, not a directory"), home);
        return MAMORI_EEXIST;
    }
    if (!S_ISDIR(st.st_mode)) {
        problemf(info, _("%s: not a directory"), home);
        return MAMORI_EEXIST;
    }
    if (st.st_uid != geteuid()) {
        problemf(info, _("%s: the directory belongs to another user"), home);
        return MAMORI_EDENIED;
    }
    fd = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        problem(info, "cannot use the directory");
        return errno_rc(errno);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        problemf(info, _("%s: another restore into it is running"), home);
        return MAMORI_EEXIST;
    }
    *lockfd = fd;
    if (*made)
        return 0;
    d = opendir(home);
    if (!d) {
        problem(info, "cannot use the directory");
        return errno_rc(errno);
    }
    while ((e = readdir(d)) != NULL) {
        struct stat est;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        /* A killed restore's file: ours, regular, of its exact name. */
        if (restore_tmp_name(e->d_name) &&
            fstatat(fd, e->d_name, &est, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(est.st_mode) && est.st_uid == geteuid()) {
            ++*left;
            continue;
        }
        others++;
        if (!first[0] || strcmp(e->d_name, first) < 0)
            snprintf(first, sizeof first, "%s", e->d_name);
    }
    closedir(d);
    if (others > 0) {
        problemf(info,
                 NG_("the directory is not empty: %lld entry, %s",
                     "the directory is not empty: %lld entries, the first "
                     "is %s",
                     (unsigned long)others),
                 (long long)others, first);
        return MAMORI_EEXIST;
    }
    /* Only the leftovers: they go (under the lock, no restore is writing
     * them). */
    if ((unlinkat(fd, RESTORE_KEYS_TMP, 0) != 0 && errno != ENOENT) ||
        (unlinkat(fd, RESTORE_VAULT_TMP, 0) != 0 && errno != ENOENT)) {
        problemf(info, _("%s: cannot remove an interrupted restore's files"),
                 home);
        return errno_rc(errno);
    }
    if (chmod(home, 0700) != 0)
        rc = errno_rc(errno);
    return rc;
}

/* The restored vault starts afresh with who is logged in and what was
 * approved: every session ends (its tokens were live at the backup, maybe
 * revoked since), as do login challenges, and approved exports that had
 * not run lapse (they may have run since, in the original: a take-out is
 * once). In one transaction with the restore's entry, which counts
 * them; before it, when an earlier restore into this home did not finish
 * (left files of it were removed), an entry that says so, as the create
 * of a backup notes an interrupted one (note_interrupted). */
static int restore_reset(struct mamori *m, const struct backup_header *dh,
                         int left, struct mamori_backup_info *info)
{
    struct store_audit_row row;
    char when[32], detail[sizeof row.detail];
    int64_t sessions = 0, lapsed = 0;
    int rc, logged = 0;

    iso_time(dh->created, when);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc != 0) {
        pthread_mutex_unlock(&m->lock);
        problem(info, "the restored vault cannot be written");
        return rc;
    }
    rc = store_session_delete_all(m->store, &sessions);
    if (rc == 0)
        rc = store_challenge_prune(m->store, INT64_MAX);
    if (rc == 0)
        rc = store_export_lapse(m->store, &lapsed);
    if (rc == 0 && left > 0) {
        snprintf(detail, sizeof detail,
                 "error: interrupted: an earlier restore did not finish "
                 "(leftovers removed: files %d)",
                 left);
        guard_event_row(&row, SYSTEM_USER, "", OP_BACKUP_RESTORE, "error",
                        detail);
        logged = 1;
        rc = audit_append(m, &row);
    }
    if (rc == 0) {
        snprintf(detail, sizeof detail,
                 "restored backup of %s: records %lld, audit %lld; "
                 "ended sessions %lld, lapsed exports %lld",
                 when, (long long)dh->records, (long long)dh->audit_entries,
                 (long long)sessions, (long long)lapsed);
        guard_event_row(&row, SYSTEM_USER, "", OP_BACKUP_RESTORE, "ok", detail);
        logged = 1;
        rc = audit_append(m, &row);
        if (rc == 0)
            rc = audit_commit(m);
    }
    if (rc != 0 && logged) {
        rc = guard_audit_failed(m, OP_BACKUP_RESTORE);
        problem(info, "the restored vault's log refused the entry");
    } else if (rc != 0) {
        audit_rollback(m);
        problem(info, "ending the restored vault's sessions failed");
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int mamori_backup_restore(const char *file, const char *keys_file,
                          const char *home, const struct mamori_keysrc *src,
                          struct mamori_backup_info *out)
{
    struct mamori_backup_info local;
    struct mamori_backup_info *info = out ? out : &local;
    char ktmp[PATH_MAX], dtmp[PATH_MAX], kfin[PATH_MAX], dfin[PATH_MAX];
    struct backup_header kh, dh;
    struct backup_manifest mf;
    uint8_t *kek = NULL;
    mamori *m = NULL;
    int rc, made = 0, placed = 0, owned = 0, fd, lockfd = -1, oserr = 0;
    int left = 0;
    const char *why = "";

    memset(info, 0, sizeof *info);
    memset(&mf, 0, sizeof mf);
    memset(&kh, 0, sizeof kh);
    memset(&dh, 0, sizeof dh);
    if (!file || !keys_file || !home || !*home || !src ||
        strlen(home) >= sizeof m->home)
        return MAMORI_EINVAL;
    rc = mamori_library_init();
    if (rc != 0)
        return rc;
    /* Both headers first: same vault, right kinds. */
    fd = open(keys_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        problem(info, "cannot open the key backup");
        return errno_rc(errno);
    }
    rc = backup_read_header_fd(fd, &kh, &why);
    close(fd);
    if (rc == 0 && kh.kind != BACKUP_KIND_KEYS)
        rc = MAMORI_EINVAL, why = "--keys is not a key-store backup";
    if (rc != 0) {
        problem(info, why);
        return rc;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        problem(info, "cannot open the backup");
        return errno_rc(errno);
    }
    rc = backup_read_header_fd(fd, &dh, &why);
    close(fd);
    if (rc == 0 && dh.kind != BACKUP_KIND_DATA)
        rc = MAMORI_EINVAL, why = "not a data backup";
    if (rc == 0 && strcmp(dh.vault_id, kh.vault_id) != 0)
        rc = MAMORI_EINVAL, why = "the key backup is of another vault";
    if (rc != 0) {
        problem(info, why);
        return rc;
    }
    kek = crypto_secret_alloc(CRYPTO_KEY_LEN);
    if (!kek)
        return MAMORI_ENOMEM;
    rc = keys_seal_open(&kh.seal, kh.vault_id, src, kek);
    if (rc != 0) {
        problem(info, "the key file or passphrase does not open the key "
                      "backup");
        goto out;
    }
    rc = restore_home(home, &made, &lockfd, &left, info);
    owned = rc == 0; /* from here on, what is in home is ours */
    if (rc != 0) {
        problem(info, "cannot use the directory");
        goto out;
    }
    if ((rc = join(ktmp, sizeof ktmp, home, RESTORE_KEYS_TMP)) != 0 ||
        (rc = join(dtmp, sizeof dtmp, home, RESTORE_VAULT_TMP)) != 0 ||
        (rc = join(kfin, sizeof kfin, home, "keys.db")) != 0 ||
        (rc = join(dfin, sizeof dfin, home, "vault.db")) != 0)
        goto out;
    {
        struct key_src ks = {NULL, kek, kh.vault_id, BACKUP_KIND_KEYS};
        rc = decrypt_to(keys_file, &ks, ktmp, &kh, &mf, info, &oserr);
        backup_manifest_release(&mf);
    }
    if (rc == 0) {
        struct key_src ks = {NULL, kek, kh.vault_id, BACKUP_KIND_DATA};
        rc = decrypt_to(file, &ks, dtmp, &dh, &mf, info, &oserr);
    }
    if (rc != 0) {
        if (os_reason(oserr))
            rc = MAMORI_EIO;
        say_os(info, oserr, home);
        goto out;
    }
    if (rename(ktmp, kfin) != 0 || rename(dtmp, dfin) != 0) {
        rc = errno_rc(errno);
        goto out;
    }
    placed = 1;
    rc = fsync_dir(home);
    if (rc != 0)
        goto out;
    /* Prove it: the restored vault opens with the key, and its log gets
     * the restore. */
    rc = mamori_open(home, src, &m);
    if (rc != 0) {
        problem(info, "the restored vault does not open");
        goto out;
    }
    /* The key backup may be newer than the log (its audit key evolved
     * past the log's end): the restored log goes on from its own end. */
    {
        int64_t last = 0;
        uint8_t mac[CRYPTO_MAC_LEN];
        rc = store_audit_head(m->store, &last, mac);
        if (rc == MAMORI_ENOTFOUND)
            last = 0, rc = 0;
        if (rc == 0)
            rc = keys_audit_rewind(m->keys, (uint64_t)last / AUDIT_EPOCH);
        if (rc != 0) {
            problem(info, "the restored key store's audit key");
            goto out;
        }
    }
    rc = restore_reset(m, &dh, left, info);
out:
    mamori_close(m);
    crypto_secret_free(kek);
    backup_manifest_release(&mf);
    if (rc != 0 && owned) {
        /* Leave nothing: what this call wrote goes, and the directory if
         * it made it. */
        char p[PATH_MAX];
        static const char *const names[] = {
            RESTORE_KEYS_TMP,  RESTORE_VAULT_TMP, "keys.db",
            "keys.db-wal",     "keys.db-shm",     "vault.db",
            "vault.db-wal",    "vault.db-shm",    "keys.db-journal",
            "vault.db-journal"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (!placed && (strcmp(names[i], "keys.db") == 0 ||
                            strcmp(names[i], "vault.db") == 0))
                continue;
            if (join(p, sizeof p, home, names[i]) == 0)
                (void)unlink(p);
        }
        if (made)
            (void)rmdir(home);
    }
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    if (rc == 0 || dh.kind) {
        info_from_header(info, &dh);
        snprintf(info->path, sizeof info->path, "%s", file);
    }
    return rc;
}
