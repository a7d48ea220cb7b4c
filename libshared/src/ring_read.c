/* ring_read.c: reading: taking, releasing, moving rd_release, recovering the records of the dead. */
#include <errno.h>
#include <stdint.h>

#include "ring_int.h"
#include "crashpoint.h"

/* Moves rd_release past the finished (RELEASED or ABANDONED) records at its
 * head, up to 256 at a time with one CAS, then wakes writers if space was
 * freed.  Readers call it every few releases, writers when short of space.
 *
 * The walk reads headers in [q0, rd_claim) while they may be reused if
 * rd_release moves on; the CAS from q0 succeeds only if rd_release stayed q0
 * throughout, so the headers read were genuine and their states final. */
int sp_ring_advance(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	int moved = 0;

	r->unadvanced = 0;
	r->unadvanced_bytes = 0;
	for (;;) {
		uint64_t q0 = load_acquire(&b->rd_release), q = q0, claim, stride, c = 0;
		unsigned n;

		claim = load_acquire(&b->rd_claim);
		/* The walk starts aligned and is bounded by the capacity:
		 * rd_release <= rd_claim <= rd_release + capacity always, and
		 * rd_claim, read after q0, is at least q0.  Past the bound, with rd_release still q0,
		 * a peer corrupted the positions: refuse rather than free
		 * space on their word.  (The lap tags read_header checks would
		 * stop a walk over a segment that holds still within a lap as
		 * well; the bound also holds against one rewritten as we go.) */
		if (POS_ODD(q0) || claim < q0 || claim - q0 > r->cap) {
			if (load_acquire(&b->rd_release) != q0)
				continue;
			return -EBADMSG;
		}
		for (n = 0; q < claim && n < 256; n++, q += stride) {
			c = read_header(r, q, claim, &stride);
			if (!c || (CTL_STATE(c) != REC_RELEASED && CTL_STATE(c) != REC_ABANDONED))
				break;
		}
		if (q == q0) {
			if (!c && q < claim && load_acquire(&b->rd_release) == q0)
				return -EBADMSG;
			break;
		}
		/* Acquire: the released records' readers are done with them
		 * (their RELEASED stores were release); release: for writers
		 * that load rd_release with acquire.  doorbell() fences before
		 * its look at the writers' sleeper bits. */
		if (cas_acq_rel(&b->rd_release, &q0, q)) {
			moved = 1;
			CRASH_POINT("release.advanced");
			if (n < 256)
				break;
		}
	}
	if (moved)
		doorbell(r, ROLE_WRITER, 0);
	return 0;
}

/* Nothing is left to take (rd_claim == wr_claim == q) on a closed ring: is
 * it drained, for us?  Only once every record taken is also released, or
 * held by this handle: a record another reader still holds may yet come
 * back, if that reader dies, and must then reach a survivor, so we keep
 * waiting (and adopting) until then; one that we hold comes back to nobody
 * while we live, so waiting for it would be waiting on ourselves. */
static int drained(sp_ring *r, uint64_t q)
{
	struct sp_ring_body *b = r->b;
	uint64_t rel, p, c, stride;

	sp_ring_advance(r);
	rel = load_acquire(&b->rd_release);
	if (rel == q)
		return 1;
	/* The walk is bounded: [rel, q) lies within one capacity, or the
	 * positions are impossible (and not drained: the next repair pass
	 * reports them). */
	if (POS_ODD(rel) || rel > q || q - rel > r->cap)
		return 0;
	for (p = rel; p < q; p += stride) {
		c = read_header(r, p, q, &stride);
		if (!c)
			return 0;
		if (CTL_STATE(c) == REC_TAKEN ? CTL_TOKEN(c) != r->seg.token :
		    CTL_STATE(c) != REC_RELEASED && CTL_STATE(c) != REC_ABANDONED)
			return 0;
	}
	/* The headers were genuine only if rd_release has not passed them
	 * meanwhile (read_header's loads are done before this one); if it
	 * has, look again next time. */
	return load_acquire(&b->rd_release) == rel;
}

/* One attempt to take the record at rd_claim.  Returns 0 with *m filled,
 * -EAGAIN (nothing ready), -EPIPE (closed and drained), -EMSGSIZE (the
 * record is longer than maxlen: left in place, m->len tells), or an error.
 *
 * Lock-free: a reader owns the record at q once its CAS moves rd_claim from
 * q; it then marks the record TAKEN.  A header read at a stale q may be any
 * bytes (the space may have been reused), but it is acted on only through
 * the CAS from q, which succeeds only if rd_claim was still q, in which case
 * the header was a real one: positions never repeat, so there is no ABA. */
