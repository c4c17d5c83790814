package policies

import (
	"os"
	"strings"
	"testing"
)

func TestBuiltinsParse(t *testing.T) {
	for _, n := range Names() {
		if _, err := Load(n); err != nil {
			t.Errorf("built-in %s: %v", n, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown field", "name: x\nfilesystme: {}\n", "line 2: field filesystme not found"},
		{"relative path", "filesystem:\n  read_only: [usr]\n", "p.yaml:2:14: path \"usr\" is not absolute"},
		{"bad enum", "network: wifi\n", "p.yaml:1:10: \"wifi\" is not one of none, loopback, allowlist"},
		{"bad cidr", "network: allowlist\nnetwork_allow: [\"10.0.0.0/33:80\"]\n", "p.yaml:2:16: \"10.0.0.0/33:80\": bad CIDR"},
		{"bad port", "network: allowlist\nnetwork_allow: [\"1.2.3.4:http\"]\n", "bad port"},
		{"bad yaml", "filesystem: [\n", "policy p.yaml: yaml: line 1"},
		{"tmpfs relative", "filesystem:\n  tmpfs: [scratch]\n", `p.yaml:2:10: tmpfs "scratch": path "scratch" is not absolute`},
		{"tmpfs bad size", "filesystem:\n  tmpfs: [\"/x:size=lots\"]\n", `p.yaml:2:10: tmpfs "/x:size=lots": "lots" is not a size`},
		{"tmpfs bad option", "filesystem:\n  tmpfs: [\"/x:mode=0700\"]\n", `unknown option "mode=0700" (only size=SIZE)`},
		{"tmp_size bad", "filesystem:\n  tmp_size: 0\n", `p.yaml:2:13: "0" is not a size`},
		{"tmp_size without tmp", "filesystem:\n  tmp: none\n  tmp_size: 1M\n", `p.yaml:3:13: tmp_size needs tmp: private`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
		})
	}
}

// TestEveryErrorReported: policy check lists type errors and validation
// errors together, each with where it is.
func TestEveryErrorReported(t *testing.T) {
	_, err := Parse("p.yaml", []byte("name: x\nbogus: 1\nnetwork: wifi\nfilesystem:\n  read_only: [usr]\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 2: field bogus not found", `p.yaml:3:10: "wifi"`, `p.yaml:5:14: path "usr"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	p, err := Parse("p.yaml", []byte("name: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Network != "none" || p.Filesystem.Cwd != "read-write" || p.Filesystem.Tmp != "private" {
		t.Fatalf("defaults not applied: %+v", p)
	}
}

func TestBuildEnv(t *testing.T) {
	p, err := Load("default")
	if err != nil {
		t.Fatal(err)
	}
	caller := []string{"PATH=/usr/bin", "AWS_SECRET_ACCESS_KEY=x", "LC_ALL=C", "SSH_AUTH_SOCK=/run/a", "TERM=xterm", "HOME=/root", "FOO=1"}
	got := strings.Join(p.BuildEnv(caller, []string{"FOO"}, []string{"BAR=2", "PATH=/bin"}, "/work"), " ")
	want := "PATH=/bin LC_ALL=C TERM=xterm FOO=1 HOME=/work BAR=2"
	if got != want {
		t.Fatalf("env = %q\nwant  %q", got, want)
	}
}

func TestExtends(t *testing.T) {
	dir := t.TempDir()
	child := dir + "/child.yaml"
	os.WriteFile(child, []byte("extends: default\nname: child\nnetwork: loopback\nfilesystem:\n  read_only: [/usr]\n"), 0o644)
	p, err := Load(child)
	if err != nil {
		t.Fatal(err)
	}
	if p.Network != "loopback" || p.Name != "child" {
		t.Errorf("child fields not applied: %+v", p)
	}
	if len(p.Filesystem.ReadOnly) != 1 || p.Filesystem.Tmp != "private" || len(p.Filesystem.Hide) == 0 {
		t.Errorf("lists replace, unset fields inherit: %+v", p.Filesystem)
	}
	loop := dir + "/loop.yaml"
	os.WriteFile(loop, []byte("extends: "+loop+"\n"), 0o644)
	if _, err := Load(loop); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Errorf("a cycle must be an error, got %v", err)
	}
	if _, err := Parse("p.yaml", []byte("extends: nosuch\n")); err == nil || !strings.Contains(err.Error(), "no built-in policy") {
		t.Errorf("unknown parent: %v", err)
	}
	if !ExecAllowed([]string{"/usr/"}, "/usr/bin/cc") || ExecAllowed([]string{"/usr/"}, "/work/a.out") ||
		!ExecAllowed([]string{"/usr/bin/python3*"}, "/usr/bin/python3.11") {
		t.Error("ExecAllowed")
	}
}

func TestParseTmpfs(t *testing.T) {
	for _, c := range []struct {
		in   string
		path string
		size uint64
		bad  bool
	}{
		{"/scratch", "/scratch", 0, false},
		{"/scratch/", "/scratch", 0, false},
		{"/run:size=64m", "/run", 64 << 20, false},
		{"/run:size=1G", "/run", 1 << 30, false},
		{"/run:size=4096", "/run", 4096, false},
		{"/run:size=", "", 0, true},
		{"/run:size=-1", "", 0, true},
		{"/run:size=99999999999G", "", 0, true},
		{"run:size=1M", "", 0, true},
		{"/run:ro", "", 0, true},
	} {
		path, size, err := ParseTmpfs(c.in)
		if (err != nil) != c.bad || path != c.path || size != c.size {
			t.Errorf("ParseTmpfs(%q) = %q, %d, %v", c.in, path, size, err)
		}
	}
}
