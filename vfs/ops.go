package vfs

import (
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Ctx is the calling task's filesystem context for one call.
type Ctx struct {
	Cwd   Dir    // start of relative lookups (the task's cwd or a dirfd)
	Umask uint32 // the task's umask
	// GuestFD returns a copy (which the caller closes) of fd n of sandbox
	// process pid, for paths through an fd directory (/proc/<pid>/fd/N).
	GuestFD func(pid, n int) (int, unix.Errno)
	// Pid is the calling process (for /proc/self), Tid the calling thread
	// (for /proc/thread-self; 0: the process).
	Pid, Tid int
	// Block, if set, is told before an operation that may block (a FIFO
	// open waiting for its peer) how to make it return; the operation
	// calls done when it has.
	Block func(abort func()) (done func())
}

// lookupResolve is Lookup with the guest's openat2 RESOLVE_* flags.
func (fs *FS) lookupResolve(c Ctx, path string, follow bool, resolve uint64) (*Entry, unix.Errno) {
	return fs.checkDeny(fs.lookup(c.Cwd, path, follow, resolve, c.Pid, c.Tid))
}

// checkDeny refuses lookups that end on a denied path (filesystem.deny).
// The open path re-checks after following a final symlink.
func (fs *FS) checkDeny(e *Entry, errno unix.Errno) (*Entry, unix.Errno) {
	if errno != 0 || len(fs.deny) == 0 {
		return e, errno
	}
	if fs.denied(e.Guest) {
		e.Release()
		return nil, unix.EACCES
	}
	return e, 0
}

// lookupExisting resolves a path that must exist.
func (fs *FS) lookupExisting(c Ctx, path string, follow bool) (*Entry, unix.Errno) {
	e, errno := fs.checkDeny(fs.lookup(c.Cwd, path, follow, 0, c.Pid, c.Tid))
	if errno != 0 {
		return nil, errno
	}
	if e.Hidden {
		e.Release()
		return nil, unix.ENOENT
	}
	return e, 0
}

// lookupCreate resolves the parent of a path that an operation will create.
// Hidden names cannot be created (EACCES); a mount point or "/" exists.
func (fs *FS) lookupCreate(c Ctx, path string) (*Entry, unix.Errno) {
	e, errno := fs.checkDeny(fs.lookup(c.Cwd, path, false, 0, c.Pid, c.Tid))
	if errno != 0 {
		return nil, errno
	}
	if e.Hidden {
		e.Release()
		return nil, unix.EACCES
	}
	return e, 0
}

func statAt(fd int, name string, st *unix.Stat_t, flags int) unix.Errno {
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(fd, name, st, flags|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

func isWriteFlags(flags int) bool {
	return flags&(unix.O_WRONLY|unix.O_RDWR) != 0 || flags&unix.O_TRUNC != 0
}

// Opened is a host file opened for the guest.
type Opened struct {
	FD    int    // owned by the caller
	Guest string // canonical guest path
	Mount *Mount
	IsDir bool
	// Mode and Rdev are the opened file's, from the fstat that set IsDir
	// (Mode 0: not known).
	Mode  uint32
	Rdev  uint64
	FDRef int // >= 0: the path named fd FDRef of process FDPid (caller reopens it)
	FDPid int
	// PathOnly: FD is an O_PATH fd of a symlink (O_PATH|O_NOFOLLOW),
	// which no ordinary open can stand for and ADDFD cannot install; the
	// caller gives the guest a stand-in.
	PathOnly bool
}

// Open opens path with open(2) flags and mode. The caller validated the
// flags for its syscall (openat2 is strict, open/openat are lenient).
func (fs *FS) Open(c Ctx, path string, flags int, mode uint32, resolve uint64) (Opened, unix.Errno) {
	for try := 0; ; try++ {
		o, errno := fs.open(c, path, flags, mode, resolve)
		// ELOOP from a host step means the tree changed under us (a name
		// became a symlink between our check and the open): look again.
		if errno == errRetry && try < 8 {
			continue
		}
		if errno == errRetry {
			errno = unix.ELOOP
		}
		return o, errno
	}
}

// errRetry is internal: the host tree changed during a lookup.
const errRetry = unix.Errno(0x7fff)

func (fs *FS) open(c Ctx, path string, flags int, mode uint32, resolve uint64) (Opened, unix.Errno) {
	creat := flags&unix.O_CREAT != 0
	excl := creat && flags&unix.O_EXCL != 0
	follow := flags&unix.O_NOFOLLOW == 0 && !excl
	// Most final components are not symlinks: look up without following
	// and let the host open's ELOOP tell us when to follow. O_PATH opens
	// the link itself, so it must know first.
	lazy := follow && flags&unix.O_PATH == 0
	e, errno := fs.lookupResolve(c, path, follow && !lazy, resolve)
	if errno != 0 {
		return Opened{FDRef: -1}, errno
	}
	defer e.Release()
again:
	if e.Link != "" {
		if !follow {
			// As for any symlink with O_NOFOLLOW. (O_PATH|O_NOFOLLOW
			// would open the link itself; the view has no host file
			// for it, so that gives ENOENT.)
			if flags&unix.O_PATH != 0 {
				return Opened{FDRef: -1}, unix.ENOENT
			}
			return Opened{FDRef: -1}, unix.ELOOP
		}
		// /proc/self looked up lazily: follow it now.
		lazy = false
		if errno := e.followLast(); errno != 0 {
			return Opened{FDRef: -1}, errno
		}
		goto again
	}
	if e.Hidden {
		if creat {
			return Opened{FDRef: -1}, unix.EACCES
		}
		return Opened{FDRef: -1}, unix.ENOENT
	}
	if e.FDRef >= 0 {
		return Opened{FD: -1, FDRef: e.FDRef, FDPid: e.FDPid, Guest: e.Guest}, 0
	}
	if e.MustDir && creat {
		return Opened{FDRef: -1}, unix.EISDIR
	}
	m := e.Mount()
	if m.Kind == ProcDir && fs.proc != nil {
		fs.proc.PrepareDir(c.Pid, e.Guest) // in case it is a directory to list
	}
	tfd, name := e.Target()
	if flags&unix.O_TMPFILE == unix.O_TMPFILE && m.ReadOnly {
		return Opened{FDRef: -1}, unix.EROFS
	}
	if name == "" || e.Dots != "" {
		// The path names a directory itself ("/", ".", a mount point).
		if excl {
			return Opened{FDRef: -1}, unix.EEXIST
		}
		if flags&unix.O_TMPFILE != unix.O_TMPFILE && flags&(unix.O_WRONLY|unix.O_RDWR) != 0 {
			var st unix.Stat_t
			if errno := statAt(tfd, "", &st, 0); errno == 0 && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return Opened{FDRef: -1}, unix.EISDIR
			}
		}
		if creat && flags&unix.O_TMPFILE != unix.O_TMPFILE {
			var st unix.Stat_t
			if errno := statAt(tfd, "", &st, 0); errno == 0 && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return Opened{FDRef: -1}, unix.EISDIR
			}
		}
		if m.ReadOnly && isWriteFlags(flags) && !isDevice(tfd, "") {
			return Opened{FDRef: -1}, unix.EROFS
		}
		var fd int
		var err unix.Errno
		if flags&unix.O_PATH != 0 {
			fd, err = downgradePath(tfd, flags)
		} else {
			fd, err = reopen(tfd, flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW))
		}
		if err != 0 {
			return Opened{FDRef: -1}, err
		}
		return fs.opened(fd, e.Guest, m), 0
	}
	if m.ReadOnly && (creat || isWriteFlags(flags) || flags&unix.O_TMPFILE == unix.O_TMPFILE) {
		var st unix.Stat_t
		serr := statAt(tfd, name, &st, 0)
		switch {
		case serr == unix.ENOENT && creat:
			return Opened{FDRef: -1}, unix.EROFS
		case serr != 0:
			// Let the host open report it.
		case excl:
			return Opened{FDRef: -1}, unix.EEXIST
		case isWriteFlags(flags) && st.Mode&unix.S_IFMT == unix.S_IFREG:
			return Opened{FDRef: -1}, unix.EROFS
		case flags&(unix.O_WRONLY|unix.O_RDWR) != 0 && st.Mode&unix.S_IFMT == unix.S_IFDIR:
			return Opened{FDRef: -1}, unix.EISDIR
		case flags&unix.O_TMPFILE == unix.O_TMPFILE:
			return Opened{FDRef: -1}, unix.EROFS
		}
	}
	if creat || flags&unix.O_TMPFILE == unix.O_TMPFILE {
		mode &^= c.Umask
	}
	how := unix.OpenHow{Flags: uint64(flags) | unix.O_NOFOLLOW | unix.O_CLOEXEC, Mode: uint64(mode), Resolve: resolveStep}
	if flags&unix.O_PATH != 0 {
		// O_PATH ignores every flag but these.
		how.Flags = uint64(flags&(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW)) | unix.O_NOFOLLOW | unix.O_CLOEXEC
		how.Mode = 0
	}
	var fd int
	var err error
	var done func()
	if acc := flags & unix.O_ACCMODE; c.Block != nil && flags&(unix.O_NONBLOCK|unix.O_PATH) == 0 && (acc == unix.O_RDONLY || acc == unix.O_WRONLY) {
		// Only a FIFO (or a device) blocks here: waking it takes opening
		// the other end.
		peer := uint64(unix.O_WRONLY)
		if acc == unix.O_WRONLY {
			peer = unix.O_RDONLY
		}
		done = c.Block(func() {
			h := unix.OpenHow{Flags: peer | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolveStep}
			if f, err := unix.Openat2(tfd, name, &h); err == nil {
				unix.Close(f)
			}
		})
	}
	for {
		fd, err = unix.Openat2(tfd, name, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	if done != nil {
		done()
	}
	// O_DIRECTORY on a symlink says ENOTDIR before ELOOP.
	if (err == unix.ELOOP || err == unix.ENOTDIR) && lazy {
		lazy = false
		var st unix.Stat_t
		if statAt(tfd, name, &st, 0) == 0 && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if errno := e.followLast(); errno != 0 {
				return Opened{FDRef: -1}, errno
			}
			if fs.denied(e.Guest) {
				return Opened{FDRef: -1}, unix.EACCES
			}
			goto again
		}
		if err == unix.ENOTDIR {
			return Opened{FDRef: -1}, unix.ENOTDIR
		}
		return Opened{FDRef: -1}, errRetry
	}
	if err == unix.ELOOP && follow {
		return Opened{FDRef: -1}, errRetry
	}
	if err != nil {
		return Opened{FDRef: -1}, err.(unix.Errno)
	}
	if flags&unix.O_PATH != 0 {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			o := fs.opened(fd, e.Guest, m)
			o.PathOnly = true
			return o, 0
		}
		nfd, errno := downgradePath(fd, flags)
		unix.Close(fd)
		if errno != 0 {
			return Opened{FDRef: -1}, errno
		}
		fd = nfd
	}
	return fs.opened(fd, e.Guest, m), 0
}

