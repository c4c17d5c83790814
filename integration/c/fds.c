/*
 * fds.c - file-descriptor table parity: numbering (lowest free slot),
 * dup/dup2/dup3/F_DUPFD semantics, close-on-exec bookkeeping, close_range and
 * pipes.  A sentry that keeps its own fd table (or leaks its own descriptors
 * into the guest) shows up here as different numbers.
 */
#include "raw.h"
#include <signal.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC 4
#endif

static char buf[256];

static void c_pipe(void)
{
	int fds[2] = {-1, -1};
	signal(SIGPIPE, SIG_IGN);
	show("pipe2(fds, O_CLOEXEC)", R(SYS_pipe2, fds, O_CLOEXEC));
	printf("fds = %d %d\n", fds[0], fds[1]);
	show("write(w, hello pipe)", R(SYS_write, fds[1], "hello pipe", 10));
	showbuf("read(r, 64)", R(SYS_read, fds[0], buf, 64), buf);
	show("fcntl(r, F_GETFD)", R(SYS_fcntl, fds[0], F_GETFD));
	show("fcntl(r, F_GETFL) & O_ACCMODE", R(SYS_fcntl, fds[0], F_GETFL) & O_ACCMODE);
	show("fcntl(w, F_GETFL) & O_ACCMODE", R(SYS_fcntl, fds[1], F_GETFL) & O_ACCMODE);
	show("lseek(r)", R(SYS_lseek, fds[0], 0, SEEK_CUR));
	show("write(r)", R(SYS_write, fds[0], "x", 1));
	show("close(w)", R(SYS_close, fds[1]));
	showbuf("read(r) after writer closed", R(SYS_read, fds[0], buf, 64), buf);
	show("close(r)", R(SYS_close, fds[0]));

	int nb[2] = {-1, -1};
	show("pipe2(nb, O_NONBLOCK)", R(SYS_pipe2, nb, O_NONBLOCK));
	printf("fds = %d %d\n", nb[0], nb[1]);
	show("fcntl(r, F_GETFD)", R(SYS_fcntl, nb[0], F_GETFD));
	show("fcntl(r, F_GETFL) & O_NONBLOCK", R(SYS_fcntl, nb[0], F_GETFL) & O_NONBLOCK);
	show("read(empty nonblocking pipe)", R(SYS_read, nb[0], buf, 1));
	show("close(r)", R(SYS_close, nb[0]));
	show("write(w) with no reader", R(SYS_write, nb[1], "x", 1));
	show("close(w)", R(SYS_close, nb[1]));

	int old[2] = {-1, -1};
	show("pipe(old)", R(SYS_pipe, old));
	printf("fds = %d %d\n", old[0], old[1]);
	show("pipe2(bad flags)", R(SYS_pipe2, old, 0x1));
}

static void c_dup(void)
{
	mkfile("f", "0123456789", 0644);
	long fd = show("open(f)", R(SYS_open, "f", O_RDONLY));
	show("dup(fd)", R(SYS_dup, fd));
	show("dup2(fd, 10)", R(SYS_dup2, fd, 10));
	show("dup2(fd, fd) returns fd", R(SYS_dup2, fd, fd));
	show("dup2(9999, 12)", R(SYS_dup2, 9999, 12));
	show("dup2(9999, 9999)", R(SYS_dup2, 9999, 9999));
	show("dup3(fd, fd, 0)", R(SYS_dup3, fd, fd, 0));
	show("dup3(fd, 11, O_CLOEXEC)", R(SYS_dup3, fd, 11, O_CLOEXEC));
	show("fcntl(11, F_GETFD)", R(SYS_fcntl, 11, F_GETFD));
	show("fcntl(10, F_GETFD) (dup2 clears cloexec)", R(SYS_fcntl, 10, F_GETFD));
	show("dup3(fd, 12, bad flag)", R(SYS_dup3, fd, 12, O_NONBLOCK));
	show("dup2(fd, -1)", R(SYS_dup2, fd, -1));
	/* Duplicates share the file offset. */
	showbuf("read(fd, 3)", R(SYS_read, fd, buf, 3), buf);
	showbuf("read(4, 3) continues", R(SYS_read, 4, buf, 3), buf);
	showbuf("read(10, 3) continues", R(SYS_read, 10, buf, 3), buf);
	/* dup2 onto an open fd closes it first. */
	long other = must("open f again", R(SYS_open, "f", O_RDONLY));
	printf("second open = %ld\n", other);
	show("dup2(fd, second)", R(SYS_dup2, fd, other));
	showbuf("read(second) now shares fd's offset", R(SYS_read, other, buf, 3), buf);
	show("close(fd)", R(SYS_close, fd));
	showbuf("read(4) still open", R(SYS_read, 4, buf, 3), buf);
	show("dup(fd) after close", R(SYS_dup, fd));
	show("dup(4) reuses lowest free", R(SYS_dup, 4));
}

