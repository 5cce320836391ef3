/*
 * export.c - take-out (持ち出し) under approval: an operator's request, an
 * admin's decision, one run into an encrypted file, and the ledger. See
 * mamori.h, "Export under take-out approval".
 *
 * A run streams: records are read from the store a page at a time (or
 * found through the blind index for a search), decrypted, masked for the
 * requester's view, turned into CSV rows and handed to the encrypting
 * writer - libzip pulls rows through a source callback (AES-256 WinZip
 * AE-2 over deflate), OpenSSL's CMS streaming BIO takes them as they come
 * - so memory stays bounded and no plaintext CSV is ever written to disk.
 * The writer's output goes to a file in the target directory with no name
 * (O_TMPFILE, 0600; a named temporary file where the file system has
 * none), which is synced and linked in place only after the ledger update
 * and the audit entries have committed: a crash at any point leaves no
 * file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zip.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "cp932.h"
#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

/* Records read from the store per page of a whole-dataset run. */
#define EXPORT_PAGE 256
/* Largest recipient certificate accepted (PEM text). */
#define EXPORT_CERT_MAX (64 * 1024)
/* Deflate level of the ZIP member (zlib's scale, 1-9). */
#define EXPORT_ZIP_LEVEL 6
/* Letters and digits without look-alikes (0 O o 1 l I). */
static const char pw_alphabet[] =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/* ---- small helpers ------------------------------------------------------ */

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    crypto_hex(p, n, out);
}

/* The dataset row with the given id into c (so the audit entry names it). */
static int call_dataset(struct guard_call *c, int64_t id)
{
    struct store_dataset *d = NULL;
    size_t n = 0;
    int rc = store_dataset_list(c->s->m->store, &d, &n);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (d[i].id == id) {
            c->ds = d[i];
            c->has_ds = 1;
            break;
        }
    }
    free(d);
    if (rc == 0 && !c->has_ds)
        rc = MAMORI_EIO; /* the foreign key makes this impossible */
    return rc;
}

/* The request with that id; MAMORI_ENOTFOUND with the detail. */
static int get_request(struct guard_call *c, int64_t id, struct store_export *e)
{
    int rc =
        id > 0 ? store_export_get(c->s->m->store, id, e) : MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(c->s, "no export request with that id");
    if (rc == 0 && !c->has_ds)
        rc = call_dataset(c, e->dataset_id);
    return rc;
}

/* An export's state in the user's language. */
static const char *state_word(const char *state)
{
    /* "lapsed": approved, not run, and ended by its approval running out
     * (export.approval_hours) or by a restore from a backup
     * (store_export_lapse). */
    static const char *const words[] = {
        N_("pending"),  N_("approved"),  N_("rejected"), N_("done"),
        N_("returned"), N_("destroyed"), N_("lapsed")};

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(state, words[i]) == 0)
            return _(words[i]);
    return state;
}

/* How long an approval lasts, in seconds (export.approval_hours). Call
 * with m->lock held (the gate's). */
static int64_t approval_life(struct mamori *m)
{
    return (int64_t)config_int(m, CFG_EXPORT_APPROVAL_HOURS) * 60 * 60;
}

/* 1 if e is approved and its approval, lasting life seconds from the
 * decision, has run out at now. */
static int approval_over(const struct store_export *e, int64_t life,
                         int64_t now)
{
    return strcmp(e->state, "approved") == 0 && now >= e->decided + life;
}

/* e's state as it stands now: an approval past its time is "lapsed"
 * whether or not the ledger has been marked so yet. */
static const char *state_now(struct mamori *m, const struct store_export *e)
{
    return approval_over(e, approval_life(m), mamori_now()) ? "lapsed"
                                                            : e->state;
}

/* Request id, the caller's own and in state want (get_request): else
 * MAMORI_EDENIED or MAMORI_ESTATE, with the detail. doing and when word
 * the refusals. */
static int own_request(struct guard_call *c, int64_t id, const char *want,
                       const char *doing, const char *when,
                       struct store_export *e)
{
    int rc = get_request(c, id, e);

    if (rc == 0 && e->requested_by != c->s->user.id) {
        sess_detail(c->s, "only the requester may %s", _(doing));
        snprintf(c->detail, sizeof c->detail, "export %lld: not the requester",
                 (long long)id);
        rc = MAMORI_EDENIED;
    } else if (rc == 0 && strcmp(e->state, want) != 0) {
        const char *st = state_now(c->s->m, e);
        sess_detail(c->s, "export %lld is %s: %s", (long long)id,
                    state_word(st), _(when));
        snprintf(c->detail, sizeof c->detail, "export %lld: %s", (long long)id,
                 st);
        rc = MAMORI_ESTATE;
    }
    return rc;
}

/* Refuses the run of e, whose approval has run out, and marks it lapsed
 * for good: the mark commits with the refusal's audit entry, or not at all
 * (keep_refusal). */
static int approval_lapse(struct guard_call *c, const struct store_export *e)
{
    int hours = config_int(c->s->m, CFG_EXPORT_APPROVAL_HOURS);
    int rc = store_export_lapse_one(c->s->m->store, e->id);

    if (rc != 0)
        return rc;
    sess_detail(c->s,
                "export %lld: the approval lapsed after %d h; make a new "
                "request to have it approved again",
                (long long)e->id, hours);
    snprintf(c->detail, sizeof c->detail, "export %lld: approval lapsed",
             (long long)e->id);
    c->keep_refusal = 1;
    return MAMORI_ESTATE;
}

/* Associated data of a request's sealed search value: binds it to the
 * vault, the dataset, the request and the field. */
static size_t search_ad(const struct mamori *m, const struct vault_ds *d,
                        int64_t id, const char *field, uint8_t ad[256])
{
    size_t n = 0, fl = strlen(field);
    static const char label[] = "mamori-export-search-v1";

    memcpy(ad, label, sizeof label);
    n = sizeof label;
    memcpy(ad + n, m->vault_id, 36);
    n += 36;
    memcpy(ad + n, d->uuid, 36);
    n += 36;
    for (int i = 7; i >= 0; i--)
        ad[n++] = (uint8_t)((uint64_t)id >> (i * 8));
    if (fl > 63)
        fl = 63;
    memcpy(ad + n, field, fl);
    return n + fl;
}

/* ---- recipient certificates --------------------------------------------- */

struct recipient {
    uint8_t *der;
    size_t der_len;
    char subject[512];
    char sha256[65];
};

/* Checks that x is valid at now and holds a key CMS can encrypt to. 0, or
 * MAMORI_EINVAL with the session's detail. */
