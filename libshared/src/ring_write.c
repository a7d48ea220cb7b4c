/* ring_write.c: writing: the claim lock, claiming, committing, cancelling, putting, sealing. */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "ring_int.h"
#include "crashpoint.h"

/* Waits for the claim lock wr_lock, after the first CAS failed.  Holders
 * keep it for a few stores, so spin; past a while check that the holder
 * lives, and take the lock over from a dead one (the sections are written so
 * that a successor can go on from wherever a dead holder stopped: see
 * ring_layout.h).  A live holder is never robbed, stopped or not, and a
 * call given a timeout waits for it only as long as that allows
 * (sp_ring_wait_holder): returns 0 with the lock held, or -EAGAIN /
 * -ETIMEDOUT. */
static __attribute__((noinline, cold)) int claim_lock_wait(sp_ring *r, _Atomic uint32_t *l,
							   struct waiter *w)
{
	uint32_t exp;
	int rc;

	for (unsigned n = 1;; n++) {
		exp = load_relaxed(l);
		if (exp == 0) {
			/* Acquire: what the previous holder wrote under the
			 * lock is visible. */
			if (cas_weak_acquire(l, &exp, r->seg.token))
				return 0;
			continue;
		}
		if (exp == r->seg.token) {
			/* We never hold the lock across calls, so our own token
			 * here was written by a corrupting peer: take it back. */
			if (cas_acq_rel(l, &exp, r->seg.token))
				return 0;
		} else if (n % 256) {
			cpu_relax();
		} else if ((rc = sp_ring_wait_holder(w)) != 0) {
			/* A holder that does not finish in the call's time:
			 * stopped, or a live token a corrupt peer wrote. */
			return rc;
		} else if (n % 4096) {
			sched_yield();
		} else if (!sp_seg_alive(&r->seg, exp)) {
			if (cas_acq_rel(l, &exp, r->seg.token))
				return 0;
		} else {
			/* A stopped holder: back off rather than burn a core. */
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
}

/* Takes the claim lock wr_lock, waiting as w allows (see claim_lock_wait). */
static inline int claim_lock(sp_ring *r, _Atomic uint32_t *l, struct waiter *w)
{
	uint32_t exp = 0;

	/* Acquire: what the previous holder wrote under the lock is visible. */
	if (cas_weak_acquire(l, &exp, r->seg.token))
		return 0;
	return claim_lock_wait(r, l, w);
}

static void claim_unlock(_Atomic uint32_t *l)
{
	/* Release: the section's stores are visible to the next holder. */
	store_release(l, 0);
}

/* One attempt to claim room for len bytes, waiting for the claim lock as
 * w allows.  Returns 0, -EAGAIN (no room, or a try that found the lock's
 * holder not finishing), -ETIMEDOUT (the lock's holder kept it past w's
 * deadline), or an error.  With src, the record is written and committed inside the claim
 * section and published whole (no reader ever sees it CLAIMED, and the
 * header's cache line is not fought over); a writer dying in the section
 * leaves nothing visible, as wr_claim moves last. */
static inline __attribute__((always_inline)) int try_claim(sp_ring *r, size_t len, struct sp_msg *m,
							   const void *src, struct waiter *w)
{
	struct sp_ring_body *b = r->b;
	uint64_t need = stride_of(len), p, rel;
	struct sp_rec *h;

	if (r->sealed || ring_closed(r))
		return -EPIPE;
	/* Cheap look before taking the lock: is there room at all? */
	p = load_relaxed(&b->wr_claim);
	if (p >= r->rel_cache && p + need - r->rel_cache > r->cap) {
		/* Acquire: the readers' last reads of that space happened before
		 * they released it, so our writes to it come after. */
		r->rel_cache = load_acquire(&b->rd_release);
		if (p >= r->rel_cache && p + need - r->rel_cache > r->cap) {
			/* Readers move rd_release lazily: do it for them.  It
			 * refuses positions no ring can hold (-EBADMSG). */
			int rc = sp_ring_advance(r);

			if (rc)
				return rc;
			r->rel_cache = load_acquire(&b->rd_release);
			if (p >= r->rel_cache && p + need - r->rel_cache > r->cap)
				return -EAGAIN;
		}
	}
	struct side sd = side_of(r, ROLE_WRITER);
	int own = bias_enter(r, sd);

	if (!own) {
		int rc = claim_lock(r, &b->wr_lock, w);

		if (rc)
			return rc;
	}
	CRASH_POINT("claim.locked");
	p = load_relaxed(&b->wr_claim);
	rel = r->rel_cache;
	/* An odd wr_claim (POS_ODD) takes the slow branch with the room
	 * check: p << 61 keeps p's low three bits, as the top ones, so the
	 * hot path pays a shift and an or. */
	if (rel > p || ((p + need - rel) | (p << 61)) > r->cap) {
		/* Acquire: as above. */
		rel = r->rel_cache = load_acquire(&b->rd_release);
		if (POS_ODD(p) || rel > p || p - rel > r->cap) {
			own ? bias_exit(r, sd) : claim_unlock(&b->wr_lock);
			return -EBADMSG;
		}
		if (p + need - rel > r->cap) {
			own ? bias_exit(r, sd) : claim_unlock(&b->wr_lock);
			return -EAGAIN;
		}
	}
	h = rec_at(r, p);
	store_relaxed(&h->size, (uint32_t)len);
	if (src) {
		copy_small((unsigned char *)h + RING_REC_HDR, src, len);
		store_relaxed(&h->len, (uint32_t)len);
		store_relaxed(&h->ctl, CTL(REC_COMMITTED, r->seg.token, lap_tag(r, p)));
	} else {
		store_relaxed(&h->len, 0);
		store_relaxed(&h->ctl, CTL(REC_CLAIMED, r->seg.token, lap_tag(r, p)));
	}
	CRASH_POINT("claim.header");
	/* Release: the header is whole before any reader can see wr_claim
	 * move past it. */
	store_release(&b->wr_claim, p + need);
	CRASH_POINT("claim.published");
	if (own)
		bias_exit(r, sd);
	else
		claim_unlock(&b->wr_lock);
	m->data = (unsigned char *)h + RING_REC_HDR;
	m->len = len;
	m->pos = p;
	m->cookie = CTL(src ? REC_COMMITTED : REC_CLAIMED, r->seg.token, lap_tag(r, p));
	return 0;
}

/* Claims room for a record, waiting as timeout_ns says (see try_claim). */
static inline __attribute__((always_inline)) int claim(sp_ring *r, size_t len, struct sp_msg *m, const void *src, long long timeout_ns)
{
	struct waiter w = { .timeout = timeout_ns, .spin = r->spin_ns };
	uint32_t seq;
	int rc;

	if (len > r->max_record)
		return -EMSGSIZE;
	if (!(r->declared & ROLE_WRITER)) {
		rc = sp_ring_declare(r, ROLE_WRITER, &w);
		if (rc)
			return rc;
	} else if (!(r->biased & ROLE_WRITER)) {
		bias_regrab(r, ROLE_WRITER);
	}
	for (;;) {
		rc = try_claim(r, len, m, src, &w);
		if (rc != -EAGAIN)
			return rc;
		bias_check(r, ROLE_WRITER);
		rc = sp_ring_wait_phase(&w);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		seq = sp_ring_sleep_begin(r, ROLE_WRITER);
		rc = try_claim(r, len, m, src, &w);
		if (rc == -EAGAIN)
			sp_ring_sleep(r, &w, seq);
		sp_ring_sleep_end(r, ROLE_WRITER);
		if (rc != -EAGAIN)
			return rc;
	}
}

int sp_ring_reserve(sp_ring *r, size_t len, struct sp_msg *m, long long timeout_ns)
{
	int rc;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;
	rc = claim(r, len, m, NULL, timeout_ns);
	if (rc == 0) {
		r->reserved++;
		CRASH_POINT("reserve.done");
	}
	return rc;
}

/* Bookkeeping after a record of len bytes was published committed. */
static inline void committed(sp_ring *r, size_t len)
{
	sp_slot_add(r->seg.me, CNT_RECS_IN, 1);
	sp_slot_add(r->seg.me, CNT_BYTES_IN, len);
	doorbell(r, ROLE_READER, 0);
}

int sp_ring_commit(sp_ring *r, struct sp_msg *m, size_t len)
{
	struct sp_rec *h = rec_at(r, m->pos);
	uint64_t exp = m->cookie;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (len > m->len || !r->reserved || CTL_STATE(exp) != REC_CLAIMED ||
	    CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* Only we move a record we claimed (a live writer's claim is never
	 * abandoned), so plain stores will do; the check, before we write a
	 * byte, catches misuse (a reservation already committed, whose space
	 * may hold another record by now). */
	if (load_relaxed(&h->ctl) != exp)
		return -ESTALE;
	store_relaxed(&h->len, (uint32_t)len);
	CRASH_POINT("commit.before");
	/* Release: the payload and len are visible before COMMITTED is. */
	store_release(&h->ctl, CTL_MOVE(exp, REC_COMMITTED, r->seg.token));
	CRASH_POINT("commit.after");
	r->reserved--;
	m->cookie = 0;
	committed(r, len);
	return 0;
}

int sp_ring_cancel(sp_ring *r, struct sp_msg *m)
{
	uint64_t exp = m->cookie;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (!r->reserved || CTL_STATE(exp) != REC_CLAIMED || CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* A CAS, as close's sp_ring_abandon_mine() does: off the hot path, and it
	 * fails safe if the position is not the record we reserved. */
	if (!cas_acq_rel(&rec_at(r, m->pos)->ctl, &exp, CTL_MOVE(exp, REC_ABANDONED, r->seg.token)))
		return -ESTALE;
	r->reserved--;
	m->cookie = 0;
	/* Readers may wait behind it. */
	doorbell(r, ROLE_READER, 1);
	return 0;
}

/* Records up to this size are copied inside the claim section (see
 * try_claim); larger ones are copied outside it, so that writers copy in
 * parallel. */
#define PUT_INLINE_MAX 2048u

int sp_ring_put(sp_ring *r, const void *buf, size_t len, long long timeout_ns)
{
	struct sp_msg m;
	int rc;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (len > PUT_INLINE_MAX) {
		rc = sp_ring_reserve(r, len, &m, timeout_ns);
		if (rc)
			return rc;
		memcpy(m.data, buf, len);
		return sp_ring_commit(r, &m, len);
	}
	rc = claim(r, len, &m, buf, timeout_ns);
	if (rc == 0)
		committed(r, len);
	return rc;
}

int sp_ring_seal(sp_ring *r)
{
	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (r->sealed)
		return 0;
	if (r->reserved)
		return -EBUSY;
	r->sealed = 1;
	r->role |= ROLE_SEALED;
	store_relaxed(&r->seg.me->role, r->role);
	/* Release: after our commits, for readers who see the seal (acquire
	 * in sp_ring_closed). */
	fetch_add_release(&r->b->sealed, 1);
	doorbell(r, ROLE_READER, 1);
	doorbell(r, ROLE_WRITER, 1);
	return 0;
}

/* Marks this handle's uncommitted records ABANDONED so readers need not wait
 * for a liveness check to step over them. */
void sp_ring_abandon_mine(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, w, c, stride;

	w = load_acquire(&b->wr_claim);
	q = load_acquire(&b->rd_claim);
	/* Bounded: [rd_claim, wr_claim) lies within one capacity, and starts
	 * aligned, or a peer corrupted the positions and there is nothing of
	 * ours to find. */
	if (POS_ODD(q) || q > w || w - q > r->cap)
		w = q;
	for (; q < w && r->reserved; q += stride) {
		c = read_header(r, q, w, &stride);
		if (load_acquire(&b->rd_release) > q || !c)
			break;
		if (c == CTL(REC_CLAIMED, r->seg.token, lap_tag(r, q)) &&
		    cas_acq_rel(&rec_at(r, q)->ctl, &c, CTL_MOVE(c, REC_ABANDONED, r->seg.token)))
			r->reserved--;
	}
	doorbell(r, ROLE_READER, 1);
}
