/* signal.c: the programs' stop flag, set by SIGINT and SIGTERM. */
#include "prog.h"

volatile sig_atomic_t prog_stop;

static void on_stop(int sig)
{
	prog_stop = sig;
}

void prog_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
