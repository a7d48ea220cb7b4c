/* take.c: the consumer's side: take an entry (ours, new, or a dead member's), read a file's stream, acknowledge. */
#include "broker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long block_ms(long long timeout_ns)
{
	long long ms = timeout_ns < 0 ? BK_BLOCK_MAX_MS : timeout_ns / 1000000;

	return ms < 1 ? 1 : ms > BK_BLOCK_MAX_MS ? BK_BLOCK_MAX_MS : (long)ms;
}

/* "MS-SEQ", each part decimal: the only form of id this protocol uses. */
static int parse_id(const char *s, size_t len, uint64_t *ms, uint64_t *seq)
{
	char buf[48], *dash, *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	dash = strchr(buf, '-');
	if (!dash || dash == buf || !dash[1])
		return -1;
	*dash = 0;
	for (char *c = buf; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	for (char *c = dash + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	*ms = strtoull(buf, &end, 10);
	*seq = strtoull(dash + 1, &end, 10);
	return 0;
}

/* A file id of an announcement: 16 lowercase hex digits, '-', the seq in
 * decimal (1 to 20 digits, not 0).  It names a key, so nothing else. */
static int parse_fid(const char *s, size_t len, uint64_t *run, uint64_t *seq)
{
	char buf[48];

	if (len < 18 || len > 37 || s[16] != '-')
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (i == 16)
			continue;
		if (i < 16 ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
			   : !(c >= '0' && c <= '9'))
			return -1;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	buf[16] = 0;
	*run = strtoull(buf, NULL, 16);
	*seq = strtoull(buf + 17, NULL, 10);
	return *seq == 0 || (buf[17] == '0') ? -1 : 0;
}

/*
 * The first entry of a reply to XREADGROUP or XREAD ([[key, [entry...]]])
 * or XAUTOCLAIM ([cursor, [entry...], [deleted...]]): returns it, or NULL
 * (none, or a reply of another shape).
 */
static const redisReply *first_entry(const redisReply *r, int autoclaim)
{
	const redisReply *list;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return NULL;
	if (autoclaim) {
		if (r->elements < 2)
			return NULL;
		list = r->element[1];
	} else {
		const redisReply *s = r->element[0];

		if (s->type != REDIS_REPLY_ARRAY || s->elements != 2)
			return NULL;
		list = s->element[1];
	}
	if (list->type != REDIS_REPLY_ARRAY || list->elements < 1)
		return NULL;
	return list->element[0];
}

/*
 * Fills e from one stream entry [id, [field, value, ...]] (the fields
 * nil when the entry was deleted).  Whatever the entry holds, e gets its
 * id and weight; what is not ['r', record] or ['f', file id] is BAD.
 * Returns 0, 1 for an entry deleted meanwhile, or -1 without an id.
 */
static int fill(struct sp_broker_entry *e, const redisReply *en)
{
	const redisReply *f;

	if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
	    en->element[0]->type != REDIS_REPLY_STRING ||
	    en->element[0]->len >= sizeof(e->id) ||
	    parse_id(en->element[0]->str, en->element[0]->len, &e->id_ms, &e->id_seq) < 0)
		return -1;
	memcpy(e->id, en->element[0]->str, en->element[0]->len + 1);
	f = en->element[1];
	if (f->type == REDIS_REPLY_NIL)
		return 1;
	e->kind = SP_BROKER_BAD;
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2) {
		e->why = "an entry of another shape";
		return 0;
	}
	for (size_t i = 1; i < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING)
			e->bytes += f->element[i]->len;
	if (f->elements != 2 || f->element[0]->type != REDIS_REPLY_STRING ||
	    f->element[0]->len != 1 || f->element[1]->type != REDIS_REPLY_STRING) {
		e->why = "an entry with unknown fields";
		return 0;
	}
	const redisReply *v = f->element[1];

	if (f->element[0]->str[0] == 'r') {
		if (v->len > SP_BROKER_MAX_RECORD) {
			e->why = "an entry larger than the largest record";
			return 0;
		}
		e->kind = SP_BROKER_RECORD;
		e->data = v->str;
		e->len = v->len;
	} else if (f->element[0]->str[0] == 'f') {
		if (parse_fid(v->str, v->len, &e->run, &e->seq) < 0) {
			e->why = "an announcement with a malformed file id";
			return 0;
		}
		e->kind = SP_BROKER_FILE;
		memcpy(e->fid, v->str, v->len);
		e->fid[v->len] = 0;
	} else {
		e->why = "an entry with unknown fields";
	}
	return 0;
}

/* The group is gone under us: a complete batch, or a lost one. */
static int gone_or_complete(sp_broker *b)
{
	int rc = sp_broker_complete(b);

	if (rc == 1)
		return -EPIPE;
	return rc < 0 ? rc : bk_gone(b);
}

