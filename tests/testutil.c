/* testutil.c: unique names, cleanup of /dev/shm, and spawning of helper tools for tests. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/ring.h"

extern char **environ;

static pid_t runner_pid;
/* A counter shared with forked test children, so names stay unique across
 * Check's fork-per-test. */
static _Atomic unsigned *counter;

static void cleanup_at_exit(void)
{
	if (getpid() == runner_pid)
		tu_cleanup();
}

void tu_init(void)
{
	runner_pid = getpid();
	counter = mmap(NULL, sizeof(*counter), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED) {
		perror("tu_init: mmap");
		exit(1);
	}
	atexit(cleanup_at_exit);
}

char *tu_name(char *buf, size_t size, const char *tag)
{
	unsigned n = atomic_fetch_add(counter, 1);

	snprintf(buf, size, "t%ld-%s-%u", (long)runner_pid, tag, n);
	return buf;
}

int tu_cleanup(void)
{
	char mark[32], path[512];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(mark, sizeof(mark), "t%ld-", (long)runner_pid);
	d = opendir("/dev/shm");
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!strstr(e->d_name, mark))
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

const char *tu_tool(const char *name, char *buf, size_t size)
{
	const char *b = getenv("B");

	snprintf(buf, size, "%s/tests/%s", b && *b ? b : "build", name);
	return buf;
}

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

void tu_tool_init(void)
{
	const char *p = getenv("SP_TEST_PARENT");

	if (!p)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died before prctl took effect. */
	if ((long)getppid() != strtol(p, NULL, 10))
		_exit(70);
}

int tu_bias_possible(void)
{
	static int known = -1;
	struct sp_ring_opts o = { .capacity = SP_RING_MIN_CAPACITY, .writers = 1 };
	struct sp_ring_stat st;
	char name[64];
	sp_ring *r;
	long x = 0;
	int rc;

	if (known >= 0)
		return known;
	tu_name(name, sizeof(name), "bias");
	rc = sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r);
	if (rc < 0)
		return rc;
	rc = sp_ring_put(r, &x, sizeof(x), SP_NOWAIT);
	if (rc == 0)
		rc = sp_ring_stat(r, &st);
	if (rc == 0)
		known = st.writer_bias_pid == getpid();
	sp_ring_close(r);
	sp_ring_unlink(name);
	return rc < 0 ? rc : known;
}

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
