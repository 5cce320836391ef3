/*
 * config.c - mamorid's settings: an INI file (libinih) whose sections and
 * keys mirror the flags, and the flags, which override it.
 *
 *   [vault]   home = DIR            key_file = FILE
 *   [server]  listen = HOST:PORT    threads = N      user = NAME
 *             access_log = on|off  (a syslog line per request; default on)
 *             metrics_loopback = open|token  (GET /metrics from loopback
 *             without a token; default open; token: behind a proxy)
 *             threads: requests that may block (logins, writes, searches)
 *             handled at once, default 16; quick ones (record reads, the
 *             web UI's files) do not take one (mhd.c, pool.c)
 *   [tls]     cert = FILE           key = FILE
 *   [limits]  login_per_ip = N      login_per_user = N   (per minute)
 *             upload_max = BYTES   (streamed uploads; default 1 GiB)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "mamorid.h"
#include "banned.h"

static const char usage[] =
    "usage: mamorid --home DIR --listen HOST:PORT [--tls-cert FILE "
    "--tls-key FILE]\n"
    "               [--key-file FILE] [--threads N] [--user NAME] "
    "[--config FILE]\n"
    "               [--login-per-ip N] [--login-per-user N] "
    "[--upload-max BYTES]\n"
    "               [--passphrase-fd N] [--access-log on|off]\n"
    "               [--metrics-loopback open|token]\n"
    "       mamorid --routes\n"
    "The master key comes from --key-file, $MAMORI_KEY_FILE, the systemd\n"
    "credential $CREDENTIALS_DIRECTORY/mamori.key, or a passphrase read from\n"
    "the file descriptor of --passphrase-fd or $MAMORI_PASSPHRASE_FD, else\n"
    "asked for on the terminal. PORT 0 takes a free port: the line\n"
    "\"mamorid: listening on URL\" on standard error names it.\n"
    "--access-log off drops the syslog line of each request (the audit log\n"
    "still records every data request; alerts are always sent).\n"
    "--metrics-loopback token asks loopback clients of /metrics for a token\n"
    "too (behind a reverse proxy on this host, every client is loopback).\n";

static int set_str(char **dst, const char *v)
{
    char *d = strdup(v);

    if (!d)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long x;

    errno = 0;
    if (!v || !*v || *v == '-')
        return -1;
    x = strtoul(v, &end, 10);
    if (errno || *end || x > max)
        return -1;
    *out = x;
    return 0;
}

/* One setting by section and key (from the file or a flag). */
static int set_one(struct srv_config *cfg, const char *sec, const char *key,
                   const char *v)
{
    unsigned long x;

#define IS(s, k) (strcmp(sec, s) == 0 && strcmp(key, k) == 0)
    if (IS("vault", "home"))
        return set_str(&cfg->home, v);
    if (IS("vault", "key_file"))
        return set_str(&cfg->key_file, v);
    if (IS("server", "listen"))
        return set_str(&cfg->listen, v);
    if (IS("server", "user"))
        return set_str(&cfg->user, v);
    if (IS("tls", "cert"))
        return set_str(&cfg->tls_cert, v);
    if (IS("tls", "key"))
        return set_str(&cfg->tls_key, v);
    if (IS("server", "threads")) {
        if (parse_uint(v, 256, &x) || x == 0)
            return -1;
        cfg->threads = (unsigned)x;
        return 0;
    }
    if (IS("server", "access_log")) {
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return -1;
        cfg->access_log = strcmp(v, "on") == 0;
        return 0;
    }
    if (IS("server", "metrics_loopback")) {
        if (strcmp(v, "open") != 0 && strcmp(v, "token") != 0)
            return -1;
        cfg->metrics_token_always = strcmp(v, "token") == 0;
        return 0;
    }
    if (IS("limits", "login_per_ip") || IS("limits", "login_per_user")) {
        if (parse_uint(v, 1000000, &x))
            return -1;
        if (strcmp(key, "login_per_ip") == 0)
            cfg->login_per_ip = (double)x;
        else
            cfg->login_per_user = (double)x;
        return 0;
    }
    if (IS("limits", "upload_max")) {
        char *end;
        unsigned long long y;

        errno = 0;
        if (!*v || *v == '-')
            return -1;
        y = strtoull(v, &end, 10);
        if (errno || *end || y == 0)
            return -1;
        cfg->upload_max = (uint64_t)y;
        return 0;
    }
    if (IS("vault", "passphrase_fd")) {
        if (parse_uint(v, 65535, &x))
            return -1;
        cfg->passphrase_fd = (int)x;
        return 0;
    }
#undef IS
    return -2;
}

static int ini_cb(void *arg, const char *sec, const char *key, const char *v)
{
    struct srv_config *cfg = arg;
    int rc = set_one(cfg, sec, key, v);

    if (rc == -2)
        fprintf(stderr, "mamorid: config: unknown setting [%s] %s\n", sec, key);
    else if (rc)
        fprintf(stderr, "mamorid: config: bad value for [%s] %s\n", sec, key);
    return rc == 0; /* inih: nonzero is success */
}

