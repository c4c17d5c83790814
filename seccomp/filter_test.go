package seccomp

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The child half of the tests: load a filter, make calls, print results.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SECCOMP_TEST_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// testSpec: fcntl F_DUPFD(_CLOEXEC) and getcwd routed (the test's own
// supervisor answers EPERM), other fcntl passed; uname denied ENOTSUP;
// everything else ENOSYS... except what the Go runtime needs.
func testSpec() Spec {
	s := Spec{DefaultErrno: unix.ENOSYS}
	for _, nr := range []int{unix.SYS_WRITE, unix.SYS_EXIT_GROUP, unix.SYS_EXIT, unix.SYS_FUTEX, unix.SYS_RT_SIGRETURN,
		unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGACTION, unix.SYS_SIGALTSTACK, unix.SYS_MMAP, unix.SYS_MUNMAP,
		unix.SYS_MADVISE, unix.SYS_NANOSLEEP, unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_TGKILL, unix.SYS_SCHED_YIELD,
		unix.SYS_CLOCK_GETTIME, unix.SYS_GETPPID, unix.SYS_CLONE, unix.SYS_MPROTECT, unix.SYS_EPOLL_PWAIT, unix.SYS_SECCOMP} {
		s.Rules = append(s.Rules, Rule{Nr: nr, Class: Pass})
	}
	s.Rules = append(s.Rules,
		Rule{Nr: unix.SYS_FCNTL, Class: Emulate, Conds: []Cond{{Arg: 1, Mask: 0xffffffff, Value: unix.F_DUPFD}}},
		Rule{Nr: unix.SYS_FCNTL, Class: Emulate, Conds: []Cond{{Arg: 1, Mask: 0xffffffff, Value: unix.F_DUPFD_CLOEXEC}}},
		Rule{Nr: unix.SYS_FCNTL, Class: Pass},
		Rule{Nr: unix.SYS_GETCWD, Class: Emulate},
		Rule{Nr: unix.SYS_UNAME, Class: Deny, Errno: unix.ENOTSUP},
	)
	return s
}

func raw(nr, a, b, c uintptr) string {
	r, _, e := unix.RawSyscall(nr, a, b, c)
	if e != 0 {
		return "-" + e.Error()
	}
	return fmt.Sprint(r)
}

func child(mode string) int {
	runtime.LockOSThread()
	prog, err := Compile(testSpec())
	if err != nil {
		fmt.Println("compile:", err)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 1
	}
	lfd, err := LoadAll(prog)
	if err != nil {
		fmt.Println("load:", err)
		return 1
	}
	// The filter binds this thread only: another thread supervises.
	go func() {
		l := NewListener(lfd)
		var n Notif
		for l.Recv(&n) == nil {
			l.Reply(n.ID, 0, unix.EPERM)
		}
	}()
	var out []string
	switch mode {
	case "calls":
		out = append(out,
			"dupfd="+raw(unix.SYS_FCNTL, 1, unix.F_DUPFD, 0),
			"dupfd_cloexec="+raw(unix.SYS_FCNTL, 1, unix.F_DUPFD_CLOEXEC, 0),
			"getfd="+raw(unix.SYS_FCNTL, 1, unix.F_GETFD, 0),
			"uname="+raw(unix.SYS_UNAME, 0, 0, 0),
			"getcwd="+raw(unix.SYS_GETCWD, 0, 0, 0),
			"getuid="+raw(unix.SYS_GETUID, 0, 0, 0),
			"unknown="+raw(1000, 0, 0, 0))
	case "x32":
		raw(unix.SYS_GETPID|X32Bit, 0, 0, 0)
	}
	fmt.Println(strings.Join(out, " "))
	return 0
}

func runChild(t *testing.T, mode string) (string, *os.ProcessState) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SECCOMP_TEST_CHILD="+mode)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out)), cmd.ProcessState
}

// TestRuleSemantics: a passed syscall is routed for the arguments its
// conditional rules name and passed otherwise; unnamed and unknown numbers
// get the default errno.
func TestRuleSemantics(t *testing.T) {
	out, _ := runChild(t, "calls")
	want := "dupfd=-operation not permitted dupfd_cloexec=-operation not permitted getfd=0 uname=-operation not supported getcwd=-operation not permitted getuid=-function not implemented unknown=-function not implemented"
	if out != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

// TestBadArchKills: x32 calls kill the process (int $0x80 is tested with a
// C program in the integration suite).
func TestBadArchKills(t *testing.T) {
	for _, mode := range []string{"x32"} {
		out, ps := runChild(t, mode)
		ws := ps.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
			t.Errorf("%s: status %v (output %q), want killed by SIGSYS", mode, ps, out)
		}
	}
}
