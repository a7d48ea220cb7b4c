/* send.c: turns files, directories, links and the standard input into batch records in the ring or on the broker (out.c). */
#include "producer.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <lz4hc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The most a stream's input pipe is grown to (the default pipe-max-size). */
#define PIPE_MAX (1 << 20)

/* An END that withdraws a file is still worth a short wait after a signal,
 * so that consumers can drop the parts they already assembled. */
#define ABORT_WAIT_NS 1000000000LL

static void fmt_eta(char *buf, size_t size, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

void progress_update(struct producer *p, int force)
{
	double t = prog_now_sec();

	if (!p->o.progress || p->counting || (!force && t - p->last_progress < 0.25))
		return;
	p->last_progress = t;

	double dt = t - p->t0 > 1e-6 ? t - p->t0 : 1e-6;
	double rate = (double)p->bytes / dt;
	char eta[32] = "";

	if (p->total_bytes && p->bytes <= p->total_bytes && rate > 0) {
		fmt_eta(eta, sizeof(eta), (double)(p->total_bytes - p->bytes) / rate);
		prog_progress("%llu/%llu files, %.1f/%.1f MB, %.1f MB/s, ETA %s",
			      (unsigned long long)p->files, (unsigned long long)p->total_files,
			      p->bytes / 1e6, p->total_bytes / 1e6, rate / 1e6, eta);
	} else {
		prog_progress("%llu files, %.1f MB, %.1f MB/s", (unsigned long long)p->files,
			      p->bytes / 1e6, rate / 1e6);
	}
}

/*
 * Encodes rec (its raw_len and data_len set) into the reservation m and
 * commits it, shrunk to the record's size (stop_wait_ns: see out_reserve).
 * With rec->data NULL the payload is already in place at
 * sp_batch_payload(m->data, rec->path_len).  Returns 0, -EINTR when stopped
 * by a signal (a broker's window), or an error (reported).
 */
static int commit_record(struct producer *p, const struct sp_batch_rec *rec, struct sp_msg *m,
			 long long stop_wait_ns)
{
	long long total = sp_batch_encode(rec, m->data, m->len);
	int rc;

	if (total < 0) {
		out_cancel(p, m);        /* cannot happen: sizes match */
		return out_failed(p, "encode", -EINVAL);
	}
	rc = out_commit(p, m, (size_t)total, stop_wait_ns);
	if (rc < 0)
		return rc;
	p->records++;
	p->bytes_sent += rec->data_len;
	return 0;
}

/*
 * Puts one record: header and path from rec, payload raw[0..raw_len),
 * compressed first when --lz4 is on and it shrinks.  The payload is prepared
 * before the reservation, so other writers never wait behind our compressor.
 * Returns 0, -EINTR when stopped by a signal, or a ring or broker error.
 */
static int put_record(struct producer *p, struct sp_batch_rec *rec, const void *raw,
		      size_t raw_len, long long stop_wait_ns)
{
	const void *payload = raw;
	size_t data_len = raw_len;
	struct sp_msg m;
	int rc;

	rec->raw_len = (uint32_t)raw_len;
	if (p->lz4_level && raw_len > 32 && rec->type != SP_BATCH_SYMLINK) {
		static void *state;
		int n;

		if (!state) {
			state = malloc(p->lz4_level >= LZ4HC_CLEVEL_MIN ? (size_t)LZ4_sizeofStateHC()
									: (size_t)LZ4_sizeofState());
			if (!state)
				return out_failed(p, "compress", -ENOMEM);
		}
		/* A result that does not shrink does not fit in raw_len - 1
		 * bytes: LZ4 returns 0 and the chunk travels raw. */
		if (p->lz4_level >= LZ4HC_CLEVEL_MIN)
			n = LZ4_compress_HC_extStateHC(state, raw, p->zbuf, (int)raw_len,
						       (int)raw_len - 1, p->lz4_level);
		else
			n = LZ4_compress_fast_extState(state, raw, p->zbuf, (int)raw_len,
						       (int)raw_len - 1, 1);
		if (n > 0) {
			payload = p->zbuf;
			data_len = (size_t)n;
			rec->flags |= SP_BATCH_F_LZ4;
		}
	}
	rec->data_len = (uint32_t)data_len;
	rec->data = payload;

	long long total = sp_batch_size(rec->path_len, data_len);

	if (total < 0)
		return out_failed(p, "record", (int)total);
	rc = out_reserve(p, (size_t)total, &m, stop_wait_ns);
	if (rc < 0)
		return rc;
	return commit_record(p, rec, &m, stop_wait_ns);
}

/* Sends rec with a payload of len bytes: from buf through put_record(), or,
 * when a reservation is held, already in place in it. */
static int send_rec(struct producer *p, struct sp_batch_rec *rec, const void *buf, size_t len,
		    struct sp_msg *held)
{
	if (!held)
		return put_record(p, rec, buf, len, 0);
	rec->raw_len = rec->data_len = (uint32_t)len;
	rec->data = NULL;
	return commit_record(p, rec, held, 0);
}

static void fill_common(struct producer *p, struct sp_batch_rec *rec, unsigned type,
			const char *rel, const struct stat *st)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->run = p->run;
	rec->seq = ++p->seq;
	rec->path = rel;
	rec->path_len = strlen(rel);
	if (st) {
		rec->mode = (uint32_t)st->st_mode;
		rec->mtime_sec = st->st_mtim.tv_sec;
		rec->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	}
}

