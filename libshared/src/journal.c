/* journal.c: the undo journal for crash-atomic multi-word updates (see journal.h). */
#include "journal.h"

#include <errno.h>

#include "atomics.h"

static void record(const struct sp_seg *s, struct sp_jnl *j, void *p, uint32_t width, uint64_t old)
{
	uint32_t n = load_relaxed(&j->n);
	struct sp_jnl_rec *e;

	if (n >= SP_JNL_MAX)
		__builtin_trap();   /* a bug in this library, not in the segment */
	e = &j->e[n];
	store_relaxed(&e->off, (uint32_t)((unsigned char *)p - s->base));
	store_relaxed(&e->width, width);
	store_relaxed(&e->old, old);
	/* Release: the record is complete before it is counted. */
	store_release(&j->n, n + 1);
}

void sp_jnl_set32(const struct sp_seg *s, struct sp_jnl *j, _Atomic uint32_t *p, uint32_t v)
{
	record(s, j, (void *)p, 4, load_relaxed(p));
	/* Release: the record (and its count) precede the change. */
	store_release(p, v);
}

void sp_jnl_set64(const struct sp_seg *s, struct sp_jnl *j, _Atomic uint64_t *p, uint64_t v)
{
	record(s, j, (void *)p, 8, load_relaxed(p));
	/* Release: the record (and its count) precede the change. */
	store_release(p, v);
}

void sp_jnl_commit(struct sp_jnl *j)
{
	/* Release: every journaled store precedes the end of the update. */
	store_release(&j->n, 0);
}

int sp_jnl_undo(const struct sp_seg *s, struct sp_jnl *j)
{
	uint32_t n = load_acquire(&j->n);

	if (n == 0)
		return 0;
	if (n > SP_JNL_MAX)
		return -EBADMSG;
	/* Check every record before writing any: a corrupt journal must not
	 * make us write outside the segment. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = load_relaxed(&j->e[i].off), w = load_relaxed(&j->e[i].width);

		/* Only the kind's body, never the common header or the
		 * participant table, is ever journaled. */
		if ((w != 4 && w != 8) || off % w || (uint64_t)off + w > s->map_size ||
		    off < sizeof(struct sp_seg_hdr) + (uint64_t)s->nslots * sizeof(struct sp_slot))
			return -EBADMSG;
	}
	for (uint32_t i = n; i-- > 0;) {
		uint32_t off = load_relaxed(&j->e[i].off), w = load_relaxed(&j->e[i].width);
		uint64_t old = load_relaxed(&j->e[i].old);

		if (w == 4)
			store_relaxed((_Atomic uint32_t *)(void *)(s->base + off), (uint32_t)old);
		else
			store_relaxed((_Atomic uint64_t *)(void *)(s->base + off), old);
	}
	/* Release: the restored words precede the journal's emptying. */
	store_release(&j->n, 0);
	return 1;
}
