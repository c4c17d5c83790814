package sentry

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/fdtable"
	"sandbox/mm"
	"sandbox/vfs"
)

// FSContext is a task's cwd and umask (shared by CLONE_FS threads).
type FSContext struct {
	mu    sync.Mutex
	cwd   vfs.Dir // cwd.FD is owned
	umask uint32
	// shared counts the holders beyond the first (processes made with
	// CLONE_FS, fork snapshots); release drops one.
	shared atomic.Int32
}

// share takes another holder's reference to f (CLONE_FS).
func (f *FSContext) share() *FSContext {
	f.shared.Add(1)
	return f
}

// cwdCopy returns the cwd with an fd of the caller's own, which the
// caller closes. It is taken under the lock: a concurrent chdir closes the
// context's fd, and the sentry may give its number to another file at once
// (a lookup would then start in that file's mount, read-only or not).
func (f *FSContext) cwdCopy() (vfs.Dir, unix.Errno) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.cwd
	fd, err := unix.FcntlInt(uintptr(d.FD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return vfs.Dir{}, err.(unix.Errno)
	}
	d.FD = fd
	return d, 0
}

// cwdGuest returns the cwd's guest path.
func (f *FSContext) cwdGuest() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cwd.Guest
}

func (f *FSContext) getUmask() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.umask
}

// fork copies the context (fork without CLONE_FS).
func (f *FSContext) fork() *FSContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := &FSContext{cwd: f.cwd, umask: f.umask}
	if fd, err := unix.Dup(f.cwd.FD); err == nil {
		unix.CloseOnExec(fd)
		n.cwd.FD = fd
	} else {
		n.cwd.FD = -1
	}
	return n
}

func (f *FSContext) setCwd(d vfs.Dir) {
	f.mu.Lock()
	old := f.cwd.FD
	f.cwd = d
	f.mu.Unlock()
	if old >= 0 {
		unix.Close(old)
	}
}

// release drops a holder's reference; the last one closes the cwd.
func (f *FSContext) release() {
	if f.shared.Add(-1) >= 0 {
		return // another process still uses it (CLONE_FS)
	}
	f.mu.Lock()
	if f.cwd.FD >= 0 {
		unix.Close(f.cwd.FD)
		f.cwd.FD = -1
	}
	f.mu.Unlock()
}

// Process is a thread group.
type Process struct {
	Tgid  int
	PPid  int
	fds   *fdtable.Table
	fs    *FSContext
	mem   *mm.AddressSpace
	pidfd int // pidfd of the leader, for pidfd_getfd
	// execed is set once the process ran an image the guest chose; until
	// then it is the sandbox's own init stage.
	execed bool
	tasks  int
	// vm is the address space booked for memory.total (sys_mem.go) and
	// vmAt when a call was let through on it, guarded by tasks.mu.
	vm uint64
	// inflight holds, per thread, the growth of its last call let through
	// and when (the kernel may not have made it yet); guarded by tasks.mu.
	inflight map[int]grant
	// stackReserve is the stack limit booked at exec (memory.total): the
	// stack grows up to it without a routed call. Guarded by tasks.mu.
	stackReserve uint64
	// execChecks (under execMu) say what /proc/<pid>/exe may be at the
	// process's next routed calls, one per thread with an exec under way:
	// an image the sentry checked, or (the exec failed) the old one.
	// Anything else means the path or fd was swapped between the check
	// and the kernel's own lookup. execArmed is set while any is.
	execMu     sync.Mutex
	execChecks []*execCheck
	execArmed  atomic.Bool
}

type execCheck struct {
	want []fileID // the checked file, and the #! interpreters it names
	old  fileID
	tid  int // the thread that made the exec
}

type fileID struct{ dev, ino uint64 }

// Task is one guest thread.
type Task struct {
	Tid   int
	Proc  *Process
	pidfd int // PIDFD_THREAD pidfd, watched by the reaper
	// refs: the table's reference and one per call being served; the
	// pidfd closes with the last (a call of a thread killed meanwhile
	// must not use a number the sentry has given to another file).
	refs atomic.Int32
}

