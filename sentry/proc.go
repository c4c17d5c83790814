package sentry

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"sandbox/vfs"
)

// ProcFS fills the guest's /proc (a vfs.ProcDir mount over a private host
// directory) on demand, just before the walker looks at each entry:
//   - /proc/<pid> exists only for the sandbox's own processes;
//   - their status, stat, statm, cmdline, comm, environ, limits are the
//     kernel's own text; maps has host paths put in the guest's view;
//     mountinfo and mounts describe the guest's mount table; exe, cwd and
//     root are symlinks into the guest's view; fd/ lists their fds; task/
//     has a directory per thread with the thread's own status, stat and
//     comm (the guest cannot write them: a thread names another with
//     prctl from inside, not through /proc);
//   - a few system-wide files (cpuinfo, meminfo, uptime, loadavg, stat,
//     version, filesystems, swaps) are the host's, which programs size
//     themselves by;
//   - self and thread-self (<pid>/task/<tid>) are resolved per caller by
//     the walker.
//
// Nothing else of the host's /proc exists in the guest.
type ProcFS struct {
	dir   string // host directory behind the guest's /proc
	guest string // "/proc"
	mu    sync.Mutex
	s     *Sentry
}

// NewProcFS returns a provider for a /proc mounted at guest path guest,
// backed by host directory dir. Attach it to the sentry before use.
func NewProcFS(dir, guest string) *ProcFS { return &ProcFS{dir: dir, guest: guest} }

// Attach connects the provider to the sentry whose processes it shows.
func (p *ProcFS) Attach(s *Sentry) {
	p.mu.Lock()
	p.s = s
	p.mu.Unlock()
}

// procDirMode is the host mode of the per-process directories. They are
// refilled on every lookup, so their owner must be able to write in them:
// Linux's 0555 would stop an unprivileged sentry (no CAP_DAC_OVERRIDE).
// The guest cannot write either way: the mount is read-only in the view.
const procDirMode = 0o755

var systemFiles = map[string]bool{"cpuinfo": true, "meminfo": true, "uptime": true, "loadavg": true,
	"stat": true, "version": true, "filesystems": true, "swaps": true}

var pidFiles = []string{"status", "stat", "statm", "cmdline", "comm", "environ", "limits",
	"maps", "mountinfo", "mounts", "exe", "cwd", "root", "fd", "task"}

// taskFiles are those of /proc/<pid>/task/<tid>: the thread's own status,
// stat and comm, and the process's others.
var taskFiles = []string{"status", "stat", "statm", "cmdline", "comm", "environ", "limits",
	"maps", "mountinfo", "mounts", "exe", "cwd", "root", "fd"}

// at returns the attached sentry (nil before Attach) and dir relative to
// the guest's /proc.
func (p *ProcFS) at(dir string) (*Sentry, string) {
	p.mu.Lock()
	s := p.s
	p.mu.Unlock()
	return s, strings.TrimPrefix(strings.TrimPrefix(dir, p.guest), "/")
}

// Prepare implements vfs.Provider.
func (p *ProcFS) Prepare(pid int, dir, name string) {
	s, rel := p.at(dir)
	if s == nil {
		return
	}
	switch {
	case rel == "":
		if n, err := strconv.Atoi(name); err == nil {
			p.preparePid(s, n)
			return
		}
		if systemFiles[name] {
			p.copyFile(filepath.Join(p.dir, name), "/proc/"+name, nil)
		} else if name == "mounts" {
			p.symlink(filepath.Join(p.dir, name), "self/mounts")
		}
	default:
		if n, err := strconv.Atoi(rel); err == nil && n > 0 {
			p.preparePidEntry(s, n, name)
			return
		}
		parts := strings.Split(rel, "/")
		if len(parts) < 2 || parts[1] != "task" {
			return
		}
		n, err := strconv.Atoi(parts[0])
		if err != nil || n <= 0 {
			return
		}
		switch len(parts) {
		case 2:
			if tid, err := strconv.Atoi(name); err == nil && tid > 0 {
				p.prepareTask(s, n, tid)
			}
		case 3:
			if tid, err := strconv.Atoi(parts[2]); err == nil && tid > 0 && slices.Contains(taskFiles, name) && p.prepareTask(s, n, tid) {
				p.prepareEntry(s, n, p.taskDir(n, tid), "/proc/"+strconv.Itoa(n)+"/task/"+strconv.Itoa(tid)+"/", name)
			}
		}
	}
}

