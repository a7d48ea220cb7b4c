/* mp_race.c: lesson 1, the race condition: two processes add and subtract 100 on a shared Value, with and without its lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/sync.h"
#include "shared/value.h"

/*
 * mp_race init NAME               create the balance (a Value with a lock) = 0,
 *                                 and a Barrier NAME.go for 2 processes
 * mp_race run NAME DELTA N MODE   N times: balance = balance + DELTA; MODE is
 *                                 "lock" (hold the Value's lock around it) or
 *                                 "nolock" (the race)
 * mp_race show NAME               print the balance
 * mp_race rm NAME                 remove the objects
 *
 * Run two `run` processes at once, +100 and -100: the two start together at
 * the barrier.  Without the lock, a load and a store of one process straddle
 * those of the other and updates are lost: the total is wrong.  With it,
 * the balance ends at exactly 0.
 */

static int fail(const char *what, int rc)
{
	fprintf(stderr, "mp_race: %s: %s\n", what, strerror(-rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct sp_value_opts o = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	char go[128];
	sp_barrier *b;
	sp_value *v;
	int64_t x;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: mp_race init|run|show|rm NAME [DELTA N lock|nolock]\n");
		return 64;
	}
	snprintf(go, sizeof(go), "%s.go", argv[2]);
	if (strcmp(argv[1], "rm") == 0) {
		sp_value_unlink(argv[2]);
		sp_sync_unlink(go);
		return 0;
	}
	rc = sp_value_open(argv[2], strcmp(argv[1], "init") == 0 ? SP_CREATE : 0,
			   strcmp(argv[1], "init") == 0 ? &o : NULL, &v);
	if (rc)
		return fail("open", rc);
	if (strcmp(argv[1], "init") == 0) {
		sp_value_set(v, 0, 0);
		rc = sp_barrier_open(go, SP_CREATE, 2, 0, &b);
		if (rc)
			return fail("barrier", rc);
		sp_barrier_close(b);
	} else if (strcmp(argv[1], "show") == 0) {
		sp_value_get(v, 0, &x);
		printf("%lld\n", (long long)x);
	} else if (strcmp(argv[1], "run") == 0 && argc == 6) {
		long delta = atol(argv[3]), n = atol(argv[4]);
		int locked = strcmp(argv[5], "lock") == 0;

		rc = sp_barrier_open(go, 0, 0, 0, &b);
		if (rc)
			return fail("barrier", rc);
		rc = sp_barrier_wait(b, 30000000000LL);   /* the start line */
		sp_barrier_close(b);
		if (rc < 0)
			return fail("start", rc);
		for (long i = 0; i < n; i++) {
			if (locked && (rc = sp_value_lock(v, SP_FOREVER)) != 0)
				return fail("lock", rc);
			sp_value_get(v, 0, &x);         /* load ... */
			sp_value_set(v, 0, x + delta);  /* ... and store: not atomic together */
			if (locked)
				sp_value_unlock(v);
		}
	} else {
		fprintf(stderr, "mp_race: bad arguments\n");
		return 64;
	}
	sp_value_close(v);
	return 0;
}
