package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNetworkPolicy: a TCP server on 127.0.0.1 is reachable from the guest
// only when the policy allows it (loopback, or an allowlist entry for its
// port); the server sees the connection or not, checked from outside.
func TestNetworkPolicy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	client := fmt.Sprintf(`import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=5)
    print("connected", s.recv(16).decode().strip())
except OSError as e:
    print("failed", e.errno)
`, port)
	cases := []struct {
		name  string
		flags []string
		want  string
		conns int32
	}{
		{"none", nil, "failed 13", 0}, // socket(AF_INET) is EACCES
		{"loopback", []string{"--net", "loopback"}, "connected hello", 1},
		{"allowlist-match", []string{"--allow-connect", fmt.Sprintf("127.0.0.1:%d/tcp", port)}, "connected hello", 1},
		{"allowlist-other-port", []string{"--allow-connect", fmt.Sprintf("127.0.0.1:%d", port+1)}, "failed 101", 0}, // ENETUNREACH
		{"allowlist-udp-only", []string{"--allow-connect", fmt.Sprintf("127.0.0.1:%d/udp", port)}, "failed 101", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := accepted.Load()
			res := runSandbox(t, runSpec{Dir: t.TempDir()}, c.flags, "/usr/bin/python3", "-c", client)
			if strings.TrimSpace(string(res.Stdout)) != c.want {
				t.Fatalf("want %q\n%s", c.want, res.describe())
			}
			time.Sleep(50 * time.Millisecond)
			if got := accepted.Load() - before; got != c.conns {
				t.Fatalf("the server saw %d connections, want %d", got, c.conns)
			}
		})
	}
	// A guest may listen on loopback, never on the network.
	res := runSandbox(t, runSpec{Dir: t.TempDir()}, []string{"--net", "loopback"}, "/usr/bin/python3", "-c", `import socket
for addr in ("127.0.0.1", "0.0.0.0"):
    s = socket.socket()
    try:
        s.bind((addr, 0)); print(addr, "bound")
    except OSError as e:
        print(addr, "failed", e.errno)`)
	if !strings.Contains(string(res.Stdout), "127.0.0.1 bound") || !strings.Contains(string(res.Stdout), "0.0.0.0 failed 13") {
		t.Fatalf("bind rules\n%s", res.describe())
	}
}

// TestAbstractUnixSockets: the guest's abstract unix socket names live in a
// namespace of the sandbox's own. Its processes reach each other (bind,
// connect, autobind, datagrams); a host service's abstract socket is not
// reachable from inside (ECONNREFUSED: there is no such name there), and the
// host cannot reach the guest's listener by the name the guest used.
func TestAbstractUnixSockets(t *testing.T) {
	tag := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	hostName := "sbx-test-host-" + tag
	guestName := "sbx-test-guest-" + tag
	hl, err := net.Listen("unix", "@"+hostName)
	if err != nil {
		t.Fatalf("host abstract listener: %v", err)
	}
	defer hl.Close()
	var hostAccepted atomic.Int32
	go func() {
		for {
			c, err := hl.Accept()
			if err != nil {
				return
			}
			hostAccepted.Add(1)
			c.Close()
		}
	}()

	script := fmt.Sprintf(`import os, socket, sys
c = socket.socket(socket.AF_UNIX)
try:
    c.connect("\0%s"); print("host service reached")
except OSError as e:
    print("host service:", e.errno)
srv = socket.socket(socket.AF_UNIX)
srv.bind("\0%s"); srv.listen(1)
if os.fork() == 0:
    k = socket.socket(socket.AF_UNIX); k.connect("\0%s"); k.sendall(b"hello"); os._exit(0)
a, _ = srv.accept(); print("stream:", a.recv(16).decode()); os.wait()
d1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d1.bind("")
d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d2.bind("")
d2.sendto(b"ping", d1.getsockname())
m, frm = d1.recvfrom(16); d1.sendto(b"pong", frm)
print("dgram:", m.decode(), d2.recv(16).decode())
print("LISTENING", flush=True)
sys.stdin.readline()
`, hostName, guestName, guestName)
	cmd := exec.Command(requireSandbox(t), "run", "--cwd", t.TempDir(), "--", "/usr/bin/python3", "-c", script)
	stdin, _ := cmd.StdinPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "LISTENING" {
			break
		}
	}
	got := strings.Join(lines, "\n")
	if _, err := net.Dial("unix", "@"+guestName); err == nil {
		t.Errorf("ESCAPE: the host reached the guest's abstract listener by its guest name")
	}
	stdin.Close()
	cmd.Wait()
	want := "host service: 111\nstream: hello\ndgram: ping pong\nLISTENING"
	if got != want {
		t.Errorf("guest output:\n%s\nwant:\n%s\nstderr:\n%s", got, want, stderr.String())
	}
	if n := hostAccepted.Load(); n != 0 {
		t.Errorf("ESCAPE: the host's abstract listener accepted %d connection(s) from the guest", n)
	}
}
