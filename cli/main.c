/*
 * main.c - the mamori command: global options, the command table, help,
 * opening the vault and the session, exit codes.
 *
 *   mamori [OPTIONS] GROUP [VERB] [ARGS...]
 *
 * Options may come before or after the command words; "--" ends them.
 * Every command is one row of cli_commands[], which drives dispatch,
 * `mamori --help` and `mamori help CMD`.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

static int cmd_help(struct cli *c);

/* ---- options ------------------------------------------------------------ */

struct optdef {
    enum cli_opt id;
    const char *name;
    char shortname;
    int has_arg;
    const char *argname; /* typed as is: not translated */
    const char *desc;    /* N_() */
};

static const struct optdef optdefs[] = {
    {OPT_HOME, "home", 0, 1, "DIR",
     N_("vault directory (default: $MAMORI_HOME, else\n"
        "$XDG_DATA_HOME/mamori, else ~/.local/share/mamori)")},
    {OPT_JSON, "json", 0, 0, NULL,
     N_("print results, and errors, as JSON on standard output")},
    {OPT_KEY_FILE, "key-file", 0, 1, "FILE",
     N_("key file (default: $MAMORI_KEY_FILE, else the one the\n"
        "vault remembers)")},
    {OPT_SESSION, "session", 0, 1, "FILE",
     N_("session file (default: $MAMORI_SESSION_FILE, else\n"
        "$XDG_RUNTIME_DIR/mamori/session-VAULTID, else\n"
        "~/.cache/mamori/session-VAULTID)")},
    {OPT_REASON, "reason", 0, 1, "TEXT",
     N_("purpose of this access, recorded in the audit log")},
    {OPT_QUIET, "quiet", 'q', 0, NULL, N_("print no informational messages")},
    {OPT_HELP, "help", 'h', 0, NULL, N_("show help and exit")},
    {OPT_VERSION, "version", 0, 0, NULL, N_("show the version and exit")},
    {OPT_ADMIN, "admin", 0, 1, "NAME", N_("name of the first administrator")},
    {OPT_PASSPHRASE, "passphrase", 0, 0, NULL,
     N_("protect the master key with a passphrase (Argon2id)\n"
        "instead of a key file")},
    {OPT_USER, "user", 0, 1, "NAME",
     N_("a user: who logs in (login, device enroll), whose sessions\n"
        "end (session revoke), whose entries are shown (audit show)")},
    {OPT_ROLE, "role", 0, 1, "ROLE",
     N_("role: admin, operator, auditor or viewer")},
    {OPT_GENERATE, "generate", 0, 0, NULL,
     N_("generate a random password and show it once")},
    {OPT_CLIENT, "client", 0, 1, "TEXT",
     N_("the client the data is handled for")},
    {OPT_PURPOSE, "purpose", 0, 1, "TEXT",
     N_("purpose of use of the personal data")},
    {OPT_FIELD, "field", 0, 1, "NAME:TYPE[:search]",
     N_("a field of the dataset; repeat for each field.\n"
        "TYPE is one of name, kana, date, postal, phone, email,\n"
        "mynumber, corpnumber, address, text; \":search\" makes\n"
        "the field searchable")},
    {OPT_ENDS, "ends", 0, 1, "YYYY-MM-DD", N_("date the contract ends")},
    {OPT_STDIN, "stdin", 0, 0, NULL,
     N_("also read FIELD=VALUE lines from standard input, which\n"
        "keeps the values out of the process list")},
    {OPT_LAST, "last", 0, 1, "N", N_("show only the last N entries")},
    {OPT_OUT, "out", 0, 1, "PATH",
     N_("where to write: a file; a directory for `backup create` and\n"
        "`backup list`; \"-\" for standard output (`audit checkpoint`)")},
    {OPT_NAME, "name", 0, 1, "TEXT",
     N_("a label for this device (default: the host name)")},
    {OPT_OTP, "otp", 0, 1, "CODE",
     N_("one-time code from the authenticator app (or a\n"
        "recovery code)")},
    {OPT_CHECKPOINT, "checkpoint", 0, 1, "FILE",
     N_("also check that the log still reaches this checkpoint")},
    {OPT_REQUIRE_REASON, "require-reason", 0, 0, NULL,
     N_("every read of the dataset's records must state its\n"
        "purpose with --reason TEXT")},
    {OPT_HANDLER, "handler", 0, 0, NULL,
     N_("designate the operator as a My Number handler of the\n"
        "dataset")},
    {OPT_ENCODING, "encoding", 0, 1, "ENCODING",
     N_("character encoding of a CSV file: utf-8 or cp932 (import also\n"
        "takes auto, its default: it detects which)")},
    {OPT_MAP, "map", 0, 1, "COLUMN=FIELD",
     N_("take FIELD from the CSV column with this header (repeatable)")},
    {OPT_SKIP_INVALID, "skip-invalid", 0, 0, NULL,
     N_("import the valid rows and report the others (default: all or\n"
        "nothing)")},
    {OPT_REPORT, "report", 0, 1, "FILE",
     N_("write the rows that were not imported (invalid, duplicate,\n"
        "differing) to FILE")},
    {OPT_VERIFY_AGAINST, "verify-against", 0, 1, "FILE",
     N_("compare with a second, independently keyed CSV first")},
    {OPT_KEY, "key", 0, 1, "FIELD[,FIELD...]",
     N_("fields that identify a record: duplicates are refused")},
    {OPT_SEARCH, "search", 0, 1, "FIELD=VALUE",
     N_("export only the records that match")},
    {OPT_FORMAT, "format", 0, 1, "zip|cms",
     N_("zip: AES-256 ZIP with a one-time password; cms: encrypted to a\n"
        "recipient's certificate")},
    {OPT_RECIPIENT_CERT, "recipient-cert", 0, 1, "FILE",
     N_("X.509 certificate (PEM) of the recipient, for --format cms")},
    {OPT_KEEP, "keep", 0, 1, "N",
     N_("keep the newest N backups in the directory, delete older ones")},
    {OPT_KEYS, "keys", 0, 1, "FILE",
     N_("the key-store backup (from `mamori backup keys`)")},
    {OPT_ACTION, "action", 0, 1, "ACTION",
     N_("only entries of this action (record.get), or of every\n"
        "action beginning so, when it ends in a dot (record.)")},
    {OPT_FROM, "from", 0, 1, "TIME",
     N_("only entries at or after this time: a local date\n"
        "(2026-04-01) or a UTC time (2026-04-01T09:30:00Z)")},
    {OPT_TO, "to", 0, 1, "TIME",
     N_("only entries at or before this time (a date: to its end)")},
};
#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])

#define GLOBAL_OPTS                                                            \
    (OPTBIT(OPT_HOME) | OPTBIT(OPT_JSON) | OPTBIT(OPT_KEY_FILE) |              \
     OPTBIT(OPT_SESSION) | OPTBIT(OPT_REASON) | OPTBIT(OPT_QUIET) |            \
     OPTBIT(OPT_HELP) | OPTBIT(OPT_VERSION))

/* ---- the command table -------------------------------------------------- */

