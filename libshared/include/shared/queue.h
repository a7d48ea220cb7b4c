/* queue.h: Queue and JoinableQueue by name: a message queue over the ring, with shutdown, task_done and join. */
#ifndef SHARED_QUEUE_H
#define SHARED_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Python's multiprocessing.Queue and JoinableQueue, shared by name between
 * unrelated processes.  A queue NAME is two objects:
 *   NAME      a ring (ring.h) that carries the messages;
 *   NAME.q    a small synchronisation segment: the shut-down flag and, for
 *             a JoinableQueue, the count of unfinished tasks and what each
 *             handle has taken and not yet marked done.
 * So a queue name may have at most SP_NAME_MAX - 2 characters.
 *
 * Messages are byte strings of 0 to sp_queue_max_msg() bytes (a quarter of
 * the capacity); any number of processes may put and get at once.  Each
 * message is delivered to exactly one getter, in the order one putter put
 * them.  A getter that dies before its get returned does not lose the
 * message: the ring hands it to another getter.  Unlike Python's Queue, a
 * process killed while using the queue cannot corrupt it.
 *
 * Bounded (maxsize at creation, Python's Queue(maxsize)): a put waits while
 * maxsize messages are in the queue (put and not yet got), as it waits
 * while the ring has no room for its bytes; sp_queue_full() says either.
 * Puts to a bounded queue are admitted one at a time (a robust internal
 * mutex, taken for a check and a put that does not wait), so the count is
 * exact: maxsize is never exceeded, except by one for the instant a
 * putter's handle is being closed (its counts move to the retired totals).
 *
 * Waits take timeout_ns as in common.h (SP_NOWAIT: -EAGAIN, Python's
 * Empty/Full; SP_FOREVER; or nanoseconds of CLOCK_MONOTONIC: -ETIMEDOUT),
 * and return -EINTR for a thread that opted in with sp_set_interrupt_fd()
 * (common.h): an interrupted put stored nothing, an interrupted get took
 * nothing (the message stays for the next get), join changed nothing.
 *
 * Shutting down (Python's close(), with the semantics of Python 3.13's
 * Queue.shutdown()): after sp_queue_shutdown() by any process, every put
 * fails with -ESHUTDOWN, and gets return what is left and then fail with
 * -ESHUTDOWN (a getter blocked on the empty queue wakes up with it).  Once
 * a getter has been told -ESHUTDOWN, no put succeeds: a put under way when
 * the shutdown came delivers its message (getters wait for it, within
 * their timeout) or fails.
 *
 * JoinableQueue (SP_QUEUE_JOINABLE at creation): every put adds an
 * unfinished task; sp_queue_task_done() finishes one and sp_queue_join()
 * waits until none is left.  A handle that closes or dies with tasks it got
 * and did not finish gives them up: they are subtracted from the count
 * (they will never be done), so join() does not hang on a dead consumer.
 * A process killed anywhere makes join() neither return while a task is
 * unfinished nor wait for one that does not exist.
 *
 * Common errors: -EBADMSG (corrupt shared memory), -EMSGSIZE, -EINVAL.
 * A handle is not for several threads at once (its ring handle is not, see
 * ring.h): give each thread its own handle, as each process has its own.
 */
typedef struct sp_queue sp_queue;

#define SP_QUEUE_JOINABLE 0x1u

struct sp_queue_opts {
	uint64_t capacity;   /* ring data bytes, power of two; 0: default */
	unsigned flags;      /* SP_QUEUE_JOINABLE */
	unsigned mode;       /* permission bits; 0: 0600 */
	uint32_t maxsize;    /* messages at most in the queue; 0: as many as fit */
};

/* Opens or creates the queue NAME (opts may be NULL for defaults; ignored
 * when attaching).  Returns 0 or -errno as sp_ring_open(). */
int sp_queue_open(const char *name, unsigned flags, const struct sp_queue_opts *opts,
		  sp_queue **out);
/* Detaches.  A message this handle took for a get that failed with
 * -EMSGSIZE goes back to the other getters; with SP_QUEUE_JOINABLE, tasks
 * this handle got and did not mark done are given up. */
void sp_queue_close(sp_queue *q);
/* Removes both objects of the queue NAME.  Returns 0 or -ENOENT. */
int sp_queue_unlink(const char *name);

/* Puts a message.  Returns 0, -EAGAIN/-ETIMEDOUT (full), -ESHUTDOWN,
 * -EMSGSIZE (longer than sp_queue_max_msg()). */
int sp_queue_put(sp_queue *q, const void *buf, size_t len, long long timeout_ns);
/* Gets the next message into buf.  Returns its length, -EAGAIN/-ETIMEDOUT
 * (empty), -ESHUTDOWN (shut down and drained), or -EMSGSIZE (longer than
 * size: the message stays reserved for this handle, and the next get with
 * a buffer large enough returns it). */
ssize_t sp_queue_get(sp_queue *q, void *buf, size_t size, long long timeout_ns);

/* Shuts the queue down for every process (see above).  Returns 0. */
int sp_queue_shutdown(sp_queue *q);
/* Returns 1 if the queue has been shut down. */
int sp_queue_is_shutdown(sp_queue *q);

/* Marks one task done: one this handle got, or if it got none, one got
 * through another handle.  Returns 0, -EINVAL (no task got and not yet
 * marked done: Python's ValueError), -ENOTSUP (not a JoinableQueue).
 * Never blocks. */
int sp_queue_task_done(sp_queue *q);
/* Waits until every task put has been marked done (or given up by a dead
 * or closed consumer).  Returns 0, -EAGAIN, -ETIMEDOUT, -ENOTSUP. */
int sp_queue_join(sp_queue *q, long long timeout_ns);
/* Returns the number of unfinished tasks (a snapshot). */
unsigned sp_queue_unfinished(sp_queue *q);

/* Snapshots, exact when the queue is quiet (Python's qsize, empty, full). */
size_t sp_queue_size(sp_queue *q);
int sp_queue_empty(sp_queue *q);
int sp_queue_full(sp_queue *q);
size_t sp_queue_max_msg(const sp_queue *q);
/* The creator's maxsize (0: unbounded). */
unsigned sp_queue_maxsize(const sp_queue *q);

#ifdef __cplusplus
}
#endif
#endif
