/* harness.h: what the benchmark programs share beyond libshared/prog: their common options, messages, signals, a group of child processes started by one gun under a deadline, and the named objects removed on every exit path. */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

/*
 * Each benchmark is one C file that defines PROG and includes this header
 * once, so everything here is static.  Functions are marked unused because a
 * program takes only what it needs.  The clock, number parsing, whole reads
 * and writes and the stop flag are the programs' own (libshared/prog,
 * prog.h), which every benchmark links.
 *
 * The process model.  The parent makes the objects a run needs, then forks
 * the children of a group (struct hx_group).  Each child attaches to its
 * transport, touches its buffers, writes one byte to the "ready" pipe and
 * blocks reading the "go" pipe.  Once every byte is in, the parent reads
 * CLOCK_MONOTONIC and closes the write end of "go": every child sees end of
 * file at once (the start gun).  Children report fixed-size results on the
 * "report" pipe (each report a single write of at most PIPE_BUF bytes, so
 * the reports of several children never interleave).
 *
 * The parent never sleeps to synchronise: it waits only in ppoll() with its
 * signals unblocked, so a child that dies (SIGCHLD), the run's deadline (the
 * watchdog) or SIGINT/SIGTERM/SIGHUP wakes it.  It then kills the group,
 * removes the objects it made and, for a signal, dies of the same signal.
 * The children die with the parent (PR_SET_PDEATHSIG), so nothing is left
 * spinning if the parent is killed outright.
 */

#ifndef PROG
#error "define PROG before including harness.h"
#endif

#include <shared/ring.h>
#include <shared/version.h>

#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define HX_FN static __attribute__((unused))

/* Returned instead of an exit status when a signal asked us to stop. */
#define HX_STOPPED (-1)
/* Returned by a set-up that cannot measure this case here (the reason is
 * in the caller's buffer); not a failure. */
#define HX_NA (-2)

#define HX_MAX_KIDS 8
#define HX_MAX_OBJS 8
#define HX_NSIG 4

/* Kinds of named object the parent removes on every exit path. */
enum { HX_RING = 1, HX_MQ };

/* The state of the program; the children get a copy by fork() and use only
 * the saved signal dispositions.  The stop signal that came is prog_stop. */
static struct {
	int progress;                     /* stderr is a terminal: show progress */
	pid_t parent;                     /* the parent's pid, checked by children */
	sigset_t orig_mask;               /* the mask we started with */
	sigset_t wait_mask;               /* the parent's mask inside ppoll() */
	struct sigaction orig_act[HX_NSIG];
	struct { int kind; char name[128]; } obj[HX_MAX_OBJS];
} hx __attribute__((unused));

/* The signals the parent handles; SIGCHLD only interrupts ppoll(). */
#define HX_SIGNALS { SIGINT, SIGTERM, SIGHUP, SIGCHLD }

__attribute__((format(printf, 1, 2)))
HX_FN void hx_msg(const char *fmt, ...)
{
	char line[640];
	va_list ap;
	/* On a terminal, first wipe the progress line this would run into. */
	int n = snprintf(line, sizeof(line), "%s%s: ", hx.progress ? "\r\033[K" : "", PROG);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write, so that the lines of several children do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to complain. */
	}
}

__attribute__((format(printf, 1, 2)))
HX_FN void hx_progress(const char *fmt, ...)
{
	va_list ap;

	if (!hx.progress)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

HX_FN const char *hx_size_str(size_t n, char *buf, size_t len)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n >> 10);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

/* A ring call that failed: says so.  Returns EX_SOFTWARE. */
HX_FN int hx_ring_fail(const char *who, const char *call, int ret)
{
	hx_msg("%s: %s: %s", who, call, strerror(-ret));
	return EX_SOFTWARE;
}

/* Writes one record of size bytes to a pipe or socket, whole.  Returns 0 or
 * EX_OSERR, having said why. */
HX_FN int hx_write_rec(const char *who, int fd, const void *buf, size_t size)
{
	int ret = prog_write_full(fd, buf, size);

	if (ret < 0) {
		hx_msg("%s: write: %s", who, strerror(-ret));
		return EX_OSERR;
	}
	return 0;
}

/* Sends one message of size bytes (0: an end marker) on a message queue,
 * again after EINTR.  Returns 0 or EX_OSERR, having said why. */
