/* ring_bench.c: times one producer and one consumer process moving fixed-size records through the ring, a pipe, a socketpair and a naive spinning ring. */
#include <shared/ring.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PROG "ring_bench"

/*
 * Process layout of one run.  The parent creates the transport (for the
 * ring: creates it by name and closes its own handle again), then forks a
 * producer and a consumer.  Each child attaches on its own (the ring by name,
 * with sp_ring_open), allocates and touches its buffer, writes one byte to
 * the "ready" pipe and blocks reading the "go" pipe.  Once both bytes are in,
 * the parent reads CLOCK_MONOTONIC and closes the write end of "go": both
 * children see end-of-file at once.  The consumer reads the clock again
 * after verifying its last record and sends that time to the parent on the
 * "report" pipe, so a run's time covers the start gun's wake-up, every
 * record's transfer and the consumer's checks, and none of the set-up.
 *
 * The parent never sleeps to synchronise: it waits in ppoll() with its
 * signals unblocked, so a child that dies, a time-out, or SIGINT/SIGTERM/
 * SIGHUP wakes it.  It then kills the children, unlinks the ring and, for a
 * signal, dies of the same signal.
 */

/* How long a consumer waits, after its last record, for the proof that no
 * record follows (the ring sealed, the pipe closed).  Not timed. */
#define AFTER_LAST_NS (5LL * 1000000000LL)

/* The naive ring's header takes the first page; the slots follow. */
#define NAIVE_HDR 4096

#define MAX_SIZES 16
#define MAX_RUNS 101
#define PRODUCER 0
#define CONSUMER 1

/* Returned instead of an exit code when a signal asked us to stop. */
#define STOPPED (-1)

enum transport { T_RING, T_RING_ZC, T_NAIVE, T_NAIVE_ZC, T_PIPE, T_SOCKETPAIR, T_COUNT };

static const char *const tnames[T_COUNT] = {
	"ring-copy", "ring-zc", "naive-copy", "naive-zc", "pipe", "socketpair",
};

struct opts {
	size_t sizes[MAX_SIZES];
	int nsizes;
	unsigned transports;     /* bit (1u << T_x) per transport measured */
	uint64_t capacity;       /* ring and naive ring, data bytes */
	int runs;                /* timed runs per measurement */
	double seconds;          /* target duration of one timed run */
	double scale;            /* multiplies the work of every run */
	uint64_t count;          /* records per run; 0: calibrate to seconds */
	double timeout;          /* seconds a run may take before it fails */
	int cpu[2];              /* CPU of the producer, of the consumer; -1: any */
	int csv, verbose, quiet, progress;
};

static struct opts opt = {
	.capacity = SP_RING_DEFAULT_CAPACITY,
	.runs = 3,
	.seconds = 0.5,
	.scale = 1.0,
	.timeout = 60.0,
	.cpu = { -1, -1 },
};

/* One measurement: the median run, and the fastest and slowest. */
struct result {
	int done;
	uint64_t count;          /* records per run */
	double secs;             /* median seconds */
	double fast, slow;       /* msg/s of the fastest and slowest run */
};

/*
 * The naive ring: one producer, one consumer, fixed-size slots, spinning,
 * over an anonymous shared mapping inherited across fork().  It has none of
 * the real ring's crash safety, blocking, sealing or variable-length
 * records; that is what makes it a ceiling.  Slot i is slots[i & mask].
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
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	       "64-bit atomics are lock-free, so they work between processes");

/* Everything one run needs; the children get a copy by fork(). */
struct run {
	enum transport t;
	size_t size;
	uint64_t count;
	char what[48];           /* "ring-copy 64 B", to prefix messages */
	int fd[2];               /* pipe, socketpair: [0] the consumer's, [1] the producer's */
	int ready[2];            /* each child writes one byte once set up */
	int go[2];               /* the parent closes go[1]: the start gun */
	int report[2];           /* the consumer sends a struct report */
	struct naive *nv;
	size_t nv_len;
	uint64_t nv_slots;       /* a power of two */
	pid_t kid[2];            /* producer, consumer; 0: not running */
};

/* What the consumer tells the parent after its last record. */
struct report {
	int64_t t_end;           /* CLOCK_MONOTONIC ns, the last record checked */
	uint64_t received;
};

static char ring_name[32];       /* "bench-PID", one name reused run after run */
static int ring_made;            /* ring_name exists and is ours to unlink */
static pid_t parent_pid;
static volatile sig_atomic_t stop_sig;
static sigset_t orig_mask;       /* the mask we started with; children get it back */
static sigset_t wait_mask;       /* the parent's mask inside ppoll() */
static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
static struct sigaction orig_act[sizeof(handled) / sizeof(handled[0])]; /* for children */

__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	/* On a terminal, first wipe the progress line this would run into. */
	int n = snprintf(line, sizeof(line), "%s%s: ", opt.progress ? "\r\033[K" : "", PROG);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write, so the lines of two children do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to complain. */
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *size_str(size_t n, char *buf, size_t len)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n >> 10);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);      /* never retried: the fd is gone either way */
	*fd = -1;
}

