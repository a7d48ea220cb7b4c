/* opts.c: the options producer and consumer take alike (the ring, its geometry, progress, --stats, -q) and the ring's messages. */
#include "prog.h"

#include <errno.h>
#include <string.h>
#include <sysexits.h>

int prog_option(struct prog_opts *o, int opt, const char *arg)
{
	uint64_t sz;
	long v;

	switch (opt) {
	case 'r':
		o->ring = arg;
		return 1;
	case PROG_OPT_CAPACITY:
		if (prog_parse_bytes(arg, &sz) < 0 || sz < SP_RING_MIN_CAPACITY ||
		    sz > SP_RING_MAX_CAPACITY)
			prog_die_usage("--capacity", "expected a size from 4K to 4G");
		/* The ring wants a power of two: round up. */
		o->ro.capacity = SP_RING_MIN_CAPACITY;
		while (o->ro.capacity < sz)
			o->ro.capacity <<= 1;
		o->capacity_set = 1;
		return 1;
	case PROG_OPT_PRODUCERS:
		if (prog_parse_int(arg, 1, SP_RING_MAX_PARTICIPANTS, &v) < 0)
			prog_die_usage("--producers", "expected a number from 1 to 128");
		o->ro.writers = (unsigned)v;
		return 1;
	case PROG_OPT_PROGRESS:
		o->progress = 1;
		return 1;
	case PROG_OPT_STATS:
		o->want_stats = 1;
		o->stats_file = arg;
		return 1;
	case 'q':
		o->quiet = 1;
		return 1;
	default:
		return 0;
	}
}

void prog_ring_required(const struct prog_opts *o)
{
	if (!o->ring)
		prog_die_usage("--ring", "a ring name is required");
	if (sp_name_check(o->ring) < 0)
		prog_die_usage(o->ring, "bad ring name (1-100 characters of [A-Za-z0-9._-])");
}

/* "prog: KIND NAME: what: why", or "prog: KIND NAME: why" without what. */
static void warn_named(const char *kind, const char *name, const char *what, const char *why)
{
	char msg[192];

	if (what)
		snprintf(msg, sizeof(msg), "%s %s: %s", kind, name, what);
	else
		snprintf(msg, sizeof(msg), "%s %s", kind, name);
	prog_warn(msg, why);
}

void prog_warn_ring(const char *ring, const char *what, const char *why)
{
	warn_named("ring", ring, what, why);
}

void prog_warn_batch(const char *batch, const char *what, const char *why)
{
	warn_named("batch", batch, what, why);
}

int prog_ring_open(const struct prog_opts *o, sp_ring **ring)
{
	int rc = sp_ring_open(o->ring, SP_CREATE, &o->ro, ring);
	int corrupt = rc == -EPROTO || rc == -EBADMSG;

	if (rc == 0)
		return 0;
	prog_warn_ring(o->ring, NULL, corrupt ? "not a ring of this version, or corrupt"
					      : strerror(-rc));
	return corrupt ? EX_PROTOCOL : EX_OSERR;
}
