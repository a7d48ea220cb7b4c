/* check_intr.c: Check suite for sp_set_interrupt_fd: every primitive's wait ends with -EINTR on a signal, in a defined state. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shared/iplock.h"
#include "shared/pipe.h"
#include "shared/queue.h"
#include "shared/ring.h"
#include "shared/sync.h"
#include "shared/value.h"
#include "testutil.h"

/*
 * Each test puts an object in a state where a wait blocks for ever, starts
 * tests/tool_intr (an exec'd process) to wait on it with SP_FOREVER, and,
 * once the tool says it is about to wait, signals it (SIGUSR1) from here.
 * In mode "fd" the signal is sent at once: it may land before the tool
 * sleeps, between two slices or inside a sleep, and must be seen wherever
 * it lands.  In mode "futex" the tool's handler leaves the fd alone and we
 * signal only once the tool sleeps in a futex (wait_blocked): the sleep's
 * EINTR alone must end the wait.  The tool then reports the return code
 * and what the wait left, and we check our side of the object.
 */

/* Generous against a loaded machine; the library's bound is one slice. */
#define BOUND_NS MS(2000)

static char name[128];
static char path[256];

static void setup(void)
{
	tu_name(name, sizeof(name), "intr");
	snprintf(path, sizeof(path), "/dev/shm/%s.iplock", name);
}

static void teardown(void)
{
	sp_sync_unlink(name);
	sp_queue_unlink(name);
	sp_pipe_unlink(name);
	sp_ring_unlink(name);
	sp_value_unlink(name);
	unlink(path);
}

/* Runs tool_intr MODE KIND obj, signals it, and checks it returned -EINTR
 * within the bound with the state line `state`. */
static void interrupt(const char *mode, const char *kind, const char *obj, long long state)
{
	struct child c;
	long long t0;

	ck_assert_int_eq(child_start(&c, "tool_intr", mode, kind, obj, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "waiting"), 0);
	if (strcmp(mode, "futex") == 0) {
		struct pollfd p = { .fd = fileno(c.out), .events = POLLIN };

		/* Only a signal inside a sleep counts here, and between two
		 * slices the tool is awake for a moment: signal again until it
		 * answers (an extra signal after its wait is harmless). */
		ck_assert_int_eq(wait_blocked(c.pid), 1);
		t0 = now_ns();
		do
			ck_assert_int_eq(kill(c.pid, SIGUSR1), 0);
		while (poll(&p, 1, 200) == 0 && wait_blocked(c.pid));
	} else {
		t0 = now_ns();
		ck_assert_int_eq(kill(c.pid, SIGUSR1), 0);
	}
	ck_assert_int_eq(child_expect(&c, "rc"), -EINTR);
	ck_assert_msg(now_ns() - t0 < BOUND_NS, "%s %s: -EINTR after %lld ms", mode, kind,
		      (now_ns() - t0) / 1000000);
	ck_assert_int_eq(child_expect(&c, "state"), state);
	ck_assert_int_eq(child_end(&c), 0);
}

static const char *const modes[] = { "fd", "futex" };

/* ------------------------------------------------------------ api */

static void *thread_fd(void *arg)
{
	(void)arg;
	/* A new thread has not opted in, whatever its creator did. */
	return (void *)(long)sp_set_interrupt_fd(-1);
}

START_TEST(api)
{
	int p[2];
	pthread_t t;
	void *r;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(sp_set_interrupt_fd(-1), -1);
	ck_assert_int_eq(sp_set_interrupt_fd(p[0]), -1);
	ck_assert_int_eq(pthread_create(&t, NULL, thread_fd, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	ck_assert_int_eq((long)r, -1);
	close(p[1]);
	ck_assert_int_eq(sp_set_interrupt_fd(p[1]), -EBADF);    /* closed: unchanged */
	ck_assert_int_eq(sp_set_interrupt_fd(-2), -EBADF);
	ck_assert_int_eq(sp_set_interrupt_fd(-1), p[0]);
	close(p[0]);
}
END_TEST

/* A readable fd ends a wait at its first sleep, and a wait that does not
 * sleep (the lock is free) is not failed by it; draining it lets waits go
 * on again.  A timed wait is interruptible too; an SP_NOWAIT try never
 * sleeps, so it is not. */
START_TEST(fd_readable)
{
	sp_lock *a, *b;
	int p[2];
	char ch;

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &a), 0);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &b), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(sp_set_interrupt_fd(p[0]), -1);
	ck_assert_int_eq(sp_lock_acquire(a, SP_FOREVER), 0);    /* free: no sleep */
	ck_assert_int_eq(sp_lock_acquire(b, SP_FOREVER), -EINTR);
	ck_assert_int_eq(sp_lock_acquire(b, MS(10000)), -EINTR);
	ck_assert_int_eq(sp_lock_acquire(b, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_lock_release(b), -EPERM);            /* not held */
	ck_assert_int_eq(read(p[0], &ch, 1), 1);
	ck_assert_int_eq(sp_lock_acquire(b, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_set_interrupt_fd(-1), p[0]);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(sp_lock_acquire(b, MS(20)), -ETIMEDOUT); /* off: ignored */
	sp_lock_close(b);
	sp_lock_close(a);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ------------------------------------------------------------ sync */

START_TEST(lock)
{
	sp_lock *l;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), 0);
	interrupt(modes[_i], "lock", name, -EPERM);
	ck_assert_int_eq(sp_lock_release(l), 0);                 /* still ours */
	sp_lock_close(l);
}
END_TEST