const struct cli_cmd cli_commands[] = {
    {"init", NULL, cmd_init, check_init,
     N_("init [--home DIR] (--key-file FILE | --passphrase) --admin NAME"),
     N_("create a new vault"),
     N_("Creates a new, empty vault in the home directory (made with mode\n"
        "0700) and its first administrator. With --key-file, the master key\n"
        "is protected by that key file; a file that does not exist is\n"
        "created with 32 random bytes and mode 0400. With --passphrase, it\n"
        "is protected by a passphrase instead (Argon2id).\n"
        "\n"
        "On a terminal the passphrase and the administrator's password are\n"
        "each asked twice, without echo. Otherwise they are read from\n"
        "standard input: the passphrase on the first line (unless\n"
        "MAMORI_PASSPHRASE_FD is set), then the password."),
     OPTBIT(OPT_ADMIN) | OPTBIT(OPT_PASSPHRASE), 0, 0, CMD_NO_VAULT},
    {"login", NULL, cmd_login, check_login,
     N_("login [--home DIR] --user NAME"), N_("open a session"),
     N_("Checks the user's password and opens a session for the calling OS\n"
        "user. The session token is written to the session file (mode\n"
        "0600, in a directory of mode 0700); later commands use it until\n"
        "`mamori logout` or until it expires. The password is asked\n"
        "without echo on a terminal, else read from standard input.\n"
        "\n"
        "A user with MFA gives the 6-digit code of the authenticator app\n"
        "(or a recovery code) with --otp, or at the prompt on a terminal.\n"
        "A code works once. A wrong code counts as a failed login."),
     OPTBIT(OPT_USER) | OPTBIT(OPT_OTP), 0, 0, CMD_NO_SESSION},
    {"logout", NULL, cmd_logout, NULL, N_("logout"), N_("end the session"),
     N_("Ends the session in the vault, so its token is no longer valid,\n"
        "and removes the session file."),
     0, 0, 0, 0},
    {"user", "add", cmd_user_add, check_user_add,
     N_("user add NAME --role admin|operator|auditor|viewer [--generate]"),
     N_("add a user (admin)"),
     N_("Adds a user with a role: operators enter and search personal\n"
        "records of the datasets granted to them; viewers look records up,\n"
        "masked; auditors read the audit log; admins manage users and\n"
        "datasets. The user changes the initial password at the first\n"
        "login.\n"
        "\n"
        "The initial password is read from standard input (asked twice,\n"
        "without echo, on a terminal). With --generate, or when no password\n"
        "is given, a random 20-character password is generated and printed\n"
        "once, on a line of its own."),
     OPTBIT(OPT_ROLE) | OPTBIT(OPT_GENERATE), 1, 1, 0},
    {"user", "list", cmd_user_list, NULL, N_("user list"), N_("list the users"),
     N_("Lists the users with their role, creation time, last login and\n"
        "whether they are disabled."),
     0, 0, 0, 0},
    {"user", "unlock", cmd_user_unlock, NULL, N_("user unlock NAME"),
     N_("lift a lockout (admin)"),
     N_("After lockout.threshold failed logins in a row an account\n"
        "is locked for lockout.minutes; this lifts the lock at once."),
     0, 1, 1, 0},
    {"user", "disable", cmd_user_disable, NULL, N_("user disable NAME"),
     N_("disable a user who leaves or moves (admin)"),
     N_("For a user who leaves or moves to other work: the account can\n"
        "no longer log in, and its sessions end at once. The account, its\n"
        "grants and its audit entries stay; `user enable` lets it log in\n"
        "again. You cannot disable your own account, nor the last admin who\n"
        "is not disabled."),
     0, 1, 1, 0},
    {"user", "enable", cmd_user_enable, NULL, N_("user enable NAME"),
     N_("let a disabled user log in again (admin)"),
     N_("Lifts `user disable`: the user logs in again as before, with the\n"
        "same password, grants and role. Enabling an admin is refused when\n"
        "there are admin.max admins already."),
     0, 1, 1, 0},
    {"user", "reset", cmd_user_reset, NULL, N_("user reset NAME [--generate]"),
     N_("set a new initial password (admin)"),
     N_("For a forgotten password: sets a new initial password, read as for\n"
        "`user add` or generated with --generate. The user's sessions end,\n"
        "a lockout lifts, and the user must change the password at the next\n"
        "login."),
     OPTBIT(OPT_GENERATE), 1, 1, 0},
    {"passwd", NULL, cmd_passwd, NULL, N_("passwd"), N_("change your password"),
     N_("Changes your own password. On a terminal the current password is\n"
        "asked once and the new one twice, without echo; otherwise they are\n"
        "read from standard input, the current one on the first line and\n"
        "the new one on the second. The new password must follow the\n"
        "password rules (`mamori config list`), must not be close to the\n"
        "current one nor one of the last password.history ones. Your other\n"
        "sessions end. A user whose password was set by an admin can do\n"
        "nothing else until this is done."),
     0, 0, 0, 0},
    {"session", "list", cmd_session_list, NULL, N_("session list"),
     N_("list the live sessions (admin)"),
     N_("Lists the sessions that are still live: an id, the user, when they\n"
        "started and were last used, and when they expire."),
     0, 0, 0, 0},
    {"session", "revoke", cmd_session_revoke, check_session_revoke,
     N_("session revoke (ID | --user NAME)"),
     N_("end a session, or all of a user's (admin)"),
     N_("Ends the session with the id `session list` shows, or with --user\n"
        "every session of that user."),
     OPTBIT(OPT_USER), 0, 1, 0},
    {"mfa", "enroll", cmd_mfa_enroll, NULL, N_("mfa enroll"),
     N_("start using a one-time code (TOTP)"),
     N_("Makes a new secret for an authenticator app (Google Authenticator,\n"
        "Microsoft Authenticator, IIJ SmartKey...) and shows it as a QR code,\n"
        "as an otpauth:// URI and as text. Nothing changes until `mamori mfa\n"
        "confirm CODE` proves the app has it. Admins and auditors must use\n"
        "MFA; operators and viewers too unless the settings say otherwise."),
     0, 0, 0, 0},
    {"mfa", "confirm", cmd_mfa_confirm, NULL, N_("mfa confirm CODE"),
     N_("activate the one-time code"),
     N_("Checks a code from the app against the new secret and activates\n"
        "MFA. Prints 10 recovery codes, once: each logs in once in place of a\n"
        "code when the phone is lost. Keep them on paper, not on the PC."),
     0, 1, 1, 0},
    {"mfa", "reset", cmd_mfa_reset, NULL, N_("mfa reset NAME"),
     N_("remove a user's MFA (admin)"),
     N_("For a lost phone: removes the user's secret and recovery codes and\n"
        "ends their sessions; they enrol again at the next login."),
     0, 1, 1, 0},
    {"device", "enroll", cmd_device_enroll, check_device_enroll,
     N_("device enroll --user NAME [--otp CODE] [--name TEXT]"),
     N_("ask for this device's approval"),
     N_("Makes this machine's device key if there is none (a private file,\n"
        "mode 0600; see mamori(1), FILES) and asks for its approval as\n"
        "user NAME: the password (and --otp once MFA is active) is checked\n"
        "as for a login, but no session opens. When the setting\n"
        "device.required is on (the default) logins are refused from a\n"
        "device until an admin approves it. `mamori init` approves the\n"
        "machine it runs on for the first admin."),
     OPTBIT(OPT_NAME) | OPTBIT(OPT_USER) | OPTBIT(OPT_OTP), 0, 0,
     CMD_NO_SESSION},
    {"device", "approve", cmd_device_approve, NULL, N_("device approve ID"),
     N_("approve a device (admin)"),
     N_("Lets logins from the device (see `device list`) in."), 0, 1, 1, 0},
    {"device", "revoke", cmd_device_revoke, NULL, N_("device revoke ID"),
     N_("revoke a device (admin)"),
     N_("The device can no longer log in; its sessions end."), 0, 1, 1, 0},
    {"device", "list", cmd_device_list, NULL, N_("device list"),
     N_("list the devices (admin, auditor)"),
     N_("Lists every device: id, name, state, who asked for it, who\n"
        "approved it, and when it was last used."),
     0, 0, 0, 0},
    {"access", "review", cmd_access_review, NULL, N_("access review"),
     N_("review who may do what (admin, auditor)"),
     N_("Lists every user with their role, the datasets they work on (and\n"
        "whether as a My Number handler), MFA, approved devices and last\n"
        "login, and flags what needs a look: dormant accounts (no login for\n"
        "review.dormant_days), more admins than admin.max, MFA missing where\n"
        "it is required, locked accounts, initial passwords, disabled\n"
        "accounts. Run it periodically and keep the --json output with the\n"
        "review's record."),
     0, 0, 0, 0},
    {"config", "list", cmd_config_list, NULL, N_("config list"),
     N_("show the settings (admin, auditor)"),
     N_("Shows every setting with its value, default, allowed range and\n"
        "meaning: password rules, lockout, session limits."),
     0, 0, 0, 0},
    {"config", "get", cmd_config_get, NULL, N_("config get KEY"),
     N_("show one setting (admin, auditor)"),
     N_("Prints the value of one setting."), 0, 1, 1, 0},
    {"config", "set", cmd_config_set, NULL, N_("config set KEY VALUE"),
     N_("change a setting (admin)"),
     N_("Changes a setting. The audit log records the old and the new\n"
        "value."),
     0, 2, 2, 0},
    {"dataset", "create", cmd_dataset_create, check_dataset_create,
     N_("dataset create NAME --client TEXT --purpose TEXT\n"
        "    --field NAME:TYPE[:search]... [--ends YYYY-MM-DD]\n"
        "    [--require-reason] [--key FIELD[,FIELD...]]"),
     N_("create a dataset (admin)"),
     N_("Creates a dataset: the records handled for one client and one\n"
        "purpose of use, with a fixed list of fields. Field names are 1 to\n"
        "63 characters of a-z, 0-9 and _. Only searchable fields can be\n"
        "used with `mamori record search`.\n"
        "\n"
        "With --require-reason every read of its records (record get,\n"
        "record search) must state its purpose with --reason TEXT, which\n"
        "the audit log keeps. A reason must not contain personal data.\n"
        "\n"
        "--key names the fields that together identify a record (an\n"
        "employee number, or name and birth date): `mamori import` reports\n"
        "rows whose key is already in the dataset or earlier in the file as\n"
        "duplicates and does not add them. Key fields are searchable."),
     OPTBIT(OPT_CLIENT) | OPTBIT(OPT_PURPOSE) | OPTBIT(OPT_FIELD) |
         OPTBIT(OPT_ENDS) | OPTBIT(OPT_REQUIRE_REASON) | OPTBIT(OPT_KEY),
     1, 1, 0},
    {"dataset", "list", cmd_dataset_list, NULL, N_("dataset list"),
     N_("list the datasets you may see"),
     N_("Lists the datasets: all of them for admins and auditors, the\n"
        "granted ones for operators and viewers."),
     0, 0, 0, 0},
    {"dataset", "grant", cmd_dataset_grant, NULL,
     N_("dataset grant DATASET USER [--handler]"),
     N_("let an operator or viewer work on a dataset (admin)"),
     N_("Lets the operator USER add, read, change and search the records\n"
        "of DATASET, or the viewer USER read and search them (masked).\n"
        "\n"
        "With --handler the operator is a designated My Number handler\n"
        "(事務取扱担当者) of the dataset: only handlers see mynumber fields\n"
        "unmasked and may enter, search by or delete My Numbers. Granting\n"
        "again without --handler ends the designation."),
     OPTBIT(OPT_HANDLER), 2, 2, 0},
    {"dataset", "revoke", cmd_dataset_revoke, NULL,
     N_("dataset revoke DATASET USER"),
     N_("take a user's grant of a dataset away (admin)"),
     N_("Ends USER's grant of DATASET, handler designation included."), 0, 2, 2,
     0},
    {"dataset", "grants", cmd_dataset_grants, NULL,
     N_("dataset grants [DATASET]"),
     N_("list who may work on datasets (admin, auditor)"),
     N_("Lists the grants of DATASET, or of every dataset: the user, their\n"
        "role, and whether they are a My Number handler."),
     0, 0, 1, 0},
    {"record", "add", cmd_record_add, check_record_add,
     N_("record add DATASET FIELD=VALUE... [--stdin]"),
     N_("add a record; prints its id"),
     N_("Validates every value, stores the record encrypted and prints its\n"
        "new id. Each argument is split at its first \"=\", so a value may\n"
        "contain \"=\". A value that is not valid for its field changes\n"
        "nothing; the error names the field and the rule, never the value.\n"
        "\n"
        "Values given as arguments can be seen by other local users in the\n"
        "process list; with --stdin, FIELD=VALUE lines are read from\n"
        "standard input instead."),
     OPTBIT(OPT_STDIN), 1, -1, 0},
    {"record", "get", cmd_record_get, NULL, N_("record get DATASET ID"),
     N_("show a record"),
     N_("Shows the record's fields as \"field: value\" lines (with --json,\n"
        "one object). The access is recorded in the audit log first.\n"
        "\n"
        "Viewers see every value masked; operators who are not My Number\n"
        "handlers of the dataset see mynumber values masked. A masked\n"
        "record says so (\"masked\": true with --json). A dataset created\n"
        "with --require-reason needs --reason TEXT."),
     0, 2, 2, 0},
    {"record", "update", cmd_record_update, check_record_update,
     N_("record update DATASET ID FIELD=VALUE... [--stdin]"),
     N_("change fields of a record"),
     N_("Replaces the given fields and keeps the others; the record's\n"
        "version goes up by one."),
     OPTBIT(OPT_STDIN), 2, -1, 0},
    {"record", "delete", cmd_record_delete, NULL,
     N_("record delete DATASET ID"), N_("delete a record"),
     N_("Deletes the record and its search index."), 0, 2, 2, 0},
    {"record", "search", cmd_record_search, check_record_search,
     N_("record search DATASET FIELD=VALUE [--stdin]"),
     N_("find records by a searchable field"),
     N_("Finds the records whose searchable FIELD matches VALUE exactly\n"
        "after normalisation (full-width and half-width forms, hiragana and\n"
        "katakana, spaces and dashes are folded). Records are printed as\n"
        "\"field: value\" lines separated by a blank line; with --json, as\n"
        "an array of objects. With --stdin, the FIELD=VALUE is read from\n"
        "standard input. Values are masked as for `record get`; searching\n"
        "by a mynumber field is for the dataset's My Number handlers."),
     OPTBIT(OPT_STDIN), 1, 2, 0},
    {"import", NULL, cmd_import, check_import,
     N_("import DATASET FILE [--encoding auto|utf-8|cp932]\n"
        "    [--map COLUMN=FIELD]... [--skip-invalid] [--report FILE]\n"
        "    [--verify-against FILE2]"),
     N_("add records from a CSV file (operator)"),
     N_("Adds the rows of a CSV file (RFC 4180, as Excel saves it) to the\n"
        "dataset. The first row names the columns: a column whose header\n"
        "is a field name fills that field, --map COLUMN=FIELD maps another\n"
        "header. The encoding is found from a byte order mark, else from\n"
        "whether the file is valid UTF-8, else CP932 (Shift_JIS as Windows\n"
        "writes it); --encoding forces one.\n"
        "\n"
        "Every row is checked like `record add`. By default a single bad\n"
        "row imports nothing; with --skip-invalid the valid rows are\n"
        "imported. Either way every rejected row is listed with its line,\n"
        "column and rule (never its value), on stderr or in --report FILE.\n"
        "Rows whose key fields (dataset create --key) match a record or an\n"
        "earlier row are duplicates: reported, not imported.\n"
        "\n"
        "With --verify-against FILE2, a second person's keying of the same\n"
        "source is compared row by row first (ベリファイ): any difference\n"
        "is listed by line and column and nothing is imported.\n"
        "\n"
        "Prints rows read, imported, rejected and duplicate and the SHA-256\n"
        "of FILE, which the audit log keeps too. A progress bar shows on a\n"
        "terminal."),
     OPTBIT(OPT_ENCODING) | OPTBIT(OPT_MAP) | OPTBIT(OPT_SKIP_INVALID) |
         OPTBIT(OPT_REPORT) | OPTBIT(OPT_VERIFY_AGAINST),
     2, 2, 0},
    {"entry", "start", cmd_entry_start, check_entry,
     N_("entry start DATASET FIELD=VALUE... [--stdin]"),
     N_("first keying of a verified entry (operator)"),
     N_("Starts a verified entry (ベリファイ入力): the values are kept\n"
        "encrypted as a pending entry, not yet a record, and its id is\n"
        "printed. A different operator then keys the same source with\n"
        "`mamori entry verify ID`, without seeing these values. Pending\n"
        "entries expire after entry.expire_hours and are wiped."),
     OPTBIT(OPT_STDIN), 1, -1, 0},
    {"entry", "verify", cmd_entry_verify, check_entry,
     N_("entry verify ID FIELD=VALUE... [--stdin]"),
     N_("second keying: creates the record if it matches (operator)"),
     N_("Keys a pending entry a second time. It must be a different\n"
        "operator from the one who started it. When every field equals\n"
        "the first keying (after normalisation) the record is created and\n"
        "its id printed. Otherwise the fields that differ are named (never\n"
        "their values), nothing is created, and the first operator\n"
        "corrects the entry with `mamori entry amend`. After 3 failed\n"
        "verifications the entry waits for that correction, so that the\n"
        "answers cannot be used to guess the first keying.\n"
        "\n"
        "An entry that holds a My Number is verified by a handler of the\n"
        "dataset only."),
     OPTBIT(OPT_STDIN), 1, -1, 0},
    {"entry", "amend", cmd_entry_amend, check_entry,
     N_("entry amend ID FIELD=VALUE... [--stdin]"),
     N_("correct your pending entry (operator)"),
     N_("Replaces the given fields of a pending entry you started. It is\n"
        "then verified again with `mamori entry verify`."),
     OPTBIT(OPT_STDIN), 1, -1, 0},
    {"entry", "list", cmd_entry_list, NULL, N_("entry list [DATASET]"),
     N_("list pending entries (operator, auditor)"),
     N_("Lists the pending verified entries of the datasets you work on:\n"
        "id, dataset, who keyed it, when, when it expires, and how many\n"
        "verifications failed. Never the values."),
     0, 0, 1, 0},
    {"export", "request", cmd_export_request, check_export_request,
     N_("export request DATASET --reason TEXT --format zip|cms\n"
        "    [--search FIELD=VALUE] [--recipient-cert FILE]\n"
        "    [--encoding utf-8|cp932]"),
     N_("ask to take data out (operator)"),
     N_("Asks for permission to take records out of the vault (持ち出し):\n"
        "the whole dataset, or the records matching --search. --reason\n"
        "says why (no personal data in it). An admin approves or rejects\n"
        "the request; then `mamori export run` writes the file once.\n"
        "--search FIELD=- reads the value from standard input, which\n"
        "keeps it off the command line.\n"
        "\n"
        "--format zip writes an AES-256 encrypted ZIP that holds a CSV;\n"
        "its password is shown once, to be sent by another channel.\n"
        "--format cms encrypts to the X.509 certificate given with\n"
        "--recipient-cert (CMS/S-MIME enveloped data, DER, AES-256-GCM):\n"
        "there is no password to send; the recipient opens it with\n"
        "`openssl cms -decrypt -inform DER -inkey KEY -in FILE`.\n"
        "--encoding cp932 writes the CSV for older Excel (default UTF-8\n"
        "with a byte order mark)."),
     OPTBIT(OPT_SEARCH) | OPTBIT(OPT_FORMAT) | OPTBIT(OPT_RECIPIENT_CERT) |
         OPTBIT(OPT_ENCODING),
     1, 1, 0},
    {"export", "approve", cmd_export_approve, NULL, N_("export approve ID"),
     N_("approve a take-out request (admin)"),
     N_("Approves a pending export request for one run within\n"
        "export.approval_hours (default 72); after that the approval lapses.\n"
        "The approving admin cannot be the requester."),
     0, 1, 1, 0},
    {"export", "reject", cmd_export_reject, NULL, N_("export reject ID"),
     N_("reject a take-out request (admin)"),
     N_("Rejects a pending export request."), 0, 1, 1, 0},
    {"export", "run", cmd_export_run, check_export_run,
     N_("export run ID --out FILE"),
     N_("write an approved export (the requester)"),
     N_("Writes the approved export to FILE, once, within\n"
        "export.approval_hours of the approval (after that it has lapsed:\n"
        "ask for a new one). The file appears only\n"
        "when complete. For --format zip the password is printed on a line\n"
        "of its own, only this once. Exports of more than\n"
        "export.alert_threshold records raise a bulk-export alert in the\n"
        "audit log. The take-out ledger keeps who, when, why, how many,\n"
        "the format, the recipient, the approver and the file's SHA-256."),
     OPTBIT(OPT_OUT), 1, 1, 0},
    {"export", "list", cmd_export_list, NULL, N_("export list"),
     N_("show the take-out ledger"),
     N_("Shows every export request and its state: pending, approved,\n"
        "rejected, done, returned, destroyed, lapsed (approved, not run\n"
        "within export.approval_hours, or ended by `backup restore`).\n"
        "Operators see their own."),
     0, 0, 0, 0},
    {"export", "mark", cmd_export_mark, NULL,
     N_("export mark ID returned|destroyed"),
     N_("record that exported data came back or was destroyed (admin)"),
     N_("Records in the take-out ledger that the exported file was\n"
        "returned or destroyed."),
     0, 2, 2, 0},
    {"backup", "create", cmd_backup_create, check_backup_create,
     N_("backup create [--out DIR] [--keep N]"),
     N_("make an encrypted backup of the vault (admin)"),
     N_("Takes a consistent snapshot of the data and the audit log while\n"
        "the vault is in use, encrypts it (AES-256-GCM) and writes it with\n"
        "a manifest (time, counts, audit chain head, SHA-256) to DIR\n"
        "(default HOME/backups). Dataset keys are not in it: back them up\n"
        "apart with `mamori backup keys`. --keep N deletes all but the\n"
        "newest N backups in DIR (default: the setting backup.keep).\n"
        "\n"
        "Without a session, whoever holds the vault key may run it with\n"
        "--key-file (the daily timer, dist/mamori-backup.timer); the audit\n"
        "log names the user \"system\"."),
     OPTBIT(OPT_OUT) | OPTBIT(OPT_KEEP), 0, 0, CMD_NO_SESSION},
    {"backup", "keys", cmd_backup_keys, check_out, N_("backup keys --out FILE"),
     N_("back up the key store (admin)"),
     N_("Writes an encrypted copy of the key store to FILE. Keep it apart\n"
        "from the data backups: a dataset whose keys are erased later can\n"
        "no longer be read from old data backups."),
     OPTBIT(OPT_OUT), 0, 0, 0},
    {"backup", "verify", cmd_backup_verify, NULL, N_("backup verify FILE"),
     N_("check a backup without restoring it (admin, auditor)"),
     N_("Decrypts the backup, checks its integrity and manifest and\n"
        "verifies its audit chain, without restoring anything."),
     0, 1, 1, 0},
    {"backup", "restore", cmd_backup_restore, check_backup_restore,
     N_("backup restore FILE --home NEWDIR --keys KEYFILE --key-file FILE"),
     N_("restore a backup into a new vault directory"),
     N_("Restores a data backup and a key-store backup into NEWDIR, which\n"
        "must not hold a vault. The vault key is the one of the backed-up\n"
        "vault: its key file (--key-file, or $MAMORI_KEY_FILE), or, for a\n"
        "vault protected by a passphrase, the passphrase, which is asked\n"
        "for (or read from $MAMORI_PASSPHRASE_FD)."),
     OPTBIT(OPT_KEYS), 1, 1, CMD_NO_VAULT},
    {"backup", "list", cmd_backup_list, NULL, N_("backup list [--out DIR]"),
     N_("list the backups (admin, auditor)"),
     N_("Lists the backups in DIR (default HOME/backups) with their time,\n"
        "size and counts."),
     OPTBIT(OPT_OUT), 0, 0, 0},
    {"breakglass", "request", cmd_breakglass_request, check_breakglass_request,
     N_("breakglass request DATASET --reason TEXT"),
     N_("ask to read a dataset in an emergency (admin)"),
     N_("Admins do not read personal data. In an emergency an admin asks\n"
        "here, stating why (no personal data in the reason), and gets a\n"
        "request id. Once a different admin approves it with `mamori\n"
        "breakglass approve ID`, the requester may read (record get, record\n"
        "search) DATASET for breakglass.minutes; My Numbers stay masked.\n"
        "Every step and every read is audited and sent to syslog."),
     0, 1, 1, 0},
    {"breakglass", "approve", cmd_breakglass_approve, NULL,
     N_("breakglass approve ID"),
     N_("approve another admin's break-glass request (admin)"),
     N_("Opens the break-glass window of request ID for the admin who\n"
        "asked, for breakglass.minutes. The requester cannot approve their\n"
        "own request; a request lapses after 24 hours."),
     0, 1, 1, 0},
    {"breakglass", "close", cmd_breakglass_close, NULL,
     N_("breakglass close ID"),
     N_("end a break-glass window, or withdraw a request (admin)"),
     N_("Ends the window of request ID now, or withdraws it if it is not\n"
        "approved yet."),
     0, 1, 1, 0},
    {"breakglass", "list", cmd_breakglass_list, NULL, N_("breakglass list"),
     N_("list break-glass requests (admin, auditor)"),
     N_("Lists every break-glass request: id, dataset, who asked and who\n"
        "approved, the state (pending, withdrawn, lapsed, active, ended),\n"
        "the window and the reason."),
     0, 0, 0, 0},
    {"audit", "show", cmd_audit_show, check_audit_show,
     N_("audit show [--last N] [--user NAME] [--action ACTION] [--from TIME] "
        "[--to TIME]"),
     N_("show the audit log (auditor, admin)"),
     N_("Shows the audit log, oldest entry first: who did what, on which\n"
        "dataset and records, when, and the outcome. Entries hold ids and\n"
        "counts, never personal values. --user, --action, --from and --to\n"
        "keep only the entries that match all of them (the whole log is\n"
        "searched); --last N then shows the newest N of those. A date\n"
        "(2026-04-01) is a day of local time, as the log is shown: --from\n"
        "its start, --to its end; 2026-04-01T09:30:00Z is a UTC time."),
     OPTBIT(OPT_LAST) | OPTBIT(OPT_USER) | OPTBIT(OPT_ACTION) |
         OPTBIT(OPT_FROM) | OPTBIT(OPT_TO),
     0, 0, 0},
    {"audit", "checkpoint", cmd_audit_checkpoint, check_out,
     N_("audit checkpoint --out FILE"),
     N_("write a signed checkpoint of the log (auditor, admin)"),
     N_("Writes a signed checkpoint of the head of the audit log to FILE\n"
        "(mode 0600). Keep it away from this host: `mamori audit verify\n"
        "--checkpoint FILE` then detects removal of the newest entries."),
     OPTBIT(OPT_OUT), 0, 0, 0},
    {"audit", "verify", cmd_audit_verify, NULL,
     N_("audit verify [--checkpoint FILE]"),
     N_("check the audit log for tampering (auditor, admin)"),
     N_("Checks the whole chain of the audit log and, with a checkpoint,\n"
        "that the log still reaches it. Prints \"ok: N entries\", or the\n"
        "problem and exits with status 6."),
     OPTBIT(OPT_CHECKPOINT), 0, 0, 0},
    {"help", NULL, cmd_help, NULL, N_("help [COMMAND]"), N_("show help"),
     N_("Shows all commands, or the synopsis, options and description of\n"
        "one command (for example `mamori help record add`)."),
     0, 0, 2, CMD_NO_VAULT},
};
const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

