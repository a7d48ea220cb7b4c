/* consumer.h: state shared by the consumer's supervisor, workers, outputs and administration. */
#ifndef CONSUMER_H
#define CONSUMER_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "batch.h"
#include "broker.h"
#include "prog.h"
#include "shared/ring.h"

#define PROG "consumer"
#define DEFAULT_CAPACITY (16u << 20)
#define STREAM_CAPACITY (4u << 20)      /* with --stdout */
#define MAX_JOBS 64

enum action { ACT_NONE, ACT_OUT, ACT_STDOUT, ACT_EXEC };

/*
 * Counters of one worker, in a MAP_SHARED page the supervisor reads while
 * the workers run (progress) and after (summary).  Each worker writes only
 * its own slot; relaxed atomics, since readers only want a recent value.
 */
struct wstats {
	_Atomic uint64_t records;     /* records taken */
	_Atomic uint64_t files;       /* files handled completely */
	_Atomic uint64_t dirs, links;
	_Atomic uint64_t bytes;       /* content bytes received (decompressed) */
	_Atomic uint64_t bytes_in;    /* payload bytes as they travelled */
	_Atomic uint64_t bytes_out;   /* bytes written (files, .lz4 frames, stdout) */
	_Atomic uint64_t bad;         /* malformed records or checksum mismatches */
	_Atomic uint64_t refused;     /* paths refused */
	_Atomic uint64_t write_failed;
	_Atomic uint64_t exec_failed;
	_Atomic uint64_t incomplete;  /* parted files that can never complete */
	_Atomic uint64_t withdrawn;   /* files the producer withdrew */
	_Atomic uint64_t skipped;     /* records the action has no use for */
	_Atomic uint64_t lost;        /* records a dead worker held that nobody can deliver */
	_Atomic int fatal;            /* a ring error (-errno) ended the worker */
	_Atomic int eos;              /* the worker saw the end of the batch */
	_Atomic int stopped;          /* the worker stopped on a signal or a halt */
	_Atomic int pid;
};

/*
 * What one worker has in hand, in a MAP_SHARED mapping the supervisor
 * reads when the worker dies.  A record taken once the ring is closed
 * (sealed by all its producers) is copied here first and handled from the
 * copy: the ring cannot hand such a record to another reader if its reader
 * dies (docs/pipeline.md, "Crashes"), so the worker that replaces the dead
 * one handles the copy instead.  Lock rules: only the worker in the slot
 * writes it while it lives; the supervisor reads and clears it only after
 * reaping that worker, before it starts the next one.
 */
struct wslot {
	_Atomic int holding;          /* a record is taken and not yet released */
	_Atomic int rescue;           /* buf holds a whole copy of it (len bytes) */
	uint32_t len;
	char path[SP_BATCH_PATH_MAX + 1];   /* its path, once decoded ("" before) */
	char buf[];                   /* max_record bytes */
};

/* State every process of one consumer shares (MAP_SHARED). */
struct board {
	_Atomic int halt;             /* out of room: every worker stops taking records */
	_Atomic int halt_err;         /* the errno that caused it */
};

/* What the command line asked for: set by main's parse_args, read-only after. */
struct options {
	struct prog_opts o;    /* the ring, --progress, --stats, -q */
	enum action action;
	const char *out_dir;
	int compress;          /* -z: level, 0 off */
	int decompress;        /* -d: .lz4 files written back as what they hold */
	const char *exec_cmd;
	const char *work_dir;
	int jobs, keep;
	int sync;              /* --sync: fsync files and directories */
	/* --broker: a batch on a Redis/Valkey stream instead of a ring. */
	const char *broker;    /* its URL, or NULL */
	struct sp_broker_url burl;     /* the URL parsed: burl.name is the batch */
	char host[SP_BROKER_MEMBER_MAX - 2];   /* --host, or the machine's name:
					       * room for ".<worker>" after it */
	long long claim_ms;    /* --claim-ms */
};

/* --broker: the entries a worker holds (the one in hand, and a parted file
 * set aside while its records stall: broker.c), so that the supervisor
 * keeps them from being claimed by other hosts.  Only the worker in the
 * slot writes it, as a sequence lock: gen is odd while the ids change; the
 * supervisor reads them between two equal even gens.  0-0 (no entry has
 * that id): nothing.  The slot outlives a dead worker, so that its entries
 * are kept for the replacement that re-reads them. */
