/* fuzz_ring.c: libFuzzer target: a ring whose segment a hostile peer rewrites, before and while it is attached and used. */
/*
 * Each input is a list of edits by a hostile peer (peer.h: when and where it
 * writes which byte) to the segment of a small, real ring holding a few
 * records in every state: before we attach, between our checks and their
 * use, and inside our calls (the ring's crash points: "claim.locked",
 * "take.claimed"...).  The ring is then attached and driven with
 * non-blocking calls; whatever the edits, every call must return (no hang:
 * the test's time limit catches one) without touching memory outside the
 * mapping (AddressSanitizer catches it).  The first input byte picks how
 * many records to leave in the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/ring.h"
#include "peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEG_SIZE (12288u + 4096u)   /* the segment of a 4 KiB ring */

static void fill(sp_ring *r, unsigned n)
{
	unsigned char buf[300];
	struct sp_msg m;

	for (unsigned i = 0; i < n; i++) {
		memset(buf, (int)i, sizeof(buf));
		sp_ring_put(r, buf, (i * 37) % sizeof(buf), SP_NOWAIT);
	}
	/* One reserved and never committed, one peeked and never released. */
	if (sp_ring_reserve(r, 40, &m, SP_NOWAIT) == 0)
		memset(m.data, 0xee, 40);
	sp_ring_peek(r, &m, SP_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_ring_opts o = { .capacity = 4096, .writers = 1 };
	unsigned char buf[1100];
	char name[64], shm[80];
	struct sp_ring_stat st;
	struct sp_msg m;
	unsigned char *seg;
	sp_ring *r, *a;
	int fd;

	snprintf(name, sizeof(name), "fuzz-%ld", (long)getpid());
	snprintf(shm, sizeof(shm), "/shmpipe.%s", name);
	sp_ring_unlink(name);
	if (sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r))
		return 0;
	fill(r, size ? data[0] % 40 : 5);
	/* r stays attached: its records stay reserved and peeked. */
	fd = shm_open(shm, O_RDWR, 0);
	if (fd < 0)
		goto out;
	seg = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (seg == MAP_FAILED)
		goto out;
	peer_start(data, size, seg, SEG_SIZE);
	if (sp_ring_open(name, 0, NULL, &a) == 0) {
		peer.phase = 2;
		for (int i = 0; i < 50; i++) {
			sp_ring_get(a, buf, sizeof(buf), SP_NOWAIT);
			if (sp_ring_peek(a, &m, SP_NOWAIT) == 0) {
				volatile unsigned char sink = 0;
				for (size_t k = 0; k < m.len; k++)
					sink ^= ((unsigned char *)m.data)[k];
				(void)sink;
				sp_ring_release(a, &m);
			}
			sp_ring_put(a, buf, (size_t)i * 21, SP_NOWAIT);
			if (sp_ring_reserve(a, 100, &m, SP_NOWAIT) == 0)
				sp_ring_commit(a, &m, 50);
		}
		sp_ring_stat(a, &st);
		sp_ring_size(a);
		sp_ring_empty(a);
		sp_ring_full(a);
		sp_ring_seal(a);
		sp_ring_close(a);
	}
	peer_stop();
	munmap(seg, SEG_SIZE);
out:
	sp_ring_close(r);
	sp_ring_unlink(name);
	return 0;
}
