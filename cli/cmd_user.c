/*
 * cmd_user.c - `mamori user add|list|unlock|disable|enable|reset`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

static int valid_role(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0 ||
           strcmp(role, "auditor") == 0 || strcmp(role, "viewer") == 0;
}

int check_user_add(struct cli *c)
{
    if (!c->a.role)
        return cli_usage(
            c, _("user add needs --role admin|operator|auditor|viewer"));
    if (!valid_role(c->a.role))
        return cli_usage(
            c, _("--role must be admin, operator, auditor or viewer"));
    if (!*c->args[0])
        return cli_usage(c, _("the user name is empty"));
    return 0;
}

/* The initial password for user name: read (asked twice on a terminal),
 * or generated with --generate or when none is given. Returns 0 or an exit
 * code (reported). */
static int initial_password(struct cli *c, const char *name, const char *what,
                            char *pw, size_t size, size_t *len, int *generated)
{
    char prompt[160];
    int rc;

    *generated = c->a.generate;
    if (!*generated) {
        snprintf(prompt, sizeof prompt,
                 _("Initial password for %s (empty: generate one): "), name);
        rc = cli_read_secret(prompt, _("Repeat the password: "), pw, size, len);
        if (rc == 1)
            *generated = 1;
        else if (rc == MAMORI_EINVAL)
            return cli_error(c, MAMORI_EINVAL,
                             _("%s: the passwords do not match"), what);
        else if (rc)
            return cli_fail_detail(c, _("read password"), rc, NULL);
    }
    if (*generated) {
        rc = cli_generate_password(pw, size);
        if (rc)
            return cli_fail_detail(c, _("generate a password"), rc, NULL);
        *len = strlen(pw);
    }
    return 0;
}

/* Shows a generated password once, alone on stdout so a script can take
 * it; with --json the caller puts it in its object. */
static void show_generated(struct cli *c, const char *name, const char *pw)
{
    if (!c->a.quiet) {
        fflush(stdout);
        fprintf(stderr, _("Initial password for %s (shown only this once):\n"),
                name);
    }
    printf("%s\n", pw);
    fflush(stdout);
}

int cmd_user_add(struct cli *c)
{
    const char *name = c->args[0];
    char pw[CLI_SECRET_MAX];
    size_t pw_len = 0;
    int generated = 0, rc, ret = CLI_EXIT_FAIL;

    memset(pw, 0, sizeof pw);
    ret = initial_password(c, name, _("user add"), pw, sizeof pw, &pw_len,
                           &generated);
    if (ret)
        goto out;
    ret = CLI_EXIT_FAIL;
    rc = mamori_user_add(c->s, name, c->a.role, pw, pw_len);
    if (rc) {
        ret = cli_fail(c, _("user add"), rc);
        goto out;
    }
    if (c->a.json) {
        json_t *j = json_object();

        if (j && (json_object_set_new(j, "user", cli_json_str(name)) ||
                  json_object_set_new(j, "role", cli_json_str(c->a.role)) ||
                  (generated &&
                   json_object_set_new(j, "password", json_string(pw))))) {
            json_decref(j);
            j = NULL;
        }
        ret = cli_json_print(c, j);
        goto out;
    }
    if (generated)
        show_generated(c, name, pw);
    else
        cli_note(c, _("Added user %s (%s)."), name, c->a.role);
    cli_note(c, _("%s must change this password at the first login."), name);
    ret = CLI_EXIT_OK;
out:
    explicit_bzero(pw, sizeof pw);
    return ret;
}

