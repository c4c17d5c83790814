package integration

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a pty master and its slave.
func openPty(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestTerminalPassthrough: a guest on a terminal sees it as its own: tty
// names it, the window size reads through, input typed at the terminal
// arrives, and TIOCSTI (typing into the user's shell) is refused.
func TestTerminalPassthrough(t *testing.T) {
	sb := requireSandbox(t)
	m, s := openPty(t)
	defer m.Close()
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prog := installC(t, "forbidden", dir, "forbidden")
	cmd := exec.Command(sb, "run", "--", "/bin/sh", "-c",
		`tty; stty size; read x; echo "got $x"; `+prog+` tiocsti`)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	m.Write([]byte("typed\n"))
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("guest on a terminal did not finish; output so far %q", out.String())
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	got := strings.ReplaceAll(out.String(), "\r", "")
	for _, want := range []string{"/dev/pts/", "33 77\n", "got typed\n", "ioctl(TIOCSTI) = " + rawErr(1, "EPERM")} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, got)
		}
	}
}
