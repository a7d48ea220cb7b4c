/* ring_bench.c: times producer and consumer processes moving fixed-size records through the ring, a naive spinning ring, a pipe, a socketpair and a POSIX message queue. */
#define PROG "ring_bench"
#include "harness.h"
#include "record.h"

#include <getopt.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "shared/version.h"

/*
 * One run: the parent makes the transport (the ring: created by name, its
 * handle closed again; a pipe, a socketpair, a message queue: descriptors
 * the children inherit; the naive ring: an anonymous shared mapping), then
 * forks P producers and C consumers as one harness group (harness.h): each
 * attaches on its own, touches its buffer, reports ready and waits for the
 * start gun.  A run's time runs from the gun to the last consumer's end: its
 * last record checked (one consumer) or the end of the stream seen (several).
 * Each consumer sends the parent a tally of what it received, from which the
 * parent checks that every record of every producer arrived exactly once.
 */

/* How long a lone consumer waits, after its last record, for the proof that
 * no record follows (the ring sealed).  Not timed. */
#define AFTER_LAST_NS (5LL * 1000000000LL)

/* The naive ring's header takes the first page; the slots follow. */
#define NAIVE_HDR 4096

#define MAX_SIZES 16
#define MAX_SIDE 4               /* producers, consumers */
#define WHY_LEN 200

enum transport { T_RING, T_RING_ZC, T_NAIVE, T_NAIVE_ZC, T_PIPE, T_SOCKETPAIR, T_MQ, T_COUNT };

static const char *const tnames[T_COUNT] = {
	"ring-copy", "ring-zc", "naive-copy", "naive-zc", "pipe", "socketpair", "mq",
};

#define ALL_TRANSPORTS ((1u << T_COUNT) - 1)
/* The transports that several producers and consumers can share. */
#define SHARED_TRANSPORTS (1u << T_RING | 1u << T_RING_ZC | 1u << T_PIPE | 1u << T_MQ)

struct opts {
	size_t sizes[MAX_SIZES];
	int nsizes;
	unsigned transports;     /* bit (1u << T_x) per transport measured */
	int P, C;                /* producers, consumers */
	uint64_t capacity;       /* ring and naive ring, data bytes */
	double scale;            /* multiplies the work of every run */
	uint64_t count;          /* records per run; 0: calibrate to seconds */
	int mq_raise;            /* may raise msgsize_max for an instant (root) */
	/* Timed runs per measurement, the target duration of one, the CPUs
	 * of the producers and of the consumers, --timeout, ... */
	struct hx_opts hx;
};

static struct opts opt = {
	.P = 1, .C = 1,
	.capacity = SP_RING_DEFAULT_CAPACITY,
	.scale = 1.0,
	.hx = { .runs = 3, .seconds = 0.5, .timeout = 60.0, .cpu = { -1, -1 } },
};

/* One measurement: the median run, the fastest and the slowest; or why it
 * could not be made here. */
struct result {
	int done, na;
	char why[WHY_LEN];
	uint64_t count;          /* records per run, all producers together */
	double secs;             /* median seconds */
	double fast, slow;       /* msg/s of the fastest and slowest run */
	long depth;              /* mq: the queue's depth in messages */
	/* While measuring: */
	int nt, again;           /* runs timed so far; may the first be redone */
	double times[HX_MAX_RUNS];
};

/*
 * The naive ring: one producer, one consumer, fixed-size slots, spinning,
 * over an anonymous shared mapping inherited across fork().  It has none of
 * the real ring's multi-process claims, crash safety, blocking, sealing or
 * variable-length records; that is what makes it a ceiling.  Slot i is
 * slots[i & mask].
 */
struct naive {
	/* Records taken, written by the consumer only.  Head and tail sit 128
	 * bytes apart so that neither a cache line nor an adjacent-line
	 * prefetch pair is shared between the two writers. */
	_Alignas(128) _Atomic uint64_t head;
	/* Records published, written by the producer only. */
	_Alignas(128) _Atomic uint64_t tail;
};
_Static_assert(sizeof(struct naive) <= NAIVE_HDR, "the naive header fits its page");

/* A page shared by the group: the message queue has no end of file, so the
 * producer that finishes last sends one end marker per consumer. */
struct board {
	_Atomic uint64_t producers_done;
};

/* What each consumer tells the parent: when it finished, and per producer
 * how many records it took and the sums of their sequence numbers and of
 * their squares (against which the parent checks that each of 1..N arrived
 * exactly once, across consumers). */
struct report {
	int64_t t_end;           /* CLOCK_MONOTONIC ns */
	uint64_t received;
	uint64_t n[MAX_SIDE], sum[MAX_SIDE], sumsq[MAX_SIDE];
};
_Static_assert(sizeof(struct report) <= PIPE_BUF, "a report is one atomic pipe write");

/* Everything one run needs; the children get a copy by fork(). */
struct run {
	enum transport t;
	size_t size;
	uint64_t count;          /* records, all producers together */
	uint64_t per;            /* records per producer */
	int P, C;
	int zc;                  /* records filled and read in place */
	char what[48];           /* "ring-copy 64 B", to prefix messages */
	int fd[2];               /* pipe, socketpair: [0] the consumers', [1] the producers' */
	mqd_t mq;
	long mq_depth;
	struct naive *nv;
	size_t nv_len;
	uint64_t nv_slots;       /* a power of two */
	struct board *bd;
	struct hx_group g;
};

static char ring_name[32];       /* "bench-PID", one name reused run after run */
static char mq_name[40];         /* "/ring_bench-PID", removed as soon as made */