START_TEST(rlock)
{
	sp_rlock *l;

	ck_assert_int_eq(sp_rlock_open(name, SP_CREATE, 0, &l), 0);
	ck_assert_int_eq(sp_rlock_acquire(l, SP_NOWAIT), 0);
	interrupt(modes[_i], "rlock", name, 0);
	ck_assert_int_eq(sp_rlock_count(l), 1);
	ck_assert_int_eq(sp_rlock_release(l), 0);
	sp_rlock_close(l);
}
END_TEST

START_TEST(sem)
{
	/* _i: plain, then with SP_SEM_UNDO (a mutex and a journal). */
	struct sp_sem_opts o = { .value = 0, .flags = _i >= 2 ? SP_SEM_UNDO : 0 };
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	interrupt(modes[_i % 2], "sem", name, 0);
	ck_assert_int_eq(sp_sem_value(s), 0);
	/* No unit went missing or appeared: one release, one take. */
	ck_assert_int_eq(sp_sem_release(s, 1), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN);
	sp_sem_close(s);
}
END_TEST

START_TEST(event)
{
	sp_event *e;

	ck_assert_int_eq(sp_event_open(name, SP_CREATE, 0, &e), 0);
	interrupt(modes[_i], "event", name, 0);
	ck_assert_int_eq(sp_event_is_set(e), 0);
	sp_event_close(e);
}
END_TEST

/* The interrupted waiter holds the lock again (its release succeeds), and
 * it is not left registered: a notify then finds nobody to wake. */
START_TEST(cond)
{
	sp_cond *c;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &c), 0);
	interrupt(modes[_i], "cond", name, 0);
	ck_assert_int_eq(sp_cond_acquire(c, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_cond_notify(c, 1), 0);
	ck_assert_int_eq(sp_cond_release(c), 0);
	sp_cond_close(c);
}
END_TEST

/* The interrupted waiter breaks the barrier: the others see it broken. */
START_TEST(barrier)
{
	sp_barrier *b;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	interrupt(modes[_i], "barrier", name, 1);
	ck_assert_int_eq(sp_barrier_broken(b), 1);
	ck_assert_int_eq(sp_barrier_wait(b, SP_NOWAIT), -EPIPE);
	ck_assert_int_eq(sp_barrier_reset(b), 0);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	sp_barrier_close(b);
}
END_TEST

/* ------------------------------------------------------------ queue, pipe, ring */

START_TEST(queue_get)
{
	char buf[8];
	sp_queue *q;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, NULL, &q), 0);
	interrupt(modes[_i], "qget", name, 0);
	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_queue_get(q, buf, sizeof(buf), SP_NOWAIT), 1);
	sp_queue_close(q);
}
END_TEST

START_TEST(queue_put)
{
	struct sp_queue_opts o = { .maxsize = 1 };
	sp_queue *q;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	interrupt(modes[_i], "qput", name, 1);
	ck_assert_uint_eq(sp_queue_size(q), 1);
	sp_queue_close(q);
}
END_TEST

START_TEST(queue_join)
{
	struct sp_queue_opts o = { .flags = SP_QUEUE_JOINABLE };
	sp_queue *q;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, &o, &q), 0);
	ck_assert_int_eq(sp_queue_put(q, "a", 1, SP_NOWAIT), 0);
	interrupt(modes[_i], "join", name, 1);
	ck_assert_uint_eq(sp_queue_unfinished(q), 1);
	sp_queue_close(q);
}
END_TEST

/* A get interrupted while messages arrive loses none: we put N messages,
 * signalling the getter as each goes in; it must get every one, whichever
 * of its gets the signals ended. */
