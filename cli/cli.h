/*
 * cli.h - shared pieces of the mamori command: the parsed command line, the
 * command table, exit codes, and the helpers in io.c (secret input, JSON and
 * table output, error reporting) and cmd_session.c (the session file).
 *
 * The CLI uses nothing of libmamori but include/mamori.h (and lib/i18n.h for
 * gettext). Secrets it reads (passwords, passphrases, session tokens) live in
 * fixed buffers that are wiped with explicit_bzero right after use.
 */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mamori.h"

#ifndef MAMORI_VERSION
#define MAMORI_VERSION "0.1.0"
#endif

/* Plural-aware translation; xgettext --keyword=NG_:1,2 */
#define NG_(s, p, n) dngettext(MAMORI_TEXTDOMAIN, s, p, n)

/* Exit codes (documented in --help and mamori(1)). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,      /* generic failure */
    CLI_EXIT_USAGE = 2,     /* bad command line */
    CLI_EXIT_NOTFOUND = 3,  /* no such user, dataset, record, vault */
    CLI_EXIT_DENIED = 4,    /* permission denied, not logged in, auth failed */
    CLI_EXIT_INVALID = 5,   /* invalid value */
    CLI_EXIT_INTEGRITY = 6, /* audit chain broken, decryption failed */
    CLI_EXIT_AUDIT = 7,     /* audit entry could not be written: refused */
};

/* Longest command-line argument accepted, in bytes. */
#define CLI_ARG_MAX 4096
/* Longest password, passphrase or input line accepted, in bytes. */
#define CLI_SECRET_MAX 1024
/* Length of a generated password. */
#define CLI_GEN_PASSWORD_LEN 20

/* Every option the command line knows. Global ones are accepted by every
 * command; the others only by the commands that list them. */
enum cli_opt {
    OPT_HOME,
    OPT_JSON,
    OPT_KEY_FILE,
    OPT_SESSION,
    OPT_REASON,
    OPT_QUIET,
    OPT_HELP,
    OPT_VERSION,
    OPT_ADMIN,
    OPT_PASSPHRASE,
    OPT_USER,
    OPT_ROLE,
    OPT_GENERATE,
    OPT_CLIENT,
    OPT_PURPOSE,
    OPT_FIELD,
    OPT_ENDS,
    OPT_STDIN,
    OPT_LAST,
    OPT_OUT,
    OPT_CHECKPOINT,
    OPT_OTP,
    OPT_REQUIRE_REASON,
    OPT_HANDLER,
    OPT_NAME,
    OPT_ENCODING,
    OPT_MAP,
    OPT_SKIP_INVALID,
    OPT_REPORT,
    OPT_VERIFY_AGAINST,
    OPT_KEY,
    OPT_SEARCH,
    OPT_FORMAT,
    OPT_RECIPIENT_CERT,
    OPT_KEEP,
    OPT_KEYS,
    OPT_ACTION,
    OPT_FROM,
    OPT_TO,
    OPT_COUNT_
};

#define OPTBIT(o) (UINT64_C(1) << (o))
_Static_assert(OPT_COUNT_ <= 64, "options are bits of a uint64_t");

/* The parsed command line. Strings point into argv. */
struct cli_args {
    uint64_t seen; /* OPTBIT() of every option given */
    const char *home;
    const char *key_file;
    const char *session_file;
    const char *reason;
    const char *admin;
    const char *user;
    const char *role;
    const char *client;
    const char *purpose;
    const char *ends;
    const char *last;
    const char *out;
    const char *checkpoint;
    const char *otp;
    const char *name;
    const char *encoding;       /* --encoding auto|utf-8|cp932 */
    const char *report;         /* --report FILE */
    const char *verify_against; /* --verify-against FILE */
    const char *key;            /* --key FIELD[,FIELD...] */
    const char *search;         /* --search FIELD=VALUE */
    const char *format;         /* --format zip|cms */
    const char *recipient_cert; /* --recipient-cert FILE */
    const char *keep;           /* --keep N */
    const char *keys;           /* --keys FILE */
    const char *action;         /* --action ACTION (audit show) */
    const char *from, *to;      /* --from/--to TIME (audit show) */
    const char **maps;          /* --map COLUMN=FIELD, in order */
    int *map_argi;              /* argv index of each --map value */
    size_t nmaps;
    const char **fields; /* --field, in order */
    int *field_argi;     /* argv index of each --field value */
    size_t nfields;
    int json;
    int quiet;
    int help;
    int version;
    int passphrase;
    int generate;
    int use_stdin;
    char **pos;    /* positional words, commands included */
    int *pos_argi; /* argv index of each */
    int npos;
};

struct cli;