/* Says what is wrong with a record that failed its checks. */
static int bad_record(const char *who, const unsigned char *p, size_t size, uint64_t word)
{
	uint64_t head, tail;

	memcpy(&head, p, 8);
	memcpy(&tail, p + size - 8, 8);
	if (head != word && head >> REC_PRODUCER_SHIFT == word >> REC_PRODUCER_SHIFT)
		hx_msg("%s: record %" PRIu64 ": found record %" PRIu64 " in its place", who,
		       word & REC_SEQ_MASK, head & REC_SEQ_MASK);
	else if (head != word)
		hx_msg("%s: record %" PRIu64 " of producer %u: found record %" PRIu64
		       " of producer %u in its place", who, word & REC_SEQ_MASK,
		       (unsigned)(word >> REC_PRODUCER_SHIFT) + 1, head & REC_SEQ_MASK,
		       (unsigned)(head >> REC_PRODUCER_SHIFT) + 1);
	else if (size >= 16 && tail != ~word)
		hx_msg("%s: record %" PRIu64 ": torn, its last 8 bytes are %#" PRIx64
		       ", expected %#" PRIx64, who, word & REC_SEQ_MASK, tail, ~word);
	else
		hx_msg("%s: record %" PRIu64 ": its payload is not what its producer wrote",
		       who, word & REC_SEQ_MASK);
	return EX_DATAERR;
}

static inline int check(const char *who, const unsigned char *p, size_t size, uint64_t word,
			int zc)
{
	if (rec_ends_ok(p, size, word) && (!zc || rec_body_ok(p, size, word)))
		return 0;
	return bad_record(who, p, size, word);
}

/*
 * The tally of a consumer that shares the stream: records of each producer
 * must come in increasing order (each producer's records leave in its order,
 * and a consumer takes its share in that order), numbered 1..per.
 */
struct tally {
	unsigned P;
	uint64_t per;
	uint64_t last[MAX_SIDE];
	struct report *rep;
};

static inline int tally(const char *who, struct tally *t, const unsigned char *p, size_t size,
			int zc)
{
	uint64_t w, seq;
	unsigned k;

	memcpy(&w, p, 8);
	k = (unsigned)(w >> REC_PRODUCER_SHIFT);
	seq = w & REC_SEQ_MASK;
	if (k >= t->P || seq <= t->last[k] || seq > t->per) {
		hx_msg("%s: record %" PRIu64 " of producer %u after its record %" PRIu64
		       " (expected records 1 to %" PRIu64 " of producers 1 to %u, each in order)",
		       who, seq, k + 1, k < t->P ? t->last[k] : 0, t->per, t->P);
		return EX_DATAERR;
	}
	if (check(who, p, size, w, zc))
		return EX_DATAERR;
	t->last[k] = seq;
	t->rep->n[k]++;
	t->rep->sum[k] += seq;
	t->rep->sumsq[k] += seq * seq;
	t->rep->received++;
	return 0;
}

/* ---- The producers.  Producer k numbers its records rec_word(k, 1..n). */

static int ring_put_loop(const char *who, sp_ring *r, unsigned char *buf, size_t size,
			 unsigned k, uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret;

		rec_stamp(buf, size, rec_word(k, seq));
		ret = sp_ring_put(r, buf, size, SP_FOREVER);
		if (ret < 0)
			return hx_ring_fail(who, "sp_ring_put", ret);
	}
	return 0;
}

/* Zero copy: the producer fills the whole record where it lies. */
static int ring_reserve_loop(const char *who, sp_ring *r, size_t size, unsigned k, uint64_t n)
{
	struct sp_msg m = { 0 };

	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret = sp_ring_reserve(r, size, &m, SP_FOREVER);

		if (ret < 0)
			return hx_ring_fail(who, "sp_ring_reserve", ret);
		if (!m.data || m.len < size) {
			hx_msg("%s: sp_ring_reserve: gave %zu bytes, asked for %zu", who, m.len, size);
			return EX_SOFTWARE;
		}
		rec_fill(m.data, size, rec_word(k, seq));
		ret = sp_ring_commit(r, &m, size);
		if (ret < 0)
			return hx_ring_fail(who, "sp_ring_commit", ret);
	}
	return 0;
}

/* Pipe, socketpair and message queue: one write() or mq_send() per record.
 * Several writers of one pipe keep their records whole only at most
 * PIPE_BUF bytes (checked at set-up). */
static int send_loop(const char *who, const struct run *rn, unsigned char *buf, unsigned k)
{
	const int is_mq = rn->t == T_MQ, fd = rn->fd[1];
	const mqd_t mq = rn->mq;
	const size_t size = rn->size;

	for (uint64_t seq = 1; seq <= rn->per; seq++) {
		int rc;

		rec_stamp(buf, size, rec_word(k, seq));
		rc = is_mq ? hx_mq_send(who, mq, buf, size) : hx_write_rec(who, fd, buf, size);
		if (rc)
			return rc;
	}
	return 0;
}

/* The queue's end: the producer that finishes last sends one empty message
 * per consumer.  Every record is queued before it (the others counted
 * themselves done after their last send), so a consumer that takes an empty
 * message has nothing left to take, and each consumer takes exactly one. */
static int mq_end(const char *who, struct run *rn)
{
	/* Acq_rel: our sends, and those of the producers counted before us,
	 * are queued before the last one sends the markers. */
	uint64_t done = atomic_fetch_add_explicit(&rn->bd->producers_done, 1,
						   memory_order_acq_rel) + 1;

	if (done != (uint64_t)rn->P)
		return 0;
	for (int i = 0; i < rn->C; i++) {
		int rc = hx_mq_send(who, rn->mq, "", 0);

		if (rc)
			return rc;
	}
	return 0;
}

static int naive_produce(struct run *rn, unsigned char *buf)
{
	struct naive *nv = rn->nv;
	unsigned char *slots = (unsigned char *)nv + NAIVE_HDR;
	const uint64_t nslots = rn->nv_slots, mask = nslots - 1;
	const size_t size = rn->size;
	uint64_t tail = 0, head = 0;   /* head: the consumer's, as last seen */
	unsigned spins = 0;

	for (uint64_t seq = 1; seq <= rn->count; seq++) {
		unsigned char *slot;

		while (tail - head >= nslots) {
			/* Acquire: the consumer's reads of the slots below head
			 * are done before we overwrite them. */
			head = hx_load_acquire(&nv->head);
			if (tail - head >= nslots)
				hx_spin(&spins);
		}
		slot = slots + (tail & mask) * size;
		if (rn->zc) {
			rec_fill(slot, size, seq);
		} else {
			rec_stamp(buf, size, seq);
			memcpy(slot, buf, size);
		}
		/* Release: the slot's bytes are visible before the consumer
		 * can see the new tail. */
		hx_store_release(&nv->tail, ++tail);
	}
	return 0;
}

