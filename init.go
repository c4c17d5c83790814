package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"

	"golang.org/x/sys/unix"

	"sandbox/landlock"
	"sandbox/seccomp"
)

// initArg is the hidden argv[1] that selects the init stage.
const initArg = "__sandbox_init"

// Fds of the init stage's hand-off pipes (after stdin/stdout/stderr).
const (
	initSpecFD   = 3 // sentry -> init: the initSpec (JSON), then EOF
	initReportFD = 4 // init -> sentry: the listener's fd number
	// reportBound flags a report whose binds were made (bindAll).
	reportBound = 1
)

// initSpec is everything the init stage needs, sent before the filter is
// loaded so that reading it costs no routed call.
type initSpec struct {
	Filter []byte   `json:"filter"` // base filter
	Notify []byte   `json:"notify"` // routing filter, loaded with the listener
	Extra  [][]byte `json:"extra"`  // narrowing filters
	Path   string   `json:"path"`   // host path to execve
	Argv   []string `json:"argv"`
	Env    []string `json:"env"`
	// Landlock lists the host trees the kernel may resolve paths in for
	// the guest (exec, interpreters): the sources of the visible mounts.
	Landlock []landlock.Rule `json:"landlock"`
	// Rlimits are set for every guest process (resource -> value).
	Rlimits map[int]uint64 `json:"rlimits"`
	// Binds are bound at their guest paths in a new mount namespace
	// (kernelBinds); empty: no namespace.
	Binds []bindMount `json:"binds"`
	// IPC: the filter passes System V IPC and POSIX message queues, so the
	// guest must get an IPC namespace of its own, or not run.
	IPC bool `json:"ipc"`
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

// bindAll makes a mount namespace holding binds and returns the Landlock
// rules that open the private directories to the guest (nested mounts have
// theirs already, by host path), and whether the binds were made. Any failure leaves the namespace as the
// host's: exec from those paths then stays refused by the sentry, which
// checks what the kernel would run either way.
func bindAll(binds []bindMount) ([]landlock.Rule, bool) {
	if len(binds) == 0 {
		return nil, false
	}
	if unix.Unshare(unix.CLONE_NEWNS) != nil {
		return nil, false
	}
	if unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") != nil {
		return nil, false
	}
	// Sources first, from inside the namespace (a bind takes only mounts of
	// the caller's own): a bind over /tmp hides a source below host /tmp.
	fds := make([]int, len(binds))
	for i, b := range binds {
		fd, err := unix.Open(b.Host, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, false
		}
		defer unix.Close(fd)
		fds[i] = fd
	}
	// All or nothing: a half-built namespace could show the kernel an
	// empty mount point where the sentry sees a mount.
	var done []string
	undo := func() ([]landlock.Rule, bool) {
		for i := len(done) - 1; i >= 0; i-- {
			unix.Unmount(done[i], unix.MNT_DETACH)
		}
		return nil, false
	}
	var rules []landlock.Rule
	for i, b := range binds {
		src := "/proc/self/fd/" + strconv.Itoa(fds[i])
		if b.Nested {
			// A mount point inside a bound private directory (the
			// sentry's view shows these parents as directories too).
			os.MkdirAll(b.Guest, 0o755)
		}
		if unix.Mount(src, b.Guest, "", unix.MS_BIND|unix.MS_REC, "") != nil {
			return undo()
		}
		done = append(done, b.Guest)
		if b.ReadOnly && unix.Mount("none", b.Guest, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC|lockedFlags(b.Guest), "") != nil {
			return undo()
		}
		if !b.Nested {
			rules = append(rules, landlock.Rule{Path: b.Guest, Write: !b.ReadOnly})
		}
	}
	return rules, true
}

// lockedFlags are the flags a read-only remount of the bind at path must
// keep: in a user namespace, clearing nosuid, nodev or noexec that the
// source mount had is refused (EPERM).
func lockedFlags(path string) uintptr {
	var fs unix.Statfs_t
	if unix.Statfs(path, &fs) != nil {
		return 0
	}
	var keep uintptr
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(fs.Flags)&f.st != 0 {
			keep |= f.ms
		}
	}
	return keep
}

func init() {
	// The init stage must run on the main thread from the start: the
	// filter and no_new_privs are per-thread and the execve must come from
	// the thread that loaded them.
	if len(os.Args) > 1 && os.Args[1] == initArg {
		runtime.LockOSThread()
	}
}

// MaybeInit runs the init stage and never returns when this process is
// one; otherwise it returns at once. Call it first thing in main.
func MaybeInit() {
	if len(os.Args) < 2 || os.Args[1] != initArg {
		return
	}
	err := initStage()
	fmt.Fprintf(os.Stderr, "sandbox: init: %v\n", err)
	os.Exit(127)
}

