/* output.c: recreates files, directories and links under the output directory, never through a link. */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/*
 * Safety rules, all enforced here:
 *  - a path reaches this file already checked by sp_batch_path_check():
 *    relative, no "." or "..", no reserved first component;
 *  - every directory on the way is opened with O_NOFOLLOW|O_DIRECTORY from
 *    the output directory down, so a link already in the tree, or one the
 *    batch itself made, stops the walk (ELOOP or ENOTDIR): refused;
 *  - a whole file's content goes to an unnamed file (O_TMPFILE) in its
 *    directory, and gets its name with linkat() once complete, its mode
 *    and time set: one directory insertion per file, and a worker killed
 *    at any moment leaves nothing (the kernel frees an unnamed file with
 *    its last descriptor).  linkat() never replaces: when the name is
 *    taken (a file of an earlier run, a link) the file is linked under a
 *    temporary name and renamed over it, as below;
 *  - where the file system refuses O_TMPFILE, and for the parts of a large
 *    file, content goes to a temporary name, opened O_CREAT|O_NOFOLLOW, and
 *    is renamed into place once complete and verified; rename() replaces a
 *    link at the destination instead of following it.
 * A whole file's temporary name is beside its destination, so the rename
 * stays in one directory (a rename across directories takes a lock global
 * to the file system, which workers would queue on).
 *
 * With --sync, every file is fsynced before it gets its name, and its
 * directory after (a new directory's parent too, when it is made), so that
 * a file counted as done survives a power cut.
 *
 * The journal.  A worker killed with SIGKILL while writing a whole file
 * leaves its temporary file.  The record it held is delivered again, to a
 * worker that writes the same temporary name (it is made from the file's
 * id) and renames it, so the leftover normally lives a moment.  For the
 * cases where nobody takes the record again (the batch is abandoned), each
 * -o worker keeps a journal in the output directory,
 * .shmpipe.j<random>.wrk, holding an exclusive flock on it for its whole
 * life and writing into it, before it creates a temporary file, that
 * file's path (through a shared mapping of it: no system call per file;
 * what a dead process stored there is in the file).  The kernel drops the flock when the worker dies, however
 * it dies; so a journal whose flock can be taken belongs to a dead worker
 * (pids are never trusted: they are reused).  journal_sweep() removes the
 * file a dead worker's journal names, then the journal.  It runs only
 * while its caller holds the output directory's flock exclusively (at
 * start, or as the last consumer out), so no live worker of any consumer
 * can be writing that temporary name at that moment.
 */

/*
 * The directories last walked to, kept open, one per component of the path
 * down to the last one: files of one directory come together, so most
 * files skip the walk, and going back up from a subdirectory to the files
 * of its parent (the walk sends them in name order, directories among
 * them) reuses the parent, as does going on to a sibling: only the
 * components that differ are opened.  A descriptor stays valid whatever
 * happens to names later; each was reached without any link.  Levels past
 * CACHE_DEPTH are walked and not kept, but for the last.
 *
 * With each, whether files made in it take their mode as given: 1 if it
 * has a default ACL (which, not the umask, then shapes a new file's mode),
 * 0 if not, -1 not known yet (looked up with the first file that asks).
 */
#define CACHE_DEPTH 32

static char cache_dir[PATH_MAX];     /* the components kept, as in the path */
static size_t cache_len;             /* bytes of cache_dir the last walk reached */
static size_t cache_end[CACHE_DEPTH];   /* where component k ends in cache_dir */
static int cache_fd[CACHE_DEPTH];    /* the directory of components 0..k */
static int cache_acl[CACHE_DEPTH];
static int cache_depth;              /* levels kept */
static int deep_fd = -1;             /* the last walk's directory, past CACHE_DEPTH */
static int deep_acl = -1;
static int root_acl = -1;
static int *cur_acl = &root_acl;     /* the flag of the directory parent_dir returned */

/* Drops the kept levels from depth on, and the deep directory. */
static void cache_cut(int depth)
{
	while (cache_depth > depth)
		close(cache_fd[--cache_depth]);
	if (deep_fd >= 0)
		close(deep_fd);
	deep_fd = -1;
}

