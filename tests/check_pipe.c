/* check_pipe.c: Check suite for Pipe: duplex and one-way, end of file, processes, and a peer that dies. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "shared/pipe.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "pipe");
}

static void teardown(void)
{
	sp_pipe_unlink(name);
}

START_TEST(duplex)
{
	struct sp_pipe_opts o = { .capacity = 4096 };
	sp_pipe *a, *b, *c;
	char buf[64];

	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 0, &o, &a), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &b), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &c), -EBUSY);
	ck_assert_int_eq(sp_pipe_open(name, 0, 2, NULL, &c), -EINVAL);
	ck_assert_int_eq(sp_pipe_poll(a, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_poll(a, MS(20)), 0);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_pipe_send(a, "ping", 4, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_send(b, "pong!", 5, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_poll(b, SP_FOREVER), 1);
	ck_assert_int_eq(sp_pipe_recv(b, buf, 2, SP_NOWAIT), -EMSGSIZE);
	ck_assert_int_eq(sp_pipe_recv(b, buf, sizeof(buf), SP_NOWAIT), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_NOWAIT), 5);
	ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
	ck_assert_int_eq(sp_pipe_send(a, buf, sp_pipe_max_msg(a) + 1, SP_NOWAIT), -EMSGSIZE);
	/* end of file: b sends two, closes; a reads both, then -EPIPE */
	ck_assert_int_eq(sp_pipe_send(b, "x", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_send(b, "y", 1, SP_NOWAIT), 0);
	sp_pipe_close(b);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_NOWAIT), 1);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_FOREVER), 1);
	ck_assert_int_eq(sp_pipe_poll(a, SP_FOREVER), 1);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	ck_assert_int_eq(sp_pipe_send(a, "z", 1, SP_FOREVER), -EPIPE);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &c), -EPIPE);   /* closed for good */
	sp_pipe_close(a);
}
END_TEST

START_TEST(oneway)
{
	struct sp_pipe_opts o = { .flags = SP_PIPE_ONEWAY, .capacity = 4096 };
	sp_pipe *r, *w;
	char buf[16];

	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 0, &o, &r), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &w), 0);
	ck_assert_int_eq(sp_pipe_send(r, "a", 1, SP_NOWAIT), -EBADF);
	ck_assert_int_eq(sp_pipe_recv(w, buf, sizeof(buf), SP_NOWAIT), -EBADF);
	ck_assert_int_eq(sp_pipe_poll(w, SP_NOWAIT), -EBADF);
	ck_assert_int_eq(sp_pipe_send(w, "a", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_recv(r, buf, sizeof(buf), SP_NOWAIT), 1);
	sp_pipe_close(w);
	ck_assert_int_eq(sp_pipe_recv(r, buf, sizeof(buf), SP_FOREVER), -EPIPE);
	sp_pipe_close(r);
}
END_TEST

START_TEST(procs)
{
	struct child c;
	sp_pipe *a;
	char buf[16];

	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 0, NULL, &a), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "psend", name, "1", "5", NULL), 0);
	for (int i = 0; i < 5; i++) {
		ssize_t n = sp_pipe_recv(a, buf, sizeof(buf) - 1, MS(10000));

		ck_assert_int_eq(n, 2);
		buf[n] = 0;
		ck_assert_int_eq(buf[1] - '0', i);
	}
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), MS(10000)), -EPIPE);
	ck_assert_int_eq(child_expect(&c, "sent"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_pipe_close(a);
}
END_TEST

/* sp_pipe_create() makes the pipe with the creator's geometry and holds
 * neither end: both ends open afterwards (with no options), and the
 * rings have the creator's capacity. */
START_TEST(create_no_end)
{
	struct sp_pipe_opts o = { .capacity = 4096, .flags = SP_PIPE_ONEWAY };
	sp_pipe *r, *w;
	char buf[16];

	ck_assert_int_eq(sp_pipe_create(name, SP_EXCL, &o), 0);
	ck_assert_int_eq(sp_pipe_create(name, SP_EXCL, &o), -EEXIST);
	ck_assert_int_eq(sp_pipe_create(name, 0, NULL), 0);        /* exists: left alone */
	ck_assert_int_eq(sp_pipe_create(name, SP_CREATE, NULL), -EINVAL);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &w), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 0, NULL, &r), 0);
	ck_assert_uint_eq(sp_pipe_max_msg(w), 1024);
	ck_assert_int_eq(sp_pipe_send(r, "a", 1, SP_NOWAIT), -EBADF);   /* one-way kept */
	ck_assert_int_eq(sp_pipe_send(w, "hi", 2, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_pipe_recv(r, buf, sizeof(buf), SP_NOWAIT), 2);
	sp_pipe_close(w);
	ck_assert_int_eq(sp_pipe_recv(r, buf, sizeof(buf), SP_NOWAIT), -EPIPE);
	sp_pipe_close(r);
}
END_TEST

