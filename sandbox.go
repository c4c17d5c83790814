package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"sandbox/landlock"
	"sandbox/policies"
	"sandbox/seccomp"
	"sandbox/sentry"
	"sandbox/vfs"
)

// Cmd is a program prepared to run in a sandbox.
type Cmd struct {
	Policy *policies.Policy
	Path   string   // program: a guest path, or a name looked up in PATH
	Args   []string // argv, including argv[0]
	Env    []string // nil: built from the policy (see EnvPass, EnvSet)
	// EnvPass and EnvSet add to the policy's environment: names to take
	// from the caller's, and K=V pairs.
	EnvPass, EnvSet []string
	// Timeout, when set, kills the whole sandbox after that long;
	// TimedOut then reports it.
	Timeout  time.Duration
	TimedOut bool
	Dir      string // working directory (host path; default: current)

	Root      string   // host directory to use as the guest's "/"
	ReadOnly  []string // extra host paths shown read-only
	ReadWrite []string // extra host paths shown read-write
	Hide      []string // extra guest paths that look absent
	Tmpfs     []string // extra guest paths with a private empty directory

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// SeccompProfile narrows the sandbox further with a Docker/OCI profile.
	SeccompProfile *seccomp.Profile

	// AllowConnect adds network_allow entries (and turns network "none"
	// into "allowlist").
	AllowConnect []string
	// CgroupParent is a cgroup v2 directory to make the sandbox's cgroup
	// in (limits.memory, pids.max); "" finds one the caller may use.
	CgroupParent string

	// Trace, when set, receives one strace-style line per routed call;
	// Summary keeps per-syscall counts for WriteSummary.
	Trace   io.Writer
	Summary bool
	// TraceAll routes every syscall, pass-class ones too, so that Trace
	// and Summary see everything (each such call pays a round trip).
	TraceAll bool
	tracer   *sentry.Tracer

	// ForwardSignals relays SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
	// SIGUSR2 and SIGALRM to the guest (forwarded); those the process was
	// started with ignored stay ignored, by both.
	ForwardSignals bool
	Log            *logrus.Logger

	ctx    context.Context
	cmd    *exec.Cmd
	sentry *sentry.Sentry
	procfs *sentry.ProcFS
	fs     *vfs.FS
	// scratch holds what the sandbox makes for itself (skeleton root,
	// /proc mirror, /dev): metadata only, so on a tmpfs when there is one
	// (scratchBase). data holds the guest's private /tmp and tmpfs
	// directories, in the temporary directory (they may grow large); it is
	// scratch itself when both bases are the same.
	scratch     string
	scratchLock *os.File // flock held while scratch is in use
	data        string
	dataLock    *os.File
	tmpfs       *tmpfsSet
	cgroup      *cgroup
	cgroupWhy   string // why there is none, for -v
	// userns: the guest runs in a user namespace of its own (mapping only
	// the caller's ids, to themselves), which unprivileged callers need
	// for the mount-namespace layer (userns.go).
	userns     bool
	cgroupHits map[string]int
	sigs       chan os.Signal
	done       chan struct{}
	once       sync.Once
	// ProcessState is set by Wait.
	ProcessState *os.ProcessState
}

// Command returns a Cmd running name with args under policy pol.
func Command(ctx context.Context, pol *policies.Policy, name string, args ...string) *Cmd {
	return &Cmd{Policy: pol, Path: name, Args: append([]string{name}, args...), ctx: ctx}
}

// Run starts the command and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// ExitStatus is the guest's exit status as a shell reports it: the exit
// code, or 128+signal when it was killed.
func ExitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (c *Cmd) logger() *logrus.Logger {
	if c.Log == nil {
		c.Log = logrus.New()
		c.Log.SetLevel(logrus.WarnLevel)
	}
	return c.Log
}

