/* testutil.h: the tests' one helper library (build/tests/libtestutil.a): names, cleanup, tool processes, suites, skips. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "prog.h"

/*
 * Linked by every check_* and tool_* program, before libprog.a, whose
 * clock and whole writes the tests use too (prog_now_ns, prog_write_full)
 * rather than copies of their own.  Its files: names.c (names, cleanup,
 * tool paths), spawn.c (spawning and waiting), child.c (tool processes
 * and their steps, start guns), suite.c (TCases, running a suite, skips:
 * the only file that needs Check), redis.c (a redis-server of the test's
 * own), probe.c (what the machine allows), records.c (tool_crash's
 * records on a ring), tool.c (what the helper tools share).
 */

/* ---- names.c ---------------------------------------------------------- */

/* Call first in main(): remembers the runner's pid, so every name below is
 * unique to this run, and arranges tu_cleanup() at exit. */
void tu_init(void);

/* Writes a fresh object name "tPID-TAG-N" (PID of the runner, N a counter
 * unique across forked test children) into buf and returns buf. */
char *tu_name(char *buf, size_t size, const char *tag);

/* Removes every object of this run from /dev/shm (segments, lock files,
 * semaphores), whatever state the tests left them in.  Returns how many. */
int tu_cleanup(void);

/* Path of a helper program built beside the tests: "$B/tests/NAME". */
const char *tu_tool(const char *name, char *buf, size_t size);

/* Path of a file of the object NAME (common.h, ring.h): its segment
 * "/dev/shm/shmpipe.NAME" (suffix NULL), or with suffix ".lock" its lock
 * file.  For the tests that read, forge or break those files as a peer
 * would.  Returns buf. */
char *tu_obj_path(char *buf, size_t size, const char *name, const char *suffix);

/* For helper tools: dies with the test that spawned it (PR_SET_PDEATHSIG),
 * so a timed-out test leaves no process behind. */
void tu_tool_init(void);

/* ---- spawn.c ---------------------------------------------------------- */

/* Spawns argv[0] (a path) with argv; its stdout goes to *out_fd (a pipe, the
 * caller reads it) when out_fd is not NULL.  The child is killed if the
 * calling process dies.  Returns the pid or -errno. */
pid_t tu_spawn(char *const argv[], int *out_fd);

/* The same, with the child's stdin on a pipe too when in_fd is not NULL
 * (the caller writes *in_fd, and closes it to give the child end of file). */
pid_t tu_spawn_io(char *const argv[], int *in_fd, int *out_fd);

/* Forks a child of the test, stdout and stderr flushed first so that nothing
 * buffered is written twice.  The child never uses Check's assertions and
 * leaves with _exit(), so that no atexit handler of the test's (its
 * cleanup) runs in it.  Returns the pid (0 in the child) or -errno. */
pid_t tu_fork(void);

/* Waits for pid; returns its exit status, 128+signal if killed, or -errno. */
int tu_wait(pid_t pid);

/* Reads all of fd into a malloc'd NUL-terminated buffer (closes fd). */
char *tu_slurp(int fd, size_t *len);

/* ---- child.c: tool processes that say their steps on stdout ------------ */

/* A tool process, its stdout and, if asked for, its stdin. */
struct child {
	pid_t pid;
	FILE *out;
	int in;      /* where we write its stdin, or -1 */
};

/* Starts tests/TOOL with the arguments given (NULL-terminated, 14 at the
 * most).  Returns 0 or -errno. */
int child_start(struct child *c, const char *tool, ...);

/* Starts tests/TOOL (a tool linked with crash points) as child_start does,
 * to die at crash point `label` after passing it `skip` times or, with
 * stop, to stop there (SIGSTOP): then returns once it has stopped.  Returns
 * 0, -errno, or -ECHILD (said on stderr) if it ended instead of stopping. */
int child_start_at(struct child *c, const char *label, int skip, int stop, const char *tool,
		   ...);

/* Starts tests/TOOL as child_start does and returns once it has said
 * "waiting" and sleeps in a futex wait (wait_blocked): a peer blocked in
 * its call.  Returns 0, -errno, or -EPROTO (said on stderr) if it said
 * something else or did not block. */
int child_start_waiting(struct child *c, const char *tool, ...);

/* For a tool started otherwise: sets the environment the crash points read
 * (SP_CRASH_AT=label, SP_CRASH_SKIP=skip, SP_CRASH_SIG=STOP with stop) for
 * the next children, or, with label NULL, clears it again. */
void tu_crash_env(const char *label, int skip, int stop);

/* Waits until pid stops (WUNTRACED).  Returns 0 once it has, or, if it
 * ended instead, its exit status (128+signal if killed), or -errno. */
int tu_wait_stopped(pid_t pid);

/* Starts argv (argv[0] a path) as a child.  Returns 0 or -errno. */
int child_spawnv(struct child *c, char *const argv[]);
/* The same, with the child's stdin on a pipe too (c->in). */
int child_spawnv_io(struct child *c, char *const argv[]);

/* Reads the child's next line (without its newline) into buf.  Returns buf,
 * or NULL at end of file. */
char *child_line(struct child *c, char *buf, size_t size);

/* Reads the next line, which must start with `word`, and returns the
 * number after it (or -99999 if the line is missing or different). */
int child_expect(struct child *c, const char *word);

/* Closes its stdin (end of file) and stdout, waits for the child; returns
 * its exit status (128+signal if killed). */
int child_end(struct child *c);

/* Kills the child (SIGKILL) and waits for it. */
int child_kill(struct child *c);

