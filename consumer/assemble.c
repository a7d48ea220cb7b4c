/* assemble.c: files that travel in parts, put together by whichever workers take the parts. */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A file of N parts is N PART records and one END record, each taken by any
 * worker of any consumer process sharing the output directory.  Hidden files
 * in that directory, named from the file id (producer run, file number),
 * hold it while it travels:
 *
 *   .shmpipe.<run>-<seq>.tmp    the content: each part pwrite()n at its
 *                               offset (opened O_CREAT, never truncated)
 *   .shmpipe.<run>-<seq>.tmp.z  with -z: the LZ4 frames of the parts, in
 *                               order; the .tmp then only holds frames that
 *                               came early, each in a slot computed from
 *                               its offset, until their turn.  With -d,
 *                               where unnamed files cannot be made: the
 *                               content the .tmp's frames hold, decoded
 *                               when the file is finished
 *   .shmpipe.<run>-<seq>.prog   the progress file: a header, then one entry
 *                               per part (checksum, offsets, lengths, state)
 *
 * Lock rules: the progress file, and with -z the .tmp.z, are written only
 * under an exclusive flock(2) on the progress file; without -z a part's
 * bytes are written into the .tmp under a shared flock on it, so parts are
 * written in parallel but never while the file is being finished.  flock,
 * not fcntl locks: it is held by the open file description, so it works the
 * same between forked workers and unrelated consumer processes, a close()
 * elsewhere in the process does not drop it, and the kernel drops it when
 * the holder dies.  A worker holds one such lock at a time and takes no
 * other lock while holding it (going from shared to exclusive on the same
 * file releases the shared lock first, so two workers doing it cannot
 * deadlock).
 *
 * Without -z a part's bytes are written at their offset before its entry,
 * so when its entry is in, its bytes are.  With -z a part is compressed into
 * a frame of its own before the lock (the costly step runs in parallel);
 * under the lock the frame is appended to the .tmp.z if it is the next one
 * in order, followed by any early frames it unblocks, or else parked in its
 * slot of the .tmp.  LZ4 frames concatenate: `lz4 -d` reads the .tmp.z as
 * one stream.
 *
 * The worker that completes the count (the last part or the END, in
 * whatever order they come) checks the entries (tree hash against the END's,
 * offsets contiguous from 0 to the size, every frame appended), finishes the
 * file while still holding the lock, removes the content helpers, and
 * leaves the progress file as a small tombstone marked DONE.  Nothing is
 * read back: each part was checked against its own checksum as it arrived,
 * and the tree hash proves the set and the order.
 *
 * Crashes.  A worker may be killed at any instruction, and the record it
 * held is then delivered again, to another worker, which must reach the
 * same result.  So every step is idempotent:
 *  - a part's bytes are the same bytes at the same offset, whoever writes
 *    them, as often as they are written; with -z a frame is written at a
 *    place the header or the entry fixes before the entry says it is there;
 *  - the header is marked BUSY (one small write) before anything changes
 *    under the lock, and unmarked with the last write.  The next holder of
 *    the lock who finds it BUSY knows a holder died half-way: the entries
 *    are the truth (each is written after what it describes), so it counts
 *    again from them the distinct parts, and with -z the frames appended
 *    and their bytes, and appends the parked frames whose turn had come;
 *  - finishing is marked FINISHING first.  A finisher that died after the
 *    rename leaves no content file behind it: the next one, finding
 *    FINISHING and no content file, knows the file is in place;
 *  - the tombstone stays until the batch is over, so that a part or an END
 *    delivered again after its file was finished (its first reader died
 *    before releasing it) finds DONE and does nothing, instead of starting
 *    a new file that could never complete.
 *
 * A second lock, a shared flock on the output directory itself held by
 * every consumer while it works, tells the last one out: it alone can take
 * it exclusively, and then, if the batch is over, sweeps what nobody can
 * complete any more.  A consumer that stops before the end (a signal, a
 * crash, a full disk) keeps the partly assembled files: a consumer that
 * resumes the batch on the same ring and directory completes them.
 */

