/*
 * cmd_import.c - `mamori import DATASET FILE [--encoding E] [--map C=F]...
 * [--skip-invalid] [--report FILE] [--verify-against FILE2]`.
 *
 * Streams the file into mamori_import; problems (line, column, rule, never
 * a value) go to stderr, or to the report file (0600, written under a
 * temporary name and renamed when complete); a summary goes to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

struct fsrc {
    int fd;
};

static long file_read(void *arg, void *buf, size_t len)
{
    struct fsrc *f = arg;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return (long)n;
        if (errno != EINTR)
            return -1;
    }
}

/* Where problems go: stderr, or the report file being written. */
struct sink {
    FILE *out;
    int is_report;
    char tmp[4096 + 16];
    uint64_t count;
    int failed;
    struct cli_progress *progress;
};

static void on_problem(void *arg, const struct mamori_problem *p);

static void on_progress(void *arg, uint64_t bytes, uint64_t rows)
{
    struct sink *s = arg;
    cli_progress_update(s->progress, bytes, rows);
}

static void on_problem(void *arg, const struct mamori_problem *p)
{
    struct sink *s = arg;
    char *col = cli_sanitize(p->column ? p->column : "", 0);
    const char *kind = p->kind == MAMORI_PROBLEM_INVALID
                           ? ""
                           : _(mamori_problem_kind_name(p->kind));
    char where[600];

    if (p->line && col && col[0])
        snprintf(where, sizeof where, _("line %llu, column %s"),
                 (unsigned long long)p->line, col);
    else if (p->line)
        snprintf(where, sizeof where, _("line %llu"),
                 (unsigned long long)p->line);
    else
        snprintf(where, sizeof where, "%s", _("file"));
    if (!s->is_report)
        cli_progress_end(s->progress);
    if (fprintf(s->out, "%s: %s%s%s\n", where, kind, kind[0] ? ": " : "",
                p->rule ? _(p->rule) : "") < 0)
        s->failed = 1;
    s->count++;
    free(col);
}

int check_import(struct cli *c)
{
    enum mamori_encoding e;

    if (mamori_encoding_parse(c->a.encoding, &e) != 0)
        return cli_usage(c, _("--encoding: expected auto, utf-8 or cp932"));
    for (size_t i = 0; i < c->a.nmaps; i++) {
        /* Split as the import splits it: at the last '=' (a column name
         * may hold one). */
        const char *eq = strrchr(c->a.maps[i], '=');
        if (!eq || eq == c->a.maps[i] || !eq[1])
            return cli_usage(c, _("--map (argument %d): expected COLUMN=FIELD"),
                             c->a.map_argi[i]);
    }
    if (c->a.report && !*c->a.report)
        return cli_usage(c, _("--report: expected a file name"));
    return 0;
}

