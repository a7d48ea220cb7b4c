/* path.c: the rules a record's path must meet, and the reserved names of the consumer's helper files. */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * One set of rules, written once: sp_batch_path_check() is the decoder's
 * yes or no, sp_batch_path_problem() the consumer's words for a refusal.
 * The order of the checks fixes which reason a path with several problems
 * gets.
 */
const char *sp_batch_path_problem(const char *p, size_t len)
{
	if (memchr(p, 0, len))
		return "a NUL byte in the path";
	if (len == 0 || p[0] == '/')
		return "absolute or empty path";
	if (len >= SP_BATCH_RESERVED_LEN && memcmp(p, SP_BATCH_RESERVED, SP_BATCH_RESERVED_LEN) == 0)
		return "reserved name (" SP_BATCH_RESERVED "*)";
	for (size_t i = 0; i <= len; ) {
		size_t j = i;

		while (j < len && p[j] != '/')
			j++;
		if (j == i)
			return "empty component ('//' or a trailing '/')";
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return "'..' component";
		if (j - i == 1 && p[i] == '.')
			return "'.' component";
		i = j + 1;
	}
	if (len > SP_BATCH_PATH_MAX)
		return "path longer than the format allows";
	return NULL;
}

int sp_batch_path_check(const char *path, size_t len)
{
	return sp_batch_path_problem(path, len) ? -EINVAL : 0;
}

int sp_batch_reserved(const char *name)
{
	return strncmp(name, SP_BATCH_RESERVED, SP_BATCH_RESERVED_LEN) == 0;
}

void sp_batch_tmp_name(char *buf, size_t size, uint64_t run, uint64_t seq, const char *ext)
{
	snprintf(buf, size, SP_BATCH_RESERVED "%016llx-%llu%s", (unsigned long long)run,
		 (unsigned long long)seq, ext);
}