// Start builds the filesystem view and filter, launches the init stage and
// starts serving its routed calls. It sets the process's umask to 0 and
// leaves it so (the sentry applies the guest's own, which starts as the
// umask the process had when it started).
func (c *Cmd) Start() (err error) {
	log := c.logger()
	if c.Policy == nil {
		if c.Policy, err = policies.Load("default"); err != nil {
			return err
		}
	}
	if c.ctx == nil {
		c.ctx = context.Background()
	}
	// Compiling the filters is the longest step of the start-up: it
	// starts first and overlaps everything up to sending the init stage
	// its spec. (If the user namespace then cannot be made, fstat and
	// getgroups stay routed: answered as natively, at a little cost.)
	c.userns = c.wantUserNS()
	type compiled struct {
		prog seccomp.Program
		err  error
	}
	// The memory limits route mmap, mremap and brk (sentry/sys_mem.go).
	var memoryTotal uint64
	if c.Policy.Memory.Total != "" {
		memoryTotal, _ = policies.Bytes(c.Policy.Memory.Total) // validated
	}
	_, watchAS := rlimits(c.Policy.Limits)[unix.RLIMIT_AS]
	compile := func() chan compiled {
		opts := sentry.Options{HideNamesInListings: c.Policy.Filesystem.HideInListings, DenyWX: c.Policy.Memory.WX == "deny", ExecFromReadOnly: c.Policy.Memory.ExecMappings == "readonly", TraceAll: c.TraceAll, Uname: c.Policy.Hostname != "",
			Memory: memoryTotal > 0 || watchAS, RouteIDs: c.userns, IPC: c.ipcNS(), NoSharedMemory: memoryTotal > 0}
		ch := make(chan compiled, 1)
		go func() {
			p, err := c.compileFilters(sentry.FilterSpec(opts))
			ch <- compiled{p, err}
		}()
		return ch
	}
	progc := compile()
	hostCwd := c.Dir
	if hostCwd == "" || c.Root != "" {
		if hostCwd, err = os.Getwd(); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	if hostCwd, err = filepath.Abs(hostCwd); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	// The sentry creates files for the guest and applies the guest's umask
	// itself; the init stage sets the caller's for the guest's kernel side
	// (initSpec.Umask). From here on every file the sandbox makes has
	// exactly the mode it asks for, whichever goroutine makes it.
	umask := callerUmask
	unix.Umask(0)
	base := scratchBase()
	c.scratch, c.scratchLock, err = makeScratch(base, "")
	if err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	c.data = c.scratch
	if base != os.TempDir() {
		if c.data, c.dataLock, err = makeScratch(os.TempDir(), dataKind); err != nil {
			removeAll(c.scratch)
			c.scratchLock.Close()
			c.scratch = ""
			return fmt.Errorf("scratch directory: %w", err)
		}
	}
	defer func() {
		if err != nil {
			if c.cmd != nil {
				c.cmd.Process.Kill()
				c.cmd.Wait()
			}
			c.cleanup()
		}
	}()
	dirs, err := c.privateDirs()
	if err != nil {
		return err
	}
	// Sized tmpfs entries are mounted by the init stage in the guest's
	// mount namespace (tmpfs.go).
	sizedDirs := sized(dirs)
	var tmpfsEnc string
	var tmpR, tmpW *os.File
	if len(sizedDirs) > 0 {
		if !canMount() && !c.userns {
			return fmt.Errorf("tmpfs %s: it needs CAP_SYS_ADMIN or a user namespace, and user namespaces are not available here", t0(sizedDirs))
		}
		if tmpfsEnc, err = encodeTmpfs(sizedDirs); err != nil {
			return err
		}
		if tmpR, tmpW, err = os.Pipe(); err != nil {
			return err
		}
		defer tmpR.Close()
		defer tmpW.Close() // closed below once the init stage holds it; this covers early returns
	}
	if c.ForwardSignals {
		// Before the guest exists: a signal that arrives once it runs must
		// be relayed, not kill the sandbox (queued until forward runs).
		c.sigs = make(chan os.Signal, 8)
		ignored, _, _ := callerSignals()
		for _, s := range forwarded {
			if ignored&(1<<(s-1)) != 0 {
				// The caller ignored it (a shell's background job:
				// SIGINT, SIGQUIT): so do the sandbox and the guest.
				signal.Ignore(s)
				continue
			}
			signal.Notify(c.sigs, s)
		}
	}
	// The guest's view is built while the init stage starts (1-2 ms each),
	// unless it needs the init stage's tmpfs mounts.
	var viewc chan view
	if tmpR == nil {
		viewc = make(chan view, 1)
		go func() { viewc <- c.buildView(hostCwd, dirs, nil) }()
		defer func() {
			if viewc != nil { // an early return: wait, and drop what it built
				if v := <-viewc; v.fs != nil {
					v.fs.Close()
				}
			}
		}()
	}
	// Start the init stage first: its start-up overlaps with building
	// the filter and the filesystem view; it waits for its spec.
	specR, specW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer specW.Close()
	repR, repW, err := os.Pipe()
	if err != nil {
		specR.Close()
		return err
	}
	defer repR.Close()
	if err = c.makeCgroup(); err != nil {
		specR.Close()
		repW.Close()
		return err
	}
	initCmd := func(cg *cgroup) *exec.Cmd {
		cmd := exec.Command(self, initArg)
		// The watchdog (watchdog.go) checks that its parent is this process.
		cmd.Env = []string{"SANDBOX_SENTRY_PID=" + strconv.Itoa(os.Getpid())}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
		cmd.ExtraFiles = []*os.File{specR, repW}
		if tmpW != nil {
			cmd.ExtraFiles = append(cmd.ExtraFiles, tmpW) // fd 5
			cmd.Env = append(cmd.Env, tmpfsEnv+"="+tmpfsEnc)
		}
		cmd.Dir = c.kernelCwd(hostCwd)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if cg != nil {
			// Born in the cgroup: no guest process is ever outside it.
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cg.fd
		}
		if c.userns {
			c.inUserNS(cmd.SysProcAttr)
			cmd.Env = append(cmd.Env, "SANDBOX_USERNS=1") // the watchdog drops its capabilities
		}
		return cmd
	}
	// What may keep the init stage from starting is given up in this
	// order: the user namespace (convenience: exec from /tmp, IPC), then
	// the cgroup (limits; never one the caller named), then both.
	cmd := initCmd(c.cgroup)
	err = cmd.Start()
	userns := c.userns
	if err != nil && c.userns {
		c.userns = false
		cmd = initCmd(c.cgroup)
		if err2 := cmd.Start(); err2 == nil {
			err = nil
		} else {
			c.userns = true
		}
	}
	if err != nil && c.cgroup != nil && c.CgroupParent == "" {
		log.WithError(err).Warn("cannot start in the sandbox's cgroup; going on without it: " + c.cgroup.limitsLost())
		c.cgroup.remove()
		c.cgroup, c.cgroupWhy = nil, "starting in it failed: "+err.Error()
		for _, u := range []bool{userns, false} {
			if err != nil {
				c.userns = u
				cmd = initCmd(nil)
				err = cmd.Start()
			}
		}
	}
	if err == nil && userns && !c.userns {
		log.Info("no user namespace: exec from the private /tmp will be refused")
		// Without the namespace there is no IPC namespace either: the
		// filter that passed IPC must not be used.
		<-progc
		progc = compile()
	}
	specR.Close()
	repW.Close()
	if tmpW != nil {
		tmpW.Close()
	}
	if err != nil {
		return fmt.Errorf("start init stage: %w", err)
	}
	c.cmd = cmd
	if tmpR != nil {
		if !canMount() && !c.userns {
			return fmt.Errorf("tmpfs %s: the user namespace it needs could not be made", t0(sizedDirs))
		}
		if c.tmpfs, err = openTmpfs(tmpR, sizedDirs); err != nil {
			return err
		}
	}
	var v view
	if viewc != nil {
		v, viewc = <-viewc, nil
	} else {
		v = c.buildView(hostCwd, dirs, c.tmpfs)
	}
	c.fs = v.fs
	if v.err != nil {
		return v.err
	}
	guestCwd, env, execPath := v.guestCwd, v.env, v.execPath
	comp := <-progc
	if comp.err != nil {
		return fmt.Errorf("build filter: %w", comp.err)
	}
	var ll []landlock.Rule
	for _, m := range c.fs.Mounts() {
		if m.Kind == vfs.Bind && !c.ownDir(m.Host) {
			ll = append(ll, landlock.Rule{Path: m.Host, Write: !m.ReadOnly})
		}
	}
	binds := kernelBinds(c.fs.Mounts(), c.bindable)
	rl := rlimits(c.Policy.Limits)
	if as, ok := rl[unix.RLIMIT_AS]; memoryTotal > 0 && (!ok || as > memoryTotal) {
		// The kernel's own backstop for what grows without a routed
		// call (an exec'd image, the stack): no one process exceeds the
		// sandbox's total (nor the caller's own hard limit, which an
		// unprivileged guest could not raise to).
		rl[unix.RLIMIT_AS] = memoryTotal
		var own unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_AS, &own) == nil && own.Max < memoryTotal {
			rl[unix.RLIMIT_AS] = own.Max
		}
	}
	if _, set := rl[unix.RLIMIT_STACK]; memoryTotal > 0 && !set {
		// The stack grows without a routed call: its limit is booked at
		// each exec (sys_mem.go), so it may not be raised past that.
		var st unix.Rlimit
		v := uint64(8 << 20)
		if unix.Getrlimit(unix.RLIMIT_STACK, &st) == nil && st.Cur != unix.RLIM_INFINITY && st.Cur < memoryTotal {
			v = st.Cur
		}
		rl[unix.RLIMIT_STACK] = v
	}
	is := initSpec{Rlimits: rl, Filter: encodeAll(comp.prog.Base), Notify: seccomp.EncodeProgram(comp.prog.Notify), Extra: encodeAll(comp.prog.Extra), Path: execPath, Argv: c.Args, Env: env, Landlock: ll,
		Binds: binds, IPC: c.ipcNS(), Umask: umask}
	var closed uint32
	is.SigIgn, is.SigMask, closed = callerSignals()
	// A std fd the process started without stays closed in the guest
	// only where the guest gets the process's own (the CLI's case), not a
	// stream a library caller passed in.
	for i, p := range [][2]any{{c.Stdin, os.Stdin}, {c.Stdout, os.Stdout}, {c.Stderr, os.Stderr}} {
		if p[0] == p[1] && closed&(1<<i) != 0 {
			is.ClosedStd |= 1 << i
		}
	}
	spec, err := is.encode()
	if err != nil {
		return err
	}
	netp := sentry.NetPolicy{Mode: c.Policy.Network}
	allow := append(append([]string(nil), c.Policy.NetworkAllow...), c.AllowConnect...)
	if len(c.AllowConnect) > 0 && netp.Mode == "none" {
		netp.Mode = "allowlist"
	}
	for _, a := range allow {
		rules, err := sentry.ParseNetRule(a)
		if err != nil {
			return fmt.Errorf("network: %w", err)
		}
		netp.Rules = append(netp.Rules, rules...)
	}
	if c.Trace != nil || c.Summary {
		c.tracer = sentry.NewTracer(c.Trace)
	}
	if c.sentry, err = sentry.New(sentry.Config{FS: c.fs, Log: log, Net: netp, ExecAllowed: c.execAllowed(), Hostname: c.Policy.Hostname, MaxProcs: c.Policy.Limits.Processes, Tracer: c.tracer, TraceAll: c.TraceAll,
		DenyWX: c.Policy.Memory.WX == "deny", ExecFromReadOnly: c.Policy.Memory.ExecMappings == "readonly",
		MemoryTotal: memoryTotal, WatchAddressSpace: watchAS}); err != nil {
		return err
	}
	c.procfs.Attach(c.sentry)
	if _, err := specW.Write(spec); err != nil {
		return fmt.Errorf("send spec to init stage: %w", err)
	}
	specW.Close()
	// The guest is the watchdog's child; it reports its pid with the
	// listener's fd number.
	pid, lfd, report, err := takeListener(cmd.Process.Pid, repR)
	if err != nil {
		return err
	}
	if err := c.sentry.Register(pid, cmd.Process.Pid, guestCwd, uint32(umask), v.progDev, v.progIno); err != nil {
		unix.Close(lfd)
		return err
	}
	if err := c.sentry.Serve(seccomp.NewListener(lfd)); err != nil {
		return err
	}
	if report < 0 {
		report = lateReport(repR)
	}
	layers := "sentry+seccomp"
	if abi := report >> reportLandlockShift; abi > 0 {
		layers += fmt.Sprintf("+landlock(abi %d)", abi)
	} else {
		layers += " (no landlock: the kernel's own path lookups for exec are bounded by the sentry's check only)"
	}
	switch {
	case len(binds) > 0 && report&reportBound == 0:
		layers += " (the mount namespace's binds failed: exec from the private /tmp is refused)"
	case len(binds) > 0 && c.userns:
		layers += "+userns+mountns(private /tmp: programs written there can run)"
	case len(binds) > 0:
		layers += "+mountns(private /tmp: programs written there can run)"
	case !canMount():
		layers += " (no mount namespace: no CAP_SYS_ADMIN and no user namespace; exec from the private /tmp is refused)"
	}
	if c.ipcNS() {
		layers += "+ipcns(System V IPC and POSIX message queues of its own)"
	} else {
		layers += " (no IPC namespace: System V IPC and message queues refused)"
	}
	if c.tmpfs != nil {
		layers += "; " + c.tmpfs.String()
	}
	if c.cgroup != nil {
		layers += "; " + c.cgroup.String()
	} else {
		layers += "; no cgroup (" + c.cgroupWhy + "): per-process rlimits and the sentry's process count only"
	}
	log.WithFields(logrus.Fields{"pid": pid, "program": execPath, "policy": c.Policy.Name}).Info("guest started; layers: " + layers)
	if c.ForwardSignals {
		go c.forward()
	}
	c.done = make(chan struct{})
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		timeout = time.After(c.Timeout)
	}
	go func() {
		select {
		case <-c.ctx.Done():
			c.sentry.KillTree()
			cmd.Process.Kill()
		case <-timeout:
			c.TimedOut = true
			log.WithField("timeout", c.Timeout.String()).Warn("time is up: killing every process of the sandbox")
			c.sentry.KillTree()
			cmd.Process.Kill()
		case <-c.done:
		}
	}()
	return nil
}