static int cert_usable(mamori_sess *s, X509 *x, int64_t now)
{
    time_t t = (time_t)now;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    uint32_t ku;
    int type;

    if (X509_cmp_time(X509_get0_notBefore(x), &t) != -1) {
        sess_detail(s, "recipient certificate: not valid yet");
        return MAMORI_EINVAL;
    }
    if (X509_cmp_time(X509_get0_notAfter(x), &t) != 1) {
        sess_detail(s, "recipient certificate: expired");
        return MAMORI_EINVAL;
    }
    if (!pk) {
        sess_detail(s, "recipient certificate: no usable public key");
        return MAMORI_EINVAL;
    }
    type = EVP_PKEY_get_base_id(pk);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
        sess_detail(s, "recipient certificate: the key must be RSA or EC");
        return MAMORI_EINVAL;
    }
    if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) < 2048) {
        sess_detail(s, "recipient certificate: RSA key under 2048 bits");
        return MAMORI_EINVAL;
    }
    if (X509_get_extension_flags(x) & EXFLAG_INVALID) {
        sess_detail(s, "recipient certificate: invalid extensions");
        return MAMORI_EINVAL;
    }
    ku = X509_get_key_usage(x);
    if (ku != UINT32_MAX && !(ku & (type == EVP_PKEY_RSA ? KU_KEY_ENCIPHERMENT
                                                         : KU_KEY_AGREEMENT))) {
        sess_detail(s,
                    "recipient certificate: its key usage does not allow "
                    "%s",
                    type == EVP_PKEY_RSA ? _("key encipherment")
                                         : _("key agreement"));
        return MAMORI_EINVAL;
    }
    return 0;
}

/* Parses a PEM certificate and checks it; fills r (der malloc'd). */
static int cert_take(mamori_sess *s, const char *pem, size_t len,
                     struct recipient *r)
{
    BIO *b = NULL, *mb = NULL;
    X509 *x = NULL;
    unsigned char md[EVP_MAX_MD_SIZE], *p = NULL;
    unsigned int mdlen = 0;
    char *text = NULL;
    long tl;
    int rc = MAMORI_EINVAL, n;

