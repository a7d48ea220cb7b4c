/* ring.h: a multi-producer multi-consumer record ring in named POSIX shared memory. */
#ifndef SHARED_RING_H
#define SHARED_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Names, open flags (SP_CREATE, SP_EXCL), time-outs (SP_NOWAIT, SP_FOREVER)
 * and interruptible waits (sp_set_interrupt_fd) are the library's, in
 * common.h.  A ring NAME maps to two files:
 *
 *   /dev/shm/shmpipe.NAME            the segment (shm_open "/shmpipe.NAME")
 *   /dev/shm/shmpipe.NAME.lock       the lock file (flock + OFD byte locks)
 */

/* Capacity limits, in bytes of the data area (a power of two). */
#define SP_RING_MIN_CAPACITY (4u << 10)
#define SP_RING_MAX_CAPACITY (1ull << 32)
#define SP_RING_DEFAULT_CAPACITY (4u << 20)

/* How many handles may be attached to one ring at once. */
#define SP_RING_MAX_PARTICIPANTS 128

/* Options for creating a ring; zeroed fields take defaults. */
struct sp_ring_opts {
	uint64_t capacity;   /* data bytes, power of two; 0: SP_RING_DEFAULT_CAPACITY */
	unsigned mode;       /* permission bits of every object; 0: 0600 */
	unsigned writers;    /* seals that close the ring (see sp_ring_seal); 0: 1 */
};

typedef struct sp_ring sp_ring;

/* A record handed out by sp_ring_reserve() or sp_ring_peek().  The caller
 * reads or writes data[0..len) and passes it back to commit or release; the
 * other fields are the library's. */
struct sp_msg {
	void *data;
	size_t len;
	uint64_t pos;        /* ring position of the record (library-private) */
	uint64_t cookie;     /* header word at reservation (library-private) */
};

/*
 * Lifecycle.  Creation, attachment and removal are serialised by an
 * exclusive flock on the lock file, so two processes racing to create the
 * same ring end up sharing one, fully initialised.
 *
 * sp_ring_open() attaches to the ring NAME; with SP_CREATE it creates it
 * first if it does not exist (opts may be NULL for defaults; it is ignored
 * when attaching).  The memory is reserved at creation (posix_fallocate), so
 * a full /dev/shm fails here with -ENOSPC and never later with SIGBUS.
 * Returns 0 and stores a handle in *out, or:
 *   -EINVAL  bad name or options;   -ENAMETOOLONG  name too long;
 *   -ENOENT  no such ring (without SP_CREATE);  -EEXIST  with SP_EXCL;
 *   -EPROTO  an object of that name is not a ring of this layout version;
 *   -EBADMSG the ring's header is inconsistent (truncated, wrong sizes);
 *   -EUSERS  SP_RING_MAX_PARTICIPANTS handles are attached already;
 *   -ENOSPC, -EACCES, -ENOMEM and other errors of the system calls.
 * A handle belongs to the process that opened it.  A forked child is not a
 * participant: every call it makes on a handle it inherited fails with
 * -ECHILD, touching nothing shared (sp_ring_size() returns 0), and
 * sp_ring_close() frees only the child's memory and mapping; the child
 * opens the ring by name to take part.  The parent's liveness is its own:
 * the child's copies of the handle's descriptors are closed at the fork.  Nor may two threads use one handle at once
 * (a lone handle's side of the ring is biased to it, see sp_ring_stat):
 * give each thread its own handle.
 *
 * sp_ring_close() detaches: records this handle reserved and did not commit
 * are abandoned (never delivered), records it peeked and did not release are
 * redelivered to another reader.  The ring and its objects remain.
 *
 * sp_ring_unlink() removes the ring's objects by name.  Processes attached
 * keep working on their mapping.  Returns 0, or -ENOENT if there was no
 * segment of that name (the other objects are removed anyway).
 */
int sp_ring_open(const char *name, unsigned flags, const struct sp_ring_opts *opts,
		 sp_ring **out);
void sp_ring_close(sp_ring *r);
int sp_ring_unlink(const char *name);

/*
 * Records.  A record holds 0 to sp_ring_max_record() bytes (a quarter of the
 * capacity); the library does not split larger payloads, the caller does
 * (put returns -EMSGSIZE).  Any number of processes may put and get at once;
 * the records of one handle come out in the order it put them, and each
 * record is delivered to exactly one reader (again to another reader only if
 * the first died or closed before releasing it).
 *
 * Every call below is safe with many writers and many readers in many
 * processes, and takes timeout_ns as described at SP_NOWAIT (common.h).  A
 * wait spins briefly, then sleeps on a doorbell (a futex word in the ring)
 * in bounded slices, re-checking the ring after each; no doorbell is
 * trusted to ring.
 *
 * A call given a timeout returns by it, whatever it waits for on the way
 * (a stopped peer, room, records): its waits share one deadline.
 *
 * Common errors: -EAGAIN (SP_NOWAIT and it would block), -ETIMEDOUT,
 * -EPIPE (writing: the ring is sealed; reading: sealed and drained),
 * -EMSGSIZE, -EBADMSG (the shared memory holds an impossible value: a peer
 * corrupted it; the handle should be closed), -EINTR (a signal, only for a
 * thread that opted in with sp_set_interrupt_fd(); nothing was put or taken).
 */

