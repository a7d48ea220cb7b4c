/* sync.h: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier, by name, across unrelated processes. */
#ifndef SHARED_SYNC_H
#define SHARED_SYNC_H

#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"   /* SP_CREATE, SP_EXCL, SP_NOWAIT, SP_FOREVER, names */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The synchronisation family of Python's multiprocessing, shared by name
 * between processes that need not be related: any process that knows the
 * name opens the object (SP_CREATE creates it if missing, SP_EXCL insists on
 * creating it).  Each object is a small segment /dev/shm/shmpipe.NAME with
 * its lock file /dev/shm/shmpipe.NAME.lock (see common.h for names); all the
 * kinds here share the one namespace with rings and the other objects of
 * this library, and opening a name as the wrong kind fails with -EPROTO.
 *
 * Common contract of every function in this header:
 * - Returns 0 (or a non-negative result) on success, -errno on failure.
 * - Every wait takes timeout_ns: SP_NOWAIT (fail at once with -EAGAIN),
 *   SP_FOREVER, or a positive number of nanoseconds of CLOCK_MONOTONIC
 *   (then -ETIMEDOUT).  -EINTR is returned only to a thread that opted in
 *   with sp_set_interrupt_fd() (common.h), when a signal arrived during the
 *   wait; what each call leaves then is said there.
 * - Waits sleep on futexes in the shared memory in slices of at most 50 ms
 *   and re-check after each slice, so a participant that dies is noticed
 *   within about 50 ms; nothing waits forever on a dead process.
 * - A stopped process (SIGSTOP) is slow, not dead: nothing it holds is
 *   taken from it.  It costs the others a bounded wait: every call given a
 *   timeout returns by it, and an SP_NOWAIT call returns at once, or within
 *   20 ms where it needs an internal lock that the stopped process holds
 *   in the middle of its own call (docs/multiprocessing.md, "A stopped
 *   peer").  The calls without a timeout that need such a lock
 *   (sp_sem_release of an SP_SEM_UNDO semaphore, for one) wait for it to
 *   resume.
 * - A handle is one participant: the owner of a Lock is a handle (normally
 *   one per process).  Handles are not for sharing between threads that
 *   contend with each other: give each thread its own handle (up to 128
 *   handles per object).  A handle belongs to the process that opened it:
 *   in a forked child every call on an inherited handle fails with -ECHILD
 *   (those returning a count return 0) and touches nothing shared; its
 *   close releases nothing of the parent's.  The child opens its own.
 * - -EBADMSG means the shared memory holds an impossible value (a peer
 *   corrupted it); close the handle.
 * - Opening: -EINVAL (bad name or options), -ENOENT (missing, no
 *   SP_CREATE), -EEXIST (SP_EXCL), -EPROTO (another kind or type of object),
 *   -EUSERS (128 handles attached), and the system calls' errors.  Options
 *   are used only by the process that creates the object.
 * - Closing a handle releases whatever it still holds (a Lock, an RLock,
 *   Semaphore units taken with SP_SEM_UNDO) as if it had died, and frees
 *   its slot.  The object stays until sp_sync_unlink().
 *
 * What a survivor sees when a participant dies, per primitive, is written
 * at each one below and in docs/multiprocessing.md.
 */

/* Removes the synchronisation object NAME (any type in this header).
 * Processes attached keep working on their mapping.  Returns 0, -ENOENT,
 * or -EPROTO if NAME is an object of another kind (left alone). */
int sp_sync_unlink(const char *name);

/* ---------------------------------------------------------------- Lock */

/*
 * Lock: a mutual-exclusion lock owned by the handle that acquired it
 * (Python's multiprocessing.Lock, but releasing by another handle is an
 * error, -EPERM).  Non-recursive: acquiring it again through the handle
 * that holds it fails with -EDEADLK instead of hanging.
 *
 * Owner death: if the holder dies (or closes its handle) holding the lock,
 * the next acquirer takes it over within one slice and gets -EOWNERDEAD: it
 * now holds the lock, but the data the lock protects may be half updated
 * (as with a pthread robust mutex).  Repair or re-check that data, then go
 * on; there is no unrecoverable state.
 */
typedef struct sp_lock sp_lock;

/* Opens or creates the Lock NAME; mode: permission bits when creating
 * (0: 0600). */
int sp_lock_open(const char *name, unsigned flags, unsigned mode, sp_lock **out);
/* Detaches; releases the lock if this handle holds it. */
void sp_lock_close(sp_lock *l);
/* Acquires.  Returns 0, -EOWNERDEAD (acquired from a dead holder),
 * -EDEADLK, -EAGAIN, -ETIMEDOUT.  Safe with any number of processes. */
int sp_lock_acquire(sp_lock *l, long long timeout_ns);
/* Releases.  Returns 0 or -EPERM (not held by this handle).  Never blocks. */
int sp_lock_release(sp_lock *l);
/* Returns 1 if some handle holds the lock now (a snapshot), else 0. */
int sp_lock_locked(sp_lock *l);

/* --------------------------------------------------------------- RLock */

/*
 * RLock: a recursive lock (Python's multiprocessing.RLock): the handle that
 * holds it may acquire it again; it is free once released as many times.
 * Releasing by a handle that does not hold it is -EPERM.  Owner death is as
 * for Lock: the next acquirer gets -EOWNERDEAD and holds it once (count 1).
 */
typedef struct sp_rlock sp_rlock;

/* Opens or creates the RLock NAME; mode as for sp_lock_open(). */
int sp_rlock_open(const char *name, unsigned flags, unsigned mode, sp_rlock **out);
/* Detaches; releases the lock entirely if this handle holds it. */
void sp_rlock_close(sp_rlock *l);
/* Acquires (again).  Returns 0, -EOWNERDEAD, -EAGAIN, -ETIMEDOUT, or
 * -EOVERFLOW past 2^32 - 1 nested acquisitions. */
int sp_rlock_acquire(sp_rlock *l, long long timeout_ns);
/* Releases once.  Returns 0 or -EPERM.  Never blocks. */
int sp_rlock_release(sp_rlock *l);
/* Returns how many times this handle holds the lock (0 if it does not). */
unsigned sp_rlock_count(sp_rlock *l);
/* Who holds the lock, as multiprocessing's RLock tells it (held here, by
 * another thread of this process, by another process): the pid of the
 * holding handle's process, or 0 if nobody holds it; -EBADMSG if the lock
 * word is impossible.  A snapshot: it may have changed on return.  Whether
 * it is this handle: sp_rlock_count() > 0. */
pid_t sp_rlock_owner(sp_rlock *l);

/* ----------------------------------------------------------- Semaphore */

/*
 * Semaphore and BoundedSemaphore: a counter of units; acquire takes one,
 * waiting while there is none; release returns n.
 *
 * SP_SEM_BOUNDED: releasing past the initial value fails with -EOVERFLOW
 * (Python's BoundedSemaphore raises ValueError).
 *
 * SP_SEM_UNDO: units are held by the handle that acquired them, as SysV's
 * SEM_UNDO: a release by that handle gives back one of its units, and when
 * the handle closes or its process dies, its units are returned to the
 * semaphore (by whoever next finds the semaphore empty, within a slice).
 * Use it for a pool of resources (the nightclub: a dead guest must not keep
 * its place forever).  Do not use it for a signalling semaphore, where one
 * process releases what another acquires for good: the consumer's units
 * would come back when it exits.  Without SP_SEM_UNDO a process that dies
 * between acquire and release keeps its unit forever, as in Python.
 *
 * Without SP_SEM_UNDO every change of the count is one atomic CAS: a
 * process killed or stopped anywhere in a call holds nothing.  With
 * SP_SEM_UNDO, the count and the holders' records change together under
 * the semaphore's internal robust mutex through an undo journal, so a
 * process killed in the middle of acquire or release leaves the semaphore
 * as if the call had not started, and one stopped there costs an acquire
 * at most its timeout (see the common contract).
 */
typedef struct sp_sem sp_sem;

#define SP_SEM_BOUNDED 0x1u
#define SP_SEM_UNDO 0x2u
#define SP_SEM_VALUE_MAX 0x7fffffffu

struct sp_sem_opts {
	unsigned value;    /* initial value (and bound); up to SP_SEM_VALUE_MAX */
	unsigned flags;    /* SP_SEM_BOUNDED, SP_SEM_UNDO */
	unsigned mode;     /* permission bits; 0: 0600 */
};

/* Opens or creates the Semaphore NAME (opts may be NULL: value 1, no
 * flags).  Returns 0 or an error (see the common contract). */
int sp_sem_open(const char *name, unsigned flags, const struct sp_sem_opts *opts, sp_sem **out);
/* Detaches; with SP_SEM_UNDO, returns the units this handle holds. */
void sp_sem_close(sp_sem *s);
/* Takes one unit, waiting while there is none.  Returns 0, -EAGAIN,
 * -ETIMEDOUT.  Safe with any number of processes. */
int sp_sem_acquire(sp_sem *s, long long timeout_ns);
/* Returns n units (n >= 1) and wakes waiters.  Returns 0, -EINVAL (n == 0),
 * -EOVERFLOW (bounded: past the initial value; or past SP_SEM_VALUE_MAX;
 * nothing is released then).  Never blocks without SP_SEM_UNDO; with it,
 * waits for the internal mutex, which its holders keep for a few stores (a
 * stopped holder: until it resumes). */
int sp_sem_release(sp_sem *s, unsigned n);
/* Returns the current value (a snapshot), or -errno. */
int sp_sem_value(sp_sem *s);
/* Returns how many units this handle holds (SP_SEM_UNDO), else 0. */
unsigned sp_sem_held(sp_sem *s);

/* --------------------------------------------------------------- Event */

/*
 * Event: a flag that processes wait for (Python's Event).  set() wakes every
 * waiter; clear() lowers it.  Lock-free: one atomic word, nothing to
 * recover.  A survivor of a dead setter simply keeps waiting until its
 * timeout: an event cannot know who would have set it.
 */
typedef struct sp_event sp_event;

/* Opens or creates the Event NAME (created lowered); mode as for Lock. */
int sp_event_open(const char *name, unsigned flags, unsigned mode, sp_event **out);
/* Detaches. */
void sp_event_close(sp_event *e);
/* Raises the flag and wakes all waiters.  Returns 0.  Never blocks. */
int sp_event_set(sp_event *e);
/* Lowers the flag.  Returns 0.  Never blocks. */
int sp_event_clear(sp_event *e);
/* Returns 1 if the flag is up, else 0. */
int sp_event_is_set(sp_event *e);
/* Waits until the flag is up.  Returns 0 (it is, or was, up), -EAGAIN,
 * -ETIMEDOUT. */
int sp_event_wait(sp_event *e, long long timeout_ns);

/* ----------------------------------------------------------- Condition */

/*
 * Condition: a condition variable with its own lock (Python's Condition;
 * the lock is a non-recursive Lock here, where Python defaults to an
 * RLock).  Acquire the condition, test your predicate on the shared data,
 * wait (which releases the lock while it sleeps and takes it back before
 * returning), and notify from any process that changes the data while
 * holding the lock.
 *
 * notify(n) wakes the n longest-waiting live handles; waiters that died are
 * skipped (and forgotten), so a notification is never spent on the dead.
 * A waiter that dies after being notified takes that notification with it.
 * The lock is a robust mutex: if its holder dies, the next acquirer, or a
 * waiter taking the lock back, gets -EOWNERDEAD and holds the lock.
 */
typedef struct sp_cond sp_cond;

/* Opens or creates the Condition NAME; mode as for Lock. */
int sp_cond_open(const char *name, unsigned flags, unsigned mode, sp_cond **out);
/* Detaches; releases the lock if this handle holds it. */
void sp_cond_close(sp_cond *c);
/* Takes the condition's lock.  As sp_lock_acquire(). */
int sp_cond_acquire(sp_cond *c, long long timeout_ns);
/* Releases it.  As sp_lock_release(). */
int sp_cond_release(sp_cond *c);
/* Releases the lock, waits to be notified or for timeout_ns, and takes the
 * lock back (that last step waits as long as it takes: the lock's holder
 * is either alive and will release it, or dead and is taken over; a
 * stopped holder delays the return until it resumes and releases, as in
 * Python and POSIX: the timeout bounds the wait for a notification, not
 * for the caller's own lock), so the lock is held on every return except
 * -EPERM.  Returns 0 (notified),
 * -ETIMEDOUT or -EAGAIN (not notified), -EOWNERDEAD (the lock was taken
 * over from a dead holder; re-check the data), -EPERM (the lock was not
 * held by this handle). */
int sp_cond_wait(sp_cond *c, long long timeout_ns);
/* Waits until pred(arg) returns non-zero, evaluating it with the lock held
 * (first before any wait), for at most timeout_ns overall.  Returns 0 when
 * the predicate holds, -ETIMEDOUT/-EAGAIN if it still does not at the end,
 * -EOWNERDEAD as sp_cond_wait() (the predicate was then not re-tested),
 * -EPERM. */
int sp_cond_wait_for(sp_cond *c, int (*pred)(void *arg), void *arg, long long timeout_ns);
/* Wakes up to n waiters (the longest waiting first).  The caller must hold
 * the lock.  Returns how many were woken, or -EPERM. */
int sp_cond_notify(sp_cond *c, unsigned n);
/* Wakes every waiter.  As sp_cond_notify(). */
int sp_cond_notify_all(sp_cond *c);

/* ------------------------------------------------------------- Barrier */

/*
 * Barrier: `parties` processes wait until all have arrived (Python's
 * Barrier).  sp_barrier_wait() returns a distinct index 0 .. parties-1 to
 * each; the barrier then starts over for the next round.
 *
 * Broken barrier (-EPIPE, Python's BrokenBarrierError): the barrier breaks
 * when a wait times out (that waiter gets -ETIMEDOUT, the others -EPIPE),
 * when sp_barrier_abort() is called, or when a participant dies: a waiter
 * that has slept a slice checks every handle attached to the barrier, and a
 * handle whose process died (or that was never closed before its process
 * exited) breaks the barrier once.  Every wait on a broken barrier fails at
 * once with -EPIPE until sp_barrier_reset().  Recover by resetting it once
 * the survivors agree (for instance through another Barrier or an Event).
 *
 * Lock-free: every change is one atomic CAS, so a party stopped anywhere
 * in a call holds nothing; it is a party that is late (or, once counted,
 * one that learns its round's outcome when it resumes).
 */
typedef struct sp_barrier sp_barrier;

/* Opens or creates the Barrier NAME for `parties` processes (1 to 128;
 * ignored when attaching, where it may be 0). */
int sp_barrier_open(const char *name, unsigned flags, unsigned parties, unsigned mode,
		    sp_barrier **out);
/* Detaches (close before exiting: an unclosed handle counts as dead). */
void sp_barrier_close(sp_barrier *b);
/* Arrives and waits for the others.  Returns this arrival's index (0 ..
 * parties-1), -EPIPE (broken, before or while waiting), -ETIMEDOUT or
 * -EAGAIN (this wait ran out: the barrier is now broken for the others). */
int sp_barrier_wait(sp_barrier *b, long long timeout_ns);
/* As sp_barrier_wait(), and the last to arrive calls action(arg) before
 * anyone is released (Python's Barrier(action=)); the others go on waiting
 * meanwhile (their timeouts still run), and a party of the next round
 * waits to arrive until the round has passed (if its own time runs out
 * then, it breaks nothing: it never arrived).  An action that returns
 * non-zero breaks the barrier: its caller gets -ECANCELED, the others
 * -EPIPE.  If the round ended while the action ran (a waiter timed out, an
 * abort, a reset, a death), the action's caller gets -EPIPE as the others.
 * action NULL: as sp_barrier_wait().  Only the last arrival's action runs;
 * the others' may differ or be NULL.  An action that never returns holds
 * the round: the others' timeouts, or the death of its process, end it. */
int sp_barrier_wait_action(sp_barrier *b, long long timeout_ns, int (*action)(void *arg),
			   void *arg);
/* Returns the barrier to its initial state; processes waiting now get
 * -EPIPE.  Returns 0. */
int sp_barrier_reset(sp_barrier *b);
/* Breaks the barrier: current and future waits get -EPIPE until reset.
 * Returns 0. */
int sp_barrier_abort(sp_barrier *b);
/* Snapshots: the number of parties, how many wait now, 1 if broken. */
unsigned sp_barrier_parties(sp_barrier *b);
unsigned sp_barrier_n_waiting(sp_barrier *b);
int sp_barrier_broken(sp_barrier *b);

#ifdef __cplusplus
}
#endif
#endif
