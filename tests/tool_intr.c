/* tool_intr.c: helper process for check_intr: blocks in one wait of one primitive until a signal interrupts it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
 * Usage: tool_intr MODE KIND NAME [N]
 *
 * Installs a SIGUSR1 handler (no SA_RESTART), attaches to the object NAME
 * the test made, prints "waiting 0" and makes one wait of KIND with
 * SP_FOREVER, then prints "rc RC" (its return code) and "state S", what
 * the wait left behind (below), and exits 0.  MODE:
 *   fd     the handler writes a byte to a pipe whose read end is the
 *          thread's interrupt fd (sp_set_interrupt_fd): a signal anywhere
 *          around the wait interrupts it (the test signals at once);
 *   futex  the same fd, but the handler writes nothing: only a signal that
 *          interrupts the futex sleep ends the wait (the test signals once
 *          we sleep);
 *   off    no interrupt fd: the wait must go on (the test then lets it
 *          succeed).
 *
 * KIND and its state line:
 *   lock     acquire a held Lock;            state: our release (-EPERM)
 *   rlock    acquire a held RLock;           state: our count (0)
 *   sem      acquire a Semaphore at 0;       state: units we hold (0)
 *   event    wait for an unset Event;        state: is it set (0)
 *   cond     lock, wait, not notified;       state: our release (0: held)
 *   barrier  wait at a barrier of 2;         state: broken (1)
 *   qget     get from an empty Queue;        state: its size (0)
 *   qput     put to a full Queue (maxsize);  state: its size (1)
 *   join     join a JoinableQueue with a task; state: unfinished (1)
 *   pipe     receive on end 1 of an empty Pipe; state: poll (0)
 *   ring     get from an empty ring;         state: its size (0)
 *   value    lock a held Value's lock;       state: our unlock (-EPERM)
 *   iplock   acquire a held InterProcessLock (NAME is its path);
 *            state: held by us (0)
 *   qrace    N times: get, the test putting and signalling at once; an
 *            interrupted get drains the pipe and gets again.  Prints
 *            "intr 0" for each -EINTR and at the end "got N" and
 *            "sum S" of the messages (ints) it got.
 */

static int sigpipe[2] = { -1, -1 };
static int write_on_signal;

static void on_usr1(int sig)
{
	int e = errno;

	(void)sig;
	if (write_on_signal)
		(void)!write(sigpipe[1], "x", 1);
	errno = e;
}

static void drain(void)
{
	char buf[64];

	while (read(sigpipe[0], buf, sizeof(buf)) > 0)
		;
}

