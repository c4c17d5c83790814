package integration

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestGoGuestUnderPreemption: a Go guest busy for ~5 s on two cores, with
// SIGURG preemption, timers, routed calls in a loop and os/exec, neither
// livelocks (WAIT_KILLABLE_RECV) nor slows down beyond 1.5x of its native
// run, measured in the same test.
func TestGoGuestUnderPreemption(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5 s workload: skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "goguest")
	build := exec.Command("go", "build", "-o", bin, filepath.Join(pkgDir, "testdata", "goguest", "main.go"))
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var ratio float64
	for attempt := 0; attempt < 2; attempt++ {
		native := runNative(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, bin)
		boxed := runSandbox(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, nil, bin)
		if native.Status != 0 || boxed.Status != 0 || string(native.Stdout) != string(boxed.Stdout) {
			t.Fatalf("results differ\nnative:\n%s\nsandbox:\n%s", native.describe(), boxed.describe())
		}
		ratio = boxed.Elapsed.Seconds() / native.Elapsed.Seconds()
		t.Logf("native %v, sandbox %v: %.2fx", native.Elapsed, boxed.Elapsed, ratio)
		if native.Elapsed < 4*time.Second {
			t.Fatalf("the workload ran only %v natively; it must run at least ~5 s", native.Elapsed)
		}
		if ratio <= 1.5 {
			return
		}
	}
	t.Fatalf("the Go guest took %.2fx its native time (limit 1.5x)", ratio)
}
