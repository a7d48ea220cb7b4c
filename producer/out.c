/* out.c: where the producer's records go, a ring or a batch on a broker (--broker), behind one reserve/commit/cancel, and the batch's seal. */
#include "producer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/*
 * With a ring, a record is reserved in shared memory, filled in place
 * (send.c reads files straight into it) and committed.  With a broker the
 * same bytes are built in p->rbuf and the commit is one sp_broker_put():
 * send.c does not know which.  The waits differ: the ring waits for room at
 * the reservation, the broker waits at the put, while its window is full
 * (only for a record that starts something new: a file's further parts
 * never wait).  Both wait in slices of SLICE_NS, so that a stop signal is
 * seen promptly.
 */

int out_failed(struct producer *p, const char *what, int rc)
{
	if (!p->fatal) {
		if (p->url)
			prog_warn_batch(p->batch, what, strerror(-rc));
		else
			prog_warn_ring(p->o.ring, what, rc == -EPIPE ? "the ring is closed (all its "
								       "producers finished)"
								     : strerror(-rc));
		p->fatal = rc;
	}
	return rc;
}

/* A broker call failed: says why in the broker's words. */
static int broker_failed(struct producer *p, const char *what, int rc)
{
	if (!p->fatal) {
		prog_warn_batch(p->batch, what, sp_broker_why(p->broker));
		p->fatal = rc;
	}
	return rc;
}

int out_status(const struct producer *p, int rc)
{
	switch (rc) {
	case -EPIPE:
		return EX_UNAVAILABLE;   /* closed: all its producers finished */
	case -EBADMSG:
		return EX_PROTOCOL;      /* a corrupt ring; the batch gone from the server */
	case -EINTR:
		return EX_TEMPFAIL;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
	case -EIO:
	case -EPROTO:
	case -EACCES:
	case -EAGAIN:
		/* The server cannot be reached (after the broker's retries),
		 * refused the login or a command (out of memory). */
		if (p->url)
			return EX_UNAVAILABLE;
		return EX_OSERR;
	default:
		return EX_OSERR;
	}
}

int out_open(struct producer *p)
{
	struct sp_broker_opts bo = { .producers = p->o.ro.writers, .window = p->window,
				     .stop = &prog_stop };
	const char *why = NULL;
	int rc;

	if (!p->url) {
		rc = prog_ring_open(&p->o, &p->ring);
		if (rc == 0)
			p->max_record = sp_ring_max_record(p->ring);
		return rc;
	}
	/* Untouched beyond the largest record built, as malloc maps it. */
	p->rbuf = malloc(SP_BROKER_MAX_RECORD);
	if (!p->rbuf) {
		prog_warn("memory", strerror(ENOMEM));
		return EX_OSERR;
	}
	p->max_record = SP_BROKER_MAX_RECORD;
	rc = sp_broker_open(p->url, &bo, &p->broker, &why);
	if (rc < 0) {
		prog_warn_batch(p->batch, NULL, why ? why : strerror(-rc));
		return rc == -EINVAL ? EX_USAGE : out_status(p, rc);
	}
	return 0;
}

int out_reserve(struct producer *p, size_t total, struct sp_msg *m, long long stop_wait_ns)
{
	double deadline = prog_now_sec() + stop_wait_ns / 1e9;
	int rc;

	if (p->broker) {
		if (prog_stop && stop_wait_ns == 0)
			return -EINTR;
		if (total > SP_BROKER_MAX_RECORD)       /* cannot happen: chunk_for() */
			return out_failed(p, "record", -EMSGSIZE);
		m->data = p->rbuf;
		m->len = total;
		return 0;
	}
	for (;;) {
		if (prog_stop && (stop_wait_ns == 0 || prog_now_sec() > deadline))
			return -EINTR;
		rc = sp_ring_reserve(p->ring, total, m, SLICE_NS);
		if (rc == 0)
			return 0;
		if (rc != -ETIMEDOUT && rc != -EAGAIN)
			return out_failed(p, "reserve", rc);
	}
}