static int open_input(struct cli *c, const char *path, int *fd, uint64_t *size)
{
    struct stat st;

    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return cli_error(c, errno == ENOENT ? MAMORI_ENOTFOUND : MAMORI_EIO,
                         _("import: cannot open %s: %s"), path,
                         strerror(errno));
    if (fstat(*fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return cli_error(c, MAMORI_EIO, _("import: %s is not a file"), path);
    }
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    return 0;
}

/* The report: a 0600 temporary file next to the final name. */
static int report_open(struct cli *c, struct sink *s)
{
    int fd;
    int n = snprintf(s->tmp, sizeof s->tmp, "%s.XXXXXX", c->a.report);

    if (n < 0 || (size_t)n >= sizeof s->tmp)
        return cli_error(c, MAMORI_EINVAL, _("--report: name too long"));
    fd = mkstemp(s->tmp);
    if (fd < 0)
        return cli_error(c, MAMORI_EIO, _("--report: cannot create %s: %s"),
                         c->a.report, strerror(errno));
    if (fchmod(fd, 0600) != 0 || !(s->out = fdopen(fd, "w"))) {
        close(fd);
        unlink(s->tmp);
        return cli_error(c, MAMORI_EIO, _("--report: cannot write %s"),
                         c->a.report);
    }
    s->is_report = 1;
    return 0;
}

static int report_close(struct cli *c, struct sink *s)
{
    int bad = s->failed || fflush(s->out) != 0 || fsync(fileno(s->out)) != 0;
    bad |= fclose(s->out) != 0;
    s->out = NULL;
    if (bad || rename(s->tmp, c->a.report) != 0) {
        unlink(s->tmp);
        return cli_error(c, MAMORI_EIO, _("--report: cannot write %s"),
                         c->a.report);
    }
    return 0;
}

static const char *enc_name(enum mamori_encoding e)
{
    return e == MAMORI_ENC_UTF8    ? "utf-8"
           : e == MAMORI_ENC_CP932 ? "cp932"
                                   : "auto";
}

static void print_summary(struct cli *c, const struct mamori_import_result *r)
{
    printf("%s: %llu\n", _("Rows read"), (unsigned long long)r->rows);
    printf("%s: %llu\n", _("Imported"), (unsigned long long)r->imported);
    printf("%s: %llu\n", _("Rejected"), (unsigned long long)r->rejected);
    printf("%s: %llu\n", _("Duplicates"), (unsigned long long)r->duplicates);
    if (c->a.verify_against)
        printf("%s: %llu\n", _("Mismatches"),
               (unsigned long long)r->mismatches);
    printf("%s: %s\n", _("Encoding"), enc_name(r->encoding));
    printf("%s: %s\n", _("SHA-256"), r->sha256);
}

int cmd_import(struct cli *c)
{
    struct mamori_import_opts o = {0};
    struct mamori_import_result res;
    struct mamori_kv *map = NULL;
    struct fsrc in = {-1}, vin = {-1};
    struct mamori_source src = {file_read, &in}, vsrc = {file_read, &vin};
    struct cli_progress prog;
    struct sink sink = {stderr, 0, "", 0, 0, &prog};
    uint64_t size = 0, vsize = 0;
    int rc, ret;

    memset(&res, 0, sizeof res);
    if (mamori_encoding_parse(c->a.encoding, &o.encoding) != 0)
        return cli_usage(c, _("--encoding: expected auto, utf-8 or cp932"));
    if (c->a.nmaps) {
        map = calloc(c->a.nmaps, sizeof *map);
        if (!map)
            return cli_fail(c, _("import"), MAMORI_ENOMEM);
    }
    /* COLUMN=FIELD, split at the last '=' (a header may hold '='). */
    char **copies = calloc(c->a.nmaps ? c->a.nmaps : 1, sizeof *copies);
    if (!copies) {
        free(map);
        return cli_fail(c, _("import"), MAMORI_ENOMEM);
    }
    ret = CLI_EXIT_OK;
    for (size_t i = 0; i < c->a.nmaps; i++) {
        char *eq;
        copies[i] = strdup(c->a.maps[i]);
        if (!copies[i]) {
            ret = cli_fail(c, _("import"), MAMORI_ENOMEM);
            goto out;
        }
        eq = strrchr(copies[i], '=');
        if (!eq || eq == copies[i] || !eq[1]) {
            ret = cli_usage(c, _("--map (argument %d): expected COLUMN=FIELD"),
                            c->a.map_argi[i]);
            goto out;
        }
        *eq = '\0';
        map[i].name = copies[i];
        map[i].value = eq + 1;
    }
    ret = open_input(c, c->args[1], &in.fd, &size);
    if (ret != 0)
        goto out;
    if (c->a.verify_against) {
        ret = open_input(c, c->a.verify_against, &vin.fd, &vsize);
        if (ret != 0)
            goto out;
    }
    if (c->a.report) {
        const char *reads[] = {c->args[1], c->a.verify_against};
        ret = cli_output_ok(c, "--report", c->a.report, reads, 2);
        if (ret == 0)
            ret = report_open(c, &sink);
        if (ret != 0)
            goto out;
    }
    o.map = map;
    o.nmap = c->a.nmaps;
    o.skip_invalid = (c->a.seen & OPTBIT(OPT_SKIP_INVALID)) != 0;
    o.problem = on_problem;
    o.progress = on_progress;
    o.arg = &sink;
    cli_progress_start(&prog, _("import"), size);
    rc = mamori_import(c->s, c->args[0], &src,
                       c->a.verify_against ? &vsrc : NULL, &o, &res);
    cli_progress_end(&prog);
    if (sink.is_report) {
        ret = report_close(c, &sink);
        if (ret != 0)
            goto out;
    } else {
        fflush(stderr);
    }
    if (rc != 0) {
        if (!c->a.json && !c->a.quiet && res.rows)
            print_summary(c, &res);
        if (sink.is_report && sink.count)
            fprintf(stderr,
                    NG_("mamori: import: %llu problem listed in %s\n",
                        "mamori: import: %llu problems listed in %s\n",
                        (unsigned long)sink.count),
                    (unsigned long long)sink.count, c->a.report);
        ret = cli_fail(c, _("import"), rc);
        goto out;
    }
    if (c->a.json) {
        ret = cli_json_print(
            c, json_pack(
                   "{s:o, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o}", "dataset",
                   cli_json_str(c->args[0]), "rows", (json_int_t)res.rows,
                   "imported", (json_int_t)res.imported, "rejected",
                   (json_int_t)res.rejected, "duplicates",
                   (json_int_t)res.duplicates, "mismatches",
                   (json_int_t)res.mismatches, "encoding",
                   enc_name(res.encoding), "sha256", res.sha256, "report",
                   c->a.report ? cli_json_str(c->a.report) : json_null()));
        goto out;
    }
    if (!c->a.quiet)
        print_summary(c, &res);
    if (sink.is_report && sink.count)
        fprintf(stderr,
                NG_("mamori: import: %llu problem listed in %s\n",
                    "mamori: import: %llu problems listed in %s\n",
                    (unsigned long)sink.count),
                (unsigned long long)sink.count, c->a.report);
    ret = CLI_EXIT_OK;
out:
    if (sink.is_report && sink.out) {
        fclose(sink.out);
        unlink(sink.tmp);
    }
    if (in.fd >= 0)
        close(in.fd);
    if (vin.fd >= 0)
        close(vin.fd);
    for (size_t i = 0; i < c->a.nmaps; i++)
        free(copies[i]);
    free(copies);
    free(map);
    return ret;
}
