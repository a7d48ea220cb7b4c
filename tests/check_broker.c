/* check_broker.c: Check suite for the broker client (libshared/broker/) against a redis-server of its own. */
#include <check.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "batch.h"
#include "prog.h"
#include "testutil.h"


static char dir[256];
static pid_t server;
static char name[64], url[512];

/* ---- fixtures ---------------------------------------------------------- */

static void server_up(void)
{
	snprintf(dir, sizeof(dir), "%s/shmpipe-bk.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (long)getpid());
	mkdir(dir, 0700);
	server = tu_redis_start(dir, NULL, 20000);
	ck_assert_int_gt(server, 0);
}

static void server_down(void)
{
	char cmd[512];

	tu_redis_stop(server);
	server = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_broker: could not remove %s\n", dir);
}

static void setup(void)
{
	tu_name(name, sizeof(name), "bk");
	snprintf(url, sizeof(url), "unix://%s/redis.sock?stream=%s", dir, name);
}

/* A raw connection, for what the tests do behind the client's back. */
static redisContext *raw(void)
{
	char sock[300];
	redisContext *c;

	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	c = redisConnectUnix(sock);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->err, 0);
	return c;
}

static long long raw_int(redisContext *c, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(c, fmt, arg);
	long long v;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* Keys of this test's batch on the server. */
static long long keys_of_batch(void)
{
	redisContext *c = raw();
	char pat[128];
	redisReply *r;
	long long n;

	snprintf(pat, sizeof(pat), "shmpipe:{%s}:*", name);
	r = redisCommand(c, "KEYS %s", pat);
	ck_assert_ptr_nonnull(r);
	n = (long long)r->elements;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static sp_broker *open_as(const char *member, unsigned producers, uint64_t window,
			  long long claim_ms)
{
	struct sp_broker_opts o = { .producers = producers, .window = window, .member = member,
				    .claim_ms = claim_ms, .retry_ms = 20000 };
	const char *why = NULL;
	sp_broker *b;
	int rc = sp_broker_open(url, &o, &b, &why);

	if (rc < 0)
		fprintf(stderr, "open %s: %s\n", url, why ? why : strerror(-rc));
	ck_assert_int_eq(rc, 0);
	return b;
}

/* A consumer host's handle (a consumer's main process): joins as host. */
static sp_broker *open_host(const char *host)
{
	struct sp_broker_opts o = { .host = host, .retry_ms = 20000 };
	const char *why = NULL;
	sp_broker *b;
	int rc = sp_broker_open(url, &o, &b, &why);

	if (rc < 0)
		fprintf(stderr, "open %s as %s: %s\n", url, host, why ? why : strerror(-rc));
	ck_assert_int_eq(rc, 0);
	return b;
}

/* A worker's handle, joining incarnation id only: 0 with *w, or -errno. */
static int open_worker(const char *member, const char *id, sp_broker **w)
{
	struct sp_broker_opts o = { .member = member, .batch_id = id, .retry_ms = 20000 };
	const char *why = NULL;

	return sp_broker_open(url, &o, w, &why);
}

/* Is host a member of the hosts' set of this test's batch? */
static long long raw_is_host(const char *host)
{
	redisContext *c = raw();
	char key[128];
	redisReply *r;
	long long v;

	snprintf(key, sizeof(key), "shmpipe:{%s}:h", name);
	r = redisCommand(c, "SISMEMBER %s %s", key, host);
	ck_assert_ptr_nonnull(r);
	v = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return v;
}

/* A record of the batch format: type, file id, part, payload of len bytes. */
static size_t record(void *buf, size_t size, unsigned type, uint64_t seq, uint32_t part,
		     size_t len, char fill)
{
	static char payload[SP_BROKER_MAX_RECORD];
	struct sp_batch_rec r = { .type = type, .run = 0x1234, .seq = seq, .path = "a/b",
				  .path_len = 3, .mode = 0100644 };
	long long n;

	memset(payload, fill, len);
	if (type == SP_BATCH_FILE) {
		r.size = len;
	} else if (type == SP_BATCH_PART) {
		r.size = 1u << 20;
		r.offset = (uint64_t)part * 4096;
		r.part = part;
	} else if (type == SP_BATCH_END) {
		r.size = 1u << 20;
		r.nparts = part;
		len = 0;
	}
	r.raw_len = r.data_len = (uint32_t)len;
	r.data = payload;
	r.part_hash = sp_batch_hash64(payload, len, 0);
	n = sp_batch_encode(&r, buf, size);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

/* ---- url --------------------------------------------------------------- */

START_TEST(url_forms)
{
	struct sp_broker_url u;
	const char *why;

	ck_assert_int_eq(sp_broker_url_parse("redis://host.example:6380/nightly", &u, &why), 0);
	ck_assert_str_eq(u.host, "host.example");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_str_eq(u.name, "nightly");
	ck_assert_int_eq(u.is_unix, 0);
	ck_assert_int_eq(sp_broker_url_parse("redis://10.0.0.2/b.1", &u, &why), 0);
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(sp_broker_url_parse("redis://[::1]:7000/x", &u, &why), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 7000);
	ck_assert_int_eq(sp_broker_url_parse("redis://bob:s3cret@h/x", &u, &why), 0);
	ck_assert_str_eq(u.user, "bob");
	ck_assert_str_eq(u.pass, "s3cret");
	ck_assert_int_eq(sp_broker_url_parse("redis://:pw@h:1/x", &u, &why), 0);
	ck_assert_str_eq(u.user, "");
	ck_assert_str_eq(u.pass, "pw");
	ck_assert_int_eq(sp_broker_url_parse("unix:///run/redis/redis.sock?stream=jobs", &u, &why), 0);
	ck_assert_int_eq(u.is_unix, 1);
	ck_assert_str_eq(u.path, "/run/redis/redis.sock");
	ck_assert_str_eq(u.name, "jobs");

	const char *bad[] = { "redis://h", "redis://h/", "redis:///x", "redis://h:0/x",
			      "redis://h:65536/x", "redis://h:12a/x", "redis://h/a/b",
			      "redis://h/a b", "redis://[::1/x", "redis://bob@h/x",
			      "unix:///s", "unix://s?stream=x", "unix:///s?stream=",
			      "unix:///s?name=x", "http://h/x", "", NULL };

	for (int i = 0; bad[i]; i++) {
		why = NULL;
		ck_assert_msg(sp_broker_url_parse(bad[i], &u, &why) == -EINVAL, "%s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	char longname[160];

	memset(longname, 'a', sizeof(longname));
	strcpy(longname + 101 - 1, "");
	snprintf(url, sizeof(url), "redis://h/%s", longname);
	ck_assert_int_eq(sp_broker_url_parse(url, &u, &why), 0);
	snprintf(url, sizeof(url), "redis://h/%sa", longname);
	ck_assert_int_eq(sp_broker_url_parse(url, &u, &why), -EINVAL);
}
END_TEST

START_TEST(unreachable)
{
	struct sp_broker_opts o = { 0 };
	const char *why = NULL;
	sp_broker *b;

	/* A socket nobody listens on: told at once, not retried. */
	ck_assert_int_eq(sp_broker_open("unix:///nonexistent/redis.sock?stream=x", &o, &b, &why),
			 -ECONNREFUSED);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(strstr(why, "cannot connect"));
}
END_TEST

/* ---- core -------------------------------------------------------------- */

START_TEST(put_take_ack)
{
	static char rec[8192], rec2[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *h = open_host("h1"), *c = open_as("h1.0", 1, 0, 0);
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 5000, 'x');
	size_t n2 = record(rec2, sizeof(rec2), SP_BATCH_FILE, 2, 0, 0, 0);

	ck_assert_int_eq(sp_broker_producers(c), 1);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -ETIMEDOUT);
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_put(p, rec2, n2, -1), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_RECORD);
	ck_assert_uint_eq(e.len, n);
	ck_assert_int_eq(memcmp(e.data, rec, n), 0);   /* byte for byte */
	ck_assert_int_eq(e.claimed, 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_uint_eq(e.len, n2);
	ck_assert_int_eq(memcmp(e.data, rec2, n2), 0);
	ck_assert_int_eq(sp_broker_complete(c), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);        /* counted once */
	ck_assert_int_eq(sp_broker_complete(c), 0);    /* one entry still held */
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -EPIPE);
	/* A seal sent again (its reply lost with a connection) once the
	 * batch is complete: still a success. */
	ck_assert_int_eq(sp_broker_seal(p), 0);
	/* A producer of a complete batch is told so. */
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), -EPIPE);
	/* Complete: only the marker, the hosts' set and the host's lease are
	 * left, and the last host out deletes them. */
	ck_assert_int_eq(keys_of_batch(), 3);           /* and the host's lease */
	ck_assert_int_eq(sp_broker_host_leave(h), 0);
	ck_assert_int_eq(keys_of_batch(), 0);
	sp_broker_close(h);
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

START_TEST(parted_file)
{
	static char rec[3][8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);
	size_t n[3];
	struct sp_broker_entry e;
	const void *d;
	size_t len;

	n[0] = record(rec[0], sizeof(rec[0]), SP_BATCH_PART, 7, 0, 4096, 'a');
	n[1] = record(rec[1], sizeof(rec[1]), SP_BATCH_PART, 7, 1, 4096, 'b');
	n[2] = record(rec[2], sizeof(rec[2]), SP_BATCH_END, 7, 2, 0, 0);
	ck_assert_int_eq(sp_broker_put(p, rec[0], n[0], -1), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_FILE);
	ck_assert_uint_eq(e.run, 0x1234);
	ck_assert_uint_eq(e.seq, 7);
	ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(1000)), 0);
	ck_assert_uint_eq(len, n[0]);
	ck_assert_int_eq(memcmp(d, rec[0], len), 0);
	/* Not sealed: more can come. */
	ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(10)), -ETIMEDOUT);
	ck_assert_int_eq(sp_broker_put(p, rec[1], n[1], -1), 0);
	ck_assert_int_eq(sp_broker_put(p, rec[2], n[2], -1), 0);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(1000)), 0);
		ck_assert_uint_eq(len, n[i]);
		ck_assert_int_eq(memcmp(d, rec[i], len), 0);
	}
	/* One entry on the batch stream for the whole file. */
	ck_assert_int_eq(sp_broker_take(c, &(struct sp_broker_entry){ 0 }, MS(10)), -ETIMEDOUT);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(10)), -EPIPE);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -EPIPE);
	ck_assert_int_eq(keys_of_batch(), 1);          /* the marker; no host joined */
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

