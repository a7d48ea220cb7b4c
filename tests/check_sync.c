/* check_sync.c: Check suite for Lock, RLock, Semaphore, Event, Condition and Barrier, across processes and crashes. */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/sync.h"
#include "shared/value.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "sync");
}

static void teardown(void)
{
	sp_sync_unlink(name);
}

/* Starts tool_sync OP NAME GUN, a holder of the object: returns once it has
 * acquired it; it releases when the gun g fires. */
static void start_holder(struct child *c, const char *op, int g[2])
{
	char gnum[16];

	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(c, "tool_sync", op, name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(c, "acquired"), 0);
}

/* ------------------------------------------------------------ core */

START_TEST(lock_basic)
{
	sp_lock *a, *b;
	int64_t t0;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &a), 0);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &b), 0);
	ck_assert_int_eq(sp_lock_locked(a), 0);
	ck_assert_int_eq(sp_lock_acquire(a, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_lock_locked(b), 1);
	ck_assert_int_eq(sp_lock_acquire(a, SP_FOREVER), -EDEADLK);
	ck_assert_int_eq(sp_lock_acquire(b, SP_NOWAIT), -EAGAIN);
	t0 = now_ns();
	ck_assert_int_eq(sp_lock_acquire(b, MS(30)), -ETIMEDOUT);
	ck_assert(now_ns() - t0 >= MS(30));
	ck_assert_int_eq(sp_lock_release(b), -EPERM);     /* wrong owner */
	ck_assert_int_eq(sp_lock_release(a), 0);
	ck_assert_int_eq(sp_lock_release(a), -EPERM);     /* not held */
	ck_assert_int_eq(sp_lock_acquire(b, SP_NOWAIT), 0);
	sp_lock_close(b);                                 /* releases */
	ck_assert_int_eq(sp_lock_acquire(a, SP_NOWAIT), 0);
	sp_lock_close(a);
}
END_TEST

