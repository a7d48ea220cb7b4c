/* broker.c: --broker: a worker's loop over a batch on a Redis/Valkey stream, and the supervisor's join, keep and leave. */
#include "consumer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/*
 * Each worker is a member of the batch's consumer group, named
 * "<host>.<index>", with a connection of its own (libshared/broker/,
 * docs/broker.md).  It takes one entry at a time: a record, handled as a
 * record from the ring is (worker.c's handle()), or the announcement of a
 * parted file, whose PART and END records it reads from the file's own
 * stream into the same assembly (assemble.c), from its first part.  The
 * entry is acknowledged only once it is handled (written and verified, or
 * -x exited 0; a failure counted is handled too): at least once.  An entry
 * left on a stop or a death stays pending under the worker's name: the
 * replacement, of the same name, re-reads it first; if the whole host is
 * gone, another host claims it after claim_ms idle.  The supervisor keeps
 * the entries its live workers hold (and a dead one's, until its
 * replacement re-reads it) from being claimed.
 */

/* Waits on the server are cut into slices, so that a stop or a halt is
 * seen promptly: a blocked read is deaf to signals. */
#define SLICE_NS 200000000LL

/* How long the supervisor's calls retry a server that is away: a keep is
 * tried again at the next round anyway, and leaving is a courtesy (the
 * marker expires); the workers retry for the library's default, a minute,
 * and report the server lost.  A minute more here would only delay the
 * exit. */
#define SUP_RETRY_MS 5000

void broker_member(const struct options *opt, int index, char *out)
{
	/* index < MAX_JOBS: two digits at most. */
	snprintf(out, SP_BROKER_MEMBER_MAX + 1, "%s.%u", opt->host, (unsigned)index % 100);
}

int broker_status(int err)
{
	switch (err) {
	case -EBADMSG:
		return EX_PROTOCOL;     /* the batch's state is gone */
	case -EADDRINUSE:
		return EX_USAGE;        /* --host is a running consumer's */
	case -EINTR:
		return EX_TEMPFAIL;
	case -ENOMEM:
		return EX_OSERR;
	default:
		return EX_UNAVAILABLE;  /* unreachable, refused, a command refused */
	}
}

/* Publishes (or, with 0-0, withdraws) entry k of those this worker holds:
 * 0 the one in hand, 1 a parted file set aside. */
static void hold(struct worker *w, int k, uint64_t ms, uint64_t seq)
{
	struct bslot *s = &w->pool->bslots[w->index];
	uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed);

	atomic_store_explicit(&s->gen, g + 1, memory_order_relaxed);
	/* The odd gen is visible before either half changes. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->ms[k], ms, memory_order_relaxed);
	atomic_store_explicit(&s->seq[k], seq, memory_order_relaxed);
	/* Release: both halves are in before the gen says so. */
	atomic_store_explicit(&s->gen, g + 2, memory_order_release);
}

void broker_forget(struct pool *pool, int index)
{
	struct bslot *s = &pool->bslots[index];
	uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed);

	/* The worker is gone: the supervisor is the slot's only writer, with
	 * the protocol of hold(). */
	atomic_store_explicit(&s->gen, g + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int k = 0; k < BSLOT_IDS; k++) {
		atomic_store_explicit(&s->ms[k], 0, memory_order_relaxed);
		atomic_store_explicit(&s->seq[k], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&s->gen, g + 2, memory_order_release);
}

/* The record's type if it has a readable header (a path refused still
 * names its type), else 0. */
static unsigned record_type(const void *data, size_t len)
{
	struct sp_batch_rec r;
	int rc = sp_batch_decode(data, len, &r);

	return rc == 0 || rc == -EINVAL ? r.type : 0;
}

static void bad_entry(struct worker *w, const struct sp_broker_entry *e, const char *why)
{
	char what[96];

	COUNT(w, records, 1);
	COUNT(w, bad, 1);
	snprintf(what, sizeof(what), "entry %s", e->id);
	prog_warnpath(what, "record rejected", why);
}

/* take_file() found no record of the file for this long: the worker sets
 * it aside and takes other entries meanwhile, looking at the file between
 * them.  A producer killed while sending a file leaves it without its END
 * until every expected producer has sealed; a worker waiting on it alone
 * would acknowledge nothing, and a producer run again to finish the batch
 * would wait for ever on a full window. */
#define STALL_NS 1000000000LL
#define SET_ASIDE 2

