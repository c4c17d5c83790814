package sentry

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
