/* wait.h: private: deadlines on CLOCK_MONOTONIC and futex sleeps in bounded slices. */
#ifndef SP_WAIT_H
#define SP_WAIT_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * Why futexes.  The processes sharing an object are unrelated, so the only
 * things they share are the mapping and the kernel.  A futex is a wait queue
 * the kernel keys on the physical page and offset of a 32-bit word, so it
 * works on any MAP_SHARED mapping at any address (the non-_PRIVATE
 * operations), needs no extra named object, and FUTEX_WAIT compares the word
 * atomically with going to sleep, which closes the lost-wake-up window.
 * Named POSIX semaphores would work too but add a file per doorbell and a
 * count nobody could trust after a crash.
 *
 * Why slices.  A process that dies cannot wake anyone.  So no sleep here is
 * longer than one slice (SP_SLICE_MIN_NS doubling up to SP_SLICE_MAX_NS);
 * after a slice the caller re-checks its condition and, where the object has
 * owners, their liveness (sp_seg_alive).  A dead participant is therefore
 * noticed within SP_SLICE_MAX_NS, and nothing waits forever on the dead.
 */
#define SP_SLICE_MIN_NS 1000000LL      /* 1 ms */
#define SP_SLICE_MAX_NS 50000000LL     /* 50 ms */

/*
 * Interruption (ring.h, sp_set_interrupt_fd).  A wait takes the calling
 * thread's interrupt fd when it starts (sp_wait_start); with one, a sleep
 * returns -EINTR when the fd is readable before it (a signal handler wrote
 * to it between two sleeps) or the futex sleep was interrupted by a signal.
 * Waits that restore a state or have no timeout (a Condition's lock taken
 * back, internal mutexes of calls that cannot fail) start with
 * sp_wait_start_internal() and are never interrupted.
 */

/* A wait in progress: the caller's deadline and the current slice. */
struct sp_wait {
	long long timeout_ns;   /* as given: SP_NOWAIT (0), SP_FOREVER (<0) or > 0 */
	int64_t deadline;       /* CLOCK_MONOTONIC ns, when timeout_ns > 0 */
	int64_t slice;          /* length of the next sleep */
	int intr;               /* interrupt fd, -1: signals do not end this wait */
};

/* Current CLOCK_MONOTONIC time in nanoseconds: the library's one clock. */
int64_t sp_now_ns(void);

/* The deadline timeout_ns (> 0) after now, saturated: a timeout too long to
 * add (up to LLONG_MAX) gives INT64_MAX, which no clock reaches. */
static inline int64_t sp_deadline(int64_t now, long long timeout_ns)
{
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* Starts a wait of timeout_ns (SP_NOWAIT, SP_FOREVER or a positive time). */
void sp_wait_start(struct sp_wait *w, long long timeout_ns);
/* The same, for a caller that has just read the clock (now). */
void sp_wait_start_at(struct sp_wait *w, long long timeout_ns, int64_t now);
/* sp_wait_start() for a wait that signals never end (see above). */
void sp_wait_start_internal(struct sp_wait *w, long long timeout_ns);

/* The calling thread's interrupt fd, -1 if it did not opt in. */
int sp_intr_fd(void);
/* Has a signal arrived for the interrupt fd fd (>= 0)?  1 if fd is
 * readable (or the poll itself was interrupted), else 0. */
int sp_intr_pending(int fd);

/* The error a wait that ran out returns: -EAGAIN for SP_NOWAIT, else
 * -ETIMEDOUT. */
int sp_wait_expired_rc(const struct sp_wait *w);

/* Sleeps while *word == val, for at most one slice and never past the
 * deadline.  Returns:
 *   0           woken or the word changed: re-check the condition;
 *   1           a whole slice passed: re-check, including liveness;
 *   -ETIMEDOUT  the deadline has passed (-EAGAIN for SP_NOWAIT);
 *   -EINTR      only for a wait with an interrupt fd: a signal arrived
 *               (the fd was readable, or the sleep was interrupted).
 * Without an interrupt fd an interrupted sleep returns 0. */
int sp_wait_sleep(struct sp_wait *w, _Atomic uint32_t *word, uint32_t val);

/* Has the deadline passed?  Returns 1 if so (always for SP_NOWAIT). */
int sp_wait_over(const struct sp_wait *w);

/* Wakes up to n sleepers on word (n = SP_WAKE_ALL: all).  Returns how many
 * the kernel woke (0: nobody was asleep on it). */
int sp_wake(_Atomic uint32_t *word, int n);

#define SP_WAKE_ALL 0x7fffffff

#endif