/* ---- A lone consumer of a lone producer: each record must be the next. */

static int ring_get_loop(const char *who, sp_ring *r, unsigned char *buf, size_t size,
			 uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		ssize_t got = sp_ring_get(r, buf, size, SP_FOREVER);

		if (got < 0)
			return hx_ring_fail(who, "sp_ring_get", (int)got);
		if ((size_t)got != size) {
			hx_msg("%s: record %" PRIu64 ": %zd bytes, expected %zu", who, seq, got, size);
			return EX_DATAERR;
		}
		if (check(who, buf, size, seq, 0))
			return EX_DATAERR;
	}
	return 0;
}

/* Zero copy: the consumer reads the whole record where it lies. */
static int ring_peek_loop(const char *who, sp_ring *r, size_t size, uint64_t n)
{
	struct sp_msg m = { 0 };

	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret = sp_ring_peek(r, &m, SP_FOREVER);

		if (ret < 0)
			return hx_ring_fail(who, "sp_ring_peek", ret);
		if (m.len != size) {
			hx_msg("%s: record %" PRIu64 ": %zu bytes, expected %zu", who, seq, m.len, size);
			return EX_DATAERR;
		}
		if (check(who, m.data, size, seq, 1))
			return EX_DATAERR;
		ret = sp_ring_release(r, &m);
		if (ret < 0)
			return hx_ring_fail(who, "sp_ring_release", ret);
	}
	return 0;
}

/* After the last record the ring must be sealed and drained: one more take
 * fails with -EPIPE.  Anything else is an extra record or a missing seal. */
static int ring_after_last(const char *who, sp_ring *r, int zc, unsigned char *buf, size_t size)
{
	struct sp_msg m = { 0 };
	ssize_t ret;

	if (zc)
		ret = sp_ring_peek(r, &m, AFTER_LAST_NS);
	else
		ret = sp_ring_get(r, buf, size, AFTER_LAST_NS);
	if (ret == -EPIPE)
		return 0;
	if (ret >= 0 || ret == -EMSGSIZE) {
		hx_msg("%s: a record after the last one", who);
		return EX_DATAERR;
	}
	hx_msg("%s: after the last record: %s: %s (expected the ring sealed and drained)",
	       who, zc ? "sp_ring_peek" : "sp_ring_get", strerror((int)-ret));
	return EX_SOFTWARE;
}

/* Pipe and socketpair: read_full() of exactly one record's bytes; message
 * queue: one mq_receive() of a record. */
static int receive_loop(const char *who, const struct run *rn, unsigned char *buf)
{
	const int is_mq = rn->t == T_MQ, fd = rn->fd[0];
	const mqd_t mq = rn->mq;
	const size_t size = rn->size;
	const uint64_t n = rn->count;

	for (uint64_t seq = 1; seq <= n; seq++) {
		ssize_t got = is_mq ? hx_mq_receive(who, mq, buf, size) : prog_read_full(fd, buf, size);

		if (got < 0) {
			if (is_mq)
				return (int)-got;
			hx_msg("%s: read: %s", who, strerror((int)-got));
			return EX_OSERR;
		}
		if ((size_t)got != size) {
			hx_msg("%s: record %" PRIu64 " of %" PRIu64 ": %zd bytes, expected %zu", who,
			       seq, n, got, size);
			return EX_DATAERR;
		}
		if (check(who, buf, size, seq, 0))
			return EX_DATAERR;
	}
	return 0;
}

static int fd_after_last(const char *who, int fd)
{
	char c;
	ssize_t got = prog_read_full(fd, &c, 1);

	if (got == 0)
		return 0;
	if (got > 0) {
		hx_msg("%s: data after the last record", who);
		return EX_DATAERR;
	}
	hx_msg("%s: read after the last record: %s", who, strerror((int)-got));
	return EX_OSERR;
}

/* After the last record comes the producer's empty end marker.  (The
 * watchdog bounds the wait: mq_timedreceive() only takes CLOCK_REALTIME.) */
static int mq_after_last(const char *who, mqd_t mq, unsigned char *buf, size_t size)
{
	ssize_t got = hx_mq_receive(who, mq, buf, size);

	if (got < 0)
		return (int)-got;
	if (got != 0) {
		hx_msg("%s: a record after the last one", who);
		return EX_DATAERR;
	}
	return 0;
}

static int naive_consume(const char *who, struct run *rn, unsigned char *buf)
{
	struct naive *nv = rn->nv;
	const unsigned char *slots = (unsigned char *)nv + NAIVE_HDR;
	const uint64_t mask = rn->nv_slots - 1;
	const size_t size = rn->size;
	uint64_t head = 0, tail = 0;   /* tail: the producer's, as last seen */
	unsigned spins = 0;

	for (uint64_t seq = 1; seq <= rn->count; seq++) {
		const unsigned char *slot;

		while (head == tail) {
			/* Acquire: pairs with the producer's release, so the
			 * slots below tail are fully written. */
			tail = hx_load_acquire(&nv->tail);
			if (head == tail)
				hx_spin(&spins);
		}
		slot = slots + (head & mask) * size;
		if (rn->zc) {
			if (check(who, slot, size, seq, 1))
				return EX_DATAERR;
		} else {
			memcpy(buf, slot, size);
			if (check(who, buf, size, seq, 0))
				return EX_DATAERR;
		}
		/* Release: our reads of the slot are done before the producer
		 * may reuse it. */
		hx_store_release(&nv->head, ++head);
	}
	return 0;
}

static int naive_after_last(const char *who, struct run *rn)
{
	uint64_t tail = hx_load_acquire(&rn->nv->tail);

	if (tail == rn->count)
		return 0;
	hx_msg("%s: the producer published %" PRIu64 " records, expected %" PRIu64,
	       who, tail, rn->count);
	return EX_DATAERR;
}

/* ---- Consumers sharing the stream: take until its end, tally each. */