func (t *Task) release() {
	if t.refs.Add(-1) == 0 {
		unix.Close(t.pidfd)
	}
}

// forkSnapshot is the state a child of a fork gets, taken when the parent
// called fork/clone.
type forkSnapshot struct {
	fds  *fdtable.Table
	fs   *FSContext
	when time.Time
	vm   uint64 // the child's address space, booked until it is seen
}

// snapshotTTL bounds how long a fork snapshot waits for its child's first
// routed call: a child that exits without one never claims it. A child
// discovered later gets its context from /proc instead.
const snapshotTTL = 10 * time.Second

// release drops the snapshot's references (its own copies, or its shares
// of the parent's when the clone shared them).
func (sn forkSnapshot) release() {
	sn.fds.Release()
	sn.fs.release()
}

// tasks is the sentry's task table.
type tasks struct {
	mu      sync.Mutex
	byTid   map[int]*Task
	procs   map[int]*Process
	pending map[int][]forkSnapshot // by parent tgid
	epfd    int
	count   int // live processes, for the process limit
}

// pidfdInfo is struct pidfd_info (linux/pidfd.h, Linux 6.13+), as far as
// the sentry reads it; the kernel fills what the mask asks for.
type pidfdInfo struct {
	Mask     uint64
	CgroupID uint64
	Pid      uint32
	Tgid     uint32
	Ppid     uint32
	_        [13]uint32 // ids, exit code, coredump fields
}

const (
	ioctlPidfdGetInfo = 0xc050ff0b // _IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)
	pidfdInfoPid      = 1 << 0
)

// pidfdIDs returns the thread group and parent of the task a pidfd names,
// in one ioctl (the procfs status file costs ~25 us to generate and read,
// on every new guest process); ok is false on kernels before 6.13.
func pidfdIDs(pidfd int) (tgid, ppid int, ok bool) {
	info := pidfdInfo{Mask: pidfdInfoPid}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(pidfd), ioctlPidfdGetInfo, uintptr(unsafe.Pointer(&info)))
	if e != 0 || info.Mask&pidfdInfoPid == 0 {
		return 0, 0, false
	}
	return int(info.Tgid), int(info.Ppid), true
}

// taskIDs returns the thread group and parent of task tid (a thread or
// a process).
func taskIDs(tid int) (tgid, ppid int, err error) {
	if fd, err := unix.PidfdOpen(tid, pidfdThread); err == nil {
		tgid, ppid, ok := pidfdIDs(fd)
		unix.Close(fd)
		if ok {
			return tgid, ppid, nil
		}
	}
	return procStatus(tid)
}

func procStatus(tid int) (tgid, ppid int, err error) {
	b, err := readProc("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	tgid, ppid = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			tgid, _ = strconv.Atoi(strings.TrimSpace(v))
		} else if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			break
		}
	}
	if tgid < 0 || ppid < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/status", tid)
	}
	return tgid, ppid, nil
}

