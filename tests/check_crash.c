/* check_crash.c: a participant killed at each labelled step of create, put and get, or with a forked child alive; the others recover. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/iplock.h"
#include "shared/list.h"
#include "shared/pipe.h"
#include "shared/queue.h"
#include "shared/ring.h"
#include "shared/shm.h"
#include "shared/sync.h"
#include "shared/value.h"
#include "testutil.h"

#define REC 64
#define WAIT 10000000000LL  /* survivors' bound: recovery takes a slice or two */

static pid_t tool_pid;  /* the last tool run_tool ran */

/* Was the side biased to the tool that died (its fast path is where the
 * crash point hit), where a side can be biased at all? */
static void assert_biased_to_tool(sp_ring *r, int writer)
{
	struct sp_ring_stat st;

	if (!tu_bias_checked())
		return;
	ck_assert_int_eq(sp_ring_stat(r, &st), 0);
	ck_assert_int_eq(writer ? st.writer_bias_pid : st.reader_bias_pid, tool_pid);
}

/* Runs tool_crash with args, killed at `label` after passing it `skip` times.
 * Returns the exit status (137 when the crash point fired); the tool's
 * stdout, if out is not NULL, goes into *out. */
static int run_tool(const char *label, int skip, char **out, const char *a1, const char *a2,
		    const char *a3, const char *a4)
{
	char tool[256];
	char *argv[] = { (char *)tu_tool("tool_crash", tool, sizeof(tool)), (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, NULL };
	int fd, st;
	pid_t pid;

	tu_crash_env(label, skip, 0);
	pid = tu_spawn(argv, out ? &fd : NULL);
	tool_pid = pid;
	tu_crash_env(NULL, 0, 0);
	ck_assert_int_gt(pid, 0);
	if (out)
		*out = tu_slurp(fd, NULL);
	st = tu_wait(pid);
	return st;
}

static void put_seq(sp_ring *r, long seq)
{
	ck_assert_int_eq(tu_put_seq(r, seq, WAIT), 0);
}

/* Takes one record with a bound, checks its pattern, returns its seq, or -1
 * for -EPIPE (closed and drained). */
static long get_seq(sp_ring *r)
{
	long seq = tu_get_seq(r, WAIT);

	ck_assert_msg(seq >= 0 || seq == -EPIPE, "get: %s", strerror((int)-seq));
	return seq == -EPIPE ? -1 : seq;
}

static const char *const writer_points[] = {
	"claim.locked", "claim.header", "claim.published", "reserve.done",
	"commit.before", "commit.after",
};

/* A writer dies at a step of its 4th record: records 0-2 arrive, record 3
 * arrives only if it was committed, no torn record ever does, and the
 * survivors (a new writer, a reader) neither hang nor lose anything. */
START_TEST(writer_dies)
{
	const char *label = writer_points[_i];
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };
	char name[64];
	sp_ring *r;
	long seq, expect;

	tu_name(name, sizeof(name), "cw");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	ck_assert_int_eq(run_tool(label, 3, NULL, "write", name, "0", "10"), 128 + SIGKILL);
	/* The lone writer died on its fast path (no claim lock): the survivor
	 * revokes a dead owner's bias, then writes on. */
	assert_biased_to_tool(r, 1);
	for (long i = 100; i < 105; i++)
		put_seq(r, i);
	ck_assert_int_eq(sp_ring_seal(r), 0);
	for (expect = 0; expect < 3; expect++)
		ck_assert_int_eq(get_seq(r), expect);
	seq = get_seq(r);
	if (!strcmp(label, "commit.after")) {
		ck_assert_int_eq(seq, 3);
		seq = get_seq(r);
	}
	for (expect = 100; expect < 105; expect++, seq = get_seq(r))
		ck_assert_int_eq(seq, expect);
	ck_assert_int_eq(seq, -1);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

static const char *const reader_points[] = {
	"take.claimed", "take.marked", "release.marked", "release.advanced",
};

/* A reader dies at a step of its 4th record (rd_release moves in batches,
 * so "release.advanced" first fires when the reader detaches): every record
 * is delivered exactly once between it and the survivor (the one it held is
 * adopted), and the space it held is reused: the ring wraps many times. */
START_TEST(reader_dies)
{
	const char *label = reader_points[_i];
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };
	int seen[10] = { 0 }, done = 0;
	char name[64], *out, *line, *save;
	sp_ring *w, *r;
	long seq;

	tu_name(name, sizeof(name), "cr");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &w), 0);
	ck_assert_int_eq(sp_ring_open(name, 0, NULL, &r), 0);
	for (long i = 0; i < 10; i++)
		put_seq(w, i);
	ck_assert_int_eq(run_tool(label, strcmp(label, "release.advanced") ? 3 : 0, &out,
				  "read", name, "10", NULL), 128 + SIGKILL);
	/* The lone reader died on its fast path; the survivor revokes. */
	if (strcmp(label, "release.advanced"))
		assert_biased_to_tool(r, 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		seq = atol(line);
		ck_assert(seq >= 0 && seq < 10);
		seen[seq]++;
		done++;
	}
	free(out);
	ck_assert_int_ge(done, 3);
	/* What the dead reader did not finish comes to the survivor. */
	for (int i = done; i < 10; i++) {
		seq = get_seq(r);
		ck_assert(seq >= 0 && seq < 10);
		seen[seq]++;
	}
	for (int i = 0; i < 10; i++)
		ck_assert_msg(seen[i] == 1, "record %d delivered %d times", i, seen[i]);
	/* 200 more records through a 4 KiB ring: no space was lost. */
	for (long i = 1000; i < 1200; i++) {
		put_seq(w, i);
		ck_assert_int_eq(get_seq(r), i);
	}
	ck_assert_int_eq(sp_ring_seal(w), 0);
	ck_assert_int_eq(get_seq(r), -1);
	sp_ring_close(r);
	sp_ring_close(w);
	sp_ring_unlink(name);
}
END_TEST

