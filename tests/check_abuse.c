/* check_abuse.c: stopped peers are slow, not dead; other users are refused; a full /dev/shm and signals fail nothing; what hostile peers write is refused. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/ring.h"
#include "testutil.h"

#define REC 64
#define BOUND 10000000000LL      /* the longest any wait here may take */
#define QUIET 100000000LL        /* "nothing arrives" is judged over 100 ms */

/* Starts tool_crash with args (6 at the most), its stdin and stdout on
 * pipes. */
static void spawn_tool(struct child *c, char *const args[])
{
	char tool[256];
	char *argv[8] = { (char *)tu_tool("tool_crash", tool, sizeof(tool)) };

	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	ck_assert_int_eq(child_spawnv_io(c, argv), 0);
}

/* A reader stopped while it holds a record keeps it: others get the rest,
 * and nothing is taken from it; once resumed it finishes normally. */
START_TEST(stopped_reader_keeps_its_record)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	struct sp_ring_stat st;
	struct child c;
	char name[64], line[32];
	sp_ring *r;

	tu_name(name, sizeof(name), "as");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	for (long i = 0; i < 3; i++)
		ck_assert_int_eq(tu_put_seq(r, i, BOUND), 0);
	spawn_tool(&c, (char *[]){ "hold", name, NULL });
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), c.out));
	ck_assert_int_eq(atol(line), 0);
	ck_assert_int_eq(kill(c.pid, SIGSTOP), 0);
	ck_assert_int_eq(tu_get_seq(r, BOUND), 1);
	ck_assert_int_eq(tu_get_seq(r, BOUND), 2);
	/* The stopped reader's record is not redelivered, however long. */
	ck_assert_int_eq(tu_get_seq(r, QUIET), -ETIMEDOUT);
	ck_assert_int_eq(tu_get_seq(r, SP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(sp_ring_stat(r, &st), 0);
	ck_assert_uint_eq(st.recs_out, 3);
	ck_assert_uint_eq(st.used, 0);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* A writer stopped inside a reservation is waited for, not abandoned:
 * records behind it wait, and all arrive, in order, once it resumes. */
START_TEST(stopped_writer_is_waited_for)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	struct child c;
	char name[64], line[32];
	sp_ring *r;

	tu_name(name, sizeof(name), "aw");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	spawn_tool(&c, (char *[]){ "reserve", name, "7", NULL });
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), c.out));
	ck_assert_str_eq(line, "reserved\n");
	ck_assert_int_eq(kill(c.pid, SIGSTOP), 0);
	ck_assert_int_eq(tu_put_seq(r, 8, BOUND), 0);
	ck_assert_int_eq(tu_get_seq(r, QUIET), -ETIMEDOUT);
	ck_assert_int_eq(kill(c.pid, SIGCONT), 0);
	ck_assert_int_eq(child_end(&c), 0);
	ck_assert_int_eq(tu_get_seq(r, BOUND), 7);
	ck_assert_int_eq(tu_get_seq(r, BOUND), 8);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* Runs fn in a child turned into user nobody; returns fn's result. */
static int as_nobody(const char *name)
{
	pid_t pid = tu_fork();
	sp_ring *r;
	int st, rc;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		rc = sp_ring_open(name, 0, NULL, &r);
		if (rc == 0) {
			rc = sp_ring_put(r, "x", 1, SP_NOWAIT);
			sp_ring_close(r);
		}
		_exit(rc == 0 ? 0 : rc == -EACCES ? 13 : 99);
	}
	st = tu_wait(pid);
	ck_assert_msg(st >= 0 && st < 128, "the child as nobody: status %d", st);
	return st;
}

/* A ring of another user is refused unless its mode lets us in. */
START_TEST(other_user)
{
	struct sp_ring_opts private = { .capacity = 4096 }, shared = { .capacity = 4096, .mode = 0666 };
	char a[64], b[64];
	sp_ring *ra, *rb;

	if (geteuid() != 0) {
		fprintf(stderr, "check_abuse: other_user: needs root to become another user: not run\n");
		return;
	}
	tu_name(a, sizeof(a), "ua");
	tu_name(b, sizeof(b), "ub");
	ck_assert_int_eq(sp_ring_open(a, SP_CREATE | SP_EXCL, &private, &ra), 0);
	ck_assert_int_eq(sp_ring_open(b, SP_CREATE | SP_EXCL, &shared, &rb), 0);
	ck_assert_int_eq(as_nobody(a), 13);
	ck_assert_int_eq(as_nobody(b), 0);
	ck_assert_int_eq(sp_ring_size(rb), 1);
	sp_ring_close(ra);
	sp_ring_close(rb);
	sp_ring_unlink(a);
	sp_ring_unlink(b);
}
END_TEST

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* /dev/shm too small: create fails at once with -ENOSPC (not SIGBUS later)
 * and leaves nothing behind.  Runs in a private mount namespace with a
 * 256 KiB tmpfs on /dev/shm, so it needs root. */
