package sentry

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/mm"
)

// Tracing prints one line per routed call in strace's format, e.g.
//
//	[pid 1234] openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3
//	[pid 1234] openat(AT_FDCWD, "/root/x", O_RDONLY) = -1 ENOENT (No such file or directory)
//
// with the policy's reason after a denial. The decoders read guest memory
// again after the call (through mm, like everything else), so the cost is
// paid only when tracing is on: with no tracer, handle() does not touch any
// of this.

// argKind tells how to print one argument.
type argKind byte

const (
	aInt    argKind = 'd' // signed int
	aFD     argKind = 'f' // fd, or AT_FDCWD
	aPath   argKind = 'p' // NUL-terminated string
	aOFlags argKind = 'o' // open(2) flags
	aMode   argKind = 'm' // octal mode
	aAMode  argKind = 'a' // access(2) mode
	aAtFl   argKind = 'A' // AT_* flags
	aPtr    argKind = 'x' // pointer, in hex
	aStat   argKind = 'S' // struct stat (out)
	aStatx  argKind = 'X' // struct statx (out)
	aBufOut argKind = 'R' // output string whose length is the return value
	aArgv   argKind = 'v' // char *argv[]
	aEnvp   argKind = 'e' // char *envp[] (summarised)
	aSig    argKind = 's' // signal number
	aSAddr  argKind = 'u' // struct sockaddr (with the next arg its length)
	aDomain argKind = 'D' // socket domain
	aFcntl  argKind = 'c' // fcntl command
	aUint   argKind = 'U' // unsigned, decimal
	aFds    argKind = 'P' // int[2] (out), pipe
	aOmit   argKind = '-' // not printed
	aBufIn  argKind = 'B' // input buffer; its length is the next argument
)

// traceSig lists the arguments of the syscalls the sentry handles.
var traceSig = map[int]string{
	unix.SYS_OPEN: "pom", unix.SYS_OPENAT: "fpom", unix.SYS_CREAT: "pm", unix.SYS_OPENAT2: "fpxd",
	unix.SYS_STAT: "pS", unix.SYS_LSTAT: "pS", unix.SYS_NEWFSTATAT: "fpSA", unix.SYS_STATX: "fpAxX",
	unix.SYS_ACCESS: "pa", unix.SYS_FACCESSAT: "fpa", unix.SYS_FACCESSAT2: "fpaA",
	unix.SYS_READLINK: "pRd", unix.SYS_READLINKAT: "fpRd", unix.SYS_GETCWD: "Rd",
	unix.SYS_CHDIR: "p", unix.SYS_FCHDIR: "f", unix.SYS_MKDIR: "pm", unix.SYS_MKDIRAT: "fpm",
	unix.SYS_UNLINK: "p", unix.SYS_UNLINKAT: "fpA", unix.SYS_RMDIR: "p", unix.SYS_RENAME: "pp",
	unix.SYS_RENAMEAT: "fpfp", unix.SYS_RENAMEAT2: "fpfpU", unix.SYS_LINK: "pp", unix.SYS_LINKAT: "fpfpA",
	unix.SYS_SYMLINK: "pp", unix.SYS_SYMLINKAT: "pfp", unix.SYS_CHMOD: "pm", unix.SYS_FCHMODAT: "fpm",
	unix.SYS_CHOWN: "pdd", unix.SYS_LCHOWN: "pdd", unix.SYS_FCHOWNAT: "fpddA", unix.SYS_TRUNCATE: "pd",
	unix.SYS_UTIMENSAT: "fpxA", unix.SYS_PIPE: "P", unix.SYS_PIPE2: "Po", unix.SYS_DUP: "f",
	unix.SYS_DUP2: "ff", unix.SYS_DUP3: "ffo", unix.SYS_FCNTL: "fcx", unix.SYS_EXECVE: "pve",
	unix.SYS_EXECVEAT: "fpveA", unix.SYS_SOCKET: "Ddd", unix.SYS_CONNECT: "fud", unix.SYS_BIND: "fud",
	unix.SYS_KILL: "ds", unix.SYS_TKILL: "ds", unix.SYS_TGKILL: "dds", unix.SYS_UMASK: "m",
	unix.SYS_IOCTL: "fxx", unix.SYS_FCHMOD: "fm", unix.SYS_FCHOWN: "fdd", unix.SYS_STATFS: "px",
	unix.SYS_GETXATTR: "ppxd", unix.SYS_LGETXATTR: "ppxd", unix.SYS_MKNOD: "pmd",
	unix.SYS_SETXATTR: "ppBdx", unix.SYS_LSETXATTR: "ppBdx", unix.SYS_FSETXATTR: "fpBdx",
	unix.SYS_REMOVEXATTR: "pp", unix.SYS_LREMOVEXATTR: "pp", unix.SYS_FREMOVEXATTR: "fp",
	unix.SYS_INOTIFY_ADD_WATCH: "fpx", unix.SYS_SETPRIORITY: "ddd", unix.SYS_SCHED_SETAFFINITY: "ddx",
	unix.SYS_MEMFD_CREATE: "pU", unix.SYS_PIDFD_OPEN: "dU", unix.SYS_CLONE: "xxxxx",
	unix.SYS_MMAP: "xdxxfx", unix.SYS_MPROTECT: "xdx", unix.SYS_SENDTO: "fxdxud",
	// Pass-class calls, seen with --trace=all.
	unix.SYS_READ: "fRd", unix.SYS_WRITE: "fBd", unix.SYS_CLOSE: "f", unix.SYS_EXIT_GROUP: "d",
	unix.SYS_BRK: "x", unix.SYS_MUNMAP: "xd", unix.SYS_LSEEK: "fdd", unix.SYS_FSTAT: "fS",
	unix.SYS_GETPID: "", unix.SYS_GETPPID: "", unix.SYS_GETUID: "", unix.SYS_GETEUID: "",
	unix.SYS_WAIT4: "dxdx", unix.SYS_PREAD64: "fRdd", unix.SYS_PWRITE64: "fBdd",
}

