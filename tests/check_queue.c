/* check_queue.c: Check suite for Queue and JoinableQueue: put/get, shutdown, join, readers, dead consumers. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/queue.h"
#include "testutil.h"

static char name[128];
static pid_t stopped = -1;   /* a tool left stopped, killed by teardown */

static void setup(void)
{
	tu_name(name, sizeof(name), "q");
}

static void teardown(void)
{
	if (stopped > 0)
		kill(stopped, SIGKILL);
	stopped = -1;
	sp_queue_unlink(name);
}

/* Starts tool_mpcrash (linked with crash points) with up to three
 * arguments, killed at `label` or, with `stop`, stopped there; in that case
 * returns once it has stopped. */
static void start_at(struct child *c, const char *label, int stop, const char *a1,
		     const char *a2, const char *a3)
{
	ck_assert_int_eq(child_start_at(c, label, 0, stop, "tool_mpcrash", a1, a2, a3, NULL), 0);
	if (stop)
		stopped = c->pid;
}

static void resume(struct child *c)
{
	ck_assert_int_eq(kill(c->pid, SIGCONT), 0);
	stopped = -1;
}

static sp_queue *make(unsigned flags)
{
	struct sp_queue_opts o = { .capacity = 4096, .flags = flags };
	sp_queue *q;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	return q;
}

START_TEST(put_get)
{
	sp_queue *q = make(0), *r;
	char buf[64];
	int n = 0;

	ck_assert_int_eq(sp_queue_open(name, 0, NULL, &r), 0);
	ck_assert_int_eq(sp_queue_empty(r), 1);
	ck_assert_int_eq(sp_queue_get(r, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_queue_get(r, buf, sizeof(buf), MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_queue_put(q, "hello", 5, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(q, "", 0, SP_NOWAIT), 0);
	ck_assert_uint_eq(sp_queue_size(r), 2);
	ck_assert_int_eq(sp_queue_get(r, buf, 2, SP_NOWAIT), -EMSGSIZE);
	ck_assert_int_eq(sp_queue_get(r, buf, sizeof(buf), SP_NOWAIT), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(sp_queue_get(r, buf, sizeof(buf), SP_NOWAIT), 0);
	/* fill it up */
	while (sp_queue_put(q, "0123456789", 10, SP_NOWAIT) == 0)
		n++;
	ck_assert_int_gt(n, 10);
	ck_assert_int_eq(sp_queue_full(q), 1);
	ck_assert_int_eq(sp_queue_put(q, "x", 1, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_queue_put(q, buf, sp_queue_max_msg(q) + 1, SP_NOWAIT), -EMSGSIZE);
	ck_assert_int_eq(sp_queue_task_done(q), -ENOTSUP);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), -ENOTSUP);
	sp_queue_close(r);
	sp_queue_close(q);
}
END_TEST

/* maxsize counts messages (Python's Queue(maxsize)): a put waits while
 * that many are in the queue, whatever room the ring has for bytes. */
START_TEST(bounded)
{
	struct sp_queue_opts o = { .capacity = 65536, .maxsize = 2 };
	sp_queue *q, *r;
	char buf[64];

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	ck_assert_int_eq(sp_queue_open(name, 0, NULL, &r), 0);
	ck_assert_uint_eq(sp_queue_maxsize(r), 2);
	ck_assert_int_eq(sp_queue_full(r), 0);
	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(r, "b", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_full(q), 1);
	ck_assert_uint_eq(sp_queue_size(q), 2);
	ck_assert_int_eq(sp_queue_put(q, "c", 1, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_queue_put(r, "c", 1, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_queue_get(r, buf, sizeof(buf), SP_NOWAIT), 1);
	ck_assert_int_eq(buf[0], 'a');
	ck_assert_int_eq(sp_queue_full(q), 0);
	ck_assert_int_eq(sp_queue_put(q, "c", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(q, "d", 1, SP_NOWAIT), -EAGAIN);
	/* A shutdown wakes a putter waiting for room (here: fails it). */
	ck_assert_int_eq(sp_queue_shutdown(r), 0);
	ck_assert_int_eq(sp_queue_put(q, "d", 1, MS(5000)), -ESHUTDOWN);
	sp_queue_close(r);
	sp_queue_close(q);
}
END_TEST

/* A putter (exec'd) blocked on a full bounded queue goes on as we get:
 * all its messages arrive, never more than maxsize at once. */
START_TEST(bounded_blocked_putter)
{
	struct sp_queue_opts o = { .capacity = 65536, .maxsize = 2 };
	struct child c;
	sp_queue *q;
	char buf[64];

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "qput", name, "6", NULL), 0);
	ck_assert(wait_blocked(c.pid));
	for (int i = 0; i < 6; i++) {
		char want[8];
		int n = snprintf(want, sizeof(want), "m%d", i);

		ck_assert_uint_le(sp_queue_size(q), 2);
		ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(10000)), n);
		ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
	}
	ck_assert_int_eq(child_expect(&c, "done"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_queue_close(q);
}
END_TEST

START_TEST(shutdown)
{
	sp_queue *q = make(0);
	struct child w;
	char buf[64];

	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_shutdown(q), 0);
	ck_assert_int_eq(sp_queue_is_shutdown(q), 1);
	ck_assert_int_eq(sp_queue_put(q, "b", 1, SP_NOWAIT), -ESHUTDOWN);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 1);    /* drains */
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), -ESHUTDOWN);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_FOREVER), -ESHUTDOWN);
	sp_queue_close(q);
	/* a getter blocked on an empty queue wakes up with -ESHUTDOWN */
	teardown();
	q = make(0);
	ck_assert_int_eq(child_start_waiting(&w, "tool_data", "qwait", name, NULL), 0);
	ck_assert_int_eq(sp_queue_shutdown(q), 0);
	ck_assert_int_eq(child_expect(&w, "get"), -ESHUTDOWN);
	ck_assert_int_eq(child_end(&w), 0);
	sp_queue_close(q);
}
END_TEST

