package sentry

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/fdtable"
	"sandbox/mm"
	"sandbox/seccomp"
	"sandbox/vfs"
)

// validOpenFlags is VALID_OPEN_FLAGS: open and openat ignore other bits,
// openat2 rejects them.
const validOpenFlags = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY |
	unix.O_TRUNC | unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC |
	unix.O_DIRECT | unix.O_LARGEFILE | unix.O_DIRECTORY | unix.O_NOFOLLOW |
	unix.O_NOATIME | unix.O_CLOEXEC | unix.O_PATH | unix.O_SYNC | unix.O_TMPFILE

// resolveCached is RESOLVE_CACHED (not in x/sys).
const resolveCached = 0x20

const validResolve = unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS |
	unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | resolveCached

func sysOpen(c *Call) (int64, unix.Errno) {
	return doOpen(c, atFDCWD, 0, lenientFlags(c.Int(1)), lenientMode(c.Int(1), c.Arg(2)), 0)
}

func sysOpenat(c *Call) (int64, unix.Errno) {
	return doOpen(c, c.Int(0), 1, lenientFlags(c.Int(2)), lenientMode(c.Int(2), c.Arg(3)), 0)
}

func sysCreat(c *Call) (int64, unix.Errno) {
	fl := unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	return doOpen(c, atFDCWD, 0, fl|unix.O_LARGEFILE, lenientMode(fl, c.Arg(1)), 0)
}

func lenientFlags(fl int) int {
	fl &= validOpenFlags
	fl |= unix.O_LARGEFILE
	return fl
}

func lenientMode(fl int, mode uint64) uint32 {
	if fl&unix.O_CREAT == 0 && fl&unix.O_TMPFILE != unix.O_TMPFILE {
		return 0
	}
	return uint32(mode) & 0o7777
}

// openHow is struct open_how.
type openHow struct{ Flags, Mode, Resolve uint64 }

func sysOpenat2(c *Call) (int64, unix.Errno) {
	size := c.Arg(3)
	if size < 24 {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG
	}
	var how openHow
	if e := mm.CopyInStruct(c.Mem(), c.Arg(2), &how); e != 0 {
		return 0, e
	}
	if size > 24 {
		rest := make([]byte, size-24)
		if e := c.Mem().CopyIn(c.Arg(2)+24, rest); e != 0 {
			return 0, e
		}
		for _, b := range rest {
			if b != 0 {
				return 0, unix.E2BIG
			}
		}
	}
	if how.Flags&^uint64(validOpenFlags|unix.O_LARGEFILE) != 0 || how.Flags>>32 != 0 {
		return 0, unix.EINVAL
	}
	fl := int(how.Flags)
	if how.Mode&^0o7777 != 0 {
		return 0, unix.EINVAL
	}
	if how.Mode != 0 && fl&unix.O_CREAT == 0 && fl&unix.O_TMPFILE != unix.O_TMPFILE {
		return 0, unix.EINVAL
	}
	if how.Resolve&^uint64(validResolve) != 0 {
		return 0, unix.EINVAL
	}
	if how.Resolve&unix.RESOLVE_BENEATH != 0 && how.Resolve&unix.RESOLVE_IN_ROOT != 0 {
		return 0, unix.EINVAL
	}
	if how.Resolve&resolveCached != 0 && fl&(unix.O_TRUNC|unix.O_CREAT|unix.O_TMPFILE) != 0 {
		return 0, unix.EAGAIN
	}
	return doOpen(c, c.Int(0), 1, fl, uint32(how.Mode), how.Resolve&^resolveCached)
}

