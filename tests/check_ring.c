/* check_ring.c: the ring's contract as ring.h states it: names, lifecycle, records, waits, sealing, closing, many processes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "shared/ring.h"
#include "shared/version.h"
#include "testutil.h"

#define SEC 1000000000LL
/* A bound on waits that must succeed: generous, the machine is shared.  The
 * TCase timeouts are the real limit; this only gives a clearer message. */
#define LONG_WAIT (10 * SEC)
#define SMALL_CAP 4096u          /* SP_RING_MIN_CAPACITY: max record 1024 */

/* ---- helpers ------------------------------------------------------------- */

static const char *errstr(long long rc)
{
	return rc < 0 ? strerror((int)-rc) : "success";
}

/* Asserts that expr returns want; says both as errno names on failure. */
#define ck_rc(expr, want)                                                            \
	do {                                                                          \
		long long rc_ = (long long)(expr), want_ = (long long)(want);          \
		ck_assert_msg(rc_ == want_, "%s returned %lld (%s), expected %lld (%s)", \
			      #expr, rc_, errstr(rc_), want_, errstr(want_));          \
	} while (0)

/* Every object a test made (its names are tu_name's) is removed when the
 * test ends: by the teardown, and at exit if an assertion ends the test's
 * process first (its forked children leave with _exit(), never running
 * it).  Check runs one test at a time, so all of this run's objects are the
 * test's own. */
static void teardown(void)
{
	tu_cleanup();
}

/* The two files ring.h lists for a name: the segment and its lock file. */
#define NOBJ 2
static const char *const obj_suf[NOBJ] = { NULL, ".lock" };

static char *obj_path(char *buf, size_t size, const char *name, int i)
{
	return tu_obj_path(buf, size, name, obj_suf[i]);
}

/* Permission bits of object i of name, or -errno. */
static int obj_mode(const char *name, int i)
{
	char path[256];
	struct stat sb;

	if (stat(obj_path(path, sizeof(path), name, i), &sb) < 0)
		return -errno;
	return (int)(sb.st_mode & 07777);
}

static void assert_objects(const char *name, int present)
{
	char path[256];

	for (int i = 0; i < NOBJ; i++) {
		int m = obj_mode(name, i);

		if (present)
			ck_assert_msg(m >= 0, "%s missing: %s", obj_path(path, sizeof(path), name, i),
				      errstr(m));
		else
			ck_assert_msg(m == -ENOENT, "%s still exists (or stat: %s)",
				      obj_path(path, sizeof(path), name, i), errstr(m));
	}
}

static sp_ring *ring_new(char *name, size_t size, const char *tag, uint64_t cap, unsigned writers)
{
	struct sp_ring_opts o = { .capacity = cap, .writers = writers };
	sp_ring *r = NULL;
	int rc;

	tu_name(name, size, tag);
	rc = sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r);
	ck_assert_msg(rc == 0 && r, "create %s: %s", name, errstr(rc));
	return r;
}

static sp_ring *ring_attach(const char *name)
{
	sp_ring *r = NULL;
	int rc = sp_ring_open(name, 0, NULL, &r);

	ck_assert_msg(rc == 0 && r, "attach %s: %s", name, errstr(rc));
	return r;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Deterministic bytes of a seed. */
static void pattern(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed, v = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix(&s);
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* Asserts got[0..n) is pattern(seed), naming the first differing byte. */
static void check_pattern(const unsigned char *got, size_t n, uint64_t seed, const char *what)
{
	uint64_t s = seed, v = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix(&s);
		if (got[i] != (unsigned char)(v >> (8 * (i % 8))))
			ck_abort_msg("%s: byte %zu of %zu differs (0x%02x, expected 0x%02x)", what, i, n,
				     got[i], (unsigned)(unsigned char)(v >> (8 * (i % 8))));
	}
}

static void put_pattern(sp_ring *r, size_t len, uint64_t seed, long long timeout)
{
	unsigned char *buf = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(buf);
	pattern(buf, len, seed);
	ck_rc(sp_ring_put(r, buf, len, timeout), 0);
	free(buf);
}

/* Gets one record and asserts it is pattern(seed) of len bytes. */
static void get_pattern(sp_ring *r, size_t len, uint64_t seed, long long timeout)
{
	size_t cap = sp_ring_max_record(r) + 16;
	unsigned char *buf = malloc(cap);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	n = sp_ring_get(r, buf, cap, timeout);
	ck_assert_msg(n == (ssize_t)len, "get returned %zd (%s), expected %zu bytes", n, errstr(n),
		      len);
	check_pattern(buf, len, seed, "get");
	free(buf);
}

/* 100 records of 300 bytes through a SMALL_CAP ring, w to r, each taken
 * before the next is put: the ring goes round a few times, so whatever
 * space a peer left behind has been freed. */
static void wrap_on(sp_ring *w, sp_ring *r)
{
	for (int k = 0; k < 100; k++) {
		put_pattern(w, 300, (uint64_t)k, SP_NOWAIT);
		get_pattern(r, 300, (uint64_t)k, SP_NOWAIT);
	}
}

static struct sp_ring_stat stat_of(sp_ring *r)
{
	struct sp_ring_stat st;

	ck_rc(sp_ring_stat(r, &st), 0);
	return st;
}

static void wait_child_ok(pid_t pid, const char *what)
{
	int st = tu_wait(pid);

	ck_assert_msg(st == 0, "%s: child exited with status %d", what, st);
}

/* A forked child that will die as a crash would: killed with SIGKILL by the
 * test in the state it set up, so nothing is closed but by the kernel (and
 * no atexit handler nor valgrind's leak check runs in it). */
struct victim {
	pid_t pid;
	int fd;     /* child: where it says "ready"; parent: where it hears it */
};

/* Forks; returns 1 in the child, 0 in the parent. */
static int victim_fork(struct victim *v)
{
	int p[2];

	ck_assert(pipe(p) == 0);
	v->pid = tu_fork();
	ck_assert_int_ge(v->pid, 0);
	if (v->pid == 0) {
		close(p[0]);
		v->fd = p[1];
		return 1;
	}
	close(p[1]);
	v->fd = p[0];
	return 0;
}

/* Child: says it is ready, then waits to be killed. */
static void victim_ready(struct victim *v)
{
	prog_write_full(v->fd, "r", 1);
	for (;;)
		pause();
}

/* Parent: waits until the child is ready (a child that exits instead names
 * the step that failed by its status). */
static void victim_wait(struct victim *v, const char *what)
{
	char c;

	if (prog_read_full(v->fd, &c, 1) != 1)
		ck_abort_msg("%s: child exited with status %d before it was ready", what,
			     tu_wait(v->pid));
}

static void victim_kill(struct victim *v)
{
	ck_assert(kill(v->pid, SIGKILL) == 0);
	ck_assert_int_eq(tu_wait(v->pid), 128 + SIGKILL);
	close(v->fd);
}

/* Waits, without sleeping, until the ring reports at least this many
 * sleeping readers and writers: a peer is then blocked on a doorbell. */
static void wait_sleepers(sp_ring *r, unsigned readers, unsigned writers)
{
	int64_t deadline = now_ns() + 10 * SEC;
	struct sp_ring_stat st;

	for (;;) {
		ck_rc(sp_ring_stat(r, &st), 0);
		if (st.readers_waiting >= readers && st.writers_waiting >= writers)
			return;
		ck_assert_msg(now_ns() < deadline,
			      "nobody went to sleep in 10 s: readers_waiting %u (want %u), "
			      "writers_waiting %u (want %u)", st.readers_waiting, readers,
			      st.writers_waiting, writers);
		sched_yield();
	}
}

/* A forked child that attaches to a ring and blocks in one call (SP_FOREVER),
 * then reports the call's result through a pipe. */
enum blk_op { BLK_GET, BLK_PEEK, BLK_PUT, BLK_GET_LLONG_MAX };

struct blk_res {
	long long rc;            /* the call's result (length for get) */
	int stage;               /* 1: attach failed, 2: the call returned */
	size_t len;
	unsigned char data[256];
};

struct blocker {
	pid_t pid;
	int res_fd;
};

static void on_signal(int sig)
{
	(void)sig;
}

/* signals: take SIGUSR1 without SA_RESTART; spin: passed to
 * sp_ring_set_spin() first, unless negative. */
static void blocker_start(struct blocker *b, const char *name, enum blk_op op, size_t len,
			  uint64_t seed, int signals, long long spin)
{
	int ready[2], res[2];
	char c;

	ck_assert(pipe(ready) == 0 && pipe(res) == 0);
	b->pid = tu_fork();
	ck_assert_int_ge(b->pid, 0);
	if (b->pid == 0) {
		struct blk_res out;
		struct sp_msg m;
		sp_ring *r = NULL;

		memset(&out, 0, sizeof(out));
		close(ready[0]);
		close(res[0]);
		if (signals) {
			/* No SA_RESTART: every signal interrupts the sleep. */
			struct sigaction sa;

			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_signal;
			sigemptyset(&sa.sa_mask);
			sigaction(SIGUSR1, &sa, NULL);
		}
		out.rc = sp_ring_open(name, 0, NULL, &r);
		if (out.rc) {
			out.stage = 1;
			prog_write_full(res[1], &out, sizeof(out));
			_exit(0);
		}
		if (spin >= 0)
			sp_ring_set_spin(r, spin);
		prog_write_full(ready[1], "r", 1);
		switch (op) {
		case BLK_GET:
			out.rc = sp_ring_get(r, out.data, sizeof(out.data), SP_FOREVER);
			out.len = out.rc > 0 ? (size_t)out.rc : 0;
			break;
		case BLK_PEEK:
			out.rc = sp_ring_peek(r, &m, SP_FOREVER);
			if (out.rc == 0) {
				out.len = m.len;
				memcpy(out.data, m.data, m.len < sizeof(out.data) ? m.len : sizeof(out.data));
				out.rc = sp_ring_release(r, &m);
			}
			break;
		case BLK_PUT:
			pattern(out.data, len, seed);
			out.rc = sp_ring_put(r, out.data, len, SP_FOREVER);
			break;
		case BLK_GET_LLONG_MAX:
			out.rc = sp_ring_get(r, out.data, sizeof(out.data), LLONG_MAX);
			out.len = out.rc > 0 ? (size_t)out.rc : 0;
			break;
		}
		out.stage = 2;
		prog_write_full(res[1], &out, sizeof(out));
		sp_ring_close(r);
		_exit(0);
	}
	close(ready[1]);
	close(res[1]);
	b->res_fd = res[0];
	/* The child has attached once it says so; a child that failed to
	 * attach says why through the result pipe. */
	if (prog_read_full(ready[0], &c, 1) != 1) {
		struct blk_res out;

		memset(&out, 0, sizeof(out));
		prog_read_full(b->res_fd, &out, sizeof(out));
		ck_abort_msg("blocker could not attach: %s", errstr(out.rc));
	}
	close(ready[0]);
}

static void blocker_finish(struct blocker *b, struct blk_res *out)
{
	ssize_t n = prog_read_full(b->res_fd, out, sizeof(*out));

	close(b->res_fd);
	ck_assert_msg(n == (ssize_t)sizeof(*out), "blocker said nothing (read %zd)", n);
	ck_assert_int_eq(out->stage, 2);
	wait_child_ok(b->pid, "blocker");
}

/* ---- names --------------------------------------------------------------- */

START_TEST(test_name_check_valid)
{
	static const char *const good[] = { "a", "Z", "0", "-", "_", "a.b", "a.", "x..y",
					    "A-z_0.9", "-lead", "_lead" };
	char longest[SP_NAME_MAX + 1];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(sp_name_check(good[i]) == 0, "\"%s\" refused: %s", good[i],
			      errstr(sp_name_check(good[i])));
	memset(longest, 'n', SP_NAME_MAX);
	longest[SP_NAME_MAX] = 0;
	ck_rc(sp_name_check(longest), 0);
}
END_TEST

static const struct {
	const char *name;
	int err;
} bad_names[] = {
	{ "", -EINVAL }, { ".", -EINVAL }, { "..", -EINVAL }, { ".hidden", -EINVAL },
	{ "a/b", -EINVAL }, { "/a", -EINVAL }, { "a/", -EINVAL }, { "../x", -EINVAL },
	{ "a b", -EINVAL }, { "a*", -EINVAL }, { "a:b", -EINVAL }, { "a\nb", -EINVAL },
	{ "a\\b", -EINVAL }, { "a%b", -EINVAL }, { "\t", -EINVAL }, { "caf\xc3\xa9", -EINVAL },
	{ "a+b", -EINVAL }, { "a~", -EINVAL },
};

START_TEST(test_name_check_invalid)
{
	char toolong[SP_NAME_MAX + 2], huge[4097];

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		int rc = sp_name_check(bad_names[i].name);

		ck_assert_msg(rc == bad_names[i].err, "name #%zu (\"%s\"): %d (%s), expected %s", i,
			      bad_names[i].name, rc, errstr(rc), errstr(bad_names[i].err));
	}
	memset(toolong, 'n', SP_NAME_MAX + 1);
	toolong[SP_NAME_MAX + 1] = 0;
	ck_rc(sp_name_check(toolong), -ENAMETOOLONG);
	memset(huge, 'n', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	ck_rc(sp_name_check(huge), -ENAMETOOLONG);
}
END_TEST

/* Bad names give the same error from open (with or without SP_CREATE) and
 * unlink, and nothing is created. */
START_TEST(test_name_open_invalid)
{
	char toolong[SP_NAME_MAX + 2];
	sp_ring *r = NULL;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		const char *n = bad_names[i].name;
		int rc;

		rc = sp_ring_open(n, SP_CREATE, NULL, &r);
		ck_assert_msg(rc == bad_names[i].err, "open(\"%s\", SP_CREATE): %s", n, errstr(rc));
		rc = sp_ring_open(n, 0, NULL, &r);
		ck_assert_msg(rc == bad_names[i].err, "open(\"%s\"): %s", n, errstr(rc));
		rc = sp_ring_unlink(n);
		ck_assert_msg(rc == bad_names[i].err, "unlink(\"%s\"): %s", n, errstr(rc));
	}
	memset(toolong, 'n', SP_NAME_MAX + 1);
	toolong[SP_NAME_MAX + 1] = 0;
	ck_rc(sp_ring_open(toolong, SP_CREATE, NULL, &r), -ENAMETOOLONG);
	ck_rc(sp_ring_unlink(toolong), -ENAMETOOLONG);
	toolong[SP_NAME_MAX] = 0;
	assert_objects(toolong, 0);
	toolong[0] = '.';
	ck_rc(sp_ring_open(toolong, SP_CREATE, NULL, &r), -EINVAL);
}
END_TEST

