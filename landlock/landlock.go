// Package landlock names what the sandbox's kernel layer allows: the host
// trees of the guest's mount table, so that the paths the kernel resolves
// itself (the execve program after the sentry's check, #! interpreters,
// the ELF loader) stay inside the policy's view. The init stage
// (initstage.c in the sandbox package) builds and enforces the ruleset in
// C, before any Go runtime exists; this package holds the rule type the
// sandbox hands it and the kernel's ABI probe.
//
// Invariants: rules only ever allow; a tree is allowed read+execute when
// its mount is read-only, everything when it is read-write. The sentry opens
// every file the guest asks for, so nothing else needs kernel-side access.
package landlock

import "golang.org/x/sys/unix"

// Rule allows access beneath one host path.
type Rule struct {
	Path  string
	Write bool
}

// ABI returns the kernel's Landlock ABI version, 0 when unavailable.
func ABI() int {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0
	}
	return int(v)
}
