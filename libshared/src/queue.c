/* queue.c: Queue and JoinableQueue: the ring for messages, a sync segment for shutdown and unfinished tasks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "crashpoint.h"
#include "shared/queue.h"
#include "shared/sync.h"
#include "sync_layout.h"

/*
 * The side segment NAME.q is a synchronisation object of type SYNC_QUEUE
 * (sync_layout.h gives its fields: count = unfinished tasks, broken = shut
 * down, ent[i].a = tasks handle i got and has not marked done).
 *
 * Order of a joinable put: the ring's reserve (where a put blocks), copy,
 * count += 1, then the ring's commit.  So a task is counted before anyone
 * can get it, and join() never returns while a message is in the ring; a
 * putter killed while blocked has counted nothing.
 *
 * Order of a joinable get: the ring's peek (the record is ours now, and is
 * redelivered if we die), copy, our ent.a += 1, then the ring's release.
 *
 * Known limits, each a window of a few instructions: a putter killed
 * between its count and its commit leaves a task counted that never comes
 * (join() then times out); a getter killed between its ent.a += 1 and the
 * release makes its task both redelivered and given up (join() may return
 * one task early).  Every other death point leaves the count exact.
 */
struct sp_queue {
	sp_ring *ring;
	struct sp_sync y;
	struct sp_msg pending;   /* a record peeked for a get that was too small */
	int has_pending;
	int joinable;
};