/* Acknowledges, without anything else, an entry deleted meanwhile that
 * the group still counts as ours. */
static void forget(sp_broker *b, const char *id)
{
	const char *argv[] = { "XACK", b->k_s, BK_GROUP, id };
	size_t lens[] = { 4, strlen(b->k_s), strlen(BK_GROUP), strlen(id) };
	int err = 0;
	redisReply *r = bk_call(b, 4, argv, lens, &err);

	if (r)
		freeReplyObject(r);
}

/* One read of the group: "0" our pending entries, ">" a new one (blocking
 * ms), or an XAUTOCLAIM.  Returns 0 with *e filled, 1 if none, or -errno. */
static int read_group(sp_broker *b, struct sp_broker_entry *e, const char *what, long ms)
{
	char block[24], idle[24];
	const char *argv[12];
	size_t lens[12];
	int argc = 0, err = 0, claim = strcmp(what, "claim") == 0;
	const redisReply *en;
	redisReply *r;

	snprintf(block, sizeof(block), "%ld", ms);
	snprintf(idle, sizeof(idle), "%lld", b->o.claim_ms);
	if (claim) {
		const char *v[] = { "XAUTOCLAIM", b->k_s, BK_GROUP, b->member, idle, b->cursor,
				    "COUNT", "1" };

		for (; argc < 8; argc++)
			argv[argc] = v[argc];
	} else {
		const char *v[] = { "XREADGROUP", "GROUP", BK_GROUP, b->member, "COUNT", "1",
				    "BLOCK", block, "STREAMS", b->k_s, what };
		int skip = strcmp(what, ">") != 0;   /* no BLOCK for our own */

		for (int i = 0; i < 11; i++) {
			if (skip && (i == 6 || i == 7))
				continue;
			argv[argc++] = v[i];
		}
	}
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	r = bk_call(b, argc, argv, lens, &err);
	if (!r)
		return err == -EBADMSG ? gone_or_complete(b) : err;
	if (claim && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < sizeof(b->cursor))
		memcpy(b->cursor, r->element[0]->str, r->element[0]->len + 1);
	en = first_entry(r, claim);
	if (!en) {
		freeReplyObject(r);
		return 1;
	}
	int rc = fill(e, en);

	if (rc != 0) {
		/* Deleted meanwhile (or an id we cannot use): nothing to
		 * handle; see the next. */
		if (rc == 1)
			forget(b, e->id);
		freeReplyObject(r);
		memset(e, 0, sizeof(*e));
		return rc == 1 ? 2 : 1;
	}
	e->reply = r;
	e->claimed = claim;
	return 0;
}

int sp_broker_take(sp_broker *b, struct sp_broker_entry *e, long long timeout_ns)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if (!b->member[0])
		return bk_fail(b, -EINVAL, "a handle without a member name takes nothing");
	/* What the group counts as ours first: a predecessor of our name
	 * died holding it, or a reply was lost with a connection.  Each once
	 * per connection, in id order after the last one re-read: from "0"
	 * every time, the first one (a file set aside, still ours) would come
	 * back at every take and hide the others and the new entries. */
	while (b->fresh) {
		rc = read_group(b, e, b->replay, 0);
		if (rc == 0) {
			snprintf(b->replay, sizeof(b->replay), "%s", e->id);
			return 0;
		}
		if (rc < 0)
			return rc;
		if (rc == 1)
			b->fresh = 0;
	}
	do
		rc = read_group(b, e, ">", block_ms(timeout_ns));
	while (rc == 2);
	if (rc <= 0)
		return rc;
	rc = read_group(b, e, "claim", 0);
	if (rc <= 0)
		return rc;
	rc = sp_broker_complete(b);
	if (rc == 1)
		return -EPIPE;
	return rc < 0 ? rc : -ETIMEDOUT;
}

