/* pointers: every emulated syscall that takes a pointer, called with each
 * class of bad pointer. Raw results must equal native byte for byte.
 * Classes: NULL, a kernel address, an unmapped page, a PROT_NONE page, a
 * read-only page (for outputs), a buffer straddling into an unmapped page.
 * Inputs are paths ("in" side) or structs; outputs are buffers the kernel
 * writes. Every call is harmless natively (bad pointers fail first). */
#define _GNU_SOURCE
#include "raw.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>

static char *unmapped, *noaccess, *rdonly, *straddle_out;
static char *straddle_path; /* "f" + 'a's up to the page end, no NUL */

static void setup(void)
{
	char *m = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = m + 3 * 4096;
	munmap(unmapped, 4096);
	noaccess = m + 4096;
	mprotect(noaccess, 4096, PROT_NONE);
	rdonly = m;
	memcpy(rdonly, "f\0", 2);
	mprotect(rdonly, 4096, PROT_READ);
	/* page 2 (m+8192) is writable; its end runs into the unmapped page 3 */
	straddle_out = unmapped - 8;
	straddle_path = unmapped - 16;
	memset(straddle_path, 'a', 16); /* no NUL before the hole */
}

struct bad {
	const char *name;
	void *p;
};

static void c_all(void)
{
	setup();
	int fd = open("f", O_RDONLY);
	struct bad in[] = {{"NULL", NULL}, {"kernel", (void *)0xffffffff81000000UL}, {"unmapped", unmapped},
			   {"PROT_NONE", noaccess}, {"straddle", straddle_path}};
	struct bad out[] = {{"NULL", NULL},	   {"kernel", (void *)0xffffffff81000000UL}, {"unmapped", unmapped},
			    {"PROT_NONE", noaccess}, {"read-only", rdonly},			   {"straddle", straddle_out}};
	char label[128];
	for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
		void *p = in[i].p;
		const char *n = in[i].name;
#define T(call, expr) snprintf(label, sizeof label, "%s(path=%s)", call, n), show(label, expr)
		T("open", R(SYS_open, p, O_RDONLY));
		T("openat", R(SYS_openat, AT_FDCWD, p, O_RDONLY));
		T("creat", R(SYS_creat, p, 0644));
		T("stat", R(SYS_stat, p, rdonly + 64));
		T("access", R(SYS_access, p, F_OK));
		T("faccessat2", R(SYS_faccessat2, AT_FDCWD, p, F_OK, 0));
		T("readlink", R(SYS_readlink, p, rdonly + 64, 10));
		T("chdir", R(SYS_chdir, p));
		T("mkdir", R(SYS_mkdir, p, 0755));
		T("rmdir", R(SYS_rmdir, p));
		T("unlink", R(SYS_unlink, p));
		T("rename-old", R(SYS_rename, p, "g"));
		T("rename-new", R(SYS_rename, "missing", p));
		T("link-new", R(SYS_link, "missing", p));
		T("symlink-target", R(SYS_symlink, p, "s"));
		T("symlink-new", R(SYS_symlink, "t", p));
		T("chmod", R(SYS_chmod, p, 0644));
		T("truncate", R(SYS_truncate, p, 0));
		T("utimensat", R(SYS_utimensat, AT_FDCWD, p, NULL, 0));
		T("execve", R(SYS_execve, p, NULL, NULL));
		T("statfs", R(SYS_statfs, p, rdonly + 64));
		T("getxattr", R(SYS_getxattr, p, "user.x", NULL, 0));
#undef T
	}
	for (unsigned i = 0; i < sizeof out / sizeof out[0]; i++) {
		void *p = out[i].p;
		const char *n = out[i].name;
#define T(call, expr) snprintf(label, sizeof label, "%s(out=%s)", call, n), show(label, expr)
		T("stat", R(SYS_stat, "f", p));
		T("lstat", R(SYS_lstat, "f", p));
		T("newfstatat", R(SYS_newfstatat, AT_FDCWD, "f", p, 0));
		T("newfstatat-empty", R(SYS_newfstatat, fd, "", p, AT_EMPTY_PATH));
		T("statx", R(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, p));
		T("readlink", R(SYS_readlink, "l", p, 64));
		T("getcwd", R(SYS_getcwd, p, 4096));
		T("pipe2", R(SYS_pipe2, p, O_CLOEXEC));
		T("statfs", R(SYS_statfs, "f", p));
		T("utimensat-times", R(SYS_utimensat, AT_FDCWD, "f", p, 0));
		T("openat2-how", R(SYS_openat2, AT_FDCWD, "f", p, 24));
#undef T
	}
	/* sockaddrs: a unix path that is a bad pointer, and short lengths. */
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
		snprintf(label, sizeof label, "connect(addr=%s)", in[i].name);
		show(label, R(SYS_connect, s, in[i].p, sizeof(struct sockaddr_un)));
		snprintf(label, sizeof label, "bind(addr=%s)", in[i].name);
		show(label, R(SYS_bind, s, in[i].p, sizeof(struct sockaddr_un)));
		snprintf(label, sizeof label, "sendto(addr=%s)", in[i].name);
		show(label, R(SYS_sendto, s, "x", 1, 0, in[i].p, sizeof(struct sockaddr_un)));
	}
}

static const struct tcase cases[] = {
	{"all", c_all},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
