/* msg.c: the programs' messages on stderr ("prog: what: why"), usage errors, the progress line. */
#include "prog.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "shared/version.h"

const char *prog_name = "?";

/* A progress line is on the terminal and must be erased before a message. */
static int progress_shown;

void prog_warn(const char *what, const char *why)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
	fprintf(stderr, "%s: %s: %s\n", prog_name, what, why);
}

const char *prog_printable(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (len && n + 4 >= size && n >= 3)
		memcpy(out + n - 3, "...", 3);
	out[n] = 0;
	return out;
}

void prog_warnpath(const char *path, const char *what, const char *why)
{
	char shown[513], msg[600];

	/* At most 508 bytes of it, short of the room that would make
	 * prog_printable() mark the cut: the cut is silent, as it always was. */
	prog_printable(path, strnlen(path, 508), shown, sizeof(shown));
	snprintf(msg, sizeof(msg), "%s: %s", shown, what);
	prog_warn(msg, why);
}

void prog_progress(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", prog_name);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r%s\033[K", line);
	progress_shown = 1;
}

void prog_progress_end(void)
{
	fputs("\r\033[K", stderr);
	progress_shown = 0;
}

void prog_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
	exit(EX_USAGE);
}

void prog_die_usage(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", prog_name, what, why);
	prog_try_help();
}

void prog_std_option(int opt, void (*usage)(FILE *out, int status))
{
	if (opt == 'h')
		usage(stdout, EX_OK);
	if (opt == 'V') {
		printf("%s (shmpipe) %s, libshared %s\n", prog_name, SP_VERSION_STRING,
		       sp_version_string());
		exit(EX_OK);
	}
	prog_try_help();
}
