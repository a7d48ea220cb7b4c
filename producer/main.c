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

static void usage(FILE *out, int status)
{
	fputs("Usage:\n"
	      " producer [options] <path>...\n"
	      "\n"
	      "Send files, directory trees or the standard input (-) through a named\n"
	      "shared-memory ring, or a batch on a Redis/Valkey server, to consumer\n"
	      "processes.\n"
	      "\n"
	      "Options:\n"
	      " -r, --ring <name>         ring to attach to, created if missing\n"
	      "     --capacity <size>     ring size if this creates it (default 16M;\n"
	      "                             4M when the only path is -)\n"
	      "     --broker <url>        send to a batch on a Redis/Valkey stream\n"
	      "                             instead of a ring: redis://HOST[:PORT]/NAME\n"
	      "                             or unix:///PATH?stream=NAME\n"
	      "     --window <size>       with --broker: unacknowledged bytes on the\n"
	      "                             server above which we wait (default 256M)\n"
	      "     --producers <n>       producers the ring or batch expects if this\n"
	      "                             creates it (default 1)\n"
	      " -T, --files-from <file>   read more paths from <file> (- for stdin),\n"
	      "                             one per line\n"
	      " -0, --null                paths read by -T are NUL-separated\n"
	      " -C, --directory <dir>     change to <dir> first\n"
	      " -L, --dereference         follow symbolic links\n"
	      "     --no-recursion        send directories without their content\n"
	      "     --name <path>         path given to the standard input (default stdin)\n"
	      "     --lz4[=<level>]       compress chunks in transit (1-12, default 1)\n"
	      "     --chunk <size>        content bytes per record (default 1M;\n"
	      "                             at most 4M with --broker)\n"
	      "     --read-ahead <n>      files of a directory opened and read ahead\n"
	      "                             of the one being sent (default 32; 0 off)\n"
	      "     --progress            show progress when stderr is a terminal\n"
	      "     --stats[=<file>]      write a JSON summary to <file> or stdout\n"
	      " -q, --quiet               print no summary and no warnings\n"
	      "\n"
	      " -h, --help                display this help\n"
	      " -V, --version             display version\n"
	      "\n"
	      "Sizes take a K, M or G suffix.  Once all is sent, the ring is sealed when\n"
	      "consumers have taken everything in it (at once if none ever took a record;\n"
	      "after 10 s if none is attached); a batch on a broker is sealed at once.\n"
	      "A producer killed or interrupted does not seal: start it again, it sends\n"
	      "the batch again.\n"
	      "\n"
	      "Exit status: 0 all sent; 66 some input could not be read; 64 usage;\n"
	      "69 ring or batch closed, or the broker unreachable or refusing;\n"
	      "71 system error; 75 interrupted (not sealed); 76 corrupt ring, or the\n"
	      "batch gone from the broker.\n",
	      out);
	exit(status);
}

