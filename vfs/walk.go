package vfs

import (
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxSymlinks is Linux's limit on symlinks followed in one lookup.
const MaxSymlinks = 40

const resolveStep = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// Dir is a directory a lookup can start from: a guest's cwd or a dirfd.
// FD is borrowed; the walker never closes it.
type Dir struct {
	Guest string // canonical guest path
	FD    int    // host fd of the directory (O_PATH or opened)
	Mount *Mount
}

type node struct {
	guest    string
	fd       int
	owned    bool
	mount    *Mount
	compound bool // reached by more than one step: ".." must re-resolve
	fdPid    int  // > 0: a /proc/<pid>/fd directory of that process
}

// Entry is the result of a lookup: the final object named by its parent
// directory and a single component, ready for an *at call on the host.
// Release it when done.
type Entry struct {
	fs      *FS
	stack   []node
	links   int
	floor   int    // stack index of the lookup's root (RESOLVE_BENEATH/IN_ROOT)
	resolve uint64 // the guest's openat2 RESOLVE_* flags
	pid     int    // the calling process, for /proc/self
	tid     int    // the calling thread, for /proc/thread-self (0: pid)

	// Name is the final component, or "" when the path names a directory
	// through "/", ".", ".." or a mount point (then Self is the object).
	Name string
	// Guest is the canonical guest path of the object.
	Guest string
	// AtMount is set when the path names a mount point.
	AtMount *Mount
	// FDRef >= 0 when the path names an entry of a /proc/<pid>/fd
	// directory: fd FDRef of process FDPid.
	FDRef int
	FDPid int
	// Link, when set, is the target of the final component, a per-caller
	// symlink (/proc/self) that has no host object of its own.
	Link string
	// Dots is "." or ".." when the path's last component was one of those.
	Dots string
	// MustDir is set when the path ended in a slash.
	MustDir bool
	// Hidden is set when the name exists only as a hidden path.
	Hidden bool
}

// Parent returns the host fd of the directory holding Name.
func (e *Entry) Parent() int { return e.stack[len(e.stack)-1].fd }

// ParentGuest returns the guest path of the directory holding Name.
func (e *Entry) ParentGuest() string { return e.stack[len(e.stack)-1].guest }

// Mount returns the mount the object lives in.
func (e *Entry) Mount() *Mount {
	if e.AtMount != nil {
		return e.AtMount
	}
	return e.stack[len(e.stack)-1].mount
}

// Target returns an (fd, name) pair for *at calls on the object itself:
// name is "" when fd is the object (use AT_EMPTY_PATH).
func (e *Entry) Target() (int, string) {
	if e.AtMount != nil {
		return e.AtMount.fd, ""
	}
	if e.Name == "" {
		return e.Parent(), ""
	}
	return e.Parent(), e.Name
}

// Release closes the fds the lookup opened.
func (e *Entry) Release() {
	for _, n := range e.stack {
		if n.owned {
			unix.Close(n.fd)
		}
	}
	e.stack = nil
}

func (e *Entry) push(n node) { e.stack = append(e.stack, n) }

func (e *Entry) top() *node { return &e.stack[len(e.stack)-1] }

func (e *Entry) truncate(n int) {
	for _, x := range e.stack[n:] {
		if x.owned {
			unix.Close(x.fd)
		}
	}
	e.stack = e.stack[:n]
}

// resetToRoot handles an absolute symlink target: back to "/", or to the
// lookup's root under RESOLVE_IN_ROOT; refused under RESOLVE_BENEATH.
func (e *Entry) resetToRoot() unix.Errno {
	if e.resolve&unix.RESOLVE_BENEATH != 0 {
		return unix.EXDEV
	}
	m := e.top().mount
	e.truncate(e.floor + 1)
	if e.resolve&unix.RESOLVE_NO_XDEV != 0 && e.top().mount != m {
		return unix.EXDEV
	}
	return 0
}

// pop moves to the parent directory, staying at the root when already there.
func (e *Entry) pop() unix.Errno {
	if len(e.stack)-1 == e.floor {
		if e.resolve&unix.RESOLVE_BENEATH != 0 {
			return unix.EXDEV
		}
		return 0
	}
	t := e.stack[len(e.stack)-1]
	e.truncate(len(e.stack) - 1)
	if t.compound {
		// The node below is not the physical parent: resolve the parent's
		// canonical path again from the lookup's root.
		base := e.stack[e.floor].guest
		e.truncate(e.floor + 1)
		rel := strings.TrimPrefix(strings.TrimPrefix(filepath.Dir(t.guest), base), "/")
		if errno := e.walkDirs(splitPath(rel)); errno != 0 {
			return errno
		}
	}
	if e.resolve&unix.RESOLVE_NO_XDEV != 0 && e.top().mount != t.mount {
		return unix.EXDEV
	}
	return 0
}

func (e *Entry) enterMount(m *Mount) unix.Errno {
	if e.resolve&unix.RESOLVE_NO_XDEV != 0 && e.top().mount != m {
		return unix.EXDEV
	}
	return 0
}

func (e *Entry) symlinkAllowed() unix.Errno {
	if e.resolve&unix.RESOLVE_NO_SYMLINKS != 0 {
		return unix.ELOOP
	}
	return 0
}

func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func joinGuest(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func openStep(dirfd int, name string, flags uint64) (int, unix.Errno) {
	how := unix.OpenHow{Flags: flags | unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolveStep}
	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return -1, err.(unix.Errno)
		}
		return fd, 0
	}
}

