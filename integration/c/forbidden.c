/*
 * forbidden.c - syscalls the sandbox must refuse.  These are only run inside
 * the sandbox (natively they succeed or fail differently), and the test
 * asserts the exact outcome: the process is killed with SIGSYS (32-bit
 * int $0x80 entry and x32 syscall numbers can bypass an x86_64-only filter),
 * or the call returns a specific errno.
 *
 * "before" is written with a raw write(2) before the forbidden call so the
 * test can tell "killed at the forbidden call" from "never started".
 */
#include "raw.h"
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

static void before(void)
{
	R(SYS_write, 1, "before\n", 7);
}

static void c_int80(void)
{
	before();
	long r;
	/* getpid is 20 in the i386 table. */
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	printf("after int80 getpid = %lx\n", (unsigned long)r);
}

static void c_x32(void)
{
	before();
	/* __X32_SYSCALL_BIT | getpid */
	show("after x32 getpid", R(39 | 0x40000000L));
}

static void c_io_uring(void)
{
	show("io_uring_setup(1, NULL)", R(SYS_io_uring_setup, 1, NULL));
}

static void c_clone3(void)
{
	/* NULL args: natively EFAULT/EINVAL without creating anything, so the
	 * test is harmless even if the sandbox let the call through. */
	show("clone3(NULL, 0)", R(SYS_clone3, NULL, 0));
}

static void c_socket(void)
{
	long fd;
	fd = show("socket(AF_INET, SOCK_STREAM, 0)", R(SYS_socket, 2, 1, 0));
	if (fd >= 0)
		R(SYS_close, fd);
	fd = show("socket(AF_INET, SOCK_DGRAM, 0)", R(SYS_socket, 2, 2, 0));
	if (fd >= 0)
		R(SYS_close, fd);
	fd = show("socket(AF_INET6, SOCK_STREAM, 0)", R(SYS_socket, 10, 1, 0));
	if (fd >= 0)
		R(SYS_close, fd);
}

/* A guest filter with its own listener would outrank the sandbox's for
 * every routed call and could CONTINUE them past the sentry; a filter
 * without one only restricts further and must still work. */
static void c_seccomp_listener(void)
{
	struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {1, allow};
	R(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	show("seccomp(FILTER, 0, allow-all)", R(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
	show("seccomp(FILTER, NEW_LISTENER, allow-all)",
	     R(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
	long fd = R(SYS_open, "/etc/hostname", O_RDONLY);
	printf("open after: %s\n", fd >= 0 ? "ok" : "failed");
}

/* TIOCSTI pushes a byte into the terminal's input queue: from a sandbox
 * holding the user's terminal, that is typing into the user's shell. */
static void c_tiocsti(void)
{
	char c = '#';
	show("ioctl(TIOCSTI)", R(SYS_ioctl, 0, 0x5412, &c));
}

/* Processes outside the sandbox do not exist for the guest. */
static void c_outside(void)
{
	show("kill(1, 0)", R(SYS_kill, 1, 0));
	show("kill(getppid(), 0)", R(SYS_kill, getppid(), 0));
	show("tgkill(1, 1, 0)", R(SYS_tgkill, 1, 1, 0));
	show("pidfd_open(1)", R(SYS_pidfd_open, 1, 0));
	show("prlimit64(1, NOFILE, NULL, buf)", R(SYS_prlimit64, 1, 7, 0, (long)&(long[2]){0}));
	/* The filter passes pid 0 (the caller) unrouted; the kernel reads the
	 * pid as 32 bits, so high bits must not smuggle pid 1 past it. */
	show("prlimit64(1 | 1<<32, NOFILE, NULL, buf)", R(SYS_prlimit64, 1L | 1L << 32, 7, 0, (long)&(long[2]){0}));
	show("sched_getattr(1 | 1<<32, buf, 56)", R(SYS_sched_getattr, 1L | 1L << 32, (long)&(long[8]){0}, 56, 0));
	show("prlimit64(1<<32, NOFILE, NULL, buf)", R(SYS_prlimit64, 1L << 32, 7, 0, (long)&(long[2]){0}));
	unsigned long cpu0 = 1;
	show("setpriority(PROCESS, getppid(), 19)", R(SYS_setpriority, 0, getppid(), 19));
	show("setpriority(PGRP, 0, 19)", R(SYS_setpriority, 1, 0, 19));
	show("setpriority(USER, 0, 19)", R(SYS_setpriority, 2, 0, 19));
	show("sched_setaffinity(getppid(), cpu0)", R(SYS_sched_setaffinity, getppid(), sizeof cpu0, &cpu0));
	show("ioprio_set(PROCESS, getppid(), idle)", R(SYS_ioprio_set, 1, getppid(), 3 << 13));
	show("kill(getpid(), 0)", R(SYS_kill, getpid(), 0));
}

/* execve with arguments beyond the kernel's limit: E2BIG, as natively. */
static void c_e2big(void)
{
	static char big[200000];
	memset(big, 'a', sizeof big - 1);
	char *av[40];
	for (int i = 0; i < 39; i++)
		av[i] = big;
	av[39] = NULL;
	show("execve(/bin/true, 39 x 200 kB)", R(SYS_execve, "/bin/true", av, environ));
}

static const struct tcase cases[] = {
	{"outside", c_outside},
	{"e2big", c_e2big},
	{"tiocsti", c_tiocsti},
	{"seccomp-listener", c_seccomp_listener},
	{"int80", c_int80},
	{"x32", c_x32},
	{"io_uring", c_io_uring},
	{"clone3", c_clone3},
	{"socket", c_socket},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
