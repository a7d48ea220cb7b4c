/* lock.c: Lock and RLock: robust mutexes owned by a handle, taken over from a dead owner. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "rmutex.h"
#include "shared/sync.h"
#include "sync_layout.h"

struct sp_lock {
	struct sp_sync y;
};

struct sp_rlock {
	struct sp_sync y;
};

int sp_lock_open(const char *name, unsigned flags, unsigned mode, sp_lock **out)
{
	return sp_sync_new(sizeof(sp_lock), name, flags, mode, SYNC_LOCK, 0, 0, (void **)out);
}

void sp_lock_close(sp_lock *l)
{
	if (!l)
		return;
	sp_rmutex_drop(&l->y.seg, &l->y.b->lock);
	sp_sync_close(&l->y);
	free(l);
}

int sp_lock_acquire(sp_lock *l, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&l->y.seg))
		return -ECHILD;

	sp_wait_start(&w, timeout_ns);
	return sp_rmutex_lock(&l->y.seg, &l->y.b->lock, &w);
}

int sp_lock_release(sp_lock *l)
{
	if (sp_seg_inherited(&l->y.seg))
		return -ECHILD;

	return sp_rmutex_unlock(&l->y.seg, &l->y.b->lock);
}

int sp_lock_locked(sp_lock *l)
{
	if (sp_seg_inherited(&l->y.seg))
		return -ECHILD;

	/* Relaxed: a snapshot for display; orders nothing. */
	return load_relaxed(&l->y.b->lock.owner) != 0;
}

int sp_rlock_open(const char *name, unsigned flags, unsigned mode, sp_rlock **out)
{
	return sp_sync_new(sizeof(sp_rlock), name, flags, mode, SYNC_RLOCK, 0, 0, (void **)out);
}

void sp_rlock_close(sp_rlock *l)
{
	if (!l)
		return;
	sp_rmutex_drop(&l->y.seg, &l->y.b->lock);
	sp_sync_close(&l->y);
	free(l);
}

int sp_rlock_acquire(sp_rlock *l, long long timeout_ns)
{
	struct sync_body *b = l->y.b;
	struct sp_wait w;
	uint32_t n;
	int rc;

	if (sp_seg_inherited(&l->y.seg))
		return -ECHILD;

	/* Relaxed: only we ever store our own token into owner, so reading it
	 * back needs no ordering; count is ours while we own the lock. */
	if (load_relaxed(&b->lock.owner) == l->y.seg.token) {
		n = load_relaxed(&b->count);
		if (n == UINT32_MAX)
			return -EOVERFLOW;
		store_relaxed(&b->count, n + 1);
		return 0;
	}
	sp_wait_start(&w, timeout_ns);
	rc = sp_rmutex_lock(&l->y.seg, &b->lock, &w);
	if (rc == 0 || rc == -EOWNERDEAD)
		store_relaxed(&b->count, 1);   /* ordered by the mutex */
	return rc;
}

int sp_rlock_release(sp_rlock *l)
{
	struct sync_body *b = l->y.b;
	uint32_t n;

	if (sp_seg_inherited(&l->y.seg))
		return -ECHILD;

	if (load_relaxed(&b->lock.owner) != l->y.seg.token)
		return -EPERM;
	n = load_relaxed(&b->count);
	if (n > 1) {
		store_relaxed(&b->count, n - 1);
		return 0;
	}
	store_relaxed(&b->count, 0);
	return sp_rmutex_unlock(&l->y.seg, &b->lock);
}

unsigned sp_rlock_count(sp_rlock *l)
{
	struct sync_body *b = l->y.b;

	if (sp_seg_inherited(&l->y.seg))
		return 0;

	if (load_relaxed(&b->lock.owner) != l->y.seg.token)
		return 0;
	return load_relaxed(&b->count);
}

pid_t sp_rlock_owner(sp_rlock *l)
{
	struct sp_seg *s = &l->y.seg;
	uint32_t t;

	if (sp_seg_inherited(s))
		return -ECHILD;

	/* Relaxed: a snapshot, as sp_lock_locked(); the token is untrusted
	 * and bounds-checked before it indexes the slot table. */
	t = load_relaxed(&l->y.b->lock.owner);
	if (t == 0)
		return 0;
	if (!sp_token_valid(s, t))
		return -EBADMSG;
	return (pid_t)load_relaxed(&s->slots[SP_TOKEN_INDEX(t)].pid);
}
