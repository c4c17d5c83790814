package integration

import (
	"strings"
	"testing"
	"time"
)

// TestEnvironment: the guest's environment is built from the policy: the
// default passes PATH, LANG, LC_*, TERM and TZ, sets HOME to the working
// directory, and drops everything else (tokens, keys, agent sockets);
// --env and --env-pass add to it.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AWS_SECRET_ACCESS_KEY=leak", "SSH_AUTH_SOCK=/run/agent", "GITHUB_TOKEN=leak", "FOO=bar baz", "LC_TIME=C"}
	res := runSandbox(t, runSpec{Dir: dir, Env: env}, []string{"--env", "SET=1", "--env-pass", "FOO"}, "/usr/bin/env")
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "SSH_AUTH_SOCK", "GITHUB_TOKEN"} {
		if _, ok := got[k]; ok {
			t.Errorf("LEAK: %s reached the guest", k)
		}
	}
	want := map[string]string{"FOO": "bar baz", "SET": "1", "HOME": dir, "LC_TIME": "C", "LC_ALL": "C", "TZ": "UTC"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q\n%s", k, got[k], v, res.describe())
		}
	}
	if !strings.HasPrefix(got["PATH"], "/usr/local/sbin") {
		t.Errorf("PATH not passed: %q", got["PATH"])
	}
	bad := runSandbox(t, runSpec{Dir: dir}, []string{"--env", "NOEQUALS"}, "/bin/true")
	if bad.Status != 2 || !strings.Contains(string(bad.Stderr), "want K=V") {
		t.Errorf("--env without = must be a usage error\n%s", bad.describe())
	}
}

// TestTimeout: --timeout kills every process of the sandbox and exits 124,
// like timeout(1).
func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	marker := "7" + strings.Repeat("3", 5)
	start := time.Now()
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--timeout", "300ms"}, "/bin/sh", "-c", "sleep "+marker+"1 & (sleep "+marker+"2 &); sleep "+marker+"3; echo never")
	if res.Status != 124 || strings.Contains(string(res.Stdout), "never") || !strings.Contains(string(res.Stderr), "timed out") {
		t.Fatalf("want exit 124 and a message\n%s", res.describe())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if !waitFor(func() bool { return len(guestPids(marker)) == 0 }, 5*time.Second) {
		t.Errorf("processes survived the timeout: %v", guestPids(marker))
	}
}
