/* records.c: tool_crash's records on a ring (a sequence number and a pattern made of it), put and taken by the suites. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shared/ring.h"

/* The record of seq: its 8 bytes, then TU_REC - 8 bytes of (seq & 0xff). */
static void fill(unsigned char *buf, long seq)
{
	memcpy(buf, &seq, 8);
	memset(buf + 8, (int)(seq & 0xff), TU_REC - 8);
}

int tu_put_seq(sp_ring *r, long seq, long long timeout)
{
	unsigned char buf[TU_REC];

	fill(buf, seq);
	return sp_ring_put(r, buf, sizeof(buf), timeout);
}

long tu_get_seq(sp_ring *r, long long timeout)
{
	unsigned char buf[TU_REC + 8], want[TU_REC];
	ssize_t n = sp_ring_get(r, buf, sizeof(buf), timeout);
	long seq;

	if (n < 0)
		return (long)n;
	if (n != TU_REC) {
		fprintf(stderr, "a record of %zd bytes, not %d\n", n, TU_REC);
		return -EBADMSG;
	}
	memcpy(&seq, buf, 8);
	fill(want, seq);
	if (memcmp(buf, want, TU_REC) != 0) {
		fprintf(stderr, "record %ld is torn\n", seq);
		return -EBADMSG;
	}
	return seq;
}
