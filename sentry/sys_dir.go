package sentry

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// getdents64 and getdents are emulated so that hidden names never appear
// in a listing. The sentry reads through its own reference to the guest's
// open directory (the same open file, so the position is shared), drops
// hidden entries, and copies the rest out.
func sysGetdents64(c *Call) (int64, unix.Errno) { return getdents(c, true) }
func sysGetdents(c *Call) (int64, unix.Errno)   { return getdents(c, false) }

func getdents(c *Call, is64 bool) (int64, unix.Errno) {
	fd := c.Int(0)
	count := int(uint32(c.Arg(2)))
	if fd < 0 {
		return 0, unix.EBADF
	}
	d, rel, errno := c.dirAt(fd)
	if errno != 0 {
		if errno == unix.EACCES {
			errno = unix.EBADF
		}
		return 0, errno
	}
	defer rel()
	if count > 1<<20 {
		count = 1 << 20
	}
	buf := make([]byte, count)
	for {
		n, err := unix.Getdents(d.FD, buf)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		if n == 0 {
			return 0, 0
		}
		out := filterDirents(buf[:n], d.Guest, c.s.fs.HasHidden(d.Guest), func(name string) bool { return c.s.fs.HiddenIn(d.Guest, name) }, is64)
		if out == nil {
			if !is64 {
				// The old layout needs more room per entry than the new
				// one: the caller's buffer was too small for it.
				return 0, unix.EINVAL
			}
			continue // all hidden: read on
		}
		if len(out) == 0 {
			continue
		}
		if e := c.Mem().CopyOut(c.Arg(1), out); e != 0 {
			return 0, e
		}
		return int64(len(out)), 0
	}
}

// filterDirents drops hidden entries and, for the old getdents, converts
// linux_dirent64 records into linux_dirent ones (which can need more room;
// nil then means they did not fit).
func filterDirents(in []byte, dir string, anyHidden bool, hidden func(string) bool, is64 bool) []byte {
	if is64 && !anyHidden {
		return in
	}
	out := make([]byte, 0, len(in))
	for off := 0; off+19 <= len(in); {
		reclen := int(binary.LittleEndian.Uint16(in[off+16:]))
		if reclen == 0 || off+reclen > len(in) {
			break
		}
		rec := in[off : off+reclen]
		name := rec[19:]
		for i, b := range name {
			if b == 0 {
				name = name[:i]
				break
			}
		}
		off += reclen
		if anyHidden && hidden(string(name)) {
			continue
		}
		if is64 {
			out = append(out, rec...)
			continue
		}
		// struct linux_dirent: ino, off (longs), reclen, name, NUL, pad, type.
		l := (8 + 8 + 2 + len(name) + 2 + 7) &^ 7
		old := make([]byte, l)
		copy(old[0:8], rec[0:8])
		copy(old[8:16], rec[8:16])
		binary.LittleEndian.PutUint16(old[16:], uint16(l))
		copy(old[18:], name)
		old[l-1] = rec[18]
		out = append(out, old...)
	}
	if !is64 && len(out) > len(in) {
		return nil
	}
	return out
}
