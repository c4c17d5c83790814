package sandbox

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The mount-namespace layer (kernelBinds) needs CAP_SYS_ADMIN. Without it,
// the guest is started in a user namespace of its own in which the caller's
// uid and gid map to themselves, and the init stage gets CAP_SYS_ADMIN
// there (ambient) for the binds, then drops every capability before the
// guest runs. Ids the kernel reports in the guest's namespace differ from
// the host's only for users outside the map (shown as the overflow id,
// 65534): the sentry's answers are the host's (stat, statx and readlink
// are emulated; fstat and getgroups are routed for this, Options.RouteIDs);
// what still passes natively shows them as the kernel does (SO_PEERCRED of
// a peer outside the sandbox, owners in an fstat of a file another user
// owns made with the raw statx of an fd: these are rare).

// wantUserNS tells whether the guest should get a user namespace: no
// CAP_SYS_ADMIN, private directories to bind, and user namespaces allowed.
func (c *Cmd) wantUserNS() bool {
	if canMount() || c.Root != "" {
		return false
	}
	if c.Policy.Filesystem.Tmp != "private" && len(c.Policy.Filesystem.Tmpfs)+len(c.Tmpfs) == 0 {
		return false
	}
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || n == 0 {
		return false
	}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return false
	}
	return true
}

// inUserNS starts the init stage in the user namespace.
func (c *Cmd) inUserNS(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	// Kept across the exec of the init stage (a non-root uid loses its
	// capabilities at exec otherwise): enough to bind and to drop the rest.
	attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP}
}

// bindable tells which of the sandbox's own directories the init stage can
// bind: all of them with CAP_SYS_ADMIN or in the guest's user namespace,
// none without either.
func (c *Cmd) bindable(host string) bool {
	return (canMount() || c.userns) && c.ownDir(host)
}

// ipcNS tells whether the guest gets an IPC namespace of its own, in which
// System V IPC and POSIX message queues then pass: the init stage can make
// one with CAP_SYS_ADMIN, directly or in the guest's user namespace.
func (c *Cmd) ipcNS() bool {
	return canMount() || c.userns
}