START_TEST(dev_shm_full)
{
	struct sp_ring_opts o = { .capacity = 1 << 20 };
	pid_t pid;
	int st;

	pid = tu_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sp_ring *r;
		int rc;

		if (unshare(CLONE_NEWNS) || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=256k,mode=1777"))
			_exit(77);
		rc = sp_ring_open("nospace", SP_CREATE, &o, &r);
		if (rc != -ENOSPC)
			_exit(1);
		if (count_entries("/dev/shm") != 0)
			_exit(2);
		/* A ring that fits still works there. */
		o.capacity = 64 << 10;
		if (sp_ring_open("fits", SP_CREATE, &o, &r))
			_exit(3);
		sp_ring_close(r);
		_exit(sp_ring_unlink("fits") == 0 && count_entries("/dev/shm") == 0 ? 0 : 4);
	}
	st = tu_wait(pid);
	if (st == 77) {
		fprintf(stderr, "check_abuse: dev_shm_full: cannot mount a small /dev/shm here "
			"(needs root): not run\n");
		return;
	}
	ck_assert_int_eq(st, 0);
}
END_TEST

/* Entries of /dev/shm whose name starts with prefix. */
static int count_prefixed(const char *prefix)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Runs tool_make PREFIX ROUNDS, under tool_eintr if `wrap`, and with a storm
 * of SIGUSR1 from this process if `storm`.  Returns its exit status; its
 * last line goes into last. */
static int run_make(const char *prefix, const char *rounds, int wrap, int storm, char *last,
		    size_t size)
{
	char make[256], eintr[256], line[128];
	char *argv[] = { (char *)tu_tool("tool_eintr", eintr, sizeof(eintr)),
			 (char *)tu_tool("tool_make", make, sizeof(make)), (char *)prefix,
			 (char *)rounds, NULL };
	long sent = 0;
	pid_t pid, w = 0;
	FILE *out;
	int fd, st;

	pid = tu_spawn(wrap ? argv : argv + 1, &fd);
	ck_assert_int_gt(pid, 0);
	out = fdopen(fd, "r");
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), out));
	ck_assert_str_eq(line, "ready\n");
	/* The storm: as many signals as this core can send, until it ends. */
	while (storm && (w = waitpid(pid, &st, WNOHANG)) == 0)
		sent += kill(pid, SIGUSR1) == 0;
	snprintf(last, size, "(none)");
	while (fgets(line, sizeof(line), out)) {
		line[strcspn(line, "\n")] = 0;
		snprintf(last, size, "%s", line);
	}
	fclose(out);
	if (storm)
		fprintf(stderr, "check_abuse: %ld signals sent: %s\n", sent, last);
	if (w == pid)
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return tu_wait(pid);
}

/* Objects of every kind are made while the creator is hit by a storm of
 * signals with a handler (no SA_RESTART): every creation succeeds, each
 * object is whole (it attaches), and nothing half-made stays. */
START_TEST(created_under_signals)
{
	char prefix[64], last[128];
	long made, got;

	/* 6 rounds: under the storm a creation takes some 100 ms here (2
	 * CPUs), and 20 rounds took 27-42 s of the 60 s bound alone, over it
	 * under make test's load. */
	tu_name(prefix, sizeof(prefix), "sg");
	ck_assert_int_eq(run_make(prefix, "6", 0, 1, last, sizeof(last)), 0);
	ck_assert_int_eq(sscanf(last, "made %ld signals %ld", &made, &got), 2);
	ck_assert_int_eq(made, 6 * 14);
	ck_assert_int_gt(got, 0);
	ck_assert_int_eq(count_prefixed(prefix), 0);
}
END_TEST

/* The same when every interruptible call of creation (fallocate,
 * ftruncate) first fails with EINTR, as a signal arriving inside it makes
 * it do (tool_eintr makes that certain rather than lucky). */
START_TEST(created_through_eintr)
{
	char prefix[64], last[128];
	int rc;

	tu_name(prefix, sizeof(prefix), "ei");
	rc = run_make(prefix, "2", 1, 0, last, sizeof(last));
	if (rc == 77) {
		fprintf(stderr, "check_abuse: created_through_eintr: seccomp notifications "
			"cannot be used here: not run\n");
		return;
	}
	ck_assert_msg(rc == 0, "tool_make exited %d: %s", rc, last);
	ck_assert_str_eq(last, "made 28 signals 0");
	ck_assert_int_eq(count_prefixed(prefix), 0);
}
END_TEST

