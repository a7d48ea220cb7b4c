/* iplock.h: InterProcessLock: a lock file, exclusive or shared, that also excludes flock(1) and Python's fasteners. */
#ifndef SHARED_IPLOCK_H
#define SHARED_IPLOCK_H

#include "shared/common.h"   /* SP_NOWAIT, SP_FOREVER */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fasteners.InterProcessLock and InterProcessReaderWriterLock over any file
 * path.  The kernel releases the lock when its holder dies, so there is no
 * stale lock to clean up and no owner-death result: the next acquirer just
 * gets it.  The file is created if missing and never removed (removing a
 * lock file while others may open it is how lock files stop excluding).
 *
 * It takes two kinds of lock on the file, always in this order:
 *   1. flock(2), LOCK_EX or LOCK_SH: what util-linux flock(1) takes;
 *   2. an OFD record lock (F_OFD_SETLK) on the whole file, write or read:
 *      it conflicts with the classic fcntl/lockf record locks that
 *      fasteners (and Python's fcntl.lockf) take.
 * On Linux flock(2) locks and fcntl record locks never conflict with each
 * other, so either alone would let one of those tools in beside us.  The
 * fixed order (flock first) means two of our handles never hold one lock
 * each and wait for the other's; the foreign tools take only one kind,
 * so no cycle can form with them either.  OFD rather than classic fcntl
 * locks: classic locks belong to the process, so two handles of one
 * process would not exclude each other and closing any descriptor of the
 * file (another library opening it) would silently drop the lock.
 *
 * Shared mode (SP_IPLOCK_SHARED): any number of shared holders, or one
 * exclusive holder (a reader-writer lock; compatible with `flock -s` and
 * fasteners' read lock).  Writer preference is not given: a steady stream
 * of readers can keep a writer out, as with the tools themselves.
 *
 * Waiting: SP_FOREVER sleeps in the kernel (blocking flock, F_OFD_SETLKW);
 * a positive timeout retries the non-blocking calls with a sleep that
 * grows from 1 ms to 20 ms (neither call has a timed form), as fasteners
 * does; SP_NOWAIT tries once.
 *
 * A handle is one lock owner: two handles, even in one process, exclude
 * each other.  A handle must not be shared by threads that acquire it
 * concurrently.  The locks belong to the process that took them, not to
 * its forked children: a child's copy of the descriptor is closed at the
 * fork (the lock is released when the holder dies, whatever its children
 * do), and every call on an inherited handle fails with -ECHILD.
 */
typedef struct sp_iplock sp_iplock;

#define SP_IPLOCK_SHARED 0x1u

/* Opens (creating, mode 0: 0644) the lock file PATH.  Returns 0, or the
 * errors of open(2) as -errno. */
int sp_iplock_open(const char *path, unsigned mode, sp_iplock **out);
/* Closes the file; a lock still held is released. */
void sp_iplock_close(sp_iplock *l);
/* Acquires exclusively, or shared with SP_IPLOCK_SHARED.  Returns 0,
 * -EAGAIN (SP_NOWAIT), -ETIMEDOUT, -EDEADLK (this handle holds it
 * already), -EINVAL (bad flags), -EINTR (a signal, for a thread that opted
 * in with sp_set_interrupt_fd(): not held then; such a thread waits in naps
 * of up to 20 ms, not in the kernel), or a system call's error. */
int sp_iplock_acquire(sp_iplock *l, unsigned flags, long long timeout_ns);
/* Releases.  Returns 0 or -EPERM (not held by this handle). */
int sp_iplock_release(sp_iplock *l);
/* Returns 0 free here, 1 held exclusively, 2 held shared (by this handle). */
int sp_iplock_held(const sp_iplock *l);

#ifdef __cplusplus
}
#endif
#endif
