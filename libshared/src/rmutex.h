/* rmutex.h: private: a robust mutex in shared memory whose word holds its owner's participant token. */
#ifndef SP_RMUTEX_H
#define SP_RMUTEX_H

#include <stdatomic.h>
#include <stdint.h>

#include "seg.h"
#include "wait.h"

/*
 * A robust mutex: 8 bytes in a segment.
 *
 *   0 owner    (atomic u32, futex word) 0 when free, else the owner's
 *              participant token (seg.h): which handle holds it.
 *   4 waiters  (atomic u32) sleepers on owner; a hint that lets unlock skip
 *              the wake-up system call.  A sleeper that dies leaves it one
 *              too high, which costs only useless wake-ups.
 *
 * The owner is a handle (one attachment of one process), not a thread.
 * Taking: CAS owner 0 -> token.  Releasing: store 0, then wake one sleeper.
 * A waiter that sleeps a whole slice (wait.h) asks whether the owner is
 * alive (sp_seg_alive: the owner's OFD byte on the lock file, which the
 * kernel drops when the owner's process dies or its handle closes); if not,
 * it takes the mutex over by CAS from the dead token and reports
 * -EOWNERDEAD: it holds the mutex, and what the mutex protects may be half
 * updated.  The CAS from that exact token makes the take-over happen once
 * even when several waiters notice together; tokens carry a generation, so
 * a reused slot never makes a dead owner look alive or a live one dead.
 */
struct sp_rmutex {
	_Atomic uint32_t owner;
	_Atomic uint32_t waiters;
};
_Static_assert(sizeof(struct sp_rmutex) == 8, "robust mutex layout");

/* Takes m for the handle of s, waiting as w says.  Returns 0; -EOWNERDEAD
 * (taken over from a dead owner: held now, data possibly inconsistent);
 * -EDEADLK (this handle holds it already); -EAGAIN / -ETIMEDOUT; -EBADMSG
 * (the word holds an impossible token). */
int sp_rmutex_lock(const struct sp_seg *s, struct sp_rmutex *m, struct sp_wait *w);

/* Releases m.  Returns 0, or -EPERM if this handle does not hold it. */
int sp_rmutex_unlock(const struct sp_seg *s, struct sp_rmutex *m);

/* Releases m if this handle holds it (used at close).  Returns 1 if it did. */
int sp_rmutex_drop(const struct sp_seg *s, struct sp_rmutex *m);

/* Is a token one that this segment could have issued?  (Bounds check of a
 * value read from shared memory.) */
static inline int sp_token_valid(const struct sp_seg *s, uint32_t t)
{
	return t != 0 && (t >> 24) >= 1 && SP_TOKEN_INDEX(t) < s->nslots;
}

#endif
