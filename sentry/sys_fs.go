package sentry

import (
	"golang.org/x/sys/unix"

	"sandbox/vfs"
)

func sysGetcwd(c *Call) (int64, unix.Errno) {
	cwd, errno := c.Task.Proc.fs.cwdCopy()
	if errno != 0 {
		return 0, errno
	}
	var st unix.Stat_t
	err := unix.Fstat(cwd.FD, &st)
	unix.Close(cwd.FD)
	if err == nil && st.Nlink == 0 {
		return 0, unix.ENOENT // the cwd was removed
	}
	b := append([]byte(cwd.Guest), 0)
	size := c.Arg(1)
	if uint64(len(b)) > size {
		return 0, unix.ERANGE
	}
	if e := c.Mem().CopyOut(c.Arg(0), b); e != 0 {
		return 0, e
	}
	return int64(len(b)), 0
}

// setCwd records the new cwd. The kernel's own cwd matters only for the
// paths the kernel resolves itself (execve); it is moved too when the guest
// path is the same as the host path, so that relative execs keep working.
func setCwd(c *Call, d vfs.Dir, kernelToo bool) (int64, unix.Errno) {
	c.Task.Proc.fs.setCwd(d)
	if kernelToo {
		return c.Continue()
	}
	return 0, 0
}

func sysChdir(c *Call) (int64, unix.Errno) {
	path, errno := c.path(0)
	if errno != 0 {
		return 0, errno
	}
	ctx, rel, errno := c.ctxAt(atFDCWD, path)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	d, errno := c.s.fs.OpenDir(ctx, path)
	if errno != 0 {
		return 0, errno
	}
	return setCwd(c, d, identityPath(c.Task.Tid, d))
}

// identityPath tells whether the kernel would reach the same directory by
// the guest path as the sentry did, resolving it from the task's own root
// (its mount namespace, when the init stage made one).
func identityPath(tid int, d vfs.Dir) bool {
	root, err := unix.Open("/proc/"+itoa(tid)+"/root", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(root)
	k, err := unix.Openat2(root, d.Guest, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return false
	}
	defer unix.Close(k)
	var a, b unix.Stat_t
	if unix.Fstat(d.FD, &a) != nil || unix.Fstat(k, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func sysFchdir(c *Call) (int64, unix.Errno) {
	fd := c.Int(0)
	if fd == atFDCWD {
		return 0, unix.EBADF
	}
	d, rel, errno := c.dirAt(fd)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	nfd, err := unix.Dup(d.FD)
	if err != nil {
		return 0, err.(unix.Errno)
	}
	unix.CloseOnExec(nfd)
	if err := unix.Faccessat2(nfd, "", unix.X_OK, unix.AT_EMPTY_PATH); err != nil {
		unix.Close(nfd)
		return 0, err.(unix.Errno)
	}
	d.FD = nfd
	// fchdir's decision used registers only: the kernel may follow.
	return setCwd(c, d, true)
}

func sysUmask(c *Call) (int64, unix.Errno) {
	fs := c.Task.Proc.fs
	fs.mu.Lock()
	fs.umask = uint32(c.Arg(0)) & 0o777
	fs.mu.Unlock()
	// The kernel keeps its copy too and returns the old value.
	return c.Continue()
}

// sysInotifyAddWatch resolves the path in the guest's view and adds the
// watch to the guest's own inotify instance (the sentry's copy of the fd
// shares it, so the watch descriptor is the guest's). The object is named to
// the kernel by a /proc/self/fd path of an O_PATH fd, never by the guest's
// string; that fd already is the object (the symlink itself with
// IN_DONT_FOLLOW), so following the magic link reaches exactly it.
func sysInotifyAddWatch(c *Call) (int64, unix.Errno) {
	mask := uint32(c.Arg(2))
	if mask&unix.IN_ALL_EVENTS == 0 {
		return 0, unix.EINVAL
	}
	ifd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(ifd)
	return withHostPath(c, 1, mask&unix.IN_DONT_FOLLOW == 0, func(p string) (int64, unix.Errno) {
		wd, err := unix.InotifyAddWatch(ifd, p, mask&^unix.IN_DONT_FOLLOW)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return int64(wd), 0
	})
}
