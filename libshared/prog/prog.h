/* prog.h: the programs' own helpers, never installed: messages, usage, parsing, JSON, the clock, signals, I/O loops, and the options producer and consumer share. */
#ifndef PROG_PROG_H
#define PROG_PROG_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "shared/ring.h"

/*
 * lz4 keeps the helpers of its programs (programs/util.c, timefn.c) apart
 * from the library (lib/); this is ours.  A static library of its own
 * (build/libprog.a), linked by producer, consumer, the benchmarks and the
 * tests, never by libshared, never installed.  Unlike the library, these
 * helpers print and exit: they are the programs' voice.  The globals a
 * program needs everywhere (its name, the stop flag) live here, so that no
 * file of a program calls back up into its main.c.
 *
 * Nothing here is thread-safe beyond what stdio gives: the programs are
 * single-threaded processes.
 */

/* ---- msg.c: messages on stderr, usage errors, the progress line ----- */

/* The program's name, first in every message; main() sets it first thing
 * (before that it is "?"). */
extern const char *prog_name;

/* "prog: what: why" on stderr, erasing a progress line first so that the
 * message stands on its own line. */
void prog_warn(const char *what, const char *why);

/* "prog: path: what: why", the path shown with control characters as '?'
 * (a newline in a name would split the message), cut at about 500 bytes.
 * For paths that come from a batch, which nobody checked for that. */
void prog_warnpath(const char *path, const char *what, const char *why);

/* Copies an untrusted name s (len bytes, not NUL-terminated) into out
 * (size bytes) for a message: bytes below 0x20 and 0x7f as '?', the rest
 * (printable ASCII, UTF-8) kept, "..." at the end if it had to be cut.
 * Returns out. */
const char *prog_printable(const char *s, size_t len, char *out, size_t size);

/* Shows "\rprog: <line>" on stderr (the caller has checked that stderr is
 * a terminal), erasing the rest of the line; the next message erases it. */
__attribute__((format(printf, 1, 2)))
void prog_progress(const char *fmt, ...);
/* Erases the progress line for good. */
void prog_progress_end(void);

/* "prog: what: why", then the hint to try --help, and exits EX_USAGE. */
__attribute__((noreturn))
void prog_die_usage(const char *what, const char *why);
/* The hint to try --help alone, and exits EX_USAGE. */
__attribute__((noreturn))
void prog_try_help(void);

/*
 * The end of every program's option switch: -h prints usage(stdout, EX_OK)
 * (usage exits), -V prints "prog (shmpipe) X, libshared Y" and exits 0,
 * anything else (getopt_long has said what) prints the hint and exits
 * EX_USAGE.
 */
__attribute__((noreturn))
void prog_std_option(int opt, void (*usage)(FILE *out, int status));

/* The long options that go with it, last in every table. */
#define PROG_STD_LONGOPTS                              \
	{ "help", no_argument, NULL, 'h' },            \
	{ "version", no_argument, NULL, 'V' },         \
	{ NULL, 0, NULL, 0 }

/* ---- opts.c: the options producer and consumer take alike ----------- */

/* Option codes of these long options without a short one; a program's own
 * start at 256 and stay below. */
enum { PROG_OPT_CAPACITY = 0x400, PROG_OPT_PRODUCERS, PROG_OPT_PROGRESS, PROG_OPT_STATS };

/* -r, --capacity, --producers, --progress, --stats, -q: for either
 * program, whichever starts first creates the ring with these. */
struct prog_opts {
	const char *ring;            /* -r, --ring: its name */
	struct sp_ring_opts ro;      /* --capacity (rounded up), --producers */
	int capacity_set;            /* --capacity was given */
	int progress;                /* --progress */
	int want_stats;              /* --stats */
	const char *stats_file;      /* --stats=<file>, or NULL */
	int quiet;                   /* -q, --quiet */
};

/* A struct prog_opts with the ring's capacity default and one producer. */
#define PROG_OPTS_INIT(cap) { .ro = { .capacity = (cap), .writers = 1 } }