static const struct {
    int code;
    const char *text;
} exit_codes[] = {
    {CLI_EXIT_OK, N_("success")},
    {CLI_EXIT_FAIL, N_("failure")},
    {CLI_EXIT_USAGE, N_("usage error (bad command line)")},
    {CLI_EXIT_NOTFOUND, N_("not found (vault, user, dataset, record)")},
    {CLI_EXIT_DENIED,
     N_("permission denied, not logged in, or authentication failed")},
    {CLI_EXIT_INVALID, N_("invalid value")},
    {CLI_EXIT_INTEGRITY,
     N_("integrity failure: audit log tampered with, or decryption failed")},
    {CLI_EXIT_AUDIT, N_("the audit entry could not be written: refused")},
};

/* ---- help --------------------------------------------------------------- */

#define HELP_COL 28

/* "  LEFT  description", the description starting at HELP_COL; its
 * continuation lines are indented to HELP_COL too. */
static void help_line(const char *left, const char *desc)
{
    size_t w = cli_display_width(left) + 2;
    const char *p;

    printf("  %s", left);
    if (w + 2 > HELP_COL) {
        fputc('\n', stdout);
        w = 0;
    }
    for (; w < HELP_COL; w++)
        fputc(' ', stdout);
    for (p = desc; *p; p++) {
        fputc(*p, stdout);
        if (*p == '\n')
            printf("%*s", HELP_COL, "");
    }
    fputc('\n', stdout);
}

