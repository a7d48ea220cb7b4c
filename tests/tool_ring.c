/* tool_ring.c: helper for check_ring: a separately exec'd process that attaches to a ring by name to produce, consume or race to create it. */

/*
 * Usage:
 *   tool_ring produce NAME ID COUNT MINLEN MAXLEN
 *       Attaches to NAME (never creates it) and puts COUNT records, then seals.
 *       Record SEQ of producer ID has a length in [MINLEN, MAXLEN] drawn from
 *       (ID, SEQ): one in 8 lies within 64 bytes of MAXLEN, the others are
 *       spread over the lowest eighth of the range.  It begins with a struct
 *       rec_hdr {ID, SEQ, length, checksum} and goes on with pseudo-random
 *       bytes that are a function of (ID, SEQ) too, so a reader can check
 *       every byte.  Odd sequence numbers go through sp_ring_reserve/commit
 *       (every other one reserving more than it commits), even ones through
 *       sp_ring_put.  Prints "produced ID COUNT BYTES" on stdout.
 *
 *   tool_ring consume NAME
 *       Attaches to NAME and takes records until the ring is closed and
 *       drained (-EPIPE); every third record through sp_ring_peek/release,
 *       the others through sp_ring_get.  Checks each record's length,
 *       checksum and content, and that each producer's sequence numbers
 *       strictly increase.  When done, prints on stdout:
 *         R ID FIRST LAST           a run of consecutive sequence numbers of
 *                                   producer ID, in the order received
 *         X ID SEQ AFTER            a record of producer ID that came after
 *                                   a later (or the same) one, AFTER
 *         P ID COUNT LASTSEQ BYTES OK   one line per producer seen (COUNT
 *                                   and BYTES include the X records)
 *         T RECORDS BYTES OK        the final line
 *       A corrupt record is reported on stderr and ends the run at once with
 *       EX_DATAERR; an order violation is reported on stderr, listed as an X
 *       line, and the run goes on (so that the test can tell a duplicate from
 *       a reordering), ending with EX_DATAERR.
 *
 *   tool_ring create NAME FD ID CAPACITY
 *       Reads descriptor FD until end of file (the start gun: the test closes
 *       the other end), then opens NAME with SP_CREATE and the given capacity,
 *       checks the capacity it got, puts one record holding ID (a uint32) and
 *       prints "ok ID".
 *
 * Exit codes (sysexits.h):
 *   0            success
 *   64 EX_USAGE     bad arguments
 *   65 EX_DATAERR   a record failed a check (length, checksum, content,
 *                   sequence going backwards or repeated); a wrong capacity
 *   66 EX_NOINPUT   the ring does not exist (-ENOENT)
 *   70 EX_SOFTWARE  a ring call failed unexpectedly (also: parent died
 *                   before we started, see tu_tool_init)
 *   71 EX_OSERR     a system call or allocation failed
 *   75 EX_TEMPFAIL  a wait on the ring timed out (WAIT_NS)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "shared/ring.h"
#include "testutil.h"

/* The longest any single wait may take before we call the run hung; the
 * test's own timeout is the real bound, this only gives a clearer message. */
#define WAIT_NS 30000000000LL
#define MAX_PRODUCERS 64

static const char *prog = "tool_ring";

/* The header every produced record starts with (native byte order: both
 * ends run on this machine). */