START_TEST(lock_procs)
{
	int g[2];
	struct child c;
	sp_lock *l;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	start_holder(&c, "lock", g);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_lock_release(l), -EPERM);     /* held by another process */
	gun_fire(g);
	ck_assert_int_eq(sp_lock_acquire(l, SP_FOREVER), 0);
	ck_assert_int_eq(child_expect(&c, "released"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_lock_close(l);
}
END_TEST

/* Two processes increment a shared Value 20000 times each: under the
 * Value's lock the total is exact. */
START_TEST(lock_exclusion)
{
	struct sp_value_opts o = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	char vname[128];
	struct child c[2];
	sp_value *v;
	int64_t x;

	tu_name(vname, sizeof(vname), "val");
	ck_assert_int_eq(sp_value_open(vname, SP_CREATE, &o, &v), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(child_start(&c[i], "tool_sync", "count", name, vname, "20000", "1",
					     NULL), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_expect(&c[i], "done"), 0);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	ck_assert_int_eq(sp_value_get(v, 0, &x), 0);
	ck_assert_int_eq(x, 40000);
	sp_value_close(v);
	sp_value_unlink(vname);
}
END_TEST

START_TEST(rlock_basic)
{
	sp_rlock *a, *b;

	ck_assert_int_eq(sp_rlock_open(name, SP_CREATE, 0, &a), 0);
	ck_assert_int_eq(sp_rlock_open(name, 0, 0, &b), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sp_rlock_acquire(a, SP_NOWAIT), 0);
	ck_assert_uint_eq(sp_rlock_count(a), 3);
	ck_assert_uint_eq(sp_rlock_count(b), 0);
	ck_assert_int_eq(sp_rlock_owner(a), getpid());
	ck_assert_int_eq(sp_rlock_owner(b), getpid());   /* held by another handle here */
	ck_assert_int_eq(sp_rlock_acquire(b, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_rlock_release(b), -EPERM);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sp_rlock_release(a), 0);
	ck_assert_int_eq(sp_rlock_release(a), -EPERM);
	ck_assert_int_eq(sp_rlock_owner(b), 0);
	ck_assert_int_eq(sp_rlock_acquire(b, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_rlock_release(b), 0);
	sp_rlock_close(a);
	sp_rlock_close(b);
}
END_TEST

START_TEST(sem_basic)
{
	struct sp_sem_opts o = { .value = 2, .flags = SP_SEM_BOUNDED };
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	ck_assert_int_eq(sp_sem_value(s), 2);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_sem_acquire(s, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_sem_release(s, 0), -EINVAL);
	ck_assert_int_eq(sp_sem_release(s, 3), -EOVERFLOW);   /* past the bound */
	ck_assert_int_eq(sp_sem_release(s, 2), 0);
	ck_assert_int_eq(sp_sem_release(s, 1), -EOVERFLOW);   /* BoundedSemaphore */
	ck_assert_int_eq(sp_sem_value(s), 2);
	sp_sem_close(s);
}
END_TEST

START_TEST(sem_unbounded)
{
	struct sp_sem_opts o = { .value = 0 };
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	ck_assert_int_eq(sp_sem_release(s, 5), 0);
	ck_assert_int_eq(sp_sem_value(s), 5);
	ck_assert_int_eq(sp_sem_release(s, SP_SEM_VALUE_MAX), -EOVERFLOW);
	sp_sem_close(s);
}
END_TEST

START_TEST(sem_procs)
{
	struct sp_sem_opts o = { .value = 0 };
	struct child c;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "semwait", name, "-1", NULL), 0);
	ck_assert_int_eq(sp_sem_release(s, 1), 0);
	ck_assert_int_eq(child_expect(&c, "acquired"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_sem_value(s), 0);
	sp_sem_close(s);
}
END_TEST

/* The nightclub: 4 processes, a BoundedSemaphore of 2, never more than 2
 * inside (the Value records the maximum). */
START_TEST(sem_club)
{
	struct sp_sem_opts o = { .value = 2, .flags = SP_SEM_BOUNDED | SP_SEM_UNDO };
	struct sp_value_opts vo = { .type = SP_I64, .length = 2 };
	char vname[128];
	struct child c[4];
	sp_value *v;
	sp_sem *s;
	int64_t in, max;

	tu_name(vname, sizeof(vname), "club");
	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	ck_assert_int_eq(sp_value_open(vname, SP_CREATE, &vo, &v), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(child_start(&c[i], "tool_sync", "club", name, vname, "300", NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(child_expect(&c[i], "done"), 0);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	sp_value_get(v, 0, &in);
	sp_value_get(v, 1, &max);
	ck_assert_int_eq(in, 0);
	ck_assert(max >= 1 && max <= 2);
	ck_assert_int_eq(sp_sem_value(s), 2);
	sp_value_close(v);
	sp_value_unlink(vname);
	sp_sem_close(s);
}
END_TEST

START_TEST(event_basic)
{
	sp_event *e;
	struct child c[3];

	ck_assert_int_eq(sp_event_open(name, SP_CREATE, 0, &e), 0);
	ck_assert_int_eq(sp_event_is_set(e), 0);
	ck_assert_int_eq(sp_event_wait(e, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_event_wait(e, MS(20)), -ETIMEDOUT);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(child_start(&c[i], "tool_sync", "event", name, "-1", NULL), 0);
		ck_assert_int_eq(child_expect(&c[i], "waiting"), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert(wait_blocked(c[i].pid));
	ck_assert_int_eq(sp_event_set(e), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(child_expect(&c[i], "event"), 0);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	ck_assert_int_eq(sp_event_is_set(e), 1);
	ck_assert_int_eq(sp_event_wait(e, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_event_clear(e), 0);
	ck_assert_int_eq(sp_event_is_set(e), 0);
	sp_event_close(e);
}
END_TEST

START_TEST(cond_basic)
{
	sp_cond *c;
	struct child k;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &c), 0);
	ck_assert_int_eq(sp_cond_wait(c, SP_NOWAIT), -EPERM);   /* lock not held */
	ck_assert_int_eq(sp_cond_notify(c, 1), -EPERM);
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_wait(c, MS(20)), -ETIMEDOUT);  /* and holds the lock again */
	ck_assert_int_eq(sp_cond_notify(c, 1), 0);              /* nobody waiting */
	ck_assert_int_eq(sp_cond_release(c), 0);

	ck_assert_int_eq(child_start(&k, "tool_sync", "cond", name, "-1", NULL), 0);
	ck_assert_int_eq(child_expect(&k, "waiting"), 0);
	/* The child printed holding the lock: once we have the lock, it is
	 * registered and asleep. */
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_notify_all(c), 1);
	ck_assert_int_eq(sp_cond_release(c), 0);
	ck_assert_int_eq(child_expect(&k, "cond"), 0);
	ck_assert_int_eq(child_end(&k), 0);
	sp_cond_close(c);
}
END_TEST

static int pred_calls;
static int pred(void *arg)
{
	pred_calls++;
	return *(int *)arg;
}

START_TEST(cond_wait_for)
{
	sp_cond *c;
	int flag = 0;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &c), 0);
	ck_assert_int_eq(sp_cond_wait_for(c, pred, &flag, MS(10)), -EPERM);
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_wait_for(c, pred, &flag, MS(30)), -ETIMEDOUT);
	ck_assert(pred_calls >= 2);
	flag = 1;
	ck_assert_int_eq(sp_cond_wait_for(c, pred, &flag, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_cond_release(c), 0);
	sp_cond_close(c);
}
END_TEST

/* notify(1) wakes one waiter, the one that waited longest. */
START_TEST(cond_notify_one)
{
	struct child k[2];
	sp_cond *c;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &c), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_start(&k[i], "tool_sync", "cond", name, "-1", NULL), 0);
		ck_assert_int_eq(child_expect(&k[i], "waiting"), 0);
		ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);   /* it waits now */
		ck_assert_int_eq(sp_cond_release(c), 0);
	}
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_notify(c, 1), 1);
	ck_assert_int_eq(sp_cond_release(c), 0);
	ck_assert_int_eq(child_expect(&k[0], "cond"), 0);
	ck_assert_int_eq(child_end(&k[0]), 0);
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_notify(c, 5), 1);
	ck_assert_int_eq(sp_cond_release(c), 0);
	ck_assert_int_eq(child_expect(&k[1], "cond"), 0);
	ck_assert_int_eq(child_end(&k[1]), 0);
	sp_cond_close(c);
}
END_TEST

