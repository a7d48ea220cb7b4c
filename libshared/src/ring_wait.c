/* ring_wait.c: the ring's waits: spinning, then sleeping on a doorbell semaphore in slices. */
#include <errno.h>
#include <time.h>

#include "ring_int.h"

/* Rings a doorbell if someone sleeps on it: one post per event, or one per
 * sleeper for `all`, never more pending posts than sleepers, so the count
 * stays small.  The caller has just made its change (published a record,
 * freed space, sealed); a sleeper counts itself in `sleepers`, then makes a
 * heavy fence, then re-checks the ring.  With our light fence between the
 * change and the look at `sleepers`, either the sleeper sees the change or
 * we see the sleeper (fence.h). */
void sp_ring_doorbell_ring(_Atomic uint32_t *sleepers, sem_t *sem, int all)
{
	uint32_t n = load_relaxed(sleepers);
	int v = 0;

	/* There cannot be more sleepers than participants; a larger count
	 * is a peer's corruption, and must not make us post for ever. */
	if (n > SP_SEG_MAX_SLOTS)
		n = SP_SEG_MAX_SLOTS;
	if (!n || sem_getvalue(sem, &v) < 0 || v < 0 || (uint32_t)v >= n)
		return;
	for (uint32_t i = all ? n - (uint32_t)v : 1; i > 0; i--)
		sem_post(sem);
}

/* Counts a sleeper in, then the heavy half of the fence pair (fence.h):
 * after it, the caller's re-check of the ring sees every change whose
 * maker did not see the sleeper. */
void sp_ring_sleeper_in(_Atomic uint32_t *sleepers)
{
	atomic_fetch_add_explicit(sleepers, 1, memory_order_relaxed);
	fence_heavy();
}

/* After an attempt that would block: returns 0 to spin once more, 1 to go
 * to sleep, or -EAGAIN / -ETIMEDOUT to give up. */
int sp_ring_wait_phase(struct waiter *w)
{
	int64_t now;

	if (w->timeout == 0)
		return -EAGAIN;
	now = sp_now_ns();
	if (!w->start) {
		w->start = now;
		w->deadline = w->timeout < 0 ? INT64_MAX : now + w->timeout;
	}
	if (now >= w->deadline)
		return -ETIMEDOUT;
	if (now - w->start < w->spin) {
		/* A pause is ~27 ns on the development machine (AMD EPYC):
		 * one look at the ring every ~0.5 us.  Each look pulls the
		 * writer's cache line over, so looking much more often slows
		 * the writer; much less often adds latency. */
		for (unsigned i = 0; i < 16; i++)
			cpu_relax();
		return 0;
	}
	return 1;
}

/* Sleeps on sem for one slice at most, or until the deadline. */
void sp_ring_sleep_slice(sem_t *sem, const struct waiter *w)
{
	int64_t until = sp_now_ns() + SLICE_NS;
	struct timespec ts;

	if (until > w->deadline)
		until = w->deadline;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	/* EINTR and ETIMEDOUT alike send the caller back to re-check. */
	sem_clockwait(sem, CLOCK_MONOTONIC, &ts);
}
