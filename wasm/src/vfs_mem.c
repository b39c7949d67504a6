/*
** vfs_mem.c — SQLite VFS keeping each file as one contiguous image in the heap,
** with a bitmap of the VFS_MEM_CHUNK-sized chunks written since the marks were last
** cleared. It gives SQLite synchronous, always-successful-or-SQLITE_NOMEM I/O and
** leaves durability to the host: after a call commits, the host copies the dirty
** chunks of the main database image to IndexedDB/OPFS in one atomic transaction
** (js-glue/storage-*.js), or discards the image and reloads it when that fails.
**
** Invariants
**  1. An image lives in the registry from vfs_mem_image_find(create) or xOpen until
**     vfs_mem_image_delete()/xDelete (or the close of a DELETEONCLOSE/anonymous file),
**     so the host can load it before SQLite opens it and read it after SQLite closed it.
**  2. Every byte changed by xWrite or xTruncate since the last clear lies in a chunk
**     marked dirty; bytes past the size are not part of the file (the host deletes
**     stored chunks at or past ceil(size / VFS_MEM_CHUNK)).
**  3. Locks are per image and follow SQLite's rollback protocol (SHARED readers,
**     one RESERVED writer, EXCLUSIVE only when no other reader). When every handle is
**     at SQLITE_LOCK_NONE, no transaction is open and the image is a committed state:
**     only then may the host persist it or replace chunks under it. SQLite notices a
**     replaced image by the file change counter on its next SHARED lock.
**  4. A failed allocation leaves the image as it was and reports SQLITE_NOMEM/FULL.
**
** States of a handle: NONE → SHARED (xLock) → RESERVED (xLock) → EXCLUSIVE (xLock)
** → back to SHARED or NONE (xUnlock). Journal and temporary files use the same images
** but the host never persists them (journal_mode DELETE/MEMORY both work).
*/
#include "vfs_mem.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct vfs_mem_image {
  char *name;               /* NULL for an anonymous temp file                   */
  unsigned char *data;
  size_t size;              /* file size in bytes                                */
  size_t capacity;          /* bytes allocated in data                           */
  unsigned char *dirty;     /* one bit per chunk of capacity                     */
  size_t dirty_bytes;       /* bytes allocated in dirty                          */
  int open_count;           /* handles open on it                                */
  int shared_count;         /* handles holding SHARED or higher                  */
  int delete_on_close;
  struct vfs_mem_file *writer; /* the handle holding RESERVED or higher, if any  */
  struct vfs_mem_image *next;
  /* Originals (vfs_mem_image_keep_originals): each chunk's bytes as they were when it was
  ** last clean, so a commit's record holds only what changed (vfs_mem_image_encode). */
  int keep_originals;
  size_t base_size;         /* the size when the marks were last cleared         */
  uint32_t *orig_slot;      /* per chunk of capacity: 0, or 1 + its slot in orig */
  unsigned char *orig;      /* orig_used slots of VFS_MEM_CHUNK bytes            */
  size_t orig_used, orig_slots;
  /* Lazy images (vfs_mem_image_set_lazy): one bit per group of capacity, set while the
  ** group's bytes are not here yet (the fetch hook brings them). NULL: all present.
  ** A lazy image keeps no contiguous data: each group is its own VFS_MEM_GROUP bytes
  ** (gmem[g], NULL while absent or never written: zeros), with the tick of its last use
  ** (gtick) for vfs_mem_image_trim. */
  int lazy;
  unsigned char *absent;
  size_t absent_bytes;
  unsigned char **gmem;
  uint64_t *gtick, tick;
  size_t gslots, gbytes;    /* entries in gmem/gtick; bytes they hold               */
  /* Read tracking (vfs_mem_image_track): one bit per group read while tracking is on. */
  int tracking;
  unsigned char *seen;
  size_t seen_bytes;
};

typedef struct vfs_mem_file {
  sqlite3_file base;
  vfs_mem_image *image;
  int lock;
} vfs_mem_file;

static vfs_mem_image *g_images;   /* the registry (the wasm build is single-threaded) */
static vfs_mem_fetch_fn g_fetch;  /* brings an absent group of a lazy image          */
static const unsigned char g_zeros[VFS_MEM_CHUNK];

/* ---------------------------------------------------------------- images */

static vfs_mem_image *image_lookup(const char *name) {
  vfs_mem_image *image;
  for (image = g_images; image; image = image->next) {
    if (image->name && strcmp(image->name, name) == 0) return image;
  }
  return NULL;
}

