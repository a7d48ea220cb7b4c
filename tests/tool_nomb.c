/* tool_nomb.c: runs a command with membarrier(2) refused, as some sandboxes (seccomp) refuse it. */
/*
 * Usage: tool_nomb COMMAND [ARG...]
 * Installs a seccomp filter under which membarrier fails with EPERM (every
 * other system call is allowed), then executes COMMAND, whose children
 * inherit the filter.  The library must then work without asymmetric fences
 * and without biasing any ring (ring_layout.h, "Bias").
 * Exit: COMMAND's, 77 if the filter cannot be set here or does not bite,
 * 127 if COMMAND cannot be executed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (argc < 2) {
		fputs("usage: tool_nomb COMMAND [ARG...]\n", stderr);
		return 64;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("tool_nomb: seccomp");
		return 77;
	}
	/* 0 is MEMBARRIER_CMD_QUERY: refused now, or the filter is no use. */
	if (syscall(SYS_membarrier, 0, 0, 0) >= 0 || errno != EPERM) {
		fputs("tool_nomb: membarrier is not refused\n", stderr);
		return 77;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "tool_nomb: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
