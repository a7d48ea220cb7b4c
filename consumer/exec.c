/* exec.c: --exec: runs the user's command once per file, the content on its standard input. */
#include "consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The command runs under /bin/sh -c with:
 *   stdin            the file's content (a pipe, or the assembled file)
 *   stdout, stderr   the consumer's
 *   SHMPIPE_PATH     the file's relative path
 *   SHMPIPE_SIZE     its size in bytes
 *   SHMPIPE_MODE     its permission bits, in octal
 *   SHMPIPE_RING     the ring's name (with --broker: SHMPIPE_BROKER, the
 *                    batch's name, and SHMPIPE_HOST, this consumer's)
 * A non-zero exit or a death by signal is reported and counted.
 * On SIGINT/SIGTERM the command gets SIGTERM and the record is abandoned.
 * So it does if its worker dies (PR_SET_PDEATHSIG, as a worker when its
 * supervisor dies): the record goes to the worker's replacement (or to
 * another host), and a command left running would race with its second
 * run over the same file.  Only the command's shell gets it; sh -c execs
 * a simple command in its place, and a command that starts processes of
 * its own must see to them.
 */

static void child(struct worker *w, const struct sp_batch_rec *r, const char *path,
		  uint64_t size, int infd, pid_t parent)
{
	char num[32];

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* Dies with the worker; one that died before this line is gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(126);
	if (dup2(infd, STDIN_FILENO) < 0)
		_exit(126);
	setenv("SHMPIPE_PATH", path, 1);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
	setenv("SHMPIPE_SIZE", num, 1);
	snprintf(num, sizeof(num), "%o", (unsigned)(r->mode & 07777));
	setenv("SHMPIPE_MODE", num, 1);
	if (w->opt->broker) {
		setenv("SHMPIPE_BROKER", w->opt->burl.name, 1);
		setenv("SHMPIPE_HOST", w->opt->host, 1);
	} else {
		setenv("SHMPIPE_RING", w->opt->o.ring, 1);
	}
	execl("/bin/sh", "sh", "-c", w->opt->exec_cmd, (char *)NULL);
	_exit(127);
}

int exec_run(struct worker *w, const struct sp_batch_rec *r, const char *path,
	     const void *content, size_t len, int infd)
{
	int p[2] = { -1, -1 }, st, killed = 0;
	pid_t pid, self = getpid();

	if (infd >= 0) {
		if (lseek(infd, 0, SEEK_SET) < 0) {
			COUNT(w, exec_failed, 1);
			prog_warnpath(path, "exec", strerror(errno));
			return 0;
		}
	} else if (pipe2(p, O_CLOEXEC) < 0) {
		COUNT(w, exec_failed, 1);
		prog_warnpath(path, "exec: pipe", strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		COUNT(w, exec_failed, 1);
		prog_warnpath(path, "exec: fork", strerror(errno));
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		return 0;
	}
	if (pid == 0)
		child(w, r, path, infd >= 0 ? r->size : len, infd >= 0 ? infd : p[0], self);
	if (p[0] >= 0) {
		close(p[0]);
		/* A command that does not read all its input is not an error
		 * of ours: EPIPE (SIGPIPE is ignored) ends the feeding. */
		const char *q = content;
		size_t left = len;

		while (left && !prog_stop) {
			ssize_t n = write(p[1], q, left);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			q += n;
			left -= (size_t)n;
		}
		close(p[1]);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			COUNT(w, exec_failed, 1);
			prog_warnpath(path, "exec: wait", strerror(errno));
			return 0;
		}
		if (prog_stop && !killed) {
			kill(pid, SIGTERM);
			killed = 1;
		}
	}
	if (killed || (prog_stop && WIFSIGNALED(st) &&
		       (WTERMSIG(st) == SIGINT || WTERMSIG(st) == SIGTERM)))
		return -EINTR;  /* interrupted with us: give the record back */
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		COUNT(w, files, 1);
		COUNT(w, bytes_out, infd >= 0 ? r->size : len);
		return 0;
	}
	char why[64];

	if (WIFEXITED(st))
		snprintf(why, sizeof(why), "command exited with status %d", WEXITSTATUS(st));
	else
		snprintf(why, sizeof(why), "command killed by signal %d", WTERMSIG(st));
	COUNT(w, exec_failed, 1);
	prog_warnpath(path, "exec", why);
	return 0;
}
