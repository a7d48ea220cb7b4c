/* barrier.c: Barrier: rounds of `parties` arrivals; broken by a timeout, an abort or a dead participant. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "shared/sync.h"
#include "sync_layout.h"

struct sp_barrier {
	struct sp_sync y;
};

int sp_barrier_open(const char *name, unsigned flags, unsigned parties, unsigned mode,
		    sp_barrier **out)
{
	/* parties matters only to the creator; an attacher may pass 0. */
	if ((parties == 0 && (flags & SP_CREATE)) || parties > SP_SEG_MAX_SLOTS)
		return -EINVAL;
	return sp_sync_new(sizeof(sp_barrier), name, flags, mode, SYNC_BARRIER, 0, parties,
			   (void **)out);
}

void sp_barrier_close(sp_barrier *b)
{
	if (!b)
		return;
	sp_sync_close(&b->y);
	free(b);
}

/* Under the mutex: ends the current round as broken.  Waiters of the round
 * get -EPIPE, and so does every wait until a reset. */
static void break_locked(sp_barrier *bar)
{
	struct sync_body *b = bar->y.b;
	uint32_t r = load_relaxed(&b->seq);

	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		struct sync_ent *e = &b->ent[i];

		if (load_relaxed(&e->b) == BAR_WAITING && load_relaxed(&e->a) == r &&
		    load_relaxed(&e->token))
			store_relaxed(&e->b, BAR_BROKEN);
	}
	store_relaxed(&b->count, 0);
	store_relaxed(&b->broken, 1);
	/* Release: the results above are visible to a waiter that sees the
	 * round end. */
	store_release(&b->seq, r + 1);
	sp_wake(&b->seq, SP_WAKE_ALL);
}

/* Takes the internal mutex.  A holder that died inside a barrier call was
 * a party: the barrier breaks. */
static int bar_lock(sp_barrier *bar)
{
	struct sp_wait w;
	int rc;

	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;

	sp_wait_start(&w, SP_FOREVER);
	rc = sp_rmutex_lock(&bar->y.seg, &bar->y.b->lock, &w);
	if (rc == -EOWNERDEAD) {
		break_locked(bar);
		rc = 0;
	}
	return rc;
}

static void bar_unlock(sp_barrier *bar)
{
	sp_rmutex_unlock(&bar->y.seg, &bar->y.b->lock);
}

/* Under the mutex: breaks the barrier if a participant died attached and
 * has not been counted yet.  Returns 1 if it broke it. */
static int check_dead_locked(sp_barrier *bar)
{
	struct sync_body *b = bar->y.b;

	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		/* Acquire: pairs with the joiner's release of its token. */
		uint32_t t = atomic_load_explicit(&bar->y.seg.slots[i].token, memory_order_acquire);

		if (t == 0 || t == bar->y.seg.token || t == load_relaxed(&b->ent[i].c))
			continue;
		if (sp_seg_alive(&bar->y.seg, t))
			continue;
		store_relaxed(&b->ent[i].c, t);     /* count each death once */
		break_locked(bar);
		return 1;
	}
	return 0;
}

int sp_barrier_wait(sp_barrier *bar, long long timeout_ns)
{
	struct sync_body *b = bar->y.b;
	struct sync_ent *me = &b->ent[bar->y.idx];
	uint32_t n, r, res;
	struct sp_wait w;
	int rc;

	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;

	sp_wait_start(&w, timeout_ns);
	rc = bar_lock(bar);
	if (rc)
		return rc;
	if (load_relaxed(&b->broken)) {
		bar_unlock(bar);
		return -EPIPE;
	}
	n = load_relaxed(&b->count);
	r = load_relaxed(&b->seq);
	if (n >= bar->y.g.param) {
		break_locked(bar);
		bar_unlock(bar);
		return -EBADMSG;
	}
	if (n + 1 == bar->y.g.param) {
		/* The last arrival: everyone of this round passes. */
		for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
			struct sync_ent *e = &b->ent[i];

			if (load_relaxed(&e->b) == BAR_WAITING && load_relaxed(&e->a) == r &&
			    load_relaxed(&e->token))
				store_relaxed(&e->b, BAR_PASSED);
		}
		store_relaxed(&b->count, 0);
		/* Release: the results are visible before the round ends. */
		store_release(&b->seq, r + 1);
		bar_unlock(bar);
		sp_wake(&b->seq, SP_WAKE_ALL);
		return (int)n;
	}
	store_relaxed(&me->token, bar->y.seg.token);
	store_relaxed(&me->a, r);
	store_relaxed(&me->b, BAR_WAITING);
	store_relaxed(&b->count, n + 1);
	bar_unlock(bar);

	for (;;) {
		/* Acquire: pairs with the release of seq by whoever ended the
		 * round: our result is written. */
		if (load_acquire(&b->seq) != r) {
			res = load_relaxed(&me->b);
			return res == BAR_PASSED ? (int)n : -EPIPE;
		}
		rc = sp_wait_sleep(&w, &b->seq, r);
		if (rc == 1) {
			rc = bar_lock(bar);
			if (rc)
				return rc;
			if (load_relaxed(&b->seq) == r)
				check_dead_locked(bar);
			bar_unlock(bar);
		} else if (rc < 0) {
			int lrc = bar_lock(bar);

			if (lrc)
				return lrc;
			if (load_relaxed(&b->seq) == r) {
				/* Our time ran out first: the barrier breaks. */
				break_locked(bar);
				bar_unlock(bar);
				return rc;
			}
			bar_unlock(bar);
		}
	}
}

int sp_barrier_reset(sp_barrier *bar)
{
	struct sync_body *b = bar->y.b;
	int rc = bar_lock(bar);

	if (rc)
		return rc;
	if (load_relaxed(&b->count) > 0)
		break_locked(bar);       /* current waiters get -EPIPE */
	store_relaxed(&b->count, 0);
	store_relaxed(&b->broken, 0);
	/* Deaths seen so far are forgiven: mark every dead slot counted. */
	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		uint32_t t = atomic_load_explicit(&bar->y.seg.slots[i].token, memory_order_acquire);

		if (t && t != bar->y.seg.token && !sp_seg_alive(&bar->y.seg, t))
			store_relaxed(&b->ent[i].c, t);
	}
	bar_unlock(bar);
	return 0;
}

int sp_barrier_abort(sp_barrier *bar)
{
	int rc = bar_lock(bar);

	if (rc)
		return rc;
	break_locked(bar);
	bar_unlock(bar);
	return 0;
}

unsigned sp_barrier_parties(sp_barrier *bar)
{
	return bar->y.g.param;
}

unsigned sp_barrier_n_waiting(sp_barrier *bar)
{
	/* Relaxed: a snapshot. */
	uint32_t n = load_relaxed(&bar->y.b->count);

	if (sp_seg_inherited(&bar->y.seg))
		return 0;
	return n < bar->y.g.param ? n : 0;
}

int sp_barrier_broken(sp_barrier *bar)
{
	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;

	return load_relaxed(&bar->y.b->broken) != 0;
}
