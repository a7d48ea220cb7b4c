/* sync.c: the synchronisation objects' segment kind: creation, validation, opening and removal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "obj.h"
#include "shared/queue.h"
#include "shared/sync.h"
#include "sync_layout.h"

_Static_assert(SYNC_BODY_OFF == 8320, "sync body offset");

struct sync_arg {
	uint32_t type, flags, param;
};

static size_t sync_size(const void *arg)
{
	(void)arg;
	return SYNC_BODY_OFF + sizeof(struct sync_body);
}

static int sync_init(struct sp_seg *s, const void *arg)
{
	const struct sync_arg *a = arg;
	struct sync_body *b = s->body;

	/* The segment is zero-filled and not yet READY: plain stores, which
	 * sp_seg_open's release of READY publishes. */
	b->type = a->type;
	b->flags = a->flags;
	b->param = a->param;
	b->magic = SYNC_MAGIC;
	if (a->type == SYNC_SEM)
		store_relaxed(&b->count, a->param);
	return 0;
}

/* Checks the geometry copy, and the fixed parameters of its type. */
static int sync_validate(const struct sp_seg *s, const void *geom)
{
	const struct sync_geom *g = geom;

	if (s->h.body_off != SYNC_BODY_OFF || s->nslots != SP_SEG_MAX_SLOTS ||
	    g->magic != SYNC_MAGIC || g->type == 0 || g->type >= SYNC_TYPE_MAX_)
		return -EBADMSG;
	switch (g->type) {
	case SYNC_SEM:
		if (g->param > SP_SEM_VALUE_MAX || (g->flags & ~(SP_SEM_BOUNDED | SP_SEM_UNDO)))
			return -EBADMSG;
		break;
	case SYNC_BARRIER:
		if (g->param == 0 || g->param > SP_SEG_MAX_SLOTS)
			return -EBADMSG;
		break;
	case SYNC_QUEUE:
		if (g->flags & ~SP_QUEUE_JOINABLE)
			return -EBADMSG;
		break;
	default:
		break;
	}
	return 0;
}

static const struct sp_seg_ops sync_ops = {
	.kind = SP_KIND_SYNC,
	.body_size = sizeof(struct sync_body),
	.geom_size = sizeof(struct sync_geom),
	.size = sync_size,
	.init = sync_init,
	.validate = sync_validate,
};

int sp_sync_open(struct sp_sync *y, const char *name, unsigned oflags, unsigned mode,
		 uint32_t type, uint32_t flags, uint32_t param)
{
	struct sync_arg a = { type, flags, param };
	int rc;

	memset(y, 0, sizeof(*y));
	rc = sp_seg_open(&y->seg, name, oflags, mode, &sync_ops, &a, &y->g);
	if (rc)
		return rc;
	y->b = y->seg.body;
	y->idx = SP_TOKEN_INDEX(y->seg.token);
	if (y->g.type != type) {
		sp_seg_close(&y->seg);
		return -EPROTO;
	}
	return 0;
}

void sp_sync_close(struct sp_sync *y)
{
	sp_seg_close(&y->seg);
}

int sp_sync_new(size_t size, const char *name, unsigned oflags, unsigned mode,
		uint32_t type, uint32_t flags, uint32_t param, void **out)
{
	struct sp_sync *y;
	int rc;

	if (!out)
		return -EINVAL;
	y = calloc(1, size);
	if (!y)
		return -ENOMEM;
	rc = sp_sync_open(y, name, oflags, mode, type, flags, param);
	if (rc) {
		free(y);
		return rc;
	}
	*out = y;
	return 0;
}

int sp_sync_unlink(const char *name)
{
	return sp_obj_unlink_kind(name, SP_KIND_SYNC);
}