static vfs_mem_image *image_new(const char *name) {
  vfs_mem_image *image = calloc(1, sizeof *image);
  if (!image) return NULL;
  if (name) {
    size_t n = strlen(name) + 1;
    image->name = malloc(n);
    if (!image->name) { free(image); return NULL; }
    memcpy(image->name, name, n);
  }
  image->next = g_images;
  g_images = image;
  return image;
}

static void image_free(vfs_mem_image *image) {
  vfs_mem_image **pp;
  for (pp = &g_images; *pp; pp = &(*pp)->next) {
    if (*pp == image) { *pp = image->next; break; }
  }
  free(image->name);
  free(image->data);
  free(image->dirty);
  free(image->orig_slot);
  free(image->orig);
  free(image->absent);
  for (size_t g = 0; g < image->gslots; g++) free(image->gmem[g]);
  free(image->gmem);
  free(image->gtick);
  free(image->seen);
  free(image);
}

static size_t chunks_for(size_t bytes) {
  return (bytes + VFS_MEM_CHUNK - 1) / VFS_MEM_CHUNK;
}

static size_t groups_for(size_t bytes) {
  return (bytes + VFS_MEM_GROUP - 1) / VFS_MEM_GROUP;
}

/* Room for one absent bit per group of capacity bytes; new groups are present. */
static int absent_reserve(vfs_mem_image *image, size_t capacity) {
  size_t bytes = (groups_for(capacity) + 7) / 8;
  unsigned char *absent;
  if (bytes <= image->absent_bytes) return SQLITE_OK;
  if ((absent = realloc(image->absent, bytes)) == NULL) return SQLITE_NOMEM;
  memset(absent + image->absent_bytes, 0, bytes - image->absent_bytes);
  image->absent = absent;
  image->absent_bytes = bytes;
  return SQLITE_OK;
}

/* Make room for size bytes (zero-filled past the old size); capacity doubles. */
static int image_reserve(vfs_mem_image *image, size_t size) {
  size_t capacity, dirty_bytes;
  unsigned char *data, *dirty;
  if (size <= image->capacity) return SQLITE_OK;
  capacity = image->capacity ? image->capacity : 16 * VFS_MEM_CHUNK;
  while (capacity < size) {
    if (capacity > SIZE_MAX / 2) return SQLITE_NOMEM;
    capacity *= 2;
  }
  if (image->keep_originals) {
    uint32_t *slots = realloc(image->orig_slot, chunks_for(capacity) * sizeof *slots);
    if (!slots) return SQLITE_NOMEM;
    memset(slots + chunks_for(image->capacity), 0, (chunks_for(capacity) - chunks_for(image->capacity)) * sizeof *slots);
    image->orig_slot = slots;
  }
  if (image->lazy && absent_reserve(image, capacity) != SQLITE_OK) return SQLITE_NOMEM;
  dirty_bytes = (chunks_for(capacity) + 7) / 8;
  dirty = realloc(image->dirty, dirty_bytes);
  if (!dirty) return SQLITE_NOMEM;
  memset(dirty + image->dirty_bytes, 0, dirty_bytes - image->dirty_bytes);
  image->dirty = dirty;
  image->dirty_bytes = dirty_bytes;
  if (image->lazy) {   /* lazy: room for the groups' slots, each group allocated when written */
    size_t slots = groups_for(capacity);
    unsigned char **gmem = realloc(image->gmem, slots * sizeof *gmem);
    if (!gmem) return SQLITE_NOMEM;
    image->gmem = gmem;
    uint64_t *gtick = realloc(image->gtick, slots * sizeof *gtick);
    if (!gtick) return SQLITE_NOMEM;
    image->gtick = gtick;
    for (size_t g = image->gslots; g < slots; g++) { gmem[g] = NULL; gtick[g] = 0; }
    image->gslots = slots;
    image->capacity = capacity;
    return SQLITE_OK;
  }
  data = realloc(image->data, capacity);
  if (!data) return SQLITE_NOMEM;
  memset(data + image->capacity, 0, capacity - image->capacity);
  image->data = data;
  image->capacity = capacity;
  return SQLITE_OK;
}

/* ---- bytes of an image, contiguous or in groups (lazy) ---- */

/* The memory of group g of a lazy image, allocated (zeroed) when create; NULL without. */
static unsigned char *group_mem(vfs_mem_image *image, size_t g, int create) {
  if (g >= image->gslots) return NULL;
  if (!image->gmem[g] && create) {
    if ((image->gmem[g] = calloc(1, VFS_MEM_GROUP)) == NULL) return NULL;
    image->gbytes += VFS_MEM_GROUP;
  }
  image->gtick[g] = ++image->tick;
  return image->gmem[g];
}

