/*
 * kv.c - FIELD=VALUE input of the record and entry commands: arguments
 * (split at the first "="), or with --stdin the lines of standard input,
 * which keeps the values out of the process list. Messages name an
 * argument by its position or a line by its number, never by what it
 * holds; what is read from stdin is wiped after use.
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

void cli_kv_release(struct cli_kv *s)
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
static int read_stdin(struct cli_kv *s, size_t *len)
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

int cli_kv_collect(struct cli *c, int first, struct cli_kv *s)
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
        return cli_fail(c, "mamori", MAMORI_ENOMEM);

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
            return cli_fail(c, "mamori", MAMORI_ENOMEM);
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

int cli_kv_check(struct cli *c, int first)
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
    if (n == 0 && !c->a.use_stdin)
        return cli_usage(c, _("no FIELD=VALUE given"));
    return 0;
}
