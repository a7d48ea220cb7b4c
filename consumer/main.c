/* main.c: the consumer's command line and supervisor: options, worker processes, summary, exit status. */
#include "consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static void on_child(int sig)
{
	(void)sig;      /* only wakes ppoll() */
}

static void usage(FILE *out, int status)
{
	fputs("Usage:\n"
	      " consumer [options] (-o <dir> | --stdout | -x <cmd>)\n"
	      " consumer --broker <url> [options] (-o <dir> | -x <cmd>)\n"
	      " consumer --list | --info <name> | --remove <name> | --remove-stale\n"
	      "\n"
	      "Take a batch of files or a stream out of a named shared-memory ring,\n"
	      "or a batch from a Redis/Valkey stream, and handle it with a pool of\n"
	      "worker processes.\n"
	      "\n"
	      "Options:\n"
	      " -r, --ring <name>         ring to attach to, created if missing\n"
	      "     --capacity <size>     ring size if this creates it (default 16M;\n"
	      "                             4M with --stdout)\n"
	      "     --producers <n>       producers the ring expects if this creates it\n"
	      "                             (default 1)\n"
	      "     --broker <url>        take a batch from a Redis/Valkey stream instead\n"
	      "                             of a ring: redis://HOST[:PORT]/NAME or\n"
	      "                             unix:///PATH?stream=NAME (not with -r)\n"
	      "     --host <name>         with --broker: this consumer's name in the batch\n"
	      "                             (default: the machine's hostname); one\n"
	      "                             consumer per name (a second one exits 64)\n"
	      "     --claim-ms <ms>       with --broker: idle time after which another\n"
	      "                             host's entries are taken (default 30000);\n"
	      "                             too short, and a slow -x runs twice\n"
	      " -o, --out <dir>           recreate each file under <dir>\n"
	      " -z, --compress[=<level>]  with -o, write each file as <path>.lz4\n"
	      "                             (level 1-12, default 1)\n"
	      " -d, --decompress          with -o, write each <path>.lz4 back as <path>,\n"
	      "                             what its LZ4 frames hold\n"
	      "     --sync                with -o, fsync each file and its directory\n"
	      "                             before it counts as done\n"
	      "     --stdout              write the content to standard output\n"
	      " -x, --exec <cmd>          run <cmd> per file: content on its stdin,\n"
	      "                             path in $SHMPIPE_PATH\n"
	      " -j, --jobs <n>            worker processes (default 1)\n"
	      "     --work-dir <dir>      where -x puts large files together\n"
	      "                             (default $TMPDIR/shmpipe.<ring>.<uid>, with\n"
	      "                             --broker shmpipe.<name>.<host>.<uid>)\n"
	      "     --keep                keep the ring when the batch is done\n"
	      "     --progress            show progress when stderr is a terminal\n"
	      "     --stats[=<file>]      write a JSON summary to <file> or stdout\n"
	      " -q, --quiet               print no summary and no warnings\n"
	      "\n"
	      "Administration:\n"
	      "     --list                list rings: producers, readers, fill, state\n"
	      "     --info <name>         show a ring's counters, one key=value a line\n"
	      "     --remove <name>       remove a ring and all its objects\n"
	      "     --remove-stale[=<prefix>]\n"
	      "                           remove objects nobody alive uses that a dead\n"
	      "                             process left (records in them are lost)\n"
	      "\n"
	      " -h, --help                display this help\n"
	      " -V, --version             display version\n"
	      "\n"
	      "Exit status: 0 every file arrived verified and was handled; 64 usage\n"
	      "(also: --host is a running consumer's); 65 bad record, refused path,\n"
	      "incomplete or lost file; 66 no such ring;\n"
	      "69 a command of -x failed, or the server cannot be reached; 70 a worker\n"
	      "crashed; 71 system error; 73 cannot write output, or out of room (the\n"
	      "rest stays in the ring or on the server); 74 stdout failed;\n"
	      "75 interrupted; 76 corrupt ring, or the batch's state is gone.\n"
	      "\n"
	      "A worker killed with SIGKILL is replaced and its record handled again.\n"
	      "A consumer killed or interrupted: start one again on the same ring and\n"
	      "directory; it completes the batch, large files partly received too.\n"
	      "With --broker an entry is acknowledged once handled: what a dead worker\n"
	      "held is handled again by its replacement, a dead host's by another\n"
	      "host after --claim-ms.\n",
	      out);
	exit(status);
}

/* mkdir -p, for the output directory the user named. */
static int make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char ch = buf[i];

		buf[i] = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = ch;
	}
	return 0;
}

/* The directory -x assembles large files in: private to this user. */
static int open_work_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

