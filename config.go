package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/policies"
	"sandbox/sentry"
	"sandbox/vfs"
)

// privateDirs creates the sandbox's own empty directories: the private
// /tmp first, then the tmpfs entries of the policy and the flags. Those
// with a size become tmpfs mounts (tmpfs.go) over directories in scratch;
// the others hold the guest's files in data.
func (c *Cmd) privateDirs() ([]sizedTmpfs, error) {
	var out []sizedTmpfs
	fs := c.Policy.Filesystem
	if fs.Tmp == "private" {
		d := sizedTmpfs{Guest: "/tmp", Host: "tmp"}
		if fs.TmpSize != "" {
			var err error
			if d.Size, err = policies.Bytes(fs.TmpSize); err != nil {
				return nil, fmt.Errorf("policy tmp_size: %w", err)
			}
		}
		out = append(out, d)
	}
	for i, t := range append(append([]string(nil), fs.Tmpfs...), c.Tmpfs...) {
		guest, size, err := policies.ParseTmpfs(t)
		if err != nil {
			return nil, err
		}
		out = append(out, sizedTmpfs{Guest: guest, Host: fmt.Sprintf("tmpfs%d", i), Size: size})
	}
	for i := range out {
		d := &out[i]
		if d.Size > 0 {
			d.Host = filepath.Join(c.scratch, d.Host)
		} else {
			d.Host = filepath.Join(c.data, d.Host)
		}
		if err := mkdirSticky(d.Host); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mkdirSticky makes a directory anyone may write in, as /tmp is (mode 1777).
func mkdirSticky(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	return unix.Chmod(dir, 0o1777) // os.Chmod drops the sticky bit
}

// sized returns the entries of dirs that have a size.
func sized(dirs []sizedTmpfs) []sizedTmpfs {
	var out []sizedTmpfs
	for _, d := range dirs {
		if d.Size > 0 {
			out = append(out, d)
		}
	}
	return out
}

// fsConfig turns a policy and the command's overrides into a mount table.
// dirs are the private directories (privateDirs); tmpfs holds the roots of
// those with a size, in the same order.
func (c *Cmd) fsConfig(hostCwd string, dirs []sizedTmpfs, tmpfs *tmpfsSet) (vfs.Config, string, error) {
	p := c.Policy
	scratch := c.scratch
	cfg := vfs.Config{Scratch: scratch, Data: c.data}
	nsized := 0
	private := func(d sizedTmpfs) {
		spec := vfs.MountSpec{Guest: d.Guest, Host: d.Host}
		if d.Size > 0 {
			spec.Dir = tmpfs.dirs[nsized]
			nsized++
		}
		cfg.Mounts = append(cfg.Mounts, spec)
	}
	seen := map[string]bool{}
	add := func(path string, ro bool) error {
		path = filepath.Clean(path)
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 && c.Root == "" {
			// /bin -> usr/bin on merged-/usr systems: the guest gets the
			// same symlink, resolved in its own view.
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			cfg.Symlinks = append(cfg.Symlinks, vfs.Symlink{Guest: path, Target: t})
			return nil
		}
		seen[path] = true
		cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: path, Host: path, ReadOnly: ro})
		return nil
	}
	if c.Root != "" {
		abs, err := filepath.Abs(c.Root)
		if err != nil {
			return cfg, "", err
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return cfg, "", fmt.Errorf("--root %s: not a directory", c.Root)
		}
		cfg.Root, cfg.RootReadOnly = abs, true
	} else {
		for _, d := range p.Filesystem.ReadOnly {
			if err := add(d, true); err != nil && !os.IsNotExist(err) {
				return cfg, "", fmt.Errorf("policy read_only %s: %w", d, err)
			}
		}
		for _, d := range p.Filesystem.ReadWrite {
			if err := add(d, false); err != nil {
				return cfg, "", fmt.Errorf("policy read_write %s: %w", d, err)
			}
		}
	}
	guestCwd := "/"
	if c.Root == "" && p.Filesystem.Cwd != "none" && hostCwd != "/" {
		if err := add(hostCwd, p.Filesystem.Cwd == "read-only"); err != nil {
			return cfg, "", fmt.Errorf("working directory %s: %w", hostCwd, err)
		}
		guestCwd = hostCwd
	}
	if c.Root != "" && c.Dir != "" {
		guestCwd = c.Dir
	}
	for _, d := range c.ReadOnly {
		if err := add(d, true); err != nil {
			return cfg, "", fmt.Errorf("--ro %s: %w", d, err)
		}
	}
	for _, d := range c.ReadWrite {
		if err := add(d, false); err != nil {
			return cfg, "", fmt.Errorf("--rw %s: %w", d, err)
		}
	}
	if p.Filesystem.Tmp == "private" {
		private(dirs[0])
		dirs = dirs[1:]
	}
	if p.Filesystem.Dev == "minimal" {
		if err := devTree(&cfg, scratch); err != nil {
			return cfg, "", err
		}
	}
	// /proc: the sandbox's own processes only, filled on demand by the
	// sentry (sentry.ProcFS).
	proc := filepath.Join(scratch, "proc")
	if err := os.Mkdir(proc, 0o755); err != nil {
		return cfg, "", err
	}
	c.procfs = sentry.NewProcFS(proc, "/proc")
	cfg.Proc = c.procfs
	cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: "/proc", Host: proc, ReadOnly: true, Kind: vfs.ProcDir})
	for _, d := range dirs {
		private(d)
	}
	cfg.Deny = p.Filesystem.Deny
	names := make([]string, 0, len(p.Filesystem.Files))
	for g := range p.Filesystem.Files {
		names = append(names, g)
	}
	sort.Strings(names)
	for i, g := range names {
		host := filepath.Join(scratch, fmt.Sprintf("file%d", i))
		if err := os.WriteFile(host, []byte(p.Filesystem.Files[g]), 0o444); err != nil {
			return cfg, "", err
		}
		cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: filepath.Clean(g), Host: host, ReadOnly: true})
	}
	hide := append(append([]string(nil), p.Filesystem.Hide...), c.Hide...)
	for _, h := range hide {
		if strings.ContainsAny(h, "*?[") {
			m, _ := filepath.Glob(h)
			cfg.Hidden = append(cfg.Hidden, m...)
			continue
		}
		cfg.Hidden = append(cfg.Hidden, filepath.Clean(h))
	}
	cfg.Deny = append(cfg.Deny, c.treesVisible(cfg)...)
	return cfg, guestCwd, nil
}

