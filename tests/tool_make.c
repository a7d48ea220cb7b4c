/* tool_make.c: creates objects of every kind, over and over, while signals hit it; checks each is whole. */
/*
 * Usage: tool_make PREFIX ROUNDS
 * Installs a SIGUSR1 handler (without SA_RESTART, so that every
 * interruptible call sees EINTR), prints "ready", then ROUNDS times creates
 * one object of every kind (ring, SharedMemory, Value, dict, list, Pipe,
 * Queue, Lock, RLock, Semaphore, Event, Condition, Barrier, and an
 * InterProcessLock file), each named PREFIX-KIND-ROUND, with SP_CREATE |
 * SP_EXCL; attaches to it again by name without SP_CREATE (a half-made
 * object refuses that), then closes and removes it.  The ring and the
 * SharedMemory are 16 MiB, so that reserving their pages takes a while.
 * Prints "made N signals S" (S: SIGUSR1s handled) and exits 0 when every
 * step succeeded; otherwise prints "fail KIND STEP RC" and exits 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define BIG (16u << 20)

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

/* One kind: creates (create = 1) or attaches to NAME; closes it. */
static int make_ring(const char *n, int create)
{
	struct sp_ring_opts o = { .capacity = BIG };
	sp_ring *r;
	int rc = sp_ring_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &r);

	if (!rc)
		sp_ring_close(r);
	return rc;
}

static int make_shm(const char *n, int create)
{
	sp_shm *m;
	int rc = sp_shm_open(n, create ? SP_CREATE | SP_EXCL : 0, BIG, 0, &m);

	if (!rc)
		sp_shm_close(m);
	return rc;
}

static int make_value(const char *n, int create)
{
	struct sp_value_opts o = { .type = SP_I64, .length = 4096, .flags = SP_VALUE_LOCK };
	sp_value *v;
	int rc = sp_value_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &v);

	if (!rc)
		sp_value_close(v);
	return rc;
}

static int make_dict(const char *n, int create)
{
	struct sp_dict_opts o = { .capacity = 4096 };
	sp_dict *d;
	int rc = sp_dict_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &d);

	if (!rc)
		sp_dict_close(d);
	return rc;
}

static int make_list(const char *n, int create)
{
	struct sp_list_opts o = { .capacity = 4096 };
	sp_list *l;
	int rc = sp_list_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &l);

	if (!rc)
		sp_list_close(l);
	return rc;
}

static int make_pipe(const char *n, int create)
{
	sp_pipe *p;
	/* End 0 makes it, end 1 attaches (an end is held by one handle). */
	int rc = sp_pipe_open(n, create ? SP_CREATE | SP_EXCL : 0, !create, NULL, &p);

	if (!rc)
		sp_pipe_close(p);
	return rc;
}

static int make_queue(const char *n, int create)
{
	struct sp_queue_opts o = { .flags = SP_QUEUE_JOINABLE };
	sp_queue *q;
	int rc = sp_queue_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &q);

	if (!rc)
		sp_queue_close(q);
	return rc;
}

static int make_lock(const char *n, int create)
{
	sp_lock *l;
	int rc = sp_lock_open(n, create ? SP_CREATE | SP_EXCL : 0, 0, &l);

	if (!rc)
		sp_lock_close(l);
	return rc;
}

static int make_rlock(const char *n, int create)
{
	sp_rlock *l;
	int rc = sp_rlock_open(n, create ? SP_CREATE | SP_EXCL : 0, 0, &l);

	if (!rc)
		sp_rlock_close(l);
	return rc;
}

static int make_sem(const char *n, int create)
{
	struct sp_sem_opts o = { .value = 3, .flags = SP_SEM_BOUNDED | SP_SEM_UNDO };
	sp_sem *s;
	int rc = sp_sem_open(n, create ? SP_CREATE | SP_EXCL : 0, &o, &s);

	if (!rc)
		sp_sem_close(s);
	return rc;
}

static int make_event(const char *n, int create)
{
	sp_event *e;
	int rc = sp_event_open(n, create ? SP_CREATE | SP_EXCL : 0, 0, &e);

	if (!rc)
		sp_event_close(e);
	return rc;
}

static int make_cond(const char *n, int create)
{
	sp_cond *c;
	int rc = sp_cond_open(n, create ? SP_CREATE | SP_EXCL : 0, 0, &c);

	if (!rc)
		sp_cond_close(c);
	return rc;
}

static int make_barrier(const char *n, int create)
{
	sp_barrier *b;
	int rc = sp_barrier_open(n, create ? SP_CREATE | SP_EXCL : 0, 2, 0, &b);

	if (!rc)
		sp_barrier_close(b);
	return rc;
}

/* An InterProcessLock has no SP_CREATE: "attaching" is taking it. */
static int make_iplock(const char *n, int create)
{
	char path[256];
	sp_iplock *l;
	int rc;

	snprintf(path, sizeof(path), "/dev/shm/%s", n);
	rc = sp_iplock_open(path, 0, &l);
	if (rc)
		return rc;
	if (!create) {
		rc = sp_iplock_acquire(l, 0, SP_NOWAIT);
		if (!rc)
			rc = sp_iplock_release(l);
	}
	sp_iplock_close(l);
	return rc;
}

static int unlink_iplock(const char *n)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/shm/%s", n);
	return unlink(path) < 0 ? -errno : 0;
}

static const struct kind {
	const char *name;
	int (*make)(const char *n, int create);
	int (*unlink)(const char *n);
} kinds[] = {
	{ "ring", make_ring, sp_ring_unlink }, { "shm", make_shm, sp_shm_unlink },
	{ "value", make_value, sp_value_unlink }, { "dict", make_dict, sp_dict_unlink },
	{ "list", make_list, sp_list_unlink }, { "pipe", make_pipe, sp_pipe_unlink },
	{ "queue", make_queue, sp_queue_unlink }, { "lock", make_lock, sp_sync_unlink },
	{ "rlock", make_rlock, sp_sync_unlink }, { "sem", make_sem, sp_sync_unlink },
	{ "event", make_event, sp_sync_unlink }, { "cond", make_cond, sp_sync_unlink },
	{ "barrier", make_barrier, sp_sync_unlink }, { "iplock", make_iplock, unlink_iplock },
};

int main(int argc, char **argv)
{
	struct sigaction sa;
	long rounds, made = 0;

	tu_tool_init();
	if (argc != 3 || (rounds = atol(argv[2])) <= 0)
		return 64;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return 70;
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < rounds; i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const struct kind *kd = &kinds[k];
			const char *step = "create";
			char n[160];
			int rc;

			snprintf(n, sizeof(n), "%s-%s-%ld", argv[1], kd->name, i);
			rc = kd->make(n, 1);
			if (!rc) {
				step = "attach";
				rc = kd->make(n, 0);
			}
			if (!rc) {
				step = "unlink";
				rc = kd->unlink(n);
			}
			if (rc) {
				printf("fail %s %s %d\n", kd->name, step, rc);
				kd->unlink(n);
				return 1;
			}
			made++;
		}
	}
	printf("made %ld signals %ld\n", made, (long)signals);
	return 0;
}