struct totals {
	uint64_t records, files, dirs, links, bytes, bytes_in, bytes_out;
	uint64_t bad, refused, write_failed, exec_failed, incomplete, withdrawn, skipped, lost;
	int fatal, all_eos, any_eos;
};

static void add_up(const struct consumer *c, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->all_eos = 1;
	for (int i = 0; i < c->opt.jobs; i++) {
		const struct wstats *w = &c->pool.stats[i];

#define GET(f) atomic_load_explicit(&w->f, memory_order_relaxed)
		t->records += GET(records);
		t->files += GET(files);
		t->dirs += GET(dirs);
		t->links += GET(links);
		t->bytes += GET(bytes);
		t->bytes_in += GET(bytes_in);
		t->bytes_out += GET(bytes_out);
		t->bad += GET(bad);
		t->refused += GET(refused);
		t->write_failed += GET(write_failed);
		t->exec_failed += GET(exec_failed);
		t->incomplete += GET(incomplete);
		t->withdrawn += GET(withdrawn);
		t->skipped += GET(skipped);
		t->lost += GET(lost);
		if (GET(fatal) && !t->fatal)
			t->fatal = GET(fatal);
		t->all_eos &= GET(eos) != 0;
		t->any_eos |= GET(eos) != 0;
#undef GET
	}
}

static void show_progress(const struct consumer *c, double t0, int force)
{
	static double last;
	double t = prog_now_sec();
	struct totals tt;

	if (!force && t - last < 0.25)
		return;
	last = t;
	add_up(c, &tt);
	prog_progress("%llu files, %.1f MB, %.1f MB/s", (unsigned long long)tt.files,
		      tt.bytes / 1e6, t - t0 > 0 ? tt.bytes / 1e6 / (t - t0) : 0.0);
}

static void write_stats(const struct consumer *c, const struct totals *t, FILE *f,
			double secs, int replaced, int status)
{
	if (c->opt.broker) {
		fprintf(f, "{\"program\":\"consumer\",\"broker\":");
		prog_json_str(f, c->opt.burl.name);
		fprintf(f, ",\"host\":");
		prog_json_str(f, c->opt.host);
	} else {
		fprintf(f, "{\"program\":\"consumer\",\"ring\":");
		prog_json_str(f, c->opt.o.ring);
	}
	fprintf(f, ",\"jobs\":%d,\"records\":%llu,\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,"
		   "\"bytes\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		   "\"transit_ratio\":%.4f,\"ratio\":%.4f,\"seconds\":%.6f,\"mb_per_s\":%.2f,"
		   "\"failed\":{\"bad\":%llu,\"refused\":%llu,\"write\":%llu,\"exec\":%llu,"
		   "\"incomplete\":%llu,\"lost\":%llu},\"withdrawn\":%llu,\"skipped\":%llu,"
		   "\"replaced\":%d,\"exit\":%d,\"workers\":[",
		c->opt.jobs, (unsigned long long)t->records, (unsigned long long)t->files,
		(unsigned long long)t->dirs, (unsigned long long)t->links,
		(unsigned long long)t->bytes, (unsigned long long)t->bytes_in,
		(unsigned long long)t->bytes_out,
		t->bytes_in ? (double)t->bytes / (double)t->bytes_in : 1.0,
		t->bytes_out ? (double)t->bytes / (double)t->bytes_out : 1.0, secs,
		secs > 0 ? t->bytes / 1e6 / secs : 0.0, (unsigned long long)t->bad,
		(unsigned long long)t->refused, (unsigned long long)t->write_failed,
		(unsigned long long)t->exec_failed, (unsigned long long)t->incomplete,
		(unsigned long long)t->lost, (unsigned long long)t->withdrawn,
		(unsigned long long)t->skipped, replaced, status);
	for (int i = 0; i < c->opt.jobs; i++) {
		const struct wstats *w = &c->pool.stats[i];

		fprintf(f, "%s{\"pid\":%d,\"records\":%llu,\"files\":%llu,\"bytes\":%llu,"
			   "\"bytes_out\":%llu}", i ? "," : "",
			atomic_load(&w->pid), (unsigned long long)atomic_load(&w->records),
			(unsigned long long)atomic_load(&w->files),
			(unsigned long long)atomic_load(&w->bytes),
			(unsigned long long)atomic_load(&w->bytes_out));
	}
	fprintf(f, "]}\n");
}

/* How long a consumer that finished the batch waits for the others still
 * in the output directory (other consumers finishing too, workers of a
 * consumer that was killed, ending the record they hold) so as to be the
 * last one out, who sweeps. */
#define LAST_OUT_WAIT 5.0

