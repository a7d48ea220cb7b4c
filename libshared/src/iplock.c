/* iplock.c: InterProcessLock: flock(2) and an OFD record lock on one file, taken in that order. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fork.h"
#include "shared/iplock.h"
#include "wait.h"

/*
 * Both locks belong to the open file description of fd, the handle's only
 * descriptor: registered (fork.h), so that a forked child closes its copy
 * and the locks follow the process that took them, not its children.
 */
struct sp_iplock {
	struct sp_handle reg;  /* reg.fd[0]: the file */
	int held;              /* 0, 1 exclusive, 2 shared */
};

int sp_iplock_open(const char *path, unsigned mode, sp_iplock **out)
{
	sp_iplock *l;
	int rc;

	if (!path || !out || (mode & ~0777u))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	rc = sp_handle_add(&l->reg);
	if (rc) {
		free(l);
		return rc;
	}
	/* Read and write: a read lock needs a readable descriptor and a write
	 * lock a writable one. */
	rc = sp_fd_open(&l->reg.fd[0], path, O_RDWR | O_CREAT | O_NOCTTY, mode ? mode : 0644, 0);
	if (rc < 0) {
		sp_handle_remove(&l->reg);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void sp_iplock_close(sp_iplock *l)
{
	if (!l)
		return;
	/* Drops both locks: this is their only descriptor.  (A forked
	 * child's copy was closed at the fork: nothing to drop.) */
	sp_fd_close(&l->reg.fd[0]);
	sp_handle_remove(&l->reg);
	free(l);
}

/* One attempt (or a blocking wait) at the flock.  Returns 0 or -errno;
 * -EAGAIN when it would block. */
static int try_flock(int fd, int shared, int block)
{
	int op = (shared ? LOCK_SH : LOCK_EX) | (block ? 0 : LOCK_NB);

	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return 0;
}

/* The same for the OFD record lock on the whole file (l_len 0: to the end,
 * however the file grows), which is what lockf(fd, F_LOCK, 0) at offset 0
 * and fasteners cover. */
static int try_ofd(int fd, short type, int block)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	while (fcntl(fd, block ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EACCES ? -EAGAIN : -errno;
	}
	return 0;
}

/* One round: both locks in order, or neither. */
static int try_both(sp_iplock *l, int shared, int block)
{
	int rc = try_flock(l->reg.fd[0], shared, block);

	if (rc)
		return rc;
	rc = try_ofd(l->reg.fd[0], shared ? F_RDLCK : F_WRLCK, block);
	if (rc)
		flock(l->reg.fd[0], LOCK_UN);
	return rc;
}

int sp_iplock_acquire(sp_iplock *l, unsigned flags, long long timeout_ns)
{
	int shared = !!(flags & SP_IPLOCK_SHARED);
	int64_t deadline, nap = 1000000;
	int intr = sp_intr_fd();

	if (l->reg.inherited)
		return -ECHILD;
	if (flags & ~SP_IPLOCK_SHARED)
		return -EINVAL;
	if (l->held)
		return -EDEADLK;
	/* A blocking flock would sleep through a signal that came just before
	 * it: a thread with an interrupt fd (sp_set_interrupt_fd) waits in
	 * naps instead, looking at the fd before each. */
	if (timeout_ns < 0 && intr < 0) {
		int rc = try_both(l, shared, 1);

		if (!rc)
			l->held = shared ? 2 : 1;
		return rc;
	}
	deadline = timeout_ns < 0 ? INT64_MAX : sp_deadline(sp_now_ns(), timeout_ns);
	for (;;) {
		int rc = try_both(l, shared, 0);
		int64_t left;
		struct timespec ts;

		if (!rc) {
			l->held = shared ? 2 : 1;
			return 0;
		}
		if (rc != -EAGAIN)
			return rc;
		if (timeout_ns == 0)
			return -EAGAIN;
		left = deadline - sp_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (nap > left)
			nap = left;
		if (intr >= 0 && sp_intr_pending(intr))
			return -EINTR;
		ts.tv_sec = nap / 1000000000;
		ts.tv_nsec = nap % 1000000000;
		if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == EINTR && intr >= 0)
			return -EINTR;
		if (nap < 20000000)
			nap *= 2;
	}
}

int sp_iplock_release(sp_iplock *l)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	if (l->reg.inherited)
		return -ECHILD;
	if (!l->held)
		return -EPERM;
	/* Reverse order of taking. */
	fcntl(l->reg.fd[0], F_OFD_SETLK, &fl);
	flock(l->reg.fd[0], LOCK_UN);
	l->held = 0;
	return 0;
}

int sp_iplock_held(const sp_iplock *l)
{
	if (l->reg.inherited)
		return -ECHILD;
	return l->held;
}
