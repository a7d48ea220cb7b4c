/* queue.c: Queue and JoinableQueue: the ring for messages, a sync segment for shutdown and unfinished tasks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "crashpoint.h"
#include "fence.h"
#include "ring_int.h"
#include "rmutex.h"
#include "shared/queue.h"
#include "shared/sync.h"
#include "sync_layout.h"
#include "wait.h"

/*
 * The side segment NAME.q is a synchronisation object of type SYNC_QUEUE
 * (sync_layout.h gives its fields).
 *
 * Tasks (JoinableQueue).  A task is unfinished while its message is in the
 * ring (committed and not yet released: waiting, or held by a getter), or
 * while a handle has got it and nobody has marked it done: then it is
 * counted in that handle's entry, ent[i].ta = token | tasks << 32.  There is
 * no shared count to keep in step with these: join() is done when the ring
 * holds no such record and then every entry reads zero.  Every step is one
 * atomic change of one word, so a kill between any two instructions leaves
 * the tally exact (no journal is needed; none could span the ring's segment
 * and this one, and a mutex would let a stopped holder block task_done,
 * which has no timeout):
 *   put         the ring's put and nothing else: a putter killed anywhere
 *               has put a whole message or none (a dead claim is abandoned
 *               by the ring, and never counted);
 *   get         the ring's peek, copy, ent.ta += 1 << 32, the ring's
 *               release: killed before the add, the message is
 *               redelivered and nothing was counted; between the add and
 *               the release, the message is redelivered and the dead
 *               handle's count is given up: still one task; after, the
 *               task is in the count alone;
 *   task_done   one CAS taking one task off this handle's entry, or, if it
 *               has none, off another's (a task got through one handle and
 *               marked done through another is done once);
 *   give up     a dead or closed handle's entry is zeroed, with its token,
 *               by one CAS, so it cannot be given up twice, nor race a
 *               task_done or the slot's next handle.
 * join() walks the ring first and the entries after it: a getter counts a
 * task before it releases the message (release), and the walk sees the
 * release (acquire), so no task is missed between the two.  A join()
 * killed or stopped anywhere changes nothing.
 *
 * join()'s sleep: the joiner sets its bit in `joining`, makes the heavy
 * fence (fence.h), looks again and sleeps on `seq`; whoever takes an entry
 * to zero makes the light fence and, if a bit is set, takes the bits, bumps
 * seq and wakes.  The last change before join() can return is always an
 * entry going to zero (a get counts before it releases), so that is the
 * only waker.  A bit a dead joiner left is taken by the first waker.
 *
 * Shutdown.  A getter may say "shut down and drained" only when no put can
 * still succeed.  A put passes the flag `broken` and then the ring's seal
 * check, and claims: between the two checks a shutdown can come and a
 * getter find the ring sealed and empty.  So a putter announces itself
 * first: ent.b = 1, a full fence, then it reads `broken`; it clears ent.b
 * after the ring's put returned.  A getter that the ring tells "sealed and
 * drained" makes a full fence and looks at every live handle's ent.b: one
 * inside a put may still publish a message, so it waits for it (bounded by
 * its timeout: a stopped putter is slow, not dead), then asks the ring
 * again.  The Dekker pair: the shutdown stores `broken` before the seal,
 * which the getter saw; if the putter read `broken` as 0, its fence came
 * before the getter's, and the getter reads its ent.b as 1, or as 0 stored
 * after its put was published, which the ring then shows.  Otherwise the
 * putter read 1 and fails with -ESHUTDOWN.  Both fences are full: the
 * asymmetric pair of fence.h would leave the getter, were membarrier
 * refused it, unable to order a putter's light fence, and here that would
 * lose a message, not a slice.  A dead putter's ent.b is ignored (its
 * token is dead).
 */
struct sp_queue {
	sp_ring *ring;
	struct sp_sync y;
	struct sp_msg pending;   /* a record peeked for a get that was too small */
	int has_pending;
	int joinable;
};

/* An entry's word: a handle's token and the tasks counted to it. */
#define QE(t, n) ((uint64_t)(t) | (uint64_t)(n) << 32)
#define QE_TOKEN(v) ((uint32_t)(v))
#define QE_TASKS(v) ((uint32_t)((v) >> 32))

