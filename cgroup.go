package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/policies"
)

// cgroup is the sandbox's own cgroup v2: the watchdog is started in it
// (CLONE_INTO_CGROUP), so every guest process is, whatever it does; the
// kernel then enforces memory.max (limits.memory) and pids.max
// (limits.pids) on them all together. It is made in the caller's own
// cgroup when that one hands the controllers down (delegated to it), or in
// the parent the caller names; never elsewhere.
type cgroup struct {
	dir string
	fd  int // the directory, for CLONE_INTO_CGROUP
	// set lists the limits written ("memory.max 2G"); missing the ones
	// that could not be, with why.
	set, missing []string
}

// cgroupPrefix starts the names of the sandboxes' cgroups.
const cgroupPrefix = "sandbox-"

// makeCgroup creates the sandbox's cgroup with memory.max = mem (0: none)
// and pids.max = pids (<= 0: none), in parent, or where the caller may
// when parent is "". It fails when no cgroup v2 is usable at all; a
// controller that is not available only lands in missing.
func makeCgroup(parent string, mem uint64, pids int) (*cgroup, error) {
	var want []string
	if mem > 0 {
		want = append(want, "memory")
	}
	if pids > 0 {
		want = append(want, "pids")
	}
	var candidates []string
	if parent != "" {
		if !isCgroup2(parent) {
			return nil, fmt.Errorf("%s is not a cgroup v2 directory", parent)
		}
		candidates = []string{parent}
	} else {
		mnt, own, err := ownCgroup()
		if err != nil {
			return nil, err
		}
		// Never outside the caller's own subtree, whose limits and
		// accounting (a CI job's unit, a container) must keep holding
		// the guest; elsewhere only with --cgroup-parent.
		candidates = append(candidates, filepath.Join(mnt, own))
	}
	var why []string
	for _, p := range candidates {
		missing := delegate(p, want)
		if len(missing) > 0 && p != candidates[len(candidates)-1] {
			why = append(why, fmt.Sprintf("%s: %s", p, strings.Join(missing, ", ")))
			continue // a later candidate may have them
		}
		removeStaleCgroups(p)
		dir, err := os.MkdirTemp(p, fmt.Sprintf("%s%d-", cgroupPrefix, os.Getpid()))
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		cg := &cgroup{dir: dir, missing: missing}
		if mem > 0 && !has(missing, "memory") {
			cg.write("memory.max", strconv.FormatUint(mem, 10), "memory.max "+sizeString(mem))
			// Not around the limit through swap (where swap is accounted).
			if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
				cg.write("memory.swap.max", "0", "memory.swap.max 0")
			}
		}
		if pids > 0 && !has(missing, "pids") {
			// The watchdog is in the cgroup too: one more than the guest's.
			cg.write("pids.max", strconv.Itoa(pids+1), "pids.max "+strconv.Itoa(pids)+"+1")
		}
		if cg.fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("open %s: %w", dir, err)
		}
		return cg, nil
	}
	return nil, fmt.Errorf("no cgroup v2 directory this process may use (%s)", strings.Join(why, "; "))
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.HasPrefix(x, s+" ") {
			return true
		}
	}
	return false
}

func (cg *cgroup) write(file, value, what string) {
	if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(value), 0); err != nil {
		cg.missing = append(cg.missing, fmt.Sprintf("%s (%v)", what, err))
		return
	}
	cg.set = append(cg.set, what)
}

// delegate makes sure parent hands controllers want down to its children
// and returns those it cannot ("memory (not delegated)"). A cgroup with
// processes of its own cannot hand controllers down (cgroup v2's rule of no
// internal processes): the caller's own cgroup usually can only if it
// already does.
func delegate(parent string, want []string) []string {
	avail := words(filepath.Join(parent, "cgroup.controllers"))
	enabled := words(filepath.Join(parent, "cgroup.subtree_control"))
	var missing []string
	for _, c := range want {
		switch {
		case enabled[c]:
		case !avail[c]:
			missing = append(missing, c+" (not available)")
		default:
			err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0)
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s (cannot enable: %v)", c, errors.Unwrap(err)))
			}
		}
	}
	return missing
}

func words(file string) map[string]bool {
	b, _ := os.ReadFile(file)
	m := map[string]bool{}
	for _, w := range strings.Fields(string(b)) {
		m[w] = true
	}
	return m
}