/*
 * Are we the last consumer in the directory?  Takes its flock exclusively,
 * trying for up to `wait` seconds.  Waiting, we first let go of our shared
 * lock: two consumers finishing at once, each waiting for the other to
 * leave, would otherwise both give up.  Returns 1 with the lock, else 0.
 */
static int last_out(int rootfd, double wait)
{
	double end = prog_now_sec() + wait;

	if (wait <= 0)
		return flock(rootfd, LOCK_EX | LOCK_NB) == 0;
	flock(rootfd, LOCK_UN);
	for (;;) {
		struct timespec ts = { 0, 10000000 };

		if (flock(rootfd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return 0;
		if (prog_now_sec() > end)
			return 0;
		nanosleep(&ts, NULL);
	}
}

/* ---- the supervisor --------------------------------------------------- */

/* Deaths other than by SIGKILL (SIGSEGV, SIGABRT, a non-zero exit) are
 * bugs; past this many the supervisor stops replacing workers, since a
 * record that crashes every worker would go round forever. */
#define MAX_CRASHES 8

struct supervisor {
	struct consumer *c;
	sp_ring *ring;           /* its own handle: is the ring closed? */
	sp_broker *broker;       /* --broker: its own handle (takes nothing), or NULL */
	pid_t self;
	pid_t pids[MAX_JOBS];    /* 0: the slot has no live worker */
	int live;
	int crashes;             /* deaths other than by SIGKILL */
	int crashed;             /* some worker crashed: exit 70 */
	int replaced;            /* workers started in place of dead ones */
	uint64_t lost;           /* records it reported lost */
	double t0;
	sigset_t wait_mask;      /* the caller's mask, SIGCHLD unblocked */
	sigset_t orig_mask;
};

/* Starts the worker of slot i.  Returns its pid, or -1. */
static pid_t spawn(struct supervisor *s, int i)
{
	struct consumer *c = s->c;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		prog_warn("fork", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &s->orig_mask, NULL);
		/* A worker stops cleanly if the supervisor dies. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != s->self)
			prog_stop = SIGTERM;
		worker_main(c, i);
		fflush(NULL);
		_exit(0);
	}
	s->pids[i] = pid;
	s->live++;
	return pid;
}

static int crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGABRT || sig == SIGSYS || sig == SIGTRAP;
}

/* A dead worker's record needs nothing from us: the ring hands it to
 * another reader, closed or not, once it sees the worker dead. */
static void forget_held(struct wslot *ws)
{
	atomic_store_explicit(&ws->rescue, 0, memory_order_relaxed);
	atomic_store_explicit(&ws->holding, 0, memory_order_relaxed);
}

/*
 * Slot i's worker ended with status st.  A worker that saw the end, was
 * stopped, or met a ring error is done.  One that died (SIGKILL, the OOM
 * killer, a crash) is replaced, so that the batch goes on: the ring gives
 * the record it held to another reader, or, if the ring was closed when it
 * took it, its replacement handles the copy it left in its slot.
 */
static void reaped(struct supervisor *s, int i, pid_t pid, int st)
{
	struct consumer *c = s->c;
	struct wstats *w = &c->pool.stats[i];
	struct wslot *ws = c->opt.action == ACT_STDOUT ? NULL : wslot_of(&c->pool, i);
	int halt = atomic_load_explicit(&c->pool.board->halt, memory_order_relaxed);
	char msg[64], why[96];
	int replace;

	s->pids[i] = 0;
	s->live--;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		/* Stopped by a signal of its own: the consumer stops too. */
		if (atomic_load(&w->stopped) && !prog_stop && !halt)
			prog_stop = SIGTERM;
		/* A record given back on a signal (a -x command stopped)
		 * goes to another reader; so do the entries of a worker that
		 * stopped on an error. */
		if (ws)
			forget_held(ws);
		if (c->pool.bslots)
			broker_forget(&c->pool, i);
		return;
	}
	if (WIFSIGNALED(st) && !crash_signal(WTERMSIG(st))) {
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(st));
	} else {
		if (WIFSIGNALED(st))
			snprintf(why, sizeof(why), "crashed (signal %d)", WTERMSIG(st));
		else
			snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(st));
		s->crashes++;
		s->crashed = 1;
	}
	/* --stdout cannot go on: the order of the stream is lost. */
	if (c->opt.action == ACT_STDOUT)
		s->crashed = 1;
	replace = c->opt.action != ACT_STDOUT && s->crashes <= MAX_CRASHES && !halt &&
		  (!prog_stop || (ws && atomic_load(&ws->rescue)));
	/* Its record: the ring hands it to another reader (a closed ring is
	 * not drained while a record is held), or the replacement handles the
	 * copy the worker left; handling twice is harmless (write, verify,
	 * rename). */
	if (ws && !(atomic_load(&ws->rescue) && replace))
		forget_held(ws);
	if (!c->opt.o.quiet || s->crashed) {
		snprintf(msg, sizeof(msg), "worker %ld", (long)pid);
		if (replace)
			strncat(why, "; starting another", sizeof(why) - strlen(why) - 1);
		prog_warn(msg, why);
	}
	if (replace && spawn(s, i) > 0)
		s->replaced++;
	else if (c->pool.bslots)
		broker_forget(&c->pool, i);   /* nobody of its name will re-read them */
}

