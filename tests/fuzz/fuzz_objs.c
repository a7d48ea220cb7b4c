/* fuzz_objs.c: libFuzzer target: a dict, list, Value, Semaphore or SharedMemory whose segment a hostile peer rewrites, before and while it is attached and used. */
/*
 * The first input byte picks the kind (low 3 bits) and whether its lock is
 * left held by a dead owner with an open undo journal (bit 7), as a process
 * killed inside an update leaves it.  The rest are a hostile peer's edits
 * to the segment (peer.h): before we attach, between our checks and their
 * use, and inside our calls, at the crash points "undo.checked" (between
 * the journal's check and its writes), "dict.found" (between a lookup and
 * the use of what it found) and "list.locked" (after the list's head and
 * count were read and checked).  The object is made by a handle that closes
 * before we attach, so that no live participant can hold its lock (a lock
 * held by a live peer is waited for, by design); it is then attached and
 * driven.  Whatever the edits, every call must return without touching
 * memory outside the mapping.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/list.h"
#include "shared/shm.h"
#include "shared/sync.h"
#include "shared/value.h"
#include "peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Layouts (seg.h, dict.c, list.c, journal.h): every body at 8320; the
 * dict's and the list's lock at +56 and +32, their journals at +128. */
#define BODY_OFF 8320u
#define JNL_OFF (BODY_OFF + 128u)

enum { K_DICT, K_LIST, K_VALUE, K_SEM, K_SHM, K_MAX };

/* Leaves the lock at body+lock_off held by a dead token (slot 5's, a
 * slot nobody holds) with a journal of three records naming the three words
 * at body+words (the dict's active, count, tombs; the list's head, count,
 * spare), to be restored to 0, 1 and 2. */
static void dead_owner(unsigned char *seg, unsigned lock_off, unsigned words)
{
	uint32_t tok = (6u << 24) | 1, n = 3;

	memcpy(seg + BODY_OFF + lock_off, &tok, 4);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = BODY_OFF + words + 4 * i, w = 4;
		uint64_t old = i;

		memcpy(seg + JNL_OFF + 8 + 16 * i, &off, 4);
		memcpy(seg + JNL_OFF + 12 + 16 * i, &w, 4);
		memcpy(seg + JNL_OFF + 16 + 16 * i, &old, 8);
	}
	memcpy(seg + JNL_OFF, &n, 4);
}

static int make(unsigned kind, const char *name)
{
	struct sp_dict_opts dopt = { .capacity = 8, .key_max = 16, .val_max = 32 };
	struct sp_list_opts lopt = { .capacity = 8, .item_max = 32 };
	struct sp_value_opts vopt = { .type = SP_I32, .length = 16, .flags = SP_VALUE_LOCK };
	struct sp_sem_opts sopt = { .value = 2, .flags = SP_SEM_BOUNDED | SP_SEM_UNDO };
	char k[8];
	int rc = -1;

	switch (kind) {
	case K_DICT: {
		sp_dict *d;

		if ((rc = sp_dict_open(name, SP_CREATE | SP_EXCL, &dopt, &d)) == 0) {
			for (int i = 0; i < 5; i++) {
				snprintf(k, sizeof(k), "k%d", i);
				sp_dict_set(d, k, strlen(k), "value", 5);
			}
			sp_dict_delete(d, "k1", 2);
			sp_dict_close(d);
		}
		break;
	}
	case K_LIST: {
		sp_list *l;

		if ((rc = sp_list_open(name, SP_CREATE | SP_EXCL, &lopt, &l)) == 0) {
			for (int i = 0; i < 5; i++)
				sp_list_append(l, "item", 4);
			sp_list_popleft(l, k, sizeof(k), NULL);
			sp_list_close(l);
		}
		break;
	}
	case K_VALUE: {
		sp_value *v;

		if ((rc = sp_value_open(name, SP_CREATE | SP_EXCL, &vopt, &v)) == 0)
			sp_value_close(v);
		break;
	}
	case K_SEM: {
		sp_sem *s;

		if ((rc = sp_sem_open(name, SP_CREATE | SP_EXCL, &sopt, &s)) == 0)
			sp_sem_close(s);
		break;
	}
	default: {
		sp_shm *m;

		if ((rc = sp_shm_open(name, SP_CREATE | SP_EXCL, 4096, 0, &m)) == 0)
			sp_shm_close(m);
		break;
	}
	}
	return rc;
}

