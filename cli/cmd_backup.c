/*
 * cmd_backup.c - `mamori backup create|keys|verify|restore|list`.
 *
 * backup create runs in an admin's session; run without one (the daily
 * systemd timer: no session file, the key file given with --key-file or
 * MAMORI_KEY_FILE) it is the key holder's backup, audited as "system".
 * That needs the command to open the vault without a session
 * (CMD_NO_SESSION in main.c's table); until then the session is required.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

#define KEEP_MAX 3650

static int parse_keep(struct cli *c, int *keep)
{
    char *end = NULL;
    long v;

    *keep = 0;
    if (!c->a.keep)
        return 0;
    errno = 0;
    v = strtol(c->a.keep, &end, 10);
    if (errno || !end || *end || end == c->a.keep || v < 1 || v > KEEP_MAX)
        return cli_usage(c, _("--keep needs a number from 1 to %d"), KEEP_MAX);
    *keep = (int)v;
    return 0;
}

int check_backup_create(struct cli *c)
{
    int keep;
    return parse_keep(c, &keep);
}

int check_backup_restore(struct cli *c)
{
    if (!c->a.home || !*c->a.home)
        return cli_usage(c, _("backup restore needs --home NEWDIR (the new "
                              "vault directory)"));
    if (!c->a.keys || !*c->a.keys)
        return cli_usage(c, _("backup restore needs --keys KEYFILE (the "
                              "key-store backup)"));
    return 0;
}

static const char *kind_name(int kind)
{
    return kind == MAMORI_BACKUP_KEYS ? "keys" : "data";
}

/* file_sha256 only where it is known: a file just written (create, keys);
 * a listing reads headers alone. */