HX_FN int hx_mq_send(const char *who, mqd_t mq, const void *buf, size_t size)
{
	while (mq_send(mq, buf, size, 0) < 0) {
		if (errno != EINTR) {
			hx_msg("%s: mq_send: %s", who, strerror(errno));
			return EX_OSERR;
		}
	}
	return 0;
}

/* Takes one message into buf (size bytes, at least the queue's message
 * size), again after EINTR.  Returns its length, or an exit status
 * negated, having said why. */
HX_FN ssize_t hx_mq_receive(const char *who, mqd_t mq, void *buf, size_t size)
{
	ssize_t n;

	while ((n = mq_receive(mq, buf, size, NULL)) < 0) {
		if (errno != EINTR) {
			hx_msg("%s: mq_receive: %s", who, strerror(errno));
			return -EX_OSERR;
		}
	}
	return n;
}

HX_FN void hx_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);      /* never retried: the fd is gone either way */
	*fd = -1;
}

/* Parses a comma-separated list of sizes, each at least min bytes, into
 * out[0..max).  The list itself is left whole (a message can quote it).
 * Returns the count, or -1. */
HX_FN int hx_parse_sizes(const char *list, size_t *out, int max, uint64_t min)
{
	char copy[512], *save = NULL;
	int n = 0;

	if (snprintf(copy, sizeof(copy), "%s", list) >= (int)sizeof(copy))
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (n == max || prog_parse_bytes(tok, &v) < 0 || v < min || v > SIZE_MAX / 2)
			return -1;
		out[n++] = (size_t)v;
	}
	return n ? n : -1;
}

/* A name that stands for several of a set's members ("all", "ring"). */
struct hx_alias {
	const char *name;
	unsigned bits;
};

/* Parses a comma-separated list of the names of a set (names[0..n), member
 * t is bit 1u << t) and of aliases (ending with a NULL name) into *bits.
 * Returns 0, or -1 for an unknown name or an empty set. */
HX_FN int hx_parse_set(char *list, const char *const *names, int n,
		       const struct hx_alias *aliases, unsigned *bits)
{
	char *save = NULL;

	*bits = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned b = 0;

		for (const struct hx_alias *a = aliases; a->name && !b; a++)
			if (strcmp(tok, a->name) == 0)
				b = a->bits;
		for (int t = 0; t < n; t++)
			if (strcmp(tok, names[t]) == 0)
				b = 1u << t;
		if (!b)
			return -1;
		*bits |= b;
	}
	return *bits ? 0 : -1;
}

/* Parses "P,C": two CPU numbers. Returns 0 or -1. */
HX_FN int hx_parse_cpus(const char *s, int cpu[2])
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || *end != ',' || a < 0 || a >= CPU_SETSIZE)
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (errno || end == s || *end || b < 0 || b >= CPU_SETSIZE)
		return -1;
	cpu[0] = (int)a;
	cpu[1] = (int)b;
	return 0;
}

__attribute__((noreturn))
HX_FN void hx_bad_option(const char *name, const char *value)
{
	fprintf(stderr, "%s: %s: invalid value '%s'\n", PROG, name, value);
	prog_try_help();
}

__attribute__((noreturn))
HX_FN void hx_bad_usage(const char *what)
{
	fprintf(stderr, "%s: %s\n", PROG, what);
	prog_try_help();
}

/* A whole number from 1 to max, given as a number ("1e6" too). */
HX_FN uint64_t hx_count_arg(const char *name, const char *arg, double max)
{
	double d;

	if (prog_parse_double(arg, &d) < 0 || d != floor(d) || d > max)
		hx_bad_option(name, arg);
	return (uint64_t)d;
}

/* -s, --sizes: a list of sizes, each at least min bytes, into out[0..max).
 * Returns the count. */
HX_FN int hx_sizes_arg(const char *arg, size_t *out, int max, uint64_t min)
{
	int n = hx_parse_sizes(arg, out, max, min);

	if (n < 0)
		hx_bad_option("--sizes", arg);
	return n;
}

/* -c, --capacity: a ring capacity, a power of two from SP_RING_MIN_CAPACITY
 * to SP_RING_MAX_CAPACITY. */
HX_FN uint64_t hx_capacity_arg(const char *arg)
{
	uint64_t v;

	if (prog_parse_bytes(arg, &v) < 0 || v < SP_RING_MIN_CAPACITY || v > SP_RING_MAX_CAPACITY ||
	    (v & (v - 1)))
		hx_bad_option("--capacity", arg);
	return v;
}