START_TEST(barrier_basic)
{
	struct child c[2];
	sp_barrier *b;
	int seen = 0, idx;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 3, 0, &b), 0);
	ck_assert_uint_eq(sp_barrier_parties(b), 3);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_start(&c[i], "tool_sync", "barrier", name, "-1", NULL), 0);
		ck_assert_int_eq(child_expect(&c[i], "waiting"), 0);
	}
	idx = sp_barrier_wait(b, MS(10000));
	ck_assert(idx >= 0 && idx < 3);
	seen |= 1 << idx;
	for (int i = 0; i < 2; i++) {
		idx = child_expect(&c[i], "barrier");
		ck_assert(idx >= 0 && idx < 3);
		seen |= 1 << idx;
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	sp_barrier_close(b);
}
END_TEST

/* What the round's action (run in the test process) saw and did. */
struct action_ctx {
	sp_barrier *b, *late;   /* our handle; another one, for a next-round arrival */
	sp_value *v;
	unsigned waiting;
	int late_rc, result, ran;
};

static int action(void *arg)
{
	struct action_ctx *a = arg;

	a->ran++;
	a->waiting = sp_barrier_n_waiting(a->b);
	/* A party of the next round cannot arrive while the action runs,
	 * and its try breaks nothing. */
	a->late_rc = sp_barrier_wait(a->late, SP_NOWAIT);
	if (a->v)
		sp_value_set(a->v, 0, 42);
	return a->result;
}

/* The action runs in the last arrival before anyone is released: the two
 * others (exec'd) find its store done when their wait returns. */
START_TEST(barrier_action)
{
	struct sp_value_opts o = { .type = SP_I64 };
	struct action_ctx a = { 0 };
	char vname[128];
	struct child c[2];
	int64_t x;

	tu_name(vname, sizeof(vname), "val");
	ck_assert_int_eq(sp_value_open(vname, SP_CREATE, &o, &a.v), 0);
	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 3, 0, &a.b), 0);
	ck_assert_int_eq(sp_barrier_open(name, 0, 0, 0, &a.late), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_start_waiting(&c[i], "tool_sync", "barrierval", name, vname,
						     "-1", NULL), 0);
	}
	ck_assert_uint_eq(sp_barrier_n_waiting(a.b), 2);
	ck_assert_int_eq(sp_barrier_wait_action(a.b, MS(10000), action, &a), 2);
	ck_assert_int_eq(a.ran, 1);
	ck_assert_uint_eq(a.waiting, 2);
	ck_assert_int_eq(a.late_rc, -EAGAIN);
	for (int i = 0; i < 2; i++) {
		int idx = child_expect(&c[i], "barrier");

		ck_assert(idx == 0 || idx == 1);
		ck_assert_int_eq(child_expect(&c[i], "value"), 42);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	ck_assert_int_eq(sp_barrier_broken(a.b), 0);
	ck_assert_int_eq(sp_value_get(a.v, 0, &x), 0);
	ck_assert_int_eq(x, 42);
	sp_barrier_close(a.late);
	sp_barrier_close(a.b);
	sp_value_close(a.v);
	sp_value_unlink(vname);
}
END_TEST

