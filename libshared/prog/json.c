/* json.c: the --stats summary: JSON strings, and the stream the summary goes to. */
#include "prog.h"

#include <errno.h>
#include <string.h>

void prog_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

FILE *prog_stats_open(const struct prog_opts *o, FILE *dflt)
{
	FILE *f = o->stats_file ? fopen(o->stats_file, "w") : dflt;

	if (!f)
		prog_warn(o->stats_file, strerror(errno));
	return f;
}

void prog_stats_close(const struct prog_opts *o, FILE *f)
{
	if (o->stats_file)
		fclose(f);
	else
		fflush(f);
}