/* A name of exactly SP_NAME_MAX characters works end to end. */
START_TEST(test_name_max_length)
{
	struct sp_ring_opts o = { .capacity = SMALL_CAP };
	char name[SP_NAME_MAX + 1];
	size_t n;
	sp_ring *r;

	tu_name(name, sizeof(name), "max");
	n = strlen(name);
	memset(name + n, 'x', SP_NAME_MAX - n);
	name[SP_NAME_MAX] = 0;
	ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	ck_assert_str_eq(sp_ring_name(r), name);
	assert_objects(name, 1);
	put_pattern(r, 33, 1, SP_NOWAIT);
	get_pattern(r, 33, 1, SP_NOWAIT);
	sp_ring_close(r);
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
}
END_TEST

/* ---- lifecycle ----------------------------------------------------------- */

START_TEST(test_version)
{
	ck_assert_uint_eq(sp_version_number(), SP_VERSION_NUMBER);
	ck_assert_str_eq(sp_version_string(), SP_VERSION_STRING);
}
END_TEST

START_TEST(test_open_missing)
{
	struct sp_ring_opts o = { .capacity = SMALL_CAP };
	char name[64];
	sp_ring *r = NULL;

	tu_name(name, sizeof(name), "missing");
	ck_rc(sp_ring_open(name, 0, NULL, &r), -ENOENT);
	ck_rc(sp_ring_open(name, 0, &o, &r), -ENOENT);
	/* A failed attach leaves nothing behind. */
	assert_objects(name, 0);
	ck_rc(sp_ring_unlink(name), -ENOENT);
}
END_TEST

START_TEST(test_create_excl)
{
	struct sp_ring_opts o = { .capacity = SMALL_CAP };
	sp_ring *a, *b = NULL, *c, *d;
	char name[64];

	a = ring_new(name, sizeof(name), "excl", SMALL_CAP, 1);
	ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &b), -EEXIST);
	ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, NULL, &b), -EEXIST);
	/* Without SP_EXCL, SP_CREATE attaches to the existing ring. */
	ck_rc(sp_ring_open(name, SP_CREATE, &o, &c), 0);
	ck_rc(sp_ring_open(name, 0, NULL, &d), 0);
	ck_assert_uint_eq(stat_of(a).attached, 3);
	sp_ring_close(d);
	sp_ring_close(c);
	ck_assert_uint_eq(stat_of(a).attached, 1);
	sp_ring_close(a);
	ck_rc(sp_ring_unlink(name), 0);
}
END_TEST

/* Options are ignored when attaching: the ring keeps its own. */
START_TEST(test_attach_ignores_opts)
{
	struct sp_ring_opts o = { .capacity = 64 << 10, .writers = 5, .mode = 0644 };
	struct sp_ring_stat st;
	sp_ring *a, *b;
	char name[64];

	a = ring_new(name, sizeof(name), "ign", SMALL_CAP, 2);
	ck_rc(sp_ring_open(name, SP_CREATE, &o, &b), 0);
	ck_assert_uint_eq(sp_ring_max_record(b), SMALL_CAP / 4);
	st = stat_of(b);
	ck_assert_uint_eq(st.capacity, SMALL_CAP);
	ck_assert_uint_eq(st.writers, 2);
	ck_assert_int_eq(obj_mode(name, 0), 0600);
	sp_ring_close(b);
	sp_ring_close(a);
}
END_TEST

START_TEST(test_capacity_invalid)
{
	static const uint64_t bad[] = {
		1, 2, 3, 1000, 2048, SP_RING_MIN_CAPACITY / 2, SP_RING_MIN_CAPACITY - 1,
		SP_RING_MIN_CAPACITY + 1, 5000, 3u << 12, (1u << 16) + 8, (1u << 20) - 4096,
		SP_RING_MAX_CAPACITY + 4096, SP_RING_MAX_CAPACITY * 2, 1ull << 40, 1ull << 63,
		UINT64_MAX,
	};
	char name[64];
	sp_ring *r = NULL;

	tu_name(name, sizeof(name), "cap");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sp_ring_opts o = { .capacity = bad[i] };
		int rc = sp_ring_open(name, SP_CREATE, &o, &r);

		ck_assert_msg(rc == -EINVAL, "capacity %" PRIu64 ": %s, expected -EINVAL", bad[i],
			      errstr(rc));
		rc = sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r);
		ck_assert_msg(rc == -EINVAL, "capacity %" PRIu64 " (SP_EXCL): %s", bad[i], errstr(rc));
		/* A refused creation leaves nothing behind. */
		assert_objects(name, 0);
	}
}
END_TEST

START_TEST(test_capacity_valid)
{
	struct sp_ring_opts zero = { 0 };
	struct sp_ring_stat st;
	char name[64];
	sp_ring *r;

	/* The smallest ring. */
	r = ring_new(name, sizeof(name), "cmin", SP_RING_MIN_CAPACITY, 1);
	ck_assert_uint_eq(sp_ring_max_record(r), SP_RING_MIN_CAPACITY / 4);
	st = stat_of(r);
	ck_assert_uint_eq(st.capacity, SP_RING_MIN_CAPACITY);
	ck_assert_uint_eq(st.max_record, SP_RING_MIN_CAPACITY / 4);
	ck_assert_uint_eq(st.writers, 1);
	sp_ring_close(r);
	/* No options, and zeroed options: the defaults. */
	tu_name(name, sizeof(name), "cdef");
	ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, NULL, &r), 0);
	st = stat_of(r);
	ck_assert_uint_eq(st.capacity, SP_RING_DEFAULT_CAPACITY);
	ck_assert_uint_eq(sp_ring_max_record(r), SP_RING_DEFAULT_CAPACITY / 4);
	ck_assert_uint_eq(st.writers, 1);
	put_pattern(r, SP_RING_DEFAULT_CAPACITY / 4, 11, SP_NOWAIT);
	get_pattern(r, SP_RING_DEFAULT_CAPACITY / 4, 11, SP_NOWAIT);
	sp_ring_close(r);
	ck_rc(sp_ring_unlink(name), 0);
	tu_name(name, sizeof(name), "czero");
	ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, &zero, &r), 0);
	st = stat_of(r);
	ck_assert_uint_eq(st.capacity, SP_RING_DEFAULT_CAPACITY);
	ck_assert_uint_eq(st.writers, 1);
	ck_assert_int_eq(obj_mode(name, 0), 0600);
	sp_ring_close(r);
	ck_rc(sp_ring_unlink(name), 0);
	/* Another power of two. */
	r = ring_new(name, sizeof(name), "c64k", 64 << 10, 3);
	ck_assert_uint_eq(sp_ring_max_record(r), 16 << 10);
	ck_assert_uint_eq(stat_of(r).writers, 3);
	sp_ring_close(r);
}
END_TEST

/* Checks that every object of a new ring has the given mode; umask_ is in
 * force while it is created. */
static void check_modes(const char *tag, unsigned mode, mode_t umask_, unsigned want)
{
	struct sp_ring_opts o = { .capacity = SMALL_CAP, .mode = mode };
	char name[64], path[256];
	mode_t old;
	sp_ring *r;
	int rc;

	tu_name(name, sizeof(name), tag);
	old = umask(umask_);
	rc = sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r);
	umask(old);
	ck_assert_msg(rc == 0, "create: %s", errstr(rc));
	for (int i = 0; i < NOBJ; i++) {
		int m = obj_mode(name, i);

		ck_assert_msg(m == (int)want, "%s: mode %o (%s), expected %o (opts.mode %o, umask %03o)",
			      obj_path(path, sizeof(path), name, i), m < 0 ? 0 : m, errstr(m), want,
			      mode, (unsigned)umask_);
	}
	sp_ring_close(r);
	ck_rc(sp_ring_unlink(name), 0);
}

START_TEST(test_mode_default)
{
	check_modes("m0", 0, 022, 0600);
	check_modes("m0u", 0, 0, 0600);
}
END_TEST

START_TEST(test_mode_0644)
{
	check_modes("m644", 0644, 022, 0644);
}
END_TEST

/* "permission bits of every object": exactly as asked, whatever the umask. */
START_TEST(test_mode_ignores_umask)
{
	check_modes("m644u", 0644, 077, 0644);
	check_modes("m660u", 0660, 027, 0660);
}
END_TEST

START_TEST(test_mode_invalid)
{
	static const unsigned bad[] = { 04600, 02600, 01600, 010000, 0x7fffffff };
	char name[64];
	sp_ring *r = NULL;

	tu_name(name, sizeof(name), "mbad");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sp_ring_opts o = { .capacity = SMALL_CAP, .mode = bad[i] };
		int rc = sp_ring_open(name, SP_CREATE, &o, &r);

		ck_assert_msg(rc == -EINVAL, "mode %o: %s, expected -EINVAL", bad[i], errstr(rc));
		assert_objects(name, 0);
	}
}
END_TEST

/* unlink removes both objects; attached handles keep working. */
START_TEST(test_unlink)
{
	char name[64];
	sp_ring *a, *b = NULL;

	a = ring_new(name, sizeof(name), "unl", SMALL_CAP, 1);
	assert_objects(name, 1);
	put_pattern(a, 10, 1, SP_NOWAIT);
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
	ck_rc(sp_ring_unlink(name), -ENOENT);
	ck_rc(sp_ring_open(name, 0, NULL, &b), -ENOENT);
	/* The handle still attached goes on with its mapping. */
	get_pattern(a, 10, 1, SP_NOWAIT);
	put_pattern(a, 200, 2, SP_NOWAIT);
	get_pattern(a, 200, 2, SP_NOWAIT);
	sp_ring_close(a);
	/* The name is free again. */
	a = ring_new(name, sizeof(name), "unl2", SMALL_CAP, 1);
	sp_ring_close(a);
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
}
END_TEST