#define BSLOT_IDS 2
struct bslot {
	_Atomic uint64_t gen;
	_Atomic uint64_t ms[BSLOT_IDS], seq[BSLOT_IDS];
};

/* What the supervisor sets up before it starts the workers, and every
 * worker inherits: the output (or work) directory and the MAP_SHARED
 * mappings of this consumer.  Read-only after the workers start (what the
 * mappings hold is not: each says who writes it). */
struct pool {
	int rootfd;            /* the output (or work) directory, or -1 */
	struct wstats *stats;  /* jobs slots */
	struct board *board;
	char *slots;           /* jobs struct wslot of slot_size bytes, or NULL */
	size_t slot_size;
	struct bslot *bslots;  /* --broker: jobs slots, else NULL */
	char batch_id[24];     /* --broker: the incarnation the supervisor joined,
				* the only one its workers join */
};

/* The supervisor's whole: main.c alone sees one. */
struct consumer {
	struct options opt;
	struct pool pool;
};

/* One worker's own state, in its own process: the record it holds and
 * its buffers.  Everything below main.c works on one of these. */
struct worker {
	const struct options *opt;
	const struct pool *pool;
	int index;
	sp_ring *ring;
	struct wstats *st;     /* this worker's slot of pool->stats */
	struct wslot *ws;      /* this worker's record in hand, or NULL */
	int jfd;               /* -o: this worker's journal (output.c), or -1 */
	char *jmap;            /* its shared mapping */
	char jname[64];
	size_t max_record;
	char *raw;             /* max_record bytes: decompressed payloads */
	char *io;              /* IO_BUF bytes: copying frames together */
	char *zpart;           /* -z: one LZ4 frame of up to max_record bytes */
	size_t zpart_size;
	void *cctx;            /* LZ4F_cctx, reused for every frame */
	void *dctx;            /* -d: LZ4F_dctx, reused for every file */
	char *dbuf;            /* -d: decoded content on its way to the file */
};

#define IO_BUF (1u << 20)

/* Adds n to one of worker w's counters (relaxed: see struct wstats). */
#define COUNT(w, field, n) atomic_fetch_add_explicit(&(w)->st->field, (n), memory_order_relaxed)

/* Has the consumer been halted (out of room)? */
static inline int halted(const struct worker *w)
{
	return w->pool->board && atomic_load_explicit(&w->pool->board->halt, memory_order_relaxed);
}

/* worker.c: runs worker index of c in this (forked) process; returns
 * when it is done, having left its outcome in its struct wstats. */
int worker_main(const struct consumer *c, int index);
struct wslot *wslot_of(const struct pool *p, int index);

/* output.c: -o and -z */
/* Counts a failed write, and halts the whole consumer when the output is
 * out of room (ENOSPC, EDQUOT): the records not yet taken stay in the ring
 * for a consumer started once there is room again. */
void note_write_error(struct worker *w, int err);
int out_file(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content);
int out_dir(struct worker *w, const struct sp_batch_rec *r, const char *path);
int out_symlink(struct worker *w, const struct sp_batch_rec *r, const char *path,
		const char *target);
int out_place_tmp(struct worker *w, int tmpdir, const char *tmpname, int tmpfd,
		  const struct sp_batch_rec *r, const char *path);
/* The journal: a file per -o worker naming the temporary file it is
 * writing, so that one left by a worker killed with SIGKILL can be found
 * and removed; see output.c. */
int journal_open(struct worker *w);
void journal_close(struct worker *w);
/* Removes what the journals of dead workers name, and those journals.
 * Returns the number of names removed. */
int journal_sweep(int rootfd);
/* One whole LZ4 frame of src in dst (cap bytes, at least lz4_frame_bound(len)).
 * Returns its size or -EIO. */
long long lz4_frame(struct worker *w, const void *src, size_t len, void *dst, size_t cap);
size_t lz4_frame_bound(const struct worker *w, size_t len);