/* Writes all of buf.  Returns 0 or -errno. */
static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes, fewer only at end of file.  Returns the count or
 * -errno.  This is how a byte stream keeps fixed-size message boundaries. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Every record carries its sequence number (counting from 1) in its first 8
 * bytes and, when it has 16 or more, the complement in its last 8.  A lost,
 * repeated, reordered or torn record fails the check, and zeroed memory
 * never passes.  The payload between is not generated or compared: the copy
 * transports still move every byte of it.
 */
static inline void stamp(unsigned char *p, size_t size, uint64_t seq)
{
	memcpy(p, &seq, 8);
	if (size >= 16) {
		uint64_t inv = ~seq;

		memcpy(p + size - 8, &inv, 8);
	}
}

static int bad_record(const char *who, const unsigned char *p, size_t size, uint64_t seq)
{
	uint64_t head, tail;

	memcpy(&head, p, 8);
	if (head != seq) {
		msg("%s: record %" PRIu64 ": sequence number %" PRIu64 ", expected %" PRIu64,
		    who, seq, head, seq);
	} else {
		memcpy(&tail, p + size - 8, 8);
		msg("%s: record %" PRIu64 ": torn, its last 8 bytes are %#" PRIx64
		    ", expected %#" PRIx64, who, seq, tail, ~seq);
	}
	return EX_DATAERR;
}

static inline int check(const char *who, const unsigned char *p, size_t size, uint64_t seq)
{
	uint64_t head, tail = ~seq;

	memcpy(&head, p, 8);
	if (size >= 16)
		memcpy(&tail, p + size - 8, 8);
	if (head == seq && tail == ~seq)
		return 0;
	return bad_record(who, p, size, seq);
}

static int ring_fail(const char *who, const char *call, int ret)
{
	msg("%s: %s: %s", who, call, strerror(-ret));
	return EX_SOFTWARE;
}

/* The ring, copying: sp_ring_put() from a buffer, sp_ring_get() into one. */
static int ring_put_loop(const char *who, sp_ring *r, unsigned char *buf, size_t size,
			 uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret;

		stamp(buf, size, seq);
		ret = sp_ring_put(r, buf, size, SP_FOREVER);
		if (ret < 0)
			return ring_fail(who, "sp_ring_put", ret);
	}
	return 0;
}

static int ring_get_loop(const char *who, sp_ring *r, unsigned char *buf, size_t size,
			 uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		ssize_t got = sp_ring_get(r, buf, size, SP_FOREVER);

		if (got < 0)
			return ring_fail(who, "sp_ring_get", (int)got);
		if ((size_t)got != size) {
			msg("%s: record %" PRIu64 ": %zd bytes, expected %zu", who, seq, got, size);
			return EX_DATAERR;
		}
		if (check(who, buf, size, seq))
			return EX_DATAERR;
	}
	return 0;
}

/* The ring, zero-copy: the producer writes its stamps straight into the
 * reserved record and the consumer checks them where they lie. */
static int ring_reserve_loop(const char *who, sp_ring *r, size_t size, uint64_t n)
{
	struct sp_msg m = { 0 };

	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret = sp_ring_reserve(r, size, &m, SP_FOREVER);

		if (ret < 0)
			return ring_fail(who, "sp_ring_reserve", ret);
		if (!m.data || m.len < size) {
			msg("%s: sp_ring_reserve: gave %zu bytes, asked for %zu", who, m.len, size);
			return EX_SOFTWARE;
		}
		stamp(m.data, size, seq);
		ret = sp_ring_commit(r, &m, size);
		if (ret < 0)
			return ring_fail(who, "sp_ring_commit", ret);
	}
	return 0;
}

static int ring_peek_loop(const char *who, sp_ring *r, size_t size, uint64_t n)
{
	struct sp_msg m = { 0 };

	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret = sp_ring_peek(r, &m, SP_FOREVER);

		if (ret < 0)
			return ring_fail(who, "sp_ring_peek", ret);
		if (m.len != size) {
			msg("%s: record %" PRIu64 ": %zu bytes, expected %zu", who, seq, m.len, size);
			return EX_DATAERR;
		}
		if (check(who, m.data, size, seq))
			return EX_DATAERR;
		ret = sp_ring_release(r, &m);
		if (ret < 0)
			return ring_fail(who, "sp_ring_release", ret);
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
		msg("%s: a record after the last one", who);
		return EX_DATAERR;
	}
	msg("%s: after the last record: %s: %s (expected the ring sealed and drained)",
	    who, zc ? "sp_ring_peek" : "sp_ring_get", strerror((int)-ret));
	return EX_SOFTWARE;
}

/* Pipe and socketpair: one write() of the record, read_full() of exactly
 * size bytes. */
static int fd_write_loop(const char *who, int fd, unsigned char *buf, size_t size, uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		int ret;

		stamp(buf, size, seq);
		ret = write_full(fd, buf, size);
		if (ret < 0) {
			msg("%s: write: %s", who, strerror(-ret));
			return EX_OSERR;
		}
	}
	return 0;
}