/*
 * Starts the workers and watches them until none is left, replacing the
 * ones that die.  SIGCHLD, SIGINT and SIGTERM are blocked except while it
 * sleeps in ppoll(), so none is missed between a look and the sleep.
 * Returns 0, or -1 if no worker could be started.
 */
static int supervise(struct supervisor *s)
{
	struct consumer *c = s->c;
	struct sigaction sc = { .sa_handler = on_child };
	int show = c->opt.o.progress && !c->opt.o.quiet && isatty(STDERR_FILENO);
	int forwarded = 0;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &s->orig_mask);
	s->wait_mask = s->orig_mask;
	sigdelset(&s->wait_mask, SIGCHLD);
	/* No SA_RESTART: blocking calls of workers must return to look at
	 * prog_stop. */
	prog_catch_stop();
	sigemptyset(&sc.sa_mask);
	sigaction(SIGCHLD, &sc, NULL);
	signal(SIGPIPE, SIG_IGN);

	s->t0 = prog_now_sec();
	for (int i = 0; i < c->opt.jobs; i++) {
		if (spawn(s, i) < 0) {
			prog_stop = SIGTERM;
			break;
		}
	}
	if (s->live == 0)
		return -1;
	/* --broker: the entries our workers hold are kept from other hosts'
	 * claims every claim_ms / 4, and our lease on the host name renewed
	 * at least every third of its time. */
	int64_t keep_ns = c->opt.claim_ms * 1000000 / 4, next_keep;

	if (keep_ns > SP_BROKER_LEASE_MS * 1000000 / 3)
		keep_ns = SP_BROKER_LEASE_MS * 1000000 / 3;
	next_keep = prog_now_ns() + keep_ns;

	while (s->live > 0) {
		struct timespec slice = { 0, 250000000 }, *wait = show ? &slice : NULL;
		int st;
		pid_t pid;

		if (s->broker) {
			int64_t left = next_keep - prog_now_ns();

			left = left < 0 ? 0 : left;
			if (!wait || left < 250000000) {
				slice.tv_sec = (time_t)(left / 1000000000);
				slice.tv_nsec = (long)(left % 1000000000);
				wait = &slice;
			}
		}
		ppoll(NULL, 0, wait, &s->wait_mask);
		if (s->broker && prog_now_ns() >= next_keep) {
			sigset_t keep_mask = s->wait_mask;

			/* A stop signal ends the retries of a server that is
			 * away (-EINTR); a worker dying meanwhile is reaped
			 * below, and prog_stop looked at. */
			sigaddset(&keep_mask, SIGCHLD);
			sigprocmask(SIG_SETMASK, &keep_mask, NULL);
			broker_keep(s->broker, &c->opt, &c->pool);
			sigprocmask(SIG_BLOCK, &block, NULL);
			next_keep = prog_now_ns() + keep_ns;
		}
		if (prog_stop && !forwarded) {
			/* A terminal's ^C reaches the workers already; a kill
			 * from a script reaches only us. */
			for (int i = 0; i < c->opt.jobs; i++)
				if (s->pids[i] > 0)
					kill(s->pids[i], prog_stop);
			forwarded = 1;
		}
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (int i = 0; i < c->opt.jobs; i++) {
				if (s->pids[i] == pid) {
					reaped(s, i, pid, st);
					break;
				}
			}
		}
		/* Again: a worker stopped by a signal of its own stops the
		 * others.  A replacement started after the signal was
		 * forwarded has prog_stop set from birth. */
		if (prog_stop && !forwarded) {
			for (int i = 0; i < c->opt.jobs; i++)
				if (s->pids[i] > 0)
					kill(s->pids[i], prog_stop);
			forwarded = 1;
		}
		if (show)
			show_progress(c, s->t0, 0);
	}
	if (show) {
		show_progress(c, s->t0, 1);
		prog_progress_end();
	}
	return 0;
}

enum { OPT_STDOUT = 256, OPT_WORK_DIR, OPT_KEEP, OPT_SYNC, OPT_LIST, OPT_INFO, OPT_REMOVE,
       OPT_REMOVE_STALE, OPT_BROKER, OPT_HOST, OPT_CLAIM_MS };

