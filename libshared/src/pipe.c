/* pipe.c: Pipe: one or two rings and a small segment recording who holds each end and whether it closed. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "obj.h"
#include "rmutex.h"
#include "shared/pipe.h"
#include "shared/ring.h"
#include "wait.h"

/*
 * File layout of the pipe's own segment NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_PIPE
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct pipe_body      below
 *
 * Lock rules: flags are fixed at creation.  holder[e] moves by CAS only:
 * 0 -> token when end e is opened, a dead token -> a new one when a dead
 * holder's end is reopened, token -> 0 at close.  closed[e] is set once,
 * by the holder of end e at close, before it releases holder[e]; opened[e]
 * is set once, when end e is first opened.  Nothing else is shared.
 */
struct pipe_body {
	uint32_t magic;              /*  0: PIPE_MAGIC */
	uint32_t flags;              /*  4: SP_PIPE_ONEWAY */
	_Atomic uint32_t holder[2];  /*  8: token of each end's handle, 0: none */
	_Atomic uint32_t closed[2];  /* 16: 1 once the end has closed */
	_Atomic uint32_t opened[2];  /* 24: 1 once the end has been opened */
	uint8_t pad_[32];            /* 32: to 64 */
};
_Static_assert(sizeof(struct pipe_body) == 64, "pipe body layout");

#define PIPE_MAGIC 0x45504950u  /* "PIPE" */
#define PIPE_BODY_OFF (sizeof(struct sp_seg_hdr) + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot))
/* Longest single wait on a ring before we look at the peer again. */
#define PIPE_SLICE_NS 50000000LL

struct sp_pipe {
	struct sp_seg seg;
	struct pipe_body *b;
	unsigned end;
	sp_ring *in, *out;       /* NULL where this end cannot go */
	struct sp_msg pending;   /* peeked by poll() or a too-small recv */
	int has_pending;
};

static size_t pipe_size(const void *arg)
{
	(void)arg;
	return PIPE_BODY_OFF + sizeof(struct pipe_body);
}


static int pipe_validate(const struct sp_seg *s, const void *geom)
{
	const struct pipe_body *g = geom;

	return s->h.body_off == PIPE_BODY_OFF && g->magic == PIPE_MAGIC &&
	       !(g->flags & ~SP_PIPE_ONEWAY) ? 0 : -EBADMSG;
}

