/* sync_layout.h: private: the shared-memory layout of the synchronisation objects (kind SP_KIND_SYNC). */
#ifndef SP_SYNC_LAYOUT_H
#define SP_SYNC_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "rmutex.h"
#include "seg.h"

/*
 * File layout of a synchronisation object NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_SYNC
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct sync_body      below (body_off, checked on every open)
 *
 * One body layout serves every type; the fields' meaning per type is in the
 * table after the struct.  Entries ent[i] belong to participant slot i (the
 * handle whose token has index i); an entry is stale when its token is not
 * that handle's current token.
 */
enum sync_type {
	SYNC_LOCK = 1,
	SYNC_RLOCK = 2,
	SYNC_SEM = 3,
	SYNC_EVENT = 4,
	SYNC_COND = 5,
	SYNC_BARRIER = 6,
	SYNC_QUEUE = 7,      /* the side segment of a Queue (queue.c) */
	SYNC_TYPE_MAX_
};

struct sync_ent {
	union {
		struct {
			_Atomic uint32_t token;  /* 0: whose entry (0: none) */
			_Atomic uint32_t a;      /* 4 */
		};
		/* QUEUE only, which never uses token and a apart: both as
		 * one word, token | a << 32 (token at +0, a at +4 on the
		 * little-endian machines Linux runs this on), so that an
		 * entry changes hands and counts in one atomic step. */
		_Atomic uint64_t ta;             /* 0 */
	};
	_Atomic uint32_t b;      /* 8 */
	_Atomic uint32_t c;      /* 12 */
};

struct sync_body {
	uint32_t type;             /*   0: enum sync_type, fixed at creation */
	uint32_t flags;            /*   4: SP_SEM_* / queue flags, fixed */
	uint32_t param;            /*   8: semaphore bound, barrier parties, fixed */
	uint32_t magic;            /*  12: SYNC_MAGIC */
	struct sp_rmutex lock;     /*  16: the user's lock or the internal one */
	_Atomic uint32_t count;    /*  24: see the table */
	_Atomic uint32_t seq;      /*  28: see the table (futex word) */
	_Atomic uint32_t waiters;  /*  32: sleepers on count or seq (a hint) */
	_Atomic uint32_t broken;   /*  36: queue shut down */
	_Atomic uint64_t joining[2]; /* 40: QUEUE: slots asleep in join() (bit i % 64 of word i / 64) */
	_Atomic uint32_t gets;     /*  56: QUEUE: gets so far, bounded queues (futex word) */
	uint8_t pad0_[4];          /*  60 */
	struct sp_jnl jnl;         /*  64: undo journal of the internal mutex */
	uint8_t pad1_[56];         /* 328 */
	struct sync_ent ent[SP_SEG_MAX_SLOTS]; /* 384: per participant slot */
};                                 /* 2432 bytes */
_Static_assert(sizeof(struct sync_body) == 2432, "sync body layout");
_Static_assert(sizeof(struct sync_ent) == 16, "sync entry layout");

/* The body's first four words, fixed at creation: each handle keeps a
 * validated copy (struct sp_sync.g) and reads them only there. */
struct sync_geom {
	uint32_t type, flags, param, magic;
};
_Static_assert(offsetof(struct sync_body, magic) == offsetof(struct sync_geom, magic) &&
	       sizeof(struct sync_geom) == offsetof(struct sync_body, lock), "sync geometry");

#define SYNC_MAGIC 0x434e5953u  /* "SYNC" */
#define SYNC_BODY_OFF (sizeof(struct sp_seg_hdr) + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot))