// Lookup resolves path for the guest, starting at cwd when path is
// relative. With follow, a symlink as the last component is followed.
func (fs *FS) Lookup(cwd Dir, path string, follow bool) (*Entry, unix.Errno) {
	return fs.lookup(cwd, path, follow, 0, 0, 0)
}

// lookup is Lookup with openat2's RESOLVE_* flags applied on behalf of the
// guest.
func (fs *FS) lookup(cwd Dir, path string, follow bool, resolve uint64, pid, tid int) (*Entry, unix.Errno) {
	if path == "" {
		return nil, unix.ENOENT
	}
	scoped := resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0
	if scoped && resolve&unix.RESOLVE_BENEATH != 0 && strings.HasPrefix(path, "/") {
		return nil, unix.EXDEV
	}
	e := &Entry{fs: fs, FDRef: -1, resolve: resolve, pid: pid, tid: tid}
	e.push(node{guest: "/", fd: fs.root.fd, mount: fs.root})
	if (scoped || !strings.HasPrefix(path, "/")) && cwd.Guest != "/" {
		e.push(node{guest: cwd.Guest, fd: cwd.FD, mount: cwd.Mount, compound: true})
	}
	if scoped {
		e.floor = len(e.stack) - 1
	}
	if strings.HasSuffix(path, "/") {
		e.MustDir = true
		follow = true
	}
	comps := splitPath(path)
	if errno := e.finish(comps, follow); errno != 0 {
		e.Release()
		return nil, errno
	}
	return e, 0
}