/* An administration command (--list, --info, ...) instead of a batch. */
struct admin {
	int cmd;                /* OPT_LIST ... OPT_REMOVE_STALE, or 0 */
	const char *name;       /* its argument */
};

/* Is s a host name fit for a member name "<s>.<worker>"? */
static int host_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len + 3 > SP_BROKER_MEMBER_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' || *s == ':'))
			return 0;
	return 1;
}

/* --broker's rules: no ring, no ring options, no --stdout; the host name
 * (the machine's unless --host). */
static void broker_args(struct consumer *c, const char *host)
{
	char name[256];

	if (c->opt.o.ring)
		prog_die_usage("--broker", "cannot go with -r (a batch is on a ring or a server)");
	if (c->opt.o.capacity_set)
		prog_die_usage("--capacity", "is a ring's; a batch on a server has a --window "
			       "(the producer's)");
	if (c->opt.keep)
		prog_die_usage("--keep", "is a ring's; a batch on a server ends itself");
	/* One stream of records in order is what --stdout writes; a batch on
	 * a server has none: parted files travel on streams of their own, and
	 * any host takes any entry. */
	if (c->opt.action == ACT_STDOUT)
		prog_die_usage("--stdout", "cannot go with --broker (a batch on a server "
			       "keeps no order); use -o or -x");
	if (!host) {
		if (gethostname(name, sizeof(name)) < 0)
			prog_die_usage("--host", "the machine has no name: give one");
		name[sizeof(name) - 1] = 0;
		host = name;
	}
	if (!host_ok(host))
		prog_die_usage(host, "not a host name for the batch (1-117 of [A-Za-z0-9._:-]): "
			       "give one with --host");
	snprintf(c->opt.host, sizeof(c->opt.host), "%s", host);
	if (!c->opt.claim_ms)
		c->opt.claim_ms = SP_BROKER_CLAIM_MS_DEFAULT;
}

/* Reads the options into c, or the administration command into *adm; a
 * usage error exits. */
static void parse_args(int argc, char **argv, struct consumer *c, struct admin *adm)
{
	static const struct option longopts[] = {
		PROG_LONGOPTS,
		{ "out", required_argument, NULL, 'o' },
		{ "compress", optional_argument, NULL, 'z' },
		{ "decompress", no_argument, NULL, 'd' },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "exec", required_argument, NULL, 'x' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "work-dir", required_argument, NULL, OPT_WORK_DIR },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "sync", no_argument, NULL, OPT_SYNC },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "info", required_argument, NULL, OPT_INFO },
		{ "remove", required_argument, NULL, OPT_REMOVE },
		{ "remove-stale", optional_argument, NULL, OPT_REMOVE_STALE },
		{ "broker", required_argument, NULL, OPT_BROKER },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "claim-ms", required_argument, NULL, OPT_CLAIM_MS },
		PROG_STD_LONGOPTS,
	};
	const char *host = NULL, *why;
	int actions = 0, opt;
	long v;

	while ((opt = getopt_long(argc, argv, "r:o:z::dx:j:qhV", longopts, NULL)) != -1) {
		if (prog_option(&c->opt.o, opt, optarg))
			continue;
		switch (opt) {
		case 'o':
			c->opt.out_dir = optarg;
			c->opt.action = ACT_OUT;
			actions++;
			break;
		case 'z':
			c->opt.compress = 1;
			if (optarg && prog_parse_int(optarg, 1, 12, &v) < 0)
				prog_die_usage("--compress", "expected a level from 1 to 12");
			if (optarg)
				c->opt.compress = (int)v;
			break;
		case 'd':
			c->opt.decompress = 1;
			break;
		case OPT_STDOUT:
			c->opt.action = ACT_STDOUT;
			actions++;
			break;
		case 'x':
			c->opt.exec_cmd = optarg;
			c->opt.action = ACT_EXEC;
			actions++;
			break;
		case 'j':
			if (prog_parse_int(optarg, 1, MAX_JOBS, &v) < 0)
				prog_die_usage("--jobs", "expected a number from 1 to 64");
			c->opt.jobs = (int)v;
			break;
		case OPT_WORK_DIR:
			c->opt.work_dir = optarg;
			break;
		case OPT_KEEP:
			c->opt.keep = 1;
			break;
		case OPT_SYNC:
			c->opt.sync = 1;
			break;
		case OPT_BROKER:
			c->opt.broker = optarg;
			if (sp_broker_url_parse(optarg, &c->opt.burl, &why) < 0)
				prog_die_usage("--broker", why);
			break;
		case OPT_HOST:
			host = optarg;
			break;
		case OPT_CLAIM_MS:
			/* Below 100 ms an entry would be claimed from a live
			 * host between two of its keeps (every claim-ms / 4). */
			if (prog_parse_int(optarg, 100, 86400000L, &v) < 0)
				prog_die_usage("--claim-ms", "expected milliseconds from 100 to 86400000");
			c->opt.claim_ms = v;
			break;
		case OPT_LIST:
		case OPT_INFO:
		case OPT_REMOVE:
		case OPT_REMOVE_STALE:
			adm->cmd = opt;
			adm->name = optarg;
			break;
		default:
			prog_std_option(opt, usage);
		}
	}
	if (optind < argc)
		prog_die_usage(argv[optind], "unexpected argument");
	if (adm->cmd)
		return;
	if (c->opt.broker)
		broker_args(c, host);
	else if (host || c->opt.claim_ms)
		prog_die_usage(host ? "--host" : "--claim-ms", "needs --broker");
	else
		prog_ring_required(&c->opt.o);
	if (actions != 1)
		prog_die_usage("action", "give exactly one of -o, --stdout and -x");
	if (c->opt.compress && c->opt.action != ACT_OUT)
		prog_die_usage("--compress", "needs -o");
	if (c->opt.decompress && c->opt.action != ACT_OUT)
		prog_die_usage("--decompress", "needs -o");
	if (c->opt.decompress && c->opt.compress)
		prog_die_usage("--decompress", "cannot go with --compress");
	if (c->opt.sync && c->opt.action != ACT_OUT)
		prog_die_usage("--sync", "needs -o");
	if (c->opt.action == ACT_STDOUT && c->opt.jobs != 1)
		prog_die_usage("--stdout", "keeps order with one worker only (-j 1)");
	/* One worker taking records in order needs room for a few in flight,
	 * not for a batch: a small ring costs less to create, fault in and
	 * remove, and stays in the caches (bench/README.md, "The stream race"). */
	if (c->opt.action == ACT_STDOUT && !c->opt.o.capacity_set)
		c->opt.o.ro.capacity = STREAM_CAPACITY;
}

