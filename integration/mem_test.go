package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMemoryTotal: memory.total caps the address space of all the
// sandbox's processes together with ENOMEM. For one process it must behave
// exactly as RLIMIT_AS of the same size does natively (Linux is the
// oracle): the same number of chunks fit, mremap and brk growth are
// refused, MAP_FIXED over a mapping and reuse after munmap are not.
// limits.address_space (the kernel's RLIMIT_AS) gives the same, and each
// says why at exit.
func TestMemoryTotal(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "mem", dir, "mem")
	native := mustRun(t, []string{"/bin/sh", "-c", "ulimit -v 262144 && exec ./mem fill"}, runSpec{Dir: dir})
	if !strings.Contains(string(native.Stdout), "mremap(+64 MiB) = "+rawErr(12, "ENOMEM")) {
		t.Fatalf("native run under RLIMIT_AS:\n%s", native.describe())
	}
	for _, c := range []struct{ policy, why string }{
		{"memory:\n  total: 256M", "failed with ENOMEM: the sandbox's processes together reached memory.total (256M)"},
		{"limits:\n  processes: 1024\n  address_space: 256M", "failed with ENOMEM: a process reached its address-space limit (RLIMIT_AS; limits.address_space: 256M)"},
	} {
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", policyWith(t, c.policy)}, prog, "fill")
		if res.Status != 0 || string(res.Stdout) != string(native.Stdout) {
			t.Errorf("%s: differs from native RLIMIT_AS\nnative:\n%s\nsandbox:\n%s", c.policy, indent(string(native.Stdout)), res.describe())
		}
		if !strings.Contains(string(res.Stderr), "sandbox: 3 allocation(s) "+c.why) {
			t.Errorf("%s: want the explanation %q\n%s", c.policy, c.why, res.describe())
		}
	}

	total := policyWith(t, "memory:\n  total: 256M")
	if os.Geteuid() == 0 {
		// Unprivileged, the sentry still measures and decides.
		cred := &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
		udir := t.TempDir()
		uprog := installC(t, "mem", udir, "mem")
		os.Chmod(total, 0o644)
		chownTree(t, udir, nobody, nobody)
		res := runSandbox(t, runSpec{Dir: udir, Cred: cred, Sandbox: unprivSandbox(t)}, []string{"--policy", total}, uprog, "fill")
		if res.Status != 0 || string(res.Stdout) != string(native.Stdout) {
			t.Errorf("uid 65534: differs from native RLIMIT_AS\nnative:\n%s\nsandbox:\n%s", indent(string(native.Stdout)), res.describe())
		}
	}
	// A fork copies the address space: 2 x 144 MiB does not fit in 256.
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", total}, prog, "forkbig")
	for _, w := range []string{"mmap(144 MiB) = 0\n", "fork = " + rawErr(12, "ENOMEM"), "fork after munmap = 0\n"} {
		if !strings.Contains(string(res.Stdout), w) {
			t.Errorf("forkbig: want %q\n%s", w, res.describe())
		}
	}
	// Four processes filling at once share the 256 MiB (32 chunks of 8,
	// less what the five programs themselves take).
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", total}, prog, "children")
	var n int
	if _, err := fmt.Sscanf(string(res.Stdout), "children chunks %d", &n); err != nil || n > 31 || n < 26 {
		t.Errorf("children: want 26..31 chunks of 8 MiB in all under 256 MiB\n%s", res.describe())
	}

	// Eight threads asking at the same moment get no more than the room
	// there is (each call is decided and booked in one step); their 8 MiB
	// stacks take 64 MiB of it.
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", total}, prog, "threads")
	n = 0
	out := string(res.Stdout)
	if i := strings.Index(out, "threads chunks "); i >= 0 {
		fmt.Sscanf(out[i:], "threads chunks %d", &n)
	}
	if n > 31-8 || n < 18 {
		t.Errorf("threads: want 18..23 chunks of 8 MiB in all under 256 MiB\n%s", res.describe())
	}

	// An exec maps its image (bss included) with no call the sentry sees:
	// it is booked at the execve, so a second 160 MiB image does not fit
	// beside the first under 256 MiB.
	big := installC(t, "bigbss", dir, "bigbss")
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", total}, "/bin/sh", "-c", big+" & sleep 0.3; "+big+"; echo \"second: $?\"; wait $!; echo \"first: $?\"")
	if !strings.Contains(string(res.Stdout), "first: 0") || strings.Contains(string(res.Stdout), "second: 0") ||
		!strings.Contains(string(res.Stderr), "reached memory.total") {
		t.Errorf("bigbss: want the second image refused, the first running\n%s", res.describe())
	}

	// The same through fexecve of a memfd, and through a chain of four #!
	// scripts ending at the image.
	chain := "printf '#!" + big + "\\n' > s4; for i in 3 2 1; do printf '#!%s/s%d\\n' \"$PWD\" $((i+1)) > s$i; done; chmod +x s1 s2 s3 s4"
	fexec := `import os; fd = os.memfd_create("img"); os.write(fd, open("` + big + `", "rb").read())
try:
    os.execve(fd, ["img"], {})
except OSError as e: print("fexecve", e.errno)`
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", total}, "/bin/sh", "-c",
		chain+"; "+big+" & sleep 0.3; ./s1; echo \"chain: $?\"; /usr/bin/python3 -c '"+strings.ReplaceAll(fexec, "'", "'\\''")+"'; wait $!; echo \"first: $?\"")
	if out := string(res.Stdout); !strings.Contains(out, "first: 0") || strings.Contains(out, "chain: 0") || !strings.Contains(out, "fexecve 12") {
		t.Errorf("bigbss through #! chain and fexecve: want both refused\n%s", res.describe())
	}

	// Real programs under a total that leaves room: python with
	// subprocess and a multiprocessing pool (fork), as natively.
	py := `import subprocess, multiprocessing as mp
def f(x): return x * x
print(subprocess.run(["echo", "sub"], capture_output=True).stdout)
with mp.Pool(2) as p: print(p.map(f, [1, 2, 3]))`
	nat := runNative(t, runSpec{Dir: dir}, "/usr/bin/python3", "-c", py)
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", policyWith(t, "memory:\n  total: 1G")}, "/usr/bin/python3", "-c", py)
	if res.Status != 0 || string(res.Stdout) != string(nat.Stdout) {
		t.Errorf("python under memory.total 1G\nnative:\n%s\nsandbox:\n%s", nat.describe(), res.describe())
	}
}

// TestMemoryTotalGo: a Go binary reserves more address space than it
// uses; under a total below its native reservation its runtime falls back
// to smaller ones and the program runs (goroutines, os/exec).
func TestMemoryTotalGo(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(goMemProg), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gomem")
	build := exec.Command("go", "build", "-o", bin, src)
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nat := runNative(t, runSpec{Dir: dir}, bin)
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", policyWith(t, "memory:\n  total: 1G")}, bin)
	if nat.Status != 0 || res.Status != 0 || string(res.Stdout) != string(nat.Stdout) {
		t.Errorf("Go under memory.total 1G\nnative:\n%s\nsandbox:\n%s", nat.describe(), res.describe())
	}
}

const goMemProg = `package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	bufs := make([][]byte, 8)
	for i := range bufs {
		wg.Add(1)
		go func(i int) { defer wg.Done(); bufs[i] = make([]byte, 16<<20); bufs[i][len(bufs[i])-1] = 1 }(i)
	}
	wg.Wait()
	out, err := exec.Command("/bin/echo", "child").Output()
	fmt.Printf("%d buffers, %s %v\n", len(bufs), strings.TrimSpace(string(out)), err)
}
`