/*
 * Hostile peers writing while we read.  Offsets into the segments follow
 * the layouts documented in seg.h (the common header: size at 16; the
 * participant table of 128 slots; every body at 8320) and in dict.c and
 * journal.h (the dict's body: lock.owner at 56, active at 64, count at 68,
 * the journal at 128: n, then 16-byte records {off, width, old}).
 */
#define HDR_SIZE_OFF 16
#define BODY_OFF 8320
#define DICT_OWNER_OFF (BODY_OFF + 56)
#define DICT_ACTIVE_OFF (BODY_OFF + 64)
#define DICT_COUNT_OFF (BODY_OFF + 68)
#define DICT_JNL_OFF (BODY_OFF + 128)
#define JNL_MAX 16
/* How long each victim below keeps calling while its peer flips a word. */
#define FLIP_NS 1000000000LL

/* Starts tool_flip on NAME's word at off (width bytes) between a and b;
 * returns once it flips. */
static void flip_start(struct child *c, const char *name, unsigned off, int width,
		       unsigned long long a, unsigned long long b)
{
	char o[24], w[8], va[24], vb[24], line[32];

	snprintf(o, sizeof(o), "%u", off);
	snprintf(w, sizeof(w), "%d", width);
	snprintf(va, sizeof(va), "%llu", a);
	snprintf(vb, sizeof(vb), "%llu", b);
	ck_assert_int_eq(child_start(c, "tool_flip", name, o, w, va, vb, NULL), 0);
	ck_assert_ptr_nonnull(child_line(c, line, sizeof(line)));
	ck_assert_str_eq(line, "flipping");
}

static void flip_stop(struct child *c)
{
	ck_assert_int_eq(child_kill(c), 128 + SIGKILL);
}

