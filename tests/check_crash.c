/* check_crash.c: a participant killed at each labelled step of create, put and get; the others recover. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/ring.h"
#include "testutil.h"

#define REC 64
#define WAIT 10000000000LL  /* survivors' bound: recovery takes a slice or two */

static pid_t tool_pid;  /* the last tool run_tool ran */

/* Can a ring side be biased here?  (-errno fails the test.) */
static int bias_possible(void)
{
	int rc = tu_bias_possible();

	ck_assert_msg(rc >= 0, "a ring to ask whether a side can be biased: %s", strerror(-rc));
	return rc;
}

/* Was the side biased to the tool that died (its fast path is where the
 * crash point hit), where a side can be biased at all? */
static void assert_biased_to_tool(sp_ring *r, int writer)
{
	struct sp_ring_stat st;

	if (!bias_possible())
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
	char tool[256], sk[16];
	char *argv[] = { (char *)tu_tool("tool_crash", tool, sizeof(tool)), (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, NULL };
	int fd, st;
	pid_t pid;

	snprintf(sk, sizeof(sk), "%d", skip);
	setenv("SP_CRASH_AT", label, 1);
	setenv("SP_CRASH_SKIP", sk, 1);
	pid = tu_spawn(argv, out ? &fd : NULL);
	tool_pid = pid;
	unsetenv("SP_CRASH_AT");
	unsetenv("SP_CRASH_SKIP");
	ck_assert_int_gt(pid, 0);
	if (out)
		*out = tu_slurp(fd, NULL);
	st = tu_wait(pid);
	return st;
}

static void put_seq(sp_ring *r, long seq)
{
	unsigned char buf[REC];

	memcpy(buf, &seq, 8);
	memset(buf + 8, (int)(seq & 0xff), REC - 8);
	ck_assert_int_eq(sp_ring_put(r, buf, REC, WAIT), 0);
}

/* Takes one record with a bound, checks its pattern, returns its seq, or -1
 * for -EPIPE (closed and drained). */
static long get_seq(sp_ring *r)
{
	unsigned char buf[REC + 8];
	ssize_t n = sp_ring_get(r, buf, sizeof(buf), WAIT);
	long seq;

	if (n == -EPIPE)
		return -1;
	ck_assert_msg(n == REC, "get returned %zd (%s)", n, n < 0 ? strerror((int)-n) : "short");
	memcpy(&seq, buf, 8);
	for (int k = 8; k < REC; k++)
		ck_assert_msg(buf[k] == (unsigned char)(seq & 0xff), "record %ld is torn", seq);
	return seq;
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
	unsigned char buf[REC];
	sp_ring *r;
	pid_t pid;
	long seq = 100;

	tu_name(name, sizeof(name), "cs");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	setenv("SP_CRASH_AT", "claim.header", 1);
	setenv("SP_CRASH_SKIP", "3", 1);
	setenv("SP_CRASH_SIG", "STOP", 1);
	pid = tu_spawn(argv, NULL);
	unsetenv("SP_CRASH_AT");
	unsetenv("SP_CRASH_SKIP");
	unsetenv("SP_CRASH_SIG");
	ck_assert_int_gt(pid, 0);
	tool_pid = pid;
	ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
	ck_assert_msg(WIFSTOPPED(st), "the tool did not stop (status %d)", st);
	if (!bias_possible()) {
		/* Unbiased, the tool holds the claim lock, which waits for a
		 * stopped holder as long as it takes: not this test's case. */
		ck_assert_int_eq(kill(pid, SIGCONT), 0);
		ck_assert_int_eq(tu_wait(pid), 0);
		sp_ring_close(r);
		sp_ring_unlink(name);
		return;
	}
	assert_biased_to_tool(r, 1);
	memcpy(buf, &seq, 8);
	memset(buf + 8, (int)(seq & 0xff), REC - 8);
	/* Bounded by our timeouts, not by the stopped owner. */
	ck_assert_int_eq(sp_ring_put(r, buf, REC, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_ring_put(r, buf, REC, 20000000), -ETIMEDOUT);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_int_eq(sp_ring_put(r, buf, REC, WAIT), 0);
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

static Suite *crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("points");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, writer_dies, 0, sizeof(writer_points) / sizeof(*writer_points));
	tcase_add_loop_test(tc, reader_dies, 0, sizeof(reader_points) / sizeof(*reader_points));
	tcase_add_loop_test(tc, creator_dies, 0, sizeof(create_points) / sizeof(*create_points));
	tcase_add_test(tc, attached_dies);
	tcase_add_test(tc, owner_stopped);
	tcase_add_test(tc, revoke_without_membarrier);
	tcase_add_test(tc, reader_dies_after_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_init();
	sr = srunner_create(crash_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
