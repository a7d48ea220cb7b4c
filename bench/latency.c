/* latency.c: one-way latency by ping-pong between two processes, one record in flight: the ring spinning then sleeping and sleeping only, a naive spinning exchange, a pipe pair, a socketpair and a pair of message queues. */
#define PROG "latency"
#include "harness.h"
#include "record.h"

#include <getopt.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "shared/version.h"

/*
 * One run: the parent makes the two directions of the transport (the ring:
 * two rings, "ping" and "pong"), a shared array for the round-trip times,
 * and forks the pinger and the ponger as one harness group (harness.h).
 * After the start gun, the pinger warms up for a few milliseconds, then
 * until --seconds have passed (or --max-rounds): reads CLOCK_MONOTONIC,
 * sends record n, waits for the ponger to send it back, reads the clock
 * again and stores the difference.  The ponger checks each record is the
 * next and sends the same bytes back.  The pinger then ends the stream (the
 * ring sealed, the pipe closed, an empty message) and waits for the ponger
 * to end its own, and reports how many rounds it stored.
 *
 * One-way latency is half a round trip; each round trip includes the cost
 * of one clock read, printed in the header.
 */

#define AFTER_LAST_NS (5LL * 1000000000LL)
#define WHY_LEN 200
#define NAIVE_STOP UINT64_MAX

enum transport { L_RING_SPIN, L_RING_SLEEP, L_NAIVE, L_PIPE, L_SOCKETPAIR, L_MQ, L_COUNT };

static const char *const tnames[L_COUNT] = {
	"ring-spin", "ring-sleep", "naive", "pipe", "socketpair", "mq",
};

#define PINGER 0
#define PONGER 1

struct opts {
	size_t size;             /* record bytes */
	unsigned transports;
	uint64_t capacity;       /* each ring */
	uint64_t max_rounds;     /* stored round trips per run */
	/* Runs, the timed part of one, the CPUs of pinger and ponger, ... */
	struct hx_opts hx;
};

static struct opts opt = {
	.size = 64,
	.transports = (1u << L_COUNT) - 1,
	.capacity = 64u << 10,
	.max_rounds = 2000000,
	.hx = { .runs = 3, .seconds = 0.5, .timeout = 60.0, .cpu = { -1, -1 } },
};

/* One direction of the naive exchange: a sequence number on its own cache
 * line pair, then the payload. */
struct naive_dir {
	_Alignas(128) _Atomic uint64_t seq;
	_Alignas(128) unsigned char data[];
};

struct run {
	enum transport t;
	size_t size;
	char what[48];
	int ping[2], pong[2];    /* pipes; a socketpair uses ping[0] (pinger), ping[1] (ponger) */
	mqd_t mq[2];             /* ping, pong */
	unsigned char *nv;       /* naive: two directions, nv_dir bytes apart */
	size_t nv_dir, nv_len;
	uint32_t *rtt;           /* round trips in ns, shared */
	size_t rtt_len;
	struct hx_group g;
};

/* Per transport: the medians over runs of each percentile, the extremes. */
struct result {
	int done, na;
	char why[WHY_LEN];
	double rounds, p50, p99, p999, min, max;   /* ns, one way */
};

static char ring_name[2][40];    /* "lat-PID.ping", "lat-PID.pong" */
static char mq_name[2][48];

/* One side's ends of the transport. */
struct side {
	const char *who;
	struct run *rn;
	sp_ring *out, *in;
	int fd_out, fd_in;
	mqd_t mq_out, mq_in;
	struct naive_dir *n_out, *n_in;
	unsigned char *buf;
	unsigned spins;
};

/* Sends the record in s->buf.  Returns 0 or an exit status. */
static int send_rec(struct side *s, uint64_t seq)
{
	const size_t size = s->rn->size;
	int ret;

	switch (s->rn->t) {
	case L_RING_SPIN:
	case L_RING_SLEEP:
		ret = sp_ring_put(s->out, s->buf, size, SP_FOREVER);
		return ret < 0 ? hx_ring_fail(s->who, "sp_ring_put", ret) : 0;
	case L_NAIVE:
		memcpy(s->n_out->data, s->buf, size);
		/* Release: the payload is visible before the other side can
		 * see the new sequence number. */
		hx_store_release(&s->n_out->seq, seq);
		return 0;
	case L_PIPE:
	case L_SOCKETPAIR:
		return hx_write_rec(s->who, s->fd_out, s->buf, size);
	case L_MQ:
		return hx_mq_send(s->who, s->mq_out, s->buf, size);
	case L_COUNT:
		break;
	}
	return EX_SOFTWARE;
}

