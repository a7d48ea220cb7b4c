/* io.c: whole reads and writes, the loops every program needs around read(2) and write(2). */
#include "prog.h"

#include <errno.h>
#include <unistd.h>

int prog_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The loop of both reads: read() when off is negative, else pread() from
 * off; stop: an EINTR after a stop signal ends it (-EINTR). */
static ssize_t read_loop(int fd, void *buf, size_t len, off_t off, int stop)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = off < 0 ? read(fd, p + got, len - got)
				    : pread(fd, p + got, len - got, off + (off_t)got);

		if (n < 0) {
			if (errno == EINTR && !(stop && prog_stop))
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t prog_read_full(int fd, void *buf, size_t len)
{
	return read_loop(fd, buf, len, -1, 1);
}

ssize_t prog_pread_full(int fd, void *buf, size_t len, off_t off)
{
	return read_loop(fd, buf, len, off, 0);
}
