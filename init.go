package sandbox

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"sandbox/landlock"
)

// initArg is the hidden argv[1] that selects the init stage.
const initArg = "__sandbox_init"

// The init stage's hand-off pipes follow stdin, stdout and stderr (Start's
// ExtraFiles): fd 3 carries the spec (initSpec.encode) to it, then EOF; on
// fd 4 it reports its pid, the listener's fd number and flags; fd 5, when
// there are sized tmpfs mounts, carries its report on them (tmpfs.go).
const (
	// reportBound flags a report whose binds were made.
	reportBound = 1
	// reportLandlockShift: the flags' bits from here hold the Landlock
	// ABI the init stage enforced (0: none).
	reportLandlockShift = 8
)

// initSpec is everything the init stage (initstage.c) needs, sent before
// the filter is loaded so that reading it costs no routed call.
type initSpec struct {
	Filter [][]byte // base filters, in order
	Notify []byte   // routing filter, loaded with the listener
	Extra  [][]byte // narrowing filters
	Path   string   // what to execve (findProgram)
	Argv   []string
	Env    []string
	// Landlock lists the host trees the kernel may resolve paths in for
	// the guest (exec, interpreters): the sources of the visible mounts.
	Landlock []landlock.Rule
	// Rlimits are set for every guest process (resource -> value).
	Rlimits map[int]uint64
	// Binds are bound at their guest paths in a new mount namespace
	// (kernelBinds); empty: no namespace.
	Binds []bindMount
	// IPC: the filter passes System V IPC and POSIX message queues, so the
	// guest must get an IPC namespace of its own, or not run.
	IPC bool
	// Umask is the caller's, for the guest's kernel side (the sandbox
	// itself runs with 0).
	Umask int
	// SigIgn and SigMask are the signals the caller had ignored and
	// blocked (callerSignals): the guest gets them as across an execve.
	SigIgn, SigMask uint64
	// ClosedStd are the std fds (bit n for fd n) the caller had closed:
	// the guest starts without them too.
	ClosedStd uint32
}

// bindMount is one private directory the kernel must see at its guest
// path.
type bindMount struct {
	Host, Guest string
	ReadOnly    bool
	// Nested mounts lie inside an earlier bind (a cwd inside /tmp); their
	// mount point is created first.
	Nested bool
}

// MaybeInit exits at once when this process was started as the init stage
// but the C init stage (initstage.c, entered from the watchdog's
// constructor before the Go runtime) did not take it: it was not started by
// a sandbox. Otherwise it returns. Call it first thing in main.
func MaybeInit() {
	if len(os.Args) < 2 || os.Args[1] != initArg {
		return
	}
	fmt.Fprintln(os.Stderr, "sandbox: init: this stage runs only when the sandbox starts it")
	os.Exit(127)
}

// Spec record tags (initstage.c): each record is the tag and the payload's
// length, 32 bits little-endian each, then the payload.
const (
	specTagFilterBase   = 1 // sock_filter array
	specTagFilterNotify = 2
	specTagFilterExtra  = 3
	specTagPath         = 4 // strings end in NUL
	specTagArg          = 5
	specTagEnv          = 6
	specTagLandlock     = 7  // write (1 byte), path
	specTagRlimit       = 8  // resource (32 bits), value (64 bits)
	specTagBind         = 9  // read-only, nested (1 byte each), host, guest
	specTagIPC          = 10 // no payload
	specTagUmask        = 11 // 32 bits
	specTagSignals      = 12 // ignored, blocked (64 bits each, bit n-1 for signal n), closed std fds (32 bits)
)

// encode is the spec in the records initstage.c reads. Strings with a NUL
// cannot be passed to the kernel: an error names the first.
func (s *initSpec) encode() ([]byte, error) {
	var out []byte
	rec := func(tag uint32, parts ...[]byte) {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		out = binary.LittleEndian.AppendUint32(out, tag)
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		for _, p := range parts {
			out = append(out, p...)
		}
	}
	var bad string
	str := func(v string) []byte {
		if strings.IndexByte(v, 0) >= 0 && bad == "" {
			bad = v
		}
		return append([]byte(v), 0)
	}
	flag := func(b bool) []byte {
		if b {
			return []byte{1}
		}
		return []byte{0}
	}
	for _, f := range s.Filter {
		rec(specTagFilterBase, f)
	}
	rec(specTagFilterNotify, s.Notify)
	for _, x := range s.Extra {
		rec(specTagFilterExtra, x)
	}
	rec(specTagPath, str(s.Path))
	for _, a := range s.Argv {
		rec(specTagArg, str(a))
	}
	for _, e := range s.Env {
		rec(specTagEnv, str(e))
	}
	for _, r := range s.Landlock {
		rec(specTagLandlock, flag(r.Write), str(r.Path))
	}
	for res, v := range s.Rlimits {
		rec(specTagRlimit, binary.LittleEndian.AppendUint32(nil, uint32(res)), binary.LittleEndian.AppendUint64(nil, v))
	}
	for _, b := range s.Binds {
		rec(specTagBind, flag(b.ReadOnly), flag(b.Nested), str(b.Host), str(b.Guest))
	}
	if s.IPC {
		rec(specTagIPC)
	}
	rec(specTagUmask, binary.LittleEndian.AppendUint32(nil, uint32(s.Umask)))
	sig := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, s.SigIgn), s.SigMask)
	rec(specTagSignals, binary.LittleEndian.AppendUint32(sig, s.ClosedStd))
	if bad != "" {
		return nil, fmt.Errorf("%q: a string passed to the kernel cannot hold a NUL byte", bad)
	}
	return out, nil
}
