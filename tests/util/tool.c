/* tool.c: what the helper tools (tests/tool_*.c) share: the command table's dispatch, start guns, time-outs, an open that says why it failed, the commands two tools have. */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/dict.h"
#include "shared/ring.h"   /* SP_FOREVER */

int tu_tool_main(const char *prog, const struct tu_cmd *cmds, size_t n, int argc, char **argv)
{
	tu_tool_init();
	/* The test reads the steps as they happen, one line at a time. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], cmds[i].name) == 0 && argc == 2 + cmds[i].nargs)
			return cmds[i].fn(argv + 2);
	fprintf(stderr, "%s: bad arguments\n", prog);
	return 64;
}

void tu_gun_wait(const char *fd)
{
	char c;

	while (read(atoi(fd), &c, 1) < 0 && errno == EINTR)
		;
}

long long tu_ms(const char *s)
{
	long long v;

	if (strcmp(s, "max") == 0)
		return LLONG_MAX;
	v = atoll(s);
	return v < 0 ? SP_FOREVER : v * 1000000LL;
}

void tu_opened(int rc)
{
	if (rc) {
		printf("open %d\n", rc);
		exit(1);
	}
}

int tu_cmd_dset(char **a)
{
	sp_dict *d;

	tu_opened(sp_dict_open(a[0], 0, NULL, &d));
	printf("set %d\n", sp_dict_set(d, a[1], strlen(a[1]), a[2], strlen(a[2])));
	sp_dict_close(d);
	return 0;
}