    memset(r, 0, sizeof *r);
    if (!pem || len == 0 || len > EXPORT_CERT_MAX) {
        sess_detail(s,
                    "recipient certificate: required for cms, up to %d "
                    "bytes of PEM",
                    EXPORT_CERT_MAX);
        return len > EXPORT_CERT_MAX ? MAMORI_ETOOBIG : MAMORI_EINVAL;
    }
    b = BIO_new_mem_buf(pem, (int)len);
    if (!b) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    ERR_clear_error();
    if (!x) {
        sess_detail(s, "recipient certificate: not a PEM X.509 certificate");
        goto out;
    }
    rc = cert_usable(s, x, mamori_now());
    if (rc != 0)
        goto out;
    n = i2d_X509(x, NULL);
    if (n <= 0 || n > EXPORT_CERT_MAX || !(r->der = malloc((size_t)n))) {
        rc = n <= 0 || n > EXPORT_CERT_MAX ? MAMORI_EINVAL : MAMORI_ENOMEM;
        goto out;
    }
    p = r->der;
    if (i2d_X509(x, &p) != n) {
        rc = MAMORI_EINVAL;
        goto out;
    }
    r->der_len = (size_t)n;
    if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    hex_of(md, 32, r->sha256);
    mb = BIO_new(BIO_s_mem());
    if (!mb ||
        X509_NAME_print_ex(mb, X509_get_subject_name(x), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    tl = BIO_get_mem_data(mb, &text);
    if (tl < 0) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    {
        char tmp[sizeof r->subject];
        size_t k = (size_t)tl < sizeof tmp - 1 ? (size_t)tl : sizeof tmp - 1;
        memcpy(tmp, text ? text : "", k);
        tmp[k] = '\0';
        guard_clean_text(tmp, r->subject, sizeof r->subject);
    }
    rc = 0;
out:
    if (rc != 0) {
        free(r->der);
        r->der = NULL;
        r->der_len = 0;
    }
    BIO_free(mb);
    BIO_free(b);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

/* ---- request, approve, reject -------------------------------------------- */

static int check_reason(mamori_sess *s, const char *reason, char *out,
                        size_t size)
{
    if (!reason || strlen(reason) >= size) {
        sess_detail(s, "reason: required, up to %zu bytes", size - 1);
        return reason ? MAMORI_ETOOBIG : MAMORI_EINVAL;
    }
    if (guard_reason_check(s, reason) != 0)
        return MAMORI_EINVAL;
    if (guard_clean_text(reason, out, size) == 0) {
        sess_detail(s, "reason: required: say why the data must leave the "
                       "vault (no personal data in it)");
        return MAMORI_EINVAL;
    }
    return 0;
}

/* The search field of a request: searchable, and for a My Number field
 * only a handler's. */
static int check_search(mamori_sess *s, struct guard_call *c,
                        struct vault_ds *d, const char *field,
                        const char *value, size_t *fidx)
{
    struct vault_field *f = vault_field_find(d, field, fidx);
    char *key = NULL;
    int rc = 0;

    if (!f || !f->searchable) {
        if (f)
            sess_detail(s, "field \"%s\": not searchable", f->name);
        else
            sess_detail(s, "search field: no such field in dataset");
        return MAMORI_EINVAL;
    }
    if (f->type == FT_MYNUMBER && !c->handler) {
        sess_detail(s,
                    "field \"%s\": only the dataset's My Number handlers "
                    "may search by My Number",
                    f->name);
        snprintf(c->detail, sizeof c->detail, "by %s: My Number, not a handler",
                 f->name);
        return MAMORI_EDENIED;
    }
    if (!value || strlen(value) > TEXT_MAX_VALUE) {
        sess_detail(s, "field \"%s\": search value missing or too long",
                    f->name);
        return MAMORI_EINVAL;
    }
    rc = text_search_key(f->type, value, strlen(value), &key);
    if (rc == -2)
        return MAMORI_ENOMEM;
    if (rc != 0 || key[0] == '\0') {
        sess_detail(s, "field \"%s\": search value is empty or not text",
                    f->name);
        rc = MAMORI_EINVAL;
    }
    crypto_wipe_free_str(key);
    return rc;
}

int mamori_export_request(mamori_sess *s, const struct mamori_export_req *req,
                          int64_t *id)
{
    struct guard_call c;
    struct store_export e;
    struct recipient rcpt;
    struct vault_ds *d = NULL;
    struct values vs;
    uint8_t *ct = NULL, ad[256];
    size_t ctlen = 0, fidx = 0;
    const char *enc;
    int rc;

    if (!id || !req)
        return MAMORI_EINVAL;
    *id = 0;
    memset(&e, 0, sizeof e);
    memset(&rcpt, 0, sizeof rcpt);
    memset(&vs, 0, sizeof vs);
    rc = guard_begin(&c, s, OP_EXPORT_REQUEST, req->dataset);
    if (rc != 0)
        return rc;
    enc = req->encoding ? req->encoding : "utf-8";
    rc = check_reason(s, req->reason, e.reason, sizeof e.reason);
    if (rc == 0 && (!req->format || (strcmp(req->format, "zip") != 0 &&
                                     strcmp(req->format, "cms") != 0))) {
        sess_detail(s, "format: zip or cms");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0 && strcmp(enc, "utf-8") != 0 && strcmp(enc, "cp932") != 0) {
        sess_detail(s, "encoding: utf-8 or cp932");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0 && strcmp(req->format, "zip") == 0 && req->recipient_cert) {
        sess_detail(s, "recipient certificate: only for cms (a zip has a "
                       "password)");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0 && strcmp(req->format, "cms") == 0)
        rc = cert_take(s, req->recipient_cert, req->recipient_cert_len, &rcpt);
    if (rc == 0)
        rc = vault_ds_load(s->m, &c.ds, &d);
    if (rc == 0 && (req->search_field || req->search_value)) {
        if (!req->search_field) {
            sess_detail(s, "search field: missing");
            rc = MAMORI_EINVAL;
        } else {
            rc = check_search(s, &c, d, req->search_field, req->search_value,
                              &fidx);
        }
    }
    if (rc == 0) {
        e.dataset_id = c.ds.id;
        e.requested_by = s->user.id;
        e.requested = mamori_now();
        snprintf(e.format, sizeof e.format, "%s", req->format);
        snprintf(e.encoding, sizeof e.encoding, "%s", enc);
        if (req->search_field)
            snprintf(e.search_field, sizeof e.search_field, "%s",
                     d->fields[fidx].name);
        snprintf(e.recipient, sizeof e.recipient, "%s", rcpt.subject);
        snprintf(e.recipient_sha256, sizeof e.recipient_sha256, "%s",
                 rcpt.sha256);
        e.cert = rcpt.der;
        e.cert_len = rcpt.der_len;
        rc = store_export_add(s->m->store, &e);
        e.cert = NULL;
        e.cert_len = 0;
    }
    if (rc == 0 && req->search_field) {
        /* The value is personal: kept only sealed under the dataset key,
         * bound to this request. */
        size_t adlen = search_ad(s->m, d, e.id, e.search_field, ad);
        vs.v[fidx] = strdup(req->search_value);
        rc = vs.v[fidx] ? vault_values_seal(d, ad, adlen, &vs, &ct, &ctlen)
                        : MAMORI_ENOMEM;
        if (rc == 0)
            rc = store_export_set_search(s->m->store, e.id, ct, ctlen);
    }
    if (rc == 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "export %lld requested: %s %s%s%s; %s",
                 (long long)e.id, e.format, e.encoding,
                 e.search_field[0] ? ", by " : "", e.search_field, e.reason);
        guard_clean_text(detail, c.detail, sizeof c.detail);
        c.count = 1;
    }
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    free(ct);
    free(rcpt.der);
    rc = guard_end(&c, rc);
    if (rc == 0)
        *id = e.id;
    return rc;
}

/* Approve or reject: an admin who is not the requester, while pending. */
static int decide(mamori_sess *s, int64_t id, enum guard_op op, const char *to)
{
    struct guard_call c;
    struct store_export e;
    int rc = guard_begin(&c, s, op, NULL);

    if (rc != 0)
        return rc;
    memset(&e, 0, sizeof e);
    rc = get_request(&c, id, &e);
    if (rc == 0 && e.requested_by == s->user.id) {
        sess_detail(s, "the requester may not decide their own export "
                       "request");
        snprintf(c.detail, sizeof c.detail, "export %lld: own request",
                 (long long)id);
        rc = MAMORI_EDENIED;
    } else if (rc == 0 && strcmp(e.state, "pending") != 0) {
        const char *st = state_now(s->m, &e);
        sess_detail(s, "export %lld is %s, not pending", (long long)id,
                    state_word(st));
        snprintf(c.detail, sizeof c.detail, "export %lld: %s", (long long)id,
                 st);
        rc = MAMORI_ESTATE;
    } else if (rc == 0) {
        rc = store_export_decide(s->m->store, id, "pending", to, s->user.id,
                                 mamori_now());
        snprintf(c.detail, sizeof c.detail, "export %lld %s: %s %s",
                 (long long)id, to, e.format, e.encoding);
        c.count = 1;
    }
    store_export_release(&e);
    return guard_end(&c, rc);
}

int mamori_export_approve(mamori_sess *s, int64_t id)
{
    return decide(s, id, OP_EXPORT_APPROVE, "approved");
}

int mamori_export_reject(mamori_sess *s, int64_t id)
{
    return decide(s, id, OP_EXPORT_REJECT, "rejected");
}

int mamori_export_mark(mamori_sess *s, int64_t id, const char *state)
{
    struct guard_call c;
    struct store_export e;
    int rc = guard_begin(&c, s, OP_EXPORT_MARK, NULL);

    if (rc != 0)
        return rc;
    memset(&e, 0, sizeof e);
    if (!state ||
        (strcmp(state, "returned") != 0 && strcmp(state, "destroyed") != 0)) {
        sess_detail(s, "state: returned or destroyed");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0)
        rc = get_request(&c, id, &e);
    if (rc == 0 && strcmp(e.state, "done") != 0) {
        const char *st = state_now(s->m, &e);
        sess_detail(s, "export %lld is %s: only a done export can be marked",
                    (long long)id, state_word(st));
        snprintf(c.detail, sizeof c.detail, "export %lld: %s", (long long)id,
                 st);
        rc = MAMORI_ESTATE;
    } else if (rc == 0) {
        rc = store_export_decide(s->m->store, id, "done", state, s->user.id,
                                 mamori_now());
        snprintf(c.detail, sizeof c.detail, "export %lld %s", (long long)id,
                 state);
        c.count = 1;
    }
    store_export_release(&e);
    return guard_end(&c, rc);
}

static int request_gate(struct guard_call *c, mamori_sess *s, int64_t id,
                        enum guard_op op);

int mamori_export_handover(mamori_sess *s, int64_t id,
                           struct mamori_export_info *out)
{
    struct guard_call c;
    struct store_export e;
    int rc;

    if (!s || !out)
        return MAMORI_EINVAL;
    memset(out, 0, sizeof *out);
    /* The file is the dataset's records: taken only while the dataset is
     * still granted (a revoked grant stops the download too). */
    rc = request_gate(&c, s, id, OP_EXPORT_HANDOVER);
    if (rc != 0)
        return rc;
    memset(&e, 0, sizeof e);
    rc = own_request(&c, id, "done", N_("take an export's file"),
                     N_("only the file of a run export can be taken"), &e);
    if (rc == 0) {
        out->id = e.id;
        snprintf(out->dataset, sizeof out->dataset, "%s", c.ds.name);
        snprintf(out->format, sizeof out->format, "%s", e.format);
        snprintf(out->state, sizeof out->state, "%s", e.state);
        snprintf(out->sha256, sizeof out->sha256, "%s", e.sha256);
        out->count = e.count;
        c.count = e.count;
        snprintf(c.detail, sizeof c.detail, "export %lld, sha256 %.16s",
                 (long long)id, e.sha256);
    }
    store_export_release(&e);
    return guard_end(&c, rc);
}

/* ---- the ledger ------------------------------------------------------- */

/* Names request id in the list call's audit entry as one whose approval
 * lapsed; *n counts them. Ids that no longer fit end it with "...". */
static void note_lapsed(struct guard_call *c, int64_t id, int *n)
{
    static const char more[] = ", ...";
    size_t len = strlen(c->detail), room = sizeof c->detail - len;

    /* An id takes up to 22 bytes: room enough stays for more after it. */
    if ((*n)++ == 0)
        snprintf(c->detail, sizeof c->detail, "approval lapsed: export %lld",
                 (long long)id);
    else if (room > 22 + sizeof more)
        snprintf(c->detail + len, room, ", %lld", (long long)id);
    else if (len < sizeof more - 1 ||
             strcmp(c->detail + len - (sizeof more - 1), more) != 0)
        snprintf(c->detail + len, room, "%s", more);
}

int mamori_export_list(mamori_sess *s, struct mamori_export_info **out,
                       size_t *n)
{
    struct guard_call c;
    struct store_export *e = NULL;
    struct store_user *u = NULL;
    struct store_dataset *d = NULL;
    struct mamori_export_info *info = NULL;
    size_t ne = 0, nu = 0, nd = 0;
    int64_t now = mamori_now(), life;
    int lapsed = 0, rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_EXPORT_LIST, NULL);
    if (rc != 0)
        return rc;
    /* Operators see their own requests; admins and auditors all. */
    rc = store_export_list(
        s->m->store, strcmp(s->user.role, "operator") == 0 ? s->user.id : 0, &e,
        &ne);
    /* An approval past its time is marked lapsed as the ledger is read,
     * with the list's entry: what anyone was shown lapsed stays so, even
     * if export.approval_hours grows later. */
    life = approval_life(s->m);
    for (size_t i = 0; rc == 0 && i < ne; i++) {
        if (!approval_over(&e[i], life, now))
            continue;
        rc = store_export_lapse_one(s->m->store, e[i].id);
        if (rc == 0) {
            snprintf(e[i].state, sizeof e[i].state, "lapsed");
            note_lapsed(&c, e[i].id, &lapsed);
        }
    }
    if (rc == 0)
        rc = auth_user_list_names(s->m, &u, &nu);
    if (rc == 0)
        rc = store_dataset_list(s->m->store, &d, &nd);
    if (rc == 0 && !(info = calloc(ne ? ne : 1, sizeof *info)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < ne; i++) {
        struct mamori_export_info *x = &info[i];
        const char *ds = "?";
        for (size_t k = 0; k < nd; k++)
            if (d[k].id == e[i].dataset_id)
                ds = d[k].name;
        x->id = e[i].id;
        snprintf(x->dataset, sizeof x->dataset, "%s", ds);
        snprintf(x->requester, sizeof x->requester, "%s",
                 auth_user_name(u, nu, e[i].requested_by));
        snprintf(x->reason, sizeof x->reason, "%s", e[i].reason);
        snprintf(x->format, sizeof x->format, "%s", e[i].format);
        snprintf(x->encoding, sizeof x->encoding, "%s", e[i].encoding);
        snprintf(x->search_field, sizeof x->search_field, "%s",
                 e[i].search_field);
        snprintf(x->recipient, sizeof x->recipient, "%s", e[i].recipient);
        snprintf(x->recipient_sha256, sizeof x->recipient_sha256, "%s",
                 e[i].recipient_sha256);
        snprintf(x->state, sizeof x->state, "%s", e[i].state);
        snprintf(x->approver, sizeof x->approver, "%s",
                 auth_user_name(u, nu, e[i].decided_by));
        snprintf(x->marked_by, sizeof x->marked_by, "%s",
                 auth_user_name(u, nu, e[i].marked_by));
        x->requested = e[i].requested;
        x->decided = e[i].decided;
        x->ran = e[i].ran;
        x->marked = e[i].marked;
        if (strcmp(e[i].state, "approved") == 0)
            x->expires = e[i].decided + life;
        x->count = e[i].count;
        snprintf(x->sha256, sizeof x->sha256, "%s", e[i].sha256);
    }
    c.count = (int64_t)ne;
    free(e);
    free(u);
    free(d);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = ne;
    return 0;
}

/* ---- the run: records to CSV rows --------------------------------------- */

struct run {
    mamori_sess *s;
    struct guard_call *c;
    struct vault_ds *d;
    struct store_export *e;
    int cp932;          /* encode rows as CP932 */
    struct cp932 *conv; /* UTF-8 -> CP932, when cp932 */
    /* The records to go: a page of the dataset, or the search's matches. */
    struct store_record *page;
    size_t npage, at;
    int64_t cursor;
    int scan_done;
    /* Search: the field and its key. */
    int search;
    size_t fidx;
    char *want;
    /* Output not yet taken by the writer. */
    char *buf;
    size_t len, pos, cap;
    char *field; /* one quoted field before encoding */
    size_t field_cap;
    int started, eof;
    int64_t count;
    int rc;
};

static int buf_reserve(char **p, size_t *cap, size_t need)
{
    size_t ncap;
    char *q;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 4096;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return MAMORI_ENOMEM;
        ncap *= 2;
    }
    /* Not realloc: the old block may hold personal data and is wiped. */
    q = malloc(ncap);
    if (!q)
        return MAMORI_ENOMEM;
    if (*p) {
        memcpy(q, *p, *cap);
        crypto_wipe(*p, *cap);
        free(*p);
    }
    *p = q;
    *cap = ncap;
    return 0;
}

/* Appends n bytes to the output. */
static int out_put(struct run *x, const void *p, size_t n)
{
    if (n > SIZE_MAX - x->len)
        return MAMORI_ENOMEM;
    int rc = buf_reserve(&x->buf, &x->cap, x->len + n);
    if (rc == 0) {
        memcpy(x->buf + x->len, p, n);
        x->len += n;
    }
    return rc;
}

/* Appends one CSV field (RFC 4180: quoted when it holds a comma, a quote,
 * CR or LF; quotes doubled), encoded as the request says. A value that
 * Excel would run as a formula (it starts with = + - @, a tab or CR) gets
 * a leading apostrophe, so the sheet shows it as text (CSV injection).
 * rid and field name the value in an error. */
static int put_field(struct run *x, const char *v, const char *rid,
                     const char *fname)
{
    size_t n = strlen(v), k = 0;
    int quote = strpbrk(v, ",\"\r\n") != NULL;
    int formula = v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL;
    int rc;

    if (n > (SIZE_MAX - 4) / 2)
        return MAMORI_ENOMEM;
    rc = buf_reserve(&x->field, &x->field_cap, 2 * n + 4);
    if (rc != 0)
        return rc;
    if (quote)
        x->field[k++] = '"';
    if (formula)
        x->field[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            x->field[k++] = '"';
        x->field[k++] = v[i];
    }
    if (quote)
        x->field[k++] = '"';
    if (!x->cp932)
        return out_put(x, x->field, k);

    size_t max = cp932_out_max(x->conv, k), got = 0;
    if (max == 0 && k > 0)
        return MAMORI_ENOMEM;
    if (max > SIZE_MAX - x->len)
        return MAMORI_ENOMEM;
    rc = buf_reserve(&x->buf, &x->cap, x->len + max);
    if (rc != 0)
        return rc;
    cp932_reset(x->conv);
    rc = cp932_convert(x->conv, x->field, k, 1, x->buf + x->len, max, &got);
    if (rc == MAMORI_EINVAL) {
        crypto_wipe(x->buf + x->len, got);
        sess_detail(x->s,
                    "record %s, field \"%s\": a character has no CP932 form "
                    "(export with --encoding utf-8)",
                    rid, fname);
        snprintf(x->c->detail, sizeof x->c->detail,
                 "record %s, field %s: no CP932 form", rid, fname);
        return MAMORI_EINVAL;
    }
    if (rc == 0)
        x->len += got;
    return rc;
}

static int put_header(struct run *x)
{
    int rc = 0;

    if (!x->cp932)
        rc = out_put(x, "\xEF\xBB\xBF", 3);
    if (rc == 0)
        rc = put_field(x, "id", "-", "id");
    for (size_t i = 0; rc == 0 && i < x->d->nfields; i++) {
        rc = out_put(x, ",", 1);
        if (rc == 0)
            rc = put_field(x, x->d->fields[i].name, "-", "id");
    }
    if (rc == 0)
        rc = out_put(x, "\r\n", 2);
    return rc;
}

/* The row of one stored record, as the requester sees it. */
static int put_record(struct run *x, const struct store_record *r)
{
    struct values vs;
    char rid[37];
    int rc;

    vault_rid_format(r->id, rid);
    rc = vault_unseal(x->s->m, x->d, r, &vs);
    if (rc == MAMORI_ECRYPTO) {
        sess_detail(x->s, "record %s failed its integrity check", rid);
        snprintf(x->c->detail, sizeof x->c->detail,
                 "record %s failed its integrity check", rid);
        return rc;
    }
    if (rc != 0)
        return rc;
    if (x->search) {
        /* The index matches more than asked (by design): keep the records
         * whose value has the search key. */
        char *key = NULL;
        const char *v = vs.v[x->fidx];
        int match = v &&
                    text_search_key(x->d->fields[x->fidx].type, v, strlen(v),
                                    &key) == 0 &&
                    strcmp(key, x->want) == 0;
        crypto_wipe_free_str(key);
        if (!match) {
            vault_values_wipe(&vs, VAULT_MAX_FIELDS);
            return 0;
        }
    }
    rc = vault_values_mask(x->d, &vs, x->c->view, NULL);
    if (rc == 0)
        rc = put_field(x, rid, rid, "id");
    for (size_t i = 0; rc == 0 && i < x->d->nfields; i++) {
        rc = out_put(x, ",", 1);
        if (rc == 0 && vs.v[i])
            rc = put_field(x, vs.v[i], rid, x->d->fields[i].name);
    }
    if (rc == 0)
        rc = out_put(x, "\r\n", 2);
    if (rc == 0)
        rc = guard_add_id(x->c, rid);
    if (rc == 0)
        x->count++;
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    return rc;
}

static void page_free(struct run *x)
{
    for (size_t i = 0; i < x->npage; i++) {
        free(x->page[i].ct);
        x->page[i].ct = NULL;
    }
    x->npage = x->at = 0;
}

/* Refills the output with at least one more row (or the header), or sets
 * eof. The output already taken is dropped (wiped) first. */
static int produce(struct run *x)
{
    int rc = 0;

    if (x->pos > 0) {
        crypto_wipe(x->buf, x->len);
        x->len = x->pos = 0;
    }
    if (!x->started) {
        x->started = 1;
        return put_header(x);
    }
    while (rc == 0 && x->len == 0 && !x->eof) {
        if (x->at < x->npage) {
            rc = put_record(x, &x->page[x->at]);
            free(x->page[x->at].ct);
            x->page[x->at].ct = NULL;
            x->at++;
            continue;
        }
        page_free(x);
        if (x->search || x->scan_done) {
            x->eof = 1;
            break;
        }
        rc = store_record_scan(x->s->m->store, x->d->id, &x->cursor, x->page,
                               EXPORT_PAGE, &x->npage);
        if (rc == 0 && x->npage == 0)
            x->scan_done = 1;
    }
    return rc;
}

/* Up to n bytes of CSV into dst; 0 at the end, -1 on failure (x->rc). */
static long long take(struct run *x, void *dst, size_t n)
{
    size_t got = 0;

    while (got < n && x->rc == 0) {
        if (x->pos == x->len) {
            if (x->eof)
                break;
            x->rc = produce(x);
            continue;
        }
        size_t k = x->len - x->pos;
        if (k > n - got)
            k = n - got;
        memcpy((char *)dst + got, x->buf + x->pos, k);
        x->pos += k;
        got += k;
    }
    if (x->rc != 0)
        return -1;
    return (long long)got;
}

/* The search's matches become the one page of the run. */
static int search_prepare(struct run *x)
{
    struct values vs;
    struct vault_field *f;
    uint8_t ad[256];
    struct vault_probe probe;
    size_t adlen;
    const char *v;
    int rc;

    f = vault_field_find(x->d, x->e->search_field, &x->fidx);
    if (!f || !f->searchable || !x->e->search_ct) {
        sess_detail(x->s, "export %lld: its search field is gone",
                    (long long)x->e->id);
        return MAMORI_ESTATE;
    }
    if (f->type == FT_MYNUMBER && !x->c->handler) {
        sess_detail(x->s,
                    "field \"%s\": only the dataset's My Number handlers "
                    "may search by My Number",
                    f->name);
        return MAMORI_EDENIED;
    }
    adlen = search_ad(x->s->m, x->d, x->e->id, f->name, ad);
    rc = vault_values_unseal(x->d, ad, adlen, x->e->search_ct,
                             x->e->search_ct_len, &vs);
    if (rc != 0) {
        sess_detail(x->s,
                    "export %lld: its search value failed its "
                    "integrity check",
                    (long long)x->e->id);
        return rc == MAMORI_ENOMEM ? rc : MAMORI_ECRYPTO;
    }
    v = vs.v[x->fidx];
    rc = v ? text_search_key(f->type, v, strlen(v), &x->want) : -1;
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    if (rc != 0)
        return rc == -2 ? MAMORI_ENOMEM : MAMORI_ECRYPTO;
    vault_probe_make(x->d, f, x->want, strlen(x->want), &probe);
    free(x->page);
    x->page = NULL;
    rc = store_index_lookup(x->s->m->store, x->d->id, (int)x->fidx, probe.mac,
                            probe.maclen, vault_probe_keep, &probe, &x->page,
                            &x->npage);
    crypto_wipe(&probe, sizeof probe);
    x->search = 1;
    return rc;
}

/* ---- the run: writers ---------------------------------------------------- */

struct sink {
    int fd;
    int err; /* errno of a failed write */
    zip_error_t zerr;
};

static int write_all(struct sink *k, const void *p, size_t n)
{
    const char *q = p;

    while (n > 0) {
        ssize_t w = write(k->fd, q, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            k->err = w < 0 ? errno : EIO;
            return -1;
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The archive libzip writes: our temporary file. Nothing is read back. */
static zip_int64_t archive_cb(void *ud, void *data, zip_uint64_t len,
                              zip_source_cmd_t cmd)
{
    struct sink *k = ud;
    off_t off;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_BEGIN_WRITE:
    case ZIP_SOURCE_COMMIT_WRITE:
    case ZIP_SOURCE_ROLLBACK_WRITE:
    case ZIP_SOURCE_REMOVE:
    case ZIP_SOURCE_FREE:
    case ZIP_SOURCE_READ:
    case ZIP_SOURCE_SEEK:
    case ZIP_SOURCE_TELL:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &k->zerr);
        if (!st)
            return -1;
        zip_stat_init(st);
        st->size = 0; /* an empty file: a new archive */
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_WRITE:
        if (write_all(k, data, (size_t)len) != 0) {
            zip_error_set(&k->zerr, ZIP_ER_WRITE, k->err);
            return -1;
        }
        return (zip_int64_t)len;
    case ZIP_SOURCE_SEEK_WRITE: {
        zip_source_args_seek_t *a =
            ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &k->zerr);
        if (!a)
            return -1;
        off = lseek(k->fd, (off_t)a->offset, a->whence);
        if (off < 0) {
            zip_error_set(&k->zerr, ZIP_ER_SEEK, errno);
            return -1;
        }
        return 0;
    }
    case ZIP_SOURCE_TELL_WRITE:
        off = lseek(k->fd, 0, SEEK_CUR);
        if (off < 0) {
            zip_error_set(&k->zerr, ZIP_ER_TELL, errno);
            return -1;
        }
        return (zip_int64_t)off;
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&k->zerr, data, len);
    case ZIP_SOURCE_SUPPORTS:
        return ZIP_SOURCE_SUPPORTS_WRITABLE;
    default:
        zip_error_set(&k->zerr, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

struct csv_src {
    struct run *x;
    time_t mtime;
    zip_error_t zerr;
};

/* The member's data: CSV rows made as libzip asks for them. */
static zip_int64_t csv_cb(void *ud, void *data, zip_uint64_t len,
                          zip_source_cmd_t cmd)
{
    struct csv_src *src = ud;
    long long got;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_READ:
        got = take(src->x, data, len > (1u << 30) ? (1u << 30) : (size_t)len);
        if (got < 0) {
            zip_error_set(&src->zerr, ZIP_ER_READ, EIO);
            return -1;
        }
        return (zip_int64_t)got;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &src->zerr);
        if (!st)
            return -1;
        zip_stat_init(st);
        st->mtime = src->mtime;
        st->valid |= ZIP_STAT_MTIME;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&src->zerr, data, len);
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(
            ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        zip_error_set(&src->zerr, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* A random password of letters and digits without look-alikes. */
static void make_password(char *out, size_t n)
{
    const size_t k = sizeof pw_alphabet - 1, lim = 256 - 256 % k;
    size_t i = 0;
    uint8_t b[64];

    while (i < n) {
        crypto_random(b, sizeof b);
        for (size_t j = 0; j < sizeof b && i < n; j++)
            if (b[j] < lim)
                out[i++] = pw_alphabet[b[j] % k];
    }
    out[n] = '\0';
    crypto_wipe(b, sizeof b);
}

static int write_zip(struct run *x, struct sink *k, const char *password)
{
    zip_source_t *asrc = NULL, *dsrc = NULL;
    zip_t *za = NULL;
    zip_error_t err;
    struct csv_src csv = {x, (time_t)mamori_now(), {0}};
    char member[80];
    zip_int64_t idx;
    int rc = MAMORI_EIO;

    zip_error_init(&err);
    zip_error_init(&k->zerr);
    zip_error_init(&csv.zerr);
    snprintf(member, sizeof member, "%s.csv", x->d->name);
    asrc = zip_source_function_create(archive_cb, k, &err);
    if (!asrc)
        goto out;
    za = zip_open_from_source(asrc, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za)
        goto out;
    asrc = NULL; /* the archive owns it now */
    dsrc = zip_source_function(za, csv_cb, &csv);
    if (!dsrc)
        goto out;
    idx = zip_file_add(za, member, dsrc, ZIP_FL_ENC_UTF_8);
    if (idx < 0)
        goto out;
    dsrc = NULL;
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE,
                                 EXPORT_ZIP_LEVEL) != 0 ||
        zip_file_set_encryption(za, (zip_uint64_t)idx, ZIP_EM_AES_256,
                                password) != 0 ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, csv.mtime, 0) != 0)
        goto out;
    if (zip_close(za) != 0)
        goto out;
    za = NULL;
    rc = 0;
out:
    if (rc != 0) {
        if (x->rc != 0)
            rc = x->rc;
        else if (k->err == ENOSPC || k->err == EDQUOT)
            sess_detail(x->s, "output: the disk is full");
        else if (k->err)
            sess_detail(x->s, "output: write failed (%s)", strerror(k->err));
        else
            sess_detail(x->s, "zip: %s",
                        za ? zip_strerror(za) : zip_error_strerror(&err));
    }
    if (za)
        zip_discard(za);
    zip_source_free(dsrc);
    zip_source_free(asrc);
    zip_error_fini(&err);
    zip_error_fini(&k->zerr);
    zip_error_fini(&csv.zerr);
    return rc;
}

static int write_cms(struct run *x, struct sink *k)
{
    const unsigned char *p = x->e->cert;
    X509 *cert = NULL;
    STACK_OF(X509) *certs = NULL;
    CMS_ContentInfo *cms = NULL;
    BIO *fdb = NULL, *ndef = NULL, *tb;
    char chunk[16384];
    int rc = MAMORI_ECRYPTO;

    if (!p || x->e->cert_len == 0 || x->e->cert_len > EXPORT_CERT_MAX ||
        !(cert = d2i_X509(NULL, &p, (long)x->e->cert_len))) {
        sess_detail(x->s, "export %lld: its certificate does not parse",
                    (long long)x->e->id);
        goto out;
    }
    rc = cert_usable(x->s, cert, mamori_now());
    if (rc != 0)
        goto out;
    rc = MAMORI_ENOMEM;
    certs = sk_X509_new_null();
    if (!certs || !sk_X509_push(certs, cert))
        goto out;
    cert = NULL; /* owned by the stack */
    fdb = BIO_new_fd(k->fd, BIO_NOCLOSE);
    if (!fdb)
        goto out;
    rc = MAMORI_ECRYPTO;
    cms = CMS_encrypt(certs, NULL, EVP_aes_256_gcm(), CMS_BINARY | CMS_STREAM);
    if (!cms)
        goto out;
    ndef =
        BIO_new_NDEF(fdb, (ASN1_VALUE *)cms, ASN1_ITEM_rptr(CMS_ContentInfo));
    if (!ndef)
        goto out;
    for (;;) {
        long long got = take(x, chunk, sizeof chunk);
        if (got < 0) {
            rc = x->rc;
            goto out;
        }
        if (got == 0)
            break;
        errno = 0;
        if (BIO_write(ndef, chunk, (int)got) != (int)got) {
            rc = MAMORI_EIO;
            k->err = errno ? errno : EIO;
            goto out;
        }
    }
    errno = 0;
    if (BIO_flush(ndef) != 1) {
        rc = MAMORI_EIO;
        k->err = errno ? errno : EIO;
        goto out;
    }
    rc = 0;
out:
    crypto_wipe(chunk, sizeof chunk);
    if (rc == MAMORI_EIO) {
        if (k->err == ENOSPC || k->err == EDQUOT)
            sess_detail(x->s, "output: the disk is full");
        else
            sess_detail(x->s, "output: write failed (%s)", strerror(k->err));
    } else if (rc == MAMORI_ECRYPTO && x->rc == 0 && cms == NULL) {
        sess_detail(x->s, "cms: could not encrypt to the certificate");
    }
    /* The NDEF BIO chain ends at fdb: free down to it. */
    while (ndef && ndef != fdb) {
        tb = BIO_pop(ndef);
        BIO_free(ndef);
        ndef = tb;
    }
    BIO_free(fdb);
    CMS_ContentInfo_free(cms);
    sk_X509_pop_free(certs, X509_free);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

/* ---- the run: files ----------------------------------------------------- */

/* Splits path into its directory (for the temporary file) and checks it. */
static int out_dir(mamori_sess *s, const char *path, char *dir, size_t size)
{
    const char *slash, *why;
    size_t n;

    if (!path || !*path || strlen(path) >= PATH_MAX) {
        sess_detail(s, "output file: a path is required");
        return MAMORI_EINVAL;
    }
    if (mamori_output_check(s->m->home, path, NULL, 0, &why) != 0) {
        sess_detail(s, "output file: %s", _(why));
        return MAMORI_EINVAL;
    }
    slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, size, ".");
        return 0;
    }
    if (slash[1] == '\0') {
        sess_detail(s, "output file: names a directory");
        return MAMORI_EINVAL;
    }
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size)
        return MAMORI_ETOOBIG;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 0;
}

