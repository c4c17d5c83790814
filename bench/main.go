// Command bench prints the sandbox's costs as ratios to native Linux,
// measured in the same run (medians; this machine is shared and noisy).
//
//	go run ./bench        (or: make bench)
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// loop runs the C loop for shape and returns median and best ns per call.
func loop(prefix []string, bin, shape string, n int, extra ...string) (med, best float64) {
	args := append(append(append([]string(nil), prefix...), bin, shape, strconv.Itoa(n)), extra...)
	out, err := exec.Command(args[0], args[1:]...).Output()
	must(err)
	f := strings.Fields(string(out))
	med, _ = strconv.ParseFloat(f[0], 64)
	best, _ = strconv.ParseFloat(f[1], 64)
	return
}

// startup returns the median wall time of running cmd, over runs.
func startup(cmd []string, runs int) time.Duration {
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		t := time.Now()
		must(exec.Command(cmd[0], cmd[1:]...).Run())
		ds = append(ds, time.Since(t))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func main() {
	root, err := os.Getwd()
	must(err)
	sb := filepath.Join(root, "bin", "sandbox")
	if b := os.Getenv("SANDBOX_BENCH_BIN"); b != "" {
		// Another build, for side-by-side comparisons on a noisy machine.
		sb = b
	}
	if _, err := os.Stat(sb); err != nil {
		must(fmt.Errorf("%s missing: run make build", sb))
	}
	dir, err := os.MkdirTemp("", "sandbox-bench-")
	must(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "loop")
	out, err := exec.Command("gcc", "-O2", "-o", bin, filepath.Join(root, "bench", "csrc", "loop.c")).CombinedOutput()
	if err != nil {
		must(fmt.Errorf("gcc: %v: %s", err, out))
	}
	// The bench binary lives in a hidden temp dir; show it to the guest.
	box := []string{sb, "run", "--ro", dir, "--"}

	fmt.Println("figure                              native        sandbox       ratio / overhead")
	nm, nb := loop(nil, bin, "getppid", 200000)
	fm, _ := loop(nil, bin, "getppid", 200000, "floor")
	sm, sbst := loop(box, bin, "getppid", 200000)
	fmt.Printf("passthrough getppid (median)        %8.1f ns   %8.1f ns   %.2fx\n", nm, sm, sm/nm)
	fmt.Printf("passthrough getppid (best)          %8.1f ns   %8.1f ns   %.2fx\n", nb, sbst, sbst/nb)
	fmt.Printf("  floor: any seccomp filter (1 insn) %7.1f ns                 %.2fx\n", fm, fm/nm)
	nm, nb = loop(nil, bin, "openat", 20000)
	sm, sbst = loop(box, bin, "openat", 20000)
	fmt.Printf("routed openat+close (median)        %8.2f us   %8.2f us   %.1fx (+%.2f us)\n", nm/1000, sm/1000, sm/nm, (sm-nm)/1000)
	fmt.Printf("routed openat+close (best)          %8.2f us   %8.2f us   %.1fx (+%.2f us)\n", nb/1000, sbst/1000, sbst/nb, (sbst-nb)/1000)
	tm, _ := loop([]string{sb, "run", "--trace=/dev/null", "--ro", dir, "--"}, bin, "openat", 20000)
	fmt.Printf("  with --trace (to /dev/null)       %8.2f us   %8.2f us   %.2fx of untraced\n", nm/1000, tm/1000, tm/sm)
	nm, _ = loop(nil, bin, "idle", 100)
	sm, _ = loop(box, bin, "idle", 100)
	fmt.Printf("routed umask after 1 ms idle        %8.2f us   %8.2f us   +%.2f us\n", nm/1000, sm/1000, (sm-nm)/1000)
	nm, _ = loop(nil, bin, "forkexec", 200)
	sm, _ = loop(box, bin, "forkexec", 200)
	fmt.Printf("fork+exec+wait /bin/true (median)   %8.0f us   %8.0f us   %.2fx\n", nm/1000, sm/1000, sm/nm)
	nt := startup([]string{"/bin/true"}, 41)
	st := startup([]string{sb, "run", "--", "/bin/true"}, 41)
	fmt.Printf("start-up /bin/true (median)         %8.2f ms   %8.2f ms   +%.2f ms\n",
		float64(nt.Microseconds())/1000, float64(st.Microseconds())/1000, float64((st-nt).Microseconds())/1000)
	// User-memory checks (issue 4): a checked 64-byte copy-in against an
	// unchecked one, and one VMA lookup that asks the kernel.
	out, err = exec.Command("go", "test", "-run", "^$", "-bench", "CopyIn64|VMAQuery", "-benchtime", "50000x", "-count", "5", "./mm/").CombinedOutput()
	must(err)
	med := map[string][]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(f[0], "Benchmark") {
			v, _ := strconv.ParseFloat(f[2], 64)
			name := strings.TrimSuffix(strings.TrimPrefix(f[0], "Benchmark"), "-2")
			med[name] = append(med[name], v)
		}
	}
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		if len(xs) == 0 {
			return 0
		}
		return xs[len(xs)/2]
	}
	fmt.Printf("checked 64 B copy-in (VMA cached)   %8.2f us   unchecked %6.2f us  +%.2f us\n",
		median(med["CopyIn64"])/1000, median(med["CopyIn64Unchecked"])/1000, (median(med["CopyIn64"])-median(med["CopyIn64Unchecked"]))/1000)
	fmt.Printf("VMA lookup (PROCMAP_QUERY ioctl)    %8.2f us\n", median(med["VMAQuery"])/1000)
	fmt.Println("targets: passthrough <= 1.1x; routed openat+close <= 10 us; start-up <= +5 ms; fork+exec+wait <= 1.5x; copy check <= +0.3 us; tracing <= 2x")
}
