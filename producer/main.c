/* main.c: the producer's command line: options, the ring, the batch, the summary and exit status. */
#include "producer.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "shared/version.h"

volatile sig_atomic_t g_stop;
int g_progress_shown;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

void warnmsg(const char *what, const char *why)
{
	/* Erase a progress line first, so the message stands on its own. */
	if (g_progress_shown) {
		fputs("\r\033[K", stderr);
		g_progress_shown = 0;
	}
	fprintf(stderr, "%s: %s: %s\n", PROG, what, why);
}

static void usage(FILE *out, int status)
{
	fputs("Usage:\n"
	      " producer [options] <path>...\n"
	      "\n"
	      "Send files, directory trees or the standard input (-) through a named\n"
	      "shared-memory ring to consumer processes.\n"
	      "\n"
	      "Options:\n"
	      " -r, --ring <name>         ring to attach to, created if missing\n"
	      "     --capacity <size>     ring size if this creates it (default 16M;\n"
	      "                             4M when the only path is -)\n"
	      "     --producers <n>       producers the ring expects if this creates it\n"
	      "                             (default 1)\n"
	      " -T, --files-from <file>   read more paths from <file> (- for stdin),\n"
	      "                             one per line\n"
	      " -0, --null                paths read by -T are NUL-separated\n"
	      " -C, --directory <dir>     change to <dir> first\n"
	      " -L, --dereference         follow symbolic links\n"
	      "     --no-recursion        send directories without their content\n"
	      "     --name <path>         path given to the standard input (default stdin)\n"
	      "     --lz4[=<level>]       compress chunks in transit (1-12, default 1)\n"
	      "     --chunk <size>        content bytes per record (default 1M)\n"
	      "     --progress            show progress when stderr is a terminal\n"
	      "     --stats[=<file>]      write a JSON summary to <file> or stdout\n"
	      " -q, --quiet               print no summary and no warnings\n"
	      "\n"
	      " -h, --help                display this help\n"
	      " -V, --version             display version\n"
	      "\n"
	      "Sizes take a K, M or G suffix.  Once all is sent, the ring is sealed when\n"
	      "consumers have taken everything in it (at once if none ever took a record;\n"
	      "after 10 s if none is attached).  A producer killed or interrupted does\n"
	      "not seal: start it again, it sends the batch again.\n"
	      "\n"
	      "Exit status: 0 all sent; 66 some input could not be read; 64 usage;\n"
	      "69 ring closed; 71 system error; 75 interrupted (the ring is not\n"
	      "sealed); 76 corrupt ring.\n",
	      out);
	exit(status);
}

static void die_usage(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, why);
	fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
	exit(EX_USAGE);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Feeds every path of a list (one per line, or NUL-separated) to the walk. */