/*
 * The records of the parted file e announces, from its first (or after
 * the last one read, for a file set aside), until its END.  Each wait is
 * wait_ns at most; with stall_ns >= 0, after that long without a record
 * it returns SET_ASIDE.  Returns handle()'s result (-EINTR also on a stop
 * or a halt: the file is left, to be started again), 0 when the file is
 * done or can never complete (its producer died sending it: the sweep at
 * the end reports it), SET_ASIDE, or 1 with *err set on a broker error.
 */
static int take_file(struct worker *w, sp_broker *b, struct sp_broker_entry *e,
		     int (*handle)(struct worker *, const void *, size_t), int *err,
		     long long wait_ns, long long stall_ns)
{
	int64_t since = prog_now_ns();

	for (;;) {
		const void *data;
		size_t len;
		int rc;

		if (prog_stop || halted(w))
			return -EINTR;
		rc = sp_broker_file_next(b, e, &data, &len, wait_ns);
		if (rc == -ETIMEDOUT) {
			if (stall_ns >= 0 && prog_now_ns() - since >= stall_ns)
				return SET_ASIDE;
			continue;
		}
		if (rc == -EPIPE) {
			/* The announcement and the file's first record are put
			 * in one step: a file of none was never announced by a
			 * producer of ours. */
			if (strcmp(e->last, "0-0") == 0)
				bad_entry(w, e, "an announced file with no records");
			return 0;
		}
		if (rc == -EALREADY)
			return 0;       /* finished by another: the sweep takes what we have of it */
		if (rc < 0) {
			*err = rc;
			return 1;
		}
		since = prog_now_ns();
		if (!data) {
			bad_entry(w, e, e->why);
			continue;
		}
		rc = handle(w, data, len);
		if (rc < 0)
			return rc;
		if (record_type(data, len) == SP_BATCH_END)
			return 0;
	}
}

int broker_work(struct worker *w, int (*handle)(struct worker *, const void *, size_t))
{
	const struct options *opt = w->opt;
	char member[SP_BROKER_MEMBER_MAX + 1];
	struct sp_broker_opts bo = {
		.producers = opt->o.ro.writers,
		.member = member,
		.claim_ms = opt->claim_ms,
		.stop = &prog_stop,
		.batch_id = w->pool->batch_id,
	};
	const char *why = NULL;
	sp_broker *b;
	int rc, err = 0;

	broker_member(opt, w->index, member);
	/* The batch the supervisor joined, or none: a worker started as it
	 * completes (a replacement, or a late start) must not make a new
	 * batch of the name and wait on it. */
	rc = sp_broker_open(opt->broker, &bo, &b, &why);
	if (rc < 0) {
		if (rc == -EINTR) {
			atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
			return 0;
		}
		if (rc == -EPIPE) {
			atomic_store_explicit(&w->st->eos, 1, memory_order_relaxed);
			return 0;
		}
		prog_warn_batch(opt->burl.name, "connect", why ? why : strerror(-rc));
		atomic_store_explicit(&w->st->fatal, rc, memory_order_relaxed);
		return rc;
	}
	/* A parted file whose records stalled, set aside (one at most). */
	struct sp_broker_entry aside;
	int has_aside = 0;

	for (;;) {
		struct sp_broker_entry e;
		int k = 0;

		if (prog_stop || halted(w)) {
			atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
			break;
		}
		if (has_aside) {
			/* What came of it since, without waiting. */
			rc = take_file(w, b, &aside, handle, &err, 1000000, 0);
			if (rc != SET_ASIDE) {
				e = aside;
				has_aside = 0;
				k = 1;
				goto done;
			}
		}
		rc = sp_broker_take(b, &e, SLICE_NS);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == -EPIPE) {
			atomic_store_explicit(&w->st->eos, 1, memory_order_relaxed);
			break;
		}
		if (rc < 0) {
			err = rc;
			break;
		}
		if (has_aside && e.id_ms == aside.id_ms && e.id_seq == aside.id_seq) {
			/* Handed to us again (our entries are re-read once
			 * after a reconnection): it stays aside, read on from
			 * where it was. */
			sp_broker_drop(&e);
			continue;
		}
		hold(w, 0, e.id_ms, e.id_seq);
		if (e.kind == SP_BROKER_RECORD) {
			rc = handle(w, e.data, e.len);
		} else if (e.kind == SP_BROKER_FILE) {
			rc = take_file(w, b, &e, handle, &err, SLICE_NS, has_aside ? -1 : STALL_NS);
			if (rc == SET_ASIDE) {
				aside = e;
				has_aside = 1;
				hold(w, 1, e.id_ms, e.id_seq);
				hold(w, 0, 0, 0);
				continue;
			}
		} else {
			bad_entry(w, &e, e.why);
			rc = 0;
		}
done:
		if (rc == 1 || rc == -EINTR) {
			/* Left unacknowledged: ours in the group still, for a
			 * replacement of our name, or another host. */
			sp_broker_drop(&e);
			break;
		}
		int arc = sp_broker_ack(b, &e);

		hold(w, k, 0, 0);
		if (arc < 0) {
			err = arc;
			break;
		}
		if (rc < 0)
			break;
	}
	if (has_aside)
		sp_broker_drop(&aside);     /* left ours, as the one in hand */
	if (rc == -EINTR || err == -EINTR) {
		atomic_store_explicit(&w->st->stopped, 1, memory_order_relaxed);
	} else if (err < 0) {
		prog_warn_batch(opt->burl.name, "take", sp_broker_why(b));
		atomic_store_explicit(&w->st->fatal, err, memory_order_relaxed);
	}
	sp_broker_close(b);
	return err < 0 && err != -EINTR ? err : 0;
}

