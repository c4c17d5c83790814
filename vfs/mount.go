// Package vfs is the guest's filesystem: a mount table built from the policy,
// a path walker, and the path operations the sentry performs for the guest.
//
// Invariants:
//   - The walker resolves every path in guest space: it follows symlinks
//     itself (40 at most, then ELOOP), so an absolute link lands in the
//     guest's root, ".." never climbs above "/", and a hidden path stays
//     hidden even in the middle of a path.
//   - Each host step is one openat2 of a single component relative to a
//     directory fd inside a mount, with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
//     RESOLVE_NO_MAGICLINKS: the host kernel can never take a step outside the
//     directory we hold, whatever a racing process does to the host tree.
//   - Writes into a read-only mount fail with EROFS; hidden paths look absent
//     (ENOENT).
//   - The guest's "/" is either a host directory (--root) or a skeleton
//     directory the sandbox builds, holding only the mount points, so that
//     listing "/" shows nothing the policy hides.
package vfs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is what a mount holds.
type Kind int

const (
	// Bind exposes a host file or directory.
	Bind Kind = iota
	// ProcDir is a /proc-like mount: a host directory that a Provider
	// fills on demand, just before the walker looks at each entry.
	ProcDir
)

// Provider fills a ProcDir mount. Entries are real host files, symlinks and
// directories, so the walker and every operation treat them like any other;
// the provider only keeps them current. A directory named "fd" directly in
// a numeric directory holds the fds of that process (the walker resolves its
// entries itself, as the guest's own open files).
type Provider interface {
	// Prepare makes entry name of guest directory dir (inside the mount)
	// current for the calling process pid, or removes it.
	Prepare(pid int, dir, name string)
	// PrepareDir makes a whole directory current before it is listed.
	PrepareDir(pid int, dir string)
}

// MountSpec describes one entry of the mount table, before it is opened.
type MountSpec struct {
	Guest    string // absolute guest path
	Host     string // host path (Bind)
	ReadOnly bool
	// Device marks a bind of a host device node: the guest may open it
	// for writing, but its mode, owner, times and xattrs are the host's
	// (EROFS, as on a read-only mount).
	Device bool
	Kind   Kind
	// Dir, when set, is the mount's root instead of the directory at Host:
	// a tmpfs the sandbox mounted in a namespace of its own at the path
	// Host names, which is what the kernel reports for files in it.
	Dir *os.File
}

// source is the path that opens the mount's root from this process.
func (s *MountSpec) source() string {
	if s.Dir != nil {
		return "/proc/self/fd/" + strconv.Itoa(int(s.Dir.Fd()))
	}
	return s.Host
}

// Mount is an opened entry of the mount table.
type Mount struct {
	Guest    string
	Host     string
	ReadOnly bool
	Device   bool // MountSpec.Device
	Kind     Kind
	fd       int // O_PATH fd of the host root of the mount
	isDir    bool
}

// FD returns the mount's O_PATH root fd (owned by the FS).
func (m *Mount) FD() int { return m.fd }

// Symlink is a symlink the skeleton root must hold (e.g. /bin -> usr/bin on
// merged-/usr systems, or /dev/stdin -> fd/0).
type Symlink struct {
	Guest, Target string
}

// Config is the whole filesystem view.
type Config struct {
	// Root is the host directory that becomes the guest's "/". Empty means a
	// fresh skeleton directory under Scratch holding only mount points.
	Root string
	// RootReadOnly makes the root read-only (always true for a skeleton).
	RootReadOnly bool
	Mounts       []MountSpec
	Symlinks     []Symlink
	Hidden       []string // guest paths that look absent
	// Scratch is a private host directory the FS may use (skeleton, /dev,
	// /proc); Data, when set, another (the private /tmp). Mount points
	// nested in mounts from either are made in them.
	Scratch, Data string
	// Proc fills the ProcDir mounts.
	Proc Provider
	// Deny lists guest path globs ("*", "?", and "**" for any depth) that
	// exist but may not be used: every lookup ending there is EACCES.
	Deny []string
}

// FS is an opened mount table. It is immutable after New and safe for
// concurrent use.
type FS struct {
	mounts  map[string]*Mount // by guest path
	ordered []*Mount          // deepest first
	root    *Mount
	hidden  map[string]bool
	// hasBelow holds every proper ancestor of a mount point or hidden path:
	// lookups that pass through one of these cannot take the one-syscall
	// fast path.
	hasBelow map[string]bool
	proc     Provider
	deny     []*regexp.Regexp
	// leadsToMount holds the proper ancestors of mount points: a walk may
	// pass through one that the host lacks (a file mounted at /opt/a/b when
	// the host has no /opt/a); virt, an empty read-only directory, stands
	// in for it.
	leadsToMount map[string]bool
	virt         *Mount
	// own are the sandbox's own host trees (Config.Scratch, Config.Data).
	own []string
}