/* The content of a parted file, put together in the file srcfd (size bytes),
 * written back with -d to its place: decoded into a new unnamed file, or,
 * where there are none, into the hidden name dtmp at the top of the output
 * directory, then named.  Reports a failure.  Returns 0 or -1. */
int out_restore(struct worker *w, int srcfd, uint64_t size, const char *dtmp,
		const struct sp_batch_rec *r, const char *path);

/* restore.c: -d */
/* The name a .lz4 file is restored under: base without ".lz4", in dest
 * (unless NULL).  Returns 0, or -EINVAL if base does not end in ".lz4" or
 * is nothing else. */
int restore_name(const char *base, char dest[]);
int restore_setup(struct worker *w);
void restore_free(struct worker *w);
/* Decodes the LZ4 frames of len bytes, in memory at src or, with src NULL,
 * at the start of the file srcfd, and writes what they hold to fd.
 * Returns the bytes written, -EBADMSG (not LZ4 data, corrupt, cut short),
 * -EIO (srcfd could not be read) or another -errno (the write failed),
 * with why (why_size bytes) saying what went wrong. */
long long restore_write(struct worker *w, int fd, const void *src, int srcfd, uint64_t len,
			char *why, size_t why_size);

/* assemble.c: files that travel in parts */
int asm_part(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content);
int asm_end(struct worker *w, const struct sp_batch_rec *r, const char *path);
/* full: the batch is over (sealed, drained): remove every helper file,
 * reporting files that can never complete; otherwise remove only what
 * dead workers left beside files, and keep partly assembled files for a
 * consumer that resumes the batch.  Returns the number of names removed. */
int asm_sweep(int rootfd, int full, int quiet, uint64_t *incomplete);

/* exec.c */
int exec_run(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content, size_t len, int infd);

/* stream.c: --stdout */
int stream_record(struct worker *w, const struct sp_batch_rec *r, const char *path,
		  const void *content);
int stream_finish(struct worker *w);
/* Grows the pipe fd (if it is one) to hold a record of up to record bytes,
 * at most 1M: with the default 64K, the consumer and the reader downstream
 * take turns every 64K.  Best effort: a refusal leaves it as it was. */
void stream_grow_pipe(int fd, size_t record);

/* broker.c: --broker */
/* The name of worker index's member in the group, "<host>.<index>": a
 * replacement gets its predecessor's.  out: SP_BROKER_MEMBER_MAX + 1 bytes. */
void broker_member(const struct options *opt, int index, char *out);
/* The worker loop over the batch: takes entries and hands each record
 * (a whole entry's, or each of a parted file's) to handle(), which returns
 * 0 (handled, maybe with a failure counted), -EINTR (abandon: the entry
 * stays ours, unacknowledged) or another -errno (acknowledge, then stop);
 * acknowledges an entry once it is handled.  Returns when the batch is
 * complete, on a stop, a halt or an error, its outcome left in w->st. */
int broker_work(struct worker *w, int (*handle)(struct worker *, const void *, size_t));
/* The supervisor's handle: opens it (no member: it takes nothing),
 * joining the batch as host opt->host (a complete batch whose hosts are
 * still leaving too: its workers then see its end at once); notes the
 * batch's incarnation in pool for the workers.  Returns 0 with *out set, or an exit status,
 * having said why. */
int broker_join(const struct options *opt, struct pool *pool, sp_broker **out);
/* Keeps what the workers of pool hold from being claimed by other hosts;
 * called every claim_ms / 4. */
void broker_keep(sp_broker *b, const struct options *opt, const struct pool *pool);
/* Leaves the batch (the last host out of a complete batch deletes its
 * marker) and closes the handle: after the workers and the sweep. */
void broker_leave(sp_broker *b, const struct options *opt);
/* Withdraws what slot index published: its worker ended and no
 * replacement of its name will re-read its entries, so they are no longer
 * kept from other workers' and hosts' claims. */
void broker_forget(struct pool *pool, int index);
/* The exit status a broker error (-errno) calls for. */
int broker_status(int err);

/* admin.c */
int admin_list(void);
int admin_info(const char *name);
int admin_remove(const char *name);
int admin_remove_stale(const char *prefix);
/* Before attaching: reports a ring whose earlier participants all died. */
void admin_note_dead(const char *name, int quiet);

#endif
