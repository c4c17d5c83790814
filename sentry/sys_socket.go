package sentry

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/mm"
	"sandbox/vfs"
)

// sysSocket allows only unix sockets while the policy's network is "none".
// The decision is register-only, so the kernel makes the socket.
func sysSocket(c *Call) (int64, unix.Errno) {
	switch c.Int(0) {
	case unix.AF_UNIX:
		return c.Continue()
	case unix.AF_INET, unix.AF_INET6:
		if c.s.cfg.Net.Mode == "" || c.s.cfg.Net.Mode == "none" {
			return c.deny(unix.EACCES, "network is off in this policy")
		}
		switch c.Int(1) &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC) {
		case unix.SOCK_STREAM, unix.SOCK_DGRAM:
			return c.Continue()
		}
		return c.deny(unix.EACCES, "only TCP and UDP sockets are allowed")
	case unix.AF_NETLINK, unix.AF_PACKET, unix.AF_VSOCK, unix.AF_ALG:
		return c.deny(unix.EACCES, "socket family not allowed")
	}
	return 0, unix.EAFNOSUPPORT
}

// sockaddr is a copied-in socket address.
type sockaddr struct {
	raw    []byte
	family uint16
	path   string // AF_UNIX pathname ("" for abstract/unnamed)
	abs    bool   // AF_UNIX abstract
}

func (c *Call) sockaddr(addrArg, lenArg int) (sockaddr, unix.Errno) {
	n := int(int32(c.Arg(lenArg)))
	if n < 0 || n > 128 {
		return sockaddr{}, unix.EINVAL
	}
	if n < 2 {
		return sockaddr{}, unix.EINVAL
	}
	raw := make([]byte, n)
	if e := c.Mem().CopyIn(c.Arg(addrArg), raw); e != 0 {
		return sockaddr{}, e
	}
	if !c.Valid() {
		return sockaddr{}, unix.ESRCH
	}
	return parseSockaddr(raw), 0
}

// parseSockaddr decodes a copied-in address (at least 2 bytes).
func parseSockaddr(raw []byte) sockaddr {
	sa := sockaddr{raw: raw, family: binary.LittleEndian.Uint16(raw)}
	if sa.family == unix.AF_UNIX && len(raw) > 2 {
		p := raw[2:]
		if p[0] == 0 {
			sa.abs = true
		} else {
			if i := bytes.IndexByte(p, 0); i >= 0 {
				p = p[:i]
			}
			sa.path = string(p)
		}
	}
	return sa
}

// unixTarget resolves an AF_UNIX path in the guest's view to a short host
// path the sentry can hand to connect/sendto.
func (c *Call) unixTarget(sa sockaddr) (string, func(), unix.Errno) {
	ctx, rel, errno := c.ctxAt(atFDCWD, sa.path)
	if errno != 0 {
		return "", nil, errno
	}
	defer rel()
	fd, errno := c.s.fs.OpenPath(ctx, sa.path, true)
	if errno != 0 {
		return "", nil, errno
	}
	return "/proc/self/fd/" + itoa(fd), func() { unix.Close(fd) }, 0
}

func hostUnixAddr(path string) []byte {
	b := make([]byte, 2+len(path)+1)
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], path)
	return b
}

