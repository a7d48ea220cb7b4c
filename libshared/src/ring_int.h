/* ring_int.h: private: the ring handle, and the inline paths and helpers the ring's files share. */
#ifndef SP_RING_INT_H
#define SP_RING_INT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "shared/ring.h"
#include "atomics.h"
#include "fence.h"
#include "ring_layout.h"
#include "seg.h"
#include "wait.h"

/*
 * The ring is written in one file per concern:
 *   ring_attach.c  creation, attachment, closing, removal
 *   ring_wait.c    spinning, sleeping and the doorbells
 *   ring_bias.c    the bias of a side with a lone handle (ring_layout.h, "Bias")
 *   ring_write.c   claiming, committing, cancelling, sealing
 *   ring_read.c    taking, releasing, moving rd_release, crash recovery
 *   ring_stat.c    the queries
 * What the hot paths of several files need is here, static inline, so that
 * put and get keep it inlined; the helpers one file calls in another are
 * named sp_ring_* like the API but declared only here (and not exported).
 */

/* A handle: this process's view of one attachment (never shared). */
struct sp_ring {
	struct sp_seg seg;
	struct sp_ring_body *b;
	unsigned char *data;     /* data area, mapped twice back to back */
	uint64_t cap, mask;
	unsigned cap_shift;      /* log2(cap) */
	uint32_t max_record;
	uint32_t writers;        /* validated copy of b->writers */
	uint64_t rel_cache;      /* a recent rd_release, to spare the shared line */
	uint64_t wr_cache;       /* a recent wr_claim: headers below it are whole */
	unsigned unadvanced;     /* releases since this handle last moved rd_release */
	uint64_t unadvanced_bytes; /* and the ring space they took */
	uint64_t got_stride;     /* ring space of the record a copying get took */
	long long spin_ns;       /* how long waits spin before sleeping */
	int64_t next_repair;     /* when a polling reader next looks for dead peers */
	unsigned slot;           /* index of our participant slot: our sleeper bit */
	unsigned reserved;       /* reservations not yet committed */
	unsigned role;
	unsigned declared;       /* roles declared to the bias protocol */
	unsigned biased;         /* roles whose side is biased to us, as we last saw */
	unsigned regrab_ops;     /* shared-path operations since we last tried a bias */
	int64_t next_regrab;     /* when a shared-path handle may next try for one */
	int sealed;
};

static inline struct sp_rec *rec_at(const sp_ring *r, uint64_t pos)
{
	return (struct sp_rec *)(r->data + (pos & r->mask));
}

static inline uint32_t lap_tag(const sp_ring *r, uint64_t pos)
{
	return (uint32_t)(pos >> r->cap_shift) & 0xffffff;
}

static inline uint64_t stride_of(uint64_t size)
{
	return RING_REC_HDR + ((size + 7) & ~(uint64_t)7);
}

/* Is a position read from the segment impossible for not being a multiple
 * of 8?  (Only a corrupt peer writes one; its record's words would be
 * misaligned atomics.) */
#define POS_ODD(p) (((p) & 7) != 0)

/* memcpy for the records the hot path copies: up to 64 bytes by two
 * overlapping fixed-size moves, which the compiler inlines, sparing a call
 * through the PLT and the library's size dispatch; longer ones by memcpy. */
