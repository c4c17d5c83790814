// Package landlock restricts a thread (and everything it executes) to the
// host trees of the guest's mount table, so that the paths the kernel
// resolves itself (the execve program after the sentry's check, #!
// interpreters, the ELF loader) stay inside the policy's view.
//
// Invariants: rules only ever allow; a tree is allowed read+execute when
// its mount is read-only, everything when it is read-write. The sentry opens
// every file the guest asks for, so nothing else needs kernel-side access.
package landlock

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filesystem access rights, by ABI version.
const (
	accessExecute   = 1 << 0
	accessWriteFile = 1 << 1
	accessReadFile  = 1 << 2
	accessReadDir   = 1 << 3
	accessV1        = 1<<13 - 1 // EXECUTE .. MAKE_SYM
	accessRefer     = 1 << 13   // v2
	accessTruncate  = 1 << 14   // v3
	accessIoctlDev  = 1 << 15   // v5

	scopeAbstractUnix = 1 << 0 // v6
	scopeSignal       = 1 << 1 // v6

	fileRights = accessExecute | accessWriteFile | accessReadFile | accessTruncate | accessIoctlDev
)

// rulesetAttr is struct landlock_ruleset_attr as of ABI 6.
type rulesetAttr struct {
	HandledFS  uint64
	HandledNet uint64
	Scoped     uint64
}

type pathBeneath struct {
	Allowed uint64
	Fd      int32
}

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

func handled(abi int) uint64 {
	h := uint64(accessV1)
	if abi >= 2 {
		h |= accessRefer
	}
	if abi >= 3 {
		h |= accessTruncate
	}
	if abi >= 5 {
		h |= accessIoctlDev
	}
	return h
}

// Ruleset is a prepared set of rules, not yet enforced. Its rules hold
// inodes, not names: a ruleset prepared before a mount namespace is changed
// still names the same trees afterwards.
type Ruleset struct {
	fd      int // -1: the kernel has no Landlock
	abi     int
	handled uint64
}

// Prepare opens every rule's path and builds a ruleset. It returns an empty
// Ruleset (and no error) when the kernel has no Landlock.
func Prepare(rules []Rule) (*Ruleset, error) {
	abi := ABI()
	if abi <= 0 {
		return &Ruleset{fd: -1}, nil
	}
	attr := rulesetAttr{HandledFS: handled(abi)}
	size := unsafe.Sizeof(attr)
	if abi >= 6 {
		attr.Scoped = scopeAbstractUnix | scopeSignal
	} else {
		size = 8 // ABI 1-3 know handled_access_fs only; 4-5 also net (left 0)
	}
	rfd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return nil, fmt.Errorf("landlock_create_ruleset: %w", e)
	}
	rs := &Ruleset{fd: int(rfd), abi: abi, handled: attr.HandledFS}
	for _, r := range rules {
		if err := rs.Add(r); err != nil {
			rs.Close()
			return nil, err
		}
	}
	return rs, nil
}

// Add opens r's path and adds it to the ruleset.
func (rs *Ruleset) Add(r Rule) error {
	if rs.fd < 0 {
		return nil
	}
	fd, err := unix.Open(r.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("landlock rule %s: %w", r.Path, err)
	}
	defer unix.Close(fd)
	return rs.AddFD(fd, r.Write, r.Path)
}

// AddFD adds the tree beneath fd (an open file or directory, or a
// detached mount) to the ruleset; name is for errors.
func (rs *Ruleset) AddFD(fd int, write bool, name string) error {
	if rs.fd < 0 {
		return nil
	}
	r := Rule{Path: name, Write: write}
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	allowed := uint64(accessExecute | accessReadFile | accessReadDir)
	if r.Write {
		allowed = rs.handled
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		allowed &= fileRights
	}
	pb := pathBeneath{Allowed: allowed & rs.handled, Fd: int32(fd)}
	if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0); e != 0 {
		return fmt.Errorf("landlock_add_rule %s: %w", r.Path, e)
	}
	return nil
}

// Apply confines the calling thread to the ruleset. The caller must have
// set no_new_privs and locked its OS thread. It returns the ABI used (0:
// no Landlock) and closes the ruleset.
func (rs *Ruleset) Apply() (int, error) {
	if rs.fd < 0 {
		return 0, nil
	}
	defer rs.Close()
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs.fd), 0, 0); e != 0 {
		return 0, fmt.Errorf("landlock_restrict_self: %w", e)
	}
	return rs.abi, nil
}

// Close releases an unapplied ruleset.
func (rs *Ruleset) Close() {
	if rs.fd >= 0 {
		unix.Close(rs.fd)
		rs.fd = -1
	}
}

// Restrict is Prepare then Apply.
func Restrict(rules []Rule) (int, error) {
	rs, err := Prepare(rules)
	if err != nil {
		return 0, err
	}
	return rs.Apply()
}