// readProc reads a small procfs file with plain system calls: os.ReadFile
// would also try to register it with the Go poller (five more calls, on
// every new guest task).
func readProc(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

const pidfdThread = unix.O_EXCL // PIDFD_THREAD

// lookupTask returns the task for tid, discovering it (and its process) at
// its first notification, with a reference the caller releases when the
// call is served.
func (s *Sentry) lookupTask(tid int) (*Task, error) {
	ts := &s.tasks
	ts.mu.Lock()
	if t := ts.byTid[tid]; t != nil {
		t.refs.Add(1)
		ts.mu.Unlock()
		return t, nil
	}
	ts.mu.Unlock()
	tpidfd, err := unix.PidfdOpen(tid, pidfdThread)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", tid, err)
	}
	tgid, ppid, ok := pidfdIDs(tpidfd)
	if !ok {
		if tgid, ppid, err = procStatus(tid); err != nil {
			unix.Close(tpidfd)
			return nil, err
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t := ts.byTid[tid]; t != nil { // raced with another serving thread
		unix.Close(tpidfd)
		t.refs.Add(1)
		return t, nil
	}
	p := ts.procs[tgid]
	var stale *Process
	if p != nil && !pidfdExists(p.pidfd) {
		// The process this entry was has been reaped (its last threads
		// had no Task to report it): tgid names a new process now.
		stale = s.removeProcessLocked(p)
		defer releaseProcess(stale)
		p = nil
	}
	if p == nil {
		p = &Process{Tgid: tgid, PPid: ppid, mem: mm.New(tgid), pidfd: -1}
		if pf, err := unix.PidfdOpen(tgid, 0); err == nil {
			p.pidfd = pf
		}
		if q := ts.pending[ppid]; len(q) > 0 {
			if len(q) > 1 {
				// Which fork this child is, is a guess: another child's
				// booking may go with it (memory.total then counts exactly).
				s.mem.unseen.Store(true)
			}
			p.fds, p.fs = q[0].fds, q[0].fs
			ts.pending[ppid] = q[1:]
			if len(ts.pending[ppid]) == 0 {
				delete(ts.pending, ppid)
			}
			p.execed = true
		} else if parent := ts.procs[ppid]; parent != nil {
			p.fds, p.fs = parent.fds.Fork(), parent.fs.fork()
			p.execed = true
		}
		if parent := ts.procs[ppid]; parent != nil && p.execed {
			p.mem.Inherit(parent.mem)
			p.stackReserve = parent.stackReserve // a fork keeps the stack limit
		} else {
			// Only tasks carrying our filter can notify us, so this one is
			// in the sandbox: an orphan whose parent exited before the
			// child's first routed call (it now hangs off the watchdog).
			// Rebuild its context from the kernel's view.
			if q := s.deadParentSnapshot(); q != nil {
				p.fds, p.fs = q.fds, q.fs
			} else {
				p.fds, p.fs = fdtable.New(), s.fsFromProc(tid)
			}
			p.execed = true
		}
		if s.cfg.MemoryTotal > 0 {
			p.vm, _ = mm.Size(tgid)
		}
		ts.procs[tgid] = p
		ts.count++
	}
	t := &Task{Tid: tid, Proc: p, pidfd: tpidfd}
	t.refs.Store(2) // the table's and the caller's
	p.tasks++
	ts.byTid[tid] = t
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tid)}
	unix.EpollCtl(ts.epfd, unix.EPOLL_CTL_ADD, tpidfd, &ev)
	return t, nil
}

// deadParentSnapshot takes a pending fork snapshot whose parent is gone
// (called with ts.mu held).
func (s *Sentry) deadParentSnapshot() *forkSnapshot {
	ts := &s.tasks
	for ppid, q := range ts.pending {
		if ts.procs[ppid] != nil && processAlive(ts.procs[ppid]) {
			continue
		}
		snap := q[0]
		s.mem.unseen.Store(true) // a guess too, as above
		if len(q) == 1 {
			delete(ts.pending, ppid)
		} else {
			ts.pending[ppid] = q[1:]
		}
		return &snap
	}
	return nil
}

// fsFromProc builds an fs context from what the kernel says of task tid:
// its cwd mapped back into the guest's view (or "/"), and its umask.
func (s *Sentry) fsFromProc(tid int) *FSContext {
	f := &FSContext{umask: 0o022}
	if b, err := readProc("/proc/" + strconv.Itoa(tid) + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					f.umask = uint32(u)
				}
			}
		}
	}
	root := s.fs.Root()
	rootCtx := vfs.Ctx{Cwd: vfs.Dir{Guest: "/", FD: root.FD(), Mount: root}}
	guest := "/"
	if host, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/cwd"); err == nil {
		if g, _ := s.fs.GuestPathOf(host); g != "" {
			guest = g
		}
	}
	d, errno := s.fs.OpenDir(rootCtx, guest)
	if errno != 0 {
		d, _ = s.fs.OpenDir(rootCtx, "/")
	}
	f.cwd = d
	return f
}