/* The lone writer is stopped (SIGSTOP) inside its fast path, holding the
 * writers' bias: a second writer must not wait on it beyond its own
 * timeout, and goes on once the owner resumes and leaves its section. */
START_TEST(owner_stopped)
{
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };  /* our seal closes it */
	char name[64], tool[256];
	char *argv[] = { (char *)tu_tool("tool_crash", tool, sizeof(tool)), "write", name, "0",
			 "10", NULL };
	int seen[11] = { 0 }, st;
	sp_ring *r;
	pid_t pid;

	tu_name(name, sizeof(name), "cs");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	tu_crash_env("claim.header", 3, 1);
	pid = tu_spawn(argv, NULL);
	tu_crash_env(NULL, 0, 0);
	ck_assert_int_gt(pid, 0);
	tool_pid = pid;
	st = tu_wait_stopped(pid);
	ck_assert_msg(st == 0, "the tool did not stop (status %d)", st);
	if (!tu_bias_checked()) {
		/* Unbiased, the tool holds the claim lock, which waits for a
		 * stopped holder as long as it takes: not this test's case. */
		ck_assert_int_eq(kill(pid, SIGCONT), 0);
		ck_assert_int_eq(tu_wait(pid), 0);
		sp_ring_close(r);
		sp_ring_unlink(name);
		return;
	}
	assert_biased_to_tool(r, 1);
	/* Bounded by our timeouts, not by the stopped owner. */
	ck_assert_int_eq(tu_put_seq(r, 100, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(tu_put_seq(r, 100, 20000000), -ETIMEDOUT);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_int_eq(tu_put_seq(r, 100, WAIT), 0);
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert_int_eq(sp_ring_seal(r), 0);
	/* The tool's records 0-9 in order, ours once, nothing else. */
	for (long expect = 0, got; (got = get_seq(r)) != -1;) {
		ck_assert(got == 100 || (got >= 0 && got < 10));
		if (got != 100)
			ck_assert_int_eq(got, expect++);
		seen[got == 100 ? 10 : got]++;
	}
	for (int i = 0; i < 11; i++)
		ck_assert_msg(seen[i] == 1, "record %d delivered %d times", i, seen[i]);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* A writer in a process that cannot call membarrier (a seccomp filter, as
 * in some sandboxes) joins a side biased to us: it cannot force our
 * barrier, so it waits for our acknowledgement, which our next call gives;
 * and from then on the ring is never biased again. */
START_TEST(revoke_without_membarrier)
{
	struct sp_ring_opts o = { .capacity = 4096, .writers = 2 };
	struct timespec ms = { 0, 1000000 };
	char name[64], wrap[256], tool[256];
	char *argv[] = { (char *)tu_tool("tool_nomb", wrap, sizeof(wrap)),
			 (char *)tu_tool("tool_crash", tool, sizeof(tool)), "write", name, "1", "1",
			 NULL };
	struct sp_ring_stat st;
	int seen[3] = { 0 }, status;
	sp_ring *w;
	pid_t pid;

	tu_name(name, sizeof(name), "cn");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &w), 0);
	put_seq(w, 0);
	ck_assert_int_eq(sp_ring_stat(w, &st), 0);
	if (st.writer_bias_pid != getpid()) {
		/* No membarrier here at all: nothing is ever biased. */
		sp_ring_close(w);
		sp_ring_unlink(name);
		return;
	}
	pid = tu_spawn(argv, NULL);
	ck_assert_int_gt(pid, 0);
	/* The tool revokes (the bias word leaves us), then waits for us; a
	 * tool that could not be sandboxed exits 77 at once. */
	for (;;) {
		ck_assert_int_eq(sp_ring_stat(w, &st), 0);
		if (st.writer_bias_pid != getpid())
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 77,
				      "tool ended with status %d", status);
			sp_ring_close(w);
			sp_ring_unlink(name);
			return;
		}
		nanosleep(&ms, NULL);
	}
	/* Our next put acknowledges, and the tool's put goes through. */
	put_seq(w, 2);
	ck_assert_int_eq(tu_wait(pid), 0);
	sp_ring_close(w);
	/* A lone writer again, but the ring stays unbiased. */
	ck_assert_int_eq(sp_ring_open(name, 0, NULL, &w), 0);
	put_seq(w, 3);
	ck_assert_int_eq(sp_ring_stat(w, &st), 0);
	ck_assert_int_eq(st.writer_bias_pid, 0);
	for (int i = 0; i < 4; i++) {
		long seq = get_seq(w);

		ck_assert(seq >= 0 && seq <= 3);
		if (i == 0)
			ck_assert_int_eq(seq, 0);
		if (seq < 3)
			seen[seq]++;
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(seen[i], 1);
	sp_ring_close(w);
	sp_ring_unlink(name);
}
END_TEST

