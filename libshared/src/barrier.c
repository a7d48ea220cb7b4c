/* barrier.c: Barrier: rounds of `parties` arrivals, lock-free; broken by a timeout, an abort or a dead participant. */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "crashpoint.h"
#include "shared/sync.h"
#include "sync_layout.h"

/*
 * The barrier has no mutex.  Its whole state is one word, `count` (the
 * futex word), and every change is one CAS on it, so a party stopped or
 * killed anywhere in a call holds nothing the others need: a stopped party
 * costs the others at most their timeout (as a party that never comes
 * would), and a party resumed learns the outcome of its round.
 *
 *   bits 0-7    arrived: parties counted in this round (< parties), or
 *               parties while the last arrival runs the round's action
 *   bit 8       W_BROKEN: this round is broken; every wait fails until reset
 *   bit 9       W_PASSED: how the round before ended (1 passed; 0 broken,
 *               or cut short by a reset)
 *   bits 10-31  the round's number, modulo 2^22
 *
 * Transitions, each one CAS from the word as read:
 *   arrive  arrived + 1, by a party that is not the last, or by the last
 *           when there is an action: it then runs the action, the others
 *           still waiting, and passes (or breaks) the round after it;
 *   pass    the last arrival: round + 1, W_PASSED, arrived 0;
 *   break   W_BROKEN (a timeout, an abort, a dead participant);
 *   reset   round + 1, not W_PASSED, arrived 0, not broken.
 *
 * A party registers (ent[i].b = its round | BAR_WAITING) before its CAS
 * counts it, and learns its fate from the word: same round: still waiting,
 * or broken; the next round: the W_PASSED bit; a later round: its entry.
 * The entries are finalized by helping: a transition that moves the round
 * on from R first marks every entry still waiting in round R - 1 with that
 * round's outcome (the W_PASSED bit of the word it read), by a CAS from
 * exactly "R - 1 | BAR_WAITING", which makes the marks idempotent, leaves
 * alone an entry its owner has since rewritten, and lets a helper stopped
 * half way harm nothing (its own CAS of the word then fails).  So a round
 * is decided by one CAS, a waiter never needs anyone after that, and a wait
 * that times out breaks its round by a CAS too, exactly when the round has
 * not passed first.  While an action runs (arrived == parties), a party of
 * the next round cannot arrive yet: it sleeps until the word moves on, and
 * a waiter that times out, an abort or a reset then ends the round, so the
 * action's runner learns from its own CAS, as any waiter, that the round
 * did not pass.
 *
 * Ordering: the CASes of `count` are acq_rel and form one release sequence;
 * a party's entry is written before its counting CAS (a helper that reads
 * the word after it sees the entry), and a helper's marks before its
 * advancing CAS (a waiter that reads a later round sees its mark).
 */
#define W_ARRIVED(w) ((w) & 0xffu)
#define W_BROKEN 0x100u
#define W_PASSED 0x200u
#define W_ROUND_SHIFT 10
#define ROUND_MASK 0x3fffffu
#define W_ROUND(w) ((w) >> W_ROUND_SHIFT)
#define W_MAKE(round, passed) \
	((((round) & ROUND_MASK) << W_ROUND_SHIFT) | ((passed) ? W_PASSED : 0u))
/* An entry's result word: its round and a BAR_* state. */
#define ENT(round, state) ((((round) & ROUND_MASK) << 2) | (state))

struct sp_barrier {
	struct sp_sync y;
};

int sp_barrier_open(const char *name, unsigned flags, unsigned parties, unsigned mode,
		    sp_barrier **out)
{
	/* parties matters only to the creator; an attacher may pass 0. */
	if ((parties == 0 && (flags & SP_CREATE)) || parties > SP_SEG_MAX_SLOTS)
		return -EINVAL;
	return sp_sync_new(sizeof(sp_barrier), name, flags, mode, SYNC_BARRIER, 0, parties,
			   (void **)out);
}

void sp_barrier_close(sp_barrier *b)
{
	if (!b)
		return;
	sp_sync_close(&b->y);
	free(b);
}

