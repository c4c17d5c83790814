/*
 * stat.c - stat-family parity.  Only fields that are identical between a
 * native and a sandboxed run of the same fixture are printed (see showstat in
 * raw.h); the point is that the sentry fills the guest's struct stat / struct
 * statx with the right layout, follows or does not follow symlinks as asked,
 * and honours AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW.
 */
#include "raw.h"

static void fixture(void)
{
	mkfile("f", "12345", 0640);
	mkdir_("d");
	mkdir_("d/sub");
	must("symlink sl", R(SYS_symlink, "f", "sl"));
	must("symlink dl", R(SYS_symlink, "d", "dl"));
	must("symlink dangling", R(SYS_symlink, "nowhere/at/all", "dangling"));
	must("link", R(SYS_link, "f", "hard"));
}

static void c_stat(void)
{
	struct stat st;
	fixture();
	static const char *paths[] = {"f", "d", "d/sub", "sl", "dl", "dangling", "hard", "/dev/null", "/dev/zero", "missing", NULL};
	char label[128];
	for (int i = 0; paths[i]; i++) {
		snprintf(label, sizeof label, "stat(%s)", paths[i]);
		showstat(label, R(SYS_stat, paths[i], &st), &st);
		snprintf(label, sizeof label, "lstat(%s)", paths[i]);
		showstat(label, R(SYS_lstat, paths[i], &st), &st);
		snprintf(label, sizeof label, "newfstatat(AT_FDCWD, %s, 0)", paths[i]);
		showstat(label, R(SYS_newfstatat, AT_FDCWD, paths[i], &st, 0), &st);
		snprintf(label, sizeof label, "newfstatat(AT_FDCWD, %s, AT_SYMLINK_NOFOLLOW)", paths[i]);
		showstat(label, R(SYS_newfstatat, AT_FDCWD, paths[i], &st, AT_SYMLINK_NOFOLLOW), &st);
	}
	long dfd = must("open d", R(SYS_open, "d", O_RDONLY | O_DIRECTORY));
	showstat("newfstatat(d, sub, 0)", R(SYS_newfstatat, dfd, "sub", &st, 0), &st);
	showstat("newfstatat(d, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, dfd, "", &st, AT_EMPTY_PATH), &st);
	showstat("newfstatat(d, \"\", 0)", R(SYS_newfstatat, dfd, "", &st, 0), &st);
	showstat("newfstatat(d, ../f, 0)", R(SYS_newfstatat, dfd, "../f", &st, 0), &st);
	showstat("fstat(d)", R(SYS_fstat, dfd, &st), &st);
	R(SYS_close, dfd);
	long fd = must("open f", R(SYS_open, "f", O_RDONLY));
	showstat("fstat(f)", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	fd = must("open f O_PATH", R(SYS_open, "f", O_PATH));
	showstat("fstat(O_PATH file)", R(SYS_fstat, fd, &st), &st);
	R(SYS_close, fd);
	showstat("newfstatat(bad flag)", R(SYS_newfstatat, AT_FDCWD, "f", &st, 0x80000000), &st);
}

static void showstatx(const char *label, long r, const struct statx *sx)
{
	if (r != 0) {
		show(label, r);
		return;
	}
	/* Only the basic bits we rely on; newer kernels add e.g. STATX_MNT_ID. */
	unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE;
	printf("%s = 0 mask&want=%x type=%s perm=%04o nlink=%u", label, sx->stx_mask & want,
	       ftype(sx->stx_mode), sx->stx_mode & 07777, sx->stx_nlink);
	if (S_ISREG(sx->stx_mode) || S_ISLNK(sx->stx_mode))
		printf(" size=%llu", (unsigned long long)sx->stx_size);
	putchar('\n');
}

static void c_statx(void)
{
	struct statx sx;
	fixture();
	static const char *paths[] = {"f", "d", "sl", "dl", "dangling", "hard", "/dev/null", "missing", NULL};
	char label[128];
	for (int i = 0; paths[i]; i++) {
		memset(&sx, 0, sizeof sx);
		snprintf(label, sizeof label, "statx(%s, 0)", paths[i]);
		showstatx(label, R(SYS_statx, AT_FDCWD, paths[i], 0, STATX_BASIC_STATS, &sx), &sx);
		memset(&sx, 0, sizeof sx);
		snprintf(label, sizeof label, "statx(%s, AT_SYMLINK_NOFOLLOW)", paths[i]);
		showstatx(label, R(SYS_statx, AT_FDCWD, paths[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx), &sx);
	}
	long fd = must("open f", R(SYS_open, "f", O_RDONLY));
	memset(&sx, 0, sizeof sx);
	showstatx("statx(fd, \"\", AT_EMPTY_PATH)", R(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), &sx);
	R(SYS_close, fd);
	show("statx(f, NULL buffer)", R(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, NULL));
	show("statx(f, bad flags)", R(SYS_statx, AT_FDCWD, "f", 0x80000000, STATX_BASIC_STATS, &sx));
	show("statx(f, reserved mask bit)", R(SYS_statx, AT_FDCWD, "f", 0, 0x80000000U, &sx));
	show("statx(9999, relative)", R(SYS_statx, 9999, "f", 0, STATX_BASIC_STATS, &sx));
}

/* O_PATH|O_NOFOLLOW on a symlink: Linux gives an fd to the link itself;
 * the sandbox cannot install O_PATH files (ADDFD refuses them) and answers
 * ELOOP, its documented divergence. */
/* An O_PATH fd of a symlink: the calls that act through it. */
static void c_opath_symlink(void)
{
	struct stat st;
	struct statx sx;
	char buf[64];
	mkfile("f", "hello", 0644);
	R(SYS_symlinkat, "f", AT_FDCWD, "sl");
	long fd = R(SYS_open, "sl", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	show("open(sl, O_PATH|O_NOFOLLOW)", fd);
	if (fd < 0)
		return;
	showstat("newfstatat(it, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), &st);
	showstatx("statx(it, \"\", AT_EMPTY_PATH)", R(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), &sx);
	long n = R(SYS_readlinkat, fd, "", buf, sizeof buf);
	printf("readlinkat(it, \"\") = %ld \"%.*s\"\n", n, n > 0 ? (int)n : 0, buf);
	struct timespec ts[2] = {{1300000000, 0}, {1400000000, 0}};
	show("utimensat(it, \"\", AT_EMPTY_PATH)", R(SYS_utimensat, fd, "", ts, AT_EMPTY_PATH));
	R(SYS_lstat, "sl", &st);
	printf("lstat(sl) mtime=%ld\n", (long)st.st_mtim.tv_sec);
	show("fchownat(it, \"\", self, AT_EMPTY_PATH)", R(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH));
	show("fchmodat2(it, \"\", AT_EMPTY_PATH)", R(452, fd, "", 0600, AT_EMPTY_PATH));
	show("fchmod(it)", R(SYS_fchmod, fd, 0600));
	show("fchown(it)", R(SYS_fchown, fd, getuid(), getgid()));
	show("openat(it, x)", R(SYS_openat, fd, "x", O_RDONLY));
	long d = R(SYS_dup, fd);
	show("dup(it)", d);
	showstat("newfstatat(dup, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, d, "", &st, AT_EMPTY_PATH), &st);
	long d2 = R(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 10);
	show("fcntl(it, F_DUPFD_CLOEXEC, 10)", d2);
	showstat("newfstatat(10, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, d2, "", &st, AT_EMPTY_PATH), &st);
	show("close(it)", R(SYS_close, fd));
	showstat("newfstatat(closed, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), &st);
	show("close(10)", R(SYS_close, d2));
	long again = R(SYS_open, "f", O_RDONLY);
	show("open(f) takes the number back", again);
	showstat("newfstatat(that, \"\", AT_EMPTY_PATH)", R(SYS_newfstatat, again, "", &st, AT_EMPTY_PATH), &st);
	/* glibc's fchmodat with AT_SYMLINK_NOFOLLOW (what tar calls for each
	 * symlink it extracts) goes through an O_PATH fd. */
	int r = fchmodat(AT_FDCWD, "sl", 0600, AT_SYMLINK_NOFOLLOW);
	printf("fchmodat(sl, AT_SYMLINK_NOFOLLOW) = %d %s\n", r, r ? strerror(errno) : "");
	r = fchmodat(AT_FDCWD, "f", 0640, AT_SYMLINK_NOFOLLOW);
	printf("fchmodat(f, AT_SYMLINK_NOFOLLOW) = %d %s\n", r, r ? strerror(errno) : "");
	showstat("stat(f)", R(SYS_stat, "f", &st), &st);
}

/* The one call that still differs: fstat runs natively, on the stand-in. */
static void c_opath_symlink_fstat(void)
{
	struct stat st;
	R(SYS_symlinkat, "f", AT_FDCWD, "sl");
	long fd = R(SYS_open, "sl", O_PATH | O_NOFOLLOW);
	show("open(sl, O_PATH|O_NOFOLLOW)", fd);
	if (fd >= 0)
		showstat("fstat(it)", R(SYS_fstat, fd, &st), &st);
}

static const struct tcase cases[] = {
	{"stat", c_stat},
	{"opath-symlink", c_opath_symlink},
	{"opath-symlink-fstat", c_opath_symlink_fstat},
	{"statx", c_statx},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