static void help_option(const struct optdef *o)
{
    char left[128];

    if (o->shortname && o->has_arg)
        snprintf(left, sizeof left, "-%c, --%s %s", o->shortname, o->name,
                 o->argname);
    else if (o->shortname)
        snprintf(left, sizeof left, "-%c, --%s", o->shortname, o->name);
    else if (o->has_arg)
        snprintf(left, sizeof left, "--%s %s", o->name, o->argname);
    else
        snprintf(left, sizeof left, "--%s", o->name);
    help_line(left, _(o->desc));
}

static void cmd_name(const struct cli_cmd *cmd, char *buf, size_t size)
{
    if (cmd->verb)
        snprintf(buf, size, "%s %s", cmd->group, cmd->verb);
    else
        snprintf(buf, size, "%s", cmd->group);
}

static void print_global_help(void)
{
    size_t i;

    printf(_("Usage: mamori [OPTIONS] COMMAND [ARGS...]\n"));
    printf("\n");
    printf(_("mamori keeps personal data encrypted, lets only the people you\n"
             "allow see it, and records every access in a tamper-evident\n"
             "audit log.\n"));
    printf("\n");
    printf(_("Commands:\n"));
    for (i = 0; i < cli_ncommands; i++) {
        char name[64];

        cmd_name(&cli_commands[i], name, sizeof name);
        help_line(name, _(cli_commands[i].summary));
    }
    printf("\n");
    printf(_("Global options (before or after the command):\n"));
    for (i = 0; i < NOPTDEFS; i++)
        if (GLOBAL_OPTS & OPTBIT(optdefs[i].id))
            help_option(&optdefs[i]);
    printf("\n");
    printf(_("Exit status:\n"));
    for (i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
        printf("  %d  %s\n", exit_codes[i].code, _(exit_codes[i].text));
    printf("\n");
    printf(_("Run `mamori help COMMAND` for the options of a command, and see\n"
             "mamori(1) for more.\n"));
}

void cli_print_command_help(const struct cli_cmd *cmd)
{
    size_t i;
    int any = 0;

    printf(_("Usage: mamori %s\n"), _(cmd->synopsis));
    printf("\n");
    printf("%s\n", _(cmd->description));
    for (i = 0; i < NOPTDEFS; i++) {
        if (!(cmd->options & OPTBIT(optdefs[i].id)))
            continue;
        if (!any)
            printf("\n%s\n", _("Options:"));
        any = 1;
        help_option(&optdefs[i]);
    }
    printf("\n");
    printf(_("Global options: --home DIR, --json, --key-file FILE,\n"
             "--session FILE, --reason TEXT, -q/--quiet (see `mamori "
             "--help`).\n"));
}

static void print_group_help(FILE *f, const char *group)
{
    size_t i;

    fprintf(f, _("Commands of `mamori %s`:\n"), group);
    for (i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].group, group) == 0)
            fprintf(f, "  mamori %s\n", _(cli_commands[i].synopsis));
    fprintf(f, "\n");
    fprintf(f, _("Run `mamori help %s VERB` for one of them.\n"), group);
}

