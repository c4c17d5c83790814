package sentry

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/mm"
	"sandbox/vfs"
)

// pathCall copies in a path, builds its context and runs fn.
func pathCall(c *Call, dirfd, pathArg int, fn func(ctx vfs.Ctx, path string) unix.Errno) (int64, unix.Errno) {
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	if path == "" {
		return 0, unix.ENOENT
	}
	ctx, rel, errno := c.ctxAt(dirfd, path)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	return 0, fn(ctx, path)
}

// twoPathCall is pathCall for calls naming two paths (rename, link).
func twoPathCall(c *Call, olddir, oldArg, newdir, newArg int, fn func(oc vfs.Ctx, op string, nc vfs.Ctx, np string) unix.Errno) (int64, unix.Errno) {
	op, errno := c.path(oldArg)
	if errno != 0 {
		return 0, errno
	}
	np, errno := c.path(newArg)
	if errno != 0 {
		return 0, errno
	}
	if op == "" || np == "" {
		return 0, unix.ENOENT
	}
	oc, orel, errno := c.ctxAt(olddir, op)
	if errno != 0 {
		return 0, errno
	}
	defer orel()
	nc, nrel, errno := c.ctxAt(newdir, np)
	if errno != 0 {
		return 0, errno
	}
	defer nrel()
	return 0, fn(oc, op, nc, np)
}

func mkdir(c *Call, dirfd, pathArg int, mode uint32) (int64, unix.Errno) {
	return pathCall(c, dirfd, pathArg, func(ctx vfs.Ctx, p string) unix.Errno { return c.s.fs.Mkdir(ctx, p, mode) })
}
func sysMkdir(c *Call) (int64, unix.Errno)   { return mkdir(c, atFDCWD, 0, uint32(c.Arg(1))) }
func sysMkdirat(c *Call) (int64, unix.Errno) { return mkdir(c, c.Int(0), 1, uint32(c.Arg(2))) }

func unlink(c *Call, dirfd, pathArg, flags int) (int64, unix.Errno) {
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	return pathCall(c, dirfd, pathArg, func(ctx vfs.Ctx, p string) unix.Errno { return c.s.fs.Unlink(ctx, p, flags) })
}
func sysUnlink(c *Call) (int64, unix.Errno)   { return unlink(c, atFDCWD, 0, 0) }
func sysRmdir(c *Call) (int64, unix.Errno)    { return unlink(c, atFDCWD, 0, unix.AT_REMOVEDIR) }
func sysUnlinkat(c *Call) (int64, unix.Errno) { return unlink(c, c.Int(0), 1, c.Int(2)) }

func rename(c *Call, od, oa, nd, na int, flags uint) (int64, unix.Errno) {
	if flags&^uint(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE|unix.RENAME_WHITEOUT) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.RENAME_NOREPLACE != 0 && flags&unix.RENAME_EXCHANGE != 0 {
		return 0, unix.EINVAL
	}
	return twoPathCall(c, od, oa, nd, na, func(oc vfs.Ctx, op string, nc vfs.Ctx, np string) unix.Errno {
		return c.s.fs.Rename(oc, op, nc, np, flags)
	})
}
func sysRename(c *Call) (int64, unix.Errno)   { return rename(c, atFDCWD, 0, atFDCWD, 1, 0) }
func sysRenameat(c *Call) (int64, unix.Errno) { return rename(c, c.Int(0), 1, c.Int(2), 3, 0) }
func sysRenameat2(c *Call) (int64, unix.Errno) {
	return rename(c, c.Int(0), 1, c.Int(2), 3, uint(uint32(c.Arg(4))))
}