int send_dir(struct producer *p, const char *rel, const struct stat *st)
{
	struct sp_batch_rec rec;

	if (p->counting)
		return 0;
	fill_common(p, &rec, SP_BATCH_DIR, rel, st);
	int rc = put_record(p, &rec, NULL, 0, 0);

	if (rc == 0)
		p->dirs++;
	return rc;
}

int send_symlink(struct producer *p, const char *rel, const char *target, const struct stat *st)
{
	struct sp_batch_rec rec;

	if (p->counting)
		return 0;
	fill_common(p, &rec, SP_BATCH_SYMLINK, rel, st);
	rec.size = strlen(target);
	int rc = put_record(p, &rec, target, strlen(target), 0);

	if (rc == 0)
		p->links++;
	return rc;
}

/* The payload room a record with this path leaves, capped at --chunk. */
static size_t chunk_for(const struct producer *p, size_t path_len)
{
	size_t room = p->max_record > SP_BATCH_HDR_SIZE + path_len
			      ? p->max_record - SP_BATCH_HDR_SIZE - path_len : 0;

	return room < p->chunk ? room : p->chunk;
}

static int changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

static void file_failed(struct producer *p, const char *shown, const char *why)
{
	prog_warn(shown, why);
	p->failed++;
}

/* The END that withdraws a parted file of which nparts parts were sent. */
static struct sp_batch_rec abort_of(const struct sp_batch_rec *rec, uint32_t nparts,
				    unsigned stream)
{
	struct sp_batch_rec end = *rec;

	end.type = SP_BATCH_END;
	end.flags = SP_BATCH_F_ABORTED | stream;
	end.nparts = nparts;
	end.offset = 0;
	end.part = 0;
	end.part_hash = 0;
	end.file_hash = 0;
	if (end.size < nparts)
		end.size = nparts;
	return end;
}

/* Withdraws a parted file of which nparts parts were sent. */
static int send_abort(struct producer *p, struct sp_batch_rec *rec, uint32_t nparts,
		      unsigned stream)
{
	struct sp_batch_rec end;

	if (nparts == 0)
		return 0;
	end = abort_of(rec, nparts, stream);
	return put_record(p, &end, NULL, 0, ABORT_WAIT_NS);
}

/*
 * Reads a file of size bytes (as fstat says) whole into buf, and asks for
 * one byte more, which tells a file that grew since: returns size if that
 * byte was not there, more if it was, less if the file shrank, or -errno.
 * One readv() does both for a file that reads in one go, as files do: a
 * read of a regular file returns less than asked at its end, so a file
 * read whole costs one system call, not two.  A read cut short elsewhere
 * (a signal, a network file system) goes on in steps.
 */