/* A positive number of seconds (or a factor). */
HX_FN double hx_double_arg(const char *name, const char *arg)
{
	double d;

	if (prog_parse_double(arg, &d) < 0)
		hx_bad_option(name, arg);
	return d;
}

/* The options the benchmarks take alike; each program's options hold one. */
struct hx_opts {
	int runs;                /* -r: timed runs (memcpy: trials) per measurement */
	double seconds;          /* -S: the length of one run */
	int cpu[2];              /* --cpus: the CPUs of the two sides; -1: any */
	double timeout;          /* --timeout: seconds a run may take */
	int csv, verbose, quiet;
};

#define HX_MAX_RUNS 101

/* Codes of the common long options without a short one; a program's own
 * start at 256 and stay below. */
enum { HX_OPT_CPUS = 0x300, HX_OPT_TIMEOUT, HX_OPT_CSV };

/* The common long options, last in the table of a benchmark that takes
 * them all. */
#define HX_LONGOPTS                                               \
	{ "runs", required_argument, NULL, 'r' },                 \
	{ "seconds", required_argument, NULL, 'S' },              \
	{ "cpus", required_argument, NULL, HX_OPT_CPUS },         \
	{ "timeout", required_argument, NULL, HX_OPT_TIMEOUT },   \
	{ "csv", no_argument, NULL, HX_OPT_CSV },                 \
	{ "verbose", no_argument, NULL, 'v' },                    \
	{ "quiet", no_argument, NULL, 'q' },                      \
	PROG_STD_LONGOPTS

/*
 * The end of every benchmark's option switch: the common options, -h
 * (usage(stdout, 0)), -V, and anything else (getopt_long's opterr is off:
 * the message is ours).  argv is the program's, for the bad option's name.
 */
HX_FN void hx_option(struct hx_opts *o, int c, char **argv, void (*usage)(FILE *, int))
{
	switch (c) {
	case 'r':
		o->runs = (int)hx_count_arg("--runs", optarg, HX_MAX_RUNS);
		return;
	case 'S':
		o->seconds = hx_double_arg("--seconds", optarg);
		return;
	case HX_OPT_CPUS:
		if (hx_parse_cpus(optarg, o->cpu) < 0)
			hx_bad_option("--cpus", optarg);
		return;
	case HX_OPT_TIMEOUT:
		o->timeout = hx_double_arg("--timeout", optarg);
		return;
	case HX_OPT_CSV:
		o->csv = 1;
		return;
	case 'v':
		o->verbose++;
		return;
	case 'q':
		o->quiet = 1;
		return;
	case 'h':
		usage(stdout, 0);
		return;
	case 'V':
		printf("%s (libshared %s)\n", PROG, sp_version_string());
		exit(0);
	default:
		fprintf(stderr, "%s: %s: unknown option or missing value\n", PROG, argv[optind - 1]);
		prog_try_help();
	}
}

/* After the options: the benchmarks take no operands. */
HX_FN void hx_no_operands(int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		prog_try_help();
	}
}

/* Pins the calling process to one CPU (cpu < 0: leaves it free).  Returns 0
 * or an exit status, having said why. */
