/*
** files.c — static files for --static. The URL is checked segment by segment
** (no "..", no backslash, no NUL), then the resolved real path must stay under
** the real root, so neither `..` nor a symlink reaches outside. Directories
** serve their index.html. Caching policy is left to a fronting proxy: answers say
** `no-cache` so a PWA's service worker update is seen at once in development.
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

static char root_real[PATH_MAX];
static size_t root_len;

int files_init(const char *root) {
  struct stat st;
  if (!realpath(root, root_real) || stat(root_real, &st) != 0 || !S_ISDIR(st.st_mode)) return -1;
  root_len = strlen(root_real);
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

static int url_safe(const char *url) {
  if (url[0] != '/' || strchr(url, '\\')) return 0;
  for (const char *p = url; *p;) {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.')) return 0;
    p += n;
  }
  return 1;
}

/* Realpath of candidate, required to be the root or under it. */
static int resolve_inside(const char *candidate, char *out) {
  if (!realpath(candidate, out)) return 0;
  if (strncmp(out, root_real, root_len) != 0) return 0;
  return out[root_len] == 0 || out[root_len] == '/';
}

struct MHD_Response *files_response(const char *url, unsigned *pStatus) {
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
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { *pStatus = 403; return NULL; }
  struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
  if (!r) { close(fd); *pStatus = 500; return NULL; }
  MHD_add_response_header(r, "Content-Type", files_mime(real));
  MHD_add_response_header(r, "Cache-Control", "no-cache");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  *pStatus = 200;
  return r;
}