/* Two handles in one process share the ring. */
START_TEST(test_second_handle)
{
	unsigned char buf[512];
	struct sp_msg m;
	char name[64];
	sp_ring *a, *b;

	a = ring_new(name, sizeof(name), "two", SMALL_CAP, 1);
	b = ring_attach(name);
	ck_assert_str_eq(sp_ring_name(b), name);
	ck_assert_uint_eq(stat_of(a).attached, 2);
	put_pattern(a, 100, 7, SP_NOWAIT);
	ck_assert_int_eq(sp_ring_empty(b), 0);
	get_pattern(b, 100, 7, SP_NOWAIT);
	ck_assert_int_eq(sp_ring_empty(a), 1);
	ck_rc(sp_ring_reserve(b, 300, &m, SP_NOWAIT), 0);
	pattern(m.data, 300, 8);
	ck_rc(sp_ring_commit(b, &m, 300), 0);
	ck_rc(sp_ring_peek(a, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 300);
	check_pattern(m.data, 300, 8, "peek via the other handle");
	ck_rc(sp_ring_release(a, &m), 0);
	ck_rc(sp_ring_get(b, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_close(b);
	ck_assert_uint_eq(stat_of(a).attached, 1);
	sp_ring_close(a);
}
END_TEST

/* SP_RING_MAX_PARTICIPANTS handles at once; one more is refused. */
START_TEST(test_max_participants)
{
	sp_ring *h[SP_RING_MAX_PARTICIPANTS], *extra = NULL;
	char name[64];

	h[0] = ring_new(name, sizeof(name), "many", SMALL_CAP, 1);
	for (int i = 1; i < SP_RING_MAX_PARTICIPANTS; i++) {
		int rc = sp_ring_open(name, 0, NULL, &h[i]);

		ck_assert_msg(rc == 0, "handle %d: %s", i, errstr(rc));
	}
	ck_assert_uint_eq(stat_of(h[0]).attached, SP_RING_MAX_PARTICIPANTS);
	ck_rc(sp_ring_open(name, 0, NULL, &extra), -EUSERS);
	ck_rc(sp_ring_open(name, SP_CREATE, NULL, &extra), -EUSERS);
	sp_ring_close(h[5]);
	ck_rc(sp_ring_open(name, 0, NULL, &h[5]), 0);
	put_pattern(h[5], 64, 3, SP_NOWAIT);
	get_pattern(h[SP_RING_MAX_PARTICIPANTS - 1], 64, 3, SP_NOWAIT);
	for (int i = 0; i < SP_RING_MAX_PARTICIPANTS; i++)
		sp_ring_close(h[i]);
}
END_TEST

/* ---- create race --------------------------------------------------------- */

#define RACE_FORKS 5
#define RACE_TOOLS 2
#define RACE_ROUNDS 4
#define RACE_CAP (64u << 10)

/* Reads fd to end of file: the start gun. */
static void wait_gun(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
}

/* Several processes, forked and exec'd, open the same new name with
 * SP_CREATE at once; all succeed, on one ring: every record each one put is
 * found in the ring afterwards. */
START_TEST(test_create_race)
{
	for (int round = 0; round < RACE_ROUNDS; round++) {
		enum { N = RACE_FORKS + RACE_TOOLS };
		char name[64], tool[256], fdarg[16], idarg[RACE_TOOLS][16], caparg[32];
		int gun[2], outfd[RACE_TOOLS], got[N] = { 0 };
		pid_t pids[N];
		struct sp_ring_stat st;
		uint32_t id;
		sp_ring *r;

		tu_name(name, sizeof(name), "race");
		ck_assert(pipe(gun) == 0);
		/* Only the read end may live on in the exec'd tools. */
		ck_assert(fcntl(gun[1], F_SETFD, FD_CLOEXEC) == 0);
		for (int i = 0; i < RACE_FORKS; i++) {
			pids[i] = tu_fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				struct sp_ring_opts o = { .capacity = RACE_CAP };
				sp_ring *c;
				int rc;

				close(gun[1]);
				wait_gun(gun[0]);
				rc = sp_ring_open(name, SP_CREATE, &o, &c);
				if (rc) {
					fprintf(stderr, "race child %d: open: %s\n", i, strerror(-rc));
					_exit(2);
				}
				id = (uint32_t)i;
				rc = sp_ring_put(c, &id, sizeof(id), LONG_WAIT);
				if (rc) {
					fprintf(stderr, "race child %d: put: %s\n", i, strerror(-rc));
					_exit(3);
				}
				if (sp_ring_max_record(c) != RACE_CAP / 4)
					_exit(4);
				sp_ring_close(c);
				_exit(0);
			}
		}
		tu_tool("tool_ring", tool, sizeof(tool));
		snprintf(fdarg, sizeof(fdarg), "%d", gun[0]);
		snprintf(caparg, sizeof(caparg), "%u", RACE_CAP);
		for (int j = 0; j < RACE_TOOLS; j++) {
			snprintf(idarg[j], sizeof(idarg[j]), "%d", RACE_FORKS + j);
			char *argv[] = { tool, "create", name, fdarg, idarg[j], caparg, NULL };

			pids[RACE_FORKS + j] = tu_spawn(argv, &outfd[j]);
			ck_assert_msg(pids[RACE_FORKS + j] > 0, "spawn %s: %s", tool,
				      errstr(pids[RACE_FORKS + j]));
		}
		/* Fire: every reader of the pipe sees end of file at once. */
		close(gun[1]);
		close(gun[0]);
		for (int i = 0; i < RACE_FORKS; i++)
			wait_child_ok(pids[i], "race child");
		for (int j = 0; j < RACE_TOOLS; j++) {
			char *out = tu_slurp(outfd[j], NULL), want[32];
			int st_ = tu_wait(pids[RACE_FORKS + j]);

			ck_assert_msg(st_ == 0, "tool_ring create exited %d", st_);
			snprintf(want, sizeof(want), "ok %d\n", RACE_FORKS + j);
			ck_assert_msg(out && !strcmp(out, want), "tool_ring create said \"%s\"",
				      out ? out : "(null)");
			free(out);
		}
		/* One ring: it holds every participant's record. */
		r = ring_attach(name);
		st = stat_of(r);
		ck_assert_uint_eq(st.capacity, RACE_CAP);
		ck_assert_uint_eq(st.recs_in, N);
		for (int k = 0; k < N; k++) {
			ck_rc(sp_ring_get(r, &id, sizeof(id), SP_NOWAIT), sizeof(id));
			ck_assert_uint_lt(id, N);
			ck_assert_msg(!got[id], "participant %u's record twice", id);
			got[id] = 1;
		}
		ck_rc(sp_ring_get(r, &id, sizeof(id), SP_NOWAIT), -EAGAIN);
		sp_ring_close(r);
		ck_rc(sp_ring_unlink(name), 0);
		assert_objects(name, 0);
	}
}
END_TEST

/* ---- garbage attach ------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_msg(write(fd, data, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

/* Asserts the file at path holds exactly data[0..len). */
static void assert_file(const char *path, const void *data, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_ptr_nonnull(buf);
	n = prog_read_full(fd, buf, len + 1);
	close(fd);
	ck_assert_msg(n == (ssize_t)len && !memcmp(buf, data, len),
		      "%s was changed by a refused open (%zd bytes now, %zu before)", path, n, len);
	free(buf);
}

static int is_corrupt_error(int rc)
{
	return rc == -EPROTO || rc == -EBADMSG || rc == -EINVAL;
}

/* Opening name, with and without SP_CREATE, is refused as not-a-ring. */
static void assert_refused(const char *name, const char *what)
{
	sp_ring *r = NULL;
	int rc;

	rc = sp_ring_open(name, 0, NULL, &r);
	ck_assert_msg(is_corrupt_error(rc), "%s: open returned %d (%s), expected -EPROTO or -EBADMSG",
		      what, rc, errstr(rc));
	rc = sp_ring_open(name, SP_CREATE, NULL, &r);
	ck_assert_msg(is_corrupt_error(rc),
		      "%s: open(SP_CREATE) returned %d (%s), expected -EPROTO or -EBADMSG", what, rc,
		      errstr(rc));
}

/* A file of random bytes under the segment's name, written by someone else
 * (no lock file beside it). */
START_TEST(test_garbage_random_file)
{
	enum { LEN = 64 << 10 };
	unsigned char *junk = malloc(LEN);
	char name[64], path[256];

	ck_assert_ptr_nonnull(junk);
	tu_name(name, sizeof(name), "junk");
	pattern(junk, LEN, 0xdead);
	write_file(obj_path(path, sizeof(path), name, 0), junk, LEN);
	assert_refused(name, "random bytes");
	assert_file(path, junk, LEN);
	free(junk);
}
END_TEST

/* A real ring whose segment was overwritten with random bytes. */
START_TEST(test_garbage_random_ring)
{
	unsigned char *junk;
	char name[64], path[256];
	struct stat sb;
	sp_ring *r;
	int fd;

	r = ring_new(name, sizeof(name), "junkr", SMALL_CAP, 1);
	sp_ring_close(r);
	fd = open(obj_path(path, sizeof(path), name, 0), O_RDWR | O_CLOEXEC);
	ck_assert(fd >= 0 && fstat(fd, &sb) == 0);
	junk = malloc((size_t)sb.st_size);
	ck_assert_ptr_nonnull(junk);
	pattern(junk, (size_t)sb.st_size, 0xbeef);
	ck_assert(pwrite(fd, junk, (size_t)sb.st_size, 0) == sb.st_size);
	close(fd);
	assert_refused(name, "ring overwritten with random bytes");
	assert_file(path, junk, (size_t)sb.st_size);
	free(junk);
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
}
END_TEST

/* A real ring's segment cut short or grown: sizes no longer agree. */
static const char *const resize_what[] = { "half", "100 bytes", "127 bytes", "8 bytes",
					   "one byte", "8 bytes short", "grown by a page" };

START_TEST(test_garbage_resized)
{
	char name[64], path[256];
	struct stat sb;
	off_t size;
	sp_ring *r;
	int fd;

	r = ring_new(name, sizeof(name), "trunc", SMALL_CAP, 1);
	put_pattern(r, 100, 1, SP_NOWAIT);
	sp_ring_close(r);
	fd = open(obj_path(path, sizeof(path), name, 0), O_RDWR | O_CLOEXEC);
	ck_assert(fd >= 0 && fstat(fd, &sb) == 0);
	switch (_i) {
	case 0: size = sb.st_size / 2; break;
	case 1: size = 100; break;
	case 2: size = 127; break;
	case 3: size = 8; break;
	case 4: size = 1; break;
	case 5: size = sb.st_size - 8; break;
	default: size = sb.st_size + 4096; break;
	}
	ck_assert(ftruncate(fd, size) == 0);
	close(fd);
	assert_refused(name, resize_what[_i]);
	ck_assert(stat(path, &sb) == 0);
	ck_assert_msg(sb.st_size == size, "a refused open resized the segment");
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
}
END_TEST

/* A ring from another layout version (a bit flipped in the uint32 at offset
 * 8: the first flip turns version 4 into 5, the third into 132), or
 * without the magic (a bit flipped in the uint64 at offset
 * 0): not a ring of this version, -EPROTO.  Restoring the bit makes it
 * usable again. */
static const struct {
	off_t byte;
	unsigned char bit;
} flips[] = { { 8, 0x01 }, { 8, 0x02 }, { 8, 0x80 }, { 9, 0x01 }, { 11, 0x80 }, { 0, 0x01 }, { 7, 0x40 } };

START_TEST(test_garbage_version)
{
	char name[64], path[256];
	unsigned char c;
	sp_ring *r = NULL;
	int fd, rc;

	r = ring_new(name, sizeof(name), "ver", SMALL_CAP, 1);
	put_pattern(r, 77, 5, SP_NOWAIT);
	sp_ring_close(r);
	fd = open(obj_path(path, sizeof(path), name, 0), O_RDWR | O_CLOEXEC);
	ck_assert(fd >= 0);
	ck_assert(pread(fd, &c, 1, flips[_i].byte) == 1);
	c ^= flips[_i].bit;
	ck_assert(pwrite(fd, &c, 1, flips[_i].byte) == 1);
	rc = sp_ring_open(name, 0, NULL, &r);
	ck_assert_msg(rc == -EPROTO, "bit 0x%02x of byte %d flipped: open returned %d (%s), "
		      "expected -EPROTO", flips[_i].bit, (int)flips[_i].byte, rc, errstr(rc));
	rc = sp_ring_open(name, SP_CREATE, NULL, &r);
	ck_assert_msg(rc == -EPROTO, "bit 0x%02x of byte %d flipped: open(SP_CREATE) returned %d "
		      "(%s), expected -EPROTO", flips[_i].bit, (int)flips[_i].byte, rc, errstr(rc));
	c ^= flips[_i].bit;
	ck_assert(pwrite(fd, &c, 1, flips[_i].byte) == 1);
	close(fd);
	r = ring_attach(name);
	get_pattern(r, 77, 5, SP_NOWAIT);
	sp_ring_close(r);
}
END_TEST

/* An empty or all-zero segment may be taken for a creation that died half
 * way: without SP_CREATE that is an error (-ENOENT, "no ring yet", is fair
 * here), with SP_CREATE it may be initialised anew, and must then work. */
static void check_blank(const char *name, const char *what)
{
	sp_ring *r = NULL;
	int rc;

	rc = sp_ring_open(name, 0, NULL, &r);
	ck_assert_msg(rc == -ENOENT || is_corrupt_error(rc), "%s: open returned %d (%s)", what, rc,
		      errstr(rc));
	rc = sp_ring_open(name, SP_CREATE, NULL, &r);
	ck_assert_msg(rc == 0 || rc == -ENOENT || is_corrupt_error(rc),
		      "%s: open(SP_CREATE) returned %d (%s)", what, rc, errstr(rc));
	if (rc == 0) {
		put_pattern(r, 99, 9, SP_NOWAIT);
		get_pattern(r, 99, 9, SP_NOWAIT);
		sp_ring_close(r);
	}
}

START_TEST(test_garbage_blank)
{
	static const char *const what[] = { "zero-length file", "all-zero file",
					    "ring truncated to zero", "ring zeroed" };
	char name[64], path[256];

	tu_name(name, sizeof(name), "blank");
	obj_path(path, sizeof(path), name, 0);
	if (_i < 2) {
		size_t len = _i == 0 ? 0 : 16384;
		unsigned char *z = calloc(1, len + 1);

		write_file(path, z, len);
		free(z);
	} else {
		struct sp_ring_opts o = { .capacity = SMALL_CAP };
		sp_ring *r;
		int fd;

		ck_rc(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
		sp_ring_close(r);
		fd = open(path, O_RDWR | O_CLOEXEC);
		ck_assert(fd >= 0);
		if (_i == 2) {
			ck_assert(ftruncate(fd, 0) == 0);
		} else {
			struct stat sb;

			ck_assert(fstat(fd, &sb) == 0);
			ck_assert(ftruncate(fd, 0) == 0 && ftruncate(fd, sb.st_size) == 0);
		}
		close(fd);
	}
	check_blank(name, what[_i]);
	sp_ring_unlink(name);
}
END_TEST

/* ---- records ------------------------------------------------------------- */

/* put/get and reserve/commit/peek/release of one length; checks that get
 * writes nothing past the record. */
static void roundtrip(sp_ring *r, size_t len)
{
	size_t cap = sp_ring_max_record(r) + 64;
	unsigned char *buf = malloc(cap);
	struct sp_msg m;
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	put_pattern(r, len, len, SP_NOWAIT);
	memset(buf, 0xa5, cap);
	n = sp_ring_get(r, buf, cap, SP_NOWAIT);
	ck_assert_msg(n == (ssize_t)len, "length %zu: get returned %zd (%s)", len, n, errstr(n));
	check_pattern(buf, len, len, "put/get");
	for (size_t k = len; k < cap; k++)
		ck_assert_msg(buf[k] == 0xa5, "length %zu: get wrote byte %zu past the record", len, k);

	ck_rc(sp_ring_reserve(r, len, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, len);
	ck_assert_ptr_nonnull(m.data);
	pattern(m.data, len, len + 1);
	ck_rc(sp_ring_commit(r, &m, len), 0);
	memset(&m, 0, sizeof(m));
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, len);
	check_pattern(m.data, len, len + 1, "reserve/peek");
	ck_rc(sp_ring_release(r, &m), 0);
	free(buf);
}

/* A lone writer handle and a lone reader handle: each side is biased to
 * its handle (where membarrier works), records go through either way, and
 * closing gives the bias back. */
START_TEST(test_bias_lone)
{
	char name[64];
	sp_ring *w, *r, *mon;
	struct sp_ring_stat st;

	w = ring_new(name, sizeof(name), "bl", SMALL_CAP, 1);
	ck_rc(sp_ring_open(name, 0, NULL, &r), 0);
	ck_rc(sp_ring_open(name, 0, NULL, &mon), 0);
	st = stat_of(mon);
	ck_assert_int_eq(st.writer_bias_pid, 0);
	ck_assert_int_eq(st.reader_bias_pid, 0);
	for (int i = 0; i < 1000; i++) {
		unsigned char buf[64];

		memset(buf, i & 0xff, sizeof(buf));
		ck_rc(sp_ring_put(w, buf, (size_t)(i % 64), SP_NOWAIT), 0);
		ck_assert_int_eq(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), i % 64);
		for (int k = 0; k < i % 64; k++)
			ck_assert_uint_eq(buf[k], (unsigned)(i & 0xff));
	}
	st = stat_of(mon);
	if (tu_bias_checked()) {
		ck_assert_int_eq(st.writer_bias_pid, getpid());
		ck_assert_int_eq(st.reader_bias_pid, getpid());
	}
	sp_ring_close(r);
	sp_ring_close(w);
	st = stat_of(mon);
	ck_assert_int_eq(st.writer_bias_pid, 0);
	ck_assert_int_eq(st.reader_bias_pid, 0);
	sp_ring_close(mon);
	ck_rc(sp_ring_unlink(name), 0);
}
END_TEST

/* A second reader handle revokes the first one's bias; records still come
 * out exactly once and in order across the two. */
START_TEST(test_bias_revoked)
{
	char name[64];
	sp_ring *w, *r1, *r2;
	struct sp_ring_stat st;
	long next = 0;

	w = ring_new(name, sizeof(name), "br", SMALL_CAP, 1);
	ck_rc(sp_ring_open(name, 0, NULL, &r1), 0);
	ck_rc(sp_ring_open(name, 0, NULL, &r2), 0);
	for (long i = 0; i < 600; i++) {
		sp_ring *rd = i < 200 || i % 3 ? r1 : r2;
		long got = -1;

		ck_rc(sp_ring_put(w, &i, sizeof(i), SP_NOWAIT), 0);
		ck_assert_int_eq(sp_ring_get(rd, &got, sizeof(got), SP_NOWAIT), (ssize_t)sizeof(got));
		ck_assert_int_eq(got, next++);
		if (i == 199 && tu_bias_checked())
			ck_assert_int_eq(stat_of(w).reader_bias_pid, getpid());
	}
	st = stat_of(w);
	ck_assert_int_eq(st.reader_bias_pid, 0);
	sp_ring_close(r1);
	sp_ring_close(r2);
	sp_ring_close(w);
	sp_ring_unlink(name);
}
END_TEST

START_TEST(test_roundtrip_lengths)
{
	char name[64];
	sp_ring *r;
	size_t max;

	/* Every length of a small ring. */
	r = ring_new(name, sizeof(name), "rt", SMALL_CAP, 1);
	max = sp_ring_max_record(r);
	ck_assert_uint_eq(max, SMALL_CAP / 4);
	for (size_t len = 0; len <= max; len++)
		roundtrip(r, len);
	sp_ring_close(r);
	/* Around every power of two of a larger one. */
	r = ring_new(name, sizeof(name), "rt64", 64 << 10, 1);
	max = sp_ring_max_record(r);
	for (size_t p = 1; p <= max; p *= 2) {
		roundtrip(r, p - 1);
		roundtrip(r, p);
		if (p + 1 <= max)
			roundtrip(r, p + 1);
	}
	roundtrip(r, max - 7);
	roundtrip(r, max);
	sp_ring_close(r);
}
END_TEST

START_TEST(test_msgsize)
{
	struct sp_ring_stat st;
	unsigned char *buf;
	struct sp_msg m;
	char name[64];
	sp_ring *r;
	size_t max;

	r = ring_new(name, sizeof(name), "msz", SMALL_CAP, 1);
	max = sp_ring_max_record(r);
	buf = calloc(1, max + 1);
	ck_assert_ptr_nonnull(buf);
	ck_rc(sp_ring_put(r, buf, max + 1, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_put(r, buf, max + 1, LONG_WAIT), -EMSGSIZE);
	ck_rc(sp_ring_reserve(r, max + 1, &m, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_reserve(r, max * 4, &m, SP_FOREVER), -EMSGSIZE);
	ck_rc(sp_ring_reserve(r, SIZE_MAX, &m, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_reserve(r, (size_t)UINT32_MAX + 1, &m, SP_NOWAIT), -EMSGSIZE);
	/* Nothing was written, and the ring still takes the largest record. */
	st = stat_of(r);
	ck_assert_uint_eq(st.recs_in, 0);
	ck_assert_uint_eq(st.used, 0);
	ck_rc(sp_ring_get(r, buf, max + 1, SP_NOWAIT), -EAGAIN);
	put_pattern(r, max, 4, SP_NOWAIT);
	get_pattern(r, max, 4, SP_NOWAIT);
	free(buf);
	sp_ring_close(r);
}
END_TEST

/* A get into a buffer too small fails with -EMSGSIZE and leaves the record
 * first in line; peek tells its length. */
START_TEST(test_get_small_buffer)
{
	unsigned char buf[256];
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "small", SMALL_CAP, 1);
	put_pattern(r, 100, 1, SP_NOWAIT);
	put_pattern(r, 10, 2, SP_NOWAIT);
	ck_rc(sp_ring_get(r, buf, 99, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_get(r, buf, 0, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_get(r, buf, 50, LONG_WAIT), -EMSGSIZE);
	ck_assert_uint_eq(stat_of(r).recs_out, 0);
	ck_assert_uint_eq(sp_ring_size(r), 2);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 100);
	check_pattern(m.data, 100, 1, "peek after -EMSGSIZE");
	ck_rc(sp_ring_release(r, &m), 0);
	/* An exactly fitting buffer is enough. */
	ck_rc(sp_ring_get(r, buf, 9, SP_NOWAIT), -EMSGSIZE);
	ck_rc(sp_ring_get(r, buf, 10, SP_NOWAIT), 10);
	check_pattern(buf, 10, 2, "get of exact size");
	/* An empty record fits in an empty buffer. */
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), 0);
	ck_rc(sp_ring_get(r, buf, 0, SP_NOWAIT), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

START_TEST(test_reserve_commit)
{
	unsigned char buf[1024];
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "zc", SMALL_CAP, 1);
	/* Whole. */
	ck_rc(sp_ring_reserve(r, 100, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 100);
	pattern(m.data, 100, 1);
	ck_assert_int_eq(sp_ring_empty(r), 1);  /* not published before commit */
	ck_rc(sp_ring_commit(r, &m, 100), 0);
	ck_assert_int_eq(sp_ring_empty(r), 0);
	get_pattern(r, 100, 1, SP_NOWAIT);
	/* Shrunk at commit. */
	ck_rc(sp_ring_reserve(r, 200, &m, SP_NOWAIT), 0);
	pattern(m.data, 200, 2);
	ck_rc(sp_ring_commit(r, &m, 57), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 57);
	check_pattern(buf, 57, 2, "shrunk record");
	/* Shrunk to nothing. */
	ck_rc(sp_ring_reserve(r, 64, &m, SP_NOWAIT), 0);
	ck_rc(sp_ring_commit(r, &m, 0), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	/* A record may not grow at commit; the refusal leaves the reservation
	 * as it was. */
	ck_rc(sp_ring_reserve(r, 10, &m, SP_NOWAIT), 0);
	pattern(m.data, 10, 3);
	ck_assert_int_lt(sp_ring_commit(r, &m, 11), 0);
	ck_assert_int_lt(sp_ring_commit(r, &m, 1000), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_rc(sp_ring_commit(r, &m, 10), 0);
	get_pattern(r, 10, 3, SP_NOWAIT);
	/* Reserve, then put from the same handle: FIFO holds. */
	ck_rc(sp_ring_reserve(r, 30, &m, SP_NOWAIT), 0);
	pattern(m.data, 30, 4);
	ck_rc(sp_ring_commit(r, &m, 30), 0);
	put_pattern(r, 31, 5, SP_NOWAIT);
	get_pattern(r, 30, 4, SP_NOWAIT);
	get_pattern(r, 31, 5, SP_NOWAIT);
	sp_ring_close(r);
}
END_TEST

/* A reservation given up is never delivered: a reader waiting behind it
 * goes on to the next record, the space comes back, the counters count
 * only commits; and a reservation cannot be finished twice. */
START_TEST(test_cancel)
{
	unsigned char buf[1024];
	struct sp_ring_stat st;
	struct sp_msg m, m2;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "cn", SMALL_CAP, 1);
	put_pattern(r, 20, 1, SP_NOWAIT);
	ck_rc(sp_ring_reserve(r, 100, &m, SP_NOWAIT), 0);
	put_pattern(r, 21, 2, SP_NOWAIT);             /* waits behind the reservation */
	get_pattern(r, 20, 1, SP_NOWAIT);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_rc(sp_ring_seal(r), -EBUSY);               /* a reservation is open */
	ck_rc(sp_ring_cancel(r, &m), 0);
	get_pattern(r, 21, 2, SP_NOWAIT);             /* stepped over */
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	/* Finished already: a second cancel or a commit is refused, and
	 * writes nothing. */
	ck_rc(sp_ring_cancel(r, &m), -EINVAL);
	ck_rc(sp_ring_commit(r, &m, 10), -EINVAL);
	ck_rc(sp_ring_reserve(r, 10, &m2, SP_NOWAIT), 0);
	ck_rc(sp_ring_commit(r, &m2, 10), 0);
	ck_rc(sp_ring_commit(r, &m2, 10), -EINVAL);
	ck_rc(sp_ring_cancel(r, &m2), -EINVAL);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 10);
	/* Not a reservation: a peeked record. */
	put_pattern(r, 5, 3, SP_NOWAIT);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_rc(sp_ring_cancel(r, &m), -EINVAL);
	ck_rc(sp_ring_release(r, &m), 0);
	/* The space of cancelled records comes back as readers pass them
	 * (a reader finding nothing else steps over them): many times the
	 * ring. */
	for (int i = 0; i < 200; i++) {
		ck_rc(sp_ring_reserve(r, 900, &m, SP_NOWAIT), 0);
		ck_rc(sp_ring_cancel(r, &m), 0);
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	}
	st = stat_of(r);
	ck_assert_uint_eq(st.recs_in, 4);
	ck_assert_uint_eq(st.recs_out, 4);
	ck_assert_uint_eq(st.used, 0);
	ck_rc(sp_ring_seal(r), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	sp_ring_close(r);
}
END_TEST

START_TEST(test_peek_release)
{
	struct sp_ring_stat st;
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "peek", SMALL_CAP, 1);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), -EAGAIN);
	for (int i = 0; i < 3; i++)
		put_pattern(r, 40 + (size_t)i, (uint64_t)i, SP_NOWAIT);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 40);
	check_pattern(m.data, 40, 0, "peek 0");
	/* Taken but not released: counted, its space still held. */
	st = stat_of(r);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.recs_out, 0);
	ck_rc(sp_ring_release(r, &m), 0);
	st = stat_of(r);
	ck_assert_uint_eq(st.records, 2);
	ck_assert_uint_eq(st.recs_out, 1);
	ck_assert_uint_eq(st.bytes_out, 40);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 41);
	check_pattern(m.data, 41, 1, "peek 1");
	ck_rc(sp_ring_release(r, &m), 0);
	get_pattern(r, 42, 2, SP_NOWAIT);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

/* One writer's records come out in order, through many wraps of a small
 * ring, whatever mix of put/reserve and get/peek is used. */
START_TEST(test_fifo_one_writer)
{
	unsigned char buf[1024];
	uint32_t next_put = 0, next_get = 0;
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "fifo", SMALL_CAP, 1);
	while (next_get < 20000) {
		/* Fill until full. */
		for (;;) {
			size_t len = 4 + next_put % 61;
			int rc;

			if (next_put % 3) {
				memset(buf, (int)(next_put & 0xff), len);
				memcpy(buf, &next_put, 4);
				rc = sp_ring_put(r, buf, len, SP_NOWAIT);
			} else {
				rc = sp_ring_reserve(r, len, &m, SP_NOWAIT);
				if (rc == 0) {
					memset(m.data, (int)(next_put & 0xff), len);
					memcpy(m.data, &next_put, 4);
					ck_rc(sp_ring_commit(r, &m, len), 0);
				}
			}
			if (rc == -EAGAIN)
				break;
			ck_rc(rc, 0);
			next_put++;
		}
		/* Drain. */
		while (next_get < next_put) {
			size_t len = 4 + next_get % 61;
			const unsigned char *p;
			uint32_t seq;

			if (next_get % 2) {
				ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), len);
				p = buf;
			} else {
				ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
				ck_assert_uint_eq(m.len, len);
				p = m.data;
			}
			memcpy(&seq, p, 4);
			ck_assert_msg(seq == next_get, "record %u came out as number %u", seq, next_get);
			for (size_t k = 4; k < len; k++)
				ck_assert_uint_eq(p[k], next_get & 0xff);
			if (next_get % 2 == 0)
				ck_rc(sp_ring_release(r, &m), 0);
			next_get++;
		}
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	}
	sp_ring_close(r);
}
END_TEST