/* A name for a temporary file in dir: .mamori-export-HEX.tmp. */
static int temp_name(const char *dir, char *tmp, size_t size)
{
    uint8_t r[8];
    char hex[17];
    int n;

    crypto_random(r, sizeof r);
    hex_of(r, sizeof r, hex);
    n = snprintf(tmp, size, "%s/.mamori-export-%s.tmp", dir, hex);
    return n < 0 || (size_t)n >= size ? MAMORI_ETOOBIG : 0;
}

/* A new 0600 file in dir for the output. Where the file system allows it
 * (O_TMPFILE, and /proc to link it by), the file has no name until it is
 * put in place, so a crash before that leaves nothing; tmp is then "".
 * Elsewhere it is a named temporary file, its name in tmp. */
static int temp_open(mamori_sess *s, const char *dir, char *tmp, size_t size,
                     int *fd)
{
    int rc;

    tmp[0] = '\0';
    *fd = -1;
    if (access("/proc/self/fd", X_OK) == 0)
        *fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (*fd < 0 && (rc = temp_name(dir, tmp, size)) != 0)
        return rc;
    if (*fd < 0)
        *fd =
            open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0) {
        int e = errno;
        sess_detail(s, "output directory: cannot create a file there (%s)",
                    strerror(e));
        tmp[0] = '\0';
        return e == ENOENT ? MAMORI_ENOTFOUND : MAMORI_EIO;
    }
    if (fchmod(*fd, 0600) != 0) {
        close(*fd);
        *fd = -1;
        if (tmp[0])
            unlink(tmp);
        tmp[0] = '\0';
        return MAMORI_EIO;
    }
    return 0;
}