static int fd_read_loop(const char *who, int fd, unsigned char *buf, size_t size, uint64_t n)
{
	for (uint64_t seq = 1; seq <= n; seq++) {
		ssize_t got = read_full(fd, buf, size);

		if (got < 0) {
			msg("%s: read: %s", who, strerror((int)-got));
			return EX_OSERR;
		}
		if ((size_t)got != size) {
			msg("%s: end of file in record %" PRIu64 " of %" PRIu64, who, seq, n);
			return EX_DATAERR;
		}
		if (check(who, buf, size, seq))
			return EX_DATAERR;
	}
	return 0;
}

static int fd_after_last(const char *who, int fd)
{
	char c;
	ssize_t got = read_full(fd, &c, 1);

	if (got == 0)
		return 0;
	if (got > 0) {
		msg("%s: data after the last record", who);
		return EX_DATAERR;
	}
	msg("%s: read after the last record: %s", who, strerror((int)-got));
	return EX_OSERR;
}

/* Loads and stores of the naive ring's counters.  Each use says what it
 * orders against. */
static inline uint64_t load_acquire(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void store_release(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Spinning with a yield now and then: on a machine with fewer free CPUs
 * than spinners, a pure spin would wait out whole time slices. */
static inline void spin(unsigned *spins)
{
	if ((++*spins & 4095) == 0)
		sched_yield();
	else
		cpu_relax();
}

static int naive_produce(struct run *rn, int zc, unsigned char *buf)
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
			head = load_acquire(&nv->head);
			if (tail - head >= nslots)
				spin(&spins);
		}
		slot = slots + (tail & mask) * size;
		if (zc) {
			stamp(slot, size, seq);
		} else {
			stamp(buf, size, seq);
			memcpy(slot, buf, size);
		}
		/* Release: the slot's bytes are visible before the consumer
		 * can see the new tail. */
		store_release(&nv->tail, ++tail);
	}
	return 0;
}

static int naive_consume(const char *who, struct run *rn, int zc, unsigned char *buf)
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
			tail = load_acquire(&nv->tail);
			if (head == tail)
				spin(&spins);
		}
		slot = slots + (head & mask) * size;
		if (zc) {
			if (check(who, slot, size, seq))
				return EX_DATAERR;
		} else {
			memcpy(buf, slot, size);
			if (check(who, buf, size, seq))
				return EX_DATAERR;
		}
		/* Release: our reads of the slot are done before the producer
		 * may reuse it. */
		store_release(&nv->head, ++head);
	}
	return 0;
}

static int naive_after_last(const char *who, struct run *rn)
{
	uint64_t tail = load_acquire(&rn->nv->tail);

	if (tail == rn->count)
		return 0;
	msg("%s: the producer published %" PRIu64 " records, expected %" PRIu64,
	    who, tail, rn->count);
	return EX_DATAERR;
}

/* The body of a child: attach, report ready, wait for the gun, move the
 * records.  Returns its exit status. */
static int child(struct run *rn, int role)
{
	static const char *const sides[2] = { "producer", "consumer" };
	const int zc = rn->t == T_RING_ZC || rn->t == T_NAIVE_ZC;
	unsigned char *buf = NULL;
	sp_ring *r = NULL;
	struct report rep = { 0 };
	char who[80], c;
	size_t alloc;
	ssize_t n;
	int rc = 0, ret;

	snprintf(who, sizeof(who), "%s %s", rn->what, sides[role]);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &orig_act[i], NULL);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	/* Die with the parent, so that nothing is left spinning if it is
	 * killed; it may have died before this took effect. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent_pid)
		return EX_OSERR;

	close_fd(&rn->ready[0]);
	close_fd(&rn->go[1]);
	close_fd(&rn->report[0]);
	if (role == PRODUCER)
		close_fd(&rn->report[1]);
	close_fd(&rn->fd[role == PRODUCER ? 0 : 1]);

	if (opt.cpu[role] >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(opt.cpu[role], &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			msg("%s: CPU %d: %s", who, opt.cpu[role], strerror(errno));
			return EX_OSERR;
		}
	}

	/* A cache-line aligned buffer, touched now so that no page fault
	 * lands in the timed part. */
	alloc = (rn->size + 63) & ~(size_t)63;
	buf = aligned_alloc(64, alloc);
	if (!buf) {
		msg("%s: buffer of %zu bytes: %s", who, alloc, strerror(errno));
		return EX_OSERR;
	}
	memset(buf, 0xa5, alloc);

	if (rn->t == T_RING || rn->t == T_RING_ZC) {
		ret = sp_ring_open(ring_name, 0, NULL, &r);
		if (ret < 0) {
			msg("%s: sp_ring_open %s: %s", who, ring_name, strerror(-ret));
			free(buf);
			return EX_SOFTWARE;
		}
	}

	/* Ready; then the start gun is end-of-file on go[0]. */
	ret = write_full(rn->ready[1], "", 1);
	close_fd(&rn->ready[1]);
	if (ret < 0) {
		msg("%s: ready pipe: %s", who, strerror(-ret));
		rc = EX_OSERR;
		goto out;
	}
	while ((n = read(rn->go[0], &c, 1)) < 0 && errno == EINTR)
		;
	close_fd(&rn->go[0]);
	if (n != 0) {
		msg("%s: start pipe: %s", who, n < 0 ? strerror(errno) : "unexpected data");
		rc = EX_OSERR;
		goto out;
	}

	switch (rn->t) {
	case T_RING:
	case T_RING_ZC:
		if (role == PRODUCER) {
			rc = zc ? ring_reserve_loop(who, r, rn->size, rn->count)
				: ring_put_loop(who, r, buf, rn->size, rn->count);
			if (rc == 0 && (ret = sp_ring_seal(r)) < 0)
				rc = ring_fail(who, "sp_ring_seal", ret);
		} else {
			rc = zc ? ring_peek_loop(who, r, rn->size, rn->count)
				: ring_get_loop(who, r, buf, rn->size, rn->count);
			rep.t_end = now_ns();
			if (rc == 0)
				rc = ring_after_last(who, r, zc, buf, rn->size);
		}
		break;
	case T_NAIVE:
	case T_NAIVE_ZC:
		if (role == PRODUCER) {
			rc = naive_produce(rn, zc, buf);
		} else {
			rc = naive_consume(who, rn, zc, buf);
			rep.t_end = now_ns();
			if (rc == 0)
				rc = naive_after_last(who, rn);
		}
		break;
	case T_PIPE:
	case T_SOCKETPAIR:
		if (role == PRODUCER) {
			rc = fd_write_loop(who, rn->fd[1], buf, rn->size, rn->count);
			close_fd(&rn->fd[1]);     /* the consumer's end-of-file */
		} else {
			rc = fd_read_loop(who, rn->fd[0], buf, rn->size, rn->count);
			rep.t_end = now_ns();
			if (rc == 0)
				rc = fd_after_last(who, rn->fd[0]);
		}
		break;
	case T_COUNT:
		break;
	}

	if (rc == 0 && role == CONSUMER) {
		rep.received = rn->count;
		ret = write_full(rn->report[1], &rep, sizeof(rep));
		if (ret < 0) {
			msg("%s: report pipe: %s", who, strerror(-ret));
			rc = EX_OSERR;
		}
	}
