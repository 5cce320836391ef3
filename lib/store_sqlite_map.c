/*
 * store_sqlite_map.c - the readers' VFS: the default one, except that a
 * reader's memory map of the database outlives other connections' commits.
 *
 * With mmap_size > 0 SQLite reads database pages through a map of the file.
 * Whenever it finds that another connection has committed, it drops the
 * whole map (xUnfetch(0, NULL)), and every page faults in again afterwards;
 * a reader beside a busy writer (each audited search commits) would fault
 * far more than it would have read. On Linux a shared map of a file sees
 * every later write to the file, in this process or another, so the map
 * stays right as long as the file is not shorter than the map (pages past
 * the end must not be touched): it is dropped when the file has shrunk,
 * or grown by more than a small part (the new pages are outside the map
 * and are read). Pages a snapshot takes from the WAL are read from the
 * WAL as before.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <sqlite3.h>

#include "store_sqlite.h"
#include "banned.h"

#define MAP_VFS_NAME "mamori-keepmap"
/* A file that grew by at most 1/MAP_SLACK keeps its map; pages in the new
 * tail are read until the next remap. */
#define MAP_SLACK 8
/* SQLite's largest map (SQLITE_MAX_MMAP_SIZE of Debian's build). */
#define MAP_LIMIT ((sqlite3_int64)0x7fff0000)

/* Our file, the default VFS's file right after it. */
struct map_file {
    sqlite3_file base;
    int main_db;
    sqlite3_int64 mapped_size; /* file size when the map was made; -1 none */
};

static sqlite3_vfs map_vfs;
static sqlite3_vfs *real_vfs;
static atomic_ulong maps_made;

unsigned long sq_map_made(void)
{
    return atomic_load(&maps_made);
}

static sqlite3_file *real_file(sqlite3_file *f)
{
    return (sqlite3_file *)((struct map_file *)f + 1);
}

static int mf_close(sqlite3_file *f)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

static int mf_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xRead(r, buf, n, off);
}

static int mf_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xWrite(r, buf, n, off);
}

static int mf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xTruncate(r, size);
}

static int mf_sync(sqlite3_file *f, int flags)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xSync(r, flags);
}

static int mf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xFileSize(r, size);
}

static int mf_lock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xLock(r, level);
}

static int mf_unlock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xUnlock(r, level);
}

static int mf_check_reserved(sqlite3_file *f, int *out)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xCheckReservedLock(r, out);
}

static int mf_file_control(sqlite3_file *f, int op, void *arg)
{
    sqlite3_file *r = real_file(f);

    if (op == SQ_FCNTL_KEEPS_MAP)
        return SQLITE_OK; /* (the default VFS answers SQLITE_NOTFOUND) */
    return r->pMethods->xFileControl(r, op, arg);
}

static int mf_sector_size(sqlite3_file *f)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xSectorSize(r);
}

static int mf_device_characteristics(sqlite3_file *f)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xDeviceCharacteristics(r);
}

static int mf_shm_map(sqlite3_file *f, int region, int size, int extend,
                      void volatile **pp)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xShmMap(r, region, size, extend, pp);
}

static int mf_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xShmLock(r, offset, n, flags);
}

static void mf_shm_barrier(sqlite3_file *f)
{
    sqlite3_file *r = real_file(f);
    r->pMethods->xShmBarrier(r);
}

static int mf_shm_unmap(sqlite3_file *f, int del)
{
    sqlite3_file *r = real_file(f);
    return r->pMethods->xShmUnmap(r, del);
}

static int mf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    struct map_file *m = (struct map_file *)f;
    sqlite3_file *r = real_file(f);
    int rc = r->pMethods->xFetch(r, off, n, pp);

    /* The default VFS maps the whole file (up to its limit) on the first
     * fetch after an unmap: remember the size it saw. Should the file grow
     * in between, the size kept is larger than the map, and the pages
     * beyond it are read instead until the next remap: slower, never
     * wrong. */
    if (rc != SQLITE_OK || *pp == NULL || m->mapped_size >= 0)
        return rc;
    if (r->pMethods->xFileSize(r, &m->mapped_size) != SQLITE_OK) {
        m->mapped_size = -1;
        return rc;
    }
    atomic_fetch_add(&maps_made, 1);
    return rc;
}