// checkAddr decides whether the guest may use sa and gives the address the
// sentry must use on the host.
func (c *Call) checkAddr(sa sockaddr, call string) ([]byte, func(), unix.Errno) {
	switch sa.family {
	case unix.AF_UNIX:
		if sa.abs {
			a, errno := c.s.abstractAddr(sa.raw[3:])
			return a, func() {}, errno
		}
		if sa.path == "" {
			return sa.raw, func() {}, 0
		}
		p, rel, errno := c.unixTarget(sa)
		if errno != 0 {
			return nil, nil, errno
		}
		if len(p) >= 108 {
			rel()
			return nil, nil, unix.ENAMETOOLONG
		}
		return hostUnixAddr(p), rel, 0
	case unix.AF_UNSPEC:
		return sa.raw, func() {}, 0
	case unix.AF_INET, unix.AF_INET6:
		ip, port, ok := ipOf(sa.raw)
		if !ok {
			return nil, nil, unix.EINVAL
		}
		sotype := unix.SOCK_STREAM
		if fd, errno := c.getFD(c.Int(0)); errno == 0 {
			if t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil {
				sotype = t
			}
			unix.Close(fd)
		}
		if call == "bind" {
			// A listener is reachable from the host's network unless it is
			// on loopback: the sandbox only offers loopback listeners.
			if ip.IsLoopback() && c.s.cfg.Net.Mode != "none" {
				return sa.raw, func() {}, 0
			}
			c.reason = "only loopback addresses can be bound"
			c.s.denied(call, c.reason, int(c.notif.Pid))
			return nil, nil, unix.EACCES
		}
		if c.s.cfg.Net.allows(ip, port, sotype) {
			return sa.raw, func() {}, 0
		}
		c.reason = fmt.Sprintf("%s not allowed by the network policy", net.JoinHostPort(ip.String(), strconv.Itoa(int(port))))
		if c.s.cfg.Net.Mode == "none" || c.s.cfg.Net.Mode == "" {
			c.reason = "network is off in this policy"
		}
		c.s.denied(call, c.reason, int(c.notif.Pid))
		return nil, nil, unix.ENETUNREACH
	}
	return nil, nil, unix.EAFNOSUPPORT
}

// Abstract unix socket names are shared by the whole host network
// namespace, where host services (D-Bus, X11, systemd) listen. The guest
// gets a namespace of its own inside it: every abstract name it binds,
// connects or sends to is prefixed with the sentry's random absPrefix, so
// the sandbox's processes meet each other and nothing else. A name that
// already carries the prefix (one the guest read back with getsockname or
// recvfrom) is used as is.

// abstractAddr maps the guest's abstract name (without its leading NUL) to
// the host address the sentry uses.
func (s *Sentry) abstractAddr(name []byte) ([]byte, unix.Errno) {
	name = bytes.TrimPrefix(name, s.absPrefix)
	const sunPath = 108
	if 1+len(s.absPrefix)+len(name) > sunPath {
		return nil, unix.EINVAL // as for an address longer than sockaddr_un
	}
	b := make([]byte, 0, 3+len(s.absPrefix)+len(name))
	b = binary.LittleEndian.AppendUint16(b, unix.AF_UNIX)
	b = append(b, 0)
	b = append(b, s.absPrefix...)
	return append(b, name...), 0
}

// autobind is bind(fd, {AF_UNIX}, 2): Linux picks a free abstract name of
// five hex digits; the sentry picks one inside the guest's namespace.
func (s *Sentry) autobind(fd int) unix.Errno {
	var r [4]byte
	for tries := 0; ; tries++ {
		if _, err := rand.Read(r[:]); err != nil {
			return unix.ENOMEM
		}
		a, errno := s.abstractAddr([]byte(fmt.Sprintf("%05x", binary.LittleEndian.Uint32(r[:])&0xfffff)))
		if errno != 0 {
			return errno
		}
		e := rawSockcall(unix.SYS_BIND, fd, a)
		if e != unix.EADDRINUSE || tries == 64 {
			return e
		}
	}
}

func rawSockcall(nr uintptr, fd int, addr []byte) unix.Errno {
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&addr[0])), uintptr(len(addr)))
	return e
}

func sysConnect(c *Call) (int64, unix.Errno) {
	sa, errno := c.sockaddr(1, 2)
	if errno != 0 {
		return 0, errno
	}
	addr, rel, errno := c.checkAddr(sa, "connect")
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	fd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return 0, rawSockcall(unix.SYS_CONNECT, fd, addr)
}