// finish walks all but the last component, then settles the last one.
func (e *Entry) finish(comps []string, follow bool) unix.Errno {
	for {
		if len(comps) == 0 {
			t := e.top()
			e.Name, e.Guest = "", t.guest
			if m := e.fs.mounts[t.guest]; m != nil && m.fd == t.fd {
				e.AtMount = m
			}
			return 0
		}
		if errno := e.walkDirs(comps[:len(comps)-1]); errno != 0 {
			return errno
		}
		last := comps[len(comps)-1]
		switch last {
		case ".", "..":
			if last == ".." {
				if errno := e.pop(); errno != 0 {
					return errno
				}
			}
			e.Dots = last
			comps = nil
			continue
		}
		t := e.top()
		child := joinGuest(t.guest, last)
		e.Name, e.Guest = last, child
		if e.fs.hidden[child] {
			e.Hidden = true
			return 0
		}
		if m := e.fs.mounts[child]; m != nil {
			if errno := e.enterMount(m); errno != 0 {
				return errno
			}
			e.Name, e.AtMount = "", m
			if e.MustDir && !m.isDir {
				return unix.ENOTDIR
			}
			return 0
		}
		if t.fdPid > 0 {
			n, err := strconv.Atoi(last)
			if err != nil || n < 0 || strconv.Itoa(n) != last {
				return unix.ENOENT
			}
			if e.resolve&(unix.RESOLVE_NO_MAGICLINKS|unix.RESOLVE_NO_SYMLINKS) != 0 {
				return unix.ELOOP
			}
			e.FDRef, e.FDPid = n, t.fdPid
			return 0
		}
		if t.mount.Kind == ProcDir {
			if self := e.selfLink(t, last); self != "" {
				if !follow {
					e.Link = self
					return 0
				}
				if errno := e.symlinkAllowed(); errno != 0 {
					return errno
				}
				if e.links++; e.links > MaxSymlinks {
					return unix.ELOOP
				}
				comps = splitPath(self)
				continue
			}
			if e.fs.proc != nil {
				e.fs.proc.Prepare(e.pid, t.guest, last)
			}
		}
		if e.fs.virt != nil && e.fs.leadsToMount[child] {
			var vst unix.Stat_t
			if unix.Fstatat(t.fd, last, &vst, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
				if vfd, err := unix.Dup(e.fs.virt.fd); err == nil {
					e.push(node{guest: child, fd: vfd, owned: true, mount: e.fs.virt, compound: true})
					e.Name = ""
					return 0
				}
			}
		}
		if !follow {
			return 0
		}
		var st unix.Stat_t
		if err := unix.Fstatat(t.fd, last, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT && e.fs.virt != nil && e.fs.leadsToMount[child] {
				vfd, derr := unix.Dup(e.fs.virt.fd)
				if derr == nil {
					e.push(node{guest: child, fd: vfd, owned: true, mount: e.fs.virt, compound: true})
					e.Name = ""
					return 0
				}
			}
			if err == unix.ENOENT {
				return 0 // absent: callers that create need Parent and Name
			}
			return err.(unix.Errno)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if e.MustDir && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return unix.ENOTDIR
			}
			return 0
		}
		if errno := e.symlinkAllowed(); errno != 0 {
			return errno
		}
		target, errno := e.readLink(t.fd, last)
		if errno != 0 {
			return errno
		}
		if strings.HasPrefix(target, "/") {
			if errno := e.resetToRoot(); errno != 0 {
				return errno
			}
		}
		comps = splitPath(target)
		if strings.HasSuffix(target, "/") || e.MustDir {
			e.MustDir = true
		}
		if len(comps) == 0 {
			// A link to "/" (or "" which Linux rejects).
			if target == "" {
				return unix.ENOENT
			}
		}
		e.Dots = ""
	}
}

// followLast follows the final component, found to be a symlink after the
// lookup, and settles the new last component (following further links).
func (e *Entry) followLast() unix.Errno {
	if errno := e.symlinkAllowed(); errno != 0 {
		return errno
	}
	var target string
	if e.Link != "" {
		// A link of the view's own (/proc/self): its target is known,
		// whether or not the host mirror holds it yet.
		if e.links++; e.links > MaxSymlinks {
			return unix.ELOOP
		}
		target, e.Link = e.Link, ""
	} else {
		var errno unix.Errno
		if target, errno = e.readLink(e.Parent(), e.Name); errno != 0 {
			return errno
		}
	}
	if strings.HasPrefix(target, "/") {
		if errno := e.resetToRoot(); errno != 0 {
			return errno
		}
	}
	if strings.HasSuffix(target, "/") {
		e.MustDir = true
	}
	e.Name, e.Dots, e.AtMount, e.Hidden = "", "", nil, false
	return e.finish(splitPath(target), true)
}

func (e *Entry) readLink(dirfd int, name string) (string, unix.Errno) {
	e.links++
	if e.links > MaxSymlinks {
		return "", unix.ELOOP
	}
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err.(unix.Errno)
	}
	if n == 0 {
		return "", unix.ENOENT
	}
	return string(buf[:n]), 0
}

