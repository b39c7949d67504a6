/*
** vfs_mem.h — the SQLite VFS of the browser stores: every file is an image in the
** wasm heap with a per-chunk dirty bitmap. SQLite reads and writes the images
** synchronously; the JS glue (js-glue/core.js + storage-*.js) loads an image before
** the store opens and, after each committed call, persists the chunks marked dirty
** in one atomic storage transaction, then clears the marks. This module performs no
** I/O and knows nothing of IndexedDB or OPFS.
**
** The same code builds natively (registered under its name, not as the default), so
** tests/c/test_vfs_mem.c runs it under cmocka; the wasm build makes it the default VFS
** through sqlite3_os_init() in wasm_exports.c (SQLITE_OS_OTHER=1).
*/
#ifndef SC_VFS_MEM_H
#define SC_VFS_MEM_H

#include <stddef.h>
#include <stdint.h>

#define VFS_MEM_NAME  "sc-mem"
#define VFS_MEM_CHUNK 4096u    /* bytes per dirty-tracked chunk; must match js-glue/core.js (it asks) */
#define VFS_MEM_GROUP_CHUNKS 64u /* chunks per group, the unit a lazy image fetches (storage-idb.js asks) */
#define VFS_MEM_GROUP (VFS_MEM_CHUNK * VFS_MEM_GROUP_CHUNKS)

typedef struct vfs_mem_image vfs_mem_image;

/* Register the VFS with SQLite under VFS_MEM_NAME; make_default != 0 makes it the
** default VFS. Idempotent. Returns an SQLite result code. */
int vfs_mem_register(int make_default);

/* Find the image called name, creating an empty one when absent (create != 0).
** *ppImage is NULL when absent and create == 0. The image stays alive until
** vfs_mem_image_delete(), also while no SQLite connection has it open.
** Returns SQLITE_OK, SQLITE_NOMEM or SQLITE_NOTFOUND. */
int vfs_mem_image_find(const char *name, int create, vfs_mem_image **ppImage);

/* The image's bytes (valid until the next call that may grow it; NULL for a lazy image,
** see vfs_mem_image_group) and its size. */
unsigned char *vfs_mem_image_data(vfs_mem_image *image);
size_t vfs_mem_image_size(const vfs_mem_image *image);

/* Set the size for loading (growth is zero-filled). Marks nothing dirty: the loader
** is writing what storage already holds. Returns SQLITE_OK or SQLITE_NOMEM. */
int vfs_mem_image_resize(vfs_mem_image *image, size_t size);

/* Index of the first dirty chunk at or after from, or -1 when none. */
int64_t vfs_mem_image_next_dirty(const vfs_mem_image *image, int64_t from);

/* Number of dirty chunks. */
size_t vfs_mem_image_dirty_count(const vfs_mem_image *image);

/* Forget every dirty mark and original (after the chunks were persisted, or before a
** reload); the size now is the clean size. */
void vfs_mem_image_clear_dirty(vfs_mem_image *image);

/* Keep, from now on, the original bytes of each chunk inside the clean size when it is
** first marked dirty, so vfs_mem_image_encode can write what changed. The host's main
** database image turns this on; journals and temp files never need it. SQLITE_OK or NOMEM. */
int vfs_mem_image_keep_originals(vfs_mem_image *image);

/* The record of the dirty chunks, as js-glue/storage-idb.js stores and replays it:
** u32 count, count × (u32 index, u32 length, u32 body length, u32 kind), the bodies
** (little-endian). kind 0: the chunk's bytes; 1: the ranges (u32 offset, u32 length,
** bytes) where it differs from its original (the chunk as it was at the last clear or
** resize); 2: the ranges where it differs from zeros (a chunk past the size then).
** *pOut is malloc'd (free it). SQLITE_OK or SQLITE_NOMEM. */
int vfs_mem_image_encode(const vfs_mem_image *image, unsigned char **pOut, size_t *pLength);

