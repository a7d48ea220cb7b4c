/* obj.c: looking at a named object's header without attaching, and removing it by kind. */
#include "obj.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/ring.h"

int sp_obj_peek(const char *name, struct sp_seg_hdr *h)
{
	char shm[160];
	uint64_t size;
	int fd, rc;

	rc = sp_seg_shm_name(shm, sizeof(shm), name, NULL);
	if (rc)
		return rc;
	fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = sp_seg_hdr_read(fd, h, &size);
	close(fd);
	return rc;
}

int sp_obj_unlink_kind(const char *name, enum sp_kind kind)
{
	struct sp_seg_hdr h;
	int rc = sp_name_check(name);

	if (rc)
		return rc;
	rc = sp_obj_peek(name, &h);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	/* A foreign file, or an object of another kind (of any state or
	 * layout version: the kind word stays where it is). */
	if (rc >= 0 && h.magic != 0 && (h.magic != SP_SEG_MAGIC || h.kind != (uint32_t)kind))
		return -EPROTO;
	/* Ours, missing (its lock file may remain), or an unfinished creation
	 * whose creator died: remove what is there. */
	return sp_seg_unlink(name);
}
