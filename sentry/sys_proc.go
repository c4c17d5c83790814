package sentry

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/mm"
)

// Namespace flags: the guest may not make namespaces of its own.
const cloneNSFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWPID |
	unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

func clone(c *Call, flags uint64) (int64, unix.Errno) {
	if flags&cloneNSFlags != 0 {
		return 0, unix.EPERM
	}
	if flags&unix.CLONE_THREAD == 0 {
		if !c.s.mayFork() {
			if c.s.limitHit("processes") {
				c.s.log.WithField("limit", c.s.cfg.MaxProcs).Warn("fork refused: the sandbox's process limit is reached")
			}
			return 0, unix.EAGAIN
		}
		var vm uint64 // the child's copy of the address space
		if c.s.cfg.MemoryTotal > 0 && flags&unix.CLONE_VM == 0 {
			// Decided and booked (in the snapshot) in one step.
			c.s.mem.mu.Lock()
			vm, _ = mm.Size(c.Task.Proc.Tgid)
			if c.memRefusedLocked(vm, true) {
				c.s.mem.mu.Unlock()
				return 0, unix.ENOMEM
			}
			c.s.snapshotFork(c.Task.Proc, flags&unix.CLONE_FILES != 0, flags&unix.CLONE_FS != 0, vm)
			c.s.mem.mu.Unlock()
		} else {
			c.s.snapshotFork(c.Task.Proc, flags&unix.CLONE_FILES != 0, flags&unix.CLONE_FS != 0, 0)
		}
	}
	return c.Continue()
}

func sysClone(c *Call) (int64, unix.Errno) { return clone(c, c.Arg(0)) }
func sysFork(c *Call) (int64, unix.Errno)  { return clone(c, uint64(unix.SIGCHLD)) }
func sysVfork(c *Call) (int64, unix.Errno) {
	return clone(c, uint64(unix.CLONE_VM|unix.CLONE_VFORK|unix.SIGCHLD))
}

