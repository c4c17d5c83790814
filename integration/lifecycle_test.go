package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guestPids lists the live "sleep MARKER..." processes.
func guestPids(marker string) []int {
	return processesWhere(func(dir string) bool {
		b, err := os.ReadFile(dir + "/cmdline")
		if err != nil || !bytes.HasPrefix(b, []byte("sleep\x00"+marker)) {
			return false
		}
		st, err := os.ReadFile(dir + "/stat")
		return err != nil || !strings.Contains(string(st), ") Z ") // a zombie is dead
	})
}

func waitFor(cond func() bool, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestGuestDiesWithSentry: a sentry killed with SIGKILL (no chance to clean
// up) must not leave any guest process behind, whether a direct child, a
// background job, a double-forked daemon or a new session.
func TestGuestDiesWithSentry(t *testing.T) {
	sb := requireSandbox(t)
	dir := t.TempDir()
	marker := fmt.Sprintf("%d", 500000+os.Getpid()%100000)
	script := fmt.Sprintf(`sleep %[1]s1 & (sleep %[1]s2 &) ; setsid sleep %[1]s3 & sleep %[1]s4`, marker)
	cmd := exec.Command(sb, "run", "--", "/bin/sh", "-c", script)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if !waitFor(func() bool { return len(guestPids(marker)) >= 4 }, 10*time.Second) {
		t.Fatalf("guest processes did not start: %v", guestPids(marker))
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	requireGone(t, marker, "guest processes survived the sentry")
	// Its scratch trees (skeleton and /proc mirror, on /dev/shm when it is
	// a tmpfs; the private /tmp in TMPDIR) are left behind; the next run
	// removes them.
	var stale []string
	for _, pat := range []string{"/dev/shm/sandbox-%d-*", os.TempDir() + "/sandbox-%d-*", os.TempDir() + "/sandbox-data-%d-*"} {
		m, _ := filepath.Glob(fmt.Sprintf(pat, cmd.Process.Pid))
		stale = append(stale, m...)
	}
	if len(stale) == 0 {
		t.Fatalf("no scratch tree of the killed sandbox (pid %d) found", cmd.Process.Pid)
	}
	next := exec.Command(sb, "run", "--", "/bin/true") // the same TMPDIR
	next.Dir = dir
	if out, err := next.CombinedOutput(); err != nil {
		t.Fatalf("next run: %v\n%s", err, out)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("the next run left the killed sandbox's scratch tree %s", p)
		}
	}
}

// TestSignalsReachGuest: SIGTERM, SIGHUP and SIGINT sent to the sandbox
// reach the guest, whose handler decides the exit status.
func TestSignalsReachGuest(t *testing.T) {
	sb := requireSandbox(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			script := fmt.Sprintf(`trap 'echo caught; exit 7' %d; echo ready; while :; do sleep 0.05; done`, int(sig))
			cmd := exec.Command(sb, "run", "--", "/bin/sh", "-c", script)
			cmd.Dir = dir
			// Not the terminal's foreground group: the sandbox must relay.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if !waitFor(func() bool { return strings.Contains(out.String(), "ready") }, 10*time.Second) {
				cmd.Process.Kill()
				t.Fatalf("guest did not start: %q", out.String())
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("guest did not exit after %v", sig)
			}
			if st := cmd.ProcessState.ExitCode(); st != 7 || !strings.Contains(out.String(), "caught") {
				t.Fatalf("after %v: exit %d, output %q; want the guest's trap (exit 7)", sig, st, out.String())
			}
		})
	}
}

// TestGuestHasNoCapabilities: even a root guest holds no capability in any
// set (read from outside, in /proc/<pid>/status of the running guest).
func TestGuestHasNoCapabilities(t *testing.T) {
	sb := requireSandbox(t)
	cmd := exec.Command(sb, "run", "--", "/bin/sh", "-c", "echo $$; read x")
	cmd.Dir = t.TempDir()
	stdin, _ := cmd.StdinPipe()
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	if !waitFor(func() bool { return strings.Contains(out.String(), "\n") }, 10*time.Second) {
		t.Fatalf("guest did not report its pid: %q", out.String())
	}
	pid := strings.TrimSpace(out.String())
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, line := range strings.Split(string(status), "\n") {
		for _, k := range []string{"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				seen++
				if strings.Trim(strings.TrimSpace(v), "0") != "" {
					t.Errorf("guest %s %s, want none", k, strings.TrimSpace(v))
				}
			}
		}
	}
	if seen != 5 {
		t.Fatalf("read %d capability sets from /proc/%s/status", seen, pid)
	}
}

