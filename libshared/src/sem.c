/* sem.c: Semaphore and BoundedSemaphore, with optional per-holder undo of a dead holder's units. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
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

/* Takes the internal mutex; after a dead holder, undoes its half-done
 * update.  Returns 0 or -errno (the mutex is not held then). */
static int sem_lock(sp_sem *s)
{
	struct sp_wait w;
	int rc;

	/* The mutex is held for a few stores and never across a sleep, and a
	 * dead holder is taken over within a slice: waiting without a limit
	 * here is bounded in practice, even for SP_NOWAIT callers. */
	sp_wait_start(&w, SP_FOREVER);
	rc = sp_rmutex_lock(&s->y.seg, &s->y.b->lock, &w);
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

int sp_sem_acquire(sp_sem *s, long long timeout_ns)
{
	struct sync_body *b = s->y.b;
	struct sync_ent *me = &b->ent[s->y.idx];
	int undo = !!(s->y.g.flags & SP_SEM_UNDO), must_reap = 1;
	struct sp_wait w;

	if (sp_seg_inherited(&s->y.seg))
		return -ECHILD;

	sp_wait_start(&w, timeout_ns);
	for (;;) {
		uint32_t v;
		int rc = sem_lock(s);

		if (rc)
			return rc;
		v = load_relaxed(&b->count);
		if (v == 0 && undo && must_reap) {
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
			if (undo && load_relaxed(&me->token) != s->y.seg.token) {
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
			if (undo)
				sp_jnl_set32(&s->y.seg, &b->jnl, &me->a, load_relaxed(&me->a) + 1);
			sp_jnl_commit(&b->jnl);
			sem_unlock(s);
			return 0;
		}
		/* Counted under the mutex: a releaser, which takes the mutex
		 * after us, sees the count and wakes us. */
		fetch_add_relaxed(&b->waiters, 1);
		sem_unlock(s);
		rc = sp_wait_sleep(&w, &b->count, 0);
		/* Relaxed: a hint; a releaser that still sees us only wakes
		 * for nothing. */
		fetch_sub_relaxed(&b->waiters, 1);
		if (rc == 1)
			must_reap = 1;
		if (rc < 0) {
			/* We may have taken a wake-up meant for a taker: pass
			 * it on if units are left. */
			if (load_relaxed(&b->count) && load_relaxed(&b->waiters))
				sp_wake(&b->count, 1);
			return rc;
		}
	}
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
	rc = sem_lock(s);
	if (rc)
		return rc;
	v = load_relaxed(&b->count);
	if (v > SP_SEM_VALUE_MAX) {
		sem_unlock(s);
		return -EBADMSG;
	}
	if ((uint64_t)v + n > SP_SEM_VALUE_MAX ||
	    ((s->y.g.flags & SP_SEM_BOUNDED) && (uint64_t)v + n > s->y.g.param)) {
		sem_unlock(s);
		return -EOVERFLOW;
	}
	sp_jnl_set32(&s->y.seg, &b->jnl, &b->count, v + n);
	if ((s->y.g.flags & SP_SEM_UNDO) && load_relaxed(&me->token) == s->y.seg.token) {
		uint32_t a = load_relaxed(&me->a);

		sp_jnl_set32(&s->y.seg, &b->jnl, &me->a, a > n ? a - n : 0);
	}
	sp_jnl_commit(&b->jnl);
	sem_unlock(s);
	/* Relaxed: waiters was raised under the mutex we just held. */
	if (load_relaxed(&b->waiters))
		sp_wake(&b->count, (int)(n < SP_WAKE_ALL ? n : SP_WAKE_ALL));
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
	if ((s->y.g.flags & SP_SEM_UNDO) && sp_sem_held(s) && sem_lock(s) == 0) {
		int rc = give_back(s, &s->y.b->ent[s->y.idx]);

		sem_unlock(s);
		if (rc > 0 && load_relaxed(&s->y.b->waiters))
			sp_wake(&s->y.b->count, rc);
	}
	sp_sync_close(&s->y);
	free(s);
}