START_TEST(limits)
{
	char longname[SP_NAME_MAX + 1];
	struct sp_pipe_opts bad = { .flags = 0x8 };
	sp_pipe *p;

	memset(longname, 'p', SP_NAME_MAX);
	longname[SP_NAME_MAX] = 0;
	ck_assert_int_eq(sp_pipe_open(longname, SP_CREATE, 0, NULL, &p), -ENAMETOOLONG);
	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 0, &bad, &p), -EINVAL);
	ck_assert_int_eq(sp_pipe_open(name, 0, 0, NULL, &p), -ENOENT);
}
END_TEST

/* An open without SP_CREATE never creates: a pipe whose rings are gone (its
 * unlink is under way) fails with -ENOENT and makes no ring again.  (It used
 * to recreate them, and the creator's unlink, done a moment before, then left
 * them in /dev/shm for good.) */
START_TEST(attach_creates_nothing)
{
	char ring[sizeof(name) + 2];
	sp_pipe *p, *q;

	ck_assert_int_eq(sp_pipe_create(name, SP_EXCL, NULL), 0);
	snprintf(ring, sizeof(ring), "%s.a", name);
	ck_assert_int_eq(sp_ring_unlink(ring), 0);
	snprintf(ring, sizeof(ring), "%s.b", name);
	ck_assert_int_eq(sp_ring_unlink(ring), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &p), -ENOENT);
	ck_assert_int_eq(sp_pipe_open(name, 0, 0, NULL, &p), -ENOENT);
	ck_assert_int_eq(sp_ring_unlink(ring), -ENOENT);
	snprintf(ring, sizeof(ring), "%s.a", name);
	ck_assert_int_eq(sp_ring_unlink(ring), -ENOENT);
	/* Nor did it take an end: with the rings made again, both open. */
	for (char c = 'a'; c <= 'b'; c++) {
		sp_ring *r;

		snprintf(ring, sizeof(ring), "%s.%c", name, c);
		ck_assert_int_eq(sp_ring_open(ring, SP_CREATE, NULL, &r), 0);
		sp_ring_close(r);
	}
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &p), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 0, NULL, &q), 0);
	sp_pipe_close(q);
	sp_pipe_close(p);
}
END_TEST

/* The peer dies with its end open: end of file for us, and the end can be
 * opened again. */
START_TEST(crash_peer)
{
	char gnum[16];
	int g[2];
	struct child c;
	sp_pipe *a, *b;
	char buf[16];

	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 0, NULL, &a), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "pend", name, "1", gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "open"), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &b), -EBUSY);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_pipe_recv(a, buf, sizeof(buf), MS(5000)), -EPIPE);
	ck_assert_int_eq(sp_pipe_send(a, "x", 1, MS(5000)), -EPIPE);
	ck_assert_int_eq(sp_pipe_open(name, 0, 1, NULL, &b), 0);
	sp_pipe_close(b);
	sp_pipe_close(a);
}
END_TEST

/* The peer dies blocked in recv: our send fails with -EPIPE. */
START_TEST(crash_blocked_reader)
{
	struct child c;
	sp_pipe *b;
	char buf[16];

	ck_assert_int_eq(sp_pipe_open(name, SP_CREATE, 1, NULL, &b), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "precv", name, "0", "1", NULL), 0);
	ck_assert_int_eq(sp_pipe_send(b, "one", 3, SP_NOWAIT), 0);
	ck_assert_int_eq(child_expect(&c, "got one"), 0);
	ck_assert(wait_blocked(c.pid));
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_pipe_send(b, "two", 3, MS(5000)), -EPIPE);
	ck_assert_int_eq(sp_pipe_recv(b, buf, sizeof(buf), MS(5000)), -EPIPE);
	sp_pipe_close(b);
}
END_TEST

static Suite *pipe_suite(void)
{
	Suite *s = suite_create("pipe");
	TCase *core = tu_tcase(s, "core", 20, setup, teardown);
	TCase *lim = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 20, setup, teardown);

	tcase_add_test(core, duplex);
	tcase_add_test(core, oneway);
	tcase_add_test(core, procs);
	tcase_add_test(core, create_no_end);
	tcase_add_test(lim, limits);
	tcase_add_test(lim, attach_creates_nothing);
	tcase_add_test(crash, crash_peer);
	tcase_add_test(crash, crash_blocked_reader);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(pipe_suite(), TU_NEED_SHM);
}
