package sentry

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/seccomp"
)

// W^X (policy memory.wx: deny). Anonymous memory stays native: only calls
// asking for PROT_EXEC are routed (an argument condition in the notify
// filter), so the common mmap/mprotect cost nothing. The decisions use
// registers and the guest's own mappings, so the kernel may then run the
// call.

func wxConds(protArg uint) []seccomp.Cond {
	return []seccomp.Cond{{Arg: protArg, Mask: unix.PROT_EXEC, Value: unix.PROT_EXEC}}
}

// sysMmap refuses mappings both writable and executable (memory.wx:
// deny) and, with memory.exec_mappings: readonly, executable mappings of
// files the guest could have written (outside read-only mounts).
func sysMmap(c *Call) (int64, unix.Errno) {
	prot, flags := c.Arg(2), c.Arg(3)
	if c.s.cfg.DenyWX && prot&unix.PROT_WRITE != 0 && prot&unix.PROT_EXEC != 0 {
		return c.deny(unix.EACCES, "writable and executable memory (memory.wx: deny)")
	}
	if c.s.cfg.ExecFromReadOnly && prot&unix.PROT_EXEC != 0 && flags&unix.MAP_ANONYMOUS == 0 {
		// The fd is taken once and its mount decided on that copy; a racing
		// dup2 could make the kernel map another fd the guest holds (which
		// it opened through the sentry, from its own view).
		fd, m, _, errno := fdMount(c, c.Int(4))
		if errno != 0 {
			return 0, errno
		}
		unix.Close(fd)
		if m == nil || !m.ReadOnly {
			return c.deny(unix.EACCES, "executable mapping of a file outside read-only mounts (memory.exec_mappings: readonly)")
		}
	}
	if c.memRefused(mmapGrowth(c)) {
		return 0, unix.ENOMEM
	}
	return c.Continue()
}

// sysMprotect refuses making executable what is, or was, writable: a
// writable mapping, anonymous memory, or a file mapping with private
// (copied-on-write) pages - the JIT pattern of writing code and then
// flipping it to executable.
func sysMprotect(c *Call) (int64, unix.Errno) {
	addr, length, prot := c.Arg(0), c.Arg(1), c.Arg(2)
	if !c.s.cfg.DenyWX {
		return c.Continue()
	}
	if prot&unix.PROT_WRITE != 0 && prot&unix.PROT_EXEC != 0 {
		return c.deny(unix.EACCES, "writable and executable memory (memory.wx: deny)")
	}
	if length == 0 {
		return c.Continue()
	}
	if wasWritable(c.Task.Proc.Tgid, addr, addr+length) {
		return c.deny(unix.EACCES, "making written memory executable (memory.wx: deny)")
	}
	return c.Continue()
}

// wasWritable reads the smaps entries overlapping [lo, hi): writable now,
// anonymous (no file), or holding private anonymous (COW) pages.
func wasWritable(pid int, lo, hi uint64) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return true // cannot tell: refuse
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			r := strings.SplitN(fields[0], "-", 2)
			start, _ := strconv.ParseUint(r[0], 16, 64)
			end, _ := strconv.ParseUint(r[1], 16, 64)
			in = start < hi && end > lo
			if !in {
				continue
			}
			if fields[1][1] == 'w' {
				return true
			}
			if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
				return true // anonymous: it was writable when it was filled
			}
			continue
		}
		if in && (strings.HasPrefix(line, "Anonymous:") || strings.HasPrefix(line, "Private_Dirty:")) {
			if n, _ := strconv.Atoi(strings.Fields(line)[1]); n > 0 {
				return true
			}
		}
	}
	return false
}