/* Two writing handles interleaved: each one's records keep their order. */
START_TEST(test_fifo_two_handles)
{
	uint32_t next[2] = { 0, 0 }, want[2] = { 0, 0 }, rec[2];
	char name[64];
	sp_ring *w[2], *rd;

	w[0] = ring_new(name, sizeof(name), "fifo2", SMALL_CAP, 2);
	w[1] = ring_attach(name);
	rd = ring_attach(name);
	for (int round = 0; round < 200; round++) {
		for (int k = 0; k < 40; k++) {
			int h = (int)(splitmix(&(uint64_t){ (uint64_t)(round * 40 + k) }) & 1);

			rec[0] = (uint32_t)h;
			rec[1] = next[h]++;
			ck_rc(sp_ring_put(w[h], rec, sizeof(rec), SP_NOWAIT), 0);
		}
		for (int k = 0; k < 40; k++) {
			ck_rc(sp_ring_get(rd, rec, sizeof(rec), SP_NOWAIT), sizeof(rec));
			ck_assert_uint_lt(rec[0], 2);
			ck_assert_uint_eq(rec[1], want[rec[0]]);
			want[rec[0]]++;
		}
	}
	ck_assert_uint_eq(want[0], next[0]);
	ck_assert_uint_eq(want[1], next[1]);
	sp_ring_close(rd);
	sp_ring_close(w[1]);
	sp_ring_close(w[0]);
}
END_TEST