// takeListener gets the guest's listener fd with pidfd_getfd. The guest
// (the watchdog's child) reports its pid and the fd's number; if it cannot
// (one of its threads may already wait in a routed call), the sentry finds
// the guest and the fd in /proc itself, and flags is -1.
func takeListener(watchdog int, report *os.File) (pid, lfd, flags int, err error) {
	wfd, err := unix.PidfdOpen(watchdog, 0)
	if err != nil {
		return -1, -1, 0, fmt.Errorf("pidfd_open init stage: %w", err)
	}
	defer unix.Close(wfd)
	rfd := int(report.Fd())
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(rfd), Events: unix.POLLIN}, {Fd: int32(wfd), Events: unix.POLLIN}}
		unix.Poll(pfd, 2)
		if pfd[0].Revents&unix.POLLIN != 0 {
			var b [12]byte
			if n, _ := unix.Read(rfd, b[:]); n == 12 {
				pid := int(binary.LittleEndian.Uint32(b[:4]))
				num := int(binary.LittleEndian.Uint32(b[4:8]))
				flags := int(binary.LittleEndian.Uint32(b[8:]))
				if lfd, ok := getListener(pid, num); ok {
					return pid, lfd, flags, nil
				}
			}
		}
		if pid, ok := guestOf(watchdog); ok {
			if lfd, ok := scanListener(pid); ok {
				return pid, lfd, -1, nil // no report yet: see lateReport
			}
		}
		if pfd[1].Revents&unix.POLLIN != 0 {
			return -1, -1, 0, errors.New("init stage exited before loading its filter")
		}
	}
	return -1, -1, 0, errors.New("init stage did not load its filter within 30s")
}

