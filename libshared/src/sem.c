/* sem.c: Semaphore and BoundedSemaphore, with optional per-holder undo of a dead holder's units. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "crashpoint.h"
#include "shared/sync.h"
#include "sync_layout.h"

struct sp_sem {
	struct sp_sync y;
};

int sp_sem_open(const char *name, unsigned flags, const struct sp_sem_opts *opts, sp_sem **out)
{
	struct sp_sem_opts def = { .value = 1 };

	if (!opts)
		opts = &def;
	if (opts->value > SP_SEM_VALUE_MAX || (opts->flags & ~(SP_SEM_BOUNDED | SP_SEM_UNDO)))
		return -EINVAL;
	return sp_sync_new(sizeof(sp_sem), name, flags, opts->mode, SYNC_SEM, opts->flags,
			   opts->value, (void **)out);
}

/*
 * Two implementations behind one API:
 *
 * Without SP_SEM_UNDO the value is one word, `count`, and every change is
 * one CAS on it: nothing to make crash-atomic, no mutex, so no process,
 * stopped or dead anywhere in a call, ever makes another wait for it.
 *
 * With SP_SEM_UNDO a change moves units between `count` and a holder's
 * entry, several words at once: under the internal mutex, through the
 * journal.  A call given a timeout spends it waiting for the mutex too
 * (sp_rmutex_enter), so a peer stopped inside a call on the semaphore costs
 * an acquire its timeout (a try: SP_RMUTEX_TRY_NS), never a hang.  Release
 * and close have no timeout and wait for such a peer to go on.
 *
 * Sleepers: a waiter counts itself in `waiters`, then sleeps on count == 0
 * (the kernel compares).  Without SP_SEM_UNDO the waiter's increment and the
 * releaser's CAS of count are seq_cst, and so is the releaser's read of
 * waiters after it: a Dekker pair, so either the releaser sees the sleeper
 * and wakes it, or the sleeper's FUTEX_WAIT sees the new count.  With
 * SP_SEM_UNDO the mutex orders the same: the waiter counts itself under
 * it, the releaser reads waiters after its own turn.
 */

/* Takes the internal mutex (SP_SEM_UNDO only), waiting as w says; after a
 * dead holder, undoes its half-done update.  Returns 0 or -errno (the
 * mutex is not held then). */
static int sem_lock(sp_sem *s, struct sp_wait *w)
{
	int rc = sp_rmutex_enter(&s->y.seg, &s->y.b->lock, w);

	if (rc == -EOWNERDEAD) {
		rc = sp_jnl_undo(&s->y.seg, &s->y.b->jnl);
		if (rc < 0) {
			sp_rmutex_unlock(&s->y.seg, &s->y.b->lock);
			return rc;
		}
		rc = 0;
	}
	return rc;
}

/* sem_lock() for the calls without a timeout, which no signal interrupts
 * (release and close cannot fail with -EINTR). */
static int sem_lock_forever(sp_sem *s)
{
	struct sp_wait w;

	sp_wait_start_internal(&w, SP_FOREVER);
	return sem_lock(s, &w);
}

static void sem_unlock(sp_sem *s)
{
	sp_rmutex_unlock(&s->y.seg, &s->y.b->lock);
}

/* Under the mutex: returns the units entry e holds to the semaphore and
 * clears it.  Returns the units returned, or -EBADMSG. */
static int give_back(sp_sem *s, struct sync_ent *e)
{
	struct sync_body *b = s->y.b;
	uint32_t a = load_relaxed(&e->a), v = load_relaxed(&b->count);

	if (a > SP_SEM_VALUE_MAX || (uint64_t)v + a > SP_SEM_VALUE_MAX)
		return -EBADMSG;
	sp_jnl_set32(&s->y.seg, &b->jnl, &b->count, v + a);
	sp_jnl_set32(&s->y.seg, &b->jnl, &e->a, 0);
	sp_jnl_set32(&s->y.seg, &b->jnl, &e->token, 0);
	sp_jnl_commit(&b->jnl);
	return (int)a;
}

/* Under the mutex: gives back the units of every holder that is dead or
 * closed.  Returns how many units came back, or -EBADMSG. */
