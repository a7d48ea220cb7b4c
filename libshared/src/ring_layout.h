/* ring_layout.h: private: the ring's shared-memory layout and record state machine. */
#ifndef SP_RING_LAYOUT_H
#define SP_RING_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "seg.h"

/*
 * File layout of a ring NAME (/dev/shm/shmpipe.NAME):
 *
 *   0      struct sp_seg_hdr     common header (seg.h), kind SP_KIND_RING
 *   128    struct sp_slot[128]   participant table (seg.h)
 *   8320   struct sp_ring_body   the ring's own header, below
 *   12288  data[capacity]        records (RING_DATA_OFF, a page multiple)
 *
 * Each process maps the data area twice, back to back, so that a record that
 * runs past the end of the area continues in the second mapping: every record
 * is contiguous in memory, whatever its offset (zero-copy needs this).
 *
 * Positions are free-running 64-bit byte counters; a position p lives at
 * data[p & (capacity - 1)].  They never wrap in practice (2^64 bytes).
 *
 *   rd_release <= rd_claim <= wr_claim <= rd_release + capacity
 *
 *   [rd_release, rd_claim)  records handed to readers: TAKEN, RELEASED, ABANDONED
 *   [rd_claim, wr_claim)    records not yet taken: CLAIMED, COMMITTED, ABANDONED
 *   [wr_claim, rd_release + capacity)  free
 *
 * A record is a 16-byte header followed by its payload, padded to 8 bytes:
 *
 *   0  ctl   (atomic u64) state in bits 0-7, owner token in bits 8-39,
 *            lap tag (position / capacity, mod 2^24) in bits 40-63
 *   8  size  (atomic u32) payload bytes reserved; the record's stride is
 *            16 + round_up(size, 8).  Fixed at claim.
 *   12 len   (atomic u32) payload bytes committed, len <= size.
 *   16 payload
 *
 * Record state machine (the owner token in ctl names who may move it on):
 *
 *   CLAIMED(w) --commit by w--> COMMITTED --take by r--> TAKEN(r) --release by r--> RELEASED
 *   CLAIMED(w) --w found dead, or closed--> ABANDONED   (never delivered)
 *   TAKEN(r)   --r found dead, or closed--> TAKEN(r2)   (adopted: redelivered to r2)
 *
 * Crash at each step, and what recovers it:
 * - writer dies inside the claim section (holding wr_lock): the lock is
 *   stolen by the next writer that finds its holder dead; the section only
 *   publishes wr_claim after the header is whole, so there is nothing to undo.
 * - claimed, not written / written, not committed: the record stays CLAIMED
 *   by a dead token; the reader waiting at it checks the owner's liveness
 *   and marks it ABANDONED; readers then skip it.
 * - reader dies between moving rd_claim past a record and marking it
 *   TAKEN: the record is COMMITTED below rd_claim, and is adopted as below.
 * - taken, not released: a reader with nothing to do scans
 *   [rd_release, rd_claim) for TAKEN records of dead tokens (and COMMITTED
 *   ones, see above) and adopts one.
 * - released, rd_release not advanced: any later release or skip advances it.
 * No step depends on a semaphore's count: semaphores only shorten sleeps.
 *
 * Lock rules:
 * - wr_lock (a token, 0 when free) guards wr_claim and the header words of
 *   the record being claimed.  Held for a few stores, never across a wait.
 * - rd_claim moves by CAS: the reader whose CAS moves it from q owns the
 *   record at q.  rd_release moves by CAS past RELEASED/ABANDONED records;
 *   sealed and the sleeper counts by atomic add.
 * - ctl words move by CAS only, except the writer's first store of CLAIMED
 *   (under wr_lock, before the record is published by wr_claim).
 * - wr_lock is the only lock; a writer whose holder is dead is stolen by CAS
 *   from the dead token.
 */

#define RING_DATA_OFF 12288u
#define RING_REC_HDR 16u

enum rec_state {
	REC_CLAIMED = 1,
	REC_COMMITTED = 2,
	REC_TAKEN = 3,
	REC_RELEASED = 4,
	REC_ABANDONED = 5,
};

/* ctl: state in bits 0-7, owner token in 8-39, and in 40-63 the lap tag:
 * the record's position divided by the capacity, modulo 2^24.  The tag
 * tells a header from the header a lap earlier at the same offset, so a
 * stale read or a late CAS can never mistake one record for another. */
#define CTL(state, token, tag) \
	((uint64_t)(state) | ((uint64_t)(token) << 8) | ((uint64_t)(tag) << 40))
#define CTL_STATE(c) ((unsigned)((c) & 0xff))
#define CTL_TOKEN(c) ((uint32_t)((c) >> 8))
#define CTL_TAG(c) ((uint32_t)((c) >> 40))
/* The same record in another state, owned by token. */
#define CTL_MOVE(c, state, token) CTL(state, token, CTL_TAG(c))

struct sp_rec {
	_Atomic uint64_t ctl;
	_Atomic uint32_t size;
	_Atomic uint32_t len;
};

/* The ring's own header, at RING_BODY_OFF.  Hot fields of writers and readers
 * sit on separate cache lines. */
struct sp_ring_body {
	/* Immutable after creation (checked on attach). */
	uint64_t capacity;             /*   0: data bytes, power of two */
	uint32_t max_record;           /*   8: capacity / 4 */
	uint32_t writers;              /*  12: seals that close the ring */
	uint8_t pad0_[48];
	/* Writers. */
	_Atomic uint32_t wr_lock;      /*  64: token of the claimer, 0 free */
	uint32_t pad1_;
	_Atomic uint64_t wr_claim;     /*  72: end of the last claimed record */
	uint8_t pad2_[48];
	/* Readers. */
	_Atomic uint64_t rd_claim;     /* 128: next record to take */
	uint64_t pad3_;
	uint8_t pad4_[48];
	_Atomic uint64_t rd_release;   /* 192: everything before is free space */
	uint8_t pad5_[56];
	/* Rarely written. */
	_Atomic uint32_t sealed;       /* 256: seals given so far */
	_Atomic uint32_t rd_sleepers;  /* 260: readers asleep on the data semaphore */
	_Atomic uint32_t wr_sleepers;  /* 264: writers asleep on the space semaphore */
	uint8_t pad6_[52];
};

#define RING_BODY_OFF (128u + SP_SEG_MAX_SLOTS * 64u)
_Static_assert(sizeof(struct sp_ring_body) == 320, "ring body layout");
_Static_assert(RING_BODY_OFF + sizeof(struct sp_ring_body) <= RING_DATA_OFF, "ring header fits");

/* Slot counters (struct sp_slot.count) of a ring. */
enum { CNT_RECS_IN, CNT_BYTES_IN, CNT_RECS_OUT, CNT_BYTES_OUT };
/* Slot role bits. */
#define ROLE_WRITER 1u
#define ROLE_READER 2u
#define ROLE_SEALED 4u

#endif
