/* list.c: the shared list / deque: a ring of slot numbers over item slots, changes through an undo journal. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "crashpoint.h"
#include "journal.h"
#include "obj.h"
#include "rmutex.h"
#include "shared/list.h"

/*
 * File layout of a list NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_LIST
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct list_body      below
 *   8832   map[capacity]         u32: the slot holding logical position p
 *   ...    slots[capacity + 1]   each: len (u32), pad, item_max bytes
 *
 * Item k (0-based) is in slot map[(head + k) % capacity].  map is always a
 * permutation of all slots but one, the spare.  Positions outside
 * [head, head + count) point at unused slots, so appending writes the item
 * into the slot at the next free position and then publishes it by
 * raising count; set() writes into the spare and swaps it in.
 *
 * Lock rules: head, count, spare and map change only under `lock` and only
 * through the journal; a slot's bytes are written only while no live
 * position refers to it.  The geometry is fixed at creation and copied,
 * validated, into each handle.
 */
struct list_body {
	uint32_t magic;            /*   0: LIST_MAGIC */
	uint32_t capacity;         /*   4 */
	uint32_t item_max;         /*   8 */
	uint32_t slot_size;        /*  12: 8 + item_max rounded to 8 */
	uint64_t map_off;          /*  16 */
	uint64_t slots_off;        /*  24 */
	struct sp_rmutex lock;     /*  32 */
	_Atomic uint32_t head;     /*  40: position of item 0 */
	_Atomic uint32_t count;    /*  44: items */
	_Atomic uint32_t spare;    /*  48: the slot no position refers to */
	uint8_t pad0_[76];         /*  52: to 128 */
	struct sp_jnl jnl;         /* 128: 264 bytes */
	uint8_t pad1_[120];        /* 392: to 512 */
};
_Static_assert(sizeof(struct list_body) == 512, "list body layout");

#define LIST_MAGIC 0x5453494cu   /* "LIST" */
#define LIST_BODY_OFF (sizeof(struct sp_seg_hdr) + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot))
#define LIST_MAX (1u << 20)

struct sp_list {
	struct sp_seg seg;
	struct list_body *b;
	struct list_body g;        /* validated geometry */
	_Atomic uint32_t *map;
	unsigned char *slots;
	long long timeout_ns;      /* for the mutex (sp_list_set_timeout) */
};

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

static int geometry(const struct sp_list_opts *o, struct list_body *g)
{
	uint32_t cap = o->capacity ? o->capacity : 1024, im = o->item_max ? o->item_max : 256;

	if (cap > LIST_MAX || im > LIST_MAX)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->magic = LIST_MAGIC;
	g->capacity = cap;
	g->item_max = im;
	g->slot_size = (8 + im + 7) & ~7u;
	g->map_off = align64(LIST_BODY_OFF + sizeof(struct list_body));
	g->slots_off = align64(g->map_off + (uint64_t)cap * 4);
	return 0;
}

static size_t list_size(const void *arg)
{
	struct list_body g;

	if (geometry(arg, &g))
		return 0;
	return g.slots_off + (uint64_t)(g.capacity + 1) * g.slot_size;
}

static int list_init(struct sp_seg *s, const void *arg)
{
	struct list_body *b = s->body;
	_Atomic uint32_t *map;
	int rc = geometry(arg, b);

	if (rc)
		return rc;
	map = (_Atomic uint32_t *)(void *)(s->base + b->map_off);
	for (uint32_t i = 0; i < b->capacity; i++)
		store_relaxed(&map[i], i);
	store_relaxed(&b->spare, b->capacity);
	return 0;
}

/* Checks the geometry copy against what it must be.  0 or -EBADMSG. */
static int list_validate(const struct sp_seg *s, const void *geom)
{
	const struct list_body *c = geom;
	struct sp_list_opts o = { .capacity = c->capacity, .item_max = c->item_max };
	struct list_body want;

	if (s->h.body_off != LIST_BODY_OFF || c->magic != LIST_MAGIC || c->capacity == 0 ||
	    c->item_max == 0 || geometry(&o, &want) || c->slot_size != want.slot_size ||
	    c->map_off != want.map_off || c->slots_off != want.slots_off ||
	    want.slots_off + (uint64_t)(want.capacity + 1) * want.slot_size > s->h.size)
		return -EBADMSG;
	return 0;
}

