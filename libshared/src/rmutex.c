/* rmutex.c: the robust shared-memory mutex: owner token, futex sleeps, take-over from the dead. */
#include "rmutex.h"

#include <errno.h>

#include "atomics.h"

/* Short spin before sleeping: a holder of an internal mutex keeps it for a
 * few stores, so a brief spin often saves two system calls. */
#define SPINS 100

int sp_rmutex_lock(const struct sp_seg *s, struct sp_rmutex *m, struct sp_wait *w)
{
	uint32_t me = s->token;
	/* A try (SP_NOWAIT) asks about the owner's liveness at once; a wait
	 * only after sleeping a whole slice, which keeps the system call off
	 * the path of an ordinary contended acquire. */
	int spins = 0, checked = w->timeout_ns != 0;

	for (;;) {
		uint32_t cur = 0;
		int rc;

		/* Acquire: everything the previous owner wrote before its
		 * releasing store (sp_rmutex_unlock) is visible to us. */
		if (cas_acq_rel(&m->owner, &cur, me))
			return 0;
		if (cur == me)
			return -EDEADLK;
		if (!sp_token_valid(s, cur))
			return -EBADMSG;
		if (w->timeout_ns != 0 && spins < SPINS) {
			spins++;
			cpu_relax();
			continue;
		}
		if (!checked) {
			checked = 1;
			if (!sp_seg_alive(s, cur)) {
				/* Take-over: acquire pairs with nothing the dead
				 * owner released; its stores are visible because
				 * the kernel saw it die (a full barrier) before
				 * it dropped the OFD lock we just tested. */
				if (cas_acq_rel(&m->owner, &cur, me))
					return -EOWNERDEAD;
				continue;
			}
		}
		/* seq_cst: the increment must be ordered before the kernel's
		 * read of owner in FUTEX_WAIT, against unlock's seq_cst store
		 * of owner followed by its load of waiters (a Dekker pair):
		 * either unlock sees us counted, or we see the new owner. */
		fetch_add_seq_cst(&m->waiters, 1);
		rc = sp_wait_sleep(w, &m->owner, cur);
		/* Relaxed: leaving, we need no unlock to see us; one that
		 * still does only wakes for nothing. */
		fetch_sub_relaxed(&m->waiters, 1);
		if (rc == 1)
			checked = 0;    /* a whole slice: ask about liveness again */
		if (rc < 0) {
			/* We may have been the one unlock woke: pass the
			 * wake-up on rather than strand another sleeper. */
			if (load_relaxed(&m->owner) == 0 && load_relaxed(&m->waiters))
				sp_wake(&m->owner, 1);
			return rc;
		}
	}
}

int sp_rmutex_enter(const struct sp_seg *s, struct sp_rmutex *m, struct sp_wait *w)
{
	struct sp_wait grace;
	int rc;

	if (w->timeout_ns != 0)
		return sp_rmutex_lock(s, m, w);
	/* A try: wait for a holder that is finishing, not for one that is not
	 * running (rmutex.h). */
	sp_wait_start_internal(&grace, SP_RMUTEX_TRY_NS);   /* 20 ms at most */
	rc = sp_rmutex_lock(s, m, &grace);
	return rc == -ETIMEDOUT ? -EAGAIN : rc;
}

int sp_rmutex_unlock(const struct sp_seg *s, struct sp_rmutex *m)
{
	if (load_relaxed(&m->owner) != s->token)
		return -EPERM;
	/* seq_cst store: releases the protected data to the next owner, and
	 * is the first half of the Dekker pair with a sleeper's increment of
	 * waiters (see sp_rmutex_lock). */
	store_seq_cst(&m->owner, 0);
	if (load_seq_cst(&m->waiters))
		sp_wake(&m->owner, 1);
	return 0;
}

int sp_rmutex_drop(const struct sp_seg *s, struct sp_rmutex *m)
{
	/* A forked child's copy of the handle carries its parent's token:
	 * the mutex, if held, is the parent's (fork.h). */
	if (sp_seg_inherited(s))
		return 0;
	return sp_rmutex_unlock(s, m) == 0;
}
