package sentry

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"sandbox/mm"
	"sandbox/seccomp"
	"sandbox/vfs"
)

// Config is what the sentry needs from the policy.
type Config struct {
	FS  *vfs.FS
	Log *logrus.Logger
	// Net is the network policy (default: none).
	Net NetPolicy
	// MaxProcs limits the sandbox's processes: fork beyond it fails with
	// EAGAIN, as RLIMIT_NPROC does. 0 means no limit.
	MaxProcs int
	// Hostname, when set, is what uname reports (Options.Uname routes it).
	Hostname string
	// ExecAllowed, when set, decides which guest paths may be executed
	// after the program itself (policy exec.allow).
	ExecAllowed func(guestPath string) bool
	// Tracer, when set, gets every routed call (--trace, --summary).
	Tracer *Tracer
	// TraceAll: the filter routes pass-class calls too (Options.TraceAll);
	// the sentry continues them.
	TraceAll bool
	// DenyWX and ExecFromReadOnly are the memory policy (sys_mmap.go); the
	// filter must route PROT_EXEC mappings (Options.DenyWX or
	// Options.ExecFromReadOnly).
	DenyWX, ExecFromReadOnly bool
	// MemoryTotal caps the address space of all the sandbox's processes
	// together (policy memory.total; sys_mem.go); WatchAddressSpace counts
	// allocations RLIMIT_AS refuses (limits.address_space). Either needs
	// Options.Memory.
	MemoryTotal       uint64
	WatchAddressSpace bool
}

// Sentry serves one sandbox's listener.
type Sentry struct {
	cfg      Config
	fs       *vfs.FS
	log      *logrus.Logger
	listener *seccomp.Listener
	tasks    tasks

	idle    atomic.Int32 // serving threads blocked in RECV
	threads atomic.Int32
	wg      sync.WaitGroup
	closed  atomic.Bool
	// watchdog is the guest's parent process (see the root package).
	watchdog int
	// program is the file the init stage's execve must run (Register).
	program fileID
	watch   watcher
	tracer  *Tracer // nil: no tracing, and no cost
	mem     memAccount
	waiters waiters // how serving threads wait (wait.go)

	procDevOnce sync.Once
	procDev     uint64

	denyMu  sync.Mutex
	denials map[string]int
	limits  map[string]int // policy limit name -> calls it failed

	ptys ptys // the pty numbers the guest may open (sys_pty.go)

	// absPrefix starts every abstract unix socket name the guest uses
	// (sys_socket.go): the sandbox's own slice of the host's namespace.
	absPrefix []byte
}

// New returns a sentry for cfg. Start it with Serve once the listener is
// known.
func New(cfg Config) (*Sentry, error) {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sentry: epoll: %w", err)
	}
	s := &Sentry{cfg: cfg, fs: cfg.FS, log: cfg.Log, tracer: cfg.Tracer}
	var tag [8]byte
	if _, err := rand.Read(tag[:]); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("sentry: random abstract-socket prefix: %w", err)
	}
	s.absPrefix = []byte(fmt.Sprintf("S%x/", tag))
	s.ptys.addOwnTerminals()
	s.tasks = tasks{byTid: map[int]*Task{}, procs: map[int]*Process{}, pending: map[int][]forkSnapshot{}, epfd: epfd}
	go s.reap()
	return s, nil
}

// Register books the init-stage process pid with the guest's starting cwd
// (a guest path) and umask; watchdog is its parent, the root of the
// sandbox's process tree. dev and ino name the program file: the init
// stage's execve must run it.
func (s *Sentry) Register(pid, watchdog int, cwd string, umask uint32, dev, ino uint64) error {
	s.watchdog = watchdog
	s.program = fileID{dev, ino}
	d, errno := s.fs.OpenDir(vfs.Ctx{Cwd: vfs.Dir{Guest: "/", FD: s.fs.Root().FD(), Mount: s.fs.Root()}}, cwd)
	if errno != 0 {
		return fmt.Errorf("sentry: guest cwd %s: %w", cwd, errno)
	}
	return s.register(pid, d, umask)
}

const (
	minServers = 2
	maxServers = 128
)

// Serve starts serving l. It returns at once; Close stops it.
//
// While the guest runs, one serving thread keeps a P of the Go runtime
// (wait.go): a program that runs sandboxes should allow for one more P per
// sandbox it serves at a time (cmd/sandbox adds one).
func (s *Sentry) Serve(l *seccomp.Listener) error {
	s.listener = l
	if err := l.SetSyncWakeUp(); err != nil {
		// Older kernels: correct, only slower across CPUs.
		s.log.WithError(err).Debug("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP not available")
	}
	if err := s.waiters.init(l.FD()); err != nil {
		// Close then closes the listener only: init left no fd behind.
		return fmt.Errorf("sentry: listener wait set-up: %w", err)
	}
	for i := 0; i < minServers; i++ {
		s.spawn()
	}
	return nil
}