// register adds the init stage's process, before it runs guest code.
func (s *Sentry) register(pid int, cwd vfs.Dir, umask uint32) error {
	ts := &s.tasks
	pf, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	p := &Process{Tgid: pid, fds: fdtable.New(), fs: &FSContext{cwd: cwd, umask: umask}, mem: mm.New(pid), pidfd: pf}
	ts.mu.Lock()
	ts.procs[pid] = p
	ts.count++
	ts.mu.Unlock()
	return nil
}

// snapshotFork records what a child of p will start with, expiring the
// parent's snapshots that no child claimed in time.
func (s *Sentry) snapshotFork(p *Process, shareFiles, shareFS bool, vm uint64) {
	snap := forkSnapshot{when: time.Now(), vm: vm}
	if shareFiles {
		snap.fds = p.fds.Share()
	} else {
		snap.fds = p.fds.Fork()
	}
	if shareFS {
		snap.fs = p.fs.share()
	} else {
		snap.fs = p.fs.fork()
	}
	s.tasks.mu.Lock()
	q := s.tasks.pending[p.Tgid]
	for len(q) > 0 && time.Since(q[0].when) > snapshotTTL {
		if q[0].vm > 0 {
			s.mem.unseen.Store(true)
		}
		q[0].release()
		q = q[1:]
	}
	s.tasks.pending[p.Tgid] = append(q, snap)
	s.tasks.mu.Unlock()
}

// reap forgets tasks as they exit, so that the sentry's memory and fds stay
// flat however many short-lived processes the guest runs.
func (s *Sentry) reap() {
	ts := &s.tasks
	evs := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(ts.epfd, evs, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range evs[:n] {
			if ev.Fd < 0 {
				s.forgetProcess(int(-ev.Fd))
				continue
			}
			s.forget(int(ev.Fd))
		}
	}
}

func (s *Sentry) forget(tid int) {
	ts := &s.tasks
	ts.mu.Lock()
	t := ts.byTid[tid]
	if t == nil {
		ts.mu.Unlock()
		return
	}
	delete(ts.byTid, tid)
	delete(t.Proc.inflight, tid) // its calls are all made
	unix.EpollCtl(ts.epfd, unix.EPOLL_CTL_DEL, t.pidfd, nil)
	t.release()
	p := t.Proc
	p.tasks--
	var dead *Process
	if p.tasks <= 0 && ts.procs[p.Tgid] == p {
		if processAlive(p) {
			// Threads that never made a routed call keep it alive, and
			// none has a Task to report its end: watch the process.
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(-p.Tgid)}
			unix.EpollCtl(ts.epfd, unix.EPOLL_CTL_ADD, p.pidfd, &ev)
		} else {
			dead = s.removeProcessLocked(p)
		}
	}
	ts.mu.Unlock()
	releaseProcess(dead)
}

// forgetProcess drops process tgid once it has ended with no Task left
// (armed by forget).
func (s *Sentry) forgetProcess(tgid int) {
	ts := &s.tasks
	ts.mu.Lock()
	var dead *Process
	if p := ts.procs[tgid]; p != nil {
		unix.EpollCtl(ts.epfd, unix.EPOLL_CTL_DEL, p.pidfd, nil)
		if p.tasks <= 0 && !processAlive(p) {
			dead = s.removeProcessLocked(p)
		}
	}
	ts.mu.Unlock()
	releaseProcess(dead)
}

// removeProcessLocked takes p out of the table (ts.mu held); the caller
// releases it with releaseProcess once the lock is dropped.
func (s *Sentry) removeProcessLocked(p *Process) *Process {
	ts := &s.tasks
	if p.pidfd >= 0 {
		unix.EpollCtl(ts.epfd, unix.EPOLL_CTL_DEL, p.pidfd, nil) // if forget armed it
	}
	delete(ts.procs, p.Tgid)
	if q := ts.pending[p.Tgid]; q != nil {
		for _, snap := range q {
			if snap.vm > 0 {
				s.mem.unseen.Store(true)
			}
			snap.release()
		}
		delete(ts.pending, p.Tgid)
	}
	ts.count--
	return p
}

