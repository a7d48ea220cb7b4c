/* seg.h: private: named shared-memory objects (segment + lock file) and their participant tables. */
#ifndef SP_SEG_H
#define SP_SEG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atomics.h"
#include "fork.h"

/*
 * Every named object of this library is a pair of files in /dev/shm:
 *
 *   shmpipe.NAME        the segment, created with shm_open("/shmpipe.NAME")
 *   shmpipe.NAME.lock   the lock file (a regular file beside it)
 *
 * Object kinds share one namespace: the segment's header says which kind it
 * is, and attaching as the wrong kind fails with -EPROTO.
 *
 * Why two kinds of file lock.  flock(2) locks belong to the open file
 * description and are released by the kernel when the last descriptor to it
 * closes, which includes process death; but a flock covers the whole file, so
 * it can say "someone holds it" and not "who".  OFD byte-range locks
 * (F_OFD_SETLK, Linux 3.15+) have the same lifetime rules, but cover byte
 * ranges, so each participant can hold one byte and anyone can ask, with
 * F_OFD_GETLK, whether the holder of byte i is still alive.  Classic POSIX
 * fcntl locks are unusable for this: they belong to the process, and closing
 * any descriptor of the file drops them all.  On Linux flock and OFD locks do
 * not interact, so the two uses below never contend with each other.
 *
 * Lock file layout (no data is ever written to it; only locks):
 *   flock(LOCK_EX)          serialises create, attach, repair and unlink.
 *   OFD write lock, byte 0  unused (reserved).
 *   OFD write lock, byte 1+i  held by the live participant in slot i.
 *
 * Lock order: the flock is taken before any OFD lock and held only for the
 * length of an open or unlink; nothing blocks on an OFD lock (only SETLK and
 * GETLK are used, never SETLKW), so there is no cycle.
 */

#define SP_SEG_PREFIX "shmpipe."
#define SP_SHM_DIR "/dev/shm/"

/* The common header that begins every segment.  Offsets in comments. */
struct sp_seg_hdr {
	uint64_t magic;          /*  0: SP_SEG_MAGIC */
	uint32_t version;        /*  8: SP_SEG_VERSION, the layout version */
	uint32_t kind;           /* 12: SP_KIND_*: what the segment holds */
	uint64_t size;           /* 16: file size, bytes */
	_Atomic uint32_t state;  /* 24: SP_SEG_INIT while created, SP_SEG_READY after */
	uint32_t nslots;         /* 28: participant slots (<= SP_SEG_MAX_SLOTS) */
	uint32_t slots_off;      /* 32: offset of the participant table */
	uint32_t body_off;       /* 36: offset of the kind's own header */
	int64_t created_ns;      /* 40: CLOCK_REALTIME at creation */
	uint32_t creator_pid;    /* 48 */
	uint32_t creator_uid;    /* 52 */
	_Atomic uint64_t retired[5]; /* 56: counters of slots since reused */
	uint8_t pad_[32];        /* 96: to 128 */
};
_Static_assert(sizeof(struct sp_seg_hdr) == 128, "segment header layout");

#define SP_SEG_MAGIC 0x65706970706d6873ull /* "shmpipe" little-endian */
/* The layout version of every kind: 4 since a queue's side segment counts
 * each handle's tasks with its token in one word and has no shared count
 * (3 counted both, and a process of each would miscount); 3 since the
 * ring's doorbells became futex words in its body (2 had named semaphores
 * beside it). */
#define SP_SEG_VERSION 4u
#define SP_SEG_INIT 1u
#define SP_SEG_READY 2u
#define SP_SEG_MAX_SLOTS 128u

enum sp_kind {
	SP_KIND_RING = 1,
	SP_KIND_SHM = 2,     /* plain named SharedMemory */
	SP_KIND_SYNC = 3,    /* locks, semaphores, events, conditions, barriers */
	SP_KIND_VALUE = 4,
	SP_KIND_DICT = 5,
	SP_KIND_LIST = 6,
	SP_KIND_PIPE = 7,
	SP_KIND_MAX_ = 32
};

/*
 * A participant slot: one per attached handle, 64 bytes, its own cache line.
 * token is written by the joiner under the flock; pid and role by the owner;
 * counters and aux by the owner only (relaxed load+store, no read-modify-
 * write: single writer), read by anyone.
 */
#define SP_SLOT_COUNTERS 5
struct sp_slot {
	_Atomic uint32_t token;  /*  0: (index+1)<<24 | generation; 0 while free */
	_Atomic uint32_t gen;    /*  4: generation of the last token issued */
	_Atomic uint32_t pid;    /*  8 */
	_Atomic uint32_t role;   /* 12: kind-specific role bits */
	_Atomic uint64_t count[SP_SLOT_COUNTERS]; /* 16: kind-specific counters */
	_Atomic uint64_t aux;    /* 56: kind-specific word (ring: position being taken + 1) */
};

/* A token names one attachment of one participant: never 0. */
#define SP_TOKEN_INDEX(t) (((t) >> 24) - 1u)
#define SP_TOKEN_GEN_MASK 0xffffffu

/*
 * Validate once, on a private copy, and use that copy.  A peer may write
 * any byte of a segment at any time, so a value checked in shared memory and
 * read there again may differ the second time.  So sp_seg_open() reads the
 * common header once (pread) into the handle's h and checks it there, and
 * copies the kind's geometry (the first geom_size bytes of its body, fixed
 * at creation) once into the kind's handle, where validate checks it.  From
 * then on the handle takes every size, offset and parameter from those
 * copies; in shared memory it reads only words that are meant to change,
 * each once per use, and bounds-checks what it read before using it.
 */

