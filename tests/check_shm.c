/* check_shm.c: Check suite for SharedMemory and the listing and clean-up of stale objects. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shared/shm.h"
#include "shared/sync.h"
#include "testutil.h"

static char name[128];

static void setup(void)
{
	tu_name(name, sizeof(name), "shm");
}

static void teardown(void)
{
	sp_shm_unlink(name);
}

START_TEST(basic)
{
	sp_shm *a, *b, *c;
	sp_lock *l;

	ck_assert_int_eq(sp_shm_open(name, SP_CREATE, 0, 0, &a), -EINVAL);
	ck_assert_int_eq(sp_shm_open(name, 0, 0, 0, &a), -ENOENT);
	ck_assert_int_eq(sp_shm_open(name, SP_CREATE, 10000, 0, &a), 0);
	ck_assert_uint_eq(sp_shm_size(a), 10000);
	ck_assert_uint_eq((uintptr_t)sp_shm_data(a) % 4096, 0);
	ck_assert_int_eq(((char *)sp_shm_data(a))[9999], 0);
	memcpy(sp_shm_data(a), "shared", 6);
	ck_assert_int_eq(sp_shm_open(name, 0, 0, 0, &b), 0);
	ck_assert_uint_eq(sp_shm_size(b), 10000);
	ck_assert_int_eq(memcmp(sp_shm_data(b), "shared", 6), 0);
	ck_assert_int_eq(sp_shm_open(name, 0, 10001, 0, &c), -EINVAL);
	ck_assert_int_eq(sp_shm_open(name, SP_CREATE | SP_EXCL, 10, 0, &c), -EEXIST);
	ck_assert_int_eq(sp_lock_open(name, 0, 0, &l), -EPROTO);
	ck_assert_int_eq(sp_sync_unlink(name), -EPROTO);
	sp_shm_close(b);
	sp_shm_close(a);
	ck_assert_int_eq(sp_shm_unlink(name), 0);
	ck_assert_int_eq(sp_shm_unlink(name), -ENOENT);
}
END_TEST

struct find {
	const char *name;
	struct sp_obj_info info;
	int found;
};

static int find_cb(const struct sp_obj_info *i, void *arg)
{
	struct find *f = arg;

	if (strcmp(i->name, f->name) == 0) {
		f->info = *i;
		f->found = 1;
		return 1;
	}
	return 0;
}

static struct find lookup(const char *n)
{
	struct find f = { .name = n };

	ck_assert_int_ge(sp_objects_list(find_cb, &f), 0);
	return f;
}

START_TEST(listing)
{
	sp_shm *a;
	sp_event *e;
	char en[128];
	struct find f;

	ck_assert_int_eq(sp_shm_open(name, SP_CREATE, 5000, 0, &a), 0);
	tu_name(en, sizeof(en), "ev");
	ck_assert_int_eq(sp_event_open(en, SP_CREATE, 0, &e), 0);
	f = lookup(name);
	ck_assert_int_eq(f.found, 1);
	ck_assert_str_eq(f.info.kind_name, "shm");
	ck_assert_int_eq(f.info.state, SP_OBJ_OK);
	ck_assert_int_eq(f.info.creator_pid, getpid());
	ck_assert_uint_eq(f.info.attached, 1);
	ck_assert_uint_eq(f.info.dead, 0);
	ck_assert_uint_ge(f.info.size, 5000);
	f = lookup(en);
	ck_assert_int_eq(f.found, 1);
	ck_assert_str_eq(f.info.kind_name, "sync");
	sp_event_close(e);
	sp_sync_unlink(en);
	sp_shm_close(a);
}
END_TEST

/* A user dies attached: the object is listed with a dead participant and
 * removed as stale; an object someone uses is never removed. */
START_TEST(crash_stale)
{
	char gnum[16], prefix[64], used[128], unused[128];
	int g[2];
	struct child c;
	struct find f;
	sp_shm *a, *u;

	/* This run's names begin "tPID-" (testutil.h): touch nothing else. */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(strchr(name, '-') - name + 1), name);
	ck_assert_int_eq(sp_shm_open(name, SP_CREATE, 100, 0, &a), 0);
	sp_shm_close(a);
	ck_assert_int_eq(gun_make(g, gnum, sizeof(gnum)), 0);
	ck_assert_int_eq(child_start(&c, "tool_data", "shmhold", name, gnum, NULL), 0);
	ck_assert_int_eq(child_expect(&c, "attached"), 100);
	ck_assert_int_eq(child_kill(&c), 128 + SIGKILL);
	f = lookup(name);
	ck_assert_uint_eq(f.info.attached, 0);
	ck_assert_uint_eq(f.info.dead, 1);

	tu_name(used, sizeof(used), "used");
	tu_name(unused, sizeof(unused), "unused");
	ck_assert_int_eq(sp_shm_open(used, SP_CREATE, 100, 0, &u), 0);
	ck_assert_int_eq(sp_shm_open(unused, SP_CREATE, 100, 0, &a), 0);
	sp_shm_close(a);

	ck_assert_int_ge(sp_objects_remove_stale(prefix, 0), 1);
	ck_assert_int_eq(sp_shm_open(name, 0, 0, 0, &a), -ENOENT);
	ck_assert_int_eq(lookup(unused).found, 1);                 /* only unused */
	ck_assert_int_ge(sp_objects_remove_stale(prefix, SP_STALE_UNUSED), 1);
	ck_assert_int_eq(lookup(unused).found, 0);
	ck_assert_int_eq(lookup(used).found, 1);                   /* in use */
	ck_assert_int_eq(((char *)sp_shm_data(u))[0], 0);
	sp_shm_close(u);
	sp_shm_unlink(used);
	ck_assert_int_eq(sp_objects_remove_stale(NULL, 0x40), -EINVAL);
}
END_TEST

static Suite *shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *core = tu_tcase(s, "core", 10, setup, teardown);
	TCase *crash = tu_tcase(s, "crash", 20, setup, teardown);

	tcase_add_test(core, basic);
	tcase_add_test(core, listing);
	tcase_add_test(crash, crash_stale);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(shm_suite(), TU_NEED_SHM);
}