/* Chunk's bytes (zeros for a lazy group with no memory). */
static const unsigned char *chunk_bytes(vfs_mem_image *image, size_t chunk) {
  if (!image->lazy) return image->data + chunk * VFS_MEM_CHUNK;
  size_t g = chunk / VFS_MEM_GROUP_CHUNKS;
  unsigned char *mem = g < image->gslots ? image->gmem[g] : NULL;
  return mem ? mem + (chunk % VFS_MEM_GROUP_CHUNKS) * VFS_MEM_CHUNK : g_zeros;
}

static void copy_out(vfs_mem_image *image, size_t off, unsigned char *buf, size_t n) {
  if (!image->lazy) { memcpy(buf, image->data + off, n); return; }
  while (n) {
    size_t g = off / VFS_MEM_GROUP, at = off % VFS_MEM_GROUP, k = VFS_MEM_GROUP - at < n ? VFS_MEM_GROUP - at : n;
    const unsigned char *mem = group_mem(image, g, 0);
    if (mem) memcpy(buf, mem + at, k); else memset(buf, 0, k);
    buf += k, off += k, n -= k;
  }
}

static int copy_in(vfs_mem_image *image, size_t off, const unsigned char *buf, size_t n) {
  if (!image->lazy) { memcpy(image->data + off, buf, n); return SQLITE_OK; }
  while (n) {
    size_t g = off / VFS_MEM_GROUP, at = off % VFS_MEM_GROUP, k = VFS_MEM_GROUP - at < n ? VFS_MEM_GROUP - at : n;
    unsigned char *mem = group_mem(image, g, 1);
    if (!mem) return SQLITE_NOMEM;
    memcpy(mem + at, buf, k);
    buf += k, off += k, n -= k;
  }
  return SQLITE_OK;
}

static void zero_range(vfs_mem_image *image, size_t from, size_t to) {
  if (from >= to) return;
  if (!image->lazy) { memset(image->data + from, 0, to - from); return; }
  while (from < to) {
    size_t g = from / VFS_MEM_GROUP, at = from % VFS_MEM_GROUP, k = VFS_MEM_GROUP - at < to - from ? VFS_MEM_GROUP - at : to - from;
    unsigned char *mem = g < image->gslots ? image->gmem[g] : NULL;
    if (mem) memset(mem + at, 0, k);
    from += k;
  }
}

static void group_free(vfs_mem_image *image, size_t g) {
  if (g >= image->gslots || !image->gmem[g]) return;
  free(image->gmem[g]);
  image->gmem[g] = NULL;
  image->gbytes -= VFS_MEM_GROUP;
}

static int is_dirty(const vfs_mem_image *image, size_t chunk) {
  return (image->dirty[chunk / 8] >> (chunk % 8)) & 1u;
}

static int is_absent(const vfs_mem_image *image, size_t group) {
  return image->absent && group / 8 < image->absent_bytes && ((image->absent[group / 8] >> (group % 8)) & 1u);
}

static void set_absent(vfs_mem_image *image, size_t group, int absent) {
  unsigned char bit = (unsigned char)(1u << (group % 8));
  if (!image->absent || group / 8 >= image->absent_bytes) return;
  image->absent[group / 8] = (unsigned char)(absent ? image->absent[group / 8] | bit : image->absent[group / 8] & ~bit);
}

/* Fetch every absent group holding a byte of [from, to) below the size: SQLITE_OK, or
** SQLITE_IOERR_READ when the hook could not (nothing changed). */
static int ensure_present(vfs_mem_image *image, size_t from, size_t to) {
  size_t group, last;
  if (!image->absent || from >= image->size || from >= to) return SQLITE_OK;
  if (to > image->size) to = image->size;
  last = (to - 1) / VFS_MEM_GROUP;
  for (group = from / VFS_MEM_GROUP; group <= last; group++) {
    if (!is_absent(image, group)) continue;
    if (!g_fetch || g_fetch(image, group) != SQLITE_OK) return SQLITE_IOERR_READ;
    set_absent(image, group, 0);
  }
  return SQLITE_OK;
}