static int read_list(struct producer *p, FILE *f, const char *file, int nul)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	errno = 0;
	while (rc >= 0 && !p->fatal && !g_stop && (n = getdelim(&line, &cap, nul ? 0 : '\n', f)) >= 0) {
		if (n > 0 && line[n - 1] == (nul ? 0 : '\n'))
			line[--n] = 0;
		if (n == 0)
			continue;
		/* A "-" in a list is a file of that name, not the standard input. */
		rc = walk_arg(p, strcmp(line, "-") == 0 ? "./-" : line);
		errno = 0;
	}
	if (ferror(f) && !g_stop) {
		warnmsg(file, "cannot read list");
		p->failed++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void write_stats(const struct producer *p, const char *file, double secs, int status)
{
	FILE *f = file ? fopen(file, "w") : stdout;

	if (!f) {
		warnmsg(file, strerror(errno));
		return;
	}
	fprintf(f, "{\"program\":\"producer\",\"ring\":");
	json_str(f, p->ring_name);
	fprintf(f, ",\"run\":\"%016llx\",\"records\":%llu,\"files\":%llu,\"dirs\":%llu,"
		   "\"symlinks\":%llu,\"bytes\":%llu,\"bytes_sent\":%llu,\"ratio\":%.4f,"
		   "\"seconds\":%.6f,\"mb_per_s\":%.2f,\"failed\":%llu,\"skipped\":%llu,"
		   "\"sealed\":%s,\"exit\":%d}\n",
		(unsigned long long)p->run, (unsigned long long)p->records,
		(unsigned long long)p->files, (unsigned long long)p->dirs,
		(unsigned long long)p->links, (unsigned long long)p->bytes,
		(unsigned long long)p->bytes_sent,
		p->bytes_sent ? (double)p->bytes / (double)p->bytes_sent : 1.0, secs,
		secs > 0 ? p->bytes / 1e6 / secs : 0.0, (unsigned long long)p->failed,
		(unsigned long long)p->skipped, status == EX_OK || status == EX_NOINPUT ? "true" : "false",
		status);
	if (file)
		fclose(f);
	else
		fflush(f);
}

/* How long a producer that has sent everything waits for a consumer to
 * come back when none is attached, before it seals the ring anyway. */
#define LINGER_SEC 10.0

/*
 * Waits until consumers have taken and released every record in the ring,
 * so that the caller seals an empty ring.  Why: the record of a reader that
 * dies is handed to another reader only by readers waiting on an open ring;
 * once the ring is sealed and every record taken, readers are told at once
 * that it is drained, and a record still in a dead reader's hands would be
 * lost (docs/pipeline.md, "Crashes").  Returns at once if no consumer ever
 * took a record (one may start later: it drains a sealed ring), when
 * interrupted (everything was sent: seal), and after LINGER_SEC with no
 * other participant attached (say so).  Polls (sp_ring_stat() is a few
 * system calls): this runs once, at the end.
 */
static void wait_drained(struct producer *p)
{
	double alone_since = 0, t0 = now_sec();
	long nap = 100000;      /* ns: the drain is often a matter of microseconds */

	for (;;) {
		struct sp_ring_stat st;
		struct timespec ts = { 0, nap };

		if (g_stop || sp_ring_stat(p->ring, &st) < 0 || st.used == 0)
			return;
		if (st.attached > 1) {
			alone_since = 0;
		} else if (st.recs_out == 0) {
			return;
		} else if (alone_since == 0) {
			alone_since = now_sec();
		} else if (now_sec() - alone_since > LINGER_SEC) {
			if (!p->quiet) {
				char msg[160];

				snprintf(msg, sizeof(msg), "ring %s", p->ring_name);
				warnmsg(msg, "no consumer attached for 10 s: sealing with records "
					     "not yet consumed");
			}
			return;
		}
		nanosleep(&ts, NULL);
		/* Up to every 2 ms (the consumers' end waits on us), and
		 * every 20 ms once the wait is long anyway. */
		if (now_sec() - t0 > 1.0)
			nap = 20000000;
		else if (nap < 2000000)
			nap *= 2;
	}
}

enum { OPT_CAPACITY = 256, OPT_PRODUCERS, OPT_NO_RECURSION, OPT_NAME, OPT_LZ4, OPT_CHUNK,
       OPT_PROGRESS, OPT_STATS };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ring", required_argument, NULL, 'r' },
		{ "capacity", required_argument, NULL, OPT_CAPACITY },
		{ "producers", required_argument, NULL, OPT_PRODUCERS },
		{ "files-from", required_argument, NULL, 'T' },
		{ "null", no_argument, NULL, '0' },
		{ "directory", required_argument, NULL, 'C' },
		{ "dereference", no_argument, NULL, 'L' },
		{ "no-recursion", no_argument, NULL, OPT_NO_RECURSION },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "lz4", optional_argument, NULL, OPT_LZ4 },
		{ "chunk", required_argument, NULL, OPT_CHUNK },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "stats", optional_argument, NULL, OPT_STATS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct producer p = { .recurse = 1, .stdin_name = "stdin", .chunk = DEFAULT_CHUNK };
	struct sp_ring_opts ro = { .capacity = DEFAULT_CAPACITY, .writers = 1 };
	const char *files_from = NULL, *dir = NULL, *stats_file = NULL;
	int nul = 0, want_stats = 0, capacity_set = 0, c;
	uint64_t sz;
	long v;

	while ((c = getopt_long(argc, argv, "r:T:0C:LqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			p.ring_name = optarg;
			break;
		case OPT_CAPACITY:
			if (sp_parse_bytes(optarg, &sz) < 0 || sz < SP_RING_MIN_CAPACITY ||
			    sz > SP_RING_MAX_CAPACITY)
				die_usage("--capacity", "expected a size from 4K to 4G");
			/* The ring wants a power of two: round up. */
			ro.capacity = SP_RING_MIN_CAPACITY;
			while (ro.capacity < sz)
				ro.capacity <<= 1;
			capacity_set = 1;
			break;
		case OPT_PRODUCERS:
			if (parse_int(optarg, 1, SP_RING_MAX_PARTICIPANTS, &v) < 0)
				die_usage("--producers", "expected a number from 1 to 128");
			ro.writers = (unsigned)v;
			break;
		case 'T':
			files_from = optarg;
			break;
		case '0':
			nul = 1;
			break;
		case 'C':
			dir = optarg;
			break;
		case 'L':
			p.follow = 1;
			break;
		case OPT_NO_RECURSION:
			p.recurse = 0;
			break;
		case OPT_NAME:
			if (sp_batch_path_check(optarg, strlen(optarg)) < 0)
				die_usage("--name", "expected a relative path without '..'");
			p.stdin_name = optarg;
			break;
		case OPT_LZ4:
			p.lz4_level = 1;
			if (optarg && parse_int(optarg, 1, 12, &v) < 0)
				die_usage("--lz4", "expected a level from 1 to 12");
			if (optarg)
				p.lz4_level = (int)v;
			break;
		case OPT_CHUNK:
			if (sp_parse_bytes(optarg, &sz) < 0 || sz < 1 || sz > (1u << 30))
				die_usage("--chunk", "expected a size from 1 to 1G");
			p.chunk = (size_t)sz;
			break;
		case OPT_PROGRESS:
			p.progress = 1;
			break;
		case OPT_STATS:
			want_stats = 1;
			stats_file = optarg;
			break;
		case 'q':
			p.quiet = 1;
			break;
		case 'h':
			usage(stdout, EX_OK);
			break;
		case 'V':
			printf("%s (shmpipe) %s, libshared %s\n", PROG, SP_VERSION_STRING,
			       sp_version_string());
			return EX_OK;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
			return EX_USAGE;
		}
	}
	if (!p.ring_name)
		die_usage("--ring", "a ring name is required");
	int rc = sp_name_check(p.ring_name);

	if (rc < 0)
		die_usage(p.ring_name, "bad ring name (1-100 characters of [A-Za-z0-9._-])");
	if (optind == argc && !files_from)
		die_usage("path", "nothing to send (give paths, - or --files-from)");
	int dashes = files_from && strcmp(files_from, "-") == 0;

	for (int i = optind; i < argc; i++)
		dashes += strcmp(argv[i], "-") == 0;
	if (dashes > 1)
		die_usage("-", "the standard input can be read only once");
	/* A stream alone needs room for a few parts in flight, not for a
	 * batch: a small ring costs less to create, fault in and remove, and
	 * stays in the caches (bench/README.md, "The stream race"). */
	if (!capacity_set && !files_from && optind == argc - 1 && strcmp(argv[optind], "-") == 0)
		ro.capacity = STREAM_CAPACITY;
	/* The list is named relative to where we started, as the paths in
	 * it are relative to -C. */
	FILE *list = NULL;

	if (files_from) {
		list = strcmp(files_from, "-") == 0 ? stdin : fopen(files_from, "r");
		if (!list) {
			char msg[PATH_MAX + 32];

			snprintf(msg, sizeof(msg), "%s: cannot open list", files_from);
			warnmsg(msg, strerror(errno));
			return EX_NOINPUT;
		}
	}
	if (dir && chdir(dir) < 0) {
		warnmsg(dir, strerror(errno));
		return EX_NOINPUT;
	}

	/* No SA_RESTART: a read blocked on a pipe must return on a signal. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (getrandom(&p.run, sizeof(p.run), 0) != sizeof(p.run)) {
		warnmsg("getrandom", strerror(errno));
		return EX_OSERR;
	}
	rc = sp_ring_open(p.ring_name, SP_CREATE, &ro, &p.ring);
	if (rc < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "ring %s", p.ring_name);
		warnmsg(msg, rc == -EPROTO || rc == -EBADMSG ? "not a ring of this version, or corrupt"
							      : strerror(-rc));
		return rc == -EPROTO || rc == -EBADMSG ? EX_PROTOCOL : EX_OSERR;
	}
	p.max_record = sp_ring_max_record(p.ring);
	p.buf = malloc(p.chunk + 1);
	p.zbuf = malloc(p.chunk);
	if (!p.buf || !p.zbuf) {
		warnmsg("memory", strerror(ENOMEM));
		sp_ring_close(p.ring);
		return EX_OSERR;
	}

	p.progress = p.progress && !p.quiet && isatty(STDERR_FILENO);
	if (p.progress) {
		/* A first walk that only counts, so that progress can tell an ETA. */
		p.counting = 1;
		for (int i = optind; i < argc && !g_stop; i++)
			walk_arg(&p, argv[i]);
		p.counting = 0;
		if (files_from)
			p.total_files = p.total_bytes = 0;
	}
	p.t0 = now_sec();
	rc = 0;
	for (int i = optind; i < argc && rc >= 0 && !p.fatal && !g_stop; i++)
		rc = walk_arg(&p, argv[i]);
	if (files_from && rc >= 0 && !p.fatal && !g_stop)
		rc = read_list(&p, list, files_from, nul);

	int status = EX_OK;

	if (g_stop || rc == -EINTR) {
		/* Not finished: no seal, so a restarted producer can complete
		 * the batch.  Our records already in the ring stay valid. */
		warnmsg("interrupted", "the batch is incomplete; the ring is not sealed");
		status = EX_TEMPFAIL;
	} else if (p.fatal) {
		status = p.fatal == -EPIPE ? EX_UNAVAILABLE
			 : p.fatal == -EBADMSG ? EX_PROTOCOL : EX_OSERR;
	} else {
		wait_drained(&p);
		rc = sp_ring_seal(p.ring);
		if (rc < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "ring %s: seal", p.ring_name);
			warnmsg(msg, strerror(-rc));
			status = EX_OSERR;
		} else if (p.failed) {
			status = EX_NOINPUT;
		}
	}
	double secs = now_sec() - p.t0;

	if (p.progress)
		fprintf(stderr, "\r\033[K");
	if (!p.quiet)
		fprintf(stderr, "%s: %llu files, %llu dirs, %llu links, %.1f MB in %.2f s "
				"(%.1f MB/s), %llu records, %llu failed\n",
			PROG, (unsigned long long)p.files, (unsigned long long)p.dirs,
			(unsigned long long)p.links, p.bytes / 1e6, secs,
			secs > 0 ? p.bytes / 1e6 / secs : 0.0, (unsigned long long)p.records,
			(unsigned long long)p.failed);
	if (want_stats)
		write_stats(&p, stats_file, secs, status);
	sp_ring_close(p.ring);
	free(p.buf);
	free(p.zbuf);
	return status;
}