/* Feeds every path of a list (one per line, or NUL-separated) to the walk. */
static int read_list(struct producer *p, FILE *f, const char *file, int nul)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	errno = 0;
	while (rc >= 0 && !p->fatal && !prog_stop && (n = getdelim(&line, &cap, nul ? 0 : '\n', f)) >= 0) {
		if (n > 0 && line[n - 1] == (nul ? 0 : '\n'))
			line[--n] = 0;
		if (n == 0)
			continue;
		/* A "-" in a list is a file of that name, not the standard input. */
		rc = walk_arg(p, strcmp(line, "-") == 0 ? "./-" : line);
		errno = 0;
	}
	if (ferror(f) && !prog_stop) {
		prog_warn(file, "cannot read list");
		p->failed++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void write_stats(const struct producer *p, double secs, int status)
{
	FILE *f = prog_stats_open(&p->o, stdout);

	if (!f)
		return;
	fprintf(f, "{\"program\":\"producer\",\"%s\":", p->url ? "broker" : "ring");
	prog_json_str(f, p->url ? p->batch : p->o.ring);
	if (p->broker)
		fprintf(f, ",\"window_peak\":%llu", (unsigned long long)sp_broker_peak(p->broker));
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
	prog_stats_close(&p->o, f);
}

/* What the command line gives besides the options kept in struct producer. */
struct args {
	char **paths;           /* the PATH arguments */
	int npaths;
	const char *files_from; /* -T */
	int nul;                /* -0 */
	const char *dir;        /* -C */
};

enum { OPT_NO_RECURSION = 256, OPT_NAME, OPT_LZ4, OPT_CHUNK, OPT_READ_AHEAD, OPT_BROKER,
       OPT_WINDOW };

/* --broker's rules: no ring, no ring size, a valid URL, records that fit
 * in an entry; a usage error exits. */
static void broker_args(struct producer *p)
{
	struct sp_broker_url u;
	const char *why = NULL;

	if (p->o.ring)
		prog_die_usage("--broker", "cannot go with -r (a batch is on a ring or a server)");
	if (p->o.capacity_set)
		prog_die_usage("--capacity", "is a ring's; a batch on a server has a --window");
	if (sp_broker_url_parse(p->url, &u, &why) < 0)
		prog_die_usage("--broker", why ? why : "bad URL");
	memcpy(p->batch, u.name, sizeof(p->batch));
	/* A record must fit in an entry (chunk_for() leaves room for the
	 * header and the path below that). */
	if (p->chunk > SP_BROKER_MAX_RECORD)
		prog_die_usage("--chunk", "expected at most 4M with --broker");
}

/* Reads the options into p and a; a usage error exits. */
static void parse_args(int argc, char **argv, struct producer *p, struct args *a)
{
	static const struct option longopts[] = {
		PROG_LONGOPTS,
		{ "broker", required_argument, NULL, OPT_BROKER },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "files-from", required_argument, NULL, 'T' },
		{ "null", no_argument, NULL, '0' },
		{ "directory", required_argument, NULL, 'C' },
		{ "dereference", no_argument, NULL, 'L' },
		{ "no-recursion", no_argument, NULL, OPT_NO_RECURSION },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "lz4", optional_argument, NULL, OPT_LZ4 },
		{ "chunk", required_argument, NULL, OPT_CHUNK },
		{ "read-ahead", required_argument, NULL, OPT_READ_AHEAD },
		PROG_STD_LONGOPTS,
	};
	uint64_t sz;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "r:T:0C:LqhV", longopts, NULL)) != -1) {
		if (prog_option(&p->o, c, optarg))
			continue;
		switch (c) {
		case 'T':
			a->files_from = optarg;
			break;
		case '0':
			a->nul = 1;
			break;
		case 'C':
			a->dir = optarg;
			break;
		case 'L':
			p->follow = 1;
			break;
		case OPT_NO_RECURSION:
			p->recurse = 0;
			break;
		case OPT_NAME:
			if (sp_batch_path_check(optarg, strlen(optarg)) < 0)
				prog_die_usage("--name", "expected a relative path without '..'");
			p->stdin_name = optarg;
			break;
		case OPT_LZ4:
			p->lz4_level = 1;
			if (optarg && prog_parse_int(optarg, 1, 12, &v) < 0)
				prog_die_usage("--lz4", "expected a level from 1 to 12");
			if (optarg)
				p->lz4_level = (int)v;
			break;
		case OPT_CHUNK:
			if (prog_parse_bytes(optarg, &sz) < 0 || sz < 1 || sz > (1u << 30))
				prog_die_usage("--chunk", "expected a size from 1 to 1G");
			p->chunk = (size_t)sz;
			break;
		case OPT_READ_AHEAD:
			if (prog_parse_int(optarg, 0, 1000, &v) < 0)
				prog_die_usage("--read-ahead", "expected a number from 0 to 1000");
			p->ahead = (size_t)v;
			break;
		case OPT_BROKER:
			p->url = optarg;
			break;
		case OPT_WINDOW:
			if (prog_parse_bytes(optarg, &sz) < 0 || sz < 1 || sz > (1ull << 40))
				prog_die_usage("--window", "expected a size from 1 to 1024G");
			p->window = sz;
			break;
		default:
			prog_std_option(c, usage);
		}
	}
	if (p->url) {
		broker_args(p);
	} else {
		prog_ring_required(&p->o);
		if (p->window)
			prog_die_usage("--window", "needs --broker");
	}
	a->paths = argv + optind;
	a->npaths = argc - optind;
	if (a->npaths == 0 && !a->files_from)
		prog_die_usage("path", "nothing to send (give paths, - or --files-from)");
	int dashes = a->files_from && strcmp(a->files_from, "-") == 0;

	for (int i = 0; i < a->npaths; i++)
		dashes += strcmp(a->paths[i], "-") == 0;
	if (dashes > 1)
		prog_die_usage("-", "the standard input can be read only once");
	/* A stream alone needs room for a few parts in flight, not for a
	 * batch: a small ring costs less to create, fault in and remove, and
	 * stays in the caches (bench/README.md, "The stream race"). */
	if (!p->o.capacity_set && !a->files_from && a->npaths == 1 && strcmp(a->paths[0], "-") == 0)
		p->o.ro.capacity = STREAM_CAPACITY;
}