/* Before a CAS that moves the round on from the word w: marks the entries
 * still waiting in the round before w's with that round's outcome. */
static void help(sp_barrier *bar, uint32_t w)
{
	uint32_t prev = W_ROUND(w) - 1, st = w & W_PASSED ? BAR_PASSED : BAR_BROKEN;

	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		uint32_t want = ENT(prev, BAR_WAITING);

		/* Relaxed: published by the release of our CAS of count. */
		cas_relaxed(&bar->y.b->ent[i].b, &want, ENT(prev, st));
	}
}

/* Breaks the current round (if it is not broken already) and wakes its
 * waiters; with round_only, only if the round is still `round`.  Returns 1
 * if this call broke it. */
static int break_round(sp_barrier *bar, int round_only, uint32_t round)
{
	_Atomic uint32_t *word = &bar->y.b->count;
	uint32_t w = load_acquire(word);

	for (;;) {
		if ((w & W_BROKEN) || (round_only && W_ROUND(w) != round))
			return 0;
		if (cas_acq_rel(word, &w, w | W_BROKEN)) {
			sp_wake(word, SP_WAKE_ALL);
			return 1;
		}
	}
}

/* Breaks the barrier if a participant died attached and has not been
 * counted yet (ent[i].c holds the dead token once counted).  Returns 1 if
 * it found one. */
static int check_dead(sp_barrier *bar)
{
	struct sync_body *b = bar->y.b;

	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		/* Acquire: pairs with the joiner's release of its token. */
		uint32_t t = load_acquire(&bar->y.seg.slots[i].token);
		uint32_t c = load_relaxed(&b->ent[i].c);

		if (t == 0 || t == bar->y.seg.token || t == c || sp_seg_alive(&bar->y.seg, t))
			continue;
		/* Count each death once: whoever moves c to t breaks. */
		if (cas_acq_rel(&b->ent[i].c, &c, t))
			break_round(bar, 0, 0);
		return 1;
	}
	return 0;
}

/* The result of a party registered in `round` with index n, once the word
 * w shows another round. */
static int fate(sp_barrier *bar, uint32_t w, uint32_t round, uint32_t n)
{
	uint32_t e;

	if (((W_ROUND(w) - round) & ROUND_MASK) == 1)
		return w & W_PASSED ? (int)n : -EPIPE;
	/* Acquire: pairs with the helper's marks, published by its CAS. */
	e = load_acquire(&bar->y.b->ent[bar->y.idx].b);
	if (e == ENT(round, BAR_PASSED))
		return (int)n;
	return e == ENT(round, BAR_BROKEN) ? -EPIPE : -EBADMSG;
}

/* Sleeps on the word w for one slice of wt; a whole slice looks for dead
 * participants.  Returns 0 (look again) or sp_wait_sleep()'s -errno. */
static int sleep_on(sp_barrier *bar, struct sp_wait *wt, uint32_t w)
{
	int rc = sp_wait_sleep(wt, &bar->y.b->count, w);

	if (rc == 1)
		check_dead(bar);
	return rc < 0 ? rc : 0;
}

