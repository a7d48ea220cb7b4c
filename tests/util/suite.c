/* suite.c: TCases with their bound and fixture, running a suite, and skipping it (exit 77) where the machine cannot run it. */
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

TCase *tu_tcase(Suite *s, const char *name, double timeout, void (*setup)(void),
		void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int tu_bias_checked(void)
{
	int rc = tu_bias_possible();

	ck_assert_msg(rc >= 0, "a ring to ask whether a side can be biased: %s", strerror(-rc));
	return rc;
}

/* Why the machine cannot give what needs asks for, or NULL if it can. */
static const char *lacking(unsigned needs, char *buf, size_t size)
{
	if (needs & TU_NEED_SHM) {
		struct statvfs sv;

		if (access("/dev/shm", W_OK) != 0) {
			snprintf(buf, size, "/dev/shm is not writable: %s", strerror(errno));
			return buf;
		}
		/* The suites' objects are small (a few MiB at once at the most);
		 * without that much room they would fail for the machine's sake. */
		if (statvfs("/dev/shm", &sv) == 0 &&
		    (unsigned long long)sv.f_bavail * sv.f_frsize < TU_SHM_ROOM) {
			snprintf(buf, size, "less than %u MiB free in /dev/shm", TU_SHM_ROOM >> 20);
			return buf;
		}
	}
	if ((needs & TU_NEED_REDIS) && !tu_redis_available())
		return "no redis-server (on PATH or in $SP_REDIS_SERVER)";
	return NULL;
}

int tu_skip(unsigned needs)
{
	char buf[256];
	const char *why = lacking(needs, buf, sizeof(buf));
	FILE *f;

	if (!why)
		return 0;
	fprintf(stderr, "%s: skipped: %s\n", program_invocation_short_name, why);
	/* The reason for tests/run.sh's summary too (tests/skip.sh does the same). */
	if (getenv("SP_SKIP_WHY") && (f = fopen(getenv("SP_SKIP_WHY"), "w")) != NULL) {
		fprintf(f, "%s\n", why);
		fclose(f);
	}
	return 1;
}

int tu_run(Suite *s, unsigned needs)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (tu_skip(needs)) {
		srunner_free(sr);
		return 77;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