func sysBind(c *Call) (int64, unix.Errno) {
	sa, errno := c.sockaddr(1, 2)
	if errno != 0 {
		return 0, errno
	}
	fd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	if sa.family == unix.AF_UNIX && sa.path != "" {
		ctx, rel, errno := c.ctxAt(atFDCWD, sa.path)
		if errno != 0 {
			return 0, errno
		}
		defer rel()
		dir, name, errno := c.s.fs.CreateAt(ctx, sa.path)
		if errno != 0 {
			if errno == unix.EEXIST {
				return 0, unix.EADDRINUSE
			}
			return 0, errno
		}
		defer unix.Close(dir)
		p := "/proc/self/fd/" + itoa(dir) + "/" + name
		if len(p) >= 108 {
			return 0, unix.ENAMETOOLONG
		}
		if e := rawSockcall(unix.SYS_BIND, fd, hostUnixAddr(p)); e != 0 {
			return 0, e
		}
		umask := c.Task.Proc.fs.getUmask()
		unix.Fchmodat(dir, name, 0o777&^umask, 0)
		return 0, 0
	}
	if sa.family == unix.AF_UNIX && len(sa.raw) == 2 {
		return 0, c.s.autobind(fd)
	}
	addr, rel, errno := c.checkAddr(sa, "bind")
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	return 0, rawSockcall(unix.SYS_BIND, fd, addr)
}

// send runs a send on the sentry's copy of the socket. A blocking socket
// is polled so that a guest killed mid-call does not strand the thread.
func (c *Call) send(fd int, flags int, op func(flags int) (int, error)) (int64, unix.Errno) {
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	nonblock := fl&unix.O_NONBLOCK != 0 || flags&unix.MSG_DONTWAIT != 0
	for {
		n, err := op(flags | unix.MSG_DONTWAIT)
		if err == unix.EAGAIN && !nonblock {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			unix.Poll(pfd, 100)
			if !c.Valid() {
				return 0, unix.EINTR
			}
			continue
		}
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return int64(n), 0
	}
}

const maxSend = 4 << 20

func sysSendto(c *Call) (int64, unix.Errno) {
	if c.Arg(4) == 0 {
		// No address: nothing to decide.
		return c.Continue()
	}
	sa, errno := c.sockaddr(4, 5)
	if errno != 0 {
		return 0, errno
	}
	addr, rel, errno := c.checkAddr(sa, "sendto")
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	n := c.Arg(2)
	if n > maxSend {
		n = maxSend
	}
	buf := make([]byte, n)
	if e := c.Mem().CopyIn(c.Arg(1), buf); e != 0 {
		return 0, e
	}
	fd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return c.send(fd, c.Int(3), func(fl int) (int, error) {
		var p unsafe.Pointer
		if len(buf) > 0 {
			p = unsafe.Pointer(&buf[0])
		}
		r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(buf)), uintptr(fl), uintptr(unsafe.Pointer(&addr[0])), uintptr(len(addr)))
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	})
}

// msghdr is struct msghdr.
type msghdr struct {
	Name       uint64
	Namelen    uint32
	_          uint32
	Iov        uint64
	Iovlen     uint64
	Control    uint64
	Controllen uint64
	Flags      int32
	_          int32
}

type iovec struct{ Base, Len uint64 }

