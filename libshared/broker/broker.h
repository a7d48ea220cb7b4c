/* broker.h: the pipeline's client for a batch on Redis Streams (the programs' --broker), over hiredis. */
#ifndef SHMPIPE_BROKER_H
#define SHMPIPE_BROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A batch that spreads over several hosts goes through a Redis (or Valkey)
 * server instead of a ring: producers put the same self-describing records
 * (libshared/batch/batch.h) on a stream, consumer workers take them with a consumer
 * group.  docs/broker.md gives the keys, the entries, the scripts and what
 * happens at each crash.  This module is the programs' (producer,
 * consumer, tests), not part of libshared.so.
 *
 * Functions return 0 or a non-negative count on success and a negative
 * errno value on failure:
 *   -EINVAL      a bad URL or option
 *   -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EIO
 *                the server cannot be reached (after retrying for
 *                retry_ms once a batch has begun)
 *   -EBADMSG     the batch's state is gone from the server or is not ours
 *                (restarted without persistence, flushed, removed): never
 *                retried, since waiting cannot bring it back
 *   -EPROTO      the server refused a command (its words: sp_broker_why())
 *   -EPIPE       producer: the batch is closed (all its producers sealed);
 *                consumer: the batch is complete
 *   -ETIMEDOUT   also: nothing happened before the caller's timeout (a
 *                take, a file's next record)
 *   -EAGAIN      a put: the window stayed full for the caller's timeout
 *   -EINTR       *opts.stop was set while retrying
 * One handle belongs to one thread of one process; a forked child opens
 * its own.  The library never prints and never exits.
 */

/* Bytes of the largest record a batch on the broker carries (header,
 * path and payload): the default ring's largest record, 16M / 4. */
#define SP_BROKER_MAX_RECORD (4u << 20)
/* A batch name, as a ring name: 1-100 of [A-Za-z0-9._-]. */
#define SP_BROKER_NAME_MAX 100
/* A member name (a consumer worker's name in the group). */
#define SP_BROKER_MEMBER_MAX 120

/* Defaults of struct sp_broker_opts (0 there means these). */
#define SP_BROKER_WINDOW_DEFAULT (256ull << 20)
#define SP_BROKER_CLAIM_MS_DEFAULT 30000LL
#define SP_BROKER_RETRY_MS_DEFAULT 60000LL
/* A consumer host's lease on its name (opts.host): it lapses this long
 * after the host's last sp_broker_keep(), so keep at least every
 * SP_BROKER_LEASE_MS / 3. */
#define SP_BROKER_LEASE_MS 3000LL

/* A parsed --broker URL:
 *   redis://[[USER]:PASSWORD@]HOST[:PORT]/NAME    (HOST may be [IPv6])
 *   unix://[[USER]:PASSWORD@]/PATH/TO/SOCKET?stream=NAME */
struct sp_broker_url {
	int is_unix;
	char host[256];           /* TCP: the host; unix: "" */
	int port;                 /* TCP: default 6379 */
	char path[108];           /* unix: the socket's path */
	char user[64], pass[256]; /* AUTH, if given ("" otherwise) */
	char name[SP_BROKER_NAME_MAX + 1];
};

/* Parses url into *u.  Returns 0, or -EINVAL with *why set to what is wrong. */
int sp_broker_url_parse(const char *url, struct sp_broker_url *u, const char **why);

struct sp_broker_opts {
	unsigned producers;        /* seals the batch expects, if this creates it (default 1) */
	uint64_t window;           /* producer: unacknowledged bytes above which a put waits */
	const char *member;        /* consumer: this worker's name in the group (NULL: a
				    * producer or a supervisor, which take nothing) */
	long long claim_ms;        /* consumer: idle time after which an entry another member
				    * holds is taken from it */
	long long retry_ms;        /* how long to retry a lost connection */
	volatile sig_atomic_t *stop;   /* when set non-zero, retries give up with -EINTR */
	const char *batch_id;      /* join only this incarnation of the batch (another
				    * handle's sp_broker_batch_id()), never create one;
				    * NULL: whichever is there, created if none */
	const char *host;          /* a consumer's main process: join the batch as this
				    * host (a name of its choice, as member), leave with
				    * sp_broker_host_leave(); NULL: a producer or a worker */
};

