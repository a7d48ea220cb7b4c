/* broker.c: a handle on a batch: open (creating the batch's state), close, and what a consumer's main process does. */
#include "broker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "prog.h"

static int member_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > SP_BROKER_MEMBER_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':'))
			return 0;
	}
	return 1;
}

/* A member or host name that member_ok(): copied into the handle's out
 * (SP_BROKER_MEMBER_MAX + 1 bytes), *name pointed at the copy. */
static int keep_name(char *out, const char **name)
{
	if (!member_ok(*name))
		return 0;
	memcpy(out, *name, strlen(*name) + 1);
	*name = out;
	return 1;
}

static int random_hex(char *out)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		return -errno;
	snprintf(out, 17, "%016llx", (unsigned long long)v);
	return 0;
}

/* The lease script: 0 (ours), the ms another's has left, or -errno. */
static int lease(sp_broker *b)
{
	const char *keys[] = { b->k_l }, *args[] = { b->prod, BK_LEASE_MS };
	int err = 0;
	long long v = 0;
	redisReply *r = bk_eval(b, BK_LEASE, 1, keys, 2, args, NULL, &err);

	if (!r)
		return err;
	err = bk_int(r, &v);
	freeReplyObject(r);
	if (err < 0)
		return bk_fail(b, -EPROTO, "unexpected reply to LEASE");
	return v > 0 ? (int)(v < 1000 ? v : 1000) : 0;
}

/* Takes the host's lease, waiting out one a dead predecessor left; one
 * renewed all along is a live consumer's of the same name. */
static int take_lease(sp_broker *b)
{
	double deadline = prog_now_sec() + atoi(BK_LEASE_MS) / 1e3 + 1.0;

	for (;;) {
		int rc = lease(b);

		if (rc <= 0)
			return rc;
		if (prog_now_sec() > deadline)
			return bk_fail(b, -EADDRINUSE, "host %s: another consumer of the batch runs "
				       "under this name (give each its own)", b->host);
		if (b->o.stop && *b->o.stop)
			return bk_fail(b, -EINTR, "interrupted");
		bk_nap(rc < 100 ? rc : 100);
	}
}

int sp_broker_open(const char *url, const struct sp_broker_opts *opts, sp_broker **out,
		   const char **why)
{
	static char msg[sizeof(((sp_broker *)0)->why)];
	char producers[16], newid[24];
	const char *keys[5], *args[7];
	redisReply *r;
	sp_broker *b;
	int rc, err = 0;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = sp_broker_url_parse(url, &b->url, why);
	if (rc < 0) {
		free(b);
		return rc;
	}
	if (opts)
		b->o = *opts;
	if (!b->o.producers)
		b->o.producers = 1;
	if (!b->o.window)
		b->o.window = SP_BROKER_WINDOW_DEFAULT;
	if (!b->o.claim_ms)
		b->o.claim_ms = SP_BROKER_CLAIM_MS_DEFAULT;
	if (!b->o.retry_ms)
		b->o.retry_ms = SP_BROKER_RETRY_MS_DEFAULT;
	if ((b->o.member && !keep_name(b->member, &b->o.member)) ||
	    (b->o.host && !keep_name(b->host, &b->o.host))) {
		free(b);
		if (why)
			*why = "bad member or host name (1-120 characters of [A-Za-z0-9._:-])";
		return -EINVAL;
	}
	if (b->o.batch_id && (strlen(b->o.batch_id) == 0 || strlen(b->o.batch_id) >= sizeof(b->bid) ||
			      strspn(b->o.batch_id, "0123456789abcdef") != strlen(b->o.batch_id))) {
		free(b);
		if (why)
			*why = "bad batch id (hex digits, as sp_broker_batch_id() gives)";
		return -EINVAL;
	}
	snprintf(b->pre, sizeof(b->pre), "shmpipe:{%s}:", b->url.name);
	bk_key(b, b->k_s, "s", "");
	bk_key(b, b->k_m, "m", "");
	bk_key(b, b->k_w, "w", "");
	bk_key(b, b->k_d, "d", "");
	bk_key(b, b->k_h, "h", "");
	strcpy(b->cursor, "0-0");
	if ((rc = random_hex(b->prod)) < 0 || (rc = random_hex(newid)) < 0) {
		free(b);
		return rc;
	}

	rc = bk_connect(b);
	if (rc == 0 && b->host[0]) {
		bk_key(b, b->k_l, "l:", b->host);
		rc = take_lease(b);
	}
	if (rc == 0) {
		snprintf(producers, sizeof(producers), "%u", b->o.producers);
		keys[0] = b->k_m;
		keys[1] = b->k_s;
		keys[2] = b->k_d;
		keys[3] = b->k_h;
		keys[4] = b->k_w;
		args[0] = "";
		args[1] = BK_DONE_TTL;
		args[2] = producers;
		args[3] = newid;
		args[4] = BK_GROUP;
		args[5] = b->o.batch_id ? b->o.batch_id : "";
		args[6] = b->o.host ? b->o.host : "";
		r = bk_eval(b, BK_OPEN, 5, keys, 7, args, NULL, &err);
		rc = err;
		if (r) {
			long long code;

			if (bk_int(r, &code) < 0) {
				rc = bk_fail(b, -EPROTO, "unexpected reply to OPEN");
			} else if (code == -3 && b->o.batch_id) {
				rc = bk_fail(b, -EPIPE, "the batch is complete already");
			} else if (code == -3) {
				rc = bk_fail(b, -EPIPE, "the batch is complete already (its consumers "
					     "are still leaving: the name is free once they have, or "
					     "%s s after the end)", BK_DONE_TTL);
			} else if (code == -1) {
				rc = bk_gone(b);
			} else if (code != 0 && code != 1) {
				rc = bk_fail(b, -EBADMSG, "%s on the server is not a batch of this "
					     "version, or damaged", b->pre);
			} else if (r->elements != 4 || r->element[1]->type != REDIS_REPLY_STRING ||
				   r->element[1]->len >= sizeof(b->bid) ||
				   r->element[2]->type != REDIS_REPLY_INTEGER) {
				rc = bk_fail(b, -EPROTO, "unexpected reply to OPEN");
			} else {
				memcpy(b->bid, r->element[1]->str, r->element[1]->len + 1);
				b->producers = (unsigned)r->element[2]->integer;
				b->joined_complete = code == 1;
				rc = 0;
			}
			freeReplyObject(r);
		}
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", b->why);
		if (why)
			*why = msg;
		sp_broker_close(b);
		return rc;
	}
	b->started = 1;
	*out = b;
	return 0;
}

