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

static const struct tcase cases[] = {
	{"int80", c_int80},
	{"x32", c_x32},
	{"io_uring", c_io_uring},
	{"clone3", c_clone3},
	{"socket", c_socket},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
