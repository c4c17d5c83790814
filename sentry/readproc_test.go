package sentry

import (
	"bytes"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadProc(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // past the first 4 KiB buffer
	f := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(f, big, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []byte
	}{
		{f, big},
		{"/proc/self/cmdline", nil}, // compared with os.ReadFile below
	} {
		want := tc.want
		if want == nil {
			var err error
			if want, err = os.ReadFile(tc.path); err != nil {
				t.Fatal(err)
			}
		}
		got, err := readProc(tc.path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("readProc(%s) = %d bytes, %v; want %d bytes", tc.path, len(got), err, len(want))
		}
	}
	if _, err := readProc("/proc/self/no-such-file"); !os.IsNotExist(err) {
		t.Errorf("readProc of a missing file: %v, want not-exist", err)
	}
}

// TestTaskIDs: the pidfd answer (Linux 6.13+) names the same thread group
// and parent as procfs, for a process, one of its threads and a child.
func TestTaskIDs(t *testing.T) {
	runtime.LockOSThread() // a thread that is not the group leader
	defer runtime.UnlockOSThread()
	child := osexec.Command("sleep", "10")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	fd, err := unix.PidfdOpen(os.Getpid(), pidfdThread)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ok := pidfdIDs(fd)
	unix.Close(fd)
	if !ok {
		t.Logf("no PIDFD_GET_INFO on this kernel: taskIDs reads procfs (compared with itself below)")
	}
	for _, tid := range []int{os.Getpid(), unix.Gettid(), child.Process.Pid} {
		tgid, ppid, err := taskIDs(tid)
		wtgid, wppid, werr := procStatus(tid)
		if err != nil || werr != nil || tgid != wtgid || ppid != wppid {
			t.Errorf("task %d: taskIDs = %d, %d, %v; procfs says %d, %d, %v", tid, tgid, ppid, err, wtgid, wppid, werr)
		}
	}
	if _, _, err := taskIDs(1 << 30); err == nil {
		t.Errorf("taskIDs of a task that does not exist: no error")
	}
}