func (s *Sentry) spawn() {
	s.threads.Add(1)
	s.idle.Add(1)
	s.wg.Add(1)
	go s.serve()
}

// serve is one serving thread (wait.go says how it waits). When it takes a
// notification and no other thread is left waiting, it starts another
// first, so that a handler that blocks (a FIFO open, a wait) never stalls
// the rest of the guest.
func (s *Sentry) serve() {
	runtime.LockOSThread()
	defer s.wg.Done()
	defer runtime.UnlockOSThread()
	exit := func() {
		s.idle.Add(-1)
		s.threads.Add(-1)
	}
	me := &waiter{w: &s.waiters, retire: func(keep int32) bool {
		for {
			n := s.idle.Load()
			if n <= keep {
				return false
			}
			if s.idle.CompareAndSwap(n, n-1) {
				s.threads.Add(-1)
				return true
			}
		}
	}}
	var n seccomp.Notif
	for {
		switch me.wait() {
		case waitStopped:
			exit()
			return
		case waitHangup:
			// No task uses the filter any more: no notification can come.
			s.waiters.stop()
			exit()
			return
		case waitRetire:
			return
		}
		err := s.listener.Recv(&n)
		s.waiters.doneReceiving()
		if err != nil {
			// ENOENT: the caller died before we got its notification.
			if s.closed.Load() || err != unix.ENOENT {
				exit()
				return
			}
			continue
		}
		if s.idle.Add(-1) == 0 && s.threads.Load() < maxServers {
			s.spawn()
		}
		s.handle(&n)
		s.idle.Add(1)
	}
}

// Close stops serving. Pending calls of a still-running guest fail with
// ENOSYS once the listener is closed.
func (s *Sentry) Close() {
	if s.closed.Swap(true) {
		return
	}
	if s.listener != nil {
		s.waiters.stop()
		s.listener.Close()
		go func() {
			s.wg.Wait()
			s.waiters.release()
		}()
	}
}

// Call is one routed syscall.
type Call struct {
	s     *Sentry
	notif *seccomp.Notif
	Task  *Task
	// Set by handlers through the methods below.
	cont   bool
	addFD  int // sentry fd to install, or -1
	setFD  int
	cloexc bool
	closeA bool
	// installed runs with the guest's fd number once ADDFD succeeded.
	installed func(fd int)
	// beforeReply, when set, runs with the guest's fd number after ADDFD
	// and before the reply (the fd is then installed without SEND).
	beforeReply func(fd int)
	// after runs once the reply is sent.
	after func()
	// blocked is set while the call may block (see interrupt.go).
	blocked *blocked
	// reason says why the policy refused the call (for the trace).
	reason string
}

// deny refuses the call for a policy reason: the guest sees errno, the
// trace and the log see why.
func (c *Call) deny(errno unix.Errno, reason string) (int64, unix.Errno) {
	c.reason = reason
	c.s.denied(Name(int(c.notif.Data.Nr)), reason, int(c.notif.Pid))
	return 0, errno
}

// denied logs a denial the first time it happens; repeats are counted and
// reported once at exit, so a noisy guest cannot flood the log.
func (s *Sentry) denied(syscall, reason string, pid int) {
	key := syscall + "\x00" + reason
	s.denyMu.Lock()
	if s.denials == nil {
		s.denials = map[string]int{}
	}
	s.denials[key]++
	first := s.denials[key] == 1
	s.denyMu.Unlock()
	if first {
		s.log.WithFields(logrus.Fields{"syscall": syscall, "pid": pid}).Info("denied: " + reason)
	}
}

// limitHit counts a call that failed because the guest reached a policy
// limit (name as in the policy's limits section) and tells whether it is
// the first.
func (s *Sentry) limitHit(name string) bool {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	if s.limits == nil {
		s.limits = map[string]int{}
	}
	s.limits[name]++
	return s.limits[name] == 1
}

// LimitsHit returns, per policy limit the guest ran into, how many calls
// failed because of it (the sentry sees the process and open-file limits;
// the kernel's rlimit signals show in the exit status instead).
func (s *Sentry) LimitsHit() map[string]int {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	out := make(map[string]int, len(s.limits))
	for k, v := range s.limits {
		out[k] = v
	}
	return out
}

// LogDenialCounts reports the denials that repeated.
func (s *Sentry) LogDenialCounts() {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	for key, n := range s.denials {
		if n > 1 {
			name, reason, _ := strings.Cut(key, "\x00")
			s.log.WithFields(logrus.Fields{"syscall": name, "count": n}).Info("denied repeatedly: " + reason)
		}
	}
}