START_TEST(queue_race)
{
	enum { N = 200 };
	struct child c;
	sp_queue *q;
	long long sum = 0;
	char line[64];
	int intr = 0;

	ck_assert_int_eq(sp_queue_open(name, SP_CREATE, NULL, &q), 0);
	ck_assert_int_eq(child_start(&c, "tool_intr", "fd", "qrace", name, "200", NULL), 0);
	ck_assert_int_eq(child_expect(&c, "waiting"), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(sp_queue_put(q, &i, sizeof(i), SP_FOREVER), 0);
		ck_assert_int_eq(kill(c.pid, SIGUSR1), 0);
		sum += i;
	}
	while (child_line(&c, line, sizeof(line)) && strncmp(line, "intr ", 5) == 0)
		intr++;
	ck_assert_str_eq(line, "got 200");
	ck_assert_int_eq(child_expect(&c, "sum"), sum);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_uint_eq(sp_queue_size(q), 0);
	ck_assert_int_le(intr, N);
	sp_queue_close(q);
}
END_TEST

START_TEST(pipe_recv)
{
	sp_pipe *p;

	ck_assert_int_eq(sp_pipe_create(name, 0, NULL), 0);
	ck_assert_int_eq(sp_pipe_open(name, 0, 0, NULL, &p), 0);
	interrupt(modes[_i], "pipe", name, 0);
	sp_pipe_close(p);
}
END_TEST

START_TEST(ring_get)
{
	sp_ring *r;

	ck_assert_int_eq(sp_ring_open(name, SP_CREATE, NULL, &r), 0);
	interrupt(modes[_i], "ring", name, 0);
	ck_assert_int_eq(sp_ring_put(r, "a", 1, SP_NOWAIT), 0);
	sp_ring_close(r);
}
END_TEST

/* ------------------------------------------------------------ value, iplock, off */

START_TEST(value_lock)
{
	struct sp_value_opts o = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	sp_value *v;

	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &o, &v), 0);
	ck_assert_int_eq(sp_value_lock(v, SP_NOWAIT), 0);
	interrupt(modes[_i], "value", name, -EPERM);
	ck_assert_int_eq(sp_value_unlock(v), 0);
	sp_value_close(v);
}
END_TEST

/* The InterProcessLock waits in naps with an interrupt fd (a blocking
 * flock could sleep through a signal just before it): fd mode only. */
START_TEST(iplock)
{
	sp_iplock *l;

	ck_assert_int_eq(sp_iplock_open(path, 0, &l), 0);
	ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), 0);
	interrupt("fd", "iplock", path, 0);
	ck_assert_int_eq(sp_iplock_held(l), 1);
	sp_iplock_close(l);
}
END_TEST

/* Without the opt-in nothing changes: the signal does not end the wait,
 * which succeeds once we release the lock. */
START_TEST(off)
{
	struct child c;
	sp_lock *l;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), 0);
	ck_assert_int_eq(child_start(&c, "tool_intr", "off", "lock", name, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "waiting"), 0);
	ck_assert_int_eq(wait_blocked(c.pid), 1);
	ck_assert_int_eq(kill(c.pid, SIGUSR1), 0);
	/* Had the signal ended the wait, rc would be -EINTR, not 0. */
	ck_assert_int_eq(sp_lock_release(l), 0);
	ck_assert_int_eq(child_expect(&c, "rc"), 0);
	ck_assert_int_eq(child_expect(&c, "state"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_lock_close(l);
}
END_TEST

static Suite *intr_suite(void)
{
	Suite *s = suite_create("intr");
	TCase *api_tc = tu_tcase(s, "api", 10, setup, teardown);
	TCase *sync = tu_tcase(s, "sync", 30, setup, teardown);
	TCase *msg = tu_tcase(s, "messages", 30, setup, teardown);
	TCase *other = tu_tcase(s, "other", 30, setup, teardown);

	tcase_add_test(api_tc, api);
	tcase_add_test(api_tc, fd_readable);
	tcase_add_loop_test(sync, lock, 0, 2);
	tcase_add_loop_test(sync, rlock, 0, 2);
	tcase_add_loop_test(sync, sem, 0, 4);
	tcase_add_loop_test(sync, event, 0, 2);
	tcase_add_loop_test(sync, cond, 0, 2);
	tcase_add_loop_test(sync, barrier, 0, 2);
	tcase_add_loop_test(msg, queue_get, 0, 2);
	tcase_add_loop_test(msg, queue_put, 0, 2);
	tcase_add_loop_test(msg, queue_join, 0, 2);
	tcase_add_test(msg, queue_race);
	tcase_add_loop_test(msg, pipe_recv, 0, 2);
	tcase_add_loop_test(msg, ring_get, 0, 2);
	tcase_add_loop_test(other, value_lock, 0, 2);
	tcase_add_test(other, iplock);
	tcase_add_test(other, off);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(intr_suite(), TU_NEED_SHM);
}
