/* assemble.c: files that travel in parts, put together by whichever workers take the parts. */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
 *                               its offset, until their turn
 *   .shmpipe.<run>-<seq>.prog   the progress file: a header, then one entry
 *                               per part (checksum, offsets, lengths, state)
 *
 * Lock rules: the progress file, and with -z the .tmp.z, are written only
 * under an exclusive flock(2) on the progress file.  flock, not fcntl
 * locks: it is held by the open file description, so it works the same
 * between forked workers and unrelated consumer processes, a close()
 * elsewhere in the process does not drop it, and the kernel drops it when
 * the holder dies.  A worker holds one such lock at a time and takes no
 * other lock while holding it.
 *
 * Without -z a part's bytes are written at their offset before the lock is
 * taken, so when its entry is in, its bytes are.  With -z a part is
 * compressed into a frame of its own before the lock (the costly step runs
 * in parallel); under the lock the frame is appended to the .tmp.z if it is
 * the next one in order, followed by any early frames it unblocks, or else
 * parked in its slot of the .tmp.  LZ4 frames concatenate: `lz4 -d` reads
 * the .tmp.z as one stream.
 *
 * The worker that completes the count (the last part or the END, in
 * whatever order they come) checks the entries (tree hash against the END's,
 * offsets contiguous from 0 to the size, every frame appended), finishes the
 * file while still holding the lock, marks the header DONE, and removes the
 * helper names.  Nothing is read back: each part was checked against its own
 * checksum as it arrived, and the tree hash proves the set and the order.
 *
 * A second lock, a shared flock on the output directory itself held by
 * every consumer while it works, tells the last one out: it alone can take
 * it exclusively, and then sweeps what nobody can complete any more.
 */

