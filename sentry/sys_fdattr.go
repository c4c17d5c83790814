package sentry

import (
	"os"

	"golang.org/x/sys/unix"

	"sandbox/vfs"
)

// fchmod, fchown, fsetxattr and fremovexattr change the inode behind an
// fd whatever the fd's access mode: a read-only fd of a file in a read-only
// mount would otherwise let the guest change the host file. They are routed
// and, like on a read-only bind mount, refused with EROFS there; elsewhere
// the sentry performs them on its own copy of the guest's fd (so a racing
// dup2 cannot swap the file after the check).

// fdMount returns the sentry's copy of the guest's fd and the mount its
// file lives in (nil: not a file of the guest's view - a pipe, a socket, a
// device, a memfd, or a file deleted or outside every mount). fileish is
// false for pipes, sockets and devices.
func fdMount(c *Call, fd int) (nfd int, m *vfs.Mount, fileish bool, errno unix.Errno) {
	nfd, errno = c.getFD(fd)
	if errno != 0 {
		return -1, nil, false, errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(nfd, &st); err != nil {
		unix.Close(nfd)
		return -1, nil, false, err.(unix.Errno)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
	default:
		return nfd, nil, false, 0
	}
	host, err := os.Readlink("/proc/self/fd/" + itoa(nfd))
	if err != nil {
		unix.Close(nfd)
		return -1, nil, false, unix.EBADF
	}
	_, m = c.s.fs.GuestPathOf(host)
	return nfd, m, true, 0
}

// fdForChange returns the sentry's copy of the guest's fd, or EROFS when
// the file's metadata is not the guest's to change (mayChange). An O_PATH
// fd gives EBADF, as fchmod, fchown, futimens and fsetxattr give in Linux.
func fdForChange(c *Call, fd int) (int, unix.Errno) {
	nfd, errno := c.getFD(fd)
	if errno != 0 {
		return -1, errno
	}
	if fl, err := unix.FcntlInt(uintptr(nfd), unix.F_GETFL, 0); err != nil || fl&unix.O_PATH != 0 {
		unix.Close(nfd)
		return -1, unix.EBADF
	}
	if errno := mayChange(c, nfd); errno != 0 {
		unix.Close(nfd)
		return -1, errno
	}
	return nfd, 0
}

// mayChange tells whether the file behind the sentry's fd nfd is the
// guest's to change: EROFS for a read-only or device mount of the view
// (vfs.FS.MayChange). The guest's own ptys are its own, as in Linux.
func mayChange(c *Call, nfd int) unix.Errno {
	var st unix.Stat_t
	if unix.Fstat(nfd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && c.s.ownPty(&st) {
		return 0
	}
	return c.s.fs.MayChange(nfd)
}

// changeFD runs fn on the sentry's copy of the guest's fd after the
// read-only check (fdForChange).
func changeFD(c *Call, fd int, fn func(nfd int) error) (int64, unix.Errno) {
	nfd, errno := fdForChange(c, fd)
	if errno != 0 {
		return 0, errno
	}
	return runChange(nfd, fn)
}

func runChange(nfd int, fn func(nfd int) error) (int64, unix.Errno) {
	defer unix.Close(nfd)
	if err := fn(nfd); err != nil {
		return 0, err.(unix.Errno)
	}
	return 0, 0
}

// emptyPathCall is pathCall for the calls that take AT_EMPTY_PATH
// (fchownat, fchmodat2, utimensat): with that flag an empty path names
// dirfd's own file, O_PATH fds included, or the cwd for AT_FDCWD. onFD
// then changes the sentry's copy after the same check as fchmod's.
func emptyPathCall(c *Call, dirfd, pathArg, flags int, onFD func(nfd int) error, fn func(ctx vfs.Ctx, p string) unix.Errno) (int64, unix.Errno) {
	if flags&atEmptyPath != 0 {
		path, errno := c.path(pathArg)
		if errno != 0 {
			return 0, errno
		}
		if path == "" {
			nfd, errno := c.emptyPathFD(dirfd)
			if errno != 0 {
				return 0, errno
			}
			if errno := mayChange(c, nfd); errno != 0 {
				unix.Close(nfd)
				return 0, errno
			}
			return runChange(nfd, onFD)
		}
	}
	return pathCall(c, dirfd, pathArg, fn)
}

func sysFchmod(c *Call) (int64, unix.Errno) {
	return changeFD(c, c.Int(0), func(fd int) error { return unix.Fchmod(fd, uint32(c.Arg(1))&0o7777) })
}

func sysFchown(c *Call) (int64, unix.Errno) {
	return changeFD(c, c.Int(0), func(fd int) error { return unix.Fchown(fd, c.Int(1), c.Int(2)) })
}

func xattrName(c *Call, arg int) (string, unix.Errno) {
	name, errno := c.Mem().CopyInString(c.Arg(arg), 256)
	if errno == unix.ENAMETOOLONG {
		return "", unix.ERANGE
	}
	return name, errno
}

// xattrArgs copies in the name and value of a set*xattr call whose name
// is argument arg (value and size follow it).
func xattrArgs(c *Call, arg int) (string, []byte, unix.Errno) {
	name, errno := xattrName(c, arg)
	if errno != 0 {
		return "", nil, errno
	}
	size := c.Arg(arg + 2)
	if size > 65536 { // XATTR_SIZE_MAX
		return "", nil, unix.E2BIG
	}
	val := make([]byte, size)
	if e := c.Mem().CopyIn(c.Arg(arg+1), val); e != 0 {
		return "", nil, e
	}
	return name, val, 0
}

func sysFsetxattr(c *Call) (int64, unix.Errno) {
	name, val, errno := xattrArgs(c, 1)
	if errno != 0 {
		return 0, errno
	}
	return changeFD(c, c.Int(0), func(fd int) error { return unix.Fsetxattr(fd, name, val, c.Int(4)) })
}

func sysFremovexattr(c *Call) (int64, unix.Errno) {
	name, errno := xattrName(c, 1)
	if errno != 0 {
		return 0, errno
	}
	return changeFD(c, c.Int(0), func(fd int) error { return unix.Fremovexattr(fd, name) })
}

func setxattr(c *Call, follow bool) (int64, unix.Errno) {
	name, val, errno := xattrArgs(c, 1)
	if errno != 0 {
		return 0, errno
	}
	return pathCall(c, atFDCWD, 0, func(ctx vfs.Ctx, p string) unix.Errno {
		return c.s.fs.Setxattr(ctx, p, follow, name, val, c.Int(4))
	})
}

func removexattr(c *Call, follow bool) (int64, unix.Errno) {
	name, errno := xattrName(c, 1)
	if errno != 0 {
		return 0, errno
	}
	return pathCall(c, atFDCWD, 0, func(ctx vfs.Ctx, p string) unix.Errno {
		return c.s.fs.Removexattr(ctx, p, follow, name)
	})
}

func sysSetxattr(c *Call) (int64, unix.Errno)     { return setxattr(c, true) }
func sysLsetxattr(c *Call) (int64, unix.Errno)    { return setxattr(c, false) }
func sysRemovexattr(c *Call) (int64, unix.Errno)  { return removexattr(c, true) }
func sysLremovexattr(c *Call) (int64, unix.Errno) { return removexattr(c, false) }
