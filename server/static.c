/*
 * static.c - serves the web UI (web/, embedded by tools/webembed.sh) at "/"
 * and "/web/...". These paths are outside srv_routes[] on purpose: the
 * route table is the JSON API that docs/openapi.yaml describes (and the
 * routes test compares); the UI's files are not API operations and need
 * no session (they hold no data: every datum comes from the API).
 * Responses carry the same security headers as the API (mhd.c), whose
 * Content-Security-Policy forbids inline script and style.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "static.h"
#include "banned.h"

int srv_static(struct ctx *c, const char *method, const char *path)
{
    const char *want = path;
    size_t i;

    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        want = "/web/index.html";
    else if (strncmp(path, "/web/", 5) != 0)
        return 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        snprintf(c->rs->allow, sizeof c->rs->allow, "GET, HEAD");
        srv_fail_code(c, 405, "method_not_allowed", MAMORI_EINVAL, NULL);
        return 1;
    }
    for (i = 0; i < web_nfiles; i++) {
        if (strcmp(web_files[i].path, want) != 0)
            continue;
        srv_resp_release(c->rs);
        c->rs->status = 200;
        c->rs->content_type = web_files[i].type;
        c->rs->body = malloc(web_files[i].len ? web_files[i].len : 1);
        if (!c->rs->body) {
            srv_fail(c, MAMORI_ENOMEM, NULL);
            return 1;
        }
        memcpy(c->rs->body, web_files[i].data, web_files[i].len);
        c->rs->body_len = web_files[i].len;
        return 1;
    }
    srv_fail_code(c, 404, "no_route", MAMORI_ENOTFOUND, "no such file");
    return 1;
}