/* ---- checks shared by commands ------------------------------------------ */

int check_out(struct cli *c)
{
    char name[64];

    if (c->a.out && *c->a.out)
        return 0;
    cmd_name(c->cmd, name, sizeof name);
    return cli_usage(c, _("`mamori %s` needs --out FILE"), name);
}

/* ---- looking up commands ------------------------------------------------ */

static int is_group(const char *word)
{
    size_t i;

    for (i = 0; i < cli_ncommands; i++)
        if (cli_commands[i].verb && strcmp(cli_commands[i].group, word) == 0)
            return 1;
    return 0;
}

/* The command named by words[0] (and words[1]); *used gets how many words
 * it took. NULL if none. */
static const struct cli_cmd *find_command(char **words, int n, int *used)
{
    size_t i;

    if (n < 1)
        return NULL;
    for (i = 0; i < cli_ncommands; i++) {
        const struct cli_cmd *cmd = &cli_commands[i];

        if (strcmp(cmd->group, words[0]) != 0)
            continue;
        if (!cmd->verb) {
            *used = 1;
            return cmd;
        }
        if (n >= 2 && strcmp(cmd->verb, words[1]) == 0) {
            *used = 2;
            return cmd;
        }
    }
    return NULL;
}

/* A word the user typed, if it is harmless to echo in a message (a short
 * run of [a-z0-9-]); else NULL, and the caller names its position. */