/* One producer, three reader processes: every message once. */
START_TEST(readers)
{
	sp_queue *q = make(0);
	struct child c[3], p;
	char line[64];
	int seen[60] = { 0 };

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(child_start(&c[i], "tool_data", "qget", name, "20", NULL), 0);
	ck_assert_int_eq(child_start(&p, "tool_data", "qput", name, "60", NULL), 0);
	ck_assert_int_eq(child_expect(&p, "done"), 0);
	ck_assert_int_eq(child_end(&p), 0);
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 20; k++) {
			ck_assert_ptr_nonnull(child_line(&c[i], line, sizeof(line)));
			ck_assert_int_eq(strncmp(line, "got m", 5), 0);
			seen[atoi(line + 5)]++;
		}
		ck_assert_int_eq(child_expect(&c[i], "done"), 0);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	for (int k = 0; k < 60; k++)
		ck_assert_int_eq(seen[k], 1);
	sp_queue_close(q);
}
END_TEST

START_TEST(joinable)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	struct child c;
	char buf[16];

	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_task_done(q), -EINVAL);      /* one too many */
	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(q, "b", 1, SP_NOWAIT), 0);
	ck_assert_uint_eq(sp_queue_unfinished(q), 2);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_queue_join(q, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 1);
	ck_assert_int_eq(sp_queue_task_done(q), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 1);
	ck_assert_int_eq(sp_queue_task_done(q), 0);
	ck_assert_int_eq(sp_queue_task_done(q), -EINVAL);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	/* the producer waits in join() for a consumer process */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(sp_queue_put(q, "t", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "qget", name, "10", NULL), 0);
	ck_assert_int_eq(sp_queue_join(q, MS(10000)), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(child_expect(&c, "got"), 0);
	ck_assert_int_eq(child_expect(&c, "done"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_queue_close(q);
}
END_TEST

START_TEST(limits)
{
	char longname[SP_NAME_MAX + 1];
	sp_queue *q;
	struct sp_queue_opts bad = { .flags = 0x10 };

	memset(longname, 'a', SP_NAME_MAX);
	longname[SP_NAME_MAX] = 0;
	ck_assert_int_eq(sp_queue_open(longname, SP_CREATE, NULL, &q), -ENAMETOOLONG);
	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &bad, &q), -EINVAL);
	ck_assert_int_eq(sp_queue_open(name, 0, NULL, &q), -ENOENT);
	ck_assert_int_eq(sp_queue_open("bad/name", SP_CREATE, NULL, &q), -EINVAL);
}
END_TEST

