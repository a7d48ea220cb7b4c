/* tool_redis.c: a redis-server of a shell test's own: started in a folder, its pid printed once it is ready. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/*
 * tool_redis DIR [ARG...]: starts redis-server with its unix socket at
 * DIR/redis.sock, no TCP port, bound to loopback, no snapshot, then ARGs
 * (e.g. --appendonly yes --appendfsync always, or --port N); prints the
 * server's pid on a line once it is ready and closes its standard output
 * (read it from a fifo: no polling), then stays the server's parent until
 * it ends.  SIGTERM or SIGINT stops the server; the death of the tool's
 * parent kills the tool, and the tool's death the server.  Exit: the
 * server's status (0 after a stop); 77 without redis-server; 71 if it
 * would not start.
 */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: tool_redis DIR [redis-server arguments]\n");
		return 64;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 70;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pid = tu_redis_start(argv[1], argv + 2, 20000);
	if (pid < 0) {
		/* -ENOENT is also a folder DIR that does not exist (the
		 * notification socket cannot be bound there). */
		int missing = pid == -ENOENT && !tu_redis_available();

		fprintf(stderr, "tool_redis: redis-server: %s\n",
			missing ? "not installed" : strerror((int)-pid));
		return missing ? 77 : 71;
	}
	printf("%ld\n", (long)pid);
	fflush(stdout);
	fclose(stdout);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 71;
		if (stop) {
			tu_redis_stop(pid);
			return 0;
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