#define PROG_MAGIC 0x47525053u   /* "SPRG" */
#define P_END 0x1u               /* END seen: nparts, size, hash are known */
#define P_ABORTED 0x2u           /* the producer withdrew the file */
#define P_DONE 0x4u              /* finished (placed, run, or discarded) */
#define P_BUSY 0x8u              /* being changed under the lock */
#define P_FINISHING 0x10u        /* complete, being finished */
#define ENTRY_OFF 8192

/* Native layout: the file never leaves this machine. */
struct prog_hdr {
	uint32_t magic;
	uint32_t flags;
	uint64_t nparts;         /* parts the END announced */
	uint64_t done;           /* distinct parts written */
	uint64_t size;
	uint64_t file_hash;
	uint64_t next;           /* -z: frames appended to the .tmp.z so far */
	uint64_t zbytes;         /* -z: bytes of the .tmp.z */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t mode;
	uint32_t path_len;
	uint32_t stream;
	char path[SP_BATCH_PATH_MAX + 1];   /* written once, when the file is made */
};
_Static_assert(sizeof(struct prog_hdr) <= ENTRY_OFF, "progress header fits");

/* The fields that change: updates write only these.  A tombstone (DONE) is
 * the file cut to this size. */
#define HDR_FIXED offsetof(struct prog_hdr, path)

enum { E_ABSENT, E_WRITTEN, E_PARKED, E_APPENDED };

/* One part, at ENTRY_OFF + part * sizeof(struct entry); all zero until the
 * part arrives. */
struct entry {
	uint64_t hash;           /* its checksum (XXH64 of the raw bytes) */
	uint64_t offset;         /* in the file */
	uint64_t slot;           /* E_PARKED: where its frame waits in the .tmp */
	uint32_t raw_len;        /* its length in the file */
	uint32_t len;            /* the length of its frame (-z) */
	uint32_t state;          /* E_* */
	uint32_t pad;
};

/* Where part `part` at `offset` waits in the .tmp with -z: far enough from
 * its neighbours for any LZ4 frame of it (at most 1/255 larger, plus
 * headers, far below 1/128 plus 1K). */
static uint64_t zslot(uint64_t offset, uint32_t part)
{
	return offset + offset / 128 + (uint64_t)part * 1024;
}

/* Reads len bytes at off.  Returns 1, 0 if there is nothing at off,
 * -EBADMSG if there is less than len, or -errno. */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = prog_pread_full(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 1 : n == 0 ? 0 : -EBADMSG;
}