/* A parted file whose producer died before its END: once the batch is
 * sealed, its reader is told that nothing more can come. */
START_TEST(file_never_finished)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_PART, 3, 0, 100, 'a');
	const void *d;
	size_t len;

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_file_next(c, &e, &d, &len, MS(10)), -EPIPE);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -EPIPE);
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

START_TEST(max_record)
{
	static char rec[SP_BROKER_MAX_RECORD + 1];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0,
			  SP_BROKER_MAX_RECORD - SP_BATCH_HDR_SIZE - 3, 'm');

	ck_assert_uint_eq(n, SP_BROKER_MAX_RECORD);
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_put(p, rec, n + 1, -1), -EINVAL);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_RECORD);
	ck_assert_uint_eq(e.len, n);
	ck_assert_int_eq(memcmp(e.data, rec, n), 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

START_TEST(window)
{
	static char rec[8192], part[8192];
	sp_broker *p = open_as(NULL, 1, 10000, 0), *c = open_as("h1.0", 1, 0, 0);
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 6000, 'w');

	/* 0 then 6000 bytes held: both go; then 12000 > 10000: waits. */
	ck_assert_int_eq(sp_broker_put(p, rec, n, 0), 0);
	ck_assert_int_eq(sp_broker_put(p, rec, n, 0), 0);
	ck_assert_int_eq(sp_broker_put(p, rec, n, MS(50)), -EAGAIN);
	ck_assert_uint_le(sp_broker_peak(p), 10000 + n);
	/* A file's first part waits as well; its further records never do
	 * (they stay until the file is acknowledged). */
	size_t np = record(part, sizeof(part), SP_BATCH_PART, 9, 0, 6000, 'p');

	ck_assert_int_eq(sp_broker_put(p, part, np, 0), -EAGAIN);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_put(p, part, np, 0), 0);
	for (uint32_t i = 1; i < 4; i++) {
		np = record(part, sizeof(part), SP_BATCH_PART, 9, i, 6000, 'p');
		ck_assert_int_eq(sp_broker_put(p, part, np, 0), 0);
	}
	ck_assert_uint_ge(sp_broker_peak(p), 4 * np);
	/* An acknowledgement wakes a producer waiting for room. */
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_RECORD);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_FILE);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);     /* the file's bytes with it */
	ck_assert_int_eq(sp_broker_put(p, rec, n, 0), 0);
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