/* Puts the finished output in place at path, before the run commits: the
 * file (the named temporary file tmp, or an unnamed one, tmp "") is linked
 * there; when path exists, what it holds is first kept under a temporary
 * name, returned in old ("" if none), for the caller to put back if the
 * commit fails, and the output is renamed over it (through a name beside
 * it, in tmp, if it has none; tmp is "" once renamed). */
static int put_in_place(mamori_sess *s, int fd, const char *dir, char *tmp,
                        size_t tmp_size, const char *path, char *old,
                        size_t old_size)
{
    char proc[64];
    int rc = 0, e;

    old[0] = '\0';
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, tmp[0] ? tmp : proc, AT_FDCWD, path,
               AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST)
        goto fail;
    if ((rc = temp_name(dir, old, old_size)) != 0 || link(path, old) != 0) {
        old[0] = '\0';
        goto fail;
    }
    if (!tmp[0] &&
        ((rc = temp_name(dir, tmp, tmp_size)) != 0 ||
         linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)) {
        tmp[0] = '\0';
        goto fail;
    }
    if (rename(tmp, path) == 0) {
        tmp[0] = '\0';
        return 0;
    }
fail:
    e = errno;
    if (old[0])
        unlink(old);
    old[0] = '\0';
    sess_detail(s, "output file: cannot put it in place (%s)", strerror(e));
    return rc != 0 ? rc : MAMORI_EIO;
}