static int run_admin(const struct admin *adm)
{
	switch (adm->cmd) {
	case OPT_LIST:
		return admin_list();
	case OPT_INFO:
		return admin_info(adm->name);
	case OPT_REMOVE:
		return admin_remove(adm->name);
	default:
		return admin_remove_stale(adm->name);
	}
}

/*
 * Opens the output directory (-o, made if missing) or the work directory
 * (-x, $TMPDIR/shmpipe.<ring>.<uid> unless --work-dir; default_dir holds
 * that name), and locks it shared for as long as we work in it: the last
 * consumer out takes it exclusively.  Alone in it, first removes what
 * killed workers left.  Returns 0 or an exit status, having said why.
 */
static int open_root(struct consumer *c, char *default_dir, size_t size)
{
	if (c->opt.action == ACT_OUT) {
		int rc = make_dirs(c->opt.out_dir, 0777);

		c->pool.rootfd = rc < 0 ? rc : open(c->opt.out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->pool.rootfd < 0) {
			prog_warn(c->opt.out_dir, strerror(rc < 0 ? -rc : errno));
			return EX_CANTCREAT;
		}
		/* Refused now rather than file by file: the records stay in
		 * the ring for a consumer that can write. */
		if (faccessat(AT_FDCWD, c->opt.out_dir, W_OK | X_OK, AT_EACCESS) < 0) {
			char msg[PATH_MAX + 32];

			snprintf(msg, sizeof(msg), "%s: cannot write there", c->opt.out_dir);
			prog_warn(msg, strerror(errno));
			return EX_CANTCREAT;
		}
	} else if (c->opt.action == ACT_EXEC) {
		if (!c->opt.work_dir) {
			const char *tmpdir = getenv("TMPDIR");

			if (c->opt.broker)
				snprintf(default_dir, size, "%s/shmpipe.%s.%s.%u",
					 tmpdir && *tmpdir ? tmpdir : "/tmp", c->opt.burl.name,
					 c->opt.host, (unsigned)geteuid());
			else
				snprintf(default_dir, size, "%s/shmpipe.%s.%u",
					 tmpdir && *tmpdir ? tmpdir : "/tmp", c->opt.o.ring,
					 (unsigned)geteuid());
			c->opt.work_dir = default_dir;
		}
		c->pool.rootfd = open_work_dir(c->opt.work_dir);
		if (c->pool.rootfd < 0) {
			prog_warn(c->opt.work_dir, c->pool.rootfd == -EPERM ? "not a private directory of ours"
								  : strerror(-c->pool.rootfd));
			return EX_CANTCREAT;
		}
	}
	if (c->pool.rootfd >= 0) {
		/* Alone in the directory (no consumer holds it, so no worker of
		 * any consumer lives): remove what killed workers left. */
		if (flock(c->pool.rootfd, LOCK_EX | LOCK_NB) == 0) {
			int n = journal_sweep(c->pool.rootfd);

			if (n && !c->opt.o.quiet) {
				char msg[64];

				snprintf(msg, sizeof(msg), "removed %d", n);
				prog_warn(msg, "temporary files left by workers that were killed");
			}
		}
		while (flock(c->pool.rootfd, LOCK_SH) < 0 && errno == EINTR)
			;
	}
	return 0;
}

