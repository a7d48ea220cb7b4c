/* shm.c: SharedMemory segments, and listing and removing stale objects of every kind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "obj.h"
#include "seg.h"
#include "shared/shm.h"

/*
 * File layout of a SharedMemory NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_SHM
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct shm_body       below
 *   12288  data[size]            the user's bytes (SHM_DATA_OFF, a page)
 *
 * Lock rules: the body is written once at creation and only read after.
 */
struct shm_body {
	uint32_t magic;          /*  0: SHM_MAGIC */
	uint32_t pad_;           /*  4 */
	uint64_t size;           /*  8: user bytes */
	uint64_t data_off;       /* 16: SHM_DATA_OFF */
	uint8_t pad2_[40];       /* 24: to 64 */
};
_Static_assert(sizeof(struct shm_body) == 64, "shm body layout");

#define SHM_MAGIC 0x4d454d53u   /* "SMEM" */
#define SHM_DATA_OFF 12288u

struct sp_shm {
	struct sp_seg seg;
	void *data;
	size_t size;
};

static size_t shm_size(const void *arg)
{
	return SHM_DATA_OFF + *(const size_t *)arg;
}

static int shm_init(struct sp_seg *s, const void *arg)
{
	struct shm_body *b = s->body;

	b->magic = SHM_MAGIC;
	b->size = *(const size_t *)arg;
	b->data_off = SHM_DATA_OFF;
	return 0;
}

static int shm_validate(const struct sp_seg *s, const void *geom)
{
	const struct shm_body *g = geom;

	if (g->magic != SHM_MAGIC || g->data_off != SHM_DATA_OFF || g->size == 0 ||
	    g->size > SP_SHM_MAX_SIZE || g->data_off + g->size > s->h.size)
		return -EBADMSG;
	return 0;
}

static const struct sp_seg_ops shm_ops = {
	.kind = SP_KIND_SHM,
	.body_size = sizeof(struct shm_body),
	.geom_size = offsetof(struct shm_body, pad2_),
	.size = shm_size,
	.init = shm_init,
	.validate = shm_validate,
};

int sp_shm_open(const char *name, unsigned flags, size_t size, unsigned mode, sp_shm **out)
{
	struct shm_body g;
	sp_shm *m;
	int rc;

	if (!out || size > SP_SHM_MAX_SIZE || ((flags & SP_CREATE) && size == 0))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rc = sp_seg_open(&m->seg, name, flags, mode, &shm_ops, &size, &g);
	if (!rc && size > g.size) {
		sp_seg_close(&m->seg);
		rc = -EINVAL;
	}
	if (rc) {
		free(m);
		return rc;
	}
	m->data = m->seg.base + g.data_off;
	m->size = g.size;
	*out = m;
	return 0;
}

void sp_shm_close(sp_shm *m)
{
	if (!m)
		return;
	sp_seg_close(&m->seg);
	free(m);
}

int sp_shm_unlink(const char *name)
{
	return sp_obj_unlink_kind(name, SP_KIND_SHM);
}

/* NULL in a forked child: the bytes are its parent's (fork.h). */
void *sp_shm_data(sp_shm *m) { return sp_seg_inherited(&m->seg) ? NULL : m->data; }
size_t sp_shm_size(const sp_shm *m) { return m->size; }

/* ------------------------------------------------------------ listing */

static const char *kind_name(unsigned k)
{
	static const char *names[] = { "?", "ring", "shm", "sync", "value", "dict", "list", "pipe" };

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Counts live and dead participants of an object, from a read-only
 * mapping of its table and F_OFD_GETLK on the lock file (lockfd). */
static void count_participants(int shmfd, uint64_t size, const struct sp_seg_hdr *h, int lockfd,
			       struct sp_obj_info *info)
{
	uint64_t need = sizeof(*h) + (uint64_t)SP_SEG_MAX_SLOTS * sizeof(struct sp_slot);
	const struct sp_slot *slots;
	unsigned n = h->nslots;
	void *p;

	if (n == 0 || n > SP_SEG_MAX_SLOTS || h->slots_off != sizeof(*h) || size < need)
		return;
	p = mmap(NULL, need, PROT_READ, MAP_SHARED, shmfd, 0);
	if (p == MAP_FAILED)
		return;
	slots = (const struct sp_slot *)((const char *)p + h->slots_off);
	for (unsigned i = 0; i < n; i++) {
		if (load_acquire(&slots[i].token) == 0)
			continue;
		if (lockfd >= 0 && sp_seg_slot_held(lockfd, i) == 0)
			info->dead++;
		else
			info->attached++;
	}
	munmap(p, need);
}

/* Fills info for the object NAME.  Returns 0, or -ENOENT if it vanished. */
static int inspect(const char *name, struct sp_obj_info *info)
{
	char shm[160], lock[256];
	struct sp_seg_hdr h;
	int fd, lockfd, st, ours;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	info->kind_name = "?";
	if (sp_seg_shm_name(shm, sizeof(shm), name, NULL) || sp_seg_lock_path(lock, sizeof(lock), name))
		return -ENAMETOOLONG;
	lockfd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		if (lockfd < 0)
			return -ENOENT;
		close(lockfd);
		info->state = SP_OBJ_LOCK_ONLY;
		return 0;
	}
	st = sp_seg_hdr_read(fd, &h, &info->size);
	/* Ours, whole or not: its fields are shown (only shown: in a corrupt
	 * header they may be garbage), and its table read with the checks
	 * of count_participants. */
	ours = st == SP_HDR_OK || st == SP_HDR_CORRUPT || (st == SP_HDR_UNFINISHED && h.magic);
	if (ours) {
		info->kind = h.kind;
		info->kind_name = kind_name(h.kind);
		info->creator_pid = h.creator_pid;
		info->creator_uid = h.creator_uid;
		info->created_ns = h.created_ns;
		/* Relaxed: h is our own copy. */
		info->state = load_relaxed(&h.state) == SP_SEG_READY
			      ? SP_OBJ_OK : SP_OBJ_UNFINISHED;
		count_participants(fd, info->size, &h, lockfd, info);
	} else {
		info->state = st == SP_HDR_UNFINISHED ? SP_OBJ_UNFINISHED : SP_OBJ_FOREIGN;
	}
	close(fd);
	if (lockfd >= 0)
		close(lockfd);
	return 0;
}

