package integration

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Escape tests: every guarantee is judged from outside the sandbox, by the
// host filesystem after the run, by the exit status, or by comparing what the
// guest printed against data only the test (on the host) can read.
//
// Most checks use integration/c/probe.c, which prints one line per operation
// ("cat /x: ENOENT", `cat /y: ok "content"`), so the expected errno of every
// single access is asserted, not just "something failed".

// probeStep is one probe operation and the outcomes it may legitimately have.
type probeStep struct {
	args []string
	// want lists acceptable results (the text after "<op> <path>: ").
	want []string
	// check, if set, validates the result instead of want.
	check func(got string) error
}

func step(args string, want ...string) probeStep {
	return probeStep{args: strings.Fields(args), want: want}
}

// stepArgs is step for arguments that may contain spaces.
func stepArgs(args []string, want ...string) probeStep {
	return probeStep{args: args, want: want}
}

func probeArgv(probe string, steps []probeStep) []string {
	argv := []string{probe}
	for _, s := range steps {
		argv = append(argv, s.args...)
	}
	return argv
}

// checkProbe matches the probe's output lines against the steps.
func checkProbe(t *testing.T, res result, steps []probeStep) {
	t.Helper()
	if res.Status != 0 {
		t.Errorf("probe exited with status %d, want 0\n%s", res.Status, res.describe())
		return
	}
	lines := splitLines(string(res.Stdout))
	if len(lines) != len(steps) {
		t.Errorf("probe printed %d lines for %d operations\n%s", len(lines), len(steps), res.describe())
	}
	for i, s := range steps {
		if i >= len(lines) {
			break
		}
		prefix := s.args[0] + " " + s.args[1] + ": "
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d: got %q, want prefix %q", i+1, lines[i], prefix)
			continue
		}
		got := strings.TrimPrefix(lines[i], prefix)
		if s.check != nil {
			if err := s.check(got); err != nil {
				t.Errorf("%s %s: %v (got %s)", s.args[0], s.args[1], err, clip(got))
			}
			continue
		}
		ok := false
		for _, w := range s.want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("%s: got %s, want one of %q", strings.Join(s.args, " "), clip(got), s.want)
		}
	}
}

// lsSubset accepts an "ls" result whose names are all in allowed.
func lsSubset(allowed ...string) func(string) error {
	return func(got string) error {
		if !strings.HasPrefix(got, "ok") {
			return fmt.Errorf("listing failed")
		}
		names := strings.TrimSpace(strings.TrimPrefix(got, "ok"))
		if names == "" {
			return nil
		}
		var extra []string
		for _, n := range strings.Split(names, ",") {
			found := false
			for _, a := range allowed {
				found = found || n == a
			}
			if !found {
				extra = append(extra, n)
			}
		}
		if len(extra) > 0 {
			return fmt.Errorf("unexpected entries %q (allowed: %q)", extra, allowed)
		}
		return nil
	}
}

// lsExcludes accepts a successful "ls" result that does not list any of names.
func lsExcludes(names ...string) func(string) error {
	return func(got string) error {
		if !strings.HasPrefix(got, "ok") {
			return fmt.Errorf("listing failed")
		}
		for _, n := range strings.Split(strings.TrimSpace(strings.TrimPrefix(got, "ok")), ",") {
			for _, bad := range names {
				if n == bad {
					return fmt.Errorf("lists %q, which must be absent", bad)
				}
			}
		}
		return nil
	}
}

// clip quotes s, shortened: a failing escape test must show that host data
// leaked without copying all of it (think /etc/shadow) into CI logs.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// escInner is the C-escaped form of b without the surrounding quotes, for
// searching probe output for host data.
func escInner(b []byte) string {
	e := cEscape(b)
	return e[1 : len(e)-1]
}

// hostStat predicts probe's "stat" result for a host path that the sandbox
// exposes unchanged.
func hostStat(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("host stat %s: %v", p, err)
	}
	m := st.Mode()
	typ := "reg"
	switch {
	case m.IsDir():
		typ = "dir"
	case m&os.ModeCharDevice != 0:
		typ = "chr"
	case m&os.ModeDevice != 0:
		typ = "blk"
	case m&os.ModeNamedPipe != 0:
		typ = "fifo"
	case m&os.ModeSocket != 0:
		typ = "sock"
	}
	perm := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		perm |= 0o1000
	}
	return fmt.Sprintf("ok type=%s perm=%04o", typ, perm)
}

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

// mustNotExistOnHost fails if the sandboxed run created p on the host, and
// removes it so a product bug does not leave litter in /usr or /etc.
func mustNotExistOnHost(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); err == nil {
		t.Errorf("ESCAPE: %s was created on the host", p)
		os.RemoveAll(p)
	}
}

