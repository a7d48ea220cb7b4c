/* dict.h: a shared dict by name (Manager().dict() without a server): string keys to byte values, fixed capacity. */
#ifndef SHARED_DICT_H
#define SHARED_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Python's Manager().dict() keeps the dict in a server process and sends
 * every operation there; here the table lives in the shared segment itself
 * and every process operates on it directly, so there is no server to die.
 * Keys are strings of 1 to key_max bytes (no NUL needed: the length is
 * given); values are 0 to val_max bytes.  At most `capacity` keys: sizes
 * are fixed at creation.
 *
 * What is atomic: every function below is one atomic operation with
 * respect to every other process: it runs under the dict's robust mutex,
 * and its changes to the table are made through an undo journal, with new
 * values written to unused space first.  So a process killed in the middle
 * of any operation leaves the dict as it was before that operation (the
 * next process to take the mutex rolls it back); readers never see a torn
 * value.  A sequence of calls (get, then set) is not atomic: use
 * sp_dict_cas() for read-modify-write.  Iteration is not a snapshot (see
 * sp_dict_next).
 *
 * Errors: -ENOENT (no such key), -ENOSPC (full), -E2BIG (key or value too
 * long), -EINVAL (empty key), -EMSGSIZE (value longer than the buffer:
 * *len tells how long), -EBADMSG (corrupt segment), and -EAGAIN or
 * -ETIMEDOUT when the handle has a timeout for the mutex (see
 * sp_dict_set_timeout) and it ran out, or -EINTR when a signal came while
 * waiting for it (sp_set_interrupt_fd, common.h): nothing changed then.  A dead
 * holder of the mutex never makes a call fail: it is taken over within a
 * slice and its operation rolled back.
 */
typedef struct sp_dict sp_dict;

struct sp_dict_opts {
	uint32_t capacity;   /* keys; 0: 1024; at most 1<<20 */
	uint32_t key_max;    /* bytes; 0: 64; at most 4096 */
	uint32_t val_max;    /* bytes; 0: 256; at most 1<<20 */
	unsigned mode;       /* permission bits; 0: 0600 */
};

/* Opens or creates the dict NAME (opts ignored when attaching).  Returns
 * 0 or -errno as sp_ring_open(). */
int sp_dict_open(const char *name, unsigned flags, const struct sp_dict_opts *opts, sp_dict **out);
/* Detaches; the dict stays. */
void sp_dict_close(sp_dict *d);
/* Removes the dict NAME.  Returns 0, -ENOENT, -EPROTO (another kind). */
int sp_dict_unlink(const char *name);

/* Bounds how long this handle's calls wait for the dict's mutex, which
 * every call holds for a few stores: SP_FOREVER (the default), SP_NOWAIT or
 * nanoseconds of CLOCK_MONOTONIC.  It matters only when another process is
 * stopped (SIGSTOP, a debugger) inside a call on the dict: a call that
 * runs out fails with -ETIMEDOUT (-EAGAIN for SP_NOWAIT, which still
 * waits up to 20 ms for a holder that is finishing) and changes nothing.
 * Not for threads sharing the handle. */
void sp_dict_set_timeout(sp_dict *d, long long timeout_ns);

/* Copies the value of key into val (size bytes); *len gets its length.
 * Returns 0, -ENOENT, -EMSGSIZE. */
int sp_dict_get(sp_dict *d, const char *key, size_t klen, void *val, size_t size, size_t *len);
/* Inserts or replaces.  Returns 0, -ENOSPC, -E2BIG, -EINVAL. */
int sp_dict_set(sp_dict *d, const char *key, size_t klen, const void *val, size_t vlen);
/* Removes key.  Returns 0 or -ENOENT. */
int sp_dict_delete(sp_dict *d, const char *key, size_t klen);
/* Compare-and-set: if the key's value equals expected[0..elen) (or, with
 * expected NULL, if the key is absent), sets it to val and returns 1;
 * otherwise changes nothing and returns 0.  Or -errno as sp_dict_set(). */
int sp_dict_cas(sp_dict *d, const char *key, size_t klen, const void *expected, size_t elen,
		const void *val, size_t vlen);
/* Number of keys (a snapshot). */
size_t sp_dict_len(sp_dict *d);

/* Iteration: start with *pos = 0; each call copies the next key and value
 * and returns 1, or returns 0 at the end (or -EMSGSIZE if a buffer is too
 * small, with *pos unchanged).  Not a snapshot: a key present from start
 * to end is returned exactly once unless deletions meanwhile compact the
 * table (then a key may be missed or repeated); keys added meanwhile may
 * or may not appear. */
int sp_dict_next(sp_dict *d, uint64_t *pos, char *key, size_t ksize, size_t *klen, void *val,
		 size_t vsize, size_t *vlen);

#ifdef __cplusplus
}
#endif
#endif
