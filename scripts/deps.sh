#!/usr/bin/env bash
# Installs what building and testing syncore needs on Debian 12, idempotently.
# Packages come from Debian's registry, JS tooling from npm; nothing is vendored.
# Usage: scripts/deps.sh [native|wasm|browser|engines|server|all]
# engines: Firefox ESR and WebKitGTK (MiniBrowser + WebKitWebDriver) under Xvfb, for
# tests/engines (docs/BROWSERS.md); their npm drivers come with `npm ci`.
set -euo pipefail
want=${1:-all}
pkgs=()
need() { dpkg -s "$1" >/dev/null 2>&1 || pkgs+=("$1"); }
case $want in
  native)  need gcc; need make; need clang; need libclang-rt-14-dev; need libcmocka-dev; need pkg-config; need curl; need ca-certificates ;;
  wasm)    need emscripten; need curl ;;
  browser) need chromium; command -v node >/dev/null || need nodejs; command -v npm >/dev/null || need npm ;;
  engines) need firefox-esr; need webkit2gtk-driver; need xvfb; need xauth; "$0" browser ;;
  server)  need libmicrohttpd-dev; need libpq-dev; need libssl-dev; need postgresql; need wrk; need curl; need sqlite3; need util-linux ;;
  all)     for w in native wasm browser engines server; do "$0" "$w"; done; exit 0 ;;
esac
if [ ${#pkgs[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  stamp=/tmp/.syncore-apt-updated
  # One apt at a time: `make -j deps` runs several of these at once, and apt holds a lock.
  exec 9>/tmp/.syncore-apt.lock
  flock 9
  [ -f $stamp ] || { $SUDO apt-get update -qq && touch $stamp; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  exec 9>&-
fi
if [ "$want" = browser ] && ! { [ -d node_modules/playwright-core ] && [ -d node_modules/puppeteer-core ] && [ -d node_modules/selenium-webdriver ]; }; then
  npm ci --no-audit --no-fund --loglevel=error
fi