static int shared_consume(const char *who, struct run *rn, sp_ring *r, unsigned char *buf,
			  struct report *rep)
{
	struct tally t = { .P = (unsigned)rn->P, .per = rn->per, .rep = rep };
	const size_t size = rn->size;
	struct sp_msg m = { 0 };

	for (;;) {
		ssize_t got;
		int rc;

		switch (rn->t) {
		case T_RING:
			got = sp_ring_get(r, buf, size, SP_FOREVER);
			if (got == -EPIPE)
				return 0;
			if (got < 0)
				return hx_ring_fail(who, "sp_ring_get", (int)got);
			break;
		case T_RING_ZC:
			got = sp_ring_peek(r, &m, SP_FOREVER);
			if (got == -EPIPE)
				return 0;
			if (got < 0)
				return hx_ring_fail(who, "sp_ring_peek", (int)got);
			got = (ssize_t)m.len;
			break;
		case T_PIPE:
			/* One read of one record's bytes: the writes were
			 * atomic, so a read takes exactly one record. */
			while ((got = read(rn->fd[0], buf, size)) < 0 && errno == EINTR)
				;
			if (got < 0) {
				hx_msg("%s: read: %s", who, strerror(errno));
				return EX_OSERR;
			}
			if (got == 0)
				return 0;
			break;
		case T_MQ:
			got = hx_mq_receive(who, rn->mq, buf, size);
			if (got < 0)
				return (int)-got;
			if (got == 0)
				return 0;
			break;
		default:
			hx_msg("%s: not a shared transport", who);
			return EX_SOFTWARE;
		}
		if ((size_t)got != size) {
			hx_msg("%s: a record of %zd bytes, expected %zu", who, got, size);
			return EX_DATAERR;
		}
		rc = tally(who, &t, rn->t == T_RING_ZC ? m.data : buf, size, rn->zc);
		if (rc)
			return rc;
		if (rn->t == T_RING_ZC && (rc = sp_ring_release(r, &m)) < 0)
			return hx_ring_fail(who, "sp_ring_release", rc);
	}
}

/* The body of a child: attach, report ready, wait for the gun, move the
 * records.  Returns its exit status. */
static int child(struct hx_group *g, int idx, void *arg)
{
	struct run *rn = arg;
	const int producer = idx < rn->P;
	const unsigned k = (unsigned)(producer ? idx : idx - rn->P);
	const int lone = rn->P == 1 && rn->C == 1;
	unsigned char *buf = NULL;
	sp_ring *r = NULL;
	struct report rep = { 0 };
	char who[96];
	size_t alloc;
	int rc, ret;

	snprintf(who, sizeof(who), "%s %s", g->what, g->role[idx]);
	/* Consumers report; producers only exit.  Each side closes the other
	 * side's end of a pipe or socketpair, so that end of file can come. */
	if (producer) {
		hx_close_fd(&g->report[1]);
		hx_close_fd(&rn->fd[0]);
	} else {
		hx_close_fd(&rn->fd[1]);
	}
	rc = hx_pin(who, opt.hx.cpu[producer ? 0 : 1]);
	if (rc)
		return rc;

	/* A cache-line aligned buffer, touched now so that no page fault
	 * lands in the timed part. */
	alloc = (rn->size + 63) & ~(size_t)63;
	buf = aligned_alloc(64, alloc);
	if (!buf) {
		hx_msg("%s: buffer of %zu bytes: %s", who, alloc, strerror(errno));
		return EX_OSERR;
	}
	memset(buf, 0xa5, alloc);

	if (rn->t == T_RING || rn->t == T_RING_ZC) {
		ret = sp_ring_open(ring_name, 0, NULL, &r);
		if (ret < 0) {
			hx_msg("%s: sp_ring_open %s: %s", who, ring_name, strerror(-ret));
			free(buf);
			return EX_SOFTWARE;
		}
	}

	rc = hx_child_ready(g, who);
	if (rc)
		goto out;

	if (producer) {
		switch (rn->t) {
		case T_RING:
		case T_RING_ZC:
			rc = rn->zc ? ring_reserve_loop(who, r, rn->size, k, rn->per)
				    : ring_put_loop(who, r, buf, rn->size, k, rn->per);
			if (rc == 0 && (ret = sp_ring_seal(r)) < 0)
				rc = hx_ring_fail(who, "sp_ring_seal", ret);
			break;
		case T_NAIVE:
		case T_NAIVE_ZC:
			rc = naive_produce(rn, buf);
			break;
		case T_PIPE:
		case T_SOCKETPAIR:
			rc = send_loop(who, rn, buf, k);
			hx_close_fd(&rn->fd[1]);     /* our part of the end of file */
			break;
		case T_MQ:
			rc = send_loop(who, rn, buf, k);
			if (rc == 0)
				rc = mq_end(who, rn);
			break;
		case T_COUNT:
			break;
		}
		goto out;
	}

	if (lone) {
		switch (rn->t) {
		case T_RING:
		case T_RING_ZC:
			rc = rn->zc ? ring_peek_loop(who, r, rn->size, rn->count)
				    : ring_get_loop(who, r, buf, rn->size, rn->count);
			rep.t_end = prog_now_ns();
			if (rc == 0)
				rc = ring_after_last(who, r, rn->zc, buf, rn->size);
			break;
		case T_NAIVE:
		case T_NAIVE_ZC:
			rc = naive_consume(who, rn, buf);
			rep.t_end = prog_now_ns();
			if (rc == 0)
				rc = naive_after_last(who, rn);
			break;
		case T_PIPE:
		case T_SOCKETPAIR:
			rc = receive_loop(who, rn, buf);
			rep.t_end = prog_now_ns();
			if (rc == 0)
				rc = fd_after_last(who, rn->fd[0]);
			break;
		case T_MQ:
			rc = receive_loop(who, rn, buf);
			rep.t_end = prog_now_ns();
			if (rc == 0)
				rc = mq_after_last(who, rn->mq, buf, rn->size);
			break;
		case T_COUNT:
			break;
		}
		/* Every record was checked to be the next: 1..count once each. */
		rep.received = rep.n[0] = rn->count;
		rep.sum[0] = rec_sum1(rn->count);
		rep.sumsq[0] = rec_sum2(rn->count);
	} else {
		rc = shared_consume(who, rn, r, buf, &rep);
		rep.t_end = prog_now_ns();
	}
	if (rc == 0)
		rc = hx_child_report(g, who, &rep, sizeof(rep));
out:
	if (r)
		sp_ring_close(r);
	free(buf);
	return rc;
}

