/* walk.c: turns each PATH argument into relative paths and walks directories recursively. */
#include "producer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Directories open at once on the way down, and the identities of those
 * directories, so that -L cannot loop through a link to an ancestor. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

static int walk_dir(struct producer *p, int dfd, char *shown, char *rel,
		    const struct ancestor *up);

/*
 * The relative path of an argument, as tar makes it: leading '/' and "."
 * components dropped, empty components squeezed.  A ".." component is
 * refused: the path could not be recreated below the output directory.
 * Writes into out (PATH_MAX bytes).  Returns 0 or -EINVAL.
 */
static int relative_path(const char *arg, char *out)
{
	size_t n = 0;
	const char *s = arg;

	while (*s) {
		while (*s == '/')
			s++;
		const char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);

		if (len == 0)
			break;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EINVAL;
		if (!(len == 1 && s[0] == '.')) {
			if (n + len + 2 > PATH_MAX)
				return -ENAMETOOLONG;
			if (n)
				out[n++] = '/';
			memcpy(out + n, s, len);
			n += len;
		}
		s = e;
	}
	out[n] = 0;
	return 0;
}

/* Appends "/name" to path ("name" alone to an empty path); returns the old
 * length, to restore with path[old] = 0, or -1 if it would be too long. */
static long push(char *path, const char *name)
{
	size_t old = strlen(path), len = strlen(name), n = old;

	if (old + len + 2 > PATH_MAX)
		return -1;
	if (n > 0 && path[n - 1] != '/')
		path[n++] = '/';
	memcpy(path + n, name, len + 1);
	return (long)old;
}

static void failed(struct producer *p, const char *shown, const char *what, int err)
{
	char msg[PATH_MAX + 64];

	if (p->counting)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", shown, what);
	prog_warn(msg, strerror(err));
	p->failed++;
}

/* Opens and sends the regular file `name` of directory dfd (AT_FDCWD for
 * arguments), as listed or stat'ed: what is opened is stat'ed, and sent
 * only if it is still a regular file. */
static int open_listed(const struct producer *p, int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				 (p->follow ? 0 : O_NOFOLLOW));
}

static int send_listed_file(struct producer *p, int dfd, const char *name, char *shown,
			    char *rel, int fd)
{
	struct stat st;
	int rc;

	if (fd < 0)
		fd = open_listed(p, dfd, name);
	if (fd < 0) {
		/* ELOOP: a link now stands where the file was listed. */
		if (errno == ELOOP && !p->follow) {
			prog_warn(shown, "file replaced while the batch was being sent");
			p->failed++;
		} else {
			failed(p, shown, "cannot open", errno);
		}
		return 0;
	}
	/* The object may have been replaced since it was listed. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		prog_warn(shown, "file replaced while the batch was being sent");
		p->failed++;
		close(fd);
		return 0;
	}
	rc = send_file(p, fd, shown, rel, &st);
	close(fd);
	return rc;
}

/* Sends the object `name` found in directory dfd (AT_FDCWD for arguments),
 * already lstat'ed (stat'ed with -L) into st. */
static int send_entry(struct producer *p, int dfd, const char *name, char *shown, char *rel,
		      const struct stat *st, const struct ancestor *up)
{
	int nofollow = p->follow ? 0 : O_NOFOLLOW;
	int fd, rc = 0;

	if (prog_stop)
		return -EINTR;
	if (S_ISREG(st->st_mode)) {
		if (p->counting)
			return send_file(p, -1, shown, rel, st);
		return send_listed_file(p, dfd, name, shown, rel, -1);
	}
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

		if (n < 0) {
			failed(p, shown, "cannot read link", errno);
			return 0;
		}
		if (n == 0 || (size_t)n > SP_BATCH_LINK_MAX) {
			failed(p, shown, "link target", ENAMETOOLONG);
			return 0;
		}
		target[n] = 0;
		return send_symlink(p, rel, target, st);
	}
	if (S_ISDIR(st->st_mode)) {
		struct ancestor me = { st->st_dev, st->st_ino, up };

		for (const struct ancestor *a = up; a; a = a->up) {
			if (a->dev == st->st_dev && a->ino == st->st_ino) {
				if (!p->counting)
					prog_warn(shown, "directory loop through a link: skipped");
				p->skipped += !p->counting;
				return 0;
			}
		}
		if (rel[0]) {
			rc = send_dir(p, rel, st);
			if (rc < 0)
				return rc;
		}
		if (!p->recurse)
			return 0;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
		if (fd < 0) {
			failed(p, shown, "cannot open directory", errno);
			return 0;
		}
		rc = walk_dir(p, fd, shown, rel, &me);
		close(fd);
		return rc;
	}
	if (!p->counting && !p->o.quiet) {
		char msg[PATH_MAX + 64];

		snprintf(msg, sizeof(msg), "%s: skipped", shown);
		prog_warn(msg, "not a regular file, directory or symbolic link");
	}
	p->skipped += !p->counting;
	return 0;
}