/* Keep the original of a clean chunk inside the clean size, about to change. Without
** room it keeps none: that chunk's record is then its whole bytes. */
static void keep_original(vfs_mem_image *image, size_t chunk) {
  if ((chunk + 1) * VFS_MEM_CHUNK > image->base_size) return;
  if (image->orig_used == image->orig_slots) {
    size_t slots = image->orig_slots ? image->orig_slots * 2 : 64;
    unsigned char *orig = realloc(image->orig, slots * VFS_MEM_CHUNK);
    if (!orig) return;
    image->orig = orig;
    image->orig_slots = slots;
  }
  memcpy(image->orig + image->orig_used * VFS_MEM_CHUNK, chunk_bytes(image, chunk), VFS_MEM_CHUNK);
  image->orig_slot[chunk] = (uint32_t)++image->orig_used;
}

/* Mark the chunks of [offset, offset + length) dirty; call before their bytes change. */
static void mark_dirty(vfs_mem_image *image, size_t offset, size_t length) {
  size_t chunk, last;
  if (length == 0) return;
  last = (offset + length - 1) / VFS_MEM_CHUNK;
  for (chunk = offset / VFS_MEM_CHUNK; chunk <= last; chunk++) {
    if (is_dirty(image, chunk)) continue;
    if (image->keep_originals) keep_original(image, chunk);
    image->dirty[chunk / 8] = (unsigned char)(image->dirty[chunk / 8] | (1u << (chunk % 8)));
  }
}

/* Change the size; bytes past a shrunk size are zeroed so a later growth reads zeros. */
static int image_set_size(vfs_mem_image *image, size_t size, int track) {
  int rc = image_reserve(image, size);
  if (rc != SQLITE_OK) return rc;
  if (size < image->size) {
    if (track && size % VFS_MEM_CHUNK) mark_dirty(image, size, 1);
    zero_range(image, size, image->size);
    for (size_t group = groups_for(size); group < groups_for(image->size); group++) {
      set_absent(image, group, 0);
      group_free(image, group);   /* zeros */
    }
  } else if (track && size > image->size) {
    mark_dirty(image, image->size, size - image->size);
  }
  image->size = size;
  return SQLITE_OK;
}

int vfs_mem_image_find(const char *name, int create, vfs_mem_image **ppImage) {
  vfs_mem_image *image = image_lookup(name);
  *ppImage = NULL;
  if (!image && !create) return SQLITE_NOTFOUND;
  if (!image && (image = image_new(name)) == NULL) return SQLITE_NOMEM;
  *ppImage = image;
  return SQLITE_OK;
}

unsigned char *vfs_mem_image_data(vfs_mem_image *image) { return image->lazy ? NULL : image->data; }
size_t vfs_mem_image_size(const vfs_mem_image *image) { return image->size; }

int vfs_mem_image_resize(vfs_mem_image *image, size_t size) {
  int rc = image_set_size(image, size, 0);
  if (rc == SQLITE_OK) image->base_size = size;
  return rc;
}

int64_t vfs_mem_image_next_dirty(const vfs_mem_image *image, int64_t from) {
  size_t chunk, end = chunks_for(image->size);
  for (chunk = from < 0 ? 0 : (size_t)from; chunk < end; chunk++) {
    if (image->dirty[chunk / 8] & (1u << (chunk % 8))) return (int64_t)chunk;
  }
  return -1;
}

size_t vfs_mem_image_dirty_count(const vfs_mem_image *image) {
  size_t count = 0;
  int64_t chunk = vfs_mem_image_next_dirty(image, 0);
  while (chunk >= 0) {
    count++;
    chunk = vfs_mem_image_next_dirty(image, chunk + 1);
  }
  return count;
}

void vfs_mem_image_clear_dirty(vfs_mem_image *image) {
  if (image->orig_slot) {
    for (int64_t c = vfs_mem_image_next_dirty(image, 0); c >= 0; c = vfs_mem_image_next_dirty(image, c + 1))
      image->orig_slot[c] = 0;
  }
  image->orig_used = 0;
  if (image->orig_slots > 1024) {   /* after a big commit: give back more than 4 MiB */
    free(image->orig);
    image->orig = NULL;
    image->orig_slots = 0;
  }
  if (image->dirty) memset(image->dirty, 0, image->dirty_bytes);
  image->base_size = image->size;
}

void vfs_mem_set_fetch(vfs_mem_fetch_fn fn) { g_fetch = fn; }

