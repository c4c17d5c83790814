package sentry

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A pipe's read end stands in for the listener: readable when a byte is
// there, HUP when the write end is closed.
func newTestWaiters(t *testing.T) (w *waiters, wr int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	w = &waiters{}
	if err := w.init(p[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.release()
		unix.Close(p[0])
		unix.Close(p[1])
	})
	return w, p[1]
}

func waitAsync(t *waiter) <-chan waitResult {
	c := make(chan waitResult, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c <- t.wait()
	}()
	return c
}

func TestWaitResults(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for _, tc := range []struct {
		name string
		act  func(w *waiters, wr int)
		want waitResult
	}{
		{"readable", func(w *waiters, wr int) { unix.Write(wr, []byte{1}) }, waitReady},
		{"stop", func(w *waiters, wr int) { w.stop() }, waitStopped},
		{"hangup", func(w *waiters, wr int) { unix.Close(wr) }, waitHangup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, wr := newTestWaiters(t)
			c := waitAsync(&waiter{w: w, retire: func(int32) bool { return false }})
			time.Sleep(20 * time.Millisecond) // past one hot slice
			tc.act(w, wr)
			select {
			case r := <-c:
				if r != tc.want {
					t.Fatalf("wait = %d, want %d", r, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("wait did not return")
			}
		})
	}
}

// The hot waiter holds a P without the runtime knowing; a stop-the-world
// must still happen within a hot slice or so, not when the guest next calls.
func TestHotWaitLetsTheWorldStop(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	w, wr := newTestWaiters(t)
	if !w.raw {
		t.Fatal("with 2 Ps the hot waiter should wait raw")
	}
	c := waitAsync(&waiter{w: w, retire: func(int32) bool { return false }})
	time.Sleep(5 * time.Millisecond)
	var worst time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		runtime.GC()
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	if worst > 200*time.Millisecond {
		t.Errorf("runtime.GC took up to %v with a hot waiter idle (hot slice %v)", worst, hotSlice)
	}
	unix.Write(wr, []byte{1})
	if r := <-c; r != waitReady {
		t.Fatalf("wait = %d, want ready", r)
	}
}

// Two threads waiting, one notification: exactly one may RECV, and the
// other keeps waiting until the first is done.
func TestOneReceiverAtATime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	w, wr := newTestWaiters(t)
	a := waitAsync(&waiter{w: w, retire: func(int32) bool { return false }})
	b := waitAsync(&waiter{w: w, retire: func(int32) bool { return false }})
	time.Sleep(10 * time.Millisecond)
	unix.Write(wr, []byte{1})
	var first <-chan waitResult
	select {
	case <-a:
		first = b
	case <-b:
		first = a
	case <-time.After(5 * time.Second):
		t.Fatal("no thread was let RECV")
	}
	select {
	case <-first:
		t.Fatal("a second thread was let RECV the same notification")
	case <-time.After(50 * time.Millisecond):
	}
	// "RECV": take the byte, then let the other thread go on.
	var buf [1]byte
	unix.Read(w.listenerFD, buf[:])
	w.doneReceiving()
	w.stop()
	if r := <-first; r != waitStopped {
		t.Fatalf("second thread: wait = %d, want stopped", r)
	}
}
