package sentry

import (
	"os"

	"golang.org/x/sys/unix"

	"sandbox/mm"
)

const atEmptyPath = unix.AT_EMPTY_PATH

// fstatGuest stats the guest's fd itself.
func fstatGuest(c *Call, fd int) (unix.Stat_t, unix.Errno) {
	var st unix.Stat_t
	if fd == atFDCWD {
		d, rel, e := c.dirAt(atFDCWD)
		if e != 0 {
			return st, e
		}
		defer rel()
		if err := unix.Fstat(d.FD, &st); err != nil {
			return st, err.(unix.Errno)
		}
		return st, 0
	}
	nfd, e := c.getFD(fd)
	if e != 0 {
		return st, e
	}
	defer unix.Close(nfd)
	if err := unix.Fstat(nfd, &st); err != nil {
		return st, err.(unix.Errno)
	}
	// A file of the guest's /proc lives on the scratch filesystem; procfs
	// reports size 0 for its files.
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Dev == c.s.scratchDev() {
		if host, err := os.Readlink("/proc/self/fd/" + itoa(nfd)); err == nil && c.s.fs.IsProcFile(host) {
			st.Size, st.Blocks = 0, 0
		}
	}
	return st, 0
}

// statPath is stat, lstat and newfstatat.
func statPath(c *Call, dirfd int, pathArg int, flags int, bufArg int) (int64, unix.Errno) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	var path string
	var errno unix.Errno
	if c.Arg(pathArg) == 0 && flags&atEmptyPath != 0 {
		path = "" // Linux 6.11+: NULL means "" with AT_EMPTY_PATH
	} else if path, errno = c.path(pathArg); errno != 0 {
		return 0, errno
	}
	var st unix.Stat_t
	if path == "" {
		if flags&atEmptyPath == 0 {
			return 0, unix.ENOENT
		}
		if st, errno = fstatGuest(c, dirfd); errno != 0 {
			return 0, errno
		}
	} else {
		ctx, rel, errno := c.ctxAt(dirfd, path)
		if errno != 0 {
			return 0, errno
		}
		defer rel()
		if st, errno = c.s.fs.Stat(ctx, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0); errno != 0 {
			return 0, errno
		}
	}
	return 0, mm.CopyOutStruct(c.Mem(), c.Arg(bufArg), &st)
}

func sysStat(c *Call) (int64, unix.Errno) { return statPath(c, atFDCWD, 0, 0, 1) }
func sysLstat(c *Call) (int64, unix.Errno) {
	return statPath(c, atFDCWD, 0, unix.AT_SYMLINK_NOFOLLOW, 1)
}
func sysNewfstatat(c *Call) (int64, unix.Errno) {
	return statPath(c, c.Int(0), 1, c.Int(3), 2)
}

func sysStatx(c *Call) (int64, unix.Errno) {
	dirfd, flags, mask := c.Int(0), c.Int(2), int(uint32(c.Arg(3)))
	const syncType = 0x6000
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|atEmptyPath|syncType) != 0 || flags&syncType == syncType {
		return 0, unix.EINVAL
	}
	if mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	var path string
	var errno unix.Errno
	if c.Arg(1) == 0 && flags&atEmptyPath != 0 {
		path = ""
	} else if path, errno = c.path(1); errno != 0 {
		return 0, errno
	}
	var stx unix.Statx_t
	statxFD := func(fd int) unix.Errno {
		if fd == atFDCWD {
			d, rel, e := c.dirAt(atFDCWD)
			if e != 0 {
				return e
			}
			defer rel()
			if err := unix.Statx(d.FD, "", flags|atEmptyPath, mask, &stx); err != nil {
				return err.(unix.Errno)
			}
			return 0
		}
		nfd, e := c.getFD(fd)
		if e != 0 {
			return e
		}
		defer unix.Close(nfd)
		if err := unix.Statx(nfd, "", (flags&syncType)|atEmptyPath, mask, &stx); err != nil {
			return err.(unix.Errno)
		}
		return 0
	}
	if path == "" {
		if flags&atEmptyPath == 0 {
			return 0, unix.ENOENT
		}
		if errno := statxFD(dirfd); errno != 0 {
			return 0, errno
		}
	} else {
		ctx, rel, errno := c.ctxAt(dirfd, path)
		if errno != 0 {
			return 0, errno
		}
		defer rel()
		if stx, errno = c.s.fs.Statx(ctx, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags, mask); errno != 0 {
			return 0, errno
		}
	}
	return 0, mm.CopyOutStruct(c.Mem(), c.Arg(4), &stx)
}

func access(c *Call, dirfd int, pathArg int, mode uint32, flags int) (int64, unix.Errno) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	if path == "" {
		if flags&atEmptyPath == 0 {
			return 0, unix.ENOENT
		}
		nfd, e := c.emptyPathFD(dirfd)
		if e != 0 {
			return 0, e
		}
		defer unix.Close(nfd)
		if mode&unix.W_OK != 0 {
			// A file, directory or link of a read-only mount: EROFS, as
			// the path form and Linux say (the host file may be writable).
			var st unix.Stat_t
			if unix.Fstat(nfd, &st) == nil {
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
					if e := c.s.fs.MayWrite(nfd); e != 0 {
						return 0, e
					}
				}
			}
		}
		if err := unix.Faccessat2(nfd, "", mode, flags|atEmptyPath); err != nil {
			return 0, err.(unix.Errno)
		}
		return 0, 0
	}
	ctx, rel, errno := c.ctxAt(dirfd, path)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	return 0, c.s.fs.Access(ctx, path, mode, flags)
}

