/* mp_primes.c: lesson 5, a parallel map-and-filter over a process pool: the primes among 10^13 .. 10^13+1000. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/queue.h"

/*
 * mp_primes init NAME             create NAME.tasks and NAME.results
 * mp_primes worker NAME           a pool worker: take a chunk of numbers,
 *                                 map is_prime over it, send back the primes
 *                                 (the filter); stop at shutdown
 * mp_primes master NAME WORKERS   hand out the chunks, gather the primes,
 *                                 print "WORKERS SECONDS COUNT", and shut
 *                                 the pool down
 * mp_primes rm NAME
 *
 * The script runs the pool with 1, 2, 3, 4 workers and prints the speedup
 * table of the Amdahl's-law chapter: the work is CPU-bound, so it scales
 * up to the number of cores and no further.
 */

#define FIRST 10000000000000ULL   /* 10^13 */
#define COUNT 1001                /* 10^13 .. 10^13 + 1000 */
#define CHUNK 25
#define TIMEOUT 120000000000LL

static int is_prime(uint64_t n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (uint64_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "mp_primes: %s: %s\n", what, strerror(-rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct sp_queue_opts o = { .capacity = 1 << 16 };
	char tn[128], rn[128];
	sp_queue *tasks, *results;
	uint64_t msg[CHUNK + 1];
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: mp_primes init|worker|master|rm NAME [WORKERS]\n");
		return 64;
	}
	snprintf(tn, sizeof(tn), "%s.tasks", argv[2]);
	snprintf(rn, sizeof(rn), "%s.results", argv[2]);
	if (strcmp(argv[1], "rm") == 0) {
		sp_queue_unlink(tn);
		sp_queue_unlink(rn);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0) {
		if ((rc = sp_queue_open(tn, SP_CREATE, &o, &tasks)) != 0 ||
		    (rc = sp_queue_open(rn, SP_CREATE, &o, &results)) != 0)
			return fail("init", rc);
		sp_queue_close(tasks);
		sp_queue_close(results);
		return 0;
	}
	if ((rc = sp_queue_open(tn, 0, NULL, &tasks)) != 0 ||
	    (rc = sp_queue_open(rn, 0, NULL, &results)) != 0)
		return fail("open", rc);
	if (strcmp(argv[1], "worker") == 0) {
		for (;;) {
			/* A task is the first number of a chunk; a result is the
			 * count of primes followed by them. */
			ssize_t len = sp_queue_get(tasks, msg, sizeof(msg), TIMEOUT);
			uint64_t first, n = 0;

			if (len == -ESHUTDOWN)
				break;
			if (len != (ssize_t)sizeof(uint64_t))
				return fail("get", len < 0 ? (int)len : -EBADMSG);
			first = msg[0];
			for (uint64_t x = first; x < first + CHUNK && x < FIRST + COUNT; x++)
				if (is_prime(x))
					msg[1 + n++] = x;
			msg[0] = n;
			rc = sp_queue_put(results, msg, (n + 1) * sizeof(uint64_t), TIMEOUT);
			if (rc)
				return fail("put", rc);
		}
	} else if (strcmp(argv[1], "master") == 0 && argc == 4) {
		unsigned chunks = (COUNT + CHUNK - 1) / CHUNK, primes = 0;
		uint64_t last = 0;
		double t0 = now_s();

		for (unsigned i = 0; i < chunks; i++) {
			uint64_t first = FIRST + (uint64_t)i * CHUNK;

			if ((rc = sp_queue_put(tasks, &first, sizeof(first), TIMEOUT)) != 0)
				return fail("put", rc);
		}
		for (unsigned i = 0; i < chunks; i++) {
			ssize_t len = sp_queue_get(results, msg, sizeof(msg), TIMEOUT);

			if (len < (ssize_t)sizeof(uint64_t))
				return fail("get", len < 0 ? (int)len : -EBADMSG);
			primes += (unsigned)msg[0];
			for (uint64_t k = 1; k <= msg[0]; k++)
				if (msg[k] > last)
					last = msg[k];
		}
		printf("%s %.3f %u %llu\n", argv[3], now_s() - t0, primes, (unsigned long long)last);
		sp_queue_shutdown(tasks);      /* the workers exit */
	} else {
		fprintf(stderr, "mp_primes: bad arguments\n");
		return 64;
	}
	sp_queue_close(tasks);
	sp_queue_close(results);
	return 0;
}
