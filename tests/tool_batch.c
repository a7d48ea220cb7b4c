/* tool_batch.c: crafts batch records with the library (hostile ones too) and self-tests the codec. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "batch.h"
#include "shared/ring.h"

/*
 * Usage: tool_batch selftest
 *        tool_batch RING COMMAND... (the ring is created if missing, with
 *        one expected producer; this tool seals it at the end, unless
 *        the last command is "noseal")
 * Commands, each taking its arguments from the list:
 *   file PATH TEXT     a whole-file record
 *   badsum PATH TEXT   the same with a wrong content checksum
 *   symlink PATH TARGET
 *   dir PATH
 *   garbage            64 random bytes
 *   truncated PATH TEXT  a file record missing its last byte
 *   nulpath A B TEXT   a file record whose path is A, a NUL byte, then B
 *   longname N TEXT    a file record whose path is one name of N bytes
 *   overlong N TEXT    a file record whose header claims a path of N bytes,
 *                      beyond the format's 4095 (the library never makes
 *                      one: this one is put together by hand, its header
 *                      check right, so that only the length is wrong)
 *   noseal
 * Exit status: 0, 1 on a failed self-test, 2 on a usage or ring error.
 */

static uint64_t run_id;
static uint64_t seq;
static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "tool_batch: %s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                                     \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static long long make(unsigned type, const char *path, const char *data, size_t len,
		      char *buf, size_t size)
{
	struct sp_batch_rec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.run = run_id;
	r.seq = ++seq;
	r.path = path;
	r.path_len = strlen(path);
	r.mtime_sec = time(NULL);
	switch (type) {
	case SP_BATCH_FILE:
		r.mode = S_IFREG | 0644;
		r.size = len;
		r.part_hash = r.file_hash = sp_batch_hash64(data, len, 0);
		break;
	case SP_BATCH_SYMLINK:
		r.mode = S_IFLNK | 0777;
		r.size = len;
		break;
	case SP_BATCH_DIR:
		r.mode = S_IFDIR | 0755;
		break;
	}
	r.raw_len = r.data_len = (uint32_t)len;
	r.data = data;
	return sp_batch_encode(&r, buf, size);
}

/* A record of a path of any length (up to 65535 bytes, what the header's
 * 16-bit field holds), made by hand: encode one with a short path, then
 * splice the path in and compute the header check again (batch.h: low 32
 * bits of XXH64, seed SP_BATCH_MAGIC, of bytes 0..91 then the path). */
static long long make_raw(const char *path, size_t path_len, const char *data, size_t len,
			  char *buf, size_t size)
{
	static char tmp[1 << 16];
	unsigned char *p = (unsigned char *)buf;
	struct sp_batch_hash h;
	long long n = make(SP_BATCH_FILE, "x", data, len, tmp, sizeof(tmp));
	uint32_t check;

	if (n < 0 || path_len > 0xffff || SP_BATCH_HDR_SIZE + path_len + len > size)
		return -EMSGSIZE;
	memcpy(buf, tmp, SP_BATCH_HDR_SIZE);
	memcpy(buf + SP_BATCH_HDR_SIZE, path, path_len);
	memcpy(buf + SP_BATCH_HDR_SIZE + path_len, data, len);
	p[88] = (unsigned char)(path_len & 0xff);
	p[89] = (unsigned char)(path_len >> 8);
	sp_batch_hash_init(&h, SP_BATCH_MAGIC);
	sp_batch_hash_update(&h, p, 92);
	sp_batch_hash_update(&h, path, path_len);
	check = (uint32_t)sp_batch_hash_digest(&h);
	for (int i = 0; i < 4; i++)
		p[92 + i] = (unsigned char)(check >> (8 * i));
	return (long long)(SP_BATCH_HDR_SIZE + path_len + len);
}