static const char *echoable(const char *word, size_t len)
{
    size_t i;

    if (len == 0 || len > 32)
        return NULL;
    /* Digits (and dashes) may be a My Number or a phone number. */
    if (strspn(word, "0123456789-") >= len)
        return NULL;
    for (i = 0; i < len; i++)
        if (!((word[i] >= 'a' && word[i] <= 'z') ||
              (word[i] >= 'A' && word[i] <= 'Z') ||
              (word[i] >= '0' && word[i] <= '9') || word[i] == '-' ||
              word[i] == '_'))
            return NULL;
    return word;
}

static int cmd_help(struct cli *c)
{
    const struct cli_cmd *cmd;
    int used = 0;

    if (c->nargs == 0) {
        print_global_help();
        return CLI_EXIT_OK;
    }
    cmd = find_command(c->args, c->nargs, &used);
    if (cmd && used == c->nargs) {
        cli_print_command_help(cmd);
        return CLI_EXIT_OK;
    }
    if (c->nargs == 1 && is_group(c->args[0])) {
        print_group_help(stdout, c->args[0]);
        return CLI_EXIT_OK;
    }
    if (echoable(c->args[0], strlen(c->args[0])) &&
        (c->nargs == 1 || echoable(c->args[1], strlen(c->args[1]))))
        return cli_usage(c, _("no such command: %s%s%s"), c->args[0],
                         c->nargs > 1 ? " " : "",
                         c->nargs > 1 ? c->args[1] : "");
    return cli_usage(c, _("no such command"));
}