/*
 * Attaches to the ring here, so that a bad ring is reported once, and the
 * ring exists (with our options) before any worker starts.  The handle
 * stays open: it tells whether the ring is closed when a worker dies.
 * Returns 0 or an exit status.
 */
static int attach(struct consumer *c, sp_ring **ring, sp_broker **broker)
{
	int rc;

	*ring = NULL;
	*broker = NULL;
	if (c->opt.broker) {
		/* The server is asked here, so that a wrong URL or a server
		 * away is told once, before any worker starts. */
		prog_catch_stop();
		return prog_stop ? EX_TEMPFAIL : broker_join(&c->opt, &c->pool, broker);
	}

	/* From here on a SIGINT or SIGTERM stops us cleanly (exit 75), as
	 * after the workers start: it is noted, and they are born stopping.
	 * Before, one that came between the "resuming" note and the start
	 * of the workers killed the consumer outright. */
	prog_catch_stop();
	admin_note_dead(c->opt.o.ring, c->opt.o.quiet);
	/* Stopped already: create nothing. */
	if (prog_stop)
		return EX_TEMPFAIL;
	rc = prog_ring_open(&c->opt.o, ring);
	if (rc)
		return rc;
	if (prog_stop) {
		/* Stopped while attaching (a lock file wait retries through
		 * signals): the ring stays, as after any stop. */
		sp_ring_close(*ring);
		return EX_TEMPFAIL;
	}
	return 0;
}

/* Maps what every process of this consumer shares: the workers' counters,
 * the board, and the slots of the records in hand.  Returns 0 or an exit
 * status. */