// lateReport reads the init stage's report when the listener was taken
// without it: with --trace=all its write is routed and goes through once
// the sentry serves. It gives 0 (nothing known: no binds, no Landlock
// reported) if the report does not come within a second (it comes
// within microseconds unless the init stage died).
func lateReport(report *os.File) int {
	pfd := []unix.PollFd{{Fd: int32(report.Fd()), Events: unix.POLLIN}}
	var b [12]byte
	if n, _ := unix.Poll(pfd, 1000); n == 1 {
		if n, _ := unix.Read(int(report.Fd()), b[:]); n == 12 {
			return int(binary.LittleEndian.Uint32(b[8:]))
		}
	}
	return 0
}

// guestOf returns the watchdog's child.
func guestOf(watchdog int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", watchdog, watchdog))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	pid, err := strconv.Atoi(f[0])
	return pid, err == nil
}

func getListener(pid, num int) (int, bool) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, false
	}
	defer unix.Close(pidfd)
	lfd, err := unix.PidfdGetfd(pidfd, num, 0)
	if err != nil {
		return -1, false
	}
	if !isListener(lfd) {
		unix.Close(lfd)
		return -1, false
	}
	return lfd, true
}

func isListener(fd int) bool {
	l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && l == "anon_inode:seccomp notify"
}

