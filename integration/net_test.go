package integration

import (
	"fmt"
	"net"
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
