/* check_prog.c: Check suite for the programs' own library (libshared/prog): parsing, messages, JSON, the shared options, whole reads. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "prog.h"
#include "testutil.h"

START_TEST(test_parse_bytes)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "4096", 4096 }, { "64K", 65536 }, { "64k", 65536 },
		{ "64KiB", 65536 }, { "4M", 4u << 20 }, { "4MiB", 4u << 20 }, { "1GB", 1u << 30 },
		{ "1Gb", 1u << 30 }, { "10B", 10 }, { "16777215G", 16777215ull << 30 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1X", "1KK", "1iB", "K", "1KiBB", "0x10", "1.5M",
	};
	static const char *const big[] = { "18446744073709551616", "17179869184G", "99999999999999999999M" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		ck_assert_msg(prog_parse_bytes(ok[i].s, &v) == 0 && v == ok[i].v, "\"%s\" gave %" PRIu64,
			      ok[i].s, v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(prog_parse_bytes(bad[i], &v) == -EINVAL, "\"%s\" was taken", bad[i]);
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		ck_assert_msg(prog_parse_bytes(big[i], &v) == -ERANGE, "\"%s\" was taken", big[i]);
	ck_assert_int_eq(prog_parse_bytes(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_numbers)
{
	long v = 7;
	double d = 7;

	ck_assert_int_eq(prog_parse_int("12", 1, 12, &v), 0);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(prog_parse_int("-3", -3, 0, &v), 0);
	ck_assert_int_eq(v, -3);
	v = 7;
	ck_assert_int_eq(prog_parse_int("13", 1, 12, &v), -1);
	ck_assert_int_eq(prog_parse_int("0", 1, 12, &v), -1);
	ck_assert_int_eq(prog_parse_int("", 1, 12, &v), -1);
	ck_assert_int_eq(prog_parse_int("3x", 1, 12, &v), -1);
	ck_assert_int_eq(prog_parse_int("99999999999999999999", 1, 12, &v), -1);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(prog_parse_double("0.5", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(prog_parse_double("0", &d), -1);
	ck_assert_int_eq(prog_parse_double("-1", &d), -1);
	ck_assert_int_eq(prog_parse_double("inf", &d), -1);
	ck_assert_int_eq(prog_parse_double("nan", &d), -1);
	ck_assert_int_eq(prog_parse_double("1s", &d), -1);
}
END_TEST

START_TEST(test_printable)
{
	char out[16];

	ck_assert_str_eq(prog_printable("a\nb\x7f" "c", 5, out, sizeof(out)), "a?b?c");
	ck_assert_str_eq(prog_printable("caf\xc3\xa9", 5, out, sizeof(out)), "caf\xc3\xa9");
	/* Not NUL-terminated: len bytes only. */
	ck_assert_str_eq(prog_printable("abcdef", 3, out, sizeof(out)), "abc");
	/* Cut: the end says so. */
	ck_assert_str_eq(prog_printable("abcdefghijklmnopqrstuvwxyz", 26, out, sizeof(out)),
			 "abcdefghi...");
	ck_assert_str_eq(prog_printable("", 0, out, sizeof(out)), "");
}
END_TEST

/* Runs fn with stderr going to a file, and returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/check_prog.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	size_t len;

	ck_assert(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	fn();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	return tu_slurp(fd, &len);
}

static void messages(void)
{
	prog_name = "prog";
	prog_warn("what", "why");
	prog_progress("%d files", 3);
	prog_warnpath("a\nb/c\td", "refused", "reserved name");
	prog_warn_ring("r1", NULL, "gone");
	prog_warn_ring("r1", "seal", "gone");
}

START_TEST(test_messages)
{
	char *got = capture_stderr(messages);

	/* The progress line is erased before the next message. */
	ck_assert_str_eq(got, "prog: what: why\n"
			      "\rprog: 3 files\033[K"
			      "\r\033[Kprog: a?b/c?d: refused: reserved name\n"
			      "prog: ring r1: gone\n"
			      "prog: ring r1: seal: gone\n");
	free(got);
}
END_TEST

static void long_path(void)
{
	char path[2000];

	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	prog_name = "prog";
	prog_warnpath(path, "what", "why");
}

START_TEST(test_warnpath_cut)
{
	char *got = capture_stderr(long_path), want[700];

	/* Cut silently at 508 bytes of the path, as it always was. */
	memset(want, 0, sizeof(want));
	memcpy(want, "prog: ", 6);
	memset(want + 6, 'x', 508);
	strcat(want, ": what: why\n");
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(test_json_str)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	prog_json_str(f, "a\"b\\c\nd\x01\xc3\xa9");
	fclose(f);
	ck_assert_str_eq(buf, "\"a\\\"b\\\\c\\u000ad\\u0001\xc3\xa9\"");
	free(buf);
}
END_TEST