func scanListener(pid int) (int, bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1, false
	}
	for _, e := range ents {
		l, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || l != "anon_inode:seccomp notify" {
			continue
		}
		n, _ := strconv.Atoi(e.Name())
		if lfd, ok := getListener(pid, n); ok {
			return lfd, true
		}
	}
	return -1, false
}

// kernelCwd is the init stage's cwd, which the guest keeps in the kernel:
// the same directory when the guest path is a host path too (it matters
// only for the paths the kernel resolves itself, such as execve's).
func (c *Cmd) kernelCwd(hostCwd string) string {
	if c.Root == "" && c.Policy.Filesystem.Cwd != "none" {
		return hostCwd
	}
	return "/"
}

// findProgram resolves the program in the guest's view (PATH lookup for
// bare names, as execvp does) and returns the path the init stage
// executes: the one execvp would pass (so the kernel names the process and
// hands a #! interpreter the script as natively: python3, not the
// python3.11 it links to), when the kernel, from kernelCwd, reaches the
// same file by it; otherwise the file's host path.
func (c *Cmd) findProgram(fs *vfs.FS, ctx vfs.Ctx, env []string, kernelCwd string) (prog string, dev, ino uint64, err error) {
	name := c.Path
	if name == "" {
		return "", 0, 0, &ProgramError{Name: "''", Err: unix.ENOENT} // as execve("") says
	}
	try := func(p string) (string, unix.Errno) {
		_, fd, errno := fs.ExecTarget(ctx, p)
		if errno != 0 {
			return "", errno
		}
		defer unix.Close(fd)
		var want, got unix.Stat_t
		if err := unix.Fstat(fd, &want); err != nil {
			return "", unix.ENOENT
		}
		dev, ino = want.Dev, want.Ino // the sentry holds the exec to it
		kp := p
		if !filepath.IsAbs(kp) {
			kp = filepath.Join(kernelCwd, kp)
		}
		if unix.Stat(kp, &got) == nil && want.Dev == got.Dev && want.Ino == got.Ino {
			return p, 0
		}
		host, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			return "", unix.ENOENT
		}
		return host, 0
	}
	if strings.Contains(name, "/") {
		h, errno := try(name)
		if errno != 0 {
			return "", 0, 0, &ProgramError{Name: name, Err: errno}
		}
		return h, dev, ino, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	var first unix.Errno
	for _, d := range filepath.SplitList(path) {
		// As execvp builds it: "dir/name", or the bare name for an empty
		// entry (the current directory); no cleaning, so a script's $0 is
		// what it would be natively.
		cand := name
		if d != "" {
			cand = d + "/" + name
		}
		h, errno := try(cand)
		if errno == 0 {
			return h, dev, ino, nil
		}
		if first == 0 && errno != unix.ENOENT && errno != unix.ENOTDIR {
			first = errno
		}
	}
	if first != 0 {
		return "", 0, 0, &ProgramError{Name: name, Err: first}
	}
	return "", 0, 0, &ProgramError{Name: name, Err: errNotOnPath}
}

