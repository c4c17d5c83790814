package sentry

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NetRule allows connections to a network and port range for a protocol.
type NetRule struct {
	Net          *net.IPNet
	PortLo, Port uint16 // PortLo..Port
	Proto        string // "tcp", "udp" or "" (both)
}

// NetPolicy decides which IP destinations the guest may reach.
type NetPolicy struct {
	// Mode: "none" (no IP sockets), "loopback" (127.0.0.0/8 and ::1 only),
	// or "allowlist" (Rules).
	Mode  string
	Rules []NetRule
}

// ParseNetRule parses "ADDR:PORT[-PORT][/tcp|/udp]", ADDR being a CIDR,
// an IP ([...] for IPv6) or a host name. Names are resolved now (when the
// sandbox starts) to every address they have.
func ParseNetRule(s string) ([]NetRule, error) {
	spec, proto := s, ""
	for _, p := range []string{"/tcp", "/udp"} {
		if strings.HasSuffix(spec, p) {
			spec, proto = strings.TrimSuffix(spec, p), p[1:]
		}
	}
	i := strings.LastIndex(spec, ":")
	if i <= 0 {
		return nil, fmt.Errorf("%q: want ADDR:PORT[-PORT][/tcp|/udp]", s)
	}
	host, ports := strings.Trim(spec[:i], "[]"), spec[i+1:]
	lo, hi, err := portRange(ports)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	var nets []*net.IPNet
	switch {
	case strings.Contains(host, "/"):
		_, n, err := net.ParseCIDR(host)
		if err != nil {
			return nil, fmt.Errorf("%q: bad CIDR %q", s, host)
		}
		nets = append(nets, n)
	case net.ParseIP(host) != nil:
		nets = append(nets, single(net.ParseIP(host)))
	default:
		ips, err := net.LookupIP(host)
		if err != nil {
			return nil, fmt.Errorf("%q: cannot resolve %s: %v", s, host, err)
		}
		for _, ip := range ips {
			nets = append(nets, single(ip))
		}
	}
	var out []NetRule
	for _, n := range nets {
		out = append(out, NetRule{Net: n, PortLo: lo, Port: hi, Proto: proto})
	}
	return out, nil
}

func single(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}
}

func portRange(s string) (uint16, uint16, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("port %q", a)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(b, 10, 16); err != nil || hi < lo {
			return 0, 0, fmt.Errorf("port range %q", s)
		}
	}
	return uint16(lo), uint16(hi), nil
}

// ipOf decodes an AF_INET/AF_INET6 sockaddr.
func ipOf(raw []byte) (net.IP, uint16, bool) {
	fam := binary.LittleEndian.Uint16(raw)
	switch {
	case fam == unix.AF_INET && len(raw) >= 8:
		return net.IP(raw[4:8]), binary.BigEndian.Uint16(raw[2:4]), true
	case fam == unix.AF_INET6 && len(raw) >= 24:
		return net.IP(raw[8:24]), binary.BigEndian.Uint16(raw[2:4]), true
	}
	return nil, 0, false
}

// allows decides a destination for a socket of type sotype.
func (p *NetPolicy) allows(ip net.IP, port uint16, sotype int) bool {
	switch p.Mode {
	case "loopback":
		return ip.IsLoopback()
	case "allowlist":
		proto := "tcp"
		if sotype == unix.SOCK_DGRAM {
			proto = "udp"
		}
		for _, r := range p.Rules {
			if r.Net.Contains(ip) && port >= r.PortLo && port <= r.Port && (r.Proto == "" || r.Proto == proto) {
				return true
			}
		}
	}
	return false
}