static const char *const create_points[] = { "create.sized", "create.init" };

/* A creator dies half-way: attaching without SP_CREATE says no such ring,
 * with SP_CREATE makes a working one. */
START_TEST(creator_dies)
{
	char name[64];
	sp_ring *r;

	tu_name(name, sizeof(name), "cc");
	ck_assert_int_eq(run_tool(create_points[_i], 0, NULL, "create", name, NULL, NULL),
			 128 + SIGKILL);
	ck_assert_int_eq(sp_ring_open(name, 0, NULL, &r), -ENOENT);
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE, NULL, &r), 0);
	put_seq(r, 7);
	ck_assert_int_eq(get_seq(r), 7);
	sp_ring_close(r);
	ck_assert_int_eq(sp_ring_unlink(name), 0);
}
END_TEST

/* A participant dies attached: its slot shows as dead, and is reused. */
START_TEST(attached_dies)
{
	struct sp_ring_stat st;
	char name[64];
	sp_ring *r;

	tu_name(name, sizeof(name), "cj");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, NULL, &r), 0);
	ck_assert_int_eq(run_tool("open.joined", 0, NULL, "open", name, NULL, NULL), 128 + SIGKILL);
	ck_assert_int_eq(sp_ring_stat(r, &st), 0);
	ck_assert_uint_eq(st.attached, 1);
	ck_assert_uint_eq(st.dead, 1);
	ck_assert_int_eq(run_tool("none", 0, NULL, "open", name, NULL, NULL), 0);
	ck_assert_int_eq(sp_ring_stat(r, &st), 0);
	ck_assert_uint_eq(st.attached, 1);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* A reader dies holding a record after the ring was closed and every record
 * taken: the survivor is not told "drained" while the record is held, and
 * gets it once its holder is dead. */
