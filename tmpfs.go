package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sizedTmpfs is a private directory that must be a tmpfs of a given size.
type sizedTmpfs struct {
	Guest string
	Host  string // the scratch directory it covers
	Size  uint64 // bytes
}

// tmpfsSet holds the size-limited tmpfs mounts of one sandbox. The init
// stage mounts them, first thing, over the scratch directories they stand
// for, in the mount namespace it makes for the guest (CAP_SYS_ADMIN, or the
// guest's user namespace): the kernel reports files in them by those host
// paths (which the view maps back to guest paths as for any private
// directory), the binds of the mount-namespace layer reach them, and the
// host's mount table never changes, so nothing is left mounted if the
// sandbox is killed. The sentry holds that first namespace (which keeps the
// mounts attached) and the mounts' roots.
type tmpfsSet struct {
	ns   *os.File   // the namespace (nsfs)
	dirs []*os.File // each tmpfs's root (O_PATH), in the order asked
	list []sizedTmpfs
}

// String describes the mounts for -v: "tmpfs /tmp 64M, /run 1M".
func (t *tmpfsSet) String() string {
	var parts []string
	for _, m := range t.list {
		parts = append(parts, fmt.Sprintf("%s %s", m.Guest, sizeString(m.Size)))
	}
	return "tmpfs " + strings.Join(parts, ", ")
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

// tmpfsEnv passes the init stage the mounts to make (encodeTmpfs); it
// reports "ok PID" or what failed on fd 5.
const tmpfsEnv = "SANDBOX_TMPFS"

// encodeTmpfs lists the mounts for the init stage's mount_sized
// (initstage.c): one "SIZE:HOSTPATH" line each. The host paths are the
// sandbox's own scratch directories.
func encodeTmpfs(list []sizedTmpfs) (string, error) {
	var b strings.Builder
	for _, m := range list {
		if strings.ContainsAny(m.Host, "\n\x00") {
			return "", fmt.Errorf("tmpfs %s: scratch path %q holds a newline or NUL", m.Guest, m.Host)
		}
		fmt.Fprintf(&b, "%d:%s\n", m.Size, m.Host)
	}
	return b.String(), nil
}

// t0 names the first of the mounts in an error (they fail together).
func t0(list []sizedTmpfs) string {
	return fmt.Sprintf("%s (size %s)", list[0].Guest, sizeString(list[0].Size))
}

// openTmpfs reads the init stage's report and takes hold of the namespace
// and the mounts' roots.
func openTmpfs(report *os.File, list []sizedTmpfs) (*tmpfsSet, error) {
	line, _ := bufio.NewReader(report).ReadString('\n')
	line = strings.TrimSpace(line)
	p, ok := strings.CutPrefix(line, "ok ")
	pid, err := strconv.Atoi(p)
	if !ok || err != nil {
		if line == "" {
			line = "the init stage exited before mounting"
		}
		return nil, fmt.Errorf("tmpfs %s: %s", t0(list), line)
	}
	root := fmt.Sprintf("/proc/%d/", pid)
	t := &tmpfsSet{list: list}
	if t.ns, err = os.Open(root + "ns/mnt"); err != nil {
		return nil, fmt.Errorf("tmpfs %s: %w", t0(list), err)
	}
	for _, m := range list {
		fd, err := unix.Open(root+"root"+m.Host, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("tmpfs %s: %w", t0(list), err)
		}
		t.dirs = append(t.dirs, os.NewFile(uintptr(fd), m.Host))
	}
	return t, nil
}
