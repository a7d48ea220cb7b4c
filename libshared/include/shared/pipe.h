/* pipe.h: Pipe by name: a two-ended message channel (duplex or one-way) with end-of-file when the peer goes. */
#ifndef SHARED_PIPE_H
#define SHARED_PIPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Python's multiprocessing.Pipe(duplex) between unrelated processes: a
 * pipe NAME has two ends, 0 and 1, each held by one handle at a time.
 * Duplex (the default): both ends send and receive.  One-way
 * (SP_PIPE_ONEWAY): end 0 only receives and end 1 only sends, as Python's
 * Pipe(duplex=False) returns (receiver, sender).
 *
 * Objects: NAME (a small segment: which handle holds each end, and whether
 * it has closed), NAME.a (the ring from end 1 to end 0) and, duplex, NAME.b
 * (the ring from end 0 to end 1).  A pipe name has at most SP_NAME_MAX - 2
 * characters.  Messages are 0 to sp_pipe_max_msg() bytes, delivered in
 * order.
 *
 * End of file: once the peer end has closed, or its process has died,
 * receiving returns what is left and then -EPIPE (Python's EOFError), and
 * sending fails with -EPIPE (BrokenPipeError).  A death is noticed within
 * one wait slice (50 ms).  An end that was closed stays closed (opening it
 * again fails with -EPIPE); an end whose holder died may be opened again.
 * Before the peer has ever opened its end, receiving simply waits.
 *
 * Waits take timeout_ns as in common.h.  A handle is one end; do not use it
 * from several threads at once.
 */
typedef struct sp_pipe sp_pipe;

#define SP_PIPE_ONEWAY 0x1u

struct sp_pipe_opts {
	uint64_t capacity;   /* bytes of each ring, power of two; 0: default */
	unsigned flags;      /* SP_PIPE_ONEWAY */
	unsigned mode;       /* permission bits; 0: 0600 */
};

/* Opens end `end` (0 or 1) of the pipe NAME, creating the pipe with
 * SP_CREATE (opts may be NULL: duplex, default capacity; ignored when
 * attaching).  A pipe is created whole (segment and rings) before anyone
 * can attach to it, and attaching creates nothing: a pipe whose unlink is
 * under way fails with -ENOENT (with SP_CREATE too) rather than leave
 * rings behind it.  Returns 0, -ENOENT, -EBUSY (a live handle holds that
 * end), -EPIPE (that end was closed), -EINVAL, or as sp_ring_open(). */
int sp_pipe_open(const char *name, unsigned flags, unsigned end, const struct sp_pipe_opts *opts,
		 sp_pipe **out);
/* Creates the pipe NAME (SP_EXCL in flags: fail with -EEXIST if it exists;
 * else an existing pipe is left as it is) with its rings, holding neither
 * end, so that each end can then be opened by whichever process will use
 * it (Python's Pipe() returns two ends that may both go to other
 * processes).  Returns 0, -EEXIST, -EINVAL, or as sp_ring_open(). */
int sp_pipe_create(const char *name, unsigned flags, const struct sp_pipe_opts *opts);
/* Closes this end: the peer sees end of file after the data in flight. */
void sp_pipe_close(sp_pipe *p);
/* Removes the pipe's objects.  Returns 0 or -ENOENT. */
int sp_pipe_unlink(const char *name);

/* Sends one message.  Returns 0, -EAGAIN/-ETIMEDOUT (the ring is full),
 * -EPIPE (the peer closed or died), -EBADF (a receive-only end),
 * -EMSGSIZE.  The waits here and below also return -EINTR (nothing sent
 * or taken) for a thread that opted in with sp_set_interrupt_fd (common.h). */
int sp_pipe_send(sp_pipe *p, const void *buf, size_t len, long long timeout_ns);
/* Receives the next message into buf.  Returns its length, -EAGAIN or
 * -ETIMEDOUT (nothing yet), -EPIPE (end of file), -EBADF (a send-only end),
 * -EMSGSIZE (longer than size: it stays first in line). */
ssize_t sp_pipe_recv(sp_pipe *p, void *buf, size_t size, long long timeout_ns);
/* Waits until a message (or end of file) is ready to receive.  Returns 1,
 * 0 if none came within timeout_ns, or -EBADF. */
int sp_pipe_poll(sp_pipe *p, long long timeout_ns);
size_t sp_pipe_max_msg(const sp_pipe *p);

#ifdef __cplusplus
}
#endif
#endif
