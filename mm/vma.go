package mm

import (
	"sync"

	"golang.org/x/sys/unix"
)

// procmapQuery is struct procmap_query (Linux 6.11+, PROCMAP_QUERY ioctl on
// /proc/<pid>/maps).
type procmapQuery struct {
	Size        uint64
	QueryFlags  uint64
	QueryAddr   uint64
	VMAStart    uint64
	VMAEnd      uint64
	VMAFlags    uint64
	VMAPageSize uint64
	VMAOffset   uint64
	Inode       uint64
	DevMajor    uint32
	DevMinor    uint32
	VMANameSize uint32
	BuildIDSize uint32
	VMANameAddr uint64
	BuildIDAddr uint64
}

const (
	ioctlProcmapQuery = 0xc0686611 // _IOWR('f', 17, struct procmap_query)

	// VMA permissions as PROCMAP_QUERY reports them.
	VMARead  = 1
	VMAWrite = 2
	VMAExec  = 4
)

// VMA is one mapping of the guest.
type VMA struct {
	Start, End uint64
	Flags      uint64
}

// vmas is the address space's view of its mappings. Only positive answers
// are cached: the guest maps and unmaps anonymous memory natively, so an
// entry may be stale, but only in the safe direction - process_vm_readv and
// writev, which follow every check, refuse what is no longer mapped or
// allowed. A miss always asks the kernel.
type vmas struct {
	mu sync.Mutex
	// maps is /proc/<pid>/maps, the handle PROCMAP_QUERY works on (a raw
	// fd: opened once per address space, on the path of a first copy).
	maps    int
	hasMaps bool
	cache   [8]VMA
	next    int
	none    bool // PROCMAP_QUERY unavailable: fall back to parsing maps
	// startBrk is where the brk heap begins (fixed until execve).
	startBrk uint64
}

// Reset forgets the view (after execve the address space is a new one).
func (as *AddressSpace) Reset() {
	as.v.mu.Lock()
	defer as.v.mu.Unlock()
	as.v.closeMaps()
	as.v.cache = [8]VMA{}
	as.v.startBrk = 0
}

// Inherit takes parent's cached mappings for a forked child, whose address
// space starts as a copy of parent's: the child's first copies (the path
// of its execve, typically) then need no query. Entries may be stale only
// in the safe direction, as any cached entry.
func (as *AddressSpace) Inherit(parent *AddressSpace) {
	parent.v.mu.Lock()
	cache, next := parent.v.cache, parent.v.next
	parent.v.mu.Unlock()
	as.v.mu.Lock()
	as.v.cache, as.v.next = cache, next
	as.v.mu.Unlock()
}

// Lookup returns the mapping covering addr, if any.
func (as *AddressSpace) Lookup(addr uint64) (VMA, bool) {
	v := &as.v
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.cache {
		if e.End > e.Start && addr >= e.Start && addr < e.End {
			return e, true
		}
	}
	e, ok := as.query(addr)
	if !ok && v.hasMaps {
		// The maps file answers for the address space that was current
		// when it was opened; after an execve that one is gone. Before
		// calling it a fault, ask the current one.
		v.closeMaps()
		v.cache = [8]VMA{}
		e, ok = as.query(addr)
	}
	if ok {
		v.cache[v.next] = e
		v.next = (v.next + 1) % len(v.cache)
	}
	return e, ok
}

func (v *vmas) closeMaps() {
	if v.hasMaps {
		unix.Close(v.maps)
		v.hasMaps = false
	}
}

func (as *AddressSpace) query(addr uint64) (VMA, bool) {
	v, ok := as.next(addr)
	if !ok || v.Start > addr {
		return VMA{}, false
	}
	return v, true
}

// check reports whether [addr, addr+n) lies in mappings that allow want
// (VMARead or VMAWrite); ok is false at the first hole or refusal, with
// good the number of bytes from addr that were fine.
func (as *AddressSpace) check(addr uint64, n int, want uint64) (good int, ok bool) {
	end := addr + uint64(n)
	for a := addr; a < end; {
		v, found := as.Lookup(a)
		if !found || v.Flags&want != want {
			return int(a - addr), false
		}
		a = v.End
	}
	return n, true
}