// PrepareDir implements vfs.Provider.
func (p *ProcFS) PrepareDir(pid int, dir string) {
	s, rel := p.at(dir)
	if s == nil {
		return
	}
	parts := strings.Split(rel, "/")
	switch {
	case rel == "":
		live := map[string]bool{}
		for _, n := range s.processes() {
			live[strconv.Itoa(n)] = true
			p.preparePid(s, n)
		}
		ents, _ := os.ReadDir(p.dir)
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil && !live[e.Name()] {
				os.RemoveAll(filepath.Join(p.dir, e.Name()))
			}
		}
		for name := range systemFiles {
			p.copyFile(filepath.Join(p.dir, name), "/proc/"+name, nil)
		}
		p.symlink(filepath.Join(p.dir, "self"), strconv.Itoa(pid))
		p.symlink(filepath.Join(p.dir, "thread-self"), strconv.Itoa(pid))
		p.symlink(filepath.Join(p.dir, "mounts"), "self/mounts")
	case len(parts) == 1:
		if n, err := strconv.Atoi(parts[0]); err == nil {
			for _, name := range pidFiles {
				p.preparePidEntry(s, n, name)
			}
		}
	case len(parts) == 2 && parts[1] == "fd":
		if n, err := strconv.Atoi(parts[0]); err == nil && s.isProcess(n) {
			p.listFDs(s, n, filepath.Join(p.dir, parts[0], "fd"))
		}
	case len(parts) == 2 && parts[1] == "task":
		if n, err := strconv.Atoi(parts[0]); err == nil {
			p.listTasks(s, n)
		}
	case len(parts) == 3 && parts[1] == "task":
		n, err1 := strconv.Atoi(parts[0])
		tid, err2 := strconv.Atoi(parts[2])
		if err1 == nil && err2 == nil && p.prepareTask(s, n, tid) {
			host := "/proc/" + parts[0] + "/task/" + parts[2] + "/"
			for _, name := range taskFiles {
				p.prepareEntry(s, n, p.taskDir(n, tid), host, name)
			}
		}
	case len(parts) == 4 && parts[1] == "task" && parts[3] == "fd":
		if n, err := strconv.Atoi(parts[0]); err == nil && s.isProcess(n) {
			p.listFDs(s, n, filepath.Join(p.dir, rel))
		}
	}
}

func (p *ProcFS) taskDir(n, tid int) string {
	return filepath.Join(p.dir, strconv.Itoa(n), "task", strconv.Itoa(tid))
}

// prepareTask makes /proc/<n>/task/<tid> when tid is a thread of n, one of
// the sandbox's processes, and removes it otherwise; it tells which.
func (p *ProcFS) prepareTask(s *Sentry, n, tid int) bool {
	d := p.taskDir(n, tid)
	var st unix.Stat_t
	if !s.isProcess(n) || unix.Stat("/proc/"+strconv.Itoa(n)+"/task/"+strconv.Itoa(tid), &st) != nil {
		os.RemoveAll(d)
		return false
	}
	os.MkdirAll(d, procDirMode)
	return true
}

// listTasks mirrors /proc/<n>/task for listing: one directory per thread.
func (p *ProcFS) listTasks(s *Sentry, n int) {
	d := filepath.Join(p.dir, strconv.Itoa(n), "task")
	if !s.isProcess(n) {
		return
	}
	os.MkdirAll(d, procDirMode)
	ents, _ := os.ReadDir("/proc/" + strconv.Itoa(n) + "/task")
	live := map[string]bool{}
	for _, e := range ents {
		live[e.Name()] = true
		os.Mkdir(filepath.Join(d, e.Name()), procDirMode)
	}
	old, _ := os.ReadDir(d)
	for _, e := range old {
		if !live[e.Name()] {
			os.RemoveAll(filepath.Join(d, e.Name()))
		}
	}
}

func (p *ProcFS) preparePid(s *Sentry, n int) {
	d := filepath.Join(p.dir, strconv.Itoa(n))
	if !s.isProcess(n) {
		os.RemoveAll(d)
		return
	}
	os.Mkdir(d, procDirMode)
}

