package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
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

// TestJobControl: under an interactive shell on a terminal, a sandboxed job
// stops on Ctrl-Z, resumes with fg and dies on Ctrl-C (status 130), and
// nothing of it is left running; as the caller and, unprivileged (where
// the guest then has a user namespace of its own), as uid 65534.
func TestJobControl(t *testing.T) { asCallerAndNobody(t, jobControl) }

func jobControl(t *testing.T, cred *syscall.Credential) {
	sb := requireSandbox(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not installed")
	}
	m, s := openPty(t)
	defer m.Close()
	dir := t.TempDir()
	if cred != nil {
		sb = unprivSandbox(t)
		chownTree(t, dir, nobody, nobody)
		if err := os.Chown(s.Name(), nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-i")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PS1=$ ", "TERM=dumb")
	if cred != nil {
		cmd.Env = append(cmd.Env, "TMPDIR="+dir)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	defer cmd.Process.Kill()
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// seen waits for a line of output (the terminal also echoes what we
	// type, so a bare substring would match the command line itself).
	seen := func(want string) bool {
		return waitFor(func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, line := range strings.Split(strings.ReplaceAll(out.String(), "\r", ""), "\n") {
				if strings.HasPrefix(strings.TrimPrefix(line, "$ "), want) || strings.HasPrefix(line, "["+"1]+  "+want) {
					return true
				}
			}
			return false
		}, 10*time.Second)
	}
	marker := strconv.Itoa(600000 + os.Getpid()%100000)
	send := func(s string) { m.Write([]byte(s)) }
	send(sb + " run -- sh -c 'echo started; sleep " + marker + "; echo finished'\n")
	if !seen("started") {
		t.Fatalf("job did not start:\n%s", out.String())
	}
	send("\x1a") // Ctrl-Z
	if !seen("Stopped") {
		t.Fatalf("Ctrl-Z did not stop the job:\n%s", out.String())
	}
	send("fg\n")
	time.Sleep(300 * time.Millisecond)
	send("\x03") // Ctrl-C
	send("echo \"rc=$?\"\n")
	if !seen("rc=130") {
		t.Fatalf("Ctrl-C after fg did not end the job with 130:\n%s", out.String())
	}
	mu.Lock()
	if strings.Contains(strings.ReplaceAll(out.String(), "\r", ""), "\nfinished\n") {
		t.Errorf("the job ran to completion instead of dying on Ctrl-C")
	}
	mu.Unlock()
	if !waitFor(func() bool { return len(guestPids(marker)) == 0 }, 5*time.Second) {
		t.Errorf("job processes survived Ctrl-C: %v", guestPids(marker))
	}
	send("exit\n")
}

// TestPtys: the guest can make pseudo-terminals (openpty, script(1)) and
// reopen its own by name, but cannot open a pty it did not make: here one
// the test holds on the host, standing for the user's other terminals.
func TestPtys(t *testing.T) {
	if _, err := os.Stat("/usr/bin/script"); err != nil {
		t.Skip("script(1) not installed")
	}
	hostPtmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx on this host: %v", err)
	}
	defer hostPtmx.Close()
	if err := unix.IoctlSetPointerInt(int(hostPtmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(hostPtmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	hostPts := "/dev/pts/" + strconv.Itoa(int(n))
	script := `import os, pty, subprocess, sys
m, s = pty.openpty(); os.write(s, b"hi\n")
got = b""
while len(got) < 4: got += os.read(m, 10)  # the master may hand it over in pieces
print("echo:", got)
name = os.ttyname(s); os.close(os.open(name, os.O_RDWR)); print("reopen own: ok")
os.chmod(name, 0o620); os.utime(name, (1, 2)); st = os.stat(name)
print("chmod own:", oct(st.st_mode & 0o777), st.st_mtime)
try:
    os.chmod(sys.argv[1], 0o666); print("chmod host pty: ok")
except OSError as e:
    print("chmod host pty:", e.errno)
try:
    os.open(sys.argv[1], os.O_RDWR); print("host pty: opened")
except OSError as e:
    print("host pty:", e.errno)
out = subprocess.run(["script", "-qc", "echo in-script", "/dev/null"], capture_output=True, timeout=20)
print("script:", out.returncode, b"in-script" in out.stdout)
`
	res := runSandbox(t, runSpec{Dir: t.TempDir()}, nil, "/usr/bin/python3", "-c", script, hostPts)
	want := "echo: b'hi\\r\\n'\nreopen own: ok\nchmod own: 0o620 2.0\nchmod host pty: 30\nhost pty: 13\nscript: 0 True\n"
	if string(res.Stdout) != want {
		t.Errorf("want:\n%s\n%s", want, res.describe())
	}
	// Natively the same process opens the host pty: the refusal is ours.
	native := runNative(t, runSpec{Dir: t.TempDir()}, "/usr/bin/python3", "-c", script, hostPts)
	if !strings.Contains(string(native.Stdout), "host pty: opened") {
		t.Errorf("native run could not open %s either: the test proves nothing\n%s", hostPts, native.describe())
	}
	// The guest's own pty behaves as natively.
	if want := "chmod own: 0o620 2.0\n"; !strings.Contains(string(native.Stdout), want) {
		t.Errorf("native run: want %q\n%s", want, native.describe())
	}
}

// TestPtyNumberReused: a pty the guest made and closed is not the guest's
// any more, even when a host session gets the same number next (Linux hands
// out the lowest free one): the guest can neither open it nor change its
// mode.
func TestPtyNumberReused(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skipf("no /dev/ptmx on this host: %v", err)
	}
	sb := requireSandbox(t)
	script := `import os, sys
m = os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY)
import fcntl, struct, termios
n = struct.unpack('I', fcntl.ioctl(m, 0x80045430, b'\0\0\0\0'))[0]  # TIOCGPTN
os.close(m)
print(n, flush=True)
sys.stdin.readline()
p = '/dev/pts/%d' % n
for name, f in [('open', lambda: os.close(os.open(p, os.O_RDWR | os.O_NOCTTY))), ('chmod', lambda: os.chmod(p, 0o666))]:
    try:
        f(); print(name, 'ok')
    except OSError as e:
        print(name, e.errno)
`
	cmd := exec.Command(sb, "run", "--", "/usr/bin/python3", "-c", script)
	cmd.Dir = t.TempDir()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n')
	n, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		t.Fatalf("guest: %q %v", line, err)
	}
	// Take host ptys until one gets the guest's old number.
	var got bool
	for i := 0; i < 64 && !got; i++ {
		m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		k, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
		if err != nil {
			t.Fatal(err)
		}
		// Unlocked, as a terminal in use is: a locked slave answers
		// EIO to anyone.
		if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
			t.Fatal(err)
		}
		got = int(k) == n
	}
	if !got {
		t.Fatalf("no host pty got number %d", n)
	}
	var before unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/dev/pts/%d", n), &before); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	rest, _ := io.ReadAll(rd)
	cmd.Wait()
	if want := "open 13\nchmod 30\n"; string(rest) != want {
		t.Errorf("guest on the host's pty %d: %q, want %q", n, rest, want)
	}
	var after unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/dev/pts/%d", n), &after); err != nil {
		t.Fatal(err)
	}
	if after.Mode != before.Mode {
		t.Errorf("host pty mode changed: %o -> %o", before.Mode, after.Mode)
	}
}
