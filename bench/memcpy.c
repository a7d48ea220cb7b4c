/* memcpy.c: single-core memcpy bandwidth at several block sizes, the ceiling for any transport that copies. */
#define PROG "memcpy"
#include "harness.h"

#include <getopt.h>
#include <sys/mman.h>

/*
 * For each block size, one process copies a source buffer to a destination
 * buffer with the C library's memcpy, over and over, for --seconds per
 * trial; the best of --trials trials is reported (the ceiling: the least
 * disturbed), with the median beside it.  GB/s counts bytes copied (each
 * byte read once and written once) / 10^9.
 *
 * Blocks up to 1 MiB are copied from one buffer to one other, both staying
 * in cache: the ceiling for a record handed over through the cache.  Larger
 * blocks walk buffers of that size (64 MiB by default, larger than any
 * last-level cache here), so they measure memory bandwidth.  The buffers are
 * touched before timing, so no page fault lands in a trial.
 */

#define MAX_SIZES 16

static struct {
	size_t sizes[MAX_SIZES];
	int nsizes;
	/* Trials per size (in runs), the length of one, the CPU (in cpu[0]),
	 * --csv, -q. */
	struct hx_opts hx;
} opt = { .hx = { .runs = 5, .seconds = 0.1, .cpu = { -1, -1 } } };

/* Through a volatile pointer, so that the compiler neither inlines the copy
 * nor drops copies whose result it can see is never read. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

/* One trial: copies block bytes from src to dst until seconds have passed.
 * Returns GB/s. */
static double trial(unsigned char *dst, const unsigned char *src, size_t block)
{
	const int64_t budget = (int64_t)(opt.hx.seconds * 1e9);
	const int64_t t0 = prog_now_ns();
	/* Check the clock every so often: every 64 MiB copied or so. */
	uint64_t per = block >= (64u << 20) ? 1 : (64u << 20) / block, copies = 0;
	int64_t t;

	do {
		for (uint64_t i = 0; i < per; i++)
			copy_fn(dst, src, block);
		copies += per;
		t = prog_now_ns() - t0;
	} while (t < budget);
	return (double)copies * (double)block / (double)t;
}

static void usage(FILE *out, int status)
{
	fprintf(out,
"Usage: %s [options]\n"
"\n"
"Measures single-core memcpy bandwidth: the best and the median of several\n"
"trials per block size.\n"
"\n"
"Options:\n"
"  -s, --sizes <list>   block sizes (default 64,1K,64K,1M,64M); suffixes K, M, G\n"
"  -r, --trials <n>     trials per size (default 5)\n"
"  -S, --seconds <s>    length of one trial (default 0.1)\n"
"      --cpu <n>        pin to CPU n\n"
"      --csv            also print one CSV line per size\n"
"  -q, --quiet          no header line\n"
"\n"
"  -h, --help           display this help and exit\n"
"  -V, --version        display version and exit\n", PROG);
	exit(status);
}

static void parse_options(int argc, char **argv)
{
	enum { OPT_CPU = 256 };
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "trials", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "csv", no_argument, NULL, HX_OPT_CSV },
		{ "quiet", no_argument, NULL, 'q' },
		PROG_STD_LONGOPTS,
	};
	long v;
	int c;

	opterr = 0;
	opt.nsizes = hx_parse_sizes("64,1K,64K,1M,64M", opt.sizes, MAX_SIZES, 1);
	while ((c = getopt_long(argc, argv, "s:r:S:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.nsizes = hx_sizes_arg(optarg, opt.sizes, MAX_SIZES, 1);
			break;
		case 'r':
			opt.hx.runs = (int)hx_count_arg("--trials", optarg, HX_MAX_RUNS);
			break;
		case OPT_CPU:
			if (prog_parse_int(optarg, 0, CPU_SETSIZE - 1, &v) < 0)
				hx_bad_option("--cpu", optarg);
			opt.hx.cpu[0] = (int)v;
			break;
		default:
			hx_option(&opt.hx, c, argv, usage);
		}
	}
	hx_no_operands(argc, argv);
}

int main(int argc, char **argv)
{
	double best[MAX_SIZES], med[MAX_SIZES];
	size_t most = 0;
	unsigned char *src, *dst;

	prog_name = PROG;
	parse_options(argc, argv);
	if (hx_pin("memcpy", opt.hx.cpu[0]))
		return EX_OSERR;
	for (int i = 0; i < opt.nsizes; i++)
		if (opt.sizes[i] > most)
			most = opt.sizes[i];
	src = mmap(NULL, most, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, most, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED) {
		hx_msg("mmap 2 x %zu bytes: %s", most, strerror(errno));
		return EX_OSERR;
	}
	memset(src, 0x5a, most);
	memset(dst, 0xa5, most);

	if (!opt.hx.quiet)
		printf("# %s: single core%s, best and median of %d trials of ~%g s\n", PROG,
		       opt.hx.cpu[0] >= 0 ? " (pinned)" : "", opt.hx.runs, opt.hx.seconds);
	printf("%-10s %11s %11s\n", "block", "best GB/s", "median GB/s");
	for (int i = 0; i < opt.nsizes; i++) {
		double v[HX_MAX_RUNS];
		char sz[24];

		for (int k = 0; k < opt.hx.runs; k++)
			v[k] = trial(dst, src, opt.sizes[i]);
		med[i] = hx_median(v, opt.hx.runs);
		best[i] = v[opt.hx.runs - 1];
		if (memcmp(dst, src, opt.sizes[i]) != 0) {
			hx_msg("%zu B: the copy differs from its source", opt.sizes[i]);
			return EX_SOFTWARE;
		}
		printf("%-10s %11.2f %11.2f\n", hx_size_str(opt.sizes[i], sz, sizeof(sz)), best[i],
		       med[i]);
		fflush(stdout);
	}
	if (opt.hx.csv) {
		printf("\ncsv,columns,memcpy,size,trials,best_gb_per_s,median_gb_per_s\n");
		for (int i = 0; i < opt.nsizes; i++)
			printf("csv,memcpy,%zu,%d,%.4f,%.4f\n", opt.sizes[i], opt.hx.runs, best[i],
			       med[i]);
	}
	munmap(src, most);
	munmap(dst, most);
	return 0;
}
