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

// combSpec is testSpec plus every ninth number passed: runs of eight
// unnamed numbers, more than the guard takes as ranges.
func combSpec() Spec {
	s := testSpec()
	seen := map[int]bool{}
	for _, r := range s.Rules {
		seen[r.Nr] = true
	}
	for nr := 0; nr <= 330; nr += 9 {
		if !seen[nr] {
			s.Rules = append(s.Rules, Rule{Nr: nr, Class: Pass})
		}
	}
	return s
}

// combProbes are calls that succeed natively with these arguments.
var combProbes = []int{unix.SYS_GETUID, unix.SYS_GETGID, unix.SYS_GETEUID, unix.SYS_GETEGID, unix.SYS_SETPGID,
	unix.SYS_GETPPID, unix.SYS_GETPGRP, unix.SYS_GETSID, unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_SYNC, unix.SYS_GETPGID}

func child(mode string) int {
	runtime.LockOSThread()
	spec := testSpec()
	if mode == "comb" {
		spec = combSpec()
	}
	prog, err := Compile(spec)
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
	case "edges":
		// Unnamed runs: 0 alone and 2..8 get rules; 80..109 and 111..130
		// are guard ranges (getppid, 110, is passed); 318 is past the last.
		out = append(out,
			"read="+raw(unix.SYS_READ, ^uintptr(0), 0, 0),
			"open="+raw(unix.SYS_OPEN, 0, 0, 0),
			"setpgid="+raw(unix.SYS_SETPGID, 0, 0, 0),
			"getppid_ok="+fmt.Sprint(raw(unix.SYS_GETPPID, 0, 0, 0)[0] != '-'),
			"getpgrp="+raw(unix.SYS_GETPGRP, 0, 0, 0),
			"316="+raw(316, 0, 0, 0),
			"318="+raw(318, 0, 0, 0),
			"-1="+raw(^uintptr(0), 0, 0, 0))
	case "comb":
		for _, nr := range combProbes {
			out = append(out, fmt.Sprintf("%d=%v", nr, raw(uintptr(nr), 0, 0, 0) == "-function not implemented"))
		}
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

// TestUnnamedNumbers: every number the spec does not name fails with
// ENOSYS, whether the guard's ranges or the denial filter's rules cover
// it, at the edges of each run and past the last named number; every
// named one passes.
func TestUnnamedNumbers(t *testing.T) {
	out, _ := runChild(t, "edges")
	enosys := "-function not implemented"
	want := "read=" + enosys + " open=" + enosys + " setpgid=" + enosys + " getppid_ok=true getpgrp=" + enosys + " 316=" + enosys + " 318=" + enosys + " -1=" + enosys
	if out != want {
		t.Errorf("edges:\ngot  %s\nwant %s", out, want)
	}
	named := map[int]bool{}
	for _, r := range combSpec().Rules {
		named[r.Nr] = true
	}
	var w []string
	for _, nr := range combProbes {
		w = append(w, fmt.Sprintf("%d=%v", nr, !named[nr]))
	}
	if out, _ := runChild(t, "comb"); out != strings.Join(w, " ") {
		t.Errorf("comb (true: ENOSYS):\ngot  %s\nwant %s", out, strings.Join(w, " "))
	}
}

// TestGuardLayout: the guard's jumps land on its returns for any number
// of ranges it may take.
func TestGuardLayout(t *testing.T) {
	for n := 0; n <= maxGuardRanges; n++ {
		var ranges [][2]int
		for i := 0; i < n; i++ {
			ranges = append(ranges, [2]int{10 * i, 10*i + 8})
		}
		f := guard(500, ranges, unix.ENOSYS)
		ret := map[uint32]int{}
		for i, ins := range f {
			if ins.Code == unix.BPF_RET|unix.BPF_K {
				ret[ins.K] = i
			}
		}
		allow, errno, kill := ret[unix.SECCOMP_RET_ALLOW], ret[unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)], ret[unix.SECCOMP_RET_KILL_PROCESS]
		if allow == 0 || errno == 0 || kill == 0 {
			t.Fatalf("%d ranges: returns missing: %v", n, f)
		}
		// Follow the program for sample numbers, as the kernel would.
		run := func(arch, nr uint32) uint32 {
			var a uint32
			for pc := 0; pc < len(f); {
				ins := f[pc]
				switch ins.Code {
				case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
					a = map[uint32]uint32{0: nr, 4: arch}[ins.K]
				case unix.BPF_RET | unix.BPF_K:
					return ins.K
				default:
					var ok bool
					switch ins.Code {
					case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
						ok = a == ins.K
					case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
						ok = a >= ins.K
					case unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K:
						ok = a > ins.K
					default:
						t.Fatalf("unexpected instruction %+v", ins)
					}
					if ok {
						pc += 1 + int(ins.Jt)
					} else {
						pc += 1 + int(ins.Jf)
					}
					continue
				}
				pc++
			}
			t.Fatalf("%d ranges: fell off the end", n)
			return 0
		}
		for nr := uint32(0); nr < 520; nr++ {
			want := uint32(unix.SECCOMP_RET_ALLOW)
			if nr > 500 || (nr < uint32(10*n) && nr%10 <= 8) {
				want = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
			}
			if got := run(unix.AUDIT_ARCH_X86_64, nr); got != want {
				t.Errorf("%d ranges: nr %d: %#x, want %#x", n, nr, got, want)
			}
		}
		if got := run(unix.AUDIT_ARCH_X86_64, 0xffffffff); got != unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS) {
			t.Errorf("%d ranges: syscall(-1): %#x", n, got)
		}
		if got := run(unix.AUDIT_ARCH_X86_64, X32Bit|39); got != unix.SECCOMP_RET_KILL_PROCESS {
			t.Errorf("%d ranges: x32 getpid: %#x", n, got)
		}
		if got := run(unix.AUDIT_ARCH_I386, 20); got != unix.SECCOMP_RET_KILL_PROCESS {
			t.Errorf("%d ranges: i386: %#x", n, got)
		}
	}
}

// TestEmptySpec: a spec with no rules is refused, not compiled into
// filters that allow everything.
func TestEmptySpec(t *testing.T) {
	if _, err := Compile(Spec{DefaultErrno: unix.ENOSYS}); err == nil {
		t.Fatal("Compile of an empty spec succeeded")
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
