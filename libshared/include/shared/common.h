/* common.h: what every object of the library takes alike: names, open flags, time-outs, interruptible waits. */
#ifndef SHARED_COMMON_H
#define SHARED_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Names.  Every object (ring, queue, lock, value, dict, shared memory...) is
 * known by a short name: 1 to SP_NAME_MAX characters from [A-Za-z0-9._-],
 * not starting with '.'.  All kinds share one namespace: the name NAME is
 * the segment /dev/shm/shmpipe.NAME beside its lock file
 * /dev/shm/shmpipe.NAME.lock, and opening a name as the wrong kind fails
 * with -EPROTO.  Objects made of two (a queue, a pipe) take two names and
 * say so in their headers.
 */
#define SP_NAME_MAX 100

/* Checks a name.  Returns 0, -EINVAL or -ENAMETOOLONG. */
int sp_name_check(const char *name);

/* Flags of every *_open() call. */
#define SP_CREATE 0x1u         /* create the object if it does not exist */
#define SP_EXCL 0x2u           /* with SP_CREATE: fail with -EEXIST if it exists */

/* Wait arguments (timeout_ns) taken by every blocking call. */
#define SP_NOWAIT 0LL          /* fail at once with -EAGAIN */
#define SP_FOREVER (-1LL)      /* block until done */
/* Any positive value waits at most that many nanoseconds of CLOCK_MONOTONIC,
 * then fails with -ETIMEDOUT (a value too large to add to the clock, up to
 * LLONG_MAX, waits as SP_FOREVER does). */

/*
 * Interrupting waits (opt-in, one thread at a time).  By default no call of
 * this library ever returns -EINTR: a signal that interrupts a sleep only
 * makes the wait look again, and the wait goes on until done or timed out.
 *
 * sp_set_interrupt_fd(fd) makes every blocking wait the calling thread
 * starts afterwards, in every object of this library (Lock, RLock,
 * Semaphore, Event, Condition, Barrier, Queue, JoinableQueue, Pipe, rings,
 * Value and Array locks, dict and list mutexes, the interprocess lock),
 * return -EINTR when a signal arrived during it: when its futex sleep is
 * interrupted by a signal, or when fd is readable at the start of a sleep.
 * fd is meant to be the read end of a pipe the program's signal handlers
 * write a byte to (the self-pipe trick; Python's signal.set_wakeup_fd): it
 * is polled, never read, so the program drains it when it has handled the
 * signal (while it stays readable, every wait returns -EINTR at its first
 * sleep).  The check before each sleep closes the race of a signal that
 * lands between two sleeps: it is seen at most one sleep slice (up to
 * 50 ms) late, never missed.  fd -1 turns interruption off again.
 *
 * Per thread: the setting is the calling thread's (a forked child keeps the
 * forking thread's).  Waits of threads that did not opt in are unchanged,
 * so a program can leave signal handling to one thread, as Python does.
 * The library does not own fd: it neither reads nor closes it.
 *
 * What an interrupted call leaves: nothing taken, nothing lost.  A lock
 * not acquired is not held; a Queue or ring get that returns -EINTR took no
 * record; a put stored nothing; an interrupted sp_cond_wait() holds the
 * Condition's lock again (it returns 0 instead if it was notified); an
 * interrupted sp_barrier_wait() breaks the barrier, as a timeout does.
 * Calls without a timeout (releases, closes, notify) and the internal
 * re-acquisitions that restore a state (a Condition's lock after its wait)
 * are never interrupted.  The caller retries with the time left.
 *
 * Returns the thread's previous fd (-1 if none), or -EBADF if fd is neither
 * an open descriptor nor -1 (the setting is then unchanged).
 */
int sp_set_interrupt_fd(int fd);

#ifdef __cplusplus
}
#endif
#endif