static int reap(sp_sem *s)
{
	struct sync_body *b = s->y.b;
	int total = 0;

	if (!(s->y.g.flags & SP_SEM_UNDO))
		return 0;
	for (uint32_t i = 0; i < s->y.seg.nslots; i++) {
		struct sync_ent *e = &b->ent[i];
		uint32_t t = load_relaxed(&e->token);
		int rc;

		if (t == 0 || load_relaxed(&e->a) == 0 || t == s->y.seg.token)
			continue;
		if (sp_token_valid(&s->y.seg, t) && SP_TOKEN_INDEX(t) == i &&
		    sp_seg_alive(&s->y.seg, t))
			continue;
		rc = give_back(s, e);
		if (rc < 0)
			return rc;
		total += rc;
	}
	/* Relaxed: waiters is counted under the mutex we hold. */
	if (total > 1 && load_relaxed(&b->waiters))
		sp_wake(&b->count, total);
	return total;
}

/* Sleeps while count is 0, as one step of an acquire's wait, the caller
 * having counted itself in waiters.  Returns sp_wait_sleep()'s result. */
static int sleep_empty(sp_sem *s, struct sp_wait *w)
{
	struct sync_body *b = s->y.b;
	int rc = sp_wait_sleep(w, &b->count, 0);

	/* Relaxed: a hint; a releaser that still sees us only wakes for
	 * nothing. */
	fetch_sub_relaxed(&b->waiters, 1);
	if (rc < 0) {
		/* We may have taken a wake-up meant for a taker: pass it on
		 * if units are left. */
		if (load_relaxed(&b->count) && load_relaxed(&b->waiters))
			sp_wake(&b->count, 1);
	}
	return rc;
}

/* Acquire without SP_SEM_UNDO: a CAS of count from v > 0 to v - 1. */
static int acquire_plain(sp_sem *s, struct sp_wait *w)
{
	_Atomic uint32_t *count = &s->y.b->count;

	for (;;) {
		/* Acquire (the CAS's failure order too): what the releaser
		 * wrote before its release is visible once we hold the unit. */
		uint32_t v = load_acquire(count);
		int rc;

		while (v > 0) {
			if (v > SP_SEM_VALUE_MAX)
				return -EBADMSG;
			/* seq_cst: a unit taken is ordered as the releasers'
			 * changes are (the Dekker pair needs only theirs). */
			if (cas_weak_seq_cst_acquire(count, &v, v - 1))
				return 0;
		}
		if (w->timeout_ns == 0)
			return -EAGAIN;
		/* seq_cst: the sleeper's half of the Dekker pair (above). */
		fetch_add_seq_cst(&s->y.b->waiters, 1);
		rc = sleep_empty(s, w);
		if (rc < 0)
			return rc;
	}
}

/* Acquire with SP_SEM_UNDO: under the mutex, through the journal. */
static int acquire_undo(sp_sem *s, struct sp_wait *w)
{
	struct sync_body *b = s->y.b;
	struct sync_ent *me = &b->ent[s->y.idx];
	int must_reap = 1;

	for (;;) {
		uint32_t v;
		int rc = sem_lock(s, w);

		if (rc)
			return rc;
		CRASH_POINT("sem.locked");
		v = load_relaxed(&b->count);
		if (v == 0 && must_reap) {
			must_reap = 0;
			rc = reap(s);
			if (rc < 0) {
				sem_unlock(s);
				return rc;
			}
			v = load_relaxed(&b->count);
		}
		if (v > SP_SEM_VALUE_MAX) {
			sem_unlock(s);
			return -EBADMSG;
		}
		if (v > 0) {
			if (load_relaxed(&me->token) != s->y.seg.token) {
				/* Our slot's previous handle left this entry. */
				if (load_relaxed(&me->a)) {
					rc = give_back(s, me);
					if (rc < 0) {
						sem_unlock(s);
						return rc;
					}
					v = load_relaxed(&b->count);
				}
				sp_jnl_set32(&s->y.seg, &b->jnl, &me->a, 0);
				sp_jnl_set32(&s->y.seg, &b->jnl, &me->token, s->y.seg.token);
			}
			sp_jnl_set32(&s->y.seg, &b->jnl, &b->count, v - 1);
			sp_jnl_set32(&s->y.seg, &b->jnl, &me->a, load_relaxed(&me->a) + 1);
			sp_jnl_commit(&b->jnl);
			sem_unlock(s);
			return 0;
		}
		if (w->timeout_ns == 0) {
			sem_unlock(s);
			return -EAGAIN;
		}
		/* Counted under the mutex: a releaser, which takes the mutex
		 * after us, sees the count and wakes us; one that took it
		 * before left count > 0, and our FUTEX_WAIT sees it. */
		fetch_add_relaxed(&b->waiters, 1);
		sem_unlock(s);
		rc = sleep_empty(s, w);
		if (rc == 1)
			must_reap = 1;
		if (rc < 0)
			return rc;
	}
}