/* An action that fails breaks the round: its caller gets -ECANCELED, the
 * waiter -EPIPE. */
START_TEST(barrier_action_fails)
{
	struct action_ctx a = { .result = 1 };
	struct child c;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &a.b), 0);
	ck_assert_int_eq(sp_barrier_open(name, 0, 0, 0, &a.late), 0);
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(sp_barrier_wait_action(a.b, MS(10000), action, &a), -ECANCELED);
	ck_assert_int_eq(child_expect(&c, "barrier"), -EPIPE);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_barrier_broken(a.b), 1);
	ck_assert_int_eq(sp_barrier_reset(a.b), 0);
	sp_barrier_close(a.late);
	sp_barrier_close(a.b);
}
END_TEST

/* A waiter that times out while the action runs ends the round: the
 * action's caller learns it (-EPIPE) from its own pass, which fails. */
static int action_until_broken(void *arg)
{
	struct action_ctx *a = arg;

	while (!sp_barrier_broken(a->b))
		sched_yield();
	a->ran++;
	return 0;
}

START_TEST(barrier_action_timeout)
{
	struct action_ctx a = { 0 };
	struct child c;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &a.b), 0);
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "barrier", name, "200", NULL), 0);
	ck_assert_int_eq(sp_barrier_wait_action(a.b, MS(10000), action_until_broken, &a), -EPIPE);
	ck_assert_int_eq(a.ran, 1);
	ck_assert_int_eq(child_expect(&c, "barrier"), -ETIMEDOUT);
	ck_assert_int_eq(child_end(&c), 0);
	sp_barrier_close(a.b);
}
END_TEST

START_TEST(barrier_timeout_reset)
{
	sp_barrier *b;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	ck_assert_int_eq(sp_barrier_wait(b, MS(20)), -ETIMEDOUT);
	ck_assert_int_eq(sp_barrier_broken(b), 1);
	ck_assert_int_eq(sp_barrier_wait(b, MS(20)), -EPIPE);
	ck_assert_int_eq(sp_barrier_reset(b), 0);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	ck_assert_int_eq(sp_barrier_abort(b), 0);
	ck_assert_int_eq(sp_barrier_wait(b, SP_FOREVER), -EPIPE);
	sp_barrier_close(b);
}
END_TEST

/* A timeout too long to add to the clock waits as SP_FOREVER (wait.h's
 * deadlines saturate): a party given LLONG_MAX is still waiting when the
 * second comes.  (The deadline used to overflow, and the wait failed at
 * once with -ETIMEDOUT, breaking the barrier.) */
START_TEST(barrier_wait_llong_max)
{
	struct child c;
	sp_barrier *b;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "barrier", name, "max", NULL), 0);
	ck_assert_uint_eq(sp_barrier_n_waiting(b), 1);
	ck_assert(sp_barrier_wait(b, MS(10000)) >= 0);
	ck_assert(child_expect(&c, "barrier") >= 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	sp_barrier_close(b);
}
END_TEST