func expectUnchanged(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if d := diffSnapshots(before, after); len(d) > 0 {
		t.Errorf("ESCAPE: %s changed on the host:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// TestEscapeRootSymlinks: with --root DIR, no symlink, ".." or absolute
// path inside DIR may reach host files. DIR/etc/passwd holds a marker: reading
// "/etc/passwd" through any trick must give the marker or ENOENT.
func TestEscapeRootSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	probe := compileC(t, "probe")

	const passwdMarker = "MARKER-PASSWD: not the host file\n"
	const hostnameMarker = "MARKER-HOSTNAME\n"
	const outsideSecret = "HOST-ONLY-TARGET outside the root\n"
	installExecutable(t, probe, filepath.Join(root, "bin", "probe"))
	writeFiles(t, root, map[string]string{
		"etc/passwd":   passwdMarker,
		"etc/hostname": hostnameMarker,
		"sub/keep":     "keep\n",
	})
	writeFiles(t, outside, map[string]string{"target": outsideSecret})
	target := filepath.Join(outside, "target")
	relTarget, err := filepath.Rel(root, target) // e.g. ../002/target
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"evil": "/etc/passwd",
		"rel":  "../../../../etc/passwd",
		// Deep enough that, resolved on the host, it reaches the real
		// /etc/passwd whatever the depth of DIR.
		"rel32":    strings.Repeat("../", 32) + "etc/passwd",
		"up":       "/..",
		"dotdot":   "..",
		"sub/deep": strings.Repeat("../", 32) + "etc/passwd",
		"sub/abs":  "/etc",
		"out":      target,
		"outrel":   relTarget,
		"outdir":   outside,
		"sub/out2": filepath.Join("..", relTarget),
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	rootBefore := treeSnapshot(t, root)
	outsideBefore := treeSnapshot(t, outside)
	// Names that, should the sandbox leak writes to the host "/", land on
	// unique paths the test can detect and remove.
	hostNewfile := "/" + unique("sandbox-root-newfile")
	hostNewdir := "/" + unique("sandbox-root-newdir")
	t.Cleanup(func() { os.Remove(hostNewfile); os.RemoveAll(hostNewdir) })

	passwd := "ok " + cEscape([]byte(passwdMarker))
	hostname := "ok " + cEscape([]byte(hostnameMarker))
	topLevel := []string{"bin", "etc", "sub", "dev", "tmp"}
	for name := range links {
		if !strings.Contains(name, "/") {
			topLevel = append(topLevel, name)
		}
	}
	steps := []probeStep{
		step("cat /evil", passwd, "ENOENT"),
		step("cat /rel", passwd, "ENOENT"),
		step("cat /rel32", passwd, "ENOENT"),
		step("cat /up/etc/passwd", passwd, "ENOENT"),
		step("cat /up/up/up/etc/passwd", passwd, "ENOENT"),
		step("cat /dotdot/etc/passwd", passwd, "ENOENT"),
		step("cat /sub/deep", passwd, "ENOENT"),
		step("cat /sub/abs/passwd", passwd, "ENOENT"),
		step("cat /etc/../../../etc/passwd", passwd, "ENOENT"),
		step("cat /bin/../../etc/passwd", passwd, "ENOENT"),
		step("cat /../../../etc/hostname", hostname, "ENOENT"),
		// Host paths that exist outside DIR must not resolve.
		step("cat /out", "ENOENT"),
		step("cat /outrel", "ENOENT"),
		step("cat /sub/out2", "ENOENT"),
		step("cat /outdir/target", "ENOENT"),
		stepArgs([]string{"cat", target}, "ENOENT"),
		// The host path of DIR's own passwd is not a guest path.
		stepArgs([]string{"cat", filepath.Join(root, "etc", "passwd")}, "ENOENT"),
		// Listings of "/" however reached show DIR, never the host root.
		{args: []string{"ls", "/"}, check: lsSubset(topLevel...)},
		{args: []string{"ls", "/.."}, check: lsSubset(topLevel...)},
		{args: []string{"ls", "/up"}, check: lsSubset(topLevel...)},
		{args: []string{"ls", "/up/up"}, check: lsSubset(topLevel...)},
		{args: []string{"ls", "/dotdot"}, check: lsSubset(topLevel...)},
		// The root is read-only, and writes through links must not land
		// outside it. (Only links whose escape target is a test-owned temp
		// dir are written through: a broken sandbox must not be able to
		// clobber real host files during the test.)
		stepArgs([]string{"write", hostNewfile, "x"}, "EROFS"),
		step("write /sub/newfile x", "EROFS"),
		stepArgs([]string{"mkdir", hostNewdir}, "EROFS"),
		step("write /out x", "ENOENT", "EROFS"),
		step("write /outrel x", "ENOENT", "EROFS"),
		step("write /outdir/planted x", "ENOENT", "EROFS"),
		stepArgs([]string{"write", filepath.Join(outside, "planted2"), "x"}, "ENOENT", "EROFS"),
		step("unlink /sub/keep", "EROFS"),
	}
	work := t.TempDir()
	res := runSandbox(t, runSpec{Dir: work}, []string{"--root", root, "--cwd", "/"}, probeArgv("/bin/probe", steps)...)
	checkProbe(t, res, steps)

	// Whatever the per-line verdicts, host-only content must never appear.
	if hostPasswd, err := readAllLimited("/etc/passwd", 4096); err == nil && len(hostPasswd) > 0 {
		first := strings.SplitN(string(hostPasswd), "\n", 2)[0]
		if first != "" && strings.Contains(string(res.Stdout), escInner([]byte(first))) {
			t.Errorf("ESCAPE: guest output contains the host /etc/passwd line %q", first)
		}
	}
	if strings.Contains(string(res.Stdout), "HOST-ONLY-TARGET") {
		t.Errorf("ESCAPE: guest read %s through a symlink", target)
	}
	expectUnchanged(t, "--root DIR", rootBefore, treeSnapshot(t, root))
	expectUnchanged(t, "directory outside --root", outsideBefore, treeSnapshot(t, outside))
	mustNotExistOnHost(t, hostNewfile)
	mustNotExistOnHost(t, hostNewdir)
}

// TestEscapeRootProvidesDevAndTmp: --root still provides /dev and a private
// writable /tmp, without writing into DIR.
func TestEscapeRootProvidesDevAndTmp(t *testing.T) {
	root := t.TempDir()
	installExecutable(t, compileC(t, "probe"), filepath.Join(root, "bin", "probe"))
	scratch := "/tmp/" + unique("sandbox-root-scratch")
	t.Cleanup(func() { os.Remove(scratch) })
	steps := []probeStep{
		step("stat /dev/null", hostStat(t, "/dev/null")),
		step("write /dev/null x", "ok"),
		stepArgs([]string{"write", scratch, "hello"}, "ok"),
		stepArgs([]string{"cat", scratch}, `ok "hello"`),
		step("stat /etc/passwd", "ENOENT"), // DIR has no etc: the host's must not show through
		step("stat /usr", "ENOENT"),
	}
	res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--root", root, "--cwd", "/"}, probeArgv("/bin/probe", steps)...)
	checkProbe(t, res, steps)
	for k := range treeSnapshot(t, root) {
		if strings.Contains(k, "sandbox-root-scratch") {
			t.Errorf("guest /tmp is backed by DIR: found %s on the host", k)
		}
	}
	mustNotExistOnHost(t, scratch)
}

// TestEscapeProc: /proc shows only the sandbox's own processes, and their
// root, cwd and exe links resolve in the guest's view, so the classic
// /proc/self/root and /proc/1/root escapes reach nothing the guest could not
// reach anyway.
func TestEscapeProc(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	steps := []probeStep{
		step("cat /proc/self/root/etc/shadow", "ENOENT"),
		stepArgs([]string{"stat", "/proc/self/root/home"}, "ENOENT"),
		stepArgs([]string{"stat", "/proc/self/root" + filepath.Dir(repoRoot) + "/.." + "/root"}, "ENOENT"),
		step("stat /proc/1/root", "ENOENT"),
		step("ls /proc/1/root", "ENOENT"),
		step("cat /proc/1/root/etc/shadow", "ENOENT"),
		stepArgs([]string{"stat", fmt.Sprintf("/proc/%d", os.Getpid())}, "ENOENT"), // the test itself: a host process
		stepArgs([]string{"cat", fmt.Sprintf("/proc/%d/environ", os.Getpid())}, "ENOENT"),
		step("stat /proc/sys", "ENOENT"),
		step("stat /proc/kcore", "ENOENT"),
		step("stat /proc/sysrq-trigger", "ENOENT"),
		// Controls: the guest's own /proc entries exist and lead into its
		// own view.
		step("stat /proc/self/root", "ok type=dir perm=0755"),
		step("stat /proc/self/root/etc/passwd", hostStat(t, "/etc/passwd")),
		step("stat /etc/passwd", hostStat(t, "/etc/passwd")),
	}
	res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)

	// The sandbox's own processes (the sentry and the watchdog are the
	// guest's ancestors) are not in the guest's /proc either.
	res = runSandbox(t, runSpec{Dir: dir}, nil, "/bin/sh", "-c", `p=$PPID; ls /proc/$p 2>&1; ls /proc | grep -c -x "$p"`)
	if strings.Contains(string(res.Stdout), "status") || !strings.Contains(string(res.Stdout), "No such file") {
		t.Errorf("the guest can see its watchdog's /proc entry\n%s", res.describe())
	}

	res = runSandbox(t, runSpec{Dir: dir}, nil, "/usr/bin/cat", "/proc/self/root/etc/shadow")
	if res.Status == 0 || len(res.Stdout) != 0 || !strings.Contains(string(res.Stderr), "No such file or directory") {
		t.Errorf("cat /proc/self/root/etc/shadow: want ENOENT failure; got status %d, stdout %s, stderr %s",
			res.Status, clip(string(res.Stdout)), clip(string(res.Stderr)))
	}
}

// TestEscapeWriteOutside: the default policy's read-only host trees give
// EROFS and nothing appears on the host.
func TestEscapeWriteOutside(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	name := unique("sandbox-evil")
	var targets []string
	for _, top := range []string{"/usr", "/etc", "/bin", "/lib", "/opt"} {
		if st, err := os.Stat(top); err == nil && st.IsDir() {
			targets = append(targets, filepath.Join(top, name))
		}
	}
	for _, p := range targets {
		p := p
		t.Cleanup(func() { os.RemoveAll(p); os.RemoveAll(p + ".d") })
	}

	t.Run("probe", func(t *testing.T) {
		var steps []probeStep
		for _, p := range targets {
			steps = append(steps, stepArgs([]string{"write", p, "x"}, "EROFS"))
			steps = append(steps, stepArgs([]string{"mkdir", p + ".d"}, "EROFS"))
		}
		res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
		checkProbe(t, res, steps)
		for _, p := range targets {
			mustNotExistOnHost(t, p)
			mustNotExistOnHost(t, p+".d")
		}
	})

	for _, top := range []string{"/usr", "/etc"} {
		p := filepath.Join(top, name+"-sh")
		t.Cleanup(func() { os.Remove(p) })
		t.Run("sh-echo-"+strings.TrimPrefix(top, "/"), func(t *testing.T) {
			res := runSandbox(t, runSpec{Dir: dir}, nil, "/bin/sh", "-c", "echo x > "+p)
			if res.Status == 0 {
				t.Errorf("echo x > %s succeeded inside the sandbox", p)
			}
			if !strings.Contains(string(res.Stderr), "Read-only file system") {
				t.Errorf("want EROFS (\"Read-only file system\") from the shell\n%s", res.describe())
			}
			mustNotExistOnHost(t, p)
		})
	}
}

// TestEscapeBindFlags: --ro exposes a host dir unmodifiable, --rw writable;
// both are judged on the host afterwards.
func TestEscapeBindFlags(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	ro := t.TempDir()
	rw := t.TempDir()
	writeFiles(t, ro, map[string]string{"keep": "original\n"})
	roBefore := treeSnapshot(t, ro)

	steps := []probeStep{
		stepArgs([]string{"cat", filepath.Join(ro, "keep")}, `ok "original\n"`),
		stepArgs([]string{"write", filepath.Join(ro, "keep"), "clobbered"}, "EROFS"),
		stepArgs([]string{"write", filepath.Join(ro, "new"), "x"}, "EROFS"),
		stepArgs([]string{"unlink", filepath.Join(ro, "keep")}, "EROFS"),
		stepArgs([]string{"chmod", filepath.Join(ro, "keep"), "777"}, "EROFS"),
		stepArgs([]string{"truncate", filepath.Join(ro, "keep"), "0"}, "EROFS"),
		stepArgs([]string{"rename", filepath.Join(ro, "keep"), filepath.Join(ro, "moved")}, "EROFS"),
		stepArgs([]string{"mkdir", filepath.Join(ro, "d")}, "EROFS"),
		stepArgs([]string{"write", filepath.Join(rw, "new"), "from guest"}, "ok"),
		stepArgs([]string{"mkdir", filepath.Join(rw, "d")}, "ok"),
	}
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--ro", ro, "--rw", rw}, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)
	expectUnchanged(t, "--ro directory", roBefore, treeSnapshot(t, ro))
	if got, err := os.ReadFile(filepath.Join(rw, "new")); err != nil || string(got) != "from guest" {
		t.Errorf("--rw: host file %s = %q, %v; want \"from guest\"", filepath.Join(rw, "new"), got, err)
	}
	if st, err := os.Stat(filepath.Join(rw, "d")); err != nil || !st.IsDir() {
		t.Errorf("--rw: directory created by the guest missing on the host: %v", err)
	}
}

// TestEscapeHiddenHostDir: a host directory outside every exposed path is
// invisible: reads and writes by absolute path get ENOENT and nothing is
// created on the host.
func TestEscapeHiddenHostDir(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	hidden := map[string]string{"tempdir-sibling-of-cwd": t.TempDir()}
	// Directories in host /tmp (shadowed by the private /tmp) and in /var
	// (hidden as a whole by the default policy).
	for name, base := range map[string]string{"under-host-tmp": "/tmp", "under-var-tmp": "/var/tmp"} {
		if d, err := os.MkdirTemp(base, "sandbox-hidden-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			hidden[name] = d
		}
	}
	for name, h := range hidden {
		h := h
		t.Run(name, func(t *testing.T) {
			writeFiles(t, h, map[string]string{"existing": "host only\n"})
			before := treeSnapshot(t, h)
			steps := []probeStep{
				stepArgs([]string{"stat", h}, "ENOENT"),
				stepArgs([]string{"ls", h}, "ENOENT"),
				stepArgs([]string{"cat", filepath.Join(h, "existing")}, "ENOENT"),
				stepArgs([]string{"write", filepath.Join(h, "planted"), "x"}, "ENOENT"),
				stepArgs([]string{"write", filepath.Join(h, "existing"), "clobbered"}, "ENOENT"),
				stepArgs([]string{"mkdir", filepath.Join(h, "d")}, "ENOENT"),
			}
			res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
			checkProbe(t, res, steps)

			res = runSandbox(t, runSpec{Dir: dir}, nil, "/bin/sh", "-c", "echo x > "+filepath.Join(h, "planted_sh"))
			// dash reports ENOENT on a redirection as "Directory nonexistent".
			if res.Status == 0 || !regexp.MustCompile(`No such file or directory|Directory nonexistent`).Match(res.Stderr) {
				t.Errorf("shell redirection into hidden dir: want ENOENT failure\n%s", res.describe())
			}
			expectUnchanged(t, h, before, treeSnapshot(t, h))
		})
	}
}

// TestEscapeHideFlag: --hide removes one path from an otherwise exposed dir.
func TestEscapeHideFlag(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	s := t.TempDir()
	writeFiles(t, s, map[string]string{"visible": "visible\n", "secret": "TOP SECRET\n"})
	before := treeSnapshot(t, s)
	secret := filepath.Join(s, "secret")
	steps := []probeStep{
		stepArgs([]string{"cat", filepath.Join(s, "visible")}, `ok "visible\n"`),
		stepArgs([]string{"cat", secret}, "ENOENT"),
		stepArgs([]string{"stat", secret}, "ENOENT"),
		stepArgs([]string{"lstat", secret}, "ENOENT"),
		stepArgs([]string{"cat", filepath.Join(s, ".", "x", "..", "secret")}, "ENOENT"),
	}
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--rw", s, "--hide", secret}, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)
	if bytes.Contains(res.Stdout, []byte("TOP SECRET")) {
		t.Errorf("ESCAPE: hidden file content printed by the guest")
	}
	expectUnchanged(t, "--rw dir with --hide", before, treeSnapshot(t, s))

	// With hide_in_listings the name is absent from listings too.
	def, err := os.ReadFile(filepath.Join(repoRoot, "policies", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(t.TempDir(), "hide.yaml")
	doc := strings.Replace(string(def), "filesystem:\n", "filesystem:\n  hide_in_listings: true\n", 1)
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, probeStep{args: []string{"ls", s}, check: lsExcludes("secret")})
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol, "--rw", s, "--hide", secret}, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)
}