/* Removes what a run made (the children are gone).  Returns 0 or an exit
 * status if the ring would not go. */
static int run_end(struct run *rn)
{
	int ret;

	hx_group_end(&rn->g);
	hx_close_fd(&rn->fd[0]);
	hx_close_fd(&rn->fd[1]);
	if (rn->mq != (mqd_t)-1) {
		mq_close(rn->mq);
		rn->mq = (mqd_t)-1;
	}
	if (rn->nv) {
		munmap(rn->nv, rn->nv_len);
		rn->nv = NULL;
	}
	if (rn->bd) {
		munmap(rn->bd, sizeof(*rn->bd));
		rn->bd = NULL;
	}
	ret = hx_remove(HX_RING, ring_name);
	if (ret < 0) {
		hx_msg("%s: sp_ring_unlink %s: %s", rn->what, ring_name, strerror(-ret));
		return EX_SOFTWARE;
	}
	return 0;
}

/* Makes the transport.  Returns 0, HX_NA with the reason in why, or an exit
 * status. */
static int run_setup(struct run *rn, char *why, size_t whylen)
{
	const int shared = rn->P > 1 || rn->C > 1;
	int ret;

	rn->bd = mmap(NULL, sizeof(*rn->bd), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (rn->bd == MAP_FAILED) {
		rn->bd = NULL;
		hx_msg("%s: mmap: %s", rn->what, strerror(errno));
		return EX_OSERR;
	}
	atomic_init(&rn->bd->producers_done, 0);
	switch (rn->t) {
	case T_RING:
	case T_RING_ZC: {
		struct sp_ring_opts ro = { .capacity = opt.capacity, .writers = (unsigned)rn->P };
		size_t max;

		ret = hx_ring_make(ring_name, &ro, &max);
		if (ret < 0) {
			hx_msg("%s: sp_ring_open %s: %s", rn->what, ring_name, strerror(-ret));
			return EX_SOFTWARE;
		}
		if (max < rn->size) {
			hx_msg("%s: larger than the ring's largest record, %zu bytes (raise --capacity)",
			       rn->what, max);
			return EX_USAGE;
		}
		break;
	}
	case T_NAIVE:
	case T_NAIVE_ZC: {
		uint64_t slots = 1;

		if (shared) {
			snprintf(why, whylen, "the naive ring has one producer and one consumer");
			return HX_NA;
		}
		while (slots * 2 <= opt.capacity / rn->size)
			slots *= 2;
		rn->nv_slots = slots;
		rn->nv_len = NAIVE_HDR + (size_t)slots * rn->size;
		rn->nv = mmap(NULL, rn->nv_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);
		if (rn->nv == MAP_FAILED) {
			rn->nv = NULL;
			hx_msg("%s: mmap %zu bytes: %s", rn->what, rn->nv_len, strerror(errno));
			return EX_OSERR;
		}
		/* Populate the pages now, as the ring's creation does. */
		memset(rn->nv, 0, rn->nv_len);
		atomic_init(&rn->nv->head, 0);
		atomic_init(&rn->nv->tail, 0);
		break;
	}
	case T_PIPE:
		if (shared && rn->size > PIPE_BUF) {
			snprintf(why, whylen, "writes over PIPE_BUF (%d B) to a shared pipe are not "
				 "atomic", PIPE_BUF);
			return HX_NA;
		}
		if (pipe2(rn->fd, O_CLOEXEC) < 0) {
			hx_msg("%s: pipe2: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case T_SOCKETPAIR:
		if (shared) {
			snprintf(why, whylen, "a stream socket shared by several readers splits records");
			return HX_NA;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rn->fd) < 0) {
			hx_msg("%s: socketpair: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case T_MQ: {
		uint64_t depth = opt.capacity / rn->size;

		ret = hx_mq_make(mq_name, rn->size, depth > 1024 ? 1024 : (long)depth, opt.mq_raise,
				 &rn->mq, &rn->mq_depth, why, whylen);
		if (ret)
			return ret;
		break;
	}
	case T_COUNT:
		break;
	}
	return 0;
}

/* One timed run of about count records.  Stores its seconds in *secs (and
 * the records actually moved in *moved).  Returns 0, HX_NA (the reason in
 * why), HX_STOPPED, or an exit status. */
static int run_once(enum transport t, size_t size, uint64_t count, double *secs,
		    uint64_t *moved, long *depth, char *why, size_t whylen)
{
	struct run rn = {
		.t = t, .size = size, .P = opt.P, .C = opt.C,
		.zc = t == T_RING_ZC || t == T_NAIVE_ZC,
		.fd = { -1, -1 }, .mq = (mqd_t)-1,
	};
	struct report reps[MAX_SIDE];
	char sz[24];
	int64_t t0, t_end = 0;
	int rc, ret;

	rn.per = (count + (uint64_t)rn.P - 1) / (uint64_t)rn.P;
	rn.count = rn.per * (uint64_t)rn.P;
	snprintf(rn.what, sizeof(rn.what), "%s %s", tnames[t], hx_size_str(size, sz, sizeof(sz)));
	rc = hx_group_init(&rn.g, rn.what, opt.hx.timeout);
	if (rc)
		goto out;
	rc = run_setup(&rn, why, whylen);
	if (rc)
		goto out;
	for (int i = 0; i < rn.P + rn.C && !rc; i++) {
		char role[24];
		const int prod = i < rn.P;

		if (rn.P == 1 && rn.C == 1)
			snprintf(role, sizeof(role), "%s", prod ? "producer" : "consumer");
		else
			snprintf(role, sizeof(role), "%s %d", prod ? "producer" : "consumer",
				 (prod ? i : i - rn.P) + 1);
		rc = hx_spawn(&rn.g, role, child, &rn);
	}
	if (rc)
		goto out;
	/* The children hold the transport now; without our copies, the last
	 * writer's close is the readers' end of file. */
	hx_close_fd(&rn.fd[0]);
	hx_close_fd(&rn.fd[1]);

	rc = hx_start(&rn.g, &t0);
	if (rc)
		goto out;
	rc = hx_await(&rn.g, rn.g.report[0], reps, (size_t)rn.C * sizeof(reps[0]),
		      "the last record");
	if (rc)
		goto out;
	rc = hx_await(&rn.g, -1, NULL, 0, "every process to exit");
	if (rc)
		goto out;

	/* Every record of each producer arrived exactly once, across the
	 * consumers (each consumer checked the order of its own share). */
	for (int p = 0; p < rn.P && !rc; p++) {
		uint64_t n = 0, s1 = 0, s2 = 0;

		for (int c = 0; c < rn.C; c++) {
			n += reps[c].n[p];
			s1 += reps[c].sum[p];
			s2 += reps[c].sumsq[p];
		}
		if (n != rn.per || s1 != rec_sum1(rn.per) || s2 != rec_sum2(rn.per)) {
			hx_msg("%s: the consumers took %" PRIu64 " records of producer %d, expected "
			       "%" PRIu64 "%s", rn.what, n, p + 1, rn.per,
			       n == rn.per ? ", but not each exactly once" : "");
			rc = EX_DATAERR;
		}
	}
	for (int c = 0; c < rn.C; c++)
		if (reps[c].t_end > t_end)
			t_end = reps[c].t_end;
	if (!rc && t_end < t0) {
		hx_msg("%s: a consumer reports an end before the start", rn.what);
		rc = EX_SOFTWARE;
	}
	if (!rc) {
		*secs = (double)(t_end - t0) / 1e9;
		*moved = rn.count;
		*depth = rn.mq_depth;
	}
out:
	ret = run_end(&rn);
	return rc ? rc : ret;
}

/* Finds a count of records that takes about --seconds: short runs, growing
 * until one lasts a tenth of that, then a linear extrapolation.  These runs
 * double as the warm-up. */
static int calibrate(enum transport t, size_t size, const char *what, uint64_t *count,
		     struct result *res)
{
	const double target = opt.hx.seconds * opt.scale;
	const double probe = target / 10;
	double n = (double)((1u << 20) / size), secs = 0;

	if (n < 16)
		n = 16;
	for (int i = 0; i < 30; i++) {
		uint64_t moved;
		int rc;

		hx_progress("%s: calibrating with %.0f records", what, n);
		rc = run_once(t, size, (uint64_t)n, &secs, &moved, &res->depth, res->why,
			      sizeof(res->why));
		if (rc)
			return rc;
		if (opt.hx.verbose)
			hx_msg("%s: calibration: %.0f records in %.6f s", what, n, secs);
		if (secs >= probe || n >= 1e12)
			break;
		n *= secs > 0 && probe * 1.5 / secs < 100 ? fmax(2, probe * 1.5 / secs) : 100;
	}
	n = secs > 0 ? n * target / secs : n;
	*count = n < 1 ? 1 : n > 1e12 ? (uint64_t)1e12 : (uint64_t)n;
	return 0;
}

/*
 * Measuring one size: every transport is calibrated first, then their timed
 * runs take turns (run 1 of each, run 2 of each, ...), so that a busy moment
 * of a shared machine, which can last seconds, weighs on all of them rather
 * than on the one that happened to run then: the ratios stay fair.
 */

/* Sets up one transport at one size: the records per run.  Returns 0 (the
 * result may be n/a), HX_STOPPED or an exit status. */
static int measure_begin(enum transport t, size_t size, struct result *res)
{
	char what[48], sz[24];
	int rc;

	snprintf(what, sizeof(what), "%s %s", tnames[t], hx_size_str(size, sz, sizeof(sz)));
	res->nt = 0;
	res->again = !opt.count;
	if (opt.count) {
		double n = round((double)opt.count * opt.scale);

		res->count = n < 1 ? 1 : (uint64_t)n;
		return 0;
	}
	rc = calibrate(t, size, what, &res->count, res);
	if (rc == HX_NA)
		res->na = 1;
	return rc == HX_NA ? 0 : rc;
}

/* One timed run of a transport that measure_begin() set up. */
static int measure_run(enum transport t, size_t size, struct result *res)
{
	const double target = opt.hx.seconds * opt.scale;
	char what[48], sz[24];
	double *tm = &res->times[res->nt];
	uint64_t moved = 0;
	int rc;

	snprintf(what, sizeof(what), "%s %s", tnames[t], hx_size_str(size, sz, sizeof(sz)));
	hx_progress("%s: run %d of %d, %" PRIu64 " records", what, res->nt + 1, opt.hx.runs,
		    res->count);
	rc = run_once(t, size, res->count, tm, &moved, &res->depth, res->why, sizeof(res->why));
	if (rc == HX_NA)
		res->na = 1;
	if (rc)
		return rc == HX_NA ? 0 : rc;
	if (opt.hx.verbose)
		hx_msg("%s: run %d: %" PRIu64 " records in %.6f s, %.0f msg/s", what, res->nt + 1,
		       moved, *tm, (double)moved / *tm);
	res->count = moved;
	/* A calibration disturbed by noise is off by more than a factor of
	 * two: count the first run as warm-up, rescale, and time it again. */
	if (res->again && res->nt == 0 && *tm > 0 && (*tm < target / 2 || *tm > target * 2)) {
		double n = (double)moved * target / *tm;

		res->count = n < 1 ? 1 : (uint64_t)n;
		res->again = 0;
		return 0;
	}
	res->nt++;
	return 0;
}

static void measure_end(struct result *res)
{
	res->done = 1;
	res->secs = hx_median(res->times, opt.hx.runs);
	res->fast = (double)res->count / res->times[0];
	res->slow = (double)res->count / res->times[opt.hx.runs - 1];
}

/* Measures every chosen transport at one size, their runs in turns.
 * Returns 0, HX_STOPPED or an exit status. */
static int measure_size(size_t size, struct result *res)
{
	int rc = 0, left;

	for (int t = 0; t < T_COUNT && !rc; t++)
		if (opt.transports & 1u << t)
			rc = measure_begin((enum transport)t, size, &res[t]);
	do {
		left = 0;
		for (int t = 0; t < T_COUNT && !rc; t++) {
			if (!(opt.transports & 1u << t) || res[t].na || res[t].nt >= opt.hx.runs)
				continue;
			rc = measure_run((enum transport)t, size, &res[t]);
			left |= !res[t].na && res[t].nt < opt.hx.runs;
		}
	} while (left && !rc);
	hx_progress("%s", "");
	for (int t = 0; t < T_COUNT && !rc; t++)
		if (opt.transports & 1u << t && !res[t].na)
			measure_end(&res[t]);
	return rc;
}

static double rate(const struct result *r)
{
	return r->done && r->secs > 0 ? (double)r->count / r->secs : 0;
}

static const char *procs_str(char *buf, size_t len)
{
	snprintf(buf, len, "%dx%d", opt.P, opt.C);
	return buf;
}

static void print_row(enum transport t, size_t size, const struct result *r)
{
	char sz[24], pc[16];
	double mps = rate(r);

	procs_str(pc, sizeof(pc));
	if (r->na) {
		printf("%-5s %-11s %8s   n/a: %s\n", pc, tnames[t], hx_size_str(size, sz, sizeof(sz)),
		       r->why);
	} else {
		printf("%-5s %-11s %8s %12" PRIu64 " %9.4f %14.0f %9.3f %7.1f%%\n", pc, tnames[t],
		       hx_size_str(size, sz, sizeof(sz)), r->count, r->secs, mps,
		       mps * (double)size / 1e9,
		       mps > 0 ? 100 * (r->fast - r->slow) / mps : 0.0);
	}
	fflush(stdout);
}

static void print_ratio(const struct result *res, enum transport ring, enum transport naive,
			size_t size)
{
	static const enum transport vs[3] = { T_PIPE, T_SOCKETPAIR, T_MQ };
	char sz[24], pc[16], cell[4][16];
	const double mine = rate(&res[ring]);

	if (!res[ring].done)
		return;
	for (int i = 0; i < 4; i++) {
		double other = rate(&res[i < 3 ? vs[i] : naive]);

		if (other > 0)
			snprintf(cell[i], sizeof(cell[i]), "%.2fx", mine / other);
		else
			snprintf(cell[i], sizeof(cell[i]), "-");
	}
	printf("%-5s %-11s %8s %9s %14s %9s %9s\n", procs_str(pc, sizeof(pc)), tnames[ring],
	       hx_size_str(size, sz, sizeof(sz)), cell[0], cell[1], cell[2], cell[3]);
}

static void print_csv(const struct result *res, size_t size)
{
	char pc[16];

	procs_str(pc, sizeof(pc));
	for (int t = 0; t < T_COUNT; t++) {
		const struct result *r = &res[t];
		double mps = rate(r);

		if (r->na) {
			char why[WHY_LEN];

			/* No commas inside a field. */
			snprintf(why, sizeof(why), "%s", r->why);
			for (char *c = why; *c; c++)
				if (*c == ',')
					*c = ';';
			printf("csv,na,%s,%s,%zu,%s\n", pc, tnames[t], size, why);
		}
		if (!r->done)
			continue;
		printf("csv,tput,%s,%s,%zu,%" PRIu64 ",%d,%.6f,%.0f,%.4f,%.0f,%.0f\n", pc, tnames[t],
		       size, r->count, opt.hx.runs, r->secs, mps, mps * (double)size / 1e9, r->slow,
		       r->fast);
	}
}

static int parse_transports(char *list)
{
	static const struct hx_alias aliases[] = {
		{ "all", ALL_TRANSPORTS },
		{ "ring", 1u << T_RING | 1u << T_RING_ZC },
		{ "naive", 1u << T_NAIVE | 1u << T_NAIVE_ZC },
		{ NULL, 0 },
	};

	return hx_parse_set(list, tnames, T_COUNT, aliases, &opt.transports);
}

/* Parses "PxC".  Returns 0 or -1. */
static int parse_procs(const char *s)
{
	char *end;
	long p, c;

	errno = 0;
	p = strtol(s, &end, 10);
	if (errno || end == s || (*end != 'x' && *end != 'X') || p < 1 || p > MAX_SIDE)
		return -1;
	s = end + 1;
	c = strtol(s, &end, 10);
	if (errno || end == s || *end || c < 1 || c > MAX_SIDE)
		return -1;
	opt.P = (int)p;
	opt.C = (int)c;
	return 0;
}

static void usage(FILE *out, int status)
{
	fprintf(out,
"Usage: %s [options]\n"
"\n"
"Times producer and consumer processes moving fixed-size records through the\n"
"shared ring (copying and zero-copy), a naive spinning ring, a pipe, a Unix\n"
"socketpair and a POSIX message queue; prints the median of several runs.\n"
"\n"
"Options:\n"
"  -s, --sizes <list>       record sizes, at least 8 bytes\n"
"                           (default 64,1K,64K,1M); suffixes K, M, G\n"
"  -t, --transports <list>  any of ring-copy, ring-zc, naive-copy, naive-zc,\n"
"                           pipe, socketpair, mq, ring, naive, all\n"
"                           (default all; with --procs other than 1x1:\n"
"                           ring,pipe,mq, the ones that can be shared)\n"
"  -p, --procs <P>x<C>      P producers and C consumers, 1 to %d each\n"
"                           (default 1x1)\n"
"  -c, --capacity <bytes>   ring capacity, a power of two at least 4 times\n"
"                           every size (default 4M)\n"
"  -r, --runs <n>           timed runs per measurement (default 3)\n"
"  -S, --seconds <s>        target length of one run (default 0.5)\n"
"  -x, --scale <f>          multiply the work of every run by f (default 1)\n"
"  -n, --count <n>          records per run, instead of calibrating to time\n"
"      --cpus <p>,<c>       pin the producers to CPU p, the consumers to CPU c\n"
"      --mq-raise           as root, raise /proc/sys/fs/mqueue/msgsize_max for\n"
"                           the instant a large queue is made, then restore it\n"
"      --timeout <s>        fail a run that takes longer (default 60)\n"
"      --csv                also print one CSV line per result\n"
"  -v, --verbose            print every run's time on stderr\n"
"  -q, --quiet              no progress and no header line\n"
"\n"
"  -h, --help               display this help and exit\n"
"  -V, --version            display version and exit\n", PROG, MAX_SIDE);
	exit(status);
}

static void parse_options(int argc, char **argv)
{
	enum { OPT_MQ_RAISE = 256 };
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "transports", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "scale", required_argument, NULL, 'x' },
		{ "count", required_argument, NULL, 'n' },
		{ "mq-raise", no_argument, NULL, OPT_MQ_RAISE },
		HX_LONGOPTS,
	};
	int c, chose = 0;

	opterr = 0;   /* our own messages, in our own format */
	opt.transports = ALL_TRANSPORTS;
	opt.nsizes = hx_parse_sizes("64,1K,64K,1M", opt.sizes, MAX_SIZES, 8);
	while ((c = getopt_long(argc, argv, "s:t:p:c:r:S:x:n:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.nsizes = hx_sizes_arg(optarg, opt.sizes, MAX_SIZES, 8);
			break;
		case 't':
			if (parse_transports(optarg) < 0)
				hx_bad_option("--transports", optarg);
			chose = 1;
			break;
		case 'p':
			if (parse_procs(optarg) < 0)
				hx_bad_option("--procs", optarg);
			break;
		case 'c':
			opt.capacity = hx_capacity_arg(optarg);
			break;
		case 'x':
			opt.scale = hx_double_arg("--scale", optarg);
			break;
		case 'n':
			opt.count = hx_count_arg("--count", optarg, 1e15);
			break;
		case OPT_MQ_RAISE:
			opt.mq_raise = 1;
			break;
		default:
			hx_option(&opt.hx, c, argv, usage);
		}
	}
	hx_no_operands(argc, argv);
	if (!chose && (opt.P > 1 || opt.C > 1))
		opt.transports = SHARED_TRANSPORTS;
	for (int i = 0; i < opt.nsizes; i++) {
		if (opt.capacity / 4 < opt.sizes[i]) {
			fprintf(stderr, "%s: --capacity %" PRIu64 " is less than 4 x the record size %zu\n",
				PROG, opt.capacity, opt.sizes[i]);
			exit(EX_USAGE);
		}
	}
	hx.progress = !opt.hx.quiet && isatty(STDERR_FILENO);
}

int main(int argc, char **argv)
{
	static struct result res[MAX_SIZES][T_COUNT];
	int rc = 0, ret, depth_note = 0, first = 0;

	prog_name = PROG;
	parse_options(argc, argv);
	snprintf(ring_name, sizeof(ring_name), "bench-%ld", (long)getpid());
	snprintf(mq_name, sizeof(mq_name), "/%s-%ld", PROG, (long)getpid());
	ret = hx_setup_signals();
	if (ret < 0) {
		hx_msg("signals: %s", strerror(-ret));
		return EX_OSERR;
	}

	if (!opt.hx.quiet) {
		printf("# %s: libshared %s, %d producer%s x %d consumer%s, capacity %" PRIu64
		       " B, median of %d runs, ", PROG, sp_version_string(), opt.P,
		       opt.P > 1 ? "s" : "", opt.C, opt.C > 1 ? "s" : "", opt.capacity, opt.hx.runs);
		if (opt.count)
			printf("%.0f records each", round((double)opt.count * opt.scale));
		else
			printf("~%g s each", opt.hx.seconds * opt.scale);
		printf(", %ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));
	}
	printf("%-5s %-11s %8s %12s %9s %14s %9s %8s\n", "procs", "transport", "size", "records",
	       "median s", "msg/s", "GB/s", "spread");
	for (int s = 0; s < opt.nsizes && !rc; s++) {
		rc = measure_size(opt.sizes[s], res[s]);
		for (int t = 0; t < T_COUNT && !rc; t++) {
			if (!(opt.transports & 1u << t))
				continue;
			print_row((enum transport)t, opt.sizes[s], &res[s][t]);
			depth_note |= t == T_MQ && res[s][t].done;
		}
	}
	if (!rc && !opt.hx.quiet) {
		if (opt.transports & (1u << T_RING_ZC | 1u << T_NAIVE_ZC))
			printf("# -zc: the producer fills every payload byte in place and the consumer "
			       "reads (sums) every one\n");
		if (depth_note) {
			printf("# mq: queue depth in messages:");
			for (int s = 0; s < opt.nsizes; s++) {
				char sz[24];

				if (res[s][T_MQ].done)
					printf("%s %s: %ld", first++ ? "," : "", hx_size_str(opt.sizes[s], sz, sizeof(sz)),
					       res[s][T_MQ].depth);
			}
			printf(" (/proc/sys/fs/mqueue/msg_max %ld)\n", hx_read_long(HX_MQ_MSG_MAX));
		}
	}
	if (!rc && opt.transports & (1u << T_RING | 1u << T_RING_ZC)) {
		printf("\nratios of msg/s at equal size (the same for GB/s); vs naive: the naive ring "
		       "of the same mode\n");
		printf("%-5s %-11s %8s %9s %14s %9s %9s\n", "procs", "ring", "size", "vs pipe",
		       "vs socketpair", "vs mq", "vs naive");
		for (int s = 0; s < opt.nsizes; s++) {
			print_ratio(res[s], T_RING, T_NAIVE, opt.sizes[s]);
			print_ratio(res[s], T_RING_ZC, T_NAIVE_ZC, opt.sizes[s]);
		}
	}
	if (!rc && opt.hx.csv) {
		printf("\ncsv,columns,tput,procs,transport,size,records,runs,median_s,msg_per_s,"
		       "gb_per_s,slowest_msg_per_s,fastest_msg_per_s\n");
		printf("csv,columns,na,procs,transport,size,reason\n");
		for (int s = 0; s < opt.nsizes; s++)
			print_csv(res[s], opt.sizes[s]);
	}
	return hx_finish(rc);
}
