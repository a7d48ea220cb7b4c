/* tool_fork.c: a participant that forks while it holds something: a ring reservation, a Lock, an InterProcessLock. */
/*
 * Usage: tool_fork WHAT NAME HOW
 *   WHAT  ring    attach to ring NAME and reserve a record
 *         lock    open Lock NAME and acquire it
 *         iplock  open the InterProcessLock file NAME (a path) and acquire it
 *   HOW   fork    fork a child that never touches anything and waits for end
 *                 of file on stdin (as a shell-out or a worker pool does)
 *         exec    fork a child that executes cat(1) on stdin (output thrown
 *                 away): it too ends at end of file
 *         spawn   the same child by posix_spawn (glibc's runs no fork
 *                 handlers: only O_CLOEXEC keeps the descriptors from it)
 *         use     fork a child that calls the inherited handle and closes
 *                 it, printing "inherited RC RC RC" (each call's result);
 *                 the child exits 0 if every call failed with -ECHILD
 * Prints "child PID" (the child's pid) once the child runs, then "held";
 * with `use`, once the child has exited, and "used STATUS" between.  Then
 * it waits for end of file on stdin, commits or releases, and exits 0.
 * Killed (the tests do), it leaves what it held to the survivors, while its
 * child lives on.  Exit: 1 a library call failed, 64 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/iplock.h"
#include "shared/ring.h"
#include "shared/sync.h"
#include "testutil.h"

extern char **environ;

static sp_ring *ring;
static struct sp_msg msg;
static sp_lock *lock;
static sp_iplock *iplock;

static void wait_eof(void)
{
	char c;
	ssize_t n;

	while ((n = read(0, &c, 1)) > 0 || (n < 0 && errno == EINTR))
		;
}

/* In a `use` child: every call on the inherited handle, then its close.
 * Returns 0 if each failed with -ECHILD. */
static int use_inherited(const char *what)
{
	int rc[3] = { 0, 0, 0 };

	if (!strcmp(what, "ring")) {
		char buf[8];

		rc[0] = sp_ring_put(ring, "x", 1, SP_NOWAIT);
		rc[1] = sp_ring_commit(ring, &msg, 8);
		rc[2] = (int)sp_ring_get(ring, buf, sizeof(buf), SP_NOWAIT);
		sp_ring_close(ring);
	} else if (!strcmp(what, "lock")) {
		rc[0] = sp_lock_release(lock);
		rc[1] = sp_lock_acquire(lock, SP_NOWAIT);
		rc[2] = sp_lock_locked(lock);
		sp_lock_close(lock);
	} else {
		rc[0] = sp_iplock_release(iplock);
		rc[1] = sp_iplock_acquire(iplock, 0, SP_NOWAIT);
		rc[2] = sp_iplock_held(iplock);
		sp_iplock_close(iplock);
	}
	printf("inherited %d %d %d\n", rc[0], rc[1], rc[2]);
	fflush(stdout);
	return rc[0] == -ECHILD && rc[1] == -ECHILD && rc[2] == -ECHILD ? 0 : 1;
}

static pid_t start_child(const char *what, const char *how)
{
	char *cat[] = { "cat", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (!strcmp(how, "spawn")) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		if (posix_spawnp(&pid, "cat", &fa, NULL, cat, environ))
			pid = -1;
		posix_spawn_file_actions_destroy(&fa);
		return pid;
	}
	fflush(stdout);
	pid = fork();
	if (pid != 0)
		return pid;
	if (!strcmp(how, "fork")) {
		wait_eof();
		_exit(0);
	}
	if (!strcmp(how, "exec")) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(70);
		execvp("cat", cat);
		_exit(127);
	}
	_exit(use_inherited(what));
}

int main(int argc, char **argv)
{
	const char *what, *how;
	pid_t child;
	int rc;

	tu_tool_init();
	if (argc != 4)
		return 64;
	what = argv[1];
	how = argv[3];
	if (!strcmp(what, "ring")) {
		rc = sp_ring_open(argv[2], 0, NULL, &ring);
		if (!rc)
			rc = sp_ring_reserve(ring, 8, &msg, SP_NOWAIT);
	} else if (!strcmp(what, "lock")) {
		rc = sp_lock_open(argv[2], 0, 0, &lock);
		if (!rc)
			rc = sp_lock_acquire(lock, SP_NOWAIT);
	} else if (!strcmp(what, "iplock")) {
		rc = sp_iplock_open(argv[2], 0, &iplock);
		if (!rc)
			rc = sp_iplock_acquire(iplock, 0, SP_NOWAIT);
	} else {
		return 64;
	}
	if (rc) {
		fprintf(stderr, "tool_fork: %s %s: %s\n", what, argv[2], strerror(-rc));
		return 1;
	}
	child = start_child(what, how);
	if (child < 0)
		return 1;
	if (!strcmp(how, "use")) {
		int st;

		/* Its line comes first: we print ours once it is done. */
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		printf("child %ld\n", (long)child);
		printf("used %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	} else {
		printf("child %ld\n", (long)child);
	}
	printf("held\n");
	fflush(stdout);
	wait_eof();
	if (ring) {
		memcpy(msg.data, "parent!", 8);
		rc = sp_ring_commit(ring, &msg, 8);
		sp_ring_close(ring);
	} else if (lock) {
		rc = sp_lock_release(lock);
		sp_lock_close(lock);
	} else {
		rc = sp_iplock_release(iplock);
		sp_iplock_close(iplock);
	}
	return rc ? 1 : 0;
}
