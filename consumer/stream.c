/* stream.c: --stdout: writes the content of every file and stream to standard output, in order. */
#include "consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Order: the ring keeps each producer's records in the order it put them,
 * and --stdout runs one worker, so each producer's content comes out in
 * order.  Records of several producers interleave record by record (at
 * most one part, 1M by default, at a time), as writes of several writers
 * to one pipe do.  A part that is not the next one of its file means
 * another reader took one: the file is reported and the rest of it skipped.
 */

/* The most the output pipe is grown to (the default pipe-max-size). */
#define PIPE_MAX (1u << 20)

struct sstate {
	uint64_t run, seq;
	uint64_t off;        /* bytes written so far */
	uint32_t next;       /* next part expected */
	int broken;
	char *path;
	struct sp_batch_hash h;
};

static struct sstate *tab;
static size_t ntab;
static int out_failed;

static int out(struct worker *w, const void *buf, size_t len)
{
	int rc;

	if (out_failed)
		return -EPIPE;
	rc = prog_write_full(STDOUT_FILENO, buf, len);
	if (rc < 0) {
		out_failed = 1;
		COUNT(w, write_failed, 1);
		prog_warn("stdout", strerror(-rc));
		return rc;
	}
	COUNT(w, bytes_out, len);
	return 0;
}

static struct sstate *find(const struct sp_batch_rec *r, int add, const char *path)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].run == r->run && tab[i].seq == r->seq)
			return &tab[i];
	if (!add)
		return NULL;
	struct sstate *nt = realloc(tab, (ntab + 1) * sizeof(*tab));

	if (!nt)
		return NULL;
	tab = nt;
	memset(&tab[ntab], 0, sizeof(*tab));
	tab[ntab].run = r->run;
	tab[ntab].seq = r->seq;
	tab[ntab].path = strdup(path);
	sp_batch_hash_init(&tab[ntab].h, 0);
	return &tab[ntab++];
}

static void drop(struct sstate *s)
{
	free(s->path);
	*s = tab[--ntab];
}

int stream_record(struct worker *w, const struct sp_batch_rec *r, const char *path,
		  const void *content)
{
	struct sstate *s;
	char why[96];

	switch (r->type) {
	case SP_BATCH_FILE:
		if (out(w, content, r->raw_len) < 0)
			return -EPIPE;
		COUNT(w, files, 1);
		return 0;
	case SP_BATCH_PART:
		s = find(r, 1, path);
		if (!s) {
			COUNT(w, write_failed, 1);
			prog_warnpath(path, "memory", strerror(ENOMEM));
			return 0;
		}
		if (s->broken)
			return 0;
		if (r->part != s->next || r->offset != s->off) {
			snprintf(why, sizeof(why), "part %u came when %u was due; rest skipped "
				 "(use one consumer, -j 1)", r->part, s->next);
			prog_warnpath(path, "out of order", why);
			COUNT(w, bad, 1);
			s->broken = 1;
			return 0;
		}
		if (out(w, content, r->raw_len) < 0)
			return -EPIPE;
		sp_batch_tree_add(&s->h, r->part_hash);
		s->next++;
		s->off += r->raw_len;
		return 0;
	case SP_BATCH_END:
		s = find(r, r->nparts == 0, path);
		if (r->flags & SP_BATCH_F_ABORTED) {
			COUNT(w, withdrawn, 1);
			if (!w->opt->o.quiet)
				prog_warnpath(path, "cut short", "the producer withdrew it");
		} else if (!s) {
			COUNT(w, write_failed, 1);
			prog_warnpath(path, "end", strerror(ENOMEM));
			return 0;
		} else if (s->broken) {
			COUNT(w, incomplete, 1);
		} else if (s->next != r->nparts || s->off != r->size ||
			   sp_batch_hash_digest(&s->h) != r->file_hash) {
			COUNT(w, bad, 1);
			prog_warnpath(path, "end", "whole-stream checksum or size mismatch");
		} else {
			COUNT(w, files, 1);
		}
		if (s)
			drop(s);
		return 0;
	default:
		COUNT(w, skipped, 1);
		return 0;
	}
}

void stream_grow_pipe(int fd, size_t record)
{
	struct stat st;

	if (record > PIPE_MAX)
		record = PIPE_MAX;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		fcntl(fd, F_SETPIPE_SZ, (int)record);   /* best effort */
}

int stream_finish(struct worker *w)
{
	/* At the end of the batch, a file still open lost its END. */
	if (atomic_load_explicit(&w->st->eos, memory_order_relaxed)) {
		for (size_t i = 0; i < ntab; i++) {
			if (!tab[i].broken)
				prog_warnpath(tab[i].path, "incomplete", "its end never came");
			COUNT(w, incomplete, 1);
		}
	}
	while (ntab)
		drop(&tab[0]);
	free(tab);
	tab = NULL;
	return 0;
}
