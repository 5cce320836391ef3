#!/bin/sh
# webembed.sh OUT FILE... - the web UI (web/) as a C table for mamorid:
# each file's bytes (od, awk, as the Makefile embeds docs/openapi.yaml),
# its path under /web/ and its content type. Served by server/static.c.
set -eu
out=$1
shift
{
    echo '#include <stddef.h>'
    echo '#include "static.h"'
    i=0
    for f in "$@"; do
        echo "static const unsigned char f$i[] = {"
        od -An -v -tx1 "$f" |
            awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $i; print "" }'
        echo '0x00};'
        i=$((i + 1))
    done
    echo 'const struct web_file web_files[] = {'
    i=0
    for f in "$@"; do
        case "$f" in
        *.html) t='text/html; charset=utf-8' ;;
        *.css) t='text/css; charset=utf-8' ;;
        *.js) t='text/javascript; charset=utf-8' ;;
        *.svg) t='image/svg+xml' ;;
        *.png) t='image/png' ;;
        *.ico) t='image/x-icon' ;;
        *.json) t='application/json' ;;
        *) t='application/octet-stream' ;;
        esac
        p=${f#*web/}
        case "$p" in *[!A-Za-z0-9._/-]*)
            echo "webembed.sh: bad file name: $f" >&2
            exit 1 ;;
        esac
        echo "    {\"/web/$p\", \"$t\", f$i, sizeof f$i - 1},"
        i=$((i + 1))
    done
    echo '};'
    echo "const size_t web_nfiles = $i;"
} >"$out.tmp"
mv "$out.tmp" "$out"