static const struct sp_seg_ops list_ops = {
	.kind = SP_KIND_LIST,
	.body_size = sizeof(struct list_body),
	.geom_size = offsetof(struct list_body, lock),
	.size = list_size,
	.init = list_init,
	.validate = list_validate,
};

int sp_list_open(const char *name, unsigned flags, const struct sp_list_opts *opts, sp_list **out)
{
	struct sp_list_opts def = { 0 };
	struct list_body g;
	sp_list *l;
	int rc;

	if (!out)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (geometry(opts, &g))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	rc = sp_seg_open(&l->seg, name, flags, opts->mode, &list_ops, opts, &l->g);
	if (rc) {
		free(l);
		return rc;
	}
	l->b = l->seg.body;
	l->map = (_Atomic uint32_t *)(void *)(l->seg.base + l->g.map_off);
	l->slots = l->seg.base + l->g.slots_off;
	l->timeout_ns = SP_FOREVER;
	*out = l;
	return 0;
}

void sp_list_close(sp_list *l)
{
	if (!l)
		return;
	sp_seg_close(&l->seg);
	free(l);
}

int sp_list_unlink(const char *name)
{
	return sp_obj_unlink_kind(name, SP_KIND_LIST);
}

void sp_list_set_timeout(sp_list *l, long long timeout_ns)
{
	l->timeout_ns = timeout_ns;
}

/* Takes the mutex, rolling back a dead holder's update, and reads head
 * and count, checked.  Returns 0 or -errno (not holding the mutex). */
static int list_lock(sp_list *l, uint32_t *head, uint32_t *count)
{
	struct sp_wait w;
	int rc;

	if (sp_seg_inherited(&l->seg))
		return -ECHILD;

	/* As the handle's timeout says: a peer stopped inside a call costs us
	 * that, never more (rmutex.h). */
	sp_wait_start(&w, l->timeout_ns);
	rc = sp_rmutex_enter(&l->seg, &l->b->lock, &w);
	if (rc == -EOWNERDEAD)
		rc = sp_jnl_undo(&l->seg, &l->b->jnl) < 0 ? -EBADMSG : 0;
	else if (rc)
		return rc;
	*head = load_relaxed(&l->b->head);
	*count = load_relaxed(&l->b->count);
	if (!rc && (*head >= l->g.capacity || *count > l->g.capacity))
		rc = -EBADMSG;
	CRASH_POINT("list.locked");
	if (rc)
		sp_rmutex_unlock(&l->seg, &l->b->lock);
	return rc;
}

static int list_unlock(sp_list *l, int rc)
{
	sp_rmutex_unlock(&l->seg, &l->b->lock);
	return rc;
}

/* The slot at logical position p (0 .. capacity-1), or NULL if the map is
 * corrupt there. */
static unsigned char *slot_at(sp_list *l, uint32_t p, uint32_t *id)
{
	uint32_t s = load_relaxed(&l->map[p]);

	if (s > l->g.capacity)
		return NULL;
	if (id)
		*id = s;
	return l->slots + (uint64_t)s * l->g.slot_size;
}

static int put(sp_list *l, int front, const void *item, size_t len)
{
	uint32_t head, count, p;
	unsigned char *sl;
	int rc;

	if (len > l->g.item_max)
		return -E2BIG;
	rc = list_lock(l, &head, &count);
	if (rc)
		return rc;
	if (count == l->g.capacity)
		return list_unlock(l, -ENOSPC);
	p = front ? (head + l->g.capacity - 1) % l->g.capacity : (head + count) % l->g.capacity;
	sl = slot_at(l, p, NULL);
	if (!sl)
		return list_unlock(l, -EBADMSG);
	/* Unused slot: plain stores, published by the journaled count. */
	memcpy(sl, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(sl + 8, item, len);
	if (front)
		sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->head, p);
	sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->count, count + 1);
	sp_jnl_commit(&l->b->jnl);
	return list_unlock(l, 0);
}

