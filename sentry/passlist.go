package sentry

import "golang.org/x/sys/unix"

// passList is every syscall the host kernel runs directly. Each touches only
// the caller's own memory, threads, or fds the sentry already vetted, so no
// decision is needed; none names a path or reaches another process. The
// rules are argument-free so the kernel's seccomp action cache skips BPF for
// them. Audit every addition here.
var passList = []int{
	// I/O on fds the guest already holds.
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
	unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_PREADV, unix.SYS_PWRITEV,
	unix.SYS_PREADV2, unix.SYS_PWRITEV2, unix.SYS_LSEEK, // fstat: idCalls
	unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNCFS,
	// sync only flushes; Linux's never fails.
	unix.SYS_SYNC,
	unix.SYS_SYNC_FILE_RANGE, unix.SYS_FTRUNCATE, unix.SYS_FALLOCATE,
	unix.SYS_FADVISE64, unix.SYS_READAHEAD, unix.SYS_FLOCK, unix.SYS_FSTATFS,
	unix.SYS_FGETXATTR, unix.SYS_FLISTXATTR, unix.SYS_SENDFILE,
	// close needs no booking: fdtable entries are confirmed with kcmp
	// before use, so a closed fd's entry is dropped when next looked at.
	unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE,
	unix.SYS_SPLICE, unix.SYS_TEE, unix.SYS_VMSPLICE, unix.SYS_COPY_FILE_RANGE,
	unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6,
	unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2,
	unix.SYS_EPOLL_CTL,
	// Sockets the guest already holds (creation, naming and addressed sends
	// are routed).
	unix.SYS_RECVFROM, unix.SYS_RECVMSG, unix.SYS_RECVMMSG, unix.SYS_SHUTDOWN,
	unix.SYS_LISTEN, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
	unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT, unix.SYS_SOCKETPAIR,
	unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_TIMERFD_SETTIME,
	unix.SYS_TIMERFD_GETTIME, unix.SYS_INOTIFY_RM_WATCH,
	// Memory of its own (file-backed mappings use fds the guest holds;
	// brk and mremap pass too unless the memory limits route them, see
	// memCalls).
	unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_MSYNC, unix.SYS_MINCORE,
	unix.SYS_MLOCK, unix.SYS_MUNLOCK, unix.SYS_MLOCK2, unix.SYS_MEMBARRIER,
	unix.SYS_MLOCKALL, unix.SYS_MUNLOCKALL, // bounded by RLIMIT_MEMLOCK
	unix.SYS_PKEY_ALLOC, unix.SYS_PKEY_FREE,
	// mmap, mprotect and pkey_mprotect pass too unless the policy denies
	// W^X violations (see FilterSpec and sys_mmap.go).
	// Threads and signals of its own.
	unix.SYS_FUTEX, unix.SYS_FUTEX_WAITV, unix.SYS_SET_ROBUST_LIST,
	unix.SYS_GET_ROBUST_LIST, unix.SYS_RSEQ, unix.SYS_SET_TID_ADDRESS,
	unix.SYS_ARCH_PRCTL, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK,
	unix.SYS_RT_SIGRETURN, unix.SYS_RT_SIGPENDING, unix.SYS_RT_SIGTIMEDWAIT,
	unix.SYS_RT_SIGSUSPEND, unix.SYS_SIGALTSTACK, unix.SYS_PAUSE,
	unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY, unix.SYS_EXIT,
	unix.SYS_EXIT_GROUP, unix.SYS_WAIT4, unix.SYS_WAITID, unix.SYS_RESTART_SYSCALL,
	// Time.
	unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME,
	unix.SYS_CLOCK_GETRES, unix.SYS_GETTIMEOFDAY, unix.SYS_TIME, unix.SYS_TIMES,
	unix.SYS_ALARM, unix.SYS_GETITIMER, unix.SYS_SETITIMER,
	unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_GETTIME,
	unix.SYS_TIMER_GETOVERRUN, unix.SYS_TIMER_DELETE,
	// Identity queries about itself.
	unix.SYS_GETPID, unix.SYS_GETPPID, unix.SYS_GETTID, unix.SYS_GETUID,
	unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID, // getgroups: idCalls
	unix.SYS_GETRESUID, unix.SYS_GETRESGID, unix.SYS_GETPGRP, unix.SYS_GETPGID,
	unix.SYS_GETSID, unix.SYS_GETRLIMIT, unix.SYS_GETRUSAGE, unix.SYS_SYSINFO,
	unix.SYS_GETCPU, unix.SYS_GETRANDOM, unix.SYS_CAPGET,
	// uname passes too unless the policy names a host (table.go).
	unix.SYS_PERSONALITY, unix.SYS_SCHED_GETPARAM, unix.SYS_SCHED_GETSCHEDULER,
	unix.SYS_SCHED_GET_PRIORITY_MAX, unix.SYS_SCHED_GET_PRIORITY_MIN,
	unix.SYS_GETPRIORITY, unix.SYS_IOPRIO_GET,
	// Process-group calls act only on the caller's own session; the kernel
	// refuses other sessions.
	unix.SYS_SETPGID, unix.SYS_SETSID,
	// Every pidfd a guest can hold names a sandbox process: pidfd_open is
	// checked, CLONE_PIDFD gives its own children's.
	unix.SYS_PIDFD_SEND_SIGNAL,
	// Identity: the guest holds no capability (the init stage drops them
	// all), so these can only permute its own real/effective/saved ids, and
	// capset can only drop.
	// setuid and friends: idCalls.
	unix.SYS_SETFSUID, unix.SYS_SETFSGID,
	unix.SYS_SETGROUPS, unix.SYS_CAPSET,
}

// denyList gives a specific errno to calls no guest may make. Everything
// not named anywhere gets EPERM (known) or ENOSYS (unknown).
var denyList = map[int]unix.Errno{
	// io_uring submissions never pass through seccomp.
	unix.SYS_IO_URING_SETUP: unix.ENOSYS, unix.SYS_IO_URING_ENTER: unix.ENOSYS,
	unix.SYS_IO_URING_REGISTER: unix.ENOSYS,
	// clone3 hides its flags in memory; libc falls back to clone.
	unix.SYS_CLONE3: unix.ENOSYS,
	// The *xattrat calls (Linux 6.13) hide their path walk flags and value
	// in a struct; ENOSYS makes libc fall back to the calls handled above.
	unix.SYS_SETXATTRAT: unix.ENOSYS, unix.SYS_GETXATTRAT: unix.ENOSYS,
	unix.SYS_LISTXATTRAT: unix.ENOSYS, unix.SYS_REMOVEXATTRAT: unix.ENOSYS,
}