int vfs_mem_image_set_lazy(vfs_mem_image *image, size_t size) {
  int rc;
  if (!image->lazy) {   /* from contiguous to groups: nothing kept (every group absent below) */
    free(image->data);
    image->data = NULL;
    image->capacity = 0;
    image->size = 0;
    image->lazy = 1;
  }
  if ((rc = absent_reserve(image, image->capacity > size ? image->capacity : size)) != SQLITE_OK) return rc;
  if ((rc = vfs_mem_image_resize(image, size)) != SQLITE_OK) return rc;
  vfs_mem_image_clear_dirty(image);
  if (image->absent) memset(image->absent, 0, image->absent_bytes);
  for (size_t group = 0; group < image->gslots; group++) group_free(image, group);
  for (size_t group = 0; group < groups_for(size); group++) set_absent(image, group, 1);
  return SQLITE_OK;
}

unsigned char *vfs_mem_image_group(vfs_mem_image *image, size_t group) {
  if (!image->lazy) return group * VFS_MEM_GROUP < image->capacity ? image->data + group * VFS_MEM_GROUP : NULL;
  return group_mem(image, group, 1);
}

size_t vfs_mem_image_resident_bytes(const vfs_mem_image *image) {
  return image->lazy ? image->gbytes : image->capacity;
}

/* Whether any chunk of group is dirty. */
static int group_dirty(const vfs_mem_image *image, size_t group) {
  size_t chunk = group * VFS_MEM_GROUP_CHUNKS, end = chunk + VFS_MEM_GROUP_CHUNKS, n = chunks_for(image->size);
  for (; chunk < end && chunk < n; chunk++) if (is_dirty(image, chunk)) return 1;
  return 0;
}

static const uint64_t *g_trim_ticks;   /* for by_tick (single-threaded) */
static int by_tick(const void *a, const void *b) {
  uint64_t x = g_trim_ticks[*(const size_t *)a], y = g_trim_ticks[*(const size_t *)b];
  return x < y ? -1 : x > y;
}

size_t vfs_mem_image_trim(vfs_mem_image *image, size_t max_bytes) {
  size_t n = 0, evicted = 0, stored = groups_for(image->size);
  if (!image->lazy || image->gbytes <= max_bytes) return 0;
  size_t *candidates = malloc(image->gslots * sizeof *candidates);
  if (!candidates) return 0;
  for (size_t g = 0; g < stored && g < image->gslots; g++)
    if (image->gmem[g] && !is_absent(image, g) && !group_dirty(image, g)) candidates[n++] = g;
  g_trim_ticks = image->gtick;
  qsort(candidates, n, sizeof *candidates, by_tick);   /* least recently used first */
  for (size_t i = 0; i < n && image->gbytes > max_bytes; i++, evicted++) {
    group_free(image, candidates[i]);
    set_absent(image, candidates[i], 1);
  }
  free(candidates);
  return evicted;
}

int vfs_mem_image_set_whole(vfs_mem_image *image) {
  if (!image->lazy) return SQLITE_OK;
  if (vfs_mem_image_absent_count(image) > 0) return SQLITE_MISUSE;
  unsigned char *data = image->capacity ? malloc(image->capacity) : NULL;
  if (image->capacity && !data) return SQLITE_NOMEM;
  for (size_t g = 0; g < image->gslots; g++) {
    size_t at = g * VFS_MEM_GROUP, n = at >= image->capacity ? 0 : image->capacity - at;
    if (n > VFS_MEM_GROUP) n = VFS_MEM_GROUP;
    if (image->gmem[g]) memcpy(data + at, image->gmem[g], n); else memset(data + at, 0, n);
    group_free(image, g);
  }
  free(image->gmem);
  free(image->gtick);
  free(image->absent);
  image->gmem = NULL, image->gtick = NULL, image->absent = NULL;
  image->gslots = 0, image->absent_bytes = 0, image->gbytes = 0;
  image->data = data;
  image->lazy = 0;
  return SQLITE_OK;
}

int vfs_mem_image_track(vfs_mem_image *image, int on) {
  image->tracking = 0;
  if (!on) return SQLITE_OK;
  size_t bytes = (groups_for(image->size) + 8) / 8;
  if (bytes > image->seen_bytes) {
    unsigned char *seen = realloc(image->seen, bytes);
    if (!seen) return SQLITE_NOMEM;
    image->seen = seen;
    image->seen_bytes = bytes;
  }
  memset(image->seen, 0, image->seen_bytes);
  image->tracking = 1;
  return SQLITE_OK;
}

int vfs_mem_image_tracked(const vfs_mem_image *image, size_t group) {
  return image->seen && group / 8 < image->seen_bytes && ((image->seen[group / 8] >> (group % 8)) & 1u);
}