/* Syncs the file and gives the SHA-256 of its bytes. */
static int file_finish(mamori_sess *s, int fd, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], h[32];
    unsigned int hl = 0;
    off_t off = 0;
    int rc = MAMORI_EIO;

    if (!md)
        return MAMORI_ENOMEM;
    if (fsync(fd) != 0) {
        sess_detail(s, "output: sync failed (%s)", strerror(errno));
        goto out;
    }
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
            goto out;
        off += r;
    }
    if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32)
        goto out;
    hex_of(h, 32, hex);
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

static int dir_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return MAMORI_EIO;
    if (fsync(fd) != 0)
        rc = MAMORI_EIO;
    close(fd);
    return rc;
}

/* The bulk-export alert: an entry of its own in the run's transaction. */
static int bulk_alert(struct guard_call *c, int64_t count, int threshold,
                      int64_t id)
{
    struct store_audit_row row;
    char detail[128];

    snprintf(detail, sizeof detail,
             "bulk export: %lld records > threshold %d (export %lld)",
             (long long)count, threshold, (long long)id);
    guard_event_row(&row, c->s->user.name, c->s->device, OP_EXPORT_ALERT, "ok",
                    detail);
    snprintf(row.dataset, sizeof row.dataset, "%s", c->ds.name);
    row.count = count;
    return audit_append(c->s->m, &row) == 0 ? 0 : MAMORI_EAUDIT;
}

