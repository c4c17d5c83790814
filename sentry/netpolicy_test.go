package sentry

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNetRules(t *testing.T) {
	var p NetPolicy
	p.Mode = "allowlist"
	for _, r := range []string{"127.0.0.1:8080/tcp", "10.0.0.0/8:443-444", "[::1]:53/udp"} {
		rs, err := ParseNetRule(r)
		if err != nil {
			t.Fatal(err)
		}
		p.Rules = append(p.Rules, rs...)
	}
	cases := []struct {
		ip     string
		port   uint16
		sotype int
		want   bool
	}{
		{"127.0.0.1", 8080, unix.SOCK_STREAM, true},
		{"127.0.0.1", 8080, unix.SOCK_DGRAM, false}, // tcp only
		{"127.0.0.1", 8081, unix.SOCK_STREAM, false},
		{"10.1.2.3", 444, unix.SOCK_STREAM, true},
		{"10.1.2.3", 445, unix.SOCK_STREAM, false},
		{"11.0.0.1", 443, unix.SOCK_STREAM, false},
		{"::1", 53, unix.SOCK_DGRAM, true},
	}
	for _, c := range cases {
		if got := p.allows(net.ParseIP(c.ip), c.port, c.sotype); got != c.want {
			t.Errorf("%s:%d type %d: %v, want %v", c.ip, c.port, c.sotype, got, c.want)
		}
	}
	for _, bad := range []string{"127.0.0.1", "1.2.3.4:x", "1.2.3.0/33:80", "1.2.3.4:80/sctp", "1.2.3.4:90-80"} {
		if _, err := ParseNetRule(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	lb := NetPolicy{Mode: "loopback"}
	if !lb.allows(net.ParseIP("127.0.0.5"), 1, unix.SOCK_STREAM) || lb.allows(net.ParseIP("10.0.0.1"), 1, unix.SOCK_STREAM) {
		t.Error("loopback mode")
	}
}