START_TEST(reader_dies_after_close)
{
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };
	char tool[256], name[64], line[32];
	char *argv[] = { (char *)tu_tool("tool_crash", tool, sizeof(tool)), "hold", name, NULL };
	unsigned char buf[REC];
	sp_ring *r;
	FILE *out;
	pid_t pid;
	int fd, in;

	tu_name(name, sizeof(name), "cz");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	put_seq(r, 0);
	put_seq(r, 1);
	ck_assert_int_eq(sp_ring_seal(r), 0);
	/* The tool holds record 0 until its stdin ends: ours never does. */
	pid = tu_spawn_io(argv, &in, &fd);
	ck_assert_int_gt(pid, 0);
	out = fdopen(fd, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), out));
	ck_assert_int_eq(atol(line), 0);
	ck_assert_int_eq(get_seq(r), 1);
	/* Held by a live reader: not drained. */
	ck_assert_int_eq(sp_ring_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(tu_wait(pid), 128 + SIGKILL);
	fclose(out);
	close(in);
	ck_assert_int_eq(get_seq(r), 0);
	ck_assert_int_eq(get_seq(r), -1);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/*
 * A participant that forks.  The child is not a participant (it must open
 * the object by name to be one): it holds nothing, so when its parent dies
 * holding something, the survivors take it over while the child lives on;
 * and a call it makes on the inherited handle fails with -ECHILD, its close
 * touching nothing of the parent's.
 */
static const struct { const char *what, *how; } forks[] = {
	{ "ring", "fork" }, { "ring", "exec" }, { "ring", "spawn" },
	{ "lock", "fork" }, { "lock", "exec" }, { "lock", "spawn" },
	{ "iplock", "fork" }, { "iplock", "exec" }, { "iplock", "spawn" },
};

#define FORK_BOUND 3000000000LL   /* recovery takes a slice or two */

/* The object tool_fork takes, by what it is; the test's own handle to it. */
struct forked {
	char name[64], path[128];
	sp_ring *r;
	sp_lock *l;
	sp_iplock *ip;
	pid_t tool, child;
	FILE *out;
	int in;
};

static void forked_start(struct forked *f, const char *what, const char *how)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	char tool[256], line[64];
	char *argv[] = { (char *)tu_tool("tool_fork", tool, sizeof(tool)), (char *)what, f->name,
			 (char *)how, NULL };
	int fd;

	/* The child outlives the tool: as our child then, its end is ours
	 * to see (and to reap). */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	tu_name(f->name, sizeof(f->name), "fk");
	snprintf(f->path, sizeof(f->path), "/dev/shm/%s", f->name);
	f->r = NULL;
	f->l = NULL;
	f->ip = NULL;
	if (!strcmp(what, "ring")) {
		ck_assert_int_eq(sp_ring_open(f->name, SP_CREATE | SP_EXCL, &o, &f->r), 0);
	} else if (!strcmp(what, "lock")) {
		ck_assert_int_eq(sp_lock_open(f->name, SP_CREATE | SP_EXCL, 0, &f->l), 0);
	} else {
		ck_assert_int_eq(sp_iplock_open(f->path, 0, &f->ip), 0);
		argv[2] = f->path;
	}
	f->tool = tu_spawn_io(argv, &f->in, &fd);
	ck_assert_int_gt(f->tool, 0);
	f->out = fdopen(fd, "r");
	ck_assert_ptr_nonnull(f->out);
	if (!strcmp(how, "use")) {
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), f->out));
		ck_assert_str_eq(line, "inherited -10 -10 -10\n");
	}
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f->out));
	ck_assert_int_eq(sscanf(line, "child %d", &f->child), 1);
	if (!strcmp(how, "use")) {
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), f->out));
		ck_assert_str_eq(line, "used 0\n");
	}
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f->out));
	ck_assert_str_eq(line, "held\n");
}

/* Is the tool's child still running (not exited)?  It is our child once
 * the tool is dead, a zombie until we reap it. */
static int child_running(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == 0;
}

static void forked_end(struct forked *f)
{
	int st;

	close(f->in);           /* end of file: the child (and the tool) end */
	fclose(f->out);
	ck_assert_int_eq(waitpid(f->child, &st, 0), f->child);
	if (f->r) {
		sp_ring_close(f->r);
		sp_ring_unlink(f->name);
	}
	if (f->l) {
		sp_lock_close(f->l);
		sp_sync_unlink(f->name);
	}
	if (f->ip) {
		sp_iplock_close(f->ip);
		unlink(f->path);
	}
}

/* The tool dies holding its reservation, Lock or InterProcessLock while
 * its child (forked, exec'd or spawned) lives: the record is abandoned, the
 * locks taken over, and the child is still running then. */