/* ---- members ------------------------------------------------------------ */

START_TEST(same_name_rereads)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0), *c2;
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 100, 'r');
	char id[48];

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	strcpy(id, e.id);
	/* Its worker dies holding it; the one that replaces it, under the
	 * same name, gets it first. */
	sp_broker_drop(&e);
	sp_broker_close(c);
	c2 = open_as("h1.0", 1, 0, 0);
	ck_assert_int_eq(sp_broker_take(c2, &e, MS(10)), 0);
	ck_assert_str_eq(e.id, id);
	ck_assert_int_eq(memcmp(e.data, rec, n), 0);
	ck_assert_int_eq(sp_broker_ack(c2, &e), 0);
	ck_assert_int_eq(sp_broker_take(c2, &e, MS(10)), -ETIMEDOUT);
	sp_broker_close(c2);
	sp_broker_close(p);
}
END_TEST

/* A consumer's worker joins the incarnation its main process joined: never
 * a new batch of the name, made after that one completed or was lost. */
/* After a reconnection (here: a new handle of the same member, as a
 * replaced worker), each entry still ours is re-read once, in order, and
 * then new entries come: the first of them (say, a file set aside, kept
 * pending) does not come back at every take, hiding the rest. */
START_TEST(replay_each_once)
{
	static char rec[3][8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("m.0", 1, 0, 0), *c2;
	struct sp_broker_entry e;
	size_t n[3];

	for (int i = 0; i < 3; i++) {
		n[i] = record(rec[i], sizeof(rec[i]), SP_BATCH_FILE, (uint64_t)i + 1, 0, 100, 'a' + i);
		ck_assert_int_eq(sp_broker_put(p, rec[i], n[i], -1), 0);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
		ck_assert_int_eq(memcmp(e.data, rec[i], n[i]), 0);
		sp_broker_drop(&e);     /* left pending, ours */
	}
	sp_broker_close(c);
	c2 = open_as("m.0", 1, 0, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(sp_broker_take(c2, &e, MS(1000)), 0);
		ck_assert_msg(e.len == n[i] && memcmp(e.data, rec[i], n[i]) == 0, "take %d", i);
		sp_broker_drop(&e);
	}
	ck_assert_int_eq(sp_broker_take(c2, &e, MS(10)), -ETIMEDOUT);
	sp_broker_close(c2);
	sp_broker_close(p);
}
END_TEST

START_TEST(join_only)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_host("h1"), *w;
	struct sp_broker_opts o = { .member = "h1.0", .retry_ms = 20000 };
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 10, 'j');
	char id[24];
	const char *why = NULL;

	ck_assert_int_eq(strlen(sp_broker_batch_id(c)), 16);
	ck_assert_str_eq(sp_broker_batch_id(c), sp_broker_batch_id(p));
	strcpy(id, sp_broker_batch_id(c));
	o.batch_id = id;
	ck_assert_int_eq(sp_broker_open(url, &o, &w, &why), 0);
	ck_assert_str_eq(sp_broker_batch_id(w), id);
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_take(w, &e, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_ack(w, &e), 0);
	sp_broker_close(w);
	/* Complete: a worker started now is told so, and makes nothing. */
	ck_assert_int_eq(sp_broker_open(url, &o, &w, &why), -EPIPE);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(keys_of_batch(), 3);           /* the marker, the hosts, h1's lease */
	ck_assert_int_eq(sp_broker_host_leave(c), 0);
	ck_assert_int_eq(keys_of_batch(), 0);
	ck_assert_int_eq(sp_broker_host_leave(c), 0);    /* twice: nothing */
	/* Gone (the marker too): -EBADMSG, and still nothing made. */
	ck_assert_int_eq(sp_broker_open(url, &o, &w, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "gone"));
	ck_assert_int_eq(keys_of_batch(), 0);
	o.batch_id = "not-hex";
	ck_assert_int_eq(sp_broker_open(url, &o, &w, &why), -EINVAL);
	sp_broker_close(c);
	sp_broker_close(p);
}
END_TEST