/* ---- wrap-around ---------------------------------------------------------- */

/* The record format (ring_layout.h): a 16-byte header, the payload padded to
 * 8 bytes, positions starting at 0, the data area mapped twice back to back
 * so that a record is contiguous wherever it falls.  The test checks this
 * model as it goes, from where zero-copy pointers land, so that it really
 * starts a run of records at every offset. */
#define REC_HDR 16u
static uint64_t stride(size_t len)
{
	return REC_HDR + ((len + 7) & ~(uint64_t)7);
}

struct wrap_state {
	uint64_t pos;       /* modelled position of the next record */
	uint64_t base;      /* address of the data area, learnt from the first record */
	int have_base;
};

/* Asserts that a record's payload at data sits where the model puts the
 * record at position pos. */
static void check_at(struct wrap_state *ws, const void *data, uint64_t pos, const char *what)
{
	uint64_t at = (uint64_t)(uintptr_t)data - (pos & (SMALL_CAP - 1)) - REC_HDR;

	if (!ws->have_base) {
		ws->base = at;
		ws->have_base = 1;
	}
	ck_assert_msg(at == ws->base, "%s: payload at an unexpected address (%+" PRId64 " bytes): "
		      "the test's model of the record format is wrong", what,
		      (int64_t)(at - ws->base));
}

/* For every offset o of a 4 KiB ring, step 8: move the ring to o with
 * filler records of exact strides, then put records of varied lengths from
 * o until one crosses the end of the buffer (or the ring is full), take them
 * all and compare every byte.  _i 0: put/get; 1: reserve/commit and
 * peek/release, reading and writing in place across the end. */
START_TEST(test_wrap_every_offset)
{
	const int zc = _i;
	const uint64_t cap = SMALL_CAP, mask = cap - 1;
	struct wrap_state ws = { 0, 0, 0 };
	unsigned char *buf;
	struct sp_msg m;
	char name[64];
	size_t max;
	sp_ring *r;

	r = ring_new(name, sizeof(name), zc ? "wrapz" : "wrap", cap, 1);
	max = sp_ring_max_record(r);
	buf = malloc(max + 64);
	ck_assert_ptr_nonnull(buf);
	for (uint64_t o = 0; o < cap; o += 8) {
		uint64_t d = (o - ws.pos) & mask, total = 0;
		size_t lens[64];
		int n = 0;

		/* Advance to offset o: an empty ring, one filler at a time. */
		if (d == 8)
			d += cap;
		while (d) {
			uint64_t piece = d > stride(max) ? stride(max) : d;
			size_t flen;

			if (d - piece && d - piece < REC_HDR)
				piece = d - REC_HDR;
			flen = (size_t)(piece - REC_HDR);
			ck_rc(sp_ring_reserve(r, flen, &m, SP_NOWAIT), 0);
			check_at(&ws, m.data, ws.pos, "filler");
			pattern(m.data, flen, ~o);
			ck_rc(sp_ring_commit(r, &m, flen), 0);
			get_pattern(r, flen, ~o, SP_NOWAIT);
			d -= piece;
			ws.pos += piece;
		}
		ck_assert_uint_eq(ws.pos & mask, o);
		/* From o, records of varied lengths until one crosses the end. */
		while (o + total <= cap && n < 64) {
			uint64_t seed = o << 8 | (uint64_t)n;
			size_t len;

			if (n == 0)
				len = (size_t)((o / 8 * 37) % (max + 1));
			else
				len = (size_t)((o * 13 + (uint64_t)n * 131) % (max + 1));
			if (total + stride(len) > cap)
				break;
			if (zc) {
				ck_rc(sp_ring_reserve(r, len, &m, SP_NOWAIT), 0);
				ck_assert_uint_eq(m.len, len);
				check_at(&ws, m.data, ws.pos + total, "reserve");
				pattern(m.data, len, seed);
				ck_rc(sp_ring_commit(r, &m, len), 0);
			} else {
				put_pattern(r, len, seed, SP_NOWAIT);
			}
			lens[n++] = len;
			total += stride(len);
		}
		ck_assert_uint_eq(sp_ring_size(r), (size_t)n);
		for (int k = 0; k < n; k++) {
			uint64_t seed = o << 8 | (uint64_t)k;
			char what[64];

			snprintf(what, sizeof(what), "offset %" PRIu64 ", record %d of %d", o, k, n);
			if (zc) {
				ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
				ck_assert_uint_eq(m.len, lens[k]);
				check_at(&ws, m.data, ws.pos, what);
				check_pattern(m.data, lens[k], seed, what);
				ck_rc(sp_ring_release(r, &m), 0);
			} else {
				ssize_t got = sp_ring_get(r, buf, max + 64, SP_NOWAIT);

				ck_assert_msg(got == (ssize_t)lens[k], "%s: get returned %zd (%s), "
					      "expected %zu", what, got, errstr(got), lens[k]);
				check_pattern(buf, lens[k], seed, what);
			}
			ws.pos += stride(lens[k]);
		}
		ck_rc(sp_ring_get(r, buf, max + 64, SP_NOWAIT), -EAGAIN);
	}
	{
		struct sp_ring_stat st = stat_of(r);

		ck_assert_uint_eq(st.records, 0);
		ck_assert_uint_eq(st.recs_in, st.recs_out);
		ck_assert_uint_eq(st.bytes_in, st.bytes_out);
		/* It went round the ring more than once per offset. */
		ck_assert_uint_gt(ws.pos, (cap / 8 - 1) * cap);
	}
	free(buf);
	sp_ring_close(r);
}
END_TEST

/* ---- empty, full, timeouts, counters -------------------------------------- */

START_TEST(test_empty_nowait)
{
	unsigned char buf[64];
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "empty", SMALL_CAP, 1);
	ck_assert_int_eq(sp_ring_empty(r), 1);
	ck_assert_int_eq(sp_ring_full(r), 0);
	ck_assert_uint_eq(sp_ring_size(r), 0);
	ck_assert_int_eq(sp_ring_closed(r), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), -EAGAIN);
	put_pattern(r, 5, 5, SP_NOWAIT);
	get_pattern(r, 5, 5, SP_NOWAIT);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

/* Asserts call took at least ms milliseconds of CLOCK_MONOTONIC (no upper
 * bound: the machine is shared). */
#define ck_timed(call, want, ms)                                                       \
	do {                                                                            \
		int64_t t0_ = now_ns(), el_;                                            \
		ck_rc(call, want);                                                      \
		el_ = now_ns() - t0_;                                                   \
		ck_assert_msg(el_ >= MS(ms), "%s gave up after %.3f ms, before %d ms", \
			      #call, (double)el_ / MS(1), (int)(ms));                      \
	} while (0)

START_TEST(test_empty_timeout)
{
	unsigned char buf[64];
	struct sp_msg m;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "etime", SMALL_CAP, 1);
	ck_timed(sp_ring_get(r, buf, sizeof(buf), MS(50)), -ETIMEDOUT, 50);
	ck_timed(sp_ring_peek(r, &m, MS(50)), -ETIMEDOUT, 50);
	ck_timed(sp_ring_get(r, buf, sizeof(buf), 1), -ETIMEDOUT, 0);
	/* However long the spin, the timeout bounds the wait. */
	sp_ring_set_spin(r, 0);
	ck_timed(sp_ring_get(r, buf, sizeof(buf), MS(50)), -ETIMEDOUT, 50);
	sp_ring_set_spin(r, 10 * SEC);
	ck_timed(sp_ring_peek(r, &m, MS(50)), -ETIMEDOUT, 50);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_set_spin(r, SP_RING_DEFAULT_SPIN_NS);
	/* A record behind an uncommitted reservation is not ready either. */
	{
		sp_ring *w = ring_attach(name);
		struct sp_msg res;

		ck_rc(sp_ring_reserve(w, 20, &res, SP_NOWAIT), 0);
		put_pattern(r, 8, 1, SP_NOWAIT);
		ck_assert_int_eq(sp_ring_empty(r), 1);
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
		ck_timed(sp_ring_get(r, buf, sizeof(buf), MS(50)), -ETIMEDOUT, 50);
		pattern(res.data, 20, 2);
		ck_rc(sp_ring_commit(w, &res, 20), 0);
		get_pattern(r, 20, 2, SP_NOWAIT);
		get_pattern(r, 8, 1, SP_NOWAIT);
		sp_ring_close(w);
	}
	sp_ring_close(r);
}
END_TEST

START_TEST(test_full)
{
	unsigned char buf[64];
	struct sp_ring_stat st;
	struct sp_msg m;
	size_t n = 0;
	char name[64];
	sp_ring *r;

	r = ring_new(name, sizeof(name), "full", SMALL_CAP, 1);
	/* Fill with empty records until not even one more fits. */
	for (;;) {
		int rc = sp_ring_put(r, buf, 0, SP_NOWAIT);

		if (rc == -EAGAIN)
			break;
		ck_rc(rc, 0);
		n++;
		ck_assert_uint_le(n, SMALL_CAP);
	}
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(sp_ring_full(r), 1);
	ck_assert_int_eq(sp_ring_empty(r), 0);
	ck_assert_uint_eq(sp_ring_size(r), n);
	st = stat_of(r);
	ck_assert_uint_eq(st.records, n);
	ck_assert_uint_eq(st.recs_in, n);
	ck_assert_uint_le(st.used, SMALL_CAP);
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), -EAGAIN);
	ck_rc(sp_ring_put(r, buf, 10, SP_NOWAIT), -EAGAIN);
	ck_rc(sp_ring_reserve(r, 0, &m, SP_NOWAIT), -EAGAIN);
	ck_timed(sp_ring_put(r, buf, 0, MS(50)), -ETIMEDOUT, 50);
	ck_timed(sp_ring_reserve(r, 1, &m, MS(50)), -ETIMEDOUT, 50);
	/* Failed puts changed nothing. */
	ck_assert_uint_eq(stat_of(r).recs_in, n);
	/* One out, one in, and full again. */
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), 0);
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_ring_full(r), 1);
	for (size_t k = 0; k < n; k++)
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_ring_empty(r), 1);
	/* Empty again: it takes as many as before. */
	for (size_t k = 0; k < n; k++)
		ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), 0);
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

/* Counters are exact when the ring is quiet, summed over handles, and kept
 * when a handle leaves. */
START_TEST(test_counters)
{
	unsigned char buf[128];
	struct sp_ring_stat st;
	struct sp_msg m;
	char name[64];
	sp_ring *w, *rd;

	w = ring_new(name, sizeof(name), "cnt", 64 << 10, 1);
	rd = ring_attach(name);
	st = stat_of(rd);
	ck_assert_uint_eq(st.capacity, 64 << 10);
	ck_assert_uint_eq(st.max_record, 16 << 10);
	ck_assert_uint_eq(st.used, 0);
	ck_assert_uint_eq(st.records + st.recs_in + st.bytes_in + st.recs_out + st.bytes_out, 0);
	ck_assert_uint_eq(st.writers, 1);
	ck_assert_uint_eq(st.sealed, 0);
	ck_assert_uint_eq(st.attached, 2);
	ck_assert_uint_eq(st.dead, 0);
	ck_assert_uint_eq(st.readers_waiting + st.writers_waiting, 0);
	for (size_t len = 0; len < 100; len++)
		put_pattern(w, len, len, SP_NOWAIT);
	st = stat_of(rd);
	ck_assert_uint_eq(st.recs_in, 100);
	ck_assert_uint_eq(st.bytes_in, 4950);
	ck_assert_uint_eq(st.recs_out, 0);
	ck_assert_uint_eq(st.bytes_out, 0);
	ck_assert_uint_eq(st.records, 100);
	ck_assert_uint_ge(st.used, 4950 + 100);
	ck_assert_uint_le(st.used, 64 << 10);
	ck_assert_uint_eq(sp_ring_size(rd), 100);
	ck_assert_int_eq(sp_ring_empty(rd), 0);
	for (size_t len = 0; len < 40; len++)
		get_pattern(rd, len, len, SP_NOWAIT);
	st = stat_of(w);
	ck_assert_uint_eq(st.recs_in, 100);
	ck_assert_uint_eq(st.recs_out, 40);
	ck_assert_uint_eq(st.bytes_out, 780);
	ck_assert_uint_eq(st.records, 60);
	ck_assert_uint_eq(sp_ring_size(w), 60);
	ck_assert_uint_eq(st.attached, 2);
	ck_assert_uint_eq(st.readers, 1);
	ck_assert_uint_eq(st.writers_live, 1);
	for (size_t len = 40; len < 100; len++)
		get_pattern(rd, len, len, SP_NOWAIT);
	st = stat_of(rd);
	ck_assert_uint_eq(st.recs_out, 100);
	ck_assert_uint_eq(st.bytes_out, 4950);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(sp_ring_size(rd), 0);
	ck_assert_int_eq(sp_ring_empty(rd), 1);
	/* The writer leaves: what it put still counts. */
	sp_ring_close(w);
	st = stat_of(rd);
	ck_assert_uint_eq(st.recs_in, 100);
	ck_assert_uint_eq(st.bytes_in, 4950);
	ck_assert_uint_eq(st.attached, 1);
	ck_assert_uint_eq(st.writers_live, 0);
	/* A record taken and not yet released still occupies its space. */
	put_pattern(rd, 64, 1, SP_NOWAIT);
	ck_rc(sp_ring_peek(rd, &m, SP_NOWAIT), 0);
	st = stat_of(rd);
	ck_assert_uint_eq(st.records, 1);
	ck_assert_uint_gt(st.used, 64);
	ck_assert_int_eq(sp_ring_empty(rd), 1);
	ck_rc(sp_ring_release(rd, &m), 0);
	st = stat_of(rd);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.recs_in, 101);
	ck_assert_uint_eq(st.bytes_out, 4950 + 64);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_close(rd);
}
END_TEST

