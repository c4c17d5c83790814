package sentry

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/mm"
	"sandbox/seccomp"
)

func TestDecoders(t *testing.T) {
	cases := []struct{ got, want string }{
		{openFlags(unix.O_RDONLY | unix.O_CLOEXEC), "O_RDONLY|O_CLOEXEC"},
		{openFlags(unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_LARGEFILE), "O_WRONLY|O_CREAT|O_TRUNC"},
		{openFlags(unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_DIRECTORY), "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY"},
		{openFlags(unix.O_RDONLY | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_DIRECTORY), "O_RDONLY|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY"},
		{openFlags(unix.O_RDWR | unix.O_TMPFILE), "O_RDWR|O_TMPFILE"},
		{quote("a\"b\\c\n\t\x01\xff", 0), `"a\"b\\c\n\t\1\377"`},
		{quote(strings.Repeat("x", 40), 32), `"` + strings.Repeat("x", 32) + `"...`},
		{accessMode(0), "F_OK"},
		{accessMode(unix.R_OK | unix.X_OK), "R_OK|X_OK"},
		{atFlags(unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH), "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"},
		{atFlags(0), "0"},
		{statString(&unix.Stat_t{Mode: unix.S_IFREG | 0o644, Size: 3}), "{st_mode=S_IFREG|0644, st_size=3, ...}"},
		{statString(&unix.Stat_t{Mode: unix.S_IFCHR | 0o666, Rdev: unix.Mkdev(1, 3)}), "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}"},
		{signalName(15), "SIGTERM"},
		{errnoName(unix.ENOENT) + " (" + errnoText(unix.ENOENT) + ")", "ENOENT (No such file or directory)"},
		{fcntlName(unix.F_DUPFD_CLOEXEC), "F_DUPFD_CLOEXEC"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// TestSummaryFormat: strace -c's layout, sorted by time, with a total.
func TestSummaryFormat(t *testing.T) {
	tr := NewTracer(nil)
	tr.summary[unix.SYS_OPENAT] = &callStat{calls: 4, errors: 1, total: 40 * time.Microsecond}
	tr.summary[unix.SYS_STAT] = &callStat{calls: 1, total: 60 * time.Microsecond}
	var b bytes.Buffer
	tr.WriteSummary(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"% time     seconds  usecs/call     calls    errors syscall",
		"------ ----------- ----------- --------- --------- ----------------",
		" 60.00    0.000060          60         1           stat",
		" 40.00    0.000040          10         4         1 openat",
		"------ ----------- ----------- --------- --------- ----------------",
		"100.00    0.000100          20         5         1 total",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("summary:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
}

// TestEveryDecoder formats a line for every syscall the trace decodes,
// with arguments pointing into this process's memory (the decoders read
// it through mm, as they read a guest's), and checks each line's shape:
// the name, as many arguments as the decoder table says, the result.
func TestEveryDecoder(t *testing.T) {
	path := append([]byte("/etc/host\"name\n"), 0)
	var st unix.Stat_t
	st.Mode, st.Size = unix.S_IFREG|0o644, 7
	fds := [2]int32{3, 4}
	sun := []byte{1, 0, '/', 's', 0}
	argv := [2]uint64{uint64(uintptr(unsafe.Pointer(&path[0]))), 0}
	ptr := func(p unsafe.Pointer) uint64 { return uint64(uintptr(p)) }
	s := &Sentry{}
	proc := &Process{Tgid: os.Getpid(), mem: mm.New(os.Getpid())}
	for nr, sig := range traceSig {
		var n seccomp.Notif
		n.Pid = 42
		n.Data.Nr = int32(nr)
		for i := 0; i < len(sig); i++ {
			switch argKind(sig[i]) {
			case aPath:
				n.Data.Args[i] = ptr(unsafe.Pointer(&path[0]))
			case aStat:
				n.Data.Args[i] = ptr(unsafe.Pointer(&st))
			case aFds:
				n.Data.Args[i] = ptr(unsafe.Pointer(&fds))
			case aSAddr:
				n.Data.Args[i], n.Data.Args[i+1] = ptr(unsafe.Pointer(&sun[0])), uint64(len(sun))
				i++
			case aArgv, aEnvp:
				n.Data.Args[i] = ptr(unsafe.Pointer(&argv[0]))
			case aBufOut, aBufIn:
				n.Data.Args[i] = ptr(unsafe.Pointer(&path[0]))
				if i+1 < 6 {
					n.Data.Args[i+1] = 3
				}
			case aFD:
				fdcwd := int64(atFDCWD)
				n.Data.Args[i] = uint64(fdcwd)
			default:
				n.Data.Args[i] = 0
			}
		}
		c := &Call{s: s, notif: &n, Task: &Task{Tid: 42, Proc: proc}}
		line := c.traceLine(3, 0)
		name := Name(nr)
		if !strings.HasPrefix(line, "[pid 42] "+name+"(") || !strings.HasSuffix(line, ") = 3\n") {
			t.Errorf("%s: malformed line %q", name, line)
			continue
		}
		if strings.Contains(line, "%!") {
			t.Errorf("%s: formatting error in %q", name, line)
		}
		if strings.Contains(sig, "p") && !strings.Contains(line, `"/etc/host\"name\n"`) {
			t.Errorf("%s: path not decoded and escaped: %q", name, line)
		}
		if strings.Contains(sig, "S") && !strings.Contains(line, "{st_mode=S_IFREG|0644, st_size=7, ...}") {
			t.Errorf("%s: stat not decoded: %q", name, line)
		}
		if strings.Contains(sig, "u") && !strings.Contains(line, `{sa_family=AF_UNIX, sun_path="/s"}`) {
			t.Errorf("%s: sockaddr not decoded: %q", name, line)
		}
	}
	// The result forms: an errno with its text, a denial with its reason.
	var n seccomp.Notif
	n.Data.Nr = unix.SYS_SOCKET
	n.Data.Args[0] = unix.AF_INET
	c := &Call{s: s, notif: &n, Task: &Task{Proc: proc}, reason: "network is off in this policy"}
	if got := c.traceLine(0, unix.EACCES); got != "[pid 0] socket(AF_INET, 0, 0) = -1 EACCES (Permission denied) <policy: network is off in this policy>\n" {
		t.Errorf("denial line: %q", got)
	}
}