// TestEscapeHiddenDefaults: the default policy hides everything but the
// system trees; /etc/shadow and /etc/gshadow are hidden even inside /etc.
func TestEscapeHiddenDefaults(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	guestTmp := "/tmp/" + unique("sandbox-defaults-tmp")
	t.Cleanup(func() { os.Remove(guestTmp) })
	var steps []probeStep
	for _, p := range []string{"/root", "/home", "/var", "/srv", "/mnt", "/run", "/proc/1", "/sys", "/boot",
		"/etc/shadow", "/etc/gshadow", "/dev/mem", "/dev/kmsg", "/dev/sda", "/dev/shm/" + filepath.Base(shmMarker(t))} {
		if strings.HasPrefix(dir, p+"/") {
			continue // an ancestor of the cwd is necessarily reachable
		}
		steps = append(steps, stepArgs([]string{"stat", p}, "ENOENT"))
	}
	// The top-level directory holding the repository (e.g. /work) is
	// "some other top-level dir" unless it is one of the exposed ones.
	exposed := map[string]bool{"usr": true, "bin": true, "sbin": true, "lib": true, "lib64": true, "lib32": true,
		"libx32": true, "etc": true, "opt": true, "tmp": true, "dev": true, "proc": true}
	top := strings.SplitN(strings.TrimPrefix(repoRoot, "/"), "/", 2)[0]
	cwdTop := strings.SplitN(strings.TrimPrefix(dir, "/"), "/", 2)[0]
	if top != "" && !exposed[top] && top != cwdTop {
		steps = append(steps, stepArgs([]string{"stat", "/" + top}, "ENOENT"))
	}
	steps = append(steps,
		step("cat /etc/shadow", "ENOENT"),
		step("cat /etc/gshadow", "ENOENT"),
		step("cat /etc/../etc/shadow", "ENOENT"),
		step("cat /dev/../etc/shadow", "ENOENT"),
		// Controls: the policy exposes these; without them the ENOENTs above
		// would prove nothing.
		step("stat /usr", hostStat(t, "/usr")),
		step("stat /etc/passwd", hostStat(t, "/etc/passwd")),
		step("stat /dev/null", hostStat(t, "/dev/null")),
		step("stat /dev/urandom", hostStat(t, "/dev/urandom")),
		stepArgs([]string{"write", guestTmp, "y"}, "ok"),
	)
	if h, err := os.ReadFile("/etc/hostname"); err == nil {
		steps = append(steps, step("cat /etc/hostname", "ok "+cEscape(h)))
	}
	// ls / shows only exposed entries (plus the first component of the cwd).
	allowed := []string{}
	for k := range exposed {
		allowed = append(allowed, k)
	}
	if !exposed[cwdTop] {
		allowed = append(allowed, cwdTop)
	}
	sort.Strings(allowed)
	steps = append(steps, probeStep{args: []string{"ls", "/"}, check: lsSubset(allowed...)})
	res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)
	mustNotExistOnHost(t, guestTmp)

	// The same through ordinary tools.
	for _, c := range []struct{ argv []string }{
		{[]string{"/usr/bin/ls", "/root"}},
		{[]string{"/usr/bin/cat", "/etc/shadow"}},
		{[]string{"/usr/bin/stat", "/home"}},
	} {
		res := runSandbox(t, runSpec{Dir: dir}, nil, c.argv...)
		if res.Status == 0 || len(res.Stdout) != 0 || !strings.Contains(string(res.Stderr), "No such file or directory") {
			t.Errorf("%q: want ENOENT failure; got status %d, stdout %s, stderr %s",
				c.argv, res.Status, clip(string(res.Stdout)), clip(string(res.Stderr)))
		}
	}
}