START_TEST(forker_dies)
{
	struct forked f;

	forked_start(&f, forks[_i].what, forks[_i].how);
	if (f.r)
		put_seq(f.r, 5);     /* behind the tool's reservation */
	ck_assert_int_eq(kill(f.tool, SIGKILL), 0);
	ck_assert_int_eq(tu_wait(f.tool), 128 + SIGKILL);
	if (f.r) {
		long seq = tu_get_seq(f.r, FORK_BOUND);

		ck_assert_msg(seq == 5, "get behind a dead forker's reservation: %ld", seq);
	} else if (f.l) {
		ck_assert_int_eq(sp_lock_acquire(f.l, FORK_BOUND), -EOWNERDEAD);
		ck_assert_int_eq(sp_lock_release(f.l), 0);
	} else {
		ck_assert_int_eq(sp_iplock_acquire(f.ip, 0, FORK_BOUND), 0);
		ck_assert_int_eq(sp_iplock_release(f.ip), 0);
	}
	ck_assert_msg(child_running(f.child), "the forked child ended first");
	forked_end(&f);
}
END_TEST

static const char *const use_what[] = { "ring", "lock", "iplock" };

/* A child that calls the handle it inherited gets -ECHILD from each call
 * (tool_fork checks), and its close takes nothing from its parent, which
 * goes on holding what it held and then finishes normally. */