/* The dataset an export request names, read before the gate so that the
 * gate can check the grant: nothing but the name leaves this call. */
static int request_dataset(mamori_sess *s, int64_t id, char name[64])
{
    struct store_export e;
    struct store_dataset *d = NULL;
    size_t n = 0;
    int rc;

    memset(&e, 0, sizeof e);
    if (pthread_mutex_lock(&s->m->lock) != 0)
        return MAMORI_ESTATE;
    rc = id > 0 ? store_export_get(s->m->store, id, &e) : MAMORI_ENOTFOUND;
    if (rc == 0)
        rc = store_dataset_list(s->m->store, &d, &n);
    if (rc == 0) {
        rc = MAMORI_EIO;
        for (size_t i = 0; i < n; i++) {
            if (d[i].id == e.dataset_id) {
                snprintf(name, 64, "%s", d[i].name);
                rc = 0;
            }
        }
    }
    store_export_release(&e);
    free(d);
    pthread_mutex_unlock(&s->m->lock);
    return rc;
}

/* guard_begin for op on request id's dataset (its grant is checked). An
 * unknown id is still audited: the gate refuses a dataset operation that
 * names no dataset, and logs the refusal. */
static int request_gate(struct guard_call *c, mamori_sess *s, int64_t id,
                        enum guard_op op)
{
    char dsname[64];
    int rc = request_dataset(s, id, dsname);

