/* ring.c: the multi-producer multi-consumer record ring: claim, commit, take, release, wait. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/ring.h"
#include "atomics.h"
#include "crashpoint.h"
#include "fence.h"
#include "ring_layout.h"
#include "seg.h"

/* The longest single sleep: a lost doorbell post costs at most one slice,
 * and a dead peer is looked for once per slice. */
#define SLICE_NS 20000000LL

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
	sem_t *sem_data;         /* doorbell for readers */
	sem_t *sem_space;        /* doorbell for writers */
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

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- creation, attachment --------------------------------------------- */

static size_t ring_size(const void *arg)
{
	const struct sp_ring_opts *o = arg;

	return RING_DATA_OFF + o->capacity;
}

static int ring_init(struct sp_seg *s, const void *arg)
{
	const struct sp_ring_opts *o = arg;
	struct sp_ring_body *b = (struct sp_ring_body *)(s->base + RING_BODY_OFF);

	s->hdr->body_off = RING_BODY_OFF;
	b->capacity = o->capacity;
	b->max_record = (uint32_t)(o->capacity / 4);
	b->writers = o->writers;
	/* The file is zero-filled: positions, locks and counts start at 0. */
	return 0;
}

static int ring_validate(const struct sp_seg *s)
{
	const struct sp_ring_body *b;
	uint64_t cap = s->hdr->size - RING_DATA_OFF;

	if (s->hdr->body_off != RING_BODY_OFF || s->nslots != SP_SEG_MAX_SLOTS)
		return -EBADMSG;
	b = (const struct sp_ring_body *)(s->base + RING_BODY_OFF);
	if (b->capacity != cap || b->max_record != cap / 4 || b->writers == 0)
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

static const char *const sem_suffix[2] = { ".data", ".space" };

static void ring_sems_unlink(const char *name)
{
	char sn[160];

	for (int i = 0; i < 2; i++)
		if (!sp_seg_shm_name(sn, sizeof(sn), name, sem_suffix[i]))
			sem_unlink(sn);
}

/* The semaphores are doorbells only, so opening them with O_CREAT on attach
 * is harmless: a lost one is simply recreated. */
static sem_t *sem_open_mode(const char *name, const char *suffix, unsigned mode, int created)
{
	char sn[160], path[200];
	sem_t *sem;

	if (sp_seg_shm_name(sn, sizeof(sn), name, suffix))
		return SEM_FAILED;
	sem = sem_open(sn, O_CREAT, (mode_t)mode, 0);
	/* sem_open's mode passes through umask; make it exactly as asked. */
	if (sem != SEM_FAILED && created) {
		snprintf(path, sizeof(path), SP_SHM_DIR "sem.%s", sn + 1);
		if (chmod(path, (mode_t)mode) < 0) {
			int err = errno;
			sem_close(sem);
			errno = err;
			return SEM_FAILED;
		}
	}
	return sem;
}

static const struct sp_seg_ops ring_ops = {
	.kind = SP_KIND_RING,
	.size = ring_size,
	.init = ring_init,
	.validate = ring_validate,
	.map = ring_map,
	.extra_unlink = ring_sems_unlink,
};

int sp_ring_open(const char *name, unsigned flags, const struct sp_ring_opts *opts,
		 sp_ring **out)
{
	struct sp_ring_opts o = { 0 };
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
	    (o.capacity & (o.capacity - 1)) || o.mode > 0777 || o.writers > (1u << 20))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sp_seg_open(&r->seg, name, flags, o.mode, &ring_ops, &o);
	if (rc) {
		free(r);
		return rc;
	}
	r->b = (struct sp_ring_body *)(r->seg.base + RING_BODY_OFF);
	r->data = r->seg.base + RING_DATA_OFF;
	r->cap = r->seg.hdr->size - RING_DATA_OFF;
	r->mask = r->cap - 1;
	r->cap_shift = (unsigned)__builtin_ctzll(r->cap);
	r->max_record = (uint32_t)(r->cap / 4);
	r->writers = r->b->writers;
	r->spin_ns = SP_RING_DEFAULT_SPIN_NS;
	sp_fence_init();
	r->sem_data = sem_open_mode(name, sem_suffix[0], o.mode ? o.mode : 0600, r->seg.created);
	r->sem_space = sem_open_mode(name, sem_suffix[1], o.mode ? o.mode : 0600, r->seg.created);
	if (r->sem_data == SEM_FAILED || r->sem_space == SEM_FAILED) {
		rc = -errno;
		sp_ring_close(r);
		if (rc == 0)
			rc = -EIO;
		return rc;
	}
	*out = r;
	return 0;
}

