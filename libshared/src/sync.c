/* sync.c: the synchronisation objects' segment kind: creation, validation, opening and removal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "obj.h"
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
	struct sync_body *b = sp_obj_body(s, sizeof(*b));

	if (!b)
		return -EINVAL;
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

static int sync_validate(const struct sp_seg *s)
{
	const struct sync_body *b = sp_obj_body(s, sizeof(*b));

	if (!b || b->magic != SYNC_MAGIC)
		return -EBADMSG;
	if (b->type == 0 || b->type >= SYNC_TYPE_MAX_)
		return -EBADMSG;
	return 0;
}

static const struct sp_seg_ops sync_ops = {
	.kind = SP_KIND_SYNC,
	.size = sync_size,
	.init = sync_init,
	.validate = sync_validate,
};

/* Checks the fixed parameters of a body, whatever created it. */
static int check_params(const struct sync_body *b)
{
	switch (b->type) {
	case SYNC_SEM:
		if (b->param > SP_SEM_VALUE_MAX || (b->flags & ~(SP_SEM_BOUNDED | SP_SEM_UNDO)))
			return -EBADMSG;
		break;
	case SYNC_BARRIER:
		if (b->param == 0 || b->param > SP_SEG_MAX_SLOTS)
			return -EBADMSG;
		break;
	default:
		break;
	}
	return 0;
}

int sp_sync_open(struct sp_sync *y, const char *name, unsigned oflags, unsigned mode,
		 uint32_t type, uint32_t flags, uint32_t param)
{
	struct sync_arg a = { type, flags, param };
	int rc;

	memset(y, 0, sizeof(*y));
	rc = sp_seg_open(&y->seg, name, oflags, mode, &sync_ops, &a);
	if (rc)
		return rc;
	y->b = sp_obj_body(&y->seg, sizeof(*y->b));
	rc = -EBADMSG;
	if (y->b && y->b->magic == SYNC_MAGIC) {
		rc = y->b->type == type ? check_params(y->b) : -EPROTO;
		y->idx = SP_TOKEN_INDEX(y->seg.token);
		if (!rc && y->idx >= y->seg.nslots)
			rc = -EBADMSG;
	}
	if (rc) {
		sp_seg_close(&y->seg);
		return rc;
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
	return sp_obj_unlink_kind(name, SP_KIND_SYNC, &sync_ops);
}