// treesVisible returns deny patterns (EACCES) for the guest paths at which
// the scratch and data trees of this or any other sandbox would show
// through a host mount (a --rw /dev/shm, a cwd holding $TMPDIR, --root /):
// the guest may neither read a /proc mirror or another run's private /tmp
// nor plant symlinks where a sentry writes. Paths are compared with their
// symlinks resolved.
func (c *Cmd) treesVisible(cfg vfs.Config) []string {
	real := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	specs := cfg.Mounts
	if cfg.Root != "" {
		specs = append([]vfs.MountSpec{{Guest: "/", Host: cfg.Root, Kind: vfs.Bind}}, specs...)
	}
	bases := map[string]bool{}
	for _, tree := range []string{c.scratch, c.data} {
		if tree != "" {
			bases[real(filepath.Dir(tree))] = true
		}
	}
	var out []string
	for base := range bases {
		for _, s := range specs {
			if s.Kind != vfs.Bind || c.ownDir(s.Host) || s.Dir != nil {
				continue
			}
			rel, err := filepath.Rel(real(s.Host), base)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				continue
			}
			g := filepath.Join(s.Guest, rel)
			out = append(out, g+"/"+scratchPrefix+"*", g+"/"+scratchPrefix+"*/**")
		}
	}
	sort.Strings(out)
	return out
}

// devTree builds the minimal /dev: a read-only directory of its own (so it
// exists even under --root) holding the device mount points and Linux's
// usual symlinks into /proc/self/fd.
func devTree(cfg *vfs.Config, scratch string) error {
	dev := filepath.Join(scratch, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		return err
	}
	cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: "/dev", Host: dev, ReadOnly: true})
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if _, err := os.Stat("/dev/" + d); err != nil {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dev, d), os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
		// Devices are writable whatever the mount says, as in Linux; the
		// nodes themselves are the host's.
		cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: "/dev/" + d, Host: "/dev/" + d, Device: true})
	}
	// A private /dev/shm (POSIX shared memory and semaphores), like /tmp.
	shm := filepath.Join(scratch, "shm")
	if err := mkdirSticky(shm); err != nil {
		return err
	}
	cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: "/dev/shm", Host: shm})
	// Pseudo-terminals: /dev/ptmx makes new ones, /dev/pts holds them. The
	// sentry lets the guest open only the ptys it made and the sandbox's own
	// terminal (sentry/sys_pty.go), never the user's other terminals.
	if st, err := os.Stat("/dev/pts"); err == nil && st.IsDir() {
		if _, err := os.Stat("/dev/ptmx"); err == nil {
			f, err := os.OpenFile(filepath.Join(dev, "ptmx"), os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			f.Close()
			if err := os.Mkdir(filepath.Join(dev, "pts"), 0o755); err != nil {
				return err
			}
			cfg.Mounts = append(cfg.Mounts, vfs.MountSpec{Guest: "/dev/ptmx", Host: "/dev/ptmx", Device: true},
				vfs.MountSpec{Guest: "/dev/pts", Host: "/dev/pts", ReadOnly: true})
		}
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for n, t := range links {
		if err := os.Symlink(t, filepath.Join(dev, n)); err != nil {
			return err
		}
	}
	return nil
}