static inline void copy_small(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (n > 64) {
		memcpy(d, s, n);
	} else if (n >= 32) {
		memcpy(d, s, 32);
		memcpy(d + n - 32, s + n - 32, 32);
	} else if (n >= 16) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

static inline int ring_closed(sp_ring *r)
{
	/* Acquire: pairs with the seal's increment, after the sealer's commits. */
	return load_acquire(&r->b->sealed) >= r->writers;
}

/* Reads and checks the header at q, a position the caller knows is below
 * wr_claim and not yet released, and a multiple of 8: every position is
 * (strides are), so the callers check those they read from the segment,
 * before any record's words are touched as atomics there, and the strides
 * they add keep them aligned (POS_ODD).  Returns the ctl word, or 0 if the
 * header is impossible (corrupt).  *stride gets the record's length in the
 * ring.
 *
 * Both loads are acquires.  ctl's pairs with the commit's release, so the
 * payload is visible once COMMITTED is.  size's is for the callers that
 * read a header at a position that may be stale and then validate it by
 * loading a position again (rd_claim, rd_release): the header's loads must
 * be done before that validating load.  An acquire orders only what
 * follows it, so ctl's acquire alone would let a relaxed load of size be
 * satisfied after the validating load (which ARM may do, x86 never), from
 * a record written over since; with size's acquire last, both are done
 * before anything the caller loads next.  (On x86 an acquire load is a
 * plain load: it costs nothing there.)  Callers that validate by a CAS
 * from the position instead need neither: the CAS's release half orders
 * every load before it. */
static inline uint64_t read_header(const sp_ring *r, uint64_t q, uint64_t limit, uint64_t *stride)
{
	struct sp_rec *h = rec_at(r, q);
	uint64_t c;
	uint32_t size;
	unsigned st;

	*stride = 0;
	c = load_acquire(&h->ctl);
	size = load_acquire(&h->size);
	st = CTL_STATE(c);
	if (st < REC_CLAIMED || st > REC_ABANDONED || size > r->max_record ||
	    CTL_TAG(c) != lap_tag(r, q))
		return 0;
	*stride = stride_of(size);
	if (*stride > limit - q)
		return 0;
	return c;
}

/* One side's bias words (ring_layout.h, "Bias"). */
struct side {
	_Atomic uint32_t *bias;
	_Atomic uint64_t *busy;
	unsigned role;           /* ROLE_WRITER or ROLE_READER */
};

static inline struct side side_of(sp_ring *r, unsigned role)
{
	struct sp_ring_body *b = r->b;

	if (role == ROLE_WRITER)
		return (struct side){ &b->wr_bias, &b->wr_busy, role };
	return (struct side){ &b->rd_bias, &b->rd_busy, role };
}

/* The owner's entry to its fast path: 1 if the side is still biased to us,
 * and we are now inside (leave with bias_exit); 0 to take the shared path. */
static inline int bias_enter(sp_ring *r, struct side s)
{
	if (!(r->biased & s.role))
		return 0;
	store_relaxed(s.busy, r->seg.token | BUSY_IN);
	/* The light half of the fence pair with a revoker's membarrier: either
	 * our load sees its BIAS_SHARED, or its load of busy sees BUSY_IN. */
	sp_fence_light();
	if (load_relaxed(s.bias) == r->seg.token)
		return 1;
	/* Revoked.  Release: for a revoker that acquires the acknowledgement. */
	store_release(s.busy, r->seg.token | BUSY_ACK);
	r->biased &= ~s.role;
	return 0;
}

/* For an owner about to wait (for space, for records): acknowledges a
 * revocation now rather than at its next attempt, as a revoker that cannot
 * force our barrier waits for the acknowledgement. */
static inline void bias_check(sp_ring *r, unsigned role)
{
	struct side s = side_of(r, role);

	if ((r->biased & role) && load_relaxed(s.bias) != r->seg.token) {
		store_release(s.busy, r->seg.token | BUSY_ACK);
		r->biased &= ~role;
	}
}

static inline void bias_exit(sp_ring *r, struct side s)
{
	/* Release: our section's stores are visible to a revoker that sees
	 * us out (it acquires busy), as a lock's release would make them. */
	store_release(s.busy, r->seg.token);
}

/* A blocking call's wait in progress (sp_ring_wait_phase): it spins for
 * `spin` ns from `start`, then sleeps in sw's slices until sw's deadline. */
struct waiter {
	long long timeout, spin;
	int64_t start;           /* 0 until the first attempt that would block */
	struct sp_wait sw;       /* set up at start */
	int interrupted;         /* a sleep returned -EINTR (sp_set_interrupt_fd) */
};

/* The sleeper bits of role's side (ring_layout.h, "Doorbells"): two words. */
static inline _Atomic uint64_t *sleep_bits(sp_ring *r, unsigned role)
{
	return role == ROLE_WRITER ? r->b->wr_sleep : r->b->rd_sleep;
}

/* ---- helpers in other files ------------------------------------------ */

/* May anyone in role be asleep?  Two loads of one cache line; the caller
 * orders them after its change with sp_fence_light() (see doorbell()). */
static inline int sleepers(sp_ring *r, unsigned role)
{
	_Atomic uint64_t *bits = sleep_bits(r, role);

	return (load_relaxed(&bits[0]) | load_relaxed(&bits[1])) != 0;
}

/* ring_wait.c: the phases of a wait, and the doorbells.  Both give up with
 * -EINTR too, for a thread with an interrupt fd (wait.h): after a sleep a
 * signal interrupted, or before a sleep with the fd readable. */
int sp_ring_wait_phase(struct waiter *w);
/* For a wait on a peer inside a section of a few stores: 0 to look again,
 * or -EAGAIN / -ETIMEDOUT once the call may wait no longer (starts w's
 * clock if it has not started). */
int sp_ring_wait_holder(struct waiter *w);
/* Wakes one sleeper of role's side, or all of them for `all`. */
void sp_ring_doorbell_ring(sp_ring *r, unsigned role, int all);
/* A sleeper in role: sp_ring_sleep_begin() sets our sleeper bit and makes
 * the heavy fence, and returns the value of our bell; the caller re-checks
 * the ring, sleeps with sp_ring_sleep() if it still must, and then calls
 * sp_ring_sleep_end(). */
uint32_t sp_ring_sleep_begin(sp_ring *r, unsigned role);
void sp_ring_sleep_end(sp_ring *r, unsigned role);

/* Sleeps on our bell while it holds seq, for one slice of w at most. */
static inline void sp_ring_sleep(sp_ring *r, struct waiter *w, uint32_t seq)
{
	/* Woken, a slice over, the deadline passed or a signal: the caller
	 * tries again (a record that came meanwhile is taken: success beats
	 * the signal), and its next wait phase tells which. */
	if (sp_wait_sleep(&w->sw, &r->b->bell[r->slot], seq) == -EINTR)
		w->interrupted = 1;
}

/* After a change sleepers in role wait for (records published or given up,
 * space freed, the ring sealed): the light half of the fence pair with
 * sp_ring_sleep_begin(), then the look at the sleeper bits; rings the bell
 * only if one is set. */
static inline void doorbell(sp_ring *r, unsigned role, int all)
{
	sp_fence_light();
	if (sleepers(r, role))
		sp_ring_doorbell_ring(r, role, all);
}

/* ring_bias.c: declaring a role, taking and giving back a bias. */
int sp_ring_declare(sp_ring *r, unsigned role, struct waiter *w);
void sp_ring_bias_grab(sp_ring *r, struct side s);
void sp_ring_bias_drop(sp_ring *r, unsigned role);

/* On the shared path: the side may have become lone (its other handles
 * closed); look again every 4096 operations, at most once per 100 ms. */
static inline void bias_regrab(sp_ring *r, unsigned role)
{
	int64_t now;

	if (++r->regrab_ops < 4096)
		return;
	r->regrab_ops = 0;
	now = sp_now_ns();
	if (now < r->next_regrab)
		return;
	r->next_regrab = now + 100000000;
	sp_ring_bias_grab(r, side_of(r, role));
}

/* ring_read.c: moves rd_release past finished records (see there). */
int sp_ring_advance(sp_ring *r);

/* ring_stat.c: counts, up to limit, the records put (committed) and not
 * yet released, whether waiting or held by a reader, by a walk of
 * [rd_release, wr_claim) (the JoinableQueue's join, queue.c): exact for
 * the records below the wr_claim it reads first.  Returns 0 and *n, or
 * -EBADMSG, -ECHILD. */
int sp_ring_unreleased(sp_ring *r, uint64_t limit, uint64_t *n);

/* ring_write.c: abandons this handle's reservations, at close. */
void sp_ring_abandon_mine(sp_ring *r);

#endif