/* Receives a record into s->buf.  Returns 1, 0 at the end of the stream,
 * or an exit status (negated).  `last` is the naive side's last sequence
 * number seen. */
static int recv_rec(struct side *s, uint64_t last)
{
	const size_t size = s->rn->size;
	ssize_t n;
	uint64_t seq;

	switch (s->rn->t) {
	case L_RING_SPIN:
	case L_RING_SLEEP:
		n = sp_ring_get(s->in, s->buf, size, SP_FOREVER);
		if (n == -EPIPE)
			return 0;
		if (n < 0)
			return -hx_ring_fail(s->who, "sp_ring_get", (int)n);
		break;
	case L_NAIVE:
		/* Acquire: pairs with the sender's release, so the payload
		 * is complete. */
		while ((seq = hx_load_acquire(&s->n_in->seq)) == last)
			hx_spin(&s->spins);
		if (seq == NAIVE_STOP)
			return 0;
		memcpy(s->buf, s->n_in->data, size);
		return 1;
	case L_PIPE:
	case L_SOCKETPAIR:
		n = prog_read_full(s->fd_in, s->buf, size);
		if (n < 0) {
			hx_msg("%s: read: %s", s->who, strerror((int)-n));
			return -EX_OSERR;
		}
		if (n == 0)
			return 0;
		break;
	case L_MQ:
		n = hx_mq_receive(s->who, s->mq_in, s->buf, size);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		break;
	default:
		return -EX_SOFTWARE;
	}
	if ((size_t)n != size) {
		hx_msg("%s: a record of %zd bytes, expected %zu", s->who, n, size);
		return -EX_DATAERR;
	}
	return 1;
}

/* Ends this side's direction: the other side's next receive sees the end. */
static int send_end(struct side *s)
{
	int ret;

	switch (s->rn->t) {
	case L_RING_SPIN:
	case L_RING_SLEEP:
		ret = sp_ring_seal(s->out);
		return ret < 0 ? hx_ring_fail(s->who, "sp_ring_seal", ret) : 0;
	case L_NAIVE:
		hx_store_release(&s->n_out->seq, NAIVE_STOP);
		return 0;
	case L_PIPE:
		hx_close_fd(&s->fd_out);
		return 0;
	case L_SOCKETPAIR:
		if (shutdown(s->fd_out, SHUT_WR) < 0) {
			hx_msg("%s: shutdown: %s", s->who, strerror(errno));
			return EX_OSERR;
		}
		return 0;
	case L_MQ:
		return hx_mq_send(s->who, s->mq_out, "", 0);
	case L_COUNT:
		break;
	}
	return EX_SOFTWARE;
}

static int check_rec(struct side *s, uint64_t seq)
{
	uint64_t head;

	if (rec_ends_ok(s->buf, s->rn->size, seq))
		return 0;
	memcpy(&head, s->buf, 8);
	hx_msg("%s: round %" PRIu64 ": record %" PRIu64 " came back%s", s->who, seq, head,
	       head == seq ? ", torn" : "");
	return EX_DATAERR;
}

static int pinger(struct side *s, struct hx_group *g)
{
	const int64_t warm_ns = (int64_t)(fmin(0.05, opt.hx.seconds / 10) * 1e9);
	uint64_t seq = 0, stored = 0;
	int64_t start = prog_now_ns(), stop = 0;
	int rc;

	for (;;) {
		int64_t t0, t1;

		if (stop == 0 && prog_now_ns() - start >= warm_ns)
			stop = prog_now_ns() + (int64_t)(opt.hx.seconds * 1e9);
		if (stop && (stored == s->rn->rtt_len || prog_now_ns() >= stop))
			break;
		seq++;
		rec_stamp(s->buf, s->rn->size, seq);
		t0 = prog_now_ns();
		rc = send_rec(s, seq);
		if (rc)
			return rc;
		rc = recv_rec(s, seq - 1);
		t1 = prog_now_ns();
		if (rc <= 0) {
			if (rc == 0)
				hx_msg("%s: the ponger ended its stream early", s->who);
			return rc == 0 ? EX_DATAERR : -rc;
		}
		rc = check_rec(s, seq);
		if (rc)
			return rc;
		if (stop) {
			int64_t d = t1 - t0;

			s->rn->rtt[stored++] = d > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		}
	}
	rc = send_end(s);
	if (rc)
		return rc;
	/* The ponger ends its direction in turn; anything else is extra. */
	if (s->rn->t == L_RING_SPIN || s->rn->t == L_RING_SLEEP) {
		ssize_t ret = sp_ring_get(s->in, s->buf, s->rn->size, AFTER_LAST_NS);

		if (ret != -EPIPE) {
			hx_msg("%s: after the last round: %s", s->who,
			       ret >= 0 ? "an extra record" : strerror((int)-ret));
			return ret >= 0 ? EX_DATAERR : EX_SOFTWARE;
		}
	} else if (s->rn->t != L_NAIVE) {
		rc = recv_rec(s, seq);
		if (rc != 0) {
			if (rc > 0)
				hx_msg("%s: an extra record after the last round", s->who);
			return rc > 0 ? EX_DATAERR : -rc;
		}
	}
	return hx_child_report(g, s->who, &stored, sizeof(stored));
}