// downgradePath turns an O_PATH fd into an ordinary one on the same object:
// the kernel cannot install O_PATH files into another process (ADDFD takes
// files with fget, which refuses them). Directories and files are opened
// read-only, FIFOs and devices without blocking; a symlink itself cannot be
// opened any other way (Open returns it as PathOnly instead).
func downgradePath(fd int, flags int) (int, unix.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return -1, err.(unix.Errno)
	}
	var fl int
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fl = unix.O_RDONLY | unix.O_DIRECTORY
	case unix.S_IFREG:
		fl = unix.O_RDONLY
	case unix.S_IFLNK:
		return -1, unix.ELOOP
	case unix.S_IFSOCK:
		return -1, unix.ENXIO
	default:
		fl = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY
	}
	if flags&unix.O_DIRECTORY != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	return reopen(fd, fl)
}

func (fs *FS) opened(fd int, guest string, m *Mount) Opened {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return Opened{FD: fd, Guest: guest, Mount: m, FDRef: -1}
	}
	return Opened{FD: fd, Guest: guest, Mount: m, IsDir: st.Mode&unix.S_IFMT == unix.S_IFDIR, Mode: st.Mode, Rdev: st.Rdev, FDRef: -1}
}

func isDevice(fd int, name string) bool {
	var st unix.Stat_t
	if statAt(fd, name, &st, 0) != 0 {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}

// reopen opens an fd we hold again with new flags, as Linux does for
// /proc/self/fd/N. The fd is ours, so the magic link is safe to follow.
func reopen(fd int, flags int) (int, unix.Errno) {
	p := "/proc/self/fd/" + itoa(fd)
	nfd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err.(unix.Errno)
	}
	return nfd, 0
}

