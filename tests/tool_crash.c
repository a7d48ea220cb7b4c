/* tool_crash.c: a ring participant linked with crash points, killed at a chosen step (SP_CRASH_AT). */
/*
 * Usage:
 *   tool_crash create NAME          create the ring (4 KiB, 1 writer)
 *   tool_crash open NAME            attach and detach
 *   tool_crash write NAME FIRST N   reserve/commit records FIRST..FIRST+N-1
 *   tool_crash read NAME N          take N records, printing "SEQ\n" for each
 *                                   after checking it and before releasing it
 *   tool_crash hold NAME            peek one record, print its SEQ, wait for
 *                                   end of file on stdin, then release it
 *   tool_crash reserve NAME SEQ     reserve a record, print "reserved", wait
 *                                   for end of file on stdin, then commit SEQ
 * A record is an 8-byte sequence number followed by 56 bytes of (seq & 0xff).
 * With SP_CRASH_AT=LABEL the library raises SIGKILL at that step.
 * Exit: 0 done, 1 a library call failed, 2 bad record, 64 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/ring.h"
#include "testutil.h"

#define REC 64
#define WAIT 10000000000LL

static int fail(const char *what, int rc)
{
	fprintf(stderr, "tool_crash: %s: %s\n", what, strerror(-rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };
	sp_ring *r;
	int rc;

	tu_tool_init();
	if (argc < 3)
		return 64;
	if (!strcmp(argv[1], "create")) {
		rc = sp_ring_open(argv[2], SP_CREATE | SP_EXCL, &o, &r);
		if (rc)
			return fail("create", rc);
		sp_ring_close(r);
		return 0;
	}
	rc = sp_ring_open(argv[2], 0, NULL, &r);
	if (rc)
		return fail("open", rc);
	if (!strcmp(argv[1], "open")) {
		sp_ring_close(r);
		return 0;
	}
	if (!strcmp(argv[1], "write") && argc == 5) {
		long first = atol(argv[3]), n = atol(argv[4]);

		for (long i = first; i < first + n; i++) {
			struct sp_msg m;

			rc = sp_ring_reserve(r, REC, &m, WAIT);
			if (rc)
				return fail("reserve", rc);
			memcpy(m.data, &i, 8);
			memset((char *)m.data + 8, (int)(i & 0xff), REC - 8);
			rc = sp_ring_commit(r, &m, REC);
			if (rc)
				return fail("commit", rc);
		}
		sp_ring_close(r);
		return 0;
	}
	if (!strcmp(argv[1], "hold") || (!strcmp(argv[1], "reserve") && argc == 4)) {
		int hold = argv[1][0] == 'h';
		struct sp_msg m;
		char c;
		long seq = hold ? 0 : atol(argv[3]);

		rc = hold ? sp_ring_peek(r, &m, WAIT) : sp_ring_reserve(r, REC, &m, WAIT);
		if (rc)
			return fail(argv[1], rc);
		if (hold)
			memcpy(&seq, m.data, 8);
		printf(hold ? "%ld\n" : "reserved\n", seq);
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		if (!hold) {
			memcpy(m.data, &seq, 8);
			memset((char *)m.data + 8, (int)(seq & 0xff), REC - 8);
		}
		rc = hold ? sp_ring_release(r, &m) : sp_ring_commit(r, &m, REC);
		if (rc)
			return fail(hold ? "release" : "commit", rc);
		sp_ring_close(r);
		return 0;
	}
	if (!strcmp(argv[1], "read") && argc == 4) {
		long n = atol(argv[3]);

		for (long i = 0; i < n; i++) {
			struct sp_msg m;
			long seq;

			rc = sp_ring_peek(r, &m, WAIT);
			if (rc)
				return fail("peek", rc);
			memcpy(&seq, m.data, 8);
			for (size_t k = 8; k < m.len; k++)
				if (((unsigned char *)m.data)[k] != (unsigned char)(seq & 0xff))
					return 2;
			if (m.len != REC)
				return 2;
			printf("%ld\n", seq);
			fflush(stdout);
			rc = sp_ring_release(r, &m);
			if (rc)
				return fail("release", rc);
		}
		sp_ring_close(r);
		return 0;
	}
	return 64;
}