static int map_shared(struct consumer *c, sp_ring *ring)
{
	if (c->opt.broker) {
		void *p = mmap(NULL, sizeof(struct bslot) * (size_t)c->opt.jobs,
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			prog_warn("mmap", strerror(errno));
			return EX_OSERR;
		}
		c->pool.bslots = p;
	}
	c->pool.stats = mmap(NULL, sizeof(struct wstats) * (size_t)c->opt.jobs, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c->pool.board = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->pool.stats == MAP_FAILED || c->pool.board == MAP_FAILED) {
		prog_warn("mmap", strerror(errno));
		return EX_OSERR;
	}
	if (c->opt.action != ACT_STDOUT && ring) {
		/* Room in each worker's slot for a copy of its largest record;
		 * only touched pages take memory. */
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		void *p;

		c->pool.slot_size = (sizeof(struct wslot) + sp_ring_max_record(ring) + page - 1) / page * page;
		p = mmap(NULL, c->pool.slot_size * (size_t)c->opt.jobs, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		c->pool.slots = p == MAP_FAILED ? NULL : p;
	}
	return 0;
}

/*
 * After the workers: the last consumer out of the directory removes what
 * killed workers left, and, if the batch is over, sweeps what nobody can
 * complete any more, so no temporary file outlives the batch (if it
 * stopped early, partly assembled files stay for a consumer that resumes);
 * a finished batch's ring is removed.  own_dir: the work directory is the
 * default one, ours to remove.
 */
static void clean_up(struct consumer *c, sp_ring *ring, struct totals *t, int own_dir)
{
	int full = t->any_eos && !prog_stop;

	if (c->pool.rootfd >= 0 && last_out(c->pool.rootfd, full ? LAST_OUT_WAIT : 0)) {
		asm_sweep(c->pool.rootfd, full, c->opt.o.quiet, &t->incomplete);
		if (c->opt.action == ACT_EXEC && own_dir)
			rmdir(c->opt.work_dir);      /* fails, harmlessly, if not empty */
	}
	if (!ring)
		return;
	sp_ring_close(ring);
	/* A worker that saw the end saw the ring sealed and drained: it has
	 * served its purpose, even if another worker crashed. */
	if (t->any_eos && !prog_stop && !c->opt.keep) {
		int rc = sp_ring_unlink(c->opt.o.ring);

		if (rc < 0 && rc != -ENOENT)
			prog_warn_ring(c->opt.o.ring, "remove", strerror(-rc));
	}
	if (atomic_load(&c->pool.board->halt)) {
		char msg[PATH_MAX + 32];

		snprintf(msg, sizeof(msg), "%s: out of room (%s)", c->opt.out_dir ? c->opt.out_dir : c->opt.work_dir,
			 strerror(atomic_load(&c->pool.board->halt_err)));
		prog_warn(msg, "stopped; what was not taken stays in the ring: make room and "
			       "start a consumer again");
	}
}

/* The exit status the totals call for (usage() lists them). */
static int exit_status(const struct consumer *c, const struct supervisor *sup,
		       const struct totals *t)
{
	if (prog_stop)
		return EX_TEMPFAIL;
	if (t->fatal && c->opt.broker)
		return broker_status(t->fatal);
	if (t->fatal)
		return t->fatal == -EBADMSG ? EX_PROTOCOL : EX_OSERR;
	if (sup->crashed)
		return EX_SOFTWARE;
	if (t->bad || t->refused || t->incomplete || t->lost)
		return EX_DATAERR;
	if (t->write_failed || atomic_load(&c->pool.board->halt))
		return c->opt.action == ACT_STDOUT ? EX_IOERR : EX_CANTCREAT;
	if (t->exec_failed)
		return EX_UNAVAILABLE;
	if (!t->all_eos)
		return EX_SOFTWARE;     /* a worker ended without the end: cannot happen */
	return EX_OK;
}

/* The summary line on stderr and the --stats JSON. */
static void report(const struct consumer *c, const struct supervisor *sup,
		   const struct totals *t, int status)
{
	uint64_t failed = t->bad + t->refused + t->incomplete + t->write_failed + t->exec_failed +
			  t->lost;
	double secs = prog_now_sec() - sup->t0;

	if (!c->opt.o.quiet) {
		fprintf(stderr, "%s: %llu files, %llu dirs, %llu links, %.1f MB in %.2f s "
				"(%.1f MB/s), %.1f MB out, %llu failed%s\n",
			prog_name, (unsigned long long)t->files, (unsigned long long)t->dirs,
			(unsigned long long)t->links, t->bytes / 1e6, secs,
			secs > 0 ? t->bytes / 1e6 / secs : 0.0, t->bytes_out / 1e6,
			(unsigned long long)failed, prog_stop ? ", interrupted"
				: atomic_load(&c->pool.board->halt) ? ", stopped" : "");
	}
	if (c->opt.o.want_stats) {
		FILE *f = prog_stats_open(&c->opt.o, c->opt.action == ACT_STDOUT ? stderr : stdout);

		if (f) {
			write_stats(c, t, f, secs, sup->replaced, status);
			prog_stats_close(&c->opt.o, f);
		}
	}
}

int main(int argc, char **argv)
{
	struct consumer c = {
		.opt = { .o = PROG_OPTS_INIT(DEFAULT_CAPACITY), .jobs = 1 },
		.pool = { .rootfd = -1 },
	};
	struct admin adm = { 0 };
	char work_dir[PATH_MAX];
	struct totals t;
	sp_broker *broker;
	sp_ring *ring;
	int status;

	prog_name = PROG;
	parse_args(argc, argv, &c, &adm);
	if (adm.cmd)
		return run_admin(&adm);
	if ((status = open_root(&c, work_dir, sizeof(work_dir))) != 0 ||
	    (status = attach(&c, &ring, &broker)) != 0)
		return status;
	if ((status = map_shared(&c, ring)) != 0) {
		broker_leave(broker, &c.opt);
		return status;
	}
	if (c.opt.action == ACT_STDOUT)
		stream_grow_pipe(STDOUT_FILENO, sp_ring_max_record(ring));

	struct supervisor sup = { .c = &c, .ring = ring, .broker = broker, .self = getpid() };
	int started = supervise(&sup);

	if (started >= 0) {
		add_up(&c, &t);
		if (c.opt.jobs == 0)
			t.all_eos = 0;
		t.lost += sup.lost;
		clean_up(&c, ring, &t, c.opt.work_dir == work_dir);
	}
	/* Every worker is gone and the sweep done: nothing of ours is held
	 * any more.  Not before the sweep: while we are one of its hosts a
	 * complete batch's marker stays, so that a consumer started again
	 * after we were killed here joins the complete batch and sweeps.  A
	 * stop signal cuts short the retries of a server that is away. */
	if (broker) {
		sigset_t blocked;

		sigprocmask(SIG_SETMASK, &sup.orig_mask, &blocked);
		broker_leave(broker, &c.opt);
		sigprocmask(SIG_SETMASK, &blocked, NULL);
	}
	if (started < 0)
		return EX_OSERR;
	status = exit_status(&c, &sup, &t);
	report(&c, &sup, &t, status);
	return status;
}