/* A consumer dies holding a task it never marked done: join() returns. */
START_TEST(crash_consumer_holding)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	char gnum[16];
	int g[2];
	struct child c;

	ck_assert_int_eq(sp_queue_put(q, "job", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "qhold", name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "got job"), 0);
	ck_assert_int_eq(sp_queue_join(q, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_join(q, MS(5000)), 0);
	ck_assert_uint_eq(sp_queue_unfinished(q), 0);
	sp_queue_close(q);
}
END_TEST

/* A getter killed while blocked: the queue goes on working. */
START_TEST(crash_blocked_getter)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	struct child w;
	char buf[16];

	ck_assert_int_eq(child_start_waiting(&w, "tool_data", "qwait", name, NULL), 0);
	ck_assert_int_eq(child_kill(&w), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_put(q, "z", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 1);
	ck_assert_int_eq(sp_queue_task_done(q), 0);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	sp_queue_close(q);
}
END_TEST

/* A putter killed while blocked on a full queue. */
START_TEST(crash_blocked_putter)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	struct child w;
	char buf[64];
	int n = 0;

	while (sp_queue_put(q, "0123456789", 10, SP_NOWAIT) == 0)
		n++;
	ck_assert_int_eq(child_start_waiting(&w, "tool_data", "qputwait", name, NULL), 0);
	ck_assert_int_eq(child_kill(&w), 128 + SIGKILL);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 10);
		ck_assert_int_eq(sp_queue_task_done(q), 0);
	}
	/* its put never happened: the count does not include it */
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	sp_queue_close(q);
}
END_TEST

/* Issue 10, finding 4: a consumer killed inside task_done, after it marked
 * its task done, while another consumer holds an unfinished one: join()
 * must go on waiting for that one (it returned at once: the dead one's task
 * was subtracted twice). */
START_TEST(crash_in_task_done)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	struct child h, c;
	char gnum[16];
	int g[2];

	ck_assert_int_eq(sp_queue_put(q, "one", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(q, "two", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&h, "tool_data", "qhold", name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&h, "got one"), 0);
	start_at(&c, "queue.done", 0, "qget", name, NULL);
	ck_assert_int_eq(child_expect(&c, "got"), 3);
	ck_assert_int_eq(child_end(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_join(q, MS(300)), -ETIMEDOUT);
	ck_assert_uint_eq(sp_queue_unfinished(q), 1);
	gun_fire(g);
	ck_assert_int_eq(child_expect(&h, "done"), 0);
	ck_assert_int_eq(child_end(&h), 0);
	ck_assert_int_eq(sp_queue_join(q, MS(5000)), 0);
	ck_assert_uint_eq(sp_queue_unfinished(q), 0);
	close(g[0]);
	close(g[1]);
	sp_queue_close(q);
}
END_TEST

/* Issue 10, finding 4, without a crash: a task got through one handle and
 * marked done through another, then the getter closes: the task is done
 * once, not given up as well, and join() waits for the task another
 * consumer process still holds. */
START_TEST(task_done_other_handle)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE), *a, *b;
	struct child h;
	char gnum[16], buf[16];
	int g[2];

	ck_assert_int_eq(sp_queue_open(name, 0, NULL, &a), 0);
	ck_assert_int_eq(sp_queue_open(name, 0, NULL, &b), 0);
	ck_assert_int_eq(sp_queue_put(q, "one", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_put(q, "two", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_get(a, buf, sizeof(buf), SP_NOWAIT), 3);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&h, "tool_data", "qhold", name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&h, "got two"), 0);
	ck_assert_int_eq(sp_queue_task_done(b), 0);
	sp_queue_close(a);
	ck_assert_int_eq(sp_queue_join(q, MS(300)), -ETIMEDOUT);
	ck_assert_uint_eq(sp_queue_unfinished(q), 1);
	gun_fire(g);
	ck_assert_int_eq(child_expect(&h, "done"), 0);
	ck_assert_int_eq(child_end(&h), 0);
	ck_assert_int_eq(sp_queue_join(q, MS(5000)), 0);
	ck_assert_int_eq(sp_queue_task_done(b), -EINVAL);
	close(g[0]);
	close(g[1]);
	sp_queue_close(b);
	sp_queue_close(q);
}
END_TEST

