package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Parity tests: the same program, in the same working directory, with the same
// environment and stdin, must produce byte-identical stdout and the same exit
// status natively and under `bin/sandbox run --`. The cwd is read-write in
// the default policy and the fixtures live only there, so the sandbox has no
// legitimate reason to behave differently.
//
// Each case also checks a few lines of the *native* output (want) and the
// native exit status: this proves the C fixture really provokes the condition
// it is named after on this kernel, so a sandbox can't pass by accident.

type parityCase struct {
	name string
	// prog names a C program in integration/c (compiled and copied into the
	// cwd as ./prog); argv is then the arguments (the case name). With prog
	// empty, argv is a host command line (absolute program path).
	prog  string
	argv  []string
	files map[string]string
	setup func(t *testing.T, dir string)
	stdin string
	env   []string
	// stderr: also require identical stderr (only for programs whose
	// messages do not embed anything run-specific).
	stderr bool
	// status is the expected native exit status.
	status int
	// want lists substrings the native stdout must contain.
	want []string
}

func cCase(prog, name string, want ...string) parityCase {
	return parityCase{name: prog + "/" + name, prog: prog, argv: []string{name}, want: want}
}

// syscallCases drive the raw-syscall C programs. The expected lines are what
// Linux returns; the sandbox must print exactly the same thing.
var syscallCases = []parityCase{
	cCase("errnos", "enoent",
		"open(missing) = fffffffffffffffe (-ENOENT)",
		"open(d/missing) = fffffffffffffffe (-ENOENT)"),
	cCase("errnos", "ebadf",
		"close(9999) = fffffffffffffff7 (-EBADF)",
		"read(9999) = fffffffffffffff7 (-EBADF)",
		"fstat(9999) = fffffffffffffff7 (-EBADF)"),
	cCase("errnos", "efault",
		"openat(AT_FDCWD, NULL) = fffffffffffffff2 (-EFAULT)",
		"open(path running into unmapped page) = fffffffffffffff2 (-EFAULT)"),
	cCase("errnos", "nametoolong",
		"open(5000 x 'a') = ffffffffffffffdc (-ENAMETOOLONG)",
		"open(300-char component) = ffffffffffffffdc (-ENAMETOOLONG)",
		"open(4096-byte path) = ffffffffffffffdc (-ENAMETOOLONG)"),
	cCase("errnos", "eexist",
		"open(f, O_CREAT|O_EXCL) = ffffffffffffffef (-EEXIST)",
		"mkdir(d) = ffffffffffffffef (-EEXIST)"),
	cCase("errnos", "eloop",
		"open(a) = ffffffffffffffd8 (-ELOOP)",
		"open(l41) = ffffffffffffffd8 (-ELOOP)"),
	cCase("errnos", "enotdir",
		"open(f/x) = ffffffffffffffec (-ENOTDIR)"),
	cCase("errnos", "eisdir",
		"open(d, O_WRONLY) = ffffffffffffffeb (-EISDIR)",
		"unlink(d) = ffffffffffffffeb (-EISDIR)"),
	cCase("errnos", "dirops",
		"rmdir(full) = ffffffffffffffd9 (-ENOTEMPTY)",
		"rename(full, empty) = 0"),
	cCase("fsops", "rename",
		"rename(a/f, b/g) = 0",
		`read(b/g) = a "moved data"`,
		"renameat2(a, x, b, existing, RENAME_NOREPLACE) = ffffffffffffffef (-EEXIST)"),
	cCase("fsops", "link",
		"link(f, h) = 0",
		"stat(f) = 0 type=reg perm=0644 nlink=2 size=3"),
	cCase("fsops", "symlink",
		`readlink(sl, 64) = 13 "target_that_is_long"`,
		`readlink(sl, 5) truncates = 5 "targe"`,
		"readlink(plain) = ffffffffffffffea (-EINVAL)"),
	cCase("fsops", "cwd",
		"getcwd(buf, 1) = ffffffffffffffde (-ERANGE)",
		`read(f) in sub = 6 "in sub"`,
		`read(f) after fchdir(sub) = 6 "in sub"`),
	cCase("fsops", "access",
		"access(d/rw, X_OK) = fffffffffffffff3 (-EACCES)",
		"access(d/x, X_OK) = 0",
		"access(missing, F_OK) = fffffffffffffffe (-ENOENT)"),
	cCase("fsops", "truncate",
		"truncate(f, 5) = 0",
		`read(f) = 5 "hello"`,
		"stat(f) = 0 type=reg perm=0644 nlink=1 size=100"),
	cCase("fsops", "utimens",
		"stat(f) = 0 atime=1000000000.123456789 mtime=1234567890.987654321"),
	cCase("fsops", "chmod",
		"stat(f) = 0 type=reg perm=0640 nlink=1 size=1",
		"fstat(fd) = 0 type=reg perm=0600 nlink=1 size=1"),
	cCase("fsops", "emptypath",
		`fchmodat2(fd, "", 0600, AT_EMPTY_PATH) = 0`,
		"stat(f) = 0 type=reg perm=0600 nlink=1 size=1",
		"stat(f) = 0 atime=1100000000.000000011 mtime=1200000000.000000012",
		`fchownat(fd, "", self, 0) = fffffffffffffffe (-ENOENT)`,
		"fchmodat2(sl, 0600, AT_SYMLINK_NOFOLLOW) = ffffffffffffffa1 (-EOPNOTSUPP)",
		"stat(d) = 0 type=dir perm=0710 nlink=2"),
	cCase("fsops", "umask",
		"stat(c1) = 0 type=reg perm=0600 nlink=1 size=0",
		"stat(d1) = 0 type=dir perm=0700 nlink=2"),
	cCase("fsops", "creat",
		"creat(c, 0644) = 3",
		"stat(c) = 0 type=reg perm=0644 nlink=1 size=5"),
	cCase("fsops", "getdents",
		"getdents64(d, 96-byte buffer): 7 entries",
		"  c_with_a_rather_long_name_to_vary_record_length type=8",
		"  ln type=10",
		"open(dlink, O_DIRECTORY) = 3"),
	cCase("fsops", "openat2",
		"openat2(AT_FDCWD, ../x, BENEATH) = ffffffffffffffee (-EXDEV)",
		"openat2(sub, esc, BENEATH) = ffffffffffffffee (-EXDEV)"),
	cCase("fsops", "perm", "chmod(locked, 0755) = 0"),
	cCase("fsops", "xattr",
		"setxattr(f, user.a) = 0",
		"lremovexattr(l, user.b) = ffffffffffffffff (-EPERM)",
		"removexattr(missing) = fffffffffffffffe (-ENOENT)"),
	cCase("fsops", "inotify",
		"inotify_add_watch(w) = 1",
		"inotify_add_watch(missing) = fffffffffffffffe (-ENOENT)",
		"event wd=1 mask=100 name=new"),
	cCase("sched", "own",
		"sched_setaffinity(0, cpu0) = 0",
		"setpriority(PROCESS, child, 7) = 0",
		"sched_attr policy 3 nice 5"),
	cCase("fsops", "io",
		`pread64(4, off 6) = 4 "6789"`,
		"write(/dev/full) = ffffffffffffffe4 (-ENOSPC)"),
	cCase("stat", "stat",
		"lstat(sl) = 0 type=lnk perm=0777 nlink=1 size=1",
		"stat(sl) = 0 type=reg perm=0640 nlink=2 size=5",
		"lstat(dangling) = 0 type=lnk perm=0777 nlink=1 size=14"),
	cCase("stat", "opath-symlink",
		"open(sl, O_PATH|O_NOFOLLOW) = 3",
		`newfstatat(it, "", AT_EMPTY_PATH) = 0 type=lnk perm=0777 nlink=1 size=1`,
		`readlinkat(it, "") = 1 "f"`,
		"lstat(sl) mtime=1400000000",
		`fchmodat2(it, "", AT_EMPTY_PATH) = ffffffffffffffa1 (-EOPNOTSUPP)`,
		"fchmod(it) = fffffffffffffff7 (-EBADF)",
		"openat(it, x) = ffffffffffffffec (-ENOTDIR)",
		`newfstatat(dup, "", AT_EMPTY_PATH) = 0 type=lnk`,
		`newfstatat(10, "", AT_EMPTY_PATH) = 0 type=lnk`,
		`newfstatat(closed, "", AT_EMPTY_PATH) = fffffffffffffff7 (-EBADF)`,
		"fchmodat(sl, AT_SYMLINK_NOFOLLOW) = -1 Operation not supported",
		"fchmodat(f, AT_SYMLINK_NOFOLLOW) = 0"),
	cCase("stat", "statx",
		"statx(f, 0) = 0 mask&want=207 type=reg perm=0640 nlink=2 size=5",
		"statx(sl, AT_SYMLINK_NOFOLLOW) = 0 mask&want=207 type=lnk perm=0777 nlink=1 size=1"),
	cCase("intr", "fifo-eintr",
		"open(ff, O_RDONLY) = fffffffffffffffc (-EINTR)",
		"handler ran 1"),
	cCase("intr", "fifo-restart",
		"open(ff, O_RDONLY) under SA_RESTART = 0",
		"read x, handler ran 1"),
	{name: "procview/self", prog: "procview", argv: []string{"self"}, files: map[string]string{"data": "x"},
		want: []string{"exe ends with /procview: 1", "cwd link is getcwd: 1", "fd link names the file: 1",
			"lstat(fd link) = 0 mode=120500 size=64", "stat(fd link) = 0 type=100000", "llistxattr(fd link) = 0",
			"lstat(write-only fd link) = 0 mode=120300", "fd listing has its own fd: 1, the write-only fd: 1",
			"lstat(/proc/self) = 0 mode=120777 size=0", "llistxattr(/proc/self) = 0",
			"pthread_getattr_np: 0", "status Pid is getpid: 1", "mountinfo has /: 1", "cmdline ends with self: 1"}},
	cCase("procs", "groupkill2",
		"kill(-orphan's group, SIGTERM) = 0, orphan died: 1",
		"left stopped after SIGSTOP then SIGCONT to its group: 0 of 50"),
	cCase("procs", "twoexec", "two threads exec at once, 10 times: killed 0"),
	cCase("procs", "groupkill",
		"kill(0, SIGUSR1) = 0, handler ran before it returned: 1",
		"kill(-child group, SIGTERM) = 0, child killed by SIGTERM: 1",
		"kill(-reaped group, 0) = fffffffffffffffd (-ESRCH)",
		"kill(0, SIGUSR1) with a child = 0, handler 1, child killed by SIGUSR1: 1"),
	cCase("procview", "selfopen", "open(/proc/self, O_DIRECTORY) ok: 1",
		"/proc/self: fd link is /proc/<pid>: 1", "/proc/thread-self: fd link is /proc/<pid>/task/<tid>: 1",
		"/proc/self/status: fd link is /proc/<pid>/status: 1",
		"open(/proc/self, O_NOFOLLOW) = "+rawErr(40, "ELOOP"),
		"opendir(/proc/self): entries > 10: 1, status listed: 1",
		"/proc/cpuinfo after a stat: fd link is /proc/cpuinfo: 1",
		"stat(/proc) = 0 mode=40555", "stat(/proc/self) = 0 mode=40555",
		"stat(/proc/self/fd) = 0 mode=40500", "stat(/proc/self/task) = 0 mode=40555",
		"stat(/proc/self/fd/77) = "+rawErr(2, "ENOENT"), "open(/dev/fd/77) = "+rawErr(2, "ENOENT"),
		"statx(fd link) = 0 size=12",
		`readlinkat(fd dir, "1") is readlink(/proc/self/fd/1): 1`),
	{name: "procview/task", prog: "procview", argv: []string{"task"},
		want: []string{"worker's /proc/thread-self is <pid>/task/<tid>: 1", "task entries 2, main 1, worker 1",
			"worker comm: worker", "worker stat names it: 1", "pthread_getname_np(worker) = 0 worker",
			"stat(task/<tid>/task) = fffffffffffffffe (-ENOENT)"}},
	{name: "procview/reaped", prog: "procview", argv: []string{"reaped"},
		want: []string{"round 2: stat(/proc/<reaped child>) = ENOENT", "round 2: kill(<reaped child>, 0) = ESRCH",
			"round 2: open(/proc/<reaped child>/status) = ENOENT"}},
	cCase("forbidden", "e2big", "execve(/bin/true, 39 x 200 kB) = fffffffffffffff9 (-E2BIG)"),
	{name: "pointers/all", prog: "pointers", argv: []string{"all"}, files: map[string]string{"f": "data"},
		setup: func(t *testing.T, dir string) { os.Symlink("f", dir+"/l") },
		want: []string{"open(path=NULL) = fffffffffffffff2 (-EFAULT)", "stat(out=read-only) = fffffffffffffff2 (-EFAULT)",
			"getcwd(out=straddle) = fffffffffffffff2 (-EFAULT)", "connect(addr=PROT_NONE) = fffffffffffffff2 (-EFAULT)"}},
	cCase("fds", "pipe",
		"fds = 3 4",
		`read(r, 64) = a "hello pipe"`,
		"fcntl(r, F_GETFD) = 1"),
	cCase("fds", "dup",
		"dup2(fd, 10) = a",
		"dup2(fd, fd) returns fd = 3",
		"dup3(fd, fd, 0) = ffffffffffffffea (-EINVAL)",
		"fcntl(11, F_GETFD) = 1"),
	cCase("fds", "fcntl",
		"fcntl(fd, F_DUPFD, 10) = a",
		"fcntl(fd, F_DUPFD_CLOEXEC, 10) = c",
		"fcntl(cloexec dup, F_GETFD) = 1"),
	cCase("fds", "lowest",
		"open(f) takes lowest free = 3",
		"open(f) takes next free = 5"),
	cCase("fds", "close_range",
		"close_range(4, ~0U, 0) = 0",
		"fcntl(5, F_GETFD) = fffffffffffffff7 (-EBADF)",
		"fcntl(3, F_GETFD) = 0"),
}

