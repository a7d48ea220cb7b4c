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
 *   9152   unused
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
 *   CLAIMED(w) --w cancels, w found dead, or closed--> ABANDONED   (never delivered)
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
 * No step depends on a doorbell: doorbells only shorten sleeps.
 *
 * Doorbells (futex words, wait.h):
 * A reader with nothing to take, or a writer with no room, sleeps, and
 * whoever makes the change it waits for wakes it: a reader for a record
 * published or given up, or the ring closed; a writer for space freed, or
 * the ring closed.  Each handle sleeps on its own word, bell[i] of its
 * slot i, so that a waker wakes exactly the sleeper it chose.
 * - rd_sleep / wr_sleep: one bit per participant slot (slot i: bit i % 64
 *   of word i / 64): the owner of slot i is asleep, or about to be, on
 *   bell[i], waiting for that side's change, and nobody has rung for it
 *   since.  A waker looks at them after its change and rings only if a bit
 *   is set, so the hot paths pay two loads and no system call.
 * - The sleeper i: seq = bell[i] (acquire), set bit i, heavy fence
 *   (fence.h), re-check the ring, FUTEX_WAIT(bell[i], seq) for one slice at
 *   most, clear bit i.
 * - The waker: its change, light fence, look at the bits; to ring, take a
 *   set bit i (atomic and: whoever clears it has taken it), bell[i] + 1
 *   (release), FUTEX_WAKE(bell[i]); if that woke nobody, take the next bit
 *   too (the sleeper was still on its way, and will see its bell moved, or
 *   it died); to ring for all, take every bit.  A sleeper is rung at most
 *   once per sleep: a busy writer pays one system call per sleep of a
 *   reader, not one per record.
 * - The fences pair: either the sleeper's re-check sees the change, or the
 *   waker sees bit i and moves bell[i], which makes the sleeper's
 *   FUTEX_WAIT return at once (the word is no longer seq), or its acquire
 *   of bell[i] sees the change.  A sleeper without membarrier may miss a
 *   wake-up: it costs one slice, as every sleep is bounded.
 * - A sleeper that died leaves its bit set: the first waker takes it and
 *   wakes nobody, one system call, then goes on to the next sleeper.
 *
 * Lock rules:
 * - wr_lock (a token, 0 when free) guards wr_claim and the header words of
 *   the record being claimed.  Held for a few stores, never across a wait.
 *   A live holder is waited for, never robbed, stopped or not, but only as
 *   long as the waiter's call allows (a try 20 ms, a timed call until its
 *   deadline: ring_wait.c, sp_ring_wait_holder).
 *   A writer that owns the writers' bias (below) takes the same steps
 *   without it: the bias excludes every other writer instead.
 * - rd_claim moves by CAS: the reader whose CAS moves it from q owns the
 *   record at q; the owner of the readers' bias moves it by a plain store,
 *   as no other reader moves it then.  rd_release moves by CAS past
 *   RELEASED/ABANDONED records; sealed and the bells by atomic add; a
 *   sleeper bit by atomic or/and: set by its slot's owner, cleared by the
 *   owner or by the waker that takes it (the and tells who took it).
 * - ctl words move by CAS only, except the writer's first store of CLAIMED
 *   (under wr_lock, before the record is published by wr_claim).
 * - wr_lock is the only lock; a writer whose holder is dead is stolen by CAS
 *   from the dead token.
 *
 * Bias (a lone writer or a lone reader pays no locked instruction):
 * A locked instruction (the claim lock's CAS, the CAS on rd_claim) waits for
 * the core's store buffer to drain, and on the hot path that buffer holds
 * stores to lines the other side has just read: each CAS costs a cross-core
 * round trip, about half the time of a 64-byte record.  So a side with one
 * participant is biased to it:
 * - wr_bias / rd_bias: the owner's token; 0: nobody since creation or since
 *   the owner closed; BIAS_SHARED: revoked, or given back.  While biased,
 *   the owner claims without wr_lock and moves rd_claim by a plain store;
 *   everyone else uses wr_lock and the CAS on rd_claim.
 * - wr_busy / rd_busy: the owner's token, with BUSY_IN while it is inside
 *   its fast path and BUSY_ACK once it knows it lost the bias (or closed).
 *   Only the owner of the epoch writes it, apart from the grab (below).
 * - The owner's fast path: busy = token|BUSY_IN, a compiler barrier, load
 *   the bias word; if it still names us, go on, and busy = token at the end;
 *   otherwise busy = token|BUSY_ACK, and the shared path from then on.
 * - Declaring: every handle, before its first operation on a side, stores
 *   its role bit in its slot, makes a full fence, and reads the bias word.
 *   0: nobody can be inside, go on.  Someone else's token: CAS it to
 *   BIAS_SHARED.  BIAS_SHARED: wait until that owner is out: membarrier
 *   (fence.h: every CPU running a participant makes a full barrier), then
 *   until busy lacks BUSY_IN, or carries BUSY_ACK, or names a dead handle.
 *   The two fences pair: either the owner's load saw BIAS_SHARED, or our
 *   load of busy sees BUSY_IN.  A process that cannot call membarrier waits
 *   for BUSY_ACK (or death) instead: the owner gives it at its next
 *   attempt, or as soon as it waits inside the library; and it sets nobias,
 *   so that no handle takes a bias on this ring again.  Either wait is
 *   bounded by the caller's timeout; the next call goes on with it.
 *   Our own token in the bias word before we declared can only be a
 *   wrapped generation's or garbage: settled as BUSY_ACK, and shared.
 * - Grabbing (at a handle's first operation, then every 4096 shared-path
 *   operations at most once per 100 ms, as others may have closed): only if
 *   nobias is 0, busy shows no owner of an earlier epoch that may still come
 *   in (0, BUSY_ACK, or dead), and a first look finds no other handle in
 *   the role: CAS the bias word from 0, BIAS_SHARED or a dead token to our
 *   token, CAS busy to our token, membarrier, then look again for another
 *   live slot with that role bit: if there is one, give the bias back (busy
 *   token|BUSY_ACK, bias word BIAS_SHARED).  This fence pairs with a
 *   declarer's: either we see its role, or it sees our token and revokes.
 *   Only processes registered for membarrier (fence.h) grab, as revokers
 *   must be able to reach them.
 * - The owner dying inside its fast path leaves BUSY_IN with a dead token:
 *   revokers go on as a thief of wr_lock would (the claim and take steps are
 *   the same on both paths, and so are their crash rules).
 * - Closing: busy = token|BUSY_ACK, then the bias word from our token to 0.
 */

#define BIAS_SHARED 0xffffffffu       /* never a token (seg.h: index < 128) */
#define BUSY_IN (1ull << 32)
#define BUSY_ACK (1ull << 33)
#define BUSY_TOKEN(v) ((uint32_t)(v))

#define RING_DATA_OFF 12288u
/* The most seals a ring can expect (sp_ring_opts.writers), checked on
 * creation and on attach. */
#define RING_MAX_WRITERS (1u << 20)
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
	_Atomic uint32_t wr_bias;      /*  68: token of the biased writer, 0, BIAS_SHARED */
	_Atomic uint64_t wr_claim;     /*  72: end of the last claimed record */
	_Atomic uint64_t wr_busy;      /*  80: the biased writer: token | BUSY_* */
	uint8_t pad2_[40];
	/* Readers. */
	_Atomic uint64_t rd_claim;     /* 128: next record to take */
	_Atomic uint32_t rd_bias;      /* 136: token of the biased reader, 0, BIAS_SHARED */
	uint32_t pad3_;
	_Atomic uint64_t rd_busy;      /* 144: the biased reader: token | BUSY_* */
	uint8_t pad4_[40];
	_Atomic uint64_t rd_release;   /* 192: everything before is free space */
	uint8_t pad5_[56];
	/* Rarely written. */
	_Atomic uint32_t sealed;       /* 256: seals given so far */
	_Atomic uint32_t nobias;       /* 260: 1 once a handle could not force barriers */
	uint8_t pad6_[8];              /* 264 */
	_Atomic uint64_t rd_sleep[2];  /* 272: slots whose reader sleeps, not yet rung */
	_Atomic uint64_t wr_sleep[2];  /* 288: slots whose writer sleeps, not yet rung */
	uint8_t pad8_[16];
	/* The handles' doorbells. */
	_Atomic uint32_t bell[SP_SEG_MAX_SLOTS]; /* 320: slot i's futex word, a counter */
};

#define RING_BODY_OFF (128u + SP_SEG_MAX_SLOTS * 64u)
_Static_assert(sizeof(struct sp_ring_body) == 832, "ring body layout");
_Static_assert(RING_BODY_OFF + sizeof(struct sp_ring_body) <= RING_DATA_OFF, "ring header fits");
_Static_assert(SP_SEG_MAX_SLOTS <= 2 * 64, "a sleeper bit for every slot");

/* Slot counters (struct sp_slot.count) of a ring. */
enum { CNT_RECS_IN, CNT_BYTES_IN, CNT_RECS_OUT, CNT_BYTES_OUT };
/* Slot role bits. */
#define ROLE_WRITER 1u
#define ROLE_READER 2u
#define ROLE_SEALED 4u

#endif
