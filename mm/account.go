package mm

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
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

// ImageSize estimates the address space an execve of the ELF file open at
// fd maps: its loadable segments and, when it names one, its program
// interpreter's (opened by root-relative path through root, an O_PATH
// directory). 0 when the file is not an ELF executable it can read.
func ImageSize(fd, root int) uint64 {
	f, err := elfOf(fd)
	if err != nil {
		return 0
	}
	n := loadSize(f)
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, min(p.Filesz, 4096))
		if _, err := p.ReadAt(b, 0); err != nil {
			break
		}
		path := strings.TrimRight(string(b), "\x00")
		how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT}
		ifd, err := unix.Openat2(root, path, &how)
		if err != nil {
			break
		}
		if g, err := elfOf(ifd); err == nil {
			n += loadSize(g)
		}
		unix.Close(ifd)
	}
	return n
}

// elfOf parses the ELF headers of fd (a hostile file may be malformed:
// any panic of the parser is an error).
func elfOf(fd int) (f *elf.File, err error) {
	defer func() {
		if recover() != nil {
			f, err = nil, errors.New("malformed ELF")
		}
	}()
	return elf.NewFile(io.NewSectionReader(fdReaderAt(fd), 0, 1<<62))
}

type fdReaderAt int

func (fd fdReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := unix.Pread(int(fd), b, off)
	if n == 0 && err == nil && len(b) > 0 {
		return 0, io.EOF
	}
	return n, err
}

func loadSize(f *elf.File) uint64 {
	var n uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo := p.Vaddr &^ (pageSize - 1)
			n += (p.Vaddr+p.Memsz+pageSize-1)&^(pageSize-1) - lo
		}
	}
	return n
}
