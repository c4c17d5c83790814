package mm

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pages maps n pages and returns their address; prot applies per page.
func pages(t *testing.T, prots ...int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, len(prots)*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

func protect(t *testing.T, b []byte, prot int) {
	if err := unix.Mprotect(b, prot); err != nil {
		t.Fatal(err)
	}
}

func addr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

// The tests use the process's own address space: process_vm_readv on
// ourselves obeys the same page protections as on a guest.
func TestCopyInString(t *testing.T) {
	as := New(os.Getpid())
	b := pages(t, 0, 0)
	copy(b[pageSize-3:], "ab\x00")
	if s, e := as.CopyInString(addr(b[pageSize-3:]), PathMax); e != 0 || s != "ab" {
		t.Errorf("short string = %q, %v", s, e)
	}
	// A string running into a PROT_NONE page faults.
	copy(b[pageSize-3:], "abc")
	protect(t, b[pageSize:], unix.PROT_NONE)
	if _, e := as.CopyInString(addr(b[pageSize-3:]), PathMax); e != unix.EFAULT {
		t.Errorf("string into PROT_NONE: %v, want EFAULT", e)
	}
	// NUL before the hole: fine.
	b[pageSize-1] = 0
	if s, e := as.CopyInString(addr(b[pageSize-3:]), PathMax); e != 0 || s != "ab" {
		t.Errorf("string ending at the hole = %q, %v", s, e)
	}
	for _, a := range []uint64{0, 0xffffffff81000000, 8} {
		if _, e := as.CopyInString(a, PathMax); e != unix.EFAULT {
			t.Errorf("CopyInString(%#x): %v, want EFAULT", a, e)
		}
	}
}

func TestCopyInStringTooLong(t *testing.T) {
	as := New(os.Getpid())
	b := pages(t, 0, 0, 0)
	copy(b, strings.Repeat("a", 5000)+"\x00")
	if _, e := as.CopyInString(addr(b), PathMax); e != unix.ENAMETOOLONG {
		t.Errorf("5000-byte path: %v, want ENAMETOOLONG", e)
	}
	copy(b, strings.Repeat("a", PathMax-1)+"\x00")
	if s, e := as.CopyInString(addr(b), PathMax); e != 0 || len(s) != PathMax-1 {
		t.Errorf("PATH_MAX-1 path: len %d, %v", len(s), e)
	}
}

func TestCopyOutProtection(t *testing.T) {
	as := New(os.Getpid())
	b := pages(t, 0, 0)
	protect(t, b[pageSize:], unix.PROT_READ)
	if e := as.CopyOut(addr(b[pageSize-4:]), []byte("12345678")); e != unix.EFAULT {
		t.Errorf("CopyOut straddling into read-only page: %v, want EFAULT", e)
	}
	if e := as.CopyOut(addr(b), []byte("ok")); e != 0 || string(b[:2]) != "ok" {
		t.Errorf("CopyOut: %v %q", e, b[:2])
	}
	n, e := as.CopyOutPartial(addr(b[pageSize-4:]), []byte("12345678"))
	if e != 0 || n != 4 {
		t.Errorf("CopyOutPartial = %d, %v; want 4", n, e)
	}
}

// TestVMAView: the kernel answers PROCMAP_QUERY here (6.11+), holes and
// protections come out right, and the maps fallback agrees with it.
func TestVMAView(t *testing.T) {
	as := New(os.Getpid())
	b := pages(t, 0, 0, 0)
	protect(t, b[pageSize:2*pageSize], unix.PROT_NONE)
	protect(t, b[2*pageSize:], unix.PROT_READ)
	for _, c := range []struct {
		addr uint64
		want uint64
		ok   bool
	}{
		{addr(b), VMARead | VMAWrite, true},
		{addr(b[pageSize:]), 0, true},
		{addr(b[2*pageSize:]), VMARead, true},
		{0, 0, false},
		{0xffffffff81000000, 0, false},
	} {
		v, ok := as.Lookup(c.addr)
		if ok != c.ok || (ok && v.Flags != c.want) {
			t.Errorf("Lookup(%#x) = %+v, %v; want flags %d, %v", c.addr, v, ok, c.want, c.ok)
		}
		if ok {
			f, _ := parseMapsNext(os.Getpid(), c.addr)
			if f.Flags != v.Flags || f.Start != v.Start {
				t.Errorf("maps fallback disagrees at %#x: %d vs %d", c.addr, f.Flags, v.Flags)
			}
		}
	}
	if as.v.none {
		t.Errorf("PROCMAP_QUERY unavailable: the maps fallback is in use")
	}
	if e := as.CopyOut(addr(b[2*pageSize:]), []byte("x")); e != unix.EFAULT {
		t.Errorf("CopyOut into a read-only page: %v, want EFAULT", e)
	}
}

func BenchmarkCopyIn64(b *testing.B) {
	as := New(os.Getpid())
	buf := make([]byte, 64)
	src := make([]byte, 4096)
	a := addr(src)
	for i := 0; i < b.N; i++ {
		if e := as.CopyIn(a, buf); e != 0 {
			b.Fatal(e)
		}
	}
}

func BenchmarkCopyIn64Unchecked(b *testing.B) {
	as := New(os.Getpid())
	buf := make([]byte, 64)
	src := make([]byte, 4096)
	a := addr(src)
	for i := 0; i < b.N; i++ {
		if _, e := as.rw(a, buf, false); e != 0 {
			b.Fatal(e)
		}
	}
}

func BenchmarkVMAQuery(b *testing.B) {
	as := New(os.Getpid())
	src := make([]byte, 4096)
	a := addr(src)
	as.Lookup(a) // opens /proc/<pid>/maps once, as a guest's view does
	for i := 0; i < b.N; i++ {
		as.v.cache = [8]VMA{} // every lookup asks the kernel
		if _, ok := as.Lookup(a); !ok {
			b.Fatal("no vma")
		}
	}
}

func TestAccounting(t *testing.T) {
	const n = 8 * pageSize
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	lo := addr(b)
	// A hole in the middle: 6 pages of 8 mapped.
	if _, _, e := unix.Syscall(unix.SYS_MUNMAP, uintptr(lo+2*pageSize), 2*pageSize, 0); e != 0 {
		t.Fatal(e)
	}
	as := New(os.Getpid())
	defer as.Reset()
	for _, c := range []struct{ lo, hi, want uint64 }{
		{lo, lo + n, 6 * pageSize},
		{lo + 2*pageSize, lo + 4*pageSize, 0},
		{lo + pageSize, lo + 5*pageSize, 2 * pageSize},
		{lo - pageSize, lo + pageSize, pageSize + as.MappedIn(lo-pageSize, lo)},
	} {
		if got := as.MappedIn(c.lo, c.hi); got != c.want {
			t.Errorf("MappedIn(%#x, %#x) = %d, want %d", c.lo, c.hi, got, c.want)
		}
	}
	before, ok := Size(os.Getpid())
	if !ok {
		t.Fatal("Size failed")
	}
	c, err := unix.Mmap(-1, 0, 256*pageSize, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Size(os.Getpid())
	unix.Munmap(c)
	// Other goroutines may map too; the new mapping must show in full.
	if after < before+256*pageSize {
		t.Errorf("Size grew by %d after mapping %d", after-before, 256*pageSize)
	}
	if end, ok := as.HeapEnd(); !ok || end == 0 {
		t.Errorf("HeapEnd = %#x, %v", end, ok)
	}
}

func TestImageLoad(t *testing.T) {
	fd, err := unix.Open("/bin/true", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skip("no /bin/true")
	}
	defer unix.Close(fd)
	n, interp, ok := ImageLoad(fd)
	if !ok || n < 16<<10 || n > 64<<20 || !strings.HasPrefix(interp, "/") {
		t.Errorf("ImageLoad(/bin/true) = %d, %q, %v", n, interp, ok)
	}
	txt, _ := unix.Open("/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	defer unix.Close(txt)
	if _, _, ok := ImageLoad(txt); ok {
		t.Errorf("ImageLoad(text file) ok")
	}
}
