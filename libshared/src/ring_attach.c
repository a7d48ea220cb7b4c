/* ring_attach.c: creating, attaching to, closing and removing a ring. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ring_int.h"

static size_t ring_size(const void *arg)
{
	const struct sp_ring_opts *o = arg;

	return RING_DATA_OFF + o->capacity;
}

static int ring_init(struct sp_seg *s, const void *arg)
{
	const struct sp_ring_opts *o = arg;
	struct sp_ring_body *b = s->body;

	b->capacity = o->capacity;
	b->max_record = (uint32_t)(o->capacity / 4);
	b->writers = o->writers;
	/* The file is zero-filled: positions, locks and counts start at 0. */
	return 0;
}

/* Checks the geometry copy against the checked header: the capacity is
 * what the file's size says (ring_map mapped that much). */
static int ring_validate(const struct sp_seg *s, const void *geom)
{
	const struct sp_ring_body *g = geom;
	uint64_t cap = s->h.size - RING_DATA_OFF;

	if (s->h.body_off != RING_BODY_OFF || s->nslots != SP_SEG_MAX_SLOTS ||
	    g->capacity != cap || g->max_record != cap / 4 || g->writers == 0 ||
	    g->writers > RING_MAX_WRITERS)
		return -EBADMSG;
	return 0;
}

/* Maps the header and data area, then the data area again right after it. */
static int ring_map(struct sp_seg *s, int fd, size_t size)
{
	uint64_t cap;
	unsigned char *base;
	size_t total;

	if (size <= RING_DATA_OFF)
		return -EBADMSG;
	cap = size - RING_DATA_OFF;
	if (cap < SP_RING_MIN_CAPACITY || cap > SP_RING_MAX_CAPACITY || (cap & (cap - 1)))
		return -EBADMSG;
	total = RING_DATA_OFF + 2 * cap;
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	if (mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(base + size, cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 RING_DATA_OFF) == MAP_FAILED) {
		int err = errno;
		munmap(base, total);
		return -err;
	}
	s->base = base;
	s->map_size = total;
	return 0;
}

static const struct sp_seg_ops ring_ops = {
	.kind = SP_KIND_RING,
	.body_size = sizeof(struct sp_ring_body),
	.geom_size = offsetof(struct sp_ring_body, pad0_),
	.size = ring_size,
	.init = ring_init,
	.validate = ring_validate,
	.map = ring_map,
};

int sp_ring_open(const char *name, unsigned flags, const struct sp_ring_opts *opts,
		 sp_ring **out)
{
	struct sp_ring_opts o = { 0 };
	struct sp_ring_body g;
	sp_ring *r;
	int rc;

	*out = NULL;
	if (flags & ~(SP_CREATE | SP_EXCL))
		return -EINVAL;
	if (opts)
		o = *opts;
	if (!o.capacity)
		o.capacity = SP_RING_DEFAULT_CAPACITY;
	if (!o.writers)
		o.writers = 1;
	if (o.capacity < SP_RING_MIN_CAPACITY || o.capacity > SP_RING_MAX_CAPACITY ||
	    (o.capacity & (o.capacity - 1)) || o.mode > 0777 || o.writers > RING_MAX_WRITERS)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sp_seg_open(&r->seg, name, flags, o.mode, &ring_ops, &o, &g);
	if (rc) {
		free(r);
		return rc;
	}
	/* The geometry from the validated copy only (seg.h). */
	r->b = r->seg.body;
	r->data = r->seg.base + RING_DATA_OFF;
	r->cap = g.capacity;
	r->mask = r->cap - 1;
	r->cap_shift = (unsigned)__builtin_ctzll(r->cap);
	r->max_record = g.max_record;
	r->writers = g.writers;
	r->spin_ns = SP_RING_DEFAULT_SPIN_NS;
	r->slot = (unsigned)(r->seg.me - r->seg.slots);
	sp_fence_init();
	*out = r;
	return 0;
}

int sp_ring_unlink(const char *name)
{
	return sp_seg_unlink(name);
}

void sp_ring_set_spin(sp_ring *r, long long spin_ns)
{
	r->spin_ns = spin_ns < 0 ? 0 : spin_ns;
}

const char *sp_ring_name(const sp_ring *r)
{
	return r->seg.name;
}

size_t sp_ring_max_record(const sp_ring *r)
{
	return r->max_record;
}

void sp_ring_close(sp_ring *r)
{
	if (!r)
		return;
	/* A forked child's copy: its reservations, records and bias are the
	 * parent's (fork.h); only our memory goes. */
	if (r->seg.base && !sp_seg_inherited(&r->seg)) {
		if (r->reserved)
			sp_ring_abandon_mine(r);
		if (r->unadvanced)
			sp_ring_advance(r);
		sp_ring_bias_drop(r, ROLE_WRITER);
		sp_ring_bias_drop(r, ROLE_READER);
	}
	sp_seg_close(&r->seg);
	free(r);
}