/* A directory entry as listed: its name and the type readdir() gave it. */
struct dent {
	char *name;
	unsigned char type;     /* DT_REG, DT_DIR, ..., DT_UNKNOWN */
	int fd;                 /* opened ahead (read_ahead()), or -1 */
};

/*
 * Read-ahead.  On a disk, reading files one after the other waits for each
 * read in turn, one request in the disk's queue at a time.  So, before a
 * file is sent, the regular files that follow it in its directory (up to
 * p->ahead of them, and AHEAD_MAX open at once in the whole walk) are
 * opened and the kernel is asked to start reading their first chunk
 * (POSIX_FADV_WILLNEED starts the reads and returns at once): their reads
 * queue together and overlap the sending of the ones before.  A file
 * opened ahead is sent from that descriptor when its turn comes.
 */
#define AHEAD_MAX 256

static void read_ahead(struct producer *p, int dfd, struct dent *names, size_t n, size_t i,
		       size_t *next)
{
	if (*next < i)
		*next = i;
	for (; *next < n && *next <= i + p->ahead && p->ahead_open < AHEAD_MAX; ++*next) {
		struct dent *e = &names[*next];

		if (e->type != DT_REG)
			continue;
		e->fd = open_listed(p, dfd, e->name);
		if (e->fd < 0)
			continue;       /* opened again at its turn, to report it */
		posix_fadvise(e->fd, 0, (off_t)p->chunk, POSIX_FADV_WILLNEED);
		p->ahead_open++;
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* Walks the open directory dfd in name order.  shown and rel are PATH_MAX
 * buffers holding the directory's paths; they are restored on return. */
static int walk_dir(struct producer *p, int dfd, char *shown, char *rel,
		    const struct ancestor *up)
{
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dent *names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;

	if (!d) {
		failed(p, shown, "cannot read directory", errno);
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			struct dent *nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n].name = strdup(e->d_name)))
			break;
		names[n].type = e->d_type;
		names[n].fd = -1;
		n++;
		errno = 0;
	}
	if (errno)
		failed(p, shown, "cannot read directory", errno);
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);

	size_t next = 0;        /* names[next..] are not opened ahead yet */

	for (size_t i = 0; i < n && rc >= 0 && !p->fatal; i++) {
		const char *name = names[i].name;
		int fd;

		if (p->ahead && !p->counting)
			read_ahead(p, dfd, names, n, i, &next);
		fd = names[i].fd;
		names[i].fd = -1;
		if (fd >= 0)
			p->ahead_open--;
		long s_old = push(shown, name);
		long r_old = push(rel, name);
		struct stat st;

		if (s_old < 0 || r_old < 0) {
			if (s_old >= 0)
				shown[s_old] = 0;
			if (r_old >= 0)
				rel[r_old] = 0;
			failed(p, shown, name, ENAMETOOLONG);
			continue;
		}
		/* A regular file as listed is opened without a stat first:
		 * send_file() stats what it opened, which it must do anyway
		 * (the name may have changed hands since the listing).  One
		 * system call less per file. */
		if (names[i].type == DT_REG && !p->counting)
			rc = send_listed_file(p, dfd, name, shown, rel, fd);
		else if (fstatat(dfd, name, &st, p->follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
			failed(p, shown, "cannot stat", errno);
		else
			rc = send_entry(p, dfd, name, shown, rel, &st, up);
		shown[s_old] = 0;
		rel[r_old] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i].fd >= 0) {
			close(names[i].fd);     /* opened ahead, never sent: stopped */
			p->ahead_open--;
		}
		free(names[i].name);
	}
	free(names);
	return rc;
}

int walk_arg(struct producer *p, const char *arg)
{
	char shown[PATH_MAX], rel[PATH_MAX];
	struct stat st;
	int rc;

	if (strcmp(arg, "-") == 0) {
		if (p->counting)
			return 0;
		return send_stream(p, STDIN_FILENO, p->stdin_name);
	}
	if (strlen(arg) >= sizeof(shown)) {
		failed(p, arg, "path", ENAMETOOLONG);
		return 0;
	}
	rc = relative_path(arg, rel);
	if (rc < 0) {
		if (!p->counting) {
			char msg[PATH_MAX + 64];

			snprintf(msg, sizeof(msg), "%s: refused", arg);
			prog_warn(msg, rc == -EINVAL ? "a '..' component cannot be recreated below "
						       "the output directory (use -C)"
						     : strerror(-rc));
			p->failed++;
		}
		return 0;
	}
	strcpy(shown, arg);
	/* Arguments are followed with -L only, like links met in the walk,
	 * which is what tar does (cp -r follows them; tar -h and cp -L both). */
	if ((p->follow ? stat(arg, &st) : lstat(arg, &st)) < 0) {
		failed(p, arg, "cannot stat", errno);
		return 0;
	}
	if (rel[0] == 0 && !S_ISDIR(st.st_mode)) {
		failed(p, arg, "no name to give it", EINVAL);
		return 0;
	}
	return send_entry(p, AT_FDCWD, arg, shown, rel, &st, NULL);
}
