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
