/* tool_sync.c: helper process for check_sync and check_iplock: holds, waits on and races over sync objects. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/iplock.h"
#include "shared/sync.h"
#include "shared/value.h"
#include "testutil.h"

/*
 * Usage: tool_sync COMMAND ARGS...  Each line it prints is a step the test
 * reads ("acquired 0", "waiting", ...); numbers are return codes (negative
 * errno).  GUNFD is an inherited pipe: the tool blocks reading it where the
 * test wants to decide when it goes on (the test's "start gun").
 *
 *   lock NAME GUNFD          acquire, print, wait for the gun, release
 *   rlock NAME GUNFD         acquire twice, print, gun, release twice
 *   condhold NAME GUNFD      take the condition's lock, print, gun, release
 *   sem NAME GUNFD           acquire one unit, print, gun, release it
 *   lockwait NAME MS         print "waiting", acquire with a timeout, print
 *   semwait NAME MS          print "waiting", acquire with a timeout, print
 *   event NAME MS            print "waiting", wait, print
 *   cond NAME MS             lock, print "waiting", wait, print, unlock
 *   barrier NAME MS          print "waiting", wait, print
 *   barrierval NAME VALUE MS print "waiting", wait, print, print value[0]
 *                            (what the round's action stored there)
 *   count LOCK VALUE N USE   N times: x = value; value = x + 1, under the
 *                            Value's lock if USE is 1
 *   club SEM VALUE N         N visits to the nightclub: inside += 1, record
 *                            the maximum in value[1], inside -= 1
 *   iplock PATH ex|sh GUNFD  acquire an InterProcessLock, print, gun, release
 *   iptry PATH ex|sh MS      try to acquire with a timeout, print, release
 *   semhammer NAME           acquire and release forever, "running" once
 * MS is milliseconds (-1: SP_FOREVER, "max": LLONG_MAX nanoseconds).
 */

static int cmd_lock(char **a)
{
	sp_lock *l;

	tu_opened(sp_lock_open(a[0], 0, 0, &l));
	printf("acquired %d\n", sp_lock_acquire(l, SP_FOREVER));
	tu_gun_wait(a[1]);
	printf("released %d\n", sp_lock_release(l));
	sp_lock_close(l);
	return 0;
}

static int cmd_rlock(char **a)
{
	sp_rlock *l;
	int r1, r2;

	tu_opened(sp_rlock_open(a[0], 0, 0, &l));
	r1 = sp_rlock_acquire(l, SP_FOREVER);
	r2 = sp_rlock_acquire(l, SP_FOREVER);
	printf("acquired %d %d %u\n", r1, r2, sp_rlock_count(l));
	tu_gun_wait(a[1]);
	r1 = sp_rlock_release(l);
	r2 = sp_rlock_release(l);
	printf("released %d %d\n", r1, r2);
	sp_rlock_close(l);
	return 0;
}

static int cmd_condhold(char **a)
{
	sp_cond *c;

	tu_opened(sp_cond_open(a[0], 0, 0, &c));
	printf("acquired %d\n", sp_cond_acquire(c, SP_FOREVER));
	tu_gun_wait(a[1]);
	printf("released %d\n", sp_cond_release(c));
	sp_cond_close(c);
	return 0;
}

static int cmd_sem(char **a)
{
	sp_sem *s;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	printf("acquired %d\n", sp_sem_acquire(s, SP_FOREVER));
	tu_gun_wait(a[1]);
	printf("released %d\n", sp_sem_release(s, 1));
	sp_sem_close(s);
	return 0;
}

static int cmd_lockwait(char **a)
{
	sp_lock *l;

	tu_opened(sp_lock_open(a[0], 0, 0, &l));
	printf("waiting\n");
	printf("acquired %d\n", sp_lock_acquire(l, tu_ms(a[1])));
	sp_lock_close(l);
	return 0;
}

static int cmd_semwait(char **a)
{
	sp_sem *s;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	printf("waiting\n");
	printf("acquired %d\n", sp_sem_acquire(s, tu_ms(a[1])));
	sp_sem_close(s);
	return 0;
}

static int cmd_event(char **a)
{
	sp_event *e;

	tu_opened(sp_event_open(a[0], 0, 0, &e));
	printf("waiting\n");
	printf("event %d\n", sp_event_wait(e, tu_ms(a[1])));
	sp_event_close(e);
	return 0;
}

static int cmd_cond(char **a)
{
	sp_cond *c;

	tu_opened(sp_cond_open(a[0], 0, 0, &c));
	printf("waiting %d\n", sp_cond_acquire(c, SP_FOREVER));
	printf("cond %d\n", sp_cond_wait(c, tu_ms(a[1])));
	sp_cond_release(c);
	sp_cond_close(c);
	return 0;
}

