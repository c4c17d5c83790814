package sentry

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How serving threads wait for the next notification.
//
// A thread blocked in NOTIF_RECV is, to the Go runtime, a goroutine in a
// long system call: sysmon takes its P away, and the return pays for waking
// sysmon and getting a P back (a dozen futex calls and cross-CPU wake-ups).
// On the development VM that made a routed call cost 40-60 us after 1 ms of
// idle, against 10 us for a C supervisor doing the same RECV/SEND.
//
// So one thread at a time, the hot waiter, waits for the listener to become
// readable with ppoll made by RawSyscall: the runtime does not see the call,
// the thread keeps its P, and the wake-up costs what it costs a C program.
// (ppoll, unlike epoll, keeps the kernel's wake-up on the notifying task's
// CPU, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.) Then it RECVs, which returns at
// once. A P held that way would stall a stop-the-world (GC) until the call
// returns, so the raw wait is bounded (hotSlice) and sysmon's preemption
// signal ends it early with EINTR; either way runtime.Gosched follows, so
// the world stops within hotSlice at worst. After hotIdle without a call
// the hot waiter waits the ordinary way, so an idle sandbox holds no P and
// costs nothing.
//
// The hot waiter holds a P while it waits, so the program should have one
// more P than it would otherwise use (cmd/sandbox adds it); with a single P
// the hot waiter waits the ordinary way.
//
// The other threads, spares, wait in one shared epoll instance that
// reports the listener only while it is armed: whenever no thread waits in
// the hot wait (the hot waiter disarms it just before its ppoll and arms it
// again once it has received, or before it yields). A notification must be
// received as soon as some thread is free: until it is, a signal makes the
// guest's call fail with EINTR (or restart under SA_RESTART), even a call
// that never fails so natively (dup2). Leaving the guest's next call for
// the thread that has just replied (its reply woke the guest on its CPU)
// made tight loops faster but lengthened that window.
const (
	hotSlice = 10 * time.Millisecond
	hotIdle  = 100 * time.Millisecond
	// spareLinger is how long a spare waits for work before it may retire.
	// Threads retire only from waiting, never right after a call: the one
	// that answered is the one likely to be hot.
	spareLinger = 2 * time.Second
)

// waiters is the set-up shared by serving threads.
type waiters struct {
	listenerFD int
	stopFD     int // eventfd, written once by stop
	spareEP    int // the spares' epoll instance
	hotBusy    atomic.Bool
	receiving  atomic.Bool   // a thread is between readiness and RECV
	recvs      atomic.Uint64 // RECVs done
	last       atomic.Int64  // unix nanoseconds of the latest notification
	armMu      sync.Mutex
	armed      bool // spareEP reports the listener
	// raw: the hot waiter may hold its P. Not with one P: every other
	// goroutine (a handler returning from a blocking call, signal
	// forwarding) would wait for the hot slice to end.
	raw bool
}

func (w *waiters) init(listenerFD int) error {
	w.listenerFD = listenerFD
	w.stopFD, w.spareEP = -1, -1
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return err
	}
	w.stopFD = fd
	if w.spareEP, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err == nil {
		err = unix.EpollCtl(w.spareEP, unix.EPOLL_CTL_ADD, w.listenerFD, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.listenerFD)})
	}
	if err == nil {
		err = unix.EpollCtl(w.spareEP, unix.EPOLL_CTL_ADD, w.stopFD, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.stopFD)})
	}
	if err != nil {
		w.release()
		return err
	}
	w.armed = true
	w.raw = runtime.GOMAXPROCS(0) > 1
	w.last.Store(time.Now().UnixNano())
	return nil
}

// setArmed arms or disarms the spares.
func (w *waiters) setArmed(on bool) {
	w.armMu.Lock()
	defer w.armMu.Unlock()
	if w.armed == on {
		return
	}
	ev := unix.EpollEvent{Fd: int32(w.listenerFD)} // HUP and ERR are always reported
	if on {
		ev.Events = unix.EPOLLIN
	}
	if unix.EpollCtl(w.spareEP, unix.EPOLL_CTL_MOD, w.listenerFD, &ev) == nil {
		w.armed = on
	}
}

// stop wakes every waiter for good.
func (w *waiters) stop() {
	if w.stopFD >= 0 {
		one := [8]byte{1}
		unix.Write(w.stopFD, one[:])
	}
}

// release closes the shared fds once no thread uses them (or after a
// failed init); a second call does nothing.
func (w *waiters) release() {
	if w.spareEP >= 0 {
		unix.Close(w.spareEP)
		w.spareEP = -1
	}
	if w.stopFD >= 0 {
		unix.Close(w.stopFD)
		w.stopFD = -1
	}
}

