/* crashpoint.h: private: labelled steps where a test build (SP_CRASH_POINTS) kills the process. */
#ifndef SP_CRASHPOINT_H
#define SP_CRASHPOINT_H

/*
 * A build with -DSP_CRASH_POINTS (only the library the crash tests and the
 * fuzz targets link, $(B)/cp/libshared.a) dies by SIGKILL at the point whose label equals the
 * environment variable SP_CRASH_AT, after passing it SP_CRASH_SKIP times
 * (default 0).  With SP_CRASH_SIG=STOP it stops there instead (SIGSTOP,
 * once), to test peers that must not wait on a stopped process for ever.
 * Every other build compiles the points to nothing.  Points are placed at
 * steps whose crash matters and between a check of shared memory and the
 * use of what was checked.
 */
#ifdef SP_CRASH_POINTS
void sp_crash_point(const char *label);
/* If set, called at every point before anything else: the fuzz targets
 * write the segment there, as a peer would between our steps (between a
 * check and a use, say: "open.validated" follows the check of an
 * attacher's copies, before it uses them). */
extern void (*sp_crash_hook)(const char *label);
#define CRASH_POINT(label) sp_crash_point(label)
#else
#define CRASH_POINT(label) ((void)0)
#endif

#endif