static inline __attribute__((always_inline)) int try_take(sp_ring *r, struct sp_msg *m, size_t maxlen, void *buf)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, c, stride;
	int closed, skipped = 0, rc;

	/* Closed is read before emptiness: a seal follows its sealer's last
	 * commit, so if we see the seal and then an empty ring whose every
	 * record was released, it is drained. */
	closed = ring_closed(r);
	struct side sd = side_of(r, ROLE_READER);
	int own = bias_enter(r, sd);

	for (;;) {
		/* Acquire: pairs with the CAS of the reader before us, so the
		 * headers it stepped over are not read stale. */
		q = load_acquire(&b->rd_claim);
		if (q >= r->wr_cache || POS_ODD(q)) {
			if (POS_ODD(q)) {
				/* Never a stale value: rd_claim only ever holds
				 * multiples of 8 unless corrupted. */
				rc = -EBADMSG;
				break;
			}
			/* Acquire: headers below wr_claim are whole. */
			r->wr_cache = load_acquire(&b->wr_claim);
			if (q == r->wr_cache) {
				rc = closed && drained(r, q) ? -EPIPE : -EAGAIN;
				break;
			}
			if (q > r->wr_cache || r->wr_cache - q > r->cap) {
				/* Impossible for a current q; ours may be stale
				 * (the ring may have moved on by a lap since we
				 * read it).  Corrupt only if it is current. */
				if (load_acquire(&b->rd_claim) != q)
					continue;
				rc = -EBADMSG;
				break;
			}
		}
		c = read_header(r, q, r->wr_cache, &stride);
		if (!c || CTL_STATE(c) == REC_CLAIMED) {
			if (load_acquire(&b->rd_claim) != q)
				continue;   /* stale: look again */
			/* A real header: corrupt, or its writer is at work. */
			rc = c ? -EAGAIN : -EBADMSG;
			break;
		}
		if (CTL_STATE(c) != REC_COMMITTED) {
			/* ABANDONED, or impossible here: step over it. */
			if (cas_acq_rel(&b->rd_claim, &q, q + stride))
				skipped = 1;
			continue;
		}
		struct sp_rec *h = rec_at(r, q);
		/* Acquire: done before the reload of rd_claim below that tells
		 * whether the header was current (see read_header); on the
		 * path that takes the record, the CAS's release half orders
		 * it anyway. */
		uint32_t len = load_acquire(&h->len);

		if (len > stride - RING_REC_HDR || len > maxlen) {
			if (load_acquire(&b->rd_claim) != q)
				continue;
			m->len = len;
			rc = len > maxlen ? -EMSGSIZE : -EBADMSG;
			break;
		}
		/* Announce the position in our slot before the CAS can hand it
		 * to us (the CAS is a release): a record COMMITTED below
		 * rd_claim is then known to be in a live reader's hands, and
		 * is not adopted from it. */
		/* Release: our mark of the record we took before (TAKEN or
		 * RELEASED, plain stores) comes before this announcement moves
		 * off it, for an adopter that acquires aux. */
		store_release(&r->seg.me->aux, q + 1);
		if (own) {
			/* Biased: nobody else moves rd_claim.  Release: our
			 * announcement is visible before the record is ours. */
			store_release(&b->rd_claim, q + stride);
		} else if (!cas_acq_rel(&b->rd_claim, &q, q + stride)) {
			continue;
		}
		CRASH_POINT("take.claimed");
		if (buf) {
			/* Copying get: copy out, then move COMMITTED straight to
			 * RELEASED, never marking it TAKEN.  Dying in between
			 * leaves it COMMITTED below rd_claim with our slot's aux
			 * naming it, to be adopted once we are seen dead; while
			 * we live nobody else moves it, so a store will do.
			 * Release: our reads of the payload come first. */
			copy_small(buf, (unsigned char *)h + RING_REC_HDR, len);
			r->got_stride = stride;
			store_release(&h->ctl, CTL_MOVE(c, REC_RELEASED, r->seg.token));
			CRASH_POINT("release.marked");
			m->len = len;
			m->cookie = 0;
			rc = 0;
			break;
		}
		/* The position is ours; mark the record for crash recovery.
		 * While we live nobody else moves it (our announcement keeps
		 * adopters off), so a store will do, as for the copying get
		 * above: a CAS here cost a quarter of a 64-byte record. */
		store_release(&h->ctl, CTL_MOVE(c, REC_TAKEN, r->seg.token));
		m->data = (unsigned char *)h + RING_REC_HDR;
		m->len = len;
		m->pos = q;
		m->cookie = CTL_MOVE(c, REC_TAKEN, r->seg.token);
		CRASH_POINT("take.marked");
		rc = 0;
		break;
	}
	if (own)
		bias_exit(r, sd);
	/* A lost race leaves a stale announcement: withdraw it. */
	if (rc && load_relaxed(&r->seg.me->aux))
		store_release(&r->seg.me->aux, 0);
	if (skipped)
		sp_ring_advance(r);
	return rc;
}