func (p *ProcFS) preparePidEntry(s *Sentry, n int, name string) {
	d := filepath.Join(p.dir, strconv.Itoa(n))
	if !s.isProcess(n) {
		os.RemoveAll(d)
		return
	}
	os.Mkdir(d, procDirMode)
	p.prepareEntry(s, n, d, "/proc/"+strconv.Itoa(n)+"/", name)
}

// prepareEntry makes entry name of directory d (of process n, or of one of
// its threads) from the host's directory host ("/proc/<n>/" or
// "/proc/<n>/task/<tid>/").
func (p *ProcFS) prepareEntry(s *Sentry, n int, d, host, name string) {
	dst := filepath.Join(d, name)
	switch name {
	case "status", "stat", "statm", "cmdline", "comm", "environ", "limits":
		p.copyFile(dst, host+name, nil)
	case "maps":
		p.copyFile(dst, host+name, s.guestMaps)
	case "mountinfo":
		p.writeFile(dst, s.mountinfo())
	case "mounts":
		p.writeFile(dst, s.mounts())
	case "exe":
		if t, err := os.Readlink(host + "exe"); err == nil {
			p.symlink(dst, s.guestPath(t))
		}
	case "cwd":
		p.symlink(dst, s.cwdOf(n))
	case "root":
		p.symlink(dst, "/")
	case "fd", "task":
		os.Mkdir(dst, procDirMode)
	}
}

// listFDs mirrors /proc/<n>/fd in d for listing: one symlink per fd,
// pointing where the fd does in the guest's view.
func (p *ProcFS) listFDs(s *Sentry, n int, d string) {
	os.MkdirAll(d, procDirMode)
	host := "/proc/" + strconv.Itoa(n) + "/fd"
	ents, _ := os.ReadDir(host)
	live := map[string]bool{}
	for _, e := range ents {
		t, err := os.Readlink(host + "/" + e.Name())
		if err != nil {
			continue
		}
		live[e.Name()] = true
		p.symlink(filepath.Join(d, e.Name()), s.fdLinkName(t))
	}
	old, _ := os.ReadDir(d)
	for _, e := range old {
		if !live[e.Name()] {
			os.Remove(filepath.Join(d, e.Name()))
		}
	}
}

func (p *ProcFS) copyFile(dst, src string, edit func(string) string) {
	b, err := os.ReadFile(src)
	if err != nil {
		os.Remove(dst)
		return
	}
	if edit != nil {
		b = []byte(edit(string(b)))
	}
	p.writeFile(dst, string(b))
}

// writeFile replaces dst atomically: a guest may be reading the old one.
func (p *ProcFS) writeFile(dst, content string) {
	f, err := os.CreateTemp(filepath.Dir(dst), ".w")
	if err != nil {
		return
	}
	f.WriteString(content)
	f.Chmod(0o444)
	f.Close()
	if os.Rename(f.Name(), dst) != nil {
		os.Remove(f.Name())
	}
}

func (p *ProcFS) symlink(dst, target string) {
	if cur, err := os.Readlink(dst); err == nil && cur == target {
		return
	}
	tmp := fmt.Sprintf("%s.l%d", dst, os.Getpid())
	os.Remove(tmp)
	if os.Symlink(target, tmp) == nil && os.Rename(tmp, dst) != nil {
		os.Remove(tmp)
	}
}

// isProcess tells whether n is a thread-group leader of the sandbox.
func (s *Sentry) isProcess(n int) bool {
	s.tasks.mu.Lock()
	p := s.tasks.procs[n]
	known := p != nil && pidfdExists(p.pidfd)
	s.tasks.mu.Unlock()
	if known {
		return true // the common case (/proc/self): one cheap check
	}
	if !s.member(n) {
		return false
	}
	tgid, _, err := taskIDs(n)
	return err == nil && tgid == n
}

