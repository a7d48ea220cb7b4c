/* ring_stat.c: the ring's queries: stat, size, empty, full, closed. */
#include <errno.h>
#include <string.h>

#include "ring_int.h"

int sp_ring_closed(sp_ring *r)
{
	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	return ring_closed(r);
}

/* The pid in the slot of the token a bias word holds, or 0. */
static int bias_pid(sp_ring *r, uint32_t t)
{
	unsigned i = SP_TOKEN_INDEX(t);

	if (t == 0 || t == BIAS_SHARED || i >= r->seg.nslots ||
	    load_acquire(&r->seg.slots[i].token) != t)
		return 0;
	return (int)load_relaxed(&r->seg.slots[i].pid);
}

int sp_ring_stat(sp_ring *r, struct sp_ring_stat *st)
{
	struct sp_ring_body *b = r->b;
	uint64_t rel, wc;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	memset(st, 0, sizeof(*st));
	/* Readers move rd_release lazily; move it now so `used` is exact
	 * when the ring is quiet. */
	sp_ring_advance(r);
	st->capacity = r->cap;
	st->max_record = r->max_record;
	rel = load_acquire(&b->rd_release);
	wc = load_acquire(&b->wr_claim);
	st->used = wc >= rel ? wc - rel : 0;
	st->recs_in = sp_seg_count(&r->seg, CNT_RECS_IN);
	st->bytes_in = sp_seg_count(&r->seg, CNT_BYTES_IN);
	st->recs_out = sp_seg_count(&r->seg, CNT_RECS_OUT);
	st->bytes_out = sp_seg_count(&r->seg, CNT_BYTES_OUT);
	st->records = st->recs_in > st->recs_out ? st->recs_in - st->recs_out : 0;
	st->writers = r->writers;
	st->sealed = load_relaxed(&b->sealed);
	st->readers_waiting = (unsigned)(__builtin_popcountll(load_relaxed(&b->rd_sleep[0])) +
					 __builtin_popcountll(load_relaxed(&b->rd_sleep[1])));
	st->writers_waiting = (unsigned)(__builtin_popcountll(load_relaxed(&b->wr_sleep[0])) +
					 __builtin_popcountll(load_relaxed(&b->wr_sleep[1])));
	st->writer_bias_pid = bias_pid(r, load_acquire(&b->wr_bias));
	st->reader_bias_pid = bias_pid(r, load_acquire(&b->rd_bias));
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t = load_acquire(&sl->token), role;

		if (!t)
			continue;
		if (!sp_seg_alive(&r->seg, t)) {
			st->dead++;
			continue;
		}
		role = load_relaxed(&sl->role);
		st->attached++;
		st->readers += !!(role & ROLE_READER);
		st->writers_live += !!(role & ROLE_WRITER);
	}
	return 0;
}

size_t sp_ring_size(sp_ring *r)
{
	uint64_t in = sp_seg_count(&r->seg, CNT_RECS_IN);
	uint64_t out = sp_seg_count(&r->seg, CNT_RECS_OUT);

	if (sp_seg_inherited(&r->seg))
		return 0;

	return in > out ? (size_t)(in - out) : 0;
}

int sp_ring_empty(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t q = load_acquire(&b->rd_claim), w = load_acquire(&b->wr_claim), stride;
	uint64_t c;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	if (q >= w || POS_ODD(q))
		return 1;
	c = read_header(r, q, w, &stride);
	return !c || CTL_STATE(c) != REC_COMMITTED;
}

int sp_ring_full(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t rel, w;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;

	sp_ring_advance(r);
	rel = load_acquire(&b->rd_release);
	w = load_acquire(&b->wr_claim);

	return w < rel || w - rel + RING_REC_HDR > r->cap;
}

int sp_ring_unreleased(sp_ring *r, uint64_t limit, uint64_t *n)
{
	struct sp_ring_body *b = r->b;
	/* Acquire: the RELEASED marks below rd_release (read by the reader
	 * that moved it) and the headers below wr_claim are visible. */
	uint64_t q = load_acquire(&b->rd_release), w = load_acquire(&b->wr_claim);
	uint64_t c, rel, stride, k = 0;

	if (sp_seg_inherited(&r->seg))
		return -ECHILD;
	/* Positions from shared memory: checked before they bound a walk. */
	if (q > w || w - q > r->cap || ((q | w) & 7))
		return -EBADMSG;
	while (q < w && k < limit) {
		c = read_header(r, q, w, &stride);
		/* The header is meaningful only while rd_release has not passed
		 * q (the space may be reused then); once it has, everything
		 * below it is finished, so go on from there.  Each step moves q
		 * forward, so the walk ends within (w - q) / 16 steps. */
		rel = load_acquire(&b->rd_release);
		if (rel > q) {
			if (rel & 7)
				return -EBADMSG;
			q = rel;
			continue;
		}
		if (!c)
			return -EBADMSG;
		/* COMMITTED: not yet taken (or being taken); TAKEN: held by a
		 * reader, or to be adopted from a dead one.  CLAIMED is a put
		 * under way (or a dead writer's, to be abandoned): not yet
		 * a record anyone may count on. */
		if (CTL_STATE(c) == REC_COMMITTED || CTL_STATE(c) == REC_TAKEN)
			k++;
		q += stride;
	}
	*n = k;
	return 0;
}