static ssize_t read_whole(int fd, char *buf, size_t size)
{
	char extra;
	struct iovec iov[2] = { { buf, size }, { &extra, 1 } };
	ssize_t n, more;

	do
		n = readv(fd, iov, 2);
	while (n < 0 && errno == EINTR && !prog_stop);
	if (n < 0)
		return -errno;
	if (n > 0 && (size_t)n < size) {
		more = prog_read_full(fd, buf + n, size - (size_t)n);
		if (more < 0)
			return more;
		n += more;
		if ((size_t)n == size) {
			more = prog_read_full(fd, &extra, 1);
			if (more < 0)
				return more;
			n += more;
		}
	}
	return n;
}

int send_file(struct producer *p, int fd, const char *shown, const char *rel,
	      const struct stat *st)
{
	size_t path_len = strlen(rel);
	size_t chunk = chunk_for(p, path_len);
	uint64_t size = (uint64_t)st->st_size;
	struct sp_batch_rec rec;
	struct stat st2;
	ssize_t n;
	int rc;

	if (p->counting) {
		p->total_files++;
		p->total_bytes += size;
		return 0;
	}
	if (chunk == 0 || path_len > SP_BATCH_PATH_MAX) {
		file_failed(p, shown, p->broker ? "path too long for a record"
					      : "path too long for a record of this ring");
		return 0;
	}
	if (size > SP_BATCH_SIZE_MAX) {
		file_failed(p, shown, "file too large");
		return 0;
	}
	if (size <= chunk) {
		/* One self-contained record.  Without --lz4 the file is read
		 * straight into its reservation (a read from the page cache
		 * holds it for microseconds). */
		struct sp_msg m, *held = NULL;
		char *buf = p->buf;

		if (!p->lz4_level) {
			rc = out_reserve(p, (size_t)sp_batch_size(path_len, size), &m, 0);
			if (rc < 0)
				return rc;
			held = &m;
			buf = sp_batch_payload(m.data, path_len);
		}
		n = read_whole(fd, buf, (size_t)size);
		if (n < 0 || (uint64_t)n != size || fstat(fd, &st2) < 0 || changed(st, &st2)) {
			if (held)
				out_cancel(p, held);
			if (n == -EINTR && prog_stop)
				return -EINTR;
			file_failed(p, shown, n < 0 ? strerror((int)-n) : "file changed while being read");
			return 0;
		}
		fill_common(p, &rec, SP_BATCH_FILE, rel, st);
		rec.size = size;
		rec.part_hash = rec.file_hash = sp_batch_hash64(buf, (size_t)n, 0);
		rc = send_rec(p, &rec, buf, (size_t)n, held);
		if (rc == 0) {
			p->files++;
			p->bytes += size;
		}
		progress_update(p, 0);
		return rc;
	}

	/* Parts of `chunk` bytes, then an END with the tree hash of their
	 * checksums.  Memory stays at one chunk whatever the file's size. */
	struct sp_batch_hash h;
	uint64_t off = 0;
	uint32_t idx = 0;
	const char *why = NULL;

	if (size / chunk >= UINT32_MAX) {
		file_failed(p, shown, p->broker ? "file too large for --chunk"
					      : "file too large for this ring's record size");
		return 0;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	sp_batch_hash_init(&h, 0);
	fill_common(p, &rec, SP_BATCH_PART, rel, st);
	rec.size = size;
	while (off < size) {
		size_t want = size - off < chunk ? (size_t)(size - off) : chunk;
		struct sp_msg m, *held = NULL;
		char *buf = p->buf;

		/* Without --lz4, read straight into the part's reservation. */
		if (!p->lz4_level) {
			rc = out_reserve(p, (size_t)sp_batch_size(path_len, want), &m, 0);
			if (rc < 0) {
				if (rc == -EINTR)
					send_abort(p, &rec, idx, 0);
				return rc;
			}
			held = &m;
			buf = sp_batch_payload(m.data, path_len);
		}
		n = prog_read_full(fd, buf, want);
		if (n < 0 || (size_t)n < want) {
			if (held)
				out_cancel(p, held);
			if (n == -EINTR && prog_stop) {
				send_abort(p, &rec, idx, 0);
				return -EINTR;
			}
			why = n < 0 ? strerror((int)-n) : "file changed while being read (it shrank)";
			break;
		}
		if (off + want == size) {
			/* Before the last part goes out: did it grow or change? */
			char extra;

			if (prog_read_full(fd, &extra, 1) != 0 || fstat(fd, &st2) < 0 ||
			    changed(st, &st2)) {
				if (held)
					out_cancel(p, held);
				why = "file changed while being read";
				break;
			}
		}
		rec.type = SP_BATCH_PART;
		rec.flags = 0;
		rec.offset = off;
		rec.part = idx;
		rec.part_hash = sp_batch_hash64(buf, want, 0);
		sp_batch_tree_add(&h, rec.part_hash);
		rec.file_hash = 0;
		rc = send_rec(p, &rec, buf, want, held);
		if (rc < 0) {
			if (rc == -EINTR)
				send_abort(p, &rec, idx, 0);
			return rc;
		}
		off += want;
		idx++;
		p->bytes += want;
		progress_update(p, 0);
	}
	if (why) {
		file_failed(p, shown, why);
		p->bytes -= off;
		return send_abort(p, &rec, idx, 0);
	}
	rec.type = SP_BATCH_END;
	rec.flags = 0;
	rec.offset = 0;
	rec.part = 0;
	rec.nparts = idx;
	rec.part_hash = 0;
	rec.file_hash = sp_batch_hash_digest(&h);
	rc = put_record(p, &rec, NULL, 0, 0);
	if (rc == 0)
		p->files++;
	return rc;
}

/*
 * Fills buf with up to len bytes of a stream.  Returns early with what it
 * has when the input has nothing more ready, so that a slow writer upstream
 * is not held back by a chunk that never fills.  Returns the count, 0 at end
 * of input, or -errno.
 */
static ssize_t fill_stream(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		if (n > 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (poll(&pfd, 1, 0) == 0)
				break;
		}
		ssize_t r = read(fd, buf + n, len - n);

		if (r < 0) {
			if (errno == EINTR && !prog_stop)
				continue;
			if (n > 0 && errno == EINTR)
				break;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/*
 * Waits until the stream has something to read (data, its end or an
 * error), so that the record reserved next is not held while the writer
 * upstream is silent: records that other producers reserve after it wait
 * behind it.  Returns 0, or -EINTR when stopped by a signal.
 */
static int wait_input(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (prog_stop)
			return -EINTR;
		/* In slices: a signal just before poll() is seen next time. */
		int n = poll(&pfd, 1, (int)(SLICE_NS / 1000000));

		if (n > 0 || (n < 0 && errno != EINTR))
			return 0;       /* read() tells what it is */
	}
}

/*
 * Sends a stream in parts, then an END with the tree hash of their
 * checksums, or an END that withdraws it.  Without --lz4, every part is
 * read straight into a record reserved for a whole chunk and shrunk at
 * commit: no copy in between.  Once a record is held, the END goes into
 * it, whatever ends the stream; a stream that fails before its first byte
 * cancels the reservation and sends nothing.
 */
int send_stream(struct producer *p, int fd, const char *rel)
{
	size_t path_len = strlen(rel);
	size_t chunk = chunk_for(p, path_len);
	struct sp_batch_rec rec, end;
	struct sp_batch_hash h;
	uint64_t off = 0;
	uint32_t idx = 0;
	struct stat st;
	int rc, regular, trickle = 0;

	if (p->counting)
		return 0;
	if (chunk == 0) {
		file_failed(p, "-", p->broker ? "name too long for a record"
					    : "name too long for a record of this ring");
		return 0;
	}
	/* Parts of at most a sixteenth of the ring (a quarter of its largest
	 * record), so that several are in flight whatever the ring's size:
	 * producer and consumer then work at once rather than in turns.  With
	 * the 4M ring a stream gets by default, 256K parts, which stay in the
	 * caches between the read, both hashes and the write. */
	if (chunk > p->max_record / 4 && p->max_record / 4 > 0)
		chunk = p->max_record / 4;
	if (fstat(fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	regular = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
	/* A pipe's default 64K buffer makes the writer upstream and us take
	 * turns every 64K; room for a part lets both run.  Best effort: an
	 * unprivileged user may be refused more than pipe-max-size. */
	if (S_ISFIFO(st.st_mode))
		fcntl(fd, F_SETPIPE_SZ, (int)(chunk < PIPE_MAX ? chunk : PIPE_MAX));
	/* A stream has no mode or time of its own: a regular file, 0644, now. */
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	fill_common(p, &rec, SP_BATCH_PART, rel, &st);
	sp_batch_hash_init(&h, 0);
	for (;;) {
		struct sp_msg m, *held = NULL;
		char *buf = p->buf;
		ssize_t n;

		/* Straight into a reservation of a whole part, unless the
		 * input trickles (its last read filled less than a sixteenth
		 * of a part, as a slow pipe's do): a part reserved whole but
		 * committed small holds the whole reservation in the ring until
		 * it is read, which other producers of the ring pay for; a
		 * small part is cheap to copy. */
		if (!p->lz4_level && !trickle) {
			/* A regular file is always ready: no poll. */
			rc = regular ? 0 : wait_input(fd);
			if (rc == 0)
				rc = out_reserve(p, (size_t)sp_batch_size(path_len, chunk), &m, 0);
			if (rc < 0) {
				if (rc == -EINTR) {
					rec.size = off;
					send_abort(p, &rec, idx, SP_BATCH_F_STREAM);
				}
				return rc;
			}
			held = &m;
			buf = sp_batch_payload(m.data, path_len);
		}
		n = fill_stream(fd, buf, chunk);
		if (n == 0) {
			rec.type = SP_BATCH_END;
			rec.flags = SP_BATCH_F_STREAM;
			rec.size = off;
			rec.offset = 0;
			rec.part = 0;
			rec.nparts = idx;
			rec.part_hash = 0;
			rec.file_hash = sp_batch_hash_digest(&h);
			rc = send_rec(p, &rec, NULL, 0, held);
			if (rc == 0)
				p->files++;
			return rc;
		}
		if (n < 0 || idx == UINT32_MAX || off + (uint64_t)n > SP_BATCH_SIZE_MAX) {
			int stopped = n == -EINTR && prog_stop;

			if (!stopped)
				file_failed(p, "-", n < 0 ? strerror((int)-n) : "stream too long");
			rec.size = off;
			if (held && idx == 0) {
				/* Failed before its first byte: nothing was sent,
				 * nothing is. */
				rc = out_cancel(p, held);
				if (rc < 0)
					out_failed(p, "cancel", rc);
			} else if (held) {
				end = abort_of(&rec, idx, SP_BATCH_F_STREAM);
				rc = send_rec(p, &end, NULL, 0, held);
			} else {
				rc = send_abort(p, &rec, idx, SP_BATCH_F_STREAM);
			}
			return stopped ? -EINTR : rc;
		}
		rec.type = SP_BATCH_PART;
		rec.flags = SP_BATCH_F_STREAM;
		rec.size = 0;
		rec.offset = off;
		rec.part = idx;
		rec.part_hash = sp_batch_hash64(buf, (size_t)n, 0);
		sp_batch_tree_add(&h, rec.part_hash);
		rc = send_rec(p, &rec, buf, (size_t)n, held);
		if (rc < 0) {
			if (rc == -EINTR) {
				rec.size = off;
				send_abort(p, &rec, idx, SP_BATCH_F_STREAM);
			}
			return rc;
		}
		off += (uint64_t)n;
		idx++;
		p->bytes += (uint64_t)n;
		trickle = !regular && (size_t)n < chunk / 16;
		progress_update(p, 0);
		if (prog_stop) {
			rec.size = off;
			send_abort(p, &rec, idx, SP_BATCH_F_STREAM);
			return -EINTR;
		}
	}
}