/* stat.used and sp_ring_full are exact when the ring is quiet: the space of
 * a record taken and released is free at once, as a put would find it. */
START_TEST(test_used_quiet)
{
	unsigned char buf[64];
	struct sp_msg m;
	char name[64];
	size_t n = 0;
	sp_ring *r;

	r = ring_new(name, sizeof(name), "used", SMALL_CAP, 1);
	put_pattern(r, 100, 1, SP_NOWAIT);
	ck_assert_uint_gt(stat_of(r).used, 100);
	get_pattern(r, 100, 1, SP_NOWAIT);
	ck_assert_msg(stat_of(r).used == 0, "quiet, empty ring: used %" PRIu64 ", expected 0",
		      stat_of(r).used);
	put_pattern(r, 10, 2, SP_NOWAIT);
	ck_rc(sp_ring_peek(r, &m, SP_NOWAIT), 0);
	ck_assert_uint_gt(stat_of(r).used, 10);
	ck_rc(sp_ring_release(r, &m), 0);
	ck_assert_msg(stat_of(r).used == 0, "after release: used %" PRIu64 ", expected 0",
		      stat_of(r).used);
	/* Full: not even an empty record fits; one out, and one fits. */
	while (sp_ring_put(r, buf, 0, SP_NOWAIT) == 0)
		n++;
	ck_assert_int_eq(sp_ring_full(r), 1);
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	ck_assert_msg(sp_ring_full(r) == 0, "a record was taken, yet sp_ring_full says not even an "
		      "empty one fits (used %" PRIu64 ")", stat_of(r).used);
	ck_rc(sp_ring_put(r, buf, 0, SP_NOWAIT), 0);
	for (size_t k = 0; k < n; k++)
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	ck_assert_int_eq(sp_ring_full(r), 0);
	ck_assert_msg(stat_of(r).used == 0, "drained: used %" PRIu64 ", expected 0", stat_of(r).used);
	sp_ring_close(r);
}
END_TEST

/* ---- blocking wake-up ------------------------------------------------------ */

/* A reader blocked with SP_FOREVER (asleep, as the ring reports) is woken by
 * a put.  _i: 0 get, 1 peek, 2 get with signals arriving while it sleeps
 * (-EINTR is never returned), 3 get that sleeps at once (spin 0). */
START_TEST(test_wake_reader)
{
	struct blocker b;
	struct blk_res res;
	char name[64];
	sp_ring *w;

	w = ring_new(name, sizeof(name), "wake", SMALL_CAP, 1);
	blocker_start(&b, name, _i == 1 ? BLK_PEEK : BLK_GET, 0, 0, _i == 2, _i == 3 ? 0 : -1);
	wait_sleepers(w, 1, 0);
	if (_i == 2) {
		for (int k = 0; k < 5; k++) {
			ck_assert(kill(b.pid, SIGUSR1) == 0);
			wait_sleepers(w, 1, 0);
		}
	}
	put_pattern(w, 40, 40, SP_NOWAIT);
	blocker_finish(&b, &res);
	ck_assert_msg(res.rc >= 0, "blocked reader: %s", errstr(res.rc));
	ck_assert_uint_eq(res.len, 40);
	check_pattern(res.data, 40, 40, "woken reader");
	ck_assert_int_eq(sp_ring_empty(w), 1);
	ck_assert_uint_eq(stat_of(w).recs_out, 1);
	sp_ring_close(w);
}
END_TEST

/* A timeout too long to add to the clock waits as SP_FOREVER: a reader
 * given LLONG_MAX sleeps until a record comes.  (The deadline used to
 * overflow, and the get failed at once with -ETIMEDOUT.) */
START_TEST(test_wait_llong_max)
{
	struct blocker b;
	struct blk_res res;
	char name[64];
	sp_ring *w;

	w = ring_new(name, sizeof(name), "tmax", SMALL_CAP, 1);
	blocker_start(&b, name, BLK_GET_LLONG_MAX, 0, 0, 0, 0);
	wait_sleepers(w, 1, 0);
	put_pattern(w, 30, 3, SP_NOWAIT);
	blocker_finish(&b, &res);
	ck_assert_msg(res.rc == 30, "get(LLONG_MAX): %lld (%s)", res.rc, errstr((int)res.rc));
	check_pattern(res.data, 30, 3, "reader woken from a LLONG_MAX wait");
	sp_ring_close(w);
}
END_TEST

/* A reader killed asleep leaves its sleeper bit set (ring_layout.h,
 * "Doorbells").  The next record's doorbell takes it and wakes nobody, then
 * goes on to the live sleeper, which gets the record; no bit is left, so
 * writers do not go on paying a system call per record for the dead. */
START_TEST(test_dead_sleeper)
{
	struct blocker dead, live;
	struct blk_res res;
	char name[64];
	sp_ring *w, *x;

	w = ring_new(name, sizeof(name), "dsl", SMALL_CAP, 1);
	blocker_start(&dead, name, BLK_GET, 0, 0, 0, 0);
	wait_sleepers(w, 1, 0);
	ck_assert(kill(dead.pid, SIGKILL) == 0);
	ck_assert_int_eq(tu_wait(dead.pid), 128 + SIGKILL);
	close(dead.res_fd);
	/* A handle that never sleeps takes the dead one's slot (the first
	 * free), bit and all; the live sleeper gets the next. */
	x = ring_attach(name);
	blocker_start(&live, name, BLK_GET, 0, 0, 0, 0);
	wait_sleepers(w, 2, 0);
	put_pattern(w, 10, 1, SP_NOWAIT);
	blocker_finish(&live, &res);
	ck_assert_msg(res.rc == 10, "live sleeper: %lld (%s)", res.rc, errstr((int)res.rc));
	ck_assert_uint_eq(stat_of(w).readers_waiting, 0);
	sp_ring_close(x);
	sp_ring_close(w);
}
END_TEST

/* A writer blocked on a full ring is woken when space is released. */
START_TEST(test_wake_writer)
{
	unsigned char buf[256];
	struct blocker b;
	struct blk_res res;
	char name[64];
	size_t n = 0;
	sp_ring *r;

	r = ring_new(name, sizeof(name), "wakew", SMALL_CAP, 1);
	while (sp_ring_put(r, buf, 0, SP_NOWAIT) == 0)
		n++;
	blocker_start(&b, name, BLK_PUT, 100, 77, 0, -1);
	wait_sleepers(r, 0, 1);
	for (size_t k = 0; k < n; k++)
		ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	blocker_finish(&b, &res);
	ck_rc(res.rc, 0);
	get_pattern(r, 100, 77, LONG_WAIT);
	sp_ring_close(r);
}
END_TEST

/* ---- seal and drain ----------------------------------------------------- */

