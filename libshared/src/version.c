/* version.c: the version of the library actually linked. */
#include "shared/version.h"

unsigned sp_version_number(void)
{
	return SP_VERSION_NUMBER;
}

const char *sp_version_string(void)
{
	return SP_VERSION_STRING;
}