func sysAccess(c *Call) (int64, unix.Errno) { return access(c, atFDCWD, 0, uint32(c.Arg(1)), 0) }
func sysFaccessat(c *Call) (int64, unix.Errno) {
	return access(c, c.Int(0), 1, uint32(c.Arg(2)), 0)
}
func sysFaccessat2(c *Call) (int64, unix.Errno) {
	return access(c, c.Int(0), 1, uint32(c.Arg(2)), c.Int(3))
}

func readlink(c *Call, dirfd int, pathArg, bufArg, sizeArg int) (int64, unix.Errno) {
	size := c.Int(sizeArg)
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	if size <= 0 {
		return 0, unix.EINVAL
	}
	var target string
	if path == "" {
		// readlinkat(fd, "") reads the link fd itself refers to.
		nfd, e := c.getFD(dirfd)
		if e != 0 {
			if dirfd == atFDCWD {
				return 0, unix.ENOENT
			}
			return 0, e
		}
		defer unix.Close(nfd)
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(nfd, "", buf)
		if err != nil {
			if err == unix.ENOENT {
				return 0, unix.EINVAL
			}
			return 0, err.(unix.Errno)
		}
		target = string(buf[:n])
	} else {
		ctx, rel, errno := c.ctxAt(dirfd, path)
		if errno != 0 {
			return 0, errno
		}
		defer rel()
		pid, ref, errno := c.s.fs.FDRefOf(ctx, path)
		if errno != 0 {
			return 0, errno
		}
		if ref >= 0 {
			// /proc/<pid>/fd/N: what the fd refers to, in the guest's view.
			if target, errno = c.fdLinkTarget(pid, ref); errno != 0 {
				return 0, errno
			}
		} else if target, errno = c.s.fs.Readlink(ctx, path); errno != 0 {
			return 0, errno
		}
	}
	b := []byte(target)
	if len(b) > size {
		b = b[:size]
	}
	if e := c.Mem().CopyOut(c.Arg(bufArg), b); e != 0 {
		return 0, e
	}
	return int64(len(b)), 0
}

// fdLinkTarget is the target of the magic link /proc/self/fd/n: a guest
// path for files in the view, "pipe:[ino]"-style names for the rest.
func (c *Call) fdLinkTarget(pid, n int) (string, unix.Errno) {
	nfd, errno := c.getFDOf(pid, n)
	if errno != 0 {
		return "", unix.ENOENT
	}
	defer unix.Close(nfd)
	host, err := os.Readlink("/proc/self/fd/" + itoa(nfd))
	if err != nil {
		return "", unix.ENOENT
	}
	return c.s.fdLinkName(host), 0
}

func sysReadlink(c *Call) (int64, unix.Errno)   { return readlink(c, atFDCWD, 0, 1, 2) }
func sysReadlinkat(c *Call) (int64, unix.Errno) { return readlink(c, c.Int(0), 1, 2, 3) }

// withHostPath resolves a path and runs fn on a /proc/self/fd path of the
// object (for calls with no *at form: statfs, getxattr).
func withHostPath(c *Call, pathArg int, follow bool, fn func(p string) (int64, unix.Errno)) (int64, unix.Errno) {
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	ctx, rel, errno := c.ctxAt(atFDCWD, path)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	fd, errno := c.s.fs.OpenPath(ctx, path, follow)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return fn("/proc/self/fd/" + itoa(fd))
}

func sysStatfs(c *Call) (int64, unix.Errno) {
	return withHostPath(c, 0, true, func(p string) (int64, unix.Errno) {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			return 0, err.(unix.Errno)
		}
		return 0, mm.CopyOutStruct(c.Mem(), c.Arg(1), &st)
	})
}

func getxattr(c *Call, follow bool) (int64, unix.Errno) {
	name, errno := c.Mem().CopyInString(c.Arg(1), 256)
	if errno == unix.ENAMETOOLONG {
		return 0, unix.ERANGE
	}
	if errno != 0 {
		return 0, errno
	}
	size := int(c.Arg(3))
	if size > 65536 {
		size = 65536
	}
	return withHostPath(c, 0, follow, func(p string) (int64, unix.Errno) {
		buf := make([]byte, size)
		n, err := unix.Getxattr(p, name, buf)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		if size > 0 {
			if e := c.Mem().CopyOut(c.Arg(2), buf[:n]); e != 0 {
				return 0, e
			}
		}
		return int64(n), 0
	})
}

func listxattr(c *Call, follow bool) (int64, unix.Errno) {
	size := int(c.Arg(2))
	if size > 65536 {
		size = 65536
	}
	return withHostPath(c, 0, follow, func(p string) (int64, unix.Errno) {
		buf := make([]byte, size)
		n, err := unix.Listxattr(p, buf)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		if size > 0 {
			if e := c.Mem().CopyOut(c.Arg(1), buf[:n]); e != 0 {
				return 0, e
			}
		}
		return int64(n), 0
	})
}

func sysGetxattr(c *Call) (int64, unix.Errno)   { return getxattr(c, true) }
func sysLgetxattr(c *Call) (int64, unix.Errno)  { return getxattr(c, false) }
func sysListxattr(c *Call) (int64, unix.Errno)  { return listxattr(c, true) }
func sysLlistxattr(c *Call) (int64, unix.Errno) { return listxattr(c, false) }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// sysFstat answers fstat with the host's view of the file (routed only in
// a user namespace, Options.RouteIDs).
func sysFstat(c *Call) (int64, unix.Errno) {
	if c.Int(0) < 0 {
		return 0, unix.EBADF // not AT_FDCWD's meaning: fstat takes an fd
	}
	st, errno := fstatGuest(c, c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	return 0, mm.CopyOutStruct(c.Mem(), c.Arg(1), &st)
}