static int side_name(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s.q", name ? name : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Claims ent[i] from a dead or closed handle whose token is t and gives its
 * unfinished tasks up.  Safe against other reapers (CAS on the token). */
static void give_up(sp_queue *q, struct sync_ent *e, uint32_t t, uint32_t into)
{
	struct sync_body *b = q->y.b;
	/* Relaxed: the dead owner's stores are visible (its death was seen
	 * through the kernel); the CAS below makes us the only reader. */
	uint32_t a = load_relaxed(&e->a), cur;

	if (!cas_acq_rel(&e->token, &t, into))
		return;
	store_relaxed(&e->a, 0);
	if (!a)
		return;
	cur = load_relaxed(&b->count);
	/* Clamp at zero: a corrupt or double-counted entry must not wrap.
	 * Acquire-release, as every change of count: release, so that what
	 * was done for the tasks counted off happens before a joiner's
	 * acquire load sees the lower count; acquire, so that whoever takes
	 * it to zero and wakes the joiners has seen every earlier change. */
	while (!cas_weak_acq_rel(&b->count, &cur, cur > a ? cur - a : 0))
		;
	if (cur <= a)
		sp_wake(&b->count, SP_WAKE_ALL);
}

static void reap(sp_queue *q)
{
	for (uint32_t i = 0; i < q->y.seg.nslots; i++) {
		struct sync_ent *e = &q->y.b->ent[i];
		uint32_t t = load_acquire(&e->token);

		if (t == 0 || t == q->y.seg.token || load_relaxed(&e->a) == 0)
			continue;
		if (sp_token_valid(&q->y.seg, t) && SP_TOKEN_INDEX(t) == i &&
		    sp_seg_alive(&q->y.seg, t))
			continue;
		give_up(q, e, t, 0);
	}
}

int sp_queue_open(const char *name, unsigned flags, const struct sp_queue_opts *opts,
		  sp_queue **out)
{
	struct sp_queue_opts def = { 0 };
	struct sp_ring_opts ro = { 0 };
	char side[SP_NAME_MAX + 8];
	struct sync_ent *me;
	sp_queue *q;
	uint32_t t;
	int rc;

	if (!out)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (opts->flags & ~SP_QUEUE_JOINABLE)
		return -EINVAL;
	rc = sp_name_check(name);
	if (rc)
		return rc;
	rc = side_name(side, sizeof(side), name);
	if (rc || strlen(side) > SP_NAME_MAX)
		return -ENAMETOOLONG;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	/* The side segment first: SP_EXCL applies to it, so of two racing
	 * creators exactly one wins. */
	rc = sp_sync_open(&q->y, side, flags, opts->mode, SYNC_QUEUE, opts->flags, 0);
	if (rc) {
		free(q);
		return rc;
	}
	/* The validated copy (sync.c checked its bits). */
	q->joinable = !!(q->y.g.flags & SP_QUEUE_JOINABLE);
	ro.capacity = opts->capacity;
	ro.mode = opts->mode;
	ro.writers = 1;        /* one shutdown seals the ring for everyone */
	rc = sp_ring_open(name, flags & SP_CREATE, &ro, &q->ring);
	if (rc)
		goto fail;
	/* Take over our entry from our slot's previous handle (closed or
	 * dead), giving up the tasks it still had. */
	me = &q->y.b->ent[q->y.idx];
	t = load_acquire(&me->token);
	if (t != q->y.seg.token) {
		if (t)
			give_up(q, me, t, 0);
		store_relaxed(&me->a, 0);
		/* Release: a reaper that sees our token sees a = 0. */
		store_release(&me->token, q->y.seg.token);
	}
	*out = q;
	return 0;
fail:
	sp_sync_close(&q->y);
	free(q);
	return rc;
}

void sp_queue_close(sp_queue *q)
{
	if (!q)
		return;
	/* A pending record we never returned is redelivered by the ring. */
	sp_ring_close(q->ring);
	if (q->joinable && !sp_seg_inherited(&q->y.seg)) {
		struct sync_ent *me = &q->y.b->ent[q->y.idx];

		give_up(q, me, q->y.seg.token, 0);
	}
	sp_sync_close(&q->y);
	free(q);
}

int sp_queue_unlink(const char *name)
{
	char side[SP_NAME_MAX + 8];
	int rc = sp_ring_unlink(name), rc2;

	if (side_name(side, sizeof(side), name))
		return -ENAMETOOLONG;
	rc2 = sp_sync_unlink(side);
	return rc ? rc : rc2;
}

static int shut(sp_queue *q)
{
	/* Acquire: pairs with sp_queue_shutdown's release. */
	return load_acquire(&q->y.b->broken) != 0;
}

int sp_queue_put(sp_queue *q, const void *buf, size_t len, long long timeout_ns)
{
	struct sync_body *b = q->y.b;
	struct sp_msg m;
	int rc;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	CRASH_POINT("queue.put");
	if (shut(q))
		return -ESHUTDOWN;
	if (!q->joinable) {
		rc = sp_ring_put(q->ring, buf, len, timeout_ns);
		return rc == -EPIPE ? -ESHUTDOWN : rc;
	}
	/* Wait for space without counting anything: a putter killed while
	 * blocked leaves no task behind (its reservation is abandoned by the
	 * ring).  Then count the task before it becomes visible. */
	rc = sp_ring_reserve(q->ring, len, &m, timeout_ns);
	if (rc)
		return rc == -EPIPE ? -ESHUTDOWN : rc;
	memcpy(m.data, buf, len);
	/* Acquire-release, as every change of count (see give_up): the
	 * task is counted before the commit can make it visible. */
	fetch_add_acq_rel(&b->count, 1);
	rc = sp_ring_commit(q->ring, &m, len);
	/* Not delivered after all: uncount it, waking joiners at zero. */
	if (rc && fetch_sub_acq_rel(&b->count, 1) == 1)
		sp_wake(&b->count, SP_WAKE_ALL);
	return rc == -EPIPE ? -ESHUTDOWN : rc;
}

ssize_t sp_queue_get(sp_queue *q, void *buf, size_t size, long long timeout_ns)
{
	struct sp_msg m;
	size_t len;
	int rc;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (q->has_pending) {
		m = q->pending;
	} else {
		rc = sp_ring_peek(q->ring, &m, timeout_ns);
		if (rc)
			return rc == -EPIPE ? -ESHUTDOWN : rc;
	}
	len = m.len;
	if (len > size) {
		q->pending = m;
		q->has_pending = 1;
		return -EMSGSIZE;
	}
	q->has_pending = 0;
	memcpy(buf, m.data, len);
	if (q->joinable) {
		struct sync_ent *me = &q->y.b->ent[q->y.idx];

		/* Single writer (us); relaxed: read by reapers only after they
		 * saw us dead. */
		store_relaxed(&me->a, load_relaxed(&me->a) + 1);
		CRASH_POINT("queue.counted");
	}
	rc = sp_ring_release(q->ring, &m);
	return rc ? rc : (ssize_t)len;
}

int sp_queue_shutdown(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	/* Release: puts that see the flag fail; the seal wakes blocked gets. */
	store_release(&q->y.b->broken, 1);
	sp_ring_seal(q->ring);
	return 0;
}

int sp_queue_is_shutdown(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	return shut(q);
}

int sp_queue_task_done(sp_queue *q)
{
	struct sync_body *b = q->y.b;
	struct sync_ent *me;
	uint32_t cur, a;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (!q->joinable)
		return -ENOTSUP;
	me = &b->ent[q->y.idx];
	cur = load_relaxed(&b->count);
	do {
		if (cur == 0)
			return -EINVAL;
		/* Acquire-release, as every change of count (see
		 * give_up): the task's work happens before a joiner sees
		 * the count fall. */
	} while (!cas_weak_acq_rel(&b->count, &cur, cur - 1));
	CRASH_POINT("queue.done");
	a = load_relaxed(&me->a);
	if (a)
		store_relaxed(&me->a, a - 1);
	if (cur == 1)
		sp_wake(&b->count, SP_WAKE_ALL);
	return 0;
}

int sp_queue_join(sp_queue *q, long long timeout_ns)
{
	struct sync_body *b = q->y.b;
	struct sp_wait w;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (!q->joinable)
		return -ENOTSUP;
	sp_wait_start(&w, timeout_ns);
	for (;;) {
		/* Acquire: pairs with task_done's release: the consumers' work
		 * is visible once the count reads zero. */
		uint32_t u = load_acquire(&b->count);
		int rc;

		if (u == 0)
			return 0;
		rc = sp_wait_sleep(&w, &b->count, u);
		if (rc == 1 || rc == -EAGAIN)
			reap(q);
		if (rc < 0)
			return load_acquire(&b->count) == 0 ? 0 : rc;
	}
}

unsigned sp_queue_unfinished(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return 0;

	return load_relaxed(&q->y.b->count);
}

size_t sp_queue_size(sp_queue *q) { return sp_ring_size(q->ring); }
int sp_queue_empty(sp_queue *q) { return sp_ring_empty(q->ring); }
int sp_queue_full(sp_queue *q) { return sp_ring_full(q->ring); }
size_t sp_queue_max_msg(const sp_queue *q) { return sp_ring_max_record(q->ring); }
