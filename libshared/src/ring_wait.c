/* ring_wait.c: the ring's waits: spinning, then sleeping on a doorbell futex in slices (wait.h). */
#include <errno.h>

#include "ring_int.h"
#include "rmutex.h"

/* Takes one set bit of bits (two words): clears it and returns its slot, or
 * -1 if none is set.  Whoever clears a bit has taken it: two wakers never
 * ring for the same sleep. */
static int take_sleeper(_Atomic uint64_t *bits)
{
	for (unsigned w = 0; w < 2; w++) {
		uint64_t v = load_relaxed(&bits[w]);

		while (v) {
			uint64_t bit = v & -v;

			/* Relaxed: the release increment of the bell orders
			 * our change before the wake-up, not this. */
			v = fetch_and_relaxed(&bits[w], ~bit);
			if (v & bit)
				return (int)(w * 64 + (unsigned)__builtin_ctzll(bit));
			/* Taken by another waker, or cleared by its owner. */
		}
	}
	return -1;
}

void sp_ring_doorbell_ring(sp_ring *r, unsigned role, int all)
{
	_Atomic uint64_t *bits = sleep_bits(r, role);
	int i;

	while ((i = take_sleeper(bits)) >= 0) {
		_Atomic uint32_t *bell = &r->b->bell[i];

		/* Release: pairs with the sleeper's acquire of its bell in
		 * sp_ring_sleep_begin(): a sleeper that reads the new value
		 * sees the change we rang for.  One that read the old value is
		 * either still on its way, and FUTEX_WAIT finds the word moved
		 * and returns, or asleep, and FUTEX_WAKE wakes it. */
		fetch_add_release(bell, 1);
		/* Woken: done, unless all are to be.  Nobody woken: it was
		 * on its way (it will not sleep), or it died asleep; either
		 * way ring the next sleeper too. */
		if (sp_wake(bell, 1) > 0 && !all)
			return;
	}
}

uint32_t sp_ring_sleep_begin(sp_ring *r, unsigned role)
{
	/* Acquire: pairs with the waker's release increment (see above). */
	uint32_t seq = load_acquire(&r->b->bell[r->slot]);

	/* Relaxed: the heavy fence below orders it before our re-check. */
	fetch_or_relaxed(&sleep_bits(r, role)[r->slot / 64], 1ull << (r->slot % 64));
	/* The heavy half of the fence pair with doorbell()'s light one
	 * (fence.h): after it, our re-check of the ring sees every change
	 * whose maker did not see our bit. */
	sp_fence_heavy();
	return seq;
}

void sp_ring_sleep_end(sp_ring *r, unsigned role)
{
	/* Relaxed: we are awake and re-check the ring next; if a waker took
	 * the bit already, this changes nothing. */
	fetch_and_relaxed(&sleep_bits(r, role)[r->slot / 64], ~(1ull << (r->slot % 64)));
}

/* After an attempt that would block: returns 0 to spin once more, 1 to go
 * to sleep, or -EAGAIN / -ETIMEDOUT / -EINTR to give up. */
int sp_ring_wait_phase(struct waiter *w)
{
	int64_t now;

	if (w->timeout == 0)
		return -EAGAIN;
	if (w->interrupted)
		return -EINTR;
	now = sp_now_ns();
	if (!w->start) {
		/* The clock is read only once a call has to wait. */
		w->start = now;
		sp_wait_start_at(&w->sw, w->timeout, now);
	} else if (w->timeout > 0 && now >= w->sw.deadline) {
		return -ETIMEDOUT;
	}
	if (now - w->start < w->spin) {
		/* A pause is ~27 ns on the development machine (AMD EPYC):
		 * one look at the ring every ~0.5 us.  Each look pulls the
		 * writer's cache line over, so looking much more often slows
		 * the writer; much less often adds latency. */
		for (unsigned i = 0; i < 16; i++)
			cpu_relax();
		return 0;
	}
	/* Before a sleep, ours or a caller's nap (bias_wait_out): a signal
	 * whose handler wrote to the interrupt fd ends the wait here. */
	if (w->sw.intr >= 0 && sp_intr_pending(w->sw.intr))
		return -EINTR;
	return 1;
}

/* A wait on a peer that holds something for a few stores: the claim lock,
 * or a biased owner inside its fast path.  Such a holder finishes as soon as
 * it runs, so a try waits for it too, but, as for the internal mutexes of
 * the other objects (rmutex.h, "Why a try waits at all" and "Why only so
 * long"), for SP_RMUTEX_TRY_NS at most: one that takes longer is not
 * running (stopped, or a live token a corrupt peer wrote), and is never
 * robbed.  A timed call waits for it until its own deadline, the same one
 * its other waits use: the call's whole time, not a second helping.
 * Returns 0 to look again, or -EAGAIN / -ETIMEDOUT; -EINTR for a thread
 * with an interrupt fd, once the holder has kept us a slice (a stopped
 * holder: an SP_FOREVER call must not be deaf to Ctrl-C behind it). */
int sp_ring_wait_holder(struct waiter *w)
{
	int64_t now = sp_now_ns();

	if (!w->start) {
		w->start = now;
		sp_wait_start_at(&w->sw, w->timeout, now);
	}
	if (w->timeout == 0)
		return now - w->start >= SP_RMUTEX_TRY_NS ? -EAGAIN : 0;
	if (w->timeout > 0 && now >= w->sw.deadline)
		return -ETIMEDOUT;
	if (w->sw.intr >= 0 && now - w->start >= SP_SLICE_MIN_NS && sp_intr_pending(w->sw.intr))
		return -EINTR;
	return 0;
}
