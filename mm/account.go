package mm

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The calls below read the kernel's current state every time (no cache):
// they serve the memory limits, which must count what is mapped now.

// procmapQueryCoveringOrNext asks PROCMAP_QUERY for the mapping covering an
// address or, failing that, the next one above it.
const procmapQueryCoveringOrNext = 0x10

// Size returns the process's address-space size in bytes (VmSize: what
// RLIMIT_AS counts), from /proc/<pid>/statm.
func Size(pid int) (uint64, bool) {
	var buf [128]byte
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/statm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	f := buf[:n]
	if i := bytes.IndexByte(f, ' '); i > 0 {
		f = f[:i]
	}
	pages, err := strconv.ParseUint(string(f), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * pageSize, true
}

// HeapEnd returns the end of the brk heap as mapped now: the page-aligned
// current break (the start of the heap when nothing is mapped there yet).
func (as *AddressSpace) HeapEnd() (uint64, bool) {
	as.v.mu.Lock()
	defer as.v.mu.Unlock()
	if as.v.startBrk == 0 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(as.pid) + "/stat")
		if err != nil {
			return 0, false
		}
		// Fields after the command name, which may hold spaces:
		// start_brk is field 47 of the line, the 45th after ") ".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return 0, false
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 45 {
			return 0, false
		}
		if as.v.startBrk, err = strconv.ParseUint(string(fields[44]), 10, 64); err != nil {
			return 0, false
		}
	}
	start := as.v.startBrk
	v, ok := as.next(start)
	if !ok || v.Start > start || start >= v.End {
		return start, true
	}
	// mprotect or mlock of part of the heap splits it in several
	// mappings: its end is that of the last one touching the others.
	end := v.End
	for i := 0; i < 64; i++ {
		w, ok := as.next(end)
		if !ok || w.Start != end {
			break
		}
		end = w.End
	}
	return end, true
}

// MappedIn returns how many bytes of [lo, hi) are mapped now.
func (as *AddressSpace) MappedIn(lo, hi uint64) uint64 {
	as.v.mu.Lock()
	defer as.v.mu.Unlock()
	var n uint64
	for a := lo; a < hi; {
		v, ok := as.next(a)
		if !ok || v.Start >= hi {
			break
		}
		n += min(v.End, hi) - max(v.Start, a)
		a = v.End
	}
	return n
}

// next returns the mapping covering addr or the first one above it, asking
// the kernel (called with as.v.mu held, or on a private AddressSpace).
func (as *AddressSpace) next(addr uint64) (VMA, bool) {
	v := &as.v
	if !v.hasMaps && !v.none {
		fd, err := unix.Open("/proc/"+strconv.Itoa(as.pid)+"/maps", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return VMA{}, false
		}
		v.maps, v.hasMaps = fd, true
	}
	if !v.none {
		q := procmapQuery{Size: uint64(unsafe.Sizeof(procmapQuery{})), QueryAddr: addr, QueryFlags: procmapQueryCoveringOrNext}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(v.maps), ioctlProcmapQuery, uintptr(unsafe.Pointer(&q)))
		switch e {
		case 0:
			return VMA{Start: q.VMAStart, End: q.VMAEnd, Flags: q.VMAFlags & 7}, true
		case unix.ENOENT:
			return VMA{}, false
		case unix.ENOTTY, unix.EINVAL:
			v.none = true
		default:
			return VMA{}, false
		}
	}
	return parseMapsNext(as.pid, addr)
}

// parseMapsNext is next for kernels without PROCMAP_QUERY.
func parseMapsNext(pid int, addr uint64) (VMA, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return VMA{}, false
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		r, rest, _ := bytes.Cut(line, []byte{' '})
		s, e, ok := bytes.Cut(r, []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(s), 16, 64)
		end, err2 := strconv.ParseUint(string(e), 16, 64)
		if err1 != nil || err2 != nil || end <= addr {
			continue
		}
		var f uint64
		if len(rest) >= 3 {
			for i, bit := range []uint64{VMARead, VMAWrite, VMAExec} {
				if rest[i] != '-' {
					f |= bit
				}
			}
		}
		return VMA{Start: start, End: end, Flags: f}, true
	}
	return VMA{}, false
}

// ImageLoad reads the ELF executable at fd as execve would: the address
// space its loadable segments take (bss included) and the program
// interpreter it names. Only the ELF header and the program headers are
// read (at most 64 KiB of them, as the kernel allows), so a hostile file
// costs nothing however it is made. ok is false for anything else.
func ImageLoad(fd int) (size uint64, interp string, ok bool) {
	var eh [64]byte
	if n, _ := unix.Pread(fd, eh[:], 0); n != len(eh) {
		return 0, "", false
	}
	le := binary.LittleEndian
	if string(eh[:4]) != "\x7fELF" || eh[4] != 2 || eh[5] != 1 { // 64-bit, little-endian
		return 0, "", false
	}
	if t := le.Uint16(eh[16:]); t != 2 && t != 3 { // ET_EXEC, ET_DYN
		return 0, "", false
	}
	phoff, phentsize, phnum := le.Uint64(eh[32:]), int(le.Uint16(eh[54:])), int(le.Uint16(eh[56:]))
	if phentsize != 56 || phnum == 0 || phnum*phentsize > 64<<10 || phoff > 1<<62 {
		return 0, "", false
	}
	ph := make([]byte, phnum*phentsize)
	if n, _ := unix.Pread(fd, ph, int64(phoff)); n != len(ph) {
		return 0, "", false
	}
	for i := 0; i < phnum; i++ {
		p := ph[i*phentsize:]
		off, vaddr, filesz, memsz := le.Uint64(p[8:]), le.Uint64(p[16:]), le.Uint64(p[32:]), le.Uint64(p[40:])
		switch le.Uint32(p) {
		case 1: // PT_LOAD
			if memsz > 1<<47 || vaddr > 1<<47 {
				return 1 << 62, "", true // more than any address space: refused
			}
			size += (vaddr+memsz+pageSize-1)&^(pageSize-1) - vaddr&^(pageSize-1)
		case 3: // PT_INTERP: a path, up to its first NUL
			if filesz == 0 || filesz > 4096 || off > 1<<62 {
				return 0, "", false
			}
			b := make([]byte, filesz)
			if n, _ := unix.Pread(fd, b, int64(off)); n != len(b) {
				return 0, "", false
			}
			if i := bytes.IndexByte(b, 0); i >= 0 {
				b = b[:i]
			}
			interp = string(b)
		}
	}
	return size, interp, true
}