static void c_fcntl(void)
{
	mkfile("f", "data", 0644);
	long fd = show("open(f)", R(SYS_open, "f", O_RDWR | O_APPEND));
	long d10 = show("fcntl(fd, F_DUPFD, 10)", R(SYS_fcntl, fd, F_DUPFD, 10));
	show("fcntl(fd, F_DUPFD, 10) again", R(SYS_fcntl, fd, F_DUPFD, 10));
	long c = show("fcntl(fd, F_DUPFD_CLOEXEC, 10)", R(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 10));
	show("fcntl(cloexec dup, F_GETFD)", R(SYS_fcntl, c, F_GETFD));
	show("fcntl(F_DUPFD result, F_GETFD)", R(SYS_fcntl, d10, F_GETFD));
	show("fcntl(cloexec dup, F_SETFD, 0)", R(SYS_fcntl, c, F_SETFD, 0));
	show("fcntl(cloexec dup, F_GETFD)", R(SYS_fcntl, c, F_GETFD));
	show("fcntl(fd, F_SETFD, FD_CLOEXEC)", R(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC));
	show("fcntl(fd, F_GETFD)", R(SYS_fcntl, fd, F_GETFD));
	show("fcntl(fd, F_GETFL) & (O_ACCMODE|O_APPEND|O_NONBLOCK)",
	     R(SYS_fcntl, fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	show("fcntl(fd, F_SETFL, O_NONBLOCK)", R(SYS_fcntl, fd, F_SETFL, O_NONBLOCK));
	show("fcntl(fd, F_GETFL) & (O_ACCMODE|O_APPEND|O_NONBLOCK)",
	     R(SYS_fcntl, fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	show("fcntl(F_DUPFD result, F_GETFL) shares status flags",
	     R(SYS_fcntl, d10, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	show("fcntl(fd, F_DUPFD, -1)", R(SYS_fcntl, fd, F_DUPFD, -1));
	show("fcntl(fd, 9999 bad cmd)", R(SYS_fcntl, fd, 9999));
	show("fcntl(9999, F_GETFD)", R(SYS_fcntl, 9999, F_GETFD));
}

static void c_lowest(void)
{
	mkfile("f", "x", 0644);
	for (int i = 0; i < 5; i++)
		show("open(f)", R(SYS_open, "f", O_RDONLY));
	show("close(3)", R(SYS_close, 3));
	show("close(5)", R(SYS_close, 5));
	show("open(f) takes lowest free", R(SYS_open, "f", O_RDONLY));
	show("open(f) takes next free", R(SYS_open, "f", O_RDONLY));
	show("open(f) past the end", R(SYS_open, "f", O_RDONLY));
	show("dup2(3, 20)", R(SYS_dup2, 3, 20));
	show("open(f) ignores hole above", R(SYS_open, "f", O_RDONLY));
}

static void c_close_range(void)
{
	mkfile("f", "x", 0644);
	for (int i = 0; i < 4; i++)
		show("open(f)", R(SYS_open, "f", O_RDONLY));
	show("dup2(3, 30)", R(SYS_dup2, 3, 30));
	show("close_range(4, ~0U, 0)", R(SYS_close_range, 4, ~0U, 0));
	show("fcntl(3, F_GETFD)", R(SYS_fcntl, 3, F_GETFD));
	show("fcntl(4, F_GETFD)", R(SYS_fcntl, 4, F_GETFD));
	show("fcntl(5, F_GETFD)", R(SYS_fcntl, 5, F_GETFD));
	show("fcntl(30, F_GETFD)", R(SYS_fcntl, 30, F_GETFD));
	show("close_range(3, 3, CLOSE_RANGE_CLOEXEC)", R(SYS_close_range, 3, 3, CLOSE_RANGE_CLOEXEC));
	show("fcntl(3, F_GETFD)", R(SYS_fcntl, 3, F_GETFD));
	show("close_range(5, 4, 0)", R(SYS_close_range, 5, 4, 0));
	show("close_range(3, 3, bad flag)", R(SYS_close_range, 3, 3, 0x80));
	show("open(f) after close_range", R(SYS_open, "f", O_RDONLY));
	/* stdio must still work: close_range started at 4. */
	show("write(1) still works", R(SYS_write, 1, "", 0));
}

static const struct tcase cases[] = {
	{"pipe", c_pipe},
	{"dup", c_dup},
	{"fcntl", c_fcntl},
	{"lowest", c_lowest},
	{"close_range", c_close_range},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
