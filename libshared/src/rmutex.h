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

/*
 * Internal mutexes: the ones the library takes inside a call and gives back
 * before returning (a Semaphore with SP_SEM_UNDO, the dict, the list, a
 * JoinableQueue's task counts).  Their holders keep them for a few stores,
 * never across a sleep.  sp_rmutex_enter() takes one for a call whose own
 * wait is w (already started):
 *   SP_FOREVER  as long as it takes (a dead holder is taken over);
 *   a timeout   until w's deadline: the internal wait spends the call's
 *               time, it does not add to it;
 *   SP_NOWAIT   for at most SP_RMUTEX_TRY_NS, then -EAGAIN.
 *
 * Why a try waits at all.  A try (SP_NOWAIT) promises not to wait for
 * something another process may never do: release a unit, put a message.
 * A peer inside an internal critical section is not that: it is part-way
 * through a few stores that need nothing from anyone, and finishes as soon
 * as it runs.  Failing then would make a try on a semaphore with units left,
 * or a lookup in a dict, fail for no reason the caller could see, merely
 * because another process was in the middle of its own call.  So a try
 * waits for such a holder as an ordinary call waits for a cache line: a
 * spin, then futex sleeps, so that a holder preempted on our CPU can run.
 *
 * Why only so long.  A holder that does not finish within SP_RMUTEX_TRY_NS
 * is not running: stopped (SIGSTOP, a debugger), or starved by a machine far
 * more loaded than its scheduler's time slices.  Waiting longer would make
 * the try as slow as that peer, which is what SP_NOWAIT excludes; so it
 * fails with -EAGAIN, as if the call would block, and takes nothing from the
 * holder (a stopped process is slow, not dead).  20 ms is several scheduler
 * slices on a busy machine and a thousand times a critical section that was
 * merely interrupted.  The same bound holds against a corrupt peer that
 * writes a live token into the word: timed and SP_NOWAIT calls still
 * return by their bound; only SP_FOREVER calls wait on it.
 */
#define SP_RMUTEX_TRY_NS 20000000LL

/* Takes the internal mutex m for the handle of s, waiting as w says (see
 * above; w's slices move on).  Returns as sp_rmutex_lock(), -EAGAIN for a
 * try that found the holder not finishing. */
int sp_rmutex_enter(const struct sp_seg *s, struct sp_rmutex *m, struct sp_wait *w);

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