/* Does a live reader other than us announce, in its slot's aux, that it
 * is taking the record at q?  (See try_take.) */
static int announced_alive(sp_ring *r, uint64_t q)
{
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t;

		if (sl == r->seg.me || load_acquire(&sl->aux) != q + 1)
			continue;
		t = load_acquire(&sl->token);
		if (t && sp_seg_alive(&r->seg, t))
			return 1;
	}
	return 0;
}

/* Slow-path repairs a waiting reader makes once per slice: abandon a record
 * whose writer died at rd_claim, and adopt a record whose reader died.
 * Returns 0 with *m filled when it adopted one, else -EAGAIN. */
static int recover_for_reader(sp_ring *r, struct sp_msg *m, size_t maxlen)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, w, c, stride, claim;

	/* A dead writer's claim at the head of the queue. */
	q = load_acquire(&b->rd_claim);
	w = load_acquire(&b->wr_claim);
	if (q < w && w - q <= r->cap && !POS_ODD(q)) {
		c = read_header(r, q, w, &stride);
		/* A CLAIMED record at rd_claim holds rd_claim there, so if
		 * rd_claim is still q the header we read is the real one. */
		if (c && CTL_STATE(c) == REC_CLAIMED && load_acquire(&b->rd_claim) == q &&
		    !sp_seg_alive(&r->seg, CTL_TOKEN(c)) &&
		    cas_acq_rel(&rec_at(r, q)->ctl, &c, CTL_MOVE(c, REC_ABANDONED, CTL_TOKEN(c))))
			doorbell(r, ROLE_READER, 1);
	}
	/* Records taken by readers that died: walk [rd_release, rd_claim),
	 * within one capacity.  rd_release, read after rd_claim, may have
	 * passed it since (nothing to walk then), but is never less than it
	 * was when we read rd_claim, and rd_claim was then within a capacity
	 * of it: further is a corrupt position. */
	claim = load_acquire(&b->rd_claim);
	q = load_acquire(&b->rd_release);
	if (POS_ODD(q) || (q < claim && claim - q > r->cap))
		return -EBADMSG;
	for (; q < claim; q += stride) {
		c = read_header(r, q, claim, &stride);
		/* The header is meaningful only if rd_release has not passed q. */
		if (load_acquire(&b->rd_release) > q)
			break;
		if (!c)
			return -EBADMSG;
		/* COMMITTED below rd_claim: a reader moved rd_claim past it and
		 * is copying it or about to mark it TAKEN; adopt it only if no
		 * live reader announces it.  TAKEN: adopt it from the dead. */
		if (CTL_STATE(c) == REC_COMMITTED) {
			if (announced_alive(r, q))
				continue;
		} else if (CTL_STATE(c) != REC_TAKEN || CTL_TOKEN(c) == r->seg.token ||
			   sp_seg_alive(&r->seg, CTL_TOKEN(c))) {
			continue;
		}
		struct sp_rec *h = rec_at(r, q);
		/* Relaxed: the CAS below is what validates the record, and its
		 * release half orders this load before it. */
		uint32_t len = load_relaxed(&h->len);

		if (len > stride - RING_REC_HDR || len > maxlen)
			continue;
		/* A TAKEN record is released only by its owner, so a dead
		 * owner's record cannot be reused under us: the CAS is safe. */
		if (cas_acq_rel(&h->ctl, &c, CTL_MOVE(c, REC_TAKEN, r->seg.token))) {
			m->data = (unsigned char *)h + RING_REC_HDR;
			m->len = len;
			m->pos = q;
			m->cookie = CTL_MOVE(c, REC_TAKEN, r->seg.token);
			return 0;
		}
	}
	return -EAGAIN;
}

/* For polling readers (SP_NOWAIT): is a repair pass due?  One per longest
 * slice, as often as a sleeping reader makes one at the most. */
static int poll_recover_due(sp_ring *r)
{
	int64_t now = sp_now_ns();

	if (now < r->next_repair)
		return 0;
	r->next_repair = now + SP_SLICE_MAX_NS;
	return 1;
}

