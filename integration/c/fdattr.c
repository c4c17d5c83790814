/* fdattr: calls that change an inode through an fd, whatever the fd's
 * access mode. On a read-only fd of a file in a read-only mount, each must
 * fail (EROFS, or EPERM for chattr) and leave the host file unchanged;
 * so must the path-named xattr calls. */
#include "raw.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <time.h>

static void c_ro(void)
{
	long fd = R(SYS_open, "target", O_RDONLY);
	show("open(target, O_RDONLY)", fd >= 0 ? 0 : fd);
	show("fchmod(0777)", R(SYS_fchmod, fd, 0777));
	show("fchown(self)", R(SYS_fchown, fd, getuid(), getgid()));
	show("fsetxattr(user.x)", R(SYS_fsetxattr, fd, "user.x", "1", 1, 0));
	show("fremovexattr(user.keep)", R(SYS_fremovexattr, fd, "user.keep"));
	struct timespec ts[2] = {{1, 0}, {1, 0}};
	show("futimens(1970)", R(SYS_utimensat, fd, NULL, ts, 0));
	long flags = 0;
	show("ioctl(FS_IOC_SETFLAGS)", R(SYS_ioctl, fd, FS_IOC_SETFLAGS, &flags));
	/* The AT_EMPTY_PATH forms name the fd's file; with AT_FDCWD, the cwd. */
	show("fchmodat2(fd, \"\", AT_EMPTY_PATH)", R(452, fd, "", 0777, AT_EMPTY_PATH));
	show("fchownat(fd, \"\", AT_EMPTY_PATH)", R(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH));
	show("utimensat(fd, \"\", AT_EMPTY_PATH)", R(SYS_utimensat, fd, "", ts, AT_EMPTY_PATH));
	show("fchmodat2(cwd, \"\", AT_EMPTY_PATH)", R(452, AT_FDCWD, "", 0777, AT_EMPTY_PATH));
	show("utimensat(cwd, \"\", AT_EMPTY_PATH)", R(SYS_utimensat, AT_FDCWD, "", ts, AT_EMPTY_PATH));
	show("faccessat2(fd, \"\", W_OK, AT_EMPTY_PATH)", R(439, fd, "", W_OK, AT_EMPTY_PATH));
	show("faccessat2(cwd, \"\", W_OK, AT_EMPTY_PATH)", R(439, AT_FDCWD, "", W_OK, AT_EMPTY_PATH));
	show("faccessat2(cwd, \"\", R_OK, AT_EMPTY_PATH)", R(439, AT_FDCWD, "", R_OK, AT_EMPTY_PATH));
	/* The path forms of the same changes. */
	show("setxattr(target, user.y)", R(SYS_setxattr, "target", "user.y", "1", 1, 0));
	show("lsetxattr(target, user.y)", R(SYS_lsetxattr, "target", "user.y", "1", 1, 0));
	show("removexattr(target, user.keep)", R(SYS_removexattr, "target", "user.keep"));
	show("lremovexattr(target, user.keep)", R(SYS_lremovexattr, "target", "user.keep"));
}

static const struct tcase cases[] = {
	{"ro", c_ro},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
