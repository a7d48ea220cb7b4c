/* redis.c: a redis-server of the test's own, on a unix socket in the test's folder, ready when it says so. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Finds redis-server on PATH (or in $SP_REDIS_SERVER). */
static int find_redis(char *out, size_t size)
{
	const char *env = getenv("SP_REDIS_SERVER"), *path = getenv("PATH");

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p; ) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		snprintf(out, size, "%.*s/redis-server", (int)n, p);
		if (n && access(out, X_OK) == 0)
			return 0;
		p += n + (c ? 1 : 0);
	}
	return -ENOENT;
}

int tu_redis_available(void)
{
	char path[4096];

	return find_redis(path, sizeof(path)) == 0;
}

pid_t tu_redis_start(const char *dir, char *const extra[], int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char exe[4096], sock[4096], logf[4096], buf[512];
	char *argv[64];
	int n = 0, fd, st;
	pid_t pid;

	if (find_redis(exe, sizeof(exe)) < 0)
		return -ENOENT;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(logf, sizeof(logf), "%s/redis.log", dir);
	/* Loopback only, a socket only we can use, no snapshot: a server of
	 * the test's own, gone with it. */
	char *base[] = { exe, "--port", "0", "--bind", "127.0.0.1", "--protected-mode", "yes",
			 "--unixsocket", sock, "--unixsocketperm", "700", "--dir", (char *)dir,
			 "--save", "", "--appendonly", "no", "--daemonize", "no",
			 "--supervised", "systemd", "--logfile", logf, NULL };

	for (int i = 0; base[i]; i++)
		argv[n++] = base[i];
	for (int i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	if (pid == 0) {
		/* Dies with whoever started it, however that one dies. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execv(exe, argv);
		_exit(127);
	}
	/* The server says READY=1 on our socket once it accepts clients
	 * (its systemd notification): no polling, no sleep. */
	for (int waited = 0; waited < timeout_ms; ) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, 100);

		if (r > 0) {
			ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);

			if (len > 0) {
				buf[len] = 0;
				if (strstr(buf, "READY=1")) {
					close(fd);
					unlink(sa.sun_path);
					return pid;
				}
			}
			continue;
		}
		waited += 100;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			close(fd);
			unlink(sa.sun_path);
			return -ECHILD;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fd);
	unlink(sa.sun_path);
	return -ETIMEDOUT;
}

void tu_redis_stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}