// execve: the sentry resolves the program in the guest's view and checks
// it, then lets the kernel run the call (DESIGN §6). The kernel resolves the
// path again in its own view, so the sentry also requires that view to name
// the same file; a racing thread that flips the path after this check is
// bounded by the kernel layers (Landlock, mount namespace).
func exec(c *Call, dirfd int, pathArg int, flags int) (int64, unix.Errno) {
	p := c.Task.Proc
	if !p.execed {
		// The sandbox's own init stage starting the guest program. The
		// path is the sandbox's, but the kernel resolves it again (it is
		// the path as given or found on PATH: a symlink in a directory
		// someone may write to), so it is held to the file found, as any
		// exec is.
		p.execed = true
		p.mem.Reset()
		path, errno := c.path(pathArg)
		if errno != 0 {
			return 0, errno
		}
		kfd, errno := c.kernelTarget(dirfd, path)
		if errno != 0 {
			return 0, errno
		}
		defer unix.Close(kfd)
		var got unix.Stat_t
		if err := unix.Fstat(kfd, &got); err != nil || (fileID{got.Dev, got.Ino}) != c.s.program {
			return c.deny(unix.EACCES, "the program's path names another file than when it was looked up")
		}
		// The image is not booked against memory.total here: the
		// process's first accounting counts what it maps.
		_, ids, image := execImage(kfd, c.Task.Tid)
		if image >= 0 {
			unix.Close(image)
		}
		c.setExecCheck(append([]fileID{c.s.program}, ids...))
		return c.Continue()
	}
	if flags&^(atEmptyPath|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	path, errno := c.path(pathArg)
	if errno != 0 {
		return 0, errno
	}
	if path == "" {
		if flags&atEmptyPath == 0 {
			return 0, unix.ENOENT
		}
		// fexecve: the kernel runs exactly the file the fd refers to.
		nfd, m, _, e := fdMount(c, dirfd)
		if e != 0 {
			return 0, e
		}
		defer unix.Close(nfd)
		if c.s.cfg.ExecAllowed != nil {
			host, _ := os.Readlink("/proc/self/fd/" + itoa(nfd))
			guest, _ := c.s.fs.GuestPathOf(host)
			if m == nil || guest == "" || !c.s.cfg.ExecAllowed(guest) {
				return c.deny(unix.EACCES, "fexecve of a file outside the policy's exec.allow")
			}
			// A #! script run through an fd is read again by its
			// interpreter from /dev/fd/N, whatever the fd names by then,
			// and the image the post-exec check sees is the interpreter:
			// only an interpreter the policy allows itself may run it.
			names, _, image := execImage(nfd, c.Task.Tid)
			if image >= 0 {
				unix.Close(image)
			}
			for _, interp := range names {
				if !c.s.cfg.ExecAllowed(interp) {
					return c.deny(unix.EACCES, "fexecve of a script whose interpreter "+interp+" is not in the policy's exec.allow")
				}
			}
		}
		if err := unix.Faccessat2(nfd, "", unix.X_OK, atEmptyPath|unix.AT_EACCESS); err != nil {
			return 0, err.(unix.Errno)
		}
		ids, errno := c.bookImage(nfd)
		if errno != 0 {
			return 0, errno
		}
		// The kernel runs what the guest's fd names when it gets there: a
		// thread may dup2 another file over it after this check. The
		// post-exec check holds the process to the file checked here.
		var want unix.Stat_t
		if err := unix.Fstat(nfd, &want); err != nil {
			return 0, err.(unix.Errno)
		}
		c.setExecCheck(append([]fileID{{want.Dev, want.Ino}}, ids...))
		return c.Continue()
	}
	ctx, rel, errno := c.ctxAt(dirfd, path)
	if errno != 0 {
		return 0, errno
	}
	defer rel()
	guest, hostfd, errno := c.s.fs.ExecTarget(ctx, path)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(hostfd)
	if c.s.cfg.ExecAllowed != nil && !c.s.cfg.ExecAllowed(guest) {
		return c.deny(unix.EACCES, guest+" is not in the policy's exec.allow")
	}
	var want, got unix.Stat_t
	if err := unix.Fstat(hostfd, &want); err != nil {
		return 0, err.(unix.Errno)
	}
	kfd, errno := c.kernelTarget(dirfd, path)
	if errno == 0 {
		if unix.Fstat(kfd, &got) != nil {
			errno = unix.EACCES
		}
		unix.Close(kfd)
	}
	if errno != 0 || got.Dev != want.Dev || got.Ino != want.Ino {
		c.s.log.WithField("path", guest).Warn("exec refused: the kernel would run a different file than the guest's view names (programs in the private /tmp run only with a mount namespace, see docs/threat-model.md)")
		return 0, unix.EACCES
	}
	// The fd table is not touched: the exec may still fail (and then keeps
	// every fd); entries of fds a successful exec closed fail their kcmp
	// check at next use and are dropped then.
	ids, errno := c.bookImage(hostfd)
	if errno != 0 {
		return 0, errno
	}
	c.setExecCheck(append([]fileID{{want.Dev, want.Ino}}, ids...))
	return c.Continue()
}

// kernelTarget opens (O_PATH) what the kernel will resolve path to for
// the caller's execve: from its own root (its mount namespace, when the
// init stage made one), cwd or dirfd. EACCES when it cannot be opened.
func (c *Call) kernelTarget(dirfd int, path string) (int, unix.Errno) {
	var kdir int
	var err error
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC}
	switch {
	case path != "" && path[0] == '/':
		kdir, err = unix.Open("/proc/"+strconv.Itoa(c.Task.Tid)+"/root", unix.O_PATH|unix.O_CLOEXEC, 0)
		how.Resolve = unix.RESOLVE_IN_ROOT
	case dirfd == atFDCWD:
		kdir, err = unix.Open("/proc/"+strconv.Itoa(c.Task.Tid)+"/cwd", unix.O_PATH|unix.O_CLOEXEC, 0)
	default:
		kdir, err = unix.PidfdGetfd(c.Task.pidfd, dirfd, 0)
	}
	if err != nil {
		return -1, unix.EACCES
	}
	defer unix.Close(kdir)
	kfd, err := unix.Openat2(kdir, path, &how)
	if err != nil {
		return -1, unix.EACCES
	}
	return kfd, 0
}