// TestEscapePrivateTmp: /tmp is a fresh, private, empty directory per run and
// nothing written there reaches the host /tmp.
func TestEscapePrivateTmp(t *testing.T) {
	dir := t.TempDir()
	probe := installC(t, "probe", dir, "probe")
	marker := unique("sandbox-host-marker")
	markerPath := filepath.Join("/tmp", marker)
	if err := os.WriteFile(markerPath, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(markerPath) })
	guestName := unique("sandbox-guest-file")
	guestPath := filepath.Join("/tmp", guestName)
	t.Cleanup(func() { os.Remove(guestPath) })

	steps := []probeStep{
		stepArgs([]string{"stat", markerPath}, "ENOENT"),
		{args: []string{"ls", "/tmp"}, check: lsExcludes(marker)},
		stepArgs([]string{"write", guestPath, "guest data"}, "ok"),
		stepArgs([]string{"cat", guestPath}, `ok "guest data"`),
	}
	res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)

	// Not in host /tmp, and not left behind anywhere below it either (the
	// private /tmp is removed at exit).
	mustNotExistOnHost(t, guestPath)
	_ = filepath.WalkDir("/tmp", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fs.SkipDir
		}
		if strings.Count(p, "/") > 5 && d.IsDir() {
			return fs.SkipDir
		}
		if d.Name() == guestName {
			t.Errorf("guest /tmp file left on the host at %s", p)
		}
		return nil
	})

	// A second run starts with a fresh /tmp.
	steps = []probeStep{stepArgs([]string{"stat", guestPath}, "ENOENT")}
	res = runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
	checkProbe(t, res, steps)
}

// TestEscapeForbiddenSyscalls: only run in the sandbox; natively these
// behave differently (int $0x80 and x32 work or return ENOSYS, io_uring and
// clone3 fail with EFAULT/EINVAL, sockets open).
func TestEscapeForbiddenSyscalls(t *testing.T) {
	cases := []struct {
		name   string
		status int
		stdout string
	}{
		{"int80", 159, "before\n"},
		{"x32", 159, "before\n"},
		{"io_uring", 0, "io_uring_setup(1, NULL) = " + rawErr(38, "ENOSYS") + "\n"},
		{"clone3", 0, "clone3(NULL, 0) = " + rawErr(38, "ENOSYS") + "\n"},
		{"outside", 0, "kill(1, 0) = " + rawErr(3, "ESRCH") + "\n" +
			"kill(getppid(), 0) = " + rawErr(3, "ESRCH") + "\n" +
			"tgkill(1, 1, 0) = " + rawErr(3, "ESRCH") + "\n" +
			"pidfd_open(1) = " + rawErr(3, "ESRCH") + "\n" +
			"prlimit64(1, NOFILE, NULL, buf) = " + rawErr(3, "ESRCH") + "\n" +
			"prlimit64(1 | 1<<32, NOFILE, NULL, buf) = " + rawErr(3, "ESRCH") + "\n" +
			"sched_getattr(1 | 1<<32, buf, 56) = " + rawErr(3, "ESRCH") + "\n" +
			"prlimit64(1<<32, NOFILE, NULL, buf) = 0\n" +
			"setpriority(PROCESS, getppid(), 19) = " + rawErr(3, "ESRCH") + "\n" +
			"setpriority(PGRP, 0, 19) = " + rawErr(1, "EPERM") + "\n" +
			"setpriority(USER, 0, 19) = " + rawErr(1, "EPERM") + "\n" +
			"sched_setaffinity(getppid(), cpu0) = " + rawErr(3, "ESRCH") + "\n" +
			"ioprio_set(PROCESS, getppid(), idle) = " + rawErr(3, "ESRCH") + "\n" +
			"kill(getpid(), 0) = 0\n"},
		{"seccomp-listener", 0, "seccomp(FILTER, 0, allow-all) = 0\n" +
			"seccomp(FILTER, NEW_LISTENER, allow-all) = " + rawErr(1, "EPERM") + "\n" +
			"open after: ok\n"},
		{"socket", 0, "socket(AF_INET, SOCK_STREAM, 0) = " + rawErr(13, "EACCES") + "\n" +
			"socket(AF_INET, SOCK_DGRAM, 0) = " + rawErr(13, "EACCES") + "\n" +
			"socket(AF_INET6, SOCK_STREAM, 0) = " + rawErr(13, "EACCES") + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			prog := installC(t, "forbidden", dir, "forbidden")
			res := runSandbox(t, runSpec{Dir: dir}, nil, prog, c.name)
			if res.Status != c.status || string(res.Stdout) != c.stdout {
				t.Errorf("want status %d and stdout %q\n%s", c.status, c.stdout, res.describe())
			}
		})
	}
	t.Run("socket-libc", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		probe := installC(t, "probe", dir, "probe")
		steps := []probeStep{step("socket inet", "EACCES"), step("socket inet6", "EACCES")}
		res := runSandbox(t, runSpec{Dir: dir}, nil, probeArgv(probe, steps)...)
		checkProbe(t, res, steps)
	})
}

var toctouSummary = regexp.MustCompile(`(?m)^opens=(\d+) ok=(\d+) enoent=(\d+) othererr=(\d+) leaked=(\d+)$`)