// Reopen exposes reopen for the sentry (used for /dev/fd/N).
func Reopen(fd int, flags int) (int, unix.Errno) {
	return reopen(fd, flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// guestFD takes the fd an fd-directory entry names.
func (c Ctx) guestFD(e *Entry) (int, unix.Errno) {
	if c.GuestFD == nil {
		return -1, unix.ENOENT
	}
	fd, errno := c.GuestFD(e.FDPid, e.FDRef)
	if errno == unix.EBADF {
		errno = unix.ENOENT // /proc/<pid>/fd/N of a closed fd does not exist
	}
	return fd, errno
}

// fdLink returns an O_PATH fd of the magic link /proc/<pid>/fd/N itself
// (for the calls that do not follow it: lstat, llistxattr), from the
// host's procfs, which describes it as Linux does: a symlink whose mode
// says the fd's access mode. The guest's fd is checked first (EBADF and
// membership as for following it).
func (c Ctx) fdLink(e *Entry) (int, unix.Errno) {
	gfd, errno := c.guestFD(e)
	if errno != 0 {
		return -1, errno
	}
	unix.Close(gfd)
	fd, errno := reopenPath("/proc/" + itoa(e.FDPid) + "/fd/" + itoa(e.FDRef))
	if errno != 0 {
		return -1, unix.ENOENT
	}
	return fd, 0
}

// Stat returns the stat of path (for /proc/<pid>/fd/N, of the file when
// following, of the link itself otherwise).
func (fs *FS) Stat(c Ctx, path string, follow bool) (unix.Stat_t, unix.Errno) {
	var st unix.Stat_t
	e, errno := fs.lookupExisting(c, path, follow)
	if errno != 0 {
		return st, errno
	}
	defer e.Release()
	if e.Link != "" {
		// /proc/self itself: the host's own per-caller link describes it
		// (procfs: a symlink of mode 0777, size 0).
		return st, statAt(unix.AT_FDCWD, "/proc/self", &st, 0)
	}
	if e.FDRef >= 0 && !follow {
		lfd, errno := c.fdLink(e)
		if errno != 0 {
			return st, errno
		}
		defer unix.Close(lfd)
		return st, statAt(lfd, "", &st, 0)
	}
	if e.FDRef >= 0 {
		gfd, errno := c.guestFD(e)
		if errno != 0 {
			return st, errno
		}
		defer unix.Close(gfd)
		return st, statAt(gfd, "", &st, 0)
	}
	fd, name := e.Target()
	errno = statAt(fd, name, &st, 0)
	if errno == 0 && e.Mount().Kind == ProcDir {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			st.Size, st.Blocks = 0, 0 // as procfs reports its files
		case unix.S_IFDIR:
			st.Mode = st.Mode&^0o7777 | procDirPerm(e.Guest)
		}
	}
	return st, errno
}

// procDirPerm is the mode procfs gives a directory: r-x for everyone, but
// only the owner may look into a process's fd directory. (The host mirror
// must stay writable for the sentry that fills it.)
func procDirPerm(guest string) uint32 {
	if path.Base(guest) == "fd" {
		return 0o500
	}
	return 0o555
}

// RefreshFDs makes the listing of guest directory dir, a /proc/<pid>/fd
// of a ProcDir mount m, current again for the calling process pid: the
// guest's open of it has just added an fd, which Linux lists.
func (fs *FS) RefreshFDs(pid int, m *Mount, dir string) {
	if fs.proc != nil && m != nil && m.Kind == ProcDir && strings.HasSuffix(dir, "/fd") {
		fs.proc.PrepareDir(pid, dir)
	}
}

// IsProcFile tells whether host path names a file of a ProcDir mount (its
// stat must say size 0, as procfs does).
func (fs *FS) IsProcFile(host string) bool {
	for _, m := range fs.ordered {
		if m.Kind == ProcDir && strings.HasPrefix(host, m.Host+"/") {
			return true
		}
	}
	return false
}

// Statx is statx(2) on a path.
func (fs *FS) Statx(c Ctx, path string, follow bool, flags int, mask int) (unix.Statx_t, unix.Errno) {
	var stx unix.Statx_t
	e, errno := fs.lookupExisting(c, path, follow)
	if errno != 0 {
		return stx, errno
	}
	defer e.Release()
	fd, name := e.Target()
	if e.Link != "" {
		fd, name = unix.AT_FDCWD, "/proc/self" // as in Stat
	}
	if e.FDRef >= 0 {
		get := c.guestFD
		if !follow {
			get = c.fdLink
		}
		gfd, errno := get(e)
		if errno != 0 {
			return stx, errno
		}
		defer unix.Close(gfd)
		fd, name = gfd, ""
	}
	fl := flags&0x6000 | unix.AT_SYMLINK_NOFOLLOW // AT_STATX_SYNC_TYPE
	if name == "" {
		fl |= unix.AT_EMPTY_PATH
	}
	if err := unix.Statx(fd, name, fl, mask, &stx); err != nil {
		return stx, err.(unix.Errno)
	}
	if e.FDRef < 0 && e.Mount().Kind == ProcDir { // not the file an fd link leads to
		switch stx.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			stx.Size, stx.Blocks = 0, 0
		case unix.S_IFDIR:
			stx.Mode = stx.Mode&^0o7777 | uint16(procDirPerm(e.Guest))
		}
	}
	return stx, 0
}