// TestGuestDiesWithItsJob: a SIGKILL to the whole process group the
// sandbox was started in (kill -9 -PGID, a harness's timeout) takes the
// sentry down with the guest processes still in that group; the watchdog
// has a group of its own, so it lives on long enough to kill the guest
// processes that left the group (setsid) too.
func TestGuestDiesWithItsJob(t *testing.T) {
	sb := requireSandbox(t)
	dir := t.TempDir()
	marker := fmt.Sprintf("%d", 700000+os.Getpid()%100000)
	script := fmt.Sprintf(`setsid sleep %[1]s1 & sleep %[1]s2`, marker)
	cmd := exec.Command(sb, "run", "--", "/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if !waitFor(func() bool { return len(guestPids(marker)) >= 2 }, 10*time.Second) {
		t.Fatalf("guest processes did not start: %v", guestPids(marker))
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	requireGone(t, marker, "guest processes outside the job's group survived a SIGKILL to the job")
}

// requireGone fails the test (after killing them) if guest processes
// carrying marker are still there 5 s on.
func requireGone(t *testing.T, marker, what string) {
	t.Helper()
	if !waitFor(func() bool { return len(guestPids(marker)) == 0 }, 5*time.Second) {
		left := guestPids(marker)
		for _, p := range left {
			syscall.Kill(p, syscall.SIGKILL)
		}
		t.Fatalf("%s: %v", what, left)
	}
}

// TestCallerSignalsInherited: the guest starts with the signals its caller
// ignored still ignored and its blocked signals blocked, as across an
// execve: nohup, a shell's background job (SIGINT and SIGQUIT ignored) and
// a caller blocking signals on purpose all keep working. The sandbox's own
// processes (Go, the watchdog) change both, so the init stage restores
// what a constructor saw before the Go runtime started.
func TestCallerSignalsInherited(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"wrap.py": `import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])
`})
	status := []string{"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}
	for _, c := range []struct {
		wrap  []string
		field string
		bits  uint64 // the control: set natively (make and some shells add others, such as signal 32)
	}{
		{[]string{"python3", "wrap.py"}, "SigIgn", 0x1007}, // HUP, INT, QUIT and PIPE ignored
		// The real-time signals glibc reserves, blocked with the raw call.
		{[]string{compileC(t, "sigblk")}, "SigBlk", 0x180000200},
		{[]string{compileC(t, "sigblk")}, "SigIgn", 1 << 31},
	} {
		native := runNative(t, runSpec{Dir: dir}, append(c.wrap, status...)...)
		res := mustRun(t, append(c.wrap, sandboxArgv(requireSandbox(t), nil, status)...), runSpec{Dir: dir})
		var got uint64
		if m := regexp.MustCompile(c.field + `:\s*([0-9a-f]+)`).FindSubmatch(native.Stdout); m != nil {
			got, _ = strconv.ParseUint(string(m[1]), 16, 64)
		}
		if got&c.bits != c.bits {
			t.Fatalf("native control: %s", native.Stdout)
		}
		compareRuns(t, native, res, false)
	}

	// nohup: the sandbox survives SIGHUP, and so does the guest.
	cmd := exec.Command("python3", append([]string{"wrap.py"}, sandboxArgv(requireSandbox(t), nil, []string{"sleep", "1"})...)...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGHUP)
	if err := cmd.Wait(); err != nil {
		t.Errorf("under SIG_IGN for SIGHUP, a SIGHUP to the sandbox ended the run: %v", err)
	}
}

// TestSignalsToSandboxReachGuest: a signal sent to the sandbox's own pid
// does to the guest what it would do to the program natively: SIGQUIT
// and SIGUSR1 kill it (no Go stack dump from the sandbox), and one the
// caller ignored is ignored.
func TestSignalsToSandboxReachGuest(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		sig    syscall.Signal
		ignore bool
		want   int
	}{{syscall.SIGQUIT, false, 128 + 3}, {syscall.SIGUSR1, false, 128 + 10}, {syscall.SIGALRM, false, 128 + 14}, {syscall.SIGQUIT, true, 0}} {
		cmd := exec.Command(requireSandbox(t), "run", "--", "sleep", "2")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if c.ignore {
			// Started with the signal ignored, as a shell's background job.
			signal.Ignore(c.sig)
		}
		err := cmd.Start()
		if c.ignore {
			signal.Reset(c.sig)
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		cmd.Process.Signal(c.sig)
		cmd.Wait()
		if got := cmd.ProcessState.ExitCode(); got != c.want || strings.Contains(stderr.String(), "goroutine") {
			t.Errorf("%v (ignored: %v): status %d, want %d\n%s", c.sig, c.ignore, got, c.want, stderr.String())
		}
	}
}
