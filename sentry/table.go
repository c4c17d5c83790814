package sentry

import (
	"sort"

	"golang.org/x/sys/unix"

	"sandbox/mm"
	"sandbox/seccomp"
)

// Handler performs one emulated syscall.
type Handler func(c *Call) (int64, unix.Errno)

// handlers maps every emulated syscall to its handler. It is never mutated.
var handlers = map[int]Handler{
	// sys_file.go
	unix.SYS_OPEN: sysOpen, unix.SYS_OPENAT: sysOpenat, unix.SYS_OPENAT2: sysOpenat2,
	unix.SYS_CREAT: sysCreat,
	unix.SYS_DUP:   sysDup, unix.SYS_DUP2: sysDup2, unix.SYS_DUP3: sysDup3,
	unix.SYS_FCNTL: sysFcntl, unix.SYS_PIPE: sysPipe, unix.SYS_PIPE2: sysPipe2,
	unix.SYS_IOCTL: sysIoctl, unix.SYS_SECCOMP: sysSeccomp, unix.SYS_UNAME: sysUname,
	// sys_mmap.go (routed only with Options.DenyWX or Options.Memory)
	unix.SYS_MMAP: sysMmap, unix.SYS_MPROTECT: sysMprotect, unix.SYS_PKEY_MPROTECT: sysMprotect,
	// sys_mem.go (routed only with Options.Memory)
	unix.SYS_BRK: sysBrk, unix.SYS_MREMAP: sysMremap,
	// routed only with Options.RouteIDs
	unix.SYS_FSTAT: sysFstat, unix.SYS_GETGROUPS: sysGetgroups,
	unix.SYS_SETUID: sysSetuid, unix.SYS_SETREUID: sysSetuid, unix.SYS_SETRESUID: sysSetuid,
	unix.SYS_SETGID: sysSetgid, unix.SYS_SETREGID: sysSetgid, unix.SYS_SETRESGID: sysSetgid,
	// sys_dir.go
	unix.SYS_GETDENTS64: sysGetdents64, unix.SYS_GETDENTS: sysGetdents, // routed only with Options.HideNamesInListings
	// sys_stat.go
	unix.SYS_STAT: sysStat, unix.SYS_LSTAT: sysLstat, unix.SYS_NEWFSTATAT: sysNewfstatat,
	unix.SYS_STATX: sysStatx, unix.SYS_ACCESS: sysAccess, unix.SYS_FACCESSAT: sysFaccessat,
	unix.SYS_FACCESSAT2: sysFaccessat2, unix.SYS_READLINK: sysReadlink,
	unix.SYS_READLINKAT: sysReadlinkat, unix.SYS_STATFS: sysStatfs,
	unix.SYS_GETXATTR: sysGetxattr, unix.SYS_LGETXATTR: sysLgetxattr,
	unix.SYS_LISTXATTR: sysListxattr, unix.SYS_LLISTXATTR: sysLlistxattr,
	// sys_path.go
	unix.SYS_MKDIR: sysMkdir, unix.SYS_MKDIRAT: sysMkdirat, unix.SYS_UNLINK: sysUnlink,
	unix.SYS_UNLINKAT: sysUnlinkat, unix.SYS_RMDIR: sysRmdir, unix.SYS_RENAME: sysRename,
	unix.SYS_RENAMEAT: sysRenameat, unix.SYS_RENAMEAT2: sysRenameat2, unix.SYS_LINK: sysLink,
	unix.SYS_LINKAT: sysLinkat, unix.SYS_SYMLINK: sysSymlink, unix.SYS_SYMLINKAT: sysSymlinkat,
	unix.SYS_CHMOD: sysChmod, unix.SYS_FCHMODAT: sysFchmodat, unix.SYS_FCHMODAT2: sysFchmodat2,
	unix.SYS_CHOWN: sysChown, unix.SYS_LCHOWN: sysLchown, unix.SYS_FCHOWNAT: sysFchownat,
	unix.SYS_TRUNCATE: sysTruncate, unix.SYS_UTIMENSAT: sysUtimensat,
	unix.SYS_UTIMES: sysUtimes, unix.SYS_UTIME: sysUtime, unix.SYS_MKNOD: sysMknod,
	unix.SYS_MKNODAT: sysMknodat,
	// sys_fdattr.go
	unix.SYS_FCHMOD: sysFchmod, unix.SYS_FCHOWN: sysFchown,
	unix.SYS_FSETXATTR: sysFsetxattr, unix.SYS_FREMOVEXATTR: sysFremovexattr,
	unix.SYS_SETXATTR: sysSetxattr, unix.SYS_LSETXATTR: sysLsetxattr,
	unix.SYS_REMOVEXATTR: sysRemovexattr, unix.SYS_LREMOVEXATTR: sysLremovexattr,
	// sys_fs.go
	unix.SYS_GETCWD: sysGetcwd, unix.SYS_CHDIR: sysChdir, unix.SYS_FCHDIR: sysFchdir,
	unix.SYS_UMASK: sysUmask, unix.SYS_INOTIFY_ADD_WATCH: sysInotifyAddWatch,
	// sys_proc.go
	unix.SYS_CLONE: sysClone, unix.SYS_FORK: sysFork, unix.SYS_VFORK: sysVfork,
	unix.SYS_EXECVE: sysExecve, unix.SYS_EXECVEAT: sysExecveat,
	unix.SYS_KILL: sysKill, unix.SYS_TKILL: sysTkill, unix.SYS_TGKILL: sysTgkill,
	unix.SYS_PRLIMIT64: sysPrlimit64, unix.SYS_SETRLIMIT: sysSetrlimit,
	unix.SYS_PRCTL: sysPrctl, unix.SYS_PIDFD_OPEN: sysPidfdOpen,
	unix.SYS_RT_SIGQUEUEINFO: sysRtSigqueueinfo, unix.SYS_RT_TGSIGQUEUEINFO: sysRtTgsigqueueinfo,
	unix.SYS_SETPRIORITY: sysSetpriority, unix.SYS_IOPRIO_SET: sysIoprioSet,
	unix.SYS_SCHED_SETAFFINITY: sysSchedTask, unix.SYS_SCHED_SETPARAM: sysSchedTask,
	unix.SYS_SCHED_SETSCHEDULER: sysSchedTask, unix.SYS_SCHED_SETATTR: sysSchedTask,
	unix.SYS_SCHED_GETATTR: sysSchedTask, unix.SYS_SCHED_RR_GET_INTERVAL: sysSchedTask,
	// sys_socket.go
	unix.SYS_SOCKET: sysSocket, unix.SYS_CONNECT: sysConnect, unix.SYS_BIND: sysBind,
	unix.SYS_SENDTO: sysSendto, unix.SYS_SENDMSG: sysSendmsg, unix.SYS_SENDMMSG: sysSendmmsg,
	// register-only fd creators: continued, booked lazily (see fdtable).
	unix.SYS_EPOLL_CREATE: sysContinue, unix.SYS_EPOLL_CREATE1: sysContinue,
	unix.SYS_EVENTFD: sysContinue, unix.SYS_EVENTFD2: sysContinue,
	unix.SYS_TIMERFD_CREATE: sysContinue, unix.SYS_SIGNALFD: sysContinue,
	unix.SYS_SIGNALFD4: sysContinue, unix.SYS_INOTIFY_INIT: sysContinue,
	unix.SYS_INOTIFY_INIT1: sysContinue, unix.SYS_MEMFD_CREATE: sysMemfdCreate,
}