enum { SEG_LOCK_FD = 0, SEG_SHM_FD = 1 };

/* An open object in this process. */
struct sp_seg {
	unsigned char *base;     /* the mapping */
	size_t map_size;         /* bytes mapped (may exceed h.size) */
	struct sp_seg_hdr *hdr;  /* the live header: only its counters (retired) are read */
	struct sp_seg_hdr h;     /* private copy of the header, checked (sp_seg_hdr_read) */
	void *body;              /* the kind's body, at h.body_off */
	struct sp_slot *slots;
	struct sp_slot *me;      /* this handle's slot */
	uint32_t nslots;         /* h.nslots */
	uint32_t token;          /* this handle's token */
	struct sp_handle reg;    /* fork.h: fd[SEG_LOCK_FD] the lock file, holding our OFD
				  * byte; fd[SEG_SHM_FD] the segment, while opening */
	unsigned created;        /* 1 if this open created the object */
	char name[101];
};

/* Callbacks a kind gives sp_seg_open(). */
struct sp_seg_ops {
	enum sp_kind kind;
	/* Bytes of the kind's body, which must fit in the file at body_off. */
	size_t body_size;
	/* How many of its first bytes are fixed at creation: copied into the
	 * handle's geometry for validate, and used from there. */
	size_t geom_size;
	/* Size of the file for a new object, given the creation argument. */
	size_t (*size)(const void *arg);
	/* Initialises the kind's body (s->body) of a new, zero-filled segment
	 * (under the flock, before it is marked READY).  Returns 0 or -errno. */
	int (*init)(struct sp_seg *s, const void *arg);
	/* Checks geom, the private copy of the body's first geom_size bytes,
	 * against the checked header s->h (new and existing objects alike).
	 * Returns 0, -EPROTO or -EBADMSG. */
	int (*validate)(const struct sp_seg *s, const void *geom);
	/* Maps the segment; NULL for a plain mmap of the whole file.  Returns 0
	 * or -errno and sets s->base, s->map_size. */
	int (*map)(struct sp_seg *s, int fd, size_t size);
};

/* Opens (SP_CREATE: creates if missing; SP_EXCL: must not exist) the object
 * NAME of the given kind and joins its participant table.  mode: permission
 * bits for new objects (0: 0600).  geom: ops->geom_size bytes of the kind's
 * handle, which get the body's geometry, validated.  Returns 0 or -errno
 * (see ring.h). */
int sp_seg_open(struct sp_seg *s, const char *name, unsigned flags, unsigned mode,
		const struct sp_seg_ops *ops, const void *arg, void *geom);
/* Leaves the participant table and unmaps.  For an inherited handle (a
 * forked child's copy), only unmaps: the slot is the parent's. */
void sp_seg_close(struct sp_seg *s);

/* Is s a forked child's copy of a handle its parent opened?  Every call on
 * it fails with -ECHILD then, and touches nothing shared (fork.h). */
static inline int sp_seg_inherited(const struct sp_seg *s)
{
	return __builtin_expect(s->reg.inherited != 0, 0);
}
/* Removes NAME's segment and lock file.  Returns 0 or -ENOENT. */
int sp_seg_unlink(const char *name);

/* What the first bytes of a segment file say. */
enum sp_hdr_state {
	SP_HDR_OK,           /* a header of this layout version, whole and consistent */
	SP_HDR_UNFINISHED,   /* zeroes, or SP_SEG_INIT: its creator died under the flock */
	SP_HDR_FOREIGN,      /* not this library's, or another layout version */
	SP_HDR_CORRUPT,      /* ours, but its fields do not hold together */
};

/* The one parser of the common header: reads it from the segment file fd
 * (pread: a short or foreign file cannot fault) into the private copy *h,
 * zero-filled past what the file holds, and *file_size.  For SP_HDR_OK it
 * has checked every field a reader uses: READY, size equal to the file's,
 * the slot table and the body inside the file, the body 8-byte aligned
 * after the table.  Returns an sp_hdr_state, or -errno. */
int sp_seg_hdr_read(int fd, struct sp_seg_hdr *h, uint64_t *file_size);

/* Path helpers: "/shmpipe.NAME" and "/dev/shm/shmpipe.NAME.lock". */
int sp_seg_shm_name(char *buf, size_t size, const char *name, const char *suffix);
int sp_seg_lock_path(char *buf, size_t size, const char *name);

/* Is the participant holding token t alive?  1 alive, 0 dead (gone, or its
 * slot reused).  A system call (F_OFD_GETLK) unless t is ours. */
int sp_seg_alive(const struct sp_seg *s, uint32_t t);

/* Does a live participant hold slot i of the object whose lock file is
 * lockfd (an OFD lock on byte 1+i)?  1 yes, 0 no, -errno if the kernel
 * cannot tell.  A system call. */
int sp_seg_slot_held(int lockfd, unsigned i);

/* Owner-only counter update (single writer: relaxed load and store). */
static inline void sp_slot_add(struct sp_slot *sl, unsigned i, uint64_t v)
{
	store_relaxed(&sl->count[i], load_relaxed(&sl->count[i]) + v);
}

/* Sum of counter i over live and retired slots. */
uint64_t sp_seg_count(const struct sp_seg *s, unsigned i);

#endif