// seedFiles is the fixture for the host-program cases.
var seedFiles = map[string]string{
	"a.txt":            "alpha\nbeta\ngamma\n",
	"b.txt":            "one two three\nfour five six\n",
	"names.txt":        "pear\napple\nbanana\ncherry\napple\n",
	"sub/nested.txt":   "nested file\n",
	"sub/deeper/x.txt": "x marks the spot\n",
}

func seedBinary(t *testing.T, dir string) {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sh(name, script string, want ...string) parityCase {
	return parityCase{name: name, argv: []string{"/bin/sh", "-c", script}, files: seedFiles, setup: seedBinary, want: want}
}

func host(name string, argv []string, want ...string) parityCase {
	return parityCase{name: name, argv: argv, files: seedFiles, setup: seedBinary, want: want}
}

const pyWriteRead = `
import os
with open("p.txt", "w") as f:
    f.write("written by python\n")
print(open("p.txt").read(), end="")
os.mkdir("pydir")
open("pydir/inner", "w").close()
print(sorted(os.listdir(".")))
print(sorted(os.listdir("pydir")))
print(os.path.getsize("a.txt"), os.path.isdir("sub"), os.path.exists("nope"))
os.rename("p.txt", "q.txt")
os.remove("q.txt")
print(sorted(os.listdir(".")))
`

const pySubprocess = `
import subprocess
r = subprocess.run(["/usr/bin/ls", "-1"], capture_output=True, text=True)
print(r.returncode, r.stdout, end="")
r = subprocess.run(["/bin/sh", "-c", "exit 7"])
print("child status", r.returncode)
`

// programCases run ordinary host programs on a seeded directory. Their output
// depends only on the files in the cwd (no inode numbers or timestamps).
var programCases = []parityCase{
	host("ls", []string{"/usr/bin/ls", "-1"}, "a.txt\nb.txt\ndata.bin\nnames.txt\nsub\n"),
	host("ls-a-sub", []string{"/usr/bin/ls", "-1a", "sub"}, ".\n..\ndeeper\nnested.txt\n"),
	host("ls-R", []string{"/usr/bin/ls", "-1R"}, "./sub/deeper:\nx.txt\n"),
	host("cat", []string{"/usr/bin/cat", "a.txt", "sub/nested.txt"}, "alpha\nbeta\ngamma\nnested file\n"),
	{name: "cat-stdin", argv: []string{"/usr/bin/cat"}, stdin: "from stdin\nline 2\n", want: []string{"from stdin\nline 2\n"}},
	sh("cp-then-cat", "cp a.txt copy.txt && cat copy.txt && ls -1", "alpha\nbeta\ngamma\na.txt\nb.txt\ncopy.txt\n"),
	sh("cp-r", "cp -r sub sub2 && find sub2 | sort", "sub2/deeper/x.txt"),
	// -a preserves modes, times and ACLs: setxattr/removexattr by path.
	sh("cp-a", "chmod 750 sub && cp -a sub sub2 && stat -c '%a %Y %n' sub sub2 sub2/nested.txt",
		"750", "sub2/nested.txt"),
	sh("mv", "mv b.txt moved.txt && ls -1 && cat moved.txt", "moved.txt\nnames.txt"),
	sh("rm-r", "rm -r sub && ls -1", "a.txt\nb.txt\ndata.bin\nnames.txt\n"),
	// Blocking handlers: each FIFO open waits in the sentry until its peer
	// opens the other end, which another serving thread must answer (four
	// readers at once, then their writers). The writers are one subshell
	// with no children of its own, so no SIGCHLD reaches a shell while it
	// redirects: a signal that arrives before the sentry has received a
	// routed call makes even dup2 fail with EINTR (docs/threat-model.md,
	// limits of the layer), and dash ignores dup2's result.
	sh("fifo-rendezvous", "for i in 1 2 3 4; do mkfifo f$i; cat f$i > out$i & done; (for i in 1 2 3 4; do echo msg$i > f$i; done) & wait; cat out1 out2 out3 out4",
		"msg1\nmsg2\nmsg3\nmsg4\n"),
	host("sort", []string{"/usr/bin/sort", "names.txt"}, "apple\napple\nbanana\ncherry\npear\n"),
	host("sort-u-r", []string{"/usr/bin/sort", "-u", "-r", "names.txt"}, "pear\ncherry\nbanana\napple\n"),
	{name: "sort-stdin", argv: []string{"/usr/bin/sort"}, stdin: "c\na\nb\n", want: []string{"a\nb\nc\n"}},
	host("wc", []string{"/usr/bin/wc", "a.txt", "b.txt", "names.txt"}, "total"),
	{name: "wc-stdin", argv: []string{"/usr/bin/wc", "-l"}, stdin: "1\n2\n3\n", want: []string{"3\n"}},
	host("sha256sum", []string{"/usr/bin/sha256sum", "a.txt", "b.txt", "data.bin"},
		"40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880  data.bin"),
	sh("find-sorted", "find . -type f | sort", "./sub/deeper/x.txt\n"),
	sh("tar", "tar --sort=name -cf out.tar sub a.txt && tar tf out.tar && mkdir x && tar xf out.tar -C x && cat x/sub/deeper/x.txt && ls -1R x",
		"sub/deeper/x.txt\n", "x marks the spot\n"),
	// Extracting a symlink: tar sets its mode through glibc's fchmodat
	// with AT_SYMLINK_NOFOLLOW, an O_PATH fd of the link.
	sh("tar-symlinks", "ln -s a.txt link && ln -s missing dangling && tar -cf out.tar a.txt link dangling && mkdir x && tar -xpf out.tar -C x && ls -l x | cut -c1-10,40- | sort",
		"lrwxrwxrwx"),
	host("sed-n", []string{"/usr/bin/sed", "-n", "2p", "names.txt"}, "apple\n"),
	sh("sed-i", "sed -i s/apple/APPLE/g names.txt && cat names.txt && ls -1", "APPLE\nbanana"),
	host("grep", []string{"/usr/bin/grep", "-n", "an", "names.txt"}, "3:banana\n"),
	{name: "grep-nomatch", argv: []string{"/usr/bin/grep", "nomatch", "names.txt"}, files: seedFiles, status: 1},
	sh("grep-r", "grep -rl x . | sort", "./sub/deeper/x.txt\n"),
	sh("od", "od -An -tx1 data.bin | head -2", " 00 01 02 03"),
	sh("dev-zero", "head -c 16 /dev/zero | od -An -tx1 && head -c 8 /dev/urandom | wc -c && echo gone > /dev/null && echo ok",
		" 00 00 00 00", "8\nok\n"),
	sh("usr-bin-pipeline", "ls /usr/bin | sort | head -3"),
	sh("awk", "awk '{print $2}' b.txt", "two\nfive\n"),
	sh("xargs", "ls -1 | xargs -n1 echo item", "item a.txt\n"),
	sh("ls-through-symlink", "ln -s sub link && ls -1 link && ls -1 link/ && ls -1 /bin | head -3", "deeper\nnested.txt\n"),
	sh("pwd", "cd sub && pwd && /bin/pwd && cd deeper && ls", "x.txt\n"),
	sh("mkdir-p-rm", "mkdir -p d1/d2/d3 && echo hi > d1/d2/d3/f && ls -1R d1 && cat d1/d2/d3/f && rm -r d1 && ls -1", "d1/d2/d3:\nf\nhi\n"),
	sh("symlink-hardlink", "ln -s a.txt l && readlink l && cat l && ln a.txt hard && stat -c '%h %s %F %n' a.txt l hard",
		"2 17 regular file a.txt\n", "1 5 symbolic link l\n"),
	sh("umask-chmod", "umask 027 && touch u && mkdir ud && stat -c '%a %n' u ud && chmod 600 a.txt && stat -c '%a' a.txt",
		"640 u\n750 ud\n600\n"),
	{name: "python-write-read-list", argv: []string{"/usr/bin/python3", "-c", pyWriteRead}, files: seedFiles,
		want: []string{"written by python\n", "['inner']"}},
	{name: "python-etc-hostname", argv: []string{"/usr/bin/python3", "-c", `print(open("/etc/hostname").read())`}},
	{name: "python-subprocess", argv: []string{"/usr/bin/python3", "-c", pySubprocess}, files: seedFiles,
		want: []string{"child status 7"}},
	{name: "stdout-stderr-status", argv: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}, stderr: true, status: 4,
		want: []string{"out\n"}},
	{name: "exit-3", argv: []string{"/bin/sh", "-c", "exit 3"}, status: 3},
	{name: "exit-255", argv: []string{"/bin/sh", "-c", "exit 255"}, status: 255},
	{name: "false", argv: []string{"/usr/bin/false"}, status: 1},
	{name: "cat-missing", argv: []string{"/usr/bin/cat", "missing"}, stderr: true, status: 1},
	{name: "killed-by-sigterm", argv: []string{"/bin/sh", "-c", "echo before; kill -TERM $$; echo after"}, status: 143,
		want: []string{"before\n"}},
	{name: "killed-by-sigkill", argv: []string{"/bin/sh", "-c", "kill -KILL $$"}, status: 137},
}

