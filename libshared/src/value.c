/* value.c: Value and Array: typed elements in a segment, atomic accessors and an optional robust lock. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "obj.h"
#include "rmutex.h"
#include "seg.h"
#include "shared/value.h"

_Static_assert(ATOMIC_CHAR_LOCK_FREE == 2 && ATOMIC_SHORT_LOCK_FREE == 2 &&
	       ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	       "the elements' atomics must be lock-free to be shared across processes");
_Static_assert(sizeof(double) == 8, "double is 64 bits");

/*
 * File layout of a Value/Array NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_VALUE
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct value_body     below
 *   8384   data                  length * elem bytes (VALUE_DATA_OFF)
 *
 * Lock rules: type, elem, flags, length and data_off are written once at
 * creation and only read after; each handle validates and copies them at
 * open and never re-reads them.  The data is guarded by `lock` only by
 * the users' convention; the library's own accessors are single atomic
 * operations and need no lock, except sp_value_read/write.
 */
struct value_body {
	uint32_t magic;          /*  0: VALUE_MAGIC */
	uint32_t type;           /*  4: enum sp_type */
	uint32_t elem;           /*  8: element size in bytes */
	uint32_t flags;          /* 12: SP_VALUE_LOCK */
	uint64_t length;         /* 16: elements */
	uint64_t data_off;       /* 24: VALUE_DATA_OFF */
	struct sp_rmutex lock;   /* 32: robust mutex (rmutex.h) */
	uint8_t pad_[24];        /* 40: to 64 */
};
_Static_assert(sizeof(struct value_body) == 64, "value body layout");

#define VALUE_MAGIC 0x454c4156u  /* "VALE" */
#define VALUE_BODY_OFF (sizeof(struct sp_seg_hdr) + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot))
#define VALUE_DATA_OFF (VALUE_BODY_OFF + sizeof(struct value_body))
_Static_assert(VALUE_DATA_OFF % 64 == 0, "data is cache-line aligned");

struct sp_value {
	struct sp_seg seg;
	struct value_body *b;
	unsigned char *data;
	enum sp_type type;       /* validated copies */
	uint32_t elem, flags;
	uint64_t length;
};

static uint32_t elem_size(uint32_t t)
{
	switch (t) {
	case SP_I8: case SP_U8: case SP_BYTES: return 1;
	case SP_I16: case SP_U16: return 2;
	case SP_I32: case SP_U32: return 4;
	case SP_I64: case SP_U64: case SP_DOUBLE: return 8;
	default: return 0;
	}
}

static size_t value_size(const void *arg)
{
	const struct sp_value_opts *o = arg;
	uint64_t bytes = (o->length ? o->length : 1) * elem_size(o->type);

	return VALUE_DATA_OFF + bytes;
}

static int value_init(struct sp_seg *s, const void *arg)
{
	const struct sp_value_opts *o = arg;
	struct value_body *b = s->body;

	b->magic = VALUE_MAGIC;
	b->type = o->type;
	b->elem = elem_size(o->type);
	b->flags = o->flags;
	b->length = o->length ? o->length : 1;
	b->data_off = VALUE_DATA_OFF;
	return 0;
}

/* Checks the geometry copy against the file.  Returns 0 or -EBADMSG. */
static int value_validate(const struct sp_seg *s, const void *geom)
{
	const struct value_body *g = geom;
	uint32_t t = g->type, e = g->elem;
	uint64_t len = g->length, off = g->data_off;

	if (s->h.body_off != VALUE_BODY_OFF || g->magic != VALUE_MAGIC || t == 0 ||
	    t >= SP_TYPE_MAX_ || e != elem_size(t) || (g->flags & ~SP_VALUE_LOCK) || len == 0 ||
	    len > SP_VALUE_MAX_BYTES / e || off != VALUE_DATA_OFF || off + len * e > s->h.size)
		return -EBADMSG;
	return 0;
}

static const struct sp_seg_ops value_ops = {
	.kind = SP_KIND_VALUE,
	.body_size = sizeof(struct value_body),
	.geom_size = offsetof(struct value_body, lock),
	.size = value_size,
	.init = value_init,
	.validate = value_validate,
};