// ProgramError is Start's error when the program cannot be found or run
// in the guest's view.
type ProgramError struct {
	Name string
	Err  error
}

func (e *ProgramError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *ProgramError) Unwrap() error { return e.Err }

// NotFound tells whether the program does not exist in the guest's view
// (shells and env exit 127 then, 126 when it exists but cannot run).
func (e *ProgramError) NotFound() bool {
	return e.Err == errNotOnPath || errors.Is(e.Err, unix.ENOENT)
}

var errNotOnPath = errors.New("not found in the sandbox's PATH")

// forward relays signals to the guest. A SIGINT or SIGQUIT typed at the
// terminal has already reached the guest (same process group); only relay
// those when we are not the terminal's foreground group.
func (c *Cmd) forward() {
	for s := range c.sigs {
		sig := s.(syscall.Signal)
		if (sig == syscall.SIGINT || sig == syscall.SIGQUIT) && foreground() {
			continue // the terminal sent it to the guest as well
		}
		c.cmd.Process.Signal(sig)
	}
}

// forwarded are the signals ForwardSignals relays (the watchdog relays the
// same set on to the guest). Without it Go would dump and exit on SIGQUIT
// and drop the others, where the program would die of them natively.
var forwarded = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM}

func foreground() bool {
	pg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

// rlimits turns the policy's limits into the init stage's setrlimit calls
// (values were validated by the parser). Core dumps are off unless asked.
func rlimits(l policies.Limits) map[int]uint64 {
	m := map[int]uint64{unix.RLIMIT_CORE: 0}
	size := func(s string) uint64 {
		if s == "" || s == "0" {
			return 0
		}
		n, _ := policies.Bytes(s)
		return n
	}
	if n := size(l.AddressSpace); n > 0 {
		m[unix.RLIMIT_AS] = n
	}
	if n := size(l.FileSize); n > 0 {
		m[unix.RLIMIT_FSIZE] = n
	}
	if n := size(l.Core); n > 0 {
		m[unix.RLIMIT_CORE] = n
	}
	if l.Files > 0 {
		m[unix.RLIMIT_NOFILE] = l.Files
	}
	if l.CPU > 0 {
		m[unix.RLIMIT_CPU] = l.CPU
	}
	return m
}

// compileFilters compiles the sandbox's filters plus the narrowing ones
// (the policy's syscall rules, an imported profile).
func (c *Cmd) compileFilters(spec seccomp.Spec) (seccomp.Program, error) {
	p, err := seccomp.Compile(spec)
	if err != nil {
		return p, err
	}
	pol, err := c.Policy.SyscallProfile()
	if err != nil {
		return p, err
	}
	for _, prof := range []*seccomp.Profile{pol, c.SeccompProfile} {
		if prof == nil {
			continue
		}
		x, err := seccomp.CompileProfile(prof)
		if err != nil {
			return p, fmt.Errorf("syscall rules: %w", err)
		}
		if len(prof.Unknown) > 0 {
			c.logger().WithField("names", prof.Unknown).Debug("seccomp profile names unknown on x86-64: skipped")
		}
		p.Extra = append(p.Extra, x)
	}
	return p, nil
}

// execAllowed turns the policy's exec.allow into the sentry's check.
func (c *Cmd) execAllowed() func(string) bool {
	if c.Policy.Exec.Allow == nil {
		return nil
	}
	allow := *c.Policy.Exec.Allow
	return func(p string) bool { return policies.ExecAllowed(allow, p) }
}

// WriteSummary prints the syscall summary (Summary must have been set).
func (c *Cmd) WriteSummary(w io.Writer) {
	if c.tracer != nil {
		c.tracer.WriteSummary(w)
	}
}

// LimitsHit returns, after Wait, how many calls failed because the guest
// reached each policy limit the sandbox enforces itself ("processes":
// fork refused with EAGAIN; "files": an fd not installed, EMFILE).
func (c *Cmd) LimitsHit() map[string]int {
	if c.sentry == nil {
		return nil
	}
	hits := c.sentry.LimitsHit()
	for k, v := range c.cgroupHits {
		hits[k] = v
	}
	return hits
}

// Wait waits for the guest's first process to exit, then stops every
// process it left behind and removes the private /tmp.
func (c *Cmd) Wait() error {
	if c.cmd == nil {
		return errors.New("sandbox: not started")
	}
	err := c.cmd.Wait()
	c.ProcessState = c.cmd.ProcessState
	c.logger().WithField("status", ExitStatus(c.ProcessState)).Info("guest exited")
	if c.sentry != nil {
		c.sentry.LogDenialCounts()
	}
	close(c.done)
	c.cleanup()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return err
	}
	return err
}