static void drive(unsigned kind, const char *name)
{
	char k[8], buf[64];
	size_t len;

	switch (kind) {
	case K_DICT: {
		sp_dict *d;
		uint64_t pos = 0;

		if (sp_dict_open(name, 0, NULL, &d))
			return;
		peer.phase = 2;
		for (int i = 0; i < 12; i++) {
			snprintf(k, sizeof(k), "k%d", i % 7);
			sp_dict_get(d, k, strlen(k), buf, sizeof(buf), &len);
			sp_dict_set(d, k, strlen(k), buf, (size_t)i * 3);
			sp_dict_cas(d, k, strlen(k), "value", 5, "x", 1);
			if (i % 3 == 0)
				sp_dict_delete(d, k, strlen(k));
			sp_dict_next(d, &pos, k, sizeof(k), &len, buf, sizeof(buf), &len);
		}
		sp_dict_len(d);
		sp_dict_close(d);
		break;
	}
	case K_LIST: {
		sp_list *l;

		if (sp_list_open(name, 0, NULL, &l))
			return;
		peer.phase = 2;
		for (int i = 0; i < 12; i++) {
			sp_list_get(l, i % 5 - 2, buf, sizeof(buf), &len);
			sp_list_set(l, i % 4, "set", 3);
			sp_list_append(l, buf, (size_t)i * 2);
			sp_list_appendleft(l, "left", 4);
			sp_list_pop(l, buf, sizeof(buf), &len);
			sp_list_popleft(l, buf, (size_t)i, &len);
		}
		sp_list_len(l);
		sp_list_clear(l);
		sp_list_close(l);
		break;
	}
	case K_VALUE: {
		sp_value *v;
		int64_t x = 0;

		if (sp_value_open(name, 0, NULL, &v))
			return;
		peer.phase = 2;
		for (uint64_t i = 0; i < 20; i++) {
			sp_value_add(v, i, 1, &x);
			sp_value_get(v, i, &x);
			sp_value_cas(v, i, &x, 7);
		}
		sp_value_write(v, 8, "abcdefgh", 8);
		sp_value_read(v, 0, buf, 64);
		if (sp_value_lock(v, SP_NOWAIT) == 0)
			sp_value_unlock(v);
		sp_value_close(v);
		break;
	}
	case K_SEM: {
		sp_sem *s;

		if (sp_sem_open(name, 0, NULL, &s))
			return;
		peer.phase = 2;
		for (int i = 0; i < 5; i++) {
			sp_sem_acquire(s, SP_NOWAIT);
			sp_sem_value(s);
			sp_sem_held(s);
			if (i % 2)
				sp_sem_release(s, 1);
		}
		sp_sem_close(s);
		break;
	}
	default: {
		sp_shm *m;

		if (sp_shm_open(name, 0, 0, 0, &m))
			return;
		peer.phase = 2;
		memset(sp_shm_data(m), 0x5a, sp_shm_size(m));
		sp_shm_close(m);
		break;
	}
	}
}

/* Removes NAME's files whatever the edits made of them (an object whose
 * kind word was rewritten is refused by the kinds' own unlink). */
static void remove_object(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "/shmpipe.%s", name);
	shm_unlink(path);
	snprintf(path, sizeof(path), "/dev/shm/shmpipe.%s.lock", name);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned kind = size ? (data[0] & 7) % K_MAX : K_DICT;
	char name[64], shm[80];
	unsigned char *seg;
	size_t seg_size;
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "fuzzo-%ld", (long)getpid());
	snprintf(shm, sizeof(shm), "/shmpipe.%s", name);
	remove_object(name);
	if (make(kind, name))
		return 0;
	fd = shm_open(shm, O_RDWR, 0);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)BODY_OFF) {
		close(fd);
		goto out;
	}
	seg_size = (size_t)st.st_size;
	seg = mmap(NULL, seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (seg == MAP_FAILED)
		goto out;
	if (size && (data[0] & 0x80) && (kind == K_DICT || kind == K_LIST))
		dead_owner(seg, kind == K_DICT ? 56 : 32, kind == K_DICT ? 64 : 40);
	peer_start(data, size, seg, seg_size);
	drive(kind, name);
	peer_stop();
	munmap(seg, seg_size);
out:
	remove_object(name);
	return 0;
}
