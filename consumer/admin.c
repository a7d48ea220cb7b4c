/* admin.c: ring administration for scripts: --list, --info, --remove, --remove-stale. */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "shared/shm.h"

#define SHM_DIR "/dev/shm"
#define SEG_PREFIX "shmpipe."

/* Attaching to look counts as one participant: the figures shown leave
 * this handle out. */
static int open_stat(const char *name, sp_ring **r, struct sp_ring_stat *st)
{
	int rc = sp_ring_open(name, 0, NULL, r);

	if (rc < 0)
		return rc;
	rc = sp_ring_stat(*r, st);
	if (rc < 0) {
		sp_ring_close(*r);
		return rc;
	}
	if (st->attached)
		st->attached--;
	return 0;
}

static const char *state_of(const struct sp_ring_stat *st)
{
	if (st->sealed >= st->writers)
		return st->records ? "closed" : "done";
	return "open";
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every object of the library as the kernel and the segments tell, read
 * without attaching: attaching takes a free slot, and a slot whose holder
 * died counts as free, so an observer that attached would erase the
 * evidence of a ring whose participants all died. */
struct objs {
	struct sp_obj_info *v;
	size_t n, cap;
};

static int collect_obj(const struct sp_obj_info *i, void *arg)
{
	struct objs *o = arg;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 16;
		struct sp_obj_info *nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv)
			return 1;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n++] = *i;
	return 0;
}

static const struct sp_obj_info *find_obj(const struct objs *o, const char *name)
{
	for (size_t k = 0; k < o->n; k++)
		if (strcmp(o->v[k].name, name) == 0)
			return &o->v[k];
	return NULL;
}

/* Mirrors the library's rule (sp_objects_remove_stale): nobody alive is
 * attached, and it is unfinished, a lone lock file, or someone died in it. */
static int stale(const struct sp_obj_info *i)
{
	if (i->attached || i->state == SP_OBJ_FOREIGN)
		return 0;
	return i->state != SP_OBJ_OK || i->dead;
}

