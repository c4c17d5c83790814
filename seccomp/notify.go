package seccomp

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Listener is the user-notification fd returned by a filter loaded with
// NEW_LISTENER. Its methods are safe for concurrent use by many threads.
type Listener struct{ fd int }

// NewListener wraps an fd the caller owns.
func NewListener(fd int) *Listener { return &Listener{fd: fd} }

// FD returns the listener's file descriptor.
func (l *Listener) FD() int { return l.fd }

// Close closes the listener; every pending and future notification of the
// filter then fails in the guest with ENOSYS.
func (l *Listener) Close() error { return unix.Close(l.fd) }

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Recv blocks until a notification arrives and fills n. The buffer is zeroed
// first, as the kernel requires.
func (l *Listener) Recv(n *Notif) error {
	*n = Notif{}
	return ioctl(l.fd, ioctlNotifRecv, unsafe.Pointer(n))
}

// Reply answers notification id with a value or an errno (errno > 0 means
// the guest sees -errno).
func (l *Listener) Reply(id uint64, val int64, errno unix.Errno) error {
	r := NotifResp{ID: id}
	if errno != 0 {
		r.Error = -int32(errno)
	} else {
		r.Val = val
	}
	return ioctl(l.fd, ioctlNotifSend, unsafe.Pointer(&r))
}

// Continue lets the kernel run the trapped call itself. Only valid when the
// decision used register arguments alone (or for execve, see DESIGN §6).
func (l *Listener) Continue(id uint64) error {
	r := NotifResp{ID: id, Flags: RespFlagContinue}
	return ioctl(l.fd, ioctlNotifSend, unsafe.Pointer(&r))
}

// IDValid reports whether notification id is still pending: the task has
// not been killed or interrupted out of the call.
func (l *Listener) IDValid(id uint64) bool {
	v := id
	return ioctl(l.fd, ioctlNotifIDValid, unsafe.Pointer(&v)) == nil
}

// AddFD installs srcfd (one of ours) into the trapped task's fd table.
// With send, the caller must be on a locked OS thread.
// With send it also answers the notification with the new fd number.
// With setfd >= 0 the fd is installed at that number, replacing what was
// there, as dup2 does. cloexec sets O_CLOEXEC on the new fd.
func (l *Listener) AddFD(id uint64, srcfd int, setfd int, cloexec, send bool) (int, error) {
	a := NotifAddFD{ID: id, SrcFD: uint32(srcfd)}
	if setfd >= 0 {
		a.Flags |= AddFDFlagSetFD
		a.NewFD = uint32(setfd)
	}
	if send {
		a.Flags |= AddFDFlagSend
	}
	if cloexec {
		a.NewFDFlags = unix.O_CLOEXEC
	}
	if send {
		// Kernel race (seen on 6.18): with SEND, the notification is
		// marked replied when the ADDFD is queued; if our wait is then
		// interrupted by a signal (Go's preemption SIGURG) before the
		// target took the fd, the kernel drops the ADDFD but not the
		// "replied" state, and the target's call returns 0 with no fd
		// installed. With every signal blocked the wait can only end in
		// completion (the caller's OS thread is locked, so the mask is
		// ours to change).
		var all, old [1]uint64
		all[0] = ^uint64(0)
		unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		defer unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), ioctlNotifAddFD, uintptr(unsafe.Pointer(&a)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// SetSyncWakeUp asks the kernel to wake the receiving thread synchronously
// on the notifying task's CPU, which avoids a cross-CPU wake-up per call.
func (l *Listener) SetSyncWakeUp() error {
	// The kernel takes the flags by value in the ioctl argument.
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), ioctlNotifSetFlags, FDSyncWakeUp)
	if e != 0 {
		return e
	}
	return nil
}