// Tracer receives the lines and keeps the summary.
type Tracer struct {
	mu      sync.Mutex
	w       io.Writer // nil: summary only
	summary map[int]*callStat
}

type callStat struct {
	calls, errors int
	total         time.Duration
}

// NewTracer writes lines to w (nil for none) and counts for Summary.
func NewTracer(w io.Writer) *Tracer { return &Tracer{w: w, summary: map[int]*callStat{}} }

func (t *Tracer) record(c *Call, val int64, errno unix.Errno, d time.Duration) {
	nr := int(c.notif.Data.Nr)
	if !c.Task.Proc.execed && nr != unix.SYS_EXECVE {
		return // the sandbox's own init stage, before the guest exists
	}
	var line string
	if t.w != nil {
		line = c.traceLine(val, errno)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.summary[nr]
	if st == nil {
		st = &callStat{}
		t.summary[nr] = st
	}
	st.calls++
	st.total += d
	if errno != 0 {
		st.errors++
	}
	if t.w != nil {
		io.WriteString(t.w, line)
	}
}

// traceLine formats the call with its result.
func (c *Call) traceLine(val int64, errno unix.Errno) string {
	nr := int(c.notif.Data.Nr)
	var b strings.Builder
	fmt.Fprintf(&b, "[pid %d] %s(", c.notif.Pid, Name(nr))
	sig, ok := traceSig[nr]
	if !ok {
		sig = "xxxxxx"[:6]
	}
	if nr == unix.SYS_OPEN || nr == unix.SYS_OPENAT {
		// strace shows the mode only when the call uses it.
		if fl := int(c.Arg(strings.IndexByte(sig, 'o'))); fl&unix.O_CREAT == 0 && fl&unix.O_TMPFILE != unix.O_TMPFILE {
			sig = sig[:len(sig)-1]
		}
	}
	for i := 0; i < len(sig); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.formatArg(argKind(sig[i]), i, val, errno))
	}
	b.WriteString(") = ")
	switch {
	case c.cont && errno == 0 && (nr == unix.SYS_CHDIR || nr == unix.SYS_FCHDIR):
		b.WriteString("0") // validated by the sentry, performed by the kernel
	case c.cont && errno == 0:
		b.WriteString("? <continued>")
	case errno != 0:
		fmt.Fprintf(&b, "-1 %s (%s)", errnoName(errno), errnoText(errno))
	case nr == unix.SYS_FCNTL || nr == unix.SYS_UMASK:
		fmt.Fprintf(&b, "%d", val)
	default:
		fmt.Fprintf(&b, "%d", val)
	}
	if c.reason != "" {
		fmt.Fprintf(&b, " <policy: %s>", c.reason)
	}
	b.WriteString("\n")
	return b.String()
}

