/* obj.c: looking at a named object's header without attaching, and removing it by kind. */
#include "obj.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/ring.h"

int sp_obj_peek(const char *name, struct sp_seg_hdr *h, uint64_t *file_size)
{
	char shm[160];
	struct stat st;
	ssize_t n;
	int fd, rc;

	rc = sp_seg_shm_name(shm, sizeof(shm), name, NULL);
	if (rc)
		return rc;
	fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memset(h, 0, sizeof(*h));
	do
		n = pread(fd, h, sizeof(*h), 0);
	while (n < 0 && errno == EINTR);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	if ((size_t)n < sizeof(*h) || h->magic != SP_SEG_MAGIC || h->version != SP_SEG_VERSION)
		return -EPROTO;
	*file_size = (uint64_t)st.st_size;
	return 0;
}

int sp_obj_unlink_kind(const char *name, enum sp_kind kind, const struct sp_seg_ops *ops)
{
	struct sp_seg_hdr h;
	uint64_t size;
	int rc = sp_name_check(name);

	if (rc)
		return rc;
	rc = sp_obj_peek(name, &h, &size);
	if (rc == 0 && h.kind != (uint32_t)kind)
		return -EPROTO;
	/* A foreign file, or an object of another kind or layout version. */
	if (rc == -EPROTO && h.magic != 0 && (h.magic != SP_SEG_MAGIC || h.kind != (uint32_t)kind))
		return -EPROTO;
	if (rc && rc != -EPROTO && rc != -ENOENT)
		return rc;
	/* Ours, missing (its lock file may remain), or an unfinished creation
	 * whose creator died: remove what is there. */
	return sp_seg_unlink(name, ops);
}

void *sp_obj_body(const struct sp_seg *s, size_t need)
{
	/* Read body_off once: a peer may change the live header later. */
	uint32_t off = *(volatile uint32_t *)&s->hdr->body_off;

	if (off < sizeof(struct sp_seg_hdr) + (uint64_t)s->nslots * sizeof(struct sp_slot) ||
	    off % 8 || (uint64_t)off + need > s->map_size)
		return NULL;
	return s->base + off;
}
