#!/usr/bin/env bash
# Fetches the pinned third-party sources into build/third_party, checking sha256.
#   SQLite 3.50.4 amalgamation: shipped inside npm's better-sqlite3 12.4.1 tarball.
#   cJSON 1.7.15: Debian's orig tarball from deb.debian.org.
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
fetch http://deb.debian.org/debian/pool/main/c/cjson/cjson_1.7.15.orig.tar.gz \
  5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2 cjson_1.7.15.orig.tar.gz
if [ ! -f "$out/sqlite/sqlite3.c" ]; then
  mkdir -p "$out/sqlite"
  tar -xzf "$out/better-sqlite3-12.4.1.tgz" -C "$out/sqlite" --strip-components=3 \
    package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
fi
if [ ! -f "$out/cjson/cJSON.c" ]; then
  mkdir -p "$out/cjson"
  tar -xzf "$out/cjson_1.7.15.orig.tar.gz" -C "$out/cjson" --strip-components=1 \
    cJSON-1.7.15/cJSON.c cJSON-1.7.15/cJSON.h
fi
