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

static void bad_record(struct consumer *c, const char *path, const char *why)
{
	ADD(bad, 1);
	prog_warnpath(path, "record rejected", why);
}

/* Decodes, checks and dispatches one record.  Returns 0 (handled, maybe
 * with a failure counted), -EINTR to abandon it (leave it unreleased so
 * that it goes to another reader), or another -errno to stop the worker. */
static int handle(struct consumer *c, const void *data, size_t len)
{
	char path[SP_BATCH_PATH_MAX + 1], shown[256];
	char target[SP_BATCH_LINK_MAX + 1];
	struct sp_batch_rec r;
	const void *content = NULL;
	int rc;

	ADD(records, 1);
	rc = sp_batch_decode(data, len, &r);
	if (rc == -EINVAL) {
		/* A path that is absolute, holds "..", or is reserved. */
		ADD(refused, 1);
		prog_warnpath(prog_printable(r.path, r.path_len, shown, sizeof(shown)), "refused",
			      r.type == SP_BATCH_SYMLINK && sp_batch_path_check(r.path, r.path_len) == 0
				      ? "link target holds a NUL byte"
				      : sp_batch_path_problem(r.path, r.path_len));
		return 0;
	}
	if (rc < 0) {
		snprintf(shown, sizeof(shown), "record of %zu bytes", len);
		bad_record(c, shown, rc == -EPROTO ? "newer format version" : "malformed");
		return 0;
	}
	/* The record lives in shared memory that a peer could still change:
	 * work on a private copy of the path, checked again. */
	memcpy(path, r.path, r.path_len);
	path[r.path_len] = 0;
	r.path = path;
	if (c->ws)
		memcpy(c->ws->path, path, r.path_len + 1);   /* to name it if it is lost */
	if (sp_batch_path_check(path, r.path_len) < 0) {
		ADD(refused, 1);
		prog_warnpath(prog_printable(path, r.path_len, shown, sizeof(shown)), "refused",
			      "path changed while being read");
		return 0;
	}
	ADD(bytes_in, r.data_len);

	if (r.type == SP_BATCH_FILE || r.type == SP_BATCH_PART) {
		if (r.raw_len > c->max_record) {
			bad_record(c, path, "part larger than this ring's records");
			return 0;
		}
		if (r.flags & SP_BATCH_F_LZ4) {
			int n = LZ4_decompress_safe(r.data, c->raw, (int)r.data_len, (int)r.raw_len);

			if (n != (int)r.raw_len) {
				bad_record(c, path, "corrupt LZ4 data");
				return 0;
			}
			content = c->raw;
		} else {
			content = r.data;
		}
		if (sp_batch_hash64(content, r.raw_len, 0) != r.part_hash) {
			bad_record(c, path, "checksum mismatch");
			return 0;
		}
		ADD(bytes, r.raw_len);
	} else if (r.type == SP_BATCH_SYMLINK) {
		memcpy(target, r.data, r.data_len);
		target[r.data_len] = 0;
		if (strlen(target) != r.data_len) {
			ADD(refused, 1);
			prog_warnpath(path, "refused", "link target changed while being read");
			return 0;
		}
		content = target;
	}

	switch (c->action) {
	case ACT_STDOUT:
		return stream_record(c, &r, path, content);
	case ACT_OUT:
	case ACT_EXEC:
		switch (r.type) {
		case SP_BATCH_FILE:
			if (c->action == ACT_EXEC)
				return exec_run(c, &r, path, content, r.raw_len, -1);
			return out_file(c, &r, path, content);
		case SP_BATCH_PART:
			return asm_part(c, &r, path, content);
		case SP_BATCH_END:
			return asm_end(c, &r, path);
		case SP_BATCH_DIR:
			if (c->action == ACT_EXEC) {
				ADD(skipped, 1);
				return 0;
			}
			return out_dir(c, &r, path);
		case SP_BATCH_SYMLINK:
			if (c->action == ACT_EXEC) {
				ADD(skipped, 1);
				return 0;
			}
			return out_symlink(c, &r, path, target);
		}
		break;
	case ACT_NONE:
		break;
	}
	ADD(skipped, 1);
	return 0;
}

static int setup_buffers(struct consumer *c)
{
	c->raw = malloc(c->max_record ? c->max_record : 1);
	c->io = malloc(IO_BUF);
	if (!c->raw || !c->io)
		return -ENOMEM;
	if (c->compress) {
		LZ4F_cctx *cctx;

		if (LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)))
			return -ENOMEM;
		c->cctx = cctx;
		c->zpart_size = lz4_frame_bound(c, c->max_record);
		c->zpart = malloc(c->zpart_size);
		if (!c->zpart)
			return -ENOMEM;
	}
	return 0;
}

struct wslot *wslot_of(const struct consumer *c, int index)
{
	return c->slots ? (struct wslot *)(void *)(c->slots + (size_t)index * c->slot_size) : NULL;
}