func releaseProcess(dead *Process) {
	if dead == nil {
		return
	}
	dead.fds.Release()
	dead.fs.release()
	dead.mem.Reset() // its /proc/<pid>/maps handle
	if dead.pidfd >= 0 {
		unix.Close(dead.pidfd)
	}
}

// processAlive tells whether any thread of p is still running (a thread
// that never made a routed call has no Task).
func processAlive(p *Process) bool {
	if p.pidfd < 0 {
		return false
	}
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n == 0
}

// inSandbox tells whether pid (a tgid or tid) belongs to the sandbox: a
// task or process of the table that still exists (a zombie does). An entry
// whose task is gone (reaped, and not forgotten yet) names nothing: the
// kernel may already have given its number to a process outside.
func (s *Sentry) inSandbox(pid int) bool {
	s.tasks.mu.Lock()
	defer s.tasks.mu.Unlock()
	if t := s.tasks.byTid[pid]; t != nil && pidfdExists(t.pidfd) {
		return true
	}
	if p := s.tasks.procs[pid]; p != nil && pidfdExists(p.pidfd) {
		return true
	}
	return false
}

// pidfdExists tells whether the task a pidfd names has not been reaped
// (signal 0 checks only that; a zombie still counts, as for kill).
func pidfdExists(pidfd int) bool {
	return pidfd >= 0 && unix.PidfdSendSignal(pidfd, 0, nil, 0) == nil
}

// Stats reports the sentry's bookkeeping size (for leak tests).
func (s *Sentry) Stats() (tasks, procs int) {
	s.tasks.mu.Lock()
	defer s.tasks.mu.Unlock()
	return len(s.tasks.byTid), len(s.tasks.procs)
}

// KillAll kills every process the sandbox still has (the guest's first
// process exited and left others behind, or the sandbox is stopping).
func (s *Sentry) KillAll() {
	s.tasks.mu.Lock()
	var pidfds []int
	for _, p := range s.tasks.procs {
		if p.pidfd >= 0 {
			pidfds = append(pidfds, p.pidfd)
		}
	}
	for _, fd := range pidfds {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
	s.tasks.mu.Unlock()
}

// liveProcesses counts the sandbox's processes exactly: the descendants of
// the watchdog (every guest process is one, orphans included).
func (s *Sentry) liveProcesses() int {
	if s.watchdog <= 0 {
		s.tasks.mu.Lock()
		defer s.tasks.mu.Unlock()
		return len(s.tasks.procs)
	}
	return len(s.descendants())
}

// KillTree kills every process of the sandbox (the watchdog's descendants,
// orphans included, and the processes the sentry knows), repeating until
// none is left so that a guest forking while it dies cannot slip away.
func (s *Sentry) KillTree() {
	// Stop everything first: a child killed while its parent still runs
	// would wake the parent (wait returns), which could act (print, write
	// a file) before its own SIGKILL lands. A stopped child wakes nobody,
	// and a stopped parent runs no more code.
	for _, p := range s.descendants() {
		unix.Kill(p, unix.SIGSTOP)
	}
	for round := 0; round < 100; round++ {
		pids := s.descendants()
		s.KillAll()
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

// descendants lists the watchdog's descendants.
func (s *Sentry) descendants() []int {
	if s.watchdog <= 0 {
		return nil
	}
	var out []int
	queue := []int{s.watchdog}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		for _, t := range tasks {
			b, err := readProc("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

// mayFork applies the process limit: the approximate count (known
// processes and unclaimed forks) is exact enough below the limit; near it,
// the sandbox's process tree is counted for real.
func (s *Sentry) mayFork() bool {
	if s.cfg.MaxProcs <= 0 {
		return true
	}
	s.tasks.mu.Lock()
	approx := len(s.tasks.procs)
	for _, q := range s.tasks.pending {
		approx += len(q)
	}
	s.tasks.mu.Unlock()
	if approx < s.cfg.MaxProcs {
		return true
	}
	return s.liveProcesses() < s.cfg.MaxProcs
}
