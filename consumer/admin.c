/* admin.c: ring administration for scripts: --list, --info NAME, --remove NAME. */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

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

int admin_list(void)
{
	DIR *d = opendir(SHM_DIR);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		warnmsg(SHM_DIR, strerror(errno));
		return EX_OSERR;
	}
	/* A ring NAME is the segment shmpipe.NAME beside its shmpipe.NAME.lock;
	 * semaphores are sem.shmpipe.*, so they never match. */
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

	printf("%-24s %9s %6s %7s %7s %8s %4s %5s %8s %s\n", "NAME", "PRODUCERS", "SEALED",
	       "WRITING", "READING", "ATTACHED", "DEAD", "FILL%", "RECORDS", "STATE");
	for (size_t i = 0; i < n; i++) {
		struct sp_ring_stat st;
		sp_ring *r;
		int rc = open_stat(names[i], &r, &st);

		if (rc < 0) {
			printf("%-24s %9s %6s %7s %7s %8s %4s %5s %8s error:%s\n", names[i], "-", "-",
			       "-", "-", "-", "-", "-", "-",
			       rc == -EPROTO || rc == -EBADMSG ? "not-a-ring" : strerror(-rc));
		} else {
			printf("%-24s %9u %6u %7u %7u %8u %4u %5.1f %8llu %s\n", names[i], st.writers,
			       st.sealed, st.writers_live, st.readers, st.attached, st.dead,
			       st.capacity ? 100.0 * (double)st.used / (double)st.capacity : 0.0,
			       (unsigned long long)st.records, state_of(&st));
			sp_ring_close(r);
		}
		free(names[i]);
	}
	free(names);
	return EX_OK;
}

int admin_info(const char *name)
{
	struct sp_ring_stat st;
	sp_ring *r;
	int rc = sp_name_check(name);

	if (rc == 0)
		rc = open_stat(name, &r, &st);
	if (rc < 0) {
		warnmsg(name, rc == -ENOENT ? "no such ring"
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
		warnmsg(name, rc == -ENOENT ? "no such ring" : strerror(-rc));
		return rc == -ENOENT || rc == -EINVAL || rc == -ENAMETOOLONG ? EX_NOINPUT : EX_OSERR;
	}
	return EX_OK;
}