func link(c *Call, od, oa, nd, na int, flags int) (int64, unix.Errno) {
	if flags&^(unix.AT_SYMLINK_FOLLOW|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	// Linux resolves the old path before it looks at the new name: a bad
	// new-name pointer loses to a missing old file.
	if _, errno := c.path(na); errno != 0 {
		if _, e := pathCall(c, od, oa, func(ctx vfs.Ctx, op string) unix.Errno {
			_, serr := c.s.fs.Stat(ctx, op, flags&unix.AT_SYMLINK_FOLLOW != 0)
			return serr
		}); e != 0 {
			return 0, e
		}
		return 0, errno
	}
	return twoPathCall(c, od, oa, nd, na, func(oc vfs.Ctx, op string, nc vfs.Ctx, np string) unix.Errno {
		return c.s.fs.Link(oc, op, nc, np, flags&unix.AT_SYMLINK_FOLLOW != 0)
	})
}
func sysLink(c *Call) (int64, unix.Errno)   { return link(c, atFDCWD, 0, atFDCWD, 1, 0) }
func sysLinkat(c *Call) (int64, unix.Errno) { return link(c, c.Int(0), 1, c.Int(2), 3, c.Int(4)) }

func symlink(c *Call, targetArg, dirfd, pathArg int) (int64, unix.Errno) {
	target, errno := c.path(targetArg)
	if errno != 0 {
		return 0, errno
	}
	return pathCall(c, dirfd, pathArg, func(ctx vfs.Ctx, p string) unix.Errno { return c.s.fs.Symlink(target, ctx, p) })
}
func sysSymlink(c *Call) (int64, unix.Errno)   { return symlink(c, 0, atFDCWD, 1) }
func sysSymlinkat(c *Call) (int64, unix.Errno) { return symlink(c, 0, c.Int(1), 2) }

func chmod(c *Call, dirfd, pathArg int, mode uint32, flags int) (int64, unix.Errno) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	mode &= 0o7777
	onFD := func(nfd int) error {
		// The kernel answers for the file itself: EOPNOTSUPP for a
		// symlink (an O_PATH|O_NOFOLLOW fd), whatever the flags.
		_, _, e := unix.Syscall6(unix.SYS_FCHMODAT2, uintptr(nfd), uintptr(unsafe.Pointer(&emptyName[0])), uintptr(mode), atEmptyPath, 0, 0)
		if e != 0 {
			return e
		}
		return nil
	}
	return emptyPathCall(c, dirfd, pathArg, flags, onFD, func(ctx vfs.Ctx, p string) unix.Errno {
		if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
			// Linux cannot chmod a symlink itself; anything else it
			// changes as chmod does. (Were the symlink swapped in after
			// this look, Chmod follows it inside the view: a change the
			// guest could make anyway.)
			st, errno := c.s.fs.Stat(ctx, p, false)
			if errno != 0 {
				return errno
			}
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return unix.EOPNOTSUPP
			}
		}
		errno := c.s.fs.Chmod(ctx, p, mode)
		if errno == unix.EROFS {
			if e, ok := c.s.ptyMeta(ctx, p, true, func(h string) error { return unix.Chmod(h, mode) }); ok {
				return e
			}
		}
		return errno
	})
}

// emptyName is the empty path the sentry passes with AT_EMPTY_PATH.
var emptyName = [1]byte{0}

func sysChmod(c *Call) (int64, unix.Errno)    { return chmod(c, atFDCWD, 0, uint32(c.Arg(1)), 0) }
func sysFchmodat(c *Call) (int64, unix.Errno) { return chmod(c, c.Int(0), 1, uint32(c.Arg(2)), 0) }
func sysFchmodat2(c *Call) (int64, unix.Errno) {
	return chmod(c, c.Int(0), 1, uint32(c.Arg(2)), c.Int(3))
}

func chown(c *Call, dirfd, pathArg int, uid, gid int, flags int) (int64, unix.Errno) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	follow := flags&unix.AT_SYMLINK_NOFOLLOW == 0
	onFD := func(nfd int) error { return unix.Fchownat(nfd, "", uid, gid, atEmptyPath) }
	return emptyPathCall(c, dirfd, pathArg, flags, onFD, func(ctx vfs.Ctx, p string) unix.Errno {
		errno := c.s.fs.Chown(ctx, p, uid, gid, follow)
		if errno == unix.EROFS {
			if e, ok := c.s.ptyMeta(ctx, p, follow, func(h string) error { return unix.Chown(h, uid, gid) }); ok {
				return e
			}
		}
		return errno
	})
}
func sysChown(c *Call) (int64, unix.Errno) { return chown(c, atFDCWD, 0, c.Int(1), c.Int(2), 0) }
func sysLchown(c *Call) (int64, unix.Errno) {
	return chown(c, atFDCWD, 0, c.Int(1), c.Int(2), unix.AT_SYMLINK_NOFOLLOW)
}
func sysFchownat(c *Call) (int64, unix.Errno) {
	return chown(c, c.Int(0), 1, c.Int(2), c.Int(3), c.Int(4))
}

