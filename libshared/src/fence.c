/* fence.c: asymmetric fences through membarrier(2) (see fence.h). */
#include "fence.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

int sp_fence_asym;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void do_init(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0)
		sp_fence_asym = 1;
}

void sp_fence_init(void)
{
	pthread_once(&once, do_init);
}

int sp_fence_heavy(void)
{
	/* The call needs no registration of its own, only of its targets, so
	 * it is tried even where registering failed.  Our own side needs a
	 * full barrier too; the system call is one. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)
		return 1;
	atomic_thread_fence(memory_order_seq_cst);
	return 0;
}