/* Opens the directory `name` in fd, making it if missing.  Returns a
 * descriptor or -errno. */
static int open_sub(struct worker *w, int fd, const char *name)
{
	int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (nfd < 0 && errno == ENOENT) {
		/* Another worker may create it at the same moment. */
		if (mkdirat(fd, name, 0777) < 0) {
			if (errno != EEXIST)
				return -errno;
		} else if (w->opt->sync && fsync(fd) < 0) {
			return -errno;
		}
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return nfd < 0 ? -errno : nfd;
}

/*
 * Returns a descriptor (owned by the cache: do not close it) of the
 * directory that is to hold the last component of path, walking from the
 * output directory and creating missing directories; stores the last
 * component in *base.  Returns -errno on failure (-ELOOP, -ENOTDIR: a
 * component is a link or not a directory).
 */
static int parent_dir(struct worker *w, const char *path, const char **base)
{
	const char *last = strrchr(path, '/');
	size_t dlen = last ? (size_t)(last - path) : 0, at = 0;
	char name[NAME_MAX + 1];
	int fd, k = 0;

	*base = last ? last + 1 : path;
	if (strlen(*base) > NAME_MAX)
		return -ENAMETOOLONG;
	if (dlen == 0) {
		cur_acl = &root_acl;
		return w->pool->rootfd;
	}
	if (cache_len == dlen && memcmp(cache_dir, path, dlen) == 0 &&
	    (deep_fd >= 0 || cache_depth > 0))
		return deep_fd >= 0 ? deep_fd : cache_fd[cache_depth - 1];

	/* The kept levels that lead to this directory too. */
	cache_len = 0;
	while (k < cache_depth && cache_end[k] <= dlen &&
	       (cache_end[k] == dlen || path[cache_end[k]] == '/') &&
	       memcmp(cache_dir, path, cache_end[k]) == 0)
		k++;
	cache_cut(k);
	fd = k ? cache_fd[k - 1] : w->pool->rootfd;
	at = k ? cache_end[k - 1] + 1 : 0;
	while (at < dlen) {
		const char *slash = memchr(path + at, '/', dlen - at);
		size_t end = slash ? (size_t)(slash - path) : dlen;
		int nfd;

		if (end - at > NAME_MAX) {
			nfd = -ENAMETOOLONG;
		} else {
			memcpy(name, path + at, end - at);
			name[end - at] = 0;
			nfd = open_sub(w, fd, name);
		}
		/* A level past the kept ones is let go once the next is open. */
		if (fd == deep_fd) {
			close(deep_fd);
			deep_fd = -1;
		}
		if (nfd < 0)
			return nfd;
		if (at > 0)
			cache_dir[at - 1] = '/';
		memcpy(cache_dir + at, path + at, end - at);
		if (cache_depth < CACHE_DEPTH) {
			cache_end[cache_depth] = end;
			cache_acl[cache_depth] = -1;
			cache_fd[cache_depth++] = nfd;
		} else {
			deep_fd = nfd;
			deep_acl = -1;
		}
		fd = nfd;
		at = end + 1;
	}
	cache_len = dlen;
	cur_acl = deep_fd >= 0 ? &deep_acl : &cache_acl[cache_depth - 1];
	return fd;
}

/* This process's umask, read once (a worker is one thread). */
static mode_t file_umask(void)
{
	static mode_t mask = (mode_t)-1;

	if (mask == (mode_t)-1) {
		mask = umask(022);
		umask(mask);
	}
	return mask;
}

/*
 * Whether a file made with mode in directory dfd, the one parent_dir()
 * returned last, has that mode already, so that no fchmod() is needed: no
 * bit of it is in the umask, and the directory has no default ACL.  One
 * system call per directory instead of one per file.
 */
static int mode_as_made(int dfd, mode_t mode)
{
	if (mode & file_umask())
		return 0;
	if (*cur_acl < 0) {
		ssize_t n = fgetxattr(dfd, "system.posix_acl_default", NULL, 0);

		/* None, or no ACLs on this file system: the umask rules. */
		*cur_acl = !(n < 0 && (errno == ENODATA || errno == EOPNOTSUPP));
	}
	return !*cur_acl;
}

void note_write_error(struct worker *w, int err)
{
	COUNT(w, write_failed, 1);
	if ((err == ENOSPC || err == EDQUOT) && w->pool->board) {
		int expected = 0;

		/* Relaxed: a flag each worker polls between records. */
		if (atomic_compare_exchange_strong_explicit(&w->pool->board->halt, &expected, 1,
							    memory_order_relaxed,
							    memory_order_relaxed))
			atomic_store_explicit(&w->pool->board->halt_err, err, memory_order_relaxed);
	}
}

/* Reports a failure to place path, as a refusal when a link or a file
 * stood in the way, and counts it. */
static void place_failed(struct worker *w, const char *path, const char *what, int err)
{
	if (err == ELOOP || err == ENOTDIR) {
		COUNT(w, refused, 1);
		prog_warnpath(path, "refused", "a component is a symbolic link or not a directory");
	} else if (err == ENAMETOOLONG) {
		COUNT(w, refused, 1);
		prog_warnpath(path, "refused", "a name is longer than the file system allows");
	} else {
		note_write_error(w, err);
		prog_warnpath(path, what, strerror(err));
	}
}

/* ---- the journal ---------------------------------------------------- */

#define JOURNAL_EXT ".wrk"
#define JOURNAL_MAX (PATH_MAX + NAME_MAX + 2)

int journal_open(struct worker *w)
{
	uint64_t id;
	char name[64];
	int fd;

	w->jfd = -1;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -EIO;
	snprintf(name, sizeof(name), SP_BATCH_RESERVED "j%016llx" JOURNAL_EXT, (unsigned long long)id);
	fd = openat(w->pool->rootfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* Ours alone: nobody else knows the name yet, so this cannot block. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		unlinkat(w->pool->rootfd, name, 0);
		close(fd);
		return -err;
	}
	void *map = ftruncate(fd, JOURNAL_MAX) == 0
			    ? mmap(NULL, JOURNAL_MAX, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
			    : MAP_FAILED;

	if (map == MAP_FAILED) {
		int err = errno;

		unlinkat(w->pool->rootfd, name, 0);
		close(fd);
		return -err;
	}
	w->jfd = fd;
	w->jmap = map;
	snprintf(w->jname, sizeof(w->jname), "%s", name);
	return 0;
}

void journal_close(struct worker *w)
{
	if (w->jfd < 0)
		return;
	unlinkat(w->pool->rootfd, w->jname, 0);
	munmap(w->jmap, JOURNAL_MAX);
	close(w->jfd);
	w->jfd = -1;
}

/* Notes, before it is created, the temporary file tmp beside path. */
static void journal_note(struct worker *w, const char *path, const char *tmp)
{
	char buf[JOURNAL_MAX];
	const char *last = strrchr(path, '/');
	int n;

	if (w->jfd < 0)
		return;
	n = last ? snprintf(buf, sizeof(buf), "%.*s/%s", (int)(last - path), path, tmp)
		 : snprintf(buf, sizeof(buf), "%s", tmp);
	if (n < 0 || n >= (int)sizeof(buf))
		return;
	/* With its NUL: a shorter name over a longer one ends there.  A death
	 * half-way leaves a mix of two names: journal_replay() removes only a
	 * temporary name of ours, and when it runs every such name is a
	 * leftover. */
	memcpy(w->jmap, buf, (size_t)n + 1);
}

/* Opens the directory dir (relative to rootfd) without following any
 * link and without creating anything.  Returns a descriptor or -errno. */
static int open_dir_nofollow(int rootfd, const char *dir, size_t len)
{
	char name[NAME_MAX + 1];
	size_t i = 0;
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	while (fd >= 0 && i < len) {
		size_t j = i;
		int nfd;

		while (j < len && dir[j] != '/')
			j++;
		if (j - i == 0 || j - i > NAME_MAX) {
			close(fd);
			return -EINVAL;
		}
		memcpy(name, dir + i, j - i);
		name[j - i] = 0;
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
		i = j + 1;
	}
	return fd < 0 ? -errno : fd;
}

/* Removes the temporary file a dead worker's journal names. */
static int journal_replay(int rootfd, int jfd)
{
	char buf[JOURNAL_MAX];
	ssize_t n = pread(jfd, buf, sizeof(buf) - 1, 0);
	const char *base, *ext;
	size_t dlen;
	int dfd, removed = 0;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	base = strrchr(buf, '/');
	dlen = base ? (size_t)(base - buf) : 0;
	base = base ? base + 1 : buf;
	ext = strrchr(base, '.');
	/* Only names this program makes: never anything else. */
	if (!sp_batch_reserved(base) || !ext ||
	    (strcmp(ext, ".tmp") != 0 && strcmp(ext, ".lnk") != 0))
		return 0;
	dfd = open_dir_nofollow(rootfd, buf, dlen);
	if (dfd < 0)
		return 0;
	if (unlinkat(dfd, base, 0) == 0)
		removed = 1;
	close(dfd);
	return removed;
}

int journal_sweep(int rootfd)
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
		size_t len = strlen(e->d_name);
		int fd;

		if (strncmp(e->d_name, SP_BATCH_RESERVED "j", SP_BATCH_RESERVED_LEN + 1) != 0 ||
		    len < sizeof(JOURNAL_EXT) ||
		    strcmp(e->d_name + len - (sizeof(JOURNAL_EXT) - 1), JOURNAL_EXT) != 0)
			continue;
		fd = openat(rootfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Its worker lives while it holds the lock. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			removed += journal_replay(rootfd, fd);
			if (unlinkat(rootfd, e->d_name, 0) == 0)
				removed++;
		}
		close(fd);
	}
	closedir(d);
	return removed;
}