// parseShebang reads a #! line as the kernel's binfmt_script does: the
// interpreter starts after spaces and tabs and ends at a space, a tab, a
// NUL or the end of the line. script is false for a file that is not a
// script; interp is "" for a script the kernel refuses (ENOEXEC).
func parseShebang(buf []byte) (interp string, script bool) {
	if len(buf) < 2 || buf[0] != '#' || buf[1] != '!' {
		return "", false
	}
	line := buf[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimLeft(line, " \t")
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		line = line[:i]
	}
	return string(line), true
}

// setExecCheck arms the post-exec check (checkExec) for an exec the
// sentry continues: the image running at the next calls must be one of
// want, or the old one (the exec failed). Each thread's exec has its own
// check: two threads may exec at once, and either may win.
func (c *Call) setExecCheck(want []fileID) {
	chk := &execCheck{want: want, tid: c.Task.Tid}
	var old unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(c.Task.Tid)+"/exe", &old) != nil {
		return // the thread is gone: its exec will not happen
	}
	chk.old = fileID{old.Dev, old.Ino}
	p := c.Task.Proc
	p.execMu.Lock()
	p.execChecks = slices.DeleteFunc(p.execChecks, func(x *execCheck) bool { return x.tid == chk.tid })
	p.execChecks = append(p.execChecks, chk)
	p.execArmed.Store(true)
	p.execMu.Unlock()
	p.mem.Reset() // a successful exec brings a new address space
	// A thread killed meanwhile (another thread's exec won) makes no exec:
	// its check, armed after the winner's image cleared the others, would
	// kill that image.
	if !c.s.listener.IDValid(c.notif.ID) {
		p.execMu.Lock()
		p.execChecks = slices.DeleteFunc(p.execChecks, func(x *execCheck) bool { return x == chk })
		p.execArmed.Store(len(p.execChecks) > 0)
		p.execMu.Unlock()
	}
}

// bookImage reads the image an exec of fd will load (execImage) and books
// it against memory.total: ENOMEM when it does not fit. ids name the files
// the exec may end up running (interpreters, #! targets).
func (c *Call) bookImage(fd int) ([]fileID, unix.Errno) {
	_, ids, image := execImage(fd, c.Task.Tid)
	refused := c.execRefused(image)
	if image >= 0 {
		unix.Close(image)
	}
	if refused {
		return nil, unix.ENOMEM
	}
	return ids, 0
}