#define PROG_LONGOPTS                                                  \
	{ "ring", required_argument, NULL, 'r' },                      \
	{ "capacity", required_argument, NULL, PROG_OPT_CAPACITY },    \
	{ "producers", required_argument, NULL, PROG_OPT_PRODUCERS },  \
	{ "progress", no_argument, NULL, PROG_OPT_PROGRESS },          \
	{ "stats", optional_argument, NULL, PROG_OPT_STATS },          \
	{ "quiet", no_argument, NULL, 'q' }

/* Takes opt (with its argument arg) if it is one of PROG_LONGOPTS.
 * Returns 1 if it was, 0 if not; a bad value is a usage error (exits). */
int prog_option(struct prog_opts *o, int opt, const char *arg);

/* After the options: a ring name is required and must be valid (exits
 * with a usage error otherwise). */
void prog_ring_required(const struct prog_opts *o);

/* Attaches to the ring, creating it with o->ro if missing.  Returns 0 with
 * *ring set, or an exit status (EX_PROTOCOL for a ring of another version
 * or a corrupt one, EX_OSERR), having said why. */
int prog_ring_open(const struct prog_opts *o, sp_ring **ring);

/* "prog: ring NAME: what: why", or "prog: ring NAME: why" if what is NULL. */
void prog_warn_ring(const char *ring, const char *what, const char *why);
/* The same for a batch on a broker, "prog: batch NAME: ...": its name,
 * never its URL, which may hold a password. */
void prog_warn_batch(const char *batch, const char *what, const char *why);

/* ---- parse.c: numbers and sizes from the command line --------------- */

/* A decimal integer from lo to hi, all of s.  Returns 0 or -1. */
int prog_parse_int(const char *s, long lo, long hi, long *out);

/* A byte count as the programs take them for capacities and sizes: decimal
 * digits, then optionally K, M or G (binary multiples), an "i", and a "B":
 * "4096", "64K", "4MiB", "1GB".  Returns 0 with *out set, -EINVAL for
 * anything else (a sign, blanks, other suffixes), or -ERANGE. */
int prog_parse_bytes(const char *s, uint64_t *out);

/* A positive finite number.  Returns 0 or -1. */
int prog_parse_double(const char *s, double *out);

/* ---- json.c: the --stats summary ------------------------------------ */

/* Writes s as a JSON string, quotes included. */
void prog_json_str(FILE *f, const char *s);

/* Where --stats goes: o->stats_file (created or truncated), else dflt.
 * Returns the stream, or NULL having said why. */
FILE *prog_stats_open(const struct prog_opts *o, FILE *dflt);
/* Closes what prog_stats_open() opened; flushes dflt. */
void prog_stats_close(const struct prog_opts *o, FILE *f);

/* ---- clock.c: the one clock of the programs and tests --------------- */

/* CLOCK_MONOTONIC, in nanoseconds and in seconds. */
int64_t prog_now_ns(void);
double prog_now_sec(void);

/* ---- signal.c: the stop flag ---------------------------------------- */

/* The stop signal that came (SIGINT or SIGTERM), or one the program set
 * to stop itself; 0 while it runs.  Every wait loop of the programs looks
 * at it. */
extern volatile sig_atomic_t prog_stop;

/* Catches SIGINT and SIGTERM into prog_stop, without SA_RESTART: a read
 * blocked on a pipe, a waitpid() or a sleep must return on the signal so
 * that its caller looks at the flag. */
void prog_catch_stop(void);

/* ---- io.c: whole reads and writes ----------------------------------- */

/* Writes all of buf, again after EINTR.  Returns 0 or -errno. */
int prog_write_full(int fd, const void *buf, size_t len);

/* Writes all of buf at offset off of a file, again after EINTR.  Returns 0
 * or -errno (-EINVAL for a negative off). */
int prog_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/* Reads len bytes, fewer only at end of file, again after EINTR unless a
 * stop signal came (then -EINTR).  Returns the count or -errno. */
ssize_t prog_read_full(int fd, void *buf, size_t len);

/* Reads len bytes at offset off of a file, fewer only at its end, again
 * after EINTR.  Returns the count or -errno. */
ssize_t prog_pread_full(int fd, void *buf, size_t len, off_t off);

#endif