/*
 * The end of a batch among several hosts.  A host that opened before the
 * end keeps the marker for its workers, even if every other host leaves
 * before they start (the join is part of the open: no window between
 * the two); a host that comes after the end, while one is still in it,
 * joins the complete batch (a consumer started again after its run was
 * killed before its sweep: it sweeps and leaves); a producer is told
 * the batch is complete; the last host out deletes everything, and only
 * then is the name free for a new batch, whose hosts' set a late leave
 * of the old one does not touch.
 */
START_TEST(hosts_at_the_end)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *h1 = open_host("h1"), *h2 = open_host("h2");
	sp_broker *w, *h3, *p2, *h4;
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 10, 'e');
	char id[24];
	const char *why = NULL;

	strcpy(id, sp_broker_batch_id(h1));
	ck_assert_int_eq(sp_broker_joined_complete(h1), 0);
	ck_assert_int_eq(raw_is_host("h1") + raw_is_host("h2"), 2);
	ck_assert_int_eq(open_worker("h1.0", id, &w), 0);
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_take(w, &e, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_ack(w, &e), 0);
	sp_broker_close(w);
	/* h1 leaves first; h2's workers, starting only now, see the end. */
	ck_assert_int_eq(sp_broker_host_leave(h1), 0);
	ck_assert_int_eq(keys_of_batch(), 3);           /* the marker, the hosts, h2's lease */
	ck_assert_int_eq(open_worker("h2.0", id, &w), -EPIPE);
	/* A producer now: complete, and nothing made. */
	ck_assert_int_eq(sp_broker_open(url, &(struct sp_broker_opts){ 0 }, &p2, &why), -EPIPE);
	ck_assert_ptr_nonnull(strstr(why, "complete already"));
	ck_assert_int_eq(keys_of_batch(), 3);
	/* A host now joins the complete batch, and its workers see the end. */
	h3 = open_host("h3");
	ck_assert_int_eq(sp_broker_joined_complete(h3), 1);
	ck_assert_str_eq(sp_broker_batch_id(h3), id);
	ck_assert_int_eq(sp_broker_complete(h3), 1);
	ck_assert_int_eq(open_worker("h3.0", id, &w), -EPIPE);
	ck_assert_int_eq(sp_broker_host_leave(h2), 0);
	ck_assert_int_eq(keys_of_batch(), 3);           /* h3 is still in it */
	ck_assert_int_eq(sp_broker_host_leave(h3), 0);
	ck_assert_int_eq(keys_of_batch(), 0);
	/* The name is free: a new incarnation, whose hosts an old handle's
	 * leave leaves alone. */
	p2 = open_as(NULL, 1, 0, 0);
	ck_assert_str_ne(sp_broker_batch_id(p2), id);
	h4 = open_host("h1");
	ck_assert_int_eq(sp_broker_joined_complete(h4), 0);
	ck_assert_int_eq(sp_broker_host_leave(h1), 0);
	ck_assert_int_eq(raw_is_host("h1"), 1);
	ck_assert_int_eq(sp_broker_host_leave(h4), 0);
	ck_assert_int_eq(raw_is_host("h1"), 0);
	ck_assert_int_eq(sp_broker_seal(p2), 0);
	ck_assert_int_eq(sp_broker_complete(p2), 1);    /* nothing was put: complete */
	ck_assert_int_eq(keys_of_batch(), 1);           /* the marker; no host in it */
	sp_broker_close(h4);
	sp_broker_close(p2);
	sp_broker_close(h3);
	sp_broker_close(h2);
	sp_broker_close(h1);
	sp_broker_close(p);
}
END_TEST