    if (rc == MAMORI_ENOTFOUND) {
        if (guard_begin(c, s, op, NULL) == 0)
            (void)guard_end(c, MAMORI_ENOTFOUND);
        sess_detail(s, "no export request with that id");
    }
    return rc != 0 ? rc : guard_begin(c, s, op, dsname);
}

int mamori_export_run(mamori_sess *s, int64_t id, const char *path,
                      struct mamori_export_result *res)
{
    struct guard_call c;
    struct store_export e;
    struct run x;
    struct sink k = {-1, 0, {0}};
    char dir[PATH_MAX], tmp[PATH_MAX + 64], sha[65] = "";
    char old[PATH_MAX + 64] = "";
    char *password = NULL;
    int threshold = 0, alert = 0, placed = 0, rc;

    if (!s || !res)
        return MAMORI_EINVAL;
    memset(res, 0, sizeof *res);
    memset(&e, 0, sizeof e);
    memset(&x, 0, sizeof x);
    tmp[0] = '\0';
    rc = request_gate(&c, s, id, OP_EXPORT_RUN);
    if (rc != 0)
        return rc;
    snprintf(c.detail, sizeof c.detail, "export %lld", (long long)id);
    rc = own_request(&c, id, "approved", N_("run an export"),
                     N_("it runs once, after approval"), &e);
    if (rc == 0 && approval_over(&e, approval_life(s->m), mamori_now()))
        rc = approval_lapse(&c, &e);
    if (rc == 0)
        rc = out_dir(s, path, dir, sizeof dir);
    x.s = s;
    x.c = &c;
    x.e = &e;
    x.cp932 = strcmp(e.encoding, "cp932") == 0;
    if (rc == 0)
        rc = vault_ds_load(s->m, &c.ds, &x.d);
    if (rc == 0 && x.cp932)
        rc = cp932_new(CP932_ENCODE, &x.conv);
    if (rc == 0 && e.search_field[0])
        rc = search_prepare(&x);
    else if (rc == 0 && !(x.page = calloc(EXPORT_PAGE, sizeof *x.page)))
        rc = MAMORI_ENOMEM;
    if (rc == 0)
        rc = temp_open(s, dir, tmp, sizeof tmp, &k.fd);
    if (rc == 0 && strcmp(e.format, "zip") == 0) {
        password = crypto_secret_alloc(MAMORI_EXPORT_PASSWORD_LEN + 1);
        if (!password) {
            rc = MAMORI_ENOMEM;
        } else {
            make_password(password, MAMORI_EXPORT_PASSWORD_LEN);
            rc = write_zip(&x, &k, password);
        }
    } else if (rc == 0) {
        rc = write_cms(&x, &k);
    }
    if (rc == 0)
        rc = file_finish(s, k.fd, sha);
    if (rc == 0)
        rc = store_export_done(s->m->store, id, mamori_now(), x.count, sha);
    if (rc == 0) {
        threshold = config_int(s->m, CFG_EXPORT_ALERT_THRESHOLD);
        if (x.count > threshold) {
            rc = bulk_alert(&c, x.count, threshold, id);
            alert = rc == 0;
        }
    }
    c.count = x.count;
    if (rc == 0)
        snprintf(c.detail, sizeof c.detail, "export %lld: %s %s sha256 %s",
                 (long long)id, e.format, e.encoding, sha);
    /* The ledger and the file agree: in place before the commit, and taken
     * back (what path held before put back) if the commit fails. */
    if (rc == 0) {
        rc = put_in_place(s, k.fd, dir, tmp, sizeof tmp, path, old, sizeof old);
        placed = rc == 0;
    }
    rc = guard_end(&c, rc);
    if (placed && rc != 0 && !old[0])
        (void)unlink(path);
    else if (placed && rc != 0)
        (void)rename(old, path);
    else if (old[0])
        (void)unlink(old);
    if (k.fd >= 0)
        close(k.fd); /* synced by file_finish: nothing left to fail */
    k.fd = -1;
    if (rc == 0) {
        (void)dir_sync(dir);
        res->count = x.count;
        snprintf(res->sha256, sizeof res->sha256, "%s", sha);
        if (password)
            memcpy(res->password, password, MAMORI_EXPORT_PASSWORD_LEN + 1);
        if (alert)
            syslog(LOG_ALERT,
                   "mamori: bulk export %lld by %s of dataset %s: %lld "
                   "records > threshold %d",
                   (long long)id, s->user.name, c.ds.name, (long long)x.count,
                   threshold);
    }
    if (tmp[0])
        unlink(tmp);
    crypto_secret_free(password);
    page_free(&x);
    free(x.page);
    crypto_wipe_free_str(x.want);
    if (x.buf) {
        crypto_wipe(x.buf, x.cap);
        free(x.buf);
    }
    if (x.field) {
        crypto_wipe(x.field, x.field_cap);
        free(x.field);
    }
    cp932_free(x.conv);
    store_export_release(&e);
    return rc;
}

void mamori_export_result_wipe(struct mamori_export_result *res)
{
    if (res)
        crypto_wipe(res, sizeof *res);
}