static void say(const char *what, long long v)
{
	printf("%s %lld\n", what, v);
	fflush(stdout);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "tool_intr: %s: %s\n", what, strerror(-rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *mode, *kind, *name;
	long long rc = 0, st = 0;

	tu_tool_init();
	if (argc < 4)
		return 2;
	mode = argv[1];
	kind = argv[2];
	name = argv[3];
	if (pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return fail("pipe", -errno);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	write_on_signal = strcmp(mode, "futex") != 0;
	if (strcmp(mode, "off") != 0 && sp_set_interrupt_fd(sigpipe[0]) != -1)
		return fail("sp_set_interrupt_fd", -EINVAL);

	if (strcmp(kind, "lock") == 0) {
		sp_lock *l;

		if ((rc = sp_lock_open(name, 0, 0, &l)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_lock_acquire(l, SP_FOREVER);
		st = sp_lock_release(l);
	} else if (strcmp(kind, "rlock") == 0) {
		sp_rlock *l;

		if ((rc = sp_rlock_open(name, 0, 0, &l)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_rlock_acquire(l, SP_FOREVER);
		st = sp_rlock_count(l);
	} else if (strcmp(kind, "sem") == 0) {
		sp_sem *s;

		if ((rc = sp_sem_open(name, 0, NULL, &s)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_sem_acquire(s, SP_FOREVER);
		st = sp_sem_held(s);
	} else if (strcmp(kind, "event") == 0) {
		sp_event *e;

		if ((rc = sp_event_open(name, 0, 0, &e)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_event_wait(e, SP_FOREVER);
		st = sp_event_is_set(e);
	} else if (strcmp(kind, "cond") == 0) {
		sp_cond *c;

		if ((rc = sp_cond_open(name, 0, 0, &c)))
			return fail(name, (int)rc);
		if ((rc = sp_cond_acquire(c, SP_FOREVER)))
			return fail("acquire", (int)rc);
		say("waiting", 0);
		rc = sp_cond_wait(c, SP_FOREVER);
		st = sp_cond_release(c);
	} else if (strcmp(kind, "barrier") == 0) {
		sp_barrier *b;

		if ((rc = sp_barrier_open(name, 0, 0, 0, &b)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_barrier_wait(b, SP_FOREVER);
		st = sp_barrier_broken(b);
		sp_barrier_close(b);
	} else if (strcmp(kind, "qget") == 0 || strcmp(kind, "qput") == 0 ||
		   strcmp(kind, "join") == 0) {
		char buf[64];
		sp_queue *q;

		if ((rc = sp_queue_open(name, 0, NULL, &q)))
			return fail(name, (int)rc);
		say("waiting", 0);
		if (kind[1] == 'g') {
			rc = sp_queue_get(q, buf, sizeof(buf), SP_FOREVER);
			st = (long long)sp_queue_size(q);
		} else if (kind[1] == 'p') {
			rc = sp_queue_put(q, "m", 1, SP_FOREVER);
			st = (long long)sp_queue_size(q);
		} else {
			rc = sp_queue_join(q, SP_FOREVER);
			st = sp_queue_unfinished(q);
		}
		sp_queue_close(q);
	} else if (strcmp(kind, "pipe") == 0) {
		char buf[64];
		sp_pipe *p;

		if ((rc = sp_pipe_open(name, 0, 1, NULL, &p)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_pipe_recv(p, buf, sizeof(buf), SP_FOREVER);
		st = sp_pipe_poll(p, SP_NOWAIT);
		sp_pipe_close(p);
	} else if (strcmp(kind, "ring") == 0) {
		char buf[64];
		sp_ring *r;

		if ((rc = sp_ring_open(name, 0, NULL, &r)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_ring_get(r, buf, sizeof(buf), SP_FOREVER);
		st = (long long)sp_ring_size(r);
		sp_ring_close(r);
	} else if (strcmp(kind, "value") == 0) {
		sp_value *v;

		if ((rc = sp_value_open(name, 0, NULL, &v)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_value_lock(v, SP_FOREVER);
		st = sp_value_unlock(v);
		sp_value_close(v);
	} else if (strcmp(kind, "iplock") == 0) {
		sp_iplock *l;

		if ((rc = sp_iplock_open(name, 0, &l)))
			return fail(name, (int)rc);
		say("waiting", 0);
		rc = sp_iplock_acquire(l, 0, SP_FOREVER);
		st = sp_iplock_held(l);
		sp_iplock_close(l);
	} else if (strcmp(kind, "qrace") == 0 && argc > 4) {
		long long n = atoll(argv[4]), got = 0, sum = 0;
		sp_queue *q;
		int v;

		if ((rc = sp_queue_open(name, 0, NULL, &q)))
			return fail(name, (int)rc);
		say("waiting", 0);
		while (got < n) {
			rc = sp_queue_get(q, &v, sizeof(v), SP_FOREVER);
			if (rc == -EINTR) {
				drain();
				say("intr", 0);
				continue;
			}
			if (rc != (long long)sizeof(v))
				return fail("get", rc < 0 ? (int)rc : -EBADMSG);
			got++;
			sum += v;
		}
		say("got", got);
		say("sum", sum);
		sp_queue_close(q);
		return 0;
	} else {
		return 2;
	}
	say("rc", rc);
	say("state", st);
	return 0;
}
