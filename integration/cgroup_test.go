package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cgroup2Mount returns the cgroup v2 hierarchy, if one is mounted.
func cgroup2Mount() string {
	for _, m := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var fs unix.Statfs_t
		if unix.Statfs(m, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
			return m
		}
	}
	return ""
}

// TestCgroup: with limits.memory the guest runs in a cgroup of its own,
// made before it starts (every guest process is in it), removed at exit;
// where the memory controller cannot be had the run goes on and the
// sandbox says that the limit is not enforced. An unusable --cgroup-parent
// is an error.
func TestCgroup(t *testing.T) {
	mnt := cgroup2Mount()
	if mnt == "" {
		t.Skip("no cgroup v2 hierarchy on this machine")
	}
	pol := policyWith(t, "limits:\n  processes: 1024\n  memory: 256M")
	t.Run("placement", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("only root may make a cgroup under the hierarchy's root here")
		}
		dir := t.TempDir()
		marker := filepath.Join(dir, "pid")
		done := make(chan result, 1)
		go func() {
			done <- runSandbox(t, runSpec{Dir: dir}, []string{"-v", "--policy", pol}, "/bin/sh", "-c", "echo $$ > pid; sleep 1; echo ok")
		}()
		var pid int
		waitFor(func() bool {
			b, err := os.ReadFile(marker)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return err == nil && pid > 0
		}, 10*time.Second)
		cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		if err != nil {
			t.Fatalf("guest pid %d: %v", pid, err)
		}
		var path string
		for _, line := range strings.Split(string(cg), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				path = p
			}
		}
		if !strings.HasPrefix(filepath.Base(path), "sandbox-") {
			t.Errorf("the guest is in cgroup %q, not one of the sandbox's own", path)
		}
		res := <-done
		if res.Status != 0 || string(res.Stdout) != "ok\n" {
			t.Fatalf("run failed\n%s", res.describe())
		}
		if _, err := os.Stat(filepath.Join(mnt, path)); err == nil {
			t.Errorf("the cgroup %s was left behind", path)
		}
		enforced := strings.Contains(string(res.Stderr), "memory.max 256M")
		if !enforced && !strings.Contains(string(res.Stderr), "memory (not available)") {
			t.Errorf("neither enforced nor said to be not enforced\n%s", res.describe())
		}
		if !enforced {
			t.Logf("memory controller not available here (cgroup v1 holds it): placement and removal tested, not the limit")
			return
		}
		// Enforced: a program allocating past it is killed, and the
		// sandbox says why.
		big := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/usr/bin/python3", "-c", "x = bytearray(512 << 20); print('survived')")
		if big.Status == 0 || !strings.Contains(string(big.Stderr), "OOM killer") {
			t.Errorf("want the allocation killed and explained\n%s", big.describe())
		}
	})
	t.Run("unprivileged", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to switch to uid 65534")
		}
		dir := t.TempDir()
		b, err := os.ReadFile(pol)
		if err != nil {
			t.Fatal(err)
		}
		upol := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(upol, b, 0o644); err != nil {
			t.Fatal(err)
		}
		chownTree(t, dir, nobody, nobody)
		res := runSandbox(t, runSpec{Dir: dir, Cred: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}, Sandbox: unprivSandbox(t)}, []string{"--policy", upol}, "/bin/echo", "ran")
		if res.Status != 0 || string(res.Stdout) != "ran\n" {
			t.Fatalf("a run without a usable cgroup must go on\n%s", res.describe())
		}
		if !strings.Contains(string(res.Stderr), "limits.memory/limits.pids are not enforced") {
			t.Errorf("want a warning that the limit is not enforced\n%s", res.describe())
		}
	})
	t.Run("bad-parent", func(t *testing.T) {
		res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--cgroup-parent", "/nonexistent"}, "/bin/true")
		if res.Status == 0 || !strings.Contains(string(res.Stderr), "/nonexistent is not a cgroup v2 directory") {
			t.Errorf("want a clear error\n%s", res.describe())
		}
	})
}
