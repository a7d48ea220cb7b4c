/* wait.c: deadlines on CLOCK_MONOTONIC and futex sleeps in bounded slices (see wait.h). */
#include "wait.h"

#include "shared/common.h"   /* sp_set_interrupt_fd */

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(_Atomic uint32_t) == 4, "a futex word is 32 bits");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "futex words must be lock-free atomics");

int64_t sp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The calling thread's interrupt fd (sp_set_interrupt_fd): per thread, so
 * that only the threads that handle signals are interrupted (a thread that
 * did not opt in would otherwise see the fd readable and fail every wait
 * until the signal-handling thread drained it). */
static _Thread_local int intr_fd = -1;

int sp_set_interrupt_fd(int fd)
{
	int old = intr_fd;

	if (fd < -1 || (fd >= 0 && fcntl(fd, F_GETFD) < 0))
		return -EBADF;
	intr_fd = fd;
	return old;
}

int sp_intr_fd(void)
{
	return intr_fd;
}

int sp_intr_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, 0);

	/* Only POLLIN counts: a write end closed (POLLHUP) or a descriptor
	 * the program closed (POLLNVAL) would otherwise fail every wait. */
	if (n < 0)
		return errno == EINTR;
	return n > 0 && (p.revents & POLLIN);
}

void sp_wait_start_at(struct sp_wait *w, long long timeout_ns, int64_t now)
{
	w->timeout_ns = timeout_ns;
	w->deadline = timeout_ns > 0 ? sp_deadline(now, timeout_ns) : 0;
	w->slice = SP_SLICE_MIN_NS;
	w->intr = intr_fd;
}

void sp_wait_start(struct sp_wait *w, long long timeout_ns)
{
	sp_wait_start_at(w, timeout_ns, timeout_ns > 0 ? sp_now_ns() : 0);
}

void sp_wait_start_internal(struct sp_wait *w, long long timeout_ns)
{
	sp_wait_start(w, timeout_ns);
	w->intr = -1;
}

int sp_wait_expired_rc(const struct sp_wait *w)
{
	return w->timeout_ns == 0 ? -EAGAIN : -ETIMEDOUT;
}

int sp_wait_over(const struct sp_wait *w)
{
	if (w->timeout_ns == 0)
		return 1;
	if (w->timeout_ns < 0)
		return 0;
	return sp_now_ns() >= w->deadline;
}

int sp_wait_sleep(struct sp_wait *w, _Atomic uint32_t *word, uint32_t val)
{
	long long ns = w->slice;
	int whole_slice = 1;
	struct timespec ts;
	long r;

	if (w->timeout_ns == 0)
		return -EAGAIN;
	if (w->timeout_ns > 0) {
		int64_t left = w->deadline - sp_now_ns();

		if (left <= 0)
			return -ETIMEDOUT;
		if (left < ns) {
			ns = left;
			whole_slice = 0;
		}
	}
	/* A signal that came since the last sleep (its handler wrote to the
	 * fd while we were awake) is seen here, before we sleep through it. */
	if (w->intr >= 0 && sp_intr_pending(w->intr))
		return -EINTR;
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	/* FUTEX_WAIT (not _PRIVATE: the word is in a MAP_SHARED mapping that
	 * other processes map at other addresses).  Its timeout is relative
	 * and measured on CLOCK_MONOTONIC.  The kernel compares *word with val
	 * under the futex bucket lock, so a waker that changed the word before
	 * we got here makes this return EAGAIN at once. */
	r = syscall(SYS_futex, (void *)word, FUTEX_WAIT, val, &ts, NULL, 0);
	if (r < 0 && errno == EINTR && w->intr >= 0)
		return -EINTR;
	if (r == 0 || errno == EAGAIN || errno == EINTR)
		return 0;
	if (errno != ETIMEDOUT)
		return 0;      /* EFAULT etc. cannot happen on a live mapping; re-check */
	if (w->slice < SP_SLICE_MAX_NS)
		w->slice *= 2;
	if (!whole_slice)
		return sp_wait_over(w) ? -ETIMEDOUT : 0;
	return 1;
}

int sp_wake(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, (void *)word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r > 0 ? (int)r : 0;
}