/* A putter killed after it reserved room, before its commit (a message
 * longer than the ring copies inside its claim): no task was put, so
 * join() returns (it timed out: the task was counted and never came). */
START_TEST(crash_putter_before_commit)
{
	struct sp_queue_opts o = { .capacity = 16384, .flags = SP_QUEUE_JOINABLE };
	struct child c;
	char buf[16];
	sp_queue *q;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	start_at(&c, "commit.before", 0, "qput", name, "3000");
	ck_assert_int_eq(child_end(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_join(q, MS(2000)), 0);
	ck_assert_uint_eq(sp_queue_unfinished(q), 0);
	/* The queue goes on: the dead claim is stepped over. */
	ck_assert_int_eq(sp_queue_put(q, "x", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(5000)), 1);
	ck_assert_int_eq(sp_queue_task_done(q), 0);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	sp_queue_close(q);
}
END_TEST

/* A getter killed after it counted its task, before it released the
 * message: the message is redelivered, and the task is unfinished until
 * its new getter marks it done (join() returned while we held it). */
START_TEST(crash_getter_before_release)
{
	sp_queue *q = make(SP_QUEUE_JOINABLE);
	struct child c;
	char buf[16];

	ck_assert_int_eq(sp_queue_put(q, "job", 3, SP_NOWAIT), 0);
	start_at(&c, "queue.counted", 0, "qget", name, NULL);
	ck_assert_int_eq(child_end(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(5000)), 3);
	ck_assert_int_eq(sp_queue_join(q, MS(300)), -ETIMEDOUT);
	ck_assert_uint_eq(sp_queue_unfinished(q), 1);
	ck_assert_int_eq(sp_queue_task_done(q), 0);
	ck_assert_int_eq(sp_queue_join(q, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_task_done(q), -EINVAL);
	sp_queue_close(q);
}
END_TEST

/* Issue 10, finding 5: a putter stopped inside the ring's claim, past
 * every shut-down check, when the queue is shut down.  No getter may be
 * told "shut down and drained" while that put can still succeed (a getter
 * was, and the message the put then accepted was never delivered).  Once it
 * resumes: either its put succeeded and a getter gets the message, or it
 * failed with -ESHUTDOWN. */
START_TEST(shutdown_put_in_flight)
{
	sp_queue *q = make(0);
	struct child c;
	char buf[16];
	int rc;

	start_at(&c, "claim.locked", 1, "qput", name, "1");
	ck_assert_int_eq(sp_queue_shutdown(q), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(100)), -ETIMEDOUT);
	resume(&c);
	rc = child_expect(&c, "put");
	ck_assert_int_eq(child_end(&c), 0);
	if (rc == 0)
		ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(5000)), 1);
	else
		ck_assert_int_eq(rc, -ESHUTDOWN);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_FOREVER), -ESHUTDOWN);
	ck_assert_int_eq(sp_queue_put(q, "y", 1, SP_NOWAIT), -ESHUTDOWN);
	sp_queue_close(q);
}
END_TEST

/* The other side of finding 5: a putter stopped before it looked at the
 * shut-down flag; a getter is told "shut down and drained"; the put, once
 * resumed, must fail. */
