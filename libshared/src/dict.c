/* dict.c: the shared dict: an open-addressing table, entries from a free list, changes through an undo journal. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "crashpoint.h"
#include "journal.h"
#include "obj.h"
#include "rmutex.h"
#include "shared/dict.h"

/*
 * File layout of a dict NAME (/dev/shm/shmpipe.NAME):
 *
 *   0        struct sp_seg_hdr      common header (seg.h), kind SP_KIND_DICT
 *   128      struct sp_slot[128]    participant table (seg.h)
 *   8320     struct dict_body       below (DICT_BODY_OFF)
 *   8832     buckets[0][nbuckets]   u32 each (bkt_off[0])
 *   ...      buckets[1][nbuckets]   the spare table for compaction (bkt_off[1])
 *   ...      pool[npool]            entries of ent_size bytes (pool_off)
 *
 * A bucket holds 0 (empty), DICT_TOMB (a deleted key: probing goes on past
 * it), or i + 1 for pool entry i.  An entry:
 *   0  next  (u32) i + 1 of the next free entry, while this one is free
 *   4  klen  (u32) key bytes
 *   8  vlen  (u32) value bytes
 *   12 hash  (u32) FNV-1a of the key
 *   16 key[key_max], then value[val_max]; ent_size rounds it to 8.
 * npool = capacity + 1: replacing a value writes it into a free entry and
 * then swaps the bucket over, so one entry more than the keys is needed.
 *
 * Lock rules: everything in the body after `lock`, the buckets and the
 * pool are read and written only by the holder of `lock`.  Words that
 * publish (active, count, tombs, free_head, buckets, next) change only
 * through the journal; an entry's other fields are written only while
 * nothing refers to it.  The geometry (capacity .. pool_off) is fixed at
 * creation and copied, after validation, into each handle.
 */
struct dict_body {
	uint32_t magic;              /*   0: DICT_MAGIC */
	uint32_t capacity;           /*   4 */
	uint32_t nbuckets;           /*   8: power of two >= 2 * capacity */
	uint32_t key_max;            /*  12 */
	uint32_t val_max;            /*  16 */
	uint32_t ent_size;           /*  20 */
	uint32_t npool;              /*  24: capacity + 1 */
	uint32_t pad0_;              /*  28 */
	uint64_t bkt_off[2];         /*  32 */
	uint64_t pool_off;           /*  48 */
	struct sp_rmutex lock;       /*  56 */
	_Atomic uint32_t active;     /*  64: which bucket table is live, 0 or 1 */
	_Atomic uint32_t count;      /*  68: keys */
	_Atomic uint32_t tombs;      /*  72: tombstones in the live table */
	_Atomic uint32_t free_head;  /*  76: i + 1 of the first free entry, 0: none */
	uint8_t pad1_[48];           /*  80 */
	struct sp_jnl jnl;           /* 128: 264 bytes */
	uint8_t pad2_[120];          /* 392: to 512 */
};
_Static_assert(sizeof(struct dict_body) == 512, "dict body layout");

struct dict_ent {
	_Atomic uint32_t next;
	uint32_t klen, vlen, hash;
	unsigned char kv[];
};

#define DICT_MAGIC 0x54434944u   /* "DICT" */
#define DICT_TOMB 0xffffffffu
#define DICT_BODY_OFF (sizeof(struct sp_seg_hdr) + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot))
#define DICT_MAX_CAP (1u << 20)
#define DICT_MAX_KEY 4096u
#define DICT_MAX_VAL (1u << 20)