/*
 * One consumer per host name: while a process (forked, with
 * a handle of its own, as a consumer's main process) renews its lease on
 * "hx", another open as "hx" fails with -EADDRINUSE after waiting the
 * lease's time out; once that process is killed, an open as "hx" waits
 * out the dead one's lease (at most SP_BROKER_LEASE_MS) and succeeds.
 */
START_TEST(host_name_taken)
{
	struct sp_broker_opts o = { .host = "hx", .retry_ms = 20000 };
	const char *why = NULL;
	sp_broker *b;
	int go[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Renews for 20 s at most, and dies with the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[0]);
		if (sp_broker_open(url, &o, &b, &why) < 0)
			_exit(1);
		if (write(go[1], "1", 1) != 1)
			_exit(1);
		for (int i = 0; i < 200; i++) {
			if (sp_broker_keep(b, 0, NULL, NULL) < 0)
				_exit(1);
			usleep(100000);
		}
		_exit(0);
	}
	close(go[1]);
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	close(go[0]);
	double t0 = prog_now_sec();

	ck_assert_int_eq(sp_broker_open(url, &o, &b, &why), -EADDRINUSE);
	ck_assert_ptr_nonnull(strstr(why, "another consumer"));
	/* It waited the lease out first: a dead predecessor's would lapse. */
	ck_assert(prog_now_sec() - t0 >= SP_BROKER_LEASE_MS / 1e3);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(sp_broker_open(url, &o, &b, &why), 0);
	ck_assert_int_eq(sp_broker_keep(b, 0, NULL, NULL), 0);
	ck_assert_int_eq(sp_broker_host_leave(b), 0);
	ck_assert_int_eq(keys_of_batch(), 2);           /* the batch (state, stream): no lease */
	sp_broker_close(b);
}
END_TEST