// checkExec runs at a process's routed calls after an execve: the image
// running must be one the sentry checked (or the old one, if the exec
// failed). Landlock bounds what a racing thread could make the kernel run;
// this catches what gets through where Landlock is missing, and an
// execveat of an fd a thread swapped after the check (which Landlock does
// not see). It runs before execve too: a swapped-in program whose first
// routed call is another execve is caught there.
//
// A checked image clears every check (the exec is done). The old image
// decides only for the threads whose exec is known to be over: the caller
// itself (its exec failed), or a thread that no longer exists (it exited,
// or its exec replaced the image with the same binary); another thread's
// call while an exec is under way sees the old image and decides nothing.
func (s *Sentry) checkExec(t *Task, id uint64) bool {
	p := t.Proc
	var st unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(p.Tgid)+"/exe", &st) != nil {
		return true // gone
	}
	got := fileID{st.Dev, st.Ino}
	p.execMu.Lock()
	defer p.execMu.Unlock()
	if len(p.execChecks) == 0 {
		return true
	}
	for _, chk := range p.execChecks {
		if slices.Contains(chk.want, got) {
			p.execChecks = nil
			p.execArmed.Store(false)
			p.mem.Reset()
			return true
		}
	}
	old := false
	p.execChecks = slices.DeleteFunc(p.execChecks, func(chk *execCheck) bool {
		if got != chk.old {
			return false
		}
		old = true
		// A thread gone counts only if the caller is still blocked in
		// its call afterwards: de_thread kills every other thread before
		// the exec'ing one takes the leader's id, so a pending call of a
		// live caller proves the exec did not (yet) replace the image.
		return chk.tid == t.Tid || unix.Tgkill(p.Tgid, chk.tid, 0) == unix.ESRCH && s.listener.IDValid(id)
	})
	p.execArmed.Store(len(p.execChecks) > 0)
	if old {
		return true
	}
	s.log.WithField("pid", p.Tgid).Error("killed: the program running is not the one execve was checked for (path or fd swapped during exec)")
	// Through the caller's own pidfd (held for this call): SIGKILL to a
	// thread takes the whole process.
	unix.PidfdSendSignal(t.pidfd, unix.SIGKILL, nil, 0)
	return false
}

func sysExecve(c *Call) (int64, unix.Errno)   { return exec(c, atFDCWD, 0, 0) }
func sysExecveat(c *Call) (int64, unix.Errno) { return exec(c, c.Int(0), 1, c.Int(4)) }

// member tells whether pid (process or thread) is in the sandbox: known, or
// a thread or fresh child of a known process that made no routed call yet.
func (s *Sentry) member(pid int) bool {
	if pid <= 0 {
		return false
	}
	if s.inSandbox(pid) {
		return true
	}
	tgid, ppid, err := taskIDs(pid)
	if err != nil {
		return false
	}
	return s.inSandbox(tgid) || s.inSandbox(ppid)
}

