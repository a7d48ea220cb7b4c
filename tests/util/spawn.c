/* spawn.c: spawning helper programs with their stdin and stdout on pipes, waiting for them, reading what they wrote. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

pid_t tu_spawn(char *const argv[], int *out_fd)
{
	return tu_spawn_io(argv, NULL, out_fd);
}

pid_t tu_spawn_io(char *const argv[], int *in_fd, int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, q[2] = { -1, -1 };
	char ppid[32];
	pid_t pid;
	int err = 0;

	if ((out_fd && pipe2(p, O_CLOEXEC) < 0) || (in_fd && pipe2(q, O_CLOEXEC) < 0)) {
		err = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	if (out_fd)
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (in_fd)
		posix_spawn_file_actions_adddup2(&fa, q[0], 0);
	/* The tools ask for SIGKILL when their parent dies (SP_TEST_PARENT). */
	snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
	setenv("SP_TEST_PARENT", ppid, 1);
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (p[1] >= 0)
		close(p[1]);
	if (q[0] >= 0)
		close(q[0]);
	if (err) {
		if (p[0] >= 0)
			close(p[0]);
		if (q[1] >= 0)
			close(q[1]);
		return -err;
	}
	if (out_fd)
		*out_fd = p[0];
	if (in_fd)
		*in_fd = q[1];
	return pid;
}

pid_t tu_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	return pid < 0 ? -errno : pid;
}

int tu_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

char *tu_slurp(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}
