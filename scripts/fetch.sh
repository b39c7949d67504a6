#!/usr/bin/env bash
# Fetches the pinned third-party sources into build/third_party, checking sha256.
#   SQLite 3.50.4 amalgamation: shipped inside npm's better-sqlite3 12.4.1 tarball.
#   cJSON 1.7.19: Debian's orig tarball from deb.debian.org (1.7.16+ carry the fixes for
#   CVE-2023-53154, 1.7.17 CVE-2023-50471/50472, 1.7.18 CVE-2024-31755, 1.7.19 #880/#881).
set -euo pipefail
out=${1:-build/third_party}
mkdir -p "$out"
fetch() { # url sha256 file
  local url=$1 sum=$2 file=$out/$3
  if [ ! -f "$file" ] || ! echo "$sum  $file" | sha256sum -c --quiet - 2>/dev/null; then
    curl -fsSL --retry 3 -o "$file.part" "$url"
    echo "$sum  $file.part" | sha256sum -c --quiet - || { echo "fetch: sha256 mismatch for $url" >&2; rm -f "$file.part"; exit 1; }
    mv "$file.part" "$file"
  fi
}
fetch https://registry.npmjs.org/better-sqlite3/-/better-sqlite3-12.4.1.tgz \
  14398acbf00d1e8fe0a2753df7d4f15c13138e4b874f4e6e96791f65b4536d0d better-sqlite3-12.4.1.tgz
CJSON_VERSION=1.7.19
fetch http://deb.debian.org/debian/pool/main/c/cjson/cjson_$CJSON_VERSION.orig.tar.gz \
  7fa616e3046edfa7a28a32d5f9eacfd23f92900fe1f8ccd988c1662f30454562 cjson_$CJSON_VERSION.orig.tar.gz
if [ ! -f "$out/sqlite/sqlite3.c" ]; then
  mkdir -p "$out/sqlite"
  tar -xzf "$out/better-sqlite3-12.4.1.tgz" -C "$out/sqlite" --strip-components=3 \
    package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
fi
# Re-extracted when the pinned version changes (a build/ made with an older one).
if [ "$(cat "$out/cjson/VERSION" 2>/dev/null)" != "$CJSON_VERSION" ]; then
  rm -rf "$out/cjson" && mkdir -p "$out/cjson"
  tar -xzf "$out/cjson_$CJSON_VERSION.orig.tar.gz" -C "$out/cjson" --strip-components=1 \
    cJSON-$CJSON_VERSION/cJSON.c cJSON-$CJSON_VERSION/cJSON.h
  echo "$CJSON_VERSION" > "$out/cjson/VERSION"
fi