START_TEST(claim_idle)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *a = open_as("ha.0", 1, 0, 0);
	sp_broker *b = open_as("hb.0", 1, 0, 1000);
	struct sp_broker_entry e, f;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 100, 'c');
	const char *members[] = { "ha.0" }, *ids[1];
	char id[48];

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_take(a, &e, MS(1000)), 0);
	strcpy(id, e.id);
	ids[0] = id;
	/* While ha's host keeps it, hb never gets it, however long.  (The
	 * server ends a BLOCK in its cron: a 100 ms one lasts up to 200.) */
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(sp_broker_keep(a, 1, members, ids), 1);
		ck_assert_msg(sp_broker_take(b, &f, MS(100)) == -ETIMEDOUT, "round %d", i);
	}
	/* Then ha's host falls silent: after 1 s idle hb takes it. */
	int rc;

	do
		rc = sp_broker_take(b, &f, MS(100));
	while (rc == -ETIMEDOUT);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(f.id, id);
	ck_assert_int_eq(f.claimed, 1);
	/* ha's keep no longer takes it back. */
	ck_assert_int_eq(sp_broker_keep(a, 1, members, ids), 0);
	ck_assert_int_eq(sp_broker_ack(b, &f), 0);
	ck_assert_int_eq(sp_broker_ack(a, &e), 0);     /* a late ack counts nothing */
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_take(a, &e, MS(10)), -EPIPE);
	sp_broker_close(a);
	sp_broker_close(b);
	sp_broker_close(p);
}
END_TEST

/* A parted file taken from a silent host and finished by the claimer:
 * the first holder, when it looks again, is told the file is no longer
 * its to finish (-EALREADY), while the batch goes on and once it is
 * complete, instead of the batch being reported gone. */
START_TEST(file_finished_elsewhere)
{
	static char rec[3][8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *a = open_as("ha.0", 1, 0, 0);
	sp_broker *b = open_as("hb.0", 1, 0, 1000);
	struct sp_broker_entry e, f;
	size_t n[3];
	const void *d;
	size_t len;
	int rc;

	n[0] = record(rec[0], sizeof(rec[0]), SP_BATCH_PART, 8, 0, 4096, 'a');
	n[1] = record(rec[1], sizeof(rec[1]), SP_BATCH_END, 8, 1, 0, 0);
	n[2] = record(rec[2], sizeof(rec[2]), SP_BATCH_FILE, 9, 0, 100, 'r');
	ck_assert_int_eq(sp_broker_put(p, rec[0], n[0], -1), 0);
	ck_assert_int_eq(sp_broker_take(a, &e, MS(1000)), 0);
	ck_assert_int_eq(e.kind, SP_BROKER_FILE);
	ck_assert_int_eq(sp_broker_file_next(a, &e, &d, &len, MS(1000)), 0);
	/* ha falls silent; hb claims the file after 1 s and finishes it. */
	do
		rc = sp_broker_take(b, &f, MS(100));
	while (rc == -ETIMEDOUT);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(f.claimed, 1);
	ck_assert_int_eq(f.kind, SP_BROKER_FILE);
	ck_assert_int_eq(sp_broker_put(p, rec[1], n[1], -1), 0);
	ck_assert_int_eq(sp_broker_put(p, rec[2], n[2], -1), 0);
	ck_assert_int_eq(sp_broker_file_next(b, &f, &d, &len, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_file_next(b, &f, &d, &len, MS(1000)), 0);
	ck_assert_uint_eq(len, n[1]);
	ck_assert_int_eq(sp_broker_ack(b, &f), 0);
	/* ha read the first part only; its file's stream is gone now.  The
	 * batch goes on (a record is left, no seal). */
	ck_assert_int_eq(sp_broker_file_next(a, &e, &d, &len, MS(10)), -EALREADY);
	ck_assert_int_eq(sp_broker_take(b, &f, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_ack(b, &f), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_complete(a), 1);
	/* Complete now: still -EALREADY, not a batch gone. */
	ck_assert_int_eq(sp_broker_file_next(a, &e, &d, &len, MS(10)), -EALREADY);
	ck_assert_int_eq(sp_broker_ack(a, &e), 0);     /* counts nothing */
	ck_assert_int_eq(sp_broker_take(a, &e, MS(10)), -EPIPE);
	sp_broker_close(a);
	sp_broker_close(b);
	sp_broker_close(p);
}
END_TEST

START_TEST(closed_batch)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 2, 0, 0), *q = open_as(NULL, 1, 0, 0), *r;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 10, 'z');

	/* The first to come sets the count: 2. */
	ck_assert_int_eq(sp_broker_producers(q), 2);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_put(q, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_seal(q), 0);
	r = open_as(NULL, 1, 0, 0);
	ck_assert_int_eq(sp_broker_put(r, rec, n, -1), -EPIPE);
	ck_assert_ptr_nonnull(strstr(sp_broker_why(r), "closed"));
	sp_broker_close(p);
	sp_broker_close(q);
	sp_broker_close(r);
}
END_TEST