/* Copies len bytes from buf into a new record.  Returns 0. */
int sp_ring_put(sp_ring *r, const void *buf, size_t len, long long timeout_ns);

/* Takes the next record and copies it into buf (bufsize bytes).  Returns its
 * length.  If the record is longer than bufsize, returns -EMSGSIZE and leaves
 * the record in place (sp_ring_peek() tells its length). */
ssize_t sp_ring_get(sp_ring *r, void *buf, size_t bufsize, long long timeout_ns);

/* Zero-copy writing: reserve room for len bytes, fill m->data, then commit.
 * sp_ring_commit() publishes the first `len` bytes (len <= the reserved
 * length; a record may shrink at commit but not grow).  Records reserved
 * later by other writers wait behind an uncommitted one, so commit soon.
 * sp_ring_cancel() gives a reservation up instead: the record is never
 * delivered (readers step over it) and its space comes back as they pass.
 * Both return 0, -EINVAL for an m that is not a reservation of this handle
 * still open, or -ESTALE if the record was taken from us. */
int sp_ring_reserve(sp_ring *r, size_t len, struct sp_msg *m, long long timeout_ns);
int sp_ring_commit(sp_ring *r, struct sp_msg *m, size_t len);
int sp_ring_cancel(sp_ring *r, struct sp_msg *m);

/* Zero-copy reading: take the next record and read m->data[0..m->len), then
 * release it so its space can be reused.  Returns 0.  A record not yet
 * released when its reader dies is redelivered to another reader. */
int sp_ring_peek(sp_ring *r, struct sp_msg *m, long long timeout_ns);
int sp_ring_release(sp_ring *r, struct sp_msg *m);

/*
 * Sealing.  A ring is created expecting opts->writers seals.  sp_ring_seal()
 * adds this handle's seal (once; again is a no-op) and forbids it further
 * puts.  Once the expected number of handles have sealed, the ring is closed:
 * puts fail with -EPIPE, and gets fail with -EPIPE once it is drained (every
 * record taken and released: while a reader still holds one, others wait, so
 * that they can take it over if that reader dies; the records a handle holds
 * itself do not make it wait, as they come back to nobody while it lives),
 * while an empty unsealed
 * ring gives -EAGAIN or -ETIMEDOUT.  A writer that dies
 * without sealing does not count.  Returns 0, or -EBUSY if this handle has
 * reserved records not yet committed.
 */
int sp_ring_seal(sp_ring *r);

/* Sets how long this handle's waits spin before they sleep, in nanoseconds
 * (default SP_RING_DEFAULT_SPIN_NS; 0 sleeps at once).  Spinning trades a
 * core for latency: a wake-up from sleep costs tens of microseconds. */
#define SP_RING_DEFAULT_SPIN_NS 30000LL
void sp_ring_set_spin(sp_ring *r, long long spin_ns);

/* Counters and queries.  Values are a consistent-enough snapshot taken
 * without locks: exact when the ring is quiet, approximate under traffic. */
struct sp_ring_stat {
	uint64_t capacity;       /* data bytes */
	uint64_t max_record;     /* largest payload */
	uint64_t used;           /* bytes occupied, headers included */
	uint64_t records;        /* records committed and not yet released */
	uint64_t recs_in, bytes_in;    /* committed since creation */
	uint64_t recs_out, bytes_out;  /* released since creation */
	unsigned writers;        /* seals expected */
	unsigned sealed;         /* seals given */
	unsigned attached;       /* live handles attached now */
	unsigned readers;        /* of which have taken a record */
	unsigned writers_live;   /* of which have put a record */
	unsigned dead;           /* slots of handles that died attached */
	unsigned readers_waiting, writers_waiting;
	/* A side with a lone handle is biased to it: that handle claims (or
	 * takes) without locked instructions until another one joins.  The
	 * pid of the handle each side is biased to (it may have died), or 0. */
	int writer_bias_pid, reader_bias_pid;
};
/* Fills *st.  Checks each participant's liveness (a system call each), so it
 * is for monitoring, not the fast path.  Returns 0. */
int sp_ring_stat(sp_ring *r, struct sp_ring_stat *st);
size_t sp_ring_max_record(const sp_ring *r);
size_t sp_ring_size(sp_ring *r);   /* records waiting (approximate) */
int sp_ring_empty(sp_ring *r);     /* 1 if nothing is ready to take now */
int sp_ring_full(sp_ring *r);      /* 1 if not even an empty record fits now */
int sp_ring_closed(sp_ring *r);    /* 1 if sealed by all expected writers */
const char *sp_ring_name(const sp_ring *r);

#ifdef __cplusplus
}
#endif
#endif
