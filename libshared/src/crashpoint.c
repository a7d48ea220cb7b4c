/* crashpoint.c: the test-only crash points (see crashpoint.h); empty in normal builds. */
#include "crashpoint.h"

#ifdef SP_CRASH_POINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void (*sp_crash_hook)(const char *label);

void sp_crash_point(const char *label)
{
	static const char *at;
	static long skip;
	static int loaded, sig = SIGKILL;

	if (sp_crash_hook)
		sp_crash_hook(label);
	if (!loaded) {
		const char *s = getenv("SP_CRASH_SKIP"), *g = getenv("SP_CRASH_SIG");

		at = getenv("SP_CRASH_AT");
		skip = s ? strtol(s, NULL, 10) : 0;
		/* SP_CRASH_SIG=STOP stops the process there, once, instead. */
		if (g && !strcmp(g, "STOP"))
			sig = SIGSTOP;
		loaded = 1;
	}
	if (at && strcmp(at, label) == 0 && skip-- <= 0) {
		if (sig == SIGSTOP)
			at = NULL;
		raise(sig);
	}
}
#else
typedef int sp_crashpoint_unused_;
#endif
