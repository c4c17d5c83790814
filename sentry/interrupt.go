package sentry

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A routed call that blocks in the sentry (a FIFO open waiting for its
// peer) must end the way Linux would when the guest gets a signal: with a
// handler, EINTR, or a transparent restart under SA_RESTART; a stop signal
// stops the task and restarts the call on SIGCONT. The guest waits killably
// (WAIT_KILLABLE_RECV), so only the sentry can notice: a watcher looks at
// calls blocked longer than watchTick, and when their task has an
// unblocked, non-ignored signal pending (or the notification died), it
// aborts the blocked operation and the handler replies ERESTARTSYS, which
// the kernel turns into exactly those outcomes as the signal is delivered.

// errRestart is ERESTARTSYS: never seen by the guest, only by the kernel's
// signal delivery (which converts it to EINTR or restarts the call).
const errRestart = unix.Errno(512)

const watchTick = 10 * time.Millisecond

type blocked struct {
	id          uint64
	tid         int
	since       time.Time
	abort       func()
	interrupted atomic.Bool
	aborted     atomic.Bool
}

type watcher struct {
	mu      sync.Mutex
	calls   map[*blocked]struct{}
	running bool
}

// block registers the call as possibly blocking until done is called;
// abort must make the blocked operation return.
func (c *Call) block(abort func()) (done func()) {
	s := c.s
	b := &blocked{id: c.notif.ID, tid: c.Task.Tid, since: time.Now(), abort: abort}
	c.blocked = b
	s.watch.mu.Lock()
	if s.watch.calls == nil {
		s.watch.calls = map[*blocked]struct{}{}
	}
	s.watch.calls[b] = struct{}{}
	if !s.watch.running {
		s.watch.running = true
		go s.watchBlocked()
	}
	s.watch.mu.Unlock()
	return func() {
		s.watch.mu.Lock()
		delete(s.watch.calls, b)
		s.watch.mu.Unlock()
	}
}

// interrupted tells whether the call was aborted for a signal: the handler
// then discards its result and returns errRestart.
func (c *Call) interrupted() bool { return c.blocked != nil && c.blocked.interrupted.Load() }

func (s *Sentry) watchBlocked() {
	for {
		time.Sleep(watchTick)
		s.watch.mu.Lock()
		if len(s.watch.calls) == 0 {
			s.watch.running = false
			s.watch.mu.Unlock()
			return
		}
		var due []*blocked
		for b := range s.watch.calls {
			if time.Since(b.since) >= watchTick && !b.aborted.Load() {
				due = append(due, b)
			}
		}
		s.watch.mu.Unlock()
		for _, b := range due {
			dead := !s.listener.IDValid(b.id)
			if !dead && !signalPending(b.tid) {
				continue
			}
			// Abort only a call still blocked: done() deregisters under the
			// same lock, so an abort cannot land on a later operation (a
			// later open of the same FIFO would be woken without a peer).
			s.watch.mu.Lock()
			if _, still := s.watch.calls[b]; still {
				b.interrupted.Store(!dead)
				b.aborted.Store(true)
				b.abort()
			}
			s.watch.mu.Unlock()
		}
	}
}

// signalPending reads the task's signal state: a signal that is pending,
// not blocked and not ignored would interrupt an interruptible sleep.
func signalPending(tid int) bool {
	b, err := readProc("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return false
	}
	var pnd, shd, blk, ign uint64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		x, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		switch k {
		case "SigPnd":
			pnd = x
		case "ShdPnd":
			shd = x
		case "SigBlk":
			blk = x
		case "SigIgn":
			ign = x
		}
	}
	return (pnd|shd)&^blk&^ign != 0
}