// Clean returns the lexically cleaned absolute form of an absolute path,
// keeping ".." components (they are resolved by the walker, physically).
func cleanAbs(p string) string {
	if p == "" {
		return "/"
	}
	return filepath.Clean("/" + p)
}

// New opens every mount. The caller must Close the FS.
func New(cfg Config) (*FS, error) {
	fs := &FS{mounts: map[string]*Mount{}, hidden: map[string]bool{}, hasBelow: map[string]bool{}, proc: cfg.Proc}
	for _, d := range []string{cfg.Scratch, cfg.Data} {
		if d != "" {
			fs.own = append(fs.own, filepath.Clean(d))
		}
	}
	rootHost := cfg.Root
	rootRO := cfg.RootReadOnly
	if rootHost == "" {
		if cfg.Scratch == "" {
			return nil, fmt.Errorf("vfs: a skeleton root needs a scratch directory")
		}
		rootHost = filepath.Join(cfg.Scratch, "root")
		if err := buildSkeleton(rootHost, cfg); err != nil {
			return nil, err
		}
		rootRO = true
	}
	specs := append([]MountSpec{{Guest: "/", Host: rootHost, ReadOnly: rootRO}}, cfg.Mounts...)
	if err := makeMountPoints(specs, cfg.Scratch, cfg.Data); err != nil {
		return nil, err
	}
	for _, s := range specs {
		g := cleanAbs(s.Guest)
		m := &Mount{Guest: g, Host: s.Host, ReadOnly: s.ReadOnly, Device: s.Device, Kind: s.Kind, fd: -1}
		switch s.Kind {
		case Bind, ProcDir:
			fd, err := unix.Open(s.source(), unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				fs.Close()
				return nil, fmt.Errorf("vfs: open mount source %s for %s: %w", s.Host, g, err)
			}
			m.fd = fd
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				fs.Close()
				return nil, fmt.Errorf("vfs: stat mount source %s: %w", s.Host, err)
			}
			m.isDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
		}
		if old := fs.mounts[g]; old != nil {
			// A later entry for the same guest path wins (flags override the
			// policy file).
			unix.Close(old.fd)
		}
		fs.mounts[g] = m
		if g == "/" {
			fs.root = m
		}
	}
	fs.leadsToMount = map[string]bool{}
	for _, m := range fs.mounts {
		fs.ordered = append(fs.ordered, m)
		markAncestors(fs.hasBelow, m.Guest)
		markAncestors(fs.leadsToMount, m.Guest)
	}
	if cfg.Scratch != "" {
		dir := filepath.Join(cfg.Scratch, "virt")
		if err := os.MkdirAll(dir, 0o555); err == nil {
			if fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
				fs.virt = &Mount{Guest: "", Host: dir, ReadOnly: true, fd: fd, isDir: true}
			}
		}
	}
	sort.Slice(fs.ordered, func(i, j int) bool { return len(fs.ordered[i].Guest) > len(fs.ordered[j].Guest) })
	for _, g := range cfg.Deny {
		re, err := globRegexp(g)
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("vfs: deny pattern %q: %w", g, err)
		}
		fs.deny = append(fs.deny, re)
	}
	for _, h := range cfg.Hidden {
		h = cleanAbs(h)
		fs.hidden[h] = true
		markAncestors(fs.hasBelow, h)
	}
	return fs, nil
}

// makeMountPoints creates, inside mounts the sandbox made itself (under
// scratch: the private /tmp, /dev, /proc), the directories leading to mount
// points nested in them, so that e.g. a working directory under the host's
// /tmp is reachable through the private /tmp that covers its parent.
func makeMountPoints(specs []MountSpec, scratch, data string) error {
	if scratch == "" {
		return nil
	}
	own := func(host string) bool {
		return strings.HasPrefix(host, scratch+"/") || data != "" && strings.HasPrefix(host, data+"/")
	}
	for _, m := range specs {
		g := cleanAbs(m.Guest)
		if g == "/" {
			continue
		}
		// The deepest other mount covering g's parent.
		var parent *MountSpec
		for i := range specs {
			p := &specs[i]
			pg := cleanAbs(p.Guest)
			if pg == g || !(pg == "/" || strings.HasPrefix(g, pg+"/")) {
				continue
			}
			if parent == nil || len(pg) > len(cleanAbs(parent.Guest)) {
				parent = p
			}
		}
		if parent == nil || !own(parent.Host) || cleanAbs(parent.Guest) == "/" {
			continue
		}
		rel := strings.TrimPrefix(g, cleanAbs(parent.Guest))
		dir := filepath.Join(parent.source(), filepath.Dir(rel))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("vfs: mount point %s: %w", g, err)
		}
		point := filepath.Join(parent.source(), rel)
		if _, err := os.Lstat(point); err == nil {
			continue
		}
		isDir := false
		if m.Kind == Bind || m.Kind == ProcDir {
			if st, err := os.Stat(m.source()); err == nil {
				isDir = st.IsDir()
			}
		}
		if isDir {
			if err := os.Mkdir(point, 0o755); err != nil {
				return fmt.Errorf("vfs: mount point %s: %w", g, err)
			}
		} else if f, err := os.OpenFile(point, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			f.Close()
		}
	}
	return nil
}