type toctouStats struct{ opens, ok, enoent, othererr, leaked int }

func parseToctou(t *testing.T, res result) toctouStats {
	t.Helper()
	m := toctouSummary.FindStringSubmatch(string(res.Stdout))
	if m == nil {
		t.Fatalf("toctou: no summary line\n%s", res.describe())
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return toctouStats{n(1), n(2), n(3), n(4), n(5)}
}

// TestEscapeTOCTOU: a second thread flips the path buffer between a readable
// file and a forbidden one while the main thread opens it 20000 times. If the
// sandbox checks one version of the path and the kernel then opens another,
// the forbidden content leaks.
func TestEscapeTOCTOU(t *testing.T) {
	const iterations = "20000"

	t.Run("hidden-file", func(t *testing.T) {
		dir := t.TempDir()
		prog := installC(t, "toctou", dir, "toctou")
		probe := installC(t, "probe", dir, "probe")
		writeFiles(t, dir, map[string]string{"ok_file": "harmless\n"})
		s := t.TempDir()
		secretData := unique("SECRET-CONTENT") + "\n"
		writeFiles(t, s, map[string]string{"secret": secretData})
		secret := filepath.Join(s, "secret")
		flags := []string{"--rw", s, "--hide", secret}

		// Natively the secret is readable, so the detector must fire: this
		// proves the race is really exercised on this machine.
		native := runNative(t, runSpec{Dir: dir}, prog, "ok_file", secret, iterations)
		if st := parseToctou(t, native); st.leaked == 0 || st.ok == 0 {
			t.Fatalf("native run did not alternate between the two files (%+v); the race is not exercised", st)
		}

		// The policy under test really hides the secret.
		pre := []probeStep{stepArgs([]string{"cat", secret}, "ENOENT")}
		checkProbe(t, runSandbox(t, runSpec{Dir: dir}, flags, probeArgv(probe, pre)...), pre)

		res := runSandbox(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, flags, prog, "ok_file", secret, iterations)
		st := parseToctou(t, res)
		t.Logf("sandboxed: %+v in %v", st, res.Elapsed)
		if st.leaked != 0 || bytes.Contains(res.Stdout, []byte("SECRET-CONTENT")) {
			t.Errorf("ESCAPE: hidden file was opened %d times\n%s", st.leaked, res.describe())
		}
		if st.ok == 0 {
			t.Errorf("no open of ok_file succeeded: the test exercised nothing\n%s", res.describe())
		}
		if res.Status != 0 && st.leaked == 0 {
			t.Errorf("toctou exited with %d\n%s", res.Status, res.describe())
		}
	})

	t.Run("etc-shadow", func(t *testing.T) {
		shadow, err := os.ReadFile("/etc/shadow")
		if err != nil {
			t.Skipf("cannot read /etc/shadow from the test (%v); the hidden-file variant covers this", err)
		}
		dir := t.TempDir()
		prog := installC(t, "toctou", dir, "toctou")
		writeFiles(t, dir, map[string]string{"ok_file": "harmless\n"})
		res := runSandbox(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, nil, prog, "ok_file", "/etc/shadow", iterations)
		st := parseToctou(t, res)
		t.Logf("sandboxed: %+v in %v", st, res.Elapsed)
		head := shadow
		if len(head) > 16 {
			head = head[:16]
		}
		if st.leaked != 0 || (len(head) > 0 && strings.Contains(string(res.Stdout), escInner(head))) {
			t.Errorf("ESCAPE: /etc/shadow was opened %d times\n%s", st.leaked, res.describe())
		}
		if st.ok == 0 {
			t.Errorf("no open of ok_file succeeded: the test exercised nothing\n%s", res.describe())
		}
	})
}

// TestEscapeExecRace: execve is the one call the kernel resolves again after
// the sentry's check (DESIGN §6). A thread flipping the path to a hidden
// program must never get it run: the kernel layer (Landlock over the
// policy's trees) bounds what the kernel's own lookup can reach. The native
// run is the control that shows the flip really lands.
func TestEscapeExecRace(t *testing.T) {
	dir := t.TempDir()
	hiddenDir := t.TempDir() // under the scratch root in /var: hidden
	race := installC(t, "execrace", dir, "execrace")
	allowed := installC(t, "exit42", dir, "unused") // compile once
	_ = allowed
	forbidden := filepath.Join(hiddenDir, "forbidden")
	installExecutable(t, compileC(t, "exit42"), forbidden)
	argv := []string{race, "/usr/bin/true", forbidden, "300"}
	native := runNative(t, runSpec{Dir: dir}, argv...)
	if !strings.Contains(string(native.Stdout), "forbidden=") || strings.Contains(string(native.Stdout), "forbidden=0 ") {
		t.Fatalf("native control: the flip never ran the other program, so this test proves nothing\n%s", native.describe())
	}
	res := runSandbox(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, nil, argv...)
	if res.Status != 0 || !strings.Contains(string(res.Stdout), " forbidden=0 ") {
		t.Fatalf("sandbox: a hidden program ran through the exec race\n%s", res.describe())
	}
	t.Logf("native: %s sandbox: %s", strings.TrimSpace(string(native.Stdout)), strings.TrimSpace(string(res.Stdout)))
}

// TestEscapeFdAttrOnReadOnly: fchmod, fchown, fsetxattr, fremovexattr,
// futimens and chattr act on the inode whatever the fd's mode; through a
// read-only fd of a file in a --ro mount none may change the host file.
func TestEscapeFdAttrOnReadOnly(t *testing.T) {
	dir := t.TempDir()
	ro := t.TempDir()
	prog := installC(t, "fdattr", dir, "fdattr")
	target := filepath.Join(ro, "target")
	writeFiles(t, ro, map[string]string{"target": "data\n"})
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	xattrs := syscall.Setxattr(target, "user.keep", []byte("v"), 0) == nil
	before, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	dirBefore, err := os.Stat(ro)
	if err != nil {
		t.Fatal(err)
	}
	res := runSandbox(t, runSpec{Dir: ro}, []string{"--ro", ro, "--rw", dir}, prog, "ro")
	want := []string{
		"fchmod(0777) = " + rawErr(30, "EROFS"),
		"fchown(self) = " + rawErr(30, "EROFS"),
		"fsetxattr(user.x) = " + rawErr(30, "EROFS"),
		"fremovexattr(user.keep) = " + rawErr(30, "EROFS"),
		"futimens(1970) = " + rawErr(30, "EROFS"),
		"ioctl(FS_IOC_SETFLAGS) = " + rawErr(1, "EPERM"),
		`fchmodat2(fd, "", AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`fchownat(fd, "", AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`utimensat(fd, "", AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`fchmodat2(cwd, "", AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`utimensat(cwd, "", AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`faccessat2(fd, "", W_OK, AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`faccessat2(cwd, "", W_OK, AT_EMPTY_PATH) = ` + rawErr(30, "EROFS"),
		`faccessat2(cwd, "", R_OK, AT_EMPTY_PATH) = 0`,
		"setxattr(target, user.y) = " + rawErr(30, "EROFS"),
		"lsetxattr(target, user.y) = " + rawErr(30, "EROFS"),
		"removexattr(target, user.keep) = " + rawErr(30, "EROFS"),
		"lremovexattr(target, user.keep) = " + rawErr(30, "EROFS"),
	}
	for _, w := range want {
		if !strings.Contains(string(res.Stdout), w) {
			t.Errorf("want %q\n%s", w, res.describe())
		}
	}
	after, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("ESCAPE: host file changed: mode %v -> %v, mtime %v -> %v", before.Mode(), after.Mode(), before.ModTime(), after.ModTime())
	}
	if dirAfter, err := os.Stat(ro); err != nil || dirAfter.Mode() != dirBefore.Mode() || !dirAfter.ModTime().Equal(dirBefore.ModTime()) {
		t.Errorf("ESCAPE: host directory (the guest's cwd) changed: %v -> %v", dirBefore, dirAfter)
	}
	buf := make([]byte, 16)
	for _, name := range []string{"user.x", "user.y"} {
		if n, err := syscall.Getxattr(target, name, buf); err == nil {
			t.Errorf("ESCAPE: xattr %s set on the host file (%q)", name, buf[:n])
		}
	}
	if xattrs {
		if _, err := syscall.Getxattr(target, "user.keep", buf); err != nil {
			t.Errorf("ESCAPE: xattr user.keep removed from the host file")
		}
	}
}

// shmMarker puts a file in the host's /dev/shm that no guest may see (the
// guest's /dev/shm is private, like its /tmp).
func shmMarker(t *testing.T) string {
	p := filepath.Join("/dev/shm", unique("sandbox-shm-marker"))
	if err := os.WriteFile(p, []byte("host"), 0o644); err != nil {
		t.Skipf("cannot write the host's /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.Remove(p) })
	return p
}

// TestExecFromPrivateTmp: as root, the init stage binds the private /tmp at
// /tmp in a mount namespace of the guest's own, so programs written there
// run (the kernel resolves the same files as the sentry), also with the cwd
// inside the host /tmp, while a host file at the same path stays out of
// reach. Without that layer (unprivileged) the exec is refused with EACCES,
// never run from the host's /tmp.
func TestExecFromPrivateTmp(t *testing.T) {
	marker := unique("sbx-host-exec") + ".sh"
	hostPath := filepath.Join("/tmp", marker)
	if err := os.WriteFile(hostPath, []byte("#!/bin/sh\necho HOST FILE RAN\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(hostPath) })
	script := `printf '#!/bin/sh\necho ran $0\n' > /tmp/x.sh; chmod 755 /tmp/x.sh
/tmp/x.sh; cd /tmp && ./x.sh; cd /
printf 'int main(void){return 7;}' > /tmp/a.c && gcc -o /tmp/a /tmp/a.c && /tmp/a; echo "compiled: $?"
/tmp/` + marker + `; echo "host path: $?"`
	outside, err := os.MkdirTemp("/var/tmp", "sbx-exec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	os.Chmod(outside, 0o777)

	run := func(dir string, cred *syscall.Credential) string {
		res := runSandbox(t, runSpec{Dir: dir, Cred: cred}, nil, "/bin/sh", "-c", script)
		if strings.Contains(string(res.Stdout), "HOST FILE RAN") {
			t.Fatalf("ESCAPE: the guest ran the host's /tmp file\n%s", res.describe())
		}
		return string(res.Stdout) + string(res.Stderr)
	}
	refused := func(t *testing.T, out string) {
		t.Helper()
		for _, w := range []string{"/tmp/x.sh: Permission denied", "compiled: 126", "host path: 127"} {
			if !strings.Contains(out, w) {
				t.Errorf("want %q\n%s", w, out)
			}
		}
	}
	ran := func(t *testing.T, out string) {
		t.Helper()
		for _, w := range []string{"ran /tmp/x.sh\n", "ran ./x.sh\n", "compiled: 7\n", "host path: 127\n"} {
			if !strings.Contains(out, w) {
				t.Errorf("want %q\n%s", w, out)
			}
		}
		if _, err := os.Stat("/tmp/x.sh"); err == nil {
			t.Errorf("the guest's /tmp/x.sh reached the host /tmp")
		}
	}
	t.Run("cwd-outside-tmp", func(t *testing.T) {
		if !hasSysAdmin() {
			// No layer (unprivileged, or a container without the
			// capability): the exec is refused, never sent to the host file.
			refused(t, run(outside, nil))
			return
		}
		ran(t, run(outside, nil))
	})
	// The cwd is a mount inside /tmp: bound again on top of the private
	// /tmp, so both the cwd's files and /tmp's programs run.
	t.Run("cwd-under-host-tmp", func(t *testing.T) {
		if !hasSysAdmin() {
			t.Skip("no CAP_SYS_ADMIN here: the layer is not made, which the case above tests")
		}
		under, err := os.MkdirTemp("/tmp", "sbx-exec-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(under) })
		prog := installC(t, "exit42", under, "exit42")
		res := runSandbox(t, runSpec{Dir: under}, nil, "/bin/sh", "-c", "./exit42; echo cwd prog: $?; "+script)
		out := string(res.Stdout) + string(res.Stderr)
		if !strings.Contains(out, "cwd prog: 42\n") {
			t.Errorf("a program in the cwd (%s) must run\n%s", prog, out)
		}
		ran(t, out)
	})
	// Unprivileged, the layer is made in a user namespace of the guest's
	// own where the system allows one; else the exec stays refused.
	t.Run("unprivileged", func(t *testing.T) {
		if os.Geteuid() != 0 {
			return // the case above ran unprivileged already
		}
		cred := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
		if userNSFor(t, cred) {
			ran(t, run(outside, cred))
		} else {
			refused(t, run(outside, cred))
		}
	})
}

// userNSFor tells whether a process with cred may make a user namespace
// with a mount namespace (tried with unshare(1), as the system decides:
// sysctls, AppArmor, a container's seccomp policy).
func userNSFor(t *testing.T, cred *syscall.Credential) bool {
	res, err := execute([]string{"unshare", "-U", "-m", "true"}, runSpec{Dir: "/", Cred: cred})
	return err == nil && res.Status == 0
}

// hasSysAdmin tells whether the tests (and so the sandbox they start) hold
// CAP_SYS_ADMIN, which the mount-namespace layer needs.
func hasSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capget(&hdr, &data[0]) == nil && data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}

// TestUserNSLayer: unprivileged, the guest's user namespace (made for the
// mount-namespace layer) gives it nothing: no capability in any set, no
// namespaces or mounts of its own; and the ids it sees are the host's,
// as natively (fstat, raw and through libc, of a file root owns;
// getgroups; set*id to ids outside the namespace's map: EPERM, not the
// namespace's EINVAL).
func TestUserNSLayer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to uid 65534")
	}
	cred := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	if !userNSFor(t, cred) {
		t.Skip("user namespaces are not available to uid 65534 here: no layer to test")
	}
	dir := t.TempDir()
	chownTree(t, dir, nobody, nobody)
	ids := `import ctypes, os, struct
f = open("/etc/passwd")
buf = ctypes.create_string_buffer(144)
r = ctypes.CDLL(None, use_errno=True).syscall(5, f.fileno(), buf)
print("raw fstat", r, struct.unpack_from("II", buf, 28))
st = os.fstat(f.fileno())
print("fstat", st.st_uid, st.st_gid, "groups", os.getgroups(), "ids", os.getuid(), os.getgid())
for f, a in [(os.setuid, (0,)), (os.setgid, (0,)), (os.setuid, (65534,)), (os.setresuid, (-1, 65534, -1)), (os.setreuid, (0, -1)), (os.setregid, (-1, 1))]:
    try:
        f(*a); print(f.__name__, a, "ok")
    except OSError as e:
        print(f.__name__, a, e.errno)`
	native := runNative(t, runSpec{Dir: dir, Cred: cred}, "/usr/bin/python3", "-c", ids)
	res := runSandbox(t, runSpec{Dir: dir, Cred: cred, Sandbox: unprivSandbox(t)}, []string{"-v"}, "/usr/bin/python3", "-c", ids)
	if res.Status != 0 || string(res.Stdout) != string(native.Stdout) {
		t.Errorf("ids differ from native\nnative:\n%s\nsandbox:\n%s", native.describe(), res.describe())
	}
	if !strings.Contains(string(res.Stderr), "+userns+mountns") {
		t.Errorf("-v does not name the layer\n%s", res.describe())
	}
	script := `grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status
unshare -U true 2>/dev/null; echo "unshare: $?"
mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null; echo "mount: $?"`
	res = runSandbox(t, runSpec{Dir: dir, Cred: cred, Sandbox: unprivSandbox(t)}, nil, "/bin/sh", "-c", script)
	want := "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nunshare: 1\nmount: 32\n"
	if string(res.Stdout) != want {
		t.Errorf("the guest holds something in its namespace\nwant:\n%s\n%s", indent(want), res.describe())
	}
}

// TestScratchTreesDenied: where a host mount would show the sandboxes'
// scratch or data trees (here: TMPDIR inside the read-write cwd, and
// --rw /dev/shm), the guest can use none of them: not its own /proc mirror
// or private /tmp by their host paths, nor another run's.
func TestScratchTreesDenied(t *testing.T) {
	dir := t.TempDir()
	tmpd := filepath.Join(dir, "tmpd")
	if err := os.Mkdir(tmpd, 0o755); err != nil {
		t.Fatal(err)
	}
	script := `n=0; for d in tmpd/sandbox-* /dev/shm/sandbox-*; do [ -e "$d" ] || continue; n=$((n+1)); ls "$d" >/dev/null 2>&1 && echo "READ $d"; : > "$d/planted" 2>/dev/null && echo "WROTE $d"; done; echo "seen $n"`
	res := runSandbox(t, runSpec{Dir: dir, Env: []string{"TMPDIR=" + tmpd}}, []string{"--rw", "/dev/shm"}, "/bin/sh", "-c", script)
	out := string(res.Stdout)
	if strings.Contains(out, "READ") || strings.Contains(out, "WROTE") {
		t.Errorf("ESCAPE: the guest reached a sandbox's own tree\n%s", res.describe())
	}
	if !strings.Contains(out, "seen") {
		t.Fatalf("script did not run\n%s", res.describe())
	}
}

// TestEscapeMetadataThroughFD: the mode, owner, times and xattrs of files
// in read-only mounts, and of the host's device nodes in /dev, are not the
// guest's to change, however it names them: by path, through
// /proc/self/fd/N or /dev/fd/N, or by fd (fchmod); and a read-only file
// opened for reading cannot be opened again for writing through
// /proc/self/fd/N. Checked from outside: the host files keep their
// metadata and content. (The /proc/self/fd forms once went around the
// read-only check: a guest could rewrite a read-only host file.)
func TestEscapeMetadataThroughFD(t *testing.T) {
	ro := t.TempDir()
	f := filepath.Join(ro, "f")
	if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1000000, 0)
	if err := os.Chtimes(f, old, old); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		for _, p := range []string{f, "/dev/zero", "/dev/null"} {
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			x, _ := unix.Getxattr(p, "user.x", make([]byte, 8))
			fmt.Fprintf(&b, "%s mode %o uid %d mtime %d size %d xattr %d\n", p, st.Mode, st.Uid, st.Mtim.Sec, st.Size, x)
		}
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "content %q\n", content)
		return b.String()
	}
	before := snapshot()
	script := `import os, sys
ro = sys.argv[1]
fd = os.open(ro, os.O_RDONLY)
z = os.open('/dev/zero', os.O_RDONLY)
uid = os.getuid() + 1
for name, f in [
    ('chmod', lambda: os.chmod(ro, 0o600)),
    ('chmod /proc/self/fd', lambda: os.chmod('/proc/self/fd/%d' % fd, 0o600)),
    ('utime /proc/self/fd', lambda: os.utime('/proc/self/fd/%d' % fd, (1, 1))),
    ('chown /dev/fd', lambda: os.chown('/dev/fd/%d' % fd, uid, -1)),
    ('setxattr /proc/self/fd', lambda: os.setxattr('/proc/self/fd/%d' % fd, 'user.x', b'1')),
    ('fchmod', lambda: os.fchmod(fd, 0o600)),
    ('chmod /dev/zero', lambda: os.chmod('/dev/zero', 0o600)),
    ('fchmod /dev/zero', lambda: os.fchmod(z, 0o600)),
    ('utime /dev/null', lambda: os.utime('/dev/null', (1, 1))),
    ('chmod /dev/zero /proc/self/fd', lambda: os.chmod('/proc/self/fd/%d' % z, 0o600)),
    ('reopen O_WRONLY', lambda: os.write(os.open('/proc/self/fd/%d' % fd, os.O_WRONLY), b'PWNED')),
    ('reopen O_RDWR /dev/fd', lambda: os.write(os.open('/dev/fd/%d' % fd, os.O_RDWR), b'PWNED')),
    ('reopen O_TRUNC', lambda: os.open('/proc/self/fd/%d' % fd, os.O_RDONLY | os.O_TRUNC)),
]:
    try:
        f(); print(name, 'changed')
    except OSError as e:
        print(name, e.errno)
`
	res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--ro", ro}, "/usr/bin/python3", "-c", script, f)
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	if res.Status != 0 || len(lines) != 13 {
		t.Fatalf("guest did not run every case\n%s", res.describe())
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " 30") {
			t.Errorf("%s: want EROFS (30)", l)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("host metadata changed:\nbefore:\n%safter:\n%s", before, after)
	}
}

// TestEscapeCwdRace: a chdir closes the sentry's fd of the old cwd, and the
// sentry may hand that number to the next file it opens. A lookup relative
// to the cwd that copied the fd number without the context's lock could
// then start in a directory of a read-only mount while judging by the old
// cwd's writable one. Threads flip the cwd and open a read-only directory
// while the main thread makes directories relative to its cwd; nothing may
// appear in the read-only tree (checked from outside).
func TestEscapeCwdRace(t *testing.T) {
	dir := t.TempDir()
	ro := t.TempDir()
	for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(ro, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roSub := filepath.Join(ro, "sub")
	before, err := os.Stat(roSub)
	if err != nil {
		t.Fatal(err)
	}
	prog := installC(t, "cwdrace", dir, "cwdrace")
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--ro", ro, "--rw", dir},
		prog, filepath.Join(dir, "a"), filepath.Join(dir, "b"), roSub, "3")
	if res.Status != 0 || !strings.Contains(string(res.Stdout), "made ") {
		t.Fatalf("race program did not run\n%s", res.describe())
	}
	for _, d := range []string{ro, roSub} {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() != "sub" {
				t.Errorf("ESCAPE: %s created in the read-only tree %s", e.Name(), d)
			}
		}
	}
	if after, err := os.Stat(roSub); err != nil || after.Mode() != before.Mode() {
		t.Errorf("ESCAPE: read-only directory's mode changed: %v -> %v", before.Mode(), after.Mode())
	}
	// Every directory the guest made must be in one of its cwds (the
	// starting one too: the first calls may come before the first chdir);
	// one made anywhere else went where its lookup was never meant to start.
	var calls, made int
	fmt.Sscanf(string(res.Stdout), "mkdirat calls %d made %d", &calls, &made)
	found := 0
	for _, d := range []string{"a", "b", "."} {
		if _, err := os.Stat(filepath.Join(dir, d, "escape")); err == nil {
			found++
		}
	}
	if made != found {
		var where []string
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Name() == "escape" {
				where = append(where, p)
			}
			return nil
		})
		t.Errorf("ESCAPE: %d mkdirat calls succeeded, but only %d of those directories are in the cwds (found: %v)", made, found, where)
	}
	t.Logf("%s; %d in the cwds", strings.TrimSpace(string(res.Stdout)), found)
}