void sp_broker_close(sp_broker *b)
{
	if (!b)
		return;
	if (b->rc)
		redisFree(b->rc);
	free(b);
}

const char *sp_broker_why(const sp_broker *b)
{
	return b->why[0] ? b->why : "unknown error";
}

const char *sp_broker_name(const sp_broker *b)
{
	return b->url.name;
}

unsigned sp_broker_producers(const sp_broker *b)
{
	return b->producers;
}

const char *sp_broker_batch_id(const sp_broker *b)
{
	return b->bid;
}

/* The keys every batch script takes, with file (or the stream) last. */
static void batch_keys(const sp_broker *b, const char **keys, const char *file)
{
	keys[0] = b->k_m;
	keys[1] = b->k_s;
	keys[2] = b->k_d;
	keys[3] = b->k_h;
	keys[4] = b->k_w;
	keys[5] = file ? file : b->k_s;
}

/* Runs a batch script whose reply is one integer: 1, 0 or -1 (gone). */
int bk_batch_script(sp_broker *b, enum bk_script s, const char *file, int nargs,
		    const char *const *args, const size_t *alens)
{
	const char *keys[6], *argv[12];
	size_t lens[12];
	long long v;
	redisReply *r;
	int err = 0;

	batch_keys(b, keys, file);
	argv[0] = b->bid;
	lens[0] = strlen(b->bid);
	argv[1] = BK_DONE_TTL;
	lens[1] = strlen(BK_DONE_TTL);
	for (int i = 0; i < nargs && i < 10; i++) {
		argv[2 + i] = args[i];
		lens[2 + i] = alens ? alens[i] : strlen(args[i]);
	}
	r = bk_eval(b, s, 6, keys, 2 + nargs, argv, lens, &err);
	if (!r)
		return err;
	err = bk_int(r, &v);
	freeReplyObject(r);
	if (err < 0)
		return bk_fail(b, err, "unexpected reply from the server");
	if (v < 0)
		return bk_gone(b);
	return (int)v;
}

int bk_gone(sp_broker *b)
{
	return bk_fail(b, -EBADMSG, "the batch's state is gone from the server (restarted "
		       "without persistence, flushed, or removed): send the batch again");
}

int sp_broker_complete(sp_broker *b)
{
	return bk_batch_script(b, BK_CHECK, NULL, 0, NULL, NULL);
}

int sp_broker_joined_complete(const sp_broker *b)
{
	return b->joined_complete;
}

int sp_broker_host_leave(sp_broker *b)
{
	const char *keys[] = { b->k_m, b->k_d, b->k_h, b->k_l }, *args[] = { b->bid, b->host, b->prod };
	int err = 0;
	redisReply *r;

	if (!b->host[0])
		return 0;
	r = bk_eval(b, BK_LEAVE, 4, keys, 3, args, NULL, &err);
	if (r)
		freeReplyObject(r);
	return r ? 0 : err;
}

int sp_broker_keep(sp_broker *b, int n, const char *const *members, const char *const *ids)
{
	const char *keys[] = { b->k_s, b->host[0] ? b->k_l : b->k_s }, *args[3 + 2 * 16];
	int done = 0, lost = 0, i = 0;

	/* In batches of 16 pairs (a consumer has at most 64 workers); the
	 * lease with the first, or alone. */
	do {
		int k = 0, err = 0;
		long long v = 0;
		redisReply *r;

		args[k++] = BK_GROUP;
		args[k++] = i == 0 && b->host[0] ? b->prod : "";
		args[k++] = BK_LEASE_MS;
		for (; i < n && k < 3 + 2 * 16; i++) {
			args[k++] = members[i];
			args[k++] = ids[i];
		}
		r = bk_eval(b, BK_KEEP, 2, keys, k, args, NULL, &err);
		if (!r)
			return err;
		if (bk_int(r, &v) == 0)
			done += (int)(v < 0 ? 0 : v);
		lost |= v < 0;
		freeReplyObject(r);
	} while (i < n);
	if (lost)
		return bk_fail(b, -EADDRINUSE, "host %s: another consumer took this name while "
			       "this one was stopped or cut off for over %s ms", b->host, BK_LEASE_MS);
	return done;
}