// doOpen is every open: the sentry opens the file in the guest's view and
// installs it with ADDFD|SEND.
func doOpen(c *Call, dirfd int, pathArg int, flags int, mode uint32, resolve uint64) (int64, unix.Errno) {
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	if path == "" {
		return 0, unix.ENOENT
	}
	var ctx vfs.Ctx
	var rel func()
	if resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0 {
		// The dirfd is the lookup's root even for absolute paths.
		d, r, e := c.dirAt(dirfd)
		if e != 0 {
			return 0, e
		}
		umask := c.Task.Proc.fs.getUmask()
		ctx, rel = vfs.Ctx{Cwd: d, Umask: umask, GuestFD: c.getFDOf, Pid: c.Task.Proc.Tgid, Tid: c.Task.Tid}, r
	} else {
		ctx, rel, errno = c.ctxAt(dirfd, path)
		if errno != 0 {
			return 0, errno
		}
	}
	defer rel()
	ctx.Block = c.block
	o, errno := c.s.fs.Open(ctx, path, flags, mode, resolve)
	if c.interrupted() {
		if errno == 0 && o.FD >= 0 {
			unix.Close(o.FD)
		}
		return 0, errRestart
	}
	if errno != 0 {
		return 0, errno
	}
	if o.FD >= 0 && !o.IsDir {
		// Judged by device number (from the open's own fstat), not by path.
		if e := c.s.checkPty(o.FD, o.Mode, o.Rdev); e != 0 {
			unix.Close(o.FD)
			return c.deny(e, "a terminal the sandbox did not create")
		}
	}
	if o.FDRef >= 0 {
		// /dev/fd/N: open the guest's own fd again, as Linux does.
		src, e := c.getFDOf(o.FDPid, o.FDRef)
		if e == unix.EBADF {
			e = unix.ENOENT // /proc/<pid>/fd/N of a closed fd does not exist
		}
		if e != 0 {
			return 0, e
		}
		defer unix.Close(src)
		// A file the guest may only read must not come back writable.
		if flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 {
			if e := c.s.fs.MayWrite(src); e != 0 {
				return 0, e
			}
		}
		nfd, e := vfs.Reopen(src, flags)
		if e != 0 {
			return 0, e
		}
		return c.InstallFD(nfd, -1, flags&unix.O_CLOEXEC != 0)
	}
	cloexec := flags&unix.O_CLOEXEC != 0
	if o.PathOnly {
		return installStandIn(c, o, cloexec)
	}
	if o.IsDir && o.Mount != nil && o.Mount.Kind == vfs.ProcDir {
		pid := c.Task.Proc.Tgid
		c.beforeReply = func(int) { c.s.fs.RefreshFDs(pid, o.Mount, o.Guest) }
	}
	if o.IsDir {
		if ref, err := unix.Dup(o.FD); err == nil {
			unix.CloseOnExec(ref)
			c.bookOnInstall(fdtable.NewFile(o.Guest, true, ref), cloexec)
		}
	}
	return c.InstallFD(o.FD, -1, cloexec)
}

// bookOnInstall books f at the guest's fd once ADDFD has installed it,
// taking over the caller's reference (dropped if the install failed).
func (c *Call) bookOnInstall(f *fdtable.File, cloexec bool) {
	fds := c.Task.Proc.fds
	c.installed = func(fd int) {
		if fd < 0 {
			f.DecRef()
			return
		}
		fds.Install(fd, f, cloexec)
	}
}

// installStandIn gives the guest an fd for an O_PATH fd of a symlink,
// which ADDFD cannot install: a read-only fd of /dev/null stands in, and
// the fd table books the real one behind it (Call.getFD answers with it).
// So the calls the sentry serves (fstatat and readlinkat with an empty
// path, the AT_EMPTY_PATH forms, fchmod's EBADF, dirfd lookups' ENOTDIR)
// act on the link, as in Linux; calls that run natively (read, fstat)
// see /dev/null.
func installStandIn(c *Call, o vfs.Opened, cloexec bool) (int64, unix.Errno) {
	ph, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(o.FD)
		return 0, unix.ENFILE
	}
	ref, err := unix.FcntlInt(uintptr(ph), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(ph)
		unix.Close(o.FD)
		return 0, unix.ENFILE
	}
	// Booked before the reply: the guest's next call (glibc's fstatat of
	// it) may reach another serving thread at once, and without the entry
	// it would act on /dev/null.
	f := fdtable.NewStandIn(o.Guest, ref, o.FD)
	fds, booked := c.Task.Proc.fds, false
	c.beforeReply = func(fd int) {
		fds.Install(fd, f, cloexec)
		booked = true
	}
	c.installed = func(int) {
		if !booked {
			f.DecRef()
		}
	}
	return c.InstallFD(ph, -1, cloexec)
}

// dupTo installs a copy of the guest's oldfd at newfd (-1: lowest free).
func dupTo(c *Call, oldfd, newfd int, cloexec bool) (int64, unix.Errno) {
	src, errno := c.getFDRaw(oldfd) // a stand-in is copied as itself
	if errno != 0 {
		return 0, errno
	}
	fds := c.Task.Proc.fds
	if f, ok := fds.Get(oldfd); ok {
		c.bookOnInstall(f, cloexec)
	} else if newfd >= 0 {
		fds.Remove(newfd)
	}
	return c.InstallFD(src, newfd, cloexec)
}

func sysDup(c *Call) (int64, unix.Errno) { return dupTo(c, c.Int(0), -1, false) }

func sysDup2(c *Call) (int64, unix.Errno) {
	oldfd, newfd := c.Int(0), c.Int(1)
	if oldfd == newfd {
		src, errno := c.getFD(oldfd)
		if errno != 0 {
			return 0, errno
		}
		unix.Close(src)
		return int64(newfd), 0
	}
	if newfd < 0 {
		return 0, unix.EBADF
	}
	return dupTo(c, oldfd, newfd, false)
}

