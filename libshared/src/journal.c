/* journal.c: the undo journal for crash-atomic multi-word updates (see journal.h). */
#include "journal.h"

#include <errno.h>

#include "atomics.h"
#include "crashpoint.h"

static void record(const struct sp_seg *s, struct sp_jnl *j, void *p, uint32_t width, uint64_t old)
{
	/* n lives in shared memory: read once, and checked before it indexes
	 * anything. */
	uint32_t n = load_relaxed(&j->n);
	struct sp_jnl_rec *e;

	if (n >= SP_JNL_MAX) {
		/* No update of this library journals more than SP_JNL_MAX
		 * words, so only a peer's write brings n here: the journal
		 * is lost.  Mark it so (undo refuses n > SP_JNL_MAX with
		 * -EBADMSG); the store goes on, and a commit clears the mark. */
		store_release(&j->n, SP_JNL_MAX + 1);
		return;
	}
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
	struct { uint32_t off, width; uint64_t old; } e[SP_JNL_MAX];
	uint32_t n = load_acquire(&j->n);

	if (n == 0)
		return 0;
	if (n > SP_JNL_MAX)
		return -EBADMSG;
	/* Copy every record, then check the copies, and write from them
	 * only: a peer that changes a record after we checked it must not
	 * make us write outside the kind's body. */
	for (uint32_t i = 0; i < n; i++) {
		e[i].off = load_relaxed(&j->e[i].off);
		e[i].width = load_relaxed(&j->e[i].width);
		e[i].old = load_relaxed(&j->e[i].old);
		/* Only the kind's body, never the common header or the
		 * participant table, is ever journaled. */
		if ((e[i].width != 4 && e[i].width != 8) || e[i].off % e[i].width ||
		    e[i].off < s->h.body_off || (uint64_t)e[i].off + e[i].width > s->h.size)
			return -EBADMSG;
	}
	CRASH_POINT("undo.checked");
	for (uint32_t i = n; i-- > 0;) {
		if (e[i].width == 4)
			store_relaxed((_Atomic uint32_t *)(void *)(s->base + e[i].off),
				      (uint32_t)e[i].old);
		else
			store_relaxed((_Atomic uint64_t *)(void *)(s->base + e[i].off), e[i].old);
	}
	/* Release: the restored words precede the journal's emptying. */
	store_release(&j->n, 0);
	return 1;
}
