/* restore.c: -d, a .lz4 file of the batch written back as the content its LZ4 frames hold. */
#include "consumer.h"

#include <errno.h>
#include <limits.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * What `lz4 -d` reads: one or more LZ4 frames one after the other, skippable
 * frames among them skipped.  The legacy format (`lz4 -l`) is not read.
 * Each frame's content checksum, when it has one (`lz4` and `consumer -z`
 * write it), is checked by the library as the frame ends, and each block's
 * when the frame asks for it; a frame cut short is found when the input
 * ends inside it.  The output is written as it is decoded, RESTORE_BUF bytes
 * at a time, so that a small input whose frames hold gigabytes costs no
 * more memory than a large one.  The caller writes into an unnamed or
 * hidden file and gives it its name only if this succeeds: a corrupt input
 * leaves nothing under the name.
 */

/* LZ4's largest block: a frame of any block size decodes straight into the
 * buffer, without the library's own copy.  Only the pages a file's blocks
 * fill are ever touched. */
#define RESTORE_BUF (4u << 20)

int restore_name(const char *base, char dest[])
{
	size_t n = strlen(base);

	if (n <= 4 || strcmp(base + n - 4, ".lz4") != 0)
		return -EINVAL;
	if (dest) {
		memcpy(dest, base, n - 4);
		dest[n - 4] = 0;
	}
	return 0;
}

int restore_setup(struct worker *w)
{
	LZ4F_dctx *d;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return -ENOMEM;
	w->dctx = d;
	w->dbuf = malloc(RESTORE_BUF);
	return w->dbuf ? 0 : -ENOMEM;
}

void restore_free(struct worker *w)
{
	if (w->dctx)
		LZ4F_freeDecompressionContext(w->dctx);
	w->dctx = NULL;
	free(w->dbuf);
	w->dbuf = NULL;
}

long long restore_write(struct worker *w, int fd, const void *src, int srcfd, uint64_t len,
			char *why, size_t why_size)
{
	LZ4F_dctx *d = w->dctx;
	uint64_t at = 0, out_total = 0;
	size_t hint = 1;        /* 0 once a frame has just ended */
	int rc;

	/* After a corrupt input the context is mid-frame: start clean. */
	LZ4F_resetDecompressionContext(d);
	if (len == 0) {
		snprintf(why, why_size, "not LZ4 data (an empty file)");
		return -EBADMSG;
	}
	while (at < len) {
		const char *in;
		size_t avail, pos = 0, out;

		if (src) {
			in = (const char *)src + at;
			avail = len - at > SIZE_MAX ? SIZE_MAX : (size_t)(len - at);
		} else {
			avail = len - at < IO_BUF ? (size_t)(len - at) : IO_BUF;
			ssize_t got = prog_pread_full(srcfd, w->io, avail, (off_t)at);

			if (got < 0 || (size_t)got < avail) {
				snprintf(why, why_size, "%s", got < 0 ? strerror((int)-got)
								  : "the assembled file is short");
				return got < 0 ? -EIO : -EBADMSG;
			}
			in = w->io;
		}
		/* Until this input is used up and the library holds no more
		 * output for us: a full buffer may leave decoded bytes behind. */
		do {
			size_t in_n = avail - pos;

			out = RESTORE_BUF;
			hint = LZ4F_decompress(d, w->dbuf, &out, in + pos, &in_n, NULL);
			if (LZ4F_isError(hint)) {
				const char *e = LZ4F_getErrorName(hint);

				if (strncmp(e, "ERROR_", 6) == 0)
					e += 6;
				/* An unknown magic at the start: not a .lz4 at all. */
				if (at + pos == 0 && strcmp(e, "frameType_unknown") == 0)
					snprintf(why, why_size, "not LZ4 data (no LZ4 frame header)");
				else
					snprintf(why, why_size, "corrupt LZ4 data (%s)", e);
				return -EBADMSG;
			}
			pos += in_n;
			if (out) {
				rc = prog_write_full(fd, w->dbuf, out);
				if (rc < 0) {
					snprintf(why, why_size, "%s", strerror(-rc));
					return rc;
				}
				out_total += out;
			}
		} while (pos < avail || out == RESTORE_BUF);
		at += avail;
	}
	if (hint != 0) {
		snprintf(why, why_size, "corrupt LZ4 data (the last frame is cut short)");
		return -EBADMSG;
	}
	return (long long)out_total;
}