int sp_value_open(const char *name, unsigned flags, const struct sp_value_opts *opts,
		  sp_value **out)
{
	struct sp_value_opts def = { 0 };
	struct value_body g;
	sp_value *v;
	int rc;

	if (!out)
		return -EINVAL;
	if (opts) {
		uint32_t e = elem_size(opts->type);

		if (!e || (opts->flags & ~SP_VALUE_LOCK) ||
		    (opts->length ? opts->length : 1) > SP_VALUE_MAX_BYTES / e)
			return -EINVAL;
	} else if (flags & SP_CREATE) {
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	rc = sp_seg_open(&v->seg, name, flags, opts ? opts->mode : 0, &value_ops,
			 opts ? opts : &def, &g);
	if (!rc && opts && (g.type != (uint32_t)opts->type ||
			    g.length != (opts->length ? opts->length : 1))) {
		sp_seg_close(&v->seg);
		rc = -EPROTO;
	}
	if (rc) {
		free(v);
		return rc;
	}
	v->b = v->seg.body;
	v->type = (enum sp_type)g.type;
	v->elem = g.elem;
	v->flags = g.flags;
	v->length = g.length;
	v->data = v->seg.base + g.data_off;
	*out = v;
	return 0;
}

void sp_value_close(sp_value *v)
{
	if (!v)
		return;
	if (v->flags & SP_VALUE_LOCK)
		sp_rmutex_drop(&v->seg, &v->b->lock);
	sp_seg_close(&v->seg);
	free(v);
}

int sp_value_unlink(const char *name)
{
	return sp_obj_unlink_kind(name, SP_KIND_VALUE);
}

enum sp_type sp_value_type(const sp_value *v) { return v->type; }
uint64_t sp_value_length(const sp_value *v) { return v->length; }
size_t sp_value_elem_size(const sp_value *v) { return v->elem; }
/* NULL in a forked child: the data is its parent's (fork.h). */
void *sp_value_data(sp_value *v) { return sp_seg_inherited(&v->seg) ? NULL : v->data; }

#define AT(T, v, i) ((_Atomic T *)(void *)((v)->data + (size_t)(i) * (v)->elem))

int sp_value_load(sp_value *v, uint64_t i, void *out)
{
	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (i >= v->length)
		return -ERANGE;
	/* Acquire: pairs with the release of sp_value_store and the
	 * read-modify-writes: data written before them is visible. */
	switch (v->elem) {
	case 1: { uint8_t x = load_acquire(AT(uint8_t, v, i)); memcpy(out, &x, 1); break; }
	case 2: { uint16_t x = load_acquire(AT(uint16_t, v, i)); memcpy(out, &x, 2); break; }
	case 4: { uint32_t x = load_acquire(AT(uint32_t, v, i)); memcpy(out, &x, 4); break; }
	default: { uint64_t x = load_acquire(AT(uint64_t, v, i)); memcpy(out, &x, 8); break; }
	}
	return 0;
}

int sp_value_store(sp_value *v, uint64_t i, const void *in)
{
	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (i >= v->length)
		return -ERANGE;
	/* Release: the caller's earlier writes are visible to whoever loads
	 * this value (sp_value_load's acquire). */
	switch (v->elem) {
	case 1: { uint8_t x; memcpy(&x, in, 1); store_release(AT(uint8_t, v, i), x); break; }
	case 2: { uint16_t x; memcpy(&x, in, 2); store_release(AT(uint16_t, v, i), x); break; }
	case 4: { uint32_t x; memcpy(&x, in, 4); store_release(AT(uint32_t, v, i), x); break; }
	default: { uint64_t x; memcpy(&x, in, 8); store_release(AT(uint64_t, v, i), x); break; }
	}
	return 0;
}

/* Sign- or zero-extends the raw bits of an element of type t. */
static int64_t widen(enum sp_type t, uint64_t raw)
{
	switch (t) {
	case SP_I8: return (int8_t)raw;
	case SP_U8: return (uint8_t)raw;
	case SP_I16: return (int16_t)raw;
	case SP_U16: return (uint16_t)raw;
	case SP_I32: return (int32_t)raw;
	case SP_U32: return (uint32_t)raw;
	default: return (int64_t)raw;
	}
}

static int is_int(const sp_value *v)
{
	return v->type >= SP_I8 && v->type <= SP_U64;
}

int sp_value_get(sp_value *v, uint64_t i, int64_t *out)
{
	uint64_t raw = 0;
	int rc;

	if (!is_int(v))
		return -EINVAL;
	rc = sp_value_load(v, i, &raw);   /* little-endian: low bytes first */
	if (rc)
		return rc;
	*out = widen(v->type, raw);
	return 0;
}

int sp_value_set(sp_value *v, uint64_t i, int64_t x)
{
	uint64_t raw = (uint64_t)x;

	if (!is_int(v))
		return -EINVAL;
	return sp_value_store(v, i, &raw);
}

int sp_value_get_double(sp_value *v, uint64_t i, double *out)
{
	if (v->type != SP_DOUBLE)
		return -EINVAL;
	return sp_value_load(v, i, out);
}

int sp_value_set_double(sp_value *v, uint64_t i, double x)
{
	if (v->type != SP_DOUBLE)
		return -EINVAL;
	return sp_value_store(v, i, &x);
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "sp_value_get/set copy the low bytes of a 64-bit word");

enum rmw { RMW_ADD, RMW_XCHG };

/* All read-modify-writes are seq_cst: they are the documents' "atomic
 * counter" and order against everything, the simplest contract to state. */
static int rmw(sp_value *v, uint64_t i, enum rmw op, int64_t x, int64_t *old)
{
	uint64_t r;

	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (!is_int(v))
		return -EINVAL;
	if (i >= v->length)
		return -ERANGE;
	switch (v->elem) {
	case 1:
		r = op == RMW_ADD ? fetch_add_seq_cst(AT(uint8_t, v, i), (uint8_t)x)
				  : exchange_seq_cst(AT(uint8_t, v, i), (uint8_t)x);
		break;
	case 2:
		r = op == RMW_ADD ? fetch_add_seq_cst(AT(uint16_t, v, i), (uint16_t)x)
				  : exchange_seq_cst(AT(uint16_t, v, i), (uint16_t)x);
		break;
	case 4:
		r = op == RMW_ADD ? fetch_add_seq_cst(AT(uint32_t, v, i), (uint32_t)x)
				  : exchange_seq_cst(AT(uint32_t, v, i), (uint32_t)x);
		break;
	default:
		r = op == RMW_ADD ? fetch_add_seq_cst(AT(uint64_t, v, i), (uint64_t)x)
				  : exchange_seq_cst(AT(uint64_t, v, i), (uint64_t)x);
		break;
	}
	if (old)
		*old = widen(v->type, r);
	return 0;
}

int sp_value_add(sp_value *v, uint64_t i, int64_t delta, int64_t *old)
{
	return rmw(v, i, RMW_ADD, delta, old);
}

int sp_value_exchange(sp_value *v, uint64_t i, int64_t x, int64_t *old)
{
	return rmw(v, i, RMW_XCHG, x, old);
}

int sp_value_cas(sp_value *v, uint64_t i, int64_t *expected, int64_t desired)
{
	int ok;

	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (!is_int(v))
		return -EINVAL;
	if (i >= v->length)
		return -ERANGE;
	/* seq_cst, as the other read-modify-writes. */
	switch (v->elem) {
	case 1: {
		uint8_t e = (uint8_t)*expected;
		ok = cas_seq_cst(AT(uint8_t, v, i), &e, (uint8_t)desired);
		*expected = widen(v->type, e);
		break;
	}
	case 2: {
		uint16_t e = (uint16_t)*expected;
		ok = cas_seq_cst(AT(uint16_t, v, i), &e, (uint16_t)desired);
		*expected = widen(v->type, e);
		break;
	}
	case 4: {
		uint32_t e = (uint32_t)*expected;
		ok = cas_seq_cst(AT(uint32_t, v, i), &e, (uint32_t)desired);
		*expected = widen(v->type, e);
		break;
	}
	default: {
		uint64_t e = (uint64_t)*expected;
		ok = cas_seq_cst(AT(uint64_t, v, i), &e, (uint64_t)desired);
		*expected = widen(v->type, e);
		break;
	}
	}
	return ok;
}

static int copy(sp_value *v, uint64_t off, void *buf, size_t len, int to_shm)
{
	uint64_t total = v->length * v->elem;
	int rc = 0, lrc;

	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (off > total || len > total - off)
		return -ERANGE;
	if (v->flags & SP_VALUE_LOCK) {
		rc = sp_value_lock(v, SP_FOREVER);
		if (rc && rc != -EOWNERDEAD)
			return rc;
	}
	if (to_shm)
		memcpy(v->data + off, buf, len);
	else
		memcpy(buf, v->data + off, len);
	if (v->flags & SP_VALUE_LOCK) {
		lrc = sp_value_unlock(v);
		if (lrc)
			return lrc;
	}
	return rc;
}

int sp_value_read(sp_value *v, uint64_t off, void *buf, size_t len)
{
	return copy(v, off, buf, len, 0);
}

int sp_value_write(sp_value *v, uint64_t off, const void *buf, size_t len)
{
	return copy(v, off, (void *)buf, len, 1);
}

int sp_value_lock(sp_value *v, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (!(v->flags & SP_VALUE_LOCK))
		return -ENOLCK;
	sp_wait_start(&w, timeout_ns);
	return sp_rmutex_lock(&v->seg, &v->b->lock, &w);
}

int sp_value_unlock(sp_value *v)
{
	if (sp_seg_inherited(&v->seg))
		return -ECHILD;

	if (!(v->flags & SP_VALUE_LOCK))
		return -ENOLCK;
	return sp_rmutex_unlock(&v->seg, &v->b->lock);
}