enum {
    OPT_HOME = 1000,
    OPT_LISTEN,
    OPT_CERT,
    OPT_KEY,
    OPT_KEYFILE,
    OPT_THREADS,
    OPT_USER,
    OPT_CONFIG,
    OPT_PER_IP,
    OPT_PER_USER,
    OPT_ROUTES,
    OPT_HELP,
    OPT_UPLOAD_MAX,
    OPT_PASSPHRASE_FD,
    OPT_ACCESS_LOG,
    OPT_METRICS_LOOPBACK,
};

static const struct option longopts[] = {
    {"home", required_argument, NULL, OPT_HOME},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"tls-cert", required_argument, NULL, OPT_CERT},
    {"tls-key", required_argument, NULL, OPT_KEY},
    {"key-file", required_argument, NULL, OPT_KEYFILE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"user", required_argument, NULL, OPT_USER},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"login-per-ip", required_argument, NULL, OPT_PER_IP},
    {"login-per-user", required_argument, NULL, OPT_PER_USER},
    {"routes", no_argument, NULL, OPT_ROUTES},
    {"help", no_argument, NULL, OPT_HELP},
    {"upload-max", required_argument, NULL, OPT_UPLOAD_MAX},
    {"passphrase-fd", required_argument, NULL, OPT_PASSPHRASE_FD},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"metrics-loopback", required_argument, NULL, OPT_METRICS_LOOPBACK},
    {NULL, 0, NULL, 0},
};

static const struct {
    int opt;
    const char *sec, *key;
} flagmap[] = {
    {OPT_HOME, "vault", "home"},
    {OPT_KEYFILE, "vault", "key_file"},
    {OPT_LISTEN, "server", "listen"},
    {OPT_THREADS, "server", "threads"},
    {OPT_USER, "server", "user"},
    {OPT_CERT, "tls", "cert"},
    {OPT_KEY, "tls", "key"},
    {OPT_PER_IP, "limits", "login_per_ip"},
    {OPT_PER_USER, "limits", "login_per_user"},
    {OPT_UPLOAD_MAX, "limits", "upload_max"},
    {OPT_PASSPHRASE_FD, "vault", "passphrase_fd"},
    {OPT_ACCESS_LOG, "server", "access_log"},
    {OPT_METRICS_LOOPBACK, "server", "metrics_loopback"},
};

int srv_config_load(struct srv_config *cfg, int argc, char **argv)
{
    const char *config = NULL;
    int ch, pass;

    memset(cfg, 0, sizeof *cfg);
    /* The pool's threads (pool.c): logins (Argon2id, 64 MiB each),
     * writes and searches at once. */
    cfg->threads = 16;
    cfg->login_per_ip = 10;
    cfg->login_per_user = 5;
    cfg->upload_max = SRV_UPLOAD_MAX_DEFAULT;
    cfg->passphrase_fd = -1;
    cfg->access_log = 1;
    /* Pass 1 finds --config; the file is read; pass 2 applies the flags
     * over it. */
    for (pass = 1; pass <= 2; pass++) {
        optind = 1;
        opterr = pass == 1;
        while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
            size_t i;

            if (ch == '?' || ch == ':') {
                fputs(usage, stderr);
                return 2;
            }
            if (ch == OPT_CONFIG) {
                config = optarg;
                continue;
            }
            if (ch == OPT_ROUTES) {
                cfg->routes = 1;
                continue;
            }
            if (ch == OPT_HELP) {
                cfg->help = 1;
                continue;
            }
            if (pass == 1)
                continue;
            for (i = 0; i < sizeof flagmap / sizeof flagmap[0]; i++) {
                if (flagmap[i].opt != ch)
                    continue;
                if (set_one(cfg, flagmap[i].sec, flagmap[i].key, optarg)) {
                    fprintf(stderr, "mamorid: bad value for --%s\n",
                            longopts[ch - OPT_HOME].name);
                    return 2;
                }
            }
        }
        if (optind < argc) {
            fprintf(stderr, "mamorid: unexpected argument\n%s", usage);
            return 2;
        }
        if (pass == 1 && config) {
            int rc = ini_parse(config, ini_cb, cfg);

            if (rc < 0) {
                fprintf(stderr, "mamorid: cannot read the config file %s\n",
                        config);
                return 2;
            }
            if (rc > 0) {
                fprintf(stderr, "mamorid: config file %s: error on line %d\n",
                        config, rc);
                return 2;
            }
        }
    }
    if (cfg->help) {
        fputs(usage, stdout);
        return 0;
    }
    return 0;
}

void srv_config_release(struct srv_config *cfg)
{
    free(cfg->home);
    free(cfg->listen);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->key_file);
    free(cfg->user);
    memset(cfg, 0, sizeof *cfg);
}