// sendmsgOne performs one guest sendmsg on the sentry's copy of the socket:
// the data, the destination and SCM_RIGHTS fds are all copied in and
// translated, so nothing the kernel reads later is guest memory.
func sendmsgOne(c *Call, fd int, addr uint64, flags int) (int64, unix.Errno) {
	var m msghdr
	if e := mm.CopyInStruct(c.Mem(), addr, &m); e != 0 {
		return 0, e
	}
	if m.Iovlen > 1024 {
		return 0, unix.EMSGSIZE
	}
	var data []byte
	for i := uint64(0); i < m.Iovlen; i++ {
		var v iovec
		if e := mm.CopyInStruct(c.Mem(), m.Iov+i*16, &v); e != 0 {
			return 0, e
		}
		if uint64(len(data))+v.Len > maxSend {
			v.Len = maxSend - uint64(len(data))
		}
		b := make([]byte, v.Len)
		if e := c.Mem().CopyIn(v.Base, b); e != 0 {
			return 0, e
		}
		data = append(data, b...)
	}
	var to []byte
	if m.Name != 0 && m.Namelen != 0 {
		raw := make([]byte, m.Namelen)
		if m.Namelen > 128 {
			return 0, unix.EINVAL
		}
		if e := c.Mem().CopyIn(m.Name, raw); e != 0 {
			return 0, e
		}
		if len(raw) < 2 {
			return 0, unix.EINVAL
		}
		a, rel, errno := c.checkAddr(parseSockaddr(raw), "sendmsg")
		if errno != 0 {
			return 0, errno
		}
		defer rel()
		to = a
	}
	var oob []byte
	var mine []int
	defer func() {
		for _, f := range mine {
			unix.Close(f)
		}
	}()
	if m.Control != 0 && m.Controllen > 0 {
		if m.Controllen > 64<<10 {
			return 0, unix.ENOBUFS
		}
		ctl := make([]byte, m.Controllen)
		if e := c.Mem().CopyIn(m.Control, ctl); e != 0 {
			return 0, e
		}
		msgs, err := unix.ParseSocketControlMessage(ctl)
		if err != nil {
			return 0, unix.EINVAL
		}
		for _, cm := range msgs {
			if cm.Header.Level == unix.SOL_SOCKET && cm.Header.Type == unix.SCM_RIGHTS {
				var fds []int
				for i := 0; i+4 <= len(cm.Data); i += 4 {
					gfd := int(int32(binary.LittleEndian.Uint32(cm.Data[i:])))
					f, errno := c.getFD(gfd)
					if errno != 0 {
						return 0, errno
					}
					mine = append(mine, f)
					fds = append(fds, f)
				}
				oob = append(oob, unix.UnixRights(fds...)...)
				continue
			}
			h := make([]byte, unix.CmsgSpace(len(cm.Data)))
			hdr := (*unix.Cmsghdr)(unsafe.Pointer(&h[0]))
			*hdr = cm.Header
			hdr.SetLen(unix.CmsgLen(len(cm.Data)))
			copy(h[unix.CmsgLen(0):], cm.Data)
			oob = append(oob, h...)
		}
	}
	return c.send(fd, flags, func(fl int) (int, error) {
		var sa unix.Sockaddr
		_ = sa
		return sendmsgRaw(fd, data, oob, to, fl)
	})
}

func sendmsgRaw(fd int, data, oob, to []byte, flags int) (int, error) {
	var m msghdr
	var iov iovec
	if len(data) > 0 {
		iov = iovec{Base: uint64(uintptr(unsafe.Pointer(&data[0]))), Len: uint64(len(data))}
		m.Iov, m.Iovlen = uint64(uintptr(unsafe.Pointer(&iov))), 1
	}
	if len(oob) > 0 {
		m.Control, m.Controllen = uint64(uintptr(unsafe.Pointer(&oob[0]))), uint64(len(oob))
	}
	if len(to) > 0 {
		m.Name, m.Namelen = uint64(uintptr(unsafe.Pointer(&to[0]))), uint32(len(to))
	}
	r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&m)), uintptr(flags))
	runtimeKeep(data, oob, to, &iov)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

//go:noinline
func runtimeKeep(...any) {}

func sysSendmsg(c *Call) (int64, unix.Errno) {
	fd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	return sendmsgOne(c, fd, c.Arg(1), c.Int(2))
}

func sysSendmmsg(c *Call) (int64, unix.Errno) {
	fd, errno := c.getFD(c.Int(0))
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(fd)
	vlen := c.Arg(2)
	if vlen > 1024 {
		vlen = 1024
	}
	sent := int64(0)
	for i := uint64(0); i < vlen; i++ {
		base := c.Arg(1) + i*64 // struct mmsghdr: msghdr (56) + msg_len (4) + pad
		n, errno := sendmsgOne(c, fd, base, c.Int(3))
		if errno != 0 {
			if sent > 0 {
				return sent, 0
			}
			return 0, errno
		}
		l := uint32(n)
		if e := mm.CopyOutStruct(c.Mem(), base+56, &l); e != 0 {
			return sent, 0
		}
		sent++
	}
	return sent, 0
}

var _ = vfs.Ctx{}
