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

// Program is a compiled Spec: stacked filters. The kernel runs every
// filter and takes the most restrictive answer (KILL > TRAP > ERRNO >
// USER_NOTIF > ALLOW), so:
//   - Base holds the architecture check and every Deny/Trap/Kill; calls
//     that are passed or emulated are ALLOW there. It is two filters: a
//     guard (guard) that kills other architectures and x32 numbers and
//     gives -DefaultErrno past the highest number the spec names, and the
//     denials (libseccomp, default ALLOW), with a rule for each number up
//     to there that no rule names;
//   - Notify (loaded last, with the listener) holds the routing: its
//     default is ALLOW and its rules are USER_NOTIF, optionally narrowed by
//     argument conditions.
//
// A syscall can thus be passed by default and routed only for some
// arguments, which one libseccomp filter cannot express (an unconditional
// rule swallows conditional ones with another action). The guard is built
// by hand because libseccomp names numbers one by one and its compile time
// grows with the square of the rule count: a default-deny filter naming
// every allowed number (400 rules) took 3.7 ms, the longest step of the
// sandbox's start-up; the denials alone (about 220) take under 1 ms.
//
// Every filter returns one action for a given number regardless of the
// arguments, except where Notify has conditions, so the kernel's action
// cache still skips the filters for every passed call.
type Program struct {
	Base   [][]unix.SockFilter
	Notify []unix.SockFilter
	// Extra holds narrowing filters (policy syscall rules, an imported
	// OCI profile), loaded after ours.
	Extra [][]unix.SockFilter
}

// Compile builds the filters for spec.
func Compile(spec Spec) (Program, error) {
	var deny, notify []Rule
	seen := map[int]Class{}
	maxNr := -1
	if len(spec.Rules) == 0 {
		// The guard's "past the last named number" needs one.
		return Program{}, fmt.Errorf("a filter spec with no rules")
	}
	for _, r := range spec.Rules {
		if r.Nr < 0 || r.Nr >= X32Bit {
			return Program{}, fmt.Errorf("syscall number %d is out of range", r.Nr)
		}
		maxNr = max(maxNr, r.Nr)
		switch r.Class {
		case Pass, Emulate:
			if c, ok := seen[r.Nr]; ok && c != Pass && c != Emulate {
				return Program{}, fmt.Errorf("syscall %d mixes %v with %v", r.Nr, c, r.Class)
			}
			seen[r.Nr] = r.Class
			if r.Class == Emulate {
				notify = append(notify, r)
			}
		default:
			if c, ok := seen[r.Nr]; ok {
				return Program{}, fmt.Errorf("syscall %d mixes %v with %v", r.Nr, c, r.Class)
			}
			if len(r.Conds) != 0 {
				return Program{}, fmt.Errorf("syscall %d: conditions are supported on pass/emulate rules only", r.Nr)
			}
			seen[r.Nr] = r.Class
			deny = append(deny, r)
		}
	}
	// Runs of unnamed numbers: the longest go to the guard as ranges,
	// the rest get a rule each.
	var gaps [][2]int
	named := func(nr int) bool { _, ok := seen[nr]; return ok }
	for nr := 0; nr <= maxNr; {
		if named(nr) {
			nr++
			continue
		}
		end := nr
		for end < maxNr && !named(end+1) {
			end++
		}
		gaps = append(gaps, [2]int{nr, end})
		nr = end + 1
	}
	sort.SliceStable(gaps, func(i, j int) bool { return gaps[i][1]-gaps[i][0] > gaps[j][1]-gaps[j][0] })
	var ranges [][2]int
	for _, g := range gaps {
		if len(ranges) < maxGuardRanges && g[1]-g[0]+1 >= minGuardRange {
			ranges = append(ranges, g)
			continue
		}
		for nr := g[0]; nr <= g[1]; nr++ {
			deny = append(deny, Rule{Nr: nr, Class: Deny, Errno: spec.DefaultErrno})
		}
	}
	// One after the other: libseccomp does not promise that two contexts
	// may be built at once.
	d, err := build(libseccomp.ActAllow, deny)
	if err != nil {
		return Program{}, err
	}
	n, err := build(libseccomp.ActAllow, notify)
	if err != nil {
		return Program{}, err
	}
	return Program{Base: [][]unix.SockFilter{guard(maxNr, ranges, spec.DefaultErrno), d}, Notify: n}, nil
}