int admin_list(void)
{
	DIR *d = opendir(SHM_DIR);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		prog_warn(SHM_DIR, strerror(errno));
		return EX_OSERR;
	}
	/* A ring NAME is the segment shmpipe.NAME beside its shmpipe.NAME.lock. */
	while ((e = readdir(d)) != NULL) {
		char lock[512];
		const char *nm = e->d_name;

		if (strncmp(nm, SEG_PREFIX, sizeof(SEG_PREFIX) - 1) != 0)
			continue;
		snprintf(lock, sizeof(lock), SHM_DIR "/%s.lock", nm);
		if (access(lock, F_OK) < 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(nm + sizeof(SEG_PREFIX) - 1)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	struct objs objs = { 0 };

	sp_objects_list(collect_obj, &objs);

	printf("%-24s %9s %6s %7s %7s %8s %4s %5s %8s %s\n", "NAME", "PRODUCERS", "SEALED",
	       "WRITING", "READING", "ATTACHED", "DEAD", "FILL%", "RECORDS", "STATE");
	for (size_t i = 0; i < n; i++) {
		const struct sp_obj_info *oi = find_obj(&objs, names[i]);
		struct sp_ring_stat st;
		sp_ring *r;
		int rc;

		if (oi && stale(oi)) {
			/* Not attached to: see objs above. */
			printf("%-24s %9s %6s %7s %7s %8u %4u %5s %8s stale\n", names[i], "-", "-",
			       "-", "-", oi->attached, oi->dead, "-", "-");
			free(names[i]);
			continue;
		}
		rc = open_stat(names[i], &r, &st);
		if (rc < 0) {
			printf("%-24s %9s %6s %7s %7s %8s %4s %5s %8s error:%s\n", names[i], "-", "-",
			       "-", "-", "-", "-", "-", "-",
			       rc == -EPROTO || rc == -EBADMSG ? "not-a-ring" : strerror(-rc));
		} else {
			printf("%-24s %9u %6u %7u %7u %8u %4u %5.1f %8llu %s\n", names[i], st.writers,
			       st.sealed, st.writers_live, st.readers, st.attached,
			       oi ? oi->dead : st.dead,
			       st.capacity ? 100.0 * (double)st.used / (double)st.capacity : 0.0,
			       (unsigned long long)st.records, state_of(&st));
			sp_ring_close(r);
		}
		free(names[i]);
	}
	free(names);
	free(objs.v);
	return EX_OK;
}

int admin_info(const char *name)
{
	struct sp_ring_stat st;
	struct objs objs = { 0 };
	const struct sp_obj_info *oi;
	sp_ring *r;
	int rc = sp_name_check(name);

	if (rc == 0) {
		sp_objects_list(collect_obj, &objs);
		oi = find_obj(&objs, name);
		if (oi && stale(oi)) {
			/* Not attached to: see objs above. */
			printf("name=%s\nstate=stale\nattached=%u\ndead=%u\n", name, oi->attached,
			       oi->dead);
			free(objs.v);
			return EX_OK;
		}
		free(objs.v);
		rc = open_stat(name, &r, &st);
	}
	if (rc < 0) {
		prog_warn(name, rc == -ENOENT ? "no such ring"
				: rc == -EPROTO || rc == -EBADMSG ? "not a ring of this version, or corrupt"
				: strerror(-rc));
		return rc == -ENOENT || rc == -EINVAL || rc == -ENAMETOOLONG ? EX_NOINPUT
		       : rc == -EPROTO || rc == -EBADMSG ? EX_PROTOCOL : EX_OSERR;
	}
	printf("name=%s\n", name);
	printf("state=%s\n", state_of(&st));
	printf("capacity=%llu\n", (unsigned long long)st.capacity);
	printf("max_record=%llu\n", (unsigned long long)st.max_record);
	printf("used=%llu\n", (unsigned long long)st.used);
	printf("fill_percent=%.1f\n",
	       st.capacity ? 100.0 * (double)st.used / (double)st.capacity : 0.0);
	printf("records=%llu\n", (unsigned long long)st.records);
	printf("records_in=%llu\n", (unsigned long long)st.recs_in);
	printf("bytes_in=%llu\n", (unsigned long long)st.bytes_in);
	printf("records_out=%llu\n", (unsigned long long)st.recs_out);
	printf("bytes_out=%llu\n", (unsigned long long)st.bytes_out);
	printf("producers=%u\n", st.writers);
	printf("sealed=%u\n", st.sealed);
	printf("attached=%u\n", st.attached);
	printf("writers_live=%u\n", st.writers_live);
	printf("readers=%u\n", st.readers);
	printf("dead=%u\n", st.dead);
	printf("readers_waiting=%u\n", st.readers_waiting);
	printf("writers_waiting=%u\n", st.writers_waiting);
	sp_ring_close(r);
	return EX_OK;
}

int admin_remove(const char *name)
{
	int rc = sp_name_check(name);

	if (rc == 0)
		rc = sp_ring_unlink(name);
	if (rc < 0) {
		prog_warn(name, rc == -ENOENT ? "no such ring" : strerror(-rc));
		return rc == -ENOENT || rc == -EINVAL || rc == -ENAMETOOLONG ? EX_NOINPUT : EX_OSERR;
	}
	return EX_OK;
}

struct stale_list {
	const char *prefix;
	char (*names)[SP_NAME_MAX + 1];
	char (*why)[64];
	size_t n, cap;
};

static int collect_stale(const struct sp_obj_info *i, void *arg)
{
	struct stale_list *l = arg;

	if (!stale(i) || (l->prefix && strncmp(i->name, l->prefix, strlen(l->prefix)) != 0))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *nn = realloc(l->names, cap * sizeof(*l->names));
		void *nw;

		if (!nn)
			return 1;
		l->names = nn;
		nw = realloc(l->why, cap * sizeof(*l->why));
		if (!nw)
			return 1;
		l->why = nw;
		l->cap = cap;
	}
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", i->name);
	if (i->state == SP_OBJ_UNFINISHED)
		snprintf(l->why[l->n], sizeof(l->why[0]), "%s, its creator died creating it",
			 i->kind_name);
	else if (i->state == SP_OBJ_LOCK_ONLY)
		snprintf(l->why[l->n], sizeof(l->why[0]), "a lock file without its segment");
	else
		snprintf(l->why[l->n], sizeof(l->why[0]), "%s, %u dead, none alive", i->kind_name,
			 i->dead);
	l->n++;
	return 0;
}

static int still_there(const struct sp_obj_info *i, void *arg)
{
	struct stale_list *l = arg;

	for (size_t k = 0; k < l->n; k++)
		if (strcmp(l->names[k], i->name) == 0)
			l->why[k][0] = 0;     /* not removed: someone attached meanwhile */
	return 0;
}

int admin_remove_stale(const char *prefix)
{
	struct stale_list l = { .prefix = prefix && *prefix ? prefix : NULL };
	int rc = sp_objects_list(collect_stale, &l);

	if (rc >= 0 && l.n)
		rc = sp_objects_remove_stale(l.prefix, 0);
	if (rc >= 0 && l.n)
		rc = sp_objects_list(still_there, &l);
	if (rc < 0) {
		prog_warn(SHM_DIR, strerror(-rc));
		free(l.names);
		free(l.why);
		return EX_OSERR;
	}
	/* Only what this call saw stale and is gone now: one line each. */
	for (size_t k = 0; k < l.n; k++)
		if (l.why[k][0])
			printf("removed %s (%s)\n", l.names[k], l.why[k]);
	free(l.names);
	free(l.why);
	return EX_OK;
}

void admin_note_dead(const char *name, int quiet)
{
	struct objs objs = { 0 };
	const struct sp_obj_info *oi;
	char msg[160], why[128];

	if (quiet)
		return;
	sp_objects_list(collect_obj, &objs);
	oi = find_obj(&objs, name);
	if (oi && stale(oi) && oi->dead && strcmp(oi->kind_name, "ring") == 0) {
		snprintf(msg, sizeof(msg), "ring %s", name);
		snprintf(why, sizeof(why), "resuming after %u participant%s died; what they held "
			 "is delivered again", oi->dead, oi->dead == 1 ? "" : "s");
		prog_warn(msg, why);
	}
	free(objs.v);
}
