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
// opened file (its device number), so no path trick gets around it.

// ptys is the set of pty numbers the guest may open.
type ptys struct {
	mu  sync.Mutex
	own map[uint32]bool
}

func (p *ptys) add(n uint32) {
	p.mu.Lock()
	if p.own == nil {
		p.own = map[uint32]bool{}
	}
	p.own[n] = true
	p.mu.Unlock()
}

func (p *ptys) has(n uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.own[n]
}

// ownPty tells whether st (a character device) is a pty slave of the
// guest's.
func (s *Sentry) ownPty(st *unix.Stat_t) bool {
	n, ok := ptyNumber(st.Rdev)
	return ok && s.ptys.has(n)
}

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
				p.add(n)
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
	st := unix.Stat_t{Mode: mode, Rdev: rdev}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0
	}
	if unix.Major(st.Rdev) == 5 && unix.Minor(st.Rdev) == 2 { // ptmx
		if n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN); err == nil {
			s.ptys.add(n)
		}
		return 0
	}
	if n, ok := ptyNumber(st.Rdev); ok && !s.ptys.has(n) {
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
	n, ok := ptyNumber(st.Rdev)
	if !ok || !s.ptys.has(n) {
		return 0, false
	}
	// O_PATH: the device is not opened, and the fd pins the very node
	// checked, whatever happens to the number meanwhile.
	fd, err := unix.Open("/dev/pts/"+strconv.FormatUint(uint64(n), 10), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var fst unix.Stat_t
	if unix.Fstat(fd, &fst) != nil || fst.Rdev != st.Rdev || fst.Dev != st.Dev {
		return 0, false
	}
	if err := op("/proc/self/fd/" + strconv.Itoa(fd)); err != nil {
		if en, ok := err.(unix.Errno); ok {
			return en, true
		}
		return unix.EIO, true
	}
	return 0, true
}