/* A start gun: a pipe whose read end (g[0]) children inherit, as a number
 * on their command line.  Writing a byte lets one child go; closing g[1]
 * lets all go.  Returns 0 or -errno. */
int gun_make(int g[2], char *num, size_t size);
void gun_fire(int g[2]);

/* Waits (up to 10 s, polling /proc) until process pid sleeps in a futex
 * wait, that is, is blocked inside one of our waits.  Where the kernel
 * hides wait channels (wchan reads "0"), a sleeping state is taken
 * instead.  Returns 1 or 0. */
int wait_blocked(pid_t pid);

/* The tests' clock is the programs' (libprog's CLOCK_MONOTONIC), under
 * the short name the suites use, as long long for their "%lld". */
static inline long long now_ns(void)
{
	return (long long)prog_now_ns();
}

#define MS(x) ((long long)(x) * 1000000LL)

/* ---- tool.c: what the helper tools (tests/tool_*.c) share ------------- */

/* One command of a tool: its name, how many arguments it takes, and the
 * function that runs it (given those arguments; returns the exit status). */
struct tu_cmd {
	const char *name;
	int nargs;
	int (*fn)(char **a);
};

/* A tool's main(): tu_tool_init(), stdout line-buffered (the test reads the
 * steps as they come), then runs the command argv[1] with argv[2..].  An
 * unknown command or a wrong count says "PROG: bad arguments" and returns
 * 64 (EX_USAGE). */
int tu_tool_main(const char *prog, const struct tu_cmd *cmds, size_t n, int argc, char **argv);
#define TU_TOOL_MAIN(prog, cmds) \
	int main(int argc, char **argv) \
	{ \
		return tu_tool_main(prog, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv); \
	}

/* Waits for the start gun (gun_make): reads one byte, or end of file, from
 * the inherited descriptor numbered fd. */
void tu_gun_wait(const char *fd);

/* A time-out given in milliseconds on a tool's command line, in
 * nanoseconds: negative is SP_FOREVER, "max" LLONG_MAX. */
long long tu_ms(const char *s);

/* What a tool does after opening an object: if rc is not 0, prints
 * "open RC" (the step the test reads) and exits 1. */
void tu_opened(int rc);

/* Commands more than one tool has, for their tables (struct tu_cmd). */
/* dset NAME KEY VALUE: sets one key of a Dict, prints "set RC" (3 args). */
int tu_cmd_dset(char **a);

/* ---- suite.c: TCases, running a suite, skips ---------------------------- */

/* What a suite needs of the machine; tu_run() skips the suite without it. */
enum {
	TU_NEED_SHM = 1,     /* room in a writable /dev/shm (TU_SHM_ROOM bytes) */
	TU_NEED_REDIS = 2,   /* a redis-server to run (tu_redis_available) */
};
#define TU_SHM_ROOM (8u << 20)

/* Check's types, without making every tool include check.h. */
typedef struct Suite Suite;
typedef struct TCase TCase;

/* A TCase of s named name, bounded by timeout seconds, with the checked
 * fixture setup/teardown (either may be NULL). */
TCase *tu_tcase(Suite *s, const char *name, double timeout, void (*setup)(void),
		void (*teardown)(void));

/* If the machine lacks something of needs, says "PROG: skipped: why" on
 * stderr (and writes why to the file $SP_SKIP_WHY names, for tests/run.sh)
 * and returns 1 (the caller returns 77 at once); else 0. */
int tu_skip(unsigned needs);

/* Runs every test of s (and frees it).  Returns main()'s exit status: 0 if
 * all passed, 1 if any failed, 77 (skipped) without what needs asks for. */
int tu_run(Suite *s, unsigned needs);

/* tu_bias_possible() inside a test: 1 or 0; a probe ring that cannot be
 * made fails the test. */
int tu_bias_checked(void);

/* ---- probe.c: what the machine allows --------------------------------- */

/* Can a ring side be biased here (membarrier there, and its registration
 * allowed)?  Asks a lone writer of a ring of its own, once per process:
 * 1 yes, 0 no, -errno if that ring could not be made. */
int tu_bias_possible(void);

/* ---- records.c: tool_crash's records on a ring ------------------------ */

typedef struct sp_ring sp_ring;

/* A record: an 8-byte sequence number, then TU_REC - 8 bytes of
 * (seq & 0xff), as tool_crash writes and checks them. */
#define TU_REC 64

/* Puts the record of seq; returns sp_ring_put's result. */
int tu_put_seq(sp_ring *r, long seq, long long timeout);

/* Takes a record: returns its seq, sp_ring_get's -errno, or -EBADMSG (said
 * on stderr) for a record of another size or one not whole. */
long tu_get_seq(sp_ring *r, long long timeout);

/* ---- redis.c ---------------------------------------------------------- */

/* Is there a redis-server to run (on PATH, or $SP_REDIS_SERVER)? */
int tu_redis_available(void);

/* Starts a redis-server of the test's own in dir: its unix socket
 * dir/redis.sock (mode 0700), no TCP port, bound to loopback, no snapshot,
 * its log in dir/redis.log, then the extra arguments (NULL-terminated, may
 * be NULL; later ones win, e.g. "--appendonly", "yes").  Waits up to
 * timeout_ms until it says it is ready (its systemd notification, on a
 * socket of ours).  It is killed if the caller dies.  Returns its pid,
 * -ENOENT without redis-server, -ECHILD if it exited, -ETIMEDOUT. */
pid_t tu_redis_start(const char *dir, char *const extra[], int timeout_ms);
/* Stops it (SIGKILL) and reaps it. */
void tu_redis_stop(pid_t pid);

#endif
