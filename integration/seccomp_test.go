package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dockerProfile = "/usr/share/containers/seccomp.json" // Debian's golang-github-containers-common

// TestSeccompProfileImport: a Docker-derived default profile narrows the
// sandbox exactly where Docker would (personality with a flag Docker does
// not allow fails with the profile's errno) while ordinary programs run;
// a profile can never widen what the sandbox allows or take its notifier.
func TestSeccompProfileImport(t *testing.T) {
	if _, err := os.Stat(dockerProfile); err != nil {
		t.Fatalf("%s missing: make test installs it (scripts/deps.sh)", dockerProfile)
	}
	dir := t.TempDir()
	prog := installC(t, "personality", dir, "prog")
	res := runSandbox(t, runSpec{Dir: dir}, nil, prog, "calls")
	if !strings.Contains(string(res.Stdout), "personality(READ_IMPLIES_EXEC) = 0") {
		t.Fatalf("without a profile\n%s", res.describe())
	}
	os.Remove(filepath.Join(dir, "d"))
	res = runSandbox(t, runSpec{Dir: dir}, []string{"--seccomp-profile", dockerProfile}, prog, "calls")
	for _, w := range []string{"personality(query) = 0", "personality(READ_IMPLIES_EXEC) = " + rawErr(38, "ENOSYS"), "mkdir(d) = 0"} {
		if !strings.Contains(string(res.Stdout), w) {
			t.Errorf("with the Docker profile: want %q\n%s", w, res.describe())
		}
	}
	for _, argv := range [][]string{{"/bin/sh", "-c", "ls / >/dev/null && echo ok"}, {"/usr/bin/python3", "-c", "print('ok')"}} {
		if r := runSandbox(t, runSpec{Dir: dir}, []string{"--seccomp-profile", dockerProfile}, argv...); strings.TrimSpace(string(r.Stdout)) != "ok" {
			t.Errorf("%v under the Docker profile\n%s", argv, r.describe())
		}
	}
	// An allow-everything profile does not widen: mount stays EPERM,
	// io_uring ENOSYS, and routed calls stay routed.
	allow := filepath.Join(t.TempDir(), "allow.json")
	os.WriteFile(allow, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount","io_uring_setup"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
	fb := installC(t, "forbidden", dir, "forbidden")
	r := runSandbox(t, runSpec{Dir: dir}, []string{"--seccomp-profile", allow}, fb, "io_uring")
	if !strings.Contains(string(r.Stdout), rawErr(38, "ENOSYS")) {
		t.Errorf("an allow-all profile widened io_uring\n%s", r.describe())
	}
	r = runSandbox(t, runSpec{Dir: dir}, []string{"--seccomp-profile", allow}, "/usr/bin/cat", "/etc/shadow")
	if r.Status == 0 {
		t.Errorf("an allow-all profile let /etc/shadow be read\n%s", r.describe())
	}
	notify := filepath.Join(t.TempDir(), "notify.json")
	os.WriteFile(notify, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["openat"],"action":"SCMP_ACT_NOTIFY"}]}`), 0o644)
	r = runSandbox(t, runSpec{Dir: dir}, []string{"--seccomp-profile", notify}, "/bin/true")
	if r.Status != 2 || !strings.Contains(string(r.Stderr), "SCMP_ACT_NOTIFY") {
		t.Errorf("a NOTIFY profile must be refused\n%s", r.describe())
	}
}

// TestPolicySyscallRules: a policy's syscall rules narrow, with argument
// conditions, even calls the sentry emulates.
func TestPolicySyscallRules(t *testing.T) {
	dir := t.TempDir()
	prog := installC(t, "personality", dir, "prog")
	pol := policyWith(t, `syscalls:
  - names: [mkdir]
    action: errno
    errno: EROFS
  - names: [personality]
    action: errno
    errno: "1"
    args: [{index: 0, op: eq, value: 0x400000}]`)
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, prog, "calls")
	for _, w := range []string{"personality(query) = 0", "personality(READ_IMPLIES_EXEC) = " + rawErr(1, "EPERM"), "mkdir(d) = " + rawErr(30, "EROFS")} {
		if !strings.Contains(string(res.Stdout), w) {
			t.Errorf("want %q\n%s", w, res.describe())
		}
	}
	bad := policyWith(t, "syscalls:\n  - names: [nosuchcall]\n    action: emulate")
	r := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", bad}, "/bin/true")
	if r.Status != 2 || !strings.Contains(string(r.Stderr), `unknown syscall "nosuchcall"`) || !strings.Contains(string(r.Stderr), "emulate") {
		t.Errorf("bad rules must be reported\n%s", r.describe())
	}
}
