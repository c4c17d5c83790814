package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fillTmpfs reports, for each directory, what a program sees of a tmpfs
// filling up: its size, how much a write loop gets in and with which
// error, the file's size, the fd's link, and the space back after unlink.
const fillTmpfs = `
import errno, os, sys, time
for d in sys.argv[1:]:
    st = os.statvfs(d)
    print(d, "size", st.f_blocks * st.f_frsize, "free", st.f_bfree * st.f_frsize)
    fd = os.open(d + "/fill", os.O_CREAT | os.O_WRONLY, 0o644)
    total, err, chunk = 0, "none", b"x" * 65536
    while total < (64 << 20):
        try:
            n = os.write(fd, chunk)
        except OSError as e:
            err = errno.errorcode[e.errno]
            break
        total += n
    print(d, "wrote", total, "then", err, "file", os.fstat(fd).st_size, "link", os.readlink("/proc/self/fd/%d" % fd))
    os.close(fd)
    os.unlink(d + "/fill")
    # The space comes back with the file's last reference. The sandbox
    # drops its own copy of an fd it installed just after the guest's
    # open returns, so allow it a moment.
    for _ in range(100):
        st = os.statvfs(d)
        if st.f_bfree == st.f_blocks:
            break
        time.sleep(0.001)
    print(d, "free after unlink", st.f_bfree * st.f_frsize)
`

// TestTmpfsSize: a private directory with a size is a tmpfs of that size.
// Linux is the oracle: the same program on native tmpfs mounts of the same
// sizes (made in a user namespace by unshare) must print the same, as root
// and as uid 65534; the host's mount table must not change.
func TestTmpfsSize(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) to make the native tmpfs mounts")
	}
	dirs := []string{"/tmp", "/var/tmp"}
	policy := "extends: default\nfilesystem:\n  tmp_size: 1M\n"
	flags := []string{"--tmpfs", "/var/tmp:size=256k"}
	native := []string{"unshare", "-U", "-r", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=1M,mode=1777 none /tmp && mount -t tmpfs -o size=256k,mode=1777 none /var/tmp && exec python3 -c "$0" "$@"`,
		fillTmpfs}
	native = append(native, dirs...)
	before := hostMounts(t)
	asCallerAndNobody(t, func(t *testing.T, cred *syscall.Credential) {
		dir := t.TempDir()
		pol := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		sandbox := ""
		if cred != nil {
			chownTree(t, dir, nobody, nobody)
			sandbox = unprivSandbox(t)
		}
		want := mustRun(t, native, runSpec{Dir: dir, Cred: cred})
		if want.Status != 0 {
			t.Skipf("no native tmpfs in a user namespace here (user namespaces off?)\n%s", want.describe())
		}
		got := runSandbox(t, runSpec{Dir: dir, Cred: cred, Sandbox: sandbox},
			append([]string{"--policy", pol}, flags...), append([]string{"/usr/bin/python3", "-c", fillTmpfs}, dirs...)...)
		if got.Status != 0 || string(got.Stdout) != string(want.Stdout) {
			t.Fatalf("sandbox differs from native tmpfs\nnative:\n%s\nsandbox:\n%s", indent(string(want.Stdout)), got.describe())
		}
		if !strings.Contains(string(got.Stdout), "/tmp wrote 1048576 then ENOSPC") {
			t.Errorf("the 1M /tmp did not fill at 1M:\n%s", got.Stdout)
		}
	})
	if after := hostMounts(t); after != before {
		t.Errorf("the host's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestTmpfsSizeExec: with the mount-namespace layer, programs written to a
// sized /tmp run (the init stage mounts it in the guest's namespace), as
// the caller and, through the guest's user namespace, as uid 65534.
func TestTmpfsSizeExec(t *testing.T) {
	script := `printf '#!/bin/sh\necho ran $0\n' > /tmp/x.sh; chmod 755 /tmp/x.sh; /tmp/x.sh; cd /tmp && ./x.sh`
	asCallerAndNobody(t, func(t *testing.T, cred *syscall.Credential) {
		dir := t.TempDir()
		spec := runSpec{Dir: dir}
		switch {
		case cred == nil && !hasSysAdmin():
			t.Skip("no CAP_SYS_ADMIN here: the uid-65534 case covers the user namespace")
		case cred != nil && !userNSFor(t, cred):
			t.Skip("user namespaces are not available to uid 65534 here")
		case cred != nil:
			chownTree(t, dir, nobody, nobody)
			spec.Cred, spec.Sandbox = cred, unprivSandbox(t)
		}
		res := runSandbox(t, spec, []string{"--tmpfs", "/tmp:size=1M"}, "/bin/sh", "-c", script)
		if res.Status != 0 || string(res.Stdout) != "ran /tmp/x.sh\nran ./x.sh\n" {
			t.Fatalf("want both runs\n%s", res.describe())
		}
	})
}

// TestTmpfsBadSize: a bad size is a usage error that names it.
func TestTmpfsBadSize(t *testing.T) {
	for _, arg := range []string{"/x:size=1z", "x:size=1M", "/x:mode=0700", "/x:size=0"} {
		res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--tmpfs", arg}, "/bin/true")
		if res.Status != 2 || !strings.Contains(string(res.Stderr), "--tmpfs: tmpfs \""+arg+"\"") {
			t.Errorf("--tmpfs %s: want status 2 and the entry named\n%s", arg, res.describe())
		}
	}
}

// hostMounts is this process's mount table.
func hostMounts(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
