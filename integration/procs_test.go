package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// policyWith writes the default policy with a top-level section (extra
// starts with its key, e.g. "limits:") replaced or added.
func policyWith(t *testing.T, extra string) string {
	t.Helper()
	def, err := os.ReadFile(filepath.Join(repoRoot, "policies", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	key := extra[:strings.Index(extra, ":")+1]
	var kept []string
	skipping := false
	for _, line := range strings.Split(string(def), "\n") {
		if strings.HasPrefix(line, key) {
			skipping = true
			continue
		}
		if skipping && (strings.HasPrefix(line, " ") || line == "") {
			continue
		}
		skipping = false
		kept = append(kept, line)
	}
	p := filepath.Join(t.TempDir(), "policy.yaml")
	doc := strings.Join(kept, "\n") + "\n" + extra + "\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProcessLimit: beyond limits.processes, fork fails with EAGAIN (as
// RLIMIT_NPROC does) and nothing on the host is harmed.
func TestProcessLimit(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "procs", dir, "procs")
	pol := policyWith(t, "limits:\n  processes: 20")
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, prog, "forklimit", "50")
	out := string(res.Stdout)
	var ok int
	var first string
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "forks ok=%d first_error=%s", &ok, &first); err != nil {
		t.Fatalf("unexpected output\n%s", res.describe())
	}
	// The guest itself is one of the 20 (its watchdog is not counted).
	if ok != 19 || !strings.HasPrefix(strings.TrimPrefix(out[strings.Index(out, "first_error="):], "first_error="), "Resource temporarily unavailable") {
		t.Fatalf("want 19 forks then EAGAIN\n%s", res.describe())
	}
	if !strings.Contains(string(res.Stderr), "failed with EAGAIN: the sandbox reached limits.processes (20)") {
		t.Errorf("want an explanation of the limit on stderr\n%s", res.describe())
	}
	// Without the limit (-1) all 50 work.
	pol = policyWith(t, "limits:\n  processes: -1")
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, prog, "forklimit", "50")
	if !strings.Contains(string(res.Stdout), "forks ok=50 first_error=none") || strings.Contains(string(res.Stderr), "limits.processes") {
		t.Fatalf("without a limit\n%s", res.describe())
	}
}

func sentryFootprint(t *testing.T, pid int) (fds int, rssKB int) {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return len(ents), rssKB
}

// TestSentryFlatAfterManyProcesses: 10,000 short-lived processes, each
// discovered by the sentry (it makes a routed call), leave the sentry's fd
// count and memory flat: exited tasks are forgotten.
func TestSentryFlatAfterManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 processes: skipped with -short")
	}
	sb := requireSandbox(t)
	dir := t.TempDir()
	prog := installC(t, "procs", dir, "procs")
	cmd := exec.Command(sb, "run", "--", prog, "churn", "10000", "1000")
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var fds, rss []int
	deadline := time.Now().Add(5 * time.Minute)
	for sc.Scan() && time.Now().Before(deadline) {
		line := sc.Text()
		if !strings.HasPrefix(line, "checkpoint ") {
			t.Fatalf("guest: %s", line)
		}
		time.Sleep(200 * time.Millisecond) // let the reaper catch up
		f, r := sentryFootprint(t, cmd.Process.Pid)
		fds, rss = append(fds, f), append(rss, r)
		fmt.Fprintln(stdin, "go")
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("guest: %v", err)
	}
	if len(fds) != 10 {
		t.Fatalf("saw %d checkpoints, want 10", len(fds))
	}
	t.Logf("sentry fds at each 1,000 processes: %v; RSS (kB): %v", fds, rss)
	// From the second checkpoint on (the first includes warm-up), nothing
	// may grow with the number of processes.
	if fds[9] > fds[1]+2 {
		t.Errorf("sentry fds grew from %d to %d over 8,000 processes", fds[1], fds[9])
	}
	if rss[9] > rss[1]+8*1024 {
		t.Errorf("sentry RSS grew from %d kB to %d kB over 8,000 processes", rss[1], rss[9])
	}
}

// TestForkExecWait: 1,000 fork+exec+wait iterations all succeed.
func TestForkExecWait(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "procs", dir, "procs")
	res := runSandbox(t, runSpec{Dir: dir, Timeout: 180 * time.Second}, nil, prog, "forkexec", "1000")
	if !strings.Contains(string(res.Stdout), "forkexec ok=1000 of 1000") {
		t.Fatalf("%s", res.describe())
	}
}

// TestThreadsChurnFds: 64 threads open, dup, dup2, reopen through
// /proc/self/fd and close for 10 s; every fd names the file it should, and
// afterwards the guest's kernel fd table (read from outside) holds exactly
// the fds it started with.
func TestThreadsChurnFds(t *testing.T) {
	secs := "10"
	if testing.Short() {
		secs = "2"
	}
	sb := requireSandbox(t)
	dir := t.TempDir()
	prog := installC(t, "threads", dir, "threads")
	cmd := exec.Command(sb, "run", "--", prog, "churn", "64", secs)
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ok iterations\n" {
		t.Fatalf("guest: %q %v", line, err)
	}
	// sandbox -> watchdog -> guest.
	watchdog := childrenOf(cmd.Process.Pid)
	if len(watchdog) != 1 {
		t.Fatalf("sandbox children: %v", watchdog)
	}
	guest := childrenOf(watchdog[0])
	if len(guest) != 1 {
		t.Fatalf("watchdog children: %v", guest)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", guest[0]))
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range ents {
		fds = append(fds, e.Name())
	}
	if strings.Join(fds, ",") != "0,1,2" {
		t.Errorf("after the churn the guest holds fds %v, want 0,1,2", fds)
	}
	stdin.Close()
	cmd.Wait()
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	return processesWhere(func(dir string) bool {
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(f) > 1 && f[1] == strconv.Itoa(pid)
	})
}

// processesWhere lists the host's processes for which keep, given
// /proc/<pid>, is true.
func processesWhere(keep func(dir string) bool) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && keep("/proc/"+e.Name()) {
			out = append(out, n)
		}
	}
	return out
}