// processes lists the sandbox's known processes.
func (s *Sentry) processes() []int {
	s.tasks.mu.Lock()
	defer s.tasks.mu.Unlock()
	out := make([]int, 0, len(s.tasks.procs))
	for n := range s.tasks.procs {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// guestPath maps a host path (as /proc shows it) into the guest's view;
// anything else ("pipe:[...]", "anon_inode:...") is kept.
func (s *Sentry) guestPath(host string) string {
	if !strings.HasPrefix(host, "/") {
		return host
	}
	deleted := strings.HasSuffix(host, " (deleted)")
	g, _ := s.fs.GuestPathOf(strings.TrimSuffix(host, " (deleted)"))
	if g == "" {
		return "/" // outside the view: name nothing the guest could look up
	}
	if deleted {
		g += " (deleted)"
	}
	return g
}

// fdLinkName is what /proc/<pid>/fd/N reads for an fd whose host link is
// host: the guest path; for a file outside the view (what the caller
// handed in, such as a redirected stdout) the host path, as the guest's
// own file would read natively, except in the sandbox's own trees (the
// empty directory standing in for missing parents of mount points): "/";
// "pipe:[...]" and the like as they are. A /proc file is never
// " (deleted)": its host mirror is replaced whenever it is looked up
// again, which the guest cannot see otherwise.
func (s *Sentry) fdLinkName(host string) string {
	if !strings.HasPrefix(host, "/") {
		return host
	}
	base, deleted := strings.CutSuffix(host, " (deleted)")
	g, m := s.fs.GuestPathOf(base)
	switch {
	case g == "" && s.fs.IsOwn(base):
		return "/"
	case g == "":
		return host
	case deleted && m.Kind != vfs.ProcDir:
		return g + " (deleted)"
	}
	return g
}

func (s *Sentry) cwdOf(n int) string {
	s.tasks.mu.Lock()
	p := s.tasks.procs[n]
	s.tasks.mu.Unlock()
	if p != nil {
		return p.fs.cwdGuest()
	}
	if t, err := os.Readlink("/proc/" + strconv.Itoa(n) + "/cwd"); err == nil {
		return s.guestPath(t)
	}
	return "/"
}

// guestMaps rewrites the pathname column of a maps file.
func (s *Sentry) guestMaps(maps string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(maps, "\n") {
		i := strings.Index(line, " /")
		if i < 0 {
			b.WriteString(line)
			continue
		}
		path := strings.TrimRight(line[i+1:], "\n")
		b.WriteString(line[:i+1])
		b.WriteString(s.guestPath(path))
		if strings.HasSuffix(line, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func fsType(fd int) string {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return "none"
	}
	switch st.Type {
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x794c7630:
		return "overlay"
	case 0x1cd1:
		return "devpts"
	case 0x9fa0:
		return "proc"
	}
	return "none"
}

// mountinfo describes the guest's mount table, shallowest first.
func (s *Sentry) mountinfo() string {
	ms := append([]*vfs.Mount(nil), s.fs.Mounts()...)
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Guest) < len(ms[j].Guest) })
	ids := map[string]int{}
	var b strings.Builder
	for i, m := range ms {
		id := 100 + i
		ids[m.Guest] = id
		parent := id
		for q := filepath.Dir(m.Guest); m.Guest != "/"; q = filepath.Dir(q) {
			if pid, ok := ids[q]; ok {
				parent = pid
				break
			}
			if q == "/" {
				break
			}
		}
		opt := "rw"
		if m.ReadOnly {
			opt = "ro"
		}
		fmt.Fprintf(&b, "%d %d 0:0 / %s %s,relatime - %s sandbox %s\n", id, parent, m.Guest, opt, fsType(m.FD()), opt)
	}
	return b.String()
}

func (s *Sentry) mounts() string {
	ms := append([]*vfs.Mount(nil), s.fs.Mounts()...)
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Guest) < len(ms[j].Guest) })
	var b strings.Builder
	for _, m := range ms {
		opt := "rw"
		if m.ReadOnly {
			opt = "ro"
		}
		fmt.Fprintf(&b, "sandbox %s %s %s,relatime 0 0\n", m.Guest, fsType(m.FD()), opt)
	}
	return b.String()
}

// scratchDev is the device of the host directory behind the guest's /proc
// (0 when there is none).
func (s *Sentry) scratchDev() uint64 {
	s.procDevOnce.Do(func() {
		for _, m := range s.fs.Mounts() {
			if m.Kind == vfs.ProcDir {
				var st unix.Stat_t
				if unix.Fstat(m.FD(), &st) == nil {
					s.procDev = st.Dev
				}
			}
		}
	})
	return s.procDev
}
