/* cond.c: Condition: a lock plus per-handle waiting entries notified in arrival order. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "shared/sync.h"
#include "sync_layout.h"

struct sp_cond {
	struct sp_sync y;
};

int sp_cond_open(const char *name, unsigned flags, unsigned mode, sp_cond **out)
{
	return sp_sync_new(sizeof(sp_cond), name, flags, mode, SYNC_COND, 0, 0, (void **)out);
}

void sp_cond_close(sp_cond *c)
{
	if (!c)
		return;
	sp_rmutex_drop(&c->y.seg, &c->y.b->lock);
	sp_sync_close(&c->y);
	free(c);
}

int sp_cond_acquire(sp_cond *c, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&c->y.seg))
		return -ECHILD;

	sp_wait_start(&w, timeout_ns);
	return sp_rmutex_lock(&c->y.seg, &c->y.b->lock, &w);
}

int sp_cond_release(sp_cond *c)
{
	if (sp_seg_inherited(&c->y.seg))
		return -ECHILD;

	return sp_rmutex_unlock(&c->y.seg, &c->y.b->lock);
}

static int held(sp_cond *c)
{
	/* Relaxed: only this handle stores its own token there. */
	return load_relaxed(&c->y.b->lock.owner) == c->y.seg.token;
}

int sp_cond_wait(sp_cond *c, long long timeout_ns)
{
	struct sync_body *b = c->y.b;
	struct sync_ent *e = &b->ent[c->y.idx];
	struct sp_wait w, forever;
	uint32_t t, st;
	int rc = 0, lrc;

	if (sp_seg_inherited(&c->y.seg))
		return -ECHILD;

	if (!held(c))
		return -EPERM;
	/* Under the lock: take a ticket and register.  Release on the state:
	 * the ticket and token are written before a notifier can see us
	 * waiting (the notifier also holds the lock, which orders the same). */
	t = load_relaxed(&b->seq);
	store_relaxed(&b->seq, t + 1);
	store_relaxed(&e->token, c->y.seg.token);
	store_relaxed(&e->a, t);
	store_release(&e->b, COND_WAITING);
	sp_rmutex_unlock(&c->y.seg, &b->lock);

	sp_wait_start(&w, timeout_ns);
	for (;;) {
		/* Acquire: pairs with the notifier's release of NOTIFIED. */
		st = load_acquire(&e->b);
		if (st != COND_WAITING)
			break;
		rc = sp_wait_sleep(&w, &e->b, COND_WAITING);
		if (rc < 0)
			break;
		rc = 0;
	}
	/* Take the lock back, however long it takes: a live holder releases
	 * it, a dead one is taken over.  No signal ends this wait: an
	 * interrupted waiter holds the lock again, as in Python. */
	sp_wait_start_internal(&forever, SP_FOREVER);
	lrc = sp_rmutex_lock(&c->y.seg, &b->lock, &forever);
	if (lrc && lrc != -EOWNERDEAD)
		return lrc;
	/* Under the lock again: a notifier may have chosen us after our
	 * time ran out; then we count as notified, so no notification is lost. */
	st = load_relaxed(&e->b);
	store_relaxed(&e->b, COND_IDLE);
	if (lrc)
		return lrc;
	if (st == COND_NOTIFIED)
		return 0;
	if (st != COND_WAITING)
		return -EBADMSG;
	return rc ? rc : sp_wait_expired_rc(&w);
}

int sp_cond_wait_for(sp_cond *c, int (*pred)(void *arg), void *arg, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&c->y.seg))
		return -ECHILD;

	if (!held(c))
		return -EPERM;
	sp_wait_start(&w, timeout_ns);
	for (;;) {
		long long left = SP_FOREVER;
		int rc;

		if (pred(arg))
			return 0;
		if (timeout_ns == 0)
			return -EAGAIN;
		if (timeout_ns > 0) {
			left = w.deadline - sp_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		rc = sp_cond_wait(c, left);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			return pred(arg) ? 0 : -ETIMEDOUT;
		if (rc)
			return rc;
	}
}

/* Under the lock: notifies up to n live waiters, oldest ticket first. */
static int notify(sp_cond *c, unsigned n)
{
	struct sync_body *b = c->y.b;
	unsigned woken = 0;

	if (sp_seg_inherited(&c->y.seg))
		return -ECHILD;

	if (!held(c))
		return -EPERM;
	while (woken < n) {
		struct sync_ent *best = NULL;
		uint32_t best_t = 0;

		for (uint32_t i = 0; i < c->y.seg.nslots; i++) {
			struct sync_ent *e = &b->ent[i];
			uint32_t t;

			if (load_relaxed(&e->b) != COND_WAITING)
				continue;
			t = load_relaxed(&e->a);
			/* Tickets are free-running: compare by difference. */
			if (!best || (int32_t)(t - best_t) < 0) {
				best = e;
				best_t = t;
			}
		}
		if (!best)
			break;
		{
			uint32_t tok = load_relaxed(&best->token);
			uint32_t i = (uint32_t)(best - b->ent);

			if (!sp_token_valid(&c->y.seg, tok) || SP_TOKEN_INDEX(tok) != i ||
			    !sp_seg_alive(&c->y.seg, tok)) {
				/* Died waiting: forget it. */
				store_relaxed(&best->b, COND_IDLE);
				continue;
			}
		}
		/* Release: what we wrote under the lock is visible to the
		 * waiter (it also re-takes the lock before returning). */
		store_release(&best->b, COND_NOTIFIED);
		sp_wake(&best->b, 1);
		woken++;
	}
	return (int)woken;
}

int sp_cond_notify(sp_cond *c, unsigned n)
{
	return notify(c, n);
}

int sp_cond_notify_all(sp_cond *c)
{
	return notify(c, SP_SEG_MAX_SLOTS);
}
