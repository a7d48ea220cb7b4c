/* ring_bias.c: a ring side biased to its lone handle: grabbing, declaring, revoking, dropping. */
#include <errno.h>
#include <time.h>

#include "ring_int.h"

/* Is a live handle other than us declared in role? */
static int other_in_role(sp_ring *r, unsigned role)
{
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t;

		if (sl == r->seg.me || !(load_relaxed(&sl->role) & role))
			continue;
		t = load_acquire(&sl->token);
		if (t && sp_seg_alive(&r->seg, t))
			return 1;
	}
	return 0;
}

/* Could the owner of the epoch that busy (value v) describes still come
 * into its fast path?  Not if it acknowledged, or never got one, or died. */
static int busy_settled(sp_ring *r, uint64_t v)
{
	return v == 0 || (v & BUSY_ACK) || BUSY_TOKEN(v) == r->seg.token ||
	       !sp_seg_alive(&r->seg, BUSY_TOKEN(v));
}

/* Tries to bias the side to us: only if it is free, no earlier owner may
 * still come in, and no other live handle is declared on it. */
void sp_ring_bias_grab(sp_ring *r, struct side s)
{
	uint32_t o = load_acquire(s.bias), me = r->seg.token;
	uint64_t v = load_acquire(s.busy);

	/* A dead owner's token (killed before it gave the bias back) counts
	 * as free.  The first look for other handles spares a membarrier on
	 * a side that is plainly shared; only the one after it counts. */
	if (!sp_fence_asym || load_relaxed(&r->b->nobias) ||
	    (o != 0 && o != BIAS_SHARED && sp_seg_alive(&r->seg, o)) ||
	    !busy_settled(r, v) || other_in_role(r, s.role))
		return;
	if (!cas_acq_rel(s.bias, &o, me))
		return;
	/* Our epoch of busy.  Only a settled owner held it, who writes no
	 * more, so the CAS fails only to a peer's corruption. */
	if (!cas_acq_rel(s.busy, &v, me)) {
		cas_acq_rel(s.bias, &me, BIAS_SHARED);
		return;
	}
	/* Pairs with a declarer's full fence between its role and its look at
	 * the bias word: we see its role, or it sees our token. */
	if (!sp_fence_heavy() || other_in_role(r, s.role)) {
		store_release(s.busy, me | BUSY_ACK);
		cas_acq_rel(s.bias, &me, BIAS_SHARED);
		return;
	}
	r->biased |= s.role;
}

/* The side is not biased to us: waits until no owner of an earlier epoch
 * may be inside its fast path.  Waits for it as for a lock holder (a few
 * stores), unless we cannot force its barrier: then for its
 * acknowledgement, as w allows.  Returns 0, -EAGAIN or -ETIMEDOUT. */
static int bias_wait_out(sp_ring *r, struct side s, struct waiter *w)
{
	int forced = sp_fence_heavy();

	if (!forced) {
		/* From now on nobody takes a bias on this ring: we could not
		 * revoke it again without this wait. */
		store_relaxed(&r->b->nobias, 1);
	}
	for (unsigned n = 1;; n++) {
		/* Acquire: pairs with bias_exit and the acknowledgement. */
		uint64_t v = load_acquire(s.busy);
		int rc;

		if (v == 0 || (v & BUSY_ACK) || BUSY_TOKEN(v) == r->seg.token ||
		    (forced && !(v & BUSY_IN)))
			return 0;
		if (n % 64 == 0 && !sp_seg_alive(&r->seg, BUSY_TOKEN(v)))
			return 0;
		/* A live owner is inside for a few stores, or it is stopped, or
		 * (without membarrier) it has yet to make its next call: spin a
		 * little, then wait as the caller allows. */
		if (n < 256) {
			cpu_relax();
			continue;
		}
		rc = sp_ring_wait_phase(w);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Declares role, once per handle, before its first operation in it (see
 * "Declaring"), waiting on the call's own waiter w: what the wait spends,
 * the call's later waits do not get again.  Returns 0, or -EAGAIN /
 * -ETIMEDOUT if an earlier owner is not out by then; the next call goes
 * on. */
int sp_ring_declare(sp_ring *r, unsigned role, struct waiter *w)
{
	struct side s = side_of(r, role);
	uint32_t o;
	int rc;

	if (!(r->role & role)) {
		r->role |= role;
		store_relaxed(&r->seg.me->role, r->role);
	}
	/* Full fence: our role bit is visible before we read the bias word
	 * (the other half of bias_grab's pair). */
	atomic_thread_fence(memory_order_seq_cst);
	for (;;) {
		o = load_acquire(s.bias);
		if (o == 0 || o == BIAS_SHARED || cas_acq_rel(s.bias, &o, BIAS_SHARED))
			break;
	}
	if (o == r->seg.token) {
		/* Not ours (we hold no bias before declaring): a dead handle's
		 * token whose generation wrapped round to ours, or a peer's
		 * garbage.  Settle its epoch, or the next revoker would wait
		 * on us for ever. */
		store_release(s.busy, r->seg.token | BUSY_ACK);
	} else if (o != 0) {
		rc = bias_wait_out(r, s, w);
		if (rc)
			return rc;
	}
	r->declared |= role;
	sp_ring_bias_grab(r, s);
	r->next_regrab = sp_now_ns() + 100000000;
	return 0;
}

/* Gives the bias back, at close. */
void sp_ring_bias_drop(sp_ring *r, unsigned role)
{
	struct side s = side_of(r, role);
	uint32_t me = r->seg.token;

	if (!(r->biased & role))
		return;
	store_release(s.busy, me | BUSY_ACK);
	cas_acq_rel(s.bias, &me, 0);
	r->biased &= ~role;
}