func (c *Call) formatArg(k argKind, i int, val int64, errno unix.Errno) string {
	a := c.Arg(i)
	switch k {
	case aInt:
		return strconv.Itoa(int(int32(a)))
	case aUint:
		return strconv.FormatUint(a, 10)
	case aFD:
		if int32(a) == atFDCWD {
			return "AT_FDCWD"
		}
		return strconv.Itoa(int(int32(a)))
	case aPath:
		if a == 0 {
			return "NULL"
		}
		s, e := c.Mem().CopyInString(a, mm.PathMax)
		if e != 0 {
			return fmt.Sprintf("%#x", a)
		}
		return quote(s, 0)
	case aOFlags:
		return openFlags(int(a))
	case aMode:
		return fmt.Sprintf("%#o", uint32(a)&0o7777)
	case aAMode:
		return accessMode(uint32(a))
	case aAtFl:
		return atFlags(int(a))
	case aStat:
		if errno != 0 || a == 0 {
			return fmt.Sprintf("%#x", a)
		}
		var st unix.Stat_t
		if mm.CopyInStruct(c.Mem(), a, &st) != 0 {
			return fmt.Sprintf("%#x", a)
		}
		return statString(&st)
	case aStatx:
		if errno != 0 || a == 0 {
			return fmt.Sprintf("%#x", a)
		}
		var st unix.Statx_t
		if mm.CopyInStruct(c.Mem(), a, &st) != 0 {
			return fmt.Sprintf("%#x", a)
		}
		return fmt.Sprintf("{stx_mask=%#x, stx_attributes=0, stx_mode=%s, stx_size=%d, ...}", st.Mask, modeString(uint32(st.Mode)), st.Size)
	case aBufOut:
		if errno != 0 || val <= 0 {
			return fmt.Sprintf("%#x", a)
		}
		n := val
		if nr := int(c.notif.Data.Nr); (nr == unix.SYS_READ || nr == unix.SYS_PREAD64) && n > 32 {
			n = 32
		}
		buf := make([]byte, n)
		if c.Mem().CopyIn(a, buf) != 0 {
			return fmt.Sprintf("%#x", a)
		}
		return quote(strings.TrimSuffix(string(buf), "\x00"), 0)
	case aBufIn:
		n := c.Arg(i + 1)
		if n > 32 {
			n = 32
		}
		buf := make([]byte, n)
		if c.Mem().CopyIn(a, buf) != 0 {
			return fmt.Sprintf("%#x", a)
		}
		q := quote(string(buf), 0)
		if c.Arg(i+1) > 32 {
			q += "..."
		}
		return q
	case aArgv:
		return c.argvString(a, false)
	case aEnvp:
		return c.argvString(a, true)
	case aSig:
		return signalName(int(a))
	case aDomain:
		return domainName(int(a))
	case aFcntl:
		return fcntlName(int(a))
	case aSAddr:
		return c.sockaddrString(a, c.Arg(i+1))
	case aFds:
		if errno != 0 {
			return fmt.Sprintf("%#x", a)
		}
		var fds [2]int32
		if mm.CopyInStruct(c.Mem(), a, &fds) != 0 {
			return fmt.Sprintf("%#x", a)
		}
		return fmt.Sprintf("[%d, %d]", fds[0], fds[1])
	}
	return fmt.Sprintf("%#x", a)
}