// waitResult is why wait returned.
type waitResult int

const (
	waitReady   waitResult = iota // a notification is pending: RECV now, then doneReceiving
	waitStopped                   // stop was called
	waitHangup                    // the listener polls HUP: no task uses the filter
	waitRetire                    // a spare idle for spareLinger, with enough others
)

// waiter is one serving thread's part.
type waiter struct {
	w *waiters
	// retire tells whether this idle thread may exit, given how many
	// threads may stay waiting (then it is no longer counted).
	retire func(keep int32) bool
}

// maxIdle: a spare woken for a call another thread took retires when more
// than this many threads wait. Spares share one level-triggered epoll
// instance, so while the listener is armed each notification wakes them
// one after the other; without this, a burst of blocking calls would leave
// up to maxServers threads behind, all woken for every call.
const maxIdle = 4

// wait blocks until a notification is pending and this thread may RECV.
func (t *waiter) wait() waitResult {
	w := t.w
	for {
		if w.hotBusy.CompareAndSwap(false, true) {
			w.setArmed(false)
			r, done := w.waitHot()
			w.hotBusy.Store(false)
			if done {
				return r
			}
			continue
		}
		var evs [1]unix.EpollEvent
		n, err := unix.EpollWait(w.spareEP, evs[:], int(spareLinger/time.Millisecond))
		if err != nil {
			continue // EINTR
		}
		if n == 0 {
			if t.retire(minServers) {
				return waitRetire
			}
			continue
		}
		if r, done := w.event(evs[0].Fd, evs[0].Events); done {
			return r
		}
		if !w.receiving.CompareAndSwap(false, true) {
			if t.retire(maxIdle) {
				return waitRetire
			}
			runtime.Gosched() // another thread is taking it
			continue
		}
		if !w.pending() {
			w.receiving.Store(false)
			if t.retire(maxIdle) {
				return waitRetire
			}
			continue
		}
		return waitReady
	}
}

// waitHot is the hot waiter's wait; done is false when the caller should
// wait again.
func (w *waiters) waitHot() (r waitResult, done bool) {
	seen := w.recvs.Load()
	fds := [2]unix.PollFd{{Fd: int32(w.listenerFD), Events: unix.POLLIN}, {Fd: int32(w.stopFD), Events: unix.POLLIN}}
	var n uintptr
	var e unix.Errno
	if w.raw && time.Now().UnixNano()-w.last.Load() < int64(hotIdle) {
		ts := unix.NsecToTimespec(int64(hotSlice))
		n, _, e = unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 2, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	} else {
		n, _, e = unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 2, 0, 0, 0, 0)
	}
	if e != 0 || n == 0 {
		// Timed out or interrupted: give a stop-the-world its chance.
		// Gosched on a locked thread can take a while; the spares cover
		// for it.
		w.setArmed(true)
		runtime.Gosched()
		return 0, false
	}
	if fds[1].Revents != 0 {
		return w.event(int32(w.stopFD), uint32(fds[1].Revents))
	}
	if r, done := w.event(int32(w.listenerFD), uint32(fds[0].Revents)); done {
		return r, true
	}
	if fds[0].Revents&unix.POLLIN == 0 {
		return 0, false // ERR: an interrupted poll
	}
	if !w.receiving.CompareAndSwap(false, true) {
		runtime.Gosched()
		return 0, false
	}
	// A spare may have taken the call between the wake-up and now; then
	// RECV would block, so look again.
	if w.recvs.Load() != seen && !w.pending() {
		w.receiving.Store(false)
		return 0, false
	}
	return waitReady, true
}

// event interprets a readiness event on fd: done when it says stop or
// hang-up. Otherwise the caller goes on as if the listener were readable
// (a spurious wake-up costs a failed pending check or an immediate RECV).
func (w *waiters) event(fd int32, events uint32) (r waitResult, done bool) {
	if fd == int32(w.stopFD) {
		return waitStopped, true
	}
	// Only HUP: the listener's poll answers ERR when a signal interrupts
	// it while it takes its lock (Go's preemption SIGURG can), and then
	// it is worth asking again.
	if events&unix.EPOLLHUP != 0 {
		return waitHangup, true
	}
	return 0, false
}

// pending reports whether a notification waits to be received.
func (w *waiters) pending() bool {
	fds := []unix.PollFd{{Fd: int32(w.listenerFD), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 1 && fds[0].Revents&unix.POLLIN != 0
}

// doneReceiving ends the RECV that waitReady allowed, and arms the spares
// for the handler that follows (it may block).
func (w *waiters) doneReceiving() {
	w.last.Store(time.Now().UnixNano())
	w.recvs.Add(1)
	w.receiving.Store(false)
	w.setArmed(true)
}
