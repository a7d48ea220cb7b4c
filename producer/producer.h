/* producer.h: state shared by the producer's option parsing, walk, record sending and output (a ring or a broker). */
#ifndef PRODUCER_H
#define PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "batch.h"
#include "broker.h"
#include "prog.h"
#include "shared/ring.h"

#define PROG "producer"
#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_AHEAD 32        /* --read-ahead */
#define DEFAULT_CAPACITY (16u << 20)
#define STREAM_CAPACITY (4u << 20)      /* when the only path is - */

/* Waits on the ring, on the broker's window and on the input are cut into
 * slices so that a signal is noticed promptly: the library never returns
 * -EINTR. */
#define SLICE_NS 100000000LL

struct producer {
	/* Options. */
	struct prog_opts o;     /* the ring, --progress (a live line on stderr), --stats, -q */
	const char *url;        /* --broker: a batch on a server instead of the ring */
	uint64_t window;        /* --window, with --broker (0: SP_BROKER_WINDOW_DEFAULT) */
	int lz4_level;          /* 0: off; 1-2: LZ4 fast; 3-12: LZ4 HC */
	int follow;             /* -L: follow symbolic links */
	int recurse;            /* 0 with --no-recursion */
	const char *stdin_name; /* relative path given to the "-" stream */
	size_t chunk;           /* payload bytes per part */

	/* Run.  Records go to a ring, or to a batch on a broker (out.c). */
	sp_ring *ring;
	sp_broker *broker;
	char batch[SP_BROKER_NAME_MAX + 1];  /* --broker: the batch's name, for messages */
	char *rbuf;             /* --broker: the record being built, max_record bytes */
	size_t max_record;      /* sp_ring_max_record(), or SP_BROKER_MAX_RECORD */
	uint64_t run;           /* random id of this run */
	uint64_t seq;           /* last file number used */
	char *buf;              /* chunk + 1 bytes: raw content */
	char *zbuf;             /* chunk bytes: compressed content */
	int counting;           /* pre-walk for --progress totals: send nothing */
	size_t ahead;           /* files to open and read ahead (walk.c), 0: none */
	size_t ahead_open;      /* descriptors opened ahead and not yet sent */

	/* Counters. */
	uint64_t files, dirs, links, records, bytes, bytes_sent, failed, skipped;
	uint64_t total_files, total_bytes;   /* from the pre-walk, 0 if unknown */
	double t0, last_progress;
	int fatal;              /* a ring or broker error: stop the whole batch (its -errno) */
};

/* out.c: where records go, a ring or a broker, behind one reserve/commit.
 * Every function that fails for good says why once (out_failed) and sets
 * p->fatal; -EINTR (a stop signal) is not said and not fatal. */
int out_open(struct producer *p);
/* A record of total bytes at m->data: in the ring, or in p->rbuf.  After a
 * signal it gives up at once, or after stop_wait_ns when that is not 0.
 * Returns 0, -EINTR, or an error. */
int out_reserve(struct producer *p, size_t total, struct sp_msg *m, long long stop_wait_ns);
/* Sends the first len bytes of m: commits them to the ring, or puts them
 * on the broker, waiting on its window in slices (stop_wait_ns as above).
 * Returns 0, -EINTR, or an error. */
int out_commit(struct producer *p, struct sp_msg *m, size_t len, long long stop_wait_ns);
int out_cancel(struct producer *p, struct sp_msg *m);
/* Says "what: why" for error rc, once, and marks the batch failed. */
int out_failed(struct producer *p, const char *what, int rc);
/* Everything was sent: waits for the ring to drain, then seals.  Returns
 * the exit status. */
int out_seal(struct producer *p);
/* The exit status of the fatal error rc. */
int out_status(const struct producer *p, int rc);
void out_close(struct producer *p);

/* send.c */
int send_dir(struct producer *p, const char *rel, const struct stat *st);
int send_symlink(struct producer *p, const char *rel, const char *target,
		 const struct stat *st);
int send_file(struct producer *p, int fd, const char *shown, const char *rel,
	      const struct stat *st);
int send_stream(struct producer *p, int fd, const char *rel);
void progress_update(struct producer *p, int force);

/* walk.c */
int walk_arg(struct producer *p, const char *arg);

#endif