int sp_list_append(sp_list *l, const void *item, size_t len) { return put(l, 0, item, len); }
int sp_list_appendleft(sp_list *l, const void *item, size_t len) { return put(l, 1, item, len); }

/* Copies the item of slot sl out.  Returns 0, -EMSGSIZE, -EBADMSG. */
static int copy_out(sp_list *l, const unsigned char *sl, void *buf, size_t size, size_t *len)
{
	/* The length word once: it is checked, then used. */
	uint32_t n = read_once((const uint32_t *)(const void *)sl);

	if (n > l->g.item_max)
		return -EBADMSG;
	if (len)
		*len = n;
	if (n > size)
		return -EMSGSIZE;
	memcpy(buf, sl + 8, n);
	return 0;
}

static int take(sp_list *l, int front, void *buf, size_t size, size_t *len)
{
	uint32_t head, count, p;
	unsigned char *sl;
	int rc;

	rc = list_lock(l, &head, &count);
	if (rc)
		return rc;
	if (count == 0)
		return list_unlock(l, -ERANGE);
	p = front ? head : (head + count - 1) % l->g.capacity;
	sl = slot_at(l, p, NULL);
	if (!sl)
		return list_unlock(l, -EBADMSG);
	rc = copy_out(l, sl, buf, size, len);
	if (rc)
		return list_unlock(l, rc);
	if (front)
		sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->head, (head + 1) % l->g.capacity);
	sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->count, count - 1);
	sp_jnl_commit(&l->b->jnl);
	return list_unlock(l, 0);
}

int sp_list_pop(sp_list *l, void *buf, size_t size, size_t *len) { return take(l, 0, buf, size, len); }
int sp_list_popleft(sp_list *l, void *buf, size_t size, size_t *len) { return take(l, 1, buf, size, len); }

/* Logical index i (negative: from the end) to a position, or -ERANGE. */
static int position(sp_list *l, uint32_t head, uint32_t count, long long i, uint32_t *p)
{
	if (i < 0)
		i += count;
	if (i < 0 || i >= (long long)count)
		return -ERANGE;
	*p = (uint32_t)((head + (uint64_t)i) % l->g.capacity);
	return 0;
}

int sp_list_get(sp_list *l, long long i, void *buf, size_t size, size_t *len)
{
	uint32_t head, count, p;
	unsigned char *sl;
	int rc = list_lock(l, &head, &count);

	if (rc)
		return rc;
	rc = position(l, head, count, i, &p);
	if (rc)
		return list_unlock(l, rc);
	sl = slot_at(l, p, NULL);
	return list_unlock(l, sl ? copy_out(l, sl, buf, size, len) : -EBADMSG);
}

int sp_list_set(sp_list *l, long long i, const void *item, size_t len)
{
	uint32_t head, count, p, old, spare;
	unsigned char *sl;
	int rc;

	if (len > l->g.item_max)
		return -E2BIG;
	rc = list_lock(l, &head, &count);
	if (rc)
		return rc;
	rc = position(l, head, count, i, &p);
	if (rc)
		return list_unlock(l, rc);
	spare = load_relaxed(&l->b->spare);
	if (spare > l->g.capacity || !slot_at(l, p, &old))
		return list_unlock(l, -EBADMSG);
	sl = l->slots + (uint64_t)spare * l->g.slot_size;
	memcpy(sl, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(sl + 8, item, len);
	sp_jnl_set32(&l->seg, &l->b->jnl, &l->map[p], spare);
	sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->spare, old);
	sp_jnl_commit(&l->b->jnl);
	return list_unlock(l, 0);
}

size_t sp_list_len(sp_list *l)
{
	/* Relaxed: a snapshot. */
	uint32_t n = load_relaxed(&l->b->count);

	if (sp_seg_inherited(&l->seg))
		return 0;
	return n <= l->g.capacity ? n : 0;
}

int sp_list_clear(sp_list *l)
{
	uint32_t head, count;
	int rc = list_lock(l, &head, &count);

	if (rc)
		return rc;
	sp_jnl_set32(&l->seg, &l->b->jnl, &l->b->count, 0);
	sp_jnl_commit(&l->b->jnl);
	return list_unlock(l, 0);
}
