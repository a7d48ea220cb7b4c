/* tool_data.c: helper process for check_value, check_queue and check_pipe: holds, puts, gets and waits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/list.h"
#include "shared/pipe.h"
#include "shared/queue.h"
#include "shared/shm.h"
#include "shared/value.h"
#include "testutil.h"

/*
 * Usage: tool_data COMMAND ARGS...  Prints one line per step; numbers are
 * return codes (negative errno) or lengths.  GUNFD: see tool_sync.c.
 *
 *   vlock NAME GUNFD         take the Value's lock, print, gun, unlock
 *   vadd NAME N DELTA        N atomic adds of DELTA to element 0
 *   qput NAME N              put "m0" .. "m<N-1>", print "done"
 *   qget NAME N              get N messages (task_done each if joinable),
 *                            print "got <msg>" for each, then "done"
 *   qhold NAME GUNFD         get one message, print it, gun, task_done
 *   qwait NAME               print "waiting", get (forever), print the rc
 *   qputwait NAME            print "waiting", put (forever), print the rc
 *   qflood NAME              put until a put fails, printing "running" after
 *                            the first, then "put K RC" (K puts succeeded)
 *   qdrain NAME              get until a get fails, printing "running" after
 *                            the first, then "got K RC" (K messages)
 *   pend NAME END GUNFD      open a pipe end, print "open", gun, close
 *   precv NAME END N         receive N messages, print each, then receive
 *                            until end of file and print that rc
 *   psend NAME END N         send "p0" .. "p<N-1>", close
 *   shmhold NAME GUNFD       attach a SharedMemory, write "hi", print, gun
 *   dhammer NAME             set and delete keys of a dict forever (values
 *                            "KEY=N" repeated), printing "running" once
 *   lhammer NAME             append, pop and set items of a list forever
 *                            (items "N:N:N..." of one number), "running"
 *   dset NAME KEY VALUE      set one key
 */

static int cmd_vlock(char **a)
{
	sp_value *v;

	tu_opened(sp_value_open(a[0], 0, NULL, &v));
	printf("locked %d\n", sp_value_lock(v, SP_FOREVER));
	tu_gun_wait(a[1]);
	printf("unlocked %d\n", sp_value_unlock(v));
	sp_value_close(v);
	return 0;
}

static int cmd_vadd(char **a)
{
	long n = atol(a[1]), d = atol(a[2]);
	sp_value *v;

	tu_opened(sp_value_open(a[0], 0, NULL, &v));
	for (long i = 0; i < n; i++)
		sp_value_add(v, 0, d, NULL);
	printf("done\n");
	sp_value_close(v);
	return 0;
}

static sp_queue *qopen(const char *name)
{
	sp_queue *q;

	tu_opened(sp_queue_open(name, 0, NULL, &q));
	return q;
}

/* A put to a queue or a send to a pipe, blocking as long as it takes. */
typedef int put_fn(void *obj, const void *m, size_t len);

static int queue_put(void *q, const void *m, size_t len)
{
	return sp_queue_put(q, m, len, SP_FOREVER);
}

static int pipe_send(void *p, const void *m, size_t len)
{
	return sp_pipe_send(p, m, len, SP_FOREVER);
}

/* Puts the messages "<c>0" .. "<c><n-1>" (n = the argument given); at the
 * first that fails, prints "WHAT RC" and returns 1, else returns 0. */
static int put_numbered(put_fn *put, void *obj, char c, const char *n, const char *what)
{
	char m[32];

	for (long i = 0; i < atol(n); i++) {
		int len = snprintf(m, sizeof(m), "%c%ld", c, i), rc = put(obj, m, (size_t)len);

		if (rc)
			return printf("%s %d\n", what, rc), 1;
	}
	return 0;
}

/* Prints a message received, "got MSG" (m has room for its NUL), and
 * returns 1; or if len says the receive failed, "WHAT LEN" and 0. */
static int say_got(char *m, ssize_t len, const char *what)
{
	if (len < 0)
		return printf("%s %zd\n", what, len), 0;
	m[len] = 0;
	printf("got %s\n", m);
	return 1;
}

static int cmd_qput(char **a)
{
	sp_queue *q = qopen(a[0]);

	if (put_numbered(queue_put, q, 'm', a[1], "put"))
		return 1;
	printf("done\n");
	sp_queue_close(q);
	return 0;
}

static int cmd_qget(char **a)
{
	sp_queue *q = qopen(a[0]);
	long n = atol(a[1]);
	char m[256];

	for (long i = 0; i < n; i++) {
		if (!say_got(m, sp_queue_get(q, m, sizeof(m) - 1, SP_FOREVER), "get"))
			return 1;
		sp_queue_task_done(q);
	}
	printf("done\n");
	sp_queue_close(q);
	return 0;
}

static int cmd_qhold(char **a)
{
	sp_queue *q = qopen(a[0]);
	char m[256];

	if (!say_got(m, sp_queue_get(q, m, sizeof(m) - 1, SP_FOREVER), "get"))
		return 1;
	tu_gun_wait(a[1]);
	printf("done %d\n", sp_queue_task_done(q));
	sp_queue_close(q);
	return 0;
}

static int cmd_qwait(char **a)
{
	sp_queue *q = qopen(a[0]);
	char m[256];

	printf("waiting\n");
	printf("get %zd\n", sp_queue_get(q, m, sizeof(m), SP_FOREVER));
	sp_queue_close(q);
	return 0;
}

