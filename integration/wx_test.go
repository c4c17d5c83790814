package integration

import (
	"strings"
	"testing"
)

// TestWXDeny: with memory.wx: deny, writable+executable mappings and making
// written memory executable fail with EACCES (even in two steps), while
// executable file mappings (ld.so) still work; dynamic C programs, python3
// and a shell run. Under the default policy (wx: allow) a JIT works.
func TestWXDeny(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "wx", dir, "wx")
	deny := policyWith(t, "memory:\n  wx: deny")
	eacces := rawErr(13, "EACCES")
	cases := []struct {
		name string
		want []string
	}{
		{"rwx", []string{"mmap(RWX) = " + eacces}},
		{"jit", []string{"mprotect(written, RX) = " + eacces}},
		{"twostep", []string{"mprotect(written, R) = 0", "mprotect(was written, RX) = " + eacces}},
		{"filerx", []string{"mmap(/bin/true, RX) = 0", "mprotect(file, RX) = 0"}},
	}
	for _, c := range cases {
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", deny}, prog, c.name)
		for _, w := range c.want {
			if !strings.Contains(string(res.Stdout), w) {
				t.Errorf("%s under wx: deny: want %q\n%s", c.name, w, res.describe())
			}
		}
	}
	for _, argv := range [][]string{{"/usr/bin/python3", "-c", "import json; print(json.dumps([1]))"}, {"/bin/sh", "-c", "ls / | wc -l"}, {"/usr/bin/sort", "--version"}} {
		if res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", deny}, argv...); res.Status != 0 {
			t.Errorf("%v under wx: deny\n%s", argv, res.describe())
		}
	}
	// Default policy: a JIT works, as natively.
	res := runSandbox(t, runSpec{Dir: dir}, nil, prog, "jit")
	if !strings.Contains(string(res.Stdout), "jit returned 42") {
		t.Errorf("JIT under the default policy\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, nil, prog, "rwx")
	if !strings.Contains(string(res.Stdout), "mmap(RWX) = 0") {
		t.Errorf("RWX under the default policy\n%s", res.describe())
	}
}

// TestExecMappingsReadOnly: with memory.exec_mappings: readonly, code can
// be mapped executable only from files of read-only mounts: not from the
// read-write cwd, not from a memfd (the guest could have written both).
func TestExecMappingsReadOnly(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "wx", dir, "wx")
	pol := policyWith(t, "memory:\n  exec_mappings: readonly")
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, prog, "writtenfile")
	for _, w := range []string{"mmap(/bin/true, RX) = 0", "mmap(cwd file, RX) = " + rawErr(13, "EACCES"), "mmap(memfd, RX) = " + rawErr(13, "EACCES")} {
		if !strings.Contains(string(res.Stdout), w) {
			t.Errorf("want %q\n%s", w, res.describe())
		}
	}
	// The guest's own program lives in the rw cwd: the kernel maps it at
	// exec, which this rule does not (and need not) stop; sh and python
	// (libraries from /usr) run.
	for _, argv := range [][]string{{"/bin/sh", "-c", "echo ok"}, {"/usr/bin/python3", "-c", "print(1)"}} {
		if r := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, argv...); r.Status != 0 {
			t.Errorf("%v\n%s", argv, r.describe())
		}
	}
	// Default policy: all three work, as natively.
	res = runSandbox(t, runSpec{Dir: dir}, nil, prog, "writtenfile")
	if !strings.Contains(string(res.Stdout), "mmap(memfd, RX) = 0") {
		t.Errorf("default policy\n%s", res.describe())
	}
}

// TestAddressSpaceLimit: limits.address_space gives ENOMEM beyond it.
func TestAddressSpaceLimit(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "wx", dir, "wx")
	pol := policyWith(t, "limits:\n  processes: 1024\n  address_space: 512M")
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, prog, "bigalloc")
	if !strings.Contains(string(res.Stdout), "mmap(1 GiB) = "+rawErr(12, "ENOMEM")) {
		t.Errorf("want ENOMEM\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, nil, prog, "bigalloc")
	if !strings.Contains(string(res.Stdout), "mmap(1 GiB) = 0") {
		t.Errorf("without the limit\n%s", res.describe())
	}
}

// TestRlimits: limits.files gives EMFILE, limits.file_size kills with
// SIGXFSZ, limits.cpu with SIGXCPU, and sandbox says why at exit; no core
// files.
func TestRlimits(t *testing.T) {
	dir := t.TempDir()
	pol := policyWith(t, "limits:\n  processes: 1024\n  files: 16\n  file_size: 1M\n  cpu: 1")
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/usr/bin/python3", "-c", `import os
fds = []
try:
    while True: fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e: print("open failed", e.errno, len(fds) < 16)`)
	if !strings.Contains(string(res.Stdout), "open failed 24 True") ||
		!strings.Contains(string(res.Stderr), "1 call(s) failed with EMFILE: a process reached its open-file limit (RLIMIT_NOFILE; limits.files: 16)") {
		t.Errorf("files: want EMFILE and an explanation\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/bin/true")
	if strings.Contains(string(res.Stderr), "limits.") {
		t.Errorf("no limit hit, yet an explanation\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/bin/sh", "-c", "head -c 2000000 /dev/zero > big")
	if res.Status != 128+25 || !strings.Contains(string(res.Stderr), "limits.file_size") {
		t.Errorf("file_size: want SIGXFSZ (153) and an explanation\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/usr/bin/python3", "-c", "while True: pass")
	if res.Status != 128+24 || !strings.Contains(string(res.Stderr), "limits.cpu") {
		t.Errorf("cpu: want SIGXCPU (152) and an explanation\n%s", res.describe())
	}
	res = runSandbox(t, runSpec{Dir: dir}, nil, "/bin/sh", "-c", "ulimit -c")
	if strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Errorf("core files must be off by default\n%s", res.describe())
	}
}
