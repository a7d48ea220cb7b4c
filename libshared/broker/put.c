/* put.c: the producer's side: records onto the batch stream or a file's stream, the window, the seal. */
#include "broker_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "prog.h"

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The batch this handle joined is not there: complete (its marker holds
 * its id: the batch is closed to us), or gone. */
static int gone_or_done(sp_broker *b)
{
	const char *argv[] = { "GET", b->k_d };
	size_t lens[] = { 3, strlen(b->k_d) };
	int err = 0;
	redisReply *r = bk_call(b, 2, argv, lens, &err);

	if (r && r->type == REDIS_REPLY_STRING && strcmp(r->str, b->bid) == 0) {
		freeReplyObject(r);
		return bk_fail(b, -EPIPE, "the batch is complete already");
	}
	if (r)
		freeReplyObject(r);
	return r ? bk_gone(b) : err;
}

/* Waits for an acknowledgement (the ACK script rings the doorbell), at
 * most ms. */
static int wait_doorbell(sp_broker *b, long ms)
{
	char secs[24];
	const char *argv[] = { "BLPOP", b->k_w, secs };
	size_t lens[3];
	int err = 0;
	redisReply *r;

	snprintf(secs, sizeof(secs), "%ld.%03ld", ms / 1000, ms % 1000);
	lens[0] = 5;
	lens[1] = strlen(b->k_w);
	lens[2] = strlen(secs);
	r = bk_call(b, 3, argv, lens, &err);
	if (!r)
		return err;
	freeReplyObject(r);
	return 0;
}

int sp_broker_put(sp_broker *b, const void *rec, size_t len, long long timeout_ns)
{
	const unsigned char *p = rec;
	const char *mode = "r";
	char fid[48] = "", num[24], win[24], fkey[BK_KEY_MAX];
	double deadline = timeout_ns < 0 ? 0 : prog_now_sec() + timeout_ns / 1e9;
	unsigned type;

	if (len < SP_BATCH_HDR_SIZE || len > SP_BROKER_MAX_RECORD ||
	    (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) != SP_BATCH_MAGIC)
		return bk_fail(b, -EINVAL, "not a record, or larger than %u bytes",
			       SP_BROKER_MAX_RECORD);
	type = p[5];
	if (type == SP_BATCH_PART || type == SP_BATCH_END) {
		snprintf(fid, sizeof(fid), "%016llx-%llu", (unsigned long long)le64(p + 8),
			 (unsigned long long)le64(p + 16));
		mode = b->file_open && strcmp(fid, b->ffid) == 0 ? "p" : "a";
	}
	bk_key(b, fkey, "f:", fid);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)(b->puts + 1));
	snprintf(win, sizeof(win), "%llu", (unsigned long long)b->o.window);

	for (;;) {
		const char *args[] = { b->prod, num, win, mode, rec, fid };
		size_t lens[] = { strlen(b->prod), strlen(num), strlen(win), 1, len, strlen(fid) };
		const char *keys[6] = { b->k_m, b->k_s, b->k_d, b->k_h, b->k_w,
					fid[0] ? fkey : b->k_s };
		const char *argv[8] = { b->bid, BK_DONE_TTL };
		size_t alens[8] = { strlen(b->bid), strlen(BK_DONE_TTL) };
		long long code, bytes = 0;
		redisReply *r;
		int err = 0;

		for (int i = 0; i < 6; i++) {
			argv[2 + i] = args[i];
			alens[2 + i] = lens[i];
		}
		r = bk_eval(b, BK_PUT, 6, keys, 8, argv, alens, &err);
		if (!r)
			return err;
		if (bk_int(r, &code) < 0) {
			freeReplyObject(r);
			return bk_fail(b, -EPROTO, "unexpected reply to PUT");
		}
		if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_INTEGER)
			bytes = r->element[1]->integer;
		freeReplyObject(r);
		if (code == -1)
			return gone_or_done(b);
		if (code == -2)
			return bk_fail(b, -EPIPE, "the batch is closed (all its producers finished)");
		if (code == 0) {
			b->puts++;
			if (bytes > 0 && (uint64_t)bytes > b->peak)
				b->peak = (uint64_t)bytes;
			if (*mode == 'a') {
				b->file_open = 1;
				memcpy(b->ffid, fid, sizeof(fid));
			}
			if (type == SP_BATCH_END)
				b->file_open = 0;
			return 0;
		}
		/* Full: wait for an acknowledgement, in slices of at most
		 * 100 ms (several producers may wait on one doorbell). */
		double left = deadline ? deadline - prog_now_sec() : 0.1;

		if (left <= 0)
			return -EAGAIN;     /* still full: not the server's failure */
		err = wait_doorbell(b, left < 0.1 ? (long)(left * 1000) + 1 : 100);
		if (err < 0)
			return err;
	}
}

int sp_broker_seal(sp_broker *b)
{
	const char *args[] = { b->prod };
	int rc = bk_batch_script(b, BK_SEAL, NULL, 1, args, NULL);

	if (rc == -EBADMSG)
		return gone_or_done(b);
	return rc < 0 ? rc : 0;
}

uint64_t sp_broker_peak(const sp_broker *b)
{
	return b->peak;
}