START_TEST(barrier_abort_reset_waiters)
{
	struct child c;
	sp_barrier *b;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	/* abort breaks a waiter */
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_uint_eq(sp_barrier_n_waiting(b), 1);
	ck_assert_int_eq(sp_barrier_abort(b), 0);
	ck_assert_int_eq(child_expect(&c, "barrier"), -EPIPE);
	ck_assert_int_eq(child_end(&c), 0);
	/* reset breaks a waiter too, but leaves the barrier usable */
	ck_assert_int_eq(sp_barrier_reset(b), 0);
	ck_assert_int_eq(child_start_waiting(&c, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(sp_barrier_reset(b), 0);
	ck_assert_int_eq(child_expect(&c, "barrier"), -EPIPE);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	ck_assert_int_eq(child_start(&c, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(child_expect(&c, "waiting"), 0);
	ck_assert(sp_barrier_wait(b, MS(10000)) >= 0);
	ck_assert(child_expect(&c, "barrier") >= 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_barrier_close(b);
}
END_TEST

/* ---------------------------------------------------------- limits */

START_TEST(limits_open)
{
	struct sp_sem_opts big = { .value = SP_SEM_VALUE_MAX + 1u };
	struct sp_sem_opts badf = { .value = 1, .flags = 0x80 };
	sp_lock *l, *l2;
	sp_sem *s;
	sp_barrier *b;
	sp_event *e;

	ck_assert_int_eq(sp_lock_open("", SP_CREATE, 0, &l), -EINVAL);
	ck_assert_int_eq(sp_lock_open("a/b", SP_CREATE, 0, &l), -EINVAL);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &l), -ENOENT);
	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &big, &s), -EINVAL);
	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &badf, &s), -EINVAL);
	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 0, 0, &b), -EINVAL);
	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 129, 0, &b), -EINVAL);
	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	ck_assert_int_eq(sp_lock_open(name, SP_CREATE | SP_EXCL, 0, &l2), -EEXIST);
	/* the same name as another type or kind */
	ck_assert_int_eq(sp_event_open(name, SP_CREATE, 0, &e), -EPROTO);
	ck_assert_int_eq(sp_sem_open(name, 0, NULL, &s), -EPROTO);
	ck_assert_int_eq(sp_value_unlink(name), -EPROTO);
	sp_lock_close(l);
	ck_assert_int_eq(sp_sync_unlink(name), 0);
	ck_assert_int_eq(sp_sync_unlink(name), -ENOENT);
}
END_TEST

START_TEST(limits_corrupt)
{
	sp_lock *l, *m;
	char path[256];
	FILE *f;
	unsigned bad = 0xdeadbeef;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	/* An impossible owner token in the lock word: -EBADMSG, not a crash. */
	f = fopen(tu_obj_path(path, sizeof(path), name, NULL), "r+");
	ck_assert_ptr_nonnull(f);
	fseek(f, 8320 + 16, SEEK_SET);
	fwrite(&bad, 4, 1, f);
	fclose(f);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), -EBADMSG);
	/* A broken body magic: attaching fails with -EBADMSG. */
	f = fopen(path, "r+");
	fseek(f, 8320 + 12, SEEK_SET);
	fwrite(&bad, 4, 1, f);
	fclose(f);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &m), -EBADMSG);
	sp_lock_close(l);
}
END_TEST

/* ----------------------------------------------------------- crash */

START_TEST(crash_lock_holder)
{
	int g[2];
	struct child c;
	sp_lock *l;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	start_holder(&c, "lock", g);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_lock_acquire(l, MS(5000)), -EOWNERDEAD);
	ck_assert_int_eq(sp_lock_release(l), 0);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), 0);
	sp_lock_close(l);
}
END_TEST

/* The survivor is already waiting when the holder dies. */
START_TEST(crash_lock_holder_waited)
{
	int g[2];
	struct child c, w;
	sp_lock *l;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	start_holder(&c, "lock", g);
	ck_assert_int_eq(child_start_waiting(&w, "tool_sync", "lockwait", name, "10000", NULL), 0);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(child_expect(&w, "acquired"), -EOWNERDEAD);
	ck_assert_int_eq(child_end(&w), 0);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), 0);   /* w closed: released */
	sp_lock_close(l);
}
END_TEST

START_TEST(crash_lock_waiter)
{
	struct child w;
	sp_lock *l, *m;

	ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &m), 0);
	ck_assert_int_eq(sp_lock_acquire(l, SP_NOWAIT), 0);
	ck_assert_int_eq(child_start_waiting(&w, "tool_sync", "lockwait", name, "-1", NULL), 0);
	ck_assert_int_eq(child_kill(&w), 128 + SIGKILL);
	ck_assert_int_eq(sp_lock_release(l), 0);
	ck_assert_int_eq(sp_lock_acquire(m, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_lock_release(m), 0);
	sp_lock_close(m);
	sp_lock_close(l);
}
END_TEST

START_TEST(crash_rlock_holder)
{
	int g[2];
	struct child c;
	sp_rlock *l;

	ck_assert_int_eq(sp_rlock_open(name, SP_CREATE, 0, &l), 0);
	start_holder(&c, "rlock", g);
	ck_assert_int_eq(sp_rlock_owner(l), c.pid);      /* held by another process */
	ck_assert_uint_eq(sp_rlock_count(l), 0);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_rlock_acquire(l, MS(5000)), -EOWNERDEAD);
	ck_assert_uint_eq(sp_rlock_count(l), 1);
	ck_assert_int_eq(sp_rlock_release(l), 0);
	ck_assert_uint_eq(sp_rlock_count(l), 0);
	sp_rlock_close(l);
}
END_TEST

