/*
 * test_outpath.c - mamori_output_check: an output file never replaces the
 * vault's own files (by name, hard link or symbolic link), its key file, or
 * a file the command reads; and a refused key backup leaves the vault whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

/* A scratch directory beside the vault, removed by the vault's teardown
 * (it is under the same mkdtemp name). */
static void scratch(const struct tvault *tv, const char *name, char *out,
                    size_t size)
{
    snprintf(out, size, "%s.out", tv->home);
    mkdir(out, 0700);
    snprintf(out + strlen(out), size - strlen(out), "/%s", name);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

static void refused(const struct tvault *tv, const char *path,
                    const char *const *reads, size_t n, const char *want)
{
    const char *why = NULL;
    assert_int_equal(mamori_output_check(tv->home, path, reads, n, &why),
                     MAMORI_EINVAL);
    assert_non_null(strstr(why, want));
}

static void allowed(const struct tvault *tv, const char *path,
                    const char *const *reads, size_t n)
{
    const char *why = NULL;
    assert_int_equal(mamori_output_check(tv->home, path, reads, n, &why), 0);
}

static void vault_files_refused(void **state)
{
    struct tvault *tv = *state;
    char p[600], link_path[600], other[600];

    snprintf(p, sizeof p, "%s/vault.db", tv->home);
    refused(tv, p, NULL, 0, "own directory");
    snprintf(p, sizeof p, "%s/new-file", tv->home);
    refused(tv, p, NULL, 0, "own directory");
    snprintf(p, sizeof p, "%s/./keys.db", tv->home);
    refused(tv, p, NULL, 0, "own directory");
    refused(tv, tv->key, NULL, 0, "key file");
    /* Another name for a vault file, outside its directory. */
    scratch(tv, "hard", link_path, sizeof link_path);
    snprintf(p, sizeof p, "%s/keys.db", tv->home);
    assert_int_equal(link(p, link_path), 0);
    refused(tv, link_path, NULL, 0, "vault's own files");
    scratch(tv, "soft", link_path, sizeof link_path);
    snprintf(p, sizeof p, "%s/vault.db", tv->home);
    assert_int_equal(symlink(p, link_path), 0);
    refused(tv, link_path, NULL, 0, "vault's own files");
    scratch(tv, "keylink", link_path, sizeof link_path);
    assert_int_equal(symlink(tv->key, link_path), 0);
    refused(tv, link_path, NULL, 0, "key file");
    /* A directory is no output file. */
    scratch(tv, "", other, sizeof other);
    refused(tv, other, NULL, 0, "not a regular file");
    refused(tv, "", NULL, 0, "file name");
}

static void inputs_refused(void **state)
{
    struct tvault *tv = *state;
    char in[600], in2[600], out[600];
    const char *reads[] = {NULL, in, in2};

    scratch(tv, "input.csv", in, sizeof in);
    scratch(tv, "second.csv", in2, sizeof in2);
    touch(in);
    touch(in2);
    refused(tv, in, reads, 3, "this command reads");
    refused(tv, in2, reads, 3, "this command reads");
    /* Home unknown (NULL): the inputs are still protected. */
    const char *why = NULL;
    assert_int_equal(mamori_output_check(NULL, in, reads, 3, &why),
                     MAMORI_EINVAL);
    scratch(tv, "report.txt", out, sizeof out);
    allowed(tv, out, reads, 3); /* new */
    touch(out);
    allowed(tv, out, reads, 3); /* an earlier report: replaced */
}

static void subdirectories_allowed(void **state)
{
    struct tvault *tv = *state;
    char dir[600], p[700];

    snprintf(dir, sizeof dir, "%s/backups", tv->home);
    mkdir(dir, 0700);
    snprintf(p, sizeof p, "%s/keys.mbak", dir);
    allowed(tv, p, NULL, 0);
}

static void refused_key_backup_changes_nothing(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b;
    struct mamori_record **rs = NULL;
    size_t n = 0;
    char p[600];
    struct stat before, after;

    snprintf(p, sizeof p, "%s/vault.db", tv->home);
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(mamori_backup_keys(tv->admin, p, &b), MAMORI_EINVAL);
    assert_non_null(strstr(b.problem, "own directory"));
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(mamori_backup_keys(tv->admin, tv->key, &b), MAMORI_EINVAL);
    assert_non_null(strstr(b.problem, "key file"));
    /* The vault still works. */
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "山田太郎", &rs, &n), 0);
    mamori_record_array_free(rs, n);
}

static int setup(void **state)
{
    return tv_group_setup(state);
}

static int teardown(void **state)
{
    struct tvault *tv = *state;
    char cmd[700];
    /* The scratch directory beside the home (test-owned mkdtemp name). */
    snprintf(cmd, sizeof cmd, "rm -rf '%s.out'", tv->home);
    if (system(cmd) != 0)
        return -1;
    return tv_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(vault_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(inputs_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(subdirectories_allowed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_key_backup_changes_nothing,
                                        setup, teardown),
    };
    if (mamori_library_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