func markAncestors(set map[string]bool, p string) {
	for p != "/" {
		p = filepath.Dir(p)
		set[p] = true
	}
}

// buildSkeleton makes the directory that serves as the guest's "/": the
// ancestors of every mount point, an empty file or directory at each mount
// point, and the configured symlinks.
func buildSkeleton(dir string, cfg Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("vfs: skeleton: %w", err)
	}
	for _, s := range cfg.Mounts {
		g := cleanAbs(s.Guest)
		if g == "/" {
			continue
		}
		p := filepath.Join(dir, g)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("vfs: skeleton %s: %w", g, err)
		}
		isDir := false
		if s.Kind == Bind || s.Kind == ProcDir {
			st, err := os.Stat(s.source())
			if err != nil {
				return fmt.Errorf("vfs: mount source %s: %w", s.Host, err)
			}
			isDir = st.IsDir()
		}
		if isDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("vfs: skeleton %s: %w", g, err)
			}
		} else if f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644); err != nil {
			return fmt.Errorf("vfs: skeleton %s: %w", g, err)
		} else {
			f.Close()
		}
	}
	for _, l := range cfg.Symlinks {
		p := filepath.Join(dir, cleanAbs(l.Guest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("vfs: skeleton %s: %w", l.Guest, err)
		}
		if err := os.Symlink(l.Target, p); err != nil && !os.IsExist(err) {
			return fmt.Errorf("vfs: skeleton symlink %s: %w", l.Guest, err)
		}
	}
	// The skeleton stays writable by its owner on the host so that it can
	// be removed quickly; the guest sees the root mount read-only (EROFS)
	// through the VFS, which is what enforces it.
	return nil
}

// Close releases the mount fds.
func (fs *FS) Close() {
	for _, m := range fs.mounts {
		if m.fd >= 0 {
			unix.Close(m.fd)
		}
	}
	if fs.virt != nil {
		unix.Close(fs.virt.fd)
	}
}

// Root returns the root mount.
func (fs *FS) Root() *Mount { return fs.root }

// Mounts returns the mount table, deepest first.
func (fs *FS) Mounts() []*Mount { return fs.ordered }

// mountFor returns the deepest mount whose guest path is p or an ancestor.
func (fs *FS) mountFor(p string) *Mount {
	for _, m := range fs.ordered {
		if m.Guest == "/" || p == m.Guest || strings.HasPrefix(p, m.Guest+"/") {
			return m
		}
	}
	return fs.root
}

// GuestPathOf maps a host path back into the guest's view: the guest path
// under the deepest mount whose host source contains it (a bind, or the
// host mirror of /proc), or "" when the host path is outside every mount.
func (fs *FS) GuestPathOf(host string) (string, *Mount) {
	var best *Mount
	var bestPath string
	for _, m := range fs.ordered {
		if m.Kind != Bind && m.Kind != ProcDir {
			continue
		}
		var rel string
		switch {
		case host == m.Host:
			rel = ""
		case m.Host == "/":
			rel = strings.TrimPrefix(host, "/")
		case strings.HasPrefix(host, m.Host+"/"):
			rel = host[len(m.Host)+1:]
		default:
			continue
		}
		g := m.Guest
		if rel != "" {
			g = filepath.Join(m.Guest, rel)
		}
		// The deepest mount wins, and the candidate must not be shadowed by
		// a deeper mount or a hidden path.
		if fs.mountFor(g) != m || fs.isHiddenPath(g) {
			continue
		}
		if best == nil || len(m.Host) > len(best.Host) {
			best, bestPath = m, g
		}
	}
	return bestPath, best
}

// IsOwn tells whether host path lies in one of the sandbox's own trees
// (the scratch and data directories): a path the guest must never learn.
func (fs *FS) IsOwn(host string) bool {
	for _, d := range fs.own {
		if host == d || strings.HasPrefix(host, d+"/") {
			return true
		}
	}
	return false
}

func (fs *FS) isHiddenPath(p string) bool {
	for q := p; ; q = filepath.Dir(q) {
		if fs.hidden[q] {
			return true
		}
		if q == "/" {
			return false
		}
	}
}

// globRegexp compiles a path glob: "**/" is any number of directories,
// "**" anything, "*" and "?" stay within one component.
func globRegexp(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch {
		case strings.HasPrefix(g[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(".*")
			i++
		case g[i] == '*':
			b.WriteString("[^/]*")
		case g[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// denied tells whether guest path p matches a deny pattern.
func (fs *FS) denied(p string) bool {
	for _, re := range fs.deny {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}
