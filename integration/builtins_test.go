package integration

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestBuiltinPolicies runs each built-in policy on the workload it is for,
// and checks what it refuses.
func TestBuiltinPolicies(t *testing.T) {
	t.Run("build", func(t *testing.T) {
		dir := t.TempDir()
		makeProject(t, dir)
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", "build"}, "/usr/bin/make", "-s", "-j2", "prog")
		if res.Status != 0 {
			t.Fatalf("make under build\n%s", res.describe())
		}
		// Built programs are not on the exec allowlist.
		res = runSandbox(t, runSpec{Dir: dir}, []string{"--policy", "build"}, "/bin/sh", "-c", "./prog")
		if res.Status == 0 || !strings.Contains(string(res.Stderr), "Permission denied") {
			t.Errorf("running a built program under build\n%s", res.describe())
		}
	})
	t.Run("python", func(t *testing.T) {
		dir := t.TempDir()
		script := `import json, subprocess
json.dump({"ok": True}, open("out.json", "w"))
print(json.load(open("out.json")))
try:
    subprocess.run(["/bin/ls"])
except PermissionError as e:
    print("exec refused", e.errno)`
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", "python"}, "/usr/bin/python3", "-c", script)
		if !strings.Contains(string(res.Stdout), "{'ok': True}") || !strings.Contains(string(res.Stdout), "exec refused 13") {
			t.Fatalf("python policy\n%s", res.describe())
		}
	})
	t.Run("net-client", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("pong"))
				c.Close()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		client := fmt.Sprintf(`import socket
for p in (%d, %d):
    try:
        print(p == %d, socket.create_connection(("127.0.0.1", p), timeout=5).recv(4).decode())
    except OSError as e:
        print(p == %d, "failed", e.errno)`, port, port+1, port, port)
		res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--policy", "net-client", "--allow-connect", fmt.Sprintf("127.0.0.1:%d/tcp", port)}, "/usr/bin/python3", "-c", client)
		if !strings.Contains(string(res.Stdout), "True pong") || !strings.Contains(string(res.Stdout), "False failed 101") {
			t.Fatalf("net-client\n%s", res.describe())
		}
	})
	t.Run("strict", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"in.txt": "data\n"})
		res := runSandbox(t, runSpec{Dir: dir}, []string{"--policy", "strict"}, "/bin/sh", "-c", "cat in.txt; echo x > out.txt; ls /tmp; /bin/true")
		out, errs := string(res.Stdout), string(res.Stderr)
		if !strings.Contains(errs, "Read-only file system") || !strings.Contains(errs, "Permission denied") {
			t.Fatalf("strict\n%s", res.describe())
		}
		if strings.Contains(out, "data") {
			t.Errorf("cat was executed under strict\n%s", res.describe())
		}
	})
}