// TestEscapeExecAllowSwap: a policy's exec.allow must hold for execveat of
// an fd as for a path. A thread that swaps the fd between the sentry's
// check and the kernel's exec, and a thread with a fd table of its own
// (the sentry must check the fd the kernel will run, not the leader's),
// must never get the other program run: a static program that exits 42.
func TestEscapeExecAllowSwap(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "execswap", dir, "execswap")
	other := installC(t, "exit42", dir, "other")
	// The allowed program's exec reaches the kernel and fails there (its
	// interpreter, allowed too, is not executable), so the loop goes on.
	allowed := filepath.Join(dir, "allowed")
	interp := filepath.Join(dir, "interp")
	writeFiles(t, dir, map[string]string{"allowed": "#!" + interp + "\n", "interp": "",
		"policy.yaml": "extends: default\nexec:\n  allow: [" + allowed + ", " + interp + "]\n"})
	if err := os.Chmod(allowed, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{prog, "race", allowed, other, "20000"}, {prog, "thread", allowed, other}} {
		// The control: natively the other program runs.
		if native := runNative(t, runSpec{Dir: dir}, argv...); native.Status != 42 {
			t.Fatalf("native control: %s never ran the other program, so this test proves nothing\n%s", argv[1], native.describe())
		}
		res := runSandbox(t, runSpec{Dir: dir, Timeout: 120 * time.Second}, []string{"--policy", filepath.Join(dir, "policy.yaml")}, argv...)
		if res.Status == 42 {
			t.Errorf("ESCAPE (%s): a program outside exec.allow ran through execveat of a swapped fd\n%s", argv[1], res.describe())
		}
	}
	// Scripts: the interpreter reads a script run through an fd from
	// /dev/fd/N after the exec, whatever the fd names then, and the
	// post-exec check sees only the interpreter. So an allowed script
	// runs through an fd only when its interpreter is allowed too.
	writeFiles(t, dir, map[string]string{"allowed.sh": "#!/bin/sh\nexit 0\n", "other.sh": "#!/bin/sh\nexit 42\n",
		"policy2.yaml": "extends: default\nexec:\n  allow: [" + filepath.Join(dir, "allowed.sh") + "]\n"})
	for _, f := range []string{"allowed.sh", "other.sh"} {
		os.Chmod(filepath.Join(dir, f), 0o755)
	}
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", filepath.Join(dir, "policy2.yaml")},
		prog, "race", filepath.Join(dir, "allowed.sh"), filepath.Join(dir, "other.sh"), "200")
	if res.Status != 0 || !strings.Contains(string(res.Stdout), "every exec failed or was refused") {
		t.Errorf("ESCAPE (script): execveat of a script whose interpreter is not allowed ran\n%s", res.describe())
	}
}

