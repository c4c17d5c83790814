/*
 * fsops.c - successful-path filesystem semantics: rename/link/symlink,
 * cwd handling, permission checks, metadata updates, directory listing and
 * openat2 resolution flags.  Each case builds its own fixture in the cwd with
 * raw syscalls and prints every intermediate result.
 */
#include "raw.h"
#include <linux/openat2.h>
#include <time.h>
#include <sys/inotify.h>
#include <sys/xattr.h>

static char buf[4200];

static void readall(const char *label, const char *path)
{
	long fd = R(SYS_open, path, O_RDONLY);
	if (fd < 0) {
		show(label, fd);
		return;
	}
	showbuf(label, R(SYS_read, fd, buf, sizeof buf), buf);
	R(SYS_close, fd);
}

static void c_rename(void)
{
	struct stat st;
	mkdir_("a");
	mkdir_("b");
	mkfile("a/f", "moved data", 0644);
	mkfile("b/existing", "old", 0644);
	mkfile("other", "replacement", 0600);
	show("rename(a/f, b/g)", R(SYS_rename, "a/f", "b/g"));
	show("stat(a/f)", R(SYS_stat, "a/f", &st));
	readall("read(b/g)", "b/g");
	show("rename(b/g, b/g)", R(SYS_rename, "b/g", "b/g"));
	show("rename(b/g, nodir/x)", R(SYS_rename, "b/g", "nodir/x"));
	show("rename(missing, b/x)", R(SYS_rename, "missing", "b/x"));
	show("rename(other, b/existing)", R(SYS_rename, "other", "b/existing"));
	readall("read(b/existing)", "b/existing");
	showstat("stat(b/existing)", R(SYS_stat, "b/existing", &st), &st);
	long da = must("open a", R(SYS_open, "a", O_RDONLY | O_DIRECTORY));
	long db = must("open b", R(SYS_open, "b", O_RDONLY | O_DIRECTORY));
	show("renameat(b, g, a, back)", R(SYS_renameat, db, "g", da, "back"));
	readall("read(a/back)", "a/back");
	mkfile("a/x", "x", 0644);
	show("renameat2(a, x, b, existing, RENAME_NOREPLACE)",
	     R(SYS_renameat2, da, "x", db, "existing", RENAME_NOREPLACE));
	readall("read(b/existing) unchanged", "b/existing");
	show("renameat2(a, x, b, fresh, RENAME_NOREPLACE)",
	     R(SYS_renameat2, da, "x", db, "fresh", RENAME_NOREPLACE));
	readall("read(b/fresh)", "b/fresh");
	show("renameat2(bad flags)", R(SYS_renameat2, da, "back", db, "y", 0x80));
	R(SYS_close, da);
	R(SYS_close, db);
}

static void c_link(void)
{
	struct stat st;
	mkfile("f", "abc", 0644);
	mkdir_("d");
	must("symlink sl->f", R(SYS_symlink, "f", "sl"));
	show("link(f, h)", R(SYS_link, "f", "h"));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	readall("read(h)", "h");
	show("link(d, dl)", R(SYS_link, "d", "dl"));
	show("link(missing, x)", R(SYS_link, "missing", "x"));
	show("linkat(sl, hl, 0)", R(SYS_linkat, AT_FDCWD, "sl", AT_FDCWD, "hl", 0));
	showstat("lstat(hl)", R(SYS_lstat, "hl", &st), &st);
	show("linkat(sl, hf, AT_SYMLINK_FOLLOW)", R(SYS_linkat, AT_FDCWD, "sl", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW));
	showstat("lstat(hf)", R(SYS_lstat, "hf", &st), &st);
	show("unlink(f)", R(SYS_unlink, "f"));
	showstat("stat(h) after unlink(f)", R(SYS_stat, "h", &st), &st);
	readall("read(h) after unlink(f)", "h");
}