struct rec_hdr {
	uint32_t id;
	uint32_t seq;
	uint32_t len;    /* the whole record, header included */
	uint32_t sum;    /* FNV-1a of id, seq, len and the bytes after the header */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t seed_of(uint32_t id, uint32_t seq, uint64_t salt)
{
	return ((uint64_t)id << 32 | seq) * 0x2545f4914f6cdd1dull + salt;
}

/* The record's length, a function of (id, seq) and the bounds. */
static size_t rec_len(uint32_t id, uint32_t seq, size_t minlen, size_t maxlen)
{
	uint64_t s = seed_of(id, seq, 1), r = splitmix(&s);
	size_t span = maxlen - minlen, len;

	if (r % 8 == 0) {
		len = maxlen - (size_t)((r >> 8) % 64);
		return len < minlen ? minlen : len;
	}
	return minlen + (size_t)((r >> 8) % (span / 8 + 1));
}

/* The bytes after the header, a function of (id, seq). */
static void rec_fill(unsigned char *p, size_t n, uint32_t id, uint32_t seq)
{
	uint64_t s = seed_of(id, seq, 2), v;

	while (n >= 8) {
		v = splitmix(&s);
		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	v = splitmix(&s);
	memcpy(p, &v, n);
}

static uint32_t fnv1a(uint32_t h, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t rec_sum(const struct rec_hdr *h, const unsigned char *rest, size_t n)
{
	uint32_t s = fnv1a(2166136261u, &h->id, sizeof(h->id));

	s = fnv1a(s, &h->seq, sizeof(h->seq));
	s = fnv1a(s, &h->len, sizeof(h->len));
	return fnv1a(s, rest, n);
}

/* Writes record (id, seq) of len bytes into p. */
static void rec_make(unsigned char *p, size_t len, uint32_t id, uint32_t seq)
{
	struct rec_hdr h = { .id = id, .seq = seq, .len = (uint32_t)len };

	rec_fill(p + sizeof(h), len - sizeof(h), id, seq);
	h.sum = rec_sum(&h, p + sizeof(h), len - sizeof(h));
	memcpy(p, &h, sizeof(h));
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-rc));
	if (rc == -ENOENT)
		return EX_NOINPUT;
	if (rc == -ETIMEDOUT)
		return EX_TEMPFAIL;
	return EX_SOFTWARE;
}

static int parse_u(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int produce(const char *name, uint32_t id, uint32_t count, size_t minlen, size_t maxlen)
{
	unsigned char *buf;
	uint64_t bytes = 0;
	sp_ring *r;
	int rc;

	rc = sp_ring_open(name, 0, NULL, &r);
	if (rc)
		return fail("open", rc);
	if (maxlen > sp_ring_max_record(r)) {
		fprintf(stderr, "%s: produce: MAXLEN %zu exceeds the ring's max record %zu\n", prog,
			maxlen, sp_ring_max_record(r));
		sp_ring_close(r);
		return EX_USAGE;
	}
	buf = malloc(maxlen);
	if (!buf) {
		sp_ring_close(r);
		return EX_OSERR;
	}
	for (uint32_t seq = 0; seq < count; seq++) {
		size_t len = rec_len(id, seq, minlen, maxlen);

		if (seq & 1) {
			/* Zero-copy; every other time reserve more than we
			 * commit, to exercise the shrinking commit. */
			size_t want = len;
			struct sp_msg m;

			if (seq & 2)
				want = len + 24 <= maxlen ? len + 24 : maxlen;
			rc = sp_ring_reserve(r, want, &m, WAIT_NS);
			if (rc) {
				free(buf);
				return fail("reserve", rc);
			}
			if (m.len != want) {
				fprintf(stderr, "%s: reserve: asked %zu bytes, got %zu\n", prog, want, m.len);
				free(buf);
				return EX_SOFTWARE;
			}
			rec_make(m.data, len, id, seq);
			rc = sp_ring_commit(r, &m, len);
			if (rc) {
				free(buf);
				return fail("commit", rc);
			}
		} else {
			rec_make(buf, len, id, seq);
			rc = sp_ring_put(r, buf, len, WAIT_NS);
			if (rc) {
				free(buf);
				return fail("put", rc);
			}
		}
		bytes += len;
	}
	free(buf);
	rc = sp_ring_seal(r);
	if (rc)
		return fail("seal", rc);
	sp_ring_close(r);
	printf("produced %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", id, count, bytes);
	return fflush(stdout) ? EX_OSERR : 0;
}

struct seen {
	uint64_t count, bytes, violations;
	int64_t last;            /* last sequence number, -1 before the first */
	int64_t run_first;       /* the run being built, -1 if none */
};

/* Checks one record; returns 0 or EX_DATAERR (after saying why). */
static int check_record(const unsigned char *p, size_t len, struct seen *seen, FILE *out)
{
	struct rec_hdr h;
	struct seen *s;

	if (len < sizeof(h)) {
		fprintf(stderr, "%s: consume: record of %zu bytes, shorter than its header\n", prog, len);
		return EX_DATAERR;
	}
	memcpy(&h, p, sizeof(h));
	if (h.id >= MAX_PRODUCERS || h.len != len) {
		fprintf(stderr, "%s: consume: bad header: producer %" PRIu32 " seq %" PRIu32
			" len %" PRIu32 " in a record of %zu bytes\n", prog, h.id, h.seq, h.len, len);
		return EX_DATAERR;
	}
	if (rec_sum(&h, p + sizeof(h), len - sizeof(h)) != h.sum) {
		fprintf(stderr, "%s: consume: producer %" PRIu32 " seq %" PRIu32
			": bad checksum (%zu bytes)\n", prog, h.id, h.seq, len);
		return EX_DATAERR;
	}
	{
		unsigned char *want = malloc(len);
		int bad;

		if (!want)
			return EX_OSERR;
		rec_make(want, len, h.id, h.seq);
		bad = memcmp(want, p, len) != 0;
		free(want);
		if (bad) {
			fprintf(stderr, "%s: consume: producer %" PRIu32 " seq %" PRIu32
				": content differs from what was produced\n", prog, h.id, h.seq);
			return EX_DATAERR;
		}
	}
	s = &seen[h.id];
	s->count++;
	s->bytes += len;
	if ((int64_t)h.seq <= s->last) {
		fprintf(stderr, "%s: consume: producer %" PRIu32 ": seq %" PRIu32 " after %" PRId64
			" (%s)\n", prog, h.id, h.seq, s->last,
			(int64_t)h.seq == s->last ? "duplicated" : "going backwards");
		fprintf(out, "X %" PRIu32 " %" PRIu32 " %" PRId64 "\n", h.id, h.seq, s->last);
		s->violations++;
		return 0;
	}
	if (s->run_first >= 0 && (int64_t)h.seq != s->last + 1) {
		fprintf(out, "R %" PRIu32 " %" PRId64 " %" PRId64 "\n", h.id, s->run_first, s->last);
		s->run_first = -1;
	}
	if (s->run_first < 0)
		s->run_first = h.seq;
	s->last = h.seq;
	return 0;
}

static int consume(const char *name)
{
	struct seen seen[MAX_PRODUCERS];
	uint64_t records = 0, bytes = 0, violations = 0;
	unsigned char *buf;
	char *text = NULL;
	size_t textlen = 0;
	FILE *out;
	sp_ring *r;
	int rc;

	for (int i = 0; i < MAX_PRODUCERS; i++)
		seen[i] = (struct seen){ 0, 0, 0, -1, -1 };
	rc = sp_ring_open(name, 0, NULL, &r);
	if (rc)
		return fail("open", rc);
	buf = malloc(sp_ring_max_record(r));
	/* The report is built in memory and written at the end, so that a
	 * full stdout pipe can never hold up our draining of the ring. */
	out = open_memstream(&text, &textlen);
	if (!buf || !out) {
		sp_ring_close(r);
		return EX_OSERR;
	}
	for (;;) {
		ssize_t n;

		if (records % 3 == 0) {
			struct sp_msg m;

			rc = sp_ring_peek(r, &m, WAIT_NS);
			if (rc == -EPIPE)
				break;
			if (rc)
				return fail("peek", rc);
			rc = check_record(m.data, m.len, seen, out);
			if (rc)
				return rc;
			rc = sp_ring_release(r, &m);
			if (rc)
				return fail("release", rc);
			n = (ssize_t)m.len;
		} else {
			n = sp_ring_get(r, buf, sp_ring_max_record(r), WAIT_NS);
			if (n == -EPIPE)
				break;
			if (n < 0)
				return fail("get", (int)n);
			rc = check_record(buf, (size_t)n, seen, out);
			if (rc)
				return rc;
		}
		records++;
		bytes += (uint64_t)n;
	}
	/* Closed and drained: a second look must say the same. */
	rc = (int)sp_ring_get(r, buf, sp_ring_max_record(r), SP_NOWAIT);
	if (rc != -EPIPE) {
		fprintf(stderr, "%s: consume: get after -EPIPE returned %d\n", prog, rc);
		return EX_SOFTWARE;
	}
	sp_ring_close(r);
	free(buf);
	for (int i = 0; i < MAX_PRODUCERS; i++)
		if (seen[i].run_first >= 0)
			fprintf(out, "R %d %" PRId64 " %" PRId64 "\n", i, seen[i].run_first, seen[i].last);
	for (int i = 0; i < MAX_PRODUCERS; i++)
		if (seen[i].count)
			fprintf(out, "P %d %" PRIu64 " %" PRId64 " %" PRIu64 " OK\n", i, seen[i].count,
				seen[i].last, seen[i].bytes);
	fprintf(out, "T %" PRIu64 " %" PRIu64 " OK\n", records, bytes);
	if (fclose(out))
		return EX_OSERR;
	if (fwrite(text, 1, textlen, stdout) != textlen || fflush(stdout))
		return EX_OSERR;
	free(text);
	for (int i = 0; i < MAX_PRODUCERS; i++)
		violations += seen[i].violations;
	return violations ? EX_DATAERR : 0;
}

static int create(const char *name, int fd, uint32_t id, uint64_t capacity)
{
	struct sp_ring_opts o = { .capacity = capacity };
	struct sp_ring_stat st;
	char c;
	sp_ring *r;
	ssize_t n;
	int rc;

	/* The start gun: end of file once the test closes its end. */
	do
		n = read(fd, &c, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0)
		return EX_OSERR;
	close(fd);
	rc = sp_ring_open(name, SP_CREATE, &o, &r);
	if (rc)
		return fail("open", rc);
	sp_ring_stat(r, &st);
	if (st.capacity != capacity) {
		fprintf(stderr, "%s: create: capacity %" PRIu64 ", expected %" PRIu64 "\n", prog,
			st.capacity, capacity);
		return EX_DATAERR;
	}
	rc = sp_ring_put(r, &id, sizeof(id), WAIT_NS);
	if (rc)
		return fail("put", rc);
	sp_ring_close(r);
	printf("ok %" PRIu32 "\n", id);
	return fflush(stdout) ? EX_OSERR : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s produce NAME ID COUNT MINLEN MAXLEN\n"
		"       %s consume NAME\n"
		"       %s create NAME FD ID CAPACITY\n", prog, prog, prog);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	unsigned long long a, b, c, d;

	tu_tool_init();
	if (argc >= 2 && !strcmp(argv[1], "produce") && argc == 7) {
		if (parse_u(argv[3], MAX_PRODUCERS - 1, &a) || parse_u(argv[4], UINT32_MAX, &b) ||
		    parse_u(argv[5], UINT32_MAX, &c) || parse_u(argv[6], UINT32_MAX, &d) ||
		    c < sizeof(struct rec_hdr) || c > d)
			return usage();
		return produce(argv[2], (uint32_t)a, (uint32_t)b, (size_t)c, (size_t)d);
	}
	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "create")) {
		if (parse_u(argv[3], 1024, &a) || parse_u(argv[4], UINT32_MAX, &b) ||
		    parse_u(argv[5], UINT64_MAX, &c))
			return usage();
		return create(argv[2], (int)a, (uint32_t)b, c);
	}
	return usage();
}
