// Package mm copies memory in and out of a guest address space.
//
// Every guest pointer is an untrusted address in another process. Copies go
// through process_vm_readv/process_vm_writev only, which honour page
// protection (never /proc/<pid>/mem, which writes read-only pages). A copy
// that cannot be completed in full fails with EFAULT, as copy_from_user does;
// strings are read page by page so that a fault past the NUL does not count.
package mm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// PathMax is Linux's PATH_MAX, counting the terminating NUL.
const PathMax = 4096

const pageSize = 4096

// AddressSpace is a guest's memory, named by any of its thread ids.
type AddressSpace struct {
	pid int
	v   vmas
}

// New returns the address space of task pid.
func New(pid int) *AddressSpace { return &AddressSpace{pid: pid} }

// Pid returns the task the address space is reached through.
func (as *AddressSpace) Pid() int { return as.pid }

func (as *AddressSpace) rw(addr uint64, buf []byte, write bool) (int, unix.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	if addr == 0 || addr+uint64(len(buf)) < addr {
		return 0, unix.EFAULT
	}
	local := unix.Iovec{Base: &buf[0]}
	local.SetLen(len(buf))
	remote := unix.RemoteIovec{Base: uintptr(addr), Len: len(buf)}
	var n int
	var err error
	if write {
		n, err = unix.ProcessVMWritev(as.pid, []unix.Iovec{local}, []unix.RemoteIovec{remote}, 0)
	} else {
		n, err = unix.ProcessVMReadv(as.pid, []unix.Iovec{local}, []unix.RemoteIovec{remote}, 0)
	}
	if err != nil {
		if e, ok := err.(unix.Errno); ok && e == unix.ESRCH {
			return 0, unix.ESRCH
		}
		return 0, unix.EFAULT
	}
	return n, 0
}

// CopyIn fills buf from guest address addr, or fails with EFAULT. The
// range is checked against the guest's mappings first, then read.
func (as *AddressSpace) CopyIn(addr uint64, buf []byte) unix.Errno {
	if len(buf) == 0 {
		return 0
	}
	if _, ok := as.check(addr, len(buf), VMARead); !ok {
		return unix.EFAULT
	}
	n, e := as.rw(addr, buf, false)
	if e != 0 {
		return e
	}
	if n != len(buf) {
		return unix.EFAULT
	}
	return 0
}

// CopyOut writes buf to guest address addr, or fails with EFAULT. The
// range must be mapped writable.
func (as *AddressSpace) CopyOut(addr uint64, buf []byte) unix.Errno {
	if len(buf) == 0 {
		return 0
	}
	if _, ok := as.check(addr, len(buf), VMAWrite); !ok {
		return unix.EFAULT
	}
	n, e := as.rw(addr, buf, true)
	if e != 0 {
		return e
	}
	if n != len(buf) {
		return unix.EFAULT
	}
	return 0
}

// CopyOutPartial writes as much of buf as the guest's pages allow, page by
// page, and returns how many bytes landed (for calls whose Linux result is a
// partial count).
func (as *AddressSpace) CopyOutPartial(addr uint64, buf []byte) (int, unix.Errno) {
	done := 0
	for done < len(buf) {
		chunk := pageSize - int((addr+uint64(done))%pageSize)
		if chunk > len(buf)-done {
			chunk = len(buf) - done
		}
		if e := as.CopyOut(addr+uint64(done), buf[done:done+chunk]); e != 0 {
			if done == 0 {
				return 0, e
			}
			return done, 0
		}
		done += chunk
	}
	return done, 0
}

// CopyInString reads a NUL-terminated string of at most max bytes including
// the NUL. Too long gives ENAMETOOLONG; a fault before the NUL gives EFAULT.
func (as *AddressSpace) CopyInString(addr uint64, max int) (string, unix.Errno) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	buf := make([]byte, 0, 256)
	var chunk [pageSize]byte
	first := true
	for len(buf) < max {
		cur := addr + uint64(len(buf))
		n := pageSize - int(cur%pageSize)
		// Most strings are short: read a small first piece.
		if first && n > 256 {
			n = 256
		}
		first = false
		if n > max-len(buf) {
			n = max - len(buf)
		}
		if _, ok := as.check(cur, 1, VMARead); !ok {
			return "", unix.EFAULT
		}
		got, e := as.rw(cur, chunk[:n], false)
		if e != 0 {
			return "", e
		}
		if got == 0 {
			return "", unix.EFAULT
		}
		for i := 0; i < got; i++ {
			if chunk[i] == 0 {
				return string(append(buf, chunk[:i]...)), 0
			}
		}
		buf = append(buf, chunk[:got]...)
		if got < n {
			return "", unix.EFAULT
		}
	}
	return "", unix.ENAMETOOLONG
}

// CopyInUint64 reads one 64-bit little-endian value.
func (as *AddressSpace) CopyInUint64(addr uint64) (uint64, unix.Errno) {
	var v uint64
	e := as.CopyIn(addr, unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8))
	return v, e
}

// CopyInStruct reads a fixed-size value.
func CopyInStruct[T any](as *AddressSpace, addr uint64, v *T) unix.Errno {
	return as.CopyIn(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

// CopyOutStruct writes a fixed-size value.
func CopyOutStruct[T any](as *AddressSpace, addr uint64, v *T) unix.Errno {
	return as.CopyOut(addr, unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}
