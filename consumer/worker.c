/* worker.c: one consumer worker process: takes records, checks them, and hands them to the action. */
#include "consumer.h"

#include <errno.h>
#include <lz4.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Waits on the ring are cut into slices so that a signal is noticed
 * promptly: the library never returns -EINTR. */
#define SLICE_NS 50000000LL

static void bad_record(struct worker *w, const char *path, const char *why)
{
	COUNT(w, bad, 1);
	prog_warnpath(path, "record rejected", why);
}

/* Decodes, checks and dispatches one record.  Returns 0 (handled, maybe
 * with a failure counted), -EINTR to abandon it (leave it unreleased so
 * that it goes to another reader), or another -errno to stop the worker. */
static int handle(struct worker *w, const void *data, size_t len)
{
	char path[SP_BATCH_PATH_MAX + 1], shown[256];
	char target[SP_BATCH_LINK_MAX + 1];
	struct sp_batch_rec r;
	const void *content = NULL;
	int rc;

	COUNT(w, records, 1);
	rc = sp_batch_decode(data, len, &r);
	if (rc == -EINVAL) {
		/* A path that is absolute, holds "..", or is reserved. */
		COUNT(w, refused, 1);
		prog_warnpath(prog_printable(r.path, r.path_len, shown, sizeof(shown)), "refused",
			      r.type == SP_BATCH_SYMLINK && sp_batch_path_check(r.path, r.path_len) == 0
				      ? "link target holds a NUL byte"
				      : sp_batch_path_problem(r.path, r.path_len));
		return 0;
	}
	if (rc < 0) {
		snprintf(shown, sizeof(shown), "record of %zu bytes", len);
		bad_record(w, shown, rc == -EPROTO ? "newer format version" : "malformed");
		return 0;
	}
	/* The record lives in shared memory that a peer could still change:
	 * work on a private copy of the path, checked again. */
	memcpy(path, r.path, r.path_len);
	path[r.path_len] = 0;
	r.path = path;
	if (w->ws)
		memcpy(w->ws->path, path, r.path_len + 1);   /* to name it if it is lost */
	if (sp_batch_path_check(path, r.path_len) < 0) {
		COUNT(w, refused, 1);
		prog_warnpath(prog_printable(path, r.path_len, shown, sizeof(shown)), "refused",
			      "path changed while being read");
		return 0;
	}
	COUNT(w, bytes_in, r.data_len);

	if (r.type == SP_BATCH_FILE || r.type == SP_BATCH_PART) {
		if (r.raw_len > w->max_record) {
			bad_record(w, path, w->opt->broker ? "part larger than the largest record"
							   : "part larger than this ring's records");
			return 0;
		}
		if (r.flags & SP_BATCH_F_LZ4) {
			int n = LZ4_decompress_safe(r.data, w->raw, (int)r.data_len, (int)r.raw_len);

			if (n != (int)r.raw_len) {
				bad_record(w, path, "corrupt LZ4 data");
				return 0;
			}
			content = w->raw;
		} else {
			content = r.data;
		}
		if (sp_batch_hash64(content, r.raw_len, 0) != r.part_hash) {
			bad_record(w, path, "checksum mismatch");
			return 0;
		}
		COUNT(w, bytes, r.raw_len);
	} else if (r.type == SP_BATCH_SYMLINK) {
		memcpy(target, r.data, r.data_len);
		target[r.data_len] = 0;
		if (strlen(target) != r.data_len) {
			COUNT(w, refused, 1);
			prog_warnpath(path, "refused", "link target changed while being read");
			return 0;
		}
		content = target;
	}

	/* -d restores .lz4 files: a file of another name has nothing to be
	 * restored to.  Refused once, on its whole record or its END; its
	 * parts are dropped unwritten. */
	if (w->opt->decompress && (r.type == SP_BATCH_FILE || r.type == SP_BATCH_PART ||
				   r.type == SP_BATCH_END)) {
		const char *base = strrchr(path, '/');

		if (restore_name(base ? base + 1 : path, NULL) < 0) {
			if (r.type == SP_BATCH_PART) {
				COUNT(w, skipped, 1);
				return 0;
			}
			COUNT(w, refused, 1);
			prog_warnpath(path, "refused", "not a .lz4 file (-d restores .lz4 files)");
			return 0;
		}
	}

	switch (w->opt->action) {
	case ACT_STDOUT:
		return stream_record(w, &r, path, content);
	case ACT_OUT:
	case ACT_EXEC:
		switch (r.type) {
		case SP_BATCH_FILE:
			if (w->opt->action == ACT_EXEC)
				return exec_run(w, &r, path, content, r.raw_len, -1);
			return out_file(w, &r, path, content);
		case SP_BATCH_PART:
			return asm_part(w, &r, path, content);
		case SP_BATCH_END:
			return asm_end(w, &r, path);
		case SP_BATCH_DIR:
			if (w->opt->action == ACT_EXEC) {
				COUNT(w, skipped, 1);
				return 0;
			}
			return out_dir(w, &r, path);
		case SP_BATCH_SYMLINK:
			if (w->opt->action == ACT_EXEC) {
				COUNT(w, skipped, 1);
				return 0;
			}
			return out_symlink(w, &r, path, target);
		}
		break;
	case ACT_NONE:
		break;
	}
	COUNT(w, skipped, 1);
	return 0;
}

