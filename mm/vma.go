package mm

import (
	"os"
	"strconv"
	"sync"
	"unsafe"

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
	mu    sync.Mutex
	maps  *os.File // /proc/<pid>/maps, the handle PROCMAP_QUERY works on
	cache [8]VMA
	next  int
	none  bool // PROCMAP_QUERY unavailable: fall back to parsing maps
}

// Reset forgets the view (after execve the address space is a new one).
func (as *AddressSpace) Reset() {
	as.v.mu.Lock()
	defer as.v.mu.Unlock()
	if as.v.maps != nil {
		as.v.maps.Close()
		as.v.maps = nil
	}
	as.v.cache = [8]VMA{}
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
	if !ok && v.maps != nil {
		// The maps file answers for the address space that was current
		// when it was opened; after an execve that one is gone. Before
		// calling it a fault, ask the current one.
		v.maps.Close()
		v.maps = nil
		v.cache = [8]VMA{}
		e, ok = as.query(addr)
	}
	if ok {
		v.cache[v.next] = e
		v.next = (v.next + 1) % len(v.cache)
	}
	return e, ok
}

func (as *AddressSpace) query(addr uint64) (VMA, bool) {
	v := &as.v
	if v.maps == nil && !v.none {
		f, err := os.Open("/proc/" + strconv.Itoa(as.pid) + "/maps")
		if err != nil {
			return VMA{}, false
		}
		v.maps = f
	}
	if !v.none {
		q := procmapQuery{Size: uint64(unsafe.Sizeof(procmapQuery{})), QueryAddr: addr}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, v.maps.Fd(), ioctlProcmapQuery, uintptr(unsafe.Pointer(&q)))
		switch e {
		case 0:
			return VMA{Start: q.VMAStart, End: q.VMAEnd, Flags: q.VMAFlags & 7}, true
		case unix.ENOENT:
			return VMA{}, false
		case unix.ENOTTY, unix.EINVAL:
			v.none = true // older kernel
		default:
			return VMA{}, false
		}
	}
	return parseMaps(as.pid, addr)
}

// parseMaps is the fallback for kernels without PROCMAP_QUERY.
func parseMaps(pid int, addr uint64) (VMA, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return VMA{}, false
	}
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := string(b[:i])
		if i < len(b) {
			i++
		}
		b = b[i:]
		var start, end uint64
		var perms string
		j := 0
		for j < len(line) && line[j] != '-' {
			j++
		}
		start, _ = strconv.ParseUint(line[:j], 16, 64)
		k := j + 1
		for k < len(line) && line[k] != ' ' {
			k++
		}
		end, _ = strconv.ParseUint(line[j+1:k], 16, 64)
		if k+5 <= len(line) {
			perms = line[k+1 : k+5]
		}
		if addr >= start && addr < end {
			var f uint64
			if len(perms) == 4 {
				if perms[0] == 'r' {
					f |= VMARead
				}
				if perms[1] == 'w' {
					f |= VMAWrite
				}
				if perms[2] == 'x' {
					f |= VMAExec
				}
			}
			return VMA{Start: start, End: end, Flags: f}, true
		}
	}
	return VMA{}, false
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
