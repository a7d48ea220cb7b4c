/* broker_int.h: the broker handle, key names and the helpers its files share (private to libshared/broker/). */
#ifndef SHMPIPE_BROKER_INT_H
#define SHMPIPE_BROKER_INT_H

#include "broker.h"

#include <hiredis/hiredis.h>

/* The protocol's version, in every batch's state (field "v"). */
#define BK_VERSION "2"
/* The consumer group of every batch stream. */
#define BK_GROUP "shmpipe"
/* Seconds a complete batch's marker (and its hosts' set) outlives the
 * batch, for consumers that have not yet seen the end or left (each host
 * that joins it makes it 600 s again); the last consumer out deletes both
 * at once, so this is only how long a host killed before it left keeps
 * them. */
#define BK_DONE_TTL "600"
/* A host's lease, SP_BROKER_LEASE_MS as a string for the scripts. */
#define BK_LEASE_MS "3000"
_Static_assert(SP_BROKER_LEASE_MS == 3000, "BK_LEASE_MS is SP_BROKER_LEASE_MS");
/* The longest a blocking read waits on the server in one call. */
#define BK_BLOCK_MAX_MS 1000
/* The socket's timeout: well above any BLOCK, so that only a dead link
 * or a stopped server trips it. */
#define BK_IO_TIMEOUT_S 30
#define BK_KEY_MAX 256

/* The scripts (scripts.c), run with EVALSHA.  Every one that changes the
 * batch takes KEYS = { meta, stream, done, hosts, doorbell[, file] } and
 * ARGV = { batch id, done ttl, ... }. */
enum bk_script { BK_OPEN, BK_PUT, BK_SEAL, BK_ACK, BK_CHECK, BK_KEEP, BK_LEAVE, BK_LEASE,
		 BK_NSCRIPTS };
extern const char *const bk_scripts[BK_NSCRIPTS];

struct sp_broker {
	redisContext *rc;
	struct sp_broker_url url;
	struct sp_broker_opts o;
	char member[SP_BROKER_MEMBER_MAX + 1];
	char host[SP_BROKER_MEMBER_MAX + 1];
	int started;            /* joined: connection losses are retried from now on */
	int joined_complete;    /* opts.host joined a batch complete already */
	int fresh;              /* reconnected: re-read our pending entries first */

	/* Keys: "shmpipe:{NAME}:" then s (the batch stream), m (its state,
	 * a hash), w (the producers' doorbell, a list), d (the complete
	 * batch's marker: its id), h (the consumer hosts' set), f:RUN-SEQ
	 * (a file's stream), l:HOST (a host's lease on its name).  The
	 * braces make one Redis Cluster slot of a batch. */
	char pre[BK_KEY_MAX];
	char k_s[BK_KEY_MAX], k_m[BK_KEY_MAX], k_w[BK_KEY_MAX], k_d[BK_KEY_MAX], k_h[BK_KEY_MAX];
	char k_l[BK_KEY_MAX];   /* with a host: its lease */
	char bid[24];           /* the batch's incarnation: random, set by its creator */
	unsigned producers;

	/* Producer. */
	char prod[24];          /* this handle's id, for puts counted once and
				 * as its host's lease token */
	uint64_t puts;          /* number of the last put */
	uint64_t peak;
	int file_open;          /* the last put was a PART of file ffid (no END yet) */
	char ffid[48];
	char k_fs[BK_KEY_MAX];

	/* Consumer. */
	char cursor[48];        /* XAUTOCLAIM's */
	char replay[48];        /* while fresh: the last of our pending entries
				 * re-read ("0" after each connection) */

	char sha[BK_NSCRIPTS][48];
	char why[320];
};

/* conn.c */
int bk_connect(sp_broker *b);
/* Runs a command.  A lost connection is made again (within opts.retry_ms,
 * once started) and the command run again; so are a script cache the
 * server lost, and a server still loading its data.  Returns the reply
 * (the caller frees it) or NULL with *err set: -EBADMSG for NOGROUP and
 * UNBLOCKED (the stream or its group is gone), -EPROTO for another error
 * reply (b->why holds it), or a connection error. */
redisReply *bk_call(sp_broker *b, int argc, const char **argv, const size_t *lens, int *err);
/* EVALSHA of script s with nkeys keys then nargs arguments. */
redisReply *bk_eval(sp_broker *b, enum bk_script s, int nkeys, const char *const *keys,
		    int nargs, const char *const *args, const size_t *alens, int *err);
int bk_fail(sp_broker *b, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sleeps ms milliseconds. */
void bk_nap(long ms);
/* out = the batch's prefix, suffix, then tail. */
void bk_key(const sp_broker *b, char *out, const char *suffix, const char *tail);
/* An integer reply (or the first element of an array of integers). */
int bk_int(const redisReply *r, long long *v);

/* broker.c */
/* Runs a batch script (KEYS meta, stream, done, hosts, doorbell, file or
 * the stream; ARGV batch id, ttl, then args) whose reply is one integer.
 * Returns it (1 or 0), or -EBADMSG when the batch is gone, or an error. */
int bk_batch_script(sp_broker *b, enum bk_script s, const char *file, int nargs,
		    const char *const *args, const size_t *alens);
/* Fails with -EBADMSG: the batch's state is gone from the server. */
int bk_gone(sp_broker *b);

#endif
