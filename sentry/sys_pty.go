package sentry

import (
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"sandbox/vfs"
)

// Pseudo-terminals live in the host's devpts instance, which also holds the
// user's other terminals: a guest that could open /dev/pts/N of another
// session could read what is typed there or write to it. The guest may
// open a pty slave only when the sandbox made it (through /dev/ptmx, seen
// here at open) or it is the sandbox's own terminal. The check is on the
// opened file (its device number, and the very node pinned when the pty
// was made), so no path trick, and no pty number reused by another
// session, gets around it.

// ptys is the set of ptys the guest may open. Each is pinned by an O_PATH
// fd of its slave node, taken while the pty was certainly the guest's (its
// master just opened, or the sandbox's own terminal): pty numbers are
// reused at once, so a number alone would grant the next session's
// terminal. A pty whose node is gone (devpts drops its link count when the
// pty is freed) is no longer the guest's.
type ptys struct {
	mu  sync.Mutex
	own map[uint32]ptyRef
}

type ptyRef struct {
	fd       int // O_PATH, of the slave node
	dev, ino uint64
}

// add records pty n, pinned by fd (which ptys then owns).
func (p *ptys) add(n uint32, fd int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		unix.Close(fd)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.own == nil {
		p.own = map[uint32]ptyRef{}
	}
	if old, ok := p.own[n]; ok {
		unix.Close(old.fd)
	}
	p.own[n] = ptyRef{fd: fd, dev: st.Dev, ino: st.Ino}
	if len(p.own) > 16 {
		for m, r := range p.own {
			if !r.alive() {
				unix.Close(r.fd)
				delete(p.own, m)
			}
		}
	}
}

func (r ptyRef) alive() bool {
	var st unix.Stat_t
	return unix.Fstat(r.fd, &st) == nil && st.Nlink > 0
}

// pin returns a copy (the caller closes it) of the pinned fd of the pty
// slave st describes, if that is one of the guest's, alive.
func (p *ptys) pin(st *unix.Stat_t) (int, bool) {
	n, ok := ptyNumber(st.Rdev)
	if !ok {
		return -1, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.own[n]
	if !ok {
		return -1, false
	}
	if !r.alive() {
		unix.Close(r.fd)
		delete(p.own, n)
		return -1, false
	}
	if r.dev != st.Dev || r.ino != st.Ino {
		return -1, false
	}
	fd, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	return fd, true
}

// has tells whether the pty slave st describes is one of the guest's.
func (p *ptys) has(st *unix.Stat_t) bool {
	fd, ok := p.pin(st)
	if ok {
		unix.Close(fd)
	}
	return ok
}

// ownPty tells whether st (a character device) is a pty slave of the
// guest's.
func (s *Sentry) ownPty(st *unix.Stat_t) bool { return s.ptys.has(st) }

// ptyNumber returns the pty number of a UNIX98 pty slave device.
func ptyNumber(rdev uint64) (uint32, bool) {
	maj, min := unix.Major(rdev), unix.Minor(rdev)
	if maj < 136 || maj > 143 {
		return 0, false
	}
	return (maj-136)<<8 | min, true
}

// addOwnTerminals allows the terminals the sandbox itself runs on.
func (p *ptys) addOwnTerminals() {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR {
			if n, ok := ptyNumber(st.Rdev); ok {
				if pfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
					p.add(n, pfd)
				}
			}
		}
	}
}

// checkPty vets a file the sentry opened for the guest: a new pty master
// records its slave's number, and a pty slave must be one of the guest's.
// mode and rdev are the file's when known (mode 0: fstat it here).
func (s *Sentry) checkPty(fd int, mode uint32, rdev uint64) unix.Errno {
	if mode == 0 {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			return 0
		}
		mode, rdev = st.Mode, st.Rdev
	}
	if mode&unix.S_IFMT != unix.S_IFCHR {
		return 0
	}
	if unix.Major(rdev) == 5 && unix.Minor(rdev) == 2 { // ptmx
		if n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN); err == nil {
			// The master is open, so slave n is this pty and no other.
			want := unix.Mkdev(136+n>>8, n&0xff)
			slave := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
			if sfd, err := unix.Open(slave, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
				var st unix.Stat_t
				if unix.Fstat(sfd, &st) == nil && st.Rdev == want {
					s.ptys.add(n, sfd)
				} else {
					unix.Close(sfd)
				}
			}
		}
		return 0
	}
	if _, ok := ptyNumber(rdev); !ok {
		return 0
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || !s.ptys.has(&st) {
		return unix.EACCES
	}
	return 0
}

// ptyMeta runs op (a chmod, chown or utimes by path) on the pty slave that
// guest path p names, when it is one of the guest's: the view mounts the
// host's devpts read-only, but a program may change its own terminal's
// mode, owner and times, as Linux lets it (grantpt, script(1), chmod of
// $(tty)). done is false when p is not such a pty; then the caller's answer
// stands. op gets a path that names the device node itself, and runs with
// the sentry's credentials, as every path operation does.
func (s *Sentry) ptyMeta(ctx vfs.Ctx, p string, follow bool, op func(path string) error) (errno unix.Errno, done bool) {
	st, e := s.fs.Stat(ctx, p, follow)
	if e != 0 || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0, false
	}
	// The pinned node itself: whatever happens to the number meanwhile.
	fd, ok := s.ptys.pin(&st)
	if !ok {
		return 0, false
	}
	defer unix.Close(fd)
	if err := op("/proc/self/fd/" + strconv.Itoa(fd)); err != nil {
		if en, ok := err.(unix.Errno); ok {
			return en, true
		}
		return unix.EIO, true
	}
	return 0, true
}
