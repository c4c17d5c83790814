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
