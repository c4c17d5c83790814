package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	// pkgDir is integration/ (go test runs each package in its own directory).
	pkgDir string
	// repoRoot is the module root, one level up.
	repoRoot string
	// sandboxBin is the product under test: <repo>/bin/sandbox.
	sandboxBin string
	// ccCache holds the C programs compiled during this `go test` run.
	ccCache string

	ccMu    sync.Mutex
	ccBuilt = map[string]string{}
)

// baseEnv is the complete environment of every program we start, natively or
// sandboxed. A fixed environment keeps output deterministic (LC_ALL=C fixes
// sort order and messages) and keeps PATH away from the test runner's own
// (e.g. pyenv shims under /root, which the sandbox hides).
var baseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"LANG=C",
	"TZ=UTC",
	"HOME=/nonexistent",
}

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "getwd:", err)
		os.Exit(2)
	}
	pkgDir = wd
	repoRoot = filepath.Dir(wd)
	sandboxBin = filepath.Join(repoRoot, "bin", "sandbox")
	// SANDBOX_BIN substitutes another implementation, e.g. a pass-through
	// stub to check that the parity tests are deterministic and that the
	// escape tests do fail when nothing is enforced. Unset in normal runs.
	if alt := os.Getenv("SANDBOX_BIN"); alt != "" {
		sandboxBin = alt
	}
	scratch, err := makeScratchRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scratch dir:", err)
		os.Exit(2)
	}
	ccCache = filepath.Join(scratch, "cc")
	if err := os.Mkdir(ccCache, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkdir:", err)
		os.Exit(2)
	}
	closeInheritedFds()
	// The sched parity case sets nice values 3..7 and the guest has no
	// CAP_SYS_NICE: from a caller already at a higher nice (a background
	// job), natively root may lower it and the guest may not. Start every
	// run at nice 0 where we can (as root; otherwise the caller's nice is
	// what it is). Nice is per thread: every thread of ours, so that new
	// ones, cloned from them, start at 0 too.
	if ents, err := os.ReadDir("/proc/self/task"); err == nil {
		for _, e := range ents {
			if tid, err := strconv.Atoi(e.Name()); err == nil {
				unix.Setpriority(unix.PRIO_PROCESS, tid, 0)
			}
		}
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

// makeScratchRoot creates the directory under which every t.TempDir() of
// this run lives, and points TMPDIR at it (t.TempDir honours TMPDIR; the
// programs we start get baseEnv, not TMPDIR).
//
// It avoids the host /tmp when it can: the guest's /tmp is a private empty
// directory, so a cwd inside host /tmp is a corner case (the cwd must be
// exposed *inside* the private /tmp). That corner case has its own test
// (TestParityCwdUnderHostTmp); it should not decide the fate of every other
// test. /var/tmp is hidden by the default policy too, but only the cwd is
// exposed from it, which is the ordinary "cwd is read-write" rule. An
// explicit TMPDIR other than /tmp is respected.
func makeScratchRoot() (string, error) {
	base := os.TempDir()
	if base == "/tmp" || strings.HasPrefix(base, "/tmp/") {
		if st, err := os.Stat("/var/tmp"); err == nil && st.IsDir() && syscall.Access("/var/tmp", 2 /* W_OK */) == nil {
			base = "/var/tmp"
		}
	}
	dir, err := os.MkdirTemp(base, "sandbox-integration-")
	if err != nil {
		return "", err
	}
	// Traversable by uid 65534 (unpriv_test.go) and the sandbox.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.Setenv("TMPDIR", dir)
}

// closeInheritedFds marks every descriptor above stderr close-on-exec. Go's
// os/exec only avoids leaking descriptors the Go runtime opened itself (they
// are O_CLOEXEC); descriptors that `go test` inherited from its own parent
// (a CI runner, a terminal multiplexer) would otherwise reach every child and
// shift fd numbering in the native runs, e.g. making F_DUPFD(fd, 10) return
// 11. The programs under test must start with exactly 0, 1 and 2 open.
func closeInheritedFds() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// requireSandbox returns the path of bin/sandbox or fails the test.
func requireSandbox(t *testing.T) string {
	t.Helper()
	st, err := os.Stat(sandboxBin)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("bin/sandbox not built: run make build (looked for %s)", sandboxBin)
	}
	return sandboxBin
}