HX_FN int hx_pin(const char *who, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		hx_msg("%s: CPU %d: %s", who, cpu, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

HX_FN int hx_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v[0..n) and returns its median. */
HX_FN double hx_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), hx_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

HX_FN void hx_on_signal(int sig)
{
	if (sig != SIGCHLD)
		prog_stop = sig;
}

/* Blocks the handled signals everywhere but inside ppoll(), so that none
 * can arrive between a check and the wait (the classic lost wake-up), and
 * ignores SIGPIPE (a writer whose reader died gets EPIPE instead).  Call
 * once, first thing.  Returns 0 or -errno. */
HX_FN int hx_setup_signals(void)
{
	static const int sigs[HX_NSIG] = HX_SIGNALS;
	struct sigaction sa = { .sa_handler = hx_on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;

	hx.parent = getpid();
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	/* No SA_RESTART: the signals are only ever let in during ppoll().  A
	 * signal ignored at start (nohup, a background job) stays ignored. */
	for (int i = 0; i < HX_NSIG; i++) {
		if (sigaction(sigs[i], NULL, &hx.orig_act[i]) < 0)
			return -errno;
		if (sigs[i] != SIGCHLD && hx.orig_act[i].sa_handler == SIG_IGN)
			continue;
		sigaddset(&block, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	if (sigaction(SIGPIPE, &ign, NULL) < 0)
		return -errno;
	if (sigprocmask(SIG_BLOCK, &block, &hx.orig_mask) < 0)
		return -errno;
	hx.wait_mask = hx.orig_mask;
	for (int i = 0; i < HX_NSIG; i++)
		sigdelset(&hx.wait_mask, sigs[i]);
	return 0;
}

/* Records a named object that the parent must remove on every exit path. */
HX_FN void hx_track(int kind, const char *name)
{
	for (int i = 0; i < HX_MAX_OBJS; i++) {
		if (!hx.obj[i].kind) {
			hx.obj[i].kind = kind;
			snprintf(hx.obj[i].name, sizeof(hx.obj[i].name), "%s", name);
			return;
		}
	}
	/* The programs track at most a few at once; more is a bug here. */
	hx_msg("internal error: more than %d objects to track", HX_MAX_OBJS);
	abort();
}

/* Removes one tracked object (kind and name) now.  Returns 0 or -errno of
 * the unlink; a missing object is not an error. */
HX_FN int hx_remove(int kind, const char *name)
{
	int ret = 0;

	for (int i = 0; i < HX_MAX_OBJS; i++) {
		if (hx.obj[i].kind != kind || strcmp(hx.obj[i].name, name) != 0)
			continue;
		if (kind == HX_RING)
			ret = sp_ring_unlink(name);
		else if (mq_unlink(name) < 0)
			ret = -errno;
		if (ret == -ENOENT)
			ret = 0;
		hx.obj[i].kind = 0;
		break;
	}
	return ret;
}

/* Removes every tracked object.  Returns 0 or an exit status, having said
 * which would not go. */
HX_FN int hx_remove_all(void)
{
	int rc = 0;

	for (int i = 0; i < HX_MAX_OBJS; i++) {
		char name[sizeof(hx.obj[i].name)];
		int kind = hx.obj[i].kind, ret;

		if (!kind)
			continue;
		memcpy(name, hx.obj[i].name, sizeof(name));
		ret = hx_remove(kind, name);
		if (ret < 0) {
			hx_msg("%s %s: %s", kind == HX_RING ? "sp_ring_unlink" : "mq_unlink", name,
			       strerror(-ret));
			rc = EX_SOFTWARE;
		}
	}
	return rc;
}

/* Creates the ring NAME for the children to attach to by name, and tracks
 * it.  A ring of that name can only be a leftover of an earlier process that
 * had our pid and was killed, so it is removed first.  The parent keeps no
 * handle, so none of its descriptors or locks is inherited.  Stores the
 * largest record in *max.  Returns 0 or -errno. */
HX_FN int hx_ring_make(const char *name, const struct sp_ring_opts *ro, size_t *max)
{
	sp_ring *r;
	int ret = sp_ring_open(name, SP_CREATE | SP_EXCL, ro, &r);

	if (ret == -EEXIST) {
		sp_ring_unlink(name);
		ret = sp_ring_open(name, SP_CREATE | SP_EXCL, ro, &r);
	}
	if (ret < 0)
		return ret;
	hx_track(HX_RING, name);
	*max = sp_ring_max_record(r);
	sp_ring_close(r);
	return 0;
}

HX_FN long hx_read_long(const char *path)
{
	char buf[32];
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = prog_read_full(fd, buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			v = strtol(buf, NULL, 10);
		}
		close(fd);
	}
	return v;
}

HX_FN int hx_write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%ld\n", v);
	ret = prog_write_full(fd, buf, strlen(buf));
	close(fd);
	return ret;
}

#define HX_MQ_MSGSIZE_MAX "/proc/sys/fs/mqueue/msgsize_max"
#define HX_MQ_MSG_MAX "/proc/sys/fs/mqueue/msg_max"

/*
 * Makes a POSIX message queue NAME ("/..." ) of messages of msgsize bytes,
 * at most `depth` deep, and stores a descriptor the children inherit by
 * fork() in *mq and the depth obtained in *got.  The name is removed again
 * at once: the queue lives while a descriptor is open, so no exit path, not
 * even SIGKILL, can leave it behind.
 *
 * Limits: without CAP_SYS_RESOURCE, msgsize may not exceed
 * /proc/sys/fs/mqueue/msgsize_max (8 KiB by default), depth may not exceed
 * .../msg_max (10), and depth x (msgsize + about 50 bytes) counts against
 * RLIMIT_MSGQUEUE (800 KiB).  The depth is lowered to fit.  A msgsize over
 * msgsize_max is n/a unless `raise` is set and we may write the sysctl: it is
 * then raised for the instant of mq_open() and put back at once (the limit
 * is checked only at creation).
 *
 * Returns 0; HX_NA with the reason in why; or an exit status, having said
 * why.
 */
HX_FN int hx_mq_make(const char *name, size_t msgsize, long depth, int raise, mqd_t *mq,
		     long *got, char *why, size_t whylen)
{
	long size_max = hx_read_long(HX_MQ_MSGSIZE_MAX);
	long msg_max = hx_read_long(HX_MQ_MSG_MAX);
	long old = -1;
	int err = 0;

	if (msg_max > 0 && depth > msg_max)
		depth = msg_max;
	if (depth < 1)
		depth = 1;
	if (size_max > 0 && (long)msgsize > size_max) {
		if (!raise) {
			snprintf(why, whylen, "%zu B exceeds %s (%ld); --mq-raise lifts it "
				 "for the queue's creation (root only)", msgsize, HX_MQ_MSGSIZE_MAX,
				 size_max);
			return HX_NA;
		}
		if (geteuid() != 0 || hx_write_long(HX_MQ_MSGSIZE_MAX, (long)msgsize) < 0) {
			snprintf(why, whylen, "%zu B exceeds %s (%ld), which only root may raise",
				 msgsize, HX_MQ_MSGSIZE_MAX, size_max);
			return HX_NA;
		}
		old = size_max;
	}
	for (;;) {
		struct mq_attr attr = { .mq_maxmsg = depth, .mq_msgsize = (long)msgsize };

		*mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (*mq == (mqd_t)-1 && errno == EEXIST) {
			/* Left by an earlier process that had our pid. */
			mq_unlink(name);
			*mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		}
		err = *mq == (mqd_t)-1 ? errno : 0;
		/* EMFILE here is RLIMIT_MSGQUEUE: try a shallower queue. */
		if (err != EMFILE || depth == 1)
			break;
		depth /= 2;
	}
	if (old >= 0 && hx_write_long(HX_MQ_MSGSIZE_MAX, old) < 0)
		hx_msg("%s: could not put back %ld: %s", HX_MQ_MSGSIZE_MAX, old, strerror(errno));
	if (err == EMFILE) {
		struct rlimit rl = { 0, 0 };

		getrlimit(RLIMIT_MSGQUEUE, &rl);
		snprintf(why, whylen, "even one %zu B message exceeds RLIMIT_MSGQUEUE "
			 "(ulimit -q: %llu bytes for all of a user's queues)", msgsize,
			 (unsigned long long)rl.rlim_cur);
		return HX_NA;
	}
	if (err) {
		hx_msg("mq_open %s (%ld x %zu B): %s", name, depth, msgsize, strerror(err));
		return EX_OSERR;
	}
	if (mq_unlink(name) < 0)
		hx_msg("mq_unlink %s: %s", name, strerror(errno));
	*got = depth;
	return 0;
}

/*
 * A group of children started by one gun.  Fields are the parent's; the
 * children get a copy.
 */
struct hx_group {
	char what[64];                    /* "ring-copy 64 B", to prefix messages */
	int n;                            /* children forked */
	pid_t kid[HX_MAX_KIDS];           /* 0: not running (reaped) */
	char role[HX_MAX_KIDS][24];       /* "producer 1", for messages */
	int ready[2];                     /* each child writes one byte once set up */
	int go[2];                        /* the parent closes go[1]: the start gun */
	int report[2];                    /* the children's reports */
	double timeout;                   /* seconds the whole group may take */
	int64_t deadline;                 /* CLOCK_MONOTONIC ns: the watchdog */
};

/* A child's body: returns its exit status. */
typedef int (*hx_body)(struct hx_group *g, int idx, void *arg);

/* Opens the group's three pipes.  Returns 0 or an exit status. */
HX_FN int hx_group_init(struct hx_group *g, const char *what, double timeout)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->what, sizeof(g->what), "%s", what);
	g->ready[0] = g->ready[1] = g->go[0] = g->go[1] = g->report[0] = g->report[1] = -1;
	g->timeout = timeout;
	g->deadline = prog_now_ns() + (int64_t)(timeout * 1e9);
	if (pipe2(g->ready, O_CLOEXEC) < 0 || pipe2(g->go, O_CLOEXEC) < 0 ||
	    pipe2(g->report, O_CLOEXEC) < 0) {
		hx_msg("%s: pipe2: %s", what, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/* In a child just forked: restores the signals as the program found them,
 * arranges to die with the parent, closes the parent's pipe ends. */
HX_FN int hx_child_enter(struct hx_group *g)
{
	static const int sigs[HX_NSIG] = HX_SIGNALS;

	for (int i = 0; i < HX_NSIG; i++)
		sigaction(sigs[i], &hx.orig_act[i], NULL);
	sigprocmask(SIG_SETMASK, &hx.orig_mask, NULL);
	/* The parent may have died before this took effect. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != hx.parent)
		return EX_OSERR;
	hx.progress = 0;
	hx_close_fd(&g->ready[0]);
	hx_close_fd(&g->go[1]);
	hx_close_fd(&g->report[0]);
	return 0;
}

/* Forks a child that runs body(g, its index, arg) and exits with its
 * result.  Returns 0 or an exit status. */
HX_FN int hx_spawn(struct hx_group *g, const char *role, hx_body body, void *arg)
{
	pid_t pid;
	int idx = g->n;

	if (idx == HX_MAX_KIDS) {
		hx_msg("%s: more than %d processes", g->what, HX_MAX_KIDS);
		return EX_SOFTWARE;
	}
	snprintf(g->role[idx], sizeof(g->role[idx]), "%s", role);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		hx_msg("%s: fork: %s", g->what, strerror(errno));
		return EX_OSERR;
	}
	if (pid == 0) {
		int rc = hx_child_enter(g);

		_exit(rc ? rc : body(g, idx, arg));
	}
	g->kid[idx] = pid;
	g->n++;
	return 0;
}

/* In a child: says it is ready, then waits for the start gun.  Returns 0 or
 * an exit status. */
HX_FN int hx_child_ready(struct hx_group *g, const char *who)
{
	ssize_t n;
	char c;
	int ret = prog_write_full(g->ready[1], "", 1);

	hx_close_fd(&g->ready[1]);
	if (ret < 0) {
		hx_msg("%s: ready pipe: %s", who, strerror(-ret));
		return EX_OSERR;
	}
	while ((n = read(g->go[0], &c, 1)) < 0 && errno == EINTR)
		;
	hx_close_fd(&g->go[0]);
	if (n != 0) {
		hx_msg("%s: start pipe: %s", who, n < 0 ? strerror(errno) : "unexpected data");
		return EX_OSERR;
	}
	return 0;
}

/* In a child: sends its report (at most PIPE_BUF bytes, one write).
 * Returns 0 or an exit status. */
HX_FN int hx_child_report(struct hx_group *g, const char *who, const void *rep, size_t len)
{
	int ret = prog_write_full(g->report[1], rep, len);

	hx_close_fd(&g->report[1]);
	if (ret < 0) {
		hx_msg("%s: report pipe: %s", who, strerror(-ret));
		return EX_OSERR;
	}
	return 0;
}

/* Reaps the children that have exited.  Returns 0, or an exit status if one
 * failed; a failed child has said why on stderr, a killed one is named. */
HX_FN int hx_reap(struct hx_group *g)
{
	for (int i = 0; i < g->n; i++) {
		int st;
		pid_t p;

		if (g->kid[i] <= 0)
			continue;
		while ((p = waitpid(g->kid[i], &st, WNOHANG)) < 0 && errno == EINTR)
			;
		if (p == 0)
			continue;
		g->kid[i] = 0;
		if (p < 0) {
			hx_msg("%s %s: waitpid: %s", g->what, g->role[i], strerror(errno));
			return EX_OSERR;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		hx_msg("%s %s: killed by signal %d (%s)", g->what, g->role[i], WTERMSIG(st),
		       strsignal(WTERMSIG(st)));
		return EX_SOFTWARE;
	}
	return 0;
}

HX_FN int hx_running(const struct hx_group *g)
{
	int n = 0;

	for (int i = 0; i < g->n; i++)
		n += g->kid[i] > 0;
	return n;
}

/* Waits until len bytes from fd are in buf (fd >= 0), or until every child
 * has exited (fd < 0), at most until the group's deadline.  Returns 0,
 * HX_STOPPED, or an exit status. */
HX_FN int hx_await(struct hx_group *g, int fd, void *buf, size_t len, const char *what)
{
	size_t got = 0;
	int eof = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec ts;
		int64_t left;
		ssize_t n;
		int rc;

		if (prog_stop)
			return HX_STOPPED;
		rc = hx_reap(g);
		if (rc)
			return rc;
		if (fd >= 0 ? got == len : !hx_running(g))
			return 0;
		if (eof && !hx_running(g)) {
			hx_msg("%s: every process exited before %s", g->what, what);
			return EX_SOFTWARE;
		}
		left = g->deadline - prog_now_ns();
		if (left <= 0) {
			hx_msg("%s: timed out after %g s waiting for %s (see --timeout)", g->what,
			       g->timeout, what);
			return EX_SOFTWARE;
		}
		ts.tv_sec = (time_t)(left / 1000000000);
		ts.tv_nsec = (long)(left % 1000000000);
		n = ppoll(&p, fd >= 0 && !eof ? 1 : 0, &ts, &hx.wait_mask);
		if (n < 0 && errno != EINTR) {
			hx_msg("%s: ppoll: %s", g->what, strerror(errno));
			return EX_OSERR;
		}
		if (n <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			eof = 1;   /* the writers are gone; hx_reap() will say why */
		else if (errno != EINTR) {
			hx_msg("%s: read: %s", g->what, strerror(errno));
			return EX_OSERR;
		}
	}
}

/* In the parent, after the children are forked: waits until each is ready,
 * reads the clock into *t0 and fires the start gun.  Returns 0, HX_STOPPED
 * or an exit status. */
HX_FN int hx_start(struct hx_group *g, int64_t *t0)
{
	char ready[HX_MAX_KIDS];
	int rc;

	hx_close_fd(&g->ready[1]);
	hx_close_fd(&g->go[0]);
	hx_close_fd(&g->report[1]);
	rc = hx_await(g, g->ready[0], ready, (size_t)g->n, "every process to be ready");
	if (rc)
		return rc;
	*t0 = prog_now_ns();
	hx_close_fd(&g->go[1]);
	return 0;
}

/* Kills what still runs and closes the pipes.  Safe at any point. */
HX_FN void hx_group_end(struct hx_group *g)
{
	/* The children die before go[1] closes: closing it fires the gun. */
	for (int i = 0; i < g->n; i++) {
		if (g->kid[i] > 0) {
			kill(g->kid[i], SIGKILL);
			while (waitpid(g->kid[i], NULL, 0) < 0 && errno == EINTR)
				;
			g->kid[i] = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		hx_close_fd(&g->ready[i]);
		hx_close_fd(&g->go[i]);
		hx_close_fd(&g->report[i]);
	}
}

/* Restores the signal mask (a stop signal still pending runs its handler
 * now), removes what is left of the objects, and dies of the stop signal if
 * one came, as an interrupted program should.  Returns the exit status. */
HX_FN int hx_finish(int rc)
{
	int ret;

	fflush(NULL);
	sigprocmask(SIG_SETMASK, &hx.orig_mask, NULL);
	ret = hx_remove_all();
	if (prog_stop) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		hx_progress("%s", "");
		hx_msg("interrupted by %s", strsignal(prog_stop));
		sigaction(prog_stop, &dfl, NULL);
		raise(prog_stop);
		return 128 + prog_stop;
	}
	if (rc == HX_STOPPED)
		rc = EX_SOFTWARE;
	return rc ? rc : ret;
}

/* Loads and stores of counters shared between processes; each use says
 * what it orders against. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics are lock-free, so they work between processes");

static inline uint64_t hx_load_acquire(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void hx_store_release(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

static inline void hx_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Spinning with a yield now and then: on a machine with fewer free CPUs
 * than spinners, a pure spin would wait out whole time slices. */
static inline void hx_spin(unsigned *spins)
{
	if ((++*spins & 4095) == 0)
		sched_yield();
	else
		hx_cpu_relax();
}

#endif
