/* check_list.c: Check suite for the shared list / deque: both ends, indexes, limits, and a writer killed mid-update. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/list.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "list");
}

static void teardown(void)
{
	sp_list_unlink(name);
}

static sp_list *make(uint32_t cap)
{
	struct sp_list_opts o = { .capacity = cap, .item_max = 128 };
	sp_list *l;

	ck_assert_int_eq(sp_list_open(name, SP_CREATE, &o, &l), 0);
	return l;
}

START_TEST(deque)
{
	sp_list *l = make(4), *m;
	char buf[16];
	size_t len;

	ck_assert_int_eq(sp_list_open(name, 0, NULL, &m), 0);
	ck_assert_int_eq(sp_list_pop(l, buf, sizeof(buf), &len), -ERANGE);
	ck_assert_int_eq(sp_list_append(l, "b", 1), 0);
	ck_assert_int_eq(sp_list_append(m, "c", 1), 0);
	ck_assert_int_eq(sp_list_appendleft(l, "a", 1), 0);
	ck_assert_int_eq(sp_list_append(l, "dd", 2), 0);
	ck_assert_int_eq(sp_list_append(l, "e", 1), -ENOSPC);
	ck_assert_uint_eq(sp_list_len(m), 4);
	/* a b c dd */
	ck_assert_int_eq(sp_list_get(m, 0, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[0], 'a');
	ck_assert_int_eq(sp_list_get(m, -1, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(sp_list_get(m, -1, buf, 1, &len), -EMSGSIZE);
	ck_assert_int_eq(sp_list_get(m, 4, buf, sizeof(buf), &len), -ERANGE);
	ck_assert_int_eq(sp_list_get(m, -5, buf, sizeof(buf), &len), -ERANGE);
	ck_assert_int_eq(sp_list_set(m, 1, "B", 1), 0);
	ck_assert_int_eq(sp_list_get(l, 1, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[0], 'B');
	ck_assert_int_eq(sp_list_popleft(l, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[0], 'a');
	ck_assert_int_eq(sp_list_pop(l, buf, 1, &len), -EMSGSIZE);     /* nothing removed */
	ck_assert_int_eq(sp_list_pop(l, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(memcmp(buf, "dd", 2), 0);
	ck_assert_int_eq(sp_list_pop(l, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[0], 'c');
	ck_assert_uint_eq(sp_list_len(l), 1);
	ck_assert_int_eq(sp_list_clear(m), 0);
	ck_assert_uint_eq(sp_list_len(l), 0);
	/* wrap around many times */
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(sp_list_append(l, &i, sizeof(i)), 0);
		ck_assert_int_eq(sp_list_append(l, &i, sizeof(i)), 0);
		ck_assert_int_eq(sp_list_popleft(l, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(sp_list_popleft(l, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(memcmp(buf, &i, sizeof(i)), 0);
	}
	sp_list_close(m);
	sp_list_close(l);
}
END_TEST

START_TEST(limits)
{
	struct sp_list_opts big = { .capacity = (1u << 20) + 1 };
	sp_list *l;
	char item[200] = { 0 };

	ck_assert_int_eq(sp_list_open(name, SP_CREATE, &big, &l), -EINVAL);
	ck_assert_int_eq(sp_list_open(name, 0, NULL, &l), -ENOENT);
	l = make(2);
	ck_assert_int_eq(sp_list_append(l, item, 129), -E2BIG);
	ck_assert_int_eq(sp_list_set(l, 0, item, 1), -ERANGE);
	sp_list_close(l);
}
END_TEST

/* Items are "n:n:n:..." of one number: a torn item would mix two. */
static void check_whole(sp_list *l)
{
	size_t n = sp_list_len(l);
	char buf[200];
	size_t len;

	ck_assert_uint_le(n, 1024);
	for (size_t i = 0; i < n; i++) {
		char first[32];
		size_t fl;

		ck_assert_int_eq(sp_list_get(l, (long long)i, buf, sizeof(buf) - 1, &len), 0);
		buf[len] = 0;
		fl = strcspn(buf, ":") + 1;
		ck_assert_uint_lt(fl, sizeof(first));
		memcpy(first, buf, fl);
		for (size_t off = 0; off + fl <= len; off += fl)
			ck_assert_int_eq(memcmp(buf + off, first, fl), 0);
	}
}

START_TEST(crash_writer)
{
	struct sp_list_opts o = { .capacity = 64, .item_max = 128 };
	sp_list *l;
	char buf[200];
	size_t len;

	ck_assert_int_eq(sp_list_open(name, SP_CREATE, &o, &l), 0);
	srand((unsigned)now_ns());
	for (int round = 0; round < 8; round++) {
		struct child c;
		struct timespec t = { 0, (rand() % 3000) * 1000L };

		ck_assert_int_eq(child_start(&c, "tool_data", "lhammer", name, NULL), 0);
		ck_assert_int_eq(child_expect(&c, "running"), 0);
		nanosleep(&t, NULL);      /* a random moment, not a synchronisation */
		ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
		check_whole(l);
	}
	/* still whole: fill to capacity, then empty in order */
	ck_assert_int_eq(sp_list_clear(l), 0);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(sp_list_append(l, &i, sizeof(i)), 0);
	ck_assert_int_eq(sp_list_append(l, "x", 1), -ENOSPC);
	for (int i = 0; i < 64; i++) {
		ck_assert_int_eq(sp_list_popleft(l, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(memcmp(buf, &i, sizeof(i)), 0);
	}
	sp_list_close(l);
}
END_TEST

static Suite *list_suite(void)
{
	Suite *s = suite_create("list");
	TCase *core = tu_tcase(s, "core", 10, setup, teardown);
	TCase *lim = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 30, setup, teardown);

	tcase_add_test(core, deque);
	tcase_add_test(lim, limits);
	tcase_add_test(crash, crash_writer);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(list_suite(), TU_NEED_SHM);
}