/* Command flags. */
enum {
    CMD_NO_VAULT = 1 << 0,   /* runs without opening a vault (init, help) */
    CMD_NO_SESSION = 1 << 1, /* opens the vault but needs no session */
};

struct cli_cmd {
    const char *group; /* "record"; or the command itself ("init") */
    const char *verb;  /* "add"; NULL for a one-word command */
    int (*run)(struct cli *c);
    /* Checks the command line before the vault is opened (NULL: nothing
     * to check); returns 0 or a usage error. */
    int (*check)(struct cli *c);
    const char *synopsis;    /* after "mamori ", N_() */
    const char *summary;     /* one line, N_() */
    const char *description; /* paragraphs, N_() */
    uint64_t options;        /* OPTBIT() of the non-global options taken */
    int min_args, max_args;  /* positional args after the command words;
                                max_args < 0: no limit */
    unsigned flags;
};

/* State of one run. */
struct cli {
    struct cli_args a;
    const struct cli_cmd *cmd;
    char **args; /* positional args after the command words */
    int *argi;   /* their argv indexes (for messages) */
    int nargs;
    char home[4096];
    mamori *m;
    mamori_sess *s;
    int out_tty; /* stdout is a terminal */
};

/* ---- main.c ------------------------------------------------------------ */

extern const struct cli_cmd cli_commands[];
extern const size_t cli_ncommands;

/* Prints one command's help to stdout. */
void cli_print_command_help(const struct cli_cmd *cmd);

/* ---- io.c: errors and messages ----------------------------------------- */

/* Exit code for a MAMORI_E* code. */
int cli_exit_code(int rc);

/* Reports a library failure:
 *   mamori: WHAT: <mamori_strerror(rc)>[: <errdetail>]
 * on stderr (and {"error":...} on stdout with --json); returns the exit
 * code. WHAT is already translated. */
int cli_fail(struct cli *c, const char *what, int rc);
/* As cli_fail, with the detail given explicitly (may be NULL or ""). */
int cli_fail_detail(struct cli *c, const char *what, int rc,
                    const char *detail);
/* Reports an error in the CLI's own words (fmt is translated by the caller)
 * under the error code rc, returns its exit code. */
