package sentry

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/mm"
)

// Memory limits. With Options.Memory every mmap, mremap and brk is routed
// (anonymous memory too, so this costs a round trip per call and is off
// unless the policy sets memory.total or limits.address_space).
//
// memory.total caps the address space (VmSize, what RLIMIT_AS counts) of
// all the sandbox's processes together. Each process's size is booked at
// its last such call, plus what it asked for; a fork books the child's
// copy until the child is seen. The sum is an upper bound except for what
// grows without a call (stack growth, an exec'd image, the last brk step of
// a process), so a call that fits under it is let through at once, and one
// that does not is decided on an exact count: every process of the sandbox
// measured now, address spaces shared by vfork counted once. A refusal is
// ENOMEM, as the kernel gives for RLIMIT_AS.
//
// limits.address_space is RLIMIT_AS, which the kernel enforces; the sentry
// only counts the calls the kernel is about to refuse, for the explanation
// at exit.

// pageAlign rounds n up to whole pages (n near 2^64 stays as it is: the
// kernel refuses such a length itself).
func pageAlign(n uint64) uint64 {
	if n > 1<<62 {
		return n
	}
	return (n + 4095) &^ 4095
}

// mmapGrowth is how much address space an mmap adds: its length, less what
// it replaces with MAP_FIXED.
func mmapGrowth(c *Call) uint64 {
	addr, n, flags := c.Arg(0), pageAlign(c.Arg(1)), c.Arg(3)
	if n == 0 || n > 1<<62 {
		return 0 // the kernel's EINVAL or ENOMEM
	}
	if flags&unix.MAP_FIXED != 0 && addr+n > addr {
		n -= c.Mem().MappedIn(addr, addr+n)
	}
	return n
}

func sysMremap(c *Call) (int64, unix.Errno) {
	oldLen, newLen, flags := pageAlign(c.Arg(1)), pageAlign(c.Arg(2)), c.Arg(3)
	var grow uint64
	switch {
	case flags&unix.MREMAP_DONTUNMAP != 0 || oldLen == 0:
		grow = newLen // the old mapping stays
	case newLen > oldLen:
		grow = newLen - oldLen
	}
	if c.memRefused(grow) {
		return 0, unix.ENOMEM
	}
	return c.Continue()
}

func sysBrk(c *Call) (int64, unix.Errno) {
	want := c.Arg(0)
	if !c.s.limitsMemory() || want == 0 {
		return c.Continue()
	}
	end, ok := c.Mem().HeapEnd()
	if !ok || pageAlign(want) <= end {
		return c.Continue()
	}
	if c.memRefused(pageAlign(want) - end) {
		// brk fails by returning the break unchanged. The heap's
		// page-aligned end is at or just above it and mapped, so a libc
		// that takes it as its break stays within its heap.
		return int64(end), 0
	}
	return c.Continue()
}

func (s *Sentry) limitsMemory() bool {
	return s.cfg.MemoryTotal > 0 || s.cfg.WatchAddressSpace
}

// memRefused decides whether the caller's process may add grow bytes of
// address space. Calls are
// decided one at a time: measuring, deciding and booking are one step, so
// concurrent calls cannot all fit into the same room.
func (c *Call) memRefused(grow uint64) bool {
	if grow == 0 || !c.s.limitsMemory() {
		return false
	}
	c.s.mem.mu.Lock()
	defer c.s.mem.mu.Unlock()
	return c.memRefusedLocked(grow, false)
}

// memRefusedLocked is memRefused with s.mem.mu held; child: the growth is
// a forked child's copy of the caller's address space.
func (c *Call) memRefusedLocked(grow uint64, child bool) bool {
	s, p := c.s, c.Task.Proc
	cur, ok := mm.Size(p.Tgid)
	if !ok {
		return false // gone: the kernel answers
	}
	if s.cfg.WatchAddressSpace && !child {
		var lim unix.Rlimit
		if unix.Prlimit(p.Tgid, unix.RLIMIT_AS, nil, &lim) == nil && lim.Cur != unix.RLIM_INFINITY && cur+grow > lim.Cur {
			if s.limitHit("address_space") {
				s.log.WithField("limit", lim.Cur).Warn("allocation refused: a process reached its address-space limit (RLIMIT_AS)")
			}
			return false // the kernel refuses it, exactly
		}
	}
	if s.cfg.MemoryTotal == 0 {
		return false
	}
	ts := &s.tasks
	ts.mu.Lock()
	cur += p.stackReserve
	// Other threads' calls let through a moment ago may not be made yet
	// (this thread's last one is: it is here again).
	delete(p.inflight, c.Task.Tid)
	for tid, g := range p.inflight {
		if time.Since(g.at) < inFlight {
			cur += g.grow
		} else {
			delete(p.inflight, tid)
		}
	}
	booked := s.bookedOthers(p)
	p.vm = cur
	ts.mu.Unlock()
	if !s.room(p, cur+grow, booked) {
		return true
	}
	if !child {
		ts.mu.Lock()
		p.vm = cur + grow
		if p.inflight == nil {
			p.inflight = map[int]grant{}
		}
		p.inflight[c.Task.Tid] = grant{grow, time.Now()}
		ts.mu.Unlock()
	}
	return false
}