// walkDirs descends through directory components, following symlinks.
func (e *Entry) walkDirs(comps []string) unix.Errno {
	if len(comps) > 0 && e.tryFast(comps) {
		return 0
	}
	for i := 0; i < len(comps); i++ {
		name := comps[i]
		switch name {
		case "", ".":
			continue
		case "..":
			if errno := e.pop(); errno != 0 {
				return errno
			}
			continue
		}
		t := e.top()
		child := joinGuest(t.guest, name)
		if e.fs.hidden[child] {
			return unix.ENOENT
		}
		if m := e.fs.mounts[child]; m != nil {
			if !m.isDir {
				return unix.ENOTDIR
			}
			if errno := e.enterMount(m); errno != 0 {
				return errno
			}
			e.push(node{guest: child, fd: m.fd, mount: m})
			continue
		}
		if t.fdPid > 0 {
			return unix.ENOTDIR // an fd is not a directory to walk through
		}
		if t.mount.Kind == ProcDir {
			if self := e.selfLink(t, name); self != "" {
				if errno := e.symlinkAllowed(); errno != 0 {
					return errno
				}
				if e.links++; e.links > MaxSymlinks {
					return unix.ELOOP
				}
				return e.walkDirs(append(splitPath(self), comps[i+1:]...))
			}
			if e.fs.proc != nil {
				e.fs.proc.Prepare(e.pid, t.guest, name)
			}
		}
		fd, errno := openStep(t.fd, name, 0)
		if errno == unix.ENOENT && e.fs.virt != nil && e.fs.leadsToMount[child] {
			// Not on the host, but a mount point lies below: an empty
			// read-only directory stands in (dup: the node is owned).
			vfd, err := unix.Dup(e.fs.virt.fd)
			if err != nil {
				return unix.ENOENT
			}
			e.push(node{guest: child, fd: vfd, owned: true, mount: e.fs.virt, compound: true})
			continue
		}
		if errno != 0 {
			return errno
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return err.(unix.Errno)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			n := node{guest: child, fd: fd, owned: true, mount: t.mount}
			if t.mount.Kind == ProcDir && name == "fd" {
				n.fdPid = procPid(t.guest, t.mount.Guest)
			}
			e.push(n)
		case unix.S_IFLNK:
			if errno := e.symlinkAllowed(); errno != 0 {
				unix.Close(fd)
				return errno
			}
			target, errno := e.readLink(fd, "")
			unix.Close(fd)
			if errno != 0 {
				return errno
			}
			if strings.HasPrefix(target, "/") {
				if errno := e.resetToRoot(); errno != 0 {
					return errno
				}
			}
			rest := append(splitPath(target), comps[i+1:]...)
			return e.walkDirs(rest)
		default:
			unix.Close(fd)
			return unix.ENOTDIR
		}
	}
	return 0
}

// tryFast resolves a run of plain components with a single openat2 when no
// mount point, hidden path, dot or symlink lies on the way. It returns false
// (having changed nothing) when the slow walk must decide.
func (e *Entry) tryFast(comps []string) bool {
	t := e.top()
	if t.mount.Kind == ProcDir {
		return false
	}
	p := t.guest
	for _, c := range comps {
		if c == "" || c == "." || c == ".." {
			return false
		}
		p = joinGuest(p, c)
		if e.fs.mounts[p] != nil || e.fs.hidden[p] {
			return false
		}
	}
	fd, errno := openStep(t.fd, strings.Join(comps, "/"), unix.O_DIRECTORY)
	if errno != 0 {
		return false
	}
	e.push(node{guest: p, fd: fd, owned: true, mount: t.mount, compound: len(comps) > 1})
	return true
}

// selfLink gives the target of /proc/self and /proc/thread-self for the
// caller (per-caller symlinks with no host object), or "".
func (e *Entry) selfLink(t *node, name string) string {
	if t.guest != t.mount.Guest || e.pid <= 0 {
		return ""
	}
	switch name {
	case "self":
		return strconv.Itoa(e.pid)
	case "thread-self":
		if e.tid > 0 {
			return strconv.Itoa(e.pid) + "/task/" + strconv.Itoa(e.tid)
		}
		return strconv.Itoa(e.pid)
	}
	return ""
}

// procPid returns n when dir is <mount>/<n> or <mount>/<n>/task/<tid>
// (whose fd directory is the process's), else 0.
func procPid(dir, mount string) int {
	rest, ok := strings.CutPrefix(dir, strings.TrimSuffix(mount, "/")+"/")
	if !ok {
		return 0
	}
	if parts := strings.Split(rest, "/"); len(parts) == 3 && parts[1] == "task" {
		if _, err := strconv.Atoi(parts[2]); err == nil {
			rest = parts[0]
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