// runParity runs one case natively and then sandboxed in the same directory.
// cred, when set, runs both sides as that user (see unpriv_test.go).
func runParity(t *testing.T, c parityCase, cred *syscall.Credential, sandbox string) {
	t.Helper()
	runParityIn(t, t.TempDir(), c, cred, sandbox)
}

// runParityIn is runParity in a given (empty, test-owned) directory.
func runParityIn(t *testing.T, dir string, c parityCase, cred *syscall.Credential, sandbox string) {
	t.Helper()
	if c.prog == "" {
		if _, err := os.Stat(c.argv[0]); err != nil {
			t.Skipf("%s not installed on this host", c.argv[0])
		}
	}
	prepare := func() []string {
		resetDir(t, dir)
		argv := c.argv
		if c.prog != "" {
			argv = append([]string{installC(t, c.prog, dir, progName(c.prog))}, c.argv...)
		}
		writeFiles(t, dir, c.files)
		if c.setup != nil {
			c.setup(t, dir)
		}
		if cred != nil {
			chownTree(t, dir, int(cred.Uid), int(cred.Gid))
		}
		return argv
	}
	spec := runSpec{Dir: dir, Stdin: c.stdin, Env: c.env, Cred: cred, Sandbox: sandbox}

	argv := prepare()
	native := runNative(t, spec, argv...)
	// Validate the fixture itself before involving the product.
	if native.Status != c.status {
		t.Fatalf("native run: exit status %d, want %d (broken fixture?)\n%s", native.Status, c.status, native.describe())
	}
	for _, w := range c.want {
		if !strings.Contains(string(native.Stdout), w) {
			t.Fatalf("native run: stdout lacks %q (the case does not test what it claims)\n%s", w, native.describe())
		}
	}
	if strings.Contains(string(native.Stdout), "SETUP FAILED") {
		t.Fatalf("native run: fixture setup failed\n%s", native.describe())
	}

	argv = prepare()
	sandboxed := runSandbox(t, spec, nil, argv...)
	compareRuns(t, native, sandboxed, c.stderr)
}

