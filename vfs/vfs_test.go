package vfs

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// tree builds a host directory from a spec: "dir/", "file=content",
// "link->target".
func tree(t *testing.T, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		switch {
		case e[len(e)-1] == '/':
			if err := os.MkdirAll(filepath.Join(root, e), 0o755); err != nil {
				t.Fatal(err)
			}
		case containsArrow(e):
			name, target := splitArrow(e)
			if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
		default:
			name, content := splitEq(e)
			if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func containsArrow(s string) bool          { _, _, ok := cut(s, "->"); return ok }
func splitArrow(s string) (string, string) { a, b, _ := cut(s, "->"); return a, b }
func splitEq(s string) (string, string)    { a, b, _ := cut(s, "="); return a, b }
func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// newFS gives a guest whose "/" is host dir root (read-write unless ro).
func newFS(t *testing.T, cfg Config) (*FS, Ctx) {
	t.Helper()
	if cfg.Scratch == "" {
		cfg.Scratch = t.TempDir()
	}
	fs, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	return fs, Ctx{Cwd: Dir{Guest: "/", FD: fs.Root().FD(), Mount: fs.Root()}}
}

func readGuest(fs *FS, c Ctx, path string) (string, unix.Errno) {
	o, errno := fs.Open(c, path, unix.O_RDONLY, 0, 0)
	if errno != 0 {
		return "", errno
	}
	defer unix.Close(o.FD)
	b := make([]byte, 256)
	n, _ := unix.Read(o.FD, b)
	return string(b[:n]), 0
}

// TestWalkerStaysInRoot: whatever symlinks and ".." say, lookups end inside
// the guest's root; absolute links are resolved in the guest's view.
func TestWalkerStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	tree(t, outside, "secret=HOST SECRET")
	root := t.TempDir()
	tree(t, root, "etc/", "etc/passwd=GUEST PASSWD", "dir/sub/", "dir/sub/file=deep",
		"evil->/etc/passwd", "rel->../../../../../../etc/passwd", "up->/..", "dir/link->sub",
		"loop1->loop2", "loop2->loop1", "abs-out->"+outside+"/secret", "dotdot->../../"+filepath.Base(outside)+"/secret",
		"dangling->nowhere", "file=plain")
	fs, c := newFS(t, Config{Root: root, RootReadOnly: true})
	cases := []struct {
		path  string
		want  string
		errno unix.Errno
	}{
		{"/etc/passwd", "GUEST PASSWD", 0},
		{"/evil", "GUEST PASSWD", 0},
		{"/rel", "GUEST PASSWD", 0},
		{"/up/etc/passwd", "GUEST PASSWD", 0},
		{"/../../../etc/passwd", "GUEST PASSWD", 0},
		{"/dir/../../../etc/passwd", "GUEST PASSWD", 0},
		{"/dir/link/file", "deep", 0},
		{"/dir/link/../sub/file", "deep", 0},
		{"/abs-out", "", unix.ENOENT},
		{"/dotdot", "", unix.ENOENT},
		{"/loop1", "", unix.ELOOP},
		{"/dangling", "", unix.ENOENT},
		{"/file/x", "", unix.ENOTDIR},
		{"/missing/x", "", unix.ENOENT},
		{"", "", unix.ENOENT},
	}
	for _, tc := range cases {
		got, errno := readGuest(fs, c, tc.path)
		if errno != tc.errno || got != tc.want {
			t.Errorf("read %q = %q, %v; want %q, %v", tc.path, got, errno, tc.want, tc.errno)
		}
	}
}

// TestMountsAndHidden: mounts are crossed in the guest's view (".." from a
// mount root goes to the guest parent, not the host's), hidden paths are
// absent even mid-path, read-only mounts refuse writes.
func TestMountsAndHidden(t *testing.T) {
	src := t.TempDir()
	tree(t, src, "data=MOUNTED", "abs->/etc/passwd", "private/", "private/key=KEY", "sub/")
	root := t.TempDir()
	tree(t, root, "etc/", "etc/passwd=GUEST PASSWD", "m/", "w/")
	rw := t.TempDir()
	fs, c := newFS(t, Config{Root: root, RootReadOnly: true,
		Mounts: []MountSpec{{Guest: "/m", Host: src, ReadOnly: true}, {Guest: "/w", Host: rw}},
		Hidden: []string{"/m/private"}})
	for _, tc := range []struct {
		path, want string
		errno      unix.Errno
	}{
		{"/m/data", "MOUNTED", 0},
		{"/m/abs", "GUEST PASSWD", 0},
		{"/m/../etc/passwd", "GUEST PASSWD", 0},
		{"/m/sub/../../etc/passwd", "GUEST PASSWD", 0},
		{"/m/private/key", "", unix.ENOENT},
		{"/m/sub/../private/key", "", unix.ENOENT},
		{"/m/private", "", unix.ENOENT},
	} {
		got, errno := readGuest(fs, c, tc.path)
		if errno != tc.errno || got != tc.want {
			t.Errorf("read %q = %q, %v; want %q, %v", tc.path, got, errno, tc.want, tc.errno)
		}
	}
	if errno := fs.Mkdir(c, "/m/new", 0o755); errno != unix.EROFS {
		t.Errorf("mkdir in ro mount: %v, want EROFS", errno)
	}
	if _, errno := fs.Open(c, "/m/data", unix.O_WRONLY, 0, 0); errno != unix.EROFS {
		t.Errorf("open ro mount for write: %v, want EROFS", errno)
	}
	if _, errno := fs.Open(c, "/newfile", unix.O_CREAT|unix.O_WRONLY, 0o644, 0); errno != unix.EROFS {
		t.Errorf("create in ro root: %v, want EROFS", errno)
	}
	if errno := fs.Mkdir(c, "/w/new", 0o755); errno != 0 {
		t.Errorf("mkdir in rw mount: %v", errno)
	}
	if _, err := os.Stat(filepath.Join(rw, "new")); err != nil {
		t.Errorf("rw mkdir did not reach the host: %v", err)
	}
	if errno := fs.Rename(c, "/w/new", c, "/m/new", 0); errno != unix.EXDEV {
		t.Errorf("rename across mounts: %v, want EXDEV", errno)
	}
	if got, _ := fs.GuestPathOf(filepath.Join(src, "data")); got != "/m/data" {
		t.Errorf("GuestPathOf(mounted file) = %q", got)
	}
	if got, _ := fs.GuestPathOf(filepath.Join(src, "private", "key")); got != "" {
		t.Errorf("GuestPathOf(hidden) = %q, want none", got)
	}
	if !fs.HiddenIn("/m", "private") || fs.HiddenIn("/m", "data") {
		t.Error("HiddenIn wrong")
	}
}

// TestResolveFlags: openat2's RESOLVE_* flags as the guest asked for them.
func TestResolveFlags(t *testing.T) {
	root := t.TempDir()
	tree(t, root, "d/", "d/f=F", "d/ln->f", "d/abs->/d/f", "x=X", "d/up->../x")
	fs, c := newFS(t, Config{Root: root})
	d, errno := fs.OpenDir(c, "/d")
	if errno != 0 {
		t.Fatal(errno)
	}
	defer unix.Close(d.FD)
	dc := Ctx{Cwd: d}
	for _, tc := range []struct {
		path    string
		resolve uint64
		errno   unix.Errno
	}{
		{"f", unix.RESOLVE_BENEATH, 0},
		{"../x", unix.RESOLVE_BENEATH, unix.EXDEV},
		{"/d/f", unix.RESOLVE_BENEATH, unix.EXDEV},
		{"up", unix.RESOLVE_BENEATH, unix.EXDEV},
		{"ln", unix.RESOLVE_NO_SYMLINKS, unix.ELOOP},
		{"../x", unix.RESOLVE_IN_ROOT, unix.ENOENT}, // ".." stays at the new root: d/x
		{"abs", unix.RESOLVE_IN_ROOT, unix.ENOENT},  // /d/f inside root d: d/d/f
		{"../x", 0, 0},
	} {
		o, errno := fs.Open(dc, tc.path, unix.O_RDONLY, 0, tc.resolve)
		if errno == 0 {
			unix.Close(o.FD)
		}
		if errno != tc.errno {
			t.Errorf("open %q resolve %#x: %v, want %v", tc.path, tc.resolve, errno, tc.errno)
		}
	}
}

// TestHostRaceCannotEscape: a host process swapping a directory for a
// symlink to outside the root while the guest walks through it never lets
// a lookup reach the outside file (each host step is RESOLVE_BENEATH with
// no symlinks; the walker resolves links in the guest's view).
func TestHostRaceCannotEscape(t *testing.T) {
	outside := t.TempDir()
	tree(t, outside, "secret=OUTSIDE")
	root := t.TempDir()
	tree(t, root, "a/", "a/secret=INSIDE")
	fs, c := newFS(t, Config{Root: root})
	stop := atomic.Bool{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
		link := filepath.Join(root, "l")
		os.Symlink(outside, link)
		for !stop.Load() {
			os.Rename(a, b)
			os.Rename(link, a)
			os.Rename(a, link)
			os.Rename(b, a)
		}
	}()
	for i := 0; i < 20000; i++ {
		if got, _ := readGuest(fs, c, "/a/secret"); got == "OUTSIDE" {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("iteration %d: read the host file outside the root", i)
		}
	}
	stop.Store(true)
	wg.Wait()
}

func TestSkeletonRoot(t *testing.T) {
	host := t.TempDir()
	tree(t, host, "usr/", "usr/bin/", "usr/bin/tool=T", "home/", "home/secret=S")
	fs, c := newFS(t, Config{Mounts: []MountSpec{{Guest: "/usr", Host: filepath.Join(host, "usr"), ReadOnly: true}},
		Symlinks: []Symlink{{Guest: "/bin", Target: "usr/bin"}}})
	if got, errno := readGuest(fs, c, "/bin/tool"); errno != 0 || got != "T" {
		t.Errorf("/bin/tool via skeleton symlink = %q, %v", got, errno)
	}
	if _, errno := readGuest(fs, c, "/home/secret"); errno != unix.ENOENT {
		t.Errorf("/home in skeleton: %v, want ENOENT", errno)
	}
	if errno := fs.Mkdir(c, "/newdir", 0o755); errno != unix.EROFS {
		t.Errorf("mkdir in skeleton root: %v, want EROFS", errno)
	}
}

func TestDenyGlobs(t *testing.T) {
	root := t.TempDir()
	tree(t, root, "etc/", "etc/ssl/", "etc/ssl/key.pem=K", "etc/ssl/ok.crt=C", "a/", "a/b/", "a/b/deep.pem=D", "top.pem=T", "link->etc/ssl/key.pem")
	fs, c := newFS(t, Config{Root: root, Deny: []string{"**/*.pem"}})
	for _, tc := range []struct {
		path  string
		errno unix.Errno
	}{
		{"/etc/ssl/key.pem", unix.EACCES}, {"/a/b/deep.pem", unix.EACCES}, {"/top.pem", unix.EACCES},
		{"/link", unix.EACCES}, // through a symlink too
		{"/etc/ssl/ok.crt", 0},
	} {
		_, errno := readGuest(fs, c, tc.path)
		if errno != tc.errno {
			t.Errorf("read %s: %v, want %v", tc.path, errno, tc.errno)
		}
		if _, errno := fs.Stat(c, tc.path, true); errno != tc.errno {
			t.Errorf("stat %s: %v, want %v", tc.path, errno, tc.errno)
		}
	}
	for g, cases := range map[string]map[string]bool{
		"/etc/ssl/private/**": {"/etc/ssl/private/x": true, "/etc/ssl/private/a/b": true, "/etc/ssl/x": false},
		"/home/*/.ssh":        {"/home/u/.ssh": true, "/home/u/v/.ssh": false},
	} {
		re, err := globRegexp(g)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range cases {
			if re.MatchString(p) != want {
				t.Errorf("%s vs %s: %v", g, p, !want)
			}
		}
	}
}
