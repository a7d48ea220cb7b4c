/* probe.c: what the machine allows the tests: whether a ring side can be biased (membarrier). */
#include "testutil.h"

#include <unistd.h>

#include "shared/ring.h"

int tu_bias_possible(void)
{
	static int known = -1;
	struct sp_ring_opts o = { .capacity = SP_RING_MIN_CAPACITY, .writers = 1 };
	struct sp_ring_stat st;
	char name[64];
	sp_ring *r;
	long x = 0;
	int rc;

	if (known >= 0)
		return known;
	tu_name(name, sizeof(name), "bias");
	rc = sp_ring_open(name, SP_CREATE | SP_EXCL, &o, &r);
	if (rc < 0)
		return rc;
	rc = sp_ring_put(r, &x, sizeof(x), SP_NOWAIT);
	if (rc == 0)
		rc = sp_ring_stat(r, &st);
	if (rc == 0)
		known = st.writer_bias_pid == getpid();
	sp_ring_close(r);
	sp_ring_unlink(name);
	return rc < 0 ? rc : known;
}