func TestParitySyscalls(t *testing.T) {
	for _, c := range syscallCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runParity(t, c, nil, "")
		})
	}
}

func TestParityPrograms(t *testing.T) {
	for _, c := range programCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runParity(t, c, nil, "")
		})
	}
}

// TestParityCwdUnderHostTmp: the cwd is read-write under the default policy
// wherever it is, including inside the host /tmp, which the guest otherwise
// sees replaced by a private empty directory. `go test` itself puts
// t.TempDir() there by default, so this is the common case for users too.
func TestParityCwdUnderHostTmp(t *testing.T) {
	cases := []parityCase{
		sh("shell", "pwd && echo data > new.txt && cat new.txt && ls -1 && cat sub/nested.txt", "data\n"),
		cCase("errnos", "enoent", "open(d/missing) = fffffffffffffffe (-ENOENT)"),
		cCase("fds", "lowest", "open(f) takes lowest free = 3"),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("/tmp", "sandbox-cwd-")
			if err != nil {
				t.Skipf("cannot create a directory in /tmp: %v", err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			runParityIn(t, dir, c, nil, "")
		})
	}
}

// TestKnownDifferenceOPathSymlink pins the one documented divergence of an
// O_PATH fd of a symlink: the kernel cannot install O_PATH files into
// another process, so the guest's fd is a stand-in (/dev/null) and fstat,
// which runs natively, describes it (see docs/architecture.md); the calls
// the sentry serves act on the link (parity case stat/opath-symlink).
func TestKnownDifferenceOPathSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"f": "hello"})
	argv := []string{installC(t, "stat", dir, "prog"), "opath-symlink-fstat"}
	native := runNative(t, runSpec{Dir: dir}, argv...)
	if !strings.Contains(string(native.Stdout), "fstat(it) = 0 type=lnk") {
		t.Fatalf("native: want an fd to the link itself\n%s", native.describe())
	}
	os.Remove(dir + "/sl")
	boxed := runSandbox(t, runSpec{Dir: dir}, nil, argv...)
	if !strings.Contains(string(boxed.Stdout), "open(sl, O_PATH|O_NOFOLLOW) = 3") || !strings.Contains(string(boxed.Stdout), "fstat(it) = 0 type=chr") {
		t.Fatalf("sandbox: want the documented stand-in\n%s", boxed.describe())
	}
}

