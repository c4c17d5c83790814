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
static void c_opath_symlink(void)
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
	{"statx", c_statx},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