int sp_ring_unlink(const char *name)
{
	return sp_seg_unlink(name, &ring_ops);
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

static int advance_release(sp_ring *r);

/* ---- waiting ------------------------------------------------------------ */

/* Rings a doorbell if someone sleeps on it: one post per event, or one per
 * sleeper for `all`, never more pending posts than sleepers, so the count
 * stays small.  The caller has just made its change (published a record,
 * freed space, sealed); a sleeper counts itself in `sleepers`, then makes a
 * heavy fence, then re-checks the ring.  With our light fence between the
 * change and the look at `sleepers`, either the sleeper sees the change or
 * we see the sleeper (fence.h). */
static void doorbell_ring(_Atomic uint32_t *sleepers, sem_t *sem, int all)
{
	uint32_t n = load_relaxed(sleepers);
	int v = 0;

	/* There cannot be more sleepers than participants; a larger count
	 * is a peer's corruption, and must not make us post for ever. */
	if (n > SP_SEG_MAX_SLOTS)
		n = SP_SEG_MAX_SLOTS;
	if (!n || sem_getvalue(sem, &v) < 0 || v < 0 || (uint32_t)v >= n)
		return;
	for (uint32_t i = all ? n - (uint32_t)v : 1; i > 0; i--)
		sem_post(sem);
}

static inline void doorbell(_Atomic uint32_t *sleepers, sem_t *sem, int all)
{
	fence_light();
	if (load_relaxed(sleepers))
		doorbell_ring(sleepers, sem, all);
}

/* Counts a sleeper in, then the heavy half of the fence pair (fence.h):
 * after it, the caller's re-check of the ring sees every change whose
 * maker did not see the sleeper. */
static void sleeper_in(_Atomic uint32_t *sleepers)
{
	atomic_fetch_add_explicit(sleepers, 1, memory_order_relaxed);
	fence_heavy();
}

struct waiter {
	long long timeout, spin;
	int64_t start, deadline;
};

/* After an attempt that would block: returns 0 to spin once more, 1 to go
 * to sleep, or -EAGAIN / -ETIMEDOUT to give up. */
static int wait_phase(struct waiter *w)
{
	int64_t now;

	if (w->timeout == 0)
		return -EAGAIN;
	now = mono_ns();
	if (!w->start) {
		w->start = now;
		w->deadline = w->timeout < 0 ? INT64_MAX : now + w->timeout;
	}
	if (now >= w->deadline)
		return -ETIMEDOUT;
	if (now - w->start < w->spin) {
		/* A pause is ~27 ns on the development machine (AMD EPYC):
		 * one look at the ring every ~0.5 us.  Each look pulls the
		 * writer's cache line over, so looking much more often slows
		 * the writer; much less often adds latency. */
		for (unsigned i = 0; i < 16; i++)
			cpu_relax();
		return 0;
	}
	return 1;
}

/* Sleeps on sem for one slice at most, or until the deadline. */
static void sleep_slice(sem_t *sem, const struct waiter *w)
{
	int64_t until = mono_ns() + SLICE_NS;
	struct timespec ts;

	if (until > w->deadline)
		until = w->deadline;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	/* EINTR and ETIMEDOUT alike send the caller back to re-check. */
	sem_clockwait(sem, CLOCK_MONOTONIC, &ts);
}

/* Takes the claim lock wr_lock.  Holders keep it for a few stores,
 * so spin; past a while check that the holder lives, and take the lock over
 * from a dead one.  The sections are written so that a successor can go on
 * from wherever a dead holder stopped (see ring_layout.h). */
static void claim_lock(sp_ring *r, _Atomic uint32_t *l)
{
	uint32_t exp = 0;

	/* Acquire: what the previous holder wrote under the lock is visible. */
	if (atomic_compare_exchange_weak_explicit(l, &exp, r->seg.token, memory_order_acquire,
						  memory_order_relaxed))
		return;
	for (unsigned n = 1;; n++) {
		exp = load_relaxed(l);
		if (exp == 0) {
			if (atomic_compare_exchange_weak_explicit(l, &exp, r->seg.token,
					memory_order_acquire, memory_order_relaxed))
				return;
			continue;
		}
		if (exp == r->seg.token) {
			/* We never hold the lock across calls, so our own token
			 * here was written by a corrupting peer: take it back. */
			if (cas_acq_rel(l, &exp, r->seg.token))
				return;
		} else if (n % 256)
			cpu_relax();
		else if (n % 4096)
			sched_yield();
		else if (!sp_seg_alive(&r->seg, exp)) {
			if (cas_acq_rel(l, &exp, r->seg.token))
				return;
		} else {
			/* A stopped holder: back off rather than burn a core. */
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
}

static void claim_unlock(_Atomic uint32_t *l)
{
	/* Release: the section's stores are visible to the next holder. */
	store_release(l, 0);
}

/* ---- bias: a lone writer or reader skips the locked instructions --------- */

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
	fence_light();
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

/* Is a live handle other than us declared in role? */
static int other_in_role(sp_ring *r, unsigned role)
{
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t;

		if (sl == r->seg.me || !(load_relaxed(&sl->role) & role))
			continue;
		t = load_acquire(&sl->token);
		if (t && sp_seg_alive(&r->seg, t))
			return 1;
	}
	return 0;
}

/* Could the owner of the epoch that busy (value v) describes still come
 * into its fast path?  Not if it acknowledged, or never got one, or died. */
static int busy_settled(sp_ring *r, uint64_t v)
{
	return v == 0 || (v & BUSY_ACK) || BUSY_TOKEN(v) == r->seg.token ||
	       !sp_seg_alive(&r->seg, BUSY_TOKEN(v));
}

/* Tries to bias the side to us: only if it is free, no earlier owner may
 * still come in, and no other live handle is declared on it. */
static void bias_grab(sp_ring *r, struct side s)
{
	uint32_t o = load_acquire(s.bias), me = r->seg.token;
	uint64_t v = load_acquire(s.busy);

	/* A dead owner's token (killed before it gave the bias back) counts
	 * as free.  The first look for other handles spares a membarrier on
	 * a side that is plainly shared; only the one after it counts. */
	if (!sp_fence_asym || load_relaxed(&r->b->nobias) ||
	    (o != 0 && o != BIAS_SHARED && sp_seg_alive(&r->seg, o)) ||
	    !busy_settled(r, v) || other_in_role(r, s.role))
		return;
	if (!cas_acq_rel(s.bias, &o, me))
		return;
	/* Our epoch of busy.  Only a settled owner held it, who writes no
	 * more, so the CAS fails only to a peer's corruption. */
	if (!cas_acq_rel(s.busy, &v, me)) {
		cas_acq_rel(s.bias, &me, BIAS_SHARED);
		return;
	}
	/* Pairs with a declarer's full fence between its role and its look at
	 * the bias word: we see its role, or it sees our token. */
	if (!fence_heavy() || other_in_role(r, s.role)) {
		store_release(s.busy, me | BUSY_ACK);
		cas_acq_rel(s.bias, &me, BIAS_SHARED);
		return;
	}
	r->biased |= s.role;
}

/* The side is not biased to us: waits until no owner of an earlier epoch
 * may be inside its fast path.  Waits for it as for a lock holder (a few
 * stores), unless we cannot force its barrier: then for its
 * acknowledgement, as w allows.  Returns 0, -EAGAIN or -ETIMEDOUT. */
static int bias_wait_out(sp_ring *r, struct side s, struct waiter *w)
{
	int forced = fence_heavy();

	if (!forced) {
		/* From now on nobody takes a bias on this ring: we could not
		 * revoke it again without this wait. */
		store_relaxed(&r->b->nobias, 1);
	}
	for (unsigned n = 1;; n++) {
		/* Acquire: pairs with bias_exit and the acknowledgement. */
		uint64_t v = load_acquire(s.busy);
		int rc;

		if (v == 0 || (v & BUSY_ACK) || BUSY_TOKEN(v) == r->seg.token ||
		    (forced && !(v & BUSY_IN)))
			return 0;
		if (n % 64 == 0 && !sp_seg_alive(&r->seg, BUSY_TOKEN(v)))
			return 0;
		/* A live owner is inside for a few stores, or it is stopped, or
		 * (without membarrier) it has yet to make its next call: spin a
		 * little, then wait as the caller allows. */
		if (n < 256) {
			cpu_relax();
			continue;
		}
		rc = wait_phase(w);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Declares role, once per handle, before its first operation in it (see
 * "Declaring").  Returns 0, or -EAGAIN / -ETIMEDOUT if an owner that we
 * cannot force out has not yet acknowledged; the next call goes on. */
static int declare(sp_ring *r, unsigned role, long long timeout_ns)
{
	struct side s = side_of(r, role);
	struct waiter w = { .timeout = timeout_ns, .spin = r->spin_ns };
	uint32_t o;
	int rc;

	if (!(r->role & role)) {
		r->role |= role;
		store_relaxed(&r->seg.me->role, r->role);
	}
	/* Full fence: our role bit is visible before we read the bias word
	 * (the other half of bias_grab's pair). */
	atomic_thread_fence(memory_order_seq_cst);
	for (;;) {
		o = load_acquire(s.bias);
		if (o == 0 || o == BIAS_SHARED || cas_acq_rel(s.bias, &o, BIAS_SHARED))
			break;
	}
	if (o == r->seg.token) {
		/* Not ours (we hold no bias before declaring): a dead handle's
		 * token whose generation wrapped round to ours, or a peer's
		 * garbage.  Settle its epoch, or the next revoker would wait
		 * on us for ever. */
		store_release(s.busy, r->seg.token | BUSY_ACK);
	} else if (o != 0) {
		rc = bias_wait_out(r, s, &w);
		if (rc)
			return rc;
	}
	r->declared |= role;
	bias_grab(r, s);
	r->next_regrab = mono_ns() + 100000000;
	return 0;
}

/* On the shared path: the side may have become lone (its other handles
 * closed); look again every 4096 operations, at most once per 100 ms. */
static inline void bias_regrab(sp_ring *r, unsigned role)
{
	int64_t now;

	if (++r->regrab_ops < 4096)
		return;
	r->regrab_ops = 0;
	now = mono_ns();
	if (now < r->next_regrab)
		return;
	r->next_regrab = now + 100000000;
	bias_grab(r, side_of(r, role));
}

/* Gives the bias back, at close. */
static void bias_drop(sp_ring *r, unsigned role)
{
	struct side s = side_of(r, role);
	uint32_t me = r->seg.token;

	if (!(r->biased & role))
		return;
	store_release(s.busy, me | BUSY_ACK);
	cas_acq_rel(s.bias, &me, 0);
	r->biased &= ~role;
}

/* ---- writing ------------------------------------------------------------ */

static inline int ring_closed(sp_ring *r)
{
	/* Acquire: pairs with the seal's increment, after the sealer's commits. */
	return load_acquire(&r->b->sealed) >= r->writers;
}

int sp_ring_closed(sp_ring *r)
{
	return ring_closed(r);
}

/* One attempt to claim room for len bytes.  Returns 0, -EAGAIN, or an
 * error.  With src, the record is written and committed inside the claim
 * section and published whole (no reader ever sees it CLAIMED, and the
 * header's cache line is not fought over); a writer dying in the section
 * leaves nothing visible, as wr_claim moves last. */
static inline __attribute__((always_inline)) int try_claim(sp_ring *r, size_t len, struct sp_msg *m, const void *src)
{
	struct sp_ring_body *b = r->b;
	uint64_t need = stride_of(len), p, rel;
	struct sp_rec *h;

	if (r->sealed || ring_closed(r))
		return -EPIPE;
	/* Cheap look before taking the lock: is there room at all? */
	p = load_relaxed(&b->wr_claim);
	if (p >= r->rel_cache && p + need - r->rel_cache > r->cap) {
		/* Acquire: the readers' last reads of that space happened before
		 * they released it, so our writes to it come after. */
		r->rel_cache = load_acquire(&b->rd_release);
		if (p >= r->rel_cache && p + need - r->rel_cache > r->cap) {
			/* Readers move rd_release lazily: do it for them. */
			advance_release(r);
			r->rel_cache = load_acquire(&b->rd_release);
			if (p >= r->rel_cache && p + need - r->rel_cache > r->cap)
				return -EAGAIN;
		}
	}
	struct side sd = side_of(r, ROLE_WRITER);
	int own = bias_enter(r, sd);

	if (!own)
		claim_lock(r, &b->wr_lock);
	CRASH_POINT("claim.locked");
	p = load_relaxed(&b->wr_claim);
	rel = r->rel_cache;
	if (rel > p || p + need - rel > r->cap) {
		/* Acquire: as above. */
		rel = r->rel_cache = load_acquire(&b->rd_release);
		if (rel > p || p - rel > r->cap) {
			own ? bias_exit(r, sd) : claim_unlock(&b->wr_lock);
			return -EBADMSG;
		}
		if (p + need - rel > r->cap) {
			own ? bias_exit(r, sd) : claim_unlock(&b->wr_lock);
			return -EAGAIN;
		}
	}
	h = rec_at(r, p);
	store_relaxed(&h->size, (uint32_t)len);
	if (src) {
		copy_small((unsigned char *)h + RING_REC_HDR, src, len);
		store_relaxed(&h->len, (uint32_t)len);
		store_relaxed(&h->ctl, CTL(REC_COMMITTED, r->seg.token, lap_tag(r, p)));
	} else {
		store_relaxed(&h->len, 0);
		store_relaxed(&h->ctl, CTL(REC_CLAIMED, r->seg.token, lap_tag(r, p)));
	}
	CRASH_POINT("claim.header");
	/* Release: the header is whole before any reader can see wr_claim
	 * move past it. */
	store_release(&b->wr_claim, p + need);
	CRASH_POINT("claim.published");
	if (own)
		bias_exit(r, sd);
	else
		claim_unlock(&b->wr_lock);
	m->data = (unsigned char *)h + RING_REC_HDR;
	m->len = len;
	m->pos = p;
	m->cookie = CTL(src ? REC_COMMITTED : REC_CLAIMED, r->seg.token, lap_tag(r, p));
	return 0;
}

/* Claims room for a record, waiting as timeout_ns says (see try_claim). */
static inline __attribute__((always_inline)) int claim(sp_ring *r, size_t len, struct sp_msg *m, const void *src, long long timeout_ns)
{
	struct waiter w = { .timeout = timeout_ns, .spin = r->spin_ns };
	int rc;

	if (len > r->max_record)
		return -EMSGSIZE;
	if (!(r->declared & ROLE_WRITER)) {
		rc = declare(r, ROLE_WRITER, timeout_ns);
		if (rc)
			return rc;
	} else if (!(r->biased & ROLE_WRITER)) {
		bias_regrab(r, ROLE_WRITER);
	}
	for (;;) {
		rc = try_claim(r, len, m, src);
		if (rc != -EAGAIN)
			return rc;
		bias_check(r, ROLE_WRITER);
		rc = wait_phase(&w);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		sleeper_in(&r->b->wr_sleepers);
		rc = try_claim(r, len, m, src);
		if (rc == -EAGAIN)
			sleep_slice(r->sem_space, &w);
		atomic_fetch_sub(&r->b->wr_sleepers, 1);
		if (rc != -EAGAIN)
			return rc;
	}
}

int sp_ring_reserve(sp_ring *r, size_t len, struct sp_msg *m, long long timeout_ns)
{
	int rc = claim(r, len, m, NULL, timeout_ns);

	if (rc == 0) {
		r->reserved++;
		CRASH_POINT("reserve.done");
	}
	return rc;
}

/* Bookkeeping after a record of len bytes was published committed. */
static inline void committed(sp_ring *r, size_t len)
{
	sp_slot_add(r->seg.me, CNT_RECS_IN, 1);
	sp_slot_add(r->seg.me, CNT_BYTES_IN, len);
	doorbell(&r->b->rd_sleepers, r->sem_data, 0);
}

int sp_ring_commit(sp_ring *r, struct sp_msg *m, size_t len)
{
	struct sp_rec *h = rec_at(r, m->pos);
	uint64_t exp = m->cookie;

	if (len > m->len || !r->reserved || CTL_STATE(exp) != REC_CLAIMED ||
	    CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* Only we move a record we claimed (a live writer's claim is never
	 * abandoned), so plain stores will do; the check, before we write a
	 * byte, catches misuse (a reservation already committed, whose space
	 * may hold another record by now). */
	if (load_relaxed(&h->ctl) != exp)
		return -ESTALE;
	store_relaxed(&h->len, (uint32_t)len);
	CRASH_POINT("commit.before");
	/* Release: the payload and len are visible before COMMITTED is. */
	store_release(&h->ctl, CTL_MOVE(exp, REC_COMMITTED, r->seg.token));
	CRASH_POINT("commit.after");
	r->reserved--;
	m->cookie = 0;
	committed(r, len);
	return 0;
}

int sp_ring_cancel(sp_ring *r, struct sp_msg *m)
{
	uint64_t exp = m->cookie;

	if (!r->reserved || CTL_STATE(exp) != REC_CLAIMED || CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* A CAS, as close's abandon_mine() does: off the hot path, and it
	 * fails safe if the position is not the record we reserved. */
	if (!cas_acq_rel(&rec_at(r, m->pos)->ctl, &exp, CTL_MOVE(exp, REC_ABANDONED, r->seg.token)))
		return -ESTALE;
	r->reserved--;
	m->cookie = 0;
	/* Readers may wait behind it. */
	doorbell(&r->b->rd_sleepers, r->sem_data, 1);
	return 0;
}

/* Records up to this size are copied inside the claim section (see
 * try_claim); larger ones are copied outside it, so that writers copy in
 * parallel. */
#define PUT_INLINE_MAX 2048u

int sp_ring_put(sp_ring *r, const void *buf, size_t len, long long timeout_ns)
{
	struct sp_msg m;
	int rc;

	if (len > PUT_INLINE_MAX) {
		rc = sp_ring_reserve(r, len, &m, timeout_ns);
		if (rc)
			return rc;
		memcpy(m.data, buf, len);
		return sp_ring_commit(r, &m, len);
	}
	rc = claim(r, len, &m, buf, timeout_ns);
	if (rc == 0)
		committed(r, len);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Reads and checks the header at q, a position the caller knows is below
 * wr_claim and not yet released.  Returns the ctl word, or 0 if the header
 * is impossible (corrupt).  *stride gets the record's length in the ring. */
static inline uint64_t read_header(const sp_ring *r, uint64_t q, uint64_t limit, uint64_t *stride)
{
	struct sp_rec *h = rec_at(r, q);
	/* Acquire: pairs with the commit's release, so the payload is visible
	 * once COMMITTED is. */
	uint64_t c = load_acquire(&h->ctl);
	uint32_t size = load_relaxed(&h->size);
	unsigned st = CTL_STATE(c);

	*stride = 0;
	if (st < REC_CLAIMED || st > REC_ABANDONED || size > r->max_record ||
	    CTL_TAG(c) != lap_tag(r, q))
		return 0;
	*stride = stride_of(size);
	if (*stride > limit - q)
		return 0;
	return c;
}

/* Moves rd_release past the finished (RELEASED or ABANDONED) records at its
 * head, up to 256 at a time with one CAS, then wakes writers if space was
 * freed.  Readers call it every few releases, writers when short of space.
 *
 * The walk reads headers in [q0, rd_claim) while they may be reused if
 * rd_release moves on; the CAS from q0 succeeds only if rd_release stayed q0
 * throughout, so the headers read were genuine and their states final. */
static int advance_release(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	int moved = 0;

	r->unadvanced = 0;
	r->unadvanced_bytes = 0;
	for (;;) {
		uint64_t q0 = load_acquire(&b->rd_release), q = q0, claim, stride, c = 0;
		unsigned n;

		claim = load_acquire(&b->rd_claim);
		for (n = 0; q < claim && n < 256; n++, q += stride) {
			c = read_header(r, q, claim, &stride);
			if (!c || (CTL_STATE(c) != REC_RELEASED && CTL_STATE(c) != REC_ABANDONED))
				break;
		}
		if (q == q0) {
			if (!c && q < claim && load_acquire(&b->rd_release) == q0)
				return -EBADMSG;
			break;
		}
		/* Acquire: the released records' readers are done with them
		 * (their RELEASED stores were release); release: for writers
		 * that load rd_release with acquire.  doorbell() fences before
		 * its look at wr_sleepers. */
		if (cas_acq_rel(&b->rd_release, &q0, q)) {
			moved = 1;
			CRASH_POINT("release.advanced");
			if (n < 256)
				break;
		}
	}
	if (moved)
		doorbell(&b->wr_sleepers, r->sem_space, 0);
	return 0;
}

/* Nothing is left to take (rd_claim == wr_claim == q) on a closed ring: is
 * it drained?  Only once every record taken is also released: a record a
 * reader still holds may yet come back, if that reader dies, and must then
 * reach a survivor, so readers keep waiting (and adopting) until then. */
static int drained(sp_ring *r, uint64_t q)
{
	advance_release(r);
	return load_acquire(&r->b->rd_release) == q;
}

/* One attempt to take the record at rd_claim.  Returns 0 with *m filled,
 * -EAGAIN (nothing ready), -EPIPE (closed and drained), -EMSGSIZE (the
 * record is longer than maxlen: left in place, m->len tells), or an error.
 *
 * Lock-free: a reader owns the record at q once its CAS moves rd_claim from
 * q; it then marks the record TAKEN.  A header read at a stale q may be any
 * bytes (the space may have been reused), but it is acted on only through
 * the CAS from q, which succeeds only if rd_claim was still q, in which case
 * the header was a real one: positions never repeat, so there is no ABA. */
static inline __attribute__((always_inline)) int try_take(sp_ring *r, struct sp_msg *m, size_t maxlen, void *buf)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, c, stride;
	int closed, skipped = 0, rc;

	/* Closed is read before emptiness: a seal follows its sealer's last
	 * commit, so if we see the seal and then an empty ring whose every
	 * record was released, it is drained. */
	closed = ring_closed(r);
	struct side sd = side_of(r, ROLE_READER);
	int own = bias_enter(r, sd);

	for (;;) {
		/* Acquire: pairs with the CAS of the reader before us, so the
		 * headers it stepped over are not read stale. */
		q = load_acquire(&b->rd_claim);
		if (q >= r->wr_cache) {
			/* Acquire: headers below wr_claim are whole. */
			r->wr_cache = load_acquire(&b->wr_claim);
			if (q == r->wr_cache) {
				rc = closed && drained(r, q) ? -EPIPE : -EAGAIN;
				break;
			}
			if (q > r->wr_cache || r->wr_cache - q > r->cap) {
				/* Impossible for a current q; ours may be stale
				 * (the ring may have moved on by a lap since we
				 * read it).  Corrupt only if it is current. */
				if (load_acquire(&b->rd_claim) != q)
					continue;
				rc = -EBADMSG;
				break;
			}
		}
		c = read_header(r, q, r->wr_cache, &stride);
		if (!c || CTL_STATE(c) == REC_CLAIMED) {
			if (load_acquire(&b->rd_claim) != q)
				continue;   /* stale: look again */
			/* A real header: corrupt, or its writer is at work. */
			rc = c ? -EAGAIN : -EBADMSG;
			break;
		}
		if (CTL_STATE(c) != REC_COMMITTED) {
			/* ABANDONED, or impossible here: step over it. */
			if (cas_acq_rel(&b->rd_claim, &q, q + stride))
				skipped = 1;
			continue;
		}
		struct sp_rec *h = rec_at(r, q);
		uint32_t len = load_relaxed(&h->len);

		if (len > stride - RING_REC_HDR || len > maxlen) {
			if (load_acquire(&b->rd_claim) != q)
				continue;
			m->len = len;
			rc = len > maxlen ? -EMSGSIZE : -EBADMSG;
			break;
		}
		/* Announce the position in our slot before the CAS can hand it
		 * to us (the CAS is a release): a record COMMITTED below
		 * rd_claim is then known to be in a live reader's hands, and
		 * is not adopted from it. */
		/* Release: our mark of the record we took before (TAKEN or
		 * RELEASED, plain stores) comes before this announcement moves
		 * off it, for an adopter that acquires aux. */
		store_release(&r->seg.me->aux, q + 1);
		if (own) {
			/* Biased: nobody else moves rd_claim.  Release: our
			 * announcement is visible before the record is ours. */
			store_release(&b->rd_claim, q + stride);
		} else if (!cas_acq_rel(&b->rd_claim, &q, q + stride)) {
			continue;
		}
		CRASH_POINT("take.claimed");
		if (buf) {
			/* Copying get: copy out, then move COMMITTED straight to
			 * RELEASED, never marking it TAKEN.  Dying in between
			 * leaves it COMMITTED below rd_claim with our slot's aux
			 * naming it, to be adopted once we are seen dead; while
			 * we live nobody else moves it, so a store will do.
			 * Release: our reads of the payload come first. */
			copy_small(buf, (unsigned char *)h + RING_REC_HDR, len);
			r->got_stride = stride;
			store_release(&h->ctl, CTL_MOVE(c, REC_RELEASED, r->seg.token));
			CRASH_POINT("release.marked");
			m->len = len;
			m->cookie = 0;
			rc = 0;
			break;
		}
		/* The position is ours; mark the record for crash recovery.
		 * While we live nobody else moves it (our announcement keeps
		 * adopters off), so a store will do, as for the copying get
		 * above: a CAS here cost a quarter of a 64-byte record. */
		store_release(&h->ctl, CTL_MOVE(c, REC_TAKEN, r->seg.token));
		m->data = (unsigned char *)h + RING_REC_HDR;
		m->len = len;
		m->pos = q;
		m->cookie = CTL_MOVE(c, REC_TAKEN, r->seg.token);
		CRASH_POINT("take.marked");
		rc = 0;
		break;
	}
	if (own)
		bias_exit(r, sd);
	/* A lost race leaves a stale announcement: withdraw it. */
	if (rc && load_relaxed(&r->seg.me->aux))
		store_release(&r->seg.me->aux, 0);
	if (skipped)
		advance_release(r);
	return rc;
}

/* Does a live reader other than us announce, in its slot's aux, that it
 * is taking the record at q?  (See try_take.) */
static int announced_alive(sp_ring *r, uint64_t q)
{
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t;

		if (sl == r->seg.me || load_acquire(&sl->aux) != q + 1)
			continue;
		t = load_acquire(&sl->token);
		if (t && sp_seg_alive(&r->seg, t))
			return 1;
	}
	return 0;
}

/* Slow-path repairs a waiting reader makes once per slice: abandon a record
 * whose writer died at rd_claim, and adopt a record whose reader died.
 * Returns 0 with *m filled when it adopted one, else -EAGAIN. */
static int recover_for_reader(sp_ring *r, struct sp_msg *m, size_t maxlen)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, w, c, stride, claim;

	/* A dead writer's claim at the head of the queue. */
	q = load_acquire(&b->rd_claim);
	w = load_acquire(&b->wr_claim);
	if (q < w && w - q <= r->cap) {
		c = read_header(r, q, w, &stride);
		/* A CLAIMED record at rd_claim holds rd_claim there, so if
		 * rd_claim is still q the header we read is the real one. */
		if (c && CTL_STATE(c) == REC_CLAIMED && load_acquire(&b->rd_claim) == q &&
		    !sp_seg_alive(&r->seg, CTL_TOKEN(c)) &&
		    cas_acq_rel(&rec_at(r, q)->ctl, &c, CTL_MOVE(c, REC_ABANDONED, CTL_TOKEN(c))))
			doorbell(&b->rd_sleepers, r->sem_data, 1);
	}
	/* Records taken by readers that died: walk [rd_release, rd_claim). */
	claim = load_acquire(&b->rd_claim);
	for (q = load_acquire(&b->rd_release); q < claim; q += stride) {
		c = read_header(r, q, claim, &stride);
		/* The header is meaningful only if rd_release has not passed q. */
		if (load_acquire(&b->rd_release) > q)
			break;
		if (!c)
			return -EBADMSG;
		/* COMMITTED below rd_claim: a reader moved rd_claim past it and
		 * is copying it or about to mark it TAKEN; adopt it only if no
		 * live reader announces it.  TAKEN: adopt it from the dead. */
		if (CTL_STATE(c) == REC_COMMITTED) {
			if (announced_alive(r, q))
				continue;
		} else if (CTL_STATE(c) != REC_TAKEN || CTL_TOKEN(c) == r->seg.token ||
			   sp_seg_alive(&r->seg, CTL_TOKEN(c))) {
			continue;
		}
		struct sp_rec *h = rec_at(r, q);
		uint32_t len = load_relaxed(&h->len);

		if (len > stride - RING_REC_HDR || len > maxlen)
			continue;
		/* A TAKEN record is released only by its owner, so a dead
		 * owner's record cannot be reused under us: the CAS is safe. */
		if (cas_acq_rel(&h->ctl, &c, CTL_MOVE(c, REC_TAKEN, r->seg.token))) {
			m->data = (unsigned char *)h + RING_REC_HDR;
			m->len = len;
			m->pos = q;
			m->cookie = CTL_MOVE(c, REC_TAKEN, r->seg.token);
			return 0;
		}
	}
	return -EAGAIN;
}

/* For polling readers (SP_NOWAIT): is a repair pass due?  One per slice. */
static int poll_recover_due(sp_ring *r)
{
	int64_t now = mono_ns();

	if (now < r->next_repair)
		return 0;
	r->next_repair = now + SLICE_NS;
	return 1;
}

static inline __attribute__((always_inline)) int take(sp_ring *r, struct sp_msg *m, size_t maxlen, void *buf, long long timeout_ns)
{
	struct waiter w = { .timeout = timeout_ns, .spin = r->spin_ns };
	int rc;

	if (!(r->declared & ROLE_READER)) {
		rc = declare(r, ROLE_READER, timeout_ns);
		if (rc)
			return rc;
	} else if (!(r->biased & ROLE_READER)) {
		bias_regrab(r, ROLE_READER);
	}
	for (;;) {
		rc = try_take(r, m, maxlen, buf);
		if (rc != -EAGAIN)
			return rc;
		bias_check(r, ROLE_READER);
		rc = wait_phase(&w);
		if (rc == -EAGAIN) {
			/* SP_NOWAIT.  A reader that only polls must still get
			 * past a dead peer: repair once per slice of polling
			 * (an adopted record is TAKEN: sp_ring_get copies it). */
			if (!poll_recover_due(r))
				return -EAGAIN;
			rc = recover_for_reader(r, m, maxlen);
			return rc != -EAGAIN ? rc : try_take(r, m, maxlen, buf);
		}
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		/* Before sleeping: free the space we released lazily, then
		 * look for the work of dead peers. */
		if (r->unadvanced)
			advance_release(r);
		rc = recover_for_reader(r, m, maxlen);
		if (rc != -EAGAIN)
			return rc;
		sleeper_in(&r->b->rd_sleepers);
		rc = try_take(r, m, maxlen, buf);
		if (rc == -EAGAIN)
			sleep_slice(r->sem_data, &w);
		atomic_fetch_sub(&r->b->rd_sleepers, 1);
		if (rc != -EAGAIN)
			return rc;
	}
}

int sp_ring_peek(sp_ring *r, struct sp_msg *m, long long timeout_ns)
{
	return take(r, m, SIZE_MAX, NULL, timeout_ns);
}

/* Bookkeeping after a record of len payload bytes, taking stride bytes of
 * the ring (its reserved size: a record may have shrunk at commit), was
 * released. */
static inline int released(sp_ring *r, size_t len, uint64_t stride)
{
	sp_slot_add(r->seg.me, CNT_RECS_OUT, 1);
	sp_slot_add(r->seg.me, CNT_BYTES_OUT, len);
	/* rd_release moves in batches, by a CAS, which must wait for our
	 * store buffer to drain of the RELEASED marks, each to a line the
	 * writer wrote: costly, so every 256 releases (advance_release's
	 * limit) or an eighth of the capacity, whichever comes first, or at
	 * once when a writer sleeps for space.  (Every 16 releases made 64-byte
	 * records a third slower.)  Writers short of space move it themselves,
	 * and so does a reader about to sleep. */
	r->unadvanced_bytes += stride;
	if (++r->unadvanced >= 256 || r->unadvanced_bytes >= r->cap / 8)
		return advance_release(r);
	/* A writer asleep for space: the light half of the fence pair with
	 * its sleeper_in(), then the look. */
	fence_light();
	if (load_relaxed(&r->b->wr_sleepers))
		return advance_release(r);
	return 0;
}

int sp_ring_release(sp_ring *r, struct sp_msg *m)
{
	struct sp_rec *h = rec_at(r, m->pos);
	uint64_t exp = m->cookie;

	if (CTL_STATE(exp) != REC_TAKEN || CTL_TOKEN(exp) != r->seg.token)
		return -EINVAL;
	/* Only we move a record we hold (adopters take only from the dead, and
	 * a live handle's slot keeps its token), so a store will do; the check
	 * catches misuse.  Release: our reads of the payload are done before
	 * anyone sees the space as free and overwrites it. */
	if (load_relaxed(&h->ctl) != exp)
		return -ESTALE;
	/* Its size, while the record is still ours (bounded: a peer may
	 * have scribbled on it since we took it). */
	uint32_t size = load_relaxed(&h->size);
	uint64_t stride = stride_of(size <= r->max_record ? size : r->max_record);

	store_release(&h->ctl, CTL_MOVE(exp, REC_RELEASED, r->seg.token));
	CRASH_POINT("release.marked");
	m->cookie = 0;
	return released(r, m->len, stride);
}

ssize_t sp_ring_get(sp_ring *r, void *buf, size_t bufsize, long long timeout_ns)
{
	struct sp_msg m;
	int rc = take(r, &m, bufsize, buf, timeout_ns);

	if (rc)
		return rc;
	if (m.cookie) {
		/* Adopted from a dead reader: held as TAKEN, not yet copied. */
		memcpy(buf, m.data, m.len);
		rc = sp_ring_release(r, &m);
	} else {
		rc = released(r, m.len, r->got_stride);
	}
	return rc ? rc : (ssize_t)m.len;
}

/* ---- sealing, closing, queries ----------------------------------------- */

int sp_ring_seal(sp_ring *r)
{
	if (r->sealed)
		return 0;
	if (r->reserved)
		return -EBUSY;
	r->sealed = 1;
	r->role |= ROLE_SEALED;
	store_relaxed(&r->seg.me->role, r->role);
	/* Release: after our commits, for readers who see the seal (acquire
	 * in sp_ring_closed). */
	atomic_fetch_add_explicit(&r->b->sealed, 1, memory_order_release);
	doorbell(&r->b->rd_sleepers, r->sem_data, 1);
	doorbell(&r->b->wr_sleepers, r->sem_space, 1);
	return 0;
}

/* Marks this handle's uncommitted records ABANDONED so readers need not wait
 * for a liveness check to step over them. */
static void abandon_mine(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t q, w, c, stride;

	w = load_acquire(&b->wr_claim);
	for (q = load_acquire(&b->rd_claim); q < w && r->reserved; q += stride) {
		c = read_header(r, q, w, &stride);
		if (load_acquire(&b->rd_release) > q || !c)
			break;
		if (c == CTL(REC_CLAIMED, r->seg.token, lap_tag(r, q)) &&
		    cas_acq_rel(&rec_at(r, q)->ctl, &c, CTL_MOVE(c, REC_ABANDONED, r->seg.token)))
			r->reserved--;
	}
	doorbell(&b->rd_sleepers, r->sem_data, 1);
}

void sp_ring_close(sp_ring *r)
{
	if (!r)
		return;
	if (r->seg.base && r->reserved)
		abandon_mine(r);
	if (r->seg.base && r->unadvanced)
		advance_release(r);
	if (r->seg.base) {
		bias_drop(r, ROLE_WRITER);
		bias_drop(r, ROLE_READER);
	}
	if (r->sem_data && r->sem_data != SEM_FAILED)
		sem_close(r->sem_data);
	if (r->sem_space && r->sem_space != SEM_FAILED)
		sem_close(r->sem_space);
	sp_seg_close(&r->seg);
	free(r);
}

/* The pid in the slot of the token a bias word holds, or 0. */
static int bias_pid(sp_ring *r, uint32_t t)
{
	unsigned i = SP_TOKEN_INDEX(t);

	if (t == 0 || t == BIAS_SHARED || i >= r->seg.nslots ||
	    load_acquire(&r->seg.slots[i].token) != t)
		return 0;
	return (int)load_relaxed(&r->seg.slots[i].pid);
}

int sp_ring_stat(sp_ring *r, struct sp_ring_stat *st)
{
	struct sp_ring_body *b = r->b;
	uint64_t rel, wc;

	memset(st, 0, sizeof(*st));
	/* Readers move rd_release lazily; move it now so `used` is exact
	 * when the ring is quiet. */
	advance_release(r);
	st->capacity = r->cap;
	st->max_record = r->max_record;
	rel = load_acquire(&b->rd_release);
	wc = load_acquire(&b->wr_claim);
	st->used = wc >= rel ? wc - rel : 0;
	st->recs_in = sp_seg_count(&r->seg, CNT_RECS_IN);
	st->bytes_in = sp_seg_count(&r->seg, CNT_BYTES_IN);
	st->recs_out = sp_seg_count(&r->seg, CNT_RECS_OUT);
	st->bytes_out = sp_seg_count(&r->seg, CNT_BYTES_OUT);
	st->records = st->recs_in > st->recs_out ? st->recs_in - st->recs_out : 0;
	st->writers = r->writers;
	st->sealed = load_relaxed(&b->sealed);
	st->readers_waiting = load_relaxed(&b->rd_sleepers);
	st->writers_waiting = load_relaxed(&b->wr_sleepers);
	st->writer_bias_pid = bias_pid(r, load_acquire(&b->wr_bias));
	st->reader_bias_pid = bias_pid(r, load_acquire(&b->rd_bias));
	for (unsigned i = 0; i < r->seg.nslots; i++) {
		struct sp_slot *sl = &r->seg.slots[i];
		uint32_t t = load_acquire(&sl->token), role;

		if (!t)
			continue;
		if (!sp_seg_alive(&r->seg, t)) {
			st->dead++;
			continue;
		}
		role = load_relaxed(&sl->role);
		st->attached++;
		st->readers += !!(role & ROLE_READER);
		st->writers_live += !!(role & ROLE_WRITER);
	}
	return 0;
}

size_t sp_ring_size(sp_ring *r)
{
	uint64_t in = sp_seg_count(&r->seg, CNT_RECS_IN);
	uint64_t out = sp_seg_count(&r->seg, CNT_RECS_OUT);

	return in > out ? (size_t)(in - out) : 0;
}

int sp_ring_empty(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t q = load_acquire(&b->rd_claim), w = load_acquire(&b->wr_claim), stride;
	uint64_t c;

	if (q >= w)
		return 1;
	c = read_header(r, q, w, &stride);
	return !c || CTL_STATE(c) != REC_COMMITTED;
}

int sp_ring_full(sp_ring *r)
{
	struct sp_ring_body *b = r->b;
	uint64_t rel, w;

	advance_release(r);
	rel = load_acquire(&b->rd_release);
	w = load_acquire(&b->wr_claim);

	return w < rel || w - rel + RING_REC_HDR > r->cap;
}

unsigned sp_version_number(void)
{
	return SP_VERSION_NUMBER;
}

const char *sp_version_string(void)
{
	return SP_VERSION_STRING;
}