// signalGroup sends sig to the sandbox's own members of process group pgid
// (all members but the caller when pgid is -1), never to processes
// outside. Every process of the sandbox counts, also one that made no
// routed call yet (a job just forked into its group, which a shell's kill
// %1 races with, or an orphan the watchdog adopted): the watchdog's
// descendants, else the task table. Each is pinned by a pidfd and then
// checked to be a descendant still, so a number reused meanwhile by a
// process outside is never signalled. The signals go out before the reply,
// in the caller's order with its next ones (a SIGSTOP then SIGCONT to a
// group must not arrive the other way round); the caller's own process
// first, as POSIX wants it delivered before kill returns.
func (s *Sentry) signalGroup(c *Call, pgid int, sig unix.Signal) (int64, unix.Errno) {
	caller := c.Task.Proc.Tgid
	pids := s.descendants()
	inTree := map[int]bool{s.watchdog: true}
	for _, pid := range pids {
		inTree[pid] = true
	}
	if pids == nil {
		pids = s.processes()
	}
	// The caller first.
	sort.SliceStable(pids, func(i, j int) bool { return pids[i] == caller && pids[j] != caller })
	found := false
	for _, pid := range pids {
		if pgid == -1 && pid == caller {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		ok := s.inSandbox(pid)
		if !ok && s.watchdog > 0 {
			_, ppid, err := taskIDs(pid)
			ok = err == nil && inTree[ppid]
		}
		if ok {
			if g, err := unix.Getpgid(pid); pgid == -1 || err == nil && g == pgid {
				found = true
				if sig != 0 {
					unix.PidfdSendSignal(fd, sig, nil, 0)
				}
			}
		}
		unix.Close(fd)
	}
	if !found {
		return 0, unix.ESRCH
	}
	return 0, 0
}

func sysKill(c *Call) (int64, unix.Errno) {
	pid, sig := c.Int(0), unix.Signal(c.Int(1))
	if sig < 0 || sig > 64 {
		return 0, unix.EINVAL
	}
	switch {
	case pid > 0:
		if !c.s.member(pid) {
			return 0, unix.ESRCH
		}
		return c.Continue()
	case pid == 0:
		g, err := unix.Getpgid(c.Task.Proc.Tgid)
		if err != nil {
			return 0, unix.ESRCH
		}
		return c.s.signalGroup(c, g, sig)
	case pid == -1:
		return c.s.signalGroup(c, -1, sig)
	default:
		return c.s.signalGroup(c, -pid, sig)
	}
}

// sandboxTasks lets a call run when every argument named (by index) is a
// task of the sandbox; anything else is ESRCH, as if absent.
func sandboxTasks(c *Call, args ...int) (int64, unix.Errno) {
	for _, i := range args {
		if !c.s.member(c.Int(i)) {
			return 0, unix.ESRCH
		}
	}
	return c.Continue()
}

func sysTkill(c *Call) (int64, unix.Errno)  { return sandboxTasks(c, 0) }
func sysTgkill(c *Call) (int64, unix.Errno) { return sandboxTasks(c, 0, 1) }

// ownTask lets a call that names a task by pid or tid run when that task
// is the caller (0) or in the sandbox. A negative pid names no task and is
// left to the kernel's own EINVAL or ESRCH.
func ownTask(c *Call, pid int) (int64, unix.Errno) {
	if pid > 0 && !c.s.member(pid) {
		return 0, unix.ESRCH
	}
	return c.Continue()
}

func sysPrlimit64(c *Call) (int64, unix.Errno) { return ownTask(c, c.Int(0)) }

// sysSchedTask covers the sched_set*/sched_getattr/sched_rr_get_interval
// calls, which all name their task first.
func sysSchedTask(c *Call) (int64, unix.Errno) { return ownTask(c, c.Int(0)) }

// sysSetpriority renices sandbox tasks only. A process group or a user id
// can take in processes outside the sandbox, so those forms are refused.
func sysSetpriority(c *Call) (int64, unix.Errno) {
	switch c.Int(0) {
	case unix.PRIO_PROCESS:
		return ownTask(c, c.Int(1))
	case unix.PRIO_PGRP, unix.PRIO_USER:
		return 0, unix.EPERM
	}
	return c.Continue() // EINVAL
}

// sysIoprioSet is sysSetpriority for I/O priorities.
func sysIoprioSet(c *Call) (int64, unix.Errno) {
	const whoProcess, whoPgrp, whoUser = 1, 2, 3
	switch c.Int(0) {
	case whoProcess:
		return ownTask(c, c.Int(1))
	case whoPgrp, whoUser:
		return 0, unix.EPERM
	}
	return c.Continue() // EINVAL
}

func sysSetrlimit(c *Call) (int64, unix.Errno) { return c.Continue() }

const prSetMM = 35

func sysPrctl(c *Call) (int64, unix.Errno) {
	switch c.Int(0) {
	case prSetMM:
		// Rewriting /proc/self/exe and friends is for checkpoint/restore
		// tools, not sandboxed programs.
		return 0, unix.EPERM
	}
	return c.Continue()
}

// pidfd_open of a process outside the sandbox gives ESRCH, as if absent.
func sysPidfdOpen(c *Call) (int64, unix.Errno) { return sandboxTasks(c, 0) }

// rt_sigqueueinfo(tgid, sig, info): the target decides; the siginfo in
// memory is the kernel's to read (it carries no address to check).
func sysRtSigqueueinfo(c *Call) (int64, unix.Errno)   { return sandboxTasks(c, 0) }
func sysRtTgsigqueueinfo(c *Call) (int64, unix.Errno) { return sandboxTasks(c, 0, 1) }

// execImage follows the #! lines of a script (as the kernel does, up to
// its nesting limit) and returns the interpreters, as each file names
// them, and their identities (for a script the image that runs is its
// interpreter), and an open fd of the file the kernel will map (the last
// interpreter, or the file itself), or -1. A relative interpreter path is
// resolved, as the kernel does, from the task's cwd.
func execImage(fd, tid int) (names []string, ids []fileID, image int) {
	cur, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, -1
	}
	// The kernel follows four #! rewrites; the fifth file must be the
	// image.
	for depth := 0; ; depth++ {
		buf := make([]byte, 256)
		n, _ := unix.Pread(cur, buf, 0)
		interp, script := parseShebang(buf[:max(n, 0)])
		if !script {
			return names, ids, cur
		}
		unix.Close(cur)
		if interp == "" || depth == 4 {
			return names, ids, -1
		}
		var id fileID
		if cur, id = openInGuest(tid, interp); cur < 0 {
			return names, ids, -1
		}
		names, ids = append(names, interp), append(ids, id)
	}
}

