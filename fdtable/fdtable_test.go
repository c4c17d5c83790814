package fdtable

import (
	"testing"

	"golang.org/x/sys/unix"
)

func ref(t *testing.T) int {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

func TestRefcountsAcrossDupForkExec(t *testing.T) {
	r := ref(t)
	tb := New()
	f := NewFile("/", true, r)
	tb.Install(3, f, false)
	f.IncRef()
	tb.Install(4, f, true) // dup with cloexec
	child := tb.Fork()
	tb.Remove(3)
	tb.Exec() // drops 4
	if tb.Len() != 0 {
		t.Fatalf("parent table has %d entries after close+exec", tb.Len())
	}
	if !isOpen(r) {
		t.Fatal("Ref closed while the forked child still holds the file")
	}
	if g, ok := child.Get(4); !ok || g.Guest != "/" {
		t.Fatal("child lost its copy of fd 4")
	} else {
		g.DecRef()
	}
	child.Release()
	if isOpen(r) {
		t.Fatal("Ref still open after the last table let go")
	}
}

func TestRangeAndCloexec(t *testing.T) {
	tb := New()
	for fd := 0; fd < 10; fd++ {
		tb.Install(fd, NewFile("", false, -1), false)
	}
	tb.SetCloExecRange(5, 7)
	tb.RemoveRange(8, ^uint(0))
	tb.Exec()
	if tb.Len() != 5 {
		t.Fatalf("want fds 0-4 left, have %d", tb.Len())
	}
}

// TestStandIn: a stand-in's two fds close with its last reference, and
// FindStandIn finds it by its placeholder across dup, fork and close.
func TestStandIn(t *testing.T) {
	ph, shadow := ref(t), ref(t)
	tb := New()
	if _, ok := tb.FindStandIn(func(int) bool { return true }); ok {
		t.Fatal("FindStandIn in a table without stand-ins found one")
	}
	f := NewStandIn("/sl", ph, shadow)
	tb.Install(3, f, false)
	f.IncRef()
	tb.Install(4, f, false)
	child := tb.Fork()
	tb.Remove(3)
	if g, ok := tb.FindStandIn(func(r int) bool { return r == ph }); !ok || g != f {
		t.Fatal("stand-in not found by its placeholder")
	} else {
		g.DecRef()
	}
	if _, ok := tb.FindStandIn(func(r int) bool { return false }); ok {
		t.Fatal("FindStandIn matched nothing and still answered")
	}
	tb.Release()
	if _, ok := tb.FindStandIn(func(int) bool { return true }); ok {
		t.Fatal("released table still has a stand-in")
	}
	if !isOpen(ph) || !isOpen(shadow) {
		t.Fatal("stand-in closed while the forked child still holds it")
	}
	child.Release()
	if isOpen(ph) || isOpen(shadow) {
		t.Fatal("stand-in fds still open after the last table let go")
	}
}
