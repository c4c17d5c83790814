package landlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("LANDLOCK_TEST_CHILD"); dir != "" {
		runtime.LockOSThread()
		unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		if _, err := Restrict([]Rule{{Path: "/usr"}, {Path: "/lib"}, {Path: "/lib64"}}); err != nil {
			os.Stdout.WriteString("restrict: " + err.Error())
			os.Exit(1)
		}
		// Both execs come from this (restricted) thread.
		errUsr := unix.Exec("/usr/bin/true", []string{"true"}, nil)
		os.Stdout.WriteString("usr: " + errUsr.Error())
		os.Exit(1)
	}
	if dir := os.Getenv("LANDLOCK_TEST_CHILD2"); dir != "" {
		runtime.LockOSThread()
		unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		Restrict([]Rule{{Path: "/usr"}, {Path: "/lib"}, {Path: "/lib64"}})
		err := unix.Exec(filepath.Join(dir, "prog"), []string{"prog"}, nil)
		os.Stdout.WriteString("outside: " + err.Error())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRestrict: under the rules, exec works beneath an allowed tree and is
// refused elsewhere (the kernel's own lookup is bounded).
func TestRestrict(t *testing.T) {
	if ABI() <= 0 {
		t.Skip("this kernel has no Landlock")
	}
	dir := t.TempDir()
	src, _ := os.ReadFile("/usr/bin/true")
	os.WriteFile(filepath.Join(dir, "prog"), src, 0o755)
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "LANDLOCK_TEST_CHILD="+dir)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("exec under /usr must work: %v %s", err, out)
	}
	c = exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "LANDLOCK_TEST_CHILD2="+dir)
	out, _ = c.CombinedOutput()
	if !strings.Contains(string(out), "outside: permission denied") {
		t.Fatalf("exec outside the rules: %s", out)
	}
}
