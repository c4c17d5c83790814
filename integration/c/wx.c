/* wx: writable+executable memory.
 *   rwx        mmap(PROT_READ|WRITE|EXEC) anonymous
 *   jit        mmap RW, write code, mprotect to RX, run it
 *   twostep    mmap RW, write, mprotect R, then mprotect RX
 *   filerx     mmap a file R-X (what ld.so does), then mprotect it R-X again */
#include "raw.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <errno.h>

static void c_rwx(void)
{
	long p = R(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("mmap(RWX)", p < 0 ? p : 0);
}

static void c_jit(void)
{
	unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const unsigned char ret42[] = {0xb8, 42, 0, 0, 0, 0xc3}; /* mov $42,%eax; ret */
	memcpy(p, ret42, sizeof ret42);
	long r = R(SYS_mprotect, (long)p, 4096, PROT_READ | PROT_EXEC);
	show("mprotect(written, RX)", r);
	if (r == 0)
		printf("jit returned %d\n", ((int (*)(void))p)());
}

static void c_twostep(void)
{
	unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 0xc3;
	show("mprotect(written, R)", R(SYS_mprotect, (long)p, 4096, PROT_READ));
	show("mprotect(was written, RX)", R(SYS_mprotect, (long)p, 4096, PROT_READ | PROT_EXEC));
}

static void c_filerx(void)
{
	int fd = open("/bin/true", O_RDONLY);
	long p = R(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	show("mmap(/bin/true, RX)", p < 0 ? p : 0);
	show("mprotect(file, RX)", R(SYS_mprotect, p, 4096, PROT_READ | PROT_EXEC));
}

/* Executable mappings of files the guest could have written: a file in
 * the read-write cwd, and a memfd. */
static void c_writtenfile(void)
{
	int fd = open("/bin/true", O_RDONLY);
	show("mmap(/bin/true, RX)", (long)mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == -1 ? -errno : 0);
	int w = open("code.bin", O_CREAT | O_RDWR | O_TRUNC, 0755);
	write(w, "\xc3", 1);
	show("mmap(cwd file, RX)", (long)mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, w, 0) == (long)MAP_FAILED ? -errno : 0);
	int m = memfd_create("code", 0);
	write(m, "\xc3", 1);
	show("mmap(memfd, RX)", (long)mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, m, 0) == (long)MAP_FAILED ? -errno : 0);
}

/* Allocations beyond limits.address_space fail with ENOMEM. */
static void c_bigalloc(void)
{
	long p = R(SYS_mmap, 0, 1L << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("mmap(1 GiB)", p < 0 ? p : 0);
}

static const struct tcase cases[] = {
	{"writtenfile", c_writtenfile},
	{"bigalloc", c_bigalloc},
	{"rwx", c_rwx},
	{"jit", c_jit},
	{"twostep", c_twostep},
	{"filerx", c_filerx},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