// The guard takes runs of at least minGuardRange unnamed numbers, at most
// maxGuardRanges of them (its jumps reach 255 instructions at most).
const (
	minGuardRange  = 8
	maxGuardRanges = 16
)

// guard is the filter that no number list can express: it kills calls of
// any architecture but x86-64 and x32 numbers (as libseccomp's filters do
// for their bad-arch action), fails numbers past maxNr and in the given
// inclusive ranges with errno, and allows the rest.
func guard(maxNr int, ranges [][2]int, errno unix.Errno) []unix.SockFilter {
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jgt = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
		// Offsets in struct seccomp_data.
		offNr   = 0
		offArch = 4
	)
	n := uint8(len(ranges))
	// Layout: 6 checks, 2 per range, then allow, errno, kill. A jump's
	// offset counts from the next instruction.
	const allow = 6
	errnoAt, kill := allow+1+2*n, allow+2+2*n
	f := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, Jt: 0, Jf: kill - 2, K: unix.AUDIT_ARCH_X86_64},
		{Code: ld, K: offNr},
		// syscall(-1) is ENOSYS in Linux (and libseccomp lets it past its
		// x32 check); a tracer's skip, not an x32 call.
		{Code: jeq, Jt: errnoAt - 4, Jf: 0, K: 0xffffffff},
		{Code: jge, Jt: kill - 5, Jf: 0, K: X32Bit},
		{Code: jgt, Jt: errnoAt - 6, Jf: 0, K: uint32(maxNr)},
	}
	for i, r := range ranges {
		at := uint8(allow + 2*i)
		f = append(f,
			unix.SockFilter{Code: jge, Jt: 0, Jf: 1, K: uint32(r[0])},                  // below: next range
			unix.SockFilter{Code: jgt, Jt: 0, Jf: errnoAt - (at + 2), K: uint32(r[1])}) // within: errno
	}
	return append(f,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(errno)&unix.SECCOMP_RET_DATA},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS})
}

func build(def libseccomp.ScmpAction, rules []Rule) ([]unix.SockFilter, error) {
	f, err := libseccomp.NewFilter(def)
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
	added := map[int]bool{}
	for _, r := range rules {
		act, err := action(r.Class, r.Errno)
		if err != nil {
			return nil, err
		}
		if act == def && len(r.Conds) == 0 {
			continue // same as the default: no rule needed
		}
		sc := libseccomp.ScmpSyscall(r.Nr)
		if len(r.Conds) == 0 {
			if added[r.Nr] {
				continue
			}
			added[r.Nr] = true
			if err := f.AddRuleExact(sc, act); err != nil {
				return nil, fmt.Errorf("rule for syscall %d (%v): %w", r.Nr, r.Class, err)
			}
			continue
		}
		var conds []libseccomp.ScmpCondition
		for _, c := range r.Conds {
			var cond libseccomp.ScmpCondition
			var err error
			if c.Ne {
				// libseccomp has no masked-not-equal; a full-width compare
				// covers the cases we use (NULL pointer tests).
				if c.Mask != ^uint64(0) {
					return nil, fmt.Errorf("syscall %d: masked != is not supported", r.Nr)
				}
				cond, err = libseccomp.MakeCondition(c.Arg, libseccomp.CompareNotEqual, c.Value)
			} else {
				cond, err = libseccomp.MakeCondition(c.Arg, libseccomp.CompareMaskedEqual, c.Mask, c.Value)
			}
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

// EncodeProgram serialises a filter for hand-off to the init stage.
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

// LoadAll installs p on the calling thread (base first, then the notify
// filter with its listener) and returns the listener fd. The sandbox's init
// stage does the same in C (initstage.c), before any Go runtime; this is the
// reference the package's tests load programs with.
func LoadAll(p Program) (int, error) {
	for _, b := range p.Base {
		if err := load(b, 0); err != nil {
			return -1, err
		}
	}
	lfd, err := Load(p.Notify)
	if err != nil {
		return -1, err
	}
	// Narrowing filters last: one that denies seccomp(2) must not stop
	// ours from loading. Precedence does not depend on the order.
	for _, x := range p.Extra {
		if err := load(x, 0); err != nil {
			return -1, err
		}
	}
	return lfd, nil
}

func load(prog []unix.SockFilter, flags uintptr) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", e)
	}
	return nil
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