static void c_symlink(void)
{
	struct stat st;
	const char *target = "target_that_is_long";
	mkfile(target, "pointed-to", 0644);
	mkfile("plain", "p", 0644);
	mkdir_("dir");
	mkfile("dir/inner", "inner data", 0644);
	show("symlink(target, sl)", R(SYS_symlink, target, "sl"));
	memset(buf, 0, 64);
	showbuf("readlink(sl, 64)", R(SYS_readlink, "sl", buf, 64), buf);
	memset(buf, 0, 64);
	showbuf("readlink(sl, 5) truncates", R(SYS_readlink, "sl", buf, 5), buf);
	show("readlink(sl, 0)", R(SYS_readlink, "sl", buf, 0));
	show("readlink(plain)", R(SYS_readlink, "plain", buf, 64));
	show("readlink(dir)", R(SYS_readlink, "dir", buf, 64));
	long dfd = must("open .", R(SYS_open, ".", O_RDONLY | O_DIRECTORY));
	memset(buf, 0, 64);
	showbuf("readlinkat(., sl)", R(SYS_readlinkat, dfd, "sl", buf, 64), buf);
	R(SYS_close, dfd);
	readall("read(sl)", "sl");
	show("symlink(dir, dl)", R(SYS_symlink, "dir", "dl"));
	readall("read(dl/inner)", "dl/inner");
	showstat("stat(dl)", R(SYS_stat, "dl", &st), &st);
	showstat("lstat(dl)", R(SYS_lstat, "dl", &st), &st);
	show("symlink(newtarget, dang)", R(SYS_symlink, "newtarget", "dang"));
	show("open(dang)", R(SYS_open, "dang", O_RDONLY));
	/* O_CREAT through a dangling symlink creates the target. */
	long fd = show("open(dang, O_CREAT)", R(SYS_open, "dang", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0)
		R(SYS_close, fd);
	showstat("lstat(newtarget)", R(SYS_lstat, "newtarget", &st), &st);
	show("symlink(\"\", empty)", R(SYS_symlink, "", "empty"));
	show("unlink(sl)", R(SYS_unlink, "sl"));
	readall("read(target) after unlink(sl)", target);
}

static void c_cwd(void)
{
	memset(buf, 0, sizeof buf);
	long n = show("getcwd(buf, 4096)", R(SYS_getcwd, buf, 4096));
	if (n > 0)
		printf("cwd = %s\n", buf);
	show("getcwd(buf, 1)", R(SYS_getcwd, buf, 1));
	if (n > 1)
		show("getcwd(buf, len-1)", R(SYS_getcwd, buf, n - 1));
	show("getcwd(buf, 0)", R(SYS_getcwd, buf, 0));
	mkdir_("sub");
	mkfile("sub/f", "in sub", 0644);
	mkfile("f", "in top", 0644);
	long top = must("open .", R(SYS_open, ".", O_RDONLY | O_DIRECTORY));
	long sub = must("open sub", R(SYS_open, "sub", O_RDONLY | O_DIRECTORY));
	show("chdir(sub)", R(SYS_chdir, "sub"));
	readall("read(f) in sub", "f");
	memset(buf, 0, sizeof buf);
	if (show("getcwd after chdir", R(SYS_getcwd, buf, 4096)) > 0)
		printf("cwd = %s\n", buf);
	show("chdir(..)", R(SYS_chdir, ".."));
	readall("read(f) back in top", "f");
	show("fchdir(sub)", R(SYS_fchdir, sub));
	readall("read(f) after fchdir(sub)", "f");
	readall("read(../f)", "../f");
	show("fchdir(top)", R(SYS_fchdir, top));
	readall("read(f) after fchdir(top)", "f");
	show("chdir(sub/f)", R(SYS_chdir, "sub/f"));
	show("chdir(missing)", R(SYS_chdir, "missing"));
	/* A directory removed while it is the cwd: getcwd reports ENOENT. */
	mkdir_("gone");
	show("chdir(gone)", R(SYS_chdir, "gone"));
	show("rmdir(../gone)", R(SYS_rmdir, "../gone"));
	show("getcwd in removed dir", R(SYS_getcwd, buf, 4096));
	show("open(x, O_CREAT) in removed dir", R(SYS_open, "x", O_WRONLY | O_CREAT, 0644));
	show("fchdir(top)", R(SYS_fchdir, top));
	readall("read(f) after returning", "f");
	R(SYS_close, top);
	R(SYS_close, sub);
}

static void c_access(void)
{
	static const struct {
		const char *name;
		int mode;
	} files[] = {{"rw", 0644}, {"x", 0755}, {"ro", 0444}, {"none", 0000}, {"xonly", 0111}};
	static const struct {
		const char *name;
		int bits;
	} modes[] = {{"F_OK", F_OK}, {"R_OK", R_OK}, {"W_OK", W_OK}, {"X_OK", X_OK}, {"R_OK|W_OK", R_OK | W_OK}};
	char label[128];
	mkdir_("d");
	for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[64];
		snprintf(p, sizeof p, "d/%s", files[i].name);
		mkfile(p, "#!/bin/sh\n", files[i].mode);
	}
	for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
		for (unsigned j = 0; j < sizeof modes / sizeof modes[0]; j++) {
			char p[64];
			snprintf(p, sizeof p, "d/%s", files[i].name);
			snprintf(label, sizeof label, "access(%s, %s)", p, modes[j].name);
			show(label, R(SYS_access, p, modes[j].bits));
		}
	}
	long dfd = must("open d", R(SYS_open, "d", O_RDONLY | O_DIRECTORY));
	show("faccessat(d, rw, W_OK)", R(SYS_faccessat, dfd, "rw", W_OK));
	show("faccessat(d, x, X_OK)", R(SYS_faccessat, dfd, "x", X_OK));
	show("faccessat(d, missing, F_OK)", R(SYS_faccessat, dfd, "missing", F_OK));
	show("faccessat(AT_FDCWD, d, X_OK)", R(SYS_faccessat, AT_FDCWD, "d", X_OK));
	show("access(d/rw, bad mode 8)", R(SYS_access, "d/rw", 8));
	show("access(missing, F_OK)", R(SYS_access, "missing", F_OK));
	R(SYS_close, dfd);
	/* Leave the fixture removable by the test harness. */
	R(SYS_chmod, "d/none", 0644);
}

