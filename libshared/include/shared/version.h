/* version.h: the library's version, as compiled against and as linked. */
#ifndef SHARED_VERSION_H
#define SHARED_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the headers compiled against. */
#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1
#define SP_VERSION_PATCH 0
#define SP_VERSION_NUMBER (SP_VERSION_MAJOR * 10000 + SP_VERSION_MINOR * 100 + SP_VERSION_PATCH)
#define SP_VERSION_STRING "0.1.0"

/* Returns SP_VERSION_NUMBER of the library actually linked. */
unsigned sp_version_number(void);
/* Returns SP_VERSION_STRING of the library actually linked. */
const char *sp_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