int sp_barrier_wait_action(sp_barrier *bar, long long timeout_ns, int (*action)(void *arg),
			   void *arg)
{
	struct sync_body *b = bar->y.b;
	struct sync_ent *me = &b->ent[bar->y.idx];
	uint32_t parties = bar->y.g.param, w, n, r;
	struct sp_wait wt;
	int rc;

	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;
	sp_wait_start(&wt, timeout_ns);
	/* Arrive: counted in round r with index n, or the last. */
	w = load_acquire(&b->count);
	for (;;) {
		if (w & W_BROKEN)
			return -EPIPE;
		n = W_ARRIVED(w);
		r = W_ROUND(w);
		if (n > parties) {
			break_round(bar, 0, 0);
			return -EBADMSG;
		}
		if (n == parties) {
			/* The round's action runs: ours is the next round.  We
			 * are in no round yet, so running out breaks none. */
			rc = sleep_on(bar, &wt, w);
			if (rc < 0)
				return rc;
			w = load_acquire(&b->count);
			continue;
		}
		if (n + 1 == parties && !action) {
			/* The last arrival: everyone of this round passes. */
			help(bar, w);
			CRASH_POINT("barrier.helped");
			if (cas_acq_rel(&b->count, &w, W_MAKE(r + 1, 1))) {
				sp_wake(&b->count, SP_WAKE_ALL);
				return (int)n;
			}
			continue;
		}
		store_relaxed(&me->token, bar->y.seg.token);
		store_relaxed(&me->b, ENT(r, BAR_WAITING));
		if (cas_acq_rel(&b->count, &w, w + 1))
			break;
	}
	CRASH_POINT("barrier.arrived");
	if (n + 1 == parties) {
		/* The last, with an action: it runs before anyone is released.
		 * Then pass the round from the word we made, unless a timeout,
		 * an abort or a reset ended it meanwhile (the CAS fails, and
		 * the round's fate is read below as any waiter's). */
		uint32_t mine = w + 1;   /* the word our arrival made */

		rc = action(arg);
		CRASH_POINT("barrier.action");
		w = mine;
		if (rc) {
			break_round(bar, 1, r);
			return -ECANCELED;
		}
		help(bar, w);
		if (cas_acq_rel(&b->count, &w, W_MAKE(r + 1, 1))) {
			sp_wake(&b->count, SP_WAKE_ALL);
			return (int)n;
		}
	}
	for (;;) {
		w = load_acquire(&b->count);
		if (W_ROUND(w) != r)
			return fate(bar, w, r, n);
		if (w & W_BROKEN)
			return -EPIPE;
		rc = sleep_on(bar, &wt, w);
		if (rc < 0) {
			/* Our time ran out first: the round breaks, unless it
			 * ended (or broke) meanwhile; then its outcome stands. */
			if (break_round(bar, 1, r))
				return rc;
			w = load_acquire(&b->count);
			return W_ROUND(w) != r ? fate(bar, w, r, n) : -EPIPE;
		}
	}
}

int sp_barrier_wait(sp_barrier *bar, long long timeout_ns)
{
	return sp_barrier_wait_action(bar, timeout_ns, NULL, NULL);
}

int sp_barrier_reset(sp_barrier *bar)
{
	struct sync_body *b = bar->y.b;
	uint32_t w;

	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;
	/* Deaths seen so far are forgiven: mark every dead slot counted. */
	for (uint32_t i = 0; i < bar->y.seg.nslots; i++) {
		uint32_t t = load_acquire(&bar->y.seg.slots[i].token);

		if (t && t != bar->y.seg.token && !sp_seg_alive(&bar->y.seg, t))
			store_relaxed(&b->ent[i].c, t);
	}
	/* A new round, not passed: the current round's waiters get -EPIPE. */
	w = load_acquire(&b->count);
	do
		help(bar, w);
	while (!cas_acq_rel(&b->count, &w, W_MAKE(W_ROUND(w) + 1, 0)));
	sp_wake(&b->count, SP_WAKE_ALL);
	return 0;
}

int sp_barrier_abort(sp_barrier *bar)
{
	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;
	break_round(bar, 0, 0);
	return 0;
}

unsigned sp_barrier_parties(sp_barrier *bar)
{
	return bar->y.g.param;
}

unsigned sp_barrier_n_waiting(sp_barrier *bar)
{
	/* Relaxed: a snapshot. */
	uint32_t w = load_relaxed(&bar->y.b->count);

	if (sp_seg_inherited(&bar->y.seg))
		return 0;
	if ((w & W_BROKEN) || W_ARRIVED(w) > bar->y.g.param)
		return 0;
	/* While the action runs, its runner is not waiting. */
	return W_ARRIVED(w) < bar->y.g.param ? W_ARRIVED(w) : bar->y.g.param - 1;
}

int sp_barrier_broken(sp_barrier *bar)
{
	if (sp_seg_inherited(&bar->y.seg))
		return -ECHILD;
	return (load_relaxed(&bar->y.b->count) & W_BROKEN) != 0;
}
