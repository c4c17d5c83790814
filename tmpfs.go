package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// tmpfsArg is the hidden argv[1] that selects the tmpfs stage.
const tmpfsArg = "__sandbox_tmpfs"

// sizedTmpfs is a private directory that must be a tmpfs of a given size.
type sizedTmpfs struct {
	Guest string
	Host  string // the scratch directory it covers
	Size  uint64 // bytes
}

// tmpfsSet holds the size-limited tmpfs mounts of one sandbox. They live in
// a mount namespace of their own, mounted at the scratch directories they
// stand for, so the kernel reports files in them by those host paths (and
// the view maps them back to guest paths as for any private directory),
// while the host's mount table never changes: nothing is left mounted if
// the sandbox is killed, and no privilege is needed (an unprivileged caller
// gets the namespace inside a user namespace of its own, where mounting a
// tmpfs is allowed). Holding the namespace keeps the mounts attached.
type tmpfsSet struct {
	ns     *os.File   // the namespace (nsfs)
	dirs   []*os.File // each tmpfs's root (O_PATH), in the order asked
	list   []sizedTmpfs
	userns bool // made inside a user namespace (no CAP_SYS_ADMIN)
}

// String describes the mounts for -v: "tmpfs /tmp 64M, /run 1M".
func (t *tmpfsSet) String() string {
	var parts []string
	for _, m := range t.list {
		parts = append(parts, fmt.Sprintf("%s %s", m.Guest, sizeString(m.Size)))
	}
	s := "tmpfs " + strings.Join(parts, ", ")
	if t.userns {
		s += " (in a user namespace)"
	}
	return s
}

// sizeString writes n bytes the way the policy does (64M), exactly.
func sizeString(n uint64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatUint(n, 10)
}

// Close releases the mounts (they go away with the last open file in them).
func (t *tmpfsSet) Close() {
	if t == nil {
		return
	}
	for _, d := range t.dirs {
		d.Close()
	}
	t.ns.Close()
}

// mountTmpfs mounts a tmpfs of each size over each directory, in a mount
// namespace made by a short-lived child (self, in its tmpfs stage), and
// returns the namespace and the mounts' roots. The child stays until they
// are open.
func mountTmpfs(self string, list []sizedTmpfs) (*tmpfsSet, error) {
	args := []string{tmpfsArg}
	for _, t := range list {
		args = append(args, t.Host, strconv.FormatUint(t.Size, 10))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	hold, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	defer hold.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	userns := !canMount()
	if userns {
		// Root inside, the caller outside: files the sentry creates there
		// belong to the caller, as in any private directory.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		why := err.Error()
		if userns {
			switch {
			case errors.Is(err, unix.ENOSPC):
				why = "user namespaces are disabled or used up (sysctl user.max_user_namespaces)"
			case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
				why = "user namespaces are not permitted here (a container's seccomp or AppArmor policy, or kernel.unprivileged_userns_clone=0)"
			}
			why = "it needs CAP_SYS_ADMIN or a user namespace, and " + why
		}
		return nil, fmt.Errorf("tmpfs %s: %s", t0(list), why)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ok\n" {
		hold.Close()
		cmd.Wait()
		return nil, fmt.Errorf("tmpfs %s: %s", t0(list), strings.TrimSpace(strings.TrimPrefix(stderr.String(), "sandbox: tmpfs: ")))
	}
	t := &tmpfsSet{list: list, userns: userns}
	root := fmt.Sprintf("/proc/%d/", cmd.Process.Pid)
	t.ns, err = os.Open(root + "ns/mnt")
	for i := 0; err == nil && i < len(list); i++ {
		var fd int
		fd, err = unix.Open(root+"root"+list[i].Host, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			t.dirs = append(t.dirs, os.NewFile(uintptr(fd), list[i].Host))
		}
	}
	hold.Close()
	go cmd.Wait() // it exits on EOF; nothing to wait for here
	if err != nil {
		if t.ns != nil {
			t.Close()
		}
		return nil, fmt.Errorf("tmpfs %s: %w", t0(list), err)
	}
	return t, nil
}

// t0 names the first of the mounts in an error (they fail together).
func t0(list []sizedTmpfs) string {
	return fmt.Sprintf("%s (size %s)", list[0].Guest, sizeString(list[0].Size))
}

// tmpfsStage runs in the child mountTmpfs starts, already in its own mount
// namespace: it mounts, says "ok", and waits for stdin to close.
func tmpfsStage(args []string) error {
	if len(args)%2 != 0 {
		return fmt.Errorf("bad arguments")
	}
	// Nothing mounted here may reach the host's namespace.
	if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the namespace private: %w", err)
	}
	for i := 0; i < len(args); i += 2 {
		opts := "mode=1777,size=" + args[i+1]
		if err := unix.Mount("tmpfs", args[i], "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("%s (%s): %w", args[i], opts, err)
		}
	}
	os.Stdout.WriteString("ok\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
	return nil
}
