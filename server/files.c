/*
** files.c — static files for --static. The URL is checked segment by segment
** (no "..", no backslash, no NUL, no segment starting with a dot but
** /.well-known/: `.env`, `.git/config` are never served), then the resolved real
** path must stay under the real root, so neither `..` nor a symlink reaches
** outside, and must not be one of the server's own files (the SQLite database and
** its -wal/-shm/-journal, the JWT secret) by path or by inode, wherever --static
** points. Directories serve their index.html. Caching policy is left to a
** fronting proxy: answers say `no-cache` so a PWA's service worker update is seen
** at once in development.
*/
#include "files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PRIVATE 8

static char root_real[PATH_MAX];
static size_t root_len;
/* The server's own files: real path (of the directory, + the name) and inode. */
static struct { char path[PATH_MAX]; dev_t dev; ino_t ino; int has_ino; } private_files[MAX_PRIVATE];
static int private_count;

/* Remember path (which may not exist yet: its directory must) as never served. */
static void add_private(const char *path) {
  char dir[PATH_MAX], dir_real[PATH_MAX];
  struct stat st;
  if (!path || private_count >= MAX_PRIVATE || strlen(path) >= sizeof dir) return;
  strcpy(dir, path);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : path;
  if (slash == dir) strcpy(dir, "/");
  else if (slash) *slash = 0;
  else strcpy(dir, ".");
  if (!realpath(dir, dir_real)) return;
  int n = snprintf(private_files[private_count].path, PATH_MAX, "%s/%s",
                   strcmp(dir_real, "/") ? dir_real : "", name);
  if (n < 0 || n >= PATH_MAX) return;
  private_files[private_count].has_ino = stat(path, &st) == 0;
  private_files[private_count].dev = st.st_dev;
  private_files[private_count].ino = st.st_ino;
  private_count++;
}

int files_init(const char *root, const char *const *private_paths) {
  struct stat st;
  if (!realpath(root, root_real) || stat(root_real, &st) != 0 || !S_ISDIR(st.st_mode)) return -1;
  root_len = strlen(root_real);
  for (; private_paths && *private_paths; private_paths++) add_private(*private_paths);
  return 0;
}

/* Is real (a resolved path, stat'ed as st) one of the server's own files? */
static int is_private(const char *real, const struct stat *st) {
  static const char *const sidecars[] = {"", "-wal", "-shm", "-journal"};
  for (int i = 0; i < private_count; i++) {
    if (private_files[i].has_ino && private_files[i].dev == st->st_dev && private_files[i].ino == st->st_ino)
      return 1;
    size_t n = strlen(private_files[i].path);
    if (strncmp(real, private_files[i].path, n) != 0) continue;
    for (size_t k = 0; k < sizeof sidecars / sizeof sidecars[0]; k++)
      if (strcmp(real + n, sidecars[k]) == 0) return 1;
  }
  return 0;
}

const char *files_mime(const char *path) {
  static const struct { const char *ext, *type; } types[] = {
    {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"}, {".json", "application/json"},
    {".map", "application/json"}, {".webmanifest", "application/manifest+json"},
    {".wasm", "application/wasm"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
    {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
    {".webp", "image/webp"}, {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"}, {".woff", "font/woff"}, {".xml", "application/xml"},
  };
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (dot && (!slash || dot > slash)) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
  }
  return "application/octet-stream";
}

/* No segment of path (from its first '/') is "..", "." or a dotfile but .well-known. */
static int segments_safe(const char *url) {
  for (const char *p = url; *p;) {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n > 0 && p[0] == '.' && !(n == 11 && memcmp(p, ".well-known", 11) == 0)) return 0;
    p += n;
  }
  return 1;
}

static int url_safe(const char *url) {
  if (url[0] != '/' || strchr(url, '\\')) return 0;
  return segments_safe(url);
}

/* Realpath of candidate, required to be the root or under it. */
static int resolve_inside(const char *candidate, char *out) {
  if (!realpath(candidate, out)) return 0;
  if (strncmp(out, root_real, root_len) != 0) return 0;
  return out[root_len] == 0 || out[root_len] == '/';
}

/* Whether an If-None-Match list names etag ("*" or one of its comma-separated tags). */
static int etag_matches(const char *list, const char *etag) {
  size_t n = strlen(etag);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (p[0] == '*' ) return 1;
    if (strncmp(p, "W/", 2) == 0) p += 2;
    if (strncmp(p, etag, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' ')) return 1;
    p = strchr(p, ',');
  }
  return 0;
}

struct MHD_Response *files_response(const char *url, const char *if_none_match, unsigned *pStatus) {
  char path[PATH_MAX], real[PATH_MAX];
  struct stat st;
  *pStatus = 404;
  if (!root_len || !url_safe(url)) return NULL;
  if ((size_t)snprintf(path, sizeof path, "%s%s", root_real, url) >= sizeof path) return NULL;
  if (!resolve_inside(path, real) || stat(real, &st) != 0) return NULL;
  if (S_ISDIR(st.st_mode)) {
    char index[PATH_MAX];
    if ((size_t)snprintf(index, sizeof index, "%s/index.html", real) >= sizeof index) return NULL;
    if (!resolve_inside(index, real) || stat(real, &st) != 0) return NULL;
  }
  if (!S_ISREG(st.st_mode)) return NULL;
  /* A symlink inside the root may still lead to a dotfile or the server's files. */
  if (!segments_safe(real + root_len) || is_private(real, &st)) { *pStatus = 403; return NULL; }
  char etag[64];
  snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
           (long)st.st_mtim.tv_nsec);
  if (if_none_match && etag_matches(if_none_match, etag)) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) { *pStatus = 500; return NULL; }
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    *pStatus = 304;
    return r;
  }
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { *pStatus = 403; return NULL; }
  struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
  if (!r) { close(fd); *pStatus = 500; return NULL; }
  MHD_add_response_header(r, "Content-Type", files_mime(real));
  MHD_add_response_header(r, "Cache-Control", "no-cache");
  MHD_add_response_header(r, "ETag", etag);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  *pStatus = 200;
  return r;
}