func sysTruncate(c *Call) (int64, unix.Errno) {
	length := int64(c.Arg(1))
	if length < 0 {
		return 0, unix.EINVAL
	}
	return pathCall(c, atFDCWD, 0, func(ctx vfs.Ctx, p string) unix.Errno { return c.s.fs.Truncate(ctx, p, length) })
}

func sysUtimensat(c *Call) (int64, unix.Errno) {
	dirfd, flags := c.Int(0), c.Int(3)
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|atEmptyPath) != 0 {
		return 0, unix.EINVAL
	}
	var ts []unix.Timespec
	if c.Arg(2) != 0 {
		var t [2]unix.Timespec
		if e := mm.CopyInStruct(c.Mem(), c.Arg(2), &t); e != 0 {
			return 0, e
		}
		for _, x := range t {
			if x.Nsec != unix.UTIME_NOW && x.Nsec != unix.UTIME_OMIT && (x.Nsec < 0 || x.Nsec >= 1e9) {
				return 0, unix.EINVAL
			}
		}
		ts = t[:]
	}
	if c.Arg(1) == 0 && dirfd != atFDCWD {
		// futimens(fd, ...): the fd itself (only for a real fd; with
		// AT_FDCWD a NULL path is just a bad pointer).
		if flags != 0 {
			return 0, unix.EINVAL
		}
		return changeFD(c, dirfd, func(fd int) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+itoa(fd), ts, 0)
		})
	}
	onFD := func(nfd int) error { return unix.UtimesNanoAt(nfd, "", ts, atEmptyPath) }
	return emptyPathCall(c, dirfd, 1, flags, onFD, func(ctx vfs.Ctx, p string) unix.Errno {
		return utimens(c, ctx, p, ts, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	})
}

// utimens sets times by path; the guest's own ptys are changed on the
// host's devpts (ptyMeta).
func utimens(c *Call, ctx vfs.Ctx, p string, ts []unix.Timespec, follow bool) unix.Errno {
	errno := c.s.fs.Utimens(ctx, p, ts, follow)
	if errno == unix.EROFS {
		if e, ok := c.s.ptyMeta(ctx, p, follow, func(h string) error { return unix.UtimesNanoAt(unix.AT_FDCWD, h, ts, 0) }); ok {
			return e
		}
	}
	return errno
}

func sysUtimes(c *Call) (int64, unix.Errno) {
	var ts []unix.Timespec
	if c.Arg(1) != 0 {
		var tv [2]unix.Timeval
		if e := mm.CopyInStruct(c.Mem(), c.Arg(1), &tv); e != 0 {
			return 0, e
		}
		for _, x := range tv {
			if x.Usec < 0 || x.Usec >= 1e6 {
				return 0, unix.EINVAL
			}
		}
		ts = []unix.Timespec{unix.NsecToTimespec(unix.TimevalToNsec(tv[0])), unix.NsecToTimespec(unix.TimevalToNsec(tv[1]))}
	}
	return pathCall(c, atFDCWD, 0, func(ctx vfs.Ctx, p string) unix.Errno { return utimens(c, ctx, p, ts, true) })
}

func sysUtime(c *Call) (int64, unix.Errno) {
	var ts []unix.Timespec
	if c.Arg(1) != 0 {
		var ut unix.Utimbuf
		if e := mm.CopyInStruct(c.Mem(), c.Arg(1), &ut); e != 0 {
			return 0, e
		}
		ts = []unix.Timespec{{Sec: ut.Actime}, {Sec: ut.Modtime}}
	}
	return pathCall(c, atFDCWD, 0, func(ctx vfs.Ctx, p string) unix.Errno { return utimens(c, ctx, p, ts, true) })
}

// mknod: FIFOs and regular files are fine; device nodes are refused, as in
// an unprivileged container.
func mknod(c *Call, dirfd, pathArg int, mode uint32) (int64, unix.Errno) {
	switch mode & unix.S_IFMT {
	case 0, unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK:
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	return pathCall(c, dirfd, pathArg, func(ctx vfs.Ctx, p string) unix.Errno { return c.s.fs.Mknod(ctx, p, mode) })
}
func sysMknod(c *Call) (int64, unix.Errno)   { return mknod(c, atFDCWD, 0, uint32(c.Arg(1))) }
func sysMknodat(c *Call) (int64, unix.Errno) { return mknod(c, c.Int(0), 1, uint32(c.Arg(2))) }
