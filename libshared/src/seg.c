/* seg.c: named shared-memory objects: create/attach under flock, validation, participant liveness. */
#include "seg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/ring.h"
#include "crashpoint.h"
#include "fork.h"

_Static_assert(sizeof(struct sp_slot) == 64, "participant slot is one cache line");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	       "atomics shared across processes must be lock-free");

int sp_name_check(const char *name)
{
	size_t n;

	if (!name || !*name || name[0] == '.')
		return -EINVAL;
	for (n = 0; name[n]; n++) {
		char c = name[n];
		if (n >= SP_NAME_MAX)
			return -ENAMETOOLONG;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int sp_seg_shm_name(char *buf, size_t size, const char *name, const char *suffix)
{
	int n = snprintf(buf, size, "/" SP_SEG_PREFIX "%s%s", name, suffix ? suffix : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int sp_seg_lock_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, SP_SHM_DIR SP_SEG_PREFIX "%s.lock", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* OFD lock on byte `at` of fd: F_OFD_SETLK (type F_WRLCK or F_UNLCK) or
 * F_OFD_GETLK.  Returns 0 or -errno; for GETLK, *type gets the holder's. */
static int ofd_lock(int fd, int cmd, short type, off_t at, short *out)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (out)
		*out = fl.l_type;
	return 0;
}

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Opens NAME's lock file into *slot (a registered handle's, fork.h) and
 * takes its flock, making sure the file we lock is still the one at the
 * path (a concurrent unlink may have replaced it: then our lock would
 * serialise nothing).  On failure *slot is -1. */
static int lock_file_open(const char *name, int create, unsigned mode, int *slot)
{
	char path[256];
	struct stat a, b;
	int fd, rc;

	rc = sp_seg_lock_path(path, sizeof(path), name);
	if (rc)
		return rc;
	for (;;) {
		int made = 0;

		fd = sp_fd_open(slot, path, O_RDWR | O_NOFOLLOW, 0, 0);
		if (fd == -ENOENT && create) {
			fd = sp_fd_open(slot, path, O_RDWR | O_NOFOLLOW | O_CREAT | O_EXCL, 0600, 0);
			made = fd >= 0;
			if (fd == -EEXIST)
				continue;
		}
		if (fd < 0)
			return fd;
		/* umask does not apply to fchmod, so the mode is exactly as asked. */
		if (made && fchmod(fd, mode) < 0) {
			rc = -errno;
			sp_fd_close(slot);
			unlink(path);
			return rc;
		}
		rc = flock_retry(fd, LOCK_EX);
		if (rc) {
			sp_fd_close(slot);
			return rc;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return 0;
		sp_fd_close(slot);      /* unlinked or replaced under us: try again */
		if (!create)
			return -ENOENT;
	}
}

/* Reserving a file's pages goes in steps of this many bytes (see below). */
#define ALLOC_STEP ((off_t)4 << 20)

/* Gives a new segment file its size, zero-filled, and reserves its pages
 * now, so that a full /dev/shm fails here with -ENOSPC rather than with
 * SIGBUS at some later store.  A signal arriving meanwhile makes ftruncate
 * or fallocate fail with EINTR (tmpfs's fallocate did so for any signal
 * before Linux 6.x, and still does for a fatal one): each is retried.  The
 * kernel undoes the pages an interrupted fallocate had reserved, so one
 * call for the whole file could restart for ever under a steady rate of
 * signals; a step of 4 MiB takes about a millisecond, and only the step a
 * signal hit is done again.  Returns 0 or -errno. */
static int size_file(int fd, size_t size)
{
	off_t at = 0;

	/* Truncating to 0 first zeroes what an unfinished creation left. */
	while (ftruncate(fd, 0) < 0)
		if (errno != EINTR)
			return -errno;
	while (ftruncate(fd, (off_t)size) < 0)
		if (errno != EINTR)
			return -errno;
	while (at < (off_t)size) {
		off_t n = (off_t)size - at < ALLOC_STEP ? (off_t)size - at : ALLOC_STEP;
		int rc = posix_fallocate(fd, at, n);

		if (rc == EINTR)
			continue;
		if (rc)
			return -rc;
		at += n;
	}
	return 0;
}

static int map_plain(struct sp_seg *s, int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	s->base = p;
	s->map_size = size;
	return 0;
}

int sp_seg_hdr_read(int fd, struct sp_seg_hdr *h, uint64_t *file_size)
{
	struct stat st;
	uint32_t state;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	if (fstat(fd, &st) < 0)
		return -errno;
	*file_size = (uint64_t)st.st_size;
	if (st.st_size == 0)
		return SP_HDR_UNFINISHED;
	do
		n = pread(fd, h, sizeof(*h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h->magic) || h->magic != SP_SEG_MAGIC) {
		/* A creator killed between ftruncate and writing the magic leaves
		 * zeroes; anything else is not ours. */
		for (ssize_t i = 0; i < n; i++)
			if (((unsigned char *)h)[i])
				return SP_HDR_FOREIGN;
		return SP_HDR_UNFINISHED;
	}
	if ((size_t)n < sizeof(*h))
		return SP_HDR_CORRUPT;
	if (h->version != SP_SEG_VERSION)
		return SP_HDR_FOREIGN;
	/* Relaxed: h is our own copy; the load only satisfies the type. */
	state = load_relaxed(&h->state);
	if (state == SP_SEG_INIT)
		return SP_HDR_UNFINISHED;
	if (state != SP_SEG_READY || h->size != *file_size || h->nslots == 0 ||
	    h->nslots > SP_SEG_MAX_SLOTS || h->slots_off < sizeof(*h) || h->slots_off % 64 ||
	    h->body_off % 8 ||
	    h->body_off < h->slots_off + (uint64_t)h->nslots * sizeof(struct sp_slot) ||
	    h->body_off >= h->size)
		return SP_HDR_CORRUPT;
	return SP_HDR_OK;
}

/* Takes a free participant slot: the first whose OFD byte nobody holds. */
static int join(struct sp_seg *s)
{
	struct sp_seg_hdr *h = s->hdr;

	for (unsigned i = 0; i < s->nslots; i++) {
		struct sp_slot *sl = &s->slots[i];
		int rc = ofd_lock(s->reg.fd[SEG_LOCK_FD], F_OFD_SETLK, F_WRLCK, 1 + (off_t)i, NULL);
		uint32_t gen;

		if (rc == -EAGAIN || rc == -EACCES)
			continue;
		if (rc)
			return rc;
		/* Ours.  A non-zero token means its last holder died attached:
		 * fold its counters into the retired totals before reuse. */
		if (load_relaxed(&sl->token)) {
			/* Relaxed: counters (see sp_seg_close). */
			for (unsigned k = 0; k < SP_SLOT_COUNTERS; k++)
				fetch_add_relaxed(&h->retired[k], exchange_relaxed(&sl->count[k], 0));
		}
		gen = (load_relaxed(&sl->gen) + 1) & SP_TOKEN_GEN_MASK;
		if (!gen)
			gen = 1;
		store_relaxed(&sl->gen, gen);
		store_relaxed(&sl->pid, (uint32_t)getpid());
		store_relaxed(&sl->role, 0);
		store_relaxed(&sl->aux, 0);
		s->token = ((uint32_t)(i + 1) << 24) | gen;
		s->me = sl;
		/* Release: the fields above are visible to whoever sees the token. */
		store_release(&sl->token, s->token);
		return 0;
	}
	return -EUSERS;
}

int sp_seg_open(struct sp_seg *s, const char *name, unsigned flags, unsigned mode,
		const struct sp_seg_ops *ops, const void *arg, void *geom)
{
	int create = !!(flags & SP_CREATE);
	char shm[160];
	uint64_t file_size;
	int *shmfd = &s->reg.fd[SEG_SHM_FD];
	int fd = -1, rc, fresh = 0;
	size_t size = 0;

	memset(s, 0, sizeof(*s));
	rc = sp_name_check(name);
	if (rc)
		return rc;
	if (!mode)
		mode = 0600;
	if (mode & ~0777u)
		return -EINVAL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	rc = sp_seg_shm_name(shm, sizeof(shm), name, NULL);
	if (rc)
		return rc;
	/* Registered before the first descriptor exists: a fork from another
	 * thread while we open leaves the child none of ours (fork.h). */
	rc = sp_handle_add(&s->reg);
	if (rc)
		return rc;
	if (!create) {
		/* Attaching: the segment must exist.  Its lock file may not (a
		 * peer or an admin removed it): then make one, with the
		 * segment's permissions. */
		struct stat sst;

		fd = sp_fd_open(shmfd, shm, O_RDWR, 0, 1);
		if (fd < 0) {
			rc = fd;
			goto fail;
		}
		rc = fstat(fd, &sst) < 0 ? -errno : 0;
		sp_fd_close(shmfd);
		if (rc)
			goto fail;
		mode = sst.st_mode & 0777;
	}
	rc = lock_file_open(name, 1, mode, &s->reg.fd[SEG_LOCK_FD]);
	if (rc)
		goto fail;

	/* Under the flock from here on: nobody else creates, repairs or
	 * removes this object until we are done. */
	fd = sp_fd_open(shmfd, shm, O_RDWR, 0, 1);
	if (fd == -ENOENT && create) {
		fd = sp_fd_open(shmfd, shm, O_RDWR | O_CREAT | O_EXCL, mode, 1);
		fresh = 1;
	}
	if (fd < 0) {
		rc = fd;
		if (rc == -ENOENT) {
			/* Removed since we looked: do not leave the lock
			 * file we may have made (we hold its flock, so no
			 * creator is between its open and its lock). */
			char path[256];
			if (!sp_seg_lock_path(path, sizeof(path), name))
				unlink(path);
		}
		goto fail;
	}
	if (!fresh) {
		if (flags & SP_EXCL) {
			rc = -EEXIST;
			goto fail;
		}
		rc = sp_seg_hdr_read(fd, &s->h, &file_size);
		if (rc < 0)
			goto fail;
		if (rc == SP_HDR_UNFINISHED) {
			/* Its creator died under the flock. */
			if (!create) {
				rc = -ENOENT;
				goto fail;
			}
			fresh = 1;
		} else if (rc == SP_HDR_FOREIGN) {
			rc = -EPROTO;
			goto fail;
		} else if (s->h.kind != (uint32_t)ops->kind) {
			rc = -EPROTO;
			goto fail;
		} else if (rc == SP_HDR_CORRUPT ||
			   s->h.body_off + (uint64_t)ops->body_size > s->h.size) {
			rc = -EBADMSG;
			goto fail;
		} else {
			size = (size_t)s->h.size;
		}
	}
	if (fresh) {
		size = ops->size(arg);
		if (!size) {
			rc = -EINVAL;
			goto fail_unlink;
		}
		rc = fchmod(fd, mode) < 0 ? -errno : size_file(fd, size);
		if (rc)
			goto fail_unlink;
		CRASH_POINT("create.sized");
	}
	rc = ops->map ? ops->map(s, fd, size) : map_plain(s, fd, size);
	if (rc)
		goto fail_fresh;
	s->hdr = (struct sp_seg_hdr *)s->base;
	if (fresh) {
		struct sp_seg_hdr *nh = &s->h;
		struct timespec now;

		/* Our copy first, then the segment's: the copy is the truth
		 * this handle uses, whatever a peer writes over the other. */
		clock_gettime(CLOCK_REALTIME, &now);
		memset(nh, 0, sizeof(*nh));
		nh->magic = SP_SEG_MAGIC;
		nh->version = SP_SEG_VERSION;
		nh->kind = ops->kind;
		nh->size = size;
		store_relaxed(&nh->state, SP_SEG_INIT);
		nh->nslots = SP_SEG_MAX_SLOTS;
		nh->slots_off = sizeof(*nh);
		nh->body_off = nh->slots_off + SP_SEG_MAX_SLOTS * sizeof(struct sp_slot);
		nh->created_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		nh->creator_pid = (uint32_t)getpid();
		nh->creator_uid = (uint32_t)getuid();
		/* The file is zero-filled: plain stores, published by READY. */
		memcpy(s->hdr, nh, sizeof(*nh));
		if (nh->body_off + (uint64_t)ops->body_size > size) {
			rc = -EINVAL;
			goto fail_fresh;
		}
	}
	/* From here on only the checked copy s->h gives offsets and sizes. */
	s->slots = (struct sp_slot *)(s->base + s->h.slots_off);
	s->nslots = s->h.nslots;
	s->body = s->base + s->h.body_off;
	if (fresh) {
		CRASH_POINT("create.init");
		rc = ops->init(s, arg);
		if (rc)
			goto fail_fresh;
	}
	/* One copy of the geometry, checked and kept by the kind: what a new
	 * object's init wrote, or what an existing one holds. */
	memcpy(geom, s->body, ops->geom_size);
	rc = ops->validate(s, geom);
	if (rc)
		goto fail_fresh;
	CRASH_POINT("open.validated");
	if (fresh) {
		/* Release: the whole initialised segment is visible to anyone
		 * who reads READY (attachers also hold the flock, which orders
		 * the same; this keeps lock-free readers of state honest). */
		store_release(&s->hdr->state, SP_SEG_READY);
		store_relaxed(&s->h.state, SP_SEG_READY);
		s->created = 1;
	}
	rc = join(s);
	if (rc)
		goto fail_fresh;
	CRASH_POINT("open.joined");
	sp_fd_close(shmfd);
	flock_retry(s->reg.fd[SEG_LOCK_FD], LOCK_UN);
	return 0;

fail_fresh:
	if (!fresh)
		goto fail;
fail_unlink:
	shm_unlink(shm);
	{
		char path[256];
		if (!sp_seg_lock_path(path, sizeof(path), name))
			unlink(path);
	}
fail:
	if (s->base)
		munmap(s->base, s->map_size);
	s->base = NULL;
	sp_fd_close(shmfd);
	sp_fd_close(&s->reg.fd[SEG_LOCK_FD]);
	sp_handle_remove(&s->reg);
	return rc;
}

void sp_seg_close(struct sp_seg *s)
{
	/* A forked child's copy of its parent's handle: the slot is the
	 * parent's, and so is everything in the segment (fork.h). */
	if (s->me && !s->reg.inherited) {
		struct sp_slot *sl = s->me;

		/* Relaxed: counters, summed by sp_seg_count() as an
		 * approximate snapshot; nothing is ordered by them. */
		for (unsigned k = 0; k < SP_SLOT_COUNTERS; k++)
			fetch_add_relaxed(&s->hdr->retired[k], exchange_relaxed(&sl->count[k], 0));
		/* Release: our last stores to the ring precede the slot's
		 * release; from now on our token reads as dead. */
		store_release(&sl->token, 0);
	}
	if (s->base)
		munmap(s->base, s->map_size);
	sp_fd_close(&s->reg.fd[SEG_LOCK_FD]);     /* drops our OFD byte */
	sp_handle_remove(&s->reg);
	s->base = NULL;
	s->me = NULL;
}

int sp_seg_unlink(const char *name)
{
	char shm[160], path[256];
	struct sp_handle lock;   /* registered while it holds the flock (fork.h) */
	int rc;

	rc = sp_name_check(name);
	if (rc)
		return rc;
	if (sp_seg_shm_name(shm, sizeof(shm), name, NULL) ||
	    sp_seg_lock_path(path, sizeof(path), name))
		return -ENAMETOOLONG;
	rc = sp_handle_add(&lock);
	if (rc)
		return rc;
	/* Without the lock file (gone already), remove what is there. */
	lock_file_open(name, 0, 0, &lock.fd[0]);
	rc = shm_unlink(shm) < 0 ? -errno : 0;
	unlink(path);
	sp_fd_close(&lock.fd[0]);
	sp_handle_remove(&lock);
	return rc;
}

int sp_seg_slot_held(int lockfd, unsigned i)
{
	short type = F_UNLCK;
	int rc = ofd_lock(lockfd, F_OFD_GETLK, F_WRLCK, 1 + (off_t)i, &type);

	return rc < 0 ? rc : type != F_UNLCK;
}

int sp_seg_alive(const struct sp_seg *s, uint32_t t)
{
	uint32_t i = SP_TOKEN_INDEX(t);
	int held;

	if (t == s->token)
		return 1;
	if (t == 0 || i >= s->nslots)
		return 0;
	/* A token names one attachment: once its slot is freed or reissued,
	 * that attachment is over, whatever process holds the slot now. */
	if (load_acquire(&s->slots[i].token) != t)
		return 0;
	held = sp_seg_slot_held(s->reg.fd[SEG_LOCK_FD], i);
	/* Cannot tell: assume alive, never take from the living. */
	return held != 0;
}

uint64_t sp_seg_count(const struct sp_seg *s, unsigned i)
{
	uint64_t sum = load_relaxed(&s->hdr->retired[i]);

	for (unsigned k = 0; k < s->nslots; k++)
		sum += load_relaxed(&s->slots[k].count[i]);
	return sum;
}
