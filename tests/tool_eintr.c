/* tool_eintr.c: runs a command whose interruptible creation calls (fallocate, ftruncate) fail with EINTR every other time. */
/*
 * Usage: tool_eintr COMMAND [ARG...]
 * A signal arriving while fallocate(2) or ftruncate(2) works makes them fail
 * with EINTR (both man pages list it; tmpfs's fallocate did so for any
 * signal until Linux 6.x, and still does for a fatal one).  Whether a signal
 * lands inside a call is luck, so this wrapper makes it certain: COMMAND runs
 * under a seccomp filter that hands those two calls to this process
 * (SECCOMP_RET_USER_NOTIF), which fails the first, third, fifth... of each
 * with EINTR and lets the others run.  A caller that retries on EINTR gets
 * every call done; one that does not fails its first.  COMMAND's children
 * inherit the filter.
 * Exit: COMMAND's (128+signal if killed), 77 if the filter cannot be set
 * here, 127 if COMMAND cannot be executed, 70 on another failure.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Sends fd over the socket s (SCM_RIGHTS).  Returns 0 or -1. */
static int send_fd(int s, int fd)
{
	char c = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	memset(ctl, 0, sizeof(ctl));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(s, &m, 0) == 1 ? 0 : -1;
}

/* Receives a descriptor sent by send_fd, or -1 (the child could not set
 * its filter and closed the socket). */
static int recv_fd(int s)
{
	char c, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* In the child: the filter, its listener to the parent, then COMMAND. */
static void run_child(int s, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fallocate, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ftruncate, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	char ppid[32];
	int lfd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    (lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)) < 0) {
		perror("tool_eintr: seccomp");
		_exit(77);
	}
	if (send_fd(s, lfd) < 0)
		_exit(70);
	close(lfd);
	close(s);
	/* COMMAND's tu_tool_init() checks that its parent is the one named
	 * here: that is us now, not the test. */
	snprintf(ppid, sizeof(ppid), "%ld", (long)getppid());
	setenv("SP_TEST_PARENT", ppid, 1);
	execvp(argv[0], argv);
	fprintf(stderr, "tool_eintr: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Answers the child's notifications until it exits; returns its status. */
static int supervise(pid_t pid, int lfd)
{
	struct seccomp_notif_sizes sz;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	unsigned long calls[2] = { 0, 0 };
	int st;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return 70;
	/* The kernel's structs may be larger than our headers' (newer
	 * kernels grow them): allocate what it says. */
	req = calloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
	resp = calloc(1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp
								: sizeof(*resp));
	if (!req || !resp) {
		free(req);
		free(resp);
		return 70;
	}
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		/* POLLHUP once every filtered process has gone; the timeout
		 * only bounds how late we notice the exit if it has not. */
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return 70;
		if (!(p.revents & POLLIN))
			continue;
		memset(req, 0, sz.seccomp_notif);
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
			continue;       /* the caller went away meanwhile */
		memset(resp, 0, sz.seccomp_notif_resp);
		resp->id = req->id;
		if (calls[req->data.nr == SYS_fallocate]++ % 2 == 0)
			resp->error = -EINTR;
		else
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
	fprintf(stderr, "tool_eintr: interrupted %lu fallocate and %lu ftruncate calls\n",
		(calls[1] + 1) / 2, (calls[0] + 1) / 2);
	free(req);
	free(resp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	int sv[2], lfd;
	pid_t pid;

	tu_tool_init();
	if (argc < 2) {
		fputs("usage: tool_eintr COMMAND [ARG...]\n", stderr);
		return 64;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 70;
	pid = fork();
	if (pid < 0)
		return 70;
	if (pid == 0) {
		close(sv[0]);
		run_child(sv[1], argv + 1);
	}
	close(sv[1]);
	lfd = recv_fd(sv[0]);
	close(sv[0]);
	if (lfd < 0) {
		int st;

		waitpid(pid, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 70;
	}
	return supervise(pid, lfd);
}