out:
	if (r)
		sp_ring_close(r);
	free(buf);
	return rc;
}

static void on_signal(int sig)
{
	/* SIGCHLD only needs to interrupt ppoll(). */
	if (sig != SIGCHLD)
		stop_sig = sig;
}

/* Blocks the handled signals everywhere but inside ppoll(), so that none
 * can arrive between a check and the wait (the classic lost wake-up). */
static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	/* No SA_RESTART: the signals are only ever let in during ppoll().  A
	 * signal ignored at start (nohup, a background job) stays ignored. */
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		if (sigaction(handled[i], NULL, &orig_act[i]) < 0)
			return -errno;
		if (handled[i] != SIGCHLD && orig_act[i].sa_handler == SIG_IGN)
			continue;
		sigaddset(&block, handled[i]);
		if (sigaction(handled[i], &sa, NULL) < 0)
			return -errno;
	}
	/* A writer whose reader died gets EPIPE, not a silent death. */
	if (sigaction(SIGPIPE, &ign, NULL) < 0)
		return -errno;
	if (sigprocmask(SIG_BLOCK, &block, &orig_mask) < 0)
		return -errno;
	wait_mask = orig_mask;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigdelset(&wait_mask, handled[i]);
	return 0;
}

/* Reaps the children that have exited.  Returns 0, or an exit status if one
 * failed; a failed child has said why on stderr, a killed one is named. */