/* Mark the groups of [from, to) read (groups past the size tracking began at are not kept). */
static void mark_seen(vfs_mem_image *image, size_t from, size_t to) {
  if (from >= to) return;
  for (size_t g = from / VFS_MEM_GROUP; g <= (to - 1) / VFS_MEM_GROUP && g / 8 < image->seen_bytes; g++)
    image->seen[g / 8] = (unsigned char)(image->seen[g / 8] | (1u << (g % 8)));
}

int vfs_mem_image_group_present(const vfs_mem_image *image, size_t group) { return !is_absent(image, group); }

void vfs_mem_image_set_present(vfs_mem_image *image, size_t group) { set_absent(image, group, 0); }

size_t vfs_mem_image_absent_count(const vfs_mem_image *image) {
  size_t count = 0;
  for (size_t group = 0; image->absent && group < image->absent_bytes * 8; group++) count += (size_t)is_absent(image, group);
  return count;
}

int vfs_mem_image_keep_originals(vfs_mem_image *image) {
  if (image->keep_originals) return SQLITE_OK;
  size_t n = chunks_for(image->capacity);
  if (n && (image->orig_slot = calloc(n, sizeof *image->orig_slot)) == NULL) return SQLITE_NOMEM;
  image->keep_originals = 1;   /* chunks dirty already have no original: written whole */
  image->base_size = image->size;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------- commit records */

enum { KIND_RAW = 0, KIND_DELTA = 1, KIND_SPARSE = 2 };
#define GAP_WORDS 2u   /* unchanged 4-byte words that end a changed range */

static void put_u32(unsigned char *p, size_t v) {
  p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* The ranges where after (n bytes) differs from before (NULL: zeros), as u32 offset,
** u32 length, bytes…, written at out; returns their size (0: no difference), or NO_DELTA
** when that is no smaller than n (or n is not whole words). Compared a word at a time. */
#define NO_DELTA ((size_t)-1)
static size_t encode_delta(const unsigned char *before, const unsigned char *after, size_t n, unsigned char *out) {
  size_t words = n / 4, size = 0, i = 0;
  if (n % 4) return NO_DELTA;
  while (i < words) {
    uint32_t a, b = 0;
    memcpy(&a, after + i * 4, 4);
    if (before) memcpy(&b, before + i * 4, 4);
    if (a == b) { i++; continue; }
    size_t last = i;
    for (size_t j = i + 1; j < words && j - last <= GAP_WORDS; j++) {
      memcpy(&a, after + j * 4, 4);
      b = 0;
      if (before) memcpy(&b, before + j * 4, 4);
      if (a != b) last = j;
    }
    size_t length = (last + 1 - i) * 4;
    if (size + 8 + length >= n) return NO_DELTA;
    put_u32(out + size, i * 4);
    put_u32(out + size + 4, length);
    memcpy(out + size + 8, after + i * 4, length);
    size += 8 + length;
    i = last + 1;
  }
  return size;
}

int vfs_mem_image_encode(const vfs_mem_image *image, unsigned char **pOut, size_t *pLength) {
  size_t count = vfs_mem_image_dirty_count(image), head = 4 + count * 16, at = head, k = 0;
  unsigned char *out = malloc(head + count * VFS_MEM_CHUNK);
  *pOut = NULL;
  *pLength = 0;
  if (!out) return SQLITE_NOMEM;
  put_u32(out, count);
  for (int64_t c = vfs_mem_image_next_dirty(image, 0); c >= 0; c = vfs_mem_image_next_dirty(image, c + 1), k++) {
    size_t chunk = (size_t)c, offset = chunk * VFS_MEM_CHUNK;
    size_t length = image->size - offset < VFS_MEM_CHUNK ? image->size - offset : VFS_MEM_CHUNK;
    const unsigned char *bytes = chunk_bytes((vfs_mem_image *)image, chunk);
    uint32_t slot = image->orig_slot ? image->orig_slot[chunk] : 0;
    int inside = (chunk + 1) * VFS_MEM_CHUNK <= image->base_size && length == VFS_MEM_CHUNK;
    size_t body = NO_DELTA;
    int kind = KIND_RAW;
    if (slot && inside) {
      body = encode_delta(image->orig + (slot - 1) * VFS_MEM_CHUNK, bytes, length, out + at);
      kind = KIND_DELTA;
    } else if (offset >= image->base_size) {
      body = encode_delta(NULL, bytes, length, out + at);
      kind = KIND_SPARSE;
    }
    if (body == NO_DELTA) { memcpy(out + at, bytes, length); body = length; kind = KIND_RAW; }
    put_u32(out + 4 + k * 16, chunk);
    put_u32(out + 8 + k * 16, length);
    put_u32(out + 12 + k * 16, body);
    put_u32(out + 16 + k * 16, (size_t)kind);
    at += body;
  }
  *pOut = out;
  *pLength = at;
  return SQLITE_OK;
}

int vfs_mem_image_lock_level(const vfs_mem_image *image) {
  if (image->writer) return image->writer->lock;
  return image->shared_count > 0 ? SQLITE_LOCK_SHARED : SQLITE_LOCK_NONE;
}

int vfs_mem_image_open_count(const vfs_mem_image *image) { return image->open_count; }

int vfs_mem_image_delete(const char *name) {
  vfs_mem_image *image = image_lookup(name);
  if (!image) return SQLITE_OK;
  if (image->open_count > 0) return SQLITE_BUSY;
  image_free(image);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------- sqlite3_io_methods */

static int file_close(sqlite3_file *file) {
  vfs_mem_file *f = (vfs_mem_file *)file;
  vfs_mem_image *image = f->image;
  if (f->lock > SQLITE_LOCK_NONE) image->shared_count--;
  if (image->writer == f) image->writer = NULL;
  image->open_count--;
  if (image->open_count == 0 && (image->delete_on_close || !image->name)) image_free(image);
  return SQLITE_OK;
}

static int file_read(sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset) {
  vfs_mem_image *image = ((vfs_mem_file *)file)->image;
  size_t want = (size_t)amount, off = (size_t)offset, have = 0;
  int rc = ensure_present(image, off, off + want);
  if (rc != SQLITE_OK) return rc;
  if (image->tracking) mark_seen(image, off, off + want < image->size ? off + want : image->size);
  if (off < image->size) have = image->size - off < want ? image->size - off : want;
  if (have) copy_out(image, off, buf, have);
  if (have < want) {
    memset((unsigned char *)buf + have, 0, want - have);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int file_write(sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset) {
  vfs_mem_image *image = ((vfs_mem_file *)file)->image;
  size_t length = (size_t)amount, off = (size_t)offset;
  /* the bytes kept around the write (and a chunk's original) must be the stored ones */
  int rc = ensure_present(image, off < image->size || image->size == 0 ? off : image->size - 1, off + length);
  if (rc != SQLITE_OK) return rc;
  if (off + length > image->size) {
    size_t old_size = image->size;
    if (image_reserve(image, off + length) != SQLITE_OK) return SQLITE_FULL;
    if (off > old_size) mark_dirty(image, old_size, off - old_size);   /* the hole */
    image->size = off + length;
  }
  mark_dirty(image, off, length);
  return copy_in(image, off, buf, length) == SQLITE_OK ? SQLITE_OK : SQLITE_FULL;
}

static int file_truncate(sqlite3_file *file, sqlite3_int64 size) {
  vfs_mem_image *image = ((vfs_mem_file *)file)->image;
  if ((size_t)size >= image->size) return SQLITE_OK;
  if (size > 0 && ensure_present(image, (size_t)size - 1, (size_t)size) != SQLITE_OK) return SQLITE_IOERR_TRUNCATE;
  return image_set_size(image, (size_t)size, 1) == SQLITE_OK ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}

static int file_sync(sqlite3_file *file, int flags) {
  (void)file; (void)flags;
  return SQLITE_OK;   /* durability is the host's, after the commit (invariant 3) */
}

static int file_size(sqlite3_file *file, sqlite3_int64 *pSize) {
  *pSize = (sqlite3_int64)((vfs_mem_file *)file)->image->size;
  return SQLITE_OK;
}

static int file_lock(sqlite3_file *file, int level) {
  vfs_mem_file *f = (vfs_mem_file *)file;
  vfs_mem_image *image = f->image;
  if (f->lock >= level) return SQLITE_OK;
  if (level == SQLITE_LOCK_SHARED) {
    if (image->writer && image->writer->lock >= SQLITE_LOCK_PENDING) return SQLITE_BUSY;
    image->shared_count++;
  } else if (level == SQLITE_LOCK_RESERVED) {
    if (image->writer && image->writer != f) return SQLITE_BUSY;
    image->writer = f;
  } else {   /* PENDING or EXCLUSIVE */
    if (image->writer && image->writer != f) return SQLITE_BUSY;
    image->writer = f;
    if (image->shared_count > 1) { f->lock = SQLITE_LOCK_PENDING; return SQLITE_BUSY; }
  }
  f->lock = level;
  return SQLITE_OK;
}

static int file_unlock(sqlite3_file *file, int level) {
  vfs_mem_file *f = (vfs_mem_file *)file;
  vfs_mem_image *image = f->image;
  if (f->lock <= level) return SQLITE_OK;
  if (level < SQLITE_LOCK_RESERVED && image->writer == f) image->writer = NULL;
  if (level == SQLITE_LOCK_NONE && f->lock > SQLITE_LOCK_NONE) image->shared_count--;
  f->lock = level;
  return SQLITE_OK;
}

static int file_check_reserved(sqlite3_file *file, int *pResOut) {
  vfs_mem_image *image = ((vfs_mem_file *)file)->image;
  *pResOut = image->writer != NULL && image->writer != (vfs_mem_file *)file;
  return SQLITE_OK;
}

static int file_control(sqlite3_file *file, int op, void *arg) {
  (void)file; (void)op; (void)arg;
  return SQLITE_NOTFOUND;
}

static int file_sector_size(sqlite3_file *file) {
  (void)file;
  return (int)VFS_MEM_CHUNK;
}

static int file_device_characteristics(sqlite3_file *file) {
  (void)file;
  return SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static const sqlite3_io_methods g_io_methods = {
  1, file_close, file_read, file_write, file_truncate, file_sync, file_size,
  file_lock, file_unlock, file_check_reserved, file_control, file_sector_size,
  file_device_characteristics, 0, 0, 0, 0, 0, 0
};

/* ---------------------------------------------------------------- sqlite3_vfs */

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *pOutFlags) {
  vfs_mem_file *f = (vfs_mem_file *)file;
  vfs_mem_image *image = name ? image_lookup(name) : NULL;
  (void)vfs;
  memset(f, 0, sizeof *f);
  if (!image) {
    if (name && !(flags & SQLITE_OPEN_CREATE)) return SQLITE_CANTOPEN;
    if ((image = image_new(name)) == NULL) return SQLITE_NOMEM;
  }
  if (flags & SQLITE_OPEN_DELETEONCLOSE) image->delete_on_close = 1;
  image->open_count++;
  f->image = image;
  f->base.pMethods = &g_io_methods;
  if (pOutFlags) *pOutFlags = flags;
  return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
  vfs_mem_image *image = image_lookup(name);
  (void)vfs; (void)sync_dir;
  if (!image) return SQLITE_IOERR_DELETE_NOENT;
  if (image->open_count > 0) { image->delete_on_close = 1; return SQLITE_OK; }
  image_free(image);
  return SQLITE_OK;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *pResOut) {
  vfs_mem_image *image = image_lookup(name);
  (void)vfs; (void)flags;
  /* an empty image counts as absent so SQLite never sees a zero-byte hot journal */
  *pResOut = image != NULL && image->size > 0;
  return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out) {
  static uint64_t state;
  int i;
  (void)vfs;
  if (!state) {
    struct timeval now;
    gettimeofday(&now, NULL);
    state = (uint64_t)now.tv_sec * UINT64_C(1000003) ^ (uint64_t)now.tv_usec ^ (uint64_t)(uintptr_t)&state;
  }
  for (i = 0; i < n; i++) {   /* splitmix64: SQLite only needs temp names and random() */
    uint64_t z = (state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    out[i] = (char)(unsigned char)((z ^ (z >> 31)) & 0xFF);
  }
  return n;
}

static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) {
  (void)vfs;
  return microseconds;   /* nothing to wait for: one thread owns every image */
}

static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *pNow) {
  struct timeval now;
  (void)vfs;
  gettimeofday(&now, NULL);
  *pNow = (sqlite3_int64)210866760000000LL + (sqlite3_int64)now.tv_sec * 1000 + now.tv_usec / 1000;
  return SQLITE_OK;
}

static int vfs_current_time(sqlite3_vfs *vfs, double *pNow) {
  sqlite3_int64 ms;
  vfs_current_time_int64(vfs, &ms);
  *pNow = (double)ms / 86400000.0;
  return SQLITE_OK;
}

static int vfs_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs; (void)n; (void)out;
  return 0;
}

static sqlite3_vfs g_vfs = {
  2, (int)sizeof(vfs_mem_file), 512, 0, VFS_MEM_NAME, 0,
  vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
  0, 0, 0, 0,                                   /* no loadable extensions */
  vfs_randomness, vfs_sleep, vfs_current_time, vfs_get_last_error,
  vfs_current_time_int64, 0, 0, 0
};

int vfs_mem_register(int make_default) {
  return sqlite3_vfs_register(&g_vfs, make_default);
}