// ownCgroup finds the cgroup v2 hierarchy and this process's place in it.
func ownCgroup() (mount, own string, err error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			own = p
		}
	}
	if own == "" {
		return "", "", errors.New("this process is in no cgroup v2 (cgroup v1 only)")
	}
	for _, m := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if isCgroup2(m) {
			return m, own, nil
		}
	}
	return "", "", errors.New("no cgroup v2 hierarchy is mounted (this system uses cgroup v1)")
}

func isCgroup2(dir string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(dir, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC
}

// events reads a flat keyed file (memory.events, pids.events).
func (cg *cgroup) events(file string) map[string]int {
	b, _ := os.ReadFile(filepath.Join(cg.dir, file))
	m := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k], _ = strconv.Atoi(v)
		}
	}
	return m
}

// hits reports the limits the guest ran into, by the policy's names: the
// processes the kernel's OOM killer took (limits.memory), and the clones
// pids.max refused (limits.pids).
func (cg *cgroup) hits() map[string]int {
	out := map[string]int{}
	if n := cg.events("memory.events")["oom_kill"]; n > 0 {
		out["cgroup_memory"] = n
	}
	if n := cg.events("pids.events")["max"]; n > 0 {
		out["cgroup_pids"] = n
	}
	return out
}

// remove kills whatever is left in the cgroup and removes it.
func (cg *cgroup) remove() {
	if cg == nil {
		return
	}
	unix.Close(cg.fd)
	os.WriteFile(filepath.Join(cg.dir, "cgroup.kill"), []byte("1"), 0)
	for i := 0; i < 200; i++ {
		if os.Remove(cg.dir) == nil || !errors.Is(os.Remove(cg.dir), unix.EBUSY) {
			return
		}
		time.Sleep(5 * time.Millisecond) // the killed are still exiting
	}
}

// removeStaleCgroups removes the empty cgroups of sandboxes killed before
// they could remove their own.
func removeStaleCgroups(parent string) {
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if !e.IsDir() || !staleScratch.MatchString(e.Name()) {
			continue
		}
		var pid, n int
		if _, err := fmt.Sscanf(e.Name(), cgroupPrefix+"%d-%d", &pid, &n); err != nil {
			continue
		}
		if err := unix.Kill(pid, 0); err == nil || err == unix.EPERM {
			continue // its sandbox may still be starting (or the pid is reused: left for later)
		}
		p := filepath.Join(parent, e.Name())
		if b, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(b))) == 0 {
			os.Remove(p) // fails harmlessly if it is in use after all
		}
	}
}

// String describes the cgroup for -v.
func (cg *cgroup) String() string {
	s := "cgroup " + cg.dir
	if len(cg.set) > 0 {
		s += " (" + strings.Join(cg.set, ", ") + ")"
	}
	if len(cg.missing) > 0 {
		s += "; not enforced: " + strings.Join(cg.missing, ", ")
	}
	return s
}

// makeCgroup gives the sandbox its cgroup when the policy sets
// limits.memory or limits.pids, or the caller names a parent. Where none
// can be made, an explicit parent is an error; otherwise the limits are
// not enforced, which is said at warning level.
func (c *Cmd) makeCgroup() error {
	l := c.Policy.Limits
	var mem uint64
	if l.Memory != "" {
		mem, _ = policies.Bytes(l.Memory) // validated
	}
	if mem == 0 && l.Pids == 0 && c.CgroupParent == "" {
		c.cgroupWhy = "limits.memory and limits.pids unset"
		return nil
	}
	cg, err := makeCgroup(c.CgroupParent, mem, l.Pids)
	switch {
	case err != nil && c.CgroupParent != "":
		return fmt.Errorf("cgroup parent %s: %w", c.CgroupParent, err)
	case err != nil:
		c.cgroupWhy = err.Error()
		c.logger().Warnf("limits.memory/limits.pids are not enforced: %v; only per-process rlimits and limits.processes apply", err)
	default:
		c.cgroup = cg
		if mem > 0 && has(cg.missing, "memory") || l.Pids > 0 && has(cg.missing, "pids") {
			c.logger().Warnf("not enforced in %s: %s (limits.memory/limits.pids)", cg.dir, strings.Join(cg.missing, ", "))
		}
	}
	return nil
}

// limitsLost names what running without the cgroup gives up.
func (cg *cgroup) limitsLost() string {
	if len(cg.set) == 0 {
		return "no limit was set in it"
	}
	return strings.Join(cg.set, ", ") + " not enforced"
}
