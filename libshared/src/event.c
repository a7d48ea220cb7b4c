/* event.c: Event: one shared flag word that processes sleep on. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "shared/sync.h"
#include "sync_layout.h"

struct sp_event {
	struct sp_sync y;
};

int sp_event_open(const char *name, unsigned flags, unsigned mode, sp_event **out)
{
	return sp_sync_new(sizeof(sp_event), name, flags, mode, SYNC_EVENT, 0, 0, (void **)out);
}

void sp_event_close(sp_event *e)
{
	if (!e)
		return;
	sp_sync_close(&e->y);
	free(e);
}

int sp_event_set(sp_event *e)
{
	if (sp_seg_inherited(&e->y.seg))
		return -ECHILD;

	/* seq_cst: pairs with the waiter's futex check (the kernel reads the
	 * word after queueing the waiter): either the waiter sees 1 or it is
	 * queued before our wake-up.  Release: whatever the setter wrote
	 * before set() is visible to a waiter that sees the flag. */
	store_seq_cst(&e->y.b->count, 1);
	sp_wake(&e->y.b->count, SP_WAKE_ALL);
	return 0;
}

int sp_event_clear(sp_event *e)
{
	if (sp_seg_inherited(&e->y.seg))
		return -ECHILD;

	/* Release: nothing to publish, but keeps clear() after the caller's
	 * earlier stores, as a reader of the flag would expect. */
	store_release(&e->y.b->count, 0);
	return 0;
}

int sp_event_is_set(sp_event *e)
{
	if (sp_seg_inherited(&e->y.seg))
		return -ECHILD;

	/* Acquire: pairs with set(): the setter's data is visible. */
	return load_acquire(&e->y.b->count) != 0;
}

int sp_event_wait(sp_event *e, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&e->y.seg))
		return -ECHILD;

	sp_wait_start(&w, timeout_ns);
	for (;;) {
		int rc;

		/* Acquire: pairs with set()'s store. */
		if (load_acquire(&e->y.b->count) != 0)
			return 0;
		rc = sp_wait_sleep(&w, &e->y.b->count, 0);
		if (rc < 0)
			return load_acquire(&e->y.b->count) != 0 ? 0 : rc;
	}
}