int cli_error(struct cli *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Usage error: the message, the command's synopsis (if known) and a hint;
 * returns CLI_EXIT_USAGE. */
int cli_usage(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An informational line on stdout, unless --quiet or --json. */
void cli_note(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- io.c: secrets ----------------------------------------------------- */

/* Reads one line from fd (byte by byte, no stdio buffering), without its
 * trailing "\n" or "\r\n". Returns 0; 1 at end of input with nothing read;
 * MAMORI_ETOOBIG if the line does not fit (buf is wiped); MAMORI_EIO. */
int cli_read_line(int fd, char *buf, size_t size, size_t *len);

/* Reads a secret: on a terminal (stdin is a TTY) a no-echo prompt on
 * /dev/tty, asked twice when confirm is non-NULL; otherwise one line of
 * stdin. Returns 0; 1 if there was no input (end of input, or an empty
 * entry); MAMORI_EINVAL if the two entries differ; MAMORI_ETOOBIG;
 * MAMORI_EIO. buf is wiped on failure. */
int cli_read_secret(const char *prompt, const char *confirm, char *buf,
                    size_t size, size_t *len);

/* The vault passphrase: from the descriptor in MAMORI_PASSPHRASE_FD if set,
 * else as cli_read_secret. CLI_EBADFD if MAMORI_PASSPHRASE_FD is not the
 * number of an open descriptor. */
#define CLI_EBADFD (-100)
int cli_read_passphrase(const char *prompt, const char *confirm, char *buf,
                        size_t size, size_t *len);

/* Fills buf with a CLI_GEN_PASSWORD_LEN-character password from
 * /dev/urandom (lower and upper case letters, digits, symbols; at least one
 * of each) and a NUL; size must be > CLI_GEN_PASSWORD_LEN. Returns 0 or
 * MAMORI_EIO. */
int cli_generate_password(char *buf, size_t size);

/* ---- io.c: files ------------------------------------------------------- */

/* 0 when path may take this command's output file (mamori_output_check:
 * not the vault's files, its key file, --key-file or MAMORI_KEY_FILE, nor
 * reads[0..n)); else names opt and the reason and returns the exit code. */
int cli_output_ok(struct cli *c, const char *opt, const char *path,
                  const char *const *reads, size_t n);

/* Writes data to path through a temporary file in the same directory
 * (O_EXCL|O_NOFOLLOW, mode 0600, fsync), renamed over path. Returns 0 or
 * MAMORI_EIO (errno kept). */
int cli_write_private_file(const char *path, const void *data, size_t len);

/* Reads a regular file of at most max bytes into a NUL-terminated malloc'd
 * buffer. Returns 0, MAMORI_ENOTFOUND, MAMORI_ETOOBIG, MAMORI_EIO,
 * MAMORI_ENOMEM. */
int cli_read_small_file(const char *path, size_t max, char **out, size_t *len);

/* ---- io.c: output ------------------------------------------------------ */

/* Sets up stdout (a private buffer that is wiped at exit) and jansson. */
void cli_output_init(void);
/* Flushes and wipes the stdout buffer. Returns 0, or -1 if writing stdout
 * failed. */
int cli_output_finish(void);

/* Prints j as one compact line (UTF-8 kept, not \u-escaped) and a newline,
 * then releases j (the reference is stolen; j may be NULL = out of memory).
 * Returns 0 or an exit code. */
int cli_json_print(struct cli *c, json_t *j);
/* json_string() that never fails on invalid UTF-8 (bad bytes become
 * U+FFFD). */
json_t *cli_json_str(const char *s);
/* ISO 8601 UTC ("2024-04-01T09:00:00Z") for t, or JSON null if t == 0. */
json_t *cli_json_time(int64_t t);

/* Local time "YYYY-MM-DD HH:MM:SS" ("-" for 0). */
void cli_format_time(int64_t t, char *buf, size_t size);

/* A copy of s that is safe to show on a terminal: control characters,
 * invalid UTF-8 and bidirectional overrides are shown as escapes (\n, \t,
 * \x1b, \u202e); with tsv also backslash is doubled. NULL on ENOMEM. */
char *cli_sanitize(const char *s, int tsv);
/* Columns s takes on a terminal (CJK wide characters count 2). */
size_t cli_display_width(const char *s);

/* A table: aligned columns with a header on a terminal, tab-separated rows
 * otherwise. Cells are sanitized copies, wiped when released. */
struct cli_table {
    size_t ncols;
    const char *const *headers; /* translated */
    char **cells;               /* nrows * ncols */
    size_t nrows, cap;
};
void cli_table_init(struct cli_table *t, const char *const *headers,
                    size_t ncols);
/* Adds a row of ncols cells (NULL shows as ""). 0 or MAMORI_ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
/* Prints the table. 0 or MAMORI_ENOMEM. */
int cli_table_print(const struct cli_table *t, int tty);
void cli_table_release(struct cli_table *t);

/* Prints "label: value" with the value sanitized. */
void cli_print_kv(const char *label, const char *value);

/* ---- kv.c: FIELD=VALUE input ------------------------------------------- */

/* FIELD=VALUE pairs of a command line (and, with --stdin, of standard
 * input, at most 1 MiB, wiped on release). */
struct cli_kv {
    struct mamori_kv *kv;
    char **names;  /* owned copies of the names taken from arguments */
    size_t nowned; /* entries of names */
    size_t n;      /* entries of kv */
    char *input;   /* standard input, split in place */
    size_t input_size;
};
/* Collects the pairs from c->args[first..] and, with --stdin, from the
 * lines of standard input. Returns 0 or an exit code (reported). Release
 * s in every case. */
int cli_kv_collect(struct cli *c, int first, struct cli_kv *s);
void cli_kv_release(struct cli_kv *s);
/* Checks the FIELD=VALUE arguments from c->args[first] on, and that there
 * is at least one (or --stdin). 0 or a usage error. */
int cli_kv_check(struct cli *c, int first);

/* ---- cmd_session.c ----------------------------------------------------- */

/* The user's home directory: $HOME if absolute, else the password
 * database's; NULL if neither. */
const char *cli_home_dir(void);

/* The session file for the open vault (c->m): --session, env
 * MAMORI_SESSION_FILE, $XDG_RUNTIME_DIR/mamori/session-<vault id>, or
 * ~/.cache/mamori/session-<vault id>. 0 or an MAMORI_E* code. */
int cli_session_path(struct cli *c, char *buf, size_t size);
/* Reads the token from the session file and opens c->s. Reports its own
 * errors; returns an exit code. */
int cli_session_resume(struct cli *c);
/* Makes the directory of path: missing components 0700; with own_default
 * the last one must be the caller's and is made 0700. 0 or MAMORI_E*. */
int cli_make_private_dir(const char *path, int own_default);
/* Opens path for reading only if it is a regular file of the calling user
 * that nobody else can read (no symlinks). 0 with *fd; MAMORI_ENOTFOUND;
 * MAMORI_EDENIED; MAMORI_EIO. */
int cli_open_private(const char *path, int *fd);

/* ---- cmd_device.c: this machine's device key ---------------------------- */

struct cli_device {
    uint8_t pk[MAMORI_DEVICE_PK_LEN];
    uint8_t sk[MAMORI_DEVICE_SK_LEN];
};
/* The device key file: $MAMORI_DEVICE_KEY, else
 * $XDG_CONFIG_HOME/mamori/device.key, else ~/.config/mamori/device.key. */
int cli_device_path(char *buf, size_t size);
/* Loads this machine's device key; with create, makes one when there is
 * none. 0, MAMORI_ENOTFOUND (none, create off), or an error. Wipe d. */
int cli_device_load(struct cli_device *d, int create);

/* ---- progress.c -------------------------------------------------------- */

/* A progress line on stderr for long work, drawn only when stderr is a
 * terminal (nothing otherwise): rows, rows per second and, when the total
 * size is known, percent and time left from the bytes done. */
struct cli_progress {
    int on;            /* stderr is a terminal */
    const char *label; /* "import" */
    uint64_t total;    /* bytes in all, 0 if unknown */
    int64_t start_ms, last_ms;
    int drawn;
};
void cli_progress_start(struct cli_progress *p, const char *label,
                        uint64_t total_bytes);
/* Redraws at most 10 times a second. */
void cli_progress_update(struct cli_progress *p, uint64_t bytes, uint64_t rows);
/* Clears the line. */
void cli_progress_end(struct cli_progress *p);

/* ---- command handlers -------------------------------------------------- */

int cmd_init(struct cli *c);
int cmd_login(struct cli *c);
int cmd_logout(struct cli *c);
int cmd_user_add(struct cli *c);
int cmd_user_list(struct cli *c);
int cmd_user_unlock(struct cli *c);
int cmd_user_disable(struct cli *c);
int cmd_user_enable(struct cli *c);
int cmd_user_reset(struct cli *c);
int cmd_passwd(struct cli *c);
int cmd_session_list(struct cli *c);
int cmd_session_revoke(struct cli *c);
int cmd_mfa_enroll(struct cli *c);
int cmd_mfa_confirm(struct cli *c);
int cmd_mfa_reset(struct cli *c);
int cmd_device_enroll(struct cli *c);
int cmd_device_approve(struct cli *c);
int cmd_device_revoke(struct cli *c);
int cmd_device_list(struct cli *c);
int cmd_access_review(struct cli *c);
int cmd_config_list(struct cli *c);
int cmd_config_get(struct cli *c);
int cmd_config_set(struct cli *c);
int cmd_dataset_create(struct cli *c);
int cmd_dataset_list(struct cli *c);
int cmd_dataset_grant(struct cli *c);
int cmd_dataset_revoke(struct cli *c);
int cmd_dataset_grants(struct cli *c);
int cmd_breakglass_request(struct cli *c);
int cmd_breakglass_approve(struct cli *c);
int cmd_breakglass_close(struct cli *c);
int cmd_breakglass_list(struct cli *c);
int cmd_record_add(struct cli *c);
int cmd_record_get(struct cli *c);
int cmd_record_update(struct cli *c);
int cmd_record_delete(struct cli *c);
int cmd_record_search(struct cli *c);
int cmd_audit_show(struct cli *c);
int cmd_audit_checkpoint(struct cli *c);
int cmd_audit_verify(struct cli *c);
int cmd_import(struct cli *c);
int cmd_entry_start(struct cli *c);
int cmd_entry_verify(struct cli *c);
int cmd_entry_amend(struct cli *c);
int cmd_entry_list(struct cli *c);
int cmd_export_request(struct cli *c);
int cmd_export_approve(struct cli *c);
int cmd_export_reject(struct cli *c);
int cmd_export_run(struct cli *c);
int cmd_export_list(struct cli *c);
int cmd_export_mark(struct cli *c);
int cmd_backup_create(struct cli *c);
int cmd_backup_keys(struct cli *c);
int cmd_backup_verify(struct cli *c);
int cmd_backup_restore(struct cli *c);
int cmd_backup_list(struct cli *c);

int check_init(struct cli *c);
int check_login(struct cli *c);
int check_user_add(struct cli *c);
int check_session_revoke(struct cli *c);
int check_device_enroll(struct cli *c);
int check_dataset_create(struct cli *c);
int check_breakglass_request(struct cli *c);
int check_record_add(struct cli *c);
int check_record_update(struct cli *c);
int check_record_search(struct cli *c);
int check_audit_show(struct cli *c);
/* main.c: --out is required. */
int check_out(struct cli *c);
int check_import(struct cli *c);
int check_entry(struct cli *c);
int check_export_request(struct cli *c);
int check_export_run(struct cli *c);
int check_backup_create(struct cli *c);
int check_backup_restore(struct cli *c);

#endif
