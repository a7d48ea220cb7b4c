/* check_stopped.c: a peer stopped (SIGSTOP) inside a call on the ring or a multiprocessing object costs the others a bounded wait, never a hang. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/list.h"
#include "shared/ring.h"
#include "shared/sync.h"
#include "shared/value.h"
#include "testutil.h"

/*
 * Each test stops a tool at a crash point inside a call (SP_CRASH_SIG=STOP,
 * tests/tool_mpcrash, or tests/tool_crash for the ring) or stops a tool that holds a lock, then makes our own
 * SP_NOWAIT and timed calls and measures how long they take with the
 * monotonic clock: a try must come back within TRY_BOUND, a timed call
 * after its timeout and within TIMED_BOUND.  The bounds are generous (the
 * machine may be loaded); what they catch is a call that never returns,
 * which the test case's timeout turns into a failure.  Then the tool is
 * resumed and everything must complete as if it had never stopped.
 */
#define TIMEOUT MS(100)          /* what our timed calls ask for */
#define TRY_BOUND MS(1000)       /* SP_NOWAIT: SP_RMUTEX_TRY_NS (20 ms) and slack */
#define TIMED_BOUND MS(3000)     /* a TIMEOUT call: the timeout and slack */

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "stop");
}

/* Removes whatever kind of object the test made under `name`. */
static void teardown(void)
{
	sp_sync_unlink(name);
	sp_dict_unlink(name);
	sp_list_unlink(name);
	sp_value_unlink(name);
	sp_ring_unlink(name);
}

/* Starts tool_mpcrash, the multiprocessing objects' participant, with up to
 * four arguments, stopped at `label` after passing it `skip` times; returns
 * once it has stopped. */
static void start_stopped(struct child *c, const char *label, int skip, const char *a1,
			  const char *a2, const char *a3, const char *a4)
{
	ck_assert_int_eq(child_start_at(c, label, skip, 1, "tool_mpcrash", a1, a2, a3, a4, NULL), 0);
}

/* Checks that a call that returned rc began at t0 and returned as one with
 * timeout `timeout` must: rc as expected, and within its bound. */
static void check_bounded(const char *what, int rc, int want, long long t0, long long timeout)
{
	long long took = now_ns() - t0;

	ck_assert_msg(rc == want, "%s returned %d (%s), not %d", what, rc, strerror(-rc), want);
	if (timeout == SP_NOWAIT) {
		ck_assert_msg(took < TRY_BOUND, "%s took %lld ms", what, took / MS(1));
	} else {
		ck_assert_msg(took >= timeout, "%s returned early, after %lld ms", what,
			      took / MS(1));
		ck_assert_msg(took < TIMED_BOUND, "%s took %lld ms", what, took / MS(1));
	}
}

/* Times one call. */
#define BOUNDED(call, want, timeout) do { \
	long long t0_ = now_ns(); \
	check_bounded(#call, (int)(call), (want), t0_, (timeout)); \
} while (0)

/* A releaser of an SP_SEM_UNDO semaphore stops holding its internal mutex:
 * a unit is left, yet our try fails with -EAGAIN within its bound (the
 * holder is not finishing), a timed acquire fails by its timeout, and
 * once it resumes both units are ours. */
START_TEST(sem_undo)
{
	struct sp_sem_opts o = { .value = 2, .flags = SP_SEM_UNDO };
	struct child c;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	/* "sem.locked" fires in the tool's acquire, then in its release. */
	start_stopped(&c, "sem.locked", 1, "semundo", name, NULL, NULL);
	ck_assert_int_eq(sp_sem_value(s), 1);
	BOUNDED(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN, SP_NOWAIT);
	BOUNDED(sp_sem_acquire(s, TIMEOUT), -ETIMEDOUT, TIMEOUT);
	ck_assert_uint_eq(sp_sem_held(s), 0);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "acquired"), 0);
	ck_assert_int_eq(child_expect(&c, "released"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN);
	ck_assert_uint_eq(sp_sem_held(s), 2);
	sp_sem_close(s);
}
END_TEST