static void c_truncate(void)
{
	struct stat st;
	mkfile("f", "hello world", 0644);
	show("truncate(f, 5)", R(SYS_truncate, "f", 5));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	readall("read(f)", "f");
	show("truncate(f, 100)", R(SYS_truncate, "f", 100));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	readall("read(f) zero-extended", "f");
	long fd = must("open f rw", R(SYS_open, "f", O_RDWR));
	show("ftruncate(rw fd, 2)", R(SYS_ftruncate, fd, 2));
	showstat("fstat", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	fd = must("open f ro", R(SYS_open, "f", O_RDONLY));
	show("ftruncate(ro fd, 1)", R(SYS_ftruncate, fd, 1));
	R(SYS_close, fd);
	show("truncate(f, -1)", R(SYS_truncate, "f", -1));
	show("truncate(missing, 0)", R(SYS_truncate, "missing", 0));
	fd = must("open f O_TRUNC", R(SYS_open, "f", O_WRONLY | O_TRUNC));
	showstat("fstat after O_TRUNC", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
}

static void showtimes(const char *label, long r, const struct stat *st)
{
	if (r != 0) {
		show(label, r);
		return;
	}
	printf("%s = 0 atime=%ld.%09ld mtime=%ld.%09ld\n", label, (long)st->st_atim.tv_sec,
	       st->st_atim.tv_nsec, (long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static void c_utimens(void)
{
	struct stat st;
	struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 987654321}};
	mkfile("f", "t", 0644);
	must("symlink", R(SYS_symlink, "f", "sl"));
	show("utimensat(f, times)", R(SYS_utimensat, AT_FDCWD, "f", ts, 0));
	showtimes("stat(f)", R(SYS_stat, "f", &st), &st);
	struct timespec omit[2] = {{0, UTIME_OMIT}, {1500000000, 42}};
	show("utimensat(f, {OMIT, t})", R(SYS_utimensat, AT_FDCWD, "f", omit, 0));
	showtimes("stat(f)", R(SYS_stat, "f", &st), &st);
	struct timespec lts[2] = {{1111111111, 1}, {1222222222, 2}};
	show("utimensat(sl, AT_SYMLINK_NOFOLLOW)", R(SYS_utimensat, AT_FDCWD, "sl", lts, AT_SYMLINK_NOFOLLOW));
	showtimes("lstat(sl)", R(SYS_lstat, "sl", &st), &st);
	showtimes("stat(f) unchanged", R(SYS_stat, "f", &st), &st);
	long fd = must("open f", R(SYS_open, "f", O_RDWR));
	struct timespec fts[2] = {{1300000000, 5}, {1300000001, 6}};
	show("utimensat(fd, NULL path)", R(SYS_utimensat, fd, NULL, fts, 0));
	showtimes("fstat(fd)", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	show("utimensat(missing)", R(SYS_utimensat, AT_FDCWD, "missing", ts, 0));
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	show("utimensat(f, nsec out of range)", R(SYS_utimensat, AT_FDCWD, "f", bad, 0));
}

static void c_chmod(void)
{
	struct stat st;
	mkfile("f", "m", 0644);
	must("symlink", R(SYS_symlink, "f", "sl"));
	mkdir_("d");
	show("chmod(f, 0640)", R(SYS_chmod, "f", 0640));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	long fd = must("open f", R(SYS_open, "f", O_RDONLY));
	show("fchmod(fd, 0600)", R(SYS_fchmod, fd, 0600));
	showstat("fstat(fd)", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	show("chmod(sl, 0751) follows link", R(SYS_chmod, "sl", 0751));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	showstat("lstat(sl)", R(SYS_lstat, "sl", &st), &st);
	show("fchmodat(AT_FDCWD, d, 0700)", R(SYS_fchmodat, AT_FDCWD, "d", 0700));
	showstat("stat(d)", R(SYS_stat, "d", &st), &st);
	show("chmod(f, 01777) sticky", R(SYS_chmod, "f", 01777));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	show("chmod(missing)", R(SYS_chmod, "missing", 0644));
}

/* The AT_EMPTY_PATH forms name the fd's own file (or the cwd for
 * AT_FDCWD); fchmodat2's AT_SYMLINK_NOFOLLOW refuses only a symlink. */
static void c_emptypath(void)
{
	struct stat st;
	struct timespec ts[2] = {{1100000000, 11}, {1200000000, 12}};
	mkfile("f", "e", 0644);
	must("symlink", R(SYS_symlink, "f", "sl"));
	mkdir_("d");
	long fd = must("open f", R(SYS_open, "f", O_RDONLY));
	show("fchmodat2(fd, \"\", 0600, AT_EMPTY_PATH)", R(452, fd, "", 0600, AT_EMPTY_PATH));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	show("fchownat(fd, \"\", self, AT_EMPTY_PATH)", R(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH));
	show("fchownat(fd, \"\", -1, -1, AT_EMPTY_PATH)", R(SYS_fchownat, fd, "", -1, -1, AT_EMPTY_PATH));
	show("utimensat(fd, \"\", times, AT_EMPTY_PATH)", R(SYS_utimensat, fd, "", ts, AT_EMPTY_PATH));
	showtimes("stat(f)", R(SYS_stat, "f", &st), &st);
	show("fchownat(fd, \"\", self, 0)", R(SYS_fchownat, fd, "", getuid(), getgid(), 0));
	show("fchmodat(fd, \"\", 0644)", R(SYS_fchmodat, fd, "", 0644));
	show("utimensat(fd, \"\", times, 0)", R(SYS_utimensat, fd, "", ts, 0));
	show("fchmodat2(fd, NULL, AT_EMPTY_PATH)", R(452, fd, NULL, 0600, AT_EMPTY_PATH));
	show("fchmodat2(99, \"\", AT_EMPTY_PATH)", R(452, 99, "", 0600, AT_EMPTY_PATH));
	show("fchownat(99, \"\", AT_EMPTY_PATH)", R(SYS_fchownat, 99, "", -1, -1, AT_EMPTY_PATH));
	show("utimensat(99, \"\", AT_EMPTY_PATH)", R(SYS_utimensat, 99, "", ts, AT_EMPTY_PATH));
	R(SYS_close, fd);
	show("fchmodat2(f, 0640, AT_SYMLINK_NOFOLLOW)", R(452, AT_FDCWD, "f", 0640, AT_SYMLINK_NOFOLLOW));
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
	show("fchmodat2(sl, 0600, AT_SYMLINK_NOFOLLOW)", R(452, AT_FDCWD, "sl", 0600, AT_SYMLINK_NOFOLLOW));
	show("fchmodat2(missing, AT_SYMLINK_NOFOLLOW)", R(452, AT_FDCWD, "missing", 0600, AT_SYMLINK_NOFOLLOW));
	showstat("stat(f) unchanged", R(SYS_stat, "f", &st), &st);
	must("chdir d", R(SYS_chdir, "d"));
	show("fchmodat2(AT_FDCWD, \"\", 0710, AT_EMPTY_PATH)", R(452, AT_FDCWD, "", 0710, AT_EMPTY_PATH));
	show("utimensat(AT_FDCWD, \"\", times, AT_EMPTY_PATH)", R(SYS_utimensat, AT_FDCWD, "", ts, AT_EMPTY_PATH));
	show("fchownat(AT_FDCWD, \"\", self, AT_EMPTY_PATH)", R(SYS_fchownat, AT_FDCWD, "", getuid(), getgid(), AT_EMPTY_PATH));
	show("faccessat2(AT_FDCWD, \"\", R_OK|X_OK, AT_EMPTY_PATH)", R(439, AT_FDCWD, "", R_OK | X_OK, AT_EMPTY_PATH));
	must("chdir ..", R(SYS_chdir, ".."));
	showstat("stat(d)", R(SYS_stat, "d", &st), &st);
	showtimes("stat(d)", R(SYS_stat, "d", &st), &st);
}

static void c_umask(void)
{
	struct stat st;
	long old = R(SYS_umask, 077);
	printf("umask(077) returned old mask %03lo\n", old);
	long fd = show("creat(c1, 0666)", R(SYS_creat, "c1", 0666));
	if (fd >= 0)
		R(SYS_close, fd);
	showstat("stat(c1)", R(SYS_stat, "c1", &st), &st);
	show("mkdir(d1, 0777)", R(SYS_mkdir, "d1", 0777));
	showstat("stat(d1)", R(SYS_stat, "d1", &st), &st);
	show("umask(022)", R(SYS_umask, 022));
	fd = show("open(c2, O_CREAT, 0777)", R(SYS_open, "c2", O_WRONLY | O_CREAT, 0777));
	if (fd >= 0)
		R(SYS_close, fd);
	showstat("stat(c2)", R(SYS_stat, "c2", &st), &st);
	show("umask(0)", R(SYS_umask, 0));
	show("umask(old)", R(SYS_umask, old));
}

static void c_creat(void)
{
	struct stat st;
	mkdir_("d");
	long fd = show("creat(c, 0644)", R(SYS_creat, "c", 0644));
	show("write(c, hello)", R(SYS_write, fd, "hello", 5));
	show("read(creat fd is write-only)", R(SYS_read, fd, buf, 5));
	R(SYS_close, fd);
	showstat("stat(c)", R(SYS_stat, "c", &st), &st);
	fd = show("creat(c) again truncates", R(SYS_creat, "c", 0600));
	showstat("fstat", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	show("creat(d)", R(SYS_creat, "d", 0644));
	show("creat(nodir/c)", R(SYS_creat, "nodir/c", 0644));
}

struct dent {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* listdir reads a directory with a deliberately small buffer (forcing several
 * getdents64 calls) and prints the sorted names with their d_type. */
static void listdir(const char *label, long fd, int bufsize)
{
	static char names[64][300];
	char *ptrs[64];
	int n = 0;
	char dbuf[4096];
	for (;;) {
		long r = R(SYS_getdents64, fd, dbuf, bufsize);
		if (r < 0) {
			show(label, r);
			return;
		}
		if (r == 0)
			break;
		for (long off = 0; off < r;) {
			struct dent *d = (struct dent *)(dbuf + off);
			if (n < 64) {
				snprintf(names[n], sizeof names[n], "%s type=%u", d->name, d->type);
				ptrs[n] = names[n];
				n++;
			}
			off += d->reclen;
		}
	}
	qsort(ptrs, n, sizeof ptrs[0], cmpstr);
	printf("%s: %d entries\n", label, n);
	for (int i = 0; i < n; i++)
		printf("  %s\n", ptrs[i]);
}

static void c_getdents(void)
{
	mkdir_("d");
	mkfile("d/b", "", 0644);
	mkfile("d/a", "", 0644);
	mkfile("d/c_with_a_rather_long_name_to_vary_record_length", "", 0644);
	mkdir_("d/sub");
	must("symlink", R(SYS_symlink, "a", "d/ln"));
	long fd = must("open d", R(SYS_open, "d", O_RDONLY | O_DIRECTORY));
	listdir("getdents64(d, 96-byte buffer)", fd, 96);
	show("getdents64 at EOF", R(SYS_getdents64, fd, buf, 4096));
	show("lseek(d, 0, SEEK_SET)", R(SYS_lseek, fd, 0, SEEK_SET));
	listdir("getdents64(d) after rewind", fd, 4096);
	show("lseek(d, 0, SEEK_SET)", R(SYS_lseek, fd, 0, SEEK_SET));
	show("getdents64(d, 8-byte buffer)", R(SYS_getdents64, fd, buf, 8));
	R(SYS_close, fd);
	mkdir_("empty");
	fd = must("open empty", R(SYS_open, "empty", O_RDONLY | O_DIRECTORY));
	listdir("getdents64(empty)", fd, 4096);
	R(SYS_close, fd);
	/* O_DIRECTORY follows a final symlink to a directory (what opendir does). */
	must("symlink dlink", R(SYS_symlink, "d", "dlink"));
	fd = show("open(dlink, O_DIRECTORY)", R(SYS_open, "dlink", O_RDONLY | O_DIRECTORY));
	if (fd >= 0) {
		listdir("getdents64(dlink)", fd, 4096);
		R(SYS_close, fd);
	}
	show("open(dlink, O_DIRECTORY|O_NOFOLLOW)", R(SYS_open, "dlink", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
	show("open(d/ln, O_DIRECTORY) (link to a file)", R(SYS_open, "d/ln", O_RDONLY | O_DIRECTORY));
}

static long openat2_(long dirfd, const char *path, unsigned long long flags, unsigned long long resolve, long size)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = flags;
	how.resolve = resolve;
	return R(SYS_openat2, dirfd, path, &how, size);
}

static void c_openat2(void)
{
	mkdir_("sub");
	mkfile("sub/f", "beneath", 0644);
	mkfile("f", "top", 0644);
	must("symlink esc", R(SYS_symlink, "../f", "sub/esc"));
	must("symlink abs", R(SYS_symlink, "/dev/null", "sub/abs"));
	must("symlink in", R(SYS_symlink, "f", "sub/in"));
	long dfd = must("open sub", R(SYS_open, "sub", O_RDONLY | O_DIRECTORY));
	long r;
	show("openat2(AT_FDCWD, ../x, BENEATH)", openat2_(AT_FDCWD, "../x", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	show("openat2(sub, ../f, BENEATH)", openat2_(dfd, "../f", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	show("openat2(sub, /dev/null, BENEATH)", openat2_(dfd, "/dev/null", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	show("openat2(sub, esc, BENEATH)", openat2_(dfd, "esc", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	show("openat2(sub, abs, BENEATH)", openat2_(dfd, "abs", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	r = show("openat2(sub, in, BENEATH)", openat2_(dfd, "in", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	if (r >= 0) {
		showbuf("read", R(SYS_read, r, buf, 64), buf);
		R(SYS_close, r);
	}
	r = show("openat2(AT_FDCWD, sub/../f, BENEATH)", openat2_(AT_FDCWD, "sub/../f", O_RDONLY, RESOLVE_BENEATH, sizeof(struct open_how)));
	if (r >= 0)
		R(SYS_close, r);
	show("openat2(sub, in, NO_SYMLINKS)", openat2_(dfd, "in", O_RDONLY, RESOLVE_NO_SYMLINKS, sizeof(struct open_how)));
	/* RESOLVE_IN_ROOT treats dirfd as "/": "/f" and "../../f" both mean sub/f. */
	r = show("openat2(sub, /f, IN_ROOT)", openat2_(dfd, "/f", O_RDONLY, RESOLVE_IN_ROOT, sizeof(struct open_how)));
	if (r >= 0) {
		showbuf("read", R(SYS_read, r, buf, 64), buf);
		R(SYS_close, r);
	}
	r = show("openat2(sub, ../../f, IN_ROOT)", openat2_(dfd, "../../f", O_RDONLY, RESOLVE_IN_ROOT, sizeof(struct open_how)));
	if (r >= 0) {
		showbuf("read", R(SYS_read, r, buf, 64), buf);
		R(SYS_close, r);
	}
	r = show("openat2(sub, esc, IN_ROOT)", openat2_(dfd, "esc", O_RDONLY, RESOLVE_IN_ROOT, sizeof(struct open_how)));
	if (r >= 0) {
		showbuf("read", R(SYS_read, r, buf, 64), buf);
		R(SYS_close, r);
	}
	show("openat2(size 8)", openat2_(dfd, "f", O_RDONLY, 0, 8));
	show("openat2(unknown resolve bit)", openat2_(dfd, "f", O_RDONLY, 1ULL << 40, sizeof(struct open_how)));
	show("openat2(unknown flag bit)", openat2_(dfd, "f", 1ULL << 40, 0, sizeof(struct open_how)));
	R(SYS_close, dfd);
}

static void c_perm(void)
{
	/* As root these succeed; as an unprivileged user they fail with EACCES. */
	mkfile("secret0", "mode zero", 0000);
	long fd = show("open(secret0, O_RDONLY)", R(SYS_open, "secret0", O_RDONLY));
	if (fd >= 0) {
		showbuf("read", R(SYS_read, fd, buf, 64), buf);
		R(SYS_close, fd);
	}
	mkdir_("locked");
	mkfile("locked/x", "x", 0644);
	must("chmod locked", R(SYS_chmod, "locked", 0));
	fd = show("open(locked/x)", R(SYS_open, "locked/x", O_RDONLY));
	if (fd >= 0)
		R(SYS_close, fd);
	fd = show("open(locked/new, O_CREAT)", R(SYS_open, "locked/new", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0)
		R(SYS_close, fd);
	show("chmod(locked, 0755)", R(SYS_chmod, "locked", 0755));
	R(SYS_chmod, "secret0", 0644);
}

static void c_io(void)
{
	struct stat st;
	long fd = must("creat", R(SYS_open, "f", O_RDWR | O_CREAT | O_TRUNC, 0644));
	show("write(0123456789)", R(SYS_write, fd, "0123456789", 10));
	show("lseek(fd, 2, SEEK_SET)", R(SYS_lseek, fd, 2, SEEK_SET));
	showbuf("read(3)", R(SYS_read, fd, buf, 3), buf);
	show("lseek(fd, 0, SEEK_CUR)", R(SYS_lseek, fd, 0, SEEK_CUR));
	show("lseek(fd, -1, SEEK_END)", R(SYS_lseek, fd, -1, SEEK_END));
	showbuf("read(10)", R(SYS_read, fd, buf, 10), buf);
	showbuf("read at EOF", R(SYS_read, fd, buf, 10), buf);
	show("lseek(fd, -100, SEEK_SET)", R(SYS_lseek, fd, -100, SEEK_SET));
	show("lseek(fd, 0, 99)", R(SYS_lseek, fd, 0, 99));
	showbuf("pread64(4, off 6)", R(SYS_pread64, fd, buf, 4, 6), buf);
	show("pwrite64(AB, off 20)", R(SYS_pwrite64, fd, "AB", 2, 20));
	showstat("fstat (hole)", R(SYS_fstat, fd, &st), &st);
	show("lseek(fd, 0, SEEK_CUR) unchanged by pread/pwrite", R(SYS_lseek, fd, 0, SEEK_CUR));
	R(SYS_close, fd);
	fd = must("open O_APPEND", R(SYS_open, "f", O_WRONLY | O_APPEND));
	show("lseek(append fd, 0, SEEK_SET)", R(SYS_lseek, fd, 0, SEEK_SET));
	show("write(appended)", R(SYS_write, fd, "Z", 1));
	R(SYS_close, fd);
	fd = must("open", R(SYS_open, "f", O_RDONLY));
	showbuf("read all", R(SYS_read, fd, buf, 64), buf);
	R(SYS_close, fd);
	fd = must("open /dev/zero", R(SYS_open, "/dev/zero", O_RDONLY));
	showbuf("read(/dev/zero, 4)", R(SYS_read, fd, buf, 4), buf);
	R(SYS_close, fd);
	fd = must("open /dev/null", R(SYS_open, "/dev/null", O_RDWR));
	show("write(/dev/null, 7)", R(SYS_write, fd, "discard", 7));
	showbuf("read(/dev/null)", R(SYS_read, fd, buf, 4), buf);
	R(SYS_close, fd);
	fd = must("open /dev/full", R(SYS_open, "/dev/full", O_WRONLY));
	show("write(/dev/full)", R(SYS_write, fd, "x", 1));
	R(SYS_close, fd);
}

static void c_xattr(void)
{
	char name[300];
	long n;
	mkfile("f", "data", 0644);
	R(SYS_symlink, "f", "l");
	show("setxattr(f, user.a)", R(SYS_setxattr, "f", "user.a", "one", 3, 0));
	show("setxattr(f, user.a, CREATE)", R(SYS_setxattr, "f", "user.a", "x", 1, XATTR_CREATE));
	show("setxattr(f, user.b, REPLACE)", R(SYS_setxattr, "f", "user.b", "x", 1, XATTR_REPLACE));
	show("setxattr(l, user.b) follows", R(SYS_setxattr, "l", "user.b", "two", 3, 0));
	show("lsetxattr(l, user.c)", R(SYS_lsetxattr, "l", "user.c", "x", 1, 0));
	show("setxattr(missing)", R(SYS_setxattr, "missing", "user.a", "x", 1, 0));
	show("setxattr(f, bad flags)", R(SYS_setxattr, "f", "user.a", "x", 1, 8));
	show("setxattr(f, NULL name)", R(SYS_setxattr, "f", NULL, "x", 1, 0));
	show("setxattr(f, NULL value, 4)", R(SYS_setxattr, "f", "user.a", NULL, 4, 0));
	show("setxattr(f, size 70000)", R(SYS_setxattr, "f", "user.a", buf, 70000, 0));
	memset(name, 'n', sizeof name);
	memcpy(name, "user.", 5);
	name[sizeof name - 1] = 0;
	show("setxattr(f, 299-char name)", R(SYS_setxattr, "f", name, "x", 1, 0));
	show("setxattr(f, nonamespace)", R(SYS_setxattr, "f", "plain", "x", 1, 0));
	n = R(SYS_getxattr, "f", "user.b", buf, sizeof buf);
	showbuf("getxattr(f, user.b)", n, buf);
	n = R(SYS_listxattr, "f", buf, sizeof buf);
	show("listxattr(f) length", n);
	show("removexattr(f, user.a)", R(SYS_removexattr, "f", "user.a"));
	show("removexattr(f, user.a) again", R(SYS_removexattr, "f", "user.a"));
	show("removexattr(l, user.b) follows", R(SYS_removexattr, "l", "user.b"));
	show("lremovexattr(l, user.b)", R(SYS_lremovexattr, "l", "user.b"));
	show("removexattr(missing)", R(SYS_removexattr, "missing", "user.a"));
	n = R(SYS_listxattr, "f", buf, sizeof buf);
	show("listxattr(f) length after", n);
}

static void c_inotify(void)
{
	char ev[4096];
	mkdir_("w");
	mkfile("plain", "x", 0644);
	R(SYS_symlink, "w", "lw");
	long in = must("inotify_init1", R(SYS_inotify_init1, IN_CLOEXEC | IN_NONBLOCK));
	show("inotify_add_watch(w)", R(SYS_inotify_add_watch, in, "w", IN_CREATE | IN_DELETE));
	show("inotify_add_watch(w) again", R(SYS_inotify_add_watch, in, "w", IN_CREATE | IN_DELETE));
	show("inotify_add_watch(lw) follows: same wd", R(SYS_inotify_add_watch, in, "lw", IN_CREATE));
	show("inotify_add_watch(lw, DONT_FOLLOW)", R(SYS_inotify_add_watch, in, "lw", IN_ATTRIB | IN_DONT_FOLLOW));
	show("inotify_add_watch(plain, ONLYDIR)", R(SYS_inotify_add_watch, in, "plain", IN_CREATE | IN_ONLYDIR));
	show("inotify_add_watch(missing)", R(SYS_inotify_add_watch, in, "missing", IN_CREATE));
	show("inotify_add_watch(w, mask 0)", R(SYS_inotify_add_watch, in, "w", 0));
	show("inotify_add_watch(9999, w)", R(SYS_inotify_add_watch, 9999, "w", IN_CREATE));
	show("inotify_add_watch(stdin-ish plain fd, w)", R(SYS_inotify_add_watch, 0, "w", IN_CREATE));
	show("inotify_add_watch(w, NULL)", R(SYS_inotify_add_watch, in, NULL, IN_CREATE));
	mkfile("w/new", "", 0644);
	R(SYS_unlink, "w/new");
	long n = R(SYS_read, in, ev, sizeof ev);
	show("read(events) bytes", n);
	for (long off = 0; n > 0 && off < n;) {
		struct inotify_event *e = (struct inotify_event *)(ev + off);
		printf("event wd=%d mask=%x name=%s\n", e->wd, e->mask, e->len ? e->name : "");
		off += sizeof *e + e->len;
	}
	show("inotify_rm_watch(1)", R(SYS_inotify_rm_watch, in, 1));
	R(SYS_close, in);
}

static const struct tcase cases[] = {
	{"rename", c_rename},
	{"link", c_link},
	{"symlink", c_symlink},
	{"cwd", c_cwd},
	{"access", c_access},
	{"truncate", c_truncate},
	{"utimens", c_utimens},
	{"chmod", c_chmod},
	{"emptypath", c_emptypath},
	{"umask", c_umask},
	{"creat", c_creat},
	{"getdents", c_getdents},
	{"openat2", c_openat2},
	{"perm", c_perm},
	{"io", c_io},
	{"xattr", c_xattr},
	{"inotify", c_inotify},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