static void set_times(int fd, const struct sp_batch_rec *r)
{
	struct timespec ts[2];

	ts[0].tv_sec = r->mtime_sec;
	ts[0].tv_nsec = r->mtime_nsec;
	ts[1] = ts[0];
	futimens(fd, ts);
}

/* The final name of path's file in its directory: its last component,
 * plus ".lz4" with -z, less ".lz4" with -d.  Returns 0, -ENAMETOOLONG, or
 * -EINVAL (-d: not a .lz4 name; the worker refuses those before). */
static int dest_name(const struct worker *w, const char *base, char dest[NAME_MAX + 1])
{
	if (w->opt->decompress)
		return restore_name(base, dest);
	if (snprintf(dest, NAME_MAX + 1, "%s%s", base, w->opt->compress ? ".lz4" : "") >= NAME_MAX + 1)
		return -ENAMETOOLONG;
	return 0;
}

/* Gives a complete file its mode (unless mode_set: it was made with it)
 * and time, and with --sync writes it to the disk.  Returns 0 or an errno. */
static int finish_content(const struct worker *w, int fd, const struct sp_batch_rec *r,
			  int mode_set)
{
	/* Permission bits only: no set-id bits from a record. */
	if (!mode_set && fchmod(fd, r->mode & 0777) < 0)
		return errno;
	set_times(fd, r);
	if (w->opt->sync && fsync(fd) < 0)
		return errno;
	return 0;
}

