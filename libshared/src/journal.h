/* journal.h: private: an undo journal that makes multi-word updates under a robust mutex crash-atomic. */
#ifndef SP_JOURNAL_H
#define SP_JOURNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "seg.h"

/*
 * An update under a robust mutex (rmutex.h) that changes several words
 * would leave them half changed if its process died in the middle; the next
 * owner gets -EOWNERDEAD but could not tell which words moved.  So every
 * such word is changed through this journal: the old value is recorded,
 * the count of records published, and only then the word is stored.  A
 * commit empties the journal.  A new owner that took the mutex over from a
 * dead one calls sp_jnl_undo(), which puts the old values back in reverse
 * order: the dead process's operation is then as if it never started, which
 * is right, because it never returned to its caller.
 *
 * Payload bytes (a dict value, a list item) are never changed in place:
 * they are written into space nothing refers to yet, and the words that
 * publish them go through the journal.
 *
 * Layout (8 + 16 * SP_JNL_MAX bytes, inside the kind's body):
 *   0  n        (atomic u32) records in use; 0 when no update is open
 *   4  pad
 *   8  e[i].off    (u32) offset of the word from the segment's base
 *   12 e[i].width  (u32) 4 or 8
 *   16 e[i].old    (u64) its value before the update
 *
 * Ordering: each record is written, then n is raised with a release store,
 * then the word is stored with release: a crash can never leave a changed
 * word without its record.  The dead process's stores are all visible to
 * whoever saw its death through the kernel.
 */
#define SP_JNL_MAX 16

struct sp_jnl_rec {
	_Atomic uint32_t off;
	_Atomic uint32_t width;
	_Atomic uint64_t old;
};

struct sp_jnl {
	_Atomic uint32_t n;
	uint32_t pad_;
	struct sp_jnl_rec e[SP_JNL_MAX];
};
_Static_assert(sizeof(struct sp_jnl) == 8 + 16 * SP_JNL_MAX, "journal layout");

/* Stores v into the 32- or 64-bit word p of segment s, recording its old
 * value.  The caller holds the mutex and does at most SP_JNL_MAX of these
 * per update. */
void sp_jnl_set32(const struct sp_seg *s, struct sp_jnl *j, _Atomic uint32_t *p, uint32_t v);
void sp_jnl_set64(const struct sp_seg *s, struct sp_jnl *j, _Atomic uint64_t *p, uint64_t v);

/* Ends the update: the stores are final. */
void sp_jnl_commit(struct sp_jnl *j);

/* Rolls back an update a dead owner left open.  Returns 1 if there was
 * one, 0 if not, -EBADMSG if the journal is corrupt (nothing is written
 * then). */
int sp_jnl_undo(const struct sp_seg *s, struct sp_jnl *j);

#endif