static json_t *info_json(const struct mamori_backup_info *b)
{
    json_t *j = json_pack(
        "{s:o, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:s, s:s, s:i}", "file",
        cli_json_str(b->path), "kind", kind_name(b->kind), "vault", b->vault_id,
        "created", cli_json_time(b->created), "size", (json_int_t)b->size,
        "records", (json_int_t)b->records, "datasets", (json_int_t)b->datasets,
        "audit_entries", (json_int_t)b->audit_entries, "audit_head",
        b->audit_head, "sha256", b->sha256, "removed", b->removed);

    if (j && b->file_sha256[0] &&
        json_object_set_new(j, "file_sha256", json_string(b->file_sha256)) !=
            0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static void info_print(const struct mamori_backup_info *b)
{
    char when[64], num[32];

    cli_print_kv(_("file"), b->path);
    cli_format_time(b->created, when, sizeof when);
    cli_print_kv(_("created"), when);
    snprintf(num, sizeof num, "%lld", (long long)b->size);
    cli_print_kv(_("size (bytes)"), num);
    if (b->kind == MAMORI_BACKUP_DATA) {
        snprintf(num, sizeof num, "%lld", (long long)b->records);
        cli_print_kv(_("records"), num);
        snprintf(num, sizeof num, "%lld", (long long)b->datasets);
        cli_print_kv(_("datasets"), num);
        snprintf(num, sizeof num, "%lld", (long long)b->audit_entries);
        cli_print_kv(_("audit entries"), num);
        cli_print_kv(_("audit head"), b->audit_head);
    }
    cli_print_kv(_("snapshot SHA-256"), b->sha256);
    if (b->file_sha256[0])
        cli_print_kv(_("file SHA-256"), b->file_sha256);
}

/* The key holder may back up without a session: no session file and the
 * key file named explicitly. */
static int system_run(struct cli *c)
{
    char path[4096];
    const char *env = getenv("MAMORI_KEY_FILE");

    if (c->s)
        return 0;
    if (cli_session_path(c, path, sizeof path) == 0 && access(path, F_OK) == 0)
        return 0;
    return (c->a.key_file && *c->a.key_file) || (env && *env);
}

int cmd_backup_create(struct cli *c)
{
    struct mamori_backup_info b;
    int keep = 0, rc, ret;

    ret = parse_keep(c, &keep);
    if (ret)
        return ret;
    if (system_run(c)) {
        rc = mamori_backup_create_system(c->m, c->a.out, keep, &b);
    } else {
        if (!c->s) {
            ret = cli_session_resume(c);
            if (ret)
                return ret;
            if (c->a.reason && (rc = mamori_session_reason(c->s, c->a.reason)))
                return cli_fail(c, _("--reason"), rc);
        }
        rc = mamori_backup_create(c->s, c->a.out, keep, &b);
    }
    if (rc)
        return cli_fail_detail(c, _("backup create"), rc,
                               b.problem[0] ? b.problem
                               : c->s       ? mamori_errdetail(c->s)
                                            : NULL);
    if (c->a.json)
        return cli_json_print(c, info_json(&b));
    /* Quiet: the result alone, the new file's path (as -q with a request
     * prints its id). */
    if (c->a.quiet)
        printf("%s\n", b.path);
    else {
        info_print(&b);
        if (b.removed)
            printf(NG_("removed %d older backup\n",
                       "removed %d older backups\n", (unsigned long)b.removed),
                   b.removed);
    }
    return CLI_EXIT_OK;
}

int cmd_backup_keys(struct cli *c)
{
    struct mamori_backup_info b;
    int rc;

    if ((rc = cli_output_ok(c, "--out", c->a.out, NULL, 0)) != 0)
        return rc;
    rc = mamori_backup_keys(c->s, c->a.out, &b);
    if (rc)
        return cli_fail_detail(c, _("backup keys"), rc,
                               b.problem[0] ? b.problem
                                            : mamori_errdetail(c->s));
    if (c->a.json)
        return cli_json_print(c, info_json(&b));
    if (!c->a.quiet) {
        info_print(&b);
        printf("%s\n", _("keep this file apart from the data backups"));
    }
    return CLI_EXIT_OK;
}

int cmd_backup_verify(struct cli *c)
{
    struct mamori_backup_info b;
    int rc;

    rc = mamori_backup_verify(c->s, c->args[0], &b);
    if (rc)
        return cli_fail_detail(c, _("backup verify"), rc,
                               b.problem[0] ? b.problem
                                            : mamori_errdetail(c->s));
    if (c->a.json) {
        json_t *j = info_json(&b);
        if (j && json_object_set_new(j, "ok", json_true()) != 0) {
            json_decref(j);
            j = NULL;
        }
        return cli_json_print(c, j);
    }
    if (b.kind == MAMORI_BACKUP_DATA)
        printf(_("ok: %lld records, %lld audit entries, chain intact\n"),
               (long long)b.records, (long long)b.audit_entries);
    else
        printf("%s\n", _("ok: key-store backup intact"));
    return CLI_EXIT_OK;
}

int cmd_backup_restore(struct cli *c)
{
    struct mamori_keysrc src = {0};
    struct mamori_backup_info b, kb;
    char pass[CLI_SECRET_MAX];
    size_t pass_len = 0;
    const char *env;
    int rc;

    memset(&b, 0, sizeof b);
    rc = mamori_backup_probe(c->a.keys, &kb);
    if (rc)
        return cli_fail_detail(c, _("backup restore: read --keys"), rc,
                               kb.problem);
    if (strcmp(kb.key_source, "passphrase") == 0) {
        rc = cli_read_passphrase(_("Vault passphrase: "), NULL, pass,
                                 sizeof pass, &pass_len);
        if (rc == 1)
            return cli_error(c, MAMORI_EKEY, "%s",
                             _("backup restore: no passphrase given"));
        if (rc == CLI_EBADFD)
            return cli_error(c, MAMORI_EINVAL, "%s",
                             _("MAMORI_PASSPHRASE_FD is not an open file "
                               "descriptor"));
        if (rc)
            return cli_fail_detail(c, _("read passphrase"), rc, NULL);
        src.passphrase = pass;
        src.passphrase_len = pass_len;
    } else if (c->a.key_file && *c->a.key_file) {
        src.key_file = c->a.key_file;
    } else if ((env = getenv("MAMORI_KEY_FILE")) && *env) {
        src.key_file = env;
    } else {
        return cli_usage(c, _("backup restore needs the vault's key file "
                              "(--key-file FILE)"));
    }
    rc = mamori_backup_restore(c->args[0], c->a.keys, c->home, &src, &b);
    explicit_bzero(pass, sizeof pass);
    if (rc)
        return cli_fail_detail(c, _("backup restore"), rc, b.problem);
    if (c->a.json) {
        json_t *j = info_json(&b);
        if (j && json_object_set_new(j, "home", cli_json_str(c->home)) != 0) {
            json_decref(j);
            j = NULL;
        }
        return cli_json_print(c, j);
    }
    cli_note(c, _("restored %lld records and %lld audit entries into %s\n"),
             (long long)b.records, (long long)b.audit_entries, c->home);
    return CLI_EXIT_OK;
}

int cmd_backup_list(struct cli *c)
{
    static const char *headers[6];
    struct mamori_backup_info *list = NULL;
    struct cli_table t;
    size_t n = 0;
    int rc, ret = CLI_EXIT_OK;

    rc = mamori_backup_list(c->s, c->a.out, &list, &n);
    if (rc)
        return cli_fail(c, _("backup list"), rc);
    if (c->a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            if (json_array_append_new(arr, info_json(&list[i])) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        ret = cli_json_print(c, arr);
        free(list);
        return ret;
    }
    headers[0] = _("CREATED");
    headers[1] = _("SIZE");
    headers[2] = _("RECORDS");
    headers[3] = _("DATASETS");
    headers[4] = _("AUDIT");
    headers[5] = _("FILE");
    cli_table_init(&t, headers, 6);
    for (size_t i = 0; i < n; i++) {
        char when[64], size[32], rec[32], ds[32], au[32];
        const char *cells[6] = {when, size, rec, ds, au, list[i].path};

        cli_format_time(list[i].created, when, sizeof when);
        snprintf(size, sizeof size, "%lld", (long long)list[i].size);
        snprintf(rec, sizeof rec, "%lld", (long long)list[i].records);
        snprintf(ds, sizeof ds, "%lld", (long long)list[i].datasets);
        snprintf(au, sizeof au, "%lld", (long long)list[i].audit_entries);
        if (cli_table_add(&t, cells) != 0) {
            ret = cli_fail(c, _("backup list"), MAMORI_ENOMEM);
            break;
        }
    }
    if (ret == CLI_EXIT_OK && cli_table_print(&t, c->out_tty) != 0)
        ret = cli_fail(c, _("backup list"), MAMORI_ENOMEM);
    cli_table_release(&t);
    free(list);
    return ret;
}