/*
 * Opens the list of -T (named relative to where we started, as the paths
 * in it are relative to -C) into *list, goes to -C, catches the stop
 * signals, draws the run's id, attaches to the ring or joins the batch on
 * the broker, and allocates the buffers.  Returns 0 or an exit status, having said why.
 */
static int set_up(struct producer *p, const struct args *a, FILE **list)
{
	int rc;

	*list = NULL;
	if (a->files_from) {
		*list = strcmp(a->files_from, "-") == 0 ? stdin : fopen(a->files_from, "r");
		if (!*list) {
			char msg[PATH_MAX + 32];

			snprintf(msg, sizeof(msg), "%s: cannot open list", a->files_from);
			prog_warn(msg, strerror(errno));
			return EX_NOINPUT;
		}
	}
	if (a->dir && chdir(a->dir) < 0) {
		prog_warn(a->dir, strerror(errno));
		return EX_NOINPUT;
	}
	prog_catch_stop();
	if (getrandom(&p->run, sizeof(p->run), 0) != sizeof(p->run)) {
		prog_warn("getrandom", strerror(errno));
		return EX_OSERR;
	}
	rc = out_open(p);
	if (rc)
		return rc;
	p->buf = malloc(p->chunk + 1);
	p->zbuf = malloc(p->chunk);
	if (!p->buf || !p->zbuf) {
		prog_warn("memory", strerror(ENOMEM));
		return EX_OSERR;
	}
	return 0;
}

/* Sends every path, then the list.  Returns the last walk's result. */
static int send_all(struct producer *p, const struct args *a, FILE *list)
{
	int rc = 0;

	p->o.progress = p->o.progress && !p->o.quiet && isatty(STDERR_FILENO);
	if (p->o.progress) {
		/* A first walk that only counts, so that progress can tell an ETA. */
		p->counting = 1;
		for (int i = 0; i < a->npaths && !prog_stop; i++)
			walk_arg(p, a->paths[i]);
		p->counting = 0;
		if (a->files_from)
			p->total_files = p->total_bytes = 0;
	}
	p->t0 = prog_now_sec();
	for (int i = 0; i < a->npaths && rc >= 0 && !p->fatal && !prog_stop; i++)
		rc = walk_arg(p, a->paths[i]);
	if (list && rc >= 0 && !p->fatal && !prog_stop)
		rc = read_list(p, list, a->files_from, a->nul);
	return rc;
}

/* Ends the batch after send_all() returned rc: seals the ring or the
 * batch if all was sent.  Returns the exit status. */
static int end_batch(struct producer *p, int rc)
{
	int stopped = prog_stop || rc == -EINTR;

	if (!stopped && p->fatal)
		return out_status(p, p->fatal);
	if (!stopped) {
		rc = out_seal(p);
		if (rc != EX_TEMPFAIL)
			return rc ? rc : p->failed ? EX_NOINPUT : EX_OK;
	}
	/* Not finished: no seal, so a restarted producer can complete the
	 * batch.  Our records already in the ring or the batch stay valid. */
	prog_warn("interrupted", p->url ? "the batch is incomplete; it is not sealed"
					     : "the batch is incomplete; the ring is not sealed");
	return EX_TEMPFAIL;
}

/* The summary line on stderr and the --stats JSON. */
static void report(const struct producer *p, int status)
{
	double secs = prog_now_sec() - p->t0;

	if (p->o.progress)
		prog_progress_end();
	if (!p->o.quiet)
		fprintf(stderr, "%s: %llu files, %llu dirs, %llu links, %.1f MB in %.2f s "
				"(%.1f MB/s), %llu records, %llu failed\n",
			prog_name, (unsigned long long)p->files, (unsigned long long)p->dirs,
			(unsigned long long)p->links, p->bytes / 1e6, secs,
			secs > 0 ? p->bytes / 1e6 / secs : 0.0, (unsigned long long)p->records,
			(unsigned long long)p->failed);
	if (p->o.want_stats)
		write_stats(p, secs, status);
}

int main(int argc, char **argv)
{
	struct producer p = { .o = PROG_OPTS_INIT(DEFAULT_CAPACITY), .recurse = 1,
			      .stdin_name = "stdin", .chunk = DEFAULT_CHUNK, .ahead = DEFAULT_AHEAD };
	struct args a = { 0 };
	FILE *list;
	int status;

	prog_name = PROG;
	parse_args(argc, argv, &p, &a);
	status = set_up(&p, &a, &list);
	if (status == 0) {
		status = end_batch(&p, send_all(&p, &a, list));
		report(&p, status);
	}
	out_close(&p);
	free(p.buf);
	free(p.zbuf);
	return status;
}