int broker_join(const struct options *opt, struct pool *pool, sp_broker **out)
{
	struct sp_broker_opts bo = {
		.producers = opt->o.ro.writers,
		.claim_ms = opt->claim_ms,
		.retry_ms = SUP_RETRY_MS,
		.stop = &prog_stop,
		.host = opt->host,
	};
	const char *why = NULL;
	int rc = sp_broker_open(opt->broker, &bo, out, &why);

	if (rc < 0) {
		if (rc == -EINTR)
			return EX_TEMPFAIL;
		prog_warn_batch(opt->burl.name, "connect", why ? why : strerror(-rc));
		return broker_status(rc);
	}
	/* A batch complete already (we came late, or again after a crash)
	 * is joined all the same: the workers see its end at once, and the
	 * clean-up after them sweeps what a consumer killed at the end left. */
	snprintf(pool->batch_id, sizeof(pool->batch_id), "%s", sp_broker_batch_id(*out));
	return 0;
}

void broker_keep(sp_broker *b, const struct options *opt, const struct pool *pool)
{
	char names[MAX_JOBS * BSLOT_IDS][SP_BROKER_MEMBER_MAX + 1], ids[MAX_JOBS * BSLOT_IDS][48];
	const char *np[MAX_JOBS * BSLOT_IDS], *ip[MAX_JOBS * BSLOT_IDS];
	int n = 0;

	for (int i = 0; i < opt->jobs; i++) {
		const struct bslot *s = &pool->bslots[i];
		uint64_t g = atomic_load_explicit(&s->gen, memory_order_acquire);
		uint64_t ms[BSLOT_IDS], seq[BSLOT_IDS];

		for (int k = 0; k < BSLOT_IDS; k++) {
			ms[k] = atomic_load_explicit(&s->ms[k], memory_order_relaxed);
			seq[k] = atomic_load_explicit(&s->seq[k], memory_order_relaxed);
		}
		/* The ids are read before the gen is read again. */
		atomic_thread_fence(memory_order_acquire);
		if ((g & 1) || atomic_load_explicit(&s->gen, memory_order_relaxed) != g)
			continue;      /* changing: next time */
		for (int k = 0; k < BSLOT_IDS; k++) {
			if (ms[k] == 0 && seq[k] == 0)
				continue;
			broker_member(opt, i, names[n]);
			snprintf(ids[n], sizeof(ids[n]), "%llu-%llu", (unsigned long long)ms[k],
				 (unsigned long long)seq[k]);
			np[n] = names[n];
			ip[n] = ids[n];
			n++;
		}
	}
	/* A failure here is the workers' too, and they report it; an entry
	 * not kept this time is kept next time, well within claim_ms.  Our
	 * name taken by another consumer while we were stopped is said once:
	 * both go on (an entry is handled at least once either way). */
	static int said;

	if (sp_broker_keep(b, n, np, ip) == -EADDRINUSE && !said++ && !opt->o.quiet)
		prog_warn_batch(opt->burl.name, "keep", sp_broker_why(b));
}

void broker_leave(sp_broker *b, const struct options *opt)
{
	if (!b)
		return;
	int rc = sp_broker_host_leave(b);

	if (rc < 0 && rc != -EINTR && !opt->o.quiet)
		prog_warn_batch(opt->burl.name, "leave", sp_broker_why(b));
	sp_broker_close(b);
}