static int mf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    struct map_file *m = (struct map_file *)f;
    sqlite3_file *r = real_file(f);
    sqlite3_int64 size;

    if (p == NULL && off == 0 && m->main_db && m->mapped_size >= 0 &&
        r->pMethods->xFileSize(r, &size) == SQLITE_OK &&
        size >= m->mapped_size &&
        size - m->mapped_size <= m->mapped_size / MAP_SLACK)
        return SQLITE_OK; /* the map still covers all but a small tail */
    if (p == NULL)
        m->mapped_size = -1;
    return r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods map_methods = {
    .iVersion = 3,
    .xClose = mf_close,
    .xRead = mf_read,
    .xWrite = mf_write,
    .xTruncate = mf_truncate,
    .xSync = mf_sync,
    .xFileSize = mf_file_size,
    .xLock = mf_lock,
    .xUnlock = mf_unlock,
    .xCheckReservedLock = mf_check_reserved,
    .xFileControl = mf_file_control,
    .xSectorSize = mf_sector_size,
    .xDeviceCharacteristics = mf_device_characteristics,
    .xShmMap = mf_shm_map,
    .xShmLock = mf_shm_lock,
    .xShmBarrier = mf_shm_barrier,
    .xShmUnmap = mf_shm_unmap,
    .xFetch = mf_fetch,
    .xUnfetch = mf_unfetch,
};

static int mv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                   int flags, int *out_flags)
{
    struct map_file *m = (struct map_file *)f;
    sqlite3_file *r = real_file(f);
    int rc;

    (void)vfs;
    memset(m, 0, sizeof *m);
    r->pMethods = NULL;
    rc = real_vfs->xOpen(real_vfs, name, r, flags, out_flags);
    /* The wrapper needs every method of version 3 (WAL and maps). */
    if (rc == SQLITE_OK && r->pMethods != NULL && r->pMethods->iVersion < 3) {
        r->pMethods->xClose(r);
        r->pMethods = NULL;
        rc = SQLITE_CANTOPEN;
    }
    if (rc != SQLITE_OK) {
        m->base.pMethods = NULL;
        return rc;
    }
    m->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    m->mapped_size = -1;
    m->base.pMethods = &map_methods;
    return SQLITE_OK;
}

static int mv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int mv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int mv_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
                            char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int mv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int mv_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int mv_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int mv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int mv_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static pthread_once_t map_once = PTHREAD_ONCE_INIT;
static int map_rc = SQLITE_ERROR;

static void map_register(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL || real_vfs->iVersion < 2 ||
        real_vfs->xCurrentTimeInt64 == NULL)
        return;
    map_vfs.iVersion = 2;
    map_vfs.szOsFile = (int)sizeof(struct map_file) + real_vfs->szOsFile;
    map_vfs.mxPathname = real_vfs->mxPathname;
    map_vfs.zName = MAP_VFS_NAME;
    map_vfs.xOpen = mv_open;
    map_vfs.xDelete = mv_delete;
    map_vfs.xAccess = mv_access;
    map_vfs.xFullPathname = mv_full_pathname;
    map_vfs.xRandomness = mv_randomness;
    map_vfs.xSleep = mv_sleep;
    map_vfs.xCurrentTime = mv_current_time;
    map_vfs.xGetLastError = mv_last_error;
    map_vfs.xCurrentTimeInt64 = mv_current_time64;
    /* Extension loading is never turned on; the default VFS's functions
     * for it do not look at the VFS they are given. */
    map_vfs.xDlOpen = real_vfs->xDlOpen;
    map_vfs.xDlError = real_vfs->xDlError;
    map_vfs.xDlSym = real_vfs->xDlSym;
    map_vfs.xDlClose = real_vfs->xDlClose;
    map_rc = sqlite3_vfs_register(&map_vfs, 0);
}

const char *sq_map_vfs(void)
{
    if (pthread_once(&map_once, map_register) != 0 || map_rc != SQLITE_OK)
        return NULL;
    return MAP_VFS_NAME;
}