struct sp_dict {
	struct sp_seg seg;
	struct dict_body *b;
	struct dict_body g;          /* validated geometry */
	_Atomic uint32_t *bkt[2];
	unsigned char *pool;
	long long timeout_ns;        /* for the mutex (sp_dict_set_timeout) */
};

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* Fills the geometry of a dict from options.  Returns 0 or -EINVAL. */
static int geometry(const struct sp_dict_opts *o, struct dict_body *g)
{
	uint32_t cap = o->capacity ? o->capacity : 1024;
	uint32_t km = o->key_max ? o->key_max : 64, vm = o->val_max ? o->val_max : 256;
	uint32_t nb = 16;

	if (cap > DICT_MAX_CAP || km > DICT_MAX_KEY || vm > DICT_MAX_VAL)
		return -EINVAL;
	while (nb < 2 * cap)
		nb *= 2;
	memset(g, 0, sizeof(*g));
	g->magic = DICT_MAGIC;
	g->capacity = cap;
	g->nbuckets = nb;
	g->key_max = km;
	g->val_max = vm;
	g->ent_size = (uint32_t)((sizeof(struct dict_ent) + km + vm + 7) & ~7u);
	g->npool = cap + 1;
	g->bkt_off[0] = align64(DICT_BODY_OFF + sizeof(struct dict_body));
	g->bkt_off[1] = align64(g->bkt_off[0] + (uint64_t)nb * 4);
	g->pool_off = align64(g->bkt_off[1] + (uint64_t)nb * 4);
	return 0;
}

static size_t dict_size(const void *arg)
{
	struct dict_body g;

	if (geometry(arg, &g))
		return 0;
	return g.pool_off + (uint64_t)g.npool * g.ent_size;
}

static int dict_init(struct sp_seg *s, const void *arg)
{
	struct dict_body *b = s->body;
	int rc = geometry(arg, b);

	if (rc)
		return rc;
	/* Zero-filled: both tables empty.  Chain every entry on the free list
	 * (plain stores: the segment is not READY yet). */
	for (uint32_t i = 0; i < b->npool; i++) {
		struct dict_ent *e = (struct dict_ent *)(void *)(s->base + b->pool_off +
								 (uint64_t)i * b->ent_size);

		store_relaxed(&e->next, i + 1 < b->npool ? i + 2 : 0);
	}
	store_relaxed(&b->free_head, 1);
	return 0;
}

/* Checks the geometry copy against what it must be.  0 or -EBADMSG. */
static int dict_validate(const struct sp_seg *s, const void *geom)
{
	const struct dict_body *c = geom;
	struct sp_dict_opts o = { .capacity = c->capacity, .key_max = c->key_max,
				  .val_max = c->val_max };
	struct dict_body want;

	if (s->h.body_off != DICT_BODY_OFF || c->magic != DICT_MAGIC || c->capacity == 0 ||
	    c->key_max == 0 || c->val_max == 0 || geometry(&o, &want))
		return -EBADMSG;
	if (c->nbuckets != want.nbuckets || c->ent_size != want.ent_size || c->npool != want.npool ||
	    c->bkt_off[0] != want.bkt_off[0] || c->bkt_off[1] != want.bkt_off[1] ||
	    c->pool_off != want.pool_off ||
	    want.pool_off + (uint64_t)want.npool * want.ent_size > s->h.size)
		return -EBADMSG;
	return 0;
}

static const struct sp_seg_ops dict_ops = {
	.kind = SP_KIND_DICT,
	.body_size = sizeof(struct dict_body),
	.geom_size = offsetof(struct dict_body, lock),
	.size = dict_size,
	.init = dict_init,
	.validate = dict_validate,
};

int sp_dict_open(const char *name, unsigned flags, const struct sp_dict_opts *opts, sp_dict **out)
{
	struct sp_dict_opts def = { 0 };
	struct dict_body g;
	sp_dict *d;
	int rc;

	if (!out)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (geometry(opts, &g))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	rc = sp_seg_open(&d->seg, name, flags, opts->mode, &dict_ops, opts, &d->g);
	if (rc) {
		free(d);
		return rc;
	}
	d->b = d->seg.body;
	d->bkt[0] = (_Atomic uint32_t *)(void *)(d->seg.base + d->g.bkt_off[0]);
	d->bkt[1] = (_Atomic uint32_t *)(void *)(d->seg.base + d->g.bkt_off[1]);
	d->pool = d->seg.base + d->g.pool_off;
	d->timeout_ns = SP_FOREVER;
	*out = d;
	return 0;
}

void sp_dict_close(sp_dict *d)
{
	if (!d)
		return;
	sp_seg_close(&d->seg);   /* the mutex is never held between calls */
	free(d);
}

int sp_dict_unlink(const char *name)
{
	return sp_obj_unlink_kind(name, SP_KIND_DICT);
}

void sp_dict_set_timeout(sp_dict *d, long long timeout_ns)
{
	d->timeout_ns = timeout_ns;
}