// openInGuest opens for reading a regular file named as the kernel will
// name it for task tid (absolute: in its root; relative: from its cwd),
// without blocking and without side effects (not a FIFO or a device):
// the fd (or -1) and the file's identity.
func openInGuest(tid int, path string) (int, fileID) {
	base, how := "/cwd", unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC}
	if strings.HasPrefix(path, "/") {
		base, how.Resolve = "/root", unix.RESOLVE_IN_ROOT
	}
	dir, err := unix.Open("/proc/"+strconv.Itoa(tid)+base, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fileID{}
	}
	defer unix.Close(dir)
	pfd, err := unix.Openat2(dir, path, &how)
	if err != nil {
		return -1, fileID{}
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if unix.Fstat(pfd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return -1, fileID{}
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fileID{}
	}
	return fd, fileID{st.Dev, st.Ino}
}

// sysGetgroups reports the caller's supplementary groups as the host
// knows them (routed only in a user namespace, Options.RouteIDs, where the
// kernel would show groups outside its map as the overflow id).
func sysGetgroups(c *Call) (int64, unix.Errno) {
	size := c.Int(0)
	if size < 0 {
		return 0, unix.EINVAL
	}
	b, err := readProc("/proc/" + strconv.Itoa(c.Task.Tid) + "/status")
	if err != nil {
		return 0, unix.ESRCH
	}
	var gids []uint32
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, f := range strings.Fields(v) {
				g, _ := strconv.ParseUint(f, 10, 32)
				gids = append(gids, uint32(g))
			}
		}
	}
	if size == 0 {
		return int64(len(gids)), 0
	}
	if size < len(gids) {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 4*len(gids))
	for i, g := range gids {
		binary.LittleEndian.PutUint32(buf[4*i:], g)
	}
	if errno := c.Mem().CopyOut(c.Arg(1), buf); errno != 0 {
		return 0, errno
	}
	return int64(len(gids)), 0
}

// sysSetuid and sysSetgid cover set{,re,res}[ug]id in a user namespace
// (Options.RouteIDs), where the kernel refuses an id outside the map with
// EINVAL. The guest holds no capability, so natively only its own ids
// (the sandbox's: no exec changes them under no_new_privs) are allowed and
// any other gives EPERM: that answer is given here; the rest continues.
func sysSetuid(c *Call) (int64, unix.Errno) { return setIDs(c, uint32(os.Getuid())) }
func sysSetgid(c *Call) (int64, unix.Errno) { return setIDs(c, uint32(os.Getgid())) }

func setIDs(c *Call, own uint32) (int64, unix.Errno) {
	n := 3 // setres*id
	switch int(c.notif.Data.Nr) {
	case unix.SYS_SETUID, unix.SYS_SETGID:
		n = 1
	case unix.SYS_SETREUID, unix.SYS_SETREGID:
		n = 2
	}
	for i := 0; i < n; i++ {
		id := uint32(c.Arg(i))
		if id == own || id == ^uint32(0) && n > 1 {
			continue // -1 keeps an id (set{re,res}*id); setuid(-1) is EINVAL
		}
		if id == ^uint32(0) {
			return c.Continue()
		}
		return 0, unix.EPERM
	}
	return c.Continue()
}
