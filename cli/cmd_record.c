/*
 * cmd_record.c - `mamori record add|get|update|delete|search`.
 *
 * Values come as FIELD=VALUE arguments (split at the first "="), or with
 * --stdin as FIELD=VALUE lines of standard input, which keeps them out of
 * the process list. Messages name an argument by its position or a line by
 * its number, never by what it holds. Everything read from stdin, and every
 * record shown, is wiped from our memory after use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* Most standard input read for --stdin. */
#define STDIN_MAX (1u << 20)

struct kvset {
    struct mamori_kv *kv;
    char **names;  /* owned copies of the names taken from arguments */
    size_t nowned; /* entries of names */
    size_t n;      /* entries of kv */
    char *input;   /* standard input, split in place */
    size_t input_size;
};

static void kvset_release(struct kvset *s)
{
    size_t i;

    if (s->names)
        for (i = 0; i < s->nowned; i++)
            free(s->names[i]);
    free(s->names);
    free(s->kv);
    if (s->input) {
        explicit_bzero(s->input, s->input_size);
        free(s->input);
    }
    memset(s, 0, sizeof *s);
}

/* All of standard input into s->input (NUL-terminated). 0 or an error. */
static int read_stdin(struct kvset *s, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return MAMORI_ENOMEM;
    for (;;) {
        ssize_t r;

        if (n + 1 == cap) {
            char *bigger;

            if (cap >= STDIN_MAX + 1) {
                explicit_bzero(buf, cap);
                free(buf);
                return MAMORI_ETOOBIG;
            }
            /* Not realloc: the old block would be freed unwiped. */
            bigger = malloc(cap * 2);
            if (!bigger) {
                explicit_bzero(buf, cap);
                free(buf);
                return MAMORI_ENOMEM;
            }
            memcpy(bigger, buf, n);
            explicit_bzero(buf, cap);
            free(buf);
            buf = bigger;
            cap *= 2;
        }
        r = read(STDIN_FILENO, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            explicit_bzero(buf, cap);
            free(buf);
            return MAMORI_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > STDIN_MAX) {
        explicit_bzero(buf, cap);
        free(buf);
        return MAMORI_ETOOBIG;
    }
    buf[n] = '\0';
    s->input = buf;
    s->input_size = cap;
    *len = n;
    return 0;
}

/* Collects FIELD=VALUE pairs from c->args[first..] and, with --stdin, from
 * the lines of standard input. Returns 0 or an exit code (reported). */
static int collect_kv(struct cli *c, int first, struct kvset *s)
{
    size_t nargs = c->nargs > first ? (size_t)(c->nargs - first) : 0;
    size_t nlines = 0, len = 0, i, line;
    char *p, *end;
    int rc, k;

    memset(s, 0, sizeof *s);
    if (c->a.use_stdin) {
        rc = read_stdin(s, &len);
        if (rc == MAMORI_ETOOBIG)
            return cli_usage(c, _("standard input is over 1 MiB"));
        if (rc)
            return cli_fail_detail(c, _("read standard input"), rc, NULL);
        if (memchr(s->input, '\0', len))
            return cli_usage(c, _("standard input holds a NUL byte"));
        for (i = 0; i < len; i++)
            if (s->input[i] == '\n')
                nlines++;
        nlines++;
    }
    s->kv = calloc(nargs + nlines + 1, sizeof *s->kv);
    s->names = calloc(nargs + 1, sizeof *s->names);
    if (!s->kv || !s->names)
        return cli_fail(c, "record", MAMORI_ENOMEM);

    for (k = first; k < c->nargs; k++) {
        const char *arg = c->args[k];
        const char *eq = strchr(arg, '=');

        if (!eq)
            return cli_usage(c, _("argument %d: expected FIELD=VALUE"),
                             c->argi[k]);
        if (eq == arg)
            return cli_usage(c,
                             _("argument %d: the field name before \"=\" "
                               "is missing"),
                             c->argi[k]);
        s->names[s->nowned] = strndup(arg, (size_t)(eq - arg));
        if (!s->names[s->nowned])
            return cli_fail(c, "record", MAMORI_ENOMEM);
        s->kv[s->n].name = s->names[s->nowned++];
        s->kv[s->n].value = eq + 1;
        s->n++;
    }
    if (!c->a.use_stdin)
        return CLI_EXIT_OK;

    /* Names of these pairs point into s->input. */
    for (p = s->input, line = 1; *p; p = end, line++) {
        char *eq;
        size_t n;

        end = strchr(p, '\n');
        if (end)
            *end++ = '\0';
        else
            end = p + strlen(p);
        n = strlen(p);
        if (n > 0 && p[n - 1] == '\r')
            p[--n] = '\0';
        if (n == 0)
            continue;
        if (n > CLI_ARG_MAX)
            return cli_usage(c,
                             _("standard input, line %zu: too long (over "
                               "%d bytes)"),
                             line, CLI_ARG_MAX);
        eq = strchr(p, '=');
        if (!eq || eq == p)
            return cli_usage(c,
                             _("standard input, line %zu: expected "
                               "FIELD=VALUE"),
                             line);
        *eq = '\0';
        s->kv[s->n].name = p;
        s->kv[s->n].value = eq + 1;
        s->n++;
    }
    return CLI_EXIT_OK;
}

/* Checks the FIELD=VALUE arguments from c->args[first] on; with exactly,
 * that there is exactly one pair in all. */
static int check_kv_args(struct cli *c, int first, int exactly)
{
    int k, n = c->nargs > first ? c->nargs - first : 0;

    for (k = first; k < c->nargs; k++) {
        const char *eq = strchr(c->args[k], '=');

        if (!eq)
            return cli_usage(c, _("argument %d: expected FIELD=VALUE"),
                             c->argi[k]);
        if (eq == c->args[k])
            return cli_usage(c,
                             _("argument %d: the field name before \"=\" "
                               "is missing"),
                             c->argi[k]);
    }
    if (exactly && (n > 1 || (n == 0 && !c->a.use_stdin)))
        return cli_usage(c, _("record search takes exactly one FIELD=VALUE"));
    if (n == 0 && !c->a.use_stdin)
        return cli_usage(c, _("no FIELD=VALUE given"));
    return 0;
}

int check_record_add(struct cli *c)
{
    return check_kv_args(c, 1, 0);
}

int check_record_update(struct cli *c)
{
    return check_kv_args(c, 2, 0);
}

int check_record_search(struct cli *c)
{
    return check_kv_args(c, 1, 1);
}

/* ---- output ------------------------------------------------------------- */

static void record_terminate(struct mamori_record *r)
{
    r->id[sizeof r->id - 1] = '\0';
}

static json_t *record_json(const struct mamori_record *r)
{
    json_t *o = json_object();
    size_t i;

    /* "masked": the values are the masked forms the caller's role gets
     * (a viewer; My Numbers for an operator who is not a handler). */
    if (!o || json_object_set_new(o, "id", cli_json_str(r->id)) ||
        json_object_set_new(o, "version", json_integer(r->version)) ||
        json_object_set_new(o, "masked", json_boolean(r->masked)))
        goto fail;
    for (i = 0; i < r->n; i++) {
        const char *name = r->fields[i].name ? r->fields[i].name : "";
        char key[80];

        /* A field called "id", "version" or "masked" must not hide the
         * record's own: it is shown as "field:id". */
        if (json_object_get(o, name)) {
            snprintf(key, sizeof key, "field:%s", name);
            name = key;
        }
        if (json_object_set_new(o, name, cli_json_str(r->fields[i].value)))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static void record_print(const struct mamori_record *r)
{
    size_t i;

    cli_print_kv(_("id"), r->id);
    printf("%s: %lu\n", _("version"), (unsigned long)r->version);
    if (r->masked)
        printf("%s: %s\n", _("masked"), _("yes"));
    for (i = 0; i < r->n; i++) {
        char *name = cli_sanitize(r->fields[i].name, 0);

        cli_print_kv(name ? name : "?", r->fields[i].value);
        free(name);
    }
}

/* ---- commands ----------------------------------------------------------- */

int cmd_record_add(struct cli *c)
{
    struct kvset s;
    char id[MAMORI_ID_LEN + 1];
    int rc, ret;

    memset(id, 0, sizeof id);
    ret = collect_kv(c, 1, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_record_add(c->s, c->args[0], s.kv, s.n, id, sizeof id);
    if (rc) {
        ret = cli_fail(c, _("record add"), rc);
        goto out;
    }
    id[MAMORI_ID_LEN] = '\0';
    if (c->a.json)
        ret = cli_json_print(c, json_pack("{s:s}", "id", id));
    else
        printf("%s\n", id);
out:
    kvset_release(&s);
    return ret;
}

int cmd_record_get(struct cli *c)
{
    struct mamori_record *r = NULL;
    int rc, ret;

    rc = mamori_record_get(c->s, c->args[0], c->args[1], &r);
    if (rc)
        return cli_fail(c, _("record get"), rc);
    record_terminate(r);
    if (c->a.json) {
        ret = cli_json_print(c, record_json(r));
    } else {
        record_print(r);
        ret = CLI_EXIT_OK;
    }
    mamori_record_free(r);
    return ret;
}

int cmd_record_update(struct cli *c)
{
    struct kvset s;
    int rc, ret;

    ret = collect_kv(c, 2, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_record_update(c->s, c->args[0], c->args[1], s.kv, s.n);
    if (rc) {
        ret = cli_fail(c, _("record update"), rc);
        goto out;
    }
    if (c->a.json)
        ret = cli_json_print(c,
                             json_pack("{s:o, s:b}", "id",
                                       cli_json_str(c->args[1]), "updated", 1));
    else
        cli_note(c, _("Updated record %s."), c->args[1]);
out:
    kvset_release(&s);
    return ret;
}

int cmd_record_delete(struct cli *c)
{
    int rc = mamori_record_delete(c->s, c->args[0], c->args[1]);

    if (rc)
        return cli_fail(c, _("record delete"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:o, s:b}", "id",
                                           cli_json_str(c->args[1]), "deleted",
                                           1));
    cli_note(c, _("Deleted record %s."), c->args[1]);
    return CLI_EXIT_OK;
}

int cmd_record_search(struct cli *c)
{
    struct mamori_record **rs = NULL;
    struct kvset s;
    size_t n = 0, i;
    int rc, ret;

    ret = collect_kv(c, 1, &s);
    if (ret)
        goto out;
    if (s.n != 1) {
        ret = cli_usage(c, _("record search takes exactly one FIELD=VALUE"));
        goto out;
    }
    rc = mamori_record_search(c->s, c->args[0], s.kv[0].name, s.kv[0].value,
                              &rs, &n);
    if (rc) {
        ret = cli_fail(c, _("record search"), rc);
        goto out;
    }
    for (i = 0; i < n; i++)
        record_terminate(rs[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = record_json(rs[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        for (i = 0; i < n; i++) {
            if (i)
                printf("\n");
            record_print(rs[i]);
        }
        if (n == 0 && c->out_tty && !c->a.quiet)
            printf("%s\n", _("No matching records."));
        ret = CLI_EXIT_OK;
    }
    mamori_record_array_free(rs, n);
out:
    kvset_release(&s);
    return ret;
}