func (c *Cmd) cleanup() {
	c.once.Do(func() {
		if c.sigs != nil {
			signal.Stop(c.sigs)
			close(c.sigs)
		}
		if c.sentry != nil {
			c.sentry.KillAll()
			c.sentry.Close()
		}
		if c.fs != nil {
			c.fs.Close()
		}
		c.tmpfs.Close()
		if c.cgroup != nil {
			c.cgroupHits = c.cgroup.hits()
			c.cgroup.remove()
		}
		if c.data != "" && c.data != c.scratch {
			removeAll(c.data)
			c.dataLock.Close()
		}
		if c.scratch != "" {
			removeAll(c.scratch)
			c.scratchLock.Close()
		}
	})
}

// ownDir tells whether host path p lies in one of the sandbox's own trees.
func (c *Cmd) ownDir(p string) bool {
	return c.scratch != "" && strings.HasPrefix(p, c.scratch+"/") ||
		c.data != "" && strings.HasPrefix(p, c.data+"/")
}

// scratchBase is where the scratch tree goes: /dev/shm when it is a
// writable tmpfs (every mkdir and symlink of the skeleton and the /proc
// mirror costs microseconds there; on some disks, half a millisecond),
// else the temporary directory.
func scratchBase() string {
	const shm = "/dev/shm"
	var fs unix.Statfs_t
	if unix.Statfs(shm, &fs) == nil && fs.Type == unix.TMPFS_MAGIC && unix.Access(shm, unix.W_OK|unix.X_OK) == nil {
		return shm
	}
	return os.TempDir()
}

// scratchPrefix starts the name of every sandbox's scratch tree in the
// temporary directory.
const scratchPrefix = "sandbox-"

// dataKind names a data tree (the guest's private directories); a scratch
// tree proper holds a skeleton root.
const dataKind = "data-"

// makeScratch creates a scratch tree in base and holds an flock on it for
// the sandbox's lifetime: the lock, not the pid in the name, is what tells
// a later run that the tree is in use (it is freed by the kernel when the
// sandbox dies, and works across pid namespaces).
func makeScratch(base, kind string) (dir string, lock *os.File, err error) {
	removeStaleScratch(base)
	for tries := 0; ; tries++ {
		dir, err = os.MkdirTemp(base, fmt.Sprintf("%s%s%d-", scratchPrefix, kind, os.Getpid()))
		if err != nil {
			return "", nil, err
		}
		lock, err = os.Open(dir)
		if err == nil {
			err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
		}
		if errors.Is(err, os.ErrNotExist) && tries < 3 {
			continue // taken by another run's cleanup before we held it
		}
		if err != nil {
			if lock != nil {
				lock.Close()
			}
			os.Remove(dir)
			return "", nil, err
		}
		// Another run's cleanup may have taken the tree between its
		// creation and the lock: then it is gone, and we start again.
		var st unix.Stat_t
		if unix.Fstat(int(lock.Fd()), &st) == nil && st.Nlink > 0 || tries == 3 {
			return dir, lock, nil
		}
		lock.Close()
	}
}

// staleScratch matches the names makeScratch gives.
var staleScratch = regexp.MustCompile(`^` + scratchPrefix + `(` + dataKind + `)?[0-9]+-[0-9]+$`)

// removeStaleScratch removes the scratch trees of sandboxes that were
// killed before they could remove their own: trees named as makeScratch
// names them, owned by the caller, holding a skeleton root, whose lock is
// free.
func removeStaleScratch(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !staleScratch.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(tmp, e.Name())
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || int(st.Uid) != os.Geteuid() || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if strings.HasPrefix(e.Name(), scratchPrefix+dataKind) {
			// A data tree is empty only until its sandbox holds it (it
			// then makes its private directories in it): leave it be.
			if ents, err := os.ReadDir(p); err != nil || len(ents) == 0 {
				continue
			}
		} else if _, err := os.Lstat(filepath.Join(p, "root")); err != nil {
			continue // not a scratch tree after all
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
			removeAll(p)
		}
		unix.Close(fd)
	}
}