START_TEST(forked_child_calls)
{
	unsigned char buf[REC];
	struct sp_ring_stat st;
	struct forked f;

	forked_start(&f, use_what[_i], "use");
	if (f.r) {
		put_seq(f.r, 5);
		ck_assert_int_eq(sp_ring_get(f.r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
		ck_assert_int_eq(sp_ring_stat(f.r, &st), 0);
		ck_assert_uint_eq(st.attached, 2);
		ck_assert_uint_eq(st.dead, 0);
	} else if (f.l) {
		ck_assert_int_eq(sp_lock_acquire(f.l, SP_NOWAIT), -EAGAIN);
	} else {
		ck_assert_int_eq(sp_iplock_acquire(f.ip, 0, SP_NOWAIT), -EAGAIN);
	}
	close(f.in);            /* the tool commits or releases, and exits */
	f.in = -1;
	ck_assert_int_eq(tu_wait(f.tool), 0);
	if (f.r) {
		ck_assert_int_eq(sp_ring_get(f.r, buf, sizeof(buf), FORK_BOUND), 8);
		ck_assert_str_eq((char *)buf, "parent!");
		ck_assert_int_eq(sp_ring_get(f.r, buf, sizeof(buf), FORK_BOUND), REC);
	} else if (f.l) {
		ck_assert_int_eq(sp_lock_acquire(f.l, SP_NOWAIT), 0);
		ck_assert_int_eq(sp_lock_release(f.l), 0);
	} else {
		ck_assert_int_eq(sp_iplock_acquire(f.ip, 0, SP_NOWAIT), 0);
		ck_assert_int_eq(sp_iplock_release(f.ip), 0);
	}
	fclose(f.out);
	if (f.r) {
		sp_ring_close(f.r);
		sp_ring_unlink(f.name);
	}
	if (f.l) {
		sp_lock_close(f.l);
		sp_sync_unlink(f.name);
	}
	if (f.ip) {
		sp_iplock_close(f.ip);
		unlink(f.path);
	}
}
END_TEST

/* One handle of every kind, each holding something where it can. */
struct every {
	char name[64], path[128];
	sp_ring *r;
	struct sp_msg m;
	sp_shm *sh;
	sp_value *v;
	sp_dict *d;
	sp_list *l;
	sp_pipe *p;
	sp_queue *q;
	sp_lock *lk;
	sp_rlock *rl;
	sp_sem *sm;
	sp_event *ev;
	sp_cond *cv;
	sp_barrier *br;
	sp_iplock *ip;
};

/* Opens them under names NAME-x..., each with SP_CREATE. */
static void every_open(struct every *e)
{
	struct sp_value_opts vo = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	struct sp_sem_opts so = { .value = 2, .flags = SP_SEM_UNDO };
	char n[96];

#define N(suffix) (snprintf(n, sizeof(n), "%s-" suffix, e->name), n)
	tu_name(e->name, sizeof(e->name), "fe");
	snprintf(e->path, sizeof(e->path), "/dev/shm/%s-iplock", e->name);
	ck_assert_int_eq(sp_ring_open(N("r"), SP_CREATE, NULL, &e->r), 0);
	ck_assert_int_eq(sp_ring_reserve(e->r, 8, &e->m, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_shm_open(N("s"), SP_CREATE, 4096, 0, &e->sh), 0);
	ck_assert_int_eq(sp_value_open(N("v"), SP_CREATE, &vo, &e->v), 0);
	ck_assert_int_eq(sp_value_set(e->v, 0, 42), 0);
	ck_assert_int_eq(sp_dict_open(N("d"), SP_CREATE, NULL, &e->d), 0);
	ck_assert_int_eq(sp_dict_set(e->d, "k", 1, "v", 1), 0);
	ck_assert_int_eq(sp_list_open(N("l"), SP_CREATE, NULL, &e->l), 0);
	ck_assert_int_eq(sp_list_append(e->l, "i", 1), 0);
	ck_assert_int_eq(sp_pipe_open(N("p"), SP_CREATE, 0, NULL, &e->p), 0);
	ck_assert_int_eq(sp_queue_open(N("q"), SP_CREATE, NULL, &e->q), 0);
	ck_assert_int_eq(sp_lock_open(N("k"), SP_CREATE, 0, &e->lk), 0);
	ck_assert_int_eq(sp_lock_acquire(e->lk, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_rlock_open(N("rk"), SP_CREATE, 0, &e->rl), 0);
	ck_assert_int_eq(sp_rlock_acquire(e->rl, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_open(N("m"), SP_CREATE, &so, &e->sm), 0);
	ck_assert_int_eq(sp_sem_acquire(e->sm, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_event_open(N("e"), SP_CREATE, 0, &e->ev), 0);
	ck_assert_int_eq(sp_cond_open(N("c"), SP_CREATE, 0, &e->cv), 0);
	ck_assert_int_eq(sp_cond_acquire(e->cv, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_barrier_open(N("b"), SP_CREATE, 2, 0, &e->br), 0);
	ck_assert_int_eq(sp_iplock_open(e->path, 0, &e->ip), 0);
	ck_assert_int_eq(sp_iplock_acquire(e->ip, 0, SP_NOWAIT), 0);
#undef N
}

static void every_close(struct every *e)
{
	sp_iplock_close(e->ip);
	sp_barrier_close(e->br);
	sp_cond_close(e->cv);
	sp_event_close(e->ev);
	sp_sem_close(e->sm);
	sp_rlock_close(e->rl);
	sp_lock_close(e->lk);
	sp_queue_close(e->q);
	sp_pipe_close(e->p);
	sp_list_close(e->l);
	sp_dict_close(e->d);
	sp_value_close(e->v);
	sp_shm_close(e->sh);
	sp_ring_close(e->r);
}

/* In a forked child: one call on each inherited handle.  Returns how many
 * did not fail with -ECHILD (or give the "nothing" of their type). */
static int every_call_refused(struct every *e)
{
	char buf[16];
	int64_t x;
	int bad = 0;

	bad += sp_ring_commit(e->r, &e->m, 8) != -ECHILD;
	bad += sp_ring_put(e->r, "x", 1, SP_NOWAIT) != -ECHILD;
	bad += sp_ring_get(e->r, buf, sizeof(buf), SP_NOWAIT) != -ECHILD;
	bad += sp_ring_seal(e->r) != -ECHILD;
	bad += sp_shm_data(e->sh) != NULL;
	bad += sp_value_get(e->v, 0, &x) != -ECHILD;
	bad += sp_value_set(e->v, 0, 7) != -ECHILD;
	bad += sp_value_data(e->v) != NULL;
	bad += sp_dict_get(e->d, "k", 1, buf, sizeof(buf), NULL) != -ECHILD;
	bad += sp_dict_len(e->d) != 0;
	bad += sp_list_pop(e->l, buf, sizeof(buf), NULL) != -ECHILD;
	bad += sp_list_len(e->l) != 0;
	bad += sp_pipe_send(e->p, "x", 1, SP_NOWAIT) != -ECHILD;
	bad += sp_queue_put(e->q, "x", 1, SP_NOWAIT) != -ECHILD;
	bad += sp_queue_shutdown(e->q) != -ECHILD;
	bad += sp_lock_release(e->lk) != -ECHILD;
	bad += sp_rlock_acquire(e->rl, SP_NOWAIT) != -ECHILD;
	bad += sp_rlock_count(e->rl) != 0;
	bad += sp_sem_release(e->sm, 1) != -ECHILD;
	bad += sp_sem_held(e->sm) != 0;
	bad += sp_event_set(e->ev) != -ECHILD;
	bad += sp_cond_notify(e->cv, 1) != -ECHILD;
	bad += sp_cond_release(e->cv) != -ECHILD;
	bad += sp_barrier_wait(e->br, SP_NOWAIT) != -ECHILD;
	bad += sp_iplock_release(e->ip) != -ECHILD;
	return bad;
}

/* A forked child's calls on every kind of handle it inherited fail with
 * -ECHILD, and its closes take nothing from its parent: after the child is
 * gone every object is as the parent left it, and the parent's handles go
 * on (its Lock, RLock, Condition lock, Semaphore unit, InterProcessLock and
 * ring reservation still its own). */
START_TEST(every_kind_refuses_a_child)
{
	struct sp_ring_stat st;
	struct every e;
	char buf[16];
	int64_t x;
	pid_t pid;

	every_open(&e);
	pid = tu_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = every_call_refused(&e);

		every_close(&e);
		_exit(bad);
	}
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert_int_eq(sp_ring_stat(e.r, &st), 0);
	ck_assert_uint_eq(st.attached, 1);
	ck_assert_uint_eq(st.dead, 0);
	memcpy(e.m.data, "parent!", 8);
	ck_assert_int_eq(sp_ring_commit(e.r, &e.m, 8), 0);
	ck_assert_int_eq(sp_ring_get(e.r, buf, sizeof(buf), SP_NOWAIT), 8);
	ck_assert_int_eq(sp_value_get(e.v, 0, &x), 0);
	ck_assert_int_eq(x, 42);
	ck_assert_uint_eq(sp_dict_len(e.d), 1);
	ck_assert_uint_eq(sp_list_len(e.l), 1);
	ck_assert_int_eq(sp_event_is_set(e.ev), 0);
	ck_assert_int_eq(sp_queue_is_shutdown(e.q), 0);
	ck_assert_int_eq(sp_lock_release(e.lk), 0);
	ck_assert_uint_eq(sp_rlock_count(e.rl), 1);
	ck_assert_int_eq(sp_rlock_release(e.rl), 0);
	ck_assert_uint_eq(sp_sem_held(e.sm), 1);
	ck_assert_int_eq(sp_cond_release(e.cv), 0);
	ck_assert_int_eq(sp_iplock_held(e.ip), 1);
	ck_assert_int_eq(sp_iplock_release(e.ip), 0);
	every_close(&e);
	unlink(e.path);
	/* tu_cleanup() removes the objects, named tPID-fe-N-... */
}
END_TEST

/* The descriptors an exec'd program starts with, as ls(1) lists them. */
static char *exec_fds(void)
{
	char *argv[] = { "/bin/ls", "/proc/self/fd", NULL };
	int fd;
	pid_t pid = tu_spawn(argv, &fd);
	char *out;

	ck_assert_int_gt(pid, 0);
	out = tu_slurp(fd, NULL);
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Every descriptor the library holds is close-on-exec: a program executed
 * while objects of every kind are open (and locks held) inherits none. */
START_TEST(descriptors_close_on_exec)
{
	char *before, *after;
	struct every e;

	before = exec_fds();
	every_open(&e);
	after = exec_fds();
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
	every_close(&e);
	unlink(e.path);
	/* tu_cleanup() removes the objects, named tPID-fe-N-... */
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tu_tcase(s, "points", 60, NULL, NULL), *fk;

	tcase_add_loop_test(tc, writer_dies, 0, sizeof(writer_points) / sizeof(*writer_points));
	tcase_add_loop_test(tc, reader_dies, 0, sizeof(reader_points) / sizeof(*reader_points));
	tcase_add_loop_test(tc, creator_dies, 0, sizeof(create_points) / sizeof(*create_points));
	tcase_add_test(tc, attached_dies);
	tcase_add_test(tc, owner_stopped);
	tcase_add_test(tc, revoke_without_membarrier);
	tcase_add_test(tc, reader_dies_after_close);
	fk = tu_tcase(s, "fork", 30, NULL, NULL);
	tcase_add_loop_test(fk, forker_dies, 0, sizeof(forks) / sizeof(*forks));
	tcase_add_loop_test(fk, forked_child_calls, 0, sizeof(use_what) / sizeof(*use_what));
	tcase_add_test(fk, every_kind_refuses_a_child);
	tcase_add_test(fk, descriptors_close_on_exec);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(crash_suite(), TU_NEED_SHM);
}