// conditional lists syscalls that are passed except for the arguments
// named here, for which they are routed (seccomp.Program explains how).
var conditional = map[int][]seccomp.Cond{
	// A guest filter with its own listener would outrank ours for every
	// routed call (the newest filter's notifier wins a tie) and could
	// CONTINUE them past the sentry. Filters without a listener only
	// restrict further, so they pass.
	unix.SYS_SECCOMP: {{Arg: 1, Mask: seccomp.FilterFlagNewListener, Value: seccomp.FilterFlagNewListener}},
	// fcntl is hot (find: 5 per directory); only the dups are booked.
	unix.SYS_FCNTL: nil, // see fcntlConds
	// sendto without an address needs no decision.
	unix.SYS_SENDTO: {{Arg: 4, Mask: ^uint64(0), Value: 0, Ne: true}},
	// Calls naming a task need a decision only for another task than the
	// caller (pid 0). The kernel reads the pid as a 32-bit int; a register
	// with only high bits set is routed, and the handler sees pid 0.
	// glibc's start-up asks prlimit64(0, ...) in every new program.
	unix.SYS_PRLIMIT64:             selfTask,
	unix.SYS_SCHED_SETAFFINITY:     selfTask,
	unix.SYS_SCHED_SETPARAM:        selfTask,
	unix.SYS_SCHED_SETSCHEDULER:    selfTask,
	unix.SYS_SCHED_SETATTR:         selfTask,
	unix.SYS_SCHED_GETATTR:         selfTask,
	unix.SYS_SCHED_RR_GET_INTERVAL: selfTask,
}

