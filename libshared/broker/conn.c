/* conn.c: the connection to the server: connect, authenticate, load the scripts, run commands through losses. */
#include "broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prog.h"

int bk_fail(sp_broker *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return err;
}

void bk_key(const sp_broker *b, char *out, const char *suffix, const char *tail)
{
	snprintf(out, BK_KEY_MAX, "%s%s%s", b->pre, suffix, tail);
}

int bk_int(const redisReply *r, long long *v)
{
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0)
		r = r->element[0];
	if (!r || r->type != REDIS_REPLY_INTEGER)
		return -EPROTO;
	*v = r->integer;
	return 0;
}

void bk_nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void drop_conn(sp_broker *b)
{
	if (b->rc)
		redisFree(b->rc);
	b->rc = NULL;
}

/* One command on the connection as it is, no retry.  Returns the reply,
 * or NULL with the connection dropped (b->why says why).
 * A write to a connection the server closed raises SIGPIPE, which would
 * kill the caller: unless the caller ignores it already, it is blocked
 * around the command and a SIGPIPE of ours taken back before unblocking
 * (the library changes no signal disposition). */
static redisReply *once(sp_broker *b, int argc, const char **argv, const size_t *lens)
{
	struct sigaction sa;
	sigset_t pipe_set, old;
	int guard = sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN;
	int was_pending = 0;
	redisReply *r;

	if (guard) {
		sigset_t pend;

		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
		sigpending(&pend);
		was_pending = sigismember(&pend, SIGPIPE);
	}
	r = redisCommandArgv(b->rc, argc, argv, lens);
	if (guard) {
		struct timespec zero = { 0, 0 };
		sigset_t pend;

		/* Ours only if it was not pending before. */
		sigpending(&pend);
		if (!was_pending && sigismember(&pend, SIGPIPE))
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	if (!r) {
		bk_fail(b, -EIO, "connection lost: %s", b->rc->errstr[0] ? b->rc->errstr : "?");
		drop_conn(b);
	}
	return r;
}

/* Loads every script; the server's cache is empty after a restart. */
static int load_scripts(sp_broker *b)
{
	for (int i = 0; i < BK_NSCRIPTS; i++) {
		const char *argv[] = { "SCRIPT", "LOAD", bk_scripts[i] };
		size_t lens[] = { 6, 4, strlen(bk_scripts[i]) };
		redisReply *r = once(b, 3, argv, lens);

		if (!r)
			return -EIO;
		if (r->type != REDIS_REPLY_STRING || r->len >= sizeof(b->sha[i])) {
			int rc = bk_fail(b, -EPROTO, "SCRIPT LOAD: %s",
					 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");

			freeReplyObject(r);
			return rc;
		}
		memcpy(b->sha[i], r->str, r->len + 1);
		freeReplyObject(r);
	}
	return 0;
}

int bk_connect(sp_broker *b)
{
	struct timeval ctv = { 5, 0 }, iotv = { BK_IO_TIMEOUT_S, 0 };
	redisContext *c;
	int rc;

	drop_conn(b);
	c = b->url.is_unix ? redisConnectUnixWithTimeout(b->url.path, ctv)
			   : redisConnectWithTimeout(b->url.host, b->url.port, ctv);
	if (!c)
		return bk_fail(b, -ENOMEM, "out of memory");
	if (c->err) {
		int err = errno == ECONNREFUSED || errno == ENOENT ? -ECONNREFUSED : -EHOSTUNREACH;

		if (b->url.is_unix)
			bk_fail(b, err, "cannot connect to %s: %s", b->url.path, c->errstr);
		else
			bk_fail(b, err, "cannot connect to %s:%d: %s", b->url.host, b->url.port,
				c->errstr);
		redisFree(c);
		return err;
	}
	b->rc = c;
	/* A command of -x must not inherit our connection. */
	fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	redisSetTimeout(c, iotv);
	if (!b->url.is_unix)
		redisEnableKeepAlive(c);
	if (b->url.pass[0]) {
		const char *argv[] = { "AUTH", b->url.user, b->url.pass };
		int off = b->url.user[0] ? 0 : 1;
		size_t lens[] = { 4, strlen(b->url.user), strlen(b->url.pass) };
		redisReply *r;

		if (off) {
			argv[1] = b->url.pass;
			lens[1] = lens[2];
		}
		r = once(b, 3 - off, argv, lens);
		if (!r)
			return -EIO;
		if (r->type == REDIS_REPLY_ERROR) {
			rc = bk_fail(b, -EACCES, "AUTH: %s", r->str);
			freeReplyObject(r);
			drop_conn(b);
			return rc;
		}
		freeReplyObject(r);
	}
	rc = load_scripts(b);
	if (rc < 0) {
		drop_conn(b);
		return rc;
	}
	b->fresh = 1;
	strcpy(b->replay, "0");
	return 0;
}

/* An error reply worth waiting out: a server loading its data, busy with a
 * script, or a replica still syncing. */
static int transient(const char *msg)
{
	return strncmp(msg, "LOADING", 7) == 0 || strncmp(msg, "BUSY", 4) == 0 ||
	       strncmp(msg, "MASTERDOWN", 10) == 0 || strncmp(msg, "TRYAGAIN", 8) == 0;
}

redisReply *bk_call(sp_broker *b, int argc, const char **argv, const size_t *lens, int *err)
{
	double deadline = 0;
	long wait = 50;
	int reloads = 0;

	for (;;) {
		redisReply *r = NULL;
		int rc = 0;

		if (!b->rc)
			rc = bk_connect(b);
		if (rc == 0)
			r = once(b, argc, argv, lens);
		if (r && r->type == REDIS_REPLY_ERROR) {
			if (strncmp(r->str, "NOSCRIPT", 8) == 0 && reloads++ < 3) {
				/* Flushed from the cache: load and run again (a
				 * few times: a server that keeps forgetting them
				 * is refusing the command). */
				freeReplyObject(r);
				rc = load_scripts(b);
				if (rc == 0)
					continue;
				drop_conn(b);
				r = NULL;
			} else if (strncmp(r->str, "NOGROUP", 7) == 0 ||
				   strncmp(r->str, "UNBLOCKED", 9) == 0) {
				bk_fail(b, -EBADMSG, "%s", r->str);
				freeReplyObject(r);
				*err = -EBADMSG;
				return NULL;
			} else if (transient(r->str)) {
				bk_fail(b, -EAGAIN, "server: %s", r->str);
				freeReplyObject(r);
				r = NULL;
				rc = -EAGAIN;
			} else {
				bk_fail(b, -EPROTO, "server: %s", r->str);
				freeReplyObject(r);
				*err = -EPROTO;
				return NULL;
			}
		}
		if (r)
			return r;
		/* Lost or refused: retried only once the batch has begun (the
		 * first connection tells a wrong URL at once), within
		 * retry_ms, and never a refused login. */
		if (rc == 0)
			rc = -EIO;
		if (!b->started || rc == -EACCES || rc == -ENOMEM) {
			*err = rc;
			return NULL;
		}
		if (deadline == 0)
			deadline = prog_now_sec() + b->o.retry_ms / 1e3;
		if (prog_now_sec() > deadline) {
			*err = rc == -EAGAIN ? -ETIMEDOUT : rc;
			return NULL;
		}
		if (b->o.stop && *b->o.stop) {
			*err = -EINTR;
			return NULL;
		}
		bk_nap(wait);
		if (wait < 1000)
			wait *= 2;
	}
}

redisReply *bk_eval(sp_broker *b, enum bk_script s, int nkeys, const char *const *keys,
		    int nargs, const char *const *args, const size_t *alens, int *err)
{
	const char *argv[40];
	size_t lens[40];
	char nk[16];
	int n = 0;

	if (3 + nkeys + nargs > 40) {
		*err = -E2BIG;
		return NULL;
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[n] = "EVALSHA";
	lens[n++] = 7;
	argv[n] = b->sha[s];
	lens[n++] = strlen(b->sha[s]);
	argv[n] = nk;
	lens[n++] = strlen(nk);
	for (int i = 0; i < nkeys; i++) {
		argv[n] = keys[i];
		lens[n++] = strlen(keys[i]);
	}
	for (int i = 0; i < nargs; i++) {
		argv[n] = args[i];
		lens[n++] = alens ? alens[i] : strlen(args[i]);
	}
	return bk_call(b, n, argv, lens, err);
}