START_TEST(crash_sem_holder_undo)
{
	struct sp_sem_opts o = { .value = 1, .flags = SP_SEM_UNDO | SP_SEM_BOUNDED };
	int g[2];
	struct child c;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	start_holder(&c, "sem", g);
	ck_assert_int_eq(sp_sem_value(s), 0);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	/* The dead holder's unit comes back to whoever finds it empty. */
	ck_assert_int_eq(sp_sem_acquire(s, MS(5000)), 0);
	ck_assert_uint_eq(sp_sem_held(s), 1);
	ck_assert_int_eq(sp_sem_release(s, 1), 0);
	ck_assert_int_eq(sp_sem_value(s), 1);
	ck_assert_int_eq(sp_sem_release(s, 1), -EOVERFLOW);
	sp_sem_close(s);
}
END_TEST

START_TEST(crash_sem_holder_noundo)
{
	struct sp_sem_opts o = { .value = 1 };
	int g[2];
	struct child c;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	start_holder(&c, "sem", g);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	/* Documented: without SP_SEM_UNDO the unit is gone. */
	ck_assert_int_eq(sp_sem_acquire(s, MS(120)), -ETIMEDOUT);
	sp_sem_close(s);
}
END_TEST

START_TEST(crash_sem_waiter)
{
	struct sp_sem_opts o = { .value = 0, .flags = SP_SEM_UNDO };
	struct child w;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	ck_assert_int_eq(child_start_waiting(&w, "tool_sync", "semwait", name, "-1", NULL), 0);
	ck_assert_int_eq(child_kill(&w), 128 + SIGKILL);
	ck_assert_int_eq(sp_sem_release(s, 1), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);   /* the unit is not lost */
	sp_sem_close(s);
}
END_TEST

START_TEST(crash_event_waiter)
{
	struct child w;
	sp_event *e;

	ck_assert_int_eq(sp_event_open(name, SP_CREATE, 0, &e), 0);
	ck_assert_int_eq(child_start_waiting(&w, "tool_sync", "event", name, "-1", NULL), 0);
	ck_assert_int_eq(child_kill(&w), 128 + SIGKILL);
	ck_assert_int_eq(sp_event_set(e), 0);
	ck_assert_int_eq(sp_event_wait(e, SP_NOWAIT), 0);
	sp_event_close(e);
}
END_TEST

START_TEST(crash_cond_holder)
{
	int g[2];
	struct child c;
	sp_cond *k;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &k), 0);
	start_holder(&c, "condhold", g);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_cond_acquire(k, MS(5000)), -EOWNERDEAD);
	ck_assert_int_eq(sp_cond_notify_all(k), 0);
	ck_assert_int_eq(sp_cond_release(k), 0);
	sp_cond_close(k);
}
END_TEST

/* A waiter dies; notify(1) goes to the live one, not the dead one. */
START_TEST(crash_cond_waiter)
{
	struct child k[2];
	sp_cond *c;

	ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &c), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_start(&k[i], "tool_sync", "cond", name, "-1", NULL), 0);
		ck_assert_int_eq(child_expect(&k[i], "waiting"), 0);
		ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
		ck_assert_int_eq(sp_cond_release(c), 0);
	}
	ck_assert(wait_blocked(k[0].pid));
	ck_assert_int_eq(child_kill(&k[0]), 128 + SIGKILL);
	ck_assert_int_eq(sp_cond_acquire(c, SP_FOREVER), 0);
	ck_assert_int_eq(sp_cond_notify(c, 1), 1);
	ck_assert_int_eq(sp_cond_release(c), 0);
	ck_assert_int_eq(child_expect(&k[1], "cond"), 0);
	ck_assert_int_eq(child_end(&k[1]), 0);
	sp_cond_close(c);
}
END_TEST