// selfTask routes a call whose first argument (a pid) is not 0.
var selfTask = []seccomp.Cond{{Arg: 0, Mask: ^uint64(0), Value: 0, Ne: true}}

var fcntlConds = [][]seccomp.Cond{
	{{Arg: 1, Mask: 0xffffffff, Value: unix.F_DUPFD}},
	{{Arg: 1, Mask: 0xffffffff, Value: unix.F_DUPFD_CLOEXEC}},
	// F_SETOWN(_EX) aims SIGIO at a pid or group: checked like kill.
	{{Arg: 1, Mask: 0xffffffff, Value: unix.F_SETOWN}},
	{{Arg: 1, Mask: 0xffffffff, Value: unix.F_SETOWN_EX}},
}

func handlerFor(nr int) Handler { return handlers[nr] }

// Name returns the name of syscall nr, or "" for a number unknown to the
// table.
func Name(nr int) string { return sysNames[nr] }

// sysContinue lets the kernel run a call whose decision needs no guest
// memory.
func sysContinue(c *Call) (int64, unix.Errno) { return c.Continue() }

// Options changes the routing for one sandbox.
type Options struct {
	// HideNamesInListings routes getdents so that hidden paths are
	// absent from directory listings too (every listing then costs a
	// round trip). Off, hidden names still show in a listing of their
	// directory but cannot be opened or stat'ed, like masked paths in
	// container runtimes.
	HideNamesInListings bool
	// DenyWX refuses writable+executable memory and making written memory
	// executable; mmap/mprotect are then routed when they ask for
	// PROT_EXEC.
	DenyWX bool
	// ExecFromReadOnly routes mmap with PROT_EXEC so that executable file
	// mappings can be limited to read-only mounts.
	ExecFromReadOnly bool
	// TraceAll routes every syscall the guest may make, the pass list too
	// (each is simply continued), so that --trace=all sees everything.
	TraceAll bool
	// Uname routes uname(2) so that the sentry can report the policy's
	// host name.
	Uname bool
	// Memory routes every mmap, mremap and brk, for the memory limits
	// (Config.MemoryTotal, Config.WatchAddressSpace).
	Memory bool
	// RouteIDs routes fstat and getgroups, whose answers the kernel would
	// give in the guest's user namespace (ids of other users as the
	// overflow id), so that the sentry answers with the host's ids.
	RouteIDs bool
	// IPC passes System V IPC and POSIX message queues. Only for a guest in
	// an IPC namespace of its own (the init stage makes one or fails):
	// otherwise they would reach the host's objects, so they are refused.
	IPC bool
	// NoSharedMemory refuses System V shared memory even with IPC:
	// shmat maps memory no routed call would count (memory.total).
	NoSharedMemory bool
}

// shmCalls are the System V shared memory calls among ipcCalls.
var shmCalls = map[int]bool{unix.SYS_SHMGET: true, unix.SYS_SHMAT: true, unix.SYS_SHMDT: true, unix.SYS_SHMCTL: true}

// ipcCalls pass only with Options.IPC (EPERM otherwise).
var ipcCalls = map[int]bool{
	unix.SYS_SHMGET: true, unix.SYS_SHMAT: true, unix.SYS_SHMDT: true, unix.SYS_SHMCTL: true,
	unix.SYS_SEMGET: true, unix.SYS_SEMOP: true, unix.SYS_SEMTIMEDOP: true, unix.SYS_SEMCTL: true,
	unix.SYS_MSGGET: true, unix.SYS_MSGSND: true, unix.SYS_MSGRCV: true, unix.SYS_MSGCTL: true,
	unix.SYS_MQ_OPEN: true, unix.SYS_MQ_UNLINK: true, unix.SYS_MQ_TIMEDSEND: true,
	unix.SYS_MQ_TIMEDRECEIVE: true, unix.SYS_MQ_NOTIFY: true, unix.SYS_MQ_GETSETATTR: true,
}