/* ---- parsing ------------------------------------------------------------ */

static void args_release(struct cli_args *a)
{
    free(a->fields);
    free(a->field_argi);
    free(a->maps);
    free(a->map_argi);
    free(a->pos);
    free(a->pos_argi);
    memset(a, 0, sizeof *a);
}

static void set_option(struct cli_args *a, enum cli_opt id, const char *val,
                       int argi)
{
    a->seen |= OPTBIT(id);
    switch (id) {
    case OPT_HOME:
        a->home = val;
        break;
    case OPT_JSON:
        a->json = 1;
        break;
    case OPT_KEY_FILE:
        a->key_file = val;
        break;
    case OPT_SESSION:
        a->session_file = val;
        break;
    case OPT_REASON:
        a->reason = val;
        break;
    case OPT_QUIET:
        a->quiet = 1;
        break;
    case OPT_HELP:
        a->help = 1;
        break;
    case OPT_VERSION:
        a->version = 1;
        break;
    case OPT_ADMIN:
        a->admin = val;
        break;
    case OPT_PASSPHRASE:
        a->passphrase = 1;
        break;
    case OPT_USER:
        a->user = val;
        break;
    case OPT_ROLE:
        a->role = val;
        break;
    case OPT_GENERATE:
        a->generate = 1;
        break;
    case OPT_CLIENT:
        a->client = val;
        break;
    case OPT_PURPOSE:
        a->purpose = val;
        break;
    case OPT_FIELD:
        /* The arrays hold argc entries: room for every --field. */
        a->field_argi[a->nfields] = argi;
        a->fields[a->nfields++] = val;
        break;
    case OPT_ENDS:
        a->ends = val;
        break;
    case OPT_STDIN:
        a->use_stdin = 1;
        break;
    case OPT_LAST:
        a->last = val;
        break;
    case OPT_OUT:
        a->out = val;
        break;
    case OPT_CHECKPOINT:
        a->checkpoint = val;
        break;
    case OPT_OTP:
        a->otp = val;
        break;
    case OPT_NAME:
        a->name = val;
        break;
    case OPT_ENCODING:
        a->encoding = val;
        break;
    case OPT_MAP:
        /* The arrays hold argc entries: room for every --map. */
        a->map_argi[a->nmaps] = argi;
        a->maps[a->nmaps++] = val;
        break;
    case OPT_REPORT:
        a->report = val;
        break;
    case OPT_VERIFY_AGAINST:
        a->verify_against = val;
        break;
    case OPT_KEY:
        a->key = val;
        break;
    case OPT_SEARCH:
        a->search = val;
        break;
    case OPT_FORMAT:
        a->format = val;
        break;
    case OPT_RECIPIENT_CERT:
        a->recipient_cert = val;
        break;
    case OPT_KEEP:
        a->keep = val;
        break;
    case OPT_KEYS:
        a->keys = val;
        break;
    case OPT_ACTION:
        a->action = val;
        break;
    case OPT_FROM:
        a->from = val;
        break;
    case OPT_TO:
        a->to = val;
        break;
    case OPT_REQUIRE_REASON:
    case OPT_SKIP_INVALID:
    case OPT_HANDLER:
        break; /* flags: c->a.seen says whether they were given */
    case OPT_COUNT_:
        break;
    }
}

/* Parses argv into c->a. Returns 0 or an exit code (usage error
 * reported). */
static int parse_args(struct cli *c, int argc, char **argv)
{
    struct cli_args *a = &c->a;
    size_t n = argc > 0 ? (size_t)argc : 1;
    int i, dashdash = 0;

    a->fields = calloc(n, sizeof *a->fields);
    a->field_argi = calloc(n, sizeof *a->field_argi);
    a->maps = calloc(n, sizeof *a->maps);
    a->map_argi = calloc(n, sizeof *a->map_argi);
    a->pos = calloc(n, sizeof *a->pos);
    a->pos_argi = calloc(n, sizeof *a->pos_argi);
    if (!a->fields || !a->field_argi || !a->maps || !a->map_argi || !a->pos ||
        !a->pos_argi)
        return cli_fail(c, "mamori", MAMORI_ENOMEM);

    /* --json must apply to usage errors found before it is reached. */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
    }
    for (i = 1; i < argc; i++) {
        if (strlen(argv[i]) > CLI_ARG_MAX)
            return cli_usage(c, _("argument %d is too long (over %d bytes)"), i,
                             CLI_ARG_MAX);
    }

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct optdef *o = NULL;
        const char *val = NULL;
        size_t k;

        if (dashdash || arg[0] != '-' || arg[1] == '\0') {
            a->pos_argi[a->npos] = i;
            a->pos[a->npos++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);

            for (k = 0; k < NOPTDEFS; k++)
                if (strlen(optdefs[k].name) == len &&
                    memcmp(optdefs[k].name, name, len) == 0)
                    o = &optdefs[k];
            if (!o) {
                if (echoable(name, len))
                    return cli_usage(c, _("unknown option --%.*s"), (int)len,
                                     name);
                return cli_usage(c, _("unknown option (argument %d)"), i);
            }
            if (o->has_arg) {
                if (eq) {
                    val = eq + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                } else {
                    return cli_usage(c, _("option --%s needs a value"),
                                     o->name);
                }
            } else if (eq) {
                return cli_usage(c, _("option --%s takes no value"), o->name);
            }
        } else {
            for (k = 0; k < NOPTDEFS; k++)
                if (optdefs[k].shortname && optdefs[k].shortname == arg[1])
                    o = &optdefs[k];
            if (!o || arg[2] != '\0') {
                if (echoable(arg + 1, strlen(arg + 1)))
                    return cli_usage(c, _("unknown option -%s"), arg + 1);
                return cli_usage(c, _("unknown option (argument %d)"), i);
            }
        }
        /* A second value would silently replace the first (two
         * --search filters would become one): only --field and --map
         * add up. */
        if (o->has_arg && (a->seen & OPTBIT(o->id)) && o->id != OPT_FIELD &&
            o->id != OPT_MAP)
            return cli_usage(c, _("option --%s given twice"), o->name);
        set_option(a, o->id, val, i);
    }
    return 0;
}

/* Checks that the command takes the options given and the number of
 * arguments. Returns 0 or a usage error. */
static int check_command_line(struct cli *c)
{
    uint64_t extra = c->a.seen & ~(GLOBAL_OPTS | c->cmd->options);
    char name[64];
    size_t k;

    cmd_name(c->cmd, name, sizeof name);
    for (k = 0; k < NOPTDEFS; k++)
        if (extra & OPTBIT(optdefs[k].id))
            return cli_usage(c, _("option --%s does not apply to `mamori %s`"),
                             optdefs[k].name, name);
    if (c->nargs < c->cmd->min_args)
        return cli_usage(c, _("missing arguments"));
    if (c->cmd->max_args >= 0 && c->nargs > c->cmd->max_args)
        return cli_usage(c, _("too many arguments"));
    return 0;
}

