/* worker.c: one consumer worker process: takes records, checks them, and hands them to the action. */
#include "consumer.h"

#include <errno.h>
#include <lz4.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Waits on the ring are cut into slices so that a signal is noticed
 * promptly: the library never returns -EINTR. */
#define SLICE_NS 50000000LL

/* Copies at most max bytes of an untrusted name into out (size bytes),
 * printable ASCII and UTF-8 kept, everything else as '?', for messages. */
static const char *printable(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (len && n + 4 >= size && n >= 3)
		memcpy(out + n - 3, "...", 3);
	out[n] = 0;
	return out;
}

static void bad_record(struct consumer *c, const char *path, const char *why)
{
	ADD(bad, 1);
	warnpath(path, "record rejected", why);
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
		warnpath(printable(r.path, r.path_len, shown, sizeof(shown)), "refused",
			 r.type == SP_BATCH_SYMLINK && sp_batch_path_check(r.path, r.path_len) == 0
				 ? "link target holds a NUL byte"
				 : "absolute path, '..' component or reserved name");
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
	if (sp_batch_path_check(path, r.path_len) < 0) {
		ADD(refused, 1);
		warnpath(printable(path, r.path_len, shown, sizeof(shown)), "refused",
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
			warnpath(path, "refused", "link target changed while being read");
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

int worker_main(struct consumer *c, int index)
{
	struct sp_msg m;
	int rc;

	c->index = index;
	c->st = &c->stats[index];
	atomic_store_explicit(&c->st->pid, (int)getpid(), memory_order_relaxed);
	rc = sp_ring_open(c->ring_name, SP_CREATE, &c->ro, &c->ring);
	if (rc < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "ring %s", c->ring_name);
		warnmsg(msg, strerror(-rc));
		atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
		return rc;
	}
	c->max_record = sp_ring_max_record(c->ring);
	rc = setup_buffers(c);
	if (rc < 0) {
		warnmsg("memory", strerror(-rc));
		atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
		sp_ring_close(c->ring);
		return rc;
	}
	for (;;) {
		if (g_stop)
			break;
		rc = sp_ring_peek(c->ring, &m, SLICE_NS);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			continue;
		if (rc == -EPIPE) {
			atomic_store_explicit(&c->st->eos, 1, memory_order_relaxed);
			break;
		}
		if (rc < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "ring %s: take", c->ring_name);
			warnmsg(msg, strerror(-rc));
			atomic_store_explicit(&c->st->fatal, rc, memory_order_relaxed);
			break;
		}
		rc = handle(c, m.data, m.len);
		if (rc == -EINTR)
			break;  /* abandoned: closing the handle hands it to another reader */
		int rrc = sp_ring_release(c->ring, &m);

		if (rrc < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "ring %s: release", c->ring_name);
			warnmsg(msg, strerror(-rrc));
			atomic_store_explicit(&c->st->fatal, rrc, memory_order_relaxed);
			break;
		}
		if (rc < 0)
			break;
	}
	if (c->action == ACT_STDOUT)
		stream_finish(c);
	sp_ring_close(c->ring);
	if (c->cctx)
		LZ4F_freeCompressionContext(c->cctx);
	free(c->raw);
	free(c->io);
	free(c->zpart);
	return 0;
}