void note_write_error(struct consumer *c, int err)
{
	ADD(write_failed, 1);
	if ((err == ENOSPC || err == EDQUOT) && c->board) {
		int expected = 0;

		/* Relaxed: a flag each worker polls between records. */
		if (atomic_compare_exchange_strong_explicit(&c->board->halt, &expected, 1,
							    memory_order_relaxed,
							    memory_order_relaxed))
			atomic_store_explicit(&c->board->halt_err, err, memory_order_relaxed);
	}
}

static int halted(const struct consumer *c)
{
	return c->board && atomic_load_explicit(&c->board->halt, memory_order_relaxed);
}

/* The record a dead worker of this slot had copied (it was taken once the
 * ring was closed, so the ring will not hand it out again): handled first,
 * by its replacement.  Returns handle()'s result. */
static int handle_rescue(struct consumer *c)
{
	struct wslot *ws = c->ws;
	int rc = handle(c, ws->buf, ws->len);

	if (rc != -EINTR) {
		/* Release: the handling happened before the slot reads empty. */
		atomic_store_explicit(&ws->rescue, 0, memory_order_release);
		atomic_store_explicit(&ws->holding, 0, memory_order_release);
	}
	return rc;
}

int worker_main(struct consumer *c, int index)
{
	struct sp_msg m;
	int rc;

	c->index = index;
	c->st = &c->stats[index];
	c->ws = c->action == ACT_STDOUT ? NULL : wslot_of(c, index);
	c->jfd = -1;
	atomic_store_explicit(&c->st->pid, (int)getpid(), memory_order_relaxed);
	/* Without SP_CREATE: the supervisor made the ring before starting us,
	 * so a ring missing now was removed, by a consumer that finished the
	 * batch (or by hand); creating a new, empty one would wait forever. */
	rc = sp_ring_open(c->o.ring, 0, NULL, &c->ring);
	if (rc == -ENOENT) {
		atomic_store_explicit(&c->st->eos, 1, memory_order_relaxed);
		c->ring = NULL;
	} else if (rc < 0) {
		prog_warn_ring(c->o.ring, NULL, strerror(-rc));
		atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
		return rc;
	}
	c->max_record = c->ring ? sp_ring_max_record(c->ring) : 0;
	if (c->ws && c->slot_size - sizeof(struct wslot) > c->max_record)
		c->max_record = c->slot_size - sizeof(struct wslot);   /* room for a rescue */
	rc = setup_buffers(c);
	if (rc < 0) {
		prog_warn("memory", strerror(-rc));
		atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
		sp_ring_close(c->ring);
		return rc;
	}
	if (c->action == ACT_OUT && (rc = journal_open(c)) < 0 && !c->o.quiet)
		prog_warn("journal", strerror(-rc));
	rc = 0;
	if (c->ws && atomic_load_explicit(&c->ws->rescue, memory_order_acquire))
		rc = handle_rescue(c);
	while (c->ring && rc != -EINTR) {
		const void *data;

		if (prog_stop || halted(c)) {
			atomic_store_explicit(&c->st->stopped, 1, memory_order_relaxed);
			break;
		}
		rc = sp_ring_peek(c->ring, &m, SLICE_NS);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			continue;
		if (rc == -EPIPE) {
			atomic_store_explicit(&c->st->eos, 1, memory_order_relaxed);
			break;
		}
		if (rc < 0) {
			prog_warn_ring(c->o.ring, "take", strerror(-rc));
			atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
			break;
		}
		data = m.data;
		if (c->ws) {
			struct wslot *ws = c->ws;

			ws->path[0] = 0;
			atomic_store_explicit(&ws->holding, 1, memory_order_relaxed);
			/* Closed: nobody else will get this record if we die
			 * (docs/pipeline.md, "Crashes"); keep a copy where the
			 * supervisor finds it, and work from the copy. */
			if (sp_ring_closed(c->ring) && m.len <= c->slot_size - sizeof(*ws)) {
				memcpy(ws->buf, m.data, m.len);
				ws->len = (uint32_t)m.len;
				/* Release: the copy is whole before it counts. */
				atomic_store_explicit(&ws->rescue, 1, memory_order_release);
				data = ws->buf;
			}
		}
		rc = handle(c, data, m.len);
		if (rc == -EINTR) {
			/* Abandoned: closing the handle hands it to another
			 * reader (a copy, if any, is the supervisor's to report). */
			atomic_store_explicit(&c->st->stopped, 1, memory_order_relaxed);
			break;
		}
		int rrc = sp_ring_release(c->ring, &m);

		if (c->ws) {
			atomic_store_explicit(&c->ws->rescue, 0, memory_order_release);
			atomic_store_explicit(&c->ws->holding, 0, memory_order_release);
		}
		if (rrc < 0) {
			prog_warn_ring(c->o.ring, "release", strerror(-rrc));
			atomic_store_explicit(&c->st->fatal, rrc, memory_order_relaxed);
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == -EINTR)
		atomic_store_explicit(&c->st->stopped, 1, memory_order_relaxed);
	if (c->action == ACT_STDOUT)
		stream_finish(c);
	journal_close(c);
	sp_ring_close(c->ring);
	if (c->cctx)
		LZ4F_freeCompressionContext(c->cctx);
	free(c->raw);
	free(c->io);
	free(c->zpart);
	return 0;
}