/* ---- vault and session -------------------------------------------------- */

static int resolve_home(struct cli *c)
{
    const char *env;
    int n;

    if (c->a.home && *c->a.home) {
        n = snprintf(c->home, sizeof c->home, "%s", c->a.home);
    } else if ((env = getenv("MAMORI_HOME")) && *env) {
        n = snprintf(c->home, sizeof c->home, "%s", env);
    } else if ((env = getenv("XDG_DATA_HOME")) && env[0] == '/') {
        n = snprintf(c->home, sizeof c->home, "%s/mamori", env);
    } else {
        const char *home = cli_home_dir();

        if (!home)
            return cli_error(c, MAMORI_EINVAL,
                             _("no vault directory: give --home DIR or set "
                               "MAMORI_HOME"));
        n = snprintf(c->home, sizeof c->home, "%s/.local/share/mamori", home);
    }
    if (n < 0 || (size_t)n >= sizeof c->home)
        return cli_usage(c, _("the vault directory path is too long"));
    return 0;
}

/* Reads what the vault remembers of its key source, unseals it. */
static int open_vault(struct cli *c)
{
    struct mamori_keysrc src = {0};
    char kind[32], path[4096], pass[CLI_SECRET_MAX];
    size_t pass_len = 0;
    const char *env;
    int rc, ret;

    memset(kind, 0, sizeof kind);
    memset(path, 0, sizeof path);
    rc = mamori_key_source(c->home, kind, sizeof kind, path, sizeof path);
    if (rc != 0) {
        ret = cli_fail(c, _("open vault"), rc);
        if (rc == MAMORI_ENOTFOUND)
            fprintf(stderr,
                    _("mamori: hint: give --home DIR or set MAMORI_HOME, or "
                      "create a vault with `mamori init`\n"));
        return ret;
    }
    if (strcmp(kind, "keyfile") == 0) {
        if (c->a.key_file && *c->a.key_file)
            src.key_file = c->a.key_file;
        else if ((env = getenv("MAMORI_KEY_FILE")) && *env)
            src.key_file = env;
        else
            src.key_file = path;
    } else if (strcmp(kind, "passphrase") == 0) {
        rc = cli_read_passphrase(_("Vault passphrase: "), NULL, pass,
                                 sizeof pass, &pass_len);
        if (rc == 1)
            return cli_error(c, MAMORI_EKEY,
                             _("open vault: no passphrase "
                               "given"));
        if (rc == CLI_EBADFD)
            return cli_error(c, MAMORI_EINVAL,
                             _("MAMORI_PASSPHRASE_FD is not an open file "
                               "descriptor"));
        if (rc != 0)
            return cli_fail_detail(c, _("read passphrase"), rc, NULL);
        src.passphrase = pass;
        src.passphrase_len = pass_len;
    } else {
        return cli_fail_detail(c, _("open vault"), MAMORI_EKEY,
                               _("unknown key source"));
    }
    rc = mamori_open(c->home, &src, &c->m);
    explicit_bzero(pass, sizeof pass);
    if (rc != 0)
        return cli_fail(c, _("open vault"), rc);
    return CLI_EXIT_OK;
}

static int run_command(struct cli *c)
{
    int rc;

    if (!(c->cmd->flags & CMD_NO_VAULT)) {
        rc = resolve_home(c);
        if (rc)
            return rc;
        rc = open_vault(c);
        if (rc)
            return rc;
        if (!(c->cmd->flags & CMD_NO_SESSION)) {
            rc = cli_session_resume(c);
            if (rc)
                return rc;
            if (c->a.reason) {
                rc = mamori_session_reason(c->s, c->a.reason);
                if (rc)
                    return cli_fail(c, _("--reason"), rc);
            }
        }
    } else if (c->cmd->run != cmd_help) {
        rc = resolve_home(c);
        if (rc)
            return rc;
    }
    return c->cmd->run(c);
}

/* Keys and personal data pass through this process: no core dumps. */
static void harden_process(void)
{
    struct rlimit rl = {0, 0};

    umask(077);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &rl);
}

int main(int argc, char **argv)
{
    struct cli c;
    int rc, used = 0;

    memset(&c, 0, sizeof c);
    harden_process();
    setlocale(LC_ALL, "");
    cli_output_init();
    if (mamori_library_init() != 0) {
        fprintf(stderr, "mamori: cannot initialise libmamori\n");
        return CLI_EXIT_FAIL;
    }
    c.out_tty = isatty(STDOUT_FILENO);
    /* Every audit entry of the CLI names it as the client. */
    mamori_set_request("cli", "");

    rc = parse_args(&c, argc, argv);
    if (rc)
        goto out;
    if (c.a.version) {
        printf("mamori %s\n", MAMORI_VERSION);
        goto out;
    }
    if (c.a.npos == 0) {
        if (c.a.help) {
            print_global_help();
            goto out;
        }
        rc = cli_usage(&c, _("no command given"));
        goto out;
    }
    c.cmd = find_command(c.a.pos, c.a.npos, &used);
    if (!c.cmd) {
        const char *w0 = c.a.pos[0];

        if (is_group(w0)) {
            if (c.a.help && c.a.npos == 1) {
                print_group_help(stdout, w0);
                goto out;
            }
            if (c.a.npos == 1)
                rc = cli_usage(&c, _("`mamori %s` needs a subcommand"), w0);
            else if (echoable(c.a.pos[1], strlen(c.a.pos[1])))
                rc = cli_usage(&c, _("unknown subcommand: %s %s"), w0,
                               c.a.pos[1]);
            else
                rc = cli_usage(&c, _("unknown subcommand (argument %d)"),
                               c.a.pos_argi[1]);
            if (!c.a.json)
                print_group_help(stderr, w0);
        } else if (echoable(w0, strlen(w0))) {
            rc = cli_usage(&c, _("unknown command: %s"), w0);
        } else {
            rc = cli_usage(&c, _("unknown command (argument %d)"),
                           c.a.pos_argi[0]);
        }
        goto out;
    }
    c.args = c.a.pos + used;
    c.argi = c.a.pos_argi + used;
    c.nargs = c.a.npos - used;
    if (c.a.help) {
        cli_print_command_help(c.cmd);
        goto out;
    }
    rc = check_command_line(&c);
    if (rc)
        goto out;
    if (c.cmd->check) {
        rc = c.cmd->check(&c);
        if (rc)
            goto out;
    }
    rc = run_command(&c);
out:
    if (c.s)
        mamori_session_close(c.s);
    if (c.m)
        mamori_close(c.m);
    args_release(&c.a);
    if (cli_output_finish() != 0) {
        fprintf(stderr, "mamori: %s\n", _("cannot write to standard output"));
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_FAIL;
    }
    return rc;
}