/* Maps NAME's segment as a peer would (*size: its length). */
static unsigned char *map_segment(const char *name, size_t *size)
{
	char path[256];
	struct stat st;
	void *p;
	int fd;

	fd = open(tu_obj_path(path, sizeof(path), name, NULL), O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(p, MAP_FAILED);
	*size = (size_t)st.st_size;
	return p;
}

/* A peer toggles the ring's size in the common header between the true one
 * and 256 MiB more while we attach, over and over: each attach either fails
 * with -EBADMSG or gives a handle whose geometry is the true one (a 4 KiB
 * ring takes no record over 1 KiB), never a mix of the two. */
START_TEST(header_flips_while_attaching)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	unsigned char big[2048] = { 0 };
	long opened = 0, refused = 0;
	long long end;
	struct child flip;
	char name[64];
	sp_ring *r, *v;

	tu_name(name, sizeof(name), "hf");
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	flip_start(&flip, name, HDR_SIZE_OFF, 8, 12288 + 4096, 12288 + (256ull << 20) + 4096);
	for (end = now_ns() + FLIP_NS; now_ns() < end;) {
		int rc = sp_ring_open(name, 0, NULL, &v);

		if (rc == -EBADMSG) {
			refused++;
			continue;
		}
		ck_assert_int_eq(rc, 0);
		opened++;
		ck_assert_uint_eq(sp_ring_max_record(v), 1024);
		ck_assert_int_eq(sp_ring_put(v, big, sizeof(big), SP_NOWAIT), -EMSGSIZE);
		ck_assert_int_eq(sp_ring_put(v, big, 64, SP_NOWAIT), 0);
		ck_assert_int_eq(sp_ring_get(v, big, sizeof(big), SP_NOWAIT), 64);
		sp_ring_close(v);
	}
	flip_stop(&flip);
	fprintf(stderr, "check_abuse: header flips: %ld attached, %ld refused\n", opened, refused);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* A dead holder of the dict's lock left a full undo journal, and a peer
 * flips its first record's offset between a word of the body and the
 * segment's first word (which no journal may name): the survivor's undo
 * either refuses the journal (-EBADMSG) or restores the body, and never
 * writes the common header. */
START_TEST(journal_flips_between_passes)
{
	struct sp_dict_opts o = { .capacity = 16 };
	unsigned char *seg;
	long undone = 0, refused = 0;
	long long end;
	struct child flip;
	char name[64], val[64];
	size_t size;
	sp_dict *d;

	tu_name(name, sizeof(name), "jf");
	ck_assert_int_eq(sp_dict_open(name, SP_CREATE | SP_EXCL, &o, &d), 0);
	seg = map_segment(name, &size);
	for (int i = 0; i < JNL_MAX; i++) {
		_Atomic uint32_t *e = (_Atomic uint32_t *)(void *)(seg + DICT_JNL_OFF + 8 + 16 * i);

		atomic_store(&e[0], DICT_COUNT_OFF);
		atomic_store(&e[1], 4);
		atomic_store((_Atomic uint64_t *)(void *)&e[2], 0);
	}
	flip_start(&flip, name, DICT_JNL_OFF + 8, 4, DICT_COUNT_OFF, 0);
	for (end = now_ns() + FLIP_NS; now_ns() < end;) {
		int rc;

		/* The lock held by slot 5's token, a slot nobody holds: dead. */
		atomic_store((_Atomic uint32_t *)(void *)(seg + DICT_OWNER_OFF), (6u << 24) | 1);
		atomic_store((_Atomic uint32_t *)(void *)(seg + DICT_JNL_OFF), JNL_MAX);
		rc = sp_dict_get(d, "k", 1, val, sizeof(val), NULL);
		ck_assert_msg(rc == -ENOENT || rc == -EBADMSG, "get returned %d", rc);
		undone += rc == -ENOENT;
		refused += rc == -EBADMSG;
		ck_assert_msg(*(volatile uint64_t *)(void *)seg == 0x65706970706d6873ull,
			      "the undo wrote the segment's magic");
	}
	flip_stop(&flip);
	fprintf(stderr, "check_abuse: journal flips: %ld undone, %ld refused\n", undone, refused);
	munmap(seg, size);
	sp_dict_close(d);
	sp_dict_unlink(name);
}
END_TEST

/* A peer flips which of the dict's two bucket tables is live while we look
 * a key up: each get finds the key (whole) or not, or reports the dict
 * corrupt; it never follows what it found into the other table. */
START_TEST(dict_changes_after_find)
{
	struct sp_dict_opts o = { .capacity = 16 };
	long found = 0, missed = 0, refused = 0;
	long long end;
	struct child flip;
	char name[64], val[64];
	size_t len;
	sp_dict *d;

	tu_name(name, sizeof(name), "df");
	ck_assert_int_eq(sp_dict_open(name, SP_CREATE | SP_EXCL, &o, &d), 0);
	ck_assert_int_eq(sp_dict_set(d, "k", 1, "value", 5), 0);
	flip_start(&flip, name, DICT_ACTIVE_OFF, 4, 0, 1);
	for (end = now_ns() + FLIP_NS; now_ns() < end;) {
		int rc = sp_dict_get(d, "k", 1, val, sizeof(val), &len);

		ck_assert_msg(rc == 0 || rc == -ENOENT || rc == -EBADMSG, "get returned %d", rc);
		if (rc == 0) {
			ck_assert_uint_eq(len, 5);
			ck_assert(memcmp(val, "value", 5) == 0);
		}
		found += rc == 0;
		missed += rc == -ENOENT;
		refused += rc == -EBADMSG;
	}
	flip_stop(&flip);
	fprintf(stderr, "check_abuse: active flips: %ld found, %ld missed, %ld refused\n", found,
		missed, refused);
	sp_dict_close(d);
	sp_dict_unlink(name);
}
END_TEST

/* The ring's positions (ring_layout.h: the body at 8320, wr_claim at 72,
 * rd_claim at 128, rd_release at 192) and its data area, and a record's
 * header there: ctl (state in bits 0-7, token 8-39, lap tag 40-63), size,
 * len. */
#define RING_WR_CLAIM_OFF (BODY_OFF + 72)
#define RING_RD_CLAIM_OFF (BODY_OFF + 128)
#define RING_RD_RELEASE_OFF (BODY_OFF + 192)
#define RING_DATA_OFF 12288
#define REC_COMMITTED 2
#define REC_RELEASED 4

static void set_u64(unsigned char *seg, size_t off, uint64_t v)
{
	atomic_store((_Atomic uint64_t *)(void *)(seg + off), v);
}

static uint64_t get_u64(unsigned char *seg, size_t off)
{
	return atomic_load((_Atomic uint64_t *)(void *)(seg + off));
}

/* Writes a record header at data offset off, byte by byte (off need not
 * be aligned: that is the point of some tests). */
static void craft_header(unsigned char *seg, size_t off, unsigned state, uint32_t tag,
			 uint32_t size)
{
	uint64_t ctl = state | (1ull << 32) | ((uint64_t)tag << 40);

	memcpy(seg + RING_DATA_OFF + off, &ctl, 8);
	memcpy(seg + RING_DATA_OFF + off + 8, &size, 4);
	memcpy(seg + RING_DATA_OFF + off + 12, &size, 4);
}

/* A fresh 4 KiB ring of ours, and its segment mapped as a peer's (*seg,
 * *size) to be crafted. */
static sp_ring *crafted_ring(char *name, size_t nsize, const char *tag, unsigned char **seg,
			     size_t *size)
{
	struct sp_ring_opts o = { .capacity = 4096 };
	sp_ring *r;

	tu_name(name, nsize, tag);
	ck_assert_int_eq(sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r), 0);
	*seg = map_segment(name, size);
	return r;
}

