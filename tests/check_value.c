/* check_value.c: Check suite for Value and Array: types, atomics, the lock, processes and a dead lock holder. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "shared/value.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "val");
}

static void teardown(void)
{
	sp_value_unlink(name);
}

START_TEST(types)
{
	static const struct { enum sp_type t; int64_t in, out; } cases[] = {
		{ SP_I8, -5, -5 }, { SP_U8, 300, 44 }, { SP_I16, -30000, -30000 },
		{ SP_U16, -1, 65535 }, { SP_I32, -7, -7 }, { SP_U32, 4000000000LL, 4000000000LL },
		{ SP_I64, INT64_MIN, INT64_MIN }, { SP_U64, -1, -1 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sp_value_opts o = { .type = cases[k].t, .length = 3 };
		char n[128];
		sp_value *v, *w;
		int64_t x, old;

		tu_name(n, sizeof(n), "ty");
		ck_assert_int_eq(sp_value_open(n, SP_CREATE, &o, &v), 0);
		ck_assert_int_eq(sp_value_open(n, 0, NULL, &w), 0);
		ck_assert_int_eq(sp_value_type(w), cases[k].t);
		ck_assert_uint_eq(sp_value_length(w), 3);
		ck_assert_int_eq(sp_value_set(v, 2, cases[k].in), 0);
		ck_assert_int_eq(sp_value_get(w, 2, &x), 0);
		ck_assert_int_eq(x, cases[k].out);
		ck_assert_int_eq(sp_value_get(w, 3, &x), -ERANGE);
		ck_assert_int_eq(sp_value_get_double(w, 0, NULL), -EINVAL);
		/* atomics */
		ck_assert_int_eq(sp_value_set(v, 0, 10), 0);
		ck_assert_int_eq(sp_value_add(w, 0, 5, &old), 0);
		ck_assert_int_eq(old, 10);
		ck_assert_int_eq(sp_value_exchange(w, 0, 3, &old), 0);
		ck_assert_int_eq(old, 15);
		x = 4;
		ck_assert_int_eq(sp_value_cas(w, 0, &x, 9), 0);
		ck_assert_int_eq(x, 3);
		ck_assert_int_eq(sp_value_cas(w, 0, &x, 9), 1);
		ck_assert_int_eq(sp_value_get(v, 0, &x), 0);
		ck_assert_int_eq(x, 9);
		sp_value_close(w);
		sp_value_close(v);
		ck_assert_int_eq(sp_value_unlink(n), 0);
	}
}
END_TEST

START_TEST(doubles_bytes)
{
	struct sp_value_opts d = { .type = SP_DOUBLE, .length = 4 };
	struct sp_value_opts b = { .type = SP_BYTES, .length = 100, .flags = SP_VALUE_LOCK };
	char n2[128], buf[16];
	sp_value *v, *w;
	double x;
	int64_t i;

	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &d, &v), 0);
	ck_assert_int_eq(sp_value_set_double(v, 3, 2.5), 0);
	ck_assert_int_eq(sp_value_get_double(v, 3, &x), 0);
	ck_assert(x == 2.5);
	ck_assert_int_eq(sp_value_add(v, 0, 1, NULL), -EINVAL);
	ck_assert_int_eq(sp_value_get(v, 0, &i), -EINVAL);
	ck_assert_int_eq(sp_value_lock(v, SP_NOWAIT), -ENOLCK);
	sp_value_close(v);

	tu_name(n2, sizeof(n2), "bytes");
	ck_assert_int_eq(sp_value_open(n2, SP_CREATE, &b, &w), 0);
	ck_assert_int_eq(sp_value_write(w, 95, "hello", 5), 0);
	ck_assert_int_eq(sp_value_write(w, 96, "hello", 5), -ERANGE);
	ck_assert_int_eq(sp_value_read(w, 95, buf, 5), 0);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(memcmp((char *)sp_value_data(w) + 95, "hello", 5), 0);
	ck_assert_int_eq(sp_value_lock(w, SP_NOWAIT), 0);
	ck_assert_int_eq(sp_value_lock(w, SP_NOWAIT), -EDEADLK);
	ck_assert_int_eq(sp_value_unlock(w), 0);
	ck_assert_int_eq(sp_value_unlock(w), -EPERM);
	sp_value_close(w);
	sp_value_unlink(n2);
}
END_TEST

/* Two processes add +1 and -1 a million times between them: exactly 0. */
START_TEST(procs_atomic_add)
{
	struct sp_value_opts o = { .type = SP_I64 };
	struct child c[2];
	sp_value *v;
	int64_t x;

	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &o, &v), 0);
	ck_assert_int_eq(child_start(&c[0], "tool_data", "vadd", name, "200000", "100", NULL), 0);
	ck_assert_int_eq(child_start(&c[1], "tool_data", "vadd", name, "200000", "-100", NULL), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(child_expect(&c[i], "done"), 0);
		ck_assert_int_eq(child_end(&c[i]), 0);
	}
	ck_assert_int_eq(sp_value_get(v, 0, &x), 0);
	ck_assert_int_eq(x, 0);
	sp_value_close(v);
}
END_TEST

START_TEST(limits)
{
	struct sp_value_opts o = { .type = SP_I32, .length = 2 };
	struct sp_value_opts other = { .type = SP_I64, .length = 2 };
	struct sp_value_opts bad = { .type = (enum sp_type)99 };
	struct sp_value_opts huge = { .type = SP_U64, .length = 1ull << 62 };
	sp_value *v, *w;

	ck_assert_int_eq(sp_value_open(name, SP_CREATE, NULL, &v), -EINVAL);
	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &bad, &v), -EINVAL);
	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &huge, &v), -EINVAL);
	ck_assert_int_eq(sp_value_open(name, 0, NULL, &v), -ENOENT);
	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &o, &v), 0);
	ck_assert_int_eq(sp_value_open(name, 0, &other, &w), -EPROTO);
	sp_value_close(v);
}
END_TEST

START_TEST(crash_lock_holder)
{
	struct sp_value_opts o = { .type = SP_I64, .flags = SP_VALUE_LOCK };
	char gnum[16];
	int g[2];
	struct child c;
	sp_value *v;

	ck_assert_int_eq(sp_value_open(name, SP_CREATE, &o, &v), 0);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "vlock", name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "locked"), 0);
	ck_assert_int_eq(sp_value_lock(v, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	ck_assert_int_eq(sp_value_lock(v, MS(5000)), -EOWNERDEAD);
	ck_assert_int_eq(sp_value_unlock(v), 0);
	ck_assert_int_eq(sp_value_write(v, 0, "12345678", 8), 0);
	sp_value_close(v);
}
END_TEST

static Suite *value_suite(void)
{
	Suite *s = suite_create("value");
	TCase *core = tu_tcase(s, "core", 30, setup, teardown);
	TCase *limits_tc = tu_tcase(s, "limits", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 20, setup, teardown);

	tcase_add_test(core, types);
	tcase_add_test(core, doubles_bytes);
	tcase_add_test(core, procs_atomic_add);
	tcase_add_test(limits_tc, limits);
	tcase_add_test(crash, crash_lock_holder);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(value_suite(), TU_NEED_SHM);
}
