/* check_dict.c: Check suite for the shared dict: operations, limits, iteration, processes and writers killed mid-update. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/dict.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "dict");
}

static void teardown(void)
{
	sp_dict_unlink(name);
}

static sp_dict *make(uint32_t cap)
{
	struct sp_dict_opts o = { .capacity = cap, .key_max = 16, .val_max = 256 };
	sp_dict *d;

	ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &o, &d), 0);
	return d;
}

START_TEST(basic)
{
	sp_dict *d = make(8), *e;
	char buf[64];
	size_t len;

	ck_assert_int_eq(sp_dict_open(name, 0, NULL, &e), 0);
	ck_assert_int_eq(sp_dict_get(d, "a", 1, buf, sizeof(buf), &len), -ENOENT);
	ck_assert_int_eq(sp_dict_set(d, "a", 1, "one", 3), 0);
	ck_assert_int_eq(sp_dict_get(e, "a", 1, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(buf, "one", 3), 0);
	ck_assert_int_eq(sp_dict_set(e, "a", 1, "uno", 3), 0);      /* replace */
	ck_assert_int_eq(sp_dict_get(d, "a", 1, buf, 2, &len), -EMSGSIZE);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(sp_dict_set(d, "empty", 5, "", 0), 0);
	ck_assert_int_eq(sp_dict_get(d, "empty", 5, buf, 0, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(sp_dict_len(d), 2);
	/* compare-and-set */
	ck_assert_int_eq(sp_dict_cas(d, "a", 1, "one", 3, "x", 1), 0);
	ck_assert_int_eq(sp_dict_cas(d, "a", 1, "uno", 3, "x", 1), 1);
	ck_assert_int_eq(sp_dict_cas(d, "a", 1, NULL, 0, "y", 1), 0);  /* present */
	ck_assert_int_eq(sp_dict_cas(d, "b", 1, NULL, 0, "y", 1), 1);  /* absent: insert */
	ck_assert_int_eq(sp_dict_cas(d, "c", 1, "y", 1, "z", 1), 0);
	ck_assert_int_eq(sp_dict_get(d, "a", 1, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[0], 'x');
	ck_assert_int_eq(sp_dict_delete(d, "a", 1), 0);
	ck_assert_int_eq(sp_dict_delete(d, "a", 1), -ENOENT);
	ck_assert_uint_eq(sp_dict_len(e), 2);
	sp_dict_close(e);
	sp_dict_close(d);
}
END_TEST

START_TEST(iterate)
{
	sp_dict *d = make(32);
	char k[32], v[32];
	size_t kl, vl;
	uint64_t pos = 0;
	int seen[20] = { 0 }, n = 0, rc;

	for (int i = 0; i < 20; i++) {
		int l = snprintf(k, sizeof(k), "k%d", i);

		ck_assert_int_eq(sp_dict_set(d, k, (size_t)l, &i, sizeof(i)), 0);
	}
	while ((rc = sp_dict_next(d, &pos, k, sizeof(k), &kl, v, sizeof(v), &vl)) == 1) {
		int i;

		ck_assert_uint_eq(vl, sizeof(int));
		memcpy(&i, v, sizeof(i));
		k[kl] = 0;
		ck_assert_int_eq(atoi(k + 1), i);
		seen[i]++;
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(n, 20);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(seen[i], 1);
	sp_dict_close(d);
}
END_TEST

/* Fill, empty, refill many times: tombstones are compacted away and the
 * free list stays whole. */
START_TEST(churn)
{
	sp_dict *d = make(16);
	char k[16];

	for (int round = 0; round < 30; round++) {
		for (int i = 0; i < 16; i++) {
			int l = snprintf(k, sizeof(k), "r%dk%d", round, i);

			ck_assert_int_eq(sp_dict_set(d, k, (size_t)l, "v", 1), 0);
		}
		ck_assert_int_eq(sp_dict_set(d, "extra", 5, "v", 1), -ENOSPC);
		ck_assert_int_eq(sp_dict_set(d, "r0k0", 4, "v", 1), round == 0 ? 0 : -ENOSPC);
		for (int i = 0; i < 16; i++) {
			int l = snprintf(k, sizeof(k), "r%dk%d", round, i);

			ck_assert_int_eq(sp_dict_delete(d, k, (size_t)l), 0);
		}
		ck_assert_uint_eq(sp_dict_len(d), 0);
	}
	sp_dict_close(d);
}
END_TEST

START_TEST(procs)
{
	sp_dict *d = make(8);
	struct child c;
	char buf[16];
	size_t len;

	ck_assert_int_eq(child_start(&c, "tool_data", "dset", name, "from", "child", NULL), 0);
	ck_assert_int_eq(child_expect(&c, "set"), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_dict_get(d, "from", 4, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(memcmp(buf, "child", 5), 0);
	sp_dict_close(d);
}
END_TEST

START_TEST(limits)
{
	struct sp_dict_opts big = { .capacity = (1u << 20) + 1 };
	struct sp_dict_opts kbig = { .key_max = 5000 };
	sp_dict *d;
	char v[300] = { 0 };

	ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &big, &d), -EINVAL);
	ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &kbig, &d), -EINVAL);
	ck_assert_int_eq(sp_dict_open(name, 0, NULL, &d), -ENOENT);
	d = make(4);
	ck_assert_int_eq(sp_dict_set(d, "", 0, "v", 1), -EINVAL);
	ck_assert_int_eq(sp_dict_set(d, "0123456789abcdefX", 17, "v", 1), -E2BIG);
	ck_assert_int_eq(sp_dict_set(d, "k", 1, v, 257), -E2BIG);
	ck_assert_int_eq(sp_dict_get(d, "0123456789abcdefX", 17, v, 1, NULL), -ENOENT);
	sp_dict_close(d);
}
END_TEST

/* Checks every entry is whole ("key=n;" repeated) and the count agrees. */
static void check_whole(sp_dict *d)
{
	char k[32], v[300];
	size_t kl, vl;
	uint64_t pos = 0;
	unsigned n = 0;
	int rc;

	while ((rc = sp_dict_next(d, &pos, k, sizeof(k) - 1, &kl, v, sizeof(v) - 1, &vl)) == 1) {
		char unit[64];
		int ul;
		unsigned long num;

		k[kl] = 0;
		v[vl] = 0;
		ck_assert_int_eq(sscanf(v + kl + 1, "%lu", &num), 1);
		ul = snprintf(unit, sizeof(unit), "%s=%lu;", k, num);
		ck_assert_uint_gt(vl, 0);
		for (size_t off = 0; off < vl; off += (size_t)ul)
			ck_assert_int_eq(memcmp(v + off, unit, (size_t)ul), 0);
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, sp_dict_len(d));
}

/* A writer killed at random moments, often inside an update: the dict
 * stays whole, the next process takes the mutex over, and it stays fully
 * usable (all capacity, no lost entries). */
START_TEST(crash_writer)
{
	struct sp_dict_opts o = { .capacity = 64, .key_max = 16, .val_max = 256 };
	sp_dict *d;
	char k[16];

	ck_assert_int_eq(sp_dict_open(name, SP_CREATE, &o, &d), 0);
	srand((unsigned)now_ns());
	for (int round = 0; round < 8; round++) {
		struct child c;
		struct timespec t = { 0, (rand() % 3000) * 1000L };

		ck_assert_int_eq(child_start(&c, "tool_data", "dhammer", name, NULL), 0);
		ck_assert_int_eq(child_expect(&c, "running"), 0);
		nanosleep(&t, NULL);      /* a random moment, not a synchronisation */
		ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
		check_whole(d);
	}
	/* all of the capacity is still there */
	for (uint64_t pos = 0;;) {
		char kk[32], v[300];
		size_t kl;

		if (sp_dict_next(d, &pos, kk, sizeof(kk), &kl, v, sizeof(v), NULL) != 1)
			break;
		ck_assert_int_eq(sp_dict_delete(d, kk, kl), 0);
		pos = 0;
	}
	ck_assert_uint_eq(sp_dict_len(d), 0);
	for (int i = 0; i < 64; i++) {
		int l = snprintf(k, sizeof(k), "f%d", i);

		ck_assert_int_eq(sp_dict_set(d, k, (size_t)l, "v", 1), 0);
	}
	ck_assert_int_eq(sp_dict_set(d, "more", 4, "v", 1), -ENOSPC);
	sp_dict_close(d);
}
END_TEST

static Suite *dict_suite(void)
{
	Suite *s = suite_create("dict");
	TCase *core = tu_tcase(s, "core", 20, setup, teardown);
	TCase *lim = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 30, setup, teardown);

	tcase_add_test(core, basic);
	tcase_add_test(core, iterate);
	tcase_add_test(core, churn);
	tcase_add_test(core, procs);
	tcase_add_test(lim, limits);
	tcase_add_test(crash, crash_writer);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(dict_suite(), TU_NEED_SHM);
}
