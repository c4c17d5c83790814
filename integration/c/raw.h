/*
 * raw.h - shared helpers for the integration-test C programs.
 *
 * The programs issue system calls with the raw `syscall` instruction (not
 * through libc wrappers) so that what is compared between a native run and a
 * sandboxed run is exactly the kernel ABI result in %rax: libc could otherwise
 * paper over differences (errno translation, fallbacks to other syscalls,
 * argument validation in userspace).  Every result is printed as "%lx", so a
 * -ENOENT shows up as fffffffffffffffe, followed by the errno name to make
 * diffs readable.
 *
 * All paths are relative to the current working directory, so the same binary
 * gives the same output natively and inside the sandbox when both runs use the
 * same cwd.
 */
#ifndef RAW_H
#define RAW_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif
#ifndef SYS_statx
#define SYS_statx 332
#endif

static long raw(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* R(nr, args...) pads missing arguments with zeros and casts everything to long. */
#define RAW_(n, a, b, c, d, e, f, ...) \
	raw((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define R(...) RAW_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

static const char *errname(long r)
{
	if (r < 0 && r >= -4095) {
		const char *n = strerrorname_np((int)-r);
		return n ? n : "E?";
	}
	return NULL;
}

/* show prints "label = <rax in hex>" plus " (-ENAME)" for error returns. */
static long show(const char *label, long r)
{
	const char *n = errname(r);
	if (n)
		printf("%s = %lx (-%s)\n", label, (unsigned long)r, n);
	else
		printf("%s = %lx\n", label, (unsigned long)r);
	return r;
}

/* putesc prints bytes C-escaped and quoted so binary data stays diffable. */
static void putesc(const char *buf, long n)
{
	putchar('"');
	for (long i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('"');
}

/* showbuf prints the return value of a read-like call and, on success, the data. */
static long showbuf(const char *label, long r, const char *buf)
{
	const char *n = errname(r);
	if (n) {
		printf("%s = %lx (-%s)\n", label, (unsigned long)r, n);
		return r;
	}
	printf("%s = %lx ", label, (unsigned long)r);
	putesc(buf, r);
	putchar('\n');
	return r;
}

static const char *ftype(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	}
	return "?";
}

/*
 * showstat prints only the fields that are stable between a native and a
 * sandboxed run: type, permission bits, link count, and the size of regular
 * files and symlinks (directory sizes are filesystem-specific).  Inode numbers,
 * device numbers and timestamps are deliberately left out.
 */
static long showstat(const char *label, long r, const struct stat *st)
{
	if (r != 0)
		return show(label, r);
	printf("%s = 0 type=%s perm=%04o nlink=%lu", label, ftype(st->st_mode),
	       (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		printf(" size=%ld", (long)st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		printf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
	putchar('\n');
	return r;
}

/* must aborts the program when a setup step fails; the message ends up in the diff. */
static long must(const char *what, long r)
{
	if (r < 0) {
		printf("SETUP FAILED: %s = %lx (-%s)\n", what, (unsigned long)r, errname(r));
		fflush(stdout);
		exit(100);
	}
	return r;
}

/* mkfile creates (or truncates) path with the given content and mode. */
static void mkfile(const char *path, const char *content, int mode)
{
	long fd = must(path, R(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode));
	long len = (long)strlen(content);
	if (len)
		must("write", R(SYS_write, fd, content, len));
	R(SYS_close, fd);
	/* Force the exact mode regardless of the inherited umask. */
	must("chmod", R(SYS_chmod, path, mode));
}

static void mkdir_(const char *path)
{
	must(path, R(SYS_mkdir, path, 0755));
}

struct tcase {
	const char *name;
	void (*fn)(void);
};

/* dispatch runs the case named by argv[1]; every program hosts several cases. */
static int dispatch(int argc, char **argv, const struct tcase *cases)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CASE\n", argv[0]);
		return 2;
	}
	for (const struct tcase *c = cases; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			c->fn();
			fflush(stdout);
			return 0;
		}
	}
	fprintf(stderr, "%s: unknown case %s\n", argv[0], argv[1]);
	return 2;
}

#endif