// quote escapes a string as strace does; max > 0 truncates with "...".
func quote(s string, max int) string {
	var b strings.Builder
	b.WriteByte('"')
	cut := max > 0 && len(s) > max
	if cut {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch ch {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if ch < 0x20 || ch >= 0x7f {
				fmt.Fprintf(&b, `\%o`, ch)
			} else {
				b.WriteByte(ch)
			}
		}
	}
	b.WriteByte('"')
	if cut {
		b.WriteString("...")
	}
	return b.String()
}

func (c *Call) argvString(a uint64, summary bool) string {
	if a == 0 {
		return "NULL"
	}
	var items []string
	for i := uint64(0); i < 4096; i++ {
		p, e := c.Mem().CopyInUint64(a + 8*i)
		if e != 0 {
			return fmt.Sprintf("%#x", a)
		}
		if p == 0 {
			break
		}
		if summary {
			items = append(items, "")
			continue
		}
		s, e := c.Mem().CopyInString(p, 1<<16)
		if e != 0 {
			s = "?"
		}
		items = append(items, quote(s, 32))
	}
	if summary {
		return fmt.Sprintf("%#x /* %d vars */", a, len(items))
	}
	return "[" + strings.Join(items, ", ") + "]"
}

func (c *Call) sockaddrString(a, n uint64) string {
	if a == 0 || n < 2 || n > 128 {
		return fmt.Sprintf("%#x", a)
	}
	raw := make([]byte, n)
	if c.Mem().CopyIn(a, raw) != 0 {
		return fmt.Sprintf("%#x", a)
	}
	fam := uint16(raw[0]) | uint16(raw[1])<<8
	switch fam {
	case unix.AF_UNIX:
		p := raw[2:]
		if len(p) > 0 && p[0] == 0 {
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=@%s}", quote(strings.TrimRight(string(p[1:]), "\x00"), 0))
		}
		if i := strings.IndexByte(string(p), 0); i >= 0 {
			p = p[:i]
		}
		return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=%s}", quote(string(p), 0))
	case unix.AF_INET:
		if n >= 8 {
			return fmt.Sprintf("{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr(\"%d.%d.%d.%d\")}",
				int(raw[2])<<8|int(raw[3]), raw[4], raw[5], raw[6], raw[7])
		}
	}
	return fmt.Sprintf("{sa_family=%s, ...}", domainName(int(fam)))
}

var oFlagNames = []struct {
	v    int
	name string
}{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"}, {unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"}, {unix.O_DSYNC, "O_DSYNC"},
	{unix.O_ASYNC, "O_ASYNC"}, {unix.O_DIRECT, "O_DIRECT"}, {unix.O_LARGEFILE, "O_LARGEFILE"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
}