/* A crafted segment whose positions are not multiples of 8: a put refuses
 * to write a record at an odd wr_claim, and a get refuses to take one at
 * an odd rd_claim (its words would be misaligned atomics), each with
 * -EBADMSG, and neither moves a position. */
START_TEST(ring_odd_positions)
{
	unsigned char rec[REC] = { 0 }, *seg;
	char name[64];
	size_t size;
	sp_ring *r = crafted_ring(name, sizeof(name), "ao", &seg, &size);

	/* A whole committed record at offset 1, as a peer would place it. */
	craft_header(seg, 1, REC_COMMITTED, 0, REC);
	set_u64(seg, RING_RD_RELEASE_OFF, 1);
	set_u64(seg, RING_RD_CLAIM_OFF, 1);
	set_u64(seg, RING_WR_CLAIM_OFF, 1 + 16 + REC);
	ck_assert_int_eq(sp_ring_get(r, rec, sizeof(rec), SP_NOWAIT), -EBADMSG);
	ck_assert_uint_eq(get_u64(seg, RING_RD_CLAIM_OFF), 1);
	/* Empty, at 1. */
	set_u64(seg, RING_WR_CLAIM_OFF, 1);
	ck_assert_int_eq(sp_ring_put(r, rec, REC, SP_NOWAIT), -EBADMSG);
	ck_assert_uint_eq(get_u64(seg, RING_WR_CLAIM_OFF), 1);
	munmap(seg, size);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

/* A crafted segment with rd_claim more than a capacity past rd_release:
 * the first lap's headers all say RELEASED (as if read), the second's
 * nothing.  No walk may free space on their word: a put, short of room,
 * fails with -EBADMSG instead of moving rd_release a lap on and writing,
 * and rd_release stays where it was. */
START_TEST(ring_claim_past_capacity)
{
	unsigned char rec[REC] = { 0 }, *seg;
	char name[64];
	size_t size;
	sp_ring *r = crafted_ring(name, sizeof(name), "ac", &seg, &size);

	for (size_t off = 0; off < 4096; off += 64)
		craft_header(seg, off, REC_RELEASED, 0, 48);
	set_u64(seg, RING_WR_CLAIM_OFF, 4096 + 64);
	set_u64(seg, RING_RD_CLAIM_OFF, 4096 + 64);
	ck_assert_int_eq(sp_ring_put(r, rec, REC, SP_NOWAIT), -EBADMSG);
	ck_assert_int_eq(sp_ring_get(r, rec, sizeof(rec), QUIET), -EBADMSG);
	ck_assert_uint_eq(get_u64(seg, RING_RD_RELEASE_OFF), 0);
	ck_assert_uint_eq(get_u64(seg, RING_WR_CLAIM_OFF), 4096 + 64);
	munmap(seg, size);
	sp_ring_close(r);
	sp_ring_unlink(name);
}
END_TEST

static Suite *abuse_suite(void)
{
	Suite *s = suite_create("abuse");
	TCase *stop = tu_tcase(s, "stopped", 30, NULL, NULL);
	TCase *users = tu_tcase(s, "users", 20, NULL, NULL);
	TCase *space = tu_tcase(s, "space", 20, NULL, NULL);
	TCase *sig = tu_tcase(s, "signals", 60, NULL, NULL);
	TCase *peer = tu_tcase(s, "hostile", 30, NULL, NULL);

	tcase_add_test(stop, stopped_reader_keeps_its_record);
	tcase_add_test(stop, stopped_writer_is_waited_for);
	tcase_add_test(users, other_user);
	tcase_add_test(space, dev_shm_full);
	tcase_add_test(sig, created_under_signals);
	tcase_add_test(sig, created_through_eintr);
	tcase_add_test(peer, header_flips_while_attaching);
	tcase_add_test(peer, journal_flips_between_passes);
	tcase_add_test(peer, dict_changes_after_find);
	tcase_add_test(peer, ring_odd_positions);
	tcase_add_test(peer, ring_claim_past_capacity);
	return s;
}

int main(void)
{
	tu_init();
	return tu_run(abuse_suite(), TU_NEED_SHM);
}