/*
 * Gives the temporary file tmpname (in directory tmpdir, open as tmpfd) its
 * mode and time, closes it, and renames it to path (plus ".lz4" with -z).
 * On failure removes it and reports.  Returns 0 or -1.
 */
int out_place_tmp(struct worker *w, int tmpdir, const char *tmpname, int tmpfd,
		  const struct sp_batch_rec *r, const char *path)
{
	char dest[NAME_MAX + 1];
	const char *base;
	int pfd, err;

	err = finish_content(w, tmpfd, r, 0);
	if (close(tmpfd) < 0 && !err)
		err = errno;    /* a delayed write error: the content is not safe */
	if (err) {
		unlinkat(tmpdir, tmpname, 0);
		place_failed(w, path, "write", err);
		return -1;
	}
	pfd = parent_dir(w, path, &base);
	if (pfd < 0) {
		unlinkat(tmpdir, tmpname, 0);
		place_failed(w, path, "create directory", -pfd);
		return -1;
	}
	if (dest_name(w, base, dest) < 0) {
		unlinkat(tmpdir, tmpname, 0);
		place_failed(w, path, "rename", ENAMETOOLONG);
		return -1;
	}
	if (renameat(tmpdir, tmpname, pfd, dest) < 0) {
		err = errno;
		unlinkat(tmpdir, tmpname, 0);
		place_failed(w, path, "rename", err);
		return -1;
	}
	if (w->opt->sync && fsync(pfd) < 0) {
		place_failed(w, path, "sync directory", errno);
		return -1;
	}
	COUNT(w, files, 1);
	return 0;
}

