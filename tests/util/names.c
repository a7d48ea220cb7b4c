/* names.c: unique object names for a test run, cleanup of /dev/shm, helper tools' paths and their death with the test. */
#include "testutil.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

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

char *tu_obj_path(char *buf, size_t size, const char *name, const char *suffix)
{
	snprintf(buf, size, "/dev/shm/shmpipe.%s%s", name, suffix ? suffix : "");
	return buf;
}

const char *tu_tool(const char *name, char *buf, size_t size)
{
	const char *b = getenv("B");

	snprintf(buf, size, "%s/tests/%s", b && *b ? b : "build", name);
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
