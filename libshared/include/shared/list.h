/* list.h: a shared list / deque by name (Manager().list() without a server): byte items, fixed capacity. */
#ifndef SHARED_LIST_H
#define SHARED_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A list of byte items (0 to item_max bytes each, at most `capacity`
 * items) held in the shared segment itself, with the operations of
 * Python's list proxy and of collections.deque: append and pop at both
 * ends, get and set by index (negative indexes count from the end), len,
 * clear.  For a blocking producer/consumer queue use queue.h instead.
 *
 * What is atomic: each function is one atomic operation for every other
 * process (it runs under the list's robust mutex; item bytes are written
 * to unused slots and published through an undo journal).  A process
 * killed in the middle of any operation leaves the list as it was before
 * it.  Sequences of calls are not atomic.
 *
 * Errors: -ERANGE (index out of range; pop of an empty list), -ENOSPC
 * (full), -E2BIG (item too long), -EMSGSIZE (buffer too small: *len tells
 * the item's length, nothing is removed), -EBADMSG (corrupt segment), and
 * -EAGAIN or -ETIMEDOUT when the handle's timeout for the mutex ran out
 * (sp_list_set_timeout), -EINTR when a signal came while waiting for it
 * (sp_set_interrupt_fd, common.h): nothing changed then.
 */
typedef struct sp_list sp_list;

struct sp_list_opts {
	uint32_t capacity;   /* items; 0: 1024; at most 1<<20 */
	uint32_t item_max;   /* bytes per item; 0: 256; at most 1<<20 */
	unsigned mode;       /* permission bits; 0: 0600 */
};

/* Opens or creates the list NAME (opts may be NULL for defaults; ignored
 * when attaching).  Returns 0 or -errno as sp_ring_open(). */
int sp_list_open(const char *name, unsigned flags, const struct sp_list_opts *opts, sp_list **out);
/* Detaches; the list stays. */
void sp_list_close(sp_list *l);
/* Removes the list NAME.  Returns 0, -ENOENT, -EPROTO. */
int sp_list_unlink(const char *name);

/* Bounds how long this handle's calls wait for the list's mutex, which
 * every call holds for a few stores: SP_FOREVER (the default), SP_NOWAIT or
 * nanoseconds, as sp_dict_set_timeout() does for a dict. */
void sp_list_set_timeout(sp_list *l, long long timeout_ns);

/* Adds an item at the end (append) or the front (appendleft). */
int sp_list_append(sp_list *l, const void *item, size_t len);
int sp_list_appendleft(sp_list *l, const void *item, size_t len);
/* Removes the last (pop) or first (popleft) item into buf; *len gets its
 * length.  Returns 0, -ERANGE (empty), -EMSGSIZE. */
int sp_list_pop(sp_list *l, void *buf, size_t size, size_t *len);
int sp_list_popleft(sp_list *l, void *buf, size_t size, size_t *len);
/* Copies item i (i < 0: from the end).  Returns 0, -ERANGE, -EMSGSIZE. */
int sp_list_get(sp_list *l, long long i, void *buf, size_t size, size_t *len);
/* Replaces item i.  Returns 0, -ERANGE, -E2BIG. */
int sp_list_set(sp_list *l, long long i, const void *item, size_t len);
/* Number of items (a snapshot), and removal of all of them. */
size_t sp_list_len(sp_list *l);
int sp_list_clear(sp_list *l);

#ifdef __cplusplus
}
#endif
#endif