/* ---- unnamed files (O_TMPFILE) -------------------------------------- */

/*
 * Whether this process makes unnamed files: 1 yes, 0 not known yet, -1 no
 * (the file system refuses O_TMPFILE, as ext2, NFS or FUSE do, or /proc,
 * through which linkat() names the file without CAP_DAC_READ_SEARCH, is
 * missing).  Each worker finds out with its first file; the output is one
 * directory tree, so the answer holds for the batch.  SHMPIPE_NO_TMPFILE=1
 * in the environment answers no, so that tests cover the named path on
 * any file system.
 */
static int unnamed_ok;

/* Opens an unnamed file in directory dfd.  Returns a descriptor, -ENOSYS
 * when unnamed files are not to be had here, or -errno. */
static int open_unnamed(int dfd, mode_t mode)
{
	int fd;

	if (unnamed_ok == 0) {
		const char *no = getenv("SHMPIPE_NO_TMPFILE");

		unnamed_ok = (no && *no && strcmp(no, "0") != 0) || access("/proc/self/fd", X_OK) < 0
				     ? -1
				     : 1;
	}
	if (unnamed_ok < 0)
		return -ENOSYS;
	/* With its final mode: nobody can open it by a name before it is
	 * complete, and it then needs no fchmod() (mode_as_made()). */
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (fd >= 0)
		return fd;
	/* EISDIR: a kernel without O_TMPFILE read it as O_DIRECTORY. */
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		unnamed_ok = -1;
		return -ENOSYS;
	}
	return -errno;
}

/*
 * Names the complete unnamed file fd (in directory dfd) base (plus ".lz4"
 * with -z), replacing whatever held that name, and closes fd.  On failure
 * reports.  Returns 0 or -1.
 */
static int place_unnamed(struct worker *w, int dfd, int fd, const char *base,
			 const struct sp_batch_rec *r, const char *path)
{
	char dest[NAME_MAX + 1], proc[32], tmp[64];
	const char *what = "write";
	int err = finish_content(w, fd, r, mode_as_made(dfd, r->mode & 0777));

	if (!err && dest_name(w, base, dest) < 0) {
		err = ENAMETOOLONG;
		what = "link";
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!err && linkat(AT_FDCWD, proc, dfd, dest, AT_SYMLINK_FOLLOW) < 0) {
		err = errno;
		what = "link";
		if (err == EEXIST) {
			/* The name is taken: replace it in one rename, as the
			 * named path does, the temporary name journaled. */
			sp_batch_tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
			journal_note(w, path, tmp);
			unlinkat(dfd, tmp, 0);
			err = 0;
			if (linkat(AT_FDCWD, proc, dfd, tmp, AT_SYMLINK_FOLLOW) < 0) {
				err = errno;
			} else if (renameat(dfd, tmp, dfd, dest) < 0) {
				err = errno;
				what = "rename";
				unlinkat(dfd, tmp, 0);
			}
		}
	}
	close(fd);
	if (!err && w->opt->sync && fsync(dfd) < 0) {
		err = errno;
		what = "sync directory";
	}
	if (err) {
		place_failed(w, path, what, err);
		return -1;
	}
	COUNT(w, files, 1);
	return 0;
}