// Arg returns raw argument i.
func (c *Call) Arg(i int) uint64 { return c.notif.Data.Args[i] }

// Int returns argument i as a C int.
func (c *Call) Int(i int) int { return int(int32(c.notif.Data.Args[i])) }

// Mem returns the caller's address space.
func (c *Call) Mem() *mm.AddressSpace { return c.Task.Proc.mem }

// Continue makes the kernel run the call (register-only decisions).
func (c *Call) Continue() (int64, unix.Errno) {
	c.cont = true
	return 0, 0
}

// InstallFD answers the call with fd (ours) installed in the caller, at the
// lowest free number or at setfd >= 0. The sentry's fd is closed after.
func (c *Call) InstallFD(fd int, setfd int, cloexec bool) (int64, unix.Errno) {
	c.addFD, c.setFD, c.cloexc, c.closeA = fd, setfd, cloexec, true
	return 0, 0
}

// Valid re-checks that the notification is still pending: the guest's
// memory we read belonged to this very call.
func (c *Call) Valid() bool { return c.s.listener.IDValid(c.notif.ID) }

// handle answers n.
func (s *Sentry) handle(n *seccomp.Notif) {
	t, err := s.lookupTask(int(n.Pid))
	if err != nil {
		// Unknown task: refuse. A task outside the sandbox cannot reach our
		// listener, so this is one that exited while we looked it up.
		s.log.WithError(err).Debug("task lookup")
		s.listener.Reply(n.ID, 0, unix.ESRCH)
		return
	}
	defer t.release()
	if t.Proc.execArmed.Load() && !s.checkExec(t, n.ID) {
		s.listener.Reply(n.ID, 0, unix.EPERM)
		return
	}
	c := Call{s: s, notif: n, Task: t, addFD: -1, setFD: -1}
	nr := int(n.Data.Nr)
	h := handlerFor(nr)
	var val int64
	var errno unix.Errno
	var start time.Time
	if s.tracer != nil {
		start = time.Now()
	}
	if h == nil && s.cfg.TraceAll {
		val, errno = c.Continue() // a pass-class call, routed only to be seen
	} else if h == nil {
		errno = unix.ENOSYS
	} else {
		val, errno = h(&c)
	}
	// With a tracer, the line is written before the reply: the guest's
	// out-parameters are still what the call returned, and a task's lines
	// come in its order. An fd is then installed without SEND, so that its
	// number is known before the reply.
	send := s.tracer == nil && c.beforeReply == nil
	switch {
	case c.addFD >= 0:
		newfd := -1
		if errno == 0 {
			var err error
			newfd, err = s.listener.AddFD(n.ID, c.addFD, c.setFD, c.cloexc, send)
			if c.closeA && send {
				// The guest runs on already: our reference to its new
				// open file must go at once (until it does, an unlinked
				// file keeps its space, and a file opened for writing
				// cannot be executed: ETXTBSY).
				unix.Close(c.addFD)
				c.closeA = false
			}
			if err == unix.EMFILE {
				s.limitHit("files")
			}
			if !send {
				if err != nil {
					e, _ := err.(unix.Errno)
					if s.tracer != nil {
						s.tracer.record(&c, 0, e, time.Since(start))
					}
					if err != unix.ENOENT {
						s.listener.Reply(n.ID, 0, e)
					}
				} else {
					if c.beforeReply != nil {
						c.beforeReply(newfd)
					}
					if s.tracer != nil {
						s.tracer.record(&c, int64(newfd), 0, time.Since(start))
					}
					s.listener.Reply(n.ID, int64(newfd), 0)
				}
				err = nil
				if newfd < 0 {
					err = unix.EBADF
				}
			}
			if err != nil && err != unix.ENOENT {
				// ADDFD failed for a reason of the guest's (EMFILE,
				// EBADF for a setfd over the limit): answer with it.
				if e, ok := err.(unix.Errno); ok {
					s.listener.Reply(n.ID, 0, e)
				}
			}
			if err != nil {
				newfd = -1
			}
		} else {
			if !send && s.tracer != nil {
				s.tracer.record(&c, 0, errno, time.Since(start))
			}
			s.listener.Reply(n.ID, 0, errno)
		}
		if c.installed != nil {
			c.installed(newfd)
		}
		if c.closeA {
			unix.Close(c.addFD)
		}
	case c.cont && errno == 0:
		if !send {
			s.tracer.record(&c, 0, 0, time.Since(start))
		}
		s.listener.Continue(n.ID)
	default:
		if !send {
			s.tracer.record(&c, val, errno, time.Since(start))
		}
		s.listener.Reply(n.ID, val, errno)
	}
	if c.after != nil {
		c.after()
	}
}