/*
 * Fields per type, and the lock rules.
 *
 * LOCK     lock.owner = holder's token (futex word).  count, seq unused.
 *          Lock rules: lock.owner moves by CAS only (take, take-over) and
 *          by the holder's release store.
 * RLOCK    as LOCK; count = recursion depth, written only by the holder
 *          (it is meaningful only while lock.owner is that holder).
 * SEM      count = value (futex word for sleepers); param = initial value;
 *          flags = SP_SEM_*; waiters = sleepers on count (a hint);
 *          ent[i] = {token, a = units held (UNDO)}.
 *          Lock rules: without SP_SEM_UNDO, count moves by CAS only and
 *          lock, jnl and ent[] are unused; with it, count and ent[] change
 *          only under the internal mutex `lock`, through the journal.
 *          count is read lock-free.
 * EVENT    count = the flag, 0 or 1 (futex word); written by atomic store.
 * COND     lock = the condition's user lock; seq = next ticket;
 *          ent[i] = {token, a = ticket, b = state (futex word:
 *          COND_IDLE, COND_WAITING, COND_NOTIFIED)}.
 *          Lock rules: seq and ent[] change only under the user lock,
 *          except the waiter's own futex sleep on ent[i].b, which reads.
 * BARRIER  param = parties; count = the state word (futex word: arrived,
 *          broken, how the round before ended, round number; barrier.c);
 *          ent[i] = {token, b = round << 2 | BAR_WAITING / BAR_PASSED /
 *          BAR_BROKEN, c = token of slot i already counted as dead}.
 *          Lock rules: no mutex; count moves by CAS only; ent[i].b is
 *          written by its owner before the CAS that counts it, and else
 *          only by CAS from "round | BAR_WAITING"; ent[i].c by CAS (reset:
 *          store).  seq, broken, lock are unused.
 * QUEUE    broken = shut down; flags = queue flags; param = maxsize (0:
 *          none); ent[i] = {ta = the handle's token | tasks it got and
 *          nobody has marked done << 32, b = 1 while the handle is inside a
 *          put (futex word for a getter waiting to tell "drained")}; seq =
 *          join()'s futex word; joining = slots asleep in join() (queue.c);
 *          lock = the admission mutex of a bounded queue's puts; gets =
 *          bumped after each get of a bounded queue (futex word for putters
 *          waiting for room).  count is unused.  Lock rules: ent[i].ta moves
 *          by CAS or atomic add only, so every change of it (a task counted,
 *          a task done, the entry given up and taken over) is one atomic
 *          step; ent[i].b is written only by its owner (and reset by the next
 *          handle of slot i before it takes ta); joining bits are set and
 *          cleared by their joiner and taken (cleared) by wakers; lock is
 *          held by a bounded put for its size check and a put that does not
 *          wait, never across a sleep; gets by atomic add.
 */
enum { COND_IDLE = 0, COND_WAITING = 1, COND_NOTIFIED = 2 };
enum { BAR_WAITING = 1, BAR_PASSED = 2, BAR_BROKEN = 3 };

/* An open synchronisation object. */
struct sp_sync {
	struct sp_seg seg;
	struct sync_body *b;
	struct sync_geom g;      /* type, flags, param: the validated copy */
	uint32_t idx;            /* our participant slot: ent[idx] is ours */
};

/* Opens NAME as a synchronisation object of type `type`, creating it with
 * flags/param when asked.  Returns 0, -EPROTO (another type), or as
 * sp_seg_open(). */
int sp_sync_open(struct sp_sync *y, const char *name, unsigned oflags, unsigned mode,
		 uint32_t type, uint32_t flags, uint32_t param);
void sp_sync_close(struct sp_sync *y);

/* Allocates a handle struct of `size` bytes whose first member is a struct
 * sp_sync, and opens it.  Returns 0 and *out, or -errno. */
int sp_sync_new(size_t size, const char *name, unsigned oflags, unsigned mode,
		uint32_t type, uint32_t flags, uint32_t param, void **out);

/* The entry of slot i, or NULL if i is out of range. */
static inline struct sync_ent *sync_ent(struct sp_sync *y, uint32_t i)
{
	return i < y->seg.nslots ? &y->b->ent[i] : NULL;
}

#endif