START_TEST(test_seal_two_writers)
{
	unsigned char buf[64];
	struct sp_ring_stat st;
	struct sp_msg m;
	char name[64];
	sp_ring *a, *b, *rd;

	a = ring_new(name, sizeof(name), "seal", SMALL_CAP, 2);
	b = ring_attach(name);
	rd = ring_attach(name);
	put_pattern(a, 11, 1, SP_NOWAIT);
	put_pattern(b, 12, 2, SP_NOWAIT);
	ck_rc(sp_ring_seal(a), 0);
	/* a may put no more; b still may; the ring is not closed. */
	ck_rc(sp_ring_put(a, buf, 5, SP_NOWAIT), -EPIPE);
	ck_rc(sp_ring_reserve(a, 5, &m, SP_NOWAIT), -EPIPE);
	ck_assert_int_eq(sp_ring_closed(rd), 0);
	put_pattern(b, 13, 3, SP_NOWAIT);
	st = stat_of(rd);
	ck_assert_uint_eq(st.sealed, 1);
	ck_assert_uint_eq(st.writers, 2);
	/* Reading a sealed-once ring: records, then -EAGAIN, not -EPIPE. */
	get_pattern(rd, 11, 1, SP_NOWAIT);
	get_pattern(rd, 12, 2, SP_NOWAIT);
	get_pattern(rd, 13, 3, SP_NOWAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_timed(sp_ring_get(rd, buf, sizeof(buf), MS(20)), -ETIMEDOUT, 20);
	put_pattern(b, 14, 4, SP_NOWAIT);
	put_pattern(b, 15, 5, SP_NOWAIT);
	ck_rc(sp_ring_seal(b), 0);
	/* Closed: no handle may put, sealed or not. */
	ck_assert_int_eq(sp_ring_closed(rd), 1);
	ck_assert_int_eq(sp_ring_closed(a), 1);
	ck_rc(sp_ring_put(b, buf, 5, SP_NOWAIT), -EPIPE);
	ck_rc(sp_ring_put(rd, buf, 5, SP_NOWAIT), -EPIPE);
	ck_rc(sp_ring_put(rd, buf, 5, SP_FOREVER), -EPIPE);
	ck_rc(sp_ring_reserve(rd, 5, &m, SP_NOWAIT), -EPIPE);
	st = stat_of(rd);
	ck_assert_uint_eq(st.sealed, 2);
	/* The remaining records, then -EPIPE however one waits. */
	get_pattern(rd, 14, 4, SP_NOWAIT);
	get_pattern(rd, 15, 5, SP_FOREVER);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), MS(50)), -EPIPE);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	ck_rc(sp_ring_peek(rd, &m, SP_FOREVER), -EPIPE);
	ck_rc(sp_ring_get(a, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	/* A handle attached after closing sees it closed too. */
	{
		sp_ring *late = ring_attach(name);

		ck_assert_int_eq(sp_ring_closed(late), 1);
		ck_rc(sp_ring_put(late, buf, 1, SP_NOWAIT), -EPIPE);
		ck_rc(sp_ring_get(late, buf, sizeof(buf), SP_FOREVER), -EPIPE);
		sp_ring_close(late);
	}
	sp_ring_close(rd);
	sp_ring_close(b);
	sp_ring_close(a);
}
END_TEST

START_TEST(test_seal_idempotent)
{
	char name[64];
	sp_ring *a;

	a = ring_new(name, sizeof(name), "seal2", SMALL_CAP, 2);
	ck_rc(sp_ring_seal(a), 0);
	ck_rc(sp_ring_seal(a), 0);
	ck_rc(sp_ring_seal(a), 0);
	ck_assert_uint_eq(stat_of(a).sealed, 1);
	ck_assert_int_eq(sp_ring_closed(a), 0);
	sp_ring_close(a);
}
END_TEST

/* A seal with a reservation outstanding is refused and changes nothing. */
START_TEST(test_seal_busy)
{
	unsigned char buf[64];
	struct sp_msg m;
	char name[64];
	sp_ring *w, *rd;

	w = ring_new(name, sizeof(name), "busy", SMALL_CAP, 1);
	rd = ring_attach(name);
	ck_rc(sp_ring_reserve(w, 16, &m, SP_NOWAIT), 0);
	ck_rc(sp_ring_seal(w), -EBUSY);
	ck_assert_uint_eq(stat_of(rd).sealed, 0);
	ck_assert_int_eq(sp_ring_closed(rd), 0);
	pattern(m.data, 16, 16);
	ck_rc(sp_ring_commit(w, &m, 16), 0);
	ck_rc(sp_ring_seal(w), 0);
	ck_assert_int_eq(sp_ring_closed(rd), 1);
	get_pattern(rd, 16, 16, SP_NOWAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	sp_ring_close(rd);
	sp_ring_close(w);
}
END_TEST

/* A reader asleep on an empty ring is woken by the final seal with -EPIPE.
 * _i: 0 get, 1 peek. */
START_TEST(test_seal_wakes_reader)
{
	struct blocker b;
	struct blk_res res;
	char name[64];
	sp_ring *w;

	w = ring_new(name, sizeof(name), "sealw", SMALL_CAP, 1);
	blocker_start(&b, name, _i ? BLK_PEEK : BLK_GET, 0, 0, 0, -1);
	wait_sleepers(w, 1, 0);
	ck_rc(sp_ring_seal(w), 0);
	blocker_finish(&b, &res);
	ck_rc(res.rc, -EPIPE);
	sp_ring_close(w);
}
END_TEST

/* A writer asleep on a full ring gets -EPIPE when another handle's seal
 * closes the ring. */
START_TEST(test_seal_wakes_writer)
{
	unsigned char buf[16];
	struct blocker b;
	struct blk_res res;
	char name[64];
	size_t n = 0;
	sp_ring *w;

	w = ring_new(name, sizeof(name), "sealww", SMALL_CAP, 1);
	while (sp_ring_put(w, buf, 0, SP_NOWAIT) == 0)
		n++;
	blocker_start(&b, name, BLK_PUT, 10, 1, 0, -1);
	wait_sleepers(w, 0, 1);
	ck_rc(sp_ring_seal(w), 0);
	blocker_finish(&b, &res);
	ck_rc(res.rc, -EPIPE);
	for (size_t k = 0; k < n; k++)
		ck_rc(sp_ring_get(w, buf, sizeof(buf), SP_NOWAIT), 0);
	ck_rc(sp_ring_get(w, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	sp_ring_close(w);
}
END_TEST

/* A writer that dies without sealing does not count toward closing. */
START_TEST(test_seal_dead_writer)
{
	unsigned char buf[64];
	char name[64];
	struct victim v;
	sp_ring *a, *rd;

	a = ring_new(name, sizeof(name), "sealdead", SMALL_CAP, 2);
	rd = ring_attach(name);
	if (victim_fork(&v)) {
		sp_ring *c;

		if (sp_ring_open(name, 0, NULL, &c))
			_exit(2);
		unsigned char rec[9];

		pattern(rec, 9, 9);
		if (sp_ring_put(c, rec, 9, SP_NOWAIT))
			_exit(3);
		victim_ready(&v);   /* dies: no seal, no close */
	}
	victim_wait(&v, "writer");
	victim_kill(&v);
	ck_rc(sp_ring_seal(a), 0);
	ck_assert_int_eq(sp_ring_closed(rd), 0);
	get_pattern(rd, 9, 9, SP_NOWAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_timed(sp_ring_get(rd, buf, sizeof(buf), MS(30)), -ETIMEDOUT, 30);
	/* The second expected seal, from a live handle, closes it. */
	ck_rc(sp_ring_seal(rd), 0);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	sp_ring_close(rd);
	sp_ring_close(a);
}
END_TEST

/* A reader that holds records it peeked on a closed ring gets -EPIPE once
 * nothing else can come to it: not while another live handle holds one
 * (that one comes back if its holder dies), but as soon as only its own
 * are left, however it waits (it would otherwise wait on itself). */
START_TEST(test_seal_own_peeks)
{
	unsigned char buf[64];
	struct sp_msg m1, m2, m3;
	char name[64];
	sp_ring *w, *rd, *other;

	w = ring_new(name, sizeof(name), "sealown", SMALL_CAP, 1);
	rd = ring_attach(name);
	other = ring_attach(name);
	for (unsigned i = 1; i <= 3; i++)
		put_pattern(w, 20 + i, i, SP_NOWAIT);
	ck_rc(sp_ring_seal(w), 0);
	ck_rc(sp_ring_peek(rd, &m1, SP_NOWAIT), 0);
	ck_rc(sp_ring_peek(rd, &m2, SP_NOWAIT), 0);
	ck_rc(sp_ring_peek(other, &m3, SP_NOWAIT), 0);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_timed(sp_ring_get(rd, buf, sizeof(buf), MS(20)), -ETIMEDOUT, 20);
	ck_rc(sp_ring_release(other, &m3), 0);
	/* Only rd's own are left. */
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), MS(20)), -EPIPE);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	ck_rc(sp_ring_peek(rd, &m3, SP_FOREVER), -EPIPE);
	/* For the other handle they are rd's, which may yet come back. */
	ck_rc(sp_ring_get(other, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_uint_eq(m1.len, 21);
	ck_assert_uint_eq(m2.len, 22);
	ck_rc(sp_ring_release(rd, &m2), 0);
	ck_rc(sp_ring_release(rd, &m1), 0);
	ck_rc(sp_ring_get(other, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	sp_ring_close(other);
	sp_ring_close(rd);
	sp_ring_close(w);
}
END_TEST

/* ---- close and crash ------------------------------------------------------ */

/* Takes two records in any order: each must come exactly once. */
static void get_both(sp_ring *r, size_t len_a, uint64_t seed_a, size_t len_b, uint64_t seed_b)
{
	unsigned char buf[512];
	int got_a = 0, got_b = 0;

	for (int k = 0; k < 2; k++) {
		ssize_t n = sp_ring_get(r, buf, sizeof(buf), LONG_WAIT);

		ck_assert_msg(n >= 0, "get %d: %s", k, errstr(n));
		if ((size_t)n == len_a) {
			ck_assert_msg(!got_a, "the redelivered record came twice");
			check_pattern(buf, len_a, seed_a, "redelivered record");
			got_a = 1;
		} else {
			ck_assert_uint_eq((size_t)n, len_b);
			ck_assert_msg(!got_b, "the second record came twice");
			check_pattern(buf, len_b, seed_b, "second record");
			got_b = 1;
		}
	}
	ck_rc(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
}

/* A reader closes holding a peeked record: another reader gets it; its
 * space is then free. */
START_TEST(test_close_peeked)
{
	unsigned char buf[512];
	struct sp_msg m;
	char name[64];
	sp_ring *w, *r1, *r2;

	w = ring_new(name, sizeof(name), "cpeek", SMALL_CAP, 1);
	r1 = ring_attach(name);
	r2 = ring_attach(name);
	put_pattern(w, 30, 1, SP_NOWAIT);
	put_pattern(w, 40, 2, SP_NOWAIT);
	ck_rc(sp_ring_peek(r1, &m, SP_NOWAIT), 0);
	ck_assert_uint_eq(m.len, 30);
	sp_ring_close(r1);
	get_both(r2, 30, 1, 40, 2);
	/* Only the one record left: redelivered too. */
	r1 = ring_attach(name);
	put_pattern(w, 50, 3, SP_NOWAIT);
	ck_rc(sp_ring_peek(r1, &m, SP_NOWAIT), 0);
	sp_ring_close(r1);
	get_pattern(r2, 50, 3, LONG_WAIT);
	ck_rc(sp_ring_get(r2, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	/* The ring wraps on over that space: it was freed. */
	wrap_on(w, r2);
	sp_ring_close(r2);
	sp_ring_close(w);
}
END_TEST

/* A writer closes holding a reservation: that record never arrives, and the
 * records behind it do. */
START_TEST(test_close_reserved)
{
	unsigned char buf[256];
	struct sp_msg m;
	char name[64];
	sp_ring *w1, *w2, *rd;

	w1 = ring_new(name, sizeof(name), "cres", SMALL_CAP, 1);
	w2 = ring_attach(name);
	rd = ring_attach(name);
	ck_rc(sp_ring_reserve(w1, 50, &m, SP_NOWAIT), 0);
	memset(m.data, 0xee, 50);
	put_pattern(w2, 20, 2, SP_NOWAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	sp_ring_close(w1);
	get_pattern(rd, 20, 2, LONG_WAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_uint_eq(stat_of(rd).recs_in, 1);
	put_pattern(w2, 21, 3, SP_NOWAIT);
	get_pattern(rd, 21, 3, SP_NOWAIT);
	wrap_on(w2, rd);
	sp_ring_close(rd);
	sp_ring_close(w2);
}
END_TEST

/* A reader asleep behind another handle's reservation is not stuck when
 * that handle closes. */
START_TEST(test_close_reserved_sleeper)
{
	struct blocker b;
	struct blk_res res;
	struct sp_msg m;
	char name[64];
	sp_ring *w1, *w2;

	w1 = ring_new(name, sizeof(name), "cress", SMALL_CAP, 1);
	w2 = ring_attach(name);
	ck_rc(sp_ring_reserve(w1, 50, &m, SP_NOWAIT), 0);
	put_pattern(w2, 20, 2, SP_NOWAIT);
	blocker_start(&b, name, BLK_GET, 0, 0, 0, -1);
	wait_sleepers(w2, 1, 0);
	sp_ring_close(w1);
	blocker_finish(&b, &res);
	ck_assert_msg(res.rc == 20, "reader behind the abandoned record: %lld (%s)", res.rc,
		      errstr(res.rc));
	check_pattern(res.data, 20, 2, "record behind the abandoned one");
	sp_ring_close(w2);
}
END_TEST

/* A reader dies holding a peeked record: another reader gets it. */
START_TEST(test_crash_peeked)
{
	struct sp_ring_stat st;
	char name[64];
	sp_ring *w, *rd;
	struct victim v;

	w = ring_new(name, sizeof(name), "kpeek", SMALL_CAP, 1);
	put_pattern(w, 30, 1, SP_NOWAIT);
	put_pattern(w, 40, 2, SP_NOWAIT);
	if (victim_fork(&v)) {
		struct sp_msg m;
		sp_ring *c;

		if (sp_ring_open(name, 0, NULL, &c))
			_exit(2);
		if (sp_ring_peek(c, &m, SP_NOWAIT) || m.len != 30)
			_exit(3);
		victim_ready(&v);   /* dies holding it */
	}
	victim_wait(&v, "reader");
	victim_kill(&v);
	st = stat_of(w);
	ck_assert_uint_eq(st.dead, 1);
	ck_assert_uint_eq(st.attached, 1);
	rd = ring_attach(name);
	get_both(rd, 30, 1, 40, 2);
	wrap_on(w, rd);
	sp_ring_close(rd);
	sp_ring_close(w);
}
END_TEST

/* A writer dies holding a reservation: never delivered, and the readers
 * behind it go on. */
START_TEST(test_crash_reserved)
{
	unsigned char buf[256];
	struct victim v;
	char name[64];
	sp_ring *w, *rd;

	w = ring_new(name, sizeof(name), "kres", SMALL_CAP, 1);
	rd = ring_attach(name);
	if (victim_fork(&v)) {
		struct sp_msg m;
		sp_ring *h;

		if (sp_ring_open(name, 0, NULL, &h))
			_exit(2);
		if (sp_ring_reserve(h, 50, &m, SP_NOWAIT))
			_exit(3);
		memset(m.data, 0xee, 50);
		victim_ready(&v);   /* dies holding it */
	}
	victim_wait(&v, "writer");
	put_pattern(w, 20, 2, SP_NOWAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	victim_kill(&v);
	get_pattern(rd, 20, 2, LONG_WAIT);
	ck_rc(sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	wrap_on(w, rd);
	sp_ring_close(rd);
	sp_ring_close(w);
}
END_TEST

/* A reader that only ever polls with SP_NOWAIT is not starved of what a
 * peer left behind: it gets the record a closed (_i 0) or dead (_i 1) reader
 * held, and the record behind a dead writer's reservation (_i 2), within a
 * bounded number of polls (2 s of them; no sleeping). */
START_TEST(test_nowait_poller_recovers)
{
	unsigned char buf[256];
	char name[64];
	sp_ring *w, *rd;
	int64_t t0;
	ssize_t n;
	long polls = 0;

	w = ring_new(name, sizeof(name), "poll", SMALL_CAP, 1);
	rd = ring_attach(name);
	if (_i < 2)
		put_pattern(w, 30, 1, SP_NOWAIT);
	if (_i == 0) {
		sp_ring *r1 = ring_attach(name);
		struct sp_msg m;

		ck_rc(sp_ring_peek(r1, &m, SP_NOWAIT), 0);
		sp_ring_close(r1);
	} else {
		struct victim v;

		if (victim_fork(&v)) {
			struct sp_msg m;
			sp_ring *c;

			if (sp_ring_open(name, 0, NULL, &c))
				_exit(2);
			if (_i == 1 && (sp_ring_peek(c, &m, SP_NOWAIT) || m.len != 30))
				_exit(3);
			if (_i == 2 && sp_ring_reserve(c, 50, &m, SP_NOWAIT))
				_exit(3);
			victim_ready(&v);   /* dies holding it */
		}
		victim_wait(&v, "peer");
		victim_kill(&v);
		if (_i == 2)
			put_pattern(w, 20, 2, SP_NOWAIT);
	}
	t0 = now_ns();
	do {
		n = sp_ring_get(rd, buf, sizeof(buf), SP_NOWAIT);
		polls++;
		if (n == -EAGAIN)
			sched_yield();
	} while (n == -EAGAIN && now_ns() - t0 < 2 * SEC);
	ck_assert_msg(n >= 0, "%ld polls with SP_NOWAIT over %.0f ms: still %s", polls,
		      (double)(now_ns() - t0) / MS(1), errstr(n));
	if (_i == 2) {
		ck_assert_int_eq(n, 20);
		check_pattern(buf, 20, 2, "record behind the dead writer's");
	} else {
		ck_assert_int_eq(n, 30);
		check_pattern(buf, 30, 1, "redelivered record");
	}
	sp_ring_close(rd);
	sp_ring_close(w);
}
END_TEST

/* ---- many processes --------------------------------------------------------- */

/* With stagger, the tools start one by one, each once the ring's counters
 * show the ones before at work: the first consumer and the first producer
 * have each side to themselves, so each side is biased to them (where
 * membarrier works), and every later one revokes a busy owner mid-stream. */
static const struct mp_cfg {
	unsigned producers, consumers, count, stagger;
} mp_cfgs[] = {
	{ 1, 1, 20000, 0 },
	{ 2, 2, 10000, 0 },
	{ 3, 2, 8000, 0 },
	{ 1, 3, 20000, 0 },
	{ 2, 3, 40000, 1 },
};

/* Waits until the ring has seen at least `in` records committed and `out`
 * released (polling its counters, a millisecond apart: the tools need the
 * two cores more than we do); fails after 30 s, well inside the test's
 * timeout, with the counts reached (a tool that died says why on stderr). */
static struct sp_ring_stat wait_counts(sp_ring *r, uint64_t in, uint64_t out)
{
	struct timespec ms = { 0, 1000000 };
	struct sp_ring_stat st;

	for (int i = 0;; i++) {
		st = stat_of(r);
		if (st.recs_in >= in && st.recs_out >= out)
			return st;
		ck_assert_msg(i < 30000, "the tools got to %" PRIu64 " records in, %" PRIu64
			      " out, of %" PRIu64 " and %" PRIu64 " awaited", st.recs_in,
			      st.recs_out, in, out);
		nanosleep(&ms, NULL);
	}
}

#define MP_CAP (64u << 10)
#define MP_MAX_PROC 8

/* N producer and M consumer tools, exec'd, attached by name to a 64 KiB ring
 * that wraps many times: every record is delivered exactly once, each
 * consumer sees each producer's records in order, all checksums hold. */
START_TEST(test_processes)
{
	const struct mp_cfg *cfg = &mp_cfgs[_i];
	char name[64], tool[256], idarg[MP_MAX_PROC][16], countarg[16], maxarg[16];
	char first_dup[128] = "", first_order[128] = "", first_missing[128] = "";
	pid_t prod[MP_MAX_PROC], cons[MP_MAX_PROC];
	int pfd[MP_MAX_PROC], cfd[MP_MAX_PROC];
	uint64_t pbytes[MP_MAX_PROC] = { 0 }, cbytes[MP_MAX_PROC] = { 0 }, total_bytes = 0;
	uint64_t ccount[MP_MAX_PROC] = { 0 }, total_recs = 0;
	unsigned long dups = 0, reordered = 0, missing = 0;
	unsigned char *seen;
	struct sp_ring_stat st;
	sp_ring *r;

	r = ring_new(name, sizeof(name), "mp", MP_CAP, cfg->producers);
	seen = calloc(cfg->producers, cfg->count);
	ck_assert_ptr_nonnull(seen);
	tu_tool("tool_ring", tool, sizeof(tool));
	ck_assert_msg(access(tool, X_OK) == 0, "%s: %s", tool, strerror(errno));
	snprintf(countarg, sizeof(countarg), "%u", cfg->count);
	snprintf(maxarg, sizeof(maxarg), "%zu", sp_ring_max_record(r));
	/* Consumers first: they attach and wait for the first record. */
	for (unsigned j = 0; j < (cfg->stagger ? 1 : cfg->consumers); j++) {
		char *argv[] = { tool, "consume", name, NULL };

		cons[j] = tu_spawn(argv, &cfd[j]);
		ck_assert_msg(cons[j] > 0, "spawn consumer: %s", errstr(cons[j]));
	}
	for (unsigned i = 0; i < cfg->producers; i++) {
		snprintf(idarg[i], sizeof(idarg[i]), "%u", i);
		char *argv[] = { tool, "produce", name, idarg[i], countarg, "16", maxarg, NULL };

		prod[i] = tu_spawn(argv, &pfd[i]);
		ck_assert_msg(prod[i] > 0, "spawn producer: %s", errstr(prod[i]));
		if (!cfg->stagger)
			continue;
		if (i == 0) {
			/* Both sides lone: biased to the first tools. */
			st = wait_counts(r, cfg->count / 8, cfg->count / 8);
			if (tu_bias_checked()) {
				ck_assert_int_eq(st.writer_bias_pid, prod[0]);
				ck_assert_int_eq(st.reader_bias_pid, cons[0]);
			}
			/* The later consumers revoke the first one's bias. */
			for (unsigned j = 1; j < cfg->consumers; j++) {
				char *argv2[] = { tool, "consume", name, NULL };

				st = wait_counts(r, 0, cfg->count / 8 * (j + 1));
				cons[j] = tu_spawn(argv2, &cfd[j]);
				ck_assert_msg(cons[j] > 0, "spawn consumer: %s", errstr(cons[j]));
			}
		}
		if (i + 1 < cfg->producers)
			wait_counts(r, cfg->count / 2 * (i + 1), 0);
	}
	for (unsigned i = 0; i < cfg->producers; i++) {
		char *out = tu_slurp(pfd[i], NULL);
		unsigned id, count;
		int st_ = tu_wait(prod[i]);

		ck_assert_msg(st_ == 0, "producer %u exited with %d", i, st_);
		ck_assert_msg(out && sscanf(out, "produced %u %u %" SCNu64, &id, &count, &pbytes[i]) == 3 &&
			      id == i && count == cfg->count, "producer %u said \"%s\"", i,
			      out ? out : "(null)");
		free(out);
	}
	/* Every consumer's report: a consumer that saw records out of order
	 * still accounts for all it took (exit EX_DATAERR, X lines), so that
	 * duplicates and losses are told apart from reordering. */
	for (unsigned j = 0; j < cfg->consumers; j++) {
		char *out = tu_slurp(cfd[j], NULL), *line, *save = NULL;
		int64_t last[MP_MAX_PROC];
		uint64_t took[MP_MAX_PROC] = { 0 };
		int st_ = tu_wait(cons[j]), finished = 0;

		ck_assert_msg(st_ == 0 || st_ == 65, "consumer %u exited with %d", j, st_);
		ck_assert_ptr_nonnull(out);
		for (unsigned i = 0; i < MP_MAX_PROC; i++)
			last[i] = -1;
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			unsigned id;
			int64_t first, lastseq, after;
			uint64_t count, bytes;

			ck_assert_msg(!finished, "consumer %u: a line after the total: %s", j, line);
			if (sscanf(line, "R %u %" SCNd64 " %" SCNd64, &id, &first, &lastseq) == 3 ||
			    sscanf(line, "X %u %" SCNd64 " %" SCNd64, &id, &first, &after) == 3) {
				int x = line[0] == 'X';

				if (x)
					lastseq = first;
				ck_assert_msg(id < cfg->producers && first >= 0 && first <= lastseq &&
					      lastseq < (int64_t)cfg->count,
					      "consumer %u: impossible line \"%s\"", j, line);
				/* Per producer, per consumer: strictly increasing. */
				if (x || first <= last[id]) {
					if (!reordered++)
						snprintf(first_order, sizeof(first_order),
							 "consumer %u took %u/%" PRId64 " after %u/%" PRId64,
							 j, id, first, id, x ? after : last[id]);
				}
				if (!x)
					last[id] = lastseq;
				for (int64_t s = first; s <= lastseq; s++) {
					unsigned char *p = &seen[(size_t)id * cfg->count + (size_t)s];

					if (*p && !dups++)
						snprintf(first_dup, sizeof(first_dup),
							 "%u/%" PRId64 ", again to consumer %u", id, s, j);
					if (*p < 255)
						(*p)++;
				}
				took[id] += (uint64_t)(lastseq - first + 1);
			} else if (sscanf(line, "P %u %" SCNu64 " %" SCNd64 " %" SCNu64 " OK", &id, &count,
					  &lastseq, &bytes) == 4) {
				ck_assert_msg(id < cfg->producers, "consumer %u: \"%s\"", j, line);
				ck_assert_msg(count == took[id] && lastseq == last[id],
					      "consumer %u: summary \"%s\" disagrees with its runs", j, line);
				cbytes[id] += bytes;
				ccount[id] += count;
			} else if (sscanf(line, "T %" SCNu64 " %" SCNu64 " OK", &count, &bytes) == 2) {
				total_recs += count;
				total_bytes += bytes;
				finished = 1;
			} else {
				ck_abort_msg("consumer %u: unexpected line \"%s\"", j, line);
			}
		}
		ck_assert_msg(finished, "consumer %u (exit %d) made no report: a corrupt record? "
			      "(see its stderr)", j, st_);
		free(out);
	}
	/* Exactly once, all of them; then in order within each consumer. */
	for (unsigned i = 0; i < cfg->producers; i++)
		for (unsigned s = 0; s < cfg->count; s++)
			if (!seen[(size_t)i * cfg->count + s] && !missing++)
				snprintf(first_missing, sizeof(first_missing), "%u/%u", i, s);
	ck_assert_msg(!dups && !missing, "exactly once broken: %lu deliveries of a record already "
		      "delivered (first: %s), %lu records never delivered (first: %s); and %lu "
		      "records out of order (first: %s)", dups, first_dup, missing, first_missing,
		      reordered, first_order);
	ck_assert_msg(!reordered, "%lu records came out of order within a consumer (first: %s)",
		      reordered, first_order);
	for (unsigned i = 0; i < cfg->producers; i++) {
		ck_assert_uint_eq(ccount[i], cfg->count);
		ck_assert_msg(cbytes[i] == pbytes[i], "producer %u: %" PRIu64 " bytes put, %" PRIu64
			      " taken", i, pbytes[i], cbytes[i]);
	}
	ck_assert_uint_eq(total_recs, (uint64_t)cfg->producers * cfg->count);
	/* The ring agrees. */
	st = stat_of(r);
	ck_assert_uint_eq(st.recs_in, total_recs);
	ck_assert_uint_eq(st.recs_out, total_recs);
	ck_assert_uint_eq(st.bytes_in, total_bytes);
	ck_assert_uint_eq(st.bytes_out, total_bytes);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.sealed, cfg->producers);
	ck_assert_int_eq(sp_ring_closed(r), 1);
	/* Every biased tool gave its bias back when it closed (or lost it). */
	ck_assert_int_eq(st.writer_bias_pid, 0);
	ck_assert_int_eq(st.reader_bias_pid, 0);
	free(seen);
	sp_ring_close(r);
	ck_rc(sp_ring_unlink(name), 0);
	assert_objects(name, 0);
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc;

	tc = tu_tcase(s, "names", 10, NULL, teardown);
	tcase_add_test(tc, test_name_check_valid);
	tcase_add_test(tc, test_name_check_invalid);
	tcase_add_test(tc, test_name_open_invalid);
	tcase_add_test(tc, test_name_max_length);

	tc = tu_tcase(s, "lifecycle", 20, NULL, teardown);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_create_excl);
	tcase_add_test(tc, test_attach_ignores_opts);
	tcase_add_test(tc, test_capacity_invalid);
	tcase_add_test(tc, test_capacity_valid);
	tcase_add_test(tc, test_mode_default);
	tcase_add_test(tc, test_mode_0644);
	tcase_add_test(tc, test_mode_ignores_umask);
	tcase_add_test(tc, test_mode_invalid);
	tcase_add_test(tc, test_unlink);
	tcase_add_test(tc, test_second_handle);
	tcase_add_test(tc, test_max_participants);

	tc = tu_tcase(s, "create-race", 60, NULL, teardown);
	tcase_add_test(tc, test_create_race);

	tc = tu_tcase(s, "garbage", 20, NULL, teardown);
	tcase_add_test(tc, test_garbage_random_file);
	tcase_add_test(tc, test_garbage_random_ring);
	tcase_add_loop_test(tc, test_garbage_resized, 0,
			    (int)(sizeof(resize_what) / sizeof(resize_what[0])));
	tcase_add_loop_test(tc, test_garbage_version, 0, (int)(sizeof(flips) / sizeof(flips[0])));
	tcase_add_loop_test(tc, test_garbage_blank, 0, 4);

	tc = tu_tcase(s, "records", 30, NULL, teardown);
	tcase_add_test(tc, test_roundtrip_lengths);
	tcase_add_test(tc, test_msgsize);
	tcase_add_test(tc, test_get_small_buffer);
	tcase_add_test(tc, test_reserve_commit);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_peek_release);
	tcase_add_test(tc, test_fifo_one_writer);
	tcase_add_test(tc, test_fifo_two_handles);

	tc = tu_tcase(s, "wrap", 30, NULL, teardown);
	tcase_add_loop_test(tc, test_wrap_every_offset, 0, 2);

	tc = tu_tcase(s, "limits", 20, NULL, teardown);
	tcase_add_test(tc, test_empty_nowait);
	tcase_add_test(tc, test_empty_timeout);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_used_quiet);

	tc = tu_tcase(s, "wakeup", 30, NULL, teardown);
	tcase_add_loop_test(tc, test_wake_reader, 0, 4);
	tcase_add_test(tc, test_wake_writer);
	tcase_add_test(tc, test_wait_llong_max);
	tcase_add_test(tc, test_dead_sleeper);

	tc = tu_tcase(s, "seal", 30, NULL, teardown);
	tcase_add_test(tc, test_seal_two_writers);
	tcase_add_test(tc, test_seal_idempotent);
	tcase_add_test(tc, test_seal_busy);
	tcase_add_loop_test(tc, test_seal_wakes_reader, 0, 2);
	tcase_add_test(tc, test_seal_wakes_writer);
	tcase_add_test(tc, test_seal_dead_writer);
	tcase_add_test(tc, test_seal_own_peeks);

	tc = tu_tcase(s, "close", 30, NULL, teardown);
	tcase_add_test(tc, test_close_peeked);
	tcase_add_test(tc, test_close_reserved);
	tcase_add_test(tc, test_close_reserved_sleeper);
	tcase_add_test(tc, test_crash_peeked);
	tcase_add_test(tc, test_crash_reserved);
	tcase_add_loop_test(tc, test_nowait_poller_recovers, 0, 3);

	tc = tu_tcase(s, "processes", 60, NULL, teardown);
	tcase_add_test(tc, test_bias_lone);
	tcase_add_test(tc, test_bias_revoked);
	tcase_add_loop_test(tc, test_processes, 0, (int)(sizeof(mp_cfgs) / sizeof(mp_cfgs[0])));
	return s;
}

int main(void)
{
	tu_init();
	/* In a test's process: remove its rings even when an assertion ends it. */
	atexit(teardown);
	return tu_run(ring_suite(), TU_NEED_SHM);
}
