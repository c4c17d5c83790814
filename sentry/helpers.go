package sentry

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"sandbox/fdtable"
	"sandbox/mm"
	"sandbox/vfs"
)

// AT_FDCWD as the int the guest passes.
const atFDCWD = -100

// path copies in a path argument. The notification is re-validated after
// the read: had the caller died and its pid been reused, we would have read
// another process's memory, and must not act on it.
func (c *Call) path(i int) (string, unix.Errno) {
	p, errno := c.Mem().CopyInString(c.Arg(i), mm.PathMax)
	if errno == 0 && !c.Valid() {
		return "", unix.ESRCH
	}
	return p, errno
}

// getFD takes a copy of the guest's fd: the object the call acts on. For a
// stand-in (installStandIn) that is the object it stands for, once kcmp
// confirms the guest's fd is still the placeholder.
func (c *Call) getFD(fd int) (int, unix.Errno) {
	if fd < 0 {
		return -1, unix.EBADF
	}
	p := c.Task.Proc
	if f, ok := p.fds.Get(fd); ok {
		if f.Shadow >= 0 && kcmpFile(c.Task.Tid, os.Getpid(), fd, f.Ref) {
			defer f.DecRef()
			return dupShadow(f)
		}
		f.DecRef()
	}
	nfd, errno := c.getFDRaw(fd)
	if errno != 0 {
		return nfd, errno
	}
	// A copy of a stand-in made where the sentry did not see it (F_DUPFD
	// with a minimum, SCM_RIGHTS) is one too: book it.
	if f, ok := p.fds.FindStandIn(func(ref int) bool { return kcmpFile(os.Getpid(), os.Getpid(), nfd, ref) }); ok {
		unix.Close(nfd)
		p.fds.Install(fd, f, false)
		return dupShadow(f)
	}
	return nfd, 0
}

func dupShadow(f *fdtable.File) (int, unix.Errno) {
	nfd, err := unix.FcntlInt(uintptr(f.Shadow), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err.(unix.Errno)
	}
	return nfd, 0
}

// getFDRaw takes a copy of the open file at the guest's fd, whatever it
// is, from the calling thread's own fd table: a thread made without
// CLONE_FILES (or after unshare) has one of its own, and the kernel acts
// on that one when it runs the call.
func (c *Call) getFDRaw(fd int) (int, unix.Errno) {
	if fd < 0 {
		return -1, unix.EBADF
	}
	nfd, err := unix.PidfdGetfd(c.Task.pidfd, fd, 0)
	if err != nil {
		if err == unix.EBADF || err == unix.ESRCH {
			return -1, unix.EBADF
		}
		return -1, err.(unix.Errno)
	}
	return nfd, 0
}

// getFDOf takes a copy of fd n of sandbox process pid (0: the caller).
func (c *Call) getFDOf(pid, n int) (int, unix.Errno) {
	if pid == 0 || pid == c.Task.Proc.Tgid {
		return c.getFD(n)
	}
	// Pinned first, then checked: a member reaped between a check and
	// the open could leave its number to a process outside.
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, unix.ENOENT
	}
	defer unix.Close(pfd)
	if !c.s.member(pid) {
		return -1, unix.ENOENT
	}
	nfd, err := unix.PidfdGetfd(pfd, n, 0)
	if err != nil {
		return -1, unix.ENOENT
	}
	return nfd, 0
}

func kcmpFile(pid1, pid2, fd1, fd2 int) bool {
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(pid1), uintptr(pid2), 0 /* KCMP_FILE */, uintptr(fd1), uintptr(fd2), 0)
	return e == 0 && r == 0
}

// emptyPathFD takes a copy of the file an AT_EMPTY_PATH call names: the
// guest's fd dirfd (any kind, O_PATH too), or its cwd for AT_FDCWD.
func (c *Call) emptyPathFD(dirfd int) (int, unix.Errno) {
	if dirfd != atFDCWD {
		return c.getFD(dirfd)
	}
	cwd, errno := c.Task.Proc.fs.cwdCopy()
	if errno != 0 {
		return -1, errno
	}
	return cwd.FD, 0
}

// dirAt returns the lookup start for a dirfd argument: the cwd for AT_FDCWD,
// else the directory the guest's fd refers to. The fdtable's claim is
// confirmed against the kernel (kcmp); an unknown or stale fd is taken
// again with pidfd_getfd and mapped back into the guest's view.
func (c *Call) dirAt(dirfd int) (vfs.Dir, func(), unix.Errno) {
	p := c.Task.Proc
	if dirfd == atFDCWD {
		// The cwd fd may be replaced by a concurrent chdir: hold our own.
		cwd, errno := p.fs.cwdCopy()
		if errno != 0 {
			return vfs.Dir{}, nil, errno
		}
		return cwd, func() { unix.Close(cwd.FD) }, 0
	}
	if f, ok := p.fds.Get(dirfd); ok {
		valid := f.Ref >= 0 && kcmpFile(c.Task.Tid, os.Getpid(), dirfd, f.Ref)
		if f.IsDir && valid {
			return c.s.fs.DirOf(f.Guest, f.Ref), f.DecRef, 0
		}
		f.DecRef()
		if valid && f.Shadow >= 0 {
			return vfs.Dir{}, nil, unix.ENOTDIR // a symlink's O_PATH fd
		}
		p.fds.Remove(dirfd)
	}
	nfd, errno := c.getFD(dirfd)
	if errno != 0 {
		return vfs.Dir{}, nil, errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(nfd, &st); err != nil {
		unix.Close(nfd)
		return vfs.Dir{}, nil, err.(unix.Errno)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(nfd)
		return vfs.Dir{}, nil, unix.ENOTDIR
	}
	host, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(nfd))
	if err != nil {
		unix.Close(nfd)
		return vfs.Dir{}, nil, unix.EBADF
	}
	guest, _ := c.s.fs.GuestPathOf(host)
	if guest == "" {
		// A directory outside the guest's view (it cannot have got it from
		// us): refuse to look anything up relative to it.
		unix.Close(nfd)
		return vfs.Dir{}, nil, unix.EACCES
	}
	f := fdtable.NewFile(guest, true, nfd)
	f.IncRef()
	p.fds.Install(dirfd, f, false)
	return c.s.fs.DirOf(guest, nfd), f.DecRef, 0
}

// ctxAt builds the vfs context for a dirfd-relative path. Absolute paths
// ignore dirfd, as in Linux.
func (c *Call) ctxAt(dirfd int, path string) (vfs.Ctx, func(), unix.Errno) {
	umask := c.Task.Proc.fs.getUmask()
	if len(path) > 0 && path[0] == '/' {
		root := c.s.fs.Root()
		return vfs.Ctx{Cwd: vfs.Dir{Guest: "/", FD: root.FD(), Mount: root}, Umask: umask, GuestFD: c.getFDOf, Pid: c.Task.Proc.Tgid, Tid: c.Task.Tid}, func() {}, 0
	}
	d, rel, errno := c.dirAt(dirfd)
	if errno != 0 {
		return vfs.Ctx{}, nil, errno
	}
	return vfs.Ctx{Cwd: d, Umask: umask, GuestFD: c.getFDOf, Pid: c.Task.Proc.Tgid, Tid: c.Task.Tid}, rel, 0
}

// addFD installs fd in the caller without answering (for calls that make
// several fds, like pipe).
func (c *Call) installNow(fd int, cloexec bool) (int, unix.Errno) {
	n, err := c.s.listener.AddFD(c.notif.ID, fd, -1, cloexec, false)
	if err != nil {
		return -1, err.(unix.Errno)
	}
	return n, 0
}
