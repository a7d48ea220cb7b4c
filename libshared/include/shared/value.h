/* value.h: Value and Array: typed shared scalars and arrays by name, with an optional robust lock and integer atomics. */
#ifndef SHARED_VALUE_H
#define SHARED_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "shared/common.h"   /* SP_CREATE, SP_EXCL, SP_NOWAIT, SP_FOREVER, names */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Python's multiprocessing.Value and Array (and RawValue, RawArray), shared
 * by name.  A Value is an Array of length 1.  The elements live in the
 * segment /dev/shm/shmpipe.NAME, 64-byte aligned, native byte order.
 *
 * What is atomic:
 * - sp_value_load/store of one element of an integer type or double is a
 *   single atomic access (no torn reads), relaxed-free: loads acquire and
 *   stores release, so data written before a store is visible to a process
 *   that loads the stored value.
 * - sp_value_add, sp_value_exchange and sp_value_cas are atomic
 *   read-modify-writes on one integer element (sequentially consistent),
 *   wrapping modulo the type's width.
 * - Nothing else: a read-modify-write made of a load and a store (x = x +
 *   1) is not atomic, which is the race condition of the documents'
 *   lesson.  Take the lock around such sequences, or use sp_value_add.
 * - sp_value_read/write copy bytes, under the lock if the object has one
 *   (SP_VALUE_LOCK), else with no atomicity at all.
 *
 * The lock (SP_VALUE_LOCK at creation) is a robust mutex as in sync.h:
 * sp_value_lock() returns -EOWNERDEAD when it takes the lock over from a
 * holder that died, and the data may then be half updated.  An object
 * created without it answers -ENOLCK.
 *
 * Concurrency: every function is safe from any number of processes.  The
 * handle may be shared by threads for everything but the lock (the lock's
 * owner is the handle).  Errors are as in sync.h; -ERANGE for an index out
 * of range, -EINVAL for the wrong type.
 */

enum sp_type {
	SP_I8 = 1, SP_U8, SP_I16, SP_U16, SP_I32, SP_U32, SP_I64, SP_U64,
	SP_DOUBLE, SP_BYTES, SP_TYPE_MAX_
};

#define SP_VALUE_LOCK 0x1u           /* give the object a lock */
#define SP_VALUE_MAX_BYTES (1ull << 40)

struct sp_value_opts {
	enum sp_type type;
	uint64_t length;     /* elements (bytes for SP_BYTES); 0: 1 */
	unsigned flags;      /* SP_VALUE_LOCK */
	unsigned mode;       /* permission bits; 0: 0600 */
};

typedef struct sp_value sp_value;

/* Opens or creates the Value/Array NAME.  New objects start zero-filled.
 * opts is needed to create; when attaching it may be NULL, else its type
 * and length must match (-EPROTO if not).  Returns 0 or -errno. */
int sp_value_open(const char *name, unsigned flags, const struct sp_value_opts *opts,
		  sp_value **out);
/* Detaches (releasing the lock if this handle holds it). */
void sp_value_close(sp_value *v);
/* Removes the object NAME.  Returns 0, -ENOENT or -EPROTO (another kind). */
int sp_value_unlink(const char *name);

/* The element type and the number of elements, fixed at creation. */
enum sp_type sp_value_type(const sp_value *v);
uint64_t sp_value_length(const sp_value *v);
/* Size of one element in bytes. */
size_t sp_value_elem_size(const sp_value *v);
/* The elements themselves, for direct access under the lock or with your
 * own atomics.  Never NULL for an open handle. */
void *sp_value_data(sp_value *v);

/* Copies element i into *out (an object of the element's C type: int8_t ..
 * uint64_t, double, or one byte for SP_BYTES).  Returns 0 or -ERANGE. */
int sp_value_load(sp_value *v, uint64_t i, void *out);
/* Stores *in into element i.  Returns 0 or -ERANGE. */
int sp_value_store(sp_value *v, uint64_t i, const void *in);

/* Convenience for the integer types: element i as int64_t (unsigned 64-bit
 * values above INT64_MAX come back negative, as their bit pattern), and
 * stores truncating to the element's width.  Returns 0, -ERANGE, -EINVAL
 * (double or bytes). */
int sp_value_get(sp_value *v, uint64_t i, int64_t *out);
int sp_value_set(sp_value *v, uint64_t i, int64_t x);
/* For SP_DOUBLE.  Returns 0, -ERANGE, -EINVAL. */
int sp_value_get_double(sp_value *v, uint64_t i, double *out);
int sp_value_set_double(sp_value *v, uint64_t i, double x);

/* Atomic read-modify-writes on integer element i.  *old (may be NULL)
 * receives the previous value, as int64_t as in sp_value_get().
 * sp_value_cas stores desired if the element equals *expected and returns
 * 1; else it writes the current value into *expected and returns 0.
 * Returns -ERANGE or -EINVAL (not an integer type) on error. */
int sp_value_add(sp_value *v, uint64_t i, int64_t delta, int64_t *old);
int sp_value_exchange(sp_value *v, uint64_t i, int64_t x, int64_t *old);
int sp_value_cas(sp_value *v, uint64_t i, int64_t *expected, int64_t desired);

/* Copies len bytes at byte offset off of the data out of or into buf,
 * holding the lock if the object has one.  Returns 0, -ERANGE, the
 * lock's -EOWNERDEAD (the copy was still made), or -EINTR (a signal while
 * waiting for the lock, sp_set_interrupt_fd in common.h: nothing copied). */
int sp_value_read(sp_value *v, uint64_t off, void *buf, size_t len);
int sp_value_write(sp_value *v, uint64_t off, const void *buf, size_t len);

/* The object's lock (SP_VALUE_LOCK).  As sp_lock_acquire/release in
 * sync.h (-EINTR included); -ENOLCK if the object has no lock. */
int sp_value_lock(sp_value *v, long long timeout_ns);
int sp_value_unlock(sp_value *v);

#ifdef __cplusplus
}
#endif
#endif
