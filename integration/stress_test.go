package integration

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLaunchStress starts `bin/sandbox run -- /bin/true` 1000 times in a row.
// Start-up races (a child that execs before its filter is installed, a
// notification fd that is never serviced, a wait that misses the exit) show up
// as hangs or odd exit statuses only occasionally, so one run proves little.
// Each run gets 10 s; the whole loop gets 300 s.
func TestLaunchStress(t *testing.T) {
	if testing.Short() {
		t.Skip("launch stress skipped in -short mode")
	}
	const runs = 1000
	bin := requireSandbox(t)
	dir := t.TempDir()
	deadline := time.Now().Add(300 * time.Second)
	start := time.Now()
	var slowest time.Duration
	for i := 0; i < runs; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d launches finished within 300s", i, runs)
		}
		res, err := execute(sandboxArgv(bin, nil, []string{"/bin/true"}), runSpec{Dir: dir, Timeout: 10 * time.Second})
		if errors.Is(err, errTimeout) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("launch %d hung (killed after 10s)\n%s", i, res.describe())
		}
		if err != nil {
			t.Fatalf("launch %d: %v", i, err)
		}
		if res.Status != 0 || res.Signal != 0 {
			t.Fatalf("launch %d: want exit status 0\n%s", i, res.describe())
		}
		if res.Elapsed > slowest {
			slowest = res.Elapsed
		}
	}
	total := time.Since(start)
	t.Logf("%d launches in %v (mean %v, slowest %v)", runs, total, total/runs, slowest)
}