// TestCloneFSChildExit: a child made with CLONE_FS shares its parent's cwd;
// when it exits, the parent keeps it (the sentry's shared context is
// released with its last user, not the first).
func TestCloneFSChildExit(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"f": "x"})
	prog := installC(t, "threads", dir, "prog")
	native := runNative(t, runSpec{Dir: dir}, prog, "clonefs")
	res := runSandbox(t, runSpec{Dir: dir}, nil, prog, "clonefs")
	compareRuns(t, native, res, false)
	if !strings.Contains(string(res.Stdout), "after the CLONE_FS child exited: open(f) = 3") {
		t.Errorf("want the parent's relative open to work\n%s", res.describe())
	}
}

// TestEscapeInheritedFDs: an fd the caller leaves inheritable (shells and
// tools often leak some) must not reach the guest. One to a hidden
// directory let the guest list it (getdents runs natively) and one to a
// file let it read the file. The guest holds only stdin, stdout and stderr
// of the caller's fds.
func TestEscapeInheritedFDs(t *testing.T) {
	dir := t.TempDir()
	hidden := t.TempDir() // under the scratch root in /var: hidden
	writeFiles(t, hidden, map[string]string{"secret-name": "SECRET-CONTENT\n"})
	writeFiles(t, dir, map[string]string{"fds.py": `import os
print("fds", sorted(int(x) for x in os.listdir("/proc/self/fd")))
for fd in (7, 8):
    try:
        print(fd, "listdir", os.listdir(fd))
    except OSError as e:
        print(fd, "listdir errno", e.errno)
    try:
        print(fd, "read", os.pread(fd, 100, 0))
    except OSError as e:
        print(fd, "read errno", e.errno)
`})
	d, err := os.Open(hidden)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := os.Open(filepath.Join(hidden, "secret-name"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// ExtraFiles start at fd 3: pad up to 7 and 8.
	cmd := exec.Command(requireSandbox(t), "run", "--", "python3", "fds.py")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{os.Stdin, os.Stdin, os.Stdin, os.Stdin, d, f}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("secret-name")) || bytes.Contains(out, []byte("SECRET-CONTENT")) {
		t.Errorf("ESCAPE: the guest used an inherited fd:\n%s", out)
	}
	if !bytes.Contains(out, []byte("fds [0, 1, 2, 3]\n")) || !bytes.Contains(out, []byte("8 read errno 9\n")) {
		t.Errorf("the guest holds more than stdin, stdout, stderr (and its listing's own fd):\n%s", out)
	}
}

// TestEscapeFirstProgramSwap: the first program is exec'd by the path as
// given (so the kernel names the process as natively), which the kernel
// resolves again. A symlink flipped between the sandbox's lookup and that
// execve, to a program the policy hides, must never get it run.
func TestEscapeFirstProgramSwap(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ok": "#!/bin/sh\necho ok\n"})
	if err := os.Chmod(filepath.Join(dir, "ok"), 0o755); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(dir, "h")
	if err := os.Mkdir(hidden, 0o755); err != nil {
		t.Fatal(err)
	}
	installExecutable(t, compileC(t, "exit42"), filepath.Join(hidden, "evil"))
	link, tmp := filepath.Join(dir, "link"), filepath.Join(dir, "link.tmp")
	if err := os.Symlink("ok", link); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target := "ok"
			if i%2 == 1 {
				target = "h/evil"
			}
			os.Remove(tmp)
			if os.Symlink(target, tmp) == nil {
				os.Rename(tmp, link)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	ran, evil := 0, 0
	for i := 0; i < 150; i++ {
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--hide", hidden}, "./link")
		switch {
		case res.Status == 42:
			evil++
		case res.Status == 0 && string(res.Stdout) == "ok\n":
			ran++
		}
	}
	close(stop)
	<-done
	if evil != 0 {
		t.Errorf("ESCAPE: the hidden program ran %d times of 150", evil)
	}
	if ran == 0 {
		t.Errorf("the allowed program never ran: the test exercised nothing")
	}
	t.Logf("ok ran %d of 150 (the rest refused or not found)", ran)
}

// TestEscapeNoScratchPathInLinks: an fd of the empty directory that stands
// in for missing parents of a mount point must not name the sandbox's
// scratch tree, by readlink or through an open /proc/self/fd directory.
func TestEscapeNoScratchPathInLinks(t *testing.T) {
	dir := t.TempDir()
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--tmpfs", "/opt/sbx-test-a/b"}, "python3", "-c",
		`import os
f = os.open("/opt/sbx-test-a", os.O_RDONLY)
d = os.open("/proc/self/fd", os.O_RDONLY)
print(os.readlink(str(f), dir_fd=d), os.readlink("/proc/self/fd/%d" % f), sorted(os.readlink(str(n), dir_fd=d) for n in os.listdir(d)))`)
	if res.Status != 0 || strings.Contains(string(res.Stdout), "sandbox-") {
		t.Errorf("a link names the sandbox's own tree:\n%s", res.describe())
	}
}