static int reap(struct run *rn)
{
	static const char *const sides[2] = { "producer", "consumer" };

	for (int i = 0; i < 2; i++) {
		int st;
		pid_t p;

		if (rn->kid[i] <= 0)
			continue;
		while ((p = waitpid(rn->kid[i], &st, WNOHANG)) < 0 && errno == EINTR)
			;
		if (p == 0)
			continue;
		if (p < 0) {
			msg("%s %s: waitpid: %s", rn->what, sides[i], strerror(errno));
			rn->kid[i] = 0;
			return EX_OSERR;
		}
		rn->kid[i] = 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		msg("%s %s: killed by signal %d (%s)", rn->what, sides[i], WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
		return EX_SOFTWARE;
	}
	return 0;
}

/* Waits until len bytes from fd are in buf (fd >= 0) or until both children
 * have exited (fd < 0), at most until deadline.  Returns 0, STOPPED, or an
 * exit status. */
static int await(struct run *rn, int fd, void *buf, size_t len, int64_t deadline,
		 const char *what)
{
	size_t got = 0;
	int eof = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec ts;
		int64_t left;
		ssize_t n;
		int rc;

		if (stop_sig)
			return STOPPED;
		rc = reap(rn);
		if (rc)
			return rc;
		if (fd >= 0 ? got == len : (rn->kid[0] <= 0 && rn->kid[1] <= 0))
			return 0;
		if (eof && rn->kid[0] <= 0 && rn->kid[1] <= 0) {
			msg("%s: both sides exited before %s", rn->what, what);
			return EX_SOFTWARE;
		}
		left = deadline - now_ns();
		if (left <= 0) {
			msg("%s: timed out after %g s waiting for %s (see --timeout)",
			    rn->what, opt.timeout, what);
			return EX_SOFTWARE;
		}
		ts.tv_sec = (time_t)(left / 1000000000);
		ts.tv_nsec = (long)(left % 1000000000);
		n = ppoll(&p, fd >= 0 && !eof ? 1 : 0, &ts, &wait_mask);
		if (n < 0 && errno != EINTR) {
			msg("%s: ppoll: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		if (n <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			eof = 1;   /* the writers are gone; reap() will say why */
		else if (errno != EINTR) {
			msg("%s: read: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
	}
}

/* Kills what still runs and removes what the run made.  Safe to call at any
 * point of a run.  Returns 0, or an exit status if the ring would not go. */
static int run_end(struct run *rn)
{
	int rc = 0;

	/* The children die before go[1] closes: closing it fires the gun. */
	for (int i = 0; i < 2; i++) {
		if (rn->kid[i] > 0) {
			kill(rn->kid[i], SIGKILL);
			while (waitpid(rn->kid[i], NULL, 0) < 0 && errno == EINTR)
				;
			rn->kid[i] = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&rn->fd[i]);
		close_fd(&rn->ready[i]);
		close_fd(&rn->go[i]);
		close_fd(&rn->report[i]);
	}
	if (rn->nv) {
		munmap(rn->nv, rn->nv_len);
		rn->nv = NULL;
	}
	if (ring_made) {
		int ret = sp_ring_unlink(ring_name);

		ring_made = 0;
		if (ret < 0) {
			msg("%s: sp_ring_unlink %s: %s", rn->what, ring_name, strerror(-ret));
			rc = EX_SOFTWARE;
		}
	}
	return rc;
}

/* Makes the transport and the three control pipes.  Returns 0 or an exit
 * status. */
static int run_setup(struct run *rn)
{
	int ret;

	switch (rn->t) {
	case T_RING:
	case T_RING_ZC: {
		struct sp_ring_opts ro = { .capacity = opt.capacity, .writers = 1 };
		sp_ring *r;
		size_t max;

		ret = sp_ring_open(ring_name, SP_CREATE | SP_EXCL, &ro, &r);
		if (ret == -EEXIST) {
			/* Left by an earlier process that had our pid and was
			 * killed: it cannot be anyone else's. */
			sp_ring_unlink(ring_name);
			ret = sp_ring_open(ring_name, SP_CREATE | SP_EXCL, &ro, &r);
		}
		if (ret < 0) {
			msg("%s: sp_ring_open %s: %s", rn->what, ring_name, strerror(-ret));
			return EX_SOFTWARE;
		}
		ring_made = 1;
		max = sp_ring_max_record(r);
		/* The children attach by name; the parent keeps no handle, so
		 * none of its descriptors or locks is inherited. */
		sp_ring_close(r);
		if (max < rn->size) {
			msg("%s: larger than the ring's largest record, %zu bytes (raise --capacity)",
			    rn->what, max);
			return EX_USAGE;
		}
		break;
	}
	case T_NAIVE:
	case T_NAIVE_ZC: {
		uint64_t slots = 1;

		while (slots * 2 <= opt.capacity / rn->size)
			slots *= 2;
		rn->nv_slots = slots;
		rn->nv_len = NAIVE_HDR + (size_t)slots * rn->size;
		rn->nv = mmap(NULL, rn->nv_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);
		if (rn->nv == MAP_FAILED) {
			rn->nv = NULL;
			msg("%s: mmap %zu bytes: %s", rn->what, rn->nv_len, strerror(errno));
			return EX_OSERR;
		}
		/* Populate the pages now, as the ring's creation does. */
		memset(rn->nv, 0, rn->nv_len);
		atomic_init(&rn->nv->head, 0);
		atomic_init(&rn->nv->tail, 0);
		break;
	}
	case T_PIPE:
		if (pipe2(rn->fd, O_CLOEXEC) < 0) {
			msg("%s: pipe2: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case T_SOCKETPAIR:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rn->fd) < 0) {
			msg("%s: socketpair: %s", rn->what, strerror(errno));
			return EX_OSERR;
		}
		break;
	case T_COUNT:
		break;
	}
	if (pipe2(rn->ready, O_CLOEXEC) < 0 || pipe2(rn->go, O_CLOEXEC) < 0 ||
	    pipe2(rn->report, O_CLOEXEC) < 0) {
		msg("%s: pipe2: %s", rn->what, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/* One timed run of count records.  Stores its seconds in *secs.  Returns 0,
 * STOPPED, or an exit status. */
static int run_once(enum transport t, size_t size, uint64_t count, double *secs)
{
	struct run rn = {
		.t = t, .size = size, .count = count,
		.fd = { -1, -1 }, .ready = { -1, -1 }, .go = { -1, -1 }, .report = { -1, -1 },
	};
	const int64_t limit = (int64_t)(opt.timeout * 1e9);
	struct report rep;
	char ready[2], sz[24];
	int64_t t0;
	int rc, ret;

	snprintf(rn.what, sizeof(rn.what), "%s %s", tnames[t], size_str(size, sz, sizeof(sz)));
	rc = run_setup(&rn);
	if (rc)
		goto out;
	fflush(NULL);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			msg("%s: fork: %s", rn.what, strerror(errno));
			rc = EX_OSERR;
			goto out;
		}
		if (pid == 0)
			_exit(child(&rn, i));
		rn.kid[i] = pid;
	}
	close_fd(&rn.ready[1]);
	close_fd(&rn.go[0]);
	close_fd(&rn.report[1]);
	close_fd(&rn.fd[0]);
	close_fd(&rn.fd[1]);

	rc = await(&rn, rn.ready[0], ready, sizeof(ready), now_ns() + limit,
		   "both sides to be ready");
	if (rc)
		goto out;
	t0 = now_ns();
	close_fd(&rn.go[1]);
	rc = await(&rn, rn.report[0], &rep, sizeof(rep), t0 + limit, "the last record");
	if (rc)
		goto out;
	rc = await(&rn, -1, NULL, 0, now_ns() + limit, "both sides to exit");
	if (rc)
		goto out;
	if (rep.received != count || rep.t_end < t0) {
		msg("%s: the consumer reports %" PRIu64 " records, expected %" PRIu64,
		    rn.what, rep.received, count);
		rc = EX_DATAERR;
		goto out;
	}
	*secs = (double)(rep.t_end - t0) / 1e9;
out:
	ret = run_end(&rn);
	return rc ? rc : ret;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	if (!opt.progress)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Finds a count of records that takes about --seconds: short runs, growing
 * until one lasts a tenth of that, then a linear extrapolation.  These runs
 * double as the warm-up. */
static int calibrate(enum transport t, size_t size, const char *what, uint64_t *count)
{
	const double target = opt.seconds * opt.scale;
	const double probe = target / 10;
	double n = (double)((1u << 20) / size), secs = 0;

	if (n < 16)
		n = 16;
	for (int i = 0; i < 30; i++) {
		int rc;

		progress("%s: calibrating with %.0f records", what, n);
		rc = run_once(t, size, (uint64_t)n, &secs);
		if (rc)
			return rc;
		if (opt.verbose)
			msg("%s: calibration: %.0f records in %.6f s", what, n, secs);
		if (secs >= probe || n >= 1e12)
			break;
		n *= secs > 0 && probe * 1.5 / secs < 100 ? fmax(2, probe * 1.5 / secs) : 100;
	}
	n = secs > 0 ? n * target / secs : n;
	*count = n < 1 ? 1 : n > 1e12 ? (uint64_t)1e12 : (uint64_t)n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int measure(enum transport t, size_t size, struct result *res)
{
	double times[MAX_RUNS];
	char what[48], sz[24];
	uint64_t count;
	int rc;

	snprintf(what, sizeof(what), "%s %s", tnames[t], size_str(size, sz, sizeof(sz)));
	if (opt.count) {
		double n = round((double)opt.count * opt.scale);

		count = n < 1 ? 1 : (uint64_t)n;
	} else {
		rc = calibrate(t, size, what, &count);
		if (rc)
			return rc;
	}
	for (int i = 0, again = !opt.count; i < opt.runs; i++) {
		const double target = opt.seconds * opt.scale;

		progress("%s: run %d of %d, %" PRIu64 " records", what, i + 1, opt.runs, count);
		rc = run_once(t, size, count, &times[i]);
		if (rc)
			return rc;
		if (opt.verbose)
			msg("%s: run %d: %" PRIu64 " records in %.6f s, %.0f msg/s", what, i + 1,
			    count, times[i], (double)count / times[i]);
		/* A calibration disturbed by noise is off by more than a factor
		 * of two: count the first run as warm-up, rescale, start again. */
		if (again && i == 0 && times[0] > 0 &&
		    (times[0] < target / 2 || times[0] > target * 2)) {
			double n = (double)count * target / times[0];

			count = n < 1 ? 1 : (uint64_t)n;
			again = 0;
			i = -1;
		}
	}
	progress("%s", "");
	qsort(times, (size_t)opt.runs, sizeof(times[0]), cmp_double);
	res->done = 1;
	res->count = count;
	res->secs = opt.runs % 2 ? times[opt.runs / 2]
				 : (times[opt.runs / 2 - 1] + times[opt.runs / 2]) / 2;
	res->fast = (double)count / times[0];
	res->slow = (double)count / times[opt.runs - 1];
	return 0;
}

static double rate(const struct result *r)
{
	return r->done && r->secs > 0 ? (double)r->count / r->secs : 0;
}

static void print_row(enum transport t, size_t size, const struct result *r)
{
	char sz[24];
	double mps = rate(r);

	printf("%-11s %8s %12" PRIu64 " %9.4f %14.0f %9.3f %7.1f%%\n", tnames[t],
	       size_str(size, sz, sizeof(sz)), r->count, r->secs, mps,
	       mps * (double)size / 1e9, mps > 0 ? 100 * (r->fast - r->slow) / mps : 0.0);
	fflush(stdout);
}

static void print_ratio(const struct result *res, enum transport ring, enum transport naive,
			size_t size)
{
	static const enum transport vs[2] = { T_PIPE, T_SOCKETPAIR };
	char sz[24], cell[3][16];
	const double mine = rate(&res[ring]);

	if (!res[ring].done)
		return;
	for (int i = 0; i < 3; i++) {
		double other = rate(&res[i < 2 ? vs[i] : naive]);

		if (other > 0)
			snprintf(cell[i], sizeof(cell[i]), "%.2fx", mine / other);
		else
			snprintf(cell[i], sizeof(cell[i]), "-");
	}
	printf("%-11s %8s %9s %14s %9s\n", tnames[ring], size_str(size, sz, sizeof(sz)),
	       cell[0], cell[1], cell[2]);
}

static void print_csv(const struct result *res, size_t size)
{
	for (int t = 0; t < T_COUNT; t++) {
		const struct result *r = &res[t];
		double mps = rate(r);

		if (!r->done)
			continue;
		printf("csv,%s,%zu,%" PRIu64 ",%d,%.6f,%.0f,%.4f,%.0f,%.0f\n", tnames[t], size,
		       r->count, opt.runs, r->secs, mps, mps * (double)size / 1e9, r->slow,
		       r->fast);
	}
}

/* Parses "64", "64K", "64KiB", "1M".  Returns 0 or -1. */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	else if (!shift && strcmp(end, "B") == 0)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out > 0) || !isfinite(*out) ? -1 : 0;
}

static int parse_sizes(char *list)
{
	char *save = NULL;

	opt.nsizes = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (opt.nsizes == MAX_SIZES || parse_bytes(tok, &v) < 0 || v < 8 || v > SIZE_MAX)
			return -1;
		opt.sizes[opt.nsizes++] = (size_t)v;
	}
	return opt.nsizes ? 0 : -1;
}

static int parse_transports(char *list)
{
	char *save = NULL;

	opt.transports = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned bits = 0;

		if (strcmp(tok, "all") == 0)
			bits = (1u << T_COUNT) - 1;
		else if (strcmp(tok, "ring") == 0)
			bits = 1u << T_RING | 1u << T_RING_ZC;
		else if (strcmp(tok, "naive") == 0)
			bits = 1u << T_NAIVE | 1u << T_NAIVE_ZC;
		for (int t = 0; t < T_COUNT; t++)
			if (strcmp(tok, tnames[t]) == 0)
				bits = 1u << t;
		if (!bits)
			return -1;
		opt.transports |= bits;
	}
	return opt.transports ? 0 : -1;
}

static void usage(FILE *out, int status)
{
	fprintf(out,
"Usage: %s [options]\n"
"\n"
"Times one producer and one consumer process moving fixed-size records\n"
"through the shared ring (copying and zero-copy), a naive spinning ring,\n"
"a pipe and a Unix socketpair; prints the median of several runs.\n"
"\n"
"Options:\n"
"  -s, --sizes <list>       record sizes, at least 8 bytes (default 64,64K);\n"
"                           suffixes K, M, G\n"
"  -t, --transports <list>  any of ring-copy, ring-zc, naive-copy, naive-zc,\n"
"                           pipe, socketpair, ring, naive, all (default all)\n"
"  -c, --capacity <bytes>   ring capacity, a power of two at least 4 times\n"
"                           every size (default 4M)\n"
"  -r, --runs <n>           timed runs per measurement (default 3)\n"
"  -S, --seconds <s>        target length of one run (default 0.5)\n"
"  -x, --scale <f>          multiply the work of every run by f (default 1)\n"
"  -n, --count <n>          records per run, instead of calibrating to time\n"
"      --cpus <p>,<c>       pin the producer to CPU p, the consumer to CPU c\n"
"      --timeout <s>        fail a run that takes longer (default 60)\n"
"      --csv                also print one CSV line per result\n"
"  -v, --verbose            print every run's time on stderr\n"
"  -q, --quiet              no progress and no header line\n"
"\n"
"  -h, --help               display this help and exit\n"
"  -V, --version            display version and exit\n", PROG);
	exit(status);
}

static void bad_option(const char *name, const char *value)
{
	fprintf(stderr, "%s: %s: invalid value '%s'\n", PROG, name, value);
	fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
	exit(EX_USAGE);
}

static void parse_options(int argc, char **argv)
{
	enum { OPT_CPUS = 256, OPT_TIMEOUT, OPT_CSV };
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "transports", required_argument, NULL, 't' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "scale", required_argument, NULL, 'x' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char def_sizes[] = "64,64K";
	int c;

	opterr = 0;   /* our own messages, in our own format */
	opt.transports = (1u << T_COUNT) - 1;
	parse_sizes(def_sizes);
	while ((c = getopt_long(argc, argv, "s:t:c:r:S:x:n:vqhV", longopts, NULL)) != -1) {
		uint64_t v;
		double d;
		char *end;

		switch (c) {
		case 's':
			if (parse_sizes(optarg) < 0)
				bad_option("--sizes", optarg);
			break;
		case 't':
			if (parse_transports(optarg) < 0)
				bad_option("--transports", optarg);
			break;
		case 'c':
			if (parse_bytes(optarg, &v) < 0 || v < SP_RING_MIN_CAPACITY ||
			    v > SP_RING_MAX_CAPACITY || (v & (v - 1)))
				bad_option("--capacity", optarg);
			opt.capacity = v;
			break;
		case 'r':
			if (parse_double(optarg, &d) < 0 || d != floor(d) || d > MAX_RUNS)
				bad_option("--runs", optarg);
			opt.runs = (int)d;
			break;
		case 'S':
			if (parse_double(optarg, &opt.seconds) < 0)
				bad_option("--seconds", optarg);
			break;
		case 'x':
			if (parse_double(optarg, &opt.scale) < 0)
				bad_option("--scale", optarg);
			break;
		case 'n':
			if (parse_double(optarg, &d) < 0 || d != floor(d) || d > 1e15)
				bad_option("--count", optarg);
			opt.count = (uint64_t)d;
			break;
		case OPT_CPUS:
			errno = 0;
			opt.cpu[0] = (int)strtol(optarg, &end, 10);
			if (errno || end == optarg || *end != ',' || opt.cpu[0] < 0 ||
			    opt.cpu[0] >= CPU_SETSIZE)
				bad_option("--cpus", optarg);
			opt.cpu[1] = (int)strtol(end + 1, &end, 10);
			if (errno || *end || opt.cpu[1] < 0 || opt.cpu[1] >= CPU_SETSIZE)
				bad_option("--cpus", optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_double(optarg, &opt.timeout) < 0)
				bad_option("--timeout", optarg);
			break;
		case OPT_CSV:
			opt.csv = 1;
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("%s (libshared %s)\n", PROG, sp_version_string());
			exit(0);
		default:
			fprintf(stderr, "%s: %s: unknown option or missing value\n", PROG,
				argv[optind - 1]);
			fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
			exit(EX_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
		exit(EX_USAGE);
	}
	for (int i = 0; i < opt.nsizes; i++) {
		if (opt.capacity / 4 < opt.sizes[i]) {
			fprintf(stderr, "%s: --capacity %" PRIu64 " is less than 4 x the record size %zu\n",
				PROG, opt.capacity, opt.sizes[i]);
			exit(EX_USAGE);
		}
	}
	opt.progress = !opt.quiet && isatty(STDERR_FILENO);
}

/* Restores the signal mask (a stop signal still pending runs its handler
 * now), removes a ring left behind, and dies of the stop signal if one came,
 * as an interrupted program should. */
static int finish(int rc)
{
	fflush(NULL);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	if (ring_made) {
		sp_ring_unlink(ring_name);
		ring_made = 0;
	}
	if (stop_sig) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		progress("%s", "");
		msg("interrupted by %s", strsignal(stop_sig));
		sigaction(stop_sig, &dfl, NULL);
		raise(stop_sig);
		return 128 + stop_sig;
	}
	return rc == STOPPED ? EX_SOFTWARE : rc;
}

int main(int argc, char **argv)
{
	static struct result res[MAX_SIZES][T_COUNT];
	int rc = 0, ret;

	parse_options(argc, argv);
	parent_pid = getpid();
	snprintf(ring_name, sizeof(ring_name), "bench-%ld", (long)parent_pid);
	ret = setup_signals();
	if (ret < 0) {
		msg("signals: %s", strerror(-ret));
		return EX_OSERR;
	}

	if (!opt.quiet) {
		printf("# %s: libshared %s, capacity %" PRIu64 " B, median of %d runs, ", PROG,
		       sp_version_string(), opt.capacity, opt.runs);
		if (opt.count)
			printf("%.0f records each", round((double)opt.count * opt.scale));
		else
			printf("~%g s each", opt.seconds * opt.scale);
		printf(", %ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));
	}
	printf("%-11s %8s %12s %9s %14s %9s %8s\n", "transport", "size", "records", "median s",
	       "msg/s", "GB/s", "spread");
	for (int s = 0; s < opt.nsizes && !rc; s++) {
		for (int t = 0; t < T_COUNT && !rc; t++) {
			if (!(opt.transports & 1u << t))
				continue;
			rc = measure((enum transport)t, opt.sizes[s], &res[s][t]);
			if (!rc)
				print_row((enum transport)t, opt.sizes[s], &res[s][t]);
		}
	}
	if (!rc && !opt.quiet && opt.transports & (1u << T_RING_ZC | 1u << T_NAIVE_ZC))
		printf("# -zc: records are stamped and checked in place, 16 bytes each; their GB/s\n"
		       "# is payload handed over, not bytes copied (see bench/README.md)\n");
	if (!rc && opt.transports & (1u << T_RING | 1u << T_RING_ZC)) {
		printf("\nratios of msg/s at equal size (the same for GB/s); vs naive: the naive ring "
		       "of the same mode\n");
		printf("%-11s %8s %9s %14s %9s\n", "ring", "size", "vs pipe", "vs socketpair",
		       "vs naive");
		for (int s = 0; s < opt.nsizes; s++) {
			print_ratio(res[s], T_RING, T_NAIVE, opt.sizes[s]);
			print_ratio(res[s], T_RING_ZC, T_NAIVE_ZC, opt.sizes[s]);
		}
	}
	if (!rc && opt.csv) {
		printf("\ncsv,transport,size,records,runs,median_s,msg_per_s,gb_per_s,"
		       "slowest_msg_per_s,fastest_msg_per_s\n");
		for (int s = 0; s < opt.nsizes; s++)
			print_csv(res[s], opt.sizes[s]);
	}
	return finish(rc);
}