// removeAll removes the scratch tree. A guest may have left read-only
// directories in its private /tmp: make them writable and try again.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}

func encodeAll(ps [][]unix.SockFilter) [][]byte {
	var out [][]byte
	for _, p := range ps {
		out = append(out, seccomp.EncodeProgram(p))
	}
	return out
}

// kernelBinds lists the private directories (the private /tmp, tmpfs
// entries) that the init stage binds at their guest paths in a mount
// namespace of the guest's own, so that the paths the kernel resolves itself
// (execve, #! interpreters) reach the same files as the sentry's view: a
// program written to /tmp can then be run. Mounts inside such a directory
// (a cwd inside the host /tmp) are bound again on top, parents first. own
// says which host directories may be bound (Cmd.bindable: CAP_SYS_ADMIN
// or a user namespace, userns.go). A private directory is left out when its
// guest path is not a directory on the host, when a mount inside it is not
// a directory, or when another mount's host path lies inside it (the bind
// would hide it from the kernel, which may have to run the program from
// there); exec from what is left out stays refused with EACCES.
func kernelBinds(mounts []*vfs.Mount, own func(host string) bool) []bindMount {
	inside := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") }
	private := func(m *vfs.Mount) bool { return own(m.Host) }
	isDir := func(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }
	var out []bindMount
	for _, m := range mounts {
		if m.Kind != vfs.Bind || !private(m) || m.Guest == "/" || strings.HasPrefix(m.Guest, "/dev/") {
			// /dev/shm holds shared memory, not programs: each bind costs
			// start-up and teardown time.
			continue
		}
		if st, err := os.Lstat(m.Guest); err != nil || !st.IsDir() {
			continue
		}
		var nested []bindMount
		ok := true
		for _, o := range mounts {
			if o == m {
				continue
			}
			switch {
			case inside(o.Guest, m.Guest):
				if o.Kind != vfs.Bind || !isDir(o.Host) {
					ok = false
				}
				nested = append(nested, bindMount{Host: o.Host, Guest: o.Guest, ReadOnly: o.ReadOnly, Nested: true})
			case !private(o) && inside(o.Host, m.Guest):
				ok = false
			}
		}
		if ok {
			out = append(out, bindMount{Host: m.Host, Guest: m.Guest, ReadOnly: m.ReadOnly})
			out = append(out, nested...)
		}
	}
	// Parents before the mounts inside them.
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Guest) < len(out[j].Guest) })
	return out
}

// canMount tells whether this process holds CAP_SYS_ADMIN, which the init
// stage (its child, before dropping everything) needs for the mount
// namespace: root in a container often lacks it.
func canMount() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}

// callerUmask is the umask the process started with: Start sets the
// process umask to 0 for as long as a sandbox may serve, so a second Start
// could not read it back.
var callerUmask = func() int {
	m := unix.Umask(0)
	unix.Umask(m)
	return m
}()

// view is the guest's filesystem view and what is looked up in it before
// the guest starts.
type view struct {
	fs                 *vfs.FS
	guestCwd, execPath string // execPath: what the init stage execs (findProgram)
	progDev, progIno   uint64 // the program file (the init stage must exec it)
	env                []string
	err                error
}

// buildView makes the guest's filesystem view and finds the program in it.
// It touches nothing of c's that starting the init stage changes, so the
// two may run at once.
func (c *Cmd) buildView(hostCwd string, dirs []sizedTmpfs, tmpfs *tmpfsSet) (v view) {
	cfg, guestCwd, err := c.fsConfig(hostCwd, dirs, tmpfs)
	if err != nil {
		return view{err: err}
	}
	fs, err := vfs.New(cfg)
	if err != nil {
		return view{err: err}
	}
	v.fs, v.guestCwd = fs, guestCwd
	rootCtx := vfs.Ctx{Cwd: vfs.Dir{Guest: "/", FD: fs.Root().FD(), Mount: fs.Root()}}
	cwdDir, errno := fs.OpenDir(rootCtx, guestCwd)
	if errno != 0 {
		v.err = fmt.Errorf("working directory %s in the sandbox: %w", guestCwd, errno)
		return v
	}
	v.env = c.Env
	if v.env == nil {
		v.env = c.Policy.BuildEnv(os.Environ(), c.EnvPass, c.EnvSet, guestCwd)
	}
	v.execPath, v.progDev, v.progIno, v.err = c.findProgram(fs, vfs.Ctx{Cwd: cwdDir}, v.env, c.kernelCwd(hostCwd))
	unix.Close(cwdDir.FD)
	return v
}
