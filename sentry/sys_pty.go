package sentry

import (
	"sync"

	"golang.org/x/sys/unix"
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
func (s *Sentry) checkPty(fd int) unix.Errno {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
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