#define PROG_MAGIC 0x47525053u   /* "SPRG" */
#define P_END 0x1u               /* END seen: nparts, size, hash are known */
#define P_ABORTED 0x2u           /* the producer withdrew the file */
#define P_DONE 0x4u              /* finished (placed, run, or discarded) */
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
	char path[SP_BATCH_PATH_MAX + 1];
};
_Static_assert(sizeof(struct prog_hdr) <= ENTRY_OFF, "progress header fits");

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

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t n = 0;

	while (n < len) {
		ssize_t r = pread(fd, p + n, len - n, off + (off_t)n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (int)(n == len ? 1 : n == 0 ? 0 : -EBADMSG);
}

static int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

static int lock_ex(int fd)
{
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static off_t entry_at(uint64_t part)
{
	return ENTRY_OFF + (off_t)(part * sizeof(struct entry));
}

/* Checks the entries of a complete file: each present, offsets contiguous
 * from 0 to the size, tree hash equal to the END's.  Returns 0, -EBADMSG,
 * or -errno. */
static int check_entries(struct consumer *c, int pfd, const struct prog_hdr *h)
{
	const size_t per = IO_BUF / sizeof(struct entry);
	struct entry *e = (struct entry *)(void *)c->io;
	struct sp_batch_hash hs;
	uint64_t off = 0;
	int rc;

	sp_batch_hash_init(&hs, 0);
	for (uint64_t i = 0; i < h->nparts; i += per) {
		size_t n = h->nparts - i < per ? (size_t)(h->nparts - i) : per;

		rc = pread_full(pfd, e, n * sizeof(*e), entry_at(i));
		if (rc <= 0)
			return rc < 0 ? rc : -EBADMSG;
		for (size_t k = 0; k < n; k++) {
			if (e[k].state == E_ABSENT || e[k].raw_len == 0 || e[k].offset != off)
				return -EBADMSG;
			off += e[k].raw_len;
			sp_batch_tree_add(&hs, e[k].hash);
		}
	}
	if (off != h->size || sp_batch_hash_digest(&hs) != h->file_hash)
		return -EBADMSG;
	return 0;
}

/* Copies len bytes at `from` in fd to `*to` in zfd, in the kernel where it
 * can; advances *to. */
static int copy_range(struct consumer *c, int fd, uint64_t from, int zfd, uint64_t *to,
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
			int rc = pread_full(fd, c->io, take, (off_t)in);

			if (rc <= 0)
				return rc < 0 ? rc : -EBADMSG;
			rc = pwrite_full(zfd, c->io, take, (off_t)out);
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

static int open_at_root(struct consumer *c, const char *name, int flags)
{
	int fd = openat(c->rootfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

/*
 * -z, under the progress lock: appends part `part`'s frame to the .tmp.z if
 * its turn has come, then every parked frame that follows it; otherwise
 * parks it in the .tmp.  Writes the entries it changes; the caller writes
 * the header.  Returns 0 or -errno.
 */
static int z_place(struct consumer *c, int pfd, struct prog_hdr *h, const char *tmp,
		   uint32_t part, struct entry *e, const void *frame)
{
	char ztmp[80];
	int zfd, fd = -1, rc;

	if (part != h->next) {
		fd = open_at_root(c, tmp, O_RDWR | O_CREAT);
		if (fd < 0)
			return fd;
		e->slot = zslot(e->offset, part);
		e->state = E_PARKED;
		rc = pwrite_full(fd, frame, e->len, (off_t)e->slot);
		close(fd);
		return rc < 0 ? rc : pwrite_full(pfd, e, sizeof(*e), entry_at(part));
	}
	snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
	zfd = open_at_root(c, ztmp, O_WRONLY | O_CREAT);
	if (zfd < 0)
		return zfd;
	rc = pwrite_full(zfd, frame, e->len, (off_t)h->zbytes);
	if (rc == 0) {
		e->state = E_APPENDED;
		rc = pwrite_full(pfd, e, sizeof(*e), entry_at(part));
	}
	if (rc == 0) {
		h->zbytes += e->len;
		h->next++;
	}
	/* The parked frames this one was holding back. */
	while (rc == 0) {
		struct entry n;

		rc = pread_full(pfd, &n, sizeof(n), entry_at(h->next));
		if (rc <= 0 || n.state != E_PARKED) {
			rc = rc < 0 ? rc : 0;
			break;
		}
		if (fd < 0 && (fd = open_at_root(c, tmp, O_RDONLY)) < 0) {
			rc = fd;
			break;
		}
		rc = copy_range(c, fd, n.slot, zfd, &h->zbytes, n.len);
		if (rc == 0) {
			n.state = E_APPENDED;
			rc = pwrite_full(pfd, &n, sizeof(n), entry_at(h->next));
			h->next++;
		}
	}
	if (fd >= 0)
		close(fd);
	close(zfd);
	return rc;
}

/* Finishes a complete file: checked, then placed or run.  Called with the
 * progress lock held; removes the helper files in every case. */
static void finish(struct consumer *c, int pfd, const struct prog_hdr *h, const char *tmp)
{
	struct sp_batch_rec r;
	const char *path = h->path;
	char ztmp[80];
	int rc, fd = -1;

	snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
	if (h->flags & P_ABORTED) {
		unlinkat(c->rootfd, tmp, 0);
		unlinkat(c->rootfd, ztmp, 0);
		ADD(withdrawn, 1);
		if (!c->quiet)
			warnpath(path, "discarded", "the producer withdrew it");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.mode = h->mode;
	r.mtime_sec = h->mtime_sec;
	r.mtime_nsec = h->mtime_nsec;
	r.size = h->size;

	rc = check_entries(c, pfd, h);
	if (rc == 0 && c->action == ACT_OUT && c->compress) {
		unlinkat(c->rootfd, tmp, 0);    /* parked frames, all copied out */
		fd = open_at_root(c, ztmp, O_WRONLY | O_CREAT);
		if (fd < 0) {
			rc = fd;
		} else if (h->next != h->nparts) {
			rc = -EBADMSG;
		} else if (h->nparts == 0) {
			/* An empty stream: the frame of nothing. */
			long long n = lz4_frame(c, "", 0, c->zpart, c->zpart_size);

			rc = n < 0 ? (int)n : write_full(fd, c->zpart, (size_t)n);
			if (rc == 0 && out_place_tmp(c, c->rootfd, ztmp, fd, &r, path) == 0)
				ADD(bytes_out, (uint64_t)n);
			if (rc == 0)
				return;
		} else {
			if (out_place_tmp(c, c->rootfd, ztmp, fd, &r, path) == 0)
				ADD(bytes_out, h->zbytes);
			return;
		}
		tmp = ztmp;
	} else if (rc == 0) {
		struct stat st;

		fd = open_at_root(c, tmp, O_RDWR | O_CREAT);
		if (fd < 0)
			rc = fd;
		else if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != h->size)
			rc = -EBADMSG;
		else if (c->action == ACT_OUT) {
			if (out_place_tmp(c, c->rootfd, tmp, fd, &r, path) == 0)
				ADD(bytes_out, h->size);
			return;
		} else {
			/* The parts are gone from the ring: an interrupted
			 * command cannot hand the file on; -EINTR is dropped. */
			exec_run(c, &r, path, NULL, h->size, fd);
		}
	}
	if (fd >= 0)
		close(fd);
	unlinkat(c->rootfd, tmp, 0);
	unlinkat(c->rootfd, ztmp, 0);
	if (rc == -EBADMSG) {
		ADD(bad, 1);
		warnpath(path, "discarded", "parts do not match the file's checksum or size");
	} else if (rc < 0) {
		ADD(write_failed, 1);
		warnpath(path, "write", strerror(-rc));
	}
}

/*
 * Records one PART (e != NULL; frame is its LZ4 frame with -z) or the END
 * (e == NULL) in the progress file, and finishes the file if that completed
 * it.
 */
static int progress(struct consumer *c, const struct sp_batch_rec *r, const char *path,
		    struct entry *e, const void *frame)
{
	char tmp[64], prog[64], ztmp[80];
	struct prog_hdr h;
	int pfd, rc;

	tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
	tmp_name(prog, sizeof(prog), r->run, r->seq, ".prog");
	pfd = open_at_root(c, prog, O_RDWR | O_CREAT);
	rc = pfd < 0 ? pfd : lock_ex(pfd);
	if (rc < 0) {
		ADD(write_failed, 1);
		warnpath(path, "progress file", strerror(-rc));
		goto out;
	}
	rc = pread_full(pfd, &h, sizeof(h), 0);
	if (rc == 0) {
		memset(&h, 0, sizeof(h));
		h.magic = PROG_MAGIC;
		h.path_len = (uint32_t)strlen(path);
		memcpy(h.path, path, h.path_len + 1);
		h.size = r->size;
		h.mode = r->mode;
		h.mtime_sec = r->mtime_sec;
		h.mtime_nsec = r->mtime_nsec;
	} else if (rc < 0 || h.magic != PROG_MAGIC || h.path_len > SP_BATCH_PATH_MAX) {
		ADD(write_failed, 1);
		warnpath(path, "progress file", "unreadable or not ours");
		goto out;
	}
	h.path[h.path_len] = 0;
	if (h.flags & P_DONE) {
		/* A record delivered again after its file was finished (its
		 * first reader died before releasing it): nothing to do, but
		 * what we may have just re-created must go. */
		snprintf(ztmp, sizeof(ztmp), "%s.z", tmp);
		unlinkat(c->rootfd, tmp, 0);
		unlinkat(c->rootfd, ztmp, 0);
		goto out;
	}
	if (e) {
		struct entry old;

		/* Past the end of the file reads nothing: a new part.  A part
		 * delivered twice counts once. */
		rc = pread_full(pfd, &old, sizeof(old), entry_at(r->part));
		if (rc == 0 || (rc > 0 && old.state == E_ABSENT)) {
			if (frame)
				rc = z_place(c, pfd, &h, tmp, r->part, e, frame);
			else
				rc = pwrite_full(pfd, e, sizeof(*e), entry_at(r->part));
			h.done += rc == 0;
		}
		if (rc < 0) {
			ADD(write_failed, 1);
			warnpath(path, "part", strerror(-rc));
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
		finish(c, pfd, &h, tmp);
		h.flags |= P_DONE;
		pwrite_full(pfd, &h, sizeof(h), 0);
		unlinkat(c->rootfd, prog, 0);
	} else if ((rc = pwrite_full(pfd, &h, sizeof(h), 0)) < 0) {
		ADD(write_failed, 1);
		warnpath(path, "progress file", strerror(-rc));
	}
out:
	if (pfd >= 0)
		close(pfd);     /* drops the lock */
	return 0;
}

int asm_part(struct consumer *c, const struct sp_batch_rec *r, const char *path,
	     const void *content)
{
	struct entry e = { .hash = r->part_hash, .offset = r->offset, .raw_len = r->raw_len,
			   .len = r->raw_len, .state = E_WRITTEN };
	char tmp[64];
	int fd, rc;

	if (c->action == ACT_OUT && c->compress) {
		long long n = lz4_frame(c, content, r->raw_len, c->zpart, c->zpart_size);

		if (n < 0 || (uint64_t)n > zslot(r->offset + r->raw_len, r->part + 1) -
						   zslot(r->offset, r->part)) {
			ADD(write_failed, 1);
			warnpath(path, "compress", strerror(EIO));
			return 0;
		}
		e.len = (uint32_t)n;
		return progress(c, r, path, &e, c->zpart);
	}
	tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
	fd = open_at_root(c, tmp, O_RDWR | O_CREAT);
	if (fd < 0) {
		ADD(write_failed, 1);
		warnpath(path, "create", strerror(-fd));
		return 0;
	}
	rc = pwrite_full(fd, content, r->raw_len, (off_t)r->offset);
	close(fd);
	if (rc < 0) {
		ADD(write_failed, 1);
		warnpath(path, "write", strerror(-rc));
		return 0;
	}
	return progress(c, r, path, &e, NULL);
}

int asm_end(struct consumer *c, const struct sp_batch_rec *r, const char *path)
{
	return progress(c, r, path, NULL, NULL);
}

/*
 * Removes what nobody can complete any more: called by the last consumer
 * out of the directory (the caller holds its exclusive flock).  A parted
 * file whose END came but parts are missing lost data (counted in
 * *incomplete); one without END was never finished by its producer (a
 * producer that died: a restarted one sends it again), so it is only a
 * warning.  Returns the number of names removed.
 */
int asm_sweep(int rootfd, int interrupted, int quiet, uint64_t *incomplete)
{
	int dfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	int removed = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t len = strlen(n);

		if (strncmp(n, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
			continue;
		if (len > 5 && strcmp(n + len - 5, ".prog") == 0) {
			struct prog_hdr h;
			int fd = openat(rootfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0 && pread_full(fd, &h, sizeof(h), 0) == 1 &&
			    h.magic == PROG_MAGIC && h.path_len <= SP_BATCH_PATH_MAX &&
			    !(h.flags & (P_DONE | P_ABORTED))) {
				char why[96];

				h.path[h.path_len] = 0;
				if (interrupted) {
					if (!quiet)
						warnpath(h.path, "discarded",
							 "partly received when interrupted");
				} else if (h.flags & P_END) {
					snprintf(why, sizeof(why), "%llu of %llu parts arrived",
						 (unsigned long long)h.done,
						 (unsigned long long)h.nparts);
					warnpath(h.path, "incomplete", why);
					++*incomplete;
				} else if (!quiet) {
					warnpath(h.path, "discarded",
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
