/* peer.h: the fuzz targets' hostile peer: byte edits to a segment, applied before we attach and between the library's steps. */
#ifndef FUZZ_PEER_H
#define FUZZ_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The edits are an input's bytes from 1 on, 3 per edit (16-bit word, new
 * byte).  The low 14 bits of the word are an offset in the segment (modulo
 * its size); the top two say when the peer writes the byte:
 *   0  before we attach (peer_edit(0), by the target);
 *   1  while we attach, once our copies of the header and the geometry are
 *      checked and before they are used (crash point "open.validated");
 *   2  at the first crash point inside a call, once attached;
 *   3  at every such point, again and again.
 * The targets link the crash-point library, whose hook (crashpoint.h) calls
 * peer_hook at each point.
 */
extern void (*sp_crash_hook)(const char *label);

static struct {
	const uint8_t *data;
	size_t size;
	unsigned char *seg;
	size_t seg_size;
	int phase;          /* 1: attaching, 2: calling */
	int first_done;     /* the edits of kind 2 are applied */
} peer;

/* Applies the edits of kind `when`. */
static void peer_edit(unsigned when)
{
	for (size_t i = 1; i + 3 <= peer.size; i += 3) {
		unsigned w = (unsigned)peer.data[i] | (unsigned)peer.data[i + 1] << 8;

		if (w >> 14 == when)
			peer.seg[(w & 0x3fff) % peer.seg_size] = peer.data[i + 2];
	}
}

static void peer_hook(const char *label)
{
	if (peer.phase == 1 && strcmp(label, "open.validated") == 0) {
		peer_edit(1);
	} else if (peer.phase == 2) {
		if (!peer.first_done) {
			peer.first_done = 1;
			peer_edit(2);
		}
		peer_edit(3);
	}
}

/* Starts a run over the mapped segment seg of seg_size bytes: the edits of
 * kind 0 now, the others from the hook, which this installs (phase 1:
 * attaching; the target sets phase 2 once attached). */
static void peer_start(const uint8_t *data, size_t size, unsigned char *seg, size_t seg_size)
{
	peer.data = data;
	peer.size = size;
	peer.seg = seg;
	peer.seg_size = seg_size;
	peer.first_done = 0;
	peer_edit(0);
	sp_crash_hook = peer_hook;
	peer.phase = 1;
}

static void peer_stop(void)
{
	peer.phase = 0;
	sp_crash_hook = NULL;
}

#endif