START_TEST(shutdown_put_after_drained)
{
	sp_queue *q = make(0);
	struct child c;
	char buf[16];

	start_at(&c, "queue.put", 1, "qput", name, "1");
	ck_assert_int_eq(sp_queue_shutdown(q), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), -ESHUTDOWN);
	resume(&c);
	ck_assert_int_eq(child_expect(&c, "put"), -ESHUTDOWN);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), -ESHUTDOWN);
	sp_queue_close(q);
}
END_TEST

/* A putter killed inside the ring's claim (its put flag left set, the
 * claim lock held): a getter after the shutdown is not held up by it. */
START_TEST(shutdown_putter_killed_in_put)
{
	sp_queue *q = make(0);
	struct child c;
	char buf[16];

	start_at(&c, "claim.locked", 0, "qput", name, "1");
	ck_assert_int_eq(child_end(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_queue_shutdown(q), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), MS(5000)), -ESHUTDOWN);
	ck_assert_int_eq(sp_queue_put(q, "y", 1, SP_NOWAIT), -ESHUTDOWN);
	sp_queue_close(q);
}
END_TEST

/* Finding 5 without crash points: two putter and two getter processes at
 * full speed on a small queue, shut down while they run, a few times over:
 * every put that succeeded is got, and every call ends with -ESHUTDOWN. */
START_TEST(shutdown_race_stress)
{
	for (int round = 0; round < 8; round++) {
		struct child p[2], g[2];
		long put = 0, got = 0, k;
		int rc;
		char line[64];
		sp_queue *q;

		teardown();
		q = make(0);
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(child_start(&p[i], "tool_data", "qflood", name, NULL), 0);
			ck_assert_int_eq(child_start(&g[i], "tool_data", "qdrain", name, NULL), 0);
		}
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(child_expect(&p[i], "running"), 0);
			ck_assert_int_eq(child_expect(&g[i], "running"), 0);
		}
		ck_assert_int_eq(sp_queue_shutdown(q), 0);
		for (int i = 0; i < 2; i++) {
			ck_assert_ptr_nonnull(child_line(&p[i], line, sizeof(line)));
			ck_assert_int_eq(sscanf(line, "put %ld %d", &k, &rc), 2);
			ck_assert_int_eq(rc, -ESHUTDOWN);
			put += k;
			ck_assert_ptr_nonnull(child_line(&g[i], line, sizeof(line)));
			ck_assert_int_eq(sscanf(line, "got %ld %d", &k, &rc), 2);
			ck_assert_int_eq(rc, -ESHUTDOWN);
			got += k;
			ck_assert_int_eq(child_end(&p[i]), 0);
			ck_assert_int_eq(child_end(&g[i]), 0);
		}
		ck_assert_msg(put == got, "round %d: %ld puts succeeded, %ld messages got", round,
			      put, got);
		sp_queue_close(q);
	}
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *core = tu_tcase(s, "core", 30, setup, teardown);
	TCase *lim = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 20, setup, teardown);

	tcase_add_test(core, put_get);
	tcase_add_test(core, shutdown);
	tcase_add_test(core, bounded);
	tcase_add_test(core, bounded_blocked_putter);
	tcase_add_test(core, readers);
	tcase_add_test(core, joinable);
	tcase_add_test(lim, limits);
	tcase_add_test(crash, crash_consumer_holding);
	tcase_add_test(crash, crash_blocked_getter);
	tcase_add_test(crash, crash_blocked_putter);
	tcase_add_test(crash, crash_in_task_done);
	tcase_add_test(crash, task_done_other_handle);
	tcase_add_test(crash, crash_putter_before_commit);
	tcase_add_test(crash, crash_getter_before_release);
	tcase_add_test(crash, shutdown_put_in_flight);
	tcase_add_test(crash, shutdown_put_after_drained);
	tcase_add_test(crash, shutdown_putter_killed_in_put);
	tcase_add_test(core, shutdown_race_stress);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(queue_suite(), TU_NEED_SHM);
}