/* A releaser of a plain semaphore stops between its count and its wake-up:
 * it holds nothing, so the unit it gave is ours at once. */
START_TEST(sem_plain)
{
	struct sp_sem_opts o = { .value = 0 };
	struct child c;
	sp_sem *s;

	ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &o, &s), 0);
	start_stopped(&c, "sem.released", 0, "semplain", name, NULL, NULL);
	BOUNDED(sp_sem_acquire(s, SP_NOWAIT), 0, SP_NOWAIT);
	BOUNDED(sp_sem_acquire(s, TIMEOUT), -ETIMEDOUT, TIMEOUT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "released"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_sem_value(s), 0);
	ck_assert_int_eq(sp_sem_release(s, 1), 0);
	ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
	sp_sem_close(s);
}
END_TEST

/* A setter stops holding the dict's mutex: with a timeout set on our
 * handle, every call returns by it and changes nothing; once it resumes,
 * its value is there and ours goes in. */
START_TEST(dict)
{
	struct sp_dict_opts o = { .capacity = 16 };
	struct child c;
	char buf[32];
	size_t len;
	sp_dict *d;

	ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &o, &d), 0);
	ck_assert_int_eq(sp_dict_set(d, "a", 1, "1", 1), 0);
	start_stopped(&c, "dict.locked", 0, "dict", name, "b", "2");
	sp_dict_set_timeout(d, SP_NOWAIT);
	BOUNDED(sp_dict_get(d, "a", 1, buf, sizeof(buf), &len), -EAGAIN, SP_NOWAIT);
	BOUNDED(sp_dict_set(d, "c", 1, "3", 1), -EAGAIN, SP_NOWAIT);
	sp_dict_set_timeout(d, TIMEOUT);
	BOUNDED(sp_dict_delete(d, "a", 1), -ETIMEDOUT, TIMEOUT);
	BOUNDED(sp_dict_cas(d, "c", 1, NULL, 0, "3", 1), -ETIMEDOUT, TIMEOUT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "set"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_dict_set_timeout(d, SP_NOWAIT);
	ck_assert_int_eq(sp_dict_get(d, "b", 1, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(len == 1 && buf[0] == '2', 1);
	ck_assert_int_eq(sp_dict_get(d, "a", 1, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(sp_dict_get(d, "c", 1, buf, sizeof(buf), &len), -ENOENT);
	ck_assert_int_eq(sp_dict_set(d, "c", 1, "3", 1), 0);
	ck_assert_uint_eq(sp_dict_len(d), 3);
	sp_dict_close(d);
}
END_TEST

/* The same for a list: an appender stops holding its mutex. */
START_TEST(list)
{
	struct sp_list_opts o = { .capacity = 16, .item_max = 16 };
	struct child c;
	char buf[32];
	size_t len;
	sp_list *l;

	ck_assert_int_eq(sp_list_open(name, SP_CREATE, &o, &l), 0);
	ck_assert_int_eq(sp_list_append(l, "x", 1), 0);
	start_stopped(&c, "list.locked", 0, "list", name, "y", NULL);
	sp_list_set_timeout(l, SP_NOWAIT);
	BOUNDED(sp_list_get(l, 0, buf, sizeof(buf), &len), -EAGAIN, SP_NOWAIT);
	BOUNDED(sp_list_append(l, "z", 1), -EAGAIN, SP_NOWAIT);
	sp_list_set_timeout(l, TIMEOUT);
	BOUNDED(sp_list_pop(l, buf, sizeof(buf), &len), -ETIMEDOUT, TIMEOUT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "append"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	sp_list_set_timeout(l, SP_NOWAIT);
	ck_assert_uint_eq(sp_list_len(l), 2);
	ck_assert_int_eq(sp_list_get(l, 1, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(len == 1 && buf[0] == 'y', 1);
	ck_assert_int_eq(sp_list_append(l, "z", 1), 0);
	ck_assert_uint_eq(sp_list_len(l), 3);
	sp_list_close(l);
}
END_TEST

/* A party stops right after it arrived: it holds nothing, so the round
 * passes when we arrive last, and it learns so when resumed. */
START_TEST(barrier_party)
{
	struct child c;
	sp_barrier *b;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	start_stopped(&c, "barrier.arrived", 0, "barrier", name, "-1", NULL);
	ck_assert_uint_eq(sp_barrier_n_waiting(b), 1);
	BOUNDED(sp_barrier_wait(b, SP_NOWAIT), 1, SP_NOWAIT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "barrier"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_barrier_broken(b), 0);
	sp_barrier_close(b);
}
END_TEST

/* The last arrival stops on its way to ending the round: the party
 * already waiting times out by its bound and breaks the round, our wait
 * fails at once, and the stopped one, resumed, finds the round broken:
 * every party agrees.  After a reset, rounds pass again. */
START_TEST(barrier_last)
{
	struct child a, c, d;
	sp_barrier *b;
	long long t0;
	int rc;

	ck_assert_int_eq(sp_barrier_open(name, SP_CREATE, 2, 0, &b), 0);
	ck_assert_int_eq(child_start(&a, "tool_sync", "barrier", name, "300", NULL), 0);
	ck_assert_int_eq(child_expect(&a, "waiting"), 0);
	for (int i = 0; i < 10000 && sp_barrier_n_waiting(b) == 0; i++)
		ck_assert(wait_blocked(a.pid));
	ck_assert_uint_eq(sp_barrier_n_waiting(b), 1);
	t0 = now_ns();
	start_stopped(&c, "barrier.helped", 0, "barrier", name, "-1", NULL);
	ck_assert_int_eq(child_expect(&a, "barrier"), -ETIMEDOUT);
	ck_assert_msg(now_ns() - t0 < TIMED_BOUND, "the waiting party's 300 ms wait took %lld ms",
		      (now_ns() - t0) / MS(1));
	ck_assert_int_eq(child_end(&a), 0);
	BOUNDED(sp_barrier_wait(b, SP_NOWAIT), -EPIPE, SP_NOWAIT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_expect(&c, "barrier"), -EPIPE);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_barrier_reset(b), 0);
	ck_assert_int_eq(child_start(&d, "tool_sync", "barrier", name, "-1", NULL), 0);
	rc = sp_barrier_wait(b, MS(10000));
	ck_assert(rc == 0 || rc == 1);
	ck_assert_int_eq(child_expect(&d, "waiting"), 0);
	ck_assert_int_eq(child_expect(&d, "barrier"), 1 - rc);
	ck_assert_int_eq(child_end(&d), 0);
	sp_barrier_close(b);
}
END_TEST

/* A stopped holder of a user lock (Lock, RLock, the Condition's lock, a
 * Value's lock): tries and timed acquires return by their bounds, and the
 * lock is ours once the holder resumes and releases it. */
START_TEST(user_locks)
{
	static const char *const tools[][2] = {
		{ "tool_sync", "lock" }, { "tool_sync", "rlock" }, { "tool_sync", "condhold" },
		{ "tool_data", "vlock" },
	};
	const char *kind = tools[_i][1];
	struct sp_value_opts vo = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	char gnum[16];
	struct child c;
	sp_lock *l = NULL;
	sp_rlock *rl = NULL;
	sp_cond *cv = NULL;
	sp_value *v = NULL;
	int g[2];

	if (_i == 0)
		ck_assert_int_eq(sp_lock_open(name, SP_CREATE, 0, &l), 0);
	else if (_i == 1)
		ck_assert_int_eq(sp_rlock_open(name, SP_CREATE, 0, &rl), 0);
	else if (_i == 2)
		ck_assert_int_eq(sp_cond_open(name, SP_CREATE, 0, &cv), 0);
	else
		ck_assert_int_eq(sp_value_open(name, SP_CREATE, &vo, &v), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, tools[_i][0], kind, name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, _i == 3 ? "locked" : "acquired"), 0);
	ck_assert_int_eq(kill(c.pid, SIGSTOP), 0);
	for (int k = 0; k < 2; k++) {
		long long t = k == 0 ? SP_NOWAIT : TIMEOUT;
		int want = k == 0 ? -EAGAIN : -ETIMEDOUT;

		if (l)
			BOUNDED(sp_lock_acquire(l, t), want, t);
		else if (rl)
			BOUNDED(sp_rlock_acquire(rl, t), want, t);
		else if (cv)
			BOUNDED(sp_cond_acquire(cv, t), want, t);
		else
			BOUNDED(sp_value_lock(v, t), want, t);
	}
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	gun_fire(g);
	close(g[1]);
	close(g[0]);
	if (l) {
		ck_assert_int_eq(sp_lock_acquire(l, MS(10000)), 0);
		sp_lock_close(l);
	} else if (rl) {
		ck_assert_int_eq(sp_rlock_acquire(rl, MS(10000)), 0);
		sp_rlock_close(rl);
	} else if (cv) {
		ck_assert_int_eq(sp_cond_acquire(cv, MS(10000)), 0);
		sp_cond_close(cv);
	} else {
		ck_assert_int_eq(sp_value_lock(v, MS(10000)), 0);
		sp_value_close(v);
	}
	ck_assert_int_eq(child_expect(&c, _i == 3 ? "unlocked" : "released"), 0);
	ck_assert_int_eq(child_end(&c), 0);
}
END_TEST

/* Writes the token of the participant in slot 0 (a live handle of ours,
 * opened first, not holding anything) into the mutex word at `off` of
 * NAME's segment, as a corrupt peer could.  Returns the old word. */
static uint32_t forge_owner(long off, uint32_t *put_back)
{
	char path[256];
	uint32_t tok, old;
	FILE *f;

	f = fopen(tu_obj_path(path, sizeof(path), name, NULL), "r+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 128, SEEK_SET), 0);   /* slot 0's token */
	ck_assert_int_eq(fread(&tok, 4, 1, f), 1);
	ck_assert_uint_ne(tok, 0);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	ck_assert_int_eq(fread(&old, 4, 1, f), 1);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	ck_assert_int_eq(fwrite(put_back ? put_back : &tok, 4, 1, f), 1);
	fclose(f);
	return old;
}

/* A corrupt peer writes a live participant's token into an internal
 * mutex: bounded calls still return by their bounds; with the word put
 * back, the object works on. */
START_TEST(forged_owner)
{
	struct sp_sem_opts so = { .value = 1, .flags = SP_SEM_UNDO };
	struct sp_dict_opts dopt = { .capacity = 8 };
	struct sp_list_opts lo = { .capacity = 8 };
	uint32_t zero = 0;
	char buf[16];
	size_t len;

	if (_i == 0) {
		sp_sem *a, *s;

		ck_assert_int_eq(sp_sem_open(name, SP_CREATE, &so, &a), 0);
		ck_assert_int_eq(sp_sem_open(name, 0, NULL, &s), 0);
		ck_assert_uint_eq(forge_owner(8320 + 16, NULL), 0);
		BOUNDED(sp_sem_acquire(s, SP_NOWAIT), -EAGAIN, SP_NOWAIT);
		BOUNDED(sp_sem_acquire(s, TIMEOUT), -ETIMEDOUT, TIMEOUT);
		forge_owner(8320 + 16, &zero);
		ck_assert_int_eq(sp_sem_acquire(s, SP_NOWAIT), 0);
		sp_sem_close(s);
		sp_sem_close(a);
	} else if (_i == 1) {
		sp_dict *a, *d;

		ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &dopt, &a), 0);
		ck_assert_int_eq(sp_dict_open(name, 0, NULL, &d), 0);
		ck_assert_uint_eq(forge_owner(8320 + 56, NULL), 0);
		sp_dict_set_timeout(d, SP_NOWAIT);
		BOUNDED(sp_dict_set(d, "k", 1, "v", 1), -EAGAIN, SP_NOWAIT);
		sp_dict_set_timeout(d, TIMEOUT);
		BOUNDED(sp_dict_get(d, "k", 1, buf, sizeof(buf), &len), -ETIMEDOUT, TIMEOUT);
		forge_owner(8320 + 56, &zero);
		ck_assert_int_eq(sp_dict_set(d, "k", 1, "v", 1), 0);
		sp_dict_close(d);
		sp_dict_close(a);
	} else {
		sp_list *a, *l;

		ck_assert_int_eq(sp_list_open(name, SP_CREATE, &lo, &a), 0);
		ck_assert_int_eq(sp_list_open(name, 0, NULL, &l), 0);
		ck_assert_uint_eq(forge_owner(8320 + 32, NULL), 0);
		sp_list_set_timeout(l, SP_NOWAIT);
		BOUNDED(sp_list_append(l, "i", 1), -EAGAIN, SP_NOWAIT);
		sp_list_set_timeout(l, TIMEOUT);
		BOUNDED(sp_list_append(l, "i", 1), -ETIMEDOUT, TIMEOUT);
		forge_owner(8320 + 32, &zero);
		ck_assert_int_eq(sp_list_append(l, "i", 1), 0);
		sp_list_close(l);
		sp_list_close(a);
	}
}
END_TEST

/* The ring's claim lock wr_lock, at RING_BODY_OFF + 64 (ring_layout.h). */
#define RING_WR_LOCK_OFF (8320 + 64)

/* A writer stops inside the ring's claim section, holding wr_lock (the
 * side is shared: we wrote first, so it takes no bias): our try fails with
 * -EAGAIN within its bound, our timed put fails by its timeout, neither
 * takes the lock from it nor leaves a record; once it resumes its record
 * goes in, then ours, in that order. */
START_TEST(ring_claim)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	struct child c;
	sp_ring *r;

	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	ck_assert_int_eq(tu_put_seq(r, 1, SP_NOWAIT), 0);
	ck_assert_int_eq(child_start_at(&c, "claim.locked", 0, 1, "tool_crash", "write", name, "2",
					"1", NULL), 0);
	BOUNDED(tu_put_seq(r, 9, SP_NOWAIT), -EAGAIN, SP_NOWAIT);
	BOUNDED(tu_put_seq(r, 9, TIMEOUT), -ETIMEDOUT, TIMEOUT);
	ck_assert_uint_eq(sp_ring_size(r), 1);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(tu_put_seq(r, 3, SP_NOWAIT), 0);
	for (long i = 1; i <= 3; i++)
		ck_assert_int_eq(tu_get_seq(r, SP_NOWAIT), i);
	ck_assert_int_eq(tu_get_seq(r, SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

/* A corrupt peer writes a live writer's token into wr_lock: another
 * writer's try and timed put return by their bounds; with the word put
 * back, puts go in. */
START_TEST(ring_forged_lock)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	uint32_t zero = 0;
	sp_ring *a, *w;

	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &a), 0);
	ck_assert_int_eq(sp_ring_open(name, 0, NULL, &w), 0);
	/* Both write, so the writers' side is shared and w takes wr_lock. */
	ck_assert_int_eq(tu_put_seq(a, 1, SP_NOWAIT), 0);
	ck_assert_int_eq(tu_put_seq(w, 2, SP_NOWAIT), 0);
	ck_assert_uint_eq(forge_owner(RING_WR_LOCK_OFF, NULL), 0);
	BOUNDED(tu_put_seq(w, 9, SP_NOWAIT), -EAGAIN, SP_NOWAIT);
	BOUNDED(tu_put_seq(w, 9, TIMEOUT), -ETIMEDOUT, TIMEOUT);
	forge_owner(RING_WR_LOCK_OFF, &zero);
	ck_assert_int_eq(tu_put_seq(w, 3, SP_NOWAIT), 0);
	for (long i = 1; i <= 3; i++)
		ck_assert_int_eq(tu_get_seq(a, SP_NOWAIT), i);
	ck_assert_int_eq(tu_get_seq(a, SP_NOWAIT), -EAGAIN);
	sp_ring_close(w);
	sp_ring_close(a);
}
END_TEST

/* Resumes a stopped process at a set time of CLOCK_MONOTONIC.  A peer
 * that stays stopped for a while is the scenario itself: nothing here
 * waits on a sleep to learn that a state was reached. */
struct resumer {
	pid_t pid;
	long long at;
};

static void *resume_at(void *arg)
{
	struct resumer *rs = arg;
	struct timespec ts = { (time_t)(rs->at / 1000000000LL), (long)(rs->at % 1000000000LL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	kill(rs->pid, SIGCONT);
	return NULL;
}

/* One deadline for a whole call.  A lone writer, biased (it takes no lock),
 * stops inside the claim section of the record that leaves the ring too
 * full for another: our first put must wait for it to leave its fast path
 * (declaring a writer revokes its bias), then for room, which never comes.
 * Resumed three quarters into our timeout, it lets the first wait end; the
 * put must still fail by its own timeout, not after that wait and a whole
 * timeout more.  Then its records are all there, in order. */
#define LONG_TIMEOUT MS(2000)
#define RESUMED MS(1500)
START_TEST(ring_one_deadline)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	struct sp_ring_stat st;
	struct resumer rs;
	struct child c;
	pthread_t th;
	long long t0, took;
	sp_ring *r;
	int rc;

	if (tu_bias_possible() != 1) {
		fprintf(stderr, "check_stopped: ring_one_deadline: no bias here: not run\n");
		return;
	}
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	/* 51 records of 64 bytes (80 with the header) fill 4080 of the 4096
	 * bytes: stopped in the claim of the 51st. */
	ck_assert_int_eq(child_start_at(&c, "claim.locked", 50, 1, "tool_crash", "write", name, "1",
					"51", NULL), 0);
	ck_assert_int_eq(sp_ring_stat(r, &st), 0);
	ck_assert_int_eq(st.writer_bias_pid, c.pid);
	t0 = now_ns();
	rs.pid = c.pid;
	rs.at = t0 + RESUMED;
	ck_assert_int_eq(pthread_create(&th, NULL, resume_at, &rs), 0);
	rc = tu_put_seq(r, 99, LONG_TIMEOUT);
	took = now_ns() - t0;
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(rc == -ETIMEDOUT, "put returned %d (%s)", rc, strerror(-rc));
	ck_assert_msg(took >= LONG_TIMEOUT, "put returned early, after %lld ms", took / MS(1));
	/* The slack is less than the stopped time: a call that waited for the
	 * stopped writer and then a whole timeout for room fails here. */
	ck_assert_msg(took < LONG_TIMEOUT + MS(1000), "a %lld ms put took %lld ms",
		      LONG_TIMEOUT / MS(1), took / MS(1));
	ck_assert_int_eq(child_end(&c), 0);
	for (long i = 1; i <= 51; i++)
		ck_assert_int_eq(tu_get_seq(r, SP_NOWAIT), i);
	ck_assert_int_eq(tu_get_seq(r, SP_NOWAIT), -EAGAIN);
	sp_ring_close(r);
}
END_TEST

static Suite *stopped_suite(void)
{
	Suite *s = suite_create("stopped");
	TCase *tc = tu_tcase(s, "stopped", 30, setup, teardown);

	tcase_add_test(tc, sem_undo);
	tcase_add_test(tc, sem_plain);
	tcase_add_test(tc, dict);
	tcase_add_test(tc, list);
	tcase_add_test(tc, barrier_party);
	tcase_add_test(tc, barrier_last);
	tcase_add_loop_test(tc, user_locks, 0, 4);
	tcase_add_loop_test(tc, forged_owner, 0, 3);
	tcase_add_test(tc, ring_claim);
	tcase_add_test(tc, ring_forged_lock);
	tcase_add_test(tc, ring_one_deadline);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(stopped_suite(), TU_NEED_SHM);
}