static int ring_name(char *buf, size_t size, const char *name, char which)
{
	int n = snprintf(buf, size, "%s.%c", name, which);

	return n < 0 || (size_t)n >= size || (size_t)n > SP_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Makes the pipe's rings anew: called by pipe_init, under the pipe's flock
 * and before the pipe is READY, so that whoever attaches to a READY pipe
 * finds its rings (unless an unlink is removing them), and an attach never
 * has to create one.  Rings of that name left by an earlier pipe, or by a
 * creator that died here, are removed first: their records are not ours.
 * Returns 0 or as sp_ring_open(), having made nothing. */
static int make_rings(const char *name, const struct sp_pipe_opts *o)
{
	struct sp_ring_opts ro = { 0 };
	char rn[2][SP_NAME_MAX + 8];
	int nrings = o->flags & SP_PIPE_ONEWAY ? 1 : 2, rc = 0;
	sp_ring *r;

	ro.capacity = o->capacity;
	ro.mode = o->mode;
	ro.writers = 1;        /* the one writer's seal is end of file */
	for (int i = 0; i < nrings && !rc; i++) {
		rc = ring_name(rn[i], sizeof(rn[i]), name, (char)('a' + i));
		if (rc)
			break;
		sp_ring_unlink(rn[i]);
		rc = sp_ring_open(rn[i], SP_CREATE | SP_EXCL, &ro, &r);
		if (!rc)
			sp_ring_close(r);
		else
			while (i-- > 0)
				sp_ring_unlink(rn[i]);
	}
	return rc;
}

static int pipe_init(struct sp_seg *s, const void *arg)
{
	const struct sp_pipe_opts *o = arg;
	struct pipe_body *b = s->body;

	b->magic = PIPE_MAGIC;
	b->flags = o->flags;
	return make_rings(s->name, o);
}

static const struct sp_seg_ops pipe_ops = {
	.kind = SP_KIND_PIPE,
	.body_size = sizeof(struct pipe_body),
	.geom_size = offsetof(struct pipe_body, holder),
	.size = pipe_size,
	.init = pipe_init,
	.validate = pipe_validate,
};

/* Creates the pipe's segment and rings (so that they get the creator's
 * capacity whoever opens an end first), holding neither end. */
int sp_pipe_create(const char *name, unsigned flags, const struct sp_pipe_opts *opts)
{
	struct sp_pipe_opts def = { 0 };
	char rn[SP_NAME_MAX + 8];
	struct pipe_body g;
	struct sp_seg seg;
	int rc;

	if (!opts)
		opts = &def;
	if ((opts->flags & ~SP_PIPE_ONEWAY) || (flags & ~SP_EXCL))
		return -EINVAL;
	/* Room for the rings' names is checked before anything is made. */
	rc = sp_name_check(name);
	if (!rc)
		rc = ring_name(rn, sizeof(rn), name, 'b');
	if (rc)
		return rc;
	/* pipe_init makes the rings. */
	rc = sp_seg_open(&seg, name, SP_CREATE | flags, opts->mode, &pipe_ops, opts, &g);
	if (rc)
		return rc;
	sp_seg_close(&seg);
	return 0;
}

int sp_pipe_open(const char *name, unsigned flags, unsigned end, const struct sp_pipe_opts *opts,
		 sp_pipe **out)
{
	struct sp_pipe_opts def = { 0 };
	char an[SP_NAME_MAX + 8], bn[SP_NAME_MAX + 8];
	struct pipe_body g;
	uint32_t t = 0;
	sp_pipe *p;
	int rc;

	if (!out || end > 1)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (opts->flags & ~SP_PIPE_ONEWAY)
		return -EINVAL;
	rc = sp_name_check(name);
	if (!rc)
		rc = ring_name(an, sizeof(an), name, 'a');
	if (!rc)
		rc = ring_name(bn, sizeof(bn), name, 'b');
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* A new pipe gets its rings in pipe_init. */
	rc = sp_seg_open(&p->seg, name, flags, opts->mode, &pipe_ops, opts, &g);
	if (rc) {
		free(p);
		return rc;
	}
	p->b = p->seg.body;
	p->end = end;
	/* Ring a carries end 1 -> end 0; ring b end 0 -> end 1 (duplex).
	 * Attached, never created: a READY pipe has its rings, and one whose
	 * rings are gone is being removed (-ENOENT; made again here, they
	 * would outlive the pipe). */
	rc = sp_ring_open(an, 0, NULL, end == 0 ? &p->in : &p->out);
	if (!rc && !(g.flags & SP_PIPE_ONEWAY))
		rc = sp_ring_open(bn, 0, NULL, end == 0 ? &p->out : &p->in);
	if (rc)
		goto fail;
	/* Claim the end: free, or held by a dead handle. */
	rc = -EPIPE;
	if (load_acquire(&p->b->closed[end]))
		goto fail;
	while (!cas_acq_rel(&p->b->holder[end], &t, p->seg.token)) {
		rc = -EBUSY;
		if (sp_seg_alive(&p->seg, t))
			goto fail;
	}
	store_release(&p->b->opened[end], 1);
	*out = p;
	return 0;
fail:
	if (p->in)
		sp_ring_close(p->in);
	if (p->out)
		sp_ring_close(p->out);
	sp_seg_close(&p->seg);
	free(p);
	return rc;
}

void sp_pipe_close(sp_pipe *p)
{
	uint32_t t;

	if (!p)
		return;
	if (p->out) {
		sp_ring_seal(p->out);   /* the peer reads the rest, then EOF */
		sp_ring_close(p->out);
	}
	if (p->in)
		sp_ring_close(p->in);   /* a pending record is simply dropped */
	/* A forked child's copy: the end is its parent's (fork.h). */
	if (!sp_seg_inherited(&p->seg)) {
		/* Release: closed is visible to whoever sees the end free. */
		store_release(&p->b->closed[p->end], 1);
		t = p->seg.token;
		cas_acq_rel(&p->b->holder[p->end], &t, 0);
	}
	sp_seg_close(&p->seg);
	free(p);
}

int sp_pipe_unlink(const char *name)
{
	char an[SP_NAME_MAX + 8], bn[SP_NAME_MAX + 8];
	int rc = sp_name_check(name);

	if (!rc)
		rc = ring_name(an, sizeof(an), name, 'a');
	if (!rc)
		rc = ring_name(bn, sizeof(bn), name, 'b');
	if (rc)
		return rc;
	sp_ring_unlink(an);
	sp_ring_unlink(bn);
	return sp_obj_unlink_kind(name, SP_KIND_PIPE);
}

/* Is the peer gone: closed, or opened and now dead? */
static int peer_gone(sp_pipe *p)
{
	unsigned peer = !p->end;
	uint32_t t;

	/* Acquire: pairs with the peer's release of closed at close. */
	if (load_acquire(&p->b->closed[peer]))
		return 1;
	if (!load_acquire(&p->b->opened[peer]))
		return 0;
	t = load_acquire(&p->b->holder[peer]);
	if (t == 0)
		return 1;
	if (!sp_token_valid(&p->seg, t))
		return 1;
	return !sp_seg_alive(&p->seg, t);
}

/* The next wait on a ring: at most a slice, never past the deadline.
 * Returns the ring timeout, or -1 when the caller's time is up. */
static long long next_wait(const struct sp_wait *w)
{
	long long left;

	if (w->timeout_ns == 0)
		return SP_NOWAIT;
	if (w->timeout_ns < 0)
		return PIPE_SLICE_NS;
	left = w->deadline - sp_now_ns();
	if (left <= 0)
		return -1;
	return left < PIPE_SLICE_NS ? left : PIPE_SLICE_NS;
}

int sp_pipe_send(sp_pipe *p, const void *buf, size_t len, long long timeout_ns)
{
	struct sp_wait w;

	if (sp_seg_inherited(&p->seg))
		return -ECHILD;

	if (!p->out)
		return -EBADF;
	sp_wait_start(&w, timeout_ns);
	for (;;) {
		long long t;
		int rc;

		if (peer_gone(p))
			return -EPIPE;
		t = next_wait(&w);
		if (t < 0)
			return -ETIMEDOUT;
		rc = sp_ring_put(p->out, buf, len, t);
		if (rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
		if (t == SP_NOWAIT)
			return peer_gone(p) ? -EPIPE : -EAGAIN;
	}
}

/* Takes the next record into p->pending.  Returns 0, -EPIPE (end of
 * file), -EAGAIN, -ETIMEDOUT. */
static int fetch(sp_pipe *p, long long timeout_ns)
{
	struct sp_wait w;

	if (p->has_pending)
		return 0;
	sp_wait_start(&w, timeout_ns);
	for (;;) {
		long long t = next_wait(&w);
		int gone, rc;

		if (t < 0)
			return -ETIMEDOUT;
		/* Look at the peer before trying the ring: a message it sent
		 * before dying is then still found below. */
		gone = peer_gone(p);
		rc = sp_ring_peek(p->in, &p->pending, gone ? SP_NOWAIT : t);
		if (rc == 0) {
			p->has_pending = 1;
			return 0;
		}
		if (rc == -EPIPE || ((rc == -EAGAIN || rc == -ETIMEDOUT) && gone))
			return -EPIPE;
		if (rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
		if (t == SP_NOWAIT)
			return -EAGAIN;
	}
}

ssize_t sp_pipe_recv(sp_pipe *p, void *buf, size_t size, long long timeout_ns)
{
	size_t len;
	int rc;

	if (sp_seg_inherited(&p->seg))
		return -ECHILD;

	if (!p->in)
		return -EBADF;
	rc = fetch(p, timeout_ns);
	if (rc)
		return rc;
	len = p->pending.len;
	if (len > size)
		return -EMSGSIZE;
	memcpy(buf, p->pending.data, len);
	p->has_pending = 0;
	rc = sp_ring_release(p->in, &p->pending);
	return rc ? rc : (ssize_t)len;
}

int sp_pipe_poll(sp_pipe *p, long long timeout_ns)
{
	int rc;

	if (sp_seg_inherited(&p->seg))
		return -ECHILD;

	if (!p->in)
		return -EBADF;
	rc = fetch(p, timeout_ns);
	if (rc == 0 || rc == -EPIPE)
		return 1;
	return rc == -EAGAIN || rc == -ETIMEDOUT ? 0 : rc;
}

size_t sp_pipe_max_msg(const sp_pipe *p)
{
	return sp_ring_max_record(p->out ? p->out : p->in);
}
