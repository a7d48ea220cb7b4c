/* child.c: tool processes that say their steps on stdout, start guns, and waiting until a process blocks. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Starts argv with its stdout, and its stdin if in is not NULL, on pipes. */
static int spawn(struct child *c, char *const argv[], int *in)
{
	int fd;

	c->in = -1;
	c->out = NULL;
	c->pid = tu_spawn_io(argv, in, &fd);
	if (c->pid < 0)
		return (int)c->pid;
	c->out = fdopen(fd, "r");
	return c->out ? 0 : -errno;
}

/* Starts tests/TOOL with the arguments in ap (NULL-terminated). */
static int vstart(struct child *c, const char *tool, va_list ap)
{
	char path[512], *argv[16];
	int n = 1;

	argv[0] = (char *)tu_tool(tool, path, sizeof(path));
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	argv[n] = NULL;
	return spawn(c, argv, NULL);
}

int child_start(struct child *c, const char *tool, ...)
{
	va_list ap;
	int rc;

	va_start(ap, tool);
	rc = vstart(c, tool, ap);
	va_end(ap);
	return rc;
}

int child_start_waiting(struct child *c, const char *tool, ...)
{
	va_list ap;
	int rc;

	va_start(ap, tool);
	rc = vstart(c, tool, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	if (child_expect(c, "waiting") != 0)
		return -EPROTO;
	if (!wait_blocked(c->pid)) {
		fprintf(stderr, "%s said \"waiting\" but did not block in 10 s\n", tool);
		return -EPROTO;
	}
	return 0;
}

void tu_crash_env(const char *label, int skip, int stop)
{
	char sk[16];

	if (!label) {
		unsetenv("SP_CRASH_AT");
		unsetenv("SP_CRASH_SKIP");
		unsetenv("SP_CRASH_SIG");
		return;
	}
	snprintf(sk, sizeof(sk), "%d", skip);
	setenv("SP_CRASH_AT", label, 1);
	setenv("SP_CRASH_SKIP", sk, 1);
	if (stop)
		setenv("SP_CRASH_SIG", "STOP", 1);
	else
		unsetenv("SP_CRASH_SIG");
}

int tu_wait_stopped(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, WUNTRACED) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSTOPPED(st))
		return 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int child_start_at(struct child *c, const char *label, int skip, int stop, const char *tool,
		   ...)
{
	va_list ap;
	int rc;

	tu_crash_env(label, skip, stop);
	va_start(ap, tool);
	rc = vstart(c, tool, ap);
	va_end(ap);
	tu_crash_env(NULL, 0, 0);
	if (rc < 0 || !stop)
		return rc;
	rc = tu_wait_stopped(c->pid);
	if (rc == 0)
		return 0;
	fprintf(stderr, "%s did not stop at %s: it ended with status %d\n", tool, label, rc);
	/* It is reaped: nothing is left to end. */
	fclose(c->out);
	c->out = NULL;
	c->pid = -1;
	return -ECHILD;
}

int child_spawnv(struct child *c, char *const argv[])
{
	return spawn(c, argv, NULL);
}

int child_spawnv_io(struct child *c, char *const argv[])
{
	return spawn(c, argv, &c->in);
}

char *child_line(struct child *c, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, c->out))
		return NULL;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

int child_expect(struct child *c, const char *word)
{
	char buf[256];
	size_t n = strlen(word);

	if (!child_line(c, buf, sizeof(buf)) || strncmp(buf, word, n) != 0) {
		fprintf(stderr, "expected \"%s\", child said \"%s\"\n", word, buf);
		return -99999;
	}
	return buf[n] ? atoi(buf + n) : 0;
}

int child_end(struct child *c)
{
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	if (c->out)
		fclose(c->out);
	c->out = NULL;
	return c->pid > 0 ? tu_wait(c->pid) : -ECHILD;
}

int child_kill(struct child *c)
{
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	return child_end(c);
}

int gun_make(int g[2], char *num, size_t size)
{
	if (pipe2(g, O_CLOEXEC) < 0)
		return -errno;
	fcntl(g[0], F_SETFD, 0);
	snprintf(num, size, "%d", g[0]);
	return 0;
}

void gun_fire(int g[2])
{
	if (write(g[1], "x", 1) != 1)
		abort();
}

int wait_blocked(pid_t pid)
{
	char path[64], buf[512];
	struct timespec nap = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		FILE *f;
		size_t n = 0;

		snprintf(path, sizeof(path), "/proc/%ld/wchan", (long)pid);
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = 0;
		if (strstr(buf, "futex"))
			return 1;
		if (n == 0 || strcmp(buf, "0") == 0) {
			char *p;

			snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
			n = 0;
			if ((f = fopen(path, "r")) != NULL) {
				n = fread(buf, 1, sizeof(buf) - 1, f);
				fclose(f);
			}
			buf[n] = 0;
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return 1;
		}
		nanosleep(&nap, NULL);
	}
	return 0;
}
