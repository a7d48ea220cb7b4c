/* check_iplock.c: Check suite for InterProcessLock: modes, processes, crashes, flock(1) and fasteners both ways. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/iplock.h"
#include "testutil.h"

static char path[256];

static void setup(void)
{
	char n[128];

	snprintf(path, sizeof(path), "/dev/shm/%s.iplock", tu_name(n, sizeof(n), "ipl"));
}

static void teardown(void)
{
	unlink(path);
}

/* Finds an executable: in PATH, then in the extra places given.  Writes its
 * path into out; returns 1 if found. */
static int find_exe(const char *exe, const char *extra, char *out, size_t size)
{
	const char *p = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:%s", p ? p : "/usr/bin:/bin", extra ? extra : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", d, exe);
		if (access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* Runs argv (argv[0] a path) to the end; returns its exit status and the
 * first line of its output in line (may be NULL). */
static int run(char *const argv[], char *line, size_t size)
{
	struct child c;
	int st;
	char buf[256];

	if (child_spawnv(&c, argv))
		return -1;
	if (!child_line(&c, buf, sizeof(buf)))
		buf[0] = 0;
	if (line)
		snprintf(line, size, "%s", buf);
	st = child_end(&c);
	return st;
}

/* ------------------------------------------------------------ core */

START_TEST(modes)
{
	sp_iplock *a, *b;

	ck_assert_int_eq(sp_iplock_open(path, 0, &a), 0);
	ck_assert_int_eq(sp_iplock_open(path, 0, &b), 0);
	ck_assert_int_eq(sp_iplock_release(a), -EPERM);
	ck_assert_int_eq(sp_iplock_acquire(a, 0x80, SP_NOWAIT), -EINVAL);
	/* exclusive excludes everyone, even a handle of the same process */
	ck_assert_int_eq(sp_iplock_acquire(a, 0, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_iplock_held(a), 1);
	ck_assert_int_eq(sp_iplock_acquire(a, 0, SP_NOWAIT), -EDEADLK);
	ck_assert_int_eq(sp_iplock_acquire(b, 0, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_iplock_acquire(b, SP_IPLOCK_SHARED, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_iplock_acquire(b, 0, MS(30)), -ETIMEDOUT);
	ck_assert_int_eq(sp_iplock_release(a), 0);
	/* shared with shared, not with exclusive */
	ck_assert_int_eq(sp_iplock_acquire(a, SP_IPLOCK_SHARED, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_iplock_acquire(b, SP_IPLOCK_SHARED, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_iplock_held(b), 2);
	ck_assert_int_eq(sp_iplock_release(b), 0);
	ck_assert_int_eq(sp_iplock_acquire(b, 0, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(sp_iplock_release(a), 0);
	ck_assert_int_eq(sp_iplock_acquire(b, 0, SP_FOREVER), 0);
	sp_iplock_close(b);                    /* closing releases */
	ck_assert_int_eq(sp_iplock_acquire(a, 0, SP_NOWAIT), 0);
	sp_iplock_close(a);
	ck_assert_int_eq(sp_iplock_open("/nonexistent-dir/x", 0, &a), -ENOENT);
}
END_TEST

START_TEST(procs)
{
	char gnum[16];
	int g[2];
	struct child c;
	sp_iplock *l;

	ck_assert_int_eq(sp_iplock_open(path, 0, &l), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_sync", "iplock", path, "ex", gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "acquired"), 0);
	ck_assert_int_eq(sp_iplock_acquire(l, SP_IPLOCK_SHARED, SP_NOWAIT), -EAGAIN);
	gun_fire(g);
	ck_assert_int_eq(sp_iplock_acquire(l, 0, MS(10000)), 0);
	ck_assert_int_eq(child_expect(&c, "released"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	/* and the other way: the child times out while we hold it */
	ck_assert_int_eq(child_start(&c, "tool_sync", "iptry", path, "sh", "30", NULL), 0);
	ck_assert_int_eq(child_expect(&c, "acquired"), -ETIMEDOUT);
	ck_assert_int_eq(child_end(&c), 0);
	sp_iplock_close(l);
}
END_TEST

/* ----------------------------------------------------------- crash */

START_TEST(crash_holder)
{
	char gnum[16];
	int g[2];
	struct child c;
	sp_iplock *l;

	ck_assert_int_eq(sp_iplock_open(path, 0, &l), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_sync", "iplock", path, "ex", gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "acquired"), 0);
	ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), 0);   /* the kernel released it */
	sp_iplock_close(l);
}
END_TEST

/* --------------------------------------------------------- foreign */

/* util-linux flock(1) holds the file: we are kept out; then we hold it and
 * flock(1) is kept out. */
START_TEST(flock_tool)
{
	char fl[512], gnum[16], cmd[128];
	int g[2];
	struct child c;
	sp_iplock *l;

	if (!find_exe("flock", "/usr/bin:/bin", fl, sizeof(fl))) {
		fprintf(stderr, "check_iplock: flock(1) not found: test skipped\n");
		return;
	}
	ck_assert_int_eq(sp_iplock_open(path, 0, &l), 0);
	/* flock(1) holds it, exclusive then shared, running a shell that says
	 * "ready" and waits for our start gun. */
	for (int shared = 0; shared < 2; shared++) {
		char *argv[] = { fl, shared ? "-s" : "-x", path, "sh", "-c", cmd, NULL };

		ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
		snprintf(cmd, sizeof(cmd), "echo ready; read x <&%s; exit 0", gnum);
		ck_assert_int_eq(child_spawnv(&c, argv), 0);
		close(g[0]);
		ck_assert_int_eq(child_expect(&c, "ready"), 0);
		ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), -EAGAIN);
		ck_assert_int_eq(sp_iplock_acquire(l, 0, MS(30)), -ETIMEDOUT);
		if (shared) {
			ck_assert_int_eq(sp_iplock_acquire(l, SP_IPLOCK_SHARED, SP_NOWAIT), 0);
			ck_assert_int_eq(sp_iplock_release(l), 0);
		} else {
			ck_assert_int_eq(sp_iplock_acquire(l, SP_IPLOCK_SHARED, SP_NOWAIT), -EAGAIN);
		}
		close(g[1]);            /* EOF: the shell's read returns */
		ck_assert_int_eq(child_end(&c), 0);
		ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), 0);
		ck_assert_int_eq(sp_iplock_release(l), 0);
	}
	/* We hold it: flock -n fails (exit 1) while it conflicts. */
	{
		char *ex[] = { fl, "-n", path, "true", NULL };
		char *sh[] = { fl, "-s", "-n", path, "true", NULL };

		ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), 0);
		ck_assert_int_eq(run(ex, NULL, 0), 1);
		ck_assert_int_eq(run(sh, NULL, 0), 1);
		ck_assert_int_eq(sp_iplock_release(l), 0);
		ck_assert_int_eq(sp_iplock_acquire(l, SP_IPLOCK_SHARED, SP_NOWAIT), 0);
		ck_assert_int_eq(run(sh, NULL, 0), 0);
		ck_assert_int_eq(run(ex, NULL, 0), 1);
		ck_assert_int_eq(sp_iplock_release(l), 0);
		ck_assert_int_eq(run(ex, NULL, 0), 0);
	}
	sp_iplock_close(l);
}
END_TEST

/* Exits 0 if fasteners can be imported, 1 if not, without a traceback. */
static const char probe[] =
	"import importlib.util, sys; sys.exit(importlib.util.find_spec('fasteners') is None)";

/* Finds a python3 that can import fasteners (SP_PYTHON, PATH, /usr/bin). */
static int find_python(char *py, size_t size)
{
	const char *env = getenv("SP_PYTHON"), *p = getenv("PATH");
	char dirs[4096];

	if (env && *env) {
		char *argv[] = { (char *)env, "-c", (char *)probe, NULL };

		snprintf(py, size, "%s", env);
		if (run(argv, NULL, 0) == 0)
			return 1;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/local/bin", p ? p : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *argv[] = { py, "-c", (char *)probe, NULL };

		snprintf(py, size, "%s/python3", d);
		if (access(py, X_OK) == 0 && run(argv, NULL, 0) == 0)
			return 1;
	}
	return 0;
}

static const char py_hold[] =
	"import fasteners, os, sys\n"
	"p, kind, gun = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
	"if kind == 'lock':\n"
	"    l = fasteners.InterProcessLock(p); l.acquire()\n"
	"else:\n"
	"    l = fasteners.InterProcessReaderWriterLock(p)\n"
	"    (l.acquire_read_lock if kind == 'read' else l.acquire_write_lock)()\n"
	"print('ready', flush=True)\n"
	"os.read(gun, 1)\n";

static const char py_try[] =
	"import fasteners, sys\n"
	"p, kind = sys.argv[1], sys.argv[2]\n"
	"if kind == 'lock':\n"
	"    ok = fasteners.InterProcessLock(p).acquire(blocking=False)\n"
	"else:\n"
	"    l = fasteners.InterProcessReaderWriterLock(p)\n"
	"    ok = (l.acquire_read_lock if kind == 'read' else l.acquire_write_lock)(blocking=False)\n"
	"print(ok, flush=True)\n";

/* Python's fasteners (fcntl record locks) against us, both ways. */
START_TEST(fasteners_tool)
{
	char py[512], gnum[16], line[64];
	int g[2];
	struct child c;
	sp_iplock *l;
	static char *kinds[] = { "lock", "write", "read" };

	if (!find_python(py, sizeof(py))) {
		fprintf(stderr, "check_iplock: python3 with fasteners not found: test skipped\n");
		return;
	}
	ck_assert_int_eq(sp_iplock_open(path, 0, &l), 0);
	/* fasteners holds it. */
	for (int k = 0; k < 3; k++) {
		char *argv[] = { py, "-c", (char *)py_hold, path, kinds[k], gnum, NULL };
		int reader = k == 2;

		ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
		ck_assert_int_eq(child_spawnv(&c, argv), 0);
		close(g[0]);
		ck_assert_int_eq(child_expect(&c, "ready"), 0);
		ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), -EAGAIN);
		ck_assert_int_eq(sp_iplock_acquire(l, SP_IPLOCK_SHARED, SP_NOWAIT), reader ? 0 : -EAGAIN);
		if (reader)
			ck_assert_int_eq(sp_iplock_release(l), 0);
		gun_fire(g);
		ck_assert_int_eq(child_end(&c), 0);
		close(g[1]);
		ck_assert_int_eq(sp_iplock_acquire(l, 0, SP_NOWAIT), 0);
		ck_assert_int_eq(sp_iplock_release(l), 0);
	}
	/* We hold it, exclusive then shared. */
	for (int shared = 0; shared < 2; shared++) {
		ck_assert_int_eq(sp_iplock_acquire(l, shared ? SP_IPLOCK_SHARED : 0, SP_NOWAIT), 0);
		for (int k = 0; k < 3; k++) {
			char *argv[] = { py, "-c", (char *)py_try, path, kinds[k], NULL };

			ck_assert_int_eq(run(argv, line, sizeof(line)), 0);
			ck_assert_str_eq(line, shared && k == 2 ? "True" : "False");
		}
		ck_assert_int_eq(sp_iplock_release(l), 0);
	}
	for (int k = 0; k < 3; k++) {
		char *argv[] = { py, "-c", (char *)py_try, path, kinds[k], NULL };

		ck_assert_int_eq(run(argv, line, sizeof(line)), 0);
		ck_assert_str_eq(line, "True");
	}
	sp_iplock_close(l);
}
END_TEST

static Suite *iplock_suite(void)
{
	Suite *s = suite_create("iplock");
	TCase *core = tu_tcase(s, "core", 20, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 20, setup, teardown);
	TCase *foreign = tu_tcase(s, "foreign", 30, setup, teardown);

	tcase_add_test(core, modes);
	tcase_add_test(core, procs);
	tcase_add_test(crash, crash_holder);
	tcase_add_test(foreign, flock_tool);
	tcase_add_test(foreign, fasteners_tool);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(iplock_suite(), TU_NEED_SHM);
}