/* Puts a record on the broker, waiting while its window is full. */
static int broker_put(struct producer *p, const void *rec, size_t len, long long stop_wait_ns)
{
	double deadline = prog_now_sec() + stop_wait_ns / 1e9;

	for (;;) {
		int rc = sp_broker_put(p->broker, rec, len, SLICE_NS);

		if (rc == 0 || rc == -EINTR)
			return rc;
		/* -EAGAIN: the window, still full after our slice; anything
		 * else (-ETIMEDOUT: the server away for retry_ms) fails. */
		if (rc != -EAGAIN)
			return broker_failed(p, "put", rc);
		if (prog_stop && (stop_wait_ns == 0 || prog_now_sec() > deadline))
			return -EINTR;
	}
}

int out_commit(struct producer *p, struct sp_msg *m, size_t len, long long stop_wait_ns)
{
	int rc;

	if (p->broker)
		return broker_put(p, m->data, len, stop_wait_ns);
	rc = sp_ring_commit(p->ring, m, len);
	return rc < 0 ? out_failed(p, "commit", rc) : 0;
}

int out_cancel(struct producer *p, struct sp_msg *m)
{
	return p->broker ? 0 : sp_ring_cancel(p->ring, m);
}

/* How long a producer that has sent everything waits for a consumer to
 * come back when none is attached, before it seals the ring anyway. */
#define LINGER_SEC 10.0

/*
 * Waits until consumers have taken and released every record in the ring,
 * so that the caller seals an empty ring.  Why: the record of a reader that
 * dies is handed to another reader only by readers waiting on an open ring;
 * once the ring is sealed and every record taken, readers are told at once
 * that it is drained, and a record still in a dead reader's hands would be
 * lost (docs/pipeline.md, "Crashes").  Returns at once if no consumer ever
 * took a record (one may start later: it drains a sealed ring), when
 * interrupted (everything was sent: seal), and after LINGER_SEC with no
 * other participant attached (say so).  Polls (sp_ring_stat() is a few
 * system calls): this runs once, at the end.  A broker needs none of it:
 * its entries stay pending until acknowledged, and a dead consumer's are
 * claimed by another after idle (docs/broker.md).
 */
static void wait_drained(struct producer *p)
{
	double alone_since = 0, t0 = prog_now_sec();
	long nap = 100000;      /* ns: the drain is often a matter of microseconds */

	for (;;) {
		struct sp_ring_stat st;
		struct timespec ts = { 0, nap };

		if (prog_stop || sp_ring_stat(p->ring, &st) < 0 || st.used == 0)
			return;
		if (st.attached > 1) {
			alone_since = 0;
		} else if (st.recs_out == 0) {
			return;
		} else if (alone_since == 0) {
			alone_since = prog_now_sec();
		} else if (prog_now_sec() - alone_since > LINGER_SEC) {
			if (!p->o.quiet)
				prog_warn_ring(p->o.ring, NULL, "no consumer attached for 10 s: "
						"sealing with records not yet consumed");
			return;
		}
		nanosleep(&ts, NULL);
		/* Up to every 2 ms (the consumers' end waits on us), and
		 * every 20 ms once the wait is long anyway. */
		if (prog_now_sec() - t0 > 1.0)
			nap = 20000000;
		else if (nap < 2000000)
			nap *= 2;
	}
}

int out_seal(struct producer *p)
{
	int rc;

	if (p->broker) {
		rc = sp_broker_seal(p->broker);
		if (rc < 0)
			return out_status(p, rc == -EINTR ? rc : broker_failed(p, "seal", rc));
		return 0;
	}
	wait_drained(p);
	rc = sp_ring_seal(p->ring);
	if (rc < 0) {
		prog_warn_ring(p->o.ring, "seal", strerror(-rc));
		return EX_OSERR;
	}
	return 0;
}

void out_close(struct producer *p)
{
	if (p->ring)
		sp_ring_close(p->ring);
	if (p->broker)
		sp_broker_close(p->broker);
	free(p->rbuf);
}
