/* mp_stats.c: lesson 3, an Event announcing "stats ready" to waiting readers, and a Barrier as a start line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/sync.h"
#include "shared/value.h"

/*
 * mp_stats init NAME RUNNERS   an Event NAME.ready, a Value NAME.stats
 *                              {count, mean, stddev} and a Barrier
 *                              NAME.start for RUNNERS processes
 * mp_stats reader NAME ID      waits for "stats ready", then prints them
 * mp_stats writer NAME N       computes statistics of N samples, stores
 *                              them, and sets the event
 * mp_stats runner NAME ID      waits at the start line, then prints the
 *                              moment it started (all within a few ms)
 * mp_stats rm NAME
 */

static char *nm(char *buf, const char *name, const char *suffix)
{
	snprintf(buf, 128, "%s.%s", name, suffix);
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct sp_value_opts vo = { .type = SP_DOUBLE, .length = 3 };
	char en[128], vn[128], bn[128];
	sp_event *e;
	sp_value *v;
	sp_barrier *b;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: mp_stats init|reader|writer|runner|rm NAME ...\n");
		return 64;
	}
	nm(en, argv[2], "ready");
	nm(vn, argv[2], "stats");
	nm(bn, argv[2], "start");
	if (strcmp(argv[1], "rm") == 0) {
		sp_sync_unlink(en);
		sp_sync_unlink(bn);
		sp_value_unlink(vn);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0 && argc == 4) {
		if ((rc = sp_event_open(en, SP_CREATE, 0, &e)) != 0 ||
		    (rc = sp_value_open(vn, SP_CREATE, &vo, &v)) != 0 ||
		    (rc = sp_barrier_open(bn, SP_CREATE, (unsigned)atoi(argv[3]), 0, &b)) != 0) {
			fprintf(stderr, "mp_stats: init: %s\n", strerror(-rc));
			return 1;
		}
		sp_event_close(e);
		sp_value_close(v);
		sp_barrier_close(b);
		return 0;
	}
	if (strcmp(argv[1], "reader") == 0 && argc == 4) {
		double st[3];

		if ((rc = sp_event_open(en, 0, 0, &e)) != 0 || (rc = sp_value_open(vn, 0, NULL, &v)) != 0)
			return 1;
		rc = sp_event_wait(e, 30000000000LL);
		if (rc) {
			fprintf(stderr, "mp_stats: reader %s: %s\n", argv[3], strerror(-rc));
			return 1;
		}
		/* The event's set() released the writer's stores to us. */
		for (int i = 0; i < 3; i++)
			sp_value_get_double(v, (uint64_t)i, &st[i]);
		printf("reader %s: stats ready: n=%.0f mean=%.3f stddev=%.3f\n", argv[3], st[0], st[1],
		       st[2]);
		sp_event_close(e);
		sp_value_close(v);
		return 0;
	}
	if (strcmp(argv[1], "writer") == 0 && argc == 4) {
		long n = atol(argv[3]);
		double sum = 0, sq = 0;

		if ((rc = sp_event_open(en, 0, 0, &e)) != 0 || (rc = sp_value_open(vn, 0, NULL, &v)) != 0)
			return 1;
		for (long i = 1; i <= n; i++) {
			sum += (double)i;
			sq += (double)i * (double)i;
		}
		sp_value_set_double(v, 0, (double)n);
		sp_value_set_double(v, 1, sum / n);
		sp_value_set_double(v, 2, sqrt(sq / n - (sum / n) * (sum / n)));
		sp_event_set(e);
		printf("writer: stats ready\n");
		sp_event_close(e);
		sp_value_close(v);
		return 0;
	}
	if (strcmp(argv[1], "runner") == 0 && argc == 4) {
		if ((rc = sp_barrier_open(bn, 0, 0, 0, &b)) != 0)
			return 1;
		rc = sp_barrier_wait(b, 30000000000LL);
		if (rc < 0) {
			fprintf(stderr, "mp_stats: runner %s: %s\n", argv[3], strerror(-rc));
			return 1;
		}
		printf("runner %s off at %.1f ms\n", argv[3], now_ms());
		sp_barrier_close(b);
		return 0;
	}
	fprintf(stderr, "mp_stats: bad arguments\n");
	return 64;
}
