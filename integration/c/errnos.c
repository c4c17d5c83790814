/*
 * errnos.c - error-path parity: each case provokes one family of errno
 * results through raw syscalls.  The sentry re-implements path lookup and fd
 * tables, so every one of these is a place where it can silently diverge from
 * Linux (wrong errno, wrong precedence between two errors, success where the
 * kernel fails).
 */
#include "raw.h"
#include <sys/mman.h>

static char buf[256];

static void c_enoent(void)
{
	struct stat st;
	mkdir_("d");
	show("open(missing)", R(SYS_open, "missing", O_RDONLY));
	show("openat(AT_FDCWD, missing)", R(SYS_openat, AT_FDCWD, "missing", O_RDONLY));
	show("open(missing/x)", R(SYS_open, "missing/x", O_RDONLY));
	show("open(d/missing)", R(SYS_open, "d/missing", O_RDONLY));
	show("open(\"\")", R(SYS_open, "", O_RDONLY));
	show("stat(missing)", R(SYS_stat, "missing", &st));
	show("mkdir(missing/sub)", R(SYS_mkdir, "missing/sub", 0755));
	show("unlink(missing)", R(SYS_unlink, "missing"));
	show("rmdir(missing)", R(SYS_rmdir, "missing"));
	show("chdir(missing)", R(SYS_chdir, "missing"));
	show("readlink(missing)", R(SYS_readlink, "missing", buf, sizeof buf));
	show("creat(missing/f)", R(SYS_creat, "missing/f", 0644));
}

static void c_ebadf(void)
{
	struct stat st;
	mkfile("w", "data", 0644);
	show("close(9999)", R(SYS_close, 9999));
	show("close(-1)", R(SYS_close, -1));
	show("read(9999)", R(SYS_read, 9999, buf, 1));
	show("write(9999)", R(SYS_write, 9999, "x", 1));
	show("fstat(9999)", R(SYS_fstat, 9999, &st));
	show("fstat(-1)", R(SYS_fstat, -1, &st));
	show("lseek(9999)", R(SYS_lseek, 9999, 0, SEEK_SET));
	show("getdents64(9999)", R(SYS_getdents64, 9999, buf, sizeof buf));
	show("fchdir(9999)", R(SYS_fchdir, 9999));
	show("dup(9999)", R(SYS_dup, 9999));
	show("openat(9999, relative)", R(SYS_openat, 9999, "w", O_RDONLY));
	/* An absolute path ignores dirfd entirely, even a bad one. */
	long fd = show("openat(9999, /dev/null)", R(SYS_openat, 9999, "/dev/null", O_RDONLY));
	if (fd >= 0)
		R(SYS_close, fd);
	fd = must("open w O_WRONLY", R(SYS_open, "w", O_WRONLY));
	show("read(O_WRONLY fd)", R(SYS_read, fd, buf, 4));
	R(SYS_close, fd);
	fd = must("open w O_RDONLY", R(SYS_open, "w", O_RDONLY));
	show("write(O_RDONLY fd)", R(SYS_write, fd, "x", 1));
	R(SYS_close, fd);
	show("read(fd after close)", R(SYS_read, fd, buf, 1));
}

