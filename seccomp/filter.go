package seccomp

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Class is how the filter routes one syscall.
type Class int

// The five routing classes of DESIGN §2.
const (
	Deny    Class = iota // SECCOMP_RET_ERRNO(Errno)
	Pass                 // SECCOMP_RET_ALLOW
	Emulate              // SECCOMP_RET_USER_NOTIF
	Trap                 // SECCOMP_RET_TRAP
	Kill                 // SECCOMP_RET_KILL_PROCESS
)

func (c Class) String() string {
	switch c {
	case Deny:
		return "deny"
	case Pass:
		return "pass"
	case Emulate:
		return "emulate"
	case Trap:
		return "trap"
	case Kill:
		return "kill"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Cond narrows a rule to calls whose argument Arg, masked with Mask, equals
// Value (SCMP_CMP_MASKED_EQ); Ne inverts it.
type Cond struct {
	Arg   uint
	Mask  uint64
	Value uint64
	Ne    bool
}

// Rule routes one syscall number. With Conds, the rule applies only when all
// conditions hold; the syscall's unconditional rule applies otherwise.
type Rule struct {
	Nr    int
	Class Class
	Errno unix.Errno // for Deny
	Conds []Cond
}

// Spec is a whole filter: rules plus the action for every number not named.
type Spec struct {
	Rules        []Rule
	DefaultErrno unix.Errno // numbers with no rule get -DefaultErrno
}

func action(c Class, errno unix.Errno) (libseccomp.ScmpAction, error) {
	switch c {
	case Deny:
		return libseccomp.ActErrno.SetReturnCode(int16(errno)), nil
	case Pass:
		return libseccomp.ActAllow, nil
	case Emulate:
		return libseccomp.ActNotify, nil
	case Trap:
		return libseccomp.ActTrap, nil
	case Kill:
		return libseccomp.ActKillProcess, nil
	}
	return 0, fmt.Errorf("unknown class %d", c)
}

// Compile builds the BPF program for spec. The result is the raw
// sock_filter array, ready for Load.
func Compile(spec Spec) ([]unix.SockFilter, error) {
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(int16(spec.DefaultErrno)))
	if err != nil {
		return nil, fmt.Errorf("new seccomp filter: %w", err)
	}
	defer f.Release()
	// Only the native arch is added: libseccomp then sends every other
	// architecture, and x32 numbers, to the bad-arch action.
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("set bad-arch action: %w", err)
	}
	// We set no_new_privs ourselves in the init stage; the exported program
	// must not depend on libseccomp loading it.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("clear nnp attr: %w", err)
	}
	// A binary tree of syscall numbers instead of a linear chain: routed
	// calls (which the kernel's action cache cannot skip) run ~9 compares
	// instead of up to hundreds.
	if err := f.SetOptimize(2); err != nil {
		return nil, fmt.Errorf("set optimize: %w", err)
	}
	rules := append([]Rule(nil), spec.Rules...)
	// Conditional rules first so that libseccomp sees the narrow cases before
	// the syscall's default.
	sort.SliceStable(rules, func(i, j int) bool { return len(rules[i].Conds) > len(rules[j].Conds) })
	for _, r := range rules {
		act, err := action(r.Class, r.Errno)
		if err != nil {
			return nil, err
		}
		if act == libseccomp.ActErrno.SetReturnCode(int16(spec.DefaultErrno)) && len(r.Conds) == 0 {
			continue // same as the default: no rule needed
		}
		sc := libseccomp.ScmpSyscall(r.Nr)
		if len(r.Conds) == 0 {
			if err := f.AddRuleExact(sc, act); err != nil {
				return nil, fmt.Errorf("rule for syscall %d (%v): %w", r.Nr, r.Class, err)
			}
			continue
		}
		var conds []libseccomp.ScmpCondition
		for _, c := range r.Conds {
			op := libseccomp.CompareMaskedEqual
			if c.Ne {
				// libseccomp has no masked-not-equal; a full-width compare
				// covers the cases we use (NULL pointer tests).
				if c.Mask != ^uint64(0) {
					return nil, fmt.Errorf("syscall %d: masked != is not supported", r.Nr)
				}
				op = libseccomp.CompareNotEqual
				cond, err := libseccomp.MakeCondition(c.Arg, op, c.Value)
				if err != nil {
					return nil, err
				}
				conds = append(conds, cond)
				continue
			}
			cond, err := libseccomp.MakeCondition(c.Arg, op, c.Mask, c.Value)
			if err != nil {
				return nil, err
			}
			conds = append(conds, cond)
		}
		if err := f.AddRuleConditionalExact(sc, act, conds); err != nil {
			return nil, fmt.Errorf("conditional rule for syscall %d: %w", r.Nr, err)
		}
	}
	return export(f)
}

func export(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	mfd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for bpf export: %w", err)
	}
	file := os.NewFile(uintptr(mfd), "seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	return DecodeProgram(raw)
}

// EncodeProgram serialises a program for hand-off to the init stage.
func EncodeProgram(prog []unix.SockFilter) []byte {
	if len(prog) == 0 {
		return nil
	}
	n := len(prog) * int(unsafe.Sizeof(prog[0]))
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), n)...)
}

// DecodeProgram parses a sock_filter array.
func DecodeProgram(raw []byte) ([]unix.SockFilter, error) {
	const sz = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%sz != 0 {
		return nil, fmt.Errorf("bpf program of %d bytes is not a sock_filter array", len(raw))
	}
	prog := make([]unix.SockFilter, len(raw)/sz)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(raw)), raw)
	return prog, nil
}

// Load installs prog on the calling thread with NEW_LISTENER and
// WAIT_KILLABLE_RECV and returns the listener fd (close-on-exec). The caller
// must have locked its OS thread and set no_new_privs.
func Load(prog []unix.SockFilter) (int, error) {
	runtime.KeepAlive(prog)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		FilterFlagNewListener|FilterFlagWaitKillableRecv, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return -1, fmt.Errorf("seccomp(SET_MODE_FILTER): %w", e)
	}
	return int(fd), nil
}
