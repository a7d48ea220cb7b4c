/* consumer.h: state shared by the consumer's supervisor, workers, outputs and administration. */
#ifndef CONSUMER_H
#define CONSUMER_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/batch.h"
#include "shared/ring.h"

#define PROG "consumer"
#define DEFAULT_CAPACITY (16u << 20)
#define MAX_JOBS 64

/* Prefix of every temporary name the consumer makes in a directory.
 * sp_batch_path_check() refuses batch paths that start with it. */
#define TMP_PREFIX ".shmpipe."

/* Set by SIGINT/SIGTERM: stop taking records. */
extern volatile sig_atomic_t g_stop;

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
	_Atomic int fatal;            /* a ring error (-errno) ended the worker */
	_Atomic int eos;              /* the worker saw the end of the batch */
	_Atomic int pid;
};

struct consumer {
	/* Options. */
	const char *ring_name;
	struct sp_ring_opts ro;
	enum action action;
	const char *out_dir;
	int compress;          /* -z: level, 0 off */
	const char *exec_cmd;
	const char *work_dir;
	int jobs, quiet, progress, keep;

	/* Set up by the supervisor, inherited by the workers. */
	int rootfd;            /* the output (or work) directory */
	struct wstats *stats;  /* jobs slots */

	/* Per worker. */
	int index;
	sp_ring *ring;
	struct wstats *st;     /* this worker's slot */
	size_t max_record;
	char *raw;             /* max_record bytes: decompressed payloads */
	char *io;              /* IO_BUF bytes: copying frames together */
	char *zpart;           /* -z: one LZ4 frame of up to max_record bytes */
	size_t zpart_size;
	void *cctx;            /* LZ4F_cctx, reused for every frame */
};

#define IO_BUF (1u << 20)

#define ADD(field, n) atomic_fetch_add_explicit(&c->st->field, (n), memory_order_relaxed)

/* main.c */
void warnmsg(const char *what, const char *why);
void warnpath(const char *path, const char *what, const char *why);
double now_sec(void);

/* worker.c */
int worker_main(struct consumer *c, int index);

/* output.c: -o and -z */
int out_file(struct consumer *c, const struct sp_batch_rec *r, const char *path,
	     const void *content);
int out_dir(struct consumer *c, const struct sp_batch_rec *r, const char *path);
int out_symlink(struct consumer *c, const struct sp_batch_rec *r, const char *path,
		const char *target);
int out_place_tmp(struct consumer *c, int tmpdir, const char *tmpname, int tmpfd,
		  const struct sp_batch_rec *r, const char *path);
int write_full(int fd, const void *buf, size_t len);
void tmp_name(char *buf, size_t size, uint64_t run, uint64_t seq, const char *ext);
/* One whole LZ4 frame of src in dst (cap bytes, at least lz4_frame_bound(len)).
 * Returns its size or -EIO. */
long long lz4_frame(struct consumer *c, const void *src, size_t len, void *dst, size_t cap);
size_t lz4_frame_bound(const struct consumer *c, size_t len);

/* assemble.c: files that travel in parts */
int asm_part(struct consumer *c, const struct sp_batch_rec *r, const char *path,
	     const void *content);
int asm_end(struct consumer *c, const struct sp_batch_rec *r, const char *path);
int asm_sweep(int rootfd, int interrupted, int quiet, uint64_t *incomplete);

/* exec.c */
int exec_run(struct consumer *c, const struct sp_batch_rec *r, const char *path,
	     const void *content, size_t len, int infd);

/* stream.c: --stdout */
int stream_record(struct consumer *c, const struct sp_batch_rec *r, const char *path,
		  const void *content);
int stream_finish(struct consumer *c);

/* admin.c */
int admin_list(void);
int admin_info(const char *name);
int admin_remove(const char *name);

#endif