// progName is the name a C program is installed under in the cwd: "prog",
// except where the program checks its own name.
func progName(prog string) string {
	if prog == "procview" {
		return "procview"
	}
	return "prog"
}

// TestParityRedirectedStdio: a program whose stdout and stderr are files
// the caller opened (outside the sandbox's view) may open them again by
// /dev/stdout, /dev/stderr and /proc/self/fd/N, as on Linux; only files of
// read-only mounts refuse a reopen for writing (TestEscapeMetadataThroughFD).
func TestParityRedirectedStdio(t *testing.T) {
	sb := requireSandbox(t)
	// Appends only: a reopen has an offset of its own.
	script := "echo out >> /dev/stdout && echo err >> /dev/stderr && echo more >> /proc/self/fd/1"
	run := func(argv ...string) (string, string, int) {
		dir := t.TempDir() // under the host's /tmp: outside the view
		out, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		errf, err := os.Create(filepath.Join(dir, "err"))
		if err != nil {
			t.Fatal(err)
		}
		defer errf.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = t.TempDir()
		cmd.Stdout, cmd.Stderr = out, errf
		status := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			status = ee.ExitCode()
		}
		o, _ := os.ReadFile(out.Name())
		e, _ := os.ReadFile(errf.Name())
		return string(o), string(e), status
	}
	no, ne, ns := run("/bin/sh", "-c", script)
	so, se, ss := run(sb, "run", "--", "/bin/sh", "-c", script)
	if no != "out\nmore\n" || ne != "err\n" || ns != 0 {
		t.Fatalf("native run: %q %q %d", no, ne, ns)
	}
	if so != no || se != ne || ss != ns {
		t.Errorf("sandbox: stdout %q stderr %q status %d; native: %q %q %d", so, se, ss, no, ne, ns)
	}
}