// room tells whether process p may have need bytes of address space beside
// the others' bookings (s.mem.mu held). A call that does not fit that way
// is decided on an exact count, as is every call while a fork's booking
// may have been lost (mem.unseen) until such a count finds every process
// known again. A refusal is counted for the explanation at exit.
func (s *Sentry) room(p *Process, need, booked uint64) bool {
	total := s.cfg.MemoryTotal
	if !s.mem.unseen.Load() && need+booked <= total {
		return true
	}
	others, allSeen := s.othersVM(p.Tgid)
	if allSeen {
		s.mem.unseen.Store(false)
	}
	if need+others <= total {
		return true
	}
	if s.limitHit("memory") {
		s.log.WithField("limit", total).Warn("allocation refused: the sandbox's processes together reached memory.total")
	}
	return false
}

// bookedOthers sums the bookings of every process but p, and of forks
// whose child was not seen yet (tasks.mu held).
func (s *Sentry) bookedOthers(p *Process) uint64 {
	var booked uint64
	for _, q := range s.tasks.procs {
		if q != p {
			booked += q.vm
		}
	}
	for _, snaps := range s.tasks.pending {
		for _, sn := range snaps {
			booked += sn.vm
		}
	}
	return booked
}

// inFlight is how long a call let through is counted at its full size
// even when the process measures smaller, unless its thread has been seen
// since (or is gone): the kernel makes the mapping after our answer,
// within microseconds, but a loaded machine can stall a thread for long.
const inFlight = 10 * time.Second

// othersVM measures the address space of every process of the sandbox but
// self, now. Processes sharing one (vfork, CLONE_VM) count once. A call
// let through a moment ago counts in full (inFlight), and so does a fork
// whose child has not been seen yet.
func (s *Sentry) othersVM(self int) (sum uint64, allSeen bool) {
	pids := s.descendants()
	if s.watchdog <= 0 {
		pids = s.processes()
	}
	type sized struct {
		pid int
		n   uint64
	}
	var all []sized
	for _, pid := range pids {
		if n, ok := mm.Size(pid); ok {
			all = append(all, sized{pid, n})
		}
	}
	var forks uint64
	ts := &s.tasks
	ts.mu.Lock()
	allSeen = true
	for i, a := range all {
		q := ts.procs[a.pid]
		switch {
		case q == nil && a.n > 0: // (a zombie measures 0)
			allSeen = false
		case q != nil:
			all[i].n += q.stackReserve
			for _, g := range q.inflight {
				if time.Since(g.at) < inFlight {
					all[i].n += g.grow
				}
			}
		}
	}
	for _, snaps := range ts.pending {
		for _, sn := range snaps {
			if time.Since(sn.when) < inFlight {
				forks += sn.vm
			}
		}
	}
	ts.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].n < all[j].n })
	sum = forks
	for i, a := range all {
		shared := a.pid != self && kcmpVM(a.pid, self)
		for j := i - 1; j >= 0 && all[j].n == a.n && !shared; j-- {
			shared = kcmpVM(a.pid, all[j].pid)
		}
		if a.pid != self && !shared {
			sum += a.n
		}
	}
	return sum, allSeen
}

// grant is a growth let through.
type grant struct {
	grow uint64
	at   time.Time
}

// memAccount serializes the memory decisions (memRefused).
type memAccount struct {
	mu sync.Mutex
	// unseen: a fork's booking expired before its child was seen (the
	// child may be alive, uncounted by the bookings).
	unseen atomic.Bool
}

// kcmpVM tells whether two processes share one address space.
func kcmpVM(pid1, pid2 int) bool {
	const kcmpVM = 1
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(pid1), uintptr(pid2), kcmpVM, 0, 0, 0)
	return e == 0 && r == 0
}

// execRefused books, under memory.total, the address space an execve will
// map at once without another routed call (the image with its bss, its
// interpreter, the stack up to its limit) and refuses it with ENOMEM when
// it does not fit. image is the file the kernel will map, or -1.
func (c *Call) execRefused(image int) bool {
	if c.s.cfg.MemoryTotal == 0 {
		return false
	}
	var est uint64
	if image >= 0 {
		size, interp, ok := mm.ImageLoad(image)
		if ok {
			est = size
		}
		if interp != "" {
			if fd, _ := openInGuest(c.Task.Tid, interp); fd >= 0 {
				if size, _, ok := mm.ImageLoad(fd); ok {
					est += size
				}
				unix.Close(fd)
			}
		}
	}
	// The stack grows without a routed call: its whole limit stays
	// booked for the process (stackReserve).
	var stack unix.Rlimit
	var reserve uint64
	if unix.Prlimit(c.Task.Proc.Tgid, unix.RLIMIT_STACK, nil, &stack) == nil && stack.Max != unix.RLIM_INFINITY {
		reserve = stack.Max
	}
	est += reserve
	s, p := c.s, c.Task.Proc
	s.mem.mu.Lock()
	defer s.mem.mu.Unlock()
	cur, _ := mm.Size(p.Tgid)
	ts := &s.tasks
	ts.mu.Lock()
	booked := s.bookedOthers(p)
	ts.mu.Unlock()
	if !s.room(p, est, booked) {
		return true
	}
	ts.mu.Lock()
	p.vm, p.stackReserve = est, reserve
	p.inflight = map[int]grant{}
	if est > cur {
		p.inflight[c.Task.Tid] = grant{est - cur, time.Now()}
	}
	ts.mu.Unlock()
	return false
}