func initStage() error {
	// Before waiting for the spec: the sentry needs these mounts to
	// build the view the spec comes from.
	mountSized()
	f := os.NewFile(initSpecFD, "spec")
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	f.Close()
	if len(data) == 0 {
		// The sentry gave up before sending the spec (and kills us).
		os.Exit(127)
	}
	var spec initSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("parse spec: %w", err)
	}
	var prog seccomp.Program
	if prog.Base, err = seccomp.DecodeProgram(spec.Filter); err != nil {
		return err
	}
	if prog.Notify, err = seccomp.DecodeProgram(spec.Notify); err != nil {
		return err
	}
	for _, x := range spec.Extra {
		f, err := seccomp.DecodeProgram(x)
		if err != nil {
			return err
		}
		prog.Extra = append(prog.Extra, f)
	}
	argv, err := cStrings(spec.Argv)
	if err != nil {
		return err
	}
	envv, err := cStrings(spec.Env)
	if err != nil {
		return err
	}
	path, err := unix.BytePtrFromString(spec.Path)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	// The ruleset names inodes, so it is built from host paths before the
	// mount namespace can hide any of them; the binds add their guest paths.
	if spec.IPC {
		if err := unix.Unshare(unix.CLONE_NEWIPC); err != nil {
			return fmt.Errorf("IPC namespace: %w", err)
		}
	}
	rs, err := landlock.Prepare(spec.Landlock)
	if err != nil {
		return err
	}
	if spec.IPC {
		// POSIX message queues live in the IPC namespace's mqueue
		// filesystem, which the kernel reaches by path: Landlock must
		// allow that tree (a detached mount of it names the same inodes).
		if fd, err := mqueueRoot(); err == nil {
			err = rs.AddFD(fd, true, "mqueue")
			unix.Close(fd)
			if err != nil {
				rs.Close()
				return err
			}
		}
	}
	rules, bound := bindAll(spec.Binds)
	for _, r := range rules {
		if err := rs.Add(r); err != nil {
			rs.Close()
			return err
		}
	}
	if _, err := rs.Apply(); err != nil {
		return err
	}
	for res, v := range spec.Rlimits {
		if res == unix.RLIMIT_AS {
			continue // last, below: this Go process maps more than the guest may
		}
		lim := unix.Rlimit{Cur: v, Max: v}
		if res == unix.RLIMIT_CPU {
			// SIGXCPU at the soft limit, SIGKILL a second later (equal
			// limits would go straight to SIGKILL).
			lim.Max = v + 1
		}
		if err := unix.Setrlimit(res, &lim); err != nil {
			return fmt.Errorf("limits: resource %d to %d: %w", res, v, err)
		}
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	// From here on, only pass-class calls until the sentry holds the
	// listener; and the sentry never needs our help to take it.
	lfd, err := seccomp.LoadAll(prog)
	if err != nil {
		return err
	}
	// No collection from here to the exec: a runtime mapping after the
	// address-space limit below would kill this stage.
	debug.SetGCPercent(-1)
	// The report: pid, the listener's fd number, and flags (1: the binds
	// were made), each 32 bits little-endian.
	var buf [12]byte
	pid, flags := unix.Getpid(), 0
	if bound {
		flags |= reportBound
	}
	for i := 0; i < 4; i++ {
		buf[i], buf[4+i], buf[8+i] = byte(pid>>(8*i)), byte(lfd>>(8*i)), byte(flags>>(8*i))
	}
	unix.Write(initReportFD, buf[:])
	// Routed from here: these wait until the sentry serves them. The
	// listener is close-on-exec, so the guest never holds it.
	unix.Close(initReportFD)
	if v, ok := spec.Rlimits[unix.RLIMIT_AS]; ok {
		// Raw, right before the exec: no runtime allocation may meet it
		// (a routed call: continued once the sentry serves).
		lim := unix.Rlimit{Cur: v, Max: v}
		if _, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_AS, uintptr(unsafePtr(&lim)), 0, 0, 0); e != 0 {
			return fmt.Errorf("limits: address space to %d: %w", v, e)
		}
	}
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafePtr(path)), uintptr(unsafePtr(&argv[0])), uintptr(unsafePtr(&envv[0])))
	return fmt.Errorf("execve %s: %w", spec.Path, e)
}

// dropCapabilities leaves the guest no capability in any set. The sentry
// performs the guest's file operations with its own credentials, so a root
// guest still reads and writes as root; what it loses is the kernel-side
// privilege of the calls that run natively (filesystem freeze and label
// ioctls, console redirection, raising hard limits...).
func dropCapabilities() error {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL {
				break // past the kernel's last capability
			}
			if err == unix.EPERM {
				break // unprivileged: nothing to drop
			}
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// cStrings builds a NUL-terminated array of C strings for execve.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, len(ss)+1)
	for i, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}
