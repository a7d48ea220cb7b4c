/* testutil.h: helpers shared by the Check suites: unique names, cleanup, spawning tools. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

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

/* Spawns argv[0] (a path) with argv; its stdout goes to *out_fd (a pipe, the
 * caller reads it) when out_fd is not NULL.  The child is killed if the
 * calling process dies.  Returns the pid or -errno. */
pid_t tu_spawn(char *const argv[], int *out_fd);

/* The same, with the child's stdin on a pipe too when in_fd is not NULL
 * (the caller writes *in_fd, and closes it to give the child end of file). */
pid_t tu_spawn_io(char *const argv[], int *in_fd, int *out_fd);

/* Waits for pid; returns its exit status, 128+signal if killed, or -errno. */
int tu_wait(pid_t pid);

/* Reads all of fd into a malloc'd NUL-terminated buffer (closes fd). */
char *tu_slurp(int fd, size_t *len);



/* Can a ring side be biased here (membarrier there, and its registration
 * allowed)?  Asks a lone writer of a ring of its own, once per process:
 * 1 yes, 0 no, -errno if that ring could not be made. */
int tu_bias_possible(void);

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

/* For helper tools: dies with the test that spawned it (PR_SET_PDEATHSIG),
 * so a timed-out test leaves no process behind. */
void tu_tool_init(void);
#endif