/* The LZ4 frame every -z file (or part) gets: what `lz4` writes, plus the
 * content size, so that `lz4 -d` and `lz4 --list` know it. */
static void frame_prefs(const struct worker *w, uint64_t size, LZ4F_preferences_t *prefs)
{
	memset(prefs, 0, sizeof(*prefs));
	prefs->frameInfo.blockSizeID = LZ4F_max256KB;
	prefs->frameInfo.blockMode = LZ4F_blockIndependent;
	prefs->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs->frameInfo.contentSize = size;
	prefs->compressionLevel = w->opt->compress;
}

size_t lz4_frame_bound(const struct worker *w, size_t len)
{
	LZ4F_preferences_t prefs;

	frame_prefs(w, len, &prefs);
	return LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(len, &prefs) +
	       LZ4F_compressBound(0, &prefs) + 64;
}

long long lz4_frame(struct worker *w, const void *src, size_t len, void *dst, size_t cap)
{
	LZ4F_preferences_t prefs;
	char *d = dst;
	size_t n, total;

	frame_prefs(w, len, &prefs);
	n = LZ4F_compressBegin(w->cctx, d, cap, &prefs);
	if (LZ4F_isError(n))
		return -EIO;
	total = n;
	n = LZ4F_compressUpdate(w->cctx, d + total, cap - total, src, len, NULL);
	if (LZ4F_isError(n))
		return -EIO;
	total += n;
	n = LZ4F_compressEnd(w->cctx, d + total, cap - total, NULL);
	if (LZ4F_isError(n))
		return -EIO;
	return (long long)(total + n);
}

/*
 * Writes a whole file's content to fd: the bytes themselves, their frame
 * with -z (already made: data, len), or with -d what the frames hold.
 * Returns the bytes written, or -1 having reported and counted the failure
 * (the caller removes the file).
 */
static long long write_content(struct worker *w, int fd, const void *data, size_t len,
			       const char *path)
{
	char why[128];
	long long n;
	int rc;

	if (!w->opt->decompress) {
		rc = prog_write_full(fd, data, len);
		if (rc < 0) {
			place_failed(w, path, "write", -rc);
			return -1;
		}
		return (long long)len;
	}
	n = restore_write(w, fd, data, -1, len, why, sizeof(why));
	if (n == -EBADMSG) {
		COUNT(w, bad, 1);
		prog_warnpath(path, "discarded", why);
	} else if (n < 0) {
		note_write_error(w, (int)-n);
		prog_warnpath(path, "write", why);
	}
	return n < 0 ? -1 : n;
}

int out_file(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content)
{
	const void *data = content;
	size_t len = r->raw_len;
	const char *base;
	char tmp[64];
	long long n;
	int dfd, fd;

	if (w->opt->compress) {
		n = lz4_frame(w, content, r->raw_len, w->zpart, w->zpart_size);
		if (n < 0) {
			place_failed(w, path, "compress", EIO);
			return 0;
		}
		data = w->zpart;
		len = (size_t)n;
	}
	dfd = parent_dir(w, path, &base);
	if (dfd < 0) {
		place_failed(w, path, "create directory", -dfd);
		return 0;
	}
	fd = open_unnamed(dfd, r->mode & 0777);
	if (fd >= 0) {
		n = write_content(w, fd, data, len, path);
		if (n < 0)
			close(fd);      /* the unnamed file goes with it */
		else if (place_unnamed(w, dfd, fd, base, r, path) == 0)
			COUNT(w, bytes_out, (uint64_t)n);
		return 0;
	}
	if (fd != -ENOSYS) {
		place_failed(w, path, "create", -fd);
		return 0;
	}
	sp_batch_tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".tmp");
	journal_note(w, path, tmp);
	/* O_TRUNC, not O_EXCL: a record redelivered after its first reader
	 * died finds that reader's leftover and starts again. */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		place_failed(w, path, "create", errno);
		return 0;
	}
	n = write_content(w, fd, data, len, path);
	if (n < 0) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		return 0;
	}
	if (out_place_tmp(w, dfd, tmp, fd, r, path) == 0)
		COUNT(w, bytes_out, (uint64_t)n);
	return 0;
}

