package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sandbox/landlock"
)

// The syscalls the sentry performs itself, whose lines must match strace.
var tracedCalls = []string{"openat", "open", "newfstatat", "stat", "lstat", "access", "faccessat2",
	"readlink", "readlinkat", "getcwd", "mkdir", "unlink", "rename", "chdir"}

var (
	pidPrefix = regexp.MustCompile(`^(\[pid +\d+\] |\d+ +)`)
	hexAddr   = regexp.MustCompile(`0x[0-9a-f]+`)
)

// normTrace keeps the lines of tracedCalls, without pids or addresses.
func normTrace(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = pidPrefix.ReplaceAllString(line, "")
		name, _, ok := strings.Cut(line, "(")
		if !ok {
			continue
		}
		// strace aligns short lines' results; we do not.
		if i := strings.LastIndex(line, ") "); i >= 0 {
			line = line[:i+1] + " " + strings.TrimLeft(line[i+1:], " ")
		}
		for _, c := range tracedCalls {
			if name == c {
				out = append(out, hexAddr.ReplaceAllString(line, "ADDR"))
			}
		}
	}
	sort.Strings(out) // processes interleave differently
	return out
}

// TestTraceMatchesStrace runs each program under strace -f and under
// sandbox --trace, and requires the same lines for every call the sentry
// performs itself (name, decoded arguments, result; pids and addresses
// aside).
func TestTraceMatchesStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is not installed: make test installs it")
	}
	sb := requireSandbox(t)
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"cat", []string{"/usr/bin/cat", "/etc/hostname", "missing"}},
		{"ls", []string{"/usr/bin/ls", "-1", "."}},
		{"python3", []string{"/usr/bin/python3", "-I", "-c", "import os; print(os.getcwd()); open('x', 'w').write('y')"}},
		{"sh-pipeline", []string{"/bin/sh", "-c", "cat /etc/hostname | wc -c; mkdir d; cd d && pwd"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"a.txt": "a"})
			// -ff: one file per process, so no line is split by another
			// process's.
			nativeDir := t.TempDir()
			cmd := exec.Command(strace, append([]string{"-ff", "-qq", "-o", filepath.Join(nativeDir, "t"), "-e", "trace=" + strings.Join(tracedCalls, ",")}, c.argv...)...)
			cmd.Dir, cmd.Env = dir, baseEnv
			cmd.Run()
			var nb []byte
			files, _ := filepath.Glob(filepath.Join(nativeDir, "t.*"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				nb = append(nb, b...)
			}
			resetDir(t, dir)
			writeFiles(t, dir, map[string]string{"a.txt": "a"})
			boxed := filepath.Join(t.TempDir(), "boxed")
			// HOME as natively: programs look in it.
			args := append([]string{"run", "--trace=" + boxed, "--env", "HOME=/nonexistent", "--"}, c.argv...)
			cmd = exec.Command(sb, args...)
			cmd.Dir, cmd.Env = dir, baseEnv
			cmd.Run()
			bb, _ := os.ReadFile(boxed)
			n, b := normTrace(string(nb)), normTrace(string(bb))
			if len(n) == 0 {
				t.Fatalf("strace recorded nothing:\n%s", nb)
			}
			if d := lineDiff(strings.Join(n, "\n"), strings.Join(b, "\n")); strings.Join(n, "\n") != strings.Join(b, "\n") {
				t.Fatalf("trace lines differ from strace (- strace, + sandbox):\n%s", d)
			}
		})
	}
}

// TestTraceShowsPolicyReason: a denied call carries its reason.
func TestTraceShowsPolicyReason(t *testing.T) {
	dir := t.TempDir()
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--trace"}, "/usr/bin/python3", "-c", "import socket; socket.socket()")
	if !strings.Contains(string(res.Stderr), `socket(AF_INET, 524289, 0) = -1 EACCES (Permission denied) <policy: network is off in this policy>`) &&
		!strings.Contains(string(res.Stderr), `= -1 EACCES (Permission denied) <policy: network is off in this policy>`) {
		t.Fatalf("no policy reason in the trace\n%s", res.describe())
	}
}

// TestJSONLogs: --log-format json writes JSON lines with level, msg, time.
func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--log-format", "json", "-v"}, "/bin/true")
	lines := strings.Split(strings.TrimSpace(string(res.Stderr)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no logs\n%s", res.describe())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		for _, k := range []string{"level", "msg", "time"} {
			if _, ok := m[k]; !ok {
				t.Errorf("log line lacks %q: %s", k, l)
			}
		}
	}
}

// TestTraceAll: --trace=all shows pass-class calls too (mmap, brk), and
// the program still works.
func TestTraceAll(t *testing.T) {
	dir := t.TempDir()
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--trace=all"}, "/bin/sh", "-c", "echo hi")
	if res.Status != 0 || string(res.Stdout) != "hi\n" {
		t.Fatalf("%s", res.describe())
	}
	for _, want := range []string{"] mmap(", "] brk(", "] openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3", "] write(1, \"hi\\n\", 3) = ? <continued>"} {
		if !strings.Contains(string(res.Stderr), want) {
			t.Errorf("--trace=all lacks %q\n%s", want, res.describe())
		}
	}
	// The sandbox's own init stage is not the guest: the trace starts at
	// the guest's execve.
	if first, _, _ := strings.Cut(string(res.Stderr), "\n"); !strings.Contains(first, "] execve(") {
		t.Errorf("the trace does not start with the guest's execve: %q", first)
	}
}

// TestLayersReported: -v names the layers the init stage really set up,
// also with --trace=all, where the stage's report goes through the sentry
// and arrives after the listener was taken by scanning.
func TestLayersReported(t *testing.T) {
	dir := t.TempDir()
	want := []string{}
	if abi := landlock.ABI(); abi > 0 {
		want = append(want, fmt.Sprintf("+landlock(abi %d)", abi))
	}
	if os.Geteuid() == 0 {
		want = append(want, "+mountns(private /tmp")
	}
	for _, flags := range [][]string{{"-v"}, {"-v", "--trace=all"}} {
		res := runSandbox(t, runSpec{Dir: dir}, flags, "/bin/true")
		for _, w := range want {
			if res.Status != 0 || !strings.Contains(string(res.Stderr), w) {
				t.Errorf("%v: the log lacks %q\n%s", flags, w, res.describe())
			}
		}
	}
}