// idCalls are routed only with Options.RouteIDs.
var idCalls = map[int]bool{unix.SYS_FSTAT: true, unix.SYS_GETGROUPS: true,
	unix.SYS_SETUID: true, unix.SYS_SETREUID: true, unix.SYS_SETRESUID: true,
	unix.SYS_SETGID: true, unix.SYS_SETREGID: true, unix.SYS_SETRESGID: true}

// memCalls are routed, all of them, only with Options.Memory.
var memCalls = map[int]bool{unix.SYS_MMAP: true, unix.SYS_MREMAP: true, unix.SYS_BRK: true}

// wxCalls are routed (when asking for PROT_EXEC) only with Options.DenyWX,
// by the index of their prot argument.
var wxCalls = map[int]uint{unix.SYS_MMAP: 2, unix.SYS_MPROTECT: 2, unix.SYS_PKEY_MPROTECT: 2}

// listingCalls are routed only with Options.HideNamesInListings.
var listingCalls = map[int]bool{unix.SYS_GETDENTS64: true, unix.SYS_GETDENTS: true}

// sysUname reports the policy's host name (routed only when one is set).
func sysUname(c *Call) (int64, unix.Errno) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, err.(unix.Errno)
	}
	if h := c.s.cfg.Hostname; h != "" {
		u.Nodename = [65]byte{}
		copy(u.Nodename[:64], h)
	}
	return 0, mm.CopyOutStruct(c.Mem(), c.Arg(0), &u)
}

// FilterSpec returns the routing of every syscall: emulated when the table
// has a handler, passed when on the pass list, denied otherwise (EPERM for
// known numbers, ENOSYS for unknown ones and those on the ENOSYS list).
func FilterSpec(opts Options) seccomp.Spec {
	pass := map[int]bool{}
	for _, nr := range passList {
		pass[nr] = true
	}
	nrs := make([]int, 0, len(sysNames))
	for nr := range sysNames {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	spec := seccomp.Spec{DefaultErrno: unix.ENOSYS}
	for _, nr := range nrs {
		switch {
		case denyList[nr] != 0:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Deny, Errno: denyList[nr]})
		case ipcCalls[nr] && (!opts.IPC || shmCalls[nr] && opts.NoSharedMemory):
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Deny, Errno: unix.EPERM})
		case ipcCalls[nr] && opts.TraceAll:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case ipcCalls[nr]:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case idCalls[nr] && opts.RouteIDs:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case idCalls[nr] && !opts.TraceAll:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case memCalls[nr] && opts.Memory:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case memCalls[nr] && nr != unix.SYS_MMAP && !opts.TraceAll:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case opts.TraceAll && (wxCalls[nr] != 0 || listingCalls[nr] || nr == unix.SYS_FCNTL || conditional[nr] != nil):
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case nr == unix.SYS_UNAME && !opts.Uname && !opts.TraceAll:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case wxCalls[nr] != 0 && !opts.DenyWX && !(opts.ExecFromReadOnly && nr == unix.SYS_MMAP):
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case wxCalls[nr] != 0:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate, Conds: wxConds(wxCalls[nr])},
				seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case listingCalls[nr] && !opts.HideNamesInListings:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case nr == unix.SYS_FCNTL:
			for _, c := range fcntlConds {
				spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate, Conds: c})
			}
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case conditional[nr] != nil:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate, Conds: conditional[nr]},
				seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		case handlers[nr] != nil:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case nr == unix.SYS_UNAME && opts.Uname:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case pass[nr] && opts.TraceAll:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Emulate})
		case pass[nr]:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Pass})
		default:
			spec.Rules = append(spec.Rules, seccomp.Rule{Nr: nr, Class: seccomp.Deny, Errno: unix.EPERM})
		}
	}
	return spec
}