static int ponger(struct side *s)
{
	uint64_t seq = 0;

	for (;;) {
		int rc = recv_rec(s, seq);

		if (rc < 0)
			return -rc;
		if (rc == 0)
			return send_end(s);
		seq++;
		rc = check_rec(s, seq);
		if (rc)
			return rc;
		rc = send_rec(s, seq);
		if (rc)
			return rc;
	}
}

static int child(struct hx_group *g, int idx, void *arg)
{
	struct run *rn = arg;
	struct side s = {
		.rn = rn, .fd_out = -1, .fd_in = -1, .mq_out = (mqd_t)-1, .mq_in = (mqd_t)-1,
	};
	char who[96];
	size_t alloc;
	int rc, ret;

	snprintf(who, sizeof(who), "%s %s", g->what, g->role[idx]);
	s.who = who;
	if (idx == PONGER)
		hx_close_fd(&g->report[1]);
	switch (rn->t) {
	case L_PIPE:
		/* The pinger writes ping[1] and reads pong[0]. */
		s.fd_out = idx == PINGER ? rn->ping[1] : rn->pong[1];
		s.fd_in = idx == PINGER ? rn->pong[0] : rn->ping[0];
		hx_close_fd(idx == PINGER ? &rn->ping[0] : &rn->ping[1]);
		hx_close_fd(idx == PINGER ? &rn->pong[1] : &rn->pong[0]);
		break;
	case L_SOCKETPAIR:
		s.fd_out = s.fd_in = rn->ping[idx];
		hx_close_fd(&rn->ping[1 - idx]);
		break;
	case L_MQ:
		s.mq_out = rn->mq[idx];
		s.mq_in = rn->mq[1 - idx];
		break;
	case L_NAIVE:
		s.n_out = (struct naive_dir *)(rn->nv + (size_t)idx * rn->nv_dir);
		s.n_in = (struct naive_dir *)(rn->nv + (size_t)(1 - idx) * rn->nv_dir);
		break;
	default:
		break;
	}
	rc = hx_pin(who, opt.hx.cpu[idx]);
	if (rc)
		return rc;
	alloc = (rn->size + 63) & ~(size_t)63;
	s.buf = aligned_alloc(64, alloc);
	if (!s.buf) {
		hx_msg("%s: buffer of %zu bytes: %s", who, alloc, strerror(errno));
		return EX_OSERR;
	}
	memset(s.buf, 0xa5, alloc);
	if (rn->t == L_RING_SPIN || rn->t == L_RING_SLEEP) {
		ret = sp_ring_open(ring_name[idx], 0, NULL, &s.out);
		if (ret == 0)
			ret = sp_ring_open(ring_name[1 - idx], 0, NULL, &s.in);
		if (ret < 0) {
			hx_msg("%s: sp_ring_open: %s", who, strerror(-ret));
			rc = EX_SOFTWARE;
			goto out;
		}
		if (rn->t == L_RING_SLEEP) {
			sp_ring_set_spin(s.out, 0);
			sp_ring_set_spin(s.in, 0);
		}
	}
	rc = hx_child_ready(g, who);
	if (rc == 0)
		rc = idx == PINGER ? pinger(&s, g) : ponger(&s);
out:
	if (s.out)
		sp_ring_close(s.out);
	if (s.in)
		sp_ring_close(s.in);
	free(s.buf);
	return rc;
}