/* Takes the mutex, waiting as the handle's timeout says (a peer stopped
 * inside a call costs us that, never more: rmutex.h); rolls back the update
 * of a dead holder. */
static int dict_lock(sp_dict *d)
{
	struct sp_wait w;
	int rc;

	if (sp_seg_inherited(&d->seg))
		return -ECHILD;

	sp_wait_start(&w, d->timeout_ns);
	rc = sp_rmutex_enter(&d->seg, &d->b->lock, &w);
	if (rc == 0 || rc == -EOWNERDEAD)
		CRASH_POINT("dict.locked");
	if (rc == -EOWNERDEAD) {
		rc = sp_jnl_undo(&d->seg, &d->b->jnl);
		if (rc < 0) {
			sp_rmutex_unlock(&d->seg, &d->b->lock);
			return rc;
		}
		rc = 0;
	}
	return rc;
}

static int dict_unlock(sp_dict *d, int rc)
{
	sp_rmutex_unlock(&d->seg, &d->b->lock);
	return rc;
}

/* Entry i + 1 = v, or NULL if v is out of range. */
static struct dict_ent *ent(sp_dict *d, uint32_t v)
{
	if (v == 0 || v > d->g.npool)
		return NULL;
	return (struct dict_ent *)(void *)(d->pool + (uint64_t)(v - 1) * d->g.ent_size);
}

static uint32_t fnv1a(const char *k, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

/* The live table, or NULL if `active` is corrupt.  Read once per
 * operation: the table an operation probed is the one it changes. */
static _Atomic uint32_t *live(sp_dict *d)
{
	uint32_t a = load_relaxed(&d->b->active);

	return a <= 1 ? d->bkt[a] : NULL;
}

/* What a lookup saw, each word read once and checked: the caller uses
 * these, never the shared words again (a peer may have changed them). */
struct hit {
	_Atomic uint32_t *bk;    /* the live table, as `active` said */
	uint32_t at;             /* the key's bucket; for a miss, where to insert
				  * (UINT32_MAX: nowhere) */
	uint32_t v;              /* bk[at] as read: i + 1 of the entry; for a miss,
				  * 0 or DICT_TOMB */
	struct dict_ent *e;      /* the entry, for a hit */
	uint32_t vlen;           /* its value's length, <= val_max */
};

/* Looks key up in the live table.  Returns 0 (found), -ENOENT, -EBADMSG. */
static int find(sp_dict *d, const char *key, uint32_t klen, uint32_t hash, struct hit *h)
{
	uint32_t mask = d->g.nbuckets - 1, i = hash & mask;

	h->bk = live(d);
	h->at = UINT32_MAX;
	h->v = 0;
	if (!h->bk)
		return -EBADMSG;
	for (uint32_t n = 0; n < d->g.nbuckets; n++, i = (i + 1) & mask) {
		uint32_t v = load_relaxed(&h->bk[i]), ek, ev;
		struct dict_ent *e;

		if (v == 0 || v == DICT_TOMB) {
			if (h->at == UINT32_MAX) {
				h->at = i;
				h->v = v;
			}
			if (v == 0)
				break;
			continue;
		}
		e = ent(d, v);
		if (!e)
			return -EBADMSG;
		ek = read_once(&e->klen);
		ev = read_once(&e->vlen);
		if (ek > d->g.key_max || ev > d->g.val_max)
			return -EBADMSG;
		if (read_once(&e->hash) == hash && ek == klen && memcmp(e->kv, key, klen) == 0) {
			h->at = i;
			h->v = v;
			h->e = e;
			h->vlen = ev;
			CRASH_POINT("dict.found");
			return 0;
		}
	}
	return -ENOENT;
}

/* Takes an entry off the free list (journaled).  Returns its i + 1, or 0
 * with *rc set. */
static uint32_t alloc_ent(sp_dict *d, int *rc)
{
	uint32_t h = load_relaxed(&d->b->free_head), nx;
	struct dict_ent *e = ent(d, h);

	if (!e) {
		*rc = h ? -EBADMSG : -ENOSPC;
		return 0;
	}
	nx = load_relaxed(&e->next);
	if (nx > d->g.npool) {
		*rc = -EBADMSG;
		return 0;
	}
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->free_head, nx);
	return h;
}

