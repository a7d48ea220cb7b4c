/* tool_flip.c: a hostile peer: toggles one word of an object's segment between two values, as fast as it can. */
/*
 * Usage: tool_flip NAME OFFSET WIDTH A B
 * Maps the segment of object NAME (/dev/shm/shmpipe.NAME) and stores A and B
 * in turn into the WIDTH-byte word (4 or 8) at byte OFFSET, until killed.
 * Prints "flipping" once it has stored both.  A victim attached to NAME must
 * neither fault nor use a value it did not check: whatever it reads there,
 * it reads once.
 * Exit: 1 if the segment cannot be mapped, 64 on bad arguments.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

int main(int argc, char **argv)
{
	char path[256];
	struct stat st;
	unsigned char *p;
	unsigned long long off, a, b;
	int fd, width;

	tu_tool_init();
	if (argc != 6)
		return 64;
	off = strtoull(argv[2], NULL, 0);
	width = atoi(argv[3]);
	a = strtoull(argv[4], NULL, 0);
	b = strtoull(argv[5], NULL, 0);
	if ((width != 4 && width != 8) || off % (unsigned)width)
		return 64;
	fd = open(tu_obj_path(path, sizeof(path), argv[1], NULL), O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || off + (unsigned)width > (unsigned long long)st.st_size)
		return 1;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 1;
	/* Relaxed atomic stores: the victim must see each value whole, as a
	 * peer's store of an aligned word always is. */
	for (unsigned long n = 0;; n++) {
		unsigned long long v = n & 1 ? b : a;

		if (width == 4)
			atomic_store_explicit((_Atomic uint32_t *)(void *)(p + off), (uint32_t)v,
					      memory_order_relaxed);
		else
			atomic_store_explicit((_Atomic uint64_t *)(void *)(p + off), (uint64_t)v,
					      memory_order_relaxed);
		if (n == 1) {
			printf("flipping\n");
			fflush(stdout);
		}
	}
}
