/* tool_mpcrash.c: a participant of the multiprocessing objects linked with crash points, killed or stopped at a chosen step. */
/*
 * Usage: tool_mpcrash COMMAND ARGS...  Prints one line per step; numbers
 * are return codes (negative errno).  With SP_CRASH_AT=LABEL (and
 * SP_CRASH_SKIP, SP_CRASH_SIG=STOP) the library kills or stops the process
 * at that step (crashpoint.h).
 *
 *   semundo NAME             acquire a unit of an SP_SEM_UNDO semaphore,
 *                            print "acquired RC", release it, print
 *                            "released RC" ("sem.locked" fires in both)
 *   semplain NAME            release one unit, print "released RC"
 *   dict NAME KEY VALUE      set a key, print "set RC"
 *   list NAME ITEM           append an item, print "append RC"
 *   barrier NAME MS          wait (MS < 0: forever), print "barrier RC"
 *   qput NAME LEN            put one message of LEN bytes ('p'), print "put RC"
 *   qget NAME                get one message, print "got LEN", mark it done
 *                            (JoinableQueue), print "done RC"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/list.h"
#include "shared/queue.h"
#include "shared/sync.h"
#include "testutil.h"

static int cmd_semundo(char **a)
{
	sp_sem *s;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	printf("acquired %d\n", sp_sem_acquire(s, SP_FOREVER));
	printf("released %d\n", sp_sem_release(s, 1));
	sp_sem_close(s);
	return 0;
}

static int cmd_semplain(char **a)
{
	sp_sem *s;

	tu_opened(sp_sem_open(a[0], 0, NULL, &s));
	printf("released %d\n", sp_sem_release(s, 1));
	sp_sem_close(s);
	return 0;
}

static int cmd_list(char **a)
{
	sp_list *l;

	tu_opened(sp_list_open(a[0], 0, NULL, &l));
	printf("append %d\n", sp_list_append(l, a[1], strlen(a[1])));
	sp_list_close(l);
	return 0;
}

static int cmd_barrier(char **a)
{
	sp_barrier *b;

	tu_opened(sp_barrier_open(a[0], 0, 0, 0, &b));
	printf("barrier %d\n", sp_barrier_wait(b, tu_ms(a[1])));
	sp_barrier_close(b);
	return 0;
}

static int cmd_qput(char **a)
{
	size_t len = (size_t)atol(a[1]);
	char *m = malloc(len + 1);
	sp_queue *q;
	int rc = sp_queue_open(a[0], 0, NULL, &q);

	if (rc || !m)
		return printf("open %d\n", rc ? rc : -ENOMEM), free(m), 1;
	memset(m, 'p', len);
	printf("put %d\n", sp_queue_put(q, m, len, SP_FOREVER));
	sp_queue_close(q);
	free(m);
	return 0;
}

static int cmd_qget(char **a)
{
	char m[256];
	sp_queue *q;

	tu_opened(sp_queue_open(a[0], 0, NULL, &q));
	printf("got %zd\n", sp_queue_get(q, m, sizeof(m), SP_FOREVER));
	printf("done %d\n", sp_queue_task_done(q));
	sp_queue_close(q);
	return 0;
}

static const struct tu_cmd cmds[] = {
	{ "semundo", 1, cmd_semundo }, { "semplain", 1, cmd_semplain }, { "dict", 3, tu_cmd_dset },
	{ "list", 2, cmd_list }, { "barrier", 2, cmd_barrier }, { "qput", 2, cmd_qput },
	{ "qget", 1, cmd_qget },
};

TU_TOOL_MAIN("tool_mpcrash", cmds)