typedef struct sp_broker sp_broker;

/*
 * Connects to the server of url and joins its batch, creating the batch's
 * state (with opts->producers) if there is none yet: whichever side starts
 * first creates it.  With opts->batch_id, joins that incarnation only:
 * -EPIPE if it is complete already, -EBADMSG if it is gone (a consumer's
 * worker started after its main process joined must not make a new batch
 * of the name and wait on it forever).
 *
 * A complete batch's marker stays until its last host has left (or for
 * 600 s after the end, if a host died before leaving; each host that joins
 * makes it 600 s again).  Meanwhile, with opts->host, the open joins the
 * complete batch (sp_broker_joined_complete() says so; its workers, joining
 * that incarnation, are told it is complete), so that a consumer started
 * late, or again after a crash, finishes the batch's cleanup and leaves
 * instead of making a new batch that nobody sends; without opts->host (a
 * producer) it fails with -EPIPE.  With opts->host the host is added to
 * the batch's hosts in the same step as the open: the last host out cannot
 * delete the marker between this open and this host's workers' opens.
 * A host name is one consumer's at a time: the open takes a lease on it,
 * which sp_broker_keep() renews and sp_broker_host_leave() gives back; a
 * lease another handle holds is waited out (it lapses SP_BROKER_LEASE_MS
 * after that one's last keep: a consumer started again after a crash
 * waits that long at most), and if it is still renewed after
 * SP_BROKER_LEASE_MS + 1 s, the open fails with -EADDRINUSE: another
 * consumer of the batch runs under this name.  (Two would share their
 * workers' member names, and the first to leave would take both out of
 * the batch.)
 *
 * The first connection is not retried (a wrong URL is told at once).  On
 * failure *out is NULL and, if why is not NULL, *why holds the reason in
 * words (static storage, until the next call).
 */
int sp_broker_open(const char *url, const struct sp_broker_opts *opts, sp_broker **out,
		   const char **why);
void sp_broker_close(sp_broker *b);

/* The reason of the last failure on b, in words. */
const char *sp_broker_why(const sp_broker *b);
/* The batch's name, and the number of seals it expects (0 when the open
 * joined a complete batch: its state is gone). */
const char *sp_broker_name(const sp_broker *b);
unsigned sp_broker_producers(const sp_broker *b);
/* The batch's incarnation (16 hex digits): the same for every handle of
 * one batch, another when the name is made again. */
const char *sp_broker_batch_id(const sp_broker *b);

/* ---- Producer ---------------------------------------------------------- */

/*
 * Puts one encoded record (libshared/batch/batch.h; len at most SP_BROKER_MAX_RECORD)
 * as it is, byte for byte.  FILE, DIR and SYMLINK records go on the batch
 * stream; the PART and END records of a parted file on a stream of that
 * file's own, announced by one entry on the batch stream before its first
 * record, so that one host assembles the whole file.  The record's header
 * is read only for its type, run and seq (the caller's own record).
 * Backpressure: while the batch holds more than opts.window unacknowledged
 * bytes, a record that starts something new (a FILE, DIR, SYMLINK, or a
 * file's first part) waits, up to timeout_ns (-1: forever), then fails
 * with -EAGAIN, nothing put: call again.  (-ETIMEDOUT is the server's:
 * it stayed away, LOADING or BUSY for opts.retry_ms.)  The other records of a file
 * already begun never wait: its parts stay on the server until the whole
 * file is acknowledged (another host may have to start it again), and
 * waiting for them would wait for ourselves.  A put whose reply a lost
 * connection swallowed is sent again and counted once.
 */
int sp_broker_put(sp_broker *b, const void *rec, size_t len, long long timeout_ns);
/* This producer is done: one of the seals the batch expects.  Once every
 * expected seal is in and every entry acknowledged, the batch is complete
 * and its keys are deleted. */
int sp_broker_seal(sp_broker *b);
/* The most unacknowledged bytes a put of this handle saw (after it). */
uint64_t sp_broker_peak(const sp_broker *b);

/* ---- Consumer ---------------------------------------------------------- */

