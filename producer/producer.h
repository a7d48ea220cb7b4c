/* producer.h: state shared by the producer's option parsing, walk and record sending. */
#ifndef PRODUCER_H
#define PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "batch.h"
#include "prog.h"
#include "shared/ring.h"

#define PROG "producer"
#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_AHEAD 32        /* --read-ahead */
#define DEFAULT_CAPACITY (16u << 20)
#define STREAM_CAPACITY (4u << 20)      /* when the only path is - */

struct producer {
	/* Options. */
	struct prog_opts o;     /* the ring, --progress (a live line on stderr), --stats, -q */
	int lz4_level;          /* 0: off; 1-2: LZ4 fast; 3-12: LZ4 HC */
	int follow;             /* -L: follow symbolic links */
	int recurse;            /* 0 with --no-recursion */
	const char *stdin_name; /* relative path given to the "-" stream */
	size_t chunk;           /* payload bytes per part */

	/* Run. */
	sp_ring *ring;
	size_t max_record;      /* sp_ring_max_record() */
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
	int fatal;              /* a ring error: stop the whole batch (exit code) */
};

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
