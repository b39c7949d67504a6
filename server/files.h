/*
** files.h — --static DIR: files served by GET/HEAD with the MIME types a PWA
** needs (.wasm application/wasm, .js/.mjs text/javascript, .webmanifest), never
** anything outside DIR (no `..`, symlinks resolved and checked), no dotfile (but
** /.well-known/) and none of the server's own files.
*/
#ifndef SRV_FILES_H
#define SRV_FILES_H

#include <microhttpd.h>

/* Resolve root once (realpath) and remember private_paths (NULL-ended; the
** database, the secret) as never served. Returns 0 or -1 when root is not a directory. */
int files_init(const char *root, const char *const *private_paths);

/* The response for url (already percent-decoded by MHD), or NULL with *pStatus set
** to 404 (absent, outside the root or not a regular file) or 403. Every file carries an
** ETag (its size and modification time); if_none_match (the request's If-None-Match, or
** NULL) naming it answers 304 with no body, so a browser revalidates its cached copy (and
** keeps what it compiled of a .wasm) instead of fetching it again. */
struct MHD_Response *files_response(const char *url, const char *if_none_match, unsigned *pStatus);

/* The MIME type of path by its extension. */
const char *files_mime(const char *path);

#endif /* SRV_FILES_H */