static int run_end(struct run *rn)
{
	int rc = 0;

	hx_group_end(&rn->g);
	for (int i = 0; i < 2; i++) {
		int ret;

		hx_close_fd(&rn->ping[i]);
		hx_close_fd(&rn->pong[i]);
		if (rn->mq[i] != (mqd_t)-1) {
			mq_close(rn->mq[i]);
			rn->mq[i] = (mqd_t)-1;
		}
		ret = hx_remove(HX_RING, ring_name[i]);
		if (ret < 0) {
			hx_msg("%s: sp_ring_unlink %s: %s", rn->what, ring_name[i], strerror(-ret));
			rc = EX_SOFTWARE;
		}
	}
	if (rn->nv) {
		munmap(rn->nv, rn->nv_len);
		rn->nv = NULL;
	}
	if (rn->rtt) {
		munmap(rn->rtt, rn->rtt_len * sizeof(*rn->rtt));
		rn->rtt = NULL;
	}
	return rc;
}

static int run_setup(struct run *rn, char *why, size_t whylen)
{
	int ret;

	rn->rtt_len = (size_t)opt.max_rounds;
	rn->rtt = mmap(NULL, rn->rtt_len * sizeof(*rn->rtt), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rn->rtt == MAP_FAILED) {
		rn->rtt = NULL;
		hx_msg("%s: mmap: %s", rn->what, strerror(errno));
		return EX_OSERR;
	}
	/* Touched now, so that no page fault lands in a round trip. */
	memset(rn->rtt, 0, rn->rtt_len * sizeof(*rn->rtt));
	switch (rn->t) {
	case L_RING_SPIN:
	case L_RING_SLEEP:
		for (int i = 0; i < 2; i++) {
			struct sp_ring_opts ro = { .capacity = opt.capacity, .writers = 1 };
			size_t max;

			ret = hx_ring_make(ring_name[i], &ro, &max);
			if (ret < 0) {
				hx_msg("%s: sp_ring_open %s: %s", rn->what, ring_name[i], strerror(-ret));
				return EX_SOFTWARE;
			}
			if (max < rn->size) {
				hx_msg("%s: larger than the ring's largest record, %zu bytes (raise "
				       "--capacity)", rn->what, max);
				return EX_USAGE;
			}
		}
		break;
	case L_NAIVE:
		rn->nv_dir = (sizeof(struct naive_dir) + rn->size + 4095) & ~(size_t)4095;
		rn->nv_len = 2 * rn->nv_dir;
		rn->nv = mmap(NULL, rn->nv_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);
		if (rn->nv == MAP_FAILED) {
			rn->nv = NULL;
			hx_msg("%s: mmap: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		memset(rn->nv, 0, rn->nv_len);
		for (int i = 0; i < 2; i++)
			atomic_init(&((struct naive_dir *)(rn->nv + (size_t)i * rn->nv_dir))->seq, 0);
		break;
	case L_PIPE:
		if (pipe2(rn->ping, O_CLOEXEC) < 0 || pipe2(rn->pong, O_CLOEXEC) < 0) {
			hx_msg("%s: pipe2: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case L_SOCKETPAIR:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rn->ping) < 0) {
			hx_msg("%s: socketpair: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case L_MQ:
		for (int i = 0; i < 2; i++) {
			long depth;

			ret = hx_mq_make(mq_name[i], rn->size, 1, 0, &rn->mq[i], &depth, why, whylen);
			if (ret)
				return ret;
		}
		break;
	case L_COUNT:
		break;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted v[0..n), one way (half). */
static double pct(const uint32_t *v, uint64_t n, double p)
{
	uint64_t i = (uint64_t)ceil(p * (double)n);

	return (double)v[i > 0 ? i - 1 : 0] / 2;
}

struct sample {
	double rounds, p50, p99, p999, min, max;
};

static int run_once(enum transport t, struct sample *out, char *why, size_t whylen)
{
	struct run rn = {
		.t = t, .size = opt.size,
		.ping = { -1, -1 }, .pong = { -1, -1 }, .mq = { (mqd_t)-1, (mqd_t)-1 },
	};
	uint64_t stored = 0;
	char sz[24];
	int64_t t0;
	int rc, ret;

	snprintf(rn.what, sizeof(rn.what), "%s %s", tnames[t], hx_size_str(opt.size, sz, sizeof(sz)));
	rc = hx_group_init(&rn.g, rn.what, opt.hx.timeout);
	if (rc == 0)
		rc = run_setup(&rn, why, whylen);
	if (rc == 0)
		rc = hx_spawn(&rn.g, "pinger", child, &rn);
	if (rc == 0)
		rc = hx_spawn(&rn.g, "ponger", child, &rn);
	if (rc)
		goto out;
	for (int i = 0; i < 2; i++) {
		hx_close_fd(&rn.ping[i]);
		hx_close_fd(&rn.pong[i]);
	}
	rc = hx_start(&rn.g, &t0);
	if (rc == 0)
		rc = hx_await(&rn.g, rn.g.report[0], &stored, sizeof(stored), "the last round");
	if (rc == 0)
		rc = hx_await(&rn.g, -1, NULL, 0, "both sides to exit");
	if (rc)
		goto out;
	if (stored == 0 || stored > rn.rtt_len) {
		hx_msg("%s: the pinger reports %" PRIu64 " rounds", rn.what, stored);
		rc = EX_SOFTWARE;
		goto out;
	}
	qsort(rn.rtt, (size_t)stored, sizeof(rn.rtt[0]), cmp_u32);
	out->rounds = (double)stored;
	out->p50 = pct(rn.rtt, stored, 0.50);
	out->p99 = pct(rn.rtt, stored, 0.99);
	out->p999 = pct(rn.rtt, stored, 0.999);
	out->min = (double)rn.rtt[0] / 2;
	out->max = (double)rn.rtt[stored - 1] / 2;
out:
	ret = run_end(&rn);
	return rc ? rc : ret;
}

static int measure(enum transport t, struct result *res)
{
	struct sample s[HX_MAX_RUNS];
	double v[HX_MAX_RUNS];

	for (int i = 0; i < opt.hx.runs; i++) {
		int rc;

		hx_progress("%s: run %d of %d", tnames[t], i + 1, opt.hx.runs);
		rc = run_once(t, &s[i], res->why, sizeof(res->why));
		if (rc == HX_NA) {
			res->na = 1;
			return 0;
		}
		if (rc)
			return rc;
		if (opt.hx.verbose)
			hx_msg("%s: run %d: %.0f rounds, one way p50 %.0f ns, p99 %.0f ns, "
			       "p99.9 %.0f ns", tnames[t], i + 1, s[i].rounds, s[i].p50, s[i].p99,
			       s[i].p999);
	}
	hx_progress("%s", "");
	for (int i = 0; i < opt.hx.runs; i++) v[i] = s[i].rounds;
	res->rounds = hx_median(v, opt.hx.runs);
	for (int i = 0; i < opt.hx.runs; i++) v[i] = s[i].p50;
	res->p50 = hx_median(v, opt.hx.runs);
	for (int i = 0; i < opt.hx.runs; i++) v[i] = s[i].p99;
	res->p99 = hx_median(v, opt.hx.runs);
	for (int i = 0; i < opt.hx.runs; i++) v[i] = s[i].p999;
	res->p999 = hx_median(v, opt.hx.runs);
	res->min = s[0].min;
	res->max = s[0].max;
	for (int i = 1; i < opt.hx.runs; i++) {
		res->min = fmin(res->min, s[i].min);
		res->max = fmax(res->max, s[i].max);
	}
	res->done = 1;
	return 0;
}

/* What one clock read costs, in ns: each round trip includes one. */
static double clock_cost(void)
{
	const int n = 100000;
	int64_t t0 = prog_now_ns();

	for (int i = 0; i < n; i++)
		(void)prog_now_ns();
	return (double)(prog_now_ns() - t0) / n;
}

static int parse_transports(char *list)
{
	static const struct hx_alias aliases[] = {
		{ "all", (1u << L_COUNT) - 1 },
		{ "ring", 1u << L_RING_SPIN | 1u << L_RING_SLEEP },
		{ NULL, 0 },
	};

	return hx_parse_set(list, tnames, L_COUNT, aliases, &opt.transports);
}

static void usage(FILE *out, int status)
{
	fprintf(out,
"Usage: %s [options]\n"
"\n"
"Measures one-way latency (half a round trip) between two processes passing\n"
"one record back and forth: the ring with its default spin before sleeping\n"
"(ring-spin) and sleeping at once (ring-sleep, sp_ring_set_spin 0), a naive\n"
"spinning exchange, a pipe pair, a socketpair and two message queues.\n"
"Prints the medians over runs of p50, p99 and p99.9.\n"
"\n"
"Options:\n"
"  -t, --transports <list>  any of ring-spin, ring-sleep, naive, pipe,\n"
"                           socketpair, mq, ring, all (default all)\n"
"  -s, --size <bytes>       record size, at least 8 (default 64)\n"
"  -c, --capacity <bytes>   each ring's capacity (default 64K)\n"
"  -r, --runs <n>           runs per transport (default 3)\n"
"  -S, --seconds <s>        timed part of each run (default 0.5)\n"
"  -m, --max-rounds <n>     round trips stored per run (default 2000000)\n"
"      --cpus <a>,<b>       pin the pinger to CPU a, the ponger to CPU b\n"
"      --timeout <s>        fail a run that takes longer (default 60)\n"
"      --csv                also print one CSV line per result\n"
"  -v, --verbose            print every run's figures on stderr\n"
"  -q, --quiet              no progress and no header line\n"
"\n"
"  -h, --help               display this help and exit\n"
"  -V, --version            display version and exit\n", PROG);
	exit(status);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transports", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-rounds", required_argument, NULL, 'm' },
		HX_LONGOPTS,
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:s:c:r:S:m:vqhV", longopts, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case 't':
			if (parse_transports(optarg) < 0)
				hx_bad_option("--transports", optarg);
			break;
		case 's':
			if (prog_parse_bytes(optarg, &v) < 0 || v < 8 || v > (64u << 20))
				hx_bad_option("--size", optarg);
			opt.size = (size_t)v;
			break;
		case 'c':
			opt.capacity = hx_capacity_arg(optarg);
			break;
		case 'm':
			opt.max_rounds = hx_count_arg("--max-rounds", optarg, 1e9);
			break;
		default:
			hx_option(&opt.hx, c, argv, usage);
		}
	}
	hx_no_operands(argc, argv);
	if (opt.capacity / 4 < opt.size)
		hx_bad_usage("--capacity is less than 4 x the record size");
	hx.progress = !opt.hx.quiet && isatty(STDERR_FILENO);
}

int main(int argc, char **argv)
{
	static struct result res[L_COUNT];
	char sz[24];
	int rc = 0, ret;

	prog_name = PROG;
	parse_options(argc, argv);
	for (int i = 0; i < 2; i++) {
		snprintf(ring_name[i], sizeof(ring_name[i]), "lat-%ld.%s", (long)getpid(),
			 i ? "pong" : "ping");
		snprintf(mq_name[i], sizeof(mq_name[i]), "/%s-%ld.%s", PROG, (long)getpid(),
			 i ? "pong" : "ping");
	}
	ret = hx_setup_signals();
	if (ret < 0) {
		hx_msg("signals: %s", strerror(-ret));
		return EX_OSERR;
	}
	if (!opt.hx.quiet)
		printf("# %s: libshared %s, one-way = round trip / 2, one %zu B record in flight, "
		       "median of %d runs of ~%g s, clock read %.0f ns, %ld CPUs online\n", PROG,
		       sp_version_string(), opt.size, opt.hx.runs, opt.hx.seconds, clock_cost(),
		       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-11s %8s %10s %9s %9s %9s %9s %10s\n", "transport", "size", "rounds", "p50 us",
	       "p99 us", "p99.9 us", "min us", "max us");
	for (int t = 0; t < L_COUNT && !rc; t++) {
		struct result *r = &res[t];

		if (!(opt.transports & 1u << t))
			continue;
		rc = measure((enum transport)t, r);
		if (rc)
			break;
		if (r->na)
			printf("%-11s %8s   n/a: %s\n", tnames[t], hx_size_str(opt.size, sz, sizeof(sz)),
			       r->why);
		else
			printf("%-11s %8s %10.0f %9.3f %9.3f %9.3f %9.3f %10.3f\n", tnames[t],
			       hx_size_str(opt.size, sz, sizeof(sz)), r->rounds, r->p50 / 1e3,
			       r->p99 / 1e3, r->p999 / 1e3, r->min / 1e3, r->max / 1e3);
		fflush(stdout);
	}
	if (!rc && opt.hx.csv) {
		printf("\ncsv,columns,lat,transport,size,rounds,runs,p50_ns,p99_ns,p999_ns,min_ns,"
		       "max_ns\n");
		for (int t = 0; t < L_COUNT; t++) {
			const struct result *r = &res[t];

			if (r->na)
				printf("csv,na,lat,%s,%zu,%s\n", tnames[t], opt.size, r->why);
			if (r->done)
				printf("csv,lat,%s,%zu,%.0f,%d,%.0f,%.0f,%.0f,%.0f,%.0f\n", tnames[t],
				       opt.size, r->rounds, opt.hx.runs, r->p50, r->p99, r->p999, r->min,
				       r->max);
		}
	}
	return hx_finish(rc);
}