static int lock(int fd, int how)
{
	while (flock(fd, how) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static off_t entry_at(uint64_t part)
{
	return ENTRY_OFF + (off_t)(part * sizeof(struct entry));
}

/* Reads the progress header.  Returns 1, 0 for a new file, or -errno
 * (-EBADMSG: not a progress file of ours).  The first write of a header is
 * whole, and is the first write to the file; a worker killed during it
 * leaves a beginning of it (writes stop at page boundaries), with no entry
 * behind: a new file still.  Later writes change only the fixed part, in
 * one page.  A tombstone (DONE) is the fixed part alone. */
static int read_hdr(int pfd, struct prog_hdr *h)
{
	ssize_t n;

	do
		n = pread(pfd, h, sizeof(*h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h->magic))
		return 0;
	if (h->magic != PROG_MAGIC)
		return -EBADMSG;
	if ((size_t)n < sizeof(*h)) {
		if ((size_t)n < HDR_FIXED || !(h->flags & P_DONE))
			return 0;
		h->path_len = 0;        /* a tombstone keeps no path */
	}
	if (h->path_len > SP_BATCH_PATH_MAX)
		return -EBADMSG;
	h->path[h->path_len] = 0;
	return 1;
}

/* Writes the header: whole when the file is new, else its changing part. */
static int write_hdr(int pfd, const struct prog_hdr *h, int whole)
{
	return prog_pwrite_full(pfd, h, whole ? sizeof(*h) : HDR_FIXED, 0);
}

/* Checks the entries of a complete file: each present, offsets contiguous
 * from 0 to the size, tree hash equal to the END's.  Returns 0, -EBADMSG
 * with *why set, or -errno. */
static int check_entries(struct worker *w, int pfd, const struct prog_hdr *h, const char **why)
{
	const size_t per = IO_BUF / sizeof(struct entry);
	struct entry *e = (struct entry *)(void *)w->io;
	struct sp_batch_hash hs;
	uint64_t off = 0;
	int rc;

	*why = "parts missing";
	sp_batch_hash_init(&hs, 0);
	for (uint64_t i = 0; i < h->nparts; i += per) {
		size_t n = h->nparts - i < per ? (size_t)(h->nparts - i) : per;

		rc = pread_full(pfd, e, n * sizeof(*e), entry_at(i));
		if (rc <= 0)
			return rc < 0 ? rc : -EBADMSG;
		for (size_t k = 0; k < n; k++) {
			if (e[k].state == E_ABSENT)
				return -EBADMSG;
			if (e[k].raw_len == 0 || e[k].offset != off) {
				*why = "parts overlap or leave a gap";
				return -EBADMSG;
			}
			off += e[k].raw_len;
			sp_batch_tree_add(&hs, e[k].hash);
		}
	}
	*why = "parts do not add up to the file's size";
	if (off != h->size)
		return -EBADMSG;
	*why = "parts do not match the file's checksum";
	if (sp_batch_hash_digest(&hs) != h->file_hash)
		return -EBADMSG;
	return 0;
}

/* Copies len bytes at `from` in fd to `*to` in zfd, in the kernel where it
 * can; advances *to. */
static int copy_range(struct worker *w, int fd, uint64_t from, int zfd, uint64_t *to,
		      uint64_t len)
{
	loff_t in = (loff_t)from, out = (loff_t)*to;

	while (len) {
		ssize_t n = copy_file_range(fd, &in, zfd, &out, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP)) {
			size_t take = len < IO_BUF ? (size_t)len : IO_BUF;
			int rc = pread_full(fd, w->io, take, (off_t)in);

			if (rc <= 0)
				return rc < 0 ? rc : -EBADMSG;
			rc = prog_pwrite_full(zfd, w->io, take, (off_t)out);
			if (rc < 0)
				return rc;
			n = (ssize_t)take;
			in += n;
			out += n;
		} else if (n < 0) {
			return -errno;
		} else if (n == 0) {
			return -EBADMSG;   /* the .tmp is shorter than its entries say */
		}
		len -= (uint64_t)n;
	}
	*to = (uint64_t)out;
	return 0;
}

static int open_at_root(struct worker *w, const char *name, int flags)
{
	int fd = openat(w->pool->rootfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

/*
 * -z, under the progress lock: appends to the .tmp.z (open as zfd, or -1 to
 * open it here) every parked frame whose turn has come, writing each entry
 * it changes and advancing h->next and h->zbytes (the caller writes the
 * header).  Returns 0 or -errno.
 */
static int z_drain(struct worker *w, int pfd, struct prog_hdr *h, const char *tmp, int zfd)
{
	char ztmp[80];
	int fd = -1, own = zfd < 0, rc = 0;

	while (rc == 0) {
		struct entry n;

		rc = pread_full(pfd, &n, sizeof(n), entry_at(h->next));
		if (rc <= 0 || n.state != E_PARKED) {
			rc = rc < 0 ? rc : 0;
			break;
		}
		if (zfd < 0) {
			snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
			zfd = open_at_root(w, ztmp, O_WRONLY | O_CREAT);
			if (zfd < 0) {
				rc = zfd;
				break;
			}
		}
		if (fd < 0 && (fd = open_at_root(w, tmp, O_RDONLY)) < 0) {
			rc = fd;
			break;
		}
		uint64_t to = h->zbytes;

		rc = copy_range(w, fd, n.slot, zfd, &to, n.len);
		if (rc == 0) {
			n.state = E_APPENDED;
			rc = prog_pwrite_full(pfd, &n, sizeof(n), entry_at(h->next));
		}
		if (rc == 0) {
			h->zbytes = to;
			h->next++;
		}
	}
	if (fd >= 0)
		close(fd);
	if (own && zfd >= 0)
		close(zfd);
	return rc;
}

/*
 * -z, under the progress lock: appends part `part`'s frame to the .tmp.z if
 * its turn has come, then every parked frame that follows it; otherwise
 * parks it in the .tmp.  Writes the entries it changes; the caller writes
 * the header.  Returns 0 or -errno.
 */
static int z_place(struct worker *w, int pfd, struct prog_hdr *h, const char *tmp,
		   uint32_t part, struct entry *e, const void *frame)
{
	char ztmp[80];
	int zfd, fd, rc;

	if (part != h->next) {
		fd = open_at_root(w, tmp, O_RDWR | O_CREAT);
		if (fd < 0)
			return fd;
		e->slot = zslot(e->offset, part);
		e->state = E_PARKED;
		rc = prog_pwrite_full(fd, frame, e->len, (off_t)e->slot);
		close(fd);
		return rc < 0 ? rc : prog_pwrite_full(pfd, e, sizeof(*e), entry_at(part));
	}
	snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
	zfd = open_at_root(w, ztmp, O_WRONLY | O_CREAT);
	if (zfd < 0)
		return zfd;
	/* At h->zbytes: a frame left there by a worker that died before its
	 * entry said APPENDED is overwritten. */
	rc = prog_pwrite_full(zfd, frame, e->len, (off_t)h->zbytes);
	if (rc == 0) {
		e->state = E_APPENDED;
		rc = prog_pwrite_full(pfd, e, sizeof(*e), entry_at(part));
	}
	if (rc == 0) {
		h->zbytes += e->len;
		h->next++;
		rc = z_drain(w, pfd, h, tmp, zfd);
	}
	close(zfd);
	return rc;
}

/*
 * A holder of the lock died while changing the file (BUSY was set): counts
 * again from the entries, which are written after what they describe, the
 * distinct parts and, with -z, the frames appended in order and their
 * bytes; then appends the parked frames whose turn has come.  Returns 0 or
 * -errno.
 */
static int recover(struct worker *w, int pfd, struct prog_hdr *h, const char *tmp)
{
	const size_t per = IO_BUF / sizeof(struct entry);
	struct entry *e = (struct entry *)(void *)w->io;
	uint64_t n, done = 0, next = 0, zbytes = 0;
	int in_order = 1, rc;
	struct stat st;

	if (fstat(pfd, &st) < 0)
		return -errno;
	/* A part of an entry (a write cut short by the death) is no entry. */
	n = st.st_size > ENTRY_OFF ? ((uint64_t)st.st_size - ENTRY_OFF) / sizeof(struct entry) : 0;
	for (uint64_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? (size_t)(n - i) : per;

		rc = pread_full(pfd, e, k * sizeof(*e), entry_at(i));
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		for (size_t j = 0; j < k; j++) {
			done += e[j].state != E_ABSENT;
			if (in_order && e[j].state == E_APPENDED) {
				next++;
				zbytes += e[j].len;
			} else {
				in_order = 0;
			}
		}
	}
	h->done = done;
	if (w->opt->action == ACT_OUT && w->opt->compress) {
		h->next = next;
		h->zbytes = zbytes;
		return z_drain(w, pfd, h, tmp, -1);
	}
	return 0;
}

/*
 * Finishes a complete file: checked, then placed or run.  Called with the
 * progress lock held; removes the content helpers in every case but one.
 * again: a finisher died on this file before (FINISHING was set); if the
 * content file is gone, it had placed it.  Returns 0, or, with --broker,
 * -EINTR when a stop interrupted the -x command: the content stays and
 * the file is not done, since its records are still on the server, for
 * the consumer that takes them again.
 */
static int finish(struct worker *w, int pfd, const struct prog_hdr *h, const char *tmp,
		  int again)
{
	struct sp_batch_rec r;
	const char *path = h->path, *why = "";
	char ztmp[80];
	int rc, fd = -1;

	snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
	if (h->flags & P_ABORTED) {
		unlinkat(w->pool->rootfd, tmp, 0);
		unlinkat(w->pool->rootfd, ztmp, 0);
		COUNT(w, withdrawn, 1);
		if (!w->opt->o.quiet && !again)
			prog_warnpath(path, "discarded", "the producer withdrew it");
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.mode = h->mode;
	r.mtime_sec = h->mtime_sec;
	r.mtime_nsec = h->mtime_nsec;
	r.size = h->size;

	rc = check_entries(w, pfd, h, &why);
	if (rc == 0 && w->opt->action == ACT_OUT && w->opt->compress) {
		fd = open_at_root(w, ztmp, O_WRONLY | (h->nparts == 0 ? O_CREAT : 0));
		if (fd == -ENOENT && again) {
			unlinkat(w->pool->rootfd, tmp, 0);
			return 0;       /* placed by the finisher that died */
		}
		unlinkat(w->pool->rootfd, tmp, 0);    /* parked frames, all copied out */
		if (fd < 0) {
			rc = fd;
		} else if (h->next != h->nparts) {
			rc = -EBADMSG;
			why = "frames missing";
		} else if (h->nparts == 0) {
			/* An empty stream: the frame of nothing. */
			long long n = lz4_frame(w, "", 0, w->zpart, w->zpart_size);

			rc = n < 0 ? (int)n : ftruncate(fd, 0) < 0 ? -errno
					  : prog_write_full(fd, w->zpart, (size_t)n);
			if (rc == 0 && out_place_tmp(w, w->pool->rootfd, ztmp, fd, &r, path) == 0)
				COUNT(w, bytes_out, (uint64_t)n);
			if (rc == 0)
				return 0;
		} else if (ftruncate(fd, (off_t)h->zbytes) < 0) {
			/* Beyond zbytes: a frame half-written by a worker
			 * that died, overwritten since by a shorter one. */
			rc = -errno;
		} else {
			if (out_place_tmp(w, w->pool->rootfd, ztmp, fd, &r, path) == 0)
				COUNT(w, bytes_out, h->zbytes);
			return 0;
		}
		tmp = ztmp;
	} else if (rc == 0) {
		struct stat st;

		fd = open_at_root(w, tmp, O_RDWR | (h->size == 0 ? O_CREAT : 0));
		if (fd == -ENOENT && again)
			return 0;       /* placed, or run and removed, before */
		if (fd < 0)
			rc = fd;
		else if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != h->size) {
			rc = -EBADMSG;
			why = "the assembled content is not the file's size";
		}
		else if (w->opt->action == ACT_OUT && w->opt->decompress) {
			/* The frames, put together, are decoded into the
			 * file; the .tmp.z holds it where there are no
			 * unnamed files.  Either way the .tmp goes after. */
			out_restore(w, fd, h->size, ztmp, &r, path);
			close(fd);
			unlinkat(w->pool->rootfd, tmp, 0);
			unlinkat(w->pool->rootfd, ztmp, 0);
			return 0;
		} else if (w->opt->action == ACT_OUT) {
			if (out_place_tmp(w, w->pool->rootfd, tmp, fd, &r, path) == 0)
				COUNT(w, bytes_out, h->size);
			return 0;
		} else if (exec_run(w, &r, path, NULL, h->size, fd) == -EINTR && w->opt->broker) {
			/* On the broker the file's records stay until it is
			 * acknowledged: kept whole, FINISHING, it is run again
			 * by the consumer that re-reads them.  The parts are
			 * gone from a ring: there -EINTR is dropped. */
			close(fd);
			return -EINTR;
		}
	}
	if (fd >= 0)
		close(fd);
	unlinkat(w->pool->rootfd, tmp, 0);
	unlinkat(w->pool->rootfd, ztmp, 0);
	if (rc == -EBADMSG) {
		COUNT(w, bad, 1);
		prog_warnpath(path, "discarded", why);
	} else if (rc < 0) {
		note_write_error(w, -rc);
		prog_warnpath(path, "write", strerror(-rc));
	}
	return 0;
}

/*
 * Records one PART (e != NULL; frame is its LZ4 frame with -z) or the END
 * (e == NULL) in the progress file, and finishes the file if that completed
 * it.  pfd: the progress file, open and locked shared by the caller, or -1
 * to open it here.  Closes it.  Returns 0, or -EINTR when finishing was
 * interrupted and the record is to be given up (finish()).
 */
static int progress(struct worker *w, const struct sp_batch_rec *r, const char *path,
		    struct entry *e, const void *frame, int pfd)
{
	char tmp[64], prog[64];
	struct prog_hdr h;
	int rc, fresh = 0, stopped = 0;

	sp_batch_tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
	sp_batch_tmp_name(prog, sizeof(prog), r->run, r->seq, ".prog");
	if (pfd < 0)
		pfd = open_at_root(w, prog, O_RDWR | O_CREAT);
	rc = pfd < 0 ? pfd : lock(pfd, LOCK_EX);
	if (rc < 0) {
		note_write_error(w, -rc);
		prog_warnpath(path, "progress file", strerror(-rc));
		goto out;
	}
	rc = read_hdr(pfd, &h);
	if (rc == 0) {
		memset(&h, 0, sizeof(h));
		h.magic = PROG_MAGIC;
		h.path_len = (uint32_t)strlen(path);
		memcpy(h.path, path, h.path_len + 1);
		h.size = r->size;
		h.mode = r->mode;
		h.mtime_sec = r->mtime_sec;
		h.mtime_nsec = r->mtime_nsec;
		fresh = 1;
	} else if (rc < 0) {
		COUNT(w, write_failed, 1);
		prog_warnpath(path, "progress file", rc == -EBADMSG ? "unreadable or not ours"
							       : strerror(-rc));
		goto out;
	}
	if (h.flags & P_DONE)
		goto out;       /* delivered again after its file was finished */
	if ((h.flags & P_BUSY) && (rc = recover(w, pfd, &h, tmp)) < 0) {
		note_write_error(w, -rc);
		prog_warnpath(path, "progress file", strerror(-rc));
		goto out;
	}
	h.flags |= P_BUSY;
	if ((rc = write_hdr(pfd, &h, fresh)) < 0) {
		note_write_error(w, -rc);
		prog_warnpath(path, "progress file", strerror(-rc));
		goto out;
	}
	if (e) {
		struct entry old;

		/* Past the end of the file reads nothing: a new part.  A part
		 * delivered twice counts once. */
		rc = pread_full(pfd, &old, sizeof(old), entry_at(r->part));
		if (rc == 0 || (rc > 0 && old.state == E_ABSENT)) {
			if (frame)
				rc = z_place(w, pfd, &h, tmp, r->part, e, frame);
			else
				rc = prog_pwrite_full(pfd, e, sizeof(*e), entry_at(r->part));
			h.done += rc == 0;
		}
		if (rc < 0) {
			/* BUSY stays set: the next holder counts again. */
			note_write_error(w, -rc);
			prog_warnpath(path, "part", strerror(-rc));
			goto out;
		}
	} else {
		h.flags |= P_END;
		if (r->flags & SP_BATCH_F_ABORTED)
			h.flags |= P_ABORTED;
		h.nparts = r->nparts;
		h.size = r->size;
		h.file_hash = r->file_hash;
		h.mode = r->mode;
		h.mtime_sec = r->mtime_sec;
		h.mtime_nsec = r->mtime_nsec;
		h.stream = (r->flags & SP_BATCH_F_STREAM) != 0;
	}
	if ((h.flags & P_END) && h.done == h.nparts) {
		/* Complete.  DONE is written after the work, so that a worker
		 * dying half-way leaves the file to the reader its record is
		 * given to next. */
		int again = (h.flags & P_FINISHING) != 0;

		h.flags |= P_FINISHING;
		if ((again || write_hdr(pfd, &h, 0) == 0) &&
		    finish(w, pfd, &h, tmp, again) == -EINTR) {
			/* Not done: FINISHING stays, for whoever runs it next. */
			h.flags &= ~P_BUSY;
			write_hdr(pfd, &h, 0);
			stopped = -EINTR;
			goto out;
		}
		h.flags = (h.flags & ~(P_BUSY | P_FINISHING)) | P_DONE;
		/* DONE before the cut: a cut header without DONE is unreadable.
		 * If the cut fails, the whole file marked DONE is a tombstone
		 * too, only larger. */
		if (write_hdr(pfd, &h, 0) == 0)
			rc = ftruncate(pfd, (off_t)HDR_FIXED);
	} else {
		h.flags &= ~P_BUSY;
		if ((rc = write_hdr(pfd, &h, 0)) < 0) {
			note_write_error(w, -rc);
			prog_warnpath(path, "progress file", strerror(-rc));
		}
	}
out:
	if (pfd >= 0)
		close(pfd);     /* drops the lock */
	return stopped;
}

int asm_part(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content)
{
	struct entry e = { .hash = r->part_hash, .offset = r->offset, .raw_len = r->raw_len,
			   .len = r->raw_len, .state = E_WRITTEN };
	char tmp[64], prog[64];
	struct prog_hdr h;
	int fd, pfd, rc;

	if (w->opt->action == ACT_OUT && w->opt->compress) {
		long long n = lz4_frame(w, content, r->raw_len, w->zpart, w->zpart_size);

		if (n < 0 || (uint64_t)n > zslot(r->offset + r->raw_len, r->part + 1) -
						   zslot(r->offset, r->part)) {
			COUNT(w, write_failed, 1);
			prog_warnpath(path, "compress", strerror(EIO));
			return 0;
		}
		e.len = (uint32_t)n;
		return progress(w, r, path, &e, w->zpart, -1);
	}
	/* The bytes go in under a shared lock: never into a file that is
	 * being finished, or that is finished (its content file renamed into
	 * place: writing into it would change its time). */
	sp_batch_tmp_name(prog, sizeof(prog), r->run, r->seq, ".prog");
	pfd = open_at_root(w, prog, O_RDWR | O_CREAT);
	rc = pfd < 0 ? pfd : lock(pfd, LOCK_SH);
	if (rc == 0) {
		rc = read_hdr(pfd, &h);
		if (rc > 0 && (h.flags & P_DONE)) {
			close(pfd);
			return 0;       /* delivered again after its file was finished */
		}
		/* Complete, and its finisher died (it would hold the lock
		 * exclusively): its content may be in place already, and a
		 * new .tmp made here would be taken for it.  The bytes are
		 * in; progress() finishes the file. */
		if (rc > 0 && (h.flags & P_FINISHING))
			return progress(w, r, path, &e, NULL, pfd);
		rc = rc == -EBADMSG ? 0 : rc;   /* progress() reports it */
	}
	sp_batch_tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
	fd = rc < 0 ? rc : open_at_root(w, tmp, O_RDWR | O_CREAT);
	if (fd < 0) {
		note_write_error(w, -fd);
		prog_warnpath(path, "create", strerror(-fd));
		if (pfd >= 0)
			close(pfd);
		return 0;
	}
	rc = prog_pwrite_full(fd, content, r->raw_len, (off_t)r->offset);
	close(fd);
	if (rc < 0) {
		note_write_error(w, -rc);
		prog_warnpath(path, "write", strerror(-rc));
		close(pfd);
		return 0;
	}
	return progress(w, r, path, &e, NULL, pfd);
}

int asm_end(struct worker *w, const struct sp_batch_rec *r, const char *path)
{
	return progress(w, r, path, NULL, NULL, -1);
}

int asm_sweep(int rootfd, int full, int quiet, uint64_t *incomplete)
{
	int removed = journal_sweep(rootfd);
	int dfd = full ? openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return removed;
	}
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t len = strlen(n);

		if (!sp_batch_reserved(n))
			continue;
		if (len > 5 && strcmp(n + len - 5, ".prog") == 0) {
			struct prog_hdr h;
			int fd = openat(rootfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0 && read_hdr(fd, &h) == 1 && !(h.flags & (P_DONE | P_ABORTED))) {
				char why[96];

				if (h.flags & P_FINISHING) {
					prog_warnpath(h.path, "incomplete", "its worker died finishing it");
					++*incomplete;
				} else if (h.flags & P_END) {
					snprintf(why, sizeof(why), "%llu of %llu parts arrived",
						 (unsigned long long)h.done,
						 (unsigned long long)h.nparts);
					prog_warnpath(h.path, "incomplete", why);
					++*incomplete;
				} else if (!quiet) {
					prog_warnpath(h.path, "discarded",
						      "its producer did not finish sending it");
				}
			}
			if (fd >= 0)
				close(fd);
		}
		if (unlinkat(rootfd, n, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
