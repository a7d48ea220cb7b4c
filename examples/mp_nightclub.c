/* mp_nightclub.c: lesson 2, the semaphore nightclub: many guests, never more than 5 inside at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/sync.h"
#include "shared/value.h"

/*
 * mp_nightclub init NAME CAPACITY   the bouncer: a BoundedSemaphore NAME of
 *                                   CAPACITY (with undo: a guest who dies
 *                                   inside gives its place back) and a Value
 *                                   NAME.count {inside now, most ever inside}
 * mp_nightclub guest NAME ID VISITS one guest visiting VISITS times
 * mp_nightclub show NAME CAPACITY   print the most ever inside; exit 1 if it
 *                                   exceeded CAPACITY
 * mp_nightclub rm NAME
 *
 * Each guest counts itself in with an atomic add once it holds a unit, and
 * checks that the count never exceeds the capacity.
 */

int main(int argc, char **argv)
{
	char cn[128];
	struct sp_value_opts vo = { .type = SP_I64, .length = 2 };
	sp_value *v;
	sp_sem *s;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: mp_nightclub init|guest|show|rm NAME ...\n");
		return 64;
	}
	snprintf(cn, sizeof(cn), "%s.count", argv[2]);
	if (strcmp(argv[1], "rm") == 0) {
		sp_sync_unlink(argv[2]);
		sp_value_unlink(cn);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0 && argc == 4) {
		struct sp_sem_opts so = { .value = (unsigned)atoi(argv[3]),
					  .flags = SP_SEM_BOUNDED | SP_SEM_UNDO };

		if ((rc = sp_sem_open(argv[2], SP_CREATE, &so, &s)) != 0 ||
		    (rc = sp_value_open(cn, SP_CREATE, &vo, &v)) != 0) {
			fprintf(stderr, "mp_nightclub: init: %s\n", strerror(-rc));
			return 1;
		}
		sp_sem_close(s);
		sp_value_close(v);
		return 0;
	}
	if (strcmp(argv[1], "show") == 0 && argc == 4) {
		int64_t max;

		if ((rc = sp_value_open(cn, 0, NULL, &v)) != 0)
			return 1;
		sp_value_get(v, 1, &max);
		printf("most guests inside at once: %lld (capacity %s)\n", (long long)max, argv[3]);
		sp_value_close(v);
		return max <= atoi(argv[3]) ? 0 : 1;
	}
	if (strcmp(argv[1], "guest") == 0 && argc == 5) {
		long visits = atol(argv[4]);
		struct timespec dance = { 0, 200000 };

		if ((rc = sp_sem_open(argv[2], 0, NULL, &s)) != 0 ||
		    (rc = sp_value_open(cn, 0, NULL, &v)) != 0) {
			fprintf(stderr, "mp_nightclub: guest: %s\n", strerror(-rc));
			return 1;
		}
		for (long i = 0; i < visits; i++) {
			int64_t in, max;

			if ((rc = sp_sem_acquire(s, 60000000000LL)) != 0) {
				fprintf(stderr, "mp_nightclub: guest %s: %s\n", argv[3], strerror(-rc));
				return 1;
			}
			sp_value_add(v, 0, 1, &in);
			in += 1;
			sp_value_get(v, 1, &max);
			while (in > max && !sp_value_cas(v, 1, &max, in))
				;
			nanosleep(&dance, NULL);      /* dance a little */
			sp_value_add(v, 0, -1, NULL);
			sp_sem_release(s, 1);
		}
		sp_sem_close(s);
		sp_value_close(v);
		return 0;
	}
	fprintf(stderr, "mp_nightclub: bad arguments\n");
	return 64;
}