/* Highest SQLite lock level (SQLITE_LOCK_NONE … EXCLUSIVE) any open handle holds:
** NONE means no transaction is in progress and the image is a committed state. */
int vfs_mem_image_lock_level(const vfs_mem_image *image);

/* Number of SQLite handles open on the image. */
int vfs_mem_image_open_count(const vfs_mem_image *image);

/* Lazy images (pages read on demand). A lazy image knows its size but holds only the
** groups (VFS_MEM_GROUP bytes) marked present; the others read as zeros until fetched.
** Before SQLite reads or changes a byte of an absent group, the VFS calls the fetch hook,
** which writes the group's bytes into vfs_mem_image_data() (up to the size) and returns
** SQLITE_OK, after which the group is present; any other code fails that read or write
** with SQLITE_IOERR_READ (the statement fails, the image is unchanged). One hook for
** all images; NULL (the default) fails every fetch. */
typedef int (*vfs_mem_fetch_fn)(vfs_mem_image *image, size_t group);
void vfs_mem_set_fetch(vfs_mem_fetch_fn fn);

/* Make the image lazy: size bytes, every group below ceil(size / VFS_MEM_GROUP) absent,
** no dirty marks. Growth later (by SQLite or vfs_mem_image_resize) adds present groups
** of zeros; a shrink makes the groups wholly past the size present (zeros).
** SQLITE_OK or SQLITE_NOMEM. */
int vfs_mem_image_set_lazy(vfs_mem_image *image, size_t size);

/* Whether group is present (always, for an image that is not lazy); mark it present (the
** host wrote its bytes outside a fetch; groups become absent only by vfs_mem_image_trim). */
int vfs_mem_image_group_present(const vfs_mem_image *image, size_t group);
void vfs_mem_image_set_present(vfs_mem_image *image, size_t group);

/* Number of absent groups (0 for an image that is not lazy). */
size_t vfs_mem_image_absent_count(const vfs_mem_image *image);

/* A lazy image holds its groups apart (vfs_mem_image_data is NULL): the memory of group
** (VFS_MEM_GROUP bytes, allocated zeroed if it had none), for the host to write a fetched
** group into or read one from; NULL when out of memory. For an image that is not lazy,
** the group's place in the contiguous data. */
unsigned char *vfs_mem_image_group(vfs_mem_image *image, size_t group);

/* Bytes of memory holding the image's groups (a lazy image), or its capacity. */
size_t vfs_mem_image_resident_bytes(const vfs_mem_image *image);

/* A lazy image's page cache kept to max_bytes: the least recently used groups that are
** present, clean and inside the size are given back and marked absent (fetched again when
** SQLite next needs them). Only between calls, with every change persisted. Returns the
** number of groups given back. */
size_t vfs_mem_image_trim(vfs_mem_image *image, size_t max_bytes);

/* Make a lazy image whose every group is present contiguous again (what an image that was
** never lazy is): its groups copied into one block and given back. SQLITE_OK, SQLITE_MISUSE
** while a group is absent (nothing changed), SQLITE_NOMEM (nothing changed). */
int vfs_mem_image_set_whole(vfs_mem_image *image);

/* Read tracking: from vfs_mem_image_track(image, 1) (which forgets earlier marks) until
** vfs_mem_image_track(image, 0), every group SQLite reads a byte of is marked, for the host to
** learn which groups a call needs (vfs_mem_image_tracked). SQLITE_OK or SQLITE_NOMEM. */
int vfs_mem_image_track(vfs_mem_image *image, int on);
int vfs_mem_image_tracked(const vfs_mem_image *image, size_t group);

/* Delete the image called name. SQLITE_BUSY (nothing changed) while a handle has it
** open; SQLITE_OK also when it did not exist. */
int vfs_mem_image_delete(const char *name);

#endif /* SC_VFS_MEM_H */
