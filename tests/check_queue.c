/* check_queue.c: Check suite for Queue and JoinableQueue: put/get, shutdown, join, readers, dead consumers. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mputil.h"
#include "shared/queue.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "q");
}

static void teardown(void)
{
	sp_queue_unlink(name);
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
	ck_assert_int_eq(child_start(&w, "tool_data", "qwait", name, NULL), 0);
	ck_assert_int_eq(child_expect(&w, "waiting"), 0);
	ck_assert(wait_blocked(w.pid));
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

	ck_assert_int_eq(child_start(&w, "tool_data", "qwait", name, NULL), 0);
	ck_assert_int_eq(child_expect(&w, "waiting"), 0);
	ck_assert(wait_blocked(w.pid));
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
	ck_assert_int_eq(child_start(&w, "tool_data", "qputwait", name, NULL), 0);
	ck_assert_int_eq(child_expect(&w, "waiting"), 0);
	ck_assert(wait_blocked(w.pid));
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

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *core = tcase_create("core"), *lim = tcase_create("limits"),
	      *crash = tcase_create("crash");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_checked_fixture(crash, setup, teardown);
	tcase_set_timeout(core, 30);
	tcase_set_timeout(lim, 10);
	tcase_set_timeout(crash, 20);
	tcase_add_test(core, put_get);
	tcase_add_test(core, shutdown);
	tcase_add_test(core, readers);
	tcase_add_test(core, joinable);
	tcase_add_test(lim, limits);
	tcase_add_test(crash, crash_consumer_holding);
	tcase_add_test(crash, crash_blocked_getter);
	tcase_add_test(crash, crash_blocked_putter);
	suite_add_tcase(s, core);
	suite_add_tcase(s, lim);
	suite_add_tcase(s, crash);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_init();
	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