// openFlags prints open(2) flags as strace does (O_LARGEFILE is implied on
// x86-64 and strace leaves it out).
func openFlags(f int) string {
	var parts []string
	switch f & unix.O_ACCMODE {
	case unix.O_RDONLY:
		parts = append(parts, "O_RDONLY")
	case unix.O_WRONLY:
		parts = append(parts, "O_WRONLY")
	case unix.O_RDWR:
		parts = append(parts, "O_RDWR")
	default:
		parts = append(parts, "O_ACCMODE")
	}
	rest := f &^ unix.O_ACCMODE &^ unix.O_LARGEFILE
	if rest&unix.O_TMPFILE == unix.O_TMPFILE {
		parts = append(parts, "O_TMPFILE")
		rest &^= unix.O_TMPFILE
	}
	if rest&unix.O_SYNC == unix.O_SYNC {
		parts = append(parts, "O_SYNC")
		rest &^= unix.O_SYNC
	}
	for _, n := range oFlagNames {
		if n.v != unix.O_LARGEFILE && rest&n.v != 0 {
			parts = append(parts, n.name)
			rest &^= n.v
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#o", rest))
	}
	return strings.Join(parts, "|")
}

func accessMode(m uint32) string {
	if m == 0 {
		return "F_OK"
	}
	var parts []string
	for _, n := range []struct {
		v    uint32
		name string
	}{{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"}} {
		if m&n.v != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "|")
}

func atFlags(f int) string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range []struct {
		v    int
		name string
	}{{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
		{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
		{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_EACCESS, "AT_EACCESS"}} {
		if f&n.v != 0 {
			parts = append(parts, n.name)
			f &^= n.v
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", f))
	}
	return strings.Join(parts, "|")
}

func modeString(m uint32) string {
	t := map[uint32]string{unix.S_IFREG: "S_IFREG", unix.S_IFDIR: "S_IFDIR", unix.S_IFLNK: "S_IFLNK",
		unix.S_IFCHR: "S_IFCHR", unix.S_IFBLK: "S_IFBLK", unix.S_IFIFO: "S_IFIFO", unix.S_IFSOCK: "S_IFSOCK"}[m&unix.S_IFMT]
	return fmt.Sprintf("%s|%#o", t, m&0o7777)
}

// statString is strace's abbreviated struct stat.
func statString(st *unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK:
		return fmt.Sprintf("{st_mode=%s, st_rdev=makedev(%#x, %#x), ...}", modeString(st.Mode), unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return fmt.Sprintf("{st_mode=%s, st_size=%d, ...}", modeString(st.Mode), st.Size)
}

func signalName(s int) string {
	if s == 0 {
		return "0"
	}
	if n := unix.SignalName(unix.Signal(s)); n != "" {
		return n
	}
	return strconv.Itoa(s)
}

func domainName(d int) string {
	switch d {
	case unix.AF_UNIX:
		return "AF_UNIX"
	case unix.AF_INET:
		return "AF_INET"
	case unix.AF_INET6:
		return "AF_INET6"
	case unix.AF_NETLINK:
		return "AF_NETLINK"
	case unix.AF_PACKET:
		return "AF_PACKET"
	}
	return strconv.Itoa(d)
}

func fcntlName(c int) string {
	switch c {
	case unix.F_DUPFD:
		return "F_DUPFD"
	case unix.F_DUPFD_CLOEXEC:
		return "F_DUPFD_CLOEXEC"
	case unix.F_GETFD:
		return "F_GETFD"
	case unix.F_SETFD:
		return "F_SETFD"
	case unix.F_GETFL:
		return "F_GETFL"
	case unix.F_SETFL:
		return "F_SETFL"
	case unix.F_SETOWN:
		return "F_SETOWN"
	}
	return strconv.Itoa(c)
}

func errnoName(e unix.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "E" + strconv.Itoa(int(e))
}

// errnoText is strerror as strace prints it (capitalised).
func errnoText(e unix.Errno) string {
	s := e.Error()
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// WriteSummary prints a table like strace -c: per syscall, the share of
// time, seconds, usecs per call, calls and errors, by time, with a total.
func (t *Tracer) WriteSummary(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	type row struct {
		name string
		s    *callStat
	}
	var rows []row
	var total time.Duration
	var calls, errs int
	for nr, s := range t.summary {
		rows = append(rows, row{Name(nr), s})
		total += s.total
		calls += s.calls
		errs += s.errors
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].s.total != rows[j].s.total {
			return rows[i].s.total > rows[j].s.total
		}
		return rows[i].name < rows[j].name
	})
	fmt.Fprintf(w, "%% time     seconds  usecs/call     calls    errors syscall\n")
	fmt.Fprintf(w, "------ ----------- ----------- --------- --------- ----------------\n")
	for _, r := range rows {
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(r.s.total) / float64(total)
		}
		errsCol := ""
		if r.s.errors > 0 {
			errsCol = strconv.Itoa(r.s.errors)
		}
		fmt.Fprintf(w, "%6.2f %11.6f %11d %9d %9s %s\n", pct, r.s.total.Seconds(), int(r.s.total.Microseconds())/r.s.calls, r.s.calls, errsCol, r.name)
	}
	fmt.Fprintf(w, "------ ----------- ----------- --------- --------- ----------------\n")
	us := 0
	if calls > 0 {
		us = int(total.Microseconds()) / calls
	}
	fmt.Fprintf(w, "100.00 %11.6f %11d %9d %9d total\n", total.Seconds(), us, calls, errs)
}

var _ = unsafe.Sizeof(0)
