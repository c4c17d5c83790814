// Package fdtable mirrors a guest process's kernel fd table: for each fd the
// sentry knows, what it refers to in the guest's filesystem view.
//
// Invariants:
//   - The kernel table is ground truth. An entry is a claim the sentry made
//     when it installed the fd; callers that act on an entry must confirm it
//     against the kernel (kcmp KCMP_FILE on the entry's Ref) and drop it when
//     the claim no longer holds (closed, replaced, or changed by exec).
//   - A File is shared by every fd and table that refers to it (dup, fork);
//     its sentry-side reference is closed when the last one goes.
//   - All methods are safe for concurrent use.
package fdtable

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// File is an open file the sentry handed to the guest.
type File struct {
	Guest string // guest path at open time ("" for pipes and sockets)
	IsDir bool
	// Ref is the sentry's own fd for the same open file (directories and
	// stand-ins only; -1 otherwise): the start of dirfd-relative lookups,
	// and what kcmp compares against.
	Ref int
	// Shadow >= 0 marks a stand-in: the guest's fd is a placeholder for
	// an object the kernel cannot install in another process (an O_PATH
	// fd of a symlink), and Shadow is the sentry's fd of the real one.
	Shadow int
	refs   atomic.Int32
}

// NewFile returns a File holding one reference.
func NewFile(guest string, isDir bool, ref int) *File {
	f := &File{Guest: guest, IsDir: isDir, Ref: ref, Shadow: -1}
	f.refs.Store(1)
	return f
}

// NewStandIn returns a File for a placeholder fd (the sentry's copy is
// ref) standing in for the object shadow names; it takes over both fds.
func NewStandIn(guest string, ref, shadow int) *File {
	f := NewFile(guest, false, ref)
	f.Shadow = shadow
	return f
}

// IncRef takes another reference.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference, closing Ref (and Shadow) with the last one.
func (f *File) DecRef() {
	if f.refs.Add(-1) != 0 {
		return
	}
	if f.Ref >= 0 {
		unix.Close(f.Ref)
	}
	if f.Shadow >= 0 {
		unix.Close(f.Shadow)
	}
}

// Entry is one fd.
type Entry struct {
	File    *File
	CloExec bool
}

// Table is one fd table (shared by threads created with CLONE_FILES).
type Table struct {
	mu       sync.Mutex
	fds      map[int]Entry
	standIns int // entries whose File is a stand-in
	// shared counts the holders beyond the first (processes made with
	// CLONE_FILES, fork snapshots); Release drops one.
	shared atomic.Int32
}

// Share takes another holder's reference to t (CLONE_FILES).
func (t *Table) Share() *Table {
	t.shared.Add(1)
	return t
}

// count adjusts standIns for an entry of f coming (+1) or going (-1);
// called with mu held.
func (t *Table) count(f *File, d int) {
	if f.Shadow >= 0 {
		t.standIns += d
	}
}

// New returns an empty table.
func New() *Table { return &Table{fds: map[int]Entry{}} }

// Install books fd -> f, taking over the caller's reference and dropping
// whatever the table had at fd.
func (t *Table) Install(fd int, f *File, cloexec bool) {
	t.mu.Lock()
	old, had := t.fds[fd]
	if had {
		t.count(old.File, -1)
	}
	t.fds[fd] = Entry{File: f, CloExec: cloexec}
	t.count(f, 1)
	t.mu.Unlock()
	if had {
		old.File.DecRef()
	}
}

// Get returns the entry for fd with a reference the caller must drop.
func (t *Table) Get(fd int) (*File, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.fds[fd]
	if !ok {
		return nil, false
	}
	e.File.IncRef()
	return e.File, true
}

// Remove forgets fd.
func (t *Table) Remove(fd int) {
	t.mu.Lock()
	old, had := t.fds[fd]
	if had {
		t.count(old.File, -1)
	}
	delete(t.fds, fd)
	t.mu.Unlock()
	if had {
		old.File.DecRef()
	}
}

// RemoveRange forgets fds lo..hi inclusive (close_range).
func (t *Table) RemoveRange(lo, hi uint) {
	t.mu.Lock()
	var gone []*File
	for fd, e := range t.fds {
		if uint(fd) >= lo && uint(fd) <= hi {
			gone = append(gone, e.File)
			t.count(e.File, -1)
			delete(t.fds, fd)
		}
	}
	t.mu.Unlock()
	for _, f := range gone {
		f.DecRef()
	}
}

// SetCloExec updates the close-on-exec flag of fd, if booked.
func (t *Table) SetCloExec(fd int, on bool) {
	t.mu.Lock()
	if e, ok := t.fds[fd]; ok {
		e.CloExec = on
		t.fds[fd] = e
	}
	t.mu.Unlock()
}

// SetCloExecRange sets close-on-exec on fds lo..hi (close_range CLOEXEC).
func (t *Table) SetCloExecRange(lo, hi uint) {
	t.mu.Lock()
	for fd, e := range t.fds {
		if uint(fd) >= lo && uint(fd) <= hi {
			e.CloExec = true
			t.fds[fd] = e
		}
	}
	t.mu.Unlock()
}

// Fork returns a copy, as fork(2) copies the fd table.
func (t *Table) Fork() *Table {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &Table{fds: make(map[int]Entry, len(t.fds)), standIns: t.standIns}
	for fd, e := range t.fds {
		e.File.IncRef()
		n.fds[fd] = e
	}
	return n
}

// Exec drops the close-on-exec entries, as a successful execve does.
func (t *Table) Exec() {
	t.mu.Lock()
	var gone []*File
	for fd, e := range t.fds {
		if e.CloExec {
			gone = append(gone, e.File)
			t.count(e.File, -1)
			delete(t.fds, fd)
		}
	}
	t.mu.Unlock()
	for _, f := range gone {
		f.DecRef()
	}
}

// FindStandIn returns, with a reference the caller must drop, a stand-in
// of the table whose placeholder is(ref) recognises (the guest's fd was
// copied where the sentry did not see it: F_DUPFD with a minimum,
// SCM_RIGHTS).
func (t *Table) FindStandIn(is func(ref int) bool) (*File, bool) {
	t.mu.Lock()
	if t.standIns == 0 {
		t.mu.Unlock()
		return nil, false
	}
	var cands []*File
	for _, e := range t.fds {
		if e.File.Shadow >= 0 {
			e.File.IncRef()
			cands = append(cands, e.File)
		}
	}
	t.mu.Unlock()
	var found *File
	for _, f := range cands {
		if found == nil && is(f.Ref) {
			found = f
			continue
		}
		f.DecRef()
	}
	return found, found != nil
}

// Release drops a holder's reference; with the last one, every entry goes.
func (t *Table) Release() {
	if t.shared.Add(-1) >= 0 {
		return // another process still uses it (CLONE_FILES)
	}
	t.RemoveRange(0, ^uint(0))
}

// Len returns the number of booked fds.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.fds)
}
