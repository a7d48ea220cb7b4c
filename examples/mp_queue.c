/* mp_queue.c: lesson 4, a Queue with reader processes and a producer, and a JoinableQueue whose producer waits in join(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/queue.h"

/*
 * mp_queue init NAME [joinable]  create the queue
 * mp_queue produce NAME N R      put N items, then R "STOP" sentinels (one
 *                                per reader), as in the documents
 * mp_queue read NAME ID          get items until "STOP"; print how many
 * mp_queue jproduce NAME N       put N tasks, wait in join() until all are
 *                                done, then shut the queue down
 * mp_queue work NAME ID          get tasks and mark each done, until the
 *                                queue is shut down; print how many
 * mp_queue rm NAME
 */

#define TIMEOUT 60000000000LL

static int fail(const char *what, int rc)
{
	fprintf(stderr, "mp_queue: %s: %s\n", what, strerror(-rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct sp_queue_opts o = { .capacity = 1 << 16 };
	struct timespec work = { 0, 200000 };
	char buf[64];
	sp_queue *q;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: mp_queue init|produce|read|jproduce|work|rm NAME ...\n");
		return 64;
	}
	if (strcmp(argv[1], "rm") == 0)
		return sp_queue_unlink(argv[2]) ? 1 : 0;
	if (strcmp(argv[1], "init") == 0) {
		if (argc == 4 && strcmp(argv[3], "joinable") == 0)
			o.flags = SP_QUEUE_JOINABLE;
		rc = sp_queue_open(argv[2], SP_CREATE, &o, &q);
		if (rc)
			return fail("init", rc);
		sp_queue_close(q);
		return 0;
	}
	rc = sp_queue_open(argv[2], 0, NULL, &q);
	if (rc)
		return fail("open", rc);
	if (strcmp(argv[1], "produce") == 0 && argc == 5) {
		long n = atol(argv[3]), r = atol(argv[4]);

		for (long i = 0; i < n; i++) {
			int len = snprintf(buf, sizeof(buf), "item %ld", i);

			if ((rc = sp_queue_put(q, buf, (size_t)len, TIMEOUT)) != 0)
				return fail("put", rc);
		}
		for (long i = 0; i < r; i++)
			if ((rc = sp_queue_put(q, "STOP", 4, TIMEOUT)) != 0)
				return fail("put", rc);
		printf("producer: put %ld items\n", n);
	} else if (strcmp(argv[1], "read") == 0 && argc == 4) {
		long got = 0;

		for (;;) {
			ssize_t len = sp_queue_get(q, buf, sizeof(buf), TIMEOUT);

			if (len < 0)
				return fail("get", (int)len);
			if (len == 4 && memcmp(buf, "STOP", 4) == 0)
				break;
			nanosleep(&work, NULL);   /* handle the item */
			got++;
		}
		printf("reader %s: %ld items\n", argv[3], got);
	} else if (strcmp(argv[1], "jproduce") == 0 && argc == 4) {
		long n = atol(argv[3]);

		for (long i = 0; i < n; i++) {
			int len = snprintf(buf, sizeof(buf), "task %ld", i);

			if ((rc = sp_queue_put(q, buf, (size_t)len, TIMEOUT)) != 0)
				return fail("put", rc);
		}
		printf("producer: %ld tasks queued, waiting in join()\n", n);
		fflush(stdout);
		if ((rc = sp_queue_join(q, TIMEOUT)) != 0)
			return fail("join", rc);
		printf("producer: join() returned: all %ld tasks done\n", n);
		sp_queue_shutdown(q);
	} else if (strcmp(argv[1], "work") == 0 && argc == 4) {
		long done = 0;

		for (;;) {
			ssize_t len = sp_queue_get(q, buf, sizeof(buf), TIMEOUT);

			if (len == -ESHUTDOWN)
				break;
			if (len < 0)
				return fail("get", (int)len);
			nanosleep(&work, NULL);   /* the "work" */
			done++;
			if ((rc = sp_queue_task_done(q)) != 0)
				return fail("task_done", rc);
		}
		printf("worker %s: %ld tasks\n", argv[3], done);
	} else {
		fprintf(stderr, "mp_queue: bad arguments\n");
		return 64;
	}
	sp_queue_close(q);
	return 0;
}
