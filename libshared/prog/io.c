/* io.c: whole reads and writes, the loops every program needs around read(2) and write(2). */
#include "prog.h"

#include <errno.h>
#include <unistd.h>

/* The loop of both writes: write() when off is negative, else pwrite()
 * at off. */
static int write_loop(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int prog_write_full(int fd, const void *buf, size_t len)
{
	return write_loop(fd, buf, len, -1);
}

int prog_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	return off < 0 ? -EINVAL : write_loop(fd, buf, len, off);
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
