/* mputil.h: helpers for the multiprocessing suites: spawning tool processes, reading their steps, start guns. */
#ifndef MPUTIL_H
#define MPUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* A tool process and its stdout. */
struct child {
	pid_t pid;
	FILE *out;
};

/* Starts tests/TOOL with the arguments given (NULL-terminated).  Returns
 * 0 or -errno. */
static inline int child_start(struct child *c, const char *tool, ...)
{
	char path[512], *argv[16];
	va_list ap;
	int n = 1, fd;

	argv[0] = (char *)tu_tool(tool, path, sizeof(path));
	va_start(ap, tool);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	c->pid = tu_spawn(argv, &fd);
	if (c->pid < 0)
		return (int)c->pid;
	c->out = fdopen(fd, "r");
	return c->out ? 0 : -errno;
}

/* Starts argv (argv[0] a path) as a child.  Returns 0 or -errno. */
static inline int child_spawnv(struct child *c, char *const argv[])
{
	int fd;

	c->pid = tu_spawn(argv, &fd);
	if (c->pid < 0)
		return (int)c->pid;
	c->out = fdopen(fd, "r");
	return c->out ? 0 : -errno;
}

/* Reads the child's next line (without its newline) into buf.  Returns buf,
 * or NULL at end of file. */
static inline char *child_line(struct child *c, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, c->out))
		return NULL;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* Reads the next line, which must start with `word`, and returns the
 * number after it (or -99999 if the line is missing or different). */
static inline int child_expect(struct child *c, const char *word)
{
	char buf[256];
	size_t n = strlen(word);

	if (!child_line(c, buf, sizeof(buf)) || strncmp(buf, word, n) != 0) {
		fprintf(stderr, "expected \"%s\", child said \"%s\"\n", word, buf);
		return -99999;
	}
	return buf[n] ? atoi(buf + n) : 0;
}

/* Waits for the child; returns its exit status (128+signal if killed). */
static inline int child_end(struct child *c)
{
	if (c->out)
		fclose(c->out);
	c->out = NULL;
	return tu_wait(c->pid);
}

static inline int child_kill(struct child *c)
{
	kill(c->pid, SIGKILL);
	return child_end(c);
}

/* A start gun: a pipe whose read end (g[0]) children inherit, as a number
 * on their command line.  Writing a byte lets one child go; closing g[1]
 * lets all go. */
static inline int gun_make(int g[2], char *num, size_t size)
{
	if (pipe2(g, O_CLOEXEC) < 0)
		return -errno;
	fcntl(g[0], F_SETFD, 0);
	snprintf(num, size, "%d", g[0]);
	return 0;
}

static inline void gun_fire(int g[2])
{
	if (write(g[1], "x", 1) != 1)
		abort();
}

/* Waits (up to 10 s, polling /proc) until process pid sleeps in a futex
 * wait, that is, is blocked inside one of our waits.  Where the kernel
 * hides wait channels (wchan reads "0"), a sleeping state is taken
 * instead.  Returns 1 or 0. */
static inline int wait_blocked(pid_t pid)
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

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define MS(x) ((long long)(x) * 1000000LL)

#endif