static int cmd_qputwait(char **a)
{
	sp_queue *q = qopen(a[0]);

	printf("waiting\n");
	printf("put %d\n", sp_queue_put(q, "late", 4, SP_FOREVER));
	sp_queue_close(q);
	return 0;
}

static sp_pipe *popen_end(const char *name, const char *end)
{
	sp_pipe *p;

	tu_opened(sp_pipe_open(name, 0, (unsigned)atoi(end), NULL, &p));
	return p;
}

static int cmd_pend(char **a)
{
	sp_pipe *p = popen_end(a[0], a[1]);

	printf("open\n");
	tu_gun_wait(a[2]);
	sp_pipe_close(p);
	return 0;
}

static int cmd_precv(char **a)
{
	sp_pipe *p = popen_end(a[0], a[1]);
	long n = atol(a[2]);
	char m[256];

	for (long i = 0; i < n; i++)
		if (!say_got(m, sp_pipe_recv(p, m, sizeof(m) - 1, SP_FOREVER), "recv"))
			return 1;
	printf("end %zd\n", sp_pipe_recv(p, m, sizeof(m), SP_FOREVER));
	sp_pipe_close(p);
	return 0;
}

static int cmd_psend(char **a)
{
	sp_pipe *p = popen_end(a[0], a[1]);

	if (put_numbered(pipe_send, p, 'p', a[2], "send"))
		return 1;
	printf("sent\n");
	sp_pipe_close(p);
	return 0;
}

static int cmd_shmhold(char **a)
{
	sp_shm *m;

	tu_opened(sp_shm_open(a[0], 0, 0, 0, &m));
	memcpy(sp_shm_data(m), "hi", 2);
	printf("attached %zu\n", sp_shm_size(m));
	tu_gun_wait(a[1]);
	sp_shm_close(m);
	return 0;
}

/* A value that tells if it was torn: "key=n" repeated to len bytes. */
static size_t dval(char *buf, size_t size, const char *key, unsigned long n)
{
	char unit[64];
	int u = snprintf(unit, sizeof(unit), "%s=%lu;", key, n);
	size_t len = 0;

	while (len + (size_t)u <= size && len < 200) {
		memcpy(buf + len, unit, (size_t)u);
		len += (size_t)u;
	}
	return len;
}

static int cmd_dhammer(char **a)
{
	sp_dict *d;
	char key[32], val[256];

	tu_opened(sp_dict_open(a[0], 0, NULL, &d));
	for (unsigned long i = 0;; i++) {
		int kl = snprintf(key, sizeof(key), "key%lu", i % 40);

		if (i % 3 == 2)
			sp_dict_delete(d, key, (size_t)kl);
		else
			sp_dict_set(d, key, (size_t)kl, val, dval(val, sizeof(val), key, i));
		if (i == 200)
			printf("running\n");
	}
	return 0;   /* not reached: the test kills it */
}

static int cmd_lhammer(char **a)
{
	sp_list *l;
	char item[128], out[128];

	tu_opened(sp_list_open(a[0], 0, NULL, &l));
	for (unsigned long i = 0;; i++) {
		size_t n = 0;
		int u;

		while (n + 12 < sizeof(item)) {
			u = snprintf(item + n, sizeof(item) - n, "%lu:", i);
			n += (size_t)u;
		}
		switch (i % 5) {
		case 0: sp_list_append(l, item, n); break;
		case 1: sp_list_appendleft(l, item, n); break;
		case 2: sp_list_set(l, (long long)(i % 7) - 3, item, n); break;
		case 3: sp_list_pop(l, out, sizeof(out), NULL); break;
		default: if (sp_list_len(l) > 20) sp_list_popleft(l, out, sizeof(out), NULL); break;
		}
		if (i == 200)
			printf("running\n");
	}
	return 0;   /* not reached: the test kills it */
}

static int cmd_qflood(char **a)
{
	sp_queue *q = qopen(a[0]);
	long k = 0;
	int rc;

	while ((rc = sp_queue_put(q, "flood", 5, SP_FOREVER)) == 0)
		if (++k == 1)
			printf("running\n");
	printf("put %ld %d\n", k, rc);
	sp_queue_close(q);
	return 0;
}

static int cmd_qdrain(char **a)
{
	sp_queue *q = qopen(a[0]);
	char m[64];
	long k = 0;
	ssize_t rc;

	while ((rc = sp_queue_get(q, m, sizeof(m), SP_FOREVER)) >= 0)
		if (++k == 1)
			printf("running\n");
	printf("got %ld %zd\n", k, rc);
	sp_queue_close(q);
	return 0;
}

static const struct tu_cmd cmds[] = {
	{ "vlock", 2, cmd_vlock }, { "vadd", 3, cmd_vadd }, { "qput", 2, cmd_qput },
	{ "qget", 2, cmd_qget }, { "qhold", 2, cmd_qhold }, { "qwait", 1, cmd_qwait },
	{ "qputwait", 1, cmd_qputwait }, { "qflood", 1, cmd_qflood }, { "qdrain", 1, cmd_qdrain }, { "pend", 3, cmd_pend }, { "precv", 3, cmd_precv },
	{ "psend", 3, cmd_psend }, { "shmhold", 2, cmd_shmhold }, { "dhammer", 1, cmd_dhammer },
	{ "lhammer", 1, cmd_lhammer }, { "dset", 3, tu_cmd_dset },
};

TU_TOOL_MAIN("tool_data", cmds)