// TestProgramNamedAsGiven: the first program is executed by the path
// execvp would use, not the file that path resolves to: the kernel names
// the process after it (sh, not the dash it links to; what ps, pgrep and
// killall match) and a #! interpreter gets the script by it ($0).
func TestProgramNamedAsGiven(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.sh": "#!/bin/sh\necho \"0=$0\"; cat /proc/$$/comm\n"})
	if err := os.Chmod(filepath.Join(dir, "s.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("s.sh", filepath.Join(dir, "link.sh")); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"./link.sh"}, {"sh", "-c", "cat /proc/$$/comm"}} {
		native := runNative(t, runSpec{Dir: dir}, argv...)
		res := runSandbox(t, runSpec{Dir: dir}, nil, argv...)
		compareRuns(t, native, res, true)
	}
}

// TestProgramStartLikeExecvp: what execvp and the shell do when starting a
// program, the sandbox does too: a file with neither #! nor an ELF header
// runs under /bin/sh, a program that is not there exits 127 (126 when it
// cannot run), a PATH entry is used as written, and a std fd the caller
// closed stays closed.
func TestProgramStartLikeExecvp(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"nosh": "echo \"no shebang: $0 $1\"\n", "plain": "data\n",
		"bin/myscript": "#!/bin/sh\necho \"0=$0\"\n"})
	for _, f := range []string{"nosh", "bin/myscript"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := "PATH=./bin:/usr/bin:/bin"
	sb := requireSandbox(t)
	probe := `test -e /proc/self/fd/0 && echo stdin open || echo stdin closed`
	for _, c := range []struct{ native, boxed []string }{
		{[]string{"env", "./nosh", "a"}, sandboxArgv(sb, nil, []string{"./nosh", "a"})},
		{[]string{"env", "./nosuch"}, sandboxArgv(sb, nil, []string{"./nosuch"})},
		{[]string{"env", "nosuch-program"}, sandboxArgv(sb, nil, []string{"nosuch-program"})},
		{[]string{"env", "./plain"}, sandboxArgv(sb, nil, []string{"./plain"})},
		{[]string{"env", "./plain/x"}, sandboxArgv(sb, nil, []string{"./plain/x"})}, // ENOTDIR: 126
		{[]string{"env", ""}, sandboxArgv(sb, nil, []string{""})},
		// A PATH entry is used as written: $0 is ./bin/myscript.
		{[]string{"env", path, "myscript"}, append([]string{"env", path}, sandboxArgv(sb, nil, []string{"myscript"})...)},
		{[]string{"sh", "-c", "exec <&-; exec sh -c '" + probe + "'"},
			[]string{"sh", "-c", "exec <&-; exec " + sb + " run -- sh -c '" + probe + "'"}},
	} {
		native := runNative(t, runSpec{Dir: dir}, c.native...)
		res := mustRun(t, c.boxed, runSpec{Dir: dir})
		compareRuns(t, native, res, false)
	}
}