/* ---- hostile entries ----------------------------------------------------- */

START_TEST(hostile_entries)
{
	sp_broker *c = open_as("h1.0", 1, 0, 0);
	redisContext *x = raw();
	char key[128];
	struct sp_broker_entry e;
	static char big[SP_BROKER_MAX_RECORD + 2];
	const char *whys[8];
	int bad = 0, rc;

	snprintf(key, sizeof(key), "shmpipe:{%s}:s", name);
	freeReplyObject(redisCommand(x, "XADD %s * r %b", key, "garbage", (size_t)7));
	freeReplyObject(redisCommand(x, "XADD %s * x y", key));
	freeReplyObject(redisCommand(x, "XADD %s * r a r b", key));
	freeReplyObject(redisCommand(x, "XADD %s * f ../../etc", key));
	freeReplyObject(redisCommand(x, "XADD %s * f 0000000000000001-0", key));
	freeReplyObject(redisCommand(x, "XADD %s * f 00000000000000zz-1", key));
	memset(big, 'B', sizeof(big));
	freeReplyObject(redisCommand(x, "XADD %s * r %b", key, big, sizeof(big)));
	for (;;) {
		rc = sp_broker_take(c, &e, MS(100));
		if (rc == -ETIMEDOUT)
			break;
		ck_assert_int_eq(rc, 0);
		if (e.kind == SP_BROKER_BAD)
			whys[bad++] = e.why;
		else
			ck_assert_int_eq(e.kind, SP_BROKER_RECORD);   /* "garbage": the decoder's */
		ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	}
	ck_assert_int_eq(bad, 6);
	for (int i = 0; i < bad; i++)
		ck_assert_ptr_nonnull(whys[i]);
	/* Acknowledged and deleted: the stream is empty, its bytes at 0
	 * (never below). */
	ck_assert_int_eq(raw_int(x, "XLEN %s", key), 0);
	snprintf(key, sizeof(key), "shmpipe:{%s}:m", name);
	redisReply *r = redisCommand(x, "HGET %s bytes", key);

	ck_assert_str_eq(r->str, "0");
	freeReplyObject(r);
	redisFree(x);
	sp_broker_close(c);
}
END_TEST

/* ---- a server that loses its data, or restarts ----------------------------- */

START_TEST(lost_state)
{
	static char rec[8192];
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);
	struct sp_broker_entry e;
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 10, 'l');
	redisContext *x = raw();
	char key[128];

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	/* As after a restart without persistence. */
	snprintf(key, sizeof(key), "shmpipe:{%s}:*", name);
	redisReply *r = redisCommand(x, "KEYS %s", key);

	for (size_t i = 0; i < r->elements; i++)
		freeReplyObject(redisCommand(x, "DEL %s", r->element[i]->str));
	freeReplyObject(r);
	ck_assert_int_eq(sp_broker_ack(c, &e), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(sp_broker_why(c), "gone"));
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -EBADMSG);
	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), -EBADMSG);
	ck_assert_int_eq(sp_broker_seal(p), -EBADMSG);
	/* A batch made again under the name is another batch: the old
	 * handles are not fooled into it. */
	sp_broker *q = open_as(NULL, 1, 0, 0);

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), -EBADMSG);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(10)), -EBADMSG);
	sp_broker_close(q);
	redisFree(x);
	sp_broker_close(p);
	sp_broker_close(c);
}
END_TEST

