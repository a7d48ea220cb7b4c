/* shm.h: SharedMemory by name, and the listing and clean-up of every named object of this library. */
#ifndef SHARED_SHM_H
#define SHARED_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Python's multiprocessing.shared_memory.SharedMemory: a named block of
 * `size` bytes, zero-filled at creation, page-aligned, that any process
 * may attach by name.  The library gives no synchronisation over the bytes:
 * use a Lock (sync.h) or your own atomics.  The object is
 * /dev/shm/shmpipe.NAME plus its lock file, like every object here, so it
 * is listed, and cleaned up when stale, by the functions below.
 */
typedef struct sp_shm sp_shm;

#define SP_SHM_MAX_SIZE (1ull << 40)

/* Opens or creates the SharedMemory NAME.  size: bytes, needed to create
 * (1 to SP_SHM_MAX_SIZE); when attaching 0 means "whatever it is", else it
 * must not exceed the object's size (-EINVAL).  Returns 0, or as
 * sp_ring_open(). */
int sp_shm_open(const char *name, unsigned flags, size_t size, unsigned mode, sp_shm **out);
/* Unmaps and detaches; the object stays. */
void sp_shm_close(sp_shm *m);
/* Removes the object NAME.  Returns 0, -ENOENT, -EPROTO (another kind). */
int sp_shm_unlink(const char *name);
/* The bytes, page-aligned, and how many there are. */
void *sp_shm_data(sp_shm *m);
size_t sp_shm_size(const sp_shm *m);

/*
 * Listing: every object of this library in /dev/shm, of any kind (rings,
 * queues' and pipes' parts, sync objects, values, SharedMemory...).
 */
struct sp_obj_info {
	char name[SP_NAME_MAX + 1];
	unsigned kind;          /* SP_OBJ_KIND_* below, 0 if unknown */
	const char *kind_name;  /* "ring", "sync", "value", "shm", ... */
	uint64_t size;          /* bytes of the segment */
	long creator_pid;
	long creator_uid;
	int64_t created_ns;     /* CLOCK_REALTIME */
	unsigned attached;      /* live participants now */
	unsigned dead;          /* participants that died (or exited) attached */
	unsigned state;         /* SP_OBJ_* below */
};

#define SP_OBJ_OK 0            /* a well-formed object */
#define SP_OBJ_UNFINISHED 1    /* its creator died while creating it */
#define SP_OBJ_LOCK_ONLY 2     /* a lock file without its segment */
#define SP_OBJ_FOREIGN 3       /* a file of our name pattern that is not ours */

/* Calls fn for each object (stops early if fn returns non-zero).  Reads
 * the headers without attaching, and asks the kernel whether each
 * participant is alive (a system call each).  Returns the number of
 * objects seen, or -errno. */
int sp_objects_list(int (*fn)(const struct sp_obj_info *info, void *arg), void *arg);

/* Removes stale objects whose names begin with prefix (NULL or "": all
 * of them): those nobody alive is attached to, and that are
 * either unfinished, lock files without a segment, or objects one of whose
 * participants died attached.  With SP_STALE_UNUSED, also objects nobody
 * is attached to at all (careful: that includes objects deliberately left
 * for later).  Each removal happens under the object's flock after
 * checking again, so an object being opened at that moment is left alone.
 * Returns the number removed, or -errno. */
#define SP_STALE_UNUSED 0x1u
int sp_objects_remove_stale(const char *prefix, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