int out_restore(struct worker *w, int srcfd, uint64_t size, const char *dtmp,
		const struct sp_batch_rec *r, const char *path)
{
	const char *base;
	char why[128];
	long long n;
	int dfd, fd, named = 0;

	dfd = parent_dir(w, path, &base);
	if (dfd < 0) {
		place_failed(w, path, "create directory", -dfd);
		return -1;
	}
	fd = open_unnamed(dfd, r->mode & 0777);
	if (fd == -ENOSYS) {
		/* O_TRUNC: a finisher that died here left a beginning. */
		named = 1;
		fd = openat(w->pool->rootfd, dtmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		fd = fd < 0 ? -errno : fd;
	}
	if (fd < 0) {
		place_failed(w, path, "create", -fd);
		return -1;
	}
	n = restore_write(w, fd, NULL, srcfd, size, why, sizeof(why));
	if (n < 0) {
		close(fd);
		if (named)
			unlinkat(w->pool->rootfd, dtmp, 0);
		if (n == -EBADMSG) {
			COUNT(w, bad, 1);
			prog_warnpath(path, "discarded", why);
		} else {
			note_write_error(w, n == -EIO ? EIO : (int)-n);
			prog_warnpath(path, n == -EIO ? "read" : "write", why);
		}
		return -1;
	}
	if (named ? out_place_tmp(w, w->pool->rootfd, dtmp, fd, r, path)
		  : place_unnamed(w, dfd, fd, base, r, path))
		return -1;
	COUNT(w, bytes_out, (uint64_t)n);
	return 0;
}

int out_dir(struct worker *w, const struct sp_batch_rec *r, const char *path)
{
	const char *base;
	int pfd = parent_dir(w, path, &base), fd;

	if (pfd < 0) {
		place_failed(w, path, "create directory", -pfd);
		return 0;
	}
	/* The owner keeps rwx, or the files of the batch could not go in. */
	mode_t mode = (r->mode & 0777) | 0700;

	if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST) {
		place_failed(w, path, "create directory", errno);
		return 0;
	}
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		place_failed(w, path, "create directory", errno);
		return 0;
	}
	fchmod(fd, mode);
	close(fd);
	if (w->opt->sync && fsync(pfd) < 0) {
		place_failed(w, path, "sync directory", errno);
		return 0;
	}
	COUNT(w, dirs, 1);
	return 0;
}

int out_symlink(struct worker *w, const struct sp_batch_rec *r, const char *path,
		const char *target)
{
	const char *base;
	char tmp[64];
	int pfd = parent_dir(w, path, &base);

	if (pfd < 0) {
		place_failed(w, path, "create directory", -pfd);
		return 0;
	}
	/* Made under a temporary name beside its place, then renamed: the
	 * name never holds anything but the finished link. */
	sp_batch_tmp_name(tmp, sizeof(tmp), r->run, r->seq, ".lnk");
	journal_note(w, path, tmp);
	unlinkat(pfd, tmp, 0);
	if (symlinkat(target, pfd, tmp) < 0) {
		place_failed(w, path, "create link", errno);
		return 0;
	}
	struct timespec ts[2] = { { r->mtime_sec, r->mtime_nsec }, { r->mtime_sec, r->mtime_nsec } };

	utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
	if (renameat(pfd, tmp, pfd, base) < 0) {
		int err = errno;

		unlinkat(pfd, tmp, 0);
		place_failed(w, path, "rename", err);
		return 0;
	}
	if (w->opt->sync && fsync(pfd) < 0) {
		place_failed(w, path, "sync directory", errno);
		return 0;
	}
	COUNT(w, links, 1);
	return 0;
}