/* Puts entry v (checked by the caller: 1 .. npool) back on the free list. */
static void free_ent(sp_dict *d, uint32_t v)
{
	struct dict_ent *e = ent(d, v);

	sp_jnl_set32(&d->seg, &d->b->jnl, &e->next, load_relaxed(&d->b->free_head));
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->free_head, v);
}

/* Rebuilds the live table into the spare one without tombstones, then
 * switches over (one journaled flip).  A crash before the flip leaves the
 * live table untouched. */
static int compact(sp_dict *d)
{
	uint32_t a = load_relaxed(&d->b->active) & 1, mask = d->g.nbuckets - 1, moved = 0;
	_Atomic uint32_t *from = d->bkt[a], *to = d->bkt[!a];

	for (uint32_t i = 0; i < d->g.nbuckets; i++)
		store_relaxed(&to[i], 0);
	for (uint32_t i = 0; i < d->g.nbuckets; i++) {
		uint32_t v = load_relaxed(&from[i]), j, n;
		struct dict_ent *e;

		if (v == 0 || v == DICT_TOMB)
			continue;
		e = ent(d, v);
		/* More entries than keys can be is a corrupt table; so is a
		 * spare table that fills up under us (a peer writing it). */
		if (!e || ++moved > d->g.capacity)
			return -EBADMSG;
		for (j = read_once(&e->hash) & mask, n = 0; load_relaxed(&to[j]); j = (j + 1) & mask)
			if (++n == d->g.nbuckets)
				return -EBADMSG;
		store_relaxed(&to[j], v);
	}
	/* Release: the new table is complete before it becomes live. */
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->active, !a);
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->tombs, 0);
	sp_jnl_commit(&d->b->jnl);
	return 0;
}

static int check_key(const sp_dict *d, const char *key, size_t klen)
{
	if (!key || klen == 0)
		return -EINVAL;
	return klen > d->g.key_max ? -E2BIG : 0;
}

int sp_dict_get(sp_dict *d, const char *key, size_t klen, void *val, size_t size, size_t *len)
{
	struct hit h;
	int rc = check_key(d, key, klen);

	if (rc)
		return rc == -E2BIG ? -ENOENT : rc;
	rc = dict_lock(d);
	if (rc)
		return rc;
	rc = find(d, key, (uint32_t)klen, fnv1a(key, klen), &h);
	if (rc)
		return dict_unlock(d, rc);
	if (len)
		*len = h.vlen;
	if (h.vlen > size)
		return dict_unlock(d, -EMSGSIZE);
	memcpy(val, h.e->kv + d->g.key_max, h.vlen);
	return dict_unlock(d, 0);
}

/* Under the mutex: inserts or replaces (one journaled update). */
static int set_locked(sp_dict *d, const char *key, uint32_t klen, uint32_t hash, const void *val,
		      uint32_t vlen)
{
	uint32_t nv, cnt;
	struct dict_ent *e;
	struct hit h;
	int rc = find(d, key, klen, hash, &h), err = 0;

	if (rc && rc != -ENOENT)
		return rc;
	cnt = load_relaxed(&d->b->count);
	if (cnt > d->g.capacity)
		return -EBADMSG;
	if (rc == -ENOENT && (cnt == d->g.capacity || h.at == UINT32_MAX))
		return -ENOSPC;
	nv = alloc_ent(d, &err);     /* journals nothing when it fails */
	if (!nv)
		return err;
	/* The entry is unreferenced: fill it with plain stores. */
	e = ent(d, nv);
	e->klen = klen;
	e->vlen = vlen;
	e->hash = hash;
	memcpy(e->kv, key, klen);
	memcpy(e->kv + d->g.key_max, val, vlen);
	sp_jnl_set32(&d->seg, &d->b->jnl, &h.bk[h.at], nv);
	if (rc == 0) {
		free_ent(d, h.v);
	} else {
		if (h.v == DICT_TOMB)
			sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->tombs,
				     load_relaxed(&d->b->tombs) - 1);
		sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->count, cnt + 1);
	}
	sp_jnl_commit(&d->b->jnl);
	return 0;
}

