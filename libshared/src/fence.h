/* fence.h: private: asymmetric StoreLoad fences: a cheap one for hot paths, a heavy one for sleepers. */
#ifndef SP_FENCE_H
#define SP_FENCE_H

#include <stdatomic.h>

/*
 * A sleeper and a waker form a Dekker pair: the sleeper stores "I sleep"
 * and then loads the ring's state; the waker stores the new state and then
 * loads "does anyone sleep?".  Each side needs a StoreLoad fence between its
 * store and its load, or both may miss the other's store (a lost wake-up).
 * Wakers run on every record; sleepers rarely.  So, as liburcu and Folly do,
 * the waker's fence is only a compiler barrier, and the sleeper's fence is
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which makes every CPU running
 * a registered process execute a full barrier before it returns: either the
 * waker's load came after that barrier, and sees "I sleep", or its store came
 * before it, and the sleeper's load sees the new state.
 *
 * Every process that opens a ring registers (sp_fence_init, once).  Where the
 * kernel refuses (old kernel, seccomp, valgrind), both fences are full
 * fences in that process.  A process without membarrier acting as a sleeper
 * cannot force a barrier on asymmetric wakers; the worst that costs is one
 * sleep slice of delay, never a lost record (every wait is bounded).
 */

extern int sp_fence_asym;  /* 1 once membarrier is registered in this process */

/* Registers this process for expedited global membarrier.  Idempotent. */
void sp_fence_init(void);

/* The waker's side, on the hot path. */
static inline void sp_fence_light(void)
{
	if (sp_fence_asym)
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
}

/* The sleeper's side, before it re-checks the ring and sleeps.  Returns 1
 * if every registered process made a barrier, 0 if only we did (no
 * membarrier here): callers whose correctness, not only latency, rests on
 * the pair must then fall back (ring_layout.h, bias). */
int sp_fence_heavy(void);

#endif