enum sp_broker_kind {
	SP_BROKER_RECORD = 1,     /* data/len: one record */
	SP_BROKER_FILE = 2,       /* a parted file: read it with sp_broker_file_next() */
	SP_BROKER_BAD = 3,        /* not an entry of this protocol: why says what; ack it */
};

/* An entry taken: valid until sp_broker_ack() or sp_broker_drop(). */
struct sp_broker_entry {
	int kind;                 /* enum sp_broker_kind */
	char id[48];              /* the stream entry's id, "MS-SEQ" */
	uint64_t id_ms, id_seq;
	const void *data;         /* RECORD: the record, untrusted: decode it */
	size_t len;
	uint64_t run, seq;        /* FILE: the file's id, from the announcement */
	const char *why;          /* BAD: what is wrong with it */
	int claimed;              /* taken from another member that was idle */
	/* Internal. */
	size_t bytes;             /* what the entry weighs in the window */
	char fid[48];             /* FILE: "RUN-SEQ" */
	char last[48];            /* FILE: the id of the last record read */
	void *reply;              /* the reply holding data */
	void *freply;             /* the reply holding the file's last record */
};

/*
 * Takes the next entry for this member: first what the group still counts
 * as ours (a worker that replaces a dead one under the same name re-reads
 * what that one held; and after a reconnection), then a new entry, waiting
 * up to timeout_ns for one, then one that another member has held idle for
 * opts.claim_ms (its host is taken for dead).  Returns 0 with *e filled,
 * -ETIMEDOUT (nothing now; the batch goes on), -EPIPE when the batch is
 * complete (every expected producer sealed, every entry acknowledged), or
 * an error.  Hold one entry at a time.
 */
int sp_broker_take(sp_broker *b, struct sp_broker_entry *e, long long timeout_ns);
/*
 * The next record of the parted file e announces, from its first (a host
 * that takes the announcement from a dead one starts the file again).
 * Returns 0 with *data, *len set (valid until the next call), -ETIMEDOUT
 * if none came in timeout_ns, -EPIPE when none can come any more: every
 * expected producer has sealed the batch and the file's END is not there
 * (its producer died while sending it), or -EALREADY when the file is no
 * longer ours to finish: another member acknowledged the announcement (it
 * claimed it from us after claim_ms, or a worker of our name re-read it),
 * so the file is done elsewhere (acknowledging it again counts nothing).
 * The caller stops after the file's END; the records are untrusted:
 * decode them.
 */
int sp_broker_file_next(sp_broker *b, struct sp_broker_entry *e, const void **data, size_t *len,
			long long timeout_ns);
/* The entry was handled: acknowledges it, deletes it (and a file's stream)
 * and gives its bytes back to the window, in one script.  Acknowledging
 * twice counts once.  Frees what e holds. */
int sp_broker_ack(sp_broker *b, struct sp_broker_entry *e);
/* Lets go of e without acknowledging it: it stays ours in the group (a
 * worker of the same name re-reads it) until another member claims it. */
void sp_broker_drop(struct sp_broker_entry *e);

/* ---- A consumer's main process ---------------------------------------- */

/* The open (with opts.host) joined a batch that was complete already. */
int sp_broker_joined_complete(const sp_broker *b);
/* This consumer host (opts.host) is done: call it after its workers are
 * gone and its output is cleaned up.  The last host out of a complete
 * batch deletes its marker and hosts' set, so that nothing is left on the
 * server.  Without opts.host it does nothing. */
int sp_broker_host_leave(sp_broker *b);
/* Keeps n entries from being claimed by other hosts: for each pair
 * (members[i], ids[i]) still held by that member, resets its idle time;
 * with opts.host, renews the host's lease (n may be 0).  Returns the count
 * refreshed, or -EADDRINUSE if another handle took the lease (this one
 * was stopped, or cut off from the server, for longer than it lasts): the
 * entries are kept all the same.  Call it every claim_ms / 4 or so, and
 * at least every SP_BROKER_LEASE_MS / 3. */
int sp_broker_keep(sp_broker *b, int n, const char *const *members, const char *const *ids);
/* Is the batch complete?  Returns 1, 0, or an error. */
int sp_broker_complete(sp_broker *b);

#endif