static int setup_buffers(struct worker *w)
{
	w->raw = malloc(w->max_record ? w->max_record : 1);
	w->io = malloc(IO_BUF);
	if (!w->raw || !w->io)
		return -ENOMEM;
	if (w->opt->compress) {
		LZ4F_cctx *cctx;

		if (LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)))
			return -ENOMEM;
		w->cctx = cctx;
		w->zpart_size = lz4_frame_bound(w, w->max_record);
		w->zpart = malloc(w->zpart_size);
		if (!w->zpart)
			return -ENOMEM;
	}
	if (w->opt->decompress)
		return restore_setup(w);
	return 0;
}

struct wslot *wslot_of(const struct pool *p, int index)
{
	return p->slots ? (struct wslot *)(void *)(p->slots + (size_t)index * p->slot_size) : NULL;
}

/* The record a dead worker of this slot had copied (it was taken once the
 * ring was closed, so the ring will not hand it out again): handled first,
 * by its replacement.  Returns handle()'s result. */
static int handle_rescue(struct worker *w)
{
	struct wslot *ws = w->ws;
	int rc = handle(w, ws->buf, ws->len);

	if (rc != -EINTR) {
		/* Release: the handling happened before the slot reads empty. */
		atomic_store_explicit(&ws->rescue, 0, memory_order_release);
		atomic_store_explicit(&ws->holding, 0, memory_order_release);
	}
	return rc;
}

static int run(struct worker *w);
static void teardown(struct worker *w);

/* --broker: the same records from a Redis/Valkey stream (broker.c); what
 * the worker holds stays on the server until it is acknowledged, so no
 * rescue slot is needed. */
static int run_broker(struct worker *w)
{
	int rc;

	w->max_record = SP_BROKER_MAX_RECORD;
	rc = setup_buffers(w);
	if (rc < 0) {
		prog_warn("memory", strerror(-rc));
		atomic_store_explicit(&w->st->fatal, rc, memory_order_relaxed);
		teardown(w);
		return rc;
	}
	if (w->opt->action == ACT_OUT && (rc = journal_open(w)) < 0 && !w->opt->o.quiet)
		prog_warn("journal", strerror(-rc));
	broker_work(w, handle);
	teardown(w);
	return 0;
}

int worker_main(const struct consumer *c, int index)
{
	struct worker w = {
		.opt = &c->opt,
		.pool = &c->pool,
		.index = index,
		.st = &c->pool.stats[index],
		.ws = c->opt.action == ACT_STDOUT ? NULL : wslot_of(&c->pool, index),
		.jfd = -1,
	};

	return run(&w);
}