/* A party dies waiting at the barrier: the others see it broken. */
START_TEST(crash_barrier_waiter)
{
	struct child a, b;
	sp_barrier *bar;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 3, 0, &bar), 0);
	ck_assert_int_eq(child_start_waiting(&a, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(child_start_waiting(&b, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(child_kill(&a), 128 + SIGKILL);
	ck_assert_int_eq(child_expect(&b, "barrier"), -EPIPE);
	ck_assert_int_eq(child_end(&b), 0);
	ck_assert_int_eq(sp_barrier_wait(bar, SP_FOREVER), -EPIPE);
	ck_assert_int_eq(sp_barrier_reset(bar), 0);
	ck_assert_int_eq(sp_barrier_broken(bar), 0);
	sp_barrier_close(bar);
}
END_TEST

/* A participant dies before it arrives: the waiters do not wait forever. */
START_TEST(crash_barrier_party)
{
	struct child a;
	sp_barrier *bar;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 3, 0, &bar), 0);
	/* A child attached to the barrier, killed as it is about to arrive
	 * (whether it did or not, it is a party that died). */
	ck_assert_int_eq(child_start(&a, "tool_sync", "barrier", name, "-1", NULL), 0);
	ck_assert_int_eq(child_expect(&a, "waiting"), 0);
	ck_assert_int_eq(child_kill(&a), 128 + SIGKILL);
	ck_assert_int_eq(sp_barrier_wait(bar, MS(5000)), -EPIPE);
	sp_barrier_close(bar);
}
END_TEST

/* Two users of an undo semaphore of 2 killed at random moments, often
 * inside acquire or release: every unit comes back. */
START_TEST(crash_sem_hammer)
{
	struct sp_sem_opts o = { .value = 2, .flags = SP_SEM_UNDO | SP_SEM_BOUNDED };
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	srand((unsigned)now_ns());
	for (int round = 0; round < 6; round++) {
		struct child c[2];
		struct timespec t = { 0, (rand() % 3000) * 1000L };

		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(child_start(&c[i], "tool_sync", "semhammer", name, NULL), 0);
			ck_assert_int_eq(child_expect(&c[i], "running"), 0);
		}
		nanosleep(&t, NULL);      /* a random moment, not a synchronisation */
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(child_kill(&c[i]), 128 + SIGKILL);
		ck_assert_int_eq(sp_sem_acquire(s, MS(5000)), 0);
		ck_assert_int_eq(sp_sem_acquire(s, MS(5000)), 0);
		ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN);
		ck_assert_int_eq(sp_sem_release(s, 2), 0);
		ck_assert_int_eq(sp_sem_value(s), 2);
	}
	sp_sem_close(s);
}
END_TEST

static Suite *sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *core = tu_tcase(s, "core", 30, setup, teardown);
	TCase *limits = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 30, setup, teardown);

	tcase_add_test(core, lock_basic);
	tcase_add_test(core, lock_procs);
	tcase_add_test(core, lock_exclusion);
	tcase_add_test(core, rlock_basic);
	tcase_add_test(core, sem_basic);
	tcase_add_test(core, sem_unbounded);
	tcase_add_test(core, sem_procs);
	tcase_add_test(core, sem_club);
	tcase_add_test(core, event_basic);
	tcase_add_test(core, cond_basic);
	tcase_add_test(core, cond_wait_for);
	tcase_add_test(core, cond_notify_one);
	tcase_add_test(core, barrier_basic);
	tcase_add_test(core, barrier_action);
	tcase_add_test(core, barrier_action_fails);
	tcase_add_test(core, barrier_action_timeout);
	tcase_add_test(core, barrier_timeout_reset);
	tcase_add_test(core, barrier_abort_reset_waiters);
	tcase_add_test(core, barrier_wait_llong_max);
	tcase_add_test(limits, limits_open);
	tcase_add_test(limits, limits_corrupt);
	tcase_add_test(crash, crash_lock_holder);
	tcase_add_test(crash, crash_lock_holder_waited);
	tcase_add_test(crash, crash_lock_waiter);
	tcase_add_test(crash, crash_rlock_holder);
	tcase_add_test(crash, crash_sem_holder_undo);
	tcase_add_test(crash, crash_sem_holder_noundo);
	tcase_add_test(crash, crash_sem_waiter);
	tcase_add_test(crash, crash_event_waiter);
	tcase_add_test(crash, crash_cond_holder);
	tcase_add_test(crash, crash_cond_waiter);
	tcase_add_test(crash, crash_barrier_waiter);
	tcase_add_test(crash, crash_barrier_party);
	tcase_add_test(crash, crash_sem_hammer);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(sync_suite(), TU_NEED_SHM);
}