int cmd_user_reset(struct cli *c)
{
    const char *name = c->args[0];
    char pw[CLI_SECRET_MAX];
    size_t pw_len = 0;
    int generated = 0, rc, ret;

    memset(pw, 0, sizeof pw);
    ret = initial_password(c, name, _("user reset"), pw, sizeof pw, &pw_len,
                           &generated);
    if (ret)
        goto out;
    rc = mamori_user_reset(c->s, name, pw, pw_len);
    if (rc) {
        ret = cli_fail(c, _("user reset"), rc);
        goto out;
    }
    if (c->a.json) {
        json_t *j = json_pack("{s:o}", "user", cli_json_str(name));
        if (j && generated &&
            json_object_set_new(j, "password", json_string(pw))) {
            json_decref(j);
            j = NULL;
        }
        ret = cli_json_print(c, j);
        goto out;
    }
    if (generated)
        show_generated(c, name, pw);
    cli_note(c,
             _("%s must change this password at the next login; their "
               "sessions have ended."),
             name);
    ret = CLI_EXIT_OK;
out:
    explicit_bzero(pw, sizeof pw);
    return ret;
}

int cmd_user_unlock(struct cli *c)
{
    int rc = mamori_user_unlock(c->s, c->args[0]);
    if (rc)
        return cli_fail(c, _("user unlock"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    cli_note(c, _("Unlocked %s."), c->args[0]);
    return CLI_EXIT_OK;
}

/* user disable NAME (disabled 1) and user enable NAME (0). */
static int user_disable(struct cli *c, int disabled)
{
    const char *name = c->args[0];
    int rc = mamori_user_disable(c->s, name, disabled);

    if (rc)
        return cli_fail(c, disabled ? _("user disable") : _("user enable"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:o, s:b}", "user",
                                           cli_json_str(name), "disabled",
                                           disabled));
    if (disabled)
        cli_note(c,
                 _("Disabled %s: they cannot log in, and their sessions "
                   "have ended."),
                 name);
    else
        cli_note(c, _("Enabled %s again."), name);
    return CLI_EXIT_OK;
}

int cmd_user_disable(struct cli *c)
{
    return user_disable(c, 1);
}

int cmd_user_enable(struct cli *c)
{
    return user_disable(c, 0);
}

int cmd_user_list(struct cli *c)
{
    struct mamori_user_info *list = NULL;
    size_t n = 0, i;
    int rc, ret = CLI_EXIT_FAIL;

    rc = mamori_user_list(c->s, &list, &n);
    if (rc)
        return cli_fail(c, _("user list"), rc);
    /* The structs come from outside: make sure their strings end. */
    for (i = 0; i < n; i++) {
        list[i].name[sizeof list[i].name - 1] = '\0';
        list[i].role[sizeof list[i].role - 1] = '\0';
    }
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = json_object();

            if (!o || json_array_append_new(arr, o) ||
                json_object_set_new(o, "name", cli_json_str(list[i].name)) ||
                json_object_set_new(o, "role", cli_json_str(list[i].role)) ||
                json_object_set_new(o, "created",
                                    cli_json_time(list[i].created)) ||
                json_object_set_new(o, "last_login",
                                    cli_json_time(list[i].last_login)) ||
                json_object_set_new(o, "disabled",
                                    json_boolean(list[i].disabled)) ||
                json_object_set_new(o, "must_change_password",
                                    json_boolean(list[i].must_change)) ||
                json_object_set_new(o, "locked_until",
                                    cli_json_time(list[i].locked_until))) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("NAME"), _("ROLE"), _("CREATED"),
                                 _("LAST LOGIN"), _("STATUS")};
        struct cli_table t;

        cli_table_init(&t, headers, 5);
        for (i = 0; i < n; i++) {
            char created[32], last[32];
            const char *row[5];

            cli_format_time(list[i].created, created, sizeof created);
            cli_format_time(list[i].last_login, last, sizeof last);
            row[0] = list[i].name;
            row[1] = list[i].role;
            row[2] = created;
            row[3] = last;
            row[4] = list[i].disabled       ? _("disabled")
                     : list[i].locked_until ? _("locked")
                     : list[i].must_change  ? _("initial password")
                                            : _("active");
            if (cli_table_add(&t, row)) {
                cli_table_release(&t);
                ret = cli_fail(c, _("user list"), MAMORI_ENOMEM);
                goto out;
            }
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("user list"), rc) : CLI_EXIT_OK;
    }
out:
    free(list);
    return ret;
}