// HiddenIn reports whether name in guest directory dir is hidden, for
// filtering directory listings.
func (fs *FS) HiddenIn(dir, name string) bool {
	if !fs.hasBelow[dir] {
		return false
	}
	return fs.hidden[joinGuest(dir, name)]
}

// HasHidden reports whether guest directory dir directly or indirectly
// holds hidden paths (its listings need filtering).
func (fs *FS) HasHidden(dir string) bool { return fs.hasBelow[dir] }

// Access is faccessat2(2): mode is F_OK or a mix of R_OK/W_OK/X_OK.
func (fs *FS) Access(c Ctx, path string, mode uint32, flags int) unix.Errno {
	e, errno := fs.lookupExisting(c, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	fd, name := e.Target()
	if e.FDRef >= 0 {
		return 0
	}
	if mode&unix.W_OK != 0 && e.Mount().ReadOnly && !isDevice(fd, name) {
		return unix.EROFS
	}
	fl := flags&unix.AT_EACCESS | unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		fl |= unix.AT_EMPTY_PATH
	}
	if err := unix.Faccessat2(fd, name, mode, fl); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// FDRefOf tells whether path names an entry of an fd directory
// (/proc/<pid>/fd/N) without following it: it returns pid and N, or N = -1.
func (fs *FS) FDRefOf(c Ctx, path string) (int, int, unix.Errno) {
	e, errno := fs.lookupExisting(c, path, false)
	if errno != 0 {
		return 0, -1, errno
	}
	defer e.Release()
	return e.FDPid, e.FDRef, 0
}

// Readlink returns a symlink's target.
func (fs *FS) Readlink(c Ctx, path string) (string, unix.Errno) {
	e, errno := fs.lookupExisting(c, path, false)
	if errno != 0 {
		return "", errno
	}
	defer e.Release()
	if e.Link != "" {
		return e.Link, 0
	}
	fd, name := e.Target()
	if name == "" {
		return "", unix.EINVAL
	}
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(fd, name, buf)
	if err != nil {
		return "", err.(unix.Errno)
	}
	return string(buf[:n]), 0
}

// createTarget resolves the parent of a name an operation will create and
// checks what every creation checks, in Linux's order: the name must not
// exist (EEXIST, also for "/", "." and mount points), then the mount must
// be writable (EROFS). Hidden names cannot be created (EACCES).
func (fs *FS) createTarget(c Ctx, path string) (*Entry, unix.Errno) {
	e, errno := fs.lookupCreate(c, path)
	if errno != 0 {
		return nil, errno
	}
	fail := func(err unix.Errno) (*Entry, unix.Errno) {
		e.Release()
		return nil, err
	}
	if e.Name == "" || e.AtMount != nil || e.FDRef >= 0 || e.Dots != "" {
		return fail(unix.EEXIST)
	}
	var st unix.Stat_t
	if statAt(e.Parent(), e.Name, &st, 0) == 0 {
		return fail(unix.EEXIST)
	}
	if e.Mount().ReadOnly {
		return fail(unix.EROFS)
	}
	return e, 0
}

// Mkdir is mkdirat(2).
func (fs *FS) Mkdir(c Ctx, path string, mode uint32) unix.Errno {
	e, errno := fs.createTarget(c, path)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	if err := unix.Mkdirat(e.Parent(), e.Name, mode&^c.Umask&0o7777); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Unlink is unlinkat(2); AT_REMOVEDIR in flags makes it rmdir.
func (fs *FS) Unlink(c Ctx, path string, flags int) unix.Errno {
	e, errno := fs.lookupExisting(c, path, false)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	rmdir := flags&unix.AT_REMOVEDIR != 0
	if e.Dots != "" && rmdir {
		if e.Dots == "." {
			return unix.EINVAL
		}
		return unix.ENOTEMPTY
	}
	if e.AtMount != nil || e.FDRef >= 0 || (e.Name == "" && len(e.stack) >= 1) {
		if e.Name == "" && e.AtMount == nil && e.Guest != "/" && !rmdir {
			return unix.EISDIR
		}
		return unix.EBUSY
	}
	var st unix.Stat_t
	if errno := statAt(e.Parent(), e.Name, &st, 0); errno != 0 {
		return errno
	}
	if rmdir && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	if !rmdir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	if e.Mount().ReadOnly {
		return unix.EROFS
	}
	if rmdir && fs.hasBelow[e.Guest] {
		// A mount point or hidden path lives below: Linux says EBUSY for a
		// mount; for a hidden entry the directory is not empty.
		return unix.EBUSY
	}
	if err := unix.Unlinkat(e.Parent(), e.Name, flags&unix.AT_REMOVEDIR); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Rename is renameat2(2).
func (fs *FS) Rename(oc Ctx, oldpath string, nc Ctx, newpath string, flags uint) unix.Errno {
	oe, errno := fs.lookupExisting(oc, oldpath, false)
	if errno != 0 {
		return errno
	}
	defer oe.Release()
	ne, errno := fs.lookupCreate(nc, newpath)
	if errno != 0 {
		return errno
	}
	defer ne.Release()
	if oe.Dots != "" || ne.Dots != "" {
		return unix.EBUSY
	}
	if oe.Name == "" || oe.AtMount != nil || ne.Name == "" || ne.AtMount != nil || oe.FDRef >= 0 || ne.FDRef >= 0 {
		return unix.EBUSY
	}
	if oe.Mount() != ne.Mount() {
		return unix.EXDEV
	}
	if oe.Mount().ReadOnly {
		return unix.EROFS
	}
	if fs.hasBelow[oe.Guest] || fs.hasBelow[ne.Guest] {
		return unix.EBUSY
	}
	if err := unix.Renameat2(oe.Parent(), oe.Name, ne.Parent(), ne.Name, flags); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Link is linkat(2); follow is AT_SYMLINK_FOLLOW.
func (fs *FS) Link(oc Ctx, oldpath string, nc Ctx, newpath string, follow bool) unix.Errno {
	oe, errno := fs.lookupExisting(oc, oldpath, follow)
	if errno != 0 {
		return errno
	}
	defer oe.Release()
	ne, errno := fs.lookupCreate(nc, newpath)
	if errno != 0 {
		return errno
	}
	defer ne.Release()
	if ne.Name == "" || ne.AtMount != nil || ne.FDRef >= 0 || ne.Dots != "" {
		return unix.EEXIST
	}
	if oe.Name == "" || oe.AtMount != nil || oe.FDRef >= 0 {
		return unix.EPERM // linking a directory
	}
	var st unix.Stat_t
	if statAt(ne.Parent(), ne.Name, &st, 0) == 0 {
		return unix.EEXIST
	}
	if oe.Mount() != ne.Mount() {
		return unix.EXDEV
	}
	if ne.Mount().ReadOnly {
		return unix.EROFS
	}
	if err := unix.Linkat(oe.Parent(), oe.Name, ne.Parent(), ne.Name, 0); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Symlink is symlinkat(2).
func (fs *FS) Symlink(target string, c Ctx, newpath string) unix.Errno {
	if target == "" {
		return unix.ENOENT
	}
	e, errno := fs.createTarget(c, newpath)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	if err := unix.Symlinkat(target, e.Parent(), e.Name); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// metaLocked tells whether the metadata of m's objects may not change: a
// read-only mount, or a host device node.
func (m *Mount) metaLocked() bool { return m.ReadOnly || m.Device }

// MayChange tells whether the metadata (mode, owner, times, xattrs) of
// the file that fd refers to may change: EROFS when it lives in a
// read-only or device mount of the view, or outside every mount (a deleted
// file included). Pipes and sockets, which have no path, may change.
func (fs *FS) MayChange(fd int) unix.Errno {
	m, pathless, errno := fs.mountOfFD(fd)
	if errno != 0 || pathless {
		return errno
	}
	if m == nil || m.metaLocked() {
		return unix.EROFS
	}
	return 0
}

// mountOfFD returns the mount of the view the file behind the sentry's fd
// lives in (nil: outside every mount), or pathless for pipes, sockets and
// anonymous inodes (pipe:[n], socket:[n], anon_inode:[...]).
func (fs *FS) mountOfFD(fd int) (m *Mount, pathless bool, errno unix.Errno) {
	host, err := os.Readlink("/proc/self/fd/" + itoa(fd))
	if err != nil {
		return nil, false, unix.EBADF
	}
	if !strings.HasPrefix(host, "/") {
		return nil, true, 0
	}
	_, m = fs.GuestPathOf(host)
	return m, false, 0
}

// MayWrite tells whether the file that fd refers to may be opened again
// for writing (open of /proc/self/fd/N or /dev/fd/N with write flags, which
// Linux allows whatever the fd's own mode): EROFS when it lives in a
// read-only mount of the view. Files outside every mount (what the caller
// handed in, such as a stdout redirected to a file: echo > /dev/stdout),
// pipes, sockets and memfds reopen as in Linux.
func (fs *FS) MayWrite(fd int) unix.Errno {
	m, _, errno := fs.mountOfFD(fd)
	if errno == 0 && m != nil && m.ReadOnly {
		return unix.EROFS
	}
	return errno
}

// withTarget runs fn on the object a path names, after the read-only check
// for operations that modify it (metadata operations: chmod, chown,
// utimens, xattrs).
func (fs *FS) withTarget(c Ctx, path string, follow, modifies bool, fn func(fd int, name string) error) unix.Errno {
	e, errno := fs.lookupExisting(c, path, follow)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	if e.FDRef >= 0 {
		// chmod("/proc/self/fd/N"): the object the guest's fd refers to.
		if c.GuestFD == nil {
			return unix.EPERM
		}
		gfd, errno := c.GuestFD(e.FDPid, e.FDRef)
		if errno != 0 {
			return errno
		}
		defer unix.Close(gfd)
		// The file the fd refers to is judged like any other: naming it
		// through /proc must not get around a read-only mount.
		if modifies {
			if errno := fs.MayChange(gfd); errno != 0 {
				return errno
			}
		}
		if err := fn(gfd, ""); err != nil {
			return err.(unix.Errno)
		}
		return 0
	}
	fd, name := e.Target()
	if name != "" {
		var st unix.Stat_t
		if errno := statAt(fd, name, &st, 0); errno != 0 {
			return errno
		}
	}
	if modifies && e.Mount().metaLocked() {
		return unix.EROFS
	}
	if err := fn(fd, name); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Chmod is fchmodat(2).
func (fs *FS) Chmod(c Ctx, path string, mode uint32) unix.Errno {
	return fs.withTarget(c, path, true, true, func(fd int, name string) error {
		if name == "" {
			return unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+itoa(fd), mode, 0)
		}
		// fchmodat cannot act on a symlink itself; the walker already
		// followed links, so name is not one (a race yields ELOOP-free
		// chmod of whatever is there now, still inside the mount).
		return unix.Fchmodat(fd, name, mode, 0)
	})
}

// Setxattr is setxattr(2), or lsetxattr(2) without follow.
func (fs *FS) Setxattr(c Ctx, path string, follow bool, name string, val []byte, flags int) unix.Errno {
	return fs.withTarget(c, path, follow, true, func(fd int, n string) error {
		return onObject(fd, n, func(p string) error { return unix.Setxattr(p, name, val, flags) })
	})
}

// Removexattr is removexattr(2), or lremovexattr(2) without follow.
func (fs *FS) Removexattr(c Ctx, path string, follow bool, name string) unix.Errno {
	return fs.withTarget(c, path, follow, true, func(fd int, n string) error {
		return onObject(fd, n, func(p string) error { return unix.Removexattr(p, name) })
	})
}

// onObject runs fn on a /proc/self/fd path of name in directory fd (of fd
// itself when name is ""), for calls with no *at form. The path is opened
// O_PATH|O_NOFOLLOW, and the magic link then names that very inode: a
// symlink stays the symlink, and nothing is resolved again by name.
func onObject(fd int, name string, fn func(p string) error) error {
	if name == "" {
		return fn("/proc/self/fd/" + itoa(fd))
	}
	o, errno := openStep(fd, name, 0)
	if errno != 0 {
		return errno
	}
	defer unix.Close(o)
	return fn("/proc/self/fd/" + itoa(o))
}

// Chown is fchownat(2).
func (fs *FS) Chown(c Ctx, path string, uid, gid int, follow bool) unix.Errno {
	return fs.withTarget(c, path, follow, true, func(fd int, name string) error {
		fl := unix.AT_SYMLINK_NOFOLLOW
		if name == "" {
			fl |= unix.AT_EMPTY_PATH
		}
		return unix.Fchownat(fd, name, uid, gid, fl)
	})
}

// Truncate is truncate(2).
func (fs *FS) Truncate(c Ctx, path string, length int64) unix.Errno {
	e, errno := fs.lookupExisting(c, path, true)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	fd, name := e.Target()
	var st unix.Stat_t
	if errno := statAt(fd, name, &st, 0); errno != 0 {
		return errno
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return unix.EINVAL
	}
	if e.Mount().ReadOnly {
		return unix.EROFS
	}
	var f int
	if name == "" {
		f, errno = reopen(fd, unix.O_WRONLY)
	} else {
		how := unix.OpenHow{Flags: unix.O_WRONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolveStep}
		var err error
		f, err = unix.Openat2(fd, name, &how)
		if err != nil {
			errno = err.(unix.Errno)
		}
	}
	if errno != 0 {
		return errno
	}
	defer unix.Close(f)
	if err := unix.Ftruncate(f, length); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// Utimens is utimensat(2) with a path; ts nil means "now".
func (fs *FS) Utimens(c Ctx, path string, ts []unix.Timespec, follow bool) unix.Errno {
	return fs.withTarget(c, path, follow, true, func(fd int, name string) error {
		fl := unix.AT_SYMLINK_NOFOLLOW
		if name == "" {
			return unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+itoa(fd), ts, 0)
		}
		return unix.UtimesNanoAt(fd, name, ts, fl)
	})
}

// OpenDir resolves a directory for chdir: it returns a new Dir whose FD the
// caller owns.
func (fs *FS) OpenDir(c Ctx, path string) (Dir, unix.Errno) {
	e, errno := fs.lookupExisting(c, path, true)
	if errno != 0 {
		return Dir{}, errno
	}
	defer e.Release()
	if e.FDRef >= 0 {
		return Dir{}, unix.ENOTDIR
	}
	fd, name := e.Target()
	var nfd int
	if name == "" {
		nfd, errno = reopen(fd, unix.O_PATH|unix.O_DIRECTORY)
	} else {
		nfd, errno = openStep(fd, name, unix.O_DIRECTORY)
	}
	if errno != 0 {
		return Dir{}, errno
	}
	// chdir needs search permission.
	if err := unix.Faccessat2(nfd, "", unix.X_OK, unix.AT_EMPTY_PATH); err != nil {
		unix.Close(nfd)
		return Dir{}, err.(unix.Errno)
	}
	return Dir{Guest: e.Guest, FD: nfd, Mount: e.Mount()}, 0
}

// DirOf describes a directory fd the sentry holds for the guest path guest.
func (fs *FS) DirOf(guest string, fd int) Dir {
	return Dir{Guest: guest, FD: fd, Mount: fs.mountFor(guest)}
}

// ExecTarget resolves an executable for execve: the guest path, and the
// host path the kernel will be asked to run (for the exec check).
func (fs *FS) ExecTarget(c Ctx, path string) (guest string, hostfd int, errno unix.Errno) {
	e, errno := fs.lookupExisting(c, path, true)
	if errno != 0 {
		return "", -1, errno
	}
	defer e.Release()
	if e.FDRef >= 0 {
		return "", -1, unix.EACCES
	}
	fd, name := e.Target()
	var st unix.Stat_t
	if errno := statAt(fd, name, &st, 0); errno != 0 {
		return "", -1, errno
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return "", -1, unix.EACCES
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", -1, unix.EACCES
	}
	fl := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		fl |= unix.AT_EMPTY_PATH
	}
	if err := unix.Faccessat2(fd, name, unix.X_OK, fl|unix.AT_EACCESS); err != nil {
		return "", -1, err.(unix.Errno)
	}
	var nfd int
	if name == "" {
		nfd, errno = reopen(fd, unix.O_PATH)
	} else {
		nfd, errno = openStep(fd, name, 0)
	}
	return e.Guest, nfd, errno
}

// OpenPath returns an O_PATH fd of the object path names (caller closes),
// for operations that have no *at form.
func (fs *FS) OpenPath(c Ctx, path string, follow bool) (int, unix.Errno) {
	e, errno := fs.lookupExisting(c, path, follow)
	if errno != 0 {
		return -1, errno
	}
	defer e.Release()
	if e.FDRef >= 0 && follow {
		return c.guestFD(e) // the guest's own open file
	}
	if e.Link != "" {
		return reopenPath("/proc/self") // /proc/self itself, as in Stat
	}
	if e.FDRef >= 0 {
		return c.fdLink(e)
	}
	fd, name := e.Target()
	if name == "" {
		return reopen(fd, unix.O_PATH)
	}
	return openStep(fd, name, 0)
}

func reopenPath(host string) (int, unix.Errno) {
	fd, err := unix.Open(host, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err.(unix.Errno)
	}
	return fd, 0
}

// Mknod is mknodat(2) for regular files, FIFOs and sockets.
func (fs *FS) Mknod(c Ctx, path string, mode uint32) unix.Errno {
	e, errno := fs.createTarget(c, path)
	if errno != 0 {
		return errno
	}
	defer e.Release()
	perm := mode & 0o7777 &^ c.Umask
	if err := unix.Mknodat(e.Parent(), e.Name, mode&unix.S_IFMT|perm, 0); err != nil {
		return err.(unix.Errno)
	}
	return 0
}

// CreateAt resolves the parent of a path that the caller will create (a
// unix socket bind): it returns a dup of the parent dir fd and the name.
func (fs *FS) CreateAt(c Ctx, path string) (int, string, unix.Errno) {
	e, errno := fs.createTarget(c, path)
	if errno != 0 {
		return -1, "", errno
	}
	defer e.Release()
	fd, err := unix.Dup(e.Parent())
	if err != nil {
		return -1, "", err.(unix.Errno)
	}
	unix.CloseOnExec(fd)
	return fd, e.Name, 0
}