static int selftest(void)
{
	static char buf[1 << 16];
	struct sp_batch_rec r;
	long long n;

	/* XXH64 reference vectors (xxhsum -H1). */
	CHECK(sp_batch_hash64("", 0, 0) == 0xEF46DB3751D8E999ull);
	CHECK(sp_batch_hash64("abc", 3, 0) == 0x44BC2CF5AD770999ull);

	/* Round trip. */
	n = make(SP_BATCH_FILE, "dir/name with space", "hello", 5, buf, sizeof(buf));
	CHECK(n == SP_BATCH_HDR_SIZE + 19 + 5);
	CHECK(sp_batch_decode(buf, (size_t)n, &r) == 0);
	CHECK(r.type == SP_BATCH_FILE && r.raw_len == 5 && memcmp(r.data, "hello", 5) == 0);
	CHECK(r.path_len == 19 && memcmp(r.path, "dir/name with space", 19) == 0);
	/* Exact length only. */
	CHECK(sp_batch_decode(buf, (size_t)n - 1, &r) == -EBADMSG);
	CHECK(sp_batch_decode(buf, (size_t)n + 1, &r) == -EBADMSG);
	CHECK(sp_batch_decode(buf, 10, &r) == -EBADMSG);

	/* Paths. */
	static const char *const bad[] = { "/etc/passwd", "..", "../x", "a/../../x", "a/..",
					   "./a", "a//b", "a/", "", ".shmpipe.x.tmp", "a/./b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sp_batch_path_check(bad[i], strlen(bad[i])) == -EINVAL);
		n = make(SP_BATCH_FILE, bad[i], "x", 1, buf, sizeof(buf));
		CHECK(n > 0 && sp_batch_decode(buf, (size_t)n, &r) == -EINVAL);
	}
	static const char *const good[] = { "a", "a/b", "..a", "a..", ".hidden", "x/.shmpipe.y",
					    "caf\xc3\xa9", "new\nline" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(sp_batch_path_check(good[i], strlen(good[i])) == 0);
	CHECK(sp_batch_path_check("a\0b", 3) == -EINVAL);

	/* The consumer's words for each refusal: the first problem in the
	 * order path.c checks them. */
	static const struct { const char *p; const char *why; } why[] = {
		{ "", "absolute or empty path" }, { "/a/../b", "absolute or empty path" },
		{ ".shmpipe.1-2.tmp", "reserved name (.shmpipe.*)" },
		{ "a//b", "empty component ('//' or a trailing '/')" },
		{ "a/", "empty component ('//' or a trailing '/')" },
		{ "a/../b", "'..' component" }, { "./a", "'.' component" },
	};
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		const char *got = sp_batch_path_problem(why[i].p, strlen(why[i].p));

		CHECK(got && strcmp(got, why[i].why) == 0);
	}
	CHECK(strcmp(sp_batch_path_problem("../a\0", 5), "a NUL byte in the path") == 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(sp_batch_path_problem(good[i], strlen(good[i])) == NULL);
	static char longest[SP_BATCH_PATH_MAX + 2];

	memset(longest, 'a', sizeof(longest) - 1);
	CHECK(sp_batch_path_check(longest, SP_BATCH_PATH_MAX) == 0);
	CHECK(sp_batch_path_check(longest, SP_BATCH_PATH_MAX + 1) == -EINVAL);
	CHECK(sp_batch_path_problem(longest, SP_BATCH_PATH_MAX + 1) != NULL);

	/* The consumer's helper names are reserved, and only they. */
	char tmp[64];

	sp_batch_tmp_name(tmp, sizeof(tmp), 0x1f, 42, ".prog");
	CHECK(strcmp(tmp, ".shmpipe.000000000000001f-42.prog") == 0);
	CHECK(sp_batch_reserved(tmp) && sp_batch_path_check(tmp, strlen(tmp)) == -EINVAL);
	CHECK(sp_batch_reserved(".shmpipe.j0123456789abcdef.wrk"));
	CHECK(!sp_batch_reserved(".shmpipe") && !sp_batch_reserved("shmpipe.x"));

	/* Every single-bit flip of a valid record is either refused or
	 * decodes to something self-consistent; never a crash (run under
	 * ASan in `make asan`). */
	n = make(SP_BATCH_FILE, "some/path", "content!", 8, buf, sizeof(buf));
	for (long long bit = 0; bit < n * 8; bit++) {
		static char copy[1 << 16];

		memcpy(copy, buf, (size_t)n);
		copy[bit / 8] ^= (char)(1 << (bit % 8));
		int rc = sp_batch_decode(copy, (size_t)n, &r);

		if (rc == 0)
			CHECK((size_t)SP_BATCH_HDR_SIZE + r.path_len + r.data_len == (size_t)n);
		/* Flips in the header or path are all caught by the header
		 * check; flips in the payload only by the content checksum. */
		if (bit < (long long)(SP_BATCH_HDR_SIZE + 9) * 8)
			CHECK(rc < 0);
		else
			CHECK(rc == 0 && sp_batch_hash64(r.data, r.raw_len, 0) != r.part_hash);
	}
	/* Random garbage of every length up to 300 bytes. */
	for (int len = 0; len < 300; len++) {
		char g[300];

		getrandom(g, sizeof(g), 0);
		CHECK(sp_batch_decode(g, (size_t)len, &r) < 0);
	}
	printf("tool_batch selftest: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 17];
	struct sp_ring_opts o = { .capacity = 1 << 16, .writers = 1 };
	int seal = 1, rc;
	sp_ring *ring;

	tu_tool_init();
	if (getrandom(&run_id, sizeof(run_id), 0) != sizeof(run_id))
		return 2;
	if (argc == 2 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	if (argc < 3) {
		fprintf(stderr, "usage: tool_batch selftest | tool_batch RING COMMAND...\n");
		return 2;
	}
	rc = sp_ring_open(argv[1], SP_CREATE, &o, &ring);
	if (rc < 0) {
		fprintf(stderr, "tool_batch: %s: %s\n", argv[1], strerror(-rc));
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *cmd = argv[i];
		long long n = -1;

		if (strcmp(cmd, "noseal") == 0) {
			seal = 0;
			continue;
		} else if (strcmp(cmd, "garbage") == 0) {
			n = 64;
			getrandom(buf, (size_t)n, 0);
		} else if (strcmp(cmd, "dir") == 0 && i + 1 < argc) {
			n = make(SP_BATCH_DIR, argv[i + 1], NULL, 0, buf, sizeof(buf));
			i += 1;
		} else if (i + 2 < argc && (strcmp(cmd, "file") == 0 || strcmp(cmd, "badsum") == 0 ||
					    strcmp(cmd, "truncated") == 0)) {
			n = make(SP_BATCH_FILE, argv[i + 1], argv[i + 2], strlen(argv[i + 2]), buf,
				 sizeof(buf));
			if (n > 0 && strcmp(cmd, "badsum") == 0)
				buf[n - 1] ^= 1;   /* content no longer matches its checksum */
			if (n > 0 && strcmp(cmd, "truncated") == 0)
				n--;
			i += 2;
		} else if (i + 3 < argc && strcmp(cmd, "nulpath") == 0) {
			size_t a = strlen(argv[i + 1]), b = strlen(argv[i + 2]);
			char path[512];

			if (a + b + 1 > sizeof(path)) {
				fprintf(stderr, "tool_batch: nulpath: too long\n");
				return 2;
			}
			memcpy(path, argv[i + 1], a);
			path[a] = 0;
			memcpy(path + a + 1, argv[i + 2], b);
			n = make_raw(path, a + 1 + b, argv[i + 3], strlen(argv[i + 3]), buf,
				     sizeof(buf));
			i += 3;
		} else if (i + 2 < argc && (strcmp(cmd, "longname") == 0 ||
					    strcmp(cmd, "overlong") == 0)) {
			static char path[1 << 16];
			long len = strtol(argv[i + 1], NULL, 10);

			if (len < 1 || len >= (long)sizeof(path)) {
				fprintf(stderr, "tool_batch: %s: bad length\n", cmd);
				return 2;
			}
			memset(path, 'n', (size_t)len);
			n = make_raw(path, (size_t)len, argv[i + 2], strlen(argv[i + 2]), buf,
				     sizeof(buf));
			i += 2;
		} else if (i + 2 < argc && strcmp(cmd, "symlink") == 0) {
			n = make(SP_BATCH_SYMLINK, argv[i + 1], argv[i + 2], strlen(argv[i + 2]), buf,
				 sizeof(buf));
			i += 2;
		} else {
			fprintf(stderr, "tool_batch: bad command at '%s'\n", cmd);
			return 2;
		}
		if (n < 0) {
			fprintf(stderr, "tool_batch: %s: encode: %s\n", cmd, strerror((int)-n));
			return 2;
		}
		rc = sp_ring_put(ring, buf, (size_t)n, 10LL * 1000000000);
		if (rc < 0) {
			fprintf(stderr, "tool_batch: put: %s\n", strerror(-rc));
			return 2;
		}
	}
	if (seal)
		sp_ring_seal(ring);
	sp_ring_close(ring);
	return 0;
}