int sp_sem_acquire(sp_sem *s, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&s->y.seg))
		return -ECHILD;
	sp_wait_start(&w, timeout_ns);
	return s->y.g.flags & SP_SEM_UNDO ? acquire_undo(s, &w) : acquire_plain(s, &w);
}

/* Checks that n more units fit.  Returns 0, -EOVERFLOW, -EBADMSG. */
static int room(const sp_sem *s, uint32_t v, unsigned n)
{
	if (v > SP_SEM_VALUE_MAX)
		return -EBADMSG;
	if ((uint64_t)v + n > SP_SEM_VALUE_MAX ||
	    ((s->y.g.flags & SP_SEM_BOUNDED) && (uint64_t)v + n > s->y.g.param))
		return -EOVERFLOW;
	return 0;
}

/* Wakes up to n sleepers, if there are any, after count grew by n. */
static void wake(sp_sem *s, unsigned n)
{
	struct sync_body *b = s->y.b;

	/* seq_cst: the releaser's second half of the Dekker pair (above);
	 * with SP_SEM_UNDO the mutex we held orders it already. */
	if (load_seq_cst(&b->waiters))
		sp_wake(&b->count, (int)(n < SP_WAKE_ALL ? n : SP_WAKE_ALL));
}

int sp_sem_release(sp_sem *s, unsigned n)
{
	struct sync_body *b = s->y.b;
	struct sync_ent *me = &b->ent[s->y.idx];
	uint32_t v;
	int rc;

	if (sp_seg_inherited(&s->y.seg))
		return -ECHILD;
	if (n == 0)
		return -EINVAL;
	if (!(s->y.g.flags & SP_SEM_UNDO)) {
		v = load_relaxed(&b->count);
		do {
			rc = room(s, v, n);
			if (rc)
				return rc;
			/* seq_cst: releases what we wrote before to the taker
			 * (acquire), and is the first half of the Dekker pair. */
		} while (!cas_weak_seq_cst(&b->count, &v, v + n));
		CRASH_POINT("sem.released");
		wake(s, n);
		return 0;
	}
	rc = sem_lock_forever(s);
	if (rc)
		return rc;
	CRASH_POINT("sem.locked");
	v = load_relaxed(&b->count);
	rc = room(s, v, n);
	if (rc) {
		sem_unlock(s);
		return rc;
	}
	sp_jnl_set32(&s->y.seg, &b->jnl, &b->count, v + n);
	if (load_relaxed(&me->token) == s->y.seg.token) {
		uint32_t a = load_relaxed(&me->a);

		sp_jnl_set32(&s->y.seg, &b->jnl, &me->a, a > n ? a - n : 0);
	}
	sp_jnl_commit(&b->jnl);
	sem_unlock(s);
	wake(s, n);
	return 0;
}

int sp_sem_value(sp_sem *s)
{
	/* Relaxed: a snapshot. */
	uint32_t v = load_relaxed(&s->y.b->count);

	if (sp_seg_inherited(&s->y.seg))
		return -ECHILD;
	return v > SP_SEM_VALUE_MAX ? -EBADMSG : (int)v;
}

unsigned sp_sem_held(sp_sem *s)
{
	struct sync_ent *me = &s->y.b->ent[s->y.idx];

	if (sp_seg_inherited(&s->y.seg))
		return 0;

	if (load_relaxed(&me->token) != s->y.seg.token)
		return 0;
	return load_relaxed(&me->a);
}

void sp_sem_close(sp_sem *s)
{
	if (!s)
		return;
	if ((s->y.g.flags & SP_SEM_UNDO) && sp_sem_held(s) && sem_lock_forever(s) == 0) {
		int rc = give_back(s, &s->y.b->ent[s->y.idx]);

		sem_unlock(s);
		if (rc > 0)
			wake(s, (unsigned)rc);
	}
	sp_sync_close(&s->y);
	free(s);
}