int sp_dict_set(sp_dict *d, const char *key, size_t klen, const void *val, size_t vlen)
{
	int rc = check_key(d, key, klen);

	if (rc)
		return rc;
	if (vlen > d->g.val_max)
		return -E2BIG;
	rc = dict_lock(d);
	if (rc)
		return rc;
	return dict_unlock(d, set_locked(d, key, (uint32_t)klen, fnv1a(key, klen), val,
					 (uint32_t)vlen));
}

int sp_dict_delete(sp_dict *d, const char *key, size_t klen)
{
	uint32_t cnt, tombs;
	struct hit h;
	int rc = check_key(d, key, klen);

	if (rc)
		return rc == -E2BIG ? -ENOENT : rc;
	rc = dict_lock(d);
	if (rc)
		return rc;
	rc = find(d, key, (uint32_t)klen, fnv1a(key, klen), &h);
	if (rc)
		return dict_unlock(d, rc);
	cnt = load_relaxed(&d->b->count);
	tombs = load_relaxed(&d->b->tombs);
	if (cnt == 0 || cnt > d->g.capacity || tombs >= d->g.nbuckets)
		return dict_unlock(d, -EBADMSG);
	sp_jnl_set32(&d->seg, &d->b->jnl, &h.bk[h.at], DICT_TOMB);
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->tombs, tombs + 1);
	sp_jnl_set32(&d->seg, &d->b->jnl, &d->b->count, cnt - 1);
	free_ent(d, h.v);
	sp_jnl_commit(&d->b->jnl);
	if (tombs + 1 >= d->g.nbuckets / 4)
		rc = compact(d);
	return dict_unlock(d, rc);
}

int sp_dict_cas(sp_dict *d, const char *key, size_t klen, const void *expected, size_t elen,
		const void *val, size_t vlen)
{
	uint32_t hash;
	struct hit h;
	int rc = check_key(d, key, klen), found;

	if (rc)
		return rc;
	if (vlen > d->g.val_max)
		return -E2BIG;
	hash = fnv1a(key, klen);
	rc = dict_lock(d);
	if (rc)
		return rc;
	rc = find(d, key, (uint32_t)klen, hash, &h);
	if (rc && rc != -ENOENT)
		return dict_unlock(d, rc);
	found = rc == 0;
	if (expected ? !found : found)
		return dict_unlock(d, 0);
	if (found && (h.vlen != elen || memcmp(h.e->kv + d->g.key_max, expected, elen) != 0))
		return dict_unlock(d, 0);
	rc = set_locked(d, key, (uint32_t)klen, hash, val, (uint32_t)vlen);
	return dict_unlock(d, rc ? rc : 1);
}

size_t sp_dict_len(sp_dict *d)
{
	/* Relaxed: a snapshot. */
	uint32_t n = load_relaxed(&d->b->count);

	if (sp_seg_inherited(&d->seg))
		return 0;
	return n <= d->g.capacity ? n : 0;
}

int sp_dict_next(sp_dict *d, uint64_t *pos, char *key, size_t ksize, size_t *klen, void *val,
		 size_t vsize, size_t *vlen)
{
	_Atomic uint32_t *bk;
	int rc = dict_lock(d);

	if (rc)
		return rc;
	bk = live(d);
	if (!bk)
		return dict_unlock(d, -EBADMSG);
	for (uint64_t i = *pos; i < d->g.nbuckets; i++) {
		uint32_t v = load_relaxed(&bk[i]), ek, ev;
		struct dict_ent *e;

		if (v == 0 || v == DICT_TOMB)
			continue;
		e = ent(d, v);
		if (!e)
			return dict_unlock(d, -EBADMSG);
		ek = read_once(&e->klen);
		ev = read_once(&e->vlen);
		if (ek > d->g.key_max || ev > d->g.val_max)
			return dict_unlock(d, -EBADMSG);
		if (klen)
			*klen = ek;
		if (vlen)
			*vlen = ev;
		if (ek > ksize || ev > vsize)
			return dict_unlock(d, -EMSGSIZE);
		memcpy(key, e->kv, ek);
		memcpy(val, e->kv + d->g.key_max, ev);
		*pos = i + 1;
		return dict_unlock(d, 1);
	}
	*pos = d->g.nbuckets;
	return dict_unlock(d, 0);
}