// compileC builds integration/c/<name>.c once per test run and returns the
// path of the binary. probe is linked statically so that it runs under
// --root with an otherwise empty root; toctou needs pthreads.
func compileC(t *testing.T, name string) string {
	t.Helper()
	ccMu.Lock()
	defer ccMu.Unlock()
	if out, ok := ccBuilt[name]; ok {
		return out
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc not found in PATH: the integration tests compile C programs with gcc")
	}
	src := filepath.Join(pkgDir, "c", name+".c")
	out := filepath.Join(ccCache, name)
	args := []string{"-O1", "-Wall", "-std=gnu11", "-I", filepath.Join(pkgDir, "c"), "-o", out, src}
	switch name {
	case "probe":
		args = append(args, "-static")
	case "toctou", "execrace", "procview", "threads", "mem", "cwdrace", "execswap", "procs":
		args = append(args, "-pthread")
	case "exit42":
		args = append(args, "-static")
	case "bigbss":
		args = append(args, "-static", "-nostdlib", "-fno-stack-protector")
	case "ipc":
		args = append(args, "-lrt")
	}
	cmd := exec.Command("gcc", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ccBuilt[name] = out
	return out
}

// installC copies the compiled program into dir (so that it is reachable
// inside the sandbox, where only the cwd is writable/visible among our temp
// dirs) and returns the path of the copy.
func installC(t *testing.T, name, dir, as string) string {
	t.Helper()
	src := compileC(t, name)
	dst := filepath.Join(dir, as)
	installExecutable(t, src, dst)
	return dst
}

// installExecutable hard-links src to dst, copying only if linking fails.
// Writing executables while parallel subtests fork is the classic source of
// ETXTBSY ("text file busy", golang/go#22315): a child forked while our write
// fd is open keeps it until its exec. A hard link opens nothing for writing.
func installExecutable(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(src, dst); err == nil {
		return
	}
	copyFile(t, src, dst, 0o755)
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// writeFiles creates files (path relative to dir -> content), making parents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// resetDir empties dir so that the native and the sandboxed run of a case
// start from the same state in the same directory (same absolute path, which
// matters for getcwd output).
func resetDir(t *testing.T, dir string) {
	t.Helper()
	// Some cases leave directories without write/search permission.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// chownTree gives the whole tree to uid/gid and makes every ancestor of dir
// that the test created traversable, so an unprivileged user can work there.
func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	// t.TempDir() lives in a per-test 0700 directory.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runSpec describes how to start one process.
type runSpec struct {
	Dir     string
	Stdin   string
	Env     []string // added to baseEnv
	Cred    *syscall.Credential
	Timeout time.Duration // default 60s
	// Sandbox overrides the bin/sandbox path (used by the uid-65534 tests).
	Sandbox string
}

// result is what we compare: stdout, stderr and the exit status.
type result struct {
	Argv   []string
	Stdout []byte
	Stderr []byte
	// Status is the exit code, or 128+N when the process was killed by
	// signal N (the shell convention, which bin/sandbox must reproduce).
	Status int
	// Signal is set when the process we started itself died from a signal.
	// For bin/sandbox this must never happen: it has to report the guest's
	// death as an exit status.
	Signal  syscall.Signal
	Elapsed time.Duration
}

func (r result) describe() string {
	sig := ""
	if r.Signal != 0 {
		sig = fmt.Sprintf(" (killed by signal %d, %v)", int(r.Signal), r.Signal)
	}
	return fmt.Sprintf("argv: %q\nstatus: %d%s\nstdout:\n%s\nstderr:\n%s", r.Argv, r.Status, sig,
		indent(string(r.Stdout)), indent(string(r.Stderr)))
}

func indent(s string) string {
	if s == "" {
		return "    <empty>"
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > 200 {
		lines = append(lines[:200], fmt.Sprintf("... (%d more lines)", len(lines)-200))
	}
	return "    " + strings.Join(lines, "\n    ")
}

var errTimeout = errors.New("timed out")

// execute starts argv and waits for it. The process runs in its own process
// group; on timeout the whole group is SIGKILLed so that a hung sandbox (or a
// guest it leaked) cannot keep the test waiting on the output pipes.
func execute(argv []string, s runSpec) (result, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	run := func() error {
		stdout.Reset()
		stderr.Reset()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = s.Dir
		cmd.Env = append(append([]string{}, baseEnv...), s.Env...)
		cmd.Stdin = strings.NewReader(s.Stdin)
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.Cred}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		return cmd.Run()
	}

	start := time.Now()
	err := run()
	// Residual ETXTBSY (see installExecutable) is retried, not reported.
	for i := 0; i < 5 && errors.Is(err, syscall.ETXTBSY); i++ {
		time.Sleep(100 * time.Millisecond)
		err = run()
	}
	res := result{Argv: argv, Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%w after %v: %q", errTimeout, timeout, argv)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.Signal = ws.Signal()
			res.Status = 128 + int(ws.Signal())
		} else {
			res.Status = ws.ExitStatus()
		}
	default:
		return res, fmt.Errorf("running %q: %w", argv, err)
	}
	return res, nil
}

func mustRun(t *testing.T, argv []string, s runSpec) result {
	t.Helper()
	res, err := execute(argv, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.describe())
	}
	return res
}

// runNative runs argv directly on the host.
func runNative(t *testing.T, s runSpec, argv ...string) result {
	t.Helper()
	return mustRun(t, argv, s)
}

// sandboxArgv builds `bin/sandbox run FLAGS -- ARGV...`.
func sandboxArgv(bin string, flags []string, argv []string) []string {
	out := []string{bin, "run"}
	out = append(out, flags...)
	out = append(out, "--")
	return append(out, argv...)
}

// runSandbox runs argv under `bin/sandbox run FLAGS --`.
func runSandbox(t *testing.T, s runSpec, flags []string, argv ...string) result {
	t.Helper()
	bin := s.Sandbox
	if bin == "" {
		bin = requireSandbox(t)
	}
	res := mustRun(t, sandboxArgv(bin, flags, argv), s)
	if res.Signal != 0 {
		t.Errorf("bin/sandbox itself was killed by signal %v; it must exit with status 128+signal instead\n%s",
			res.Signal, res.describe())
	}
	return res
}

// compareRuns requires identical stdout and exit status (and stderr when
// asked) between a native and a sandboxed run.
func compareRuns(t *testing.T, native, sandboxed result, withStderr bool) {
	t.Helper()
	ok := true
	if !bytes.Equal(native.Stdout, sandboxed.Stdout) {
		ok = false
		t.Errorf("stdout differs (- native, + sandbox):\n%s", lineDiff(string(native.Stdout), string(sandboxed.Stdout)))
	}
	if withStderr && !bytes.Equal(native.Stderr, sandboxed.Stderr) {
		ok = false
		t.Errorf("stderr differs (- native, + sandbox):\n%s", lineDiff(string(native.Stderr), string(sandboxed.Stderr)))
	}
	if native.Status != sandboxed.Status {
		ok = false
		t.Errorf("exit status differs: native %d, sandbox %d", native.Status, sandboxed.Status)
	}
	if !ok {
		t.Logf("native run:\n%s", native.describe())
		t.Logf("sandboxed run:\n%s", sandboxed.describe())
	}
}

// lineDiff renders a minimal line diff (LCS based) of two outputs.
func lineDiff(a, b string) string {
	al := splitLines(a)
	bl := splitLines(b)
	// Trim the common prefix and suffix so the LCS table stays small.
	pre := 0
	for pre < len(al) && pre < len(bl) && al[pre] == bl[pre] {
		pre++
	}
	suf := 0
	for suf < len(al)-pre && suf < len(bl)-pre && al[len(al)-1-suf] == bl[len(bl)-1-suf] {
		suf++
	}
	am, bm := al[pre:len(al)-suf], bl[pre:len(bl)-suf]
	var out []string
	ctx := pre - 3
	if ctx < 0 {
		ctx = 0
	}
	if ctx > 0 {
		out = append(out, fmt.Sprintf("@@ %d identical lines skipped @@", ctx))
	}
	for _, l := range al[ctx:pre] {
		out = append(out, "  "+l)
	}
	if len(am)*len(bm) > 4_000_000 {
		for _, l := range am {
			out = append(out, "- "+l)
		}
		for _, l := range bm {
			out = append(out, "+ "+l)
		}
	} else {
		n, m := len(am), len(bm)
		lcs := make([][]int, n+1)
		for i := range lcs {
			lcs[i] = make([]int, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && am[i] == bm[j]:
				out = append(out, "  "+am[i])
				i++
				j++
			case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
				out = append(out, "+ "+bm[j])
				j++
			default:
				out = append(out, "- "+am[i])
				i++
			}
		}
	}
	tail := al[len(al)-suf:]
	for k, l := range tail {
		if k == 3 {
			out = append(out, fmt.Sprintf("@@ %d identical lines skipped @@", len(tail)-3))
			break
		}
		out = append(out, "  "+l)
	}
	return strings.Join(out, "\n")
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimSuffix(l, "\n")
		} else {
			lines[i] = l + "  <no newline at end>"
		}
	}
	return lines
}

// cEscape mirrors putesc() in c/raw.h so tests can predict probe output.
func cEscape(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// rawErr is how the C programs print a raw -errno return: the 64-bit two's
// complement in hex plus the name, e.g. "ffffffffffffffda (-ENOSYS)".
func rawErr(e syscall.Errno, name string) string {
	return fmt.Sprintf("%x (-%s)", uint64(-int64(e)), name)
}

// treeSnapshot records every path under dir with its type, mode and content,
// so a test can prove from outside that a sandboxed run changed nothing.
func treeSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			desc += " " + cEscape(data)
		}
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func diffSnapshots(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			out = append(out, fmt.Sprintf("removed: %s (%s)", k, v))
		} else if v != w {
			out = append(out, fmt.Sprintf("changed: %s: %s => %s", k, v, w))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("created: %s (%s)", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// readAllLimited is io.ReadAll with a cap, for host files we only compare.
func readAllLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
