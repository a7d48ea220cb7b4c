/* clock.c: the one clock of the programs, benchmarks and tests: CLOCK_MONOTONIC. */
#include "prog.h"

#include <time.h>

int64_t prog_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double prog_now_sec(void)
{
	return (double)prog_now_ns() / 1e9;
}
