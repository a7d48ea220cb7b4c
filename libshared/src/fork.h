/* fork.h: private: the process's open handles, and what a forked child makes of those it inherits. */
#ifndef SP_FORK_H
#define SP_FORK_H

/*
 * A forked child of a participant is not a participant.  Liveness follows
 * the process that opened a handle, through descriptors whose open file
 * descriptions carry its locks (the lock file's OFD byte of a segment's
 * participant slot; an InterProcessLock's flock and OFD lock).  The kernel
 * releases those locks when the last descriptor of the description closes,
 * and fork gives the child copies: left alone, a child that never touches
 * the object would keep a dead parent looking alive for as long as it
 * lives.  So every handle is registered here from its open to its close,
 * with the descriptors it holds, and a pthread_atfork child handler, in
 * the child, closes its copies of them (that releases nothing: the parent's
 * descriptors still hold the descriptions) and marks every handle
 * inherited.  From then on every call on an inherited handle fails with
 * -ECHILD, touching nothing shared, and its close frees only the child's
 * memory and mapping.  A child that wants to take part opens the object
 * by name itself.
 *
 * Every descriptor is also opened O_CLOEXEC, for the children that run no
 * fork handlers (posix_spawn and vfork) and for exec after fork.
 *
 * Lock rules: the registry (its list and each handle's fd[]) is guarded by
 * one process-wide mutex, which the prepare handler takes across fork.  A
 * descriptor is created and stored into its handle under it (sp_fd_open),
 * and closed and cleared under it (sp_fd_close), so that no fork can fall
 * between the two and leave the child a copy nobody closes, or make it
 * close a number since reused.  `inherited` is written only in
 * the child's handler, when the child has one thread.
 */

#define SP_HANDLE_FDS 2

struct sp_handle {
	struct sp_handle *prev, *next;
	int fd[SP_HANDLE_FDS];       /* descriptors this handle owns, -1: none */
	unsigned inherited;          /* 1 in a forked child: calls fail with -ECHILD */
};

/* Registers h, with no descriptor yet.  Returns 0 or -errno (the fork
 * handlers could not be installed). */
int sp_handle_add(struct sp_handle *h);
/* Unregisters h (no-op if it is not registered). */
void sp_handle_remove(struct sp_handle *h);

/* open(2) of path (shm_open(3) if shm), with O_CLOEXEC added, into *slot,
 * one of a registered handle's fd[], with no fork between the two.
 * Returns the descriptor, or -errno (*slot is then -1). */
int sp_fd_open(int *slot, const char *path, int flags, unsigned mode, int shm);
/* Closes *slot if it is open and sets it to -1, with no fork between. */
void sp_fd_close(int *slot);

#endif