/* Calls fn(name) for each object name in /dev/shm (segments and lone lock
 * files, each name once).  Returns the count or -errno. */
static int each_name(int (*fn)(const char *name, void *arg), void *arg)
{
	const size_t plen = strlen(SP_SEG_PREFIX);
	struct dirent *e;
	DIR *d = opendir(SP_SHM_DIR);
	int count = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		char name[SP_NAME_MAX + 8], shm[SP_NAME_MAX + 32];
		size_t len;

		if (strncmp(e->d_name, SP_SEG_PREFIX, plen) != 0)
			continue;
		len = strlen(e->d_name + plen);
		if (len == 0 || len > SP_NAME_MAX + 5)
			continue;
		snprintf(name, sizeof(name), "%s", e->d_name + plen);
		if (len > 5 && strcmp(name + len - 5, ".lock") == 0) {
			struct stat st;

			/* A lock file: listed here only if its segment is gone. */
			name[len - 5] = 0;
			snprintf(shm, sizeof(shm), SP_SHM_DIR SP_SEG_PREFIX "%s", name);
			if (stat(shm, &st) == 0)
				continue;
		}
		if (sp_name_check(name))
			continue;
		count++;
		if (fn(name, arg))
			break;
	}
	closedir(d);
	return count;
}

struct list_arg {
	int (*fn)(const struct sp_obj_info *info, void *arg);
	void *arg;
};

static int list_one(const char *name, void *arg)
{
	struct list_arg *la = arg;
	struct sp_obj_info info;

	if (inspect(name, &info))
		return 0;
	return la->fn(&info, la->arg);
}

int sp_objects_list(int (*fn)(const struct sp_obj_info *info, void *arg), void *arg)
{
	struct list_arg la = { fn, arg };

	return each_name(list_one, &la);
}

static int is_stale(const struct sp_obj_info *i, unsigned flags)
{
	if (i->attached || i->state == SP_OBJ_FOREIGN)
		return 0;
	return i->state != SP_OBJ_OK || i->dead || (flags & SP_STALE_UNUSED);
}

struct stale_arg {
	const char *prefix;
	unsigned flags;
	int removed;
};

/* Removes NAME's files while holding its flock, if it is still stale. */
static int remove_one(const char *name, void *arg)
{
	struct stale_arg *sa = arg;
	char shm[160], lock[256];
	struct sp_handle h;      /* registered while it holds the flock (fork.h) */
	struct sp_obj_info info;
	int fd;

	if (sa->prefix && strncmp(name, sa->prefix, strlen(sa->prefix)) != 0)
		return 0;
	if (inspect(name, &info) || !is_stale(&info, sa->flags))
		return 0;
	if (sp_seg_shm_name(shm, sizeof(shm), name, NULL) || sp_seg_lock_path(lock, sizeof(lock), name))
		return 0;
	if (sp_handle_add(&h))
		return 0;
	fd = sp_fd_open(&h.fd[0], lock, O_RDWR | O_NOFOLLOW, 0, 0);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		/* Being opened or removed right now: leave it. */
		sp_fd_close(&h.fd[0]);
		sp_handle_remove(&h);
		return 0;
	}
	/* Under the flock nobody can join: check again, then remove. */
	if (inspect(name, &info) == 0 && is_stale(&info, sa->flags)) {
		shm_unlink(shm);
		unlink(lock);
		sa->removed++;
	}
	sp_fd_close(&h.fd[0]);
	sp_handle_remove(&h);
	return 0;
}

int sp_objects_remove_stale(const char *prefix, unsigned flags)
{
	struct stale_arg sa = { prefix, flags, 0 };
	int rc;

	if (flags & ~SP_STALE_UNUSED)
		return -EINVAL;
	rc = each_name(remove_one, &sa);
	return rc < 0 ? rc : sa.removed;
}