static int side_name(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s.q", name ? name : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* After an entry went to zero tasks: wakes the joiners, if any sleeps. */
static void wake_joiners(sp_queue *q)
{
	struct sync_body *b = q->y.b;

	/* The light half of the fence pair with join()'s heavy one: either
	 * we see its bit, or its look at the entries sees our change. */
	sp_fence_light();
	if (!(load_relaxed(&b->joining[0]) | load_relaxed(&b->joining[1])))
		return;
	/* Relaxed: the release increment of seq orders our change before
	 * the wake-up, not these. */
	if (!(exchange_relaxed(&b->joining[0], 0) | exchange_relaxed(&b->joining[1], 0)))
		return;
	/* Release: a joiner that reads the new seq sees our change. */
	fetch_add_release(&b->seq, 1);
	sp_wake(&b->seq, SP_WAKE_ALL);
}

/* Gives up the tasks of entry e while it still belongs to token t (a dead
 * or closed handle), handing it to `into` (0: nobody), in one CAS: of two
 * reapers, or a reaper and a task_done, each task goes once. */
static void give_up(sp_queue *q, struct sync_ent *e, uint32_t t, uint32_t into)
{
	/* Acquire: what the owner did before its last change is visible. */
	uint64_t v = load_acquire(&e->ta);

	/* Acquire-release, as every change of ta: release, so that what was
	 * done before happens before a joiner's acquire load sees it. */
	while (QE_TOKEN(v) == t && !cas_weak_acq_rel(&e->ta, &v, QE(into, 0)))
		;
	if (QE_TOKEN(v) == t && QE_TASKS(v))
		wake_joiners(q);
}

/* Is the handle whose token is t, in slot i, alive? */
static int live(sp_queue *q, uint32_t t, uint32_t i)
{
	return sp_token_valid(&q->y.seg, t) && SP_TOKEN_INDEX(t) == i &&
	       sp_seg_alive(&q->y.seg, t);
}

static void reap(sp_queue *q)
{
	for (uint32_t i = 0; i < q->y.seg.nslots; i++) {
		struct sync_ent *e = &q->y.b->ent[i];
		uint64_t v = load_acquire(&e->ta);
		uint32_t t = QE_TOKEN(v);

		if (QE_TASKS(v) == 0 || t == q->y.seg.token || (t && live(q, t, i)))
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
	uint64_t v;
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
	rc = sp_sync_open(&q->y, side, flags, opts->mode, SYNC_QUEUE, opts->flags,
			  opts->maxsize);
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
	 * dead), giving up the tasks it still had, in one CAS.  Our put flag
	 * first: a getter that sees our token sees it clear. */
	me = &q->y.b->ent[q->y.idx];
	store_relaxed(&me->b, 0);
	v = load_acquire(&me->ta);
	while (QE_TOKEN(v) != q->y.seg.token) {
		/* Release: a getter or reaper that sees our token sees b = 0. */
		if (cas_weak_acq_rel(&me->ta, &v, QE(q->y.seg.token, 0))) {
			if (QE_TASKS(v))
				wake_joiners(q);
			break;
		}
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
	if (!sp_seg_inherited(&q->y.seg))
		give_up(q, &q->y.b->ent[q->y.idx], q->y.seg.token, 0);
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

/* One put, waiting as the ring's room allows. */
static int put_once(sp_queue *q, const void *buf, size_t len, long long timeout_ns)
{
	struct sync_body *b = q->y.b;
	struct sync_ent *me = &b->ent[q->y.idx];
	int rc;

	CRASH_POINT("queue.put");
	/* Announce the put, then look at the flag (see "Shutdown" above).
	 * Relaxed: the fence orders it before the load. */
	store_relaxed(&me->b, 1);
	fence_seq_cst();
	/* A joinable put is the ring's put alone: the message counts as a
	 * task from its commit on (see "Tasks" above). */
	rc = shut(q) ? -ESHUTDOWN : sp_ring_put(q->ring, buf, len, timeout_ns);
	CRASH_POINT("queue.put.done");
	/* Release: our message is published before a getter that sees the
	 * flag fall looks at the ring again. */
	store_release(&me->b, 0);
	/* A getter may wait for us to leave (only once the queue is shut
	 * down).  Were this load stale, its sleep ends within a slice. */
	if (shut(q))
		sp_wake(&me->b, SP_WAKE_ALL);
	return rc == -EPIPE ? -ESHUTDOWN : rc;
}

/* A put to a queue of at most maxsize messages.  Puts are admitted one at
 * a time under the side segment's internal mutex (rmutex.h), which holds
 * it for a size check and a put that does not wait: the messages in the
 * queue (committed, not released: sp_ring_size(), from counters that only
 * getters lower meanwhile) then never exceed maxsize.  Out of room (items
 * or bytes), the put sleeps on `gets`, which every get bumps after its
 * release; a getter killed between the two costs a sleeper one slice. */
static int put_bounded(sp_queue *q, const void *buf, size_t len, long long timeout_ns)
{
	struct sync_body *b = q->y.b;
	struct sp_wait w;
	int rc;

	sp_wait_start(&w, timeout_ns);
	for (;;) {
		/* Acquire: pairs with a getter's release bump, so a size read
		 * after it sees that getter's release counted. */
		uint32_t g = load_acquire(&b->gets);

		if (shut(q))
			return -ESHUTDOWN;
		rc = sp_rmutex_enter(&q->y.seg, &b->lock, &w);
		/* A dead holder left nothing half done: the mutex guards no
		 * data, only admission. */
		if (rc && rc != -EOWNERDEAD)
			return rc;
		rc = sp_ring_size(q->ring) < q->y.g.param ? put_once(q, buf, len, SP_NOWAIT)
							 : -EAGAIN;
		sp_rmutex_unlock(&q->y.seg, &b->lock);
		if (rc != -EAGAIN)
			return rc;
		rc = sp_wait_sleep(&w, &b->gets, g);
		if (rc < 0)
			return rc;
	}
}

int sp_queue_put(sp_queue *q, const void *buf, size_t len, long long timeout_ns)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;
	return q->y.g.param ? put_bounded(q, buf, len, timeout_ns)
			    : put_once(q, buf, len, timeout_ns);
}

/* After a get's release, in a bounded queue: wakes the putters waiting for
 * room.  Release: orders the get's release before the bump (put_bounded). */
static void got(sp_queue *q)
{
	if (q->y.g.param) {
		fetch_add_release(&q->y.b->gets, 1);
		sp_wake(&q->y.b->gets, SP_WAKE_ALL);
	}
}

/* A live handle other than ours inside a put: its flag word, or NULL. */
static _Atomic uint32_t *putting(sp_queue *q)
{
	for (uint32_t i = 0; i < q->y.seg.nslots; i++) {
		struct sync_ent *e = &q->y.b->ent[i];
		/* Acquire, token before flag: pairs with the release of the
		 * CAS by which the slot's next handle took the entry after it
		 * cleared the flag. */
		uint32_t t = QE_TOKEN(load_acquire(&e->ta));

		if (i == q->y.idx || !load_acquire(&e->b))
			continue;
		if (t && live(q, t, i))
			return &e->b;
	}
	return NULL;
}

/* What is left of the wait w for a ring call: its timeout as given, or
 * the time to its deadline (1 ns once past it: the ring then times out). */
static long long left(const struct sp_wait *w)
{
	int64_t d;

	if (w->timeout_ns <= 0)
		return w->timeout_ns;
	d = w->deadline - sp_now_ns();
	return d > 0 ? d : 1;
}

/* The ring said "sealed and drained": is it, or may a put still publish a
 * message (see "Shutdown" above)?  Waits, by the deadline of the get that
 * began at t0, until no live put is under way, then asks the ring again.
 * Returns 0 with *m (a message after all), -EPIPE (drained: no put can
 * succeed now), or the ring's errors, -EAGAIN, -ETIMEDOUT. */
static int drained(sp_queue *q, struct sp_msg *m, long long timeout_ns, int64_t t0)
{
	_Atomic uint32_t *busy;
	struct sp_wait w;
	int rc;

	sp_wait_start_at(&w, timeout_ns, t0);
	for (;;) {
		/* The getter's half of the Dekker pair: after the ring's
		 * acquire of the seal, before the look at the flags. */
		fence_seq_cst();
		busy = putting(q);
		if (!busy)
			return sp_ring_peek(q->ring, m, left(&w));
		rc = sp_wait_sleep(&w, busy, 1);
		if (rc < 0)
			return rc;
		rc = sp_ring_peek(q->ring, m, left(&w));
		if (rc != -EPIPE)
			return rc;
	}
}

ssize_t sp_queue_get(sp_queue *q, void *buf, size_t size, long long timeout_ns)
{
	/* The clock only for a timed get, whose deadline a wait for a put
	 * under way at shutdown shares. */
	int64_t t0 = timeout_ns > 0 ? sp_now_ns() : 0;
	struct sp_msg m;
	size_t len;
	int rc;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (q->has_pending) {
		m = q->pending;
	} else {
		rc = sp_ring_peek(q->ring, &m, timeout_ns);
		if (rc == -EPIPE)
			rc = drained(q, &m, timeout_ns, t0);
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
		uint64_t v = load_relaxed(&me->ta);
		uint32_t n;

		/* Count the task before the release can make the message
		 * leave the ring.  A CAS, not an add: only a corrupting peer
		 * puts another token here, and then the entry is ours again.
		 * Relaxed: the release's store orders it before a joiner that
		 * sees the message gone. */
		do
			n = QE_TOKEN(v) == q->y.seg.token ? QE_TASKS(v) + 1 : 1;
		while (!cas_weak_relaxed(&me->ta, &v, QE(q->y.seg.token, n)));
		CRASH_POINT("queue.counted");
	}
	rc = sp_ring_release(q->ring, &m);
	if (rc)
		return rc;
	got(q);
	return (ssize_t)len;
}

int sp_queue_shutdown(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	/* Release: puts that see the flag fail; the seal (a release after
	 * it) wakes blocked gets, and a getter that sees the seal sees the
	 * flag (see "Shutdown" above). */
	store_release(&q->y.b->broken, 1);
	sp_ring_seal(q->ring);
	got(q);   /* putters waiting for room see the flag */
	return 0;
}

int sp_queue_is_shutdown(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	return shut(q);
}

/* Takes one task off entry e if it has one.  Returns 1 if it did. */
static int take_task(sp_queue *q, struct sync_ent *e)
{
	/* Acquire-release, as every change of ta (see give_up): the
	 * task's work happens before a joiner sees the count fall. */
	uint64_t v = load_acquire(&e->ta);

	while (QE_TASKS(v)) {
		if (cas_weak_acq_rel(&e->ta, &v, v - QE(0, 1))) {
			CRASH_POINT("queue.done");
			if (QE_TASKS(v) == 1)
				wake_joiners(q);
			return 1;
		}
	}
	return 0;
}

int sp_queue_task_done(sp_queue *q)
{
	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (!q->joinable)
		return -ENOTSUP;
	/* Ours first; if we got none, the task was got through another
	 * handle (another thread's, or one this process opened twice): take
	 * it off whichever has one. */
	if (take_task(q, &q->y.b->ent[q->y.idx]))
		return 0;
	for (uint32_t i = 0; i < q->y.seg.nslots; i++)
		if (i != q->y.idx && take_task(q, &q->y.b->ent[i]))
			return 0;
	return -EINVAL;
}

/* Are all tasks done?  1 if so, 0 if not, or -EBADMSG.  The ring first,
 * then the entries (see "Tasks" above). */
static int settled(sp_queue *q)
{
	uint64_t n;
	int rc = sp_ring_unreleased(q->ring, 1, &n);

	if (rc)
		return rc;
	if (n)
		return 0;
	for (uint32_t i = 0; i < q->y.seg.nslots; i++)
		/* Acquire: pairs with task_done's release. */
		if (QE_TASKS(load_acquire(&q->y.b->ent[i].ta)))
			return 0;
	return 1;
}

int sp_queue_join(sp_queue *q, long long timeout_ns)
{
	struct sync_body *b = q->y.b;
	_Atomic uint64_t *bits = &b->joining[q->y.idx / 64];
	uint64_t bit = 1ull << (q->y.idx % 64);
	struct sp_wait w;

	if (sp_seg_inherited(&q->y.seg))
		return -ECHILD;

	if (!q->joinable)
		return -ENOTSUP;
	sp_wait_start(&w, timeout_ns);
	for (;;) {
		/* Acquire: pairs with a waker's release increment. */
		uint32_t seq = load_acquire(&b->seq);
		int rc = settled(q);

		if (rc)
			return rc < 0 ? rc : 0;
		/* Relaxed: the heavy fence orders it before our look. */
		fetch_or_relaxed(bits, bit);
		/* The heavy half of the pair with wake_joiners() (fence.h).
		 * Without membarrier here a wake-up may be missed: that costs
		 * one slice. */
		sp_fence_heavy();
		rc = settled(q);
		if (rc == 0)
			rc = sp_wait_sleep(&w, &b->seq, seq);
		else
			rc = rc < 0 ? rc : 2;
		fetch_and_relaxed(bits, ~bit);
		if (rc == 2)
			return 0;
		if (rc == -EBADMSG)
			return rc;
		/* A slice passed, or the time is up: a consumer that died
		 * holding tasks gives them up now. */
		if (rc == 1 || rc < 0)
			reap(q);
		if (rc < 0)
			return settled(q) == 1 ? 0 : rc;
	}
}

unsigned sp_queue_unfinished(sp_queue *q)
{
	uint64_t n = 0;

	if (sp_seg_inherited(&q->y.seg) || !q->joinable)
		return 0;
	if (sp_ring_unreleased(q->ring, UINT32_MAX, &n))
		n = 0;
	for (uint32_t i = 0; i < q->y.seg.nslots; i++)
		/* Relaxed: a snapshot. */
		n += QE_TASKS(load_relaxed(&q->y.b->ent[i].ta));
	return n < UINT32_MAX ? (unsigned)n : UINT32_MAX;
}

size_t sp_queue_size(sp_queue *q) { return sp_ring_size(q->ring); }
int sp_queue_empty(sp_queue *q) { return sp_ring_empty(q->ring); }
int sp_queue_full(sp_queue *q)
{
	if (q->y.g.param && !sp_seg_inherited(&q->y.seg) && sp_ring_size(q->ring) >= q->y.g.param)
		return 1;
	return sp_ring_full(q->ring);
}

unsigned sp_queue_maxsize(const sp_queue *q) { return q->y.g.param; }
size_t sp_queue_max_msg(const sp_queue *q) { return sp_ring_max_record(q->ring); }
