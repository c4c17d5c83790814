package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesystemRulesAndHostname: deny globs give EACCES (through symlinks
// too) while the rest of the directory works; tmpfs paths are private,
// empty and writable; the policy's host name is what uname reports.
func TestFilesystemRulesAndHostname(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"certs/server.pem": "KEY", "certs/ca.crt": "CA", "sub/x.pem": "K2"})
	os.Symlink("certs/server.pem", filepath.Join(dir, "link"))
	pol := policyWith(t, "hostname: sandbox-test")
	doc, _ := os.ReadFile(pol)
	doc = []byte(strings.Replace(string(doc), "filesystem:\n", "filesystem:\n  deny: [\"**/*.pem\"]\n  tmpfs: [/scratch]\n", 1))
	os.WriteFile(pol, doc, 0o644)
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/bin/sh", "-c",
		`cat certs/ca.crt; echo; for f in certs/server.pem sub/x.pem link; do cat $f 2>&1 | grep -c "Permission denied"; done
ls /scratch | wc -l; echo data > /scratch/f && cat /scratch/f; uname -n`)
	want := "CA\n1\n1\n1\n0\ndata\nsandbox-test\n"
	if string(res.Stdout) != want {
		t.Fatalf("want %q\n%s", want, res.describe())
	}
	if strings.Contains(string(res.Stdout), "KEY") {
		t.Fatal("ESCAPE: a denied file was read")
	}
	if _, err := os.Stat("/scratch"); err == nil {
		t.Error("the tmpfs path appeared on the host")
	}
}

// TestSyntheticFiles: filesystem.files shows fixed contents read-only at
// their paths, over a host file, or where the host has no such directory.
func TestSyntheticFiles(t *testing.T) {
	dir := t.TempDir()
	pol := policyWith(t, "hostname: x")
	doc, _ := os.ReadFile(pol)
	doc = []byte(strings.Replace(string(doc), "filesystem:\n", "filesystem:\n  files:\n    /etc/resolv.conf: \"nameserver 192.0.2.1\\n\"\n    /opt/sandbox-test/app/conf: \"k=v\"\n", 1))
	os.WriteFile(pol, doc, 0o644)
	res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", pol}, "/bin/sh", "-c",
		`cat /etc/resolv.conf /opt/sandbox-test/app/conf; echo; echo x > /etc/resolv.conf 2>/dev/null || echo refused; test -d /opt/sandbox-test/app && echo dir`)
	if string(res.Stdout) != "nameserver 192.0.2.1\nk=v\nrefused\ndir\n" {
		t.Fatalf("%s", res.describe())
	}
	if _, err := os.Stat("/opt/sandbox-test"); err == nil {
		t.Error("a synthetic path appeared on the host")
	}
}