static int run(struct worker *w)
{
	struct sp_msg m;
	int rc;

	atomic_store_explicit(&w->st->pid, (int)getpid(), memory_order_relaxed);
	if (w->opt->broker)
		return run_broker(w);
	/* Without SP_CREATE: the supervisor made the ring before starting us,
	 * so a ring missing now was removed, by a consumer that finished the
	 * batch (or by hand); creating a new, empty one would wait forever. */
	rc = sp_ring_open(w->opt->o.ring, 0, NULL, &w->ring);
	if (rc == -ENOENT) {
		atomic_store_explicit(&w->st->eos, 1, memory_order_relaxed);
		w->ring = NULL;
	} else if (rc < 0) {
		prog_warn_ring(w->opt->o.ring, NULL, strerror(-rc));
		atomic_store_explicit(&w->st->fatal, rc, memory_order_relaxed);
		return rc;
	}
	w->max_record = w->ring ? sp_ring_max_record(w->ring) : 0;
	if (w->ws && w->pool->slot_size - sizeof(struct wslot) > w->max_record)
		w->max_record = w->pool->slot_size - sizeof(struct wslot);   /* room for a rescue */
	rc = setup_buffers(w);
	if (rc < 0) {
		prog_warn("memory", strerror(-rc));
		atomic_store_explicit(&w->st->fatal, rc, memory_order_relaxed);
		sp_ring_close(w->ring);
		return rc;
	}
	if (w->opt->action == ACT_OUT && (rc = journal_open(w)) < 0 && !w->opt->o.quiet)
		prog_warn("journal", strerror(-rc));
	rc = 0;
	if (w->ws && atomic_load_explicit(&w->ws->rescue, memory_order_acquire))
		rc = handle_rescue(w);
	while (w->ring && rc != -EINTR) {
		const void *data;

		if (prog_stop || halted(w)) {
			atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
			break;
		}
		rc = sp_ring_peek(w->ring, &m, SLICE_NS);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			continue;
		if (rc == -EPIPE) {
			atomic_store_explicit(&w->st->eos, 1, memory_order_relaxed);
			break;
		}
		if (rc < 0) {
			prog_warn_ring(w->opt->o.ring, "take", strerror(-rc));
			atomic_store_explicit(&w->st->fatal, rc, memory_order_relaxed);
			break;
		}
		data = m.data;
		if (w->ws) {
			struct wslot *ws = w->ws;

			ws->path[0] = 0;
			atomic_store_explicit(&ws->holding, 1, memory_order_relaxed);
			/* Closed: nobody else will get this record if we die
			 * (docs/pipeline.md, "Crashes"); keep a copy where the
			 * supervisor finds it, and work from the copy. */
			if (sp_ring_closed(w->ring) && m.len <= w->pool->slot_size - sizeof(*ws)) {
				memcpy(ws->buf, m.data, m.len);
				ws->len = (uint32_t)m.len;
				/* Release: the copy is whole before it counts. */
				atomic_store_explicit(&ws->rescue, 1, memory_order_release);
				data = ws->buf;
			}
		}
		rc = handle(w, data, m.len);
		if (rc == -EINTR) {
			/* Abandoned: closing the handle hands it to another
			 * reader (a copy, if any, is the supervisor's to report). */
			atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
			break;
		}
		int rrc = sp_ring_release(w->ring, &m);

		if (w->ws) {
			atomic_store_explicit(&w->ws->rescue, 0, memory_order_release);
			atomic_store_explicit(&w->ws->holding, 0, memory_order_release);
		}
		if (rrc < 0) {
			prog_warn_ring(w->opt->o.ring, "release", strerror(-rrc));
			atomic_store_explicit(&w->st->fatal, rrc, memory_order_relaxed);
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == -EINTR)
		atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
	if (w->opt->action == ACT_STDOUT)
		stream_finish(w);
	sp_ring_close(w->ring);
	teardown(w);
	return 0;
}

static void teardown(struct worker *w)
{
	journal_close(w);
	if (w->cctx)
		LZ4F_freeCompressionContext(w->cctx);
	free(w->raw);
	free(w->io);
	free(w->zpart);
	restore_free(w);
}
