/*
 * outpath.c - where a command may put an output file (an export, a report,
 * a key backup, a checkpoint): never over the vault's own files, its key
 * file, or a file the same command reads. An output is written beside its
 * final name and renamed over it, so a wrong name would otherwise replace
 * that file whole.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "i18n.h"
#include "keys.h"
#include "mamori.h"
#include "banned.h"

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* 1 when st is one of the files directly in dir. */
static int in_dir(const char *dir, const struct stat *st)
{
    char p[PATH_MAX];
    struct stat s;
    struct dirent *e;
    DIR *d = opendir(dir);
    int hit = 0;

    if (!d)
        return 0;
    while (!hit && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p &&
            stat(p, &s) == 0 && same_file(&s, st))
            hit = 1;
    }
    closedir(d);
    return hit;
}

/* The directory path names, resolved; NULL when it does not exist. */
static char *parent_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash)
        return realpath(".", NULL);
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir)
        return NULL;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return realpath(dir, NULL);
}

/* Why path may not take an output of the vault whose resolved home is
 * vault (NULL: unknown), or NULL when it may. */
static const char *refusal(const char *vault, const char *path,
                           const char *const *reads, size_t nreads)
{
    char kind[32], key[PATH_MAX];
    struct stat st, r;
    char *dir = parent_of(path);
    int own = vault && dir && strcmp(vault, dir) == 0;

    free(dir);
    if (own)
        return N_("it is in the vault's own directory");
    if (stat(path, &st) != 0)
        return NULL; /* a new file (or a path the write will refuse) */
    if (!S_ISREG(st.st_mode))
        return N_("it exists and is not a regular file");
    if (vault && in_dir(vault, &st))
        return N_("it is one of the vault's own files");
    if (vault && keys_source(vault, kind, sizeof kind, key, sizeof key) == 0 &&
        key[0] && stat(key, &r) == 0 && same_file(&r, &st))
        return N_("it is the vault's key file");
    for (size_t i = 0; i < nreads; i++)
        if (reads[i] && stat(reads[i], &r) == 0 && same_file(&r, &st))
            return N_("it is a file this command reads");
    return NULL;
}

int mamori_output_check(const char *home, const char *path,
                        const char *const *reads, size_t nreads,
                        const char **why)
{
    char *vault;

    *why = "";
    if (!path || !*path || strlen(path) >= PATH_MAX) {
        *why = N_("a file name is required");
        return MAMORI_EINVAL;
    }
    vault = home && *home ? realpath(home, NULL) : NULL;
    *why = refusal(vault, path, reads, nreads);
    free(vault);
    if (!*why) {
        *why = "";
        return 0;
    }
    return MAMORI_EINVAL;
}