static inline __attribute__((always_inline)) int take(sp_ring *r, struct sp_msg *m, size_t maxlen, void *buf, long long timeout_ns)
{
	struct waiter w = { .timeout = timeout_ns, .spin = r->spin_ns };
	uint32_t seq;
	int rc;

	if (!(r->declared & ROLE_READER)) {
		rc = sp_ring_declare(r, ROLE_READER, &w);
		if (rc)
			return rc;
	} else if (!(r->biased & ROLE_READER)) {
		bias_regrab(r, ROLE_READER);
	}
	for (;;) {
		rc = try_take(r, m, maxlen, buf);
		if (rc != -EAGAIN)
			return rc;
		bias_check(r, ROLE_READER);
		rc = sp_ring_wait_phase(&w);
		if (rc == -EAGAIN) {
			/* SP_NOWAIT.  A reader that only polls must still get
			 * past a dead peer: repair once per slice of polling
			 * (an adopted record is TAKEN: sp_ring_get copies it). */
			if (!poll_recover_due(r))
				return -EAGAIN;
			rc = recover_for_reader(r, m, maxlen);
			return rc != -EAGAIN ? rc : try_take(r, m, maxlen, buf);
		}
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		/* Before sleeping: free the space we released lazily, then
		 * look for the work of dead peers. */
		if (r->unadvanced)
			sp_ring_advance(r);
		rc = recover_for_reader(r, m, maxlen);
		if (rc != -EAGAIN)
			return rc;
		seq = sp_ring_sleep_begin(r, ROLE_READER);
		rc = try_take(r, m, maxlen, buf);
		if (rc == -EAGAIN)
			sp_ring_sleep(r, &w, seq);
		sp_ring_sleep_end(r, ROLE_READER);
		if (rc != -EAGAIN)
			return rc;
	}
}

int sp_ring_peek(sp_ring *r, struct sp_msg *m, long long timeout_ns)
{
	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	return take(r, m, SIZE_MAX, NULL, timeout_ns);
}

/* Bookkeeping after a record of len payload bytes, taking stride bytes of
 * the ring (its reserved size: a record may have shrunk at commit), was
 * released. */
static inline int released(sp_ring *r, size_t len, uint64_t stride)
{
	sp_slot_add(r->seg.me, CNT_RECS_OUT, 1);
	sp_slot_add(r->seg.me, CNT_BYTES_OUT, len);
	/* rd_release moves in batches, by a CAS, which must wait for our
	 * store buffer to drain of the RELEASED marks, each to a line the
	 * writer wrote: costly, so every 256 releases (advance_release's
	 * limit) or an eighth of the capacity, whichever comes first, or at
	 * once when a writer sleeps for space.  (Every 16 releases made 64-byte
	 * records a third slower.)  Writers short of space move it themselves,
	 * and so does a reader about to sleep. */
	r->unadvanced_bytes += stride;
	if (++r->unadvanced >= 256 || r->unadvanced_bytes >= r->cap / 8)
		return sp_ring_advance(r);
	/* A writer asleep for space: the light half of the fence pair with
	 * its sp_ring_sleep_begin(), then the look. */
	sp_fence_light();
	if (sleepers(r, ROLE_WRITER))
		return sp_ring_advance(r);
	return 0;
}

int sp_ring_release(sp_ring *r, struct sp_msg *m)
{
	struct sp_rec *h = rec_at(r, m->pos);
	uint64_t exp = m->cookie;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (CTL_STATE(exp) != REC_TAKEN || CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* Only we move a record we hold (adopters take only from the dead, and
	 * a live handle's slot keeps its token), so a store will do; the check
	 * catches misuse.  Release: our reads of the payload are done before
	 * anyone sees the space as free and overwrites it. */
	if (load_relaxed(&h->ctl) != exp)
		return -ESTALE;
	/* Its size, while the record is still ours (bounded: a peer may
	 * have scribbled on it since we took it). */
	uint32_t size = load_relaxed(&h->size);
	uint64_t stride = stride_of(size <= r->max_record ? size : r->max_record);

	store_release(&h->ctl, CTL_MOVE(exp, REC_RELEASED, r->seg.token));
	CRASH_POINT("release.marked");
	m->cookie = 0;
	return released(r, m->len, stride);
}

ssize_t sp_ring_get(sp_ring *r, void *buf, size_t bufsize, long long timeout_ns)
{
	struct sp_msg m;
	int rc;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;
	rc = take(r, &m, bufsize, buf, timeout_ns);
	if (rc)
		return rc;
	if (m.cookie) {
		/* Adopted from a dead reader: held as TAKEN, not yet copied. */
		memcpy(buf, m.data, m.len);
		rc = sp_ring_release(r, &m);
	} else {
		rc = released(r, m.len, r->got_stride);
	}
	return rc ? rc : (ssize_t)m.len;
}
