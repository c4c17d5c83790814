package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const nobody = 65534

// unprivSandbox returns a bin/sandbox path that uid 65534 can execute: the
// original if every directory on its path is world-searchable, else a copy in
// the (world-readable) compile cache.
func unprivSandbox(t *testing.T) string {
	t.Helper()
	bin := requireSandbox(t)
	reachable := true
	for d := filepath.Dir(bin); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			reachable = false
		}
		if d == "/" {
			break
		}
	}
	if st, err := os.Stat(bin); err != nil || st.Mode().Perm()&0o005 != 0o005 {
		reachable = false
	}
	if reachable {
		return bin
	}
	ccMu.Lock()
	defer ccMu.Unlock()
	cp := filepath.Join(ccCache, "sandbox")
	if _, err := os.Stat(cp); err != nil {
		copyFile(t, bin, cp, 0o755)
	}
	return cp
}

// TestUnprivileged repeats a few parity cases with both sides running as
// uid/gid 65534: the sandbox must work without privileges, and permission
// checks (which differ from root's: EACCES on mode-0 files, W_OK on read-only
// files) must come out exactly as on the host.
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to uid 65534")
	}
	cred := &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
	sandbox := unprivSandbox(t)

	want := map[string][]string{
		// As root these succeed; as nobody they must fail with EACCES.
		"fsops/perm":   {"open(secret0, O_RDONLY) = fffffffffffffff3 (-EACCES)", "open(locked/x) = fffffffffffffff3 (-EACCES)"},
		"fsops/access": {"access(d/ro, W_OK) = fffffffffffffff3 (-EACCES)", "access(d/none, R_OK) = fffffffffffffff3 (-EACCES)"},
	}
	var cases []parityCase
	for _, c := range syscallCases {
		switch c.name {
		case "errnos/enoent", "errnos/eexist", "fsops/perm", "fsops/access", "fsops/umask", "fsops/cwd", "fds/lowest", "stat/stat", "procview/self":
			c.want = append(append([]string{}, c.want...), want[c.name]...)
			cases = append(cases, c)
		}
	}
	for _, c := range programCases {
		switch c.name {
		case "ls", "cp-then-cat", "python-write-read-list", "killed-by-sigterm":
			cases = append(cases, c)
		}
	}
	cases = append(cases, parityCase{name: "id", argv: []string{"/usr/bin/id"}, want: []string{"uid=65534"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runParity(t, c, cred, sandbox)
		})
	}

	// The policy still hides /etc/shadow (ENOENT, not the host's EACCES).
	t.Run("shadow-hidden", func(t *testing.T) {
		dir := t.TempDir()
		chownTree(t, dir, nobody, nobody)
		res := runSandbox(t, runSpec{Dir: dir, Cred: cred, Sandbox: sandbox}, nil, "/usr/bin/cat", "/etc/shadow")
		if res.Status == 0 || !strings.Contains(string(res.Stderr), "No such file or directory") {
			t.Errorf("cat /etc/shadow as nobody: want ENOENT\n%s", res.describe())
		}
	})
}

// asCallerAndNobody runs f as two subtests: as the caller (cred nil) and,
// when the tests run as root, as uid/gid 65534.
func asCallerAndNobody(t *testing.T, f func(t *testing.T, cred *syscall.Credential)) {
	t.Run("caller", func(t *testing.T) { f(t, nil) })
	t.Run("uid-65534", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to switch to uid 65534")
		}
		f(t, &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}})
	})
}