func sysDup3(c *Call) (int64, unix.Errno) {
	oldfd, newfd, flags := c.Int(0), c.Int(1), c.Int(2)
	if flags&^unix.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	if oldfd == newfd {
		return 0, unix.EINVAL
	}
	if newfd < 0 {
		return 0, unix.EBADF
	}
	return dupTo(c, oldfd, newfd, flags&unix.O_CLOEXEC != 0)
}

func sysFcntl(c *Call) (int64, unix.Errno) {
	fd, cmd := c.Int(0), c.Int(1)
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		if min := c.Int(2); min == 0 {
			return dupTo(c, fd, -1, cmd == unix.F_DUPFD_CLOEXEC)
		}
		// "Lowest free at or above min" has no ADDFD form; the decision is
		// register-only, so the kernel may do it (booked lazily).
		return c.Continue()
	case unix.F_SETOWN:
		// A positive owner is a process, a negative one a group.
		if owner := c.Int(2); owner != 0 && !c.s.member(abs(owner)) {
			return 0, unix.ESRCH
		}
	case unix.F_SETOWN_EX:
		var ex struct{ Type, Pid int32 }
		if e := mm.CopyInStruct(c.Mem(), c.Arg(2), &ex); e != 0 {
			return 0, e
		}
		if ex.Pid != 0 && !c.s.member(int(ex.Pid)) {
			return 0, unix.ESRCH
		}
		// Perform it ourselves on the guest's file: the kernel must not
		// read the struct again.
		nfd, e := c.getFD(fd)
		if e != 0 {
			return 0, e
		}
		defer unix.Close(nfd)
		_, _, errno := unix.Syscall(unix.SYS_FCNTL, uintptr(nfd), unix.F_SETOWN_EX, uintptr(unsafe.Pointer(&ex)))
		return 0, errno
	}
	return c.Continue()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// sysSeccomp is routed only when the guest asks for a listener.
func sysSeccomp(c *Call) (int64, unix.Errno) {
	if c.Arg(1)&seccomp.FilterFlagNewListener != 0 {
		return 0, unix.EPERM
	}
	return c.Continue()
}

func doPipe(c *Call, flags int) (int64, unix.Errno) {
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	// Check the out-array is writable before making fds the guest would
	// then own without knowing.
	var cur [2]int32
	if e := mm.CopyInStruct(c.Mem(), c.Arg(0), &cur); e != 0 {
		return 0, e
	}
	if e := mm.CopyOutStruct(c.Mem(), c.Arg(0), &cur); e != 0 {
		return 0, e
	}
	var p [2]int
	if err := unix.Pipe2(p[:], (flags&^unix.O_CLOEXEC)|unix.O_CLOEXEC); err != nil {
		return 0, err.(unix.Errno)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	cloexec := flags&unix.O_CLOEXEC != 0
	r, errno := c.installNow(p[0], cloexec)
	if errno != 0 {
		return 0, errno
	}
	w, errno := c.installNow(p[1], cloexec)
	if errno != 0 {
		return 0, errno
	}
	out := [2]int32{int32(r), int32(w)}
	if e := mm.CopyOutStruct(c.Mem(), c.Arg(0), &out); e != 0 {
		return 0, e
	}
	return 0, 0
}

func sysPipe(c *Call) (int64, unix.Errno)  { return doPipe(c, 0) }
func sysPipe2(c *Call) (int64, unix.Errno) { return doPipe(c, c.Int(1)) }

// TIOCSTI and TIOCLINUX push input into a terminal: a sandboxed program
// holding the user's tty could type commands into the user's shell.
const (
	tiocsti   = 0x5412
	tioclinux = 0x541c
	// Inode attribute setters (chattr) act on the inode whatever the fd's
	// mode, like fchmod; refused rather than checked per mount.
	fsIocSetflags   = 0x40086602
	fsIocSetversion = 0x40087602
	fsIocFssetxattr = 0x401c5820
)

func sysIoctl(c *Call) (int64, unix.Errno) {
	switch uint32(c.Arg(1)) {
	case tiocsti, tioclinux, fsIocSetflags, fsIocSetversion, fsIocFssetxattr:
		return 0, unix.EPERM
	}
	return c.Continue()
}

func sysMemfdCreate(c *Call) (int64, unix.Errno) {
	name, errno := c.Mem().CopyInString(c.Arg(0), 250)
	if errno == unix.ENAMETOOLONG {
		return 0, unix.EINVAL
	}
	if errno != 0 {
		return 0, errno
	}
	flags := int(c.Arg(1))
	fd, err := unix.MemfdCreate(name, flags|unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err.(unix.Errno)
	}
	return c.InstallFD(fd, -1, flags&unix.MFD_CLOEXEC != 0)
}

var _ = unsafe.Sizeof(0)
