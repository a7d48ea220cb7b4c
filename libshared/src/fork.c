/* fork.c: the registry of this process's open handles, and the fork handler that disowns them in a child (see fork.h). */
#include "fork.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sp_handle *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static int reg_err;

static void on_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void on_parent(void)
{
	pthread_mutex_unlock(&reg_lock);
}

/* In the child, which has one thread (the forking one, which holds
 * reg_lock): only async-signal-safe calls.  Our copies of the handles'
 * descriptors close; the parent's hold the same open file descriptions,
 * so nothing the parent holds is released. */
static void on_child(void)
{
	for (struct sp_handle *h = reg_head; h; h = h->next) {
		for (int i = 0; i < SP_HANDLE_FDS; i++) {
			if (h->fd[i] >= 0)
				close(h->fd[i]);
			h->fd[i] = -1;
		}
		h->inherited = 1;
	}
	pthread_mutex_unlock(&reg_lock);
}

static void install(void)
{
	reg_err = pthread_atfork(on_prepare, on_parent, on_child);
}

int sp_handle_add(struct sp_handle *h)
{
	pthread_once(&reg_once, install);
	if (reg_err)
		return -reg_err;
	for (int i = 0; i < SP_HANDLE_FDS; i++)
		h->fd[i] = -1;
	h->inherited = 0;
	h->prev = NULL;
	pthread_mutex_lock(&reg_lock);
	h->next = reg_head;
	if (reg_head)
		reg_head->prev = h;
	reg_head = h;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void sp_handle_remove(struct sp_handle *h)
{
	pthread_mutex_lock(&reg_lock);
	if (h->prev)
		h->prev->next = h->next;
	else if (reg_head == h)
		reg_head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	pthread_mutex_unlock(&reg_lock);
}

int sp_fd_open(int *slot, const char *path, int flags, unsigned mode, int shm)
{
	int fd, err;

	pthread_mutex_lock(&reg_lock);
	fd = shm ? shm_open(path, flags | O_CLOEXEC, (mode_t)mode)
		 : open(path, flags | O_CLOEXEC, (mode_t)mode);
	err = errno;
	*slot = fd;
	pthread_mutex_unlock(&reg_lock);
	return fd < 0 ? -err : fd;
}

void sp_fd_close(int *slot)
{
	pthread_mutex_lock(&reg_lock);
	if (*slot >= 0)
		close(*slot);
	*slot = -1;
	pthread_mutex_unlock(&reg_lock);
}