START_TEST(test_options)
{
	struct prog_opts o = PROG_OPTS_INIT(16u << 20);

	ck_assert_uint_eq(o.ro.capacity, 16u << 20);
	ck_assert_uint_eq(o.ro.writers, 1);
	ck_assert_int_eq(prog_option(&o, 'r', "ring1"), 1);
	ck_assert_str_eq(o.ring, "ring1");
	/* Rounded up to a power of two. */
	ck_assert_int_eq(prog_option(&o, PROG_OPT_CAPACITY, "5000"), 1);
	ck_assert_uint_eq(o.ro.capacity, 8192);
	ck_assert_int_eq(o.capacity_set, 1);
	ck_assert_int_eq(prog_option(&o, PROG_OPT_PRODUCERS, "3"), 1);
	ck_assert_uint_eq(o.ro.writers, 3);
	ck_assert_int_eq(prog_option(&o, PROG_OPT_STATS, NULL), 1);
	ck_assert(o.want_stats && !o.stats_file);
	ck_assert_int_eq(prog_option(&o, 'q', NULL), 1);
	ck_assert_int_eq(o.quiet, 1);
	ck_assert_int_eq(prog_option(&o, PROG_OPT_PROGRESS, NULL), 1);
	ck_assert_int_eq(o.progress, 1);
	/* Not one of them. */
	ck_assert_int_eq(prog_option(&o, 'x', "y"), 0);
	ck_assert_int_eq(prog_option(&o, 256, NULL), 0);
}
END_TEST

/* A bad value is a usage error: the process exits EX_USAGE. */
START_TEST(test_option_bad_capacity)
{
	struct prog_opts o = PROG_OPTS_INIT(4096);

	prog_option(&o, PROG_OPT_CAPACITY, "8G");
}
END_TEST

START_TEST(test_option_bad_producers)
{
	struct prog_opts o = PROG_OPTS_INIT(4096);

	prog_option(&o, PROG_OPT_PRODUCERS, "0");
}
END_TEST

START_TEST(test_ring_required)
{
	struct prog_opts o = PROG_OPTS_INIT(4096);

	o.ring = "bad/name";
	prog_ring_required(&o);
}
END_TEST

START_TEST(test_read_full)
{
	int p[2];
	char buf[16];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(prog_write_full(p[1], "hello", 5), 0);
	close(p[1]);
	ck_assert_int_eq(prog_read_full(p[0], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(prog_read_full(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	ck_assert_int_eq(prog_read_full(p[0], buf, sizeof(buf)), -EBADF);
	ck_assert_int_eq(prog_write_full(p[1], "x", 1), -EBADF);
}
END_TEST

START_TEST(test_pread_pwrite_full)
{
	FILE *f = tmpfile();
	char buf[32];
	int fd;

	ck_assert_ptr_nonnull(f);
	fd = fileno(f);
	ck_assert_int_eq(prog_pwrite_full(fd, "world", 5, 10), 0);
	ck_assert_int_eq(prog_pwrite_full(fd, "hello", 5, 0), 0);
	ck_assert_int_eq(prog_pwrite_full(fd, "x", 1, -1), -EINVAL);
	/* Whole reads at an offset, fewer bytes only at the end of the file. */
	ck_assert_int_eq(prog_pread_full(fd, buf, 15, 0), 15);
	ck_assert_int_eq(memcmp(buf, "hello\0\0\0\0\0world", 15), 0);
	ck_assert_int_eq(prog_pread_full(fd, buf, sizeof(buf), 12), 3);
	ck_assert_int_eq(memcmp(buf, "rld", 3), 0);
	ck_assert_int_eq(prog_pread_full(fd, buf, sizeof(buf), 15), 0);
	fclose(f);
	ck_assert_int_eq(prog_pwrite_full(fd, "x", 1, 0), -EBADF);
}
END_TEST

START_TEST(test_clock)
{
	int64_t a = prog_now_ns(), b = prog_now_ns();
	double s = prog_now_sec();

	ck_assert(a > 0 && b >= a);
	ck_assert(s >= (double)b / 1e9 - 1e-6);
}
END_TEST

static Suite *prog_suite(void)
{
	Suite *s = suite_create("prog");
	TCase *parse = tu_tcase(s, "parse", 10, NULL, NULL);
	TCase *out = tu_tcase(s, "output", 10, NULL, NULL);
	TCase *opts = tu_tcase(s, "options", 10, NULL, NULL);

	tcase_add_test(parse, test_parse_bytes);
	tcase_add_test(parse, test_parse_numbers);
	tcase_add_test(out, test_printable);
	tcase_add_test(out, test_messages);
	tcase_add_test(out, test_warnpath_cut);
	tcase_add_test(out, test_json_str);
	tcase_add_test(out, test_read_full);
	tcase_add_test(out, test_pread_pwrite_full);
	tcase_add_test(out, test_clock);
	tcase_add_test(opts, test_options);
	tcase_add_exit_test(opts, test_option_bad_capacity, EX_USAGE);
	tcase_add_exit_test(opts, test_option_bad_producers, EX_USAGE);
	tcase_add_exit_test(opts, test_ring_required, EX_USAGE);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(prog_suite(), 0);
}