static void c_efault(void)
{
	struct stat st;
	mkfile("f", "hello", 0644);
	show("openat(AT_FDCWD, NULL)", R(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
	show("open((char*)1)", R(SYS_open, 1, O_RDONLY));
	show("stat(f, NULL)", R(SYS_stat, "f", NULL));
	show("stat(NULL, &st)", R(SYS_stat, NULL, &st));
	long fd = must("open f", R(SYS_open, "f", O_RDWR));
	show("read(fd, (void*)1, 5)", R(SYS_read, fd, 1, 5));
	show("write(fd, (void*)1, 5)", R(SYS_write, fd, 1, 5));
	show("fstat(fd, NULL)", R(SYS_fstat, fd, NULL));
	R(SYS_close, fd);
	show("getcwd(NULL, 100)", R(SYS_getcwd, NULL, 100));
	show("pipe2(NULL, 0)", R(SYS_pipe2, NULL, 0));

	/*
	 * A path whose bytes run into an unmapped page must fail with EFAULT;
	 * one whose NUL is the last byte of the mapped page must work.  This
	 * exercises how the sentry copies strings out of guest memory.
	 */
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		printf("SETUP FAILED: mmap\n");
		exit(100);
	}
	munmap(m + pg, pg);
	memcpy(m + pg - 3, "zz", 3);
	show("open(path ending exactly at page end)", R(SYS_open, m + pg - 3, O_RDONLY));
	memcpy(m + pg - 3, "zzz", 3);
	show("open(path running into unmapped page)", R(SYS_open, m + pg - 3, O_RDONLY));
}

static void fill(char *p, int n, char c)
{
	memset(p, c, n);
	p[n] = 0;
}

static void c_nametoolong(void)
{
	static char p[6000];
	fill(p, 5000, 'a');
	show("open(5000 x 'a')", R(SYS_open, p, O_RDONLY));
	show("open(O_CREAT, 5000 x 'a')", R(SYS_open, p, O_RDONLY | O_CREAT, 0644));
	fill(p, 300, 'b');
	show("open(300-char component)", R(SYS_open, p, O_RDONLY));
	show("mkdir(300-char component)", R(SYS_mkdir, p, 0755));
	strcat(p, "/x");
	show("open(300-char dir component/x)", R(SYS_open, p, O_RDONLY));
	fill(p, 255, 'c');
	show("open(255-char component, missing)", R(SYS_open, p, O_RDONLY));
	long fd = show("creat(255-char component)", R(SYS_creat, p, 0644));
	if (fd >= 0)
		R(SYS_close, fd);
	fill(p, 256, 'c');
	show("creat(256-char component)", R(SYS_creat, p, 0644));

	/* PATH_MAX boundary: 4095 bytes + NUL is accepted (ENOENT), 4096 is not. */
	for (int i = 0; i < 4096; i++)
		p[i] = (i % 2) ? '/' : 'q';
	p[4095] = 0;
	show("open(4095-byte path)", R(SYS_open, p, O_RDONLY));
	p[4095] = 'q';
	p[4096] = 0;
	show("open(4096-byte path)", R(SYS_open, p, O_RDONLY));
}

static void c_eexist(void)
{
	mkfile("f", "x", 0644);
	mkdir_("d");
	must("symlink dangling", R(SYS_symlink, "nowhere", "dangling"));
	show("open(f, O_CREAT|O_EXCL)", R(SYS_open, "f", O_WRONLY | O_CREAT | O_EXCL, 0644));
	show("open(d, O_CREAT|O_EXCL)", R(SYS_open, "d", O_WRONLY | O_CREAT | O_EXCL, 0644));
	show("open(dangling, O_CREAT|O_EXCL)", R(SYS_open, "dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
	show("mkdir(d)", R(SYS_mkdir, "d", 0755));
	show("mkdir(f)", R(SYS_mkdir, "f", 0755));
	show("mkdir(dangling)", R(SYS_mkdir, "dangling", 0755));
	show("symlink(x, f)", R(SYS_symlink, "x", "f"));
	show("link(f, d)", R(SYS_link, "f", "d"));
	show("link(f, dangling)", R(SYS_link, "f", "dangling"));
	show("access(nowhere) still missing", R(SYS_access, "nowhere", F_OK));
}

static void c_eloop(void)
{
	struct stat st;
	char name[16], target[16];
	must("symlink a->b", R(SYS_symlink, "b", "a"));
	must("symlink b->a", R(SYS_symlink, "a", "b"));
	mkfile("f", "end of chain", 0644);
	must("symlink lf->f", R(SYS_symlink, "f", "lf"));
	show("open(a)", R(SYS_open, "a", O_RDONLY));
	show("open(a/x)", R(SYS_open, "a/x", O_RDONLY));
	show("stat(a)", R(SYS_stat, "a", &st));
	showstat("lstat(a)", R(SYS_lstat, "a", &st), &st);
	show("open(lf, O_NOFOLLOW)", R(SYS_open, "lf", O_RDONLY | O_NOFOLLOW));
	show("chdir(a)", R(SYS_chdir, "a"));

	/* Linux follows at most 40 nested symlinks: l40 works, l41 is ELOOP. */
	must("symlink l1->f", R(SYS_symlink, "f", "l1"));
	for (int i = 2; i <= 41; i++) {
		snprintf(name, sizeof name, "l%d", i);
		snprintf(target, sizeof target, "l%d", i - 1);
		must(name, R(SYS_symlink, target, name));
	}
	long fd = show("open(l40)", R(SYS_open, "l40", O_RDONLY));
	if (fd >= 0) {
		showbuf("read(l40)", R(SYS_read, fd, name, 12), name);
		R(SYS_close, fd);
	}
	show("open(l41)", R(SYS_open, "l41", O_RDONLY));
}

static void c_enotdir(void)
{
	struct stat st;
	char dents[256];
	mkfile("f", "x", 0644);
	show("open(f/x)", R(SYS_open, "f/x", O_RDONLY));
	show("open(f/x, O_CREAT)", R(SYS_open, "f/x", O_RDWR | O_CREAT, 0644));
	show("stat(f/)", R(SYS_stat, "f/", &st));
	show("mkdir(f/d)", R(SYS_mkdir, "f/d", 0755));
	show("open(f, O_DIRECTORY)", R(SYS_open, "f", O_RDONLY | O_DIRECTORY));
	show("rmdir(f)", R(SYS_rmdir, "f"));
	show("chdir(f)", R(SYS_chdir, "f"));
	long fd = must("open f", R(SYS_open, "f", O_RDONLY));
	show("getdents64(file fd)", R(SYS_getdents64, fd, dents, sizeof dents));
	show("fchdir(file fd)", R(SYS_fchdir, fd));
	show("openat(file fd, x)", R(SYS_openat, fd, "x", O_RDONLY));
	R(SYS_close, fd);
}

static void c_eisdir(void)
{
	mkdir_("d");
	mkfile("f", "x", 0644);
	show("open(d, O_WRONLY)", R(SYS_open, "d", O_WRONLY));
	show("open(d, O_RDWR)", R(SYS_open, "d", O_RDWR));
	show("open(d, O_WRONLY|O_CREAT)", R(SYS_open, "d", O_WRONLY | O_CREAT, 0644));
	show("open(newdir/, O_CREAT)", R(SYS_open, "newdir/", O_RDWR | O_CREAT, 0644));
	show("unlink(d)", R(SYS_unlink, "d"));
	show("truncate(d)", R(SYS_truncate, "d", 0));
	show("rename(f, d)", R(SYS_rename, "f", "d"));
	long fd = must("open d", R(SYS_open, "d", O_RDONLY | O_DIRECTORY));
	show("read(dir fd)", R(SYS_read, fd, buf, 4));
	R(SYS_close, fd);
}

static void c_dirops(void)
{
	struct stat st;
	mkdir_("full");
	mkfile("full/f", "x", 0644);
	mkdir_("empty");
	mkdir_("src");
	mkdir_("src/child");
	show("rmdir(full)", R(SYS_rmdir, "full"));
	show("rmdir(.)", R(SYS_rmdir, "."));
	show("rmdir(full/..)", R(SYS_rmdir, "full/.."));
	show("rename(src, src/child/x)", R(SYS_rename, "src", "src/child/x"));
	show("rename(empty, full)", R(SYS_rename, "empty", "full"));
	show("rename(full, empty)", R(SYS_rename, "full", "empty"));
	showstat("stat(empty/f) after rename over empty dir", R(SYS_stat, "empty/f", &st), &st);
	show("stat(full) after rename", R(SYS_stat, "full", &st));
	show("mkdir(newd)", R(SYS_mkdir, "newd", 0755));
	show("rmdir(newd)", R(SYS_rmdir, "newd"));
	show("rmdir(newd) again", R(SYS_rmdir, "newd"));
	show("unlink(empty/f)", R(SYS_unlink, "empty/f"));
	show("rmdir(empty) now empty", R(SYS_rmdir, "empty"));
}

static const struct tcase cases[] = {
	{"enoent", c_enoent},
	{"ebadf", c_ebadf},
	{"efault", c_efault},
	{"nametoolong", c_nametoolong},
	{"eexist", c_eexist},
	{"eloop", c_eloop},
	{"enotdir", c_enotdir},
	{"eisdir", c_eisdir},
	{"dirops", c_dirops},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