static int cmd_barrier(char **a)
{
	sp_barrier *b;

	tu_opened(sp_barrier_open(a[0], 0, 0, 0, &b));
	printf("waiting\n");
	printf("barrier %d\n", sp_barrier_wait(b, tu_ms(a[1])));
	sp_barrier_close(b);
	return 0;
}

static int cmd_barrierval(char **a)
{
	sp_barrier *b;
	sp_value *v;
	int64_t x = -1;

	tu_opened(sp_barrier_open(a[0], 0, 0, 0, &b));
	tu_opened(sp_value_open(a[1], 0, NULL, &v));
	printf("waiting\n");
	printf("barrier %d\n", sp_barrier_wait(b, tu_ms(a[2])));
	sp_value_get(v, 0, &x);
	printf("value %lld\n", (long long)x);
	sp_value_close(v);
	sp_barrier_close(b);
	return 0;
}

static int cmd_count(char **a)
{
	long n = atol(a[2]), use = atol(a[3]);
	sp_value *v;
	int rc;

	(void)a[0];
	tu_opened(sp_value_open(a[1], 0, NULL, &v));
	for (long i = 0; i < n; i++) {
		int64_t x;

		if (use && (rc = sp_value_lock(v, SP_FOREVER)) != 0)
			return printf("lock %d\n", rc), 1;
		sp_value_get(v, 0, &x);
		/* Yield now and then inside the critical section, so that the
		 * unlocked run shows its lost updates even on one core. */
		if (i % 64 == 0)
			sched_yield();
		sp_value_set(v, 0, x + 1);
		if (use)
			sp_value_unlock(v);
	}
	printf("done\n");
	sp_value_close(v);
	return 0;
}

static int cmd_club(char **a)
{
	long n = atol(a[2]);
	sp_sem *s;
	sp_value *v;
	int rc;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	tu_opened(sp_value_open(a[1], 0, NULL, &v));
	for (long i = 0; i < n; i++) {
		int64_t in, max;

		if ((rc = sp_sem_acquire(s, SP_FOREVER)) != 0)
			return printf("acquire %d\n", rc), 1;
		sp_value_add(v, 0, 1, &in);
		in += 1;
		sp_value_get(v, 1, &max);
		while (in > max && !sp_value_cas(v, 1, &max, in))
			;
		sched_yield();
		sp_value_add(v, 0, -1, NULL);
		sp_sem_release(s, 1);
	}
	printf("done\n");
	sp_value_close(v);
	sp_sem_close(s);
	return 0;
}

static int cmd_iplock(char **a)
{
	sp_iplock *l;

	tu_opened(sp_iplock_open(a[0], 0, &l));
	printf("acquired %d\n", sp_iplock_acquire(l, strcmp(a[1], "sh") == 0 ? SP_IPLOCK_SHARED : 0,
					       SP_FOREVER));
	tu_gun_wait(a[2]);
	printf("released %d\n", sp_iplock_release(l));
	sp_iplock_close(l);
	return 0;
}

static int cmd_iptry(char **a)
{
	sp_iplock *l;
	int rc;

	tu_opened(sp_iplock_open(a[0], 0, &l));
	rc = sp_iplock_acquire(l, strcmp(a[1], "sh") == 0 ? SP_IPLOCK_SHARED : 0, tu_ms(a[2]));
	printf("acquired %d\n", rc);
	if (rc == 0)
		sp_iplock_release(l);
	sp_iplock_close(l);
	return 0;
}

static int cmd_semhammer(char **a)
{
	sp_sem *s;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	for (unsigned long i = 0;; i++) {
		if (sp_sem_acquire(s, SP_FOREVER) == 0)
			sp_sem_release(s, 1);
		if (i == 200)
			printf("running\n");
	}
	return 0;   /* not reached: the test kills it */
}

static const struct tu_cmd cmds[] = {
	{ "lock", 2, cmd_lock }, { "rlock", 2, cmd_rlock }, { "condhold", 2, cmd_condhold },
	{ "sem", 2, cmd_sem }, { "lockwait", 2, cmd_lockwait }, { "semwait", 2, cmd_semwait },
	{ "event", 2, cmd_event }, { "cond", 2, cmd_cond }, { "barrier", 2, cmd_barrier },
	{ "barrierval", 3, cmd_barrierval },
	{ "count", 4, cmd_count }, { "club", 3, cmd_club }, { "iplock", 3, cmd_iplock },
	{ "iptry", 3, cmd_iptry }, { "semhammer", 1, cmd_semhammer },
};

TU_TOOL_MAIN("tool_sync", cmds)