/* One XREAD of the file's stream after e->last, blocking ms (0: not). */
static int read_file(sp_broker *b, struct sp_broker_entry *e, const char *key, long ms,
		     const void **data, size_t *len)
{
	char block[24];
	const char *argv[] = { "XREAD", "COUNT", "1", "BLOCK", block, "STREAMS", key, e->last };
	size_t lens[8];
	int argc = 0, err = 0;
	const redisReply *en, *f;
	redisReply *r;

	snprintf(block, sizeof(block), "%ld", ms);
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	if (ms == 0) {
		/* No BLOCK: shift the keys and the id over it. */
		argv[3] = argv[5];
		argv[4] = argv[6];
		argv[5] = argv[7];
		lens[3] = lens[5];
		lens[4] = lens[6];
		lens[5] = lens[7];
		argc = 6;
	} else {
		argc = 8;
	}
	r = bk_call(b, argc, argv, lens, &err);
	if (!r)
		return err;
	en = first_entry(r, 0);
	if (!en || en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
	    en->element[0]->type != REDIS_REPLY_STRING ||
	    en->element[0]->len >= sizeof(e->last)) {
		freeReplyObject(r);
		return 1;
	}
	memcpy(e->last, en->element[0]->str, en->element[0]->len + 1);
	if (e->freply)
		freeReplyObject(e->freply);
	e->freply = r;
	f = en->element[1];
	*data = NULL;
	*len = 0;
	e->why = "an entry of another shape in a file's stream";
	if (f->type == REDIS_REPLY_ARRAY && f->elements == 2 &&
	    f->element[0]->type == REDIS_REPLY_STRING && f->element[0]->len == 1 &&
	    f->element[0]->str[0] == 'r' && f->element[1]->type == REDIS_REPLY_STRING) {
		if (f->element[1]->len > SP_BROKER_MAX_RECORD) {
			e->why = "an entry larger than the largest record";
		} else {
			*data = f->element[1]->str;
			*len = f->element[1]->len;
			e->why = NULL;
		}
	}
	return 0;
}

/*
 * Is entry e still pending in the group, that is, not acknowledged by
 * another member meanwhile (one that claimed it from us after claim_ms,
 * or a worker of our name that re-read it while we were taken for dead)?
 * Returns 1, 0 (acknowledged; also when the batch is complete since: we
 * held e, so another acknowledged it), or -errno.
 */
static int still_pending(sp_broker *b, const struct sp_broker_entry *e)
{
	const char *argv[] = { "XPENDING", b->k_s, BK_GROUP, e->id, e->id, "1" };
	size_t lens[6];
	int err = 0, rc;
	redisReply *r;

	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	r = bk_call(b, 6, argv, lens, &err);
	if (!r) {
		if (err != -EBADMSG)
			return err;
		rc = gone_or_complete(b);
		return rc == -EPIPE ? 0 : rc;
	}
	rc = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
	freeReplyObject(r);
	return rc;
}

int sp_broker_file_next(sp_broker *b, struct sp_broker_entry *e, const void **data, size_t *len,
			long long timeout_ns)
{
	char key[BK_KEY_MAX];
	int rc;

	*data = NULL;
	*len = 0;
	if (e->kind != SP_BROKER_FILE)
		return -EINVAL;
	if (!e->last[0])
		strcpy(e->last, "0-0");
	bk_key(b, key, "f:", e->fid);
	rc = read_file(b, e, key, block_ms(timeout_ns), data, len);
	if (rc <= 0)
		return rc;
	/* Nothing came.  Is the file still ours to finish? */
	rc = still_pending(b, e);
	if (rc <= 0)
		return rc < 0 ? rc : -EALREADY;
	/* More can come while an expected producer has not sealed: a
	 * producer seals after its last record, and a killed one's file is
	 * never finished (a new run sends it again). */
	const char *argv[] = { "HMGET", b->k_m, "id", "producers", "sealed" };
	size_t lens[] = { 5, strlen(b->k_m), 2, 9, 6 };
	int err = 0, open = 1;
	redisReply *r = bk_call(b, 5, argv, lens, &err);

	if (!r)
		return err;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, b->bid) != 0) {
		freeReplyObject(r);
		/* Complete since still_pending(): then another member
		 * acknowledged the file we hold. */
		rc = gone_or_complete(b);
		return rc == -EPIPE ? -EALREADY : rc;
	}
	if (r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING)
		open = atoll(r->element[2]->str) < atoll(r->element[1]->str);
	freeReplyObject(r);
	if (open)
		return -ETIMEDOUT;
	/* Sealed: the file's last record, if any, was put before the seal
	 * we just saw.  One more look. */
	rc = read_file(b, e, key, 0, data, len);
	return rc <= 0 ? rc : -EPIPE;
}

static void release(struct sp_broker_entry *e)
{
	if (e->reply)
		freeReplyObject(e->reply);
	if (e->freply)
		freeReplyObject(e->freply);
	e->reply = e->freply = NULL;
	e->data = NULL;
}

int sp_broker_ack(sp_broker *b, struct sp_broker_entry *e)
{
	char bytes[24], key[BK_KEY_MAX];
	const char *args[4];
	int file = e->kind == SP_BROKER_FILE, rc;

	release(e);
	snprintf(bytes, sizeof(bytes), "%zu", e->bytes);
	bk_key(b, key, "f:", e->fid);
	args[0] = BK_GROUP;
	args[1] = e->id;
	args[2] = bytes;
	args[3] = file ? e->fid : "";
	rc = bk_batch_script(b, BK_ACK, file ? key : NULL, 4, args, NULL);
	return rc < 0 ? rc : 0;
}

void sp_broker_drop(struct sp_broker_entry *e)
{
	release(e);
}