START_TEST(restart_with_aof)
{
	static char rec[8192];
	char *aof[] = { "--appendonly", "yes", "--appendfsync", "always", NULL };
	char sub[300];
	struct sp_broker_entry e;
	pid_t srv;

	/* A server of this test's own, with an append-only file. */
	snprintf(sub, sizeof(sub), "%s/aof-%ld", dir, (long)getpid());
	mkdir(sub, 0700);
	srv = tu_redis_start(sub, aof, 20000);
	ck_assert_int_gt(srv, 0);
	snprintf(url, sizeof(url), "unix://%s/redis.sock?stream=%s", sub, name);
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);

	for (int i = 1; i <= 3; i++) {
		size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, (uint64_t)i, 0, 100, (char)('0' + i));

		ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	}
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);   /* held across the restart */
	tu_redis_stop(srv);
	srv = tu_redis_start(sub, aof, 20000);
	ck_assert_int_gt(srv, 0);
	/* Both reconnect and go on where they were. */
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 4, 0, 100, '4');

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_seal(p), 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	int got = 0, rc;

	while ((rc = sp_broker_take(c, &e, MS(100))) == 0) {
		got++;
		ck_assert_int_eq(e.kind, SP_BROKER_RECORD);
		ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	}
	ck_assert_int_eq(rc, -EPIPE);
	ck_assert_int_eq(got, 2);
	sp_broker_close(p);
	sp_broker_close(c);
	tu_redis_stop(srv);
}
END_TEST

/* A TCP server on loopback, through a redis:// URL. */
START_TEST(over_tcp)
{
	static char rec[8192];
	char sub[300], port[16];
	char *args[] = { "--port", port, NULL };
	struct sp_broker_entry e;
	pid_t srv = -1;

	snprintf(sub, sizeof(sub), "%s/tcp-%ld", dir, (long)getpid());
	mkdir(sub, 0700);
	/* A port of our pid; another taken already makes the server exit. */
	for (int i = 0; i < 8 && srv < 0; i++) {
		snprintf(port, sizeof(port), "%ld", 20000 + ((long)getpid() * 7 + i * 977) % 40000);
		srv = tu_redis_start(sub, args, 20000);
	}
	ck_assert_int_gt(srv, 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%s/%s", port, name);
	sp_broker *p = open_as(NULL, 1, 0, 0), *c = open_as("h1.0", 1, 0, 0);
	size_t n = record(rec, sizeof(rec), SP_BATCH_FILE, 1, 0, 1000, 't');

	ck_assert_int_eq(sp_broker_put(p, rec, n, -1), 0);
	ck_assert_int_eq(sp_broker_take(c, &e, MS(1000)), 0);
	ck_assert_int_eq(memcmp(e.data, rec, n), 0);
	ck_assert_int_eq(sp_broker_ack(c, &e), 0);
	sp_broker_close(p);
	sp_broker_close(c);
	tu_redis_stop(srv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("broker");
	/* Check's default bound (4 s): these need no server. */
	TCase *url_tc = tu_tcase(s, "url", 4, NULL, NULL);

	tu_init();
	tcase_add_test(url_tc, url_forms);
	tcase_add_test(url_tc, unreachable);
	/* Without a server the url tests still run; the suite then says why
	 * it skipped the rest and exits 77, unless they failed. */
	if (tu_skip(TU_NEED_REDIS)) {
		int rc = tu_run(s, 0);

		return rc ? rc : 77;
	}
	const char *names[] = { "core", "members", "hostile", "crash" };
	TCase *all[4];

	for (int i = 0; i < 4; i++) {
		all[i] = tu_tcase(s, names[i], 60, setup, NULL);
		tcase_add_unchecked_fixture(all[i], server_up, server_down);
	}
	TCase *core = all[0], *members = all[1], *hostile = all[2], *crash = all[3];

	tcase_add_test(core, put_take_ack);
	tcase_add_test(core, parted_file);
	tcase_add_test(core, file_never_finished);
	tcase_add_test(core, max_record);
	tcase_add_test(core, window);
	tcase_add_test(core, closed_batch);
	tcase_add_test(core, over_tcp);
	tcase_add_test(members, same_name_rereads);
	tcase_add_test(members, replay_each_once);
	tcase_add_test(members, join_only);
	tcase_add_test(members, hosts_at_the_end);
	tcase_add_test(members, host_name_taken);
	tcase_add_test(members, claim_idle);
	tcase_add_test(members, file_finished_elsewhere);
	tcase_add_test(hostile, hostile_entries);
	tcase_add_test(crash, lost_state);
	tcase_add_test(crash, restart_with_aof);
	return tu_run(s, TU_NEED_REDIS);
}
